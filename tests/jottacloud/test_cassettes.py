"""Recorded HTTP conversations (pytest-recording) for each auth flow and each main operation.

Replay (CI): ``pytest --record-mode=none --block-network`` – no server, no network; every
request must be found in ``cassettes/jottacloud/``.  Record: ``--record-mode=rewrite`` runs the
same tests against a fresh offline server; ``--live --record-mode=rewrite`` against the real
service (see tests/jottacloud/README.md).

What makes replay deterministic and the cassettes safe to commit:

* requests match on method + path + query (not host/port: the server's port is random);
* every recorded URL and body has the server's base URL replaced by :data:`BASE` and the
  internal username by ``USERNAME`` (the client then learns ``USERNAME`` from the recorded
  customer-info answer, so its URLs match);
* Authorization headers, tokens, login tokens, passwords, client secrets, authorization codes
  and random device ids are scrubbed before anything is written (``test_cassette_hygiene``
  greps for leftovers);
* replay uses a far-future token expiry, so no refresh happens that the recording did not.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from cloudsync.backends.jottacloud import SPEC, _auth, _config
from cloudsync.backends.jottacloud._api import StoredToken
from cloudsync.backends.jottacloud.backend import JottaBackend

from cloudsync.types import PutInfo

from .support import MemoryConfig, ScriptedPrompter

REPO = Path(__file__).resolve().parents[2]
CASSETTES = REPO / "cassettes" / "jottacloud"
#: Base URL written into cassettes instead of the recording server's (an unreachable port).
BASE = "http://127.0.0.1:1"
USERNAME = "USERNAME"
T = 1_600_000_000_000_000_000
_FORM_SECRETS = re.compile(
    r"((?:^|&)(?:password|refresh_token|access_token|auth_token|code|client_secret|username)=)[^&]*"
)
_JSON_SECRETS = ("access_token", "refresh_token", "id_token", "client_secret", "session_state", "upload_id")


class Recording:
    """What the scrubbers need to know about the live side of a recording."""

    base = ""
    username = ""


REC = Recording()


def _recording(config: pytest.Config) -> bool:
    return (config.getoption("--record-mode") or "none") != "none"


def _scrub_text(text: str) -> str:
    if REC.base:
        text = text.replace(REC.base, BASE)
    if REC.username:
        text = text.replace(REC.username, USERNAME)
    return text


def _scrub_request(request: Any) -> Any:
    request.uri = _scrub_text(request.uri)
    body = request.body
    if body:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        if "=" in text and not text.lstrip().startswith("{"):
            text = _FORM_SECRETS.sub(r"\1REDACTED", text)
        request.body = _scrub_text(text).encode("utf-8") if isinstance(body, bytes) else _scrub_text(text)
    for header in ("Authorization", "authorization", "X-Jottacloud-Otp"):
        if header in request.headers:
            request.headers[header] = "REDACTED"
    return request


def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    body = response.get("body", {}).get("string", b"")
    if isinstance(body, bytes) and body:
        text = body.decode("utf-8", "replace")
        if text.lstrip().startswith("{"):
            try:
                data = json.loads(text)
            except ValueError:
                data = None
            if isinstance(data, dict):
                if REC.username and data.get("username") == REC.username:
                    data["username"] = USERNAME
                for key in _JSON_SECRETS:
                    if key in data and key != "upload_id":
                        data[key] = "REDACTED"
                text = json.dumps(data)
        response["body"]["string"] = _scrub_text(text).encode("utf-8")
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in ("set-cookie", "date", "x-id", "location"):
            del headers[name]
    return response


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    return {
        "match_on": ["method", "path", "query"],
        "filter_headers": [("authorization", "REDACTED")],
        "filter_query_parameters": [
            ("password", "REDACTED"), ("client_secret", "REDACTED"), ("username", "REDACTED"),
            ("device_id", "REDACTED"),
        ],
        "before_record_request": _scrub_request,
        "before_record_response": _scrub_response,
        "decode_compressed_response": True,
    }


@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    return str(CASSETTES)


class Side:
    """The far end: a fresh offline server when recording, nothing at all when replaying."""

    def __init__(self, live_server: Any) -> None:
        self.srv = live_server
        self.base = live_server.base_url if live_server else BASE

    def options(self, **extra: str) -> dict[str, str]:
        far = StoredToken("REPLAY-ACCESS", "Bearer", "REPLAY-REFRESH", None).to_json()
        token = far
        if self.srv is not None:
            from .support import token_json

            token = token_json(self.srv)
        values = {
            "config_type": "standard", "config_version": "1", "client_id": "jottacli",
            "token_url": f"{self.base}/auth/realms/jottacloud/protocol/openid-connect/token",
            "token": token, "jfs_url": f"{self.base}/jfs/", "api_url": f"{self.base}/",
            "auth_base_url": self.base, "www_url": f"{self.base}/",
        }
        values.update(extra)
        return values

    def backend(self, root: str = "cassette", config: Any = None, **extra: str) -> JottaBackend:
        b = SPEC.factory("jotta", root, SPEC.parse_options(self.options(**extra)), config)
        assert isinstance(b, JottaBackend)
        return b

    def login_token(self, realm: str = "jottacloud") -> str:
        if self.srv is not None:
            return str(self.srv.mint_login_token(realm))
        raw = {"username": "USERNAME", "realm": realm, "auth_token": "REDACTED",
               "well_known_link": f"{BASE}/auth/realms/{realm}/.well-known/openid-configuration"}
        return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")


@pytest.fixture
def side(request: pytest.FixtureRequest) -> Iterator[Side]:
    if request.config.getoption("--live"):
        pytest.skip("live re-recording of these flows needs a real account; see tests/jottacloud/README.md")
    if not _recording(request.config):
        REC.base, REC.username = "", ""
        yield Side(None)
        return
    from cloudsync.jottaserver.testing import JottaServer

    with JottaServer(seed=1234) as srv:
        REC.base, REC.username = srv.base_url, srv.username
        yield Side(srv)
    REC.base, REC.username = "", ""


@pytest.fixture(autouse=True)
def _fixed_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_auth, "REDIRECT_PORT", 53682)


def _raw_get_location(url: str) -> str:
    """GET ``url`` over a bare socket (outside the cassette) and return its Location header."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=30) as s:
        target = parts.path + ("?" + parts.query if parts.query else "")
        s.sendall(f"GET {target} HTTP/1.0\r\nHost: {parts.netloc}\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "location":
            return value.strip()
    raise AssertionError(f"no redirect from the authorization endpoint: {head.splitlines()[0]}")


# ---------------------------------------------------------------------- auth flows


@pytest.mark.vcr
def test_standard_login_token(side: Side) -> None:
    values = _config.configure(ScriptedPrompter(), {
        "config_type": "standard", "login_token": side.login_token(), "device": "Jotta", "mountpoint": "Archive",
        "jfs_url": f"{side.base}/jfs/", "api_url": f"{side.base}/",
    })
    assert values["token_url"].endswith("/auth/realms/jottacloud/protocol/openid-connect/token")
    assert values["device"] == "Jotta"


@pytest.mark.vcr
def test_browser_login_telia_se(side: Side) -> None:
    seen: dict[str, str] = {}

    def on_echo(text: str) -> None:
        url = next(w for w in text.split() if "/protocol/openid-connect/auth?" in w)
        state = re.search(r"[?&]state=([^&]+)", url)
        assert state is not None
        if side.srv is not None:
            side.srv.approve_next_authorization()
            seen["paste"] = _raw_get_location(url)
        else:
            seen["paste"] = f"http://localhost:53682/?code=REPLAYED&state={state.group(1)}"

    p = ScriptedPrompter(["traditional", "telia_se", False, lambda: seen["paste"]])
    p.on_echo = on_echo
    values = _config.configure(p, {"jfs_url": f"{side.base}/jfs/", "api_url": f"{side.base}/",
                                   "auth_base_url": side.base, "device": "Jotta", "mountpoint": "Archive"})
    assert values["client_id"] == "desktop" and values["service"] == "telia_se"


@pytest.mark.vcr
def test_legacy_login_with_sms_code(side: Side) -> None:
    if side.srv is not None:
        side.srv.enable_otp("123456")
    user = side.srv.login_name if side.srv else "user@example.com"
    password = side.srv.password if side.srv else "REDACTED"
    p = ScriptedPrompter(["legacy", user, password, "123456"])
    values = _config.configure(p, {"jfs_url": f"{side.base}/jfs/", "api_url": f"{side.base}/",
                                   "device": "Jotta", "mountpoint": "Archive"})
    assert values["config_type"] == "legacy" and values["password"] == ""


@pytest.mark.vcr
def test_refresh_rotates_token(side: Side) -> None:
    values = side.options()
    cfg = MemoryConfig("jotta", values)
    b = side.backend("cassette", cfg)
    b.tokens.invalidate(b.tokens.token.access_token)
    b.mkdir("refresh")
    assert b.tokens.refreshes == 1
    assert cfg.writes[-1][0] == "token"


# ---------------------------------------------------------------------- operations


@pytest.mark.vcr
def test_file_operations(side: Side) -> None:
    b = side.backend("cassette")
    b.mkdir("ops/sub")
    e = b.put("ops/a:b?.txt", _Bytes(b"hello cassette"), PutInfo(size=14, mtime_ns=T))
    assert e.hashes["md5"] == hashlib.md5(b"hello cassette").hexdigest()
    b.put("ops/sub/b.bin", _Bytes(bytes(range(200))), PutInfo(size=200, mtime_ns=T))
    assert sorted(x.path for x in b.list("ops")) == ["ops/a:b?.txt", "ops/sub"]
    assert sorted(x.path for x in b.list_recursive("ops")) == ["ops/a:b?.txt", "ops/sub", "ops/sub/b.bin"]
    assert b.stat("ops/a:b?.txt").size == 14
    assert b.get("ops/sub/b.bin", 10, 20).read() == bytes(range(10, 20))
    assert b.set_modtime("ops/a:b?.txt", T + 7 * 10**9).mtime_ns == T + 7 * 10**9
    b.copy(b, "ops/a:b?.txt", "ops/copy.txt")
    b.move(b, "ops/copy.txt", "ops/moved.txt")
    assert b.public_link("ops/moved.txt").startswith(f"{side.base}/opin/io/downloadPublic/")
    b.delete("ops/moved.txt")
    usage = b.about()
    assert usage.used is not None
    b.cleanup()
    b.dir_move(b, "ops/sub", "ops/sub2")
    b.purge("ops")


class _Bytes:
    def __init__(self, data: bytes) -> None:
        self._data, self._pos = data, 0

    def read(self, n: int = -1) -> bytes:
        end = len(self._data) if n < 0 else self._pos + n
        out = self._data[self._pos:end]
        self._pos += len(out)
        return out


# ---------------------------------------------------------------------- hygiene


def test_cassette_hygiene() -> None:
    files = sorted(CASSETTES.glob("*.yaml"))
    assert files, "no cassettes recorded"
    bad = re.compile(
        r"eyJ[A-Za-z0-9_-]{10,}"                       # JWTs
        r"|\"(?:access|refresh|id)_token\":\s*\"(?!REDACTED)"  # token JSON
        r"|(?:password|refresh_token|client_secret|auth_token|code)=(?!REDACTED)[^&\s'\"]"
        r"|Bearer (?!REDACTED)\w"
        r"|127\.0\.0\.1:(?!1[/'\"\s])\d+"               # a recording server's real port
    )
    for f in files:
        text = f.read_text(encoding="utf-8")
        m = bad.search(text)
        assert m is None, f"{f.name}: secret-looking text {m.group(0)[:40]!r}"
        assert "/jfs/" not in text or "/jfs/USERNAME" in text, f"{f.name}: internal username not scrubbed"
    live_token = os.environ.get("CLOUDSYNC_TEST_JOTTA_LOGIN_TOKEN")
    if live_token:
        assert all(live_token not in f.read_text(encoding="utf-8") for f in files)
