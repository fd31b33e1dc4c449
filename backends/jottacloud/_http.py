"""HTTP layer: one requests Session, rclone-style pacing and retries, error mapping, redaction.

* Every JFS/API call goes through :meth:`JottaHttp.request`, the one owner of low-level
  retries for this backend.  Calls marked ``retry=True`` are retried on 429/500/502/503/504/509
  and on network errors (resets, refused connections, timeouts, bodies cut short), up to
  ``low_level_retries`` tries in all, with rclone's pacer (sleep doubles per failure up to 2 s,
  decays on success) and any ``Retry-After`` the server sends.  The upload body itself is
  retried by the backend's upload loop (it resumes at the server's ``resume_pos``).  Token
  calls are never retried blindly (a refresh whose reply was lost may already have rotated
  the refresh token).
* Error answers (JFS XML ``<error>``, JSON API errors, OAuth errors, bare status lines) become
  :mod:`cloudsync.errors` classes carrying the HTTP status, with one clear line of text in
  rclone's form ``error <code>: <message> (<reason>)``.
* An HTML page where XML/JSON was expected (captive portal, proxy login) is a ProtocolError.
* TLS verification is always on.  Tokens, passwords, client secrets and authorization codes
  never reach a log line: query strings are scrubbed, headers are never logged.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cloudsync.errors import (
    AuthError,
    CloudsyncError,
    IsDirError,
    IsFileError,
    NameNotSupported,
    NoRetryError,
    ObjectNotFound,
    PermissionDenied,
    ProtocolError,
    QuotaExceeded,
    RemoteUnreachable,
    TransientError,
)
from cloudsync.net import timeouts

from . import _api

if TYPE_CHECKING:
    import requests
    from requests.adapters import HTTPAdapter

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_JFS_URL",
    "DEFAULT_WWW_URL",
    "HttpAuthError",
    "HttpNotFound",
    "JottaHttp",
    "Pacer",
    "network_cause",
    "redact_url",
    "status_of",
]

log = logging.getLogger("cloudsync.backends.jottacloud")

DEFAULT_JFS_URL = "https://jfs.jottacloud.com/jfs/"
DEFAULT_API_URL = "https://api.jottacloud.com/"
DEFAULT_WWW_URL = "https://www.jottacloud.com/"

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 509})
USER_AGENT = "cloudsync/0.1 (jottacloud)"
#: Connections kept per host when nobody said how many threads will call (rclone's defaults:
#: 4 transfers + 8 checkers).
DEFAULT_POOL_SIZE = 12

# ----------------------------------------------------------------------------- redaction

_SECRET_PARAMS = re.compile(
    r"((?:password|client_secret|refresh_token|access_token|auth_token|code|token|id_token)=)[^&\s\"']*",
    re.IGNORECASE,
)


def redact_url(url: str) -> str:
    """A URL safe to log: secret-looking query values replaced."""
    return _SECRET_PARAMS.sub(r"\1REDACTED", url)


class _RedactFilter(logging.Filter):
    """Scrub secret query parameters from urllib3's own debug lines (``-vv`` enables them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(redact_url(a) if isinstance(a, str) else a for a in args)
        if isinstance(record.msg, str):
            record.msg = redact_url(record.msg)
        return True


_filter_installed = False
_filter_lock = threading.Lock()


def _install_redaction() -> None:
    global _filter_installed
    with _filter_lock:
        if not _filter_installed:
            logging.getLogger("urllib3.connectionpool").addFilter(_RedactFilter())
            _filter_installed = True


# ----------------------------------------------------------------------------- errors


class _HttpInfo:
    """HTTP facts attached to errors raised by this layer."""

    status: int | None = None
    java_exception: str = ""


class HttpNotFound(_HttpInfo, ObjectNotFound):
    """404 – the caller decides whether that means a missing file or a missing directory."""


class HttpAuthError(_HttpInfo, AuthError):
    pass


class HttpTransient(_HttpInfo, TransientError):
    pass


class HttpNoRetry(_HttpInfo, NoRetryError):
    pass


class HttpPermission(_HttpInfo, PermissionDenied):
    pass


class HttpQuota(_HttpInfo, QuotaExceeded):
    pass


class HttpName(_HttpInfo, NameNotSupported):
    pass


class HttpProtocol(_HttpInfo, ProtocolError):
    pass


class HttpIsDir(_HttpInfo, IsDirError):
    pass


class HttpIsFile(_HttpInfo, IsFileError):
    pass


def status_of(err: BaseException) -> int | None:
    return err.status if isinstance(err, _HttpInfo) else None


def _describe(resp: requests.Response) -> tuple[str, str, str]:
    """(message, reason, java exception name) from an error body, whatever its format."""
    body = resp.content or b""
    ctype = resp.headers.get("Content-Type", "").lower()
    reason = resp.reason or ""
    if _api.looks_like_html(body) or "text/html" in ctype:
        return ("", reason, "<html>")
    stripped = body.lstrip()
    if stripped.startswith(b"<"):
        try:
            node = _api.parse_node(body, "error document")
        except ProtocolError:
            return ("", reason, "")
        if isinstance(node, _api.ApiError):
            return (node.message, node.reason or reason, node.exception)
        return ("", reason, "")
    if stripped.startswith(b"{"):
        try:
            data = _api.parse_json(body, "error document")
        except ProtocolError:
            return ("", reason, "")
        oauth = _api.OAuthError.from_json(data)
        if oauth is not None:
            text = oauth.error + (f": {oauth.description}" if oauth.description else "")
            return (text, reason, oauth.error)
        api = _api.JsonApiError.from_json(data)
        return (api.message, reason, api.error_id)
    # A bare status line ("400 Bad request") – keep it short; never echo large bodies.
    text = body[:200].decode("utf-8", "replace").strip()
    return (text if text and "\n" not in text else "", reason, "")


def _retry_after(resp: requests.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())


def error_for(resp: requests.Response, path: str | None = None) -> CloudsyncError:
    """Map an unsuccessful response to the matching cloudsync error."""
    status = resp.status_code
    message, reason, java = _describe(resp)
    if java == "<html>":
        err: CloudsyncError = HttpProtocol(
            f"HTTP {status}: the server answered with an HTML page instead of JottaCloud's API "
            "(a captive portal, proxy or login page is intercepting the connection?)",
            path=path,
        )
        if status in RETRY_STATUSES:
            err = HttpTransient(str(err), retry_after=_retry_after(resp), path=path)
        _attach(err, status, "")
        return err
    text = f"error {status}: {message or reason or 'HTTP error'}" + (
        f" ({reason})" if message and reason else ""
    )
    low = f"{message} {java}".lower()
    # Decide "account full" on the exception name, the status and specific phrases – never on a
    # bare word: the message often quotes the path, and a folder called "quota" is not a full
    # account (a 404 for it once read as one).
    java_low = java.lower().replace("-", "")
    msg_low = message.lower().replace("-", " ")
    if status != 404 and (
        status == 507 or "quota" in java_low or "storagefull" in java_low or "writelocked" in java_low
        or any(p in msg_low for p in ("quota exceeded", "not enough space", "write locked", "storage full"))
    ):
        err = HttpQuota(text, path=path, hint="the account is full or write-locked")
    elif status == 401:
        err = HttpAuthError(text, path=path)
    elif status == 403:
        err = HttpPermission(text, path=path)
    elif status == 404:
        err = HttpNotFound(text, path=path)
    elif status in RETRY_STATUSES:
        err = HttpTransient(text, retry_after=_retry_after(resp), path=path)
    elif status in (400, 409) and ("is a folder" in low or "is a directory" in low):
        err = HttpIsDir(text, path=path)
    elif status in (400, 409) and ("is a file" in low or "not a folder" in low):
        err = HttpIsFile(text, path=path)
    elif status == 400 and (
        "longer than" in low or "validate decoded path" in low or "file name" in low
        or (not message.strip() or message.strip().lower().startswith("400 bad request"))
    ):
        # JottaCloud answers a name it cannot store with InvalidArgumentException (too long)
        # or a bare "400 Bad request" (percent sequences) – a name problem, not a retry case.
        err = HttpName(text, path=path)
    else:
        err = HttpNoRetry(text, path=path)
    _attach(err, status, java)
    return err


def _attach(err: CloudsyncError, status: int, java: str) -> None:
    if isinstance(err, _HttpInfo):
        err.status = status
        err.java_exception = java


# ----------------------------------------------------------------------------- pacer


class Pacer:
    """rclone's default pacer, shared by all threads of one backend.

    The sleep between calls doubles on every retryable failure (from ``min_sleep`` up to
    ``max_sleep``) and decays by a factor of 2**-decay... towards zero on success.  In steady
    state there is no added delay (rclone spaces every call by 10 ms, which would cap a
    thousand-file copy against a fast server at 100 requests/s for no benefit); the spacing
    only applies while the server is pushing back.
    """

    def __init__(self, min_sleep: float = 0.01, max_sleep: float = 2.0, decay: float = 2.0) -> None:
        self.min_sleep = min_sleep
        self.max_sleep = max_sleep
        self.decay = decay
        self._sleep = 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    @property
    def current_sleep(self) -> float:
        return self._sleep

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self._sleep
        if delay > 0:
            time.sleep(delay)

    def failure(self, retry_after: float | None = None) -> float:
        """Record a retryable failure; returns how long the caller should sleep first."""
        with self._lock:
            self._sleep = min(self.max_sleep, max(self.min_sleep, self._sleep * 2))
            pause = self._sleep
            if retry_after is not None:
                pause = max(pause, min(retry_after, 300.0))
            return pause

    def success(self) -> None:
        with self._lock:
            if self._sleep:
                # rclone: sleep = sleep * (2^decay - 1) / 2^decay
                factor = 2**self.decay
                self._sleep = self._sleep * (factor - 1) / factor
                if self._sleep < self.min_sleep:
                    self._sleep = 0.0


# ----------------------------------------------------------------------------- session


@dataclass(frozen=True)
class Endpoints:
    jfs_url: str = DEFAULT_JFS_URL
    api_url: str = DEFAULT_API_URL
    www_url: str = DEFAULT_WWW_URL

    def __post_init__(self) -> None:
        for name in ("jfs_url", "api_url", "www_url"):
            value = getattr(self, name)
            if not value.endswith("/"):
                object.__setattr__(self, name, value + "/")


TokenSource = Callable[[], str]
#: Called with an access token the server rejected (401) so the next call refreshes.
TokenInvalidator = Callable[[str], None]


class JottaHttp:
    """A thread-safe HTTP client for one remote.

    ``token_source`` returns a valid access token (refreshing it if needed); it is called
    before every authenticated request so expiry is handled on our own clock, like rclone.
    """

    def __init__(
        self,
        token_source: TokenSource | None = None,
        *,
        low_level_retries: int = 10,
        pacer: Pacer | None = None,
        session: requests.Session | None = None,
        token_invalidator: TokenInvalidator | None = None,
    ) -> None:
        _install_redaction()
        self.token_source = token_source
        self.token_invalidator = token_invalidator
        self.low_level_retries = max(1, low_level_retries)
        self.pacer = pacer or Pacer()
        self._session = session
        self._session_lock = threading.Lock()
        self._pool_size = DEFAULT_POOL_SIZE
        #: Number of HTTP requests sent (bench and tests read it).
        self.request_count = 0
        #: the service answered at least one request (whatever the status): a network failure
        #: before that means it cannot be reached at all (RemoteUnreachable, rclone's exit 1)
        self.answered = False
        from cloudsync.net import current

        # --max-connections: at most this many calls of this remote open at once (as rclone's
        # pacer: a download holds its slot while the request is opened, not while it is read)
        cap = current().max_connections
        self._slots: threading.BoundedSemaphore | None = (
            threading.BoundedSemaphore(cap) if cap > 0 else None)

    @property
    def session(self) -> requests.Session:
        with self._session_lock:
            if self._session is None:
                import requests

                from cloudsync.transport import prepare_session

                s = prepare_session(requests.Session(), USER_AGENT, adapter=self._adapter())
                self._session = s
            return self._session

    def _adapter(self) -> HTTPAdapter:
        from cloudsync.transport import Adapter

        # One keep-alive pool per host (API, JFS, upload, token: pool_connections), each with
        # room for every thread that may talk to it at once (--transfers + --checkers), so no
        # thread waits for a connection and none is closed after use for lack of a slot.
        return Adapter(pool_connections=8, pool_maxsize=self._pool_size, max_retries=0)

    def _mount(self, s: requests.Session) -> None:
        adapter = self._adapter()
        s.mount("https://", adapter)
        s.mount("http://", adapter)

    def set_pool_size(self, threads: int) -> None:
        """Size the per-host connection pools for ``threads`` concurrent callers."""
        with self._session_lock:
            size = max(DEFAULT_POOL_SIZE, threads)
            if size == self._pool_size:
                return
            self._pool_size = size
            if self._session is not None:
                old = self._session.get_adapter("https://")
                self._mount(self._session)
                old.close()

    def close(self) -> None:
        with self._session_lock:
            if self._session is not None:
                self._session.close()
                self._session = None

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        data: Any = None,
        json_body: bytes | None = None,
        auth: bool = True,
        retry: bool = True,
        stream: bool = False,
        path: str | None = None,
        ok_statuses: frozenset[int] = frozenset(),
        op: str = "",
        gone_after_retry_ok: bool = False,
    ) -> requests.Response:
        """Send one request (retrying when allowed); raise a cloudsync error unless 2xx.

        This is the only place low-level retries happen for JottaCloud: 429/5xx, resets,
        refused connections, timeouts and bodies cut short (``ChunkedEncodingError``) are tried
        again, up to ``low_level_retries`` tries in all, with the pacer's backoff and any
        ``Retry-After``.  The error raised after the last try is marked ``low_level_retried``
        so the engine does not retry it per call again.

        ``ok_statuses`` are non-2xx statuses the caller wants to handle itself (e.g. 416).
        ``op`` names the operation for error lines ("allocating upload for").
        ``gone_after_retry_ok``: for a removal whose earlier try may have reached the server
        although its reply was lost, a 404 on a later try means "done" and is returned as is.
        """
        import requests

        attempts = self.low_level_retries if retry else 1
        # rclone refreshes only on its own clock; we also refresh once when the server says the
        # token is no longer valid (clock skew, server-side expiry), if the body can be resent.
        replayable = data is None or isinstance(data, (bytes, str))
        refreshed = False
        attempt = 0
        ambiguous = False  # an earlier try may have reached the server
        what = (op or _default_op(method)) + (f" {path}" if path else "")
        from cloudsync.net import current

        net = current()
        # --header-upload / --header-download: the transactions that carry a file's bytes
        extra = net.upload_headers if op == "uploading" else \
            net.download_headers if op == "downloading" else ()
        while True:
            hdrs: dict[str, str] = dict(headers or {})
            hdrs.update(extra)
            bearer = ""
            if auth and self.token_source is not None:
                bearer = self.token_source()
                hdrs["Authorization"] = f"Bearer {bearer}"
            if json_body is not None:
                hdrs["Content-Type"] = "application/json"
            self.pacer.wait()
            log.debug("%s %s", method, redact_url(_with_query(url, params)))
            attempt += 1
            err: CloudsyncError
            try:
                self.request_count += 1
                if self._slots is not None:
                    self._slots.acquire()
                try:
                    resp = self.session.request(
                        method,
                        url,
                        params=params,
                        headers=hdrs,
                        data=json_body if json_body is not None else data,
                        stream=stream,
                        timeout=timeouts(),  # --contimeout, --timeout
                        allow_redirects=method == "GET",
                    )
                finally:
                    if self._slots is not None:
                        self._slots.release()
            except requests.exceptions.SSLError as exc:
                # Never retried and never "fixed" by turning verification off.
                raise ProtocolError(f"TLS verification failed for {_host(url)}: {tls_reason(exc)}",
                                    hint="check the system's CA certificates, or whether a proxy "
                                    "intercepts the connection") from None
            except requests.RequestException as exc:
                cause = network_cause(exc, url)
                if cause is None:
                    raise ProtocolError(f"request failed while {what}: {_short(exc)}", path=path) from None
                err = TransientError(f"{cause} while {what}", path=path)
                ambiguous = ambiguous or not _surely_unsent(exc)
            else:
                self.answered = True
                if resp.status_code < 300 or resp.status_code in ok_statuses:
                    self.pacer.success()
                    return resp
                if resp.status_code == 404 and gone_after_retry_ok and ambiguous:
                    self.pacer.success()
                    return resp
                err = error_for(resp, path)
                resp.close()
                if (
                    resp.status_code == 401 and bearer and replayable and not refreshed
                    and self.token_invalidator is not None
                ):
                    refreshed = True
                    attempt -= 1
                    log.debug("%s %s: access token rejected; refreshing once", method, _host(url))
                    self.token_invalidator(bearer)
                    continue
                if not err.retryable:
                    raise err
                if resp.status_code >= 500:
                    ambiguous = True
            if attempt < attempts:
                retry_after = err.retry_after if isinstance(err, TransientError) else None
                pause = self.pacer.failure(retry_after)
                log.debug("%s %s: %s; low level retry %d/%d in %.2fs", method, _host(url), err,
                          attempt, attempts, pause)
                time.sleep(pause)
                continue
            if isinstance(err, TransientError) and retry:
                err.low_level_retried = True
                if what not in err.message:  # an HTTP status: say what was being done
                    err.message = f"{err.message} while {what}"
                if attempts > 1:
                    err.message = f"{err.message} (gave up after {attempts} tries)"
            if isinstance(err, TransientError) and not self.answered and status_of(err) is None:
                # rclone's JottaCloud asks for the account while opening the remote and fails
                # there (exit 1, no retries of the command): the same situation, the same end
                raise RemoteUnreachable(err.message, path=err.path) from None
            raise err

    # Convenience wrappers that parse the body ------------------------------------------------
    def get_node(
        self, url: str, *, params: Mapping[str, str] | None = None, path: str | None = None,
        method: str = "GET", retry: bool = True, op: str = "",
    ) -> _api.JottaUser | _api.JottaDevice | _api.JottaFolder | _api.JottaFile | _api.ApiError:
        resp = self.request(method, url, params=params, path=path, retry=retry, op=op)
        _check_content_type(resp, "xml")
        return _api.parse_node(resp.content, f"answer to {method} {_short_path(path)}")

    def get_json(
        self, method: str, url: str, *, json_body: bytes | None = None, path: str | None = None,
        retry: bool = True, what: str = "response", op: str = "",
    ) -> dict[str, Any]:
        resp = self.request(method, url, json_body=json_body, path=path, retry=retry, op=op)
        _check_content_type(resp, "json")
        return _api.parse_json(resp.content, what)


_OPS = {"GET": "reading", "POST": "updating", "PUT": "writing", "DELETE": "deleting"}


def _default_op(method: str) -> str:
    return _OPS.get(method.upper(), method.lower())


def network_cause(exc: BaseException, url: str) -> str | None:
    """One phrase for a transient network failure, or None when it is not one.

    Covers what requests and urllib3 raise for resets, refused connections, timeouts and
    bodies cut short (``ChunkedEncodingError``/``IncompleteRead``), read at once or streamed.
    """
    import requests

    host = _host(url)
    text = str(exc).lower()
    if isinstance(exc, requests.exceptions.SSLError):
        return None
    if isinstance(exc, requests.Timeout) or "timed out" in text:
        return f"timed out talking to {host}"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError) or "incompleteread" in text \
            or "incomplete read" in text or "prematurely" in text:
        return f"reply from {host} cut short"
    if "refused" in text:
        return f"connection refused by {host}"
    if "reset" in text or "aborted" in text or "broken pipe" in text:
        return f"connection reset by {host}"
    if isinstance(exc, (requests.ConnectionError, requests.exceptions.ContentDecodingError)):
        return f"network error talking to {host}"
    if isinstance(exc, OSError) or type(exc).__module__.startswith(("urllib3", "http.client")):
        return f"network error talking to {host}"
    return None


def _surely_unsent(exc: BaseException) -> bool:
    """Whether the request certainly never reached the server (so it had no effect)."""
    import requests

    return isinstance(exc, requests.exceptions.ConnectTimeout) or "refused" in str(exc).lower()


def _check_content_type(resp: requests.Response, kind: str) -> None:
    ctype = resp.headers.get("Content-Type", "").lower()
    if "text/html" in ctype:
        raise ProtocolError(
            "the server answered with an HTML page instead of JottaCloud's API "
            f"({kind} expected; a captive portal, proxy or login page is intercepting the connection?)"
        )


def _with_query(url: str, params: Mapping[str, str] | None) -> str:
    if not params:
        return url
    from urllib.parse import urlencode

    return url + "?" + urlencode(sorted(params.items()))


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).netloc or url[:40]


def tls_reason(exc: BaseException) -> str:
    """The certificate problem itself ("self-signed certificate", "hostname mismatch"…),
    dug out of the exceptions requests and urllib3 wrap around it, never their raw text."""
    import re
    import ssl

    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, ssl.SSLCertVerificationError):
            return e.verify_message or "certificate verify failed"
        if isinstance(e, ssl.SSLError) and e.reason:
            return str(e.reason).lower().replace("_", " ")
        inner = getattr(e, "reason", None)
        if not isinstance(inner, BaseException):
            inner = next((a for a in e.args if isinstance(a, BaseException)), None)
        e = inner or e.__cause__ or e.__context__
    found = re.search(r"\[SSL(?:: [A-Z_]+)?\] ([^(\"']+)", str(exc))
    return found.group(1).strip().rstrip(":") if found else "the TLS handshake failed"


def _short(exc: BaseException) -> str:
    text = redact_url(str(exc))
    return text if len(text) < 200 else text[:200] + "…"


def _short_path(path: str | None) -> str:
    return path if path else "/"

