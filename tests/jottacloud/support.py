"""Helpers shared by the jottacloud tests and the conformance factory (no test code here)."""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from cloudsync.backends.jottacloud import SPEC
from cloudsync.backends.jottacloud._api import StoredToken, TokenResponse
from cloudsync.backends.jottacloud.backend import JottaBackend

from cloudsync.jottaserver.testing import JottaServer


@contextmanager
def running_server(**kwargs: Any) -> Iterator[JottaServer]:
    with JottaServer(**kwargs) as srv:
        yield srv


def cs(*args: str) -> Any:
    """Run the CLI in-process (click's runner); returns its ``Result``."""
    from click.testing import CliRunner

    from cloudsync.cli import cli

    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def server_with_remote_j(monkeypatch: Any, config_dir: Any) -> Iterator[JottaServer]:
    """A running offline server and a config (in ``config_dir``) with remote ``j:`` logged in
    to it with a login token; for ``yield from`` in a fixture."""
    with running_server() as server:
        monkeypatch.setenv("CLOUDSYNC_CONFIG", str(config_dir / "cloudsync.conf"))
        r = cs("config", "create", "j", "jottacloud", f"login_token={server.mint_login_token()}",
               f"jfs_url={server.jfs_url}", f"api_url={server.api_url}")
        assert r.exit_code == 0, r.output
        yield server


def token_json(srv: JottaServer, realm: str = "jottacloud") -> str:
    """A stored-token JSON for a fresh login, issued without HTTP."""
    return StoredToken.from_response(TokenResponse.from_json(srv.issue_tokens(realm))).to_json()


def jotta_options(srv: JottaServer, **extra: str) -> dict[str, str]:
    """Raw option strings for a remote on ``srv`` logged in with the standard flow."""
    values = {
        "config_type": "standard",
        "config_version": "1",
        "client_id": "jottacli",
        "token_url": srv.token_url(),
        "token": token_json(srv),
        "jfs_url": srv.jfs_url,
        "api_url": srv.api_url,
        "auth_base_url": srv.base_url,
        "www_url": srv.base_url + "/",
    }
    values.update(extra)
    return values


def make_backend(srv: JottaServer, root: str = "", config: Any = None, name: str = "jotta", **extra: str) -> JottaBackend:
    backend = SPEC.factory(name, root, SPEC.parse_options(jotta_options(srv, **extra)), config)
    assert isinstance(backend, JottaBackend)
    return backend


class MemoryConfig:
    """An in-process ConfigAccess (the real one is file-backed; this is for unit tests)."""

    def __init__(self, name: str, values: Mapping[str, str]) -> None:
        self._name = name
        self.values = dict(values)
        self.writes: list[tuple[str, str]] = []
        import threading

        self._lock = threading.RLock()

    @property
    def remote_name(self) -> str:
        return self._name

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def set(self, key: str, value: str) -> None:
        self.values[key] = value
        self.writes.append((key, value))

    def reload(self) -> None:
        pass

    def lock(self) -> AbstractContextManager[None]:
        @contextmanager
        def held() -> Iterator[None]:
            with self._lock:
                yield

        return held()


class ScriptedPrompter:
    """A Prompter answering from a script; records every question it was asked."""

    def __init__(self, answers: Sequence[Any] = ()) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []
        self.echoed: list[str] = []
        self.on_echo: Any = None

    def _next(self, text: str) -> str | bool:
        self.asked.append(text)
        if not self.answers:
            raise AssertionError(f"unexpected question: {text}")
        answer = self.answers.pop(0)
        # A callable answer is computed when the question comes (e.g. a URL seen in echo).
        return answer() if callable(answer) else answer

    def echo(self, text: str) -> None:
        self.echoed.append(text)
        if self.on_echo is not None:
            self.on_echo(text)

    def prompt(self, text: str, default: str | None = None, secret: bool = False) -> str:
        answer = self._next(text)
        assert isinstance(answer, str), text
        return answer

    def confirm(self, text: str, default: bool = False) -> bool:
        answer = self._next(text)
        assert isinstance(answer, bool), text
        return answer

    def choose(self, text: str, choices: Sequence[tuple[str, str]], default: str | None = None) -> str:
        answer = self._next(text)
        assert isinstance(answer, str), text
        assert answer in {v for v, _ in choices}, (answer, choices)
        return answer


def put_bytes(backend: JottaBackend, path: str, data: bytes, mtime_ns: int = 1_600_000_000_000_000_000) -> Any:
    from cloudsync.types import PutInfo

    return backend.put(path, io.BytesIO(data), PutInfo(size=len(data), mtime_ns=mtime_ns))


def settled_log(srv: JottaServer) -> list[Any]:
    """The server's request log once it stops growing.

    The offline server appends a log entry after it has sent the response, so a client can see
    its call complete a moment before the entry appears; poll briefly until it is stable.
    """
    import time

    last = srv.request_log
    for _ in range(100):
        time.sleep(0.02)
        now = srv.request_log
        if len(now) == len(last):
            return now
        last = now
    return last
