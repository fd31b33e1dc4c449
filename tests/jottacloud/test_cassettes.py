"""Recorded HTTP conversations (pytest-recording) for each auth flow and each main operation.

Replay (CI): ``pytest --record-mode=none --block-network`` – no server, no network; every
request must be found in ``cassettes/jottacloud/``.  Record: ``--record-mode=rewrite`` runs the
same tests against a fresh offline server; ``--live --record-mode=rewrite`` against the real
service with a personal login token from ``CLOUDSYNC_TEST_JOTTA_LOGIN_TOKEN`` (see
tests/jottacloud/README.md).

What makes replay deterministic and the cassettes safe to commit:

* requests match on method + path + query (not host/port: the server's port is random, and
  a live recording talks to several real hosts);
* the recording side's secrets and personal data are learned as they appear and replaced
  everywhere (URLs, bodies, headers): the server's base URL → :data:`BASE`, the internal
  username → ``USERNAME`` (the client then learns ``USERNAME`` from the recorded
  customer-info answer, so its URLs match), the e-mail address and name, the login token;
* Authorization headers, tokens, passwords, client secrets, authorization codes and random
  device ids are scrubbed before anything is written (``test_cassette_hygiene`` greps for
  leftovers, and for every value learned while recording);
* replay uses a far-future token expiry, so no refresh happens that the recording did not.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from cloudsync.backends.jottacloud import SPEC, _auth, _config
from cloudsync.backends.jottacloud._api import StoredToken, decode_login_token
from cloudsync.backends.jottacloud._http import DEFAULT_API_URL, DEFAULT_JFS_URL, DEFAULT_WWW_URL
from cloudsync.backends.jottacloud.backend import JottaBackend

from cloudsync.errors import DirNotFound, IsFileError, ObjectNotFound
from cloudsync.types import Entry, PutInfo

from .support import MemoryConfig, ScriptedPrompter

REPO = Path(__file__).resolve().parents[2]
#: Where cassettes live; CLOUDSYNC_TEST_JOTTA_CASSETTE_DIR redirects a recording (the
#: recorder's own self-test uses it so the committed cassettes are never touched).
CASSETTES = Path(os.environ.get("CLOUDSYNC_TEST_JOTTA_CASSETTE_DIR") or REPO / "cassettes" / "jottacloud")
#: Base URL written into cassettes instead of the recording server's (an unreachable port).
BASE = "http://127.0.0.1:1"
USERNAME = "USERNAME"
T = 1_600_000_000_000_000_000
_FORM_SECRETS = re.compile(
    r"((?:^|&)(?:password|refresh_token|access_token|auth_token|code|code_verifier|client_secret|username)=)[^&]*"
)
_JSON_SECRETS = ("access_token", "refresh_token", "id_token", "client_secret", "session_state")
#: Personal fields of the customer-info answer, and what a cassette says instead.
_PERSONAL = {"email": "user@example.com", "name": "Test User", "phone": "REDACTED",
             "phone_number": "REDACTED", "web_hash": "REDACTED", "android_hash": "REDACTED",
             "ios_hash": "REDACTED"}


class Recording:
    """What the scrubbers learned about the far side of a recording: value → placeholder."""

    def __init__(self) -> None:
        self.replacements: dict[str, str] = {}
        #: Every value ever scrubbed this session (the hygiene test looks for them).
        self.seen: set[str] = set()

    def learn(self, value: str, placeholder: str) -> None:
        # Very short values would mangle unrelated text; nothing secret is that short.
        if value and len(value) >= 4 and value != placeholder:
            self.replacements[value] = placeholder
            self.seen.add(value)

    def reset(self) -> None:
        self.replacements.clear()

    def scrub(self, text: str) -> str:
        for value in sorted(self.replacements, key=len, reverse=True):
            text = text.replace(value, self.replacements[value])
        return text

    def scrub_bytes(self, data: bytes) -> bytes:
        for value in sorted(self.replacements, key=len, reverse=True):
            data = data.replace(value.encode("utf-8"), self.replacements[value].encode("utf-8"))
        return data


REC = Recording()


def _recording(config: pytest.Config) -> bool:
    return (config.getoption("--record-mode") or "none") != "none"


def _binary(body: bytes) -> bool:
    """File content that is not UTF-8: decoding it with "replace" would corrupt the recording
    (a ranged get would then replay wrong bytes), so it is scrubbed byte-wise instead."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _scrub_text(text: str) -> str:
    return REC.scrub(text)


def _scrub_request(request: Any) -> Any:
    request.uri = _scrub_text(request.uri)
    body = request.body
    if isinstance(body, bytes) and _binary(body):
        request.body = REC.scrub_bytes(body)  # uploaded file content: keep it byte-exact
    elif body:
        text = body.decode("utf-8") if isinstance(body, bytes) else str(body)
        if "=" in text and not text.lstrip().startswith("{"):
            text = _FORM_SECRETS.sub(r"\1REDACTED", text)
        request.body = _scrub_text(text).encode("utf-8") if isinstance(body, bytes) else _scrub_text(text)
    for header in ("Authorization", "authorization", "X-Jottacloud-Otp"):
        if header in request.headers:
            request.headers[header] = "REDACTED"
    return request


def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    body = response.get("body", {}).get("string", b"")
    if isinstance(body, bytes) and _binary(body):
        response["body"]["string"] = REC.scrub_bytes(body)  # downloaded file content
    elif isinstance(body, bytes) and body:
        text = body.decode("utf-8")
        if text.lstrip().startswith("{"):
            try:
                data = json.loads(text)
            except ValueError:
                data = None
            if isinstance(data, dict):
                if isinstance(data.get("username"), str) and "email" in data:
                    # The customer-info answer: learn who this is before anything is written,
                    # so every later URL (/jfs/<username>/…) and body is scrubbed too.
                    REC.learn(data["username"], USERNAME)
                    data["username"] = USERNAME
                    for key, placeholder in _PERSONAL.items():
                        value = data.get(key)
                        if isinstance(value, str) and value:
                            REC.learn(value, placeholder)
                            data[key] = placeholder
                for key in _JSON_SECRETS:
                    if key in data:
                        if isinstance(data[key], str) and data[key] != "REDACTED":
                            REC.seen.add(data[key])
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


class LiveAccount:
    """The real service (``--live``): a dedicated test account's personal login token.

    The login token is single use: the login-token test spends it (recording the exchange)
    and every later live test in the session reuses the resulting login, rotating it as
    refreshes happen.  The endpoints default to the real hosts; CLOUDSYNC_TEST_JOTTA_JFS_URL,
    _API_URL and _WWW_URL exist only so the recorder can test itself against the offline server.
    """

    def __init__(self, login_token: str) -> None:
        self.login_token = login_token
        self.jfs_url = os.environ.get("CLOUDSYNC_TEST_JOTTA_JFS_URL") or DEFAULT_JFS_URL
        self.api_url = os.environ.get("CLOUDSYNC_TEST_JOTTA_API_URL") or DEFAULT_API_URL
        self.www_url = os.environ.get("CLOUDSYNC_TEST_JOTTA_WWW_URL") or DEFAULT_WWW_URL
        self.values: dict[str, str] | None = None

    def endpoints(self) -> dict[str, str]:
        # Only non-default endpoints are passed, so a real recording stores nothing unusual.
        out = {}
        for key, value, default in (("jfs_url", self.jfs_url, DEFAULT_JFS_URL),
                                    ("api_url", self.api_url, DEFAULT_API_URL),
                                    ("www_url", self.www_url, DEFAULT_WWW_URL)):
            if value != default:
                out[key] = value
        return out

    def learn_secrets(self) -> None:
        REC.learn(self.login_token, "REDACTED-LOGIN-TOKEN")
        try:
            decoded = decode_login_token(self.login_token)
        except Exception:  # a broken token fails loudly in the login test itself
            return
        REC.learn(decoded.auth_token, "REDACTED")
        REC.learn(decoded.username, USERNAME)
        for url in (self.jfs_url, self.api_url, self.www_url, decoded.well_known_link):
            parts = urlsplit(url)
            if _auth.is_loopback_host(parts.hostname):  # the recorder's self-test server
                REC.learn(f"{parts.scheme}://{parts.netloc}", BASE)

    def login(self) -> dict[str, str]:
        """Spend the login token (once per session) and return the remote's values."""
        if self.values is None:
            values = _config.configure(ScriptedPrompter(), {
                "config_type": "standard", "login_token": self.login_token,
                "device": "Jotta", "mountpoint": "Archive", **self.endpoints(),
            })
            # Without the cached account name: every cassette records its own lookup, as a
            # replay (which has no login) needs it.
            values.pop("account", None)
            self.values = {**values, **self.endpoints()}
            self._learn_token(values["token"])
        return self.values

    def _learn_token(self, token_json: str) -> None:
        tok = StoredToken.from_json(token_json)
        REC.seen.update(t for t in (tok.access_token, tok.refresh_token) if t)

    def update_token(self, token_json: str) -> None:
        assert self.values is not None
        self.values["token"] = token_json
        self._learn_token(token_json)


_live_account: LiveAccount | None = None


class Side:
    """The far end: a fresh offline server or the real service when recording, nothing at all
    when replaying."""

    def __init__(self, live_server: Any = None, live: LiveAccount | None = None) -> None:
        self.srv = live_server
        self.live = live
        if live is not None:
            self.base = ""
            self.www = live.www_url.rstrip("/")
        else:
            self.base = live_server.base_url if live_server else BASE
            self.www = self.base

    def endpoints(self, *, auth: bool = False) -> dict[str, str]:
        """Endpoint overrides for a config flow (none at all against the real service)."""
        if self.live is not None:
            return self.live.endpoints()
        values = {"jfs_url": f"{self.base}/jfs/", "api_url": f"{self.base}/"}
        if auth:
            values["auth_base_url"] = self.base
        return values

    def options(self, **extra: str) -> dict[str, str]:
        if self.live is not None:
            return {**self.live.login(), **extra}
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
        if self.live is not None:
            return self.live.login_token
        if self.srv is not None:
            return str(self.srv.mint_login_token(realm))
        raw = {"username": "USERNAME", "realm": realm, "auth_token": "REDACTED",
               "well_known_link": f"{BASE}/auth/realms/{realm}/.well-known/openid-configuration"}
        return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")


def _live(request: pytest.FixtureRequest) -> LiveAccount:
    global _live_account
    token = os.environ.get("CLOUDSYNC_TEST_JOTTA_LOGIN_TOKEN", "")
    if not token:
        pytest.skip("--live needs CLOUDSYNC_TEST_JOTTA_LOGIN_TOKEN (see tests/jottacloud/README.md)")
    if not _recording(request.config):
        pytest.skip("--live records: add --record-mode=rewrite")
    if _live_account is None:
        _live_account = LiveAccount(token)
        _live_account.learn_secrets()
    return _live_account


@pytest.fixture
def side(request: pytest.FixtureRequest) -> Iterator[Side]:
    if request.config.getoption("--live"):
        if request.node.get_closest_marker("offline_only"):
            pytest.skip("this flow cannot be automated against the real service; it stays "
                        "recorded from the offline server")
        yield Side(live=_live(request))
        return
    if not _recording(request.config):
        yield Side(None)
        return
    from cloudsync.jottaserver.testing import JottaServer

    with JottaServer(user="cassette.person", seed=1234) as srv:
        REC.learn(srv.base_url, BASE)
        REC.learn(srv.username, USERNAME)
        yield Side(srv)
    REC.reset()


@pytest.fixture(autouse=True)
def _fixed_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_auth, "REDIRECT_PORT", 53682)


@pytest.fixture(autouse=True)
def _own_account_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each cassette holds its own customer-info call: the process-wide cache of account
    # names would make what is recorded depend on which test ran first.
    from cloudsync.backends.jottacloud import backend

    monkeypatch.setattr(backend, "_ACCOUNTS", {})


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
    if side.live is not None:
        values = side.live.login()  # spends the real single-use token, recorded here
    else:
        values = _config.configure(ScriptedPrompter(), {
            "config_type": "standard", "login_token": side.login_token(), "device": "Jotta",
            "mountpoint": "Archive", **side.endpoints(),
        })
    assert values["token_url"].endswith("/auth/realms/jottacloud/protocol/openid-connect/token")
    assert values["device"] == "Jotta"


def _offline_only(side: Side) -> None:
    if side.live is not None:
        pytest.skip("this flow cannot be automated against the real service; it stays recorded "
                    "from the offline server")


@pytest.mark.vcr
def test_browser_login_telia_se(side: Side) -> None:
    _offline_only(side)
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
    values = _config.configure(p, {**side.endpoints(auth=True), "device": "Jotta", "mountpoint": "Archive"})
    assert values["client_id"] == "desktop" and values["service"] == "telia_se"


@pytest.mark.vcr
def test_legacy_login_with_sms_code(side: Side) -> None:
    _offline_only(side)
    if side.srv is not None:
        side.srv.enable_otp("123456")
    user = side.srv.login_name if side.srv else "user@example.com"
    password = side.srv.password if side.srv else "REDACTED"
    p = ScriptedPrompter(["legacy", user, password, "123456"])
    values = _config.configure(p, {**side.endpoints(), "device": "Jotta", "mountpoint": "Archive"})
    assert values["config_type"] == "legacy" and values["password"] == ""


class _LiveConfig(MemoryConfig):
    """Live runs share one rotating login: every token write goes back to the account."""

    def __init__(self, side: Side) -> None:
        super().__init__("jotta", side.options())
        self.side = side

    def set(self, key: str, value: str) -> None:
        super().set(key, value)
        if key == "token" and self.side.live is not None:
            self.side.live.update_token(value)


@pytest.mark.vcr
def test_refresh_rotates_token(side: Side) -> None:
    cfg = _LiveConfig(side)
    b = side.backend("cassette", cfg)
    b.tokens.invalidate(b.tokens.token.access_token)
    b.mkdir("refresh")
    assert b.tokens.refreshes == 1
    assert [k for k, _ in cfg.writes if k != "account"][-1] == "token"  # (account: cached name)
    b.rmdir("refresh")


# ---------------------------------------------------------------------- operations
#
# One cassette per operation, each test self-contained: its own fixed folder under
# ``cassette/`` (fixed, so the URLs are the same when recording and replaying), its own setup,
# assertions on what the operation did, and its own removal so a live account collects no junk.


def _remove_for_good(side: Side, cfg: _LiveConfig, folder: str) -> None:
    """Delete ``folder`` permanently (``rmDir``), whether it is live or already in the trash.

    trashed_only makes a trashed folder visible to ``purge``'s stat, hard_delete makes the
    removal skip the trash – together they leave nothing behind on a live account.
    """
    side.backend("cassette", cfg, hard_delete="true", trashed_only="true").purge(folder)


@contextmanager
def _workspace(side: Side, folder: str, *, remove: bool = True) -> Iterator[tuple[JottaBackend, _LiveConfig]]:
    cfg = _LiveConfig(side)
    # Leftovers of an aborted live run would change listings.  Done in every mode (a 404 on a
    # fresh offline server), never only when live: replay plays identical requests in recorded
    # order, so a request recorded live but not made on replay would shift every later answer.
    with contextlib.suppress(DirNotFound):
        _remove_for_good(side, cfg, folder)
    yield side.backend("cassette", cfg), cfg
    # Not in a ``finally``: a failed replay should report its assertion, not a teardown
    # request the cassette never saw.  A failed live run is cleaned up by the next one.
    if remove:
        _remove_for_good(side, cfg, folder)


def _put(b: JottaBackend, path: str, data: bytes, mtime_ns: int = T) -> Entry:
    return b.put(path, _Bytes(data), PutInfo(size=len(data), mtime_ns=mtime_ns))


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@pytest.mark.vcr
def test_op_mkdir_list_stat(side: Side) -> None:
    with _workspace(side, "op-mkdir") as (b, _):
        b.mkdir("op-mkdir/sub/deeper")  # parents are created as needed
        b.mkdir("op-mkdir/sub")  # an existing folder is not an error
        _put(b, "op-mkdir/f.txt", b"stat me")
        listed = sorted((e.path, e.is_dir) for e in b.list("op-mkdir"))
        assert listed == [("op-mkdir/f.txt", False), ("op-mkdir/sub", True)]
        assert [(e.path, e.is_dir) for e in b.list("op-mkdir/sub")] == [("op-mkdir/sub/deeper", True)]
        assert list(b.list("op-mkdir/sub/deeper")) == []
        assert b.stat("op-mkdir/sub").is_dir
        f = b.stat("op-mkdir/f.txt")
        assert (f.is_dir, f.size, f.mtime_ns, f.hashes["md5"]) == (False, 7, T, _md5(b"stat me"))
        with pytest.raises(ObjectNotFound):
            b.stat("op-mkdir/missing.txt")
        with pytest.raises(DirNotFound):
            b.list("op-mkdir/missing")
        with pytest.raises(IsFileError):
            b.list("op-mkdir/f.txt")


@pytest.mark.vcr
def test_op_put_and_ranged_get(side: Side) -> None:
    text = b"hello cassette"
    data = bytes(range(200))
    with _workspace(side, "op-put") as (b, _):
        # ':' and '?' are encoded on the wire (rclone's default encoding) and decoded back.
        e = _put(b, "op-put/a:b?.txt", text)
        assert (e.path, e.size, e.hashes["md5"]) == ("op-put/a:b?.txt", 14, _md5(text))
        assert [x.path for x in b.list("op-put")] == ["op-put/a:b?.txt"]
        st = b.stat("op-put/a:b?.txt")
        assert (st.size, st.mtime_ns, st.hashes["md5"]) == (14, T, _md5(text))
        assert b.get("op-put/a:b?.txt").read() == text
        assert b.get("op-put/a:b?.txt", 2, 7).read() == b"llo c"
        assert _put(b, "op-put/b.bin", data).hashes["md5"] == _md5(data)
        assert b.get("op-put/b.bin", 10, 20).read() == data[10:20]
        assert b.get("op-put/b.bin", 190).read() == data[190:]
        assert b.hash("op-put/b.bin", "md5") == _md5(data)


@pytest.mark.vcr
def test_op_list_recursive(side: Side) -> None:
    with _workspace(side, "op-tree") as (b, _):
        _put(b, "op-tree/top.txt", b"top")
        _put(b, "op-tree/d1/one.txt", b"one!")
        _put(b, "op-tree/d1/d2/two.txt", b"two!!")
        b.mkdir("op-tree/empty")
        got = sorted((e.path, e.is_dir, e.size if not e.is_dir else None)
                     for e in b.list_recursive("op-tree"))
        assert got == [
            ("op-tree/d1", True, None), ("op-tree/d1/d2", True, None),
            ("op-tree/d1/d2/two.txt", False, 5), ("op-tree/d1/one.txt", False, 4),
            ("op-tree/empty", True, None), ("op-tree/top.txt", False, 3),
        ]
        sub = {e.path: e for e in b.list_recursive("op-tree/d1")}
        assert sorted(sub) == ["op-tree/d1/d2", "op-tree/d1/d2/two.txt", "op-tree/d1/one.txt"]
        assert sub["op-tree/d1/one.txt"].hashes["md5"] == _md5(b"one!")


@pytest.mark.vcr
def test_op_set_modtime(side: Side) -> None:
    later = T + 7 * 10**9
    with _workspace(side, "op-modtime") as (b, _):
        _put(b, "op-modtime/m.txt", b"modtime")
        assert b.set_modtime("op-modtime/m.txt", later).mtime_ns == later
        st = b.stat("op-modtime/m.txt")
        assert (st.mtime_ns, st.size, st.hashes["md5"]) == (later, 7, _md5(b"modtime"))
        assert b.get("op-modtime/m.txt").read() == b"modtime"


@pytest.mark.vcr
def test_op_server_side_copy(side: Side) -> None:
    with _workspace(side, "op-copy") as (b, _):
        _put(b, "op-copy/src.txt", b"copy me")
        e = b.copy(b, "op-copy/src.txt", "op-copy/new/dst.txt")  # parent created on the way
        assert (e.path, e.size, e.hashes["md5"]) == ("op-copy/new/dst.txt", 7, _md5(b"copy me"))
        assert b.get("op-copy/new/dst.txt").read() == b"copy me"
        assert b.stat("op-copy/src.txt").size == 7  # the source stays
        assert b.stat("op-copy/new/dst.txt").mtime_ns == T


@pytest.mark.vcr
def test_op_server_side_move(side: Side) -> None:
    with _workspace(side, "op-move") as (b, _):
        _put(b, "op-move/src.txt", b"move me")
        e = b.move(b, "op-move/src.txt", "op-move/to/moved.txt")
        assert (e.path, e.size) == ("op-move/to/moved.txt", 7)
        with pytest.raises(ObjectNotFound):
            b.stat("op-move/src.txt")
        assert b.get("op-move/to/moved.txt").read() == b"move me"
        assert sorted(x.path for x in b.list("op-move")) == ["op-move/to"]


@pytest.mark.vcr
def test_op_dir_move(side: Side) -> None:
    with _workspace(side, "op-dirmove") as (b, _):
        _put(b, "op-dirmove/a/x.txt", b"x")
        _put(b, "op-dirmove/a/deep/y.txt", b"yy")
        b.dir_move(b, "op-dirmove/a", "op-dirmove/b")
        with pytest.raises(ObjectNotFound):
            b.stat("op-dirmove/a")
        got = sorted((e.path, e.is_dir) for e in b.list_recursive("op-dirmove"))
        assert got == [("op-dirmove/b", True), ("op-dirmove/b/deep", True),
                       ("op-dirmove/b/deep/y.txt", False), ("op-dirmove/b/x.txt", False)]
        assert b.get("op-dirmove/b/deep/y.txt").read() == b"yy"


@pytest.mark.vcr
def test_op_delete_to_trash_and_cleanup(side: Side) -> None:
    with _workspace(side, "op-trash") as (b, _):
        _put(b, "op-trash/keep.txt", b"keep")
        _put(b, "op-trash/bin.txt", b"trash me")
        b.delete("op-trash/bin.txt")
        with pytest.raises(ObjectNotFound):
            b.stat("op-trash/bin.txt")
        assert [x.path for x in b.list("op-trash")] == ["op-trash/keep.txt"]
        trash = side.backend("cassette", _LiveConfig(side), trashed_only="true")
        assert [(x.path, x.size) for x in trash.list("op-trash")] == [("op-trash/bin.txt", 8)]
        b.cleanup()
        assert b.last_cleanup.files >= 1
        assert list(trash.list("op-trash")) == []
        assert b.stat("op-trash/keep.txt").size == 4  # emptying the trash spares live files


@pytest.mark.vcr
def test_op_purge(side: Side) -> None:
    with _workspace(side, "op-purge", remove=False) as (b, cfg):
        _put(b, "op-purge/f.txt", b"f")
        _put(b, "op-purge/sub/g.txt", b"gg")
        b.purge("op-purge")
        with pytest.raises(ObjectNotFound):
            b.stat("op-purge")
        with pytest.raises(DirNotFound):
            b.list("op-purge")
        # purge goes to the trash: the folder and what it held can still be found there …
        trash = side.backend("cassette", cfg, trashed_only="true")
        assert sorted((x.path, x.is_dir) for x in trash.list("op-purge")) == [
            ("op-purge/f.txt", False), ("op-purge/sub", True)]
        # … until it is removed for good (which is also this test's cleanup).
        _remove_for_good(side, cfg, "op-purge")
        with pytest.raises(ObjectNotFound):
            trash.stat("op-purge")


@pytest.mark.vcr
def test_op_public_link(side: Side) -> None:
    with _workspace(side, "op-link") as (b, _):
        _put(b, "op-link/shared.txt", b"share me")
        link = b.public_link("op-link/shared.txt")
        prefix = f"{side.www}/opin/io/downloadPublic/"
        assert link.startswith(prefix) and len(link) > len(prefix) + len(USERNAME) + 1
        assert b.public_link("op-link/shared.txt", unlink=True) == ""
        with pytest.raises(ObjectNotFound):
            b.public_link("op-link/missing.txt")


@pytest.mark.vcr
def test_op_about(side: Side) -> None:
    with _workspace(side, "op-about") as (b, _):
        _put(b, "op-about/f.bin", bytes(1000))
        usage = b.about()
        assert usage.used is not None and usage.used >= 0
        if usage.total is not None:
            assert usage.free == max(0, usage.total - usage.used)
        details = b.about_details()
        assert details["used"] == usage.used and details["write_locked"] is False


@pytest.mark.vcr
def test_op_versions(side: Side) -> None:
    with _workspace(side, "op-versions") as (b, _):
        for body in (b"first", b"second!", b"third!!!"):
            _put(b, "op-versions/v:1?.txt", body)
        vs = b.versions("op-versions/v:1?.txt")
        assert [(v.size, v.md5, v.current) for v in vs] == [
            (8, _md5(b"third!!!"), True), (7, _md5(b"second!"), False), (5, _md5(b"first"), False)]
        first = vs[-1]
        assert b.open_version("op-versions/v:1?.txt", first.id).read() == b"first"
        assert b.open_version("op-versions/v:1?.txt", first.id, 1, 3).read() == b"ir"
        e = b.restore_version("op-versions/v:1?.txt", first.id)
        assert (e.size, e.hashes["md5"]) == (5, _md5(b"first"))
        assert b.get("op-versions/v:1?.txt").read() == b"first"
        after = b.versions("op-versions/v:1?.txt")
        assert len(after) == 4 and after[0].current and after[1].md5 == _md5(b"third!!!")
        beside = b.restore_version("op-versions/v:1?.txt", vs[1].id, to="op-versions/copy.txt")
        assert beside.hashes["md5"] == _md5(b"second!")
        with pytest.raises(ObjectNotFound):
            b.restore_version("op-versions/v:1?.txt", "999")


@pytest.mark.vcr
def test_op_trash_restore(side: Side, monkeypatch: pytest.MonkeyPatch) -> None:
    from cloudsync.backends.jottacloud import _history

    # One request at a time, so replay meets them in the recorded order.
    monkeypatch.setattr(_history, "RESTORE_WORKERS", 1)
    with _workspace(side, "op-trashr") as (b, _):
        _put(b, "op-trashr/f.txt", b"file")
        _put(b, "op-trashr/d/x.txt", b"xx")
        _put(b, "op-trashr/d/sub/y.txt", b"yyy")
        b.delete("op-trashr/f.txt")
        b.purge("op-trashr/d")
        top = sorted((i.path, i.is_dir, i.size) for i in b.trash("op-trashr"))
        assert top == [("op-trashr/d", True, -1), ("op-trashr/f.txt", False, 4)]
        deep = sorted(i.path for i in b.trash("op-trashr", recursive=True))
        assert deep == ["op-trashr/d", "op-trashr/d/sub", "op-trashr/d/sub/y.txt",
                        "op-trashr/d/x.txt", "op-trashr/f.txt"]
        restored = b.restore_trash("op-trashr/d")
        assert sorted(e.path for e in restored) == ["op-trashr/d/sub/y.txt", "op-trashr/d/x.txt"]
        assert b.get("op-trashr/d/sub/y.txt").read() == b"yyy"
        assert b.stat("op-trashr/d/x.txt").mtime_ns == T
        assert [i.path for i in b.trash("op-trashr")] == ["op-trashr/f.txt"]
        b.remove_trash("op-trashr/f.txt")
        assert b.trash("op-trashr") == []
        with pytest.raises(ObjectNotFound):
            b.restore_trash("op-trashr/f.txt")


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
        r"|(?:password|refresh_token|client_secret|auth_token|code|code_verifier)=(?!REDACTED)[^&\s'\"]"
        r"|Bearer (?!REDACTED)\w"
        r"|127\.0\.0\.1:(?!1[/'\"\s])\d+"               # a recording server's real port
    )
    email = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
    for f in files:
        text = f.read_text(encoding="utf-8")
        m = bad.search(text)
        assert m is None, f"{f.name}: secret-looking text {m.group(0)[:40]!r}"
        assert "/jfs/" not in text or "/jfs/USERNAME" in text, f"{f.name}: internal username not scrubbed"
        assert set(email.findall(text)) <= {"user@example.com"}, f"{f.name}: an e-mail address"
        # Everything learned while recording in this session (usernames, e-mail, tokens …).
        leaked = [v for v in REC.seen if v in text]
        assert not leaked, f"{f.name}: {len(leaked)} recorded secret(s) left in the cassette"
    live_token = os.environ.get("CLOUDSYNC_TEST_JOTTA_LOGIN_TOKEN")
    if live_token:
        assert all(live_token not in f.read_text(encoding="utf-8") for f in files)
