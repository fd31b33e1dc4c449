"""rclone's global HTTP flags applied to a ``requests`` session (the "transport" of rclone).

:func:`prepare_session` gives a session the ``--user-agent``, ``--ca-cert``, ``--header``,
``--no-gzip-encoding``, ``--disable-http-keep-alives`` and ``--http-proxy`` settings of
:mod:`cloudsync.net`; :class:`Adapter` (mount it, or let :func:`prepare_session`
do it) spaces every transaction by the ``--tpslimit`` bucket and writes the ``--dump`` lines.
Imported only by backends when they build a session (it imports requests).

Dumps never show a secret, whatever ``--dump`` says (rclone shows the Authorization header with
``--dump auth``; cloudsync masks it always): Authorization, Cookie and similar headers are
masked, and so are token, password, secret and code fields of form, JSON and XML bodies and of
query strings.  Bodies are shown only when they are text (XML, JSON, forms); file contents and
streamed bodies are summarised as ``<N bytes of TYPE>``.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import threading
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from . import net
from .log import redact

__all__ = ["Adapter", "ca_bundle", "mask_text", "prepare_session"]

log = logging.getLogger("cloudsync.http")

_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie",
                             "x-auth-token", "x-api-key"})
#: XML elements and query/form/JSON fields whose values are secrets
_SECRET_FIELDS = r"(?:access_token|refresh_token|id_token|auth_token|login_token|token|password|pass|" \
                 r"client_secret|secret|code|code_verifier|session_state|otp)"
_XML_SECRET = re.compile(rf"(<{_SECRET_FIELDS}(?:\s[^>]*)?>)[^<]*(</)", re.IGNORECASE)
_QUERY_SECRET = re.compile(rf"((?:^|[?&\s]){_SECRET_FIELDS}=)[^&\s\"']*", re.IGNORECASE)
_TEXT_TYPES = ("json", "xml", "text/", "x-www-form-urlencoded", "javascript")
_MASK = "XXXX"


def mask_text(text: str) -> str:
    """``text`` with every secret-looking value masked (bodies, URLs, header lines)."""
    text = _XML_SECRET.sub(rf"\g<1>{_MASK}\g<2>", text)
    text = _QUERY_SECRET.sub(rf"\g<1>{_MASK}", text)
    return redact(text)


def _header_value(name: str, value: str) -> str:
    low = name.lower()
    if low in ("authorization", "proxy-authorization"):
        scheme = value.split(None, 1)[0] if " " in value.strip() else ""
        return f"{scheme} XXX".lstrip()  # the scheme helps debugging; the credential never shows
    if low in _SECRET_HEADERS:
        return _MASK
    return mask_text(value)


def _header_lines(headers: Any) -> list[str]:
    return [f"{name}: {_header_value(name, str(value))}" for name, value in headers.items()]


def _body_text(body: Any, content_type: str) -> str:
    if body is None or body == b"" or body == "":
        return ""
    if not isinstance(body, (bytes, str)):
        return f"<streamed body of {content_type or 'unknown type'}>"
    if not any(t in content_type.lower() for t in _TEXT_TYPES):
        return f"<{len(body)} bytes of {content_type or 'unknown type'}>"
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return mask_text(text)


_SEP_OUT = ">" * 67
_SEP_IN = "<" * 67
_ids = iter(range(1, 1 << 62))
_ids_lock = threading.Lock()


def _next_id() -> int:
    with _ids_lock:
        return next(_ids)


class Adapter(HTTPAdapter):
    """An HTTPAdapter that waits for the ``--tpslimit`` bucket, writes ``--dump`` lines and
    connects from the ``--bind`` address."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        bind = net.current().bind
        if bind:
            kwargs["source_address"] = (bind, 0)
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        bind = net.current().bind
        if bind:
            kwargs["source_address"] = (bind, 0)
        return super().proxy_manager_for(proxy, **kwargs)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        bucket = net.limiter()
        if bucket is not None:
            bucket.wait()
        cfg = net.current()
        if cfg.ca_certs:
            # requests lets REQUESTS_CA_BUNDLE override a session's own CA file: --ca-cert wins
            kwargs["verify"] = ca_bundle(cfg.ca_certs)
        dump = cfg.dump
        if not dump:
            return super().send(request, *args, **kwargs)
        n = _next_id()
        if dump & {"headers", "bodies", "requests"}:
            self._dump_request(request, n, dump)
        resp = super().send(request, *args, **kwargs)
        if dump & {"headers", "bodies", "responses"}:
            self._dump_response(resp, n, dump, streamed=bool(kwargs.get("stream")))
        return resp

    @staticmethod
    def _dump_request(request: requests.PreparedRequest, n: int, dump: frozenset[str]) -> None:
        from urllib.parse import urlsplit

        parts = urlsplit(request.url or "")
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        lines = [_SEP_OUT, f"HTTP REQUEST (req {n})", mask_text(f"{request.method} {target} HTTP/1.1"),
                 f"Host: {parts.netloc}", *_header_lines(request.headers)]
        if dump & {"bodies", "requests"}:
            body = _body_text(request.body, request.headers.get("Content-Type", ""))
            if body:
                lines += ["", body]
        lines.append(_SEP_OUT)
        log.debug("%s", "\n".join(lines))

    @staticmethod
    def _dump_response(resp: requests.Response, n: int, dump: frozenset[str], streamed: bool) -> None:
        lines = [_SEP_IN, f"HTTP RESPONSE (req {n})", f"HTTP/1.1 {resp.status_code} {resp.reason or ''}".rstrip(),
                 *_header_lines(resp.headers)]
        if dump & {"bodies", "responses"}:
            ctype = resp.headers.get("Content-Type", "")
            if streamed:
                # reading it here would take the stream from its reader (a download, a listing)
                body = f"<streamed body of {ctype or 'unknown type'}>"
            else:
                body = _body_text(resp.content, ctype)
            if body:
                lines += ["", body]
        lines.append(_SEP_IN)
        log.debug("%s", "\n".join(lines))


def prepare_session(session: requests.Session, user_agent: str, *,
                    adapter: HTTPAdapter | None = None) -> requests.Session:
    """Apply ``--user-agent``, ``--ca-cert`` and ``--header`` to ``session`` and mount ``adapter``
    (an :class:`Adapter`, made here when not given) for http and https."""
    cfg = net.current()
    session.headers["User-Agent"] = cfg.user_agent or user_agent
    for name, value in cfg.headers:
        session.headers[name] = value
    session.verify = ca_bundle(cfg.ca_certs) or True
    if cfg.no_gzip:
        session.headers["Accept-Encoding"] = "identity"
    if cfg.no_keepalive:
        session.headers["Connection"] = "close"
    if cfg.proxy:
        session.proxies.update({"http": cfg.proxy, "https": cfg.proxy})
    if cfg.client_cert:
        session.cert = (cfg.client_cert, cfg.client_key) if cfg.client_key else cfg.client_cert
    adapter = adapter or Adapter(max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


_bundles: dict[tuple[str, ...], str] = {}
_bundles_lock = threading.Lock()


def ca_bundle(paths: tuple[str, ...]) -> str | None:
    """One PEM file holding the ``--ca-cert`` files (rclone trusts exactly these CAs then).

    One file is used as it is; several are joined once per process into a private temporary
    file (requests takes a single bundle), removed at exit.
    """
    if not paths:
        return None
    from .errors import ConfigError

    for path in paths:
        if not os.path.isfile(path):
            raise ConfigError(f"--ca-cert: no such file: {path}", hint="give the path of a PEM file")
    if len(paths) == 1:
        return paths[0]
    with _bundles_lock:
        found = _bundles.get(paths)
        if found is None:
            import tempfile  # (only for several --ca-cert files: not on every start)

            fd, found = tempfile.mkstemp(prefix="cloudsync-ca-", suffix=".pem")
            with os.fdopen(fd, "wb") as out:
                for path in paths:
                    with open(path, "rb") as f:
                        out.write(f.read().rstrip(b"\n") + b"\n")
            atexit.register(_remove, found)
            _bundles[paths] = found
        return found


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
