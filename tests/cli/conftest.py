"""Fixtures for CLI tests: an isolated config file, UTC local time, an in-memory keyring, the
rclone §D.5 fixture tree and a CliRunner wrapper."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

T1 = 981173106_499999999  # 2001-02-03T04:05:06.499999999Z
T2 = 1324817999_123456789  # 2011-12-25T12:59:59.123456789Z


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is UTC, as in the rclone runs the expected outputs come from."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()




@pytest.fixture
def config_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "conf" / "cloudsync.conf"
    monkeypatch.setenv("CLOUDSYNC_CONFIG", str(path))
    return path


def _make_memory_keyring() -> Any:
    from keyring.backend import KeyringBackend
    from keyring.errors import PasswordDeleteError

    class _Mem(KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def __init__(self) -> None:
            super().__init__()
            self.store: dict[tuple[str, str], str] = {}

        def get_password(self, service: str, username: str) -> str | None:
            return self.store.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.store[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            if (service, username) not in self.store:
                raise PasswordDeleteError("not found")
            del self.store[(service, username)]

    return _Mem()


@pytest.fixture
def memory_keyring() -> Iterator[Any]:
    import keyring

    previous = keyring.get_keyring()
    backend = _make_memory_keyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def fail_keyring() -> Iterator[None]:
    import keyring
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        yield
    finally:
        keyring.set_keyring(previous)


def write(path: Path, data: bytes, mtime_ns: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, ns=(mtime_ns, mtime_ns))


@pytest.fixture
def rtree(tmp_path: Path) -> Path:
    """rclone's fixture r: potato2 = "-"×60 @T1, empty space = "-" @T2,
    sub dir/hello world = "hello world" @T1, empty dir emptydir/."""
    root = tmp_path / "r"
    write(root / "potato2", b"-" * 60, T1)
    write(root / "empty space", b"-", T2)
    write(root / "sub dir" / "hello world", b"hello world", T1)
    (root / "emptydir").mkdir()
    return root


@dataclass
class Run:
    result: Result

    @property
    def code(self) -> int:
        return self.result.exit_code

    @property
    def out(self) -> str:
        return self.result.stdout

    @property
    def err(self) -> str:
        return self.result.stderr


@pytest.fixture
def cs(config_path: Path) -> Any:
    """Invoke the CLI in-process: ``cs("ls", path) -> Run``."""
    from cloudsync.cli import cli

    def invoke(*args: str, input: str | bytes | None = None, env: dict[str, str] | None = None) -> Run:
        runner = CliRunner()
        result = runner.invoke(cli, list(args), input=input, env=env, catch_exceptions=False)
        return Run(result)

    return invoke
