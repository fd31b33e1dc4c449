"""Network settings every HTTP backend uses: rclone's global HTTP flags.

``--contimeout``/``--timeout``, ``--tpslimit``/``--tpslimit-burst``, ``--user-agent``,
``--ca-cert``, ``--header``/``--header-upload``/``--header-download`` and ``--dump``.  Set once
per process by the CLI (a library user may call :func:`set_timeouts` and :func:`configure`);
backends read them for each request, through :mod:`cloudsync.transport` (which applies them to
a ``requests`` session).  Light on purpose: the CLI imports it at start-up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, fields, replace

__all__ = ["DUMP_CHOICES", "NetConfig", "TokenBucket", "configure", "current", "limiter",
           "parse_dump", "parse_header", "reset", "set_timeouts", "timeouts"]

_connect = 60.0
_io = 300.0


def set_timeouts(connect: float, io: float) -> None:
    """``connect``: to set up a connection; ``io``: the longest wait for the next data."""
    global _connect, _io
    _connect, _io = connect, io


def timeouts() -> tuple[float | None, float | None]:
    """(connect, read) for ``requests``; None where the limit is off."""
    return (_connect or None, _io or None)


#: ``--dump`` values cloudsync has (rclone's others -- goroutines, openfiles, mapper, curl,
#: errors, trace, filters -- are refused rather than accepted and ignored).
DUMP_CHOICES = ("headers", "bodies", "requests", "responses", "auth")


def parse_dump(text: str) -> frozenset[str]:
    """``headers,bodies`` → the set of dump items; an item cloudsync lacks is an error."""
    items = frozenset(part.strip().lower() for part in text.split(",") if part.strip())
    unknown = sorted(items - set(DUMP_CHOICES))
    if unknown:
        raise ValueError(f"cloudsync cannot dump {', '.join(unknown)} "
                         f"(it can dump {', '.join(DUMP_CHOICES)})")
    return items


def parse_header(text: str) -> tuple[str, str]:
    """``"Name: value"`` (rclone's ``--header`` form) → ``(name, value)``."""
    name, sep, value = text.partition(":")
    name = name.strip()
    if not sep or not name or any(c.isspace() for c in name):
        raise ValueError(f"header {text!r} must be of the form 'Name: value'")
    return name, value.strip()


@dataclass(frozen=True)
class NetConfig:
    """The HTTP settings of this process (the defaults are rclone's)."""

    #: HTTP transactions per second, all backends together (0 = no limit)
    tpslimit: float = 0.0
    #: transactions allowed back-to-back before ``tpslimit`` spaces them
    tpslimit_burst: int = 1
    #: replaces each backend's own User-Agent when set
    user_agent: str = ""
    #: PEM files: the only CAs trusted for TLS when given (verification stays on)
    ca_certs: tuple[str, ...] = ()
    #: extra headers of every request / of uploads / of downloads
    headers: tuple[tuple[str, str], ...] = ()
    upload_headers: tuple[tuple[str, str], ...] = ()
    download_headers: tuple[tuple[str, str], ...] = ()
    #: at most this many calls of one remote open at once (0 = no limit)
    max_connections: int = 0
    #: --no-gzip-encoding: don't ask for compressed answers
    no_gzip: bool = False
    #: --disable-http-keep-alives: each connection is used once
    no_keepalive: bool = False
    #: --http-proxy: every request through this proxy (else the environment's, as Go's)
    proxy: str = ""
    #: --bind: the local address outgoing connections are made from
    bind: str = ""
    #: --client-cert / --client-key: PEM files for mutual TLS
    client_cert: str = ""
    client_key: str = ""
    #: what to log at DEBUG for each HTTP transaction (see DUMP_CHOICES); secrets always masked
    dump: frozenset[str] = frozenset()


_config = NetConfig()
_limiter: TokenBucket | None = None
_lock = threading.Lock()


def configure(**changes: object) -> NetConfig:
    """Change some settings (``configure(tpslimit=10)``); returns the new configuration."""
    global _config, _limiter
    with _lock:
        _config = replace(_config, **changes)  # type: ignore[arg-type]
        _limiter = None
        return _config


def current() -> NetConfig:
    return _config


def limiter() -> TokenBucket | None:
    """The one ``--tpslimit`` bucket of this process (shared by every backend), or None."""
    global _limiter
    cfg = _config
    if cfg.tpslimit <= 0:
        return None
    with _lock:
        if _limiter is None:
            _limiter = TokenBucket(cfg.tpslimit, cfg.tpslimit_burst)
        return _limiter


class TokenBucket:
    """A token bucket as Go's ``rate.Limiter`` (what rclone's ``--tpslimit`` uses).

    ``rate`` tokens a second flow in, up to ``burst``; the bucket starts full.  :meth:`wait`
    takes one token, sleeping until it is there.  Each caller reserves its token under the lock
    (the count may go negative: a queue of reservations) and sleeps outside it, so callers are
    served in order and the long-run rate never exceeds ``rate``.
    """

    def __init__(self, rate: float, burst: int = 1, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = max(1, burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(self.burst)
        self._last = clock()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take a token; returns how long to wait before using it (0: at once)."""
        with self._lock:
            now = self._clock()
            elapsed = max(0.0, now - self._last)
            self._last = now
            self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate) - 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def wait(self) -> None:
        delay = self.reserve()
        if delay > 0:
            self._sleep(delay)


def reset() -> None:
    """Back to rclone's defaults (tests that run the CLI in-process)."""
    set_timeouts(60.0, 300.0)
    configure(**{f.name: f.default for f in fields(NetConfig)})
