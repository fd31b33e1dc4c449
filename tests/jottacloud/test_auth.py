"""Every auth flow end to end against the offline server, driven through the config flow."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import requests
from cloudsync.backends.jottacloud import SPEC, _auth, _config
from cloudsync.backends.jottacloud._api import StoredToken
from cloudsync.backends.jottacloud.backend import JottaBackend

from cloudsync.errors import AuthError, ConfigError
from cloudsync.jottaserver.testing import JottaServer

from .support import MemoryConfig, ScriptedPrompter, jotta_options, put_bytes, running_server


@pytest.fixture
def srv() -> Any:
    with running_server() as server:
        yield server


@pytest.fixture(autouse=True)
def _free_redirect_port(monkeypatch: pytest.MonkeyPatch) -> None:
    # Parallel test workers must not fight over rclone's fixed port 53682.
    monkeypatch.setattr(_auth, "REDIRECT_PORT", 0)


def endpoints(srv: JottaServer) -> dict[str, str]:
    return {"jfs_url": srv.jfs_url, "api_url": srv.api_url, "auth_base_url": srv.base_url}


def backend_from(values: dict[str, str], config: Any = None) -> JottaBackend:
    b = SPEC.factory("jotta", "", SPEC.parse_options(values), config)
    assert isinstance(b, JottaBackend)
    return b


def assert_works(values: dict[str, str], srv: JottaServer) -> None:
    b = backend_from(values)
    put_bytes(b, "auth/ok.txt", b"ok")
    assert [e.path for e in b.list("auth")] == ["auth/ok.txt"]
    assert srv.state.read("Jotta/Archive/auth/ok.txt") == b"ok"
    b.close()


def test_standard_login_token_wizard(srv: JottaServer) -> None:
    p = ScriptedPrompter(["standard", srv.mint_login_token(), False])
    values = _config.configure(p, endpoints(srv))
    assert values["config_type"] == "standard" and values["config_version"] == "1"
    assert values["client_id"] == "jottacli"
    assert values["token_url"] == srv.token_url()
    assert (values["device"], values["mountpoint"]) == ("Jotta", "Archive")
    assert values["login_token"] == ""  # single use: never kept
    assert StoredToken.from_json(values["token"]).refresh_token
    assert_works(values, srv)
    # The password grant went to the token endpoint with client jottacli.
    assert any(e.path.endswith("/protocol/openid-connect/token") for e in srv.request_log)


def test_login_token_works_only_once(srv: JottaServer) -> None:
    token = srv.mint_login_token()
    _config.configure(ScriptedPrompter(), {**endpoints(srv), "config_type": "standard", "login_token": token,
                                           "device": "Jotta", "mountpoint": "Archive"})
    with pytest.raises(AuthError) as info:
        _config.configure(ScriptedPrompter(), {**endpoints(srv), "config_type": "standard", "login_token": token})
    text = str(info.value)
    assert "login token" in text and "already used" in text and "\n" not in text
    assert token not in text


def test_login_token_not_base64_json(srv: JottaServer) -> None:
    with pytest.raises(ConfigError, match="not a JottaCloud personal login token"):
        _config.configure(ScriptedPrompter(["standard", "this is not a token"]), endpoints(srv))


def test_login_token_stored_by_config_create_is_exchanged_on_first_use(srv: JottaServer) -> None:
    cfg = MemoryConfig("jotta", {})
    values = {**endpoints(srv), "login_token": srv.mint_login_token()}
    b = backend_from(values, cfg)
    put_bytes(b, "x.txt", b"x")
    assert cfg.values["login_token"] == ""
    assert StoredToken.from_json(cfg.values["token"]).access_token
    assert cfg.values["token_url"] == srv.token_url()


def _approve_by_following(srv: JottaServer) -> Any:
    """A 'browser' that approves the login at once and follows the redirect to our listener."""

    def browse(url: str) -> None:
        srv.approve_next_authorization()
        resp = requests.get(url, timeout=30)
        assert resp.status_code == 200, resp.text

    return browse


BRANDS = ["jottacloud", "telia_se", "telia_no", "tele2", "onlime", "elkjop", "elgiganten_se", "phonero", "letsgo"]


@pytest.mark.parametrize("brand", BRANDS)
def test_browser_flow_with_local_listener(srv: JottaServer, brand: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_config, "open_browser", _approve_by_following(srv))
    p = ScriptedPrompter(["traditional", brand, True, False])
    values = _config.configure(p, endpoints(srv))
    svc = _auth.service(brand)
    assert values["config_type"] == "traditional" and values["service"] == brand
    assert values["client_id"] == svc.client_id
    assert values["token_url"] == srv.token_url(svc.realm)
    assert any("Log in to" in line for line in p.echoed)
    assert_works(values, srv)


def test_browser_flow_headless_paste(srv: JottaServer) -> None:
    seen: dict[str, str] = {}

    def on_echo(text: str) -> None:
        # The user opens the URL on another machine; the browser lands on localhost, which
        # fails to load there; the user copies that address.
        url = next(word for word in text.split() if "/protocol/openid-connect/auth?" in word)
        srv.approve_next_authorization()
        resp = requests.get(url, allow_redirects=False, timeout=30)
        assert resp.status_code in (302, 303)
        seen["redirect"] = resp.headers["Location"]

    p = ScriptedPrompter(["traditional", "telia_no", False, lambda: seen["redirect"], False])
    p.on_echo = on_echo
    values = _config.configure(p, endpoints(srv))
    assert values["service"] == "telia_no" and values["client_id"] == "desktop"
    assert_works(values, srv)


def test_headless_paste_rejects_foreign_state(srv: JottaServer) -> None:
    p = ScriptedPrompter(["traditional", "tele2", False, "http://localhost:53682/?code=abc&state=someone-else"])
    with pytest.raises(AuthError, match="state mismatch"):
        _config.configure(p, endpoints(srv))


def test_legacy_flow_with_sms_code(srv: JottaServer) -> None:
    srv.enable_otp("123456")
    p = ScriptedPrompter(["legacy", srv.login_name, srv.password, "123-456", False])
    values = _config.configure(p, endpoints(srv))
    assert values["config_type"] == "legacy" and values["config_version"] == "0"
    assert values["password"] == ""  # never stored
    assert values["client_id"] and values["client_secret"]
    assert any("SMS" in q for q in p.asked)
    # Legacy refresh uses grant_type=REFRESH_TOKEN on the legacy endpoint.
    cfg = MemoryConfig("jotta", values)
    b = backend_from(values, cfg)
    b.tokens.invalidate(b.tokens.token.access_token)
    put_bytes(b, "legacy.txt", b"l")
    assert b.tokens.refreshes == 1
    assert cfg.writes and cfg.writes[-1][0] == "token"


def test_legacy_wrong_password(srv: JottaServer) -> None:
    p = ScriptedPrompter(["legacy", srv.login_name, "wrong"])
    with pytest.raises(AuthError) as info:
        _config.configure(p, endpoints(srv))
    assert "wrong" not in str(info.value)


def test_wizard_picks_custom_device_and_mountpoint(srv: JottaServer) -> None:
    p = ScriptedPrompter(["standard", srv.mint_login_token(), True, "+", "MyLaptop", "+", "Photos"])
    values = _config.configure(p, endpoints(srv))
    assert (values["device"], values["mountpoint"]) == ("MyLaptop", "Photos")
    b = backend_from(values)
    put_bytes(b, "p.jpg", b"jpeg")
    assert srv.state.read("MyLaptop/Photos/p.jpg") == b"jpeg"


def test_unknown_device_or_mountpoint_is_one_clear_line(srv: JottaServer) -> None:
    base = {**endpoints(srv), "config_type": "standard"}
    with pytest.raises(ConfigError, match='no device "Nope"'):
        _config.configure(ScriptedPrompter(), {**base, "login_token": srv.mint_login_token(), "device": "Nope"})
    with pytest.raises(ConfigError, match='no mountpoint "Nope"'):
        _config.configure(ScriptedPrompter(), {**base, "login_token": srv.mint_login_token(), "mountpoint": "Nope"})
    # Case-insensitive match keeps the server's casing.
    values = _config.configure(ScriptedPrompter(), {**base, "login_token": srv.mint_login_token(),
                                                     "device": "jotta", "mountpoint": "sync"})
    assert (values["device"], values["mountpoint"]) == ("Jotta", "Sync")


# ---------------------------------------------------------------------- refresh and rotation


def test_refresh_rotates_and_writes_back(srv: JottaServer) -> None:
    cfg = MemoryConfig("jotta", jotta_options(srv))
    old = StoredToken.from_json(cfg.values["token"])
    b = backend_from(cfg.values, cfg)
    srv.expire_access_tokens()
    put_bytes(b, "r.txt", b"r")  # 401 → one refresh → retried
    new = StoredToken.from_json(cfg.values["token"])
    assert b.tokens.refreshes == 1
    assert new.refresh_token and new.refresh_token != old.refresh_token
    # A second client still holding the old refresh token is refused with one clear line.
    stale = backend_from({**cfg.values, "token": old.to_json()})
    stale.tokens.invalidate(old.access_token)
    with pytest.raises(AuthError) as info:
        stale.list("")
    text = str(info.value)
    assert 'cloudsync config reconnect jotta:' in text and "\n" not in text
    assert old.refresh_token not in text and old.access_token not in text


def test_refresh_adopts_token_rotated_by_someone_else(srv: JottaServer) -> None:
    cfg = MemoryConfig("jotta", jotta_options(srv))
    a = backend_from(cfg.values, cfg)
    b = backend_from(cfg.values, cfg)
    a.list("")
    b.list("")
    a.tokens.invalidate(a.tokens.token.access_token)
    a.list("")  # rotates and writes back
    b.tokens.invalidate(b.tokens.token.access_token)
    b.list("")  # must adopt a's token instead of presenting the rotated-away refresh token
    assert a.tokens.refreshes == 1 and b.tokens.refreshes == 0
    b.tokens.invalidate(b.tokens.token.access_token)
    b.list("")
    assert b.tokens.refreshes == 1


def test_many_threads_refresh_once(srv: JottaServer) -> None:
    import threading

    cfg = MemoryConfig("jotta", jotta_options(srv))
    b = backend_from(cfg.values, cfg)
    b.list("")
    srv.expire_access_tokens()
    b.tokens.invalidate(b.tokens.token.access_token)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            put_bytes(b, f"t/{i}.txt", b"%d" % i)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert b.tokens.refreshes == 1


WORKER = textwrap.dedent(
    """
    import sys
    from cloudsync.config import Config
    from cloudsync.remote import open_backend
    from cloudsync.types import PutInfo
    import io
    cfg = Config.load(sys.argv[1])
    backend, _ = open_backend("jotta:", cfg, file_ok=False)
    for i in range(int(sys.argv[3])):
        backend.tokens.invalidate(backend.tokens.token.access_token)
        backend.put(f"{sys.argv[2]}/{i}.txt", io.BytesIO(b"x"), PutInfo(size=1, mtime_ns=0))
    print("refreshes", backend.tokens.refreshes)
    """
)


def test_two_processes_refreshing_the_same_remote(srv: JottaServer, tmp_path: Path) -> None:
    from cloudsync.config import Config

    conf = tmp_path / "cloudsync.conf"
    cfg = Config(conf)
    cfg.set_values("jotta", {"type": "jottacloud", **jotta_options(srv)}, spec=SPEC, create=True)
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [
        subprocess.Popen([sys.executable, str(script), str(conf), f"p{n}", "6"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
        for n in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-2000:]
        assert "refreshes" in out
    total = sum(int(out.split()[-1]) for out, _ in outs)
    assert total >= 2  # both really refreshed (and neither ever presented a stale token)
    assert len(srv.state.files()) == 12
    final = Config(conf).get("jotta", "token")
    assert final and StoredToken.from_json(final).refresh_token


def test_secrets_never_in_logs(caplog: pytest.LogCaptureFixture) -> None:

    with running_server(password="Hunter2-unguessable") as srv:
        _secrets_never_in_logs(srv, caplog)


def _secrets_never_in_logs(srv: JottaServer, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    srv.enable_otp("123456")
    p = ScriptedPrompter(["legacy", srv.login_name, srv.password, "123456", False])
    values = _config.configure(p, endpoints(srv))
    b = backend_from(values)
    b.tokens.invalidate(b.tokens.token.access_token)
    put_bytes(b, "s.txt", b"s")
    tok = StoredToken.from_json(values["token"])
    # The offline server's own access log is not ours to police; everything the client side
    # (our logger and urllib3's) writes must be clean.
    text = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("cloudsync.jottaserver"))
    assert "REDACTED" in text
    for secret in (srv.password, values["client_secret"], tok.refresh_token, b.tokens.token.access_token):
        assert secret not in text


def test_login_token_helper_shape(srv: JottaServer) -> None:
    token = srv.mint_login_token("get")
    data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    assert set(data) >= {"username", "realm", "well_known_link", "auth_token"}


def test_legacy_otp_given_as_key_for_scripts(srv: JottaServer) -> None:
    srv.enable_otp("654321")
    current = {**endpoints(srv), "config_type": "legacy", "username": srv.login_name,
               "password": srv.password, "otp": "654-321", "device": "Jotta", "mountpoint": "Archive"}
    values = _config.configure(ScriptedPrompter(), current)  # no question asked
    assert values["config_type"] == "legacy" and "otp" not in values
    assert_works(values, srv)
