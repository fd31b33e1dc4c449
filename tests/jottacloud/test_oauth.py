"""requests-oauthlib underneath the flows, and the plain-http policy (loopback only)."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cloudsync.backends.jottacloud import _auth, _config
from cloudsync.backends.jottacloud._api import StoredToken, WellKnown

from cloudsync.errors import AuthError, ConfigError
from cloudsync.jottaserver.testing import JottaServer

from .support import MemoryConfig, ScriptedPrompter, jotta_options, make_backend, running_server


@pytest.fixture
def srv() -> Any:
    with running_server() as server:
        yield server


@pytest.fixture(autouse=True)
def _free_redirect_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_auth, "REDIRECT_PORT", 0)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/token", "http://127.9.8.7/token", "http://[::1]:9/token",
        "http://localhost:1/token", "http://LOCALHOST/token", "https://id.jottacloud.com/token",
        "https://example.org/token",
    ],
)
def test_transport_allowed(url: str) -> None:
    _auth.check_oauth_transport(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://id.jottacloud.com/auth/realms/jottacloud/protocol/openid-connect/token",
        "http://192.168.1.10/token", "http://128.0.0.1/token", "http://[::2]/token",
        "http://localhost.example.com/token", "http://127.0.0.1.nip.io/token", "ftp://127.0.0.1/x",
        "token",
    ],
)
def test_transport_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="without TLS") as info:
        _auth.check_oauth_transport(url)
    assert "\n" not in str(info.value)


def test_non_loopback_http_refresh_is_refused_even_with_oauthlib_override(monkeypatch: pytest.MonkeyPatch) -> None:
    # A user (or another library) may have switched oauthlib's check off process-wide; our own
    # policy still refuses to put a refresh token on the wire in clear text.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    sent: list[str] = []
    monkeypatch.setattr(requests.Session, "send", lambda self, req, **kw: sent.append(req.url))
    with pytest.raises(ConfigError, match="without TLS"):
        _auth.refresh_grant("http://id.example.com/token", "RT", client_id="desktop")
    assert sent == []


def test_non_loopback_http_token_url_in_a_remote_is_refused(srv: JottaServer, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[str] = []
    real_send = requests.Session.send

    def spy(self: requests.Session, req: requests.PreparedRequest, **kw: Any) -> Any:
        sent.append(str(req.url))
        return real_send(self, req, **kw)

    monkeypatch.setattr(requests.Session, "send", spy)
    b = make_backend(srv, token_url="http://jotta.example.com/auth/realms/jottacloud/protocol/openid-connect/token")
    b.tokens.invalidate(b.tokens.token.access_token)
    with pytest.raises(ConfigError, match="without TLS") as info:
        b.list("")
    assert not any("example.com" in u for u in sent)
    assert b.tokens.token.refresh_token not in str(info.value)


def test_oauthlib_switch_is_scoped_to_one_loopback_call(srv: JottaServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT", raising=False)
    seen: list[str | None] = []
    real = _auth.call_token_endpoint

    def spy(token_url: str, call: Any, **kw: Any) -> Any:
        def wrapped(auth: Any, include: bool) -> Any:
            seen.append(os.environ.get("OAUTHLIB_INSECURE_TRANSPORT"))
            return call(auth, include)

        return real(token_url, wrapped, **kw)

    monkeypatch.setattr(_auth, "call_token_endpoint", spy)
    cfg = MemoryConfig("jotta", jotta_options(srv))
    b = make_backend(srv, config=cfg)
    b.tokens.invalidate(b.tokens.token.access_token)
    b.list("")
    assert seen == ["1"]  # set while talking to 127.0.0.1 …
    assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ  # … and gone afterwards
    with _auth.oauth_transport("https://id.jottacloud.com/x"):
        assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ  # https needs no exception


def test_refresh_goes_through_requests_oauthlib(srv: JottaServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from requests_oauthlib import OAuth2Session

    calls: list[str] = []
    real = OAuth2Session.refresh_token

    def spy(self: OAuth2Session, token_url: str, **kw: Any) -> Any:
        calls.append(token_url)
        return real(self, token_url, **kw)

    monkeypatch.setattr(OAuth2Session, "refresh_token", spy)
    cfg = MemoryConfig("jotta", jotta_options(srv))
    b = make_backend(srv, config=cfg)
    old = b.tokens.token
    b.tokens.invalidate(old.access_token)
    b.list("")
    assert calls == [srv.token_url()]
    assert StoredToken.from_json(cfg.values["token"]).refresh_token != old.refresh_token


class _Spy:
    """Captures what requests-oauthlib sends to the token endpoint."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.bodies: list[dict[str, str]] = []
        self.headers: list[dict[str, str]] = []
        real = _auth.oauth_session

        def session(*args: Any, **kwargs: Any) -> Any:
            s = real(*args, **kwargs)
            s.register_compliance_hook("access_token_request", self._hook)
            return s

        monkeypatch.setattr(_auth, "oauth_session", session)

    def _hook(self, url: str, headers: dict[str, str], kwargs: dict[str, Any]) -> Any:
        self.bodies.append(dict(kwargs.get("data") or {}))
        self.headers.append(dict(headers))
        return url, headers, kwargs


def test_browser_flow_uses_state_and_pkce(srv: JottaServer, monkeypatch: pytest.MonkeyPatch) -> None:
    spy = _Spy(monkeypatch)
    seen: dict[str, str] = {}

    def browse(url: str) -> None:
        seen["url"] = url
        srv.approve_next_authorization()
        assert requests.get(url, timeout=30).status_code == 200

    monkeypatch.setattr(_config, "open_browser", browse)
    values = _config.configure(ScriptedPrompter(["traditional", "telia_se", True, False]),
                               {"jfs_url": srv.jfs_url, "api_url": srv.api_url, "auth_base_url": srv.base_url})
    assert values["service"] == "telia_se"
    q = {k: v[0] for k, v in parse_qs(urlsplit(seen["url"]).query).items()}
    assert q["response_type"] == "code" and q["client_id"] == "desktop" and q["access_type"] == "offline"
    assert q["scope"] == "openid jotta-default offline_access"
    assert len(q["state"]) >= 20
    assert q["code_challenge_method"] == "S256"
    (body,) = spy.bodies
    assert body["grant_type"] == "authorization_code"
    verifier = body["code_verifier"]
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    assert digest == q["code_challenge"]


def test_no_pkce_when_the_issuer_does_not_advertise_it() -> None:
    wk = WellKnown("iss", "http://127.0.0.1:1/auth", "http://127.0.0.1:1/token")
    flow = _auth.CodeFlow(wk, "desktop", "openid offline_access", "http://localhost:53682/", "s" * 24)
    q = parse_qs(urlsplit(flow.url).query)
    assert "code_challenge" not in q and q["state"] == ["s" * 24]
    assert q["redirect_uri"] == ["http://localhost:53682/"]


def test_authorization_endpoint_over_plain_http_elsewhere_is_refused() -> None:
    wk = WellKnown("iss", "http://id.example.com/auth", "https://id.example.com/token")
    with pytest.raises(ConfigError, match="without TLS"):
        _auth.CodeFlow(wk, "desktop", "openid", "http://localhost:53682/", "state")


def test_login_token_grant_is_form_only_like_rclone(srv: JottaServer, monkeypatch: pytest.MonkeyPatch) -> None:
    spy = _Spy(monkeypatch)
    _config.configure(ScriptedPrompter(), {"config_type": "standard", "login_token": srv.mint_login_token(),
                                           "jfs_url": srv.jfs_url, "api_url": srv.api_url,
                                           "device": "Jotta", "mountpoint": "Archive"})
    (body,) = spy.bodies
    assert body["grant_type"] == "password" and body["client_id"] == "jottacli"
    assert body["scope"] == "openid offline_access" and body["username"]
    assert "client_secret" not in body


def test_client_auth_falls_back_from_basic_to_form(srv: JottaServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # A token endpoint that refuses Basic client auth: Go's oauth2 retries with the id in the
    # form and remembers the style per URL; so do we.
    rejected: list[str] = []
    real_send = requests.Session.send

    def send(self: requests.Session, req: requests.PreparedRequest, **kw: Any) -> Any:
        if str(req.url).endswith("/openid-connect/token") and "Authorization" in req.headers:
            rejected.append(str(req.url))
            resp = requests.Response()
            resp.status_code, resp._content = 401, b'{"error":"invalid_client"}'
            resp.headers["Content-Type"] = "application/json"
            resp.request, resp.url = req, str(req.url)
            return resp
        return real_send(self, req, **kw)

    monkeypatch.setattr(requests.Session, "send", send)
    monkeypatch.setattr(_auth, "_auth_style", {})
    cfg = MemoryConfig("jotta", jotta_options(srv))
    b = make_backend(srv, config=cfg)
    b.tokens.invalidate(b.tokens.token.access_token)
    b.list("")
    assert rejected == [srv.token_url()]
    assert _auth._auth_style[srv.token_url()] == "form"
    b.tokens.invalidate(b.tokens.token.access_token)
    b.list("")
    assert len(rejected) == 1  # remembered


def test_captive_portal_on_the_token_endpoint(srv: JottaServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from cloudsync.errors import ProtocolError

    real_send = requests.Session.send

    def send(self: requests.Session, req: requests.PreparedRequest, **kw: Any) -> Any:
        if str(req.url).endswith("/openid-connect/token"):
            resp = requests.Response()
            resp.status_code, resp._content = 200, b"<html><body>Welcome to Hotel WiFi</body></html>"
            resp.headers["Content-Type"] = "text/html"
            resp.request, resp.url = req, str(req.url)
            return resp
        return real_send(self, req, **kw)

    monkeypatch.setattr(requests.Session, "send", send)
    b = make_backend(srv)
    b.tokens.invalidate(b.tokens.token.access_token)
    with pytest.raises(ProtocolError, match="HTML page") as info:
        b.list("")
    assert "\n" not in str(info.value) and "Hotel" not in str(info.value)


def test_refresh_with_revoked_token_is_one_line(srv: JottaServer) -> None:
    cfg = MemoryConfig("jotta", jotta_options(srv))
    old = StoredToken.from_json(cfg.values["token"])
    a = make_backend(srv, config=cfg)
    a.tokens.invalidate(old.access_token)
    a.list("")  # rotates
    stale = make_backend(srv, token=old.to_json())
    stale.tokens.invalidate(old.access_token)
    with pytest.raises(AuthError, match="Stale token") as info:
        stale.list("")
    assert 'run "cloudsync config reconnect jotta:"' in str(info.value)


def test_requests_oauthlib_debug_log_stays_quiet(srv: JottaServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = srv.mint_login_token()
    values = _config.configure(ScriptedPrompter(), {"config_type": "standard", "login_token": token,
                                                    "jfs_url": srv.jfs_url, "api_url": srv.api_url,
                                                    "device": "Jotta", "mountpoint": "Archive"})
    b = make_backend(srv, token=values["token"])
    b.tokens.invalidate(b.tokens.token.access_token)
    b.list("")
    secrets = [StoredToken.from_json(values["token"]).refresh_token, b.tokens.token.access_token,
               b.tokens.token.refresh_token, token]
    text = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("cloudsync.jottaserver"))
    for secret in secrets:
        assert secret not in text


@pytest.mark.parametrize("key", ["jfs_url", "api_url"])
def test_plain_http_api_endpoint_off_loopback_is_refused(srv: JottaServer, key: str) -> None:
    # The bearer token rides on every JFS/API request: no clear text off this machine either.
    with pytest.raises(ConfigError, match="without TLS"):
        make_backend(srv, **{key: "http://jfs.example.com/jfs/"})
