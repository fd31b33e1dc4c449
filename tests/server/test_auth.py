"""Auth flows of §2: login tokens, OIDC per realm, code flow, refresh rotation, legacy + OTP."""

from __future__ import annotations

import base64
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from cloudsync.jottaserver.brands import BRANDS
from cloudsync.jottaserver.testing import JottaServer

from .conftest import Client, decode_login_token

REDIRECT = "http://localhost:53682/"


def password_grant(srv: JottaServer, realm: str = "jottacloud", **overrides: str) -> requests.Response:
    login = decode_login_token(srv.mint_login_token(realm))
    form = {"client_id": "jottacli", "grant_type": "password", "password": login["auth_token"],
            "scope": "openid offline_access", "username": login["username"], **overrides}
    return requests.post(srv.token_url(realm), data=form)


def refresh(srv: JottaServer, rt: str, client_id: str = "jottacli", realm: str = "jottacloud",
            basic: bool = False) -> requests.Response:
    form = {"grant_type": "refresh_token", "refresh_token": rt}
    if basic:
        cred = base64.b64encode(f"{client_id}:".encode()).decode()
        return requests.post(srv.token_url(realm), data=form, headers={"Authorization": f"Basic {cred}"})
    return requests.post(srv.token_url(realm), data={**form, "client_id": client_id})


def customer(srv: JottaServer, access: str) -> requests.Response:
    return requests.get(srv.api_url + "account/v1/customer",
                        headers={"Authorization": f"Bearer {access}"})


def test_login_token_is_unpadded_base64url_json_with_the_four_fields(srv: JottaServer) -> None:
    token = srv.mint_login_token()
    assert "=" not in token and "+" not in token and "/" not in token
    data = decode_login_token(token)
    assert set(data) == {"username", "realm", "well_known_link", "auth_token"}
    assert data["realm"] == "jottacloud"
    assert data["well_known_link"] == srv.well_known_url("jottacloud")
    assert data["username"] == srv.login_name


@pytest.mark.parametrize("brand", BRANDS, ids=lambda b: b.key)
def test_discovery_and_password_grant_for_every_brand(srv: JottaServer, brand) -> None:
    wk = requests.get(srv.well_known_url(brand.realm))
    assert wk.status_code == 200
    doc = wk.json()
    assert doc["issuer"].endswith(f"/auth/realms/{brand.realm}")
    assert doc["token_endpoint"] == srv.token_url(brand.realm)
    assert doc["authorization_endpoint"] == srv.auth_url(brand.realm)
    for key in ("userinfo_endpoint", "jwks_uri", "end_session_endpoint", "grant_types_supported",
                "code_challenge_methods_supported", "introspection_endpoint"):
        assert key in doc
    r = password_grant(srv, brand.realm, scope=brand.scopes)
    assert r.status_code == 200, r.text
    tok = r.json()
    assert set(tok) >= {"access_token", "expires_in", "refresh_expires_in", "refresh_token",
                        "token_type", "id_token", "not-before-policy", "session_state", "scope"}
    assert customer(srv, tok["access_token"]).json()["username"] == srv.username


def test_unknown_realm_is_404(srv: JottaServer) -> None:
    assert requests.get(srv.well_known_url("nope")).status_code == 404


def test_password_grant_scope_and_single_use_login_token(srv: JottaServer) -> None:
    login = decode_login_token(srv.mint_login_token())
    form = {"client_id": "jottacli", "grant_type": "password", "password": login["auth_token"],
            "scope": "openid offline_access", "username": login["username"]}
    first = requests.post(srv.token_url(), data=form)
    assert first.status_code == 200
    assert first.json()["scope"] == "openid email offline_access"
    assert first.json()["refresh_expires_in"] == 0
    again = requests.post(srv.token_url(), data=form)
    assert again.status_code == 401
    assert again.json()["error"] == "invalid_grant"


def test_login_token_only_works_at_its_own_realm(srv: JottaServer) -> None:
    login = decode_login_token(srv.mint_login_token("telia_se"))
    r = requests.post(srv.token_url("get"), data={
        "client_id": "jottacli", "grant_type": "password", "password": login["auth_token"],
        "username": login["username"], "scope": "openid offline_access"})
    assert r.status_code == 401


def test_password_grant_needs_the_jottacli_client(srv: JottaServer) -> None:
    r = password_grant(srv, client_id="desktop")
    assert r.status_code == 400 and r.json()["error"] == "unauthorized_client"


def test_refresh_rotates_and_reuse_kills_the_family(srv: JottaServer) -> None:
    tok = password_grant(srv).json()
    r1 = refresh(srv, tok["refresh_token"])
    assert r1.status_code == 200
    new = r1.json()
    assert new["refresh_token"] != tok["refresh_token"]
    assert customer(srv, new["access_token"]).status_code == 200
    stale = refresh(srv, tok["refresh_token"])
    assert stale.status_code == 400
    assert stale.json() == {"error": "invalid_grant", "error_description": "Stale token"}
    # The whole family is dead now: the newest tokens no longer work either.
    assert customer(srv, new["access_token"]).status_code == 401
    assert refresh(srv, new["refresh_token"]).status_code == 400


def test_refresh_accepts_basic_and_form_client_auth(srv: JottaServer) -> None:
    tok = password_grant(srv).json()
    r1 = refresh(srv, tok["refresh_token"], basic=True)
    assert r1.status_code == 200, r1.text
    r2 = refresh(srv, r1.json()["refresh_token"], basic=False)
    assert r2.status_code == 200, r2.text


def test_refresh_with_another_client_is_refused(srv: JottaServer) -> None:
    tok = password_grant(srv).json()
    r = refresh(srv, tok["refresh_token"], client_id="desktop")
    assert r.status_code == 400
    assert r.json()["error_description"] == "Session doesn't have required client"


def test_uppercase_grant_type_is_refused_by_oidc(srv: JottaServer) -> None:
    r = password_grant(srv, grant_type="PASSWORD")
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"


def test_access_tokens_expire_after_their_lifetime() -> None:
    with JottaServer(access_token_lifetime=1) as srv:
        tok = password_grant(srv).json()
        assert tok["expires_in"] == 1
        assert customer(srv, tok["access_token"]).status_code == 200
        time.sleep(1.3)
        r = customer(srv, tok["access_token"])
        assert r.status_code == 401
        assert r.json()["error_id"] == "AuthenticationCredentialsNotFoundException"
        assert refresh(srv, tok["refresh_token"]).status_code == 200


def test_expire_access_tokens_forces_401_until_refresh(srv: JottaServer) -> None:
    c = Client(srv)
    assert c.get().status_code == 200
    assert srv.expire_access_tokens() >= 1
    r = c.get()
    assert r.status_code == 401 and "Token mismatch!" in r.text
    new = refresh(srv, c.tokens["refresh_token"]).json()
    ok = requests.get(c.url(), headers={"Authorization": f"Bearer {new['access_token']}"})
    assert ok.status_code == 200


def test_missing_or_malformed_bearer_is_401_no_token(srv: JottaServer) -> None:
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"}):
        r = requests.get(srv.jfs_url + srv.username, headers=headers)
        assert r.status_code == 401
        assert "No token or token is malformed!" in r.text


# ---------------------------------------------------------------- authorization code


def authorize_params(client_id: str = "desktop", scope: str = "openid jotta-default offline_access"):
    return {"access_type": "offline", "client_id": client_id, "redirect_uri": REDIRECT,
            "response_type": "code", "scope": scope, "state": "xyz123"}


def test_authorization_code_flow_headless(srv: JottaServer) -> None:
    disc = requests.get(srv.well_known_url("telia_se")).json()
    srv.approve_next_authorization()
    r = requests.get(disc["authorization_endpoint"], params=authorize_params(), allow_redirects=False)
    assert r.status_code == 302
    loc = urlsplit(r.headers["Location"])
    assert f"{loc.scheme}://{loc.netloc}{loc.path}" == REDIRECT
    q = parse_qs(loc.query)
    assert q["state"] == ["xyz123"]
    form = {"grant_type": "authorization_code", "code": q["code"][0], "redirect_uri": REDIRECT}
    basic = base64.b64encode(b"desktop:").decode()
    tok = requests.post(disc["token_endpoint"], data=form, headers={"Authorization": f"Basic {basic}"})
    assert tok.status_code == 200, tok.text
    assert tok.json()["scope"] == "openid jotta-default email offline_access"
    assert customer(srv, tok.json()["access_token"]).status_code == 200
    # A code is single use.
    replay = requests.post(disc["token_endpoint"], data={**form, "client_id": "desktop"})
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    # Refresh with the desktop client, form style.
    r2 = refresh(srv, tok.json()["refresh_token"], client_id="desktop", realm="telia_se")
    assert r2.status_code == 400  # the replay revoked the session issued from that code


def test_authorization_without_approval_shows_a_login_form_that_works(srv: JottaServer) -> None:
    url = srv.auth_url()
    page = requests.get(url, params=authorize_params(), allow_redirects=False)
    assert page.status_code == 200 and "<form" in page.text
    bad = requests.post(url, data={**authorize_params(), "username": srv.login_name,
                                   "password": "wrong"}, allow_redirects=False)
    assert bad.status_code == 200 and "Invalid" in bad.text
    good = requests.post(url, data={**authorize_params(), "username": srv.login_name,
                                    "password": srv.password}, allow_redirects=False)
    assert good.status_code == 302
    code = parse_qs(urlsplit(good.headers["Location"]).query)["code"][0]
    tok = requests.post(srv.token_url(), data={"grant_type": "authorization_code", "code": code,
                                               "redirect_uri": REDIRECT, "client_id": "desktop"})
    assert tok.status_code == 200
    r = refresh(srv, tok.json()["refresh_token"], client_id="desktop")
    assert r.status_code == 200


def test_code_exchange_checks_redirect_uri(srv: JottaServer) -> None:
    srv.approve_next_authorization()
    r = requests.get(srv.auth_url(), params=authorize_params(), allow_redirects=False)
    code = parse_qs(urlsplit(r.headers["Location"]).query)["code"][0]
    tok = requests.post(srv.token_url(), data={"grant_type": "authorization_code", "code": code,
                                               "redirect_uri": "http://localhost:1/",
                                               "client_id": "desktop"})
    assert tok.status_code == 400


def test_phonero_refuses_desktop_client_and_jotta_default_scope(srv: JottaServer) -> None:
    srv.auto_approve = True
    bad_client = requests.get(srv.auth_url("phonero"), params=authorize_params("desktop"),
                              allow_redirects=False)
    assert bad_client.status_code == 400
    bad_scope = requests.get(srv.auth_url("phonero"), params=authorize_params("desktop-win"),
                             allow_redirects=False)
    assert "error=invalid_scope" in bad_scope.headers["Location"]
    ok = requests.get(srv.auth_url("phonero"),
                      params=authorize_params("desktop-win", "openid offline_access"),
                      allow_redirects=False)
    assert "code=" in ok.headers["Location"]


def test_authorization_rejects_non_local_redirect(srv: JottaServer) -> None:
    srv.auto_approve = True
    params = {**authorize_params(), "redirect_uri": "https://evil.example/"}
    assert requests.get(srv.auth_url(), params=params, allow_redirects=False).status_code == 400


# ---------------------------------------------------------------- legacy


def test_legacy_register_and_password_grant_in_query_string(srv: JottaServer) -> None:
    reg = requests.post(srv.legacy_register_url, params={"device_id": "rclone-abc"},
                        headers={"Authorization": "Bearer dummy",
                                 "Content-Type": "application/x-www-form-urlencoded"})
    assert reg.status_code == 200
    creds = reg.json()
    assert set(creds) == {"client_id", "client_secret"}
    r = requests.post(srv.legacy_token_url, params={
        "client_id": creds["client_id"], "client_secret": creds["client_secret"],
        "grant_type": "PASSWORD", "password": srv.password, "username": srv.login_name},
        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200, r.text
    tok = r.json()
    assert tok["token_type"] == "bearer"
    assert customer(srv, tok["access_token"]).status_code == 200
    # Refresh goes through the oauth2 library: Basic client auth + body, upper-cased grant.
    basic = base64.b64encode(f"{creds['client_id']}:{creds['client_secret']}".encode()).decode()
    r2 = requests.post(srv.legacy_token_url,
                       data={"grant_type": "REFRESH_TOKEN", "refresh_token": tok["refresh_token"]},
                       headers={"Authorization": f"Basic {basic}"})
    assert r2.status_code == 200, r2.text
    lower = requests.post(srv.legacy_token_url,
                          data={"grant_type": "refresh_token",
                                "refresh_token": r2.json()["refresh_token"]},
                          headers={"Authorization": f"Basic {basic}"})
    assert lower.status_code == 400


def test_legacy_register_needs_a_bearer(srv: JottaServer) -> None:
    assert requests.post(srv.legacy_register_url, data={"device_id": "x"}).status_code == 401


def test_legacy_registered_client_secret_is_checked(srv: JottaServer) -> None:
    creds = requests.post(srv.legacy_register_url, data={"device_id": "d"},
                          headers={"Authorization": "Bearer x"}).json()
    r = requests.post(srv.legacy_token_url, data={
        "client_id": creds["client_id"], "client_secret": "wrong", "grant_type": "PASSWORD",
        "password": srv.password, "username": srv.login_name})
    assert r.status_code == 401


def test_legacy_wrong_password_is_invalid_grant(srv: JottaServer) -> None:
    r = requests.post(srv.legacy_token_url, data={
        "client_id": "nibfk8biu12ju7hpqomr8b1e40", "client_secret": "x", "grant_type": "PASSWORD",
        "password": "nope", "username": srv.login_name})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_legacy_sms_otp_challenge(srv: JottaServer) -> None:
    srv.enable_otp("123456")
    params = {"client_id": "nibfk8biu12ju7hpqomr8b1e40", "client_secret": "s",
              "grant_type": "PASSWORD", "password": srv.password, "username": srv.login_name}
    first = requests.post(srv.legacy_token_url, params=params)
    assert first.status_code == 401
    assert first.headers["X-JottaCloud-OTP"] == "required; SMS"
    wrong = requests.post(srv.legacy_token_url, params=params, headers={"X-Jottacloud-Otp": "000000"})
    assert wrong.status_code == 400 and "X-JottaCloud-OTP" not in wrong.headers
    ok = requests.post(srv.legacy_token_url, params=params, headers={"X-Jottacloud-Otp": "123456"})
    assert ok.status_code == 200
    assert customer(srv, ok.json()["access_token"]).status_code == 200


def test_request_log_redacts_secrets(srv: JottaServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG", logger="cloudsync.jottaserver")
    requests.post(srv.legacy_token_url, params={
        "client_id": "nibfk8biu12ju7hpqomr8b1e40", "client_secret": "topsecret",
        "grant_type": "PASSWORD", "password": "hunter2", "username": srv.login_name})
    entry = srv.request_log[-1]
    assert entry.path == "/auth/v1/token" and entry.status == 400
    assert "hunter2" not in entry.query and "topsecret" not in entry.query
    assert "password=REDACTED" in entry.query
    # The server's own debug access log shows the request line, query string included.
    assert "/auth/v1/token" in caplog.text
    assert "hunter2" not in caplog.text and "topsecret" not in caplog.text


def test_userinfo_certs_and_logout(srv: JottaServer) -> None:
    tok = password_grant(srv).json()
    base = srv.well_known_url().rsplit("/.well-known/", 1)[0] + "/protocol/openid-connect"
    info = requests.get(f"{base}/userinfo", headers={"Authorization": f"Bearer {tok['access_token']}"})
    assert info.status_code == 200 and info.json()["sub"] == srv.username
    assert requests.get(f"{base}/userinfo").status_code == 401
    assert requests.get(f"{base}/certs").json() == {"keys": []}
    assert requests.get(f"{base}/logout").status_code == 204
