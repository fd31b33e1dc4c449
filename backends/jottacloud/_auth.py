"""JottaCloud authentication: every flow of the protocol reference §2, and token refresh.

Flows (config time):

* **standard** – personal login token (base64url JSON) → OIDC discovery from its
  ``well_known_link`` → ``password`` grant with client ``jottacli``;
* **traditional** – browser OAuth (authorization code; PKCE S256 when advertised) for
  Jottacloud and every white-label brand, with a local redirect listener on 127.0.0.1 and a
  headless fallback where the user pastes the URL the browser was redirected to;
* **legacy** – device registration + ``PASSWORD`` grant (query parameters, upper-case grant
  type), the SMS one-time code when the server asks for it, ``REFRESH_TOKEN`` refresh.

Run time: :class:`TokenManager` hands out a valid access token, refreshing shortly before
expiry.  Refresh tokens rotate and the server revokes the whole family when an old one is
presented again, so a refresh happens under the remote's cross-process lock and first
re-reads the stored token: if another thread or process already rotated it, we adopt theirs
instead of presenting a stale refresh token (rclone does the same).

OAuth goes through requests-oauthlib (``OAuth2Session`` with oauthlib's clients): the
login-token password grant, the authorization URL (``state``, PKCE) and code exchange, and
every refresh – legacy ``REFRESH_TOKEN`` included, via a request hook like rclone's
``grantTypeFilter``.  Around it we keep what it does not do: Go's Basic-then-form client auth
detection, our error lines, rotation under the cross-process lock.  The legacy ``PASSWORD``
grant stays hand-written (see :meth:`AuthFlows.legacy_password_grant`).

Transport policy (:func:`check_oauth_transport`): secrets go over https only, with a single
exception for plain http to loopback hosts (127.0.0.0/8, ::1, localhost – the offline test
server).  oauthlib's own process-wide ``OAUTHLIB_INSECURE_TRANSPORT`` switch is never set
globally; :func:`oauth_transport` sets it around one call to a verified loopback URL only.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, parse_qsl, quote_plus, urlencode, urlsplit

from cloudsync.errors import AuthError, CloudsyncError, ConfigError, ProtocolError, TransientError

from . import _api
from ._http import JottaHttp, status_of

if TYPE_CHECKING:
    import requests
    from requests_oauthlib import OAuth2Session

    from cloudsync.options import ConfigAccess

__all__ = [
    "LEGACY_CLIENT_ID",
    "SERVICES",
    "STANDARD_CLIENT_ID",
    "AuthFlows",
    "Service",
    "TokenManager",
    "reconnect_hint",
]

log = logging.getLogger("cloudsync.backends.jottacloud")

STANDARD_CLIENT_ID = "jottacli"
STANDARD_SCOPE = "openid offline_access"
#: rclone's default (non-registered) legacy client id; we always register a device instead,
#: because the matching secret is only published in obscured form.
LEGACY_CLIENT_ID = "nibfk8biu12ju7hpqomr8b1e40"
#: Fixed placeholder bearer rclone sends to the device registration endpoint (not a secret).
LEGACY_REGISTER_BEARER = "c2xrZmpoYWRsZmFramhkc2xma2phaHNkbGZramhhc2xkZmtqaGFzZGxrZmpobGtq"
REDIRECT_HOST = "localhost"
#: rclone's fixed redirect port; tests set 0 to get a free one.
REDIRECT_PORT = 53682
#: Refresh this many seconds before the access token expires.
EXPIRY_MARGIN = 30.0
AUTH_CODE_TIMEOUT = 300.0


def reconnect_hint(remote: str, token_var: str | None = None) -> str:
    """A command that gives ``remote`` a new login and works for it.

    ``token_var``: the environment variable the token in use came from.  A new login (and
    every renewal of it) is kept in the config file, which that variable overrides: it has to
    go first, or the dead login would still be the one used.
    """
    unset = f"unset {token_var}, then " if token_var else ""
    if remote.startswith(":"):
        # an on-the-fly remote has no config section to keep a login (nor its renewals) in
        return (f'{unset}save the remote with "cloudsync config create NAME jottacloud" and use '
                "NAME: instead (an on-the-fly remote cannot keep a renewed login)")
    # (a remote defined only by CLOUDSYNC_CONFIG_<NAME>_* variables is reconnected too: the
    # login goes into a config-file section of that name)
    return f'{unset}run "cloudsync config reconnect {remote}:"'


# ----------------------------------------------------------------------------- services


@dataclass(frozen=True)
class Service:
    """A brand offering browser OAuth (protocol reference §2.4)."""

    key: str
    name: str
    domain: str
    realm: str
    client_id: str
    scopes: str

    def discovery_url(self, auth_base_url: str = "") -> str:
        base = auth_base_url.rstrip("/") if auth_base_url else f"https://{self.domain}"
        return f"{base}/auth/realms/{self.realm}/.well-known/openid-configuration"


_DEFAULT_SCOPES = "openid jotta-default offline_access"
_SHORT_SCOPES = "openid offline_access"

SERVICES: tuple[Service, ...] = (
    Service("jottacloud", "Jottacloud", "id.jottacloud.com", "jottacloud", "desktop", _DEFAULT_SCOPES),
    Service("elgiganten_dk", "Elgiganten Cloud (Denmark)", "cloud.elgiganten.dk", "elgiganten", "desktop", _DEFAULT_SCOPES),
    Service("elgiganten_se", "Elgiganten Cloud (Sweden)", "cloud.elgiganten.se", "elgiganten", "desktop", _DEFAULT_SCOPES),
    Service("elkjop", "Elkjøp Cloud (Norway)", "cloud.elkjop.no", "elkjop", "desktop", _DEFAULT_SCOPES),
    Service("elko", "ELKO Cloud (Iceland)", "cloud.elko.is", "elko", "desktop", _DEFAULT_SCOPES),
    Service("gigantti", "Gigantti Cloud (Finland)", "cloud.gigantti.fi", "gigantti", "desktop", _DEFAULT_SCOPES),
    Service("letsgo", "Let's Go Cloud (Germany)", "letsgo.jotta.cloud", "letsgo", "desktop-win", _SHORT_SCOPES),
    Service("mediamarkt", "MediaMarkt Cloud (multiregional)", "mediamarkt.jottacloud.com", "mediamarkt", "desktop", _DEFAULT_SCOPES),
    Service("onlime", "Onlime (Denmark)", "cloud-auth.onlime.dk", "onlime_wl", "desktop", _DEFAULT_SCOPES),
    Service("phonero", "Phonero Sky (Norway)", "sky.phonero.no", "phonero", "desktop-win", _SHORT_SCOPES),
    Service("tele2", "Tele2 Cloud (Sweden)", "mittcloud-auth.tele2.se", "comhem", "desktop", _DEFAULT_SCOPES),
    Service("telia_no", "Telia Sky (Norway)", "sky-auth.telia.no", "get", "desktop", _DEFAULT_SCOPES),
    Service("telia_se", "Telia Cloud (Sweden)", "cloud-auth.telia.se", "telia_se", "desktop", _DEFAULT_SCOPES),
)


def service(key: str) -> Service:
    for svc in SERVICES:
        if svc.key == key:
            return svc
    raise ConfigError(f"unknown JottaCloud service {key!r}", hint="one of: " + ", ".join(s.key for s in SERVICES))


# ----------------------------------------------------------------------------- transport policy

_INSECURE_ENV = "OAUTHLIB_INSECURE_TRANSPORT"
# Serialises the (rare) plain-http loopback calls: oauthlib only knows a process-wide switch.
_transport_lock = threading.Lock()


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ``::1`` – hosts that never leave this machine."""
    if not host:
        return False
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_oauth_transport(url: str) -> None:
    """Refuse to send OAuth secrets anywhere but over TLS, or over plain http to loopback.

    The offline test server (``cloudsync serve jottacloud``) speaks plain http on 127.0.0.1;
    that is the one exception.  A plain-http token URL on any other host would put passwords,
    login tokens and refresh tokens on the wire in clear text, so it is a configuration error –
    whatever ``OAUTHLIB_INSECURE_TRANSPORT`` says in the environment.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "https":
        return
    if scheme == "http" and is_loopback_host(parts.hostname):
        return
    raise ConfigError(
        f"refusing to send JottaCloud login secrets to {scheme or '?'}://{parts.hostname or '?'} "
        "without TLS",
        hint="OAuth endpoints must be https:// (plain http is allowed only for 127.0.0.1, ::1 "
        "and localhost, i.e. the offline test server)",
    )


@contextmanager
def oauth_transport(url: str) -> Iterator[None]:
    """Run one oauthlib/requests-oauthlib call against ``url`` under our transport policy.

    oauthlib refuses every ``http://`` URL unless the process-wide ``OAUTHLIB_INSECURE_TRANSPORT``
    is set.  We never set it globally: after :func:`check_oauth_transport` has established that
    the host is loopback, it is set for the duration of this one call only, under a lock (so no
    second call can slip through the window), and restored afterwards.  https URLs need no
    exception and take no lock.
    """
    check_oauth_transport(url)
    if urlsplit(url).scheme.lower() == "https":
        yield
        return
    with _transport_lock:
        previous = os.environ.get(_INSECURE_ENV)
        os.environ[_INSECURE_ENV] = "1"
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop(_INSECURE_ENV, None)
            else:
                os.environ[_INSECURE_ENV] = previous


# ----------------------------------------------------------------------------- token endpoint

# Which client-auth style works per token URL ("basic" or "form"), like Go's oauth2 cache.
_auth_style: dict[str, str] = {}
_auth_style_lock = threading.Lock()
_quieted = False


def _quiet_oauth_loggers() -> None:
    # requests-oauthlib logs request bodies, headers and whole tokens at DEBUG ("Obtained token
    # …"); with a root handler at DEBUG (pytest's caplog, an embedding application) that would
    # put passwords and refresh tokens in a log.  Nothing it says at DEBUG is worth that.
    global _quieted
    if not _quieted:
        for name in ("requests_oauthlib", "oauthlib"):
            logging.getLogger(name).setLevel(logging.INFO)
        _quieted = True


class _TokenHttpError(Exception):
    """Raised by our response hook so oauthlib never parses an error page as a token."""

    def __init__(self, response: requests.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _check_token_response(resp: requests.Response) -> requests.Response:
    """requests-oauthlib compliance hook: only a 2xx JSON object reaches oauthlib's parser."""
    html = _api.looks_like_html(resp.content or b"") or "text/html" in resp.headers.get("Content-Type", "").lower()
    if resp.status_code >= 300 or html:
        raise _TokenHttpError(resp)
    _api.parse_json(resp.content, "token response")  # malformed JSON: one clear ProtocolError
    return resp


def _oauth_error(resp: requests.Response) -> _api.OAuthError | None:
    try:
        return _api.OAuthError.from_json(_api.parse_json(resp.content, "token error"))
    except ProtocolError:
        return None


def _token_failure(resp: requests.Response, remote: str | None, context: str) -> CloudsyncError:
    """One clear line for a failed token request; never includes the request or token."""
    oauth = _oauth_error(resp)
    status = resp.status_code
    if _api.looks_like_html(resp.content or b"") or "text/html" in resp.headers.get("Content-Type", ""):
        return ProtocolError(
            f"{context}: the token endpoint answered with an HTML page (HTTP {status}); "
            "a captive portal or proxy is intercepting the connection?"
        )
    if status in (429, 500, 502, 503, 504, 509):
        return TransientError(f"{context}: token endpoint answered HTTP {status}")
    if oauth is not None:
        detail = oauth.error + (f": {oauth.description}" if oauth.description else "")
        hint = reconnect_hint(remote) if remote else None
        return AuthError(f"{context} ({detail})", hint=hint)
    if 300 <= status < 400:
        return ProtocolError(
            f"{context}: the token endpoint redirected elsewhere (HTTP {status}); "
            "a captive portal or proxy is intercepting the connection?"
        )
    return AuthError(f"{context} (HTTP {status} {resp.reason or ''})".rstrip(), hint=reconnect_hint(remote) if remote else None)


def oauth_session(
    client: Any,
    *,
    scope: list[str] | None = None,
    redirect_uri: str | None = None,
    state: str | None = None,
    pkce: str | None = None,
) -> OAuth2Session:
    """A requests-oauthlib session with our hooks: no redirects, error pages never parsed."""
    from requests_oauthlib import OAuth2Session

    from cloudsync.transport import prepare_session

    from ._http import USER_AGENT

    _quiet_oauth_loggers()
    session = OAuth2Session(client=client, scope=scope, redirect_uri=redirect_uri, state=state, pkce=pkce)
    # --user-agent, --ca-cert, --header, --tpslimit and --dump apply to token calls too
    prepare_session(session, USER_AGENT)
    # A token endpoint never redirects; a captive portal does (and a redirect could carry the
    # form to another host).  requests raises TooManyRedirects instead of following.
    session.max_redirects = 0
    session.register_compliance_hook("access_token_response", _check_token_response)
    session.register_compliance_hook("refresh_token_response", _check_token_response)
    return session


def call_token_endpoint(
    token_url: str,
    call: Callable[[Any, bool], Mapping[str, Any]],
    *,
    client_id: str,
    client_secret: str = "",
    remote: str | None = None,
    context: str = "token request failed",
    styles: tuple[str, ...] | None = None,
    previous_refresh: str = "",
) -> _api.StoredToken:
    """Run one requests-oauthlib token call with Go's client-authentication auto-detection.

    ``call(auth, include_client_id)`` performs the request (``fetch_token``/``refresh_token``).
    Client authentication as Go's oauth2 does it (rclone, protocol reference §2.2): HTTP Basic
    ``client_id:secret`` first; when the server rejects that style (401, ``invalid_client``),
    retry once with the id (and secret) in the form body, and remember what worked for this
    URL.  ``styles`` pins the order (the login-token grant is form-only, like rclone).
    """
    import requests
    from oauthlib.oauth2 import OAuth2Error
    from requests.auth import HTTPBasicAuth

    if styles is None:
        with _auth_style_lock:
            first = _auth_style.get(token_url, "basic")
        styles = (first, "form" if first == "basic" else "basic")
    for n, style in enumerate(styles):
        # RFC 6749 §2.3.1: id and secret are form-encoded before Basic encoding (Go does it).
        auth = HTTPBasicAuth(quote_plus(client_id), quote_plus(client_secret)) if style == "basic" else None
        try:
            with oauth_transport(token_url):
                raw = call(auth, style == "form")
        except _TokenHttpError as exc:
            resp = exc.response
            oauth = _oauth_error(resp)
            style_problem = resp.status_code == 401 or (
                oauth is not None and oauth.error in ("invalid_client", "unauthorized_client")
            )
            if style_problem and n + 1 < len(styles):
                continue
            raise _token_failure(resp, remote, context) from None
        except requests.exceptions.TooManyRedirects:
            raise ProtocolError(
                f"{context}: the token endpoint redirected elsewhere; "
                "a captive portal or proxy is intercepting the connection?"
            ) from None
        except requests.exceptions.SSLError as exc:
            from ._http import tls_reason

            raise ProtocolError(f"{context}: TLS verification failed for {_host_of(token_url)}: "
                                f"{tls_reason(exc)}") from None
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            from ._http import network_cause

            # one phrase ("connection refused by host:port"), never urllib3's object reprs
            cause = network_cause(exc, token_url) or "network error"
            raise TransientError(f"{context}: {cause}") from None
        except OAuth2Error as exc:
            # A 2xx answer oauthlib cannot use (no access_token, an embedded error…).
            raise ProtocolError(f"{context}: the token endpoint's answer is not a token ({exc.error})") from None
        with _auth_style_lock:
            _auth_style[token_url] = style
        token = _api.TokenResponse.from_json(dict(raw))
        return _api.StoredToken.from_response(token).with_refresh_fallback(previous_refresh)
    raise AssertionError("unreachable")  # pragma: no cover


def _host_of(url: str) -> str:
    from ._http import _host

    return _host(url)


def _short(exc: BaseException) -> str:
    from ._http import redact_url

    text = redact_url(str(exc))
    return text if len(text) < 200 else text[:200] + "…"


def refresh_grant(
    token_url: str,
    refresh_token: str,
    *,
    client_id: str,
    client_secret: str = "",
    legacy: bool = False,
    remote: str | None = None,
    context: str = "token refresh failed",
) -> _api.StoredToken:
    """``grant_type=refresh_token`` through requests-oauthlib (``REFRESH_TOKEN`` for legacy)."""
    from oauthlib.oauth2 import WebApplicationClient

    from cloudsync.net import timeouts

    session = oauth_session(WebApplicationClient(client_id))
    if legacy:
        # rclone's grantTypeFilter: the legacy endpoint "throws a 400 Bad Request if we use the
        # lower case" grant type, so rewrite exactly that one form field before sending.
        session.register_compliance_hook("refresh_token_request", _upper_refresh_grant)

    def call(auth: Any, include_client_id: bool) -> Mapping[str, Any]:
        extra: dict[str, str] = {}
        if include_client_id:
            extra["client_id"] = client_id
            if client_secret:
                extra["client_secret"] = client_secret
        result: Mapping[str, Any] = session.refresh_token(
            token_url, refresh_token=refresh_token, auth=auth, timeout=timeouts(), **extra
        )
        return result

    try:
        return call_token_endpoint(
            token_url, call, client_id=client_id, client_secret=client_secret, remote=remote,
            context=context, previous_refresh=refresh_token,
        )
    finally:
        session.close()


def _parse_token(resp: requests.Response, context: str, previous_refresh: str = "") -> _api.StoredToken:
    data = _api.parse_json(resp.content, "token response")
    parsed = _api.TokenResponse.from_json(data)
    return _api.StoredToken.from_response(parsed).with_refresh_fallback(previous_refresh)


def _upper_refresh_grant(url: str, headers: dict[str, str], body: str) -> tuple[str, dict[str, str], str]:
    pairs = [(k, "REFRESH_TOKEN" if k == "grant_type" and v == "refresh_token" else v)
             for k, v in parse_qsl(body, keep_blank_values=True)]
    return url, headers, urlencode(pairs)


# ----------------------------------------------------------------------------- config-time flows


class AuthFlows:
    """The interactive/one-shot flows, used by the config wizard and ``config create``."""

    def __init__(self, http: JottaHttp, api_url: str) -> None:
        self.http = http
        self.api_url = api_url if api_url.endswith("/") else api_url + "/"

    # --- discovery --------------------------------------------------------------------------
    def discover(self, url: str) -> _api.WellKnown:
        resp = self.http.request("GET", url, auth=False, path=None)
        if "text/html" in resp.headers.get("Content-Type", "").lower():
            raise ProtocolError("OpenID discovery answered with an HTML page (captive portal?)")
        return _api.WellKnown.from_json(_api.parse_json(resp.content, "OpenID discovery document"))

    # --- standard ---------------------------------------------------------------------------
    def login_token_grant(self, login_token: _api.LoginToken) -> tuple[_api.WellKnown, _api.StoredToken]:
        """Exchange a personal login token (single use) for a token; returns (discovery, token).

        oauthlib's resource-owner password grant, sent exactly like rclone: form body
        ``client_id=jottacli&grant_type=password&password=<auth_token>&scope=…&username=…``,
        no client secret and no Basic header.
        """
        from oauthlib.oauth2 import LegacyApplicationClient

        from cloudsync.net import timeouts

        wk = self.discover(login_token.well_known_link)
        # The scope goes with this one request, not on the session: Keycloak grants more than
        # asked ("openid email offline_access") and oauthlib would raise on a session scope
        # that "changed"; the granted scope is not ours to police.
        session = oauth_session(LegacyApplicationClient(STANDARD_CLIENT_ID))

        def call(auth: Any, include_client_id: bool) -> Mapping[str, Any]:
            result: Mapping[str, Any] = session.fetch_token(
                wk.token_endpoint, username=login_token.username, password=login_token.auth_token,
                include_client_id=True, scope=STANDARD_SCOPE, timeout=timeouts(),
            )
            return result

        try:
            token = call_token_endpoint(
                wk.token_endpoint, call, client_id=STANDARD_CLIENT_ID, styles=("form",),
                context="the personal login token was refused",
            )
        except AuthError:
            raise AuthError(
                "the personal login token was refused (login tokens work only once; "
                "it was already used, has expired or was revoked)",
                hint="generate a new one on the web page's 'Personal login token' section",
            ) from None
        finally:
            session.close()
        return wk, token

    # --- traditional (authorization code) -----------------------------------------------------
    def code_flow(self, wk: _api.WellKnown, svc: Service, redirect_uri: str, state: str) -> CodeFlow:
        return CodeFlow(wk, svc.client_id, svc.scopes, redirect_uri, state)

    # --- legacy -------------------------------------------------------------------------------
    @property
    def legacy_token_url(self) -> str:
        return self.api_url + "auth/v1/token"

    def legacy_register(self, device_id: str | None = None) -> _api.LegacyClient:
        """Register a machine-specific OAuth client (``auth/v1/register``)."""
        import string

        if device_id is None:
            alphabet = string.ascii_letters + string.digits
            import secrets as _secrets  # (a new device only: hmac and hashlib cost ~4 ms)

            device_id = "cloudsync-" + "".join(_secrets.choice(alphabet) for _ in range(21))
        resp = self.http.request(
            "POST",
            self.api_url + "auth/v1/register",
            params={"device_id": device_id},
            headers={
                "Authorization": f"Bearer {LEGACY_REGISTER_BEARER}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
            auth=False,
            retry=False,
        )
        return _api.LegacyClient.from_json(_api.parse_json(resp.content, "device registration"))

    def legacy_password_grant(
        self,
        client: _api.LegacyClient,
        username: str,
        password: str,
        ask_otp: Callable[[], str] | None,
    ) -> _api.StoredToken:
        """``grant_type=PASSWORD`` with query parameters; asks for the SMS code when required.

        Hand-written on purpose, not oauthlib: the grant type is the non-standard upper-case
        ``PASSWORD``, every parameter (client secret and password included) travels in the
        query string as rclone sends it, and the SMS step re-sends the same request with an
        ``X-Jottacloud-Otp`` header after a 401 – none of which oauthlib's password grant can
        express.  The transport policy still applies: no clear-text password off loopback.
        """
        check_oauth_transport(self.legacy_token_url)
        params = {
            "client_id": client.client_id,
            "client_secret": client.client_secret,
            "grant_type": "PASSWORD",
            "password": password,
            "username": username,
        }
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        for _round in range(2):
            resp = self.http.request(
                "POST", self.legacy_token_url, params=params, headers=headers, auth=False,
                retry=False, ok_statuses=frozenset(range(400, 600)),
            )
            if resp.status_code < 300:
                return _parse_token(resp, "legacy login")
            otp_header = resp.headers.get("X-JottaCloud-OTP", "")
            if otp_header.lower().startswith("required") and "X-Jottacloud-Otp" not in headers:
                if ask_otp is None:
                    raise AuthError(
                        "JottaCloud asks for the one-time SMS code, but this run is not interactive",
                        hint="run the config wizard in a terminal",
                    )
                code = ask_otp().replace("-", "").strip()
                headers = {**headers, "X-Jottacloud-Otp": code}
                continue
            err = _token_failure(resp, None, "JottaCloud refused the username, password or code")
            raise err
        raise AuthError("JottaCloud refused the one-time SMS code")


class CodeFlow:
    """One browser login (authorization code) driven by requests-oauthlib.

    The authorization URL carries ``state`` and, when the issuer's discovery document
    advertises ``S256`` (every Keycloak realm does), a PKCE challenge: rclone sends none
    (protocol reference §2.2), but Keycloak checks a challenge whenever one is sent, and it
    keeps a code intercepted on the way to our loopback listener useless to anyone else.
    ``access_type=offline`` is kept from rclone's URL.
    """

    def __init__(self, wk: _api.WellKnown, client_id: str, scopes: str, redirect_uri: str, state: str) -> None:
        from oauthlib.oauth2 import WebApplicationClient

        if not wk.authorization_endpoint:
            raise ProtocolError("the OpenID discovery document has no authorization_endpoint")
        self.wk = wk
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self.state = state
        self.pkce = "S256" if "S256" in wk.code_challenge_methods else None
        self._session = oauth_session(
            WebApplicationClient(client_id), scope=scopes.split(), redirect_uri=redirect_uri,
            state=state, pkce=self.pkce,
        )
        with oauth_transport(wk.authorization_endpoint):
            url, returned_state = self._session.authorization_url(wk.authorization_endpoint, access_type="offline")
        assert returned_state == state
        self.url: str = url

    def exchange(self, code: str) -> _api.StoredToken:
        """Trade the authorization code (plus the PKCE verifier) for a token."""
        from cloudsync.net import timeouts

        session = self._session
        # The requested scope was sent with the authorization URL; Keycloak grants a superset
        # ("email" added) and oauthlib would raise on a scope that "changed".
        session.scope = None

        def call(auth: Any, include_client_id: bool) -> Mapping[str, Any]:
            result: Mapping[str, Any] = session.fetch_token(
                self.wk.token_endpoint, code=code, auth=auth, include_client_id=include_client_id,
                timeout=timeouts(),
            )
            return result

        try:
            return call_token_endpoint(
                self.wk.token_endpoint, call, client_id=self.client_id,
                context="the authorization code was refused",
            )
        finally:
            session.close()


# ----------------------------------------------------------------------------- redirect listener


class RedirectListener:
    """A tiny HTTP server on 127.0.0.1 catching the browser's redirect with ``code``/``state``."""

    def __init__(self, state: str, port: int = REDIRECT_PORT) -> None:
        # Imported here: http.server (with html and email) is only needed by a browser
        # login, never by the commands that run against a configured remote.
        import http.server

        self.state = state
        self.result: dict[str, str] | None = None
        self._done = threading.Event()
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                if "code" not in query and "error" not in query:
                    self.send_response(404)
                    self.end_headers()
                    return
                if query.get("state") != listener.state:
                    self._answer(400, "State mismatch: this is not the login cloudsync started.")
                    return
                listener.result = query
                ok = "code" in query
                self._answer(200 if ok else 400,
                             "Success! You can close this window and return to cloudsync." if ok
                             else "Login failed; see cloudsync for details.")
                listener._done.set()

            def _answer(self, status: int, text: str) -> None:
                body = f"<html><body><p>{text}</p></body></html>".encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                # The request line carries the authorization code: never log it.
                return

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="jotta-oauth-redirect", daemon=True)
        self._thread.start()

    @property
    def redirect_uri(self) -> str:
        return f"http://{REDIRECT_HOST}:{self.port}/"

    def wait(self, timeout: float) -> dict[str, str] | None:
        self._done.wait(timeout)
        return self.result

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def parse_redirect(url: str, state: str) -> str:
    """The code from a pasted redirect URL (or a bare code); checks ``state``."""
    text = url.strip()
    if "code=" not in text and "error=" not in text and "://" not in text and "?" not in text:
        return text  # the user pasted just the code
    query = {k: v[0] for k, v in parse_qs(urlsplit(text).query).items()}
    if "error" in query:
        raise AuthError(f"the login was refused ({query['error']}: {query.get('error_description', '')})".rstrip(": )") + ")")
    if query.get("state") != state:
        raise AuthError("the pasted URL belongs to another login attempt (state mismatch); start again")
    code = query.get("code")
    if not code:
        raise AuthError("the pasted URL has no authorization code")
    return code


def listener_result_code(result: dict[str, str] | None) -> str:
    if result is None:
        raise AuthError("timed out waiting for the browser login to finish")
    if "error" in result:
        raise AuthError(f"the login was refused ({result['error']})")
    return result["code"]


# ----------------------------------------------------------------------------- run-time tokens


class TokenManager:
    """Thread-safe source of valid access tokens for one remote, with rotation-safe refresh."""

    def __init__(
        self,
        remote: str,
        token: _api.StoredToken,
        *,
        token_url: str,
        client_id: str,
        client_secret: str = "",
        legacy: bool = False,
        config: ConfigAccess | None = None,
        http: JottaHttp,
        clock: Callable[[], _dt.datetime] | None = None,
        hint: str | None = None,
    ) -> None:
        self.remote = remote
        #: what to do once the login is dead (the remote's kind decides what works)
        self.hint = hint or reconnect_hint(remote)
        self._token = token
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.legacy = legacy
        self.config = config
        self.http = http
        self._clock = clock or (lambda: _dt.datetime.now(_dt.UTC))
        self._lock = threading.Lock()
        #: Number of refreshes this process performed (tests read it).
        self.refreshes = 0

    def access_token(self) -> str:
        with self._lock:
            if not self._token.valid_for(EXPIRY_MARGIN, self._clock()):
                self._refresh_locked()
            return self._token.access_token

    @property
    def token(self) -> _api.StoredToken:
        return self._token

    def invalidate(self, access_token: str) -> None:
        """The server rejected ``access_token``: make the next call refresh (unless it already did)."""
        with self._lock:
            if self._token.access_token == access_token:
                self._token = _api.StoredToken(
                    self._token.access_token, self._token.token_type, self._token.refresh_token,
                    _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC),
                )

    def _refresh_locked(self) -> None:
        if self.config is None:
            self._token = self._do_refresh(self._token.refresh_token)
            return
        with self.config.lock():
            # Another process (or a previous run) may have rotated the token meanwhile:
            # presenting our old refresh token now would revoke the whole family.
            self.config.reload()
            stored_text = self.config.get("token")
            if stored_text:
                stored = _api.StoredToken.from_json(stored_text)
                if stored.access_token != self._token.access_token and stored.valid_for(
                    EXPIRY_MARGIN, self._clock()
                ):
                    self._token = stored
                    return
                refresh_token = stored.refresh_token or self._token.refresh_token
            else:
                refresh_token = self._token.refresh_token
            new = self._do_refresh(refresh_token)
            # Write back before anything else can fail: the old refresh token is dead now.
            self.config.set("token", new.to_json())
            self._token = new

    def _do_refresh(self, refresh_token: str) -> _api.StoredToken:
        if not refresh_token:
            raise AuthError(
                f'the stored token of remote "{self.remote}:" has expired and has no refresh token',
                hint=self.hint,
            )
        last: CloudsyncError | None = None
        for attempt in range(5):
            try:
                new = refresh_grant(
                    self.token_url,
                    refresh_token,
                    client_id=self.client_id,
                    client_secret=self.client_secret,
                    legacy=self.legacy,
                    remote=self.remote,
                    context=f'could not refresh the JottaCloud token of remote "{self.remote}:"',
                )
            except AuthError as exc:
                # Fatal OAuth error (invalid_grant "Stale token", revoked…): no retry.
                raise AuthError(
                    f'the JottaCloud login of remote "{self.remote}:" is no longer valid '
                    f"({_reason(exc)})",
                    hint=self.hint,
                ) from None
            except (TransientError, ProtocolError) as exc:
                last = exc
                if status_of(exc) is None and attempt < 4:
                    time.sleep(min(2.0, 0.2 * 2**attempt))
                    continue
                if attempt < 4:
                    time.sleep(min(2.0, 0.2 * 2**attempt))
                    continue
                raise
            self.refreshes += 1
            log.debug("refreshed the access token of %s: (expires %s)", self.remote, new.expiry)
            return new
        assert last is not None
        raise last


def _reason(exc: AuthError) -> str:
    text = exc.message
    if "(" in text and text.endswith(")"):
        return text[text.rindex("(") + 1 : -1]
    return text
