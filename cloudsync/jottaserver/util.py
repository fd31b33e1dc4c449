"""Small helpers shared by the fake JottaCloud server: time formats, ids, name checks."""

from __future__ import annotations

import base64
import re
import secrets
import time
from datetime import UTC, datetime, timedelta, timezone

__all__ = [
    "InvalidName",
    "b64url",
    "check_name",
    "jfs_time",
    "new_share_id",
    "new_token",
    "new_xid",
    "now",
    "parse_any_time",
    "parse_jfs_time",
    "rfc3339_ms",
]

# JFS names are limited to 255 characters (the real service answers 400 InvalidArgumentException).
MAX_NAME = 255

# XML 1.0 cannot carry these code points, so the real service cannot have stored such a name.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")

# A decoded name that still looks percent-encoded: the real service answers a bare "400 Bad
# request" without an XML body (rclone issue #9153, why rclone now encodes '%').
PERCENT_SEQUENCE = re.compile("%[0-9A-Fa-f]{2}")


class InvalidName(ValueError):
    """A path segment the service refuses; ``plain`` means "no XML body" (a Jetty-level 400)."""

    def __init__(self, message: str, *, plain: bool = False) -> None:
        super().__init__(message)
        self.plain = plain


def now() -> int:
    """Server clock in whole seconds: JFS keeps one-second precision everywhere."""
    return int(time.time())


def jfs_time(ts: int | float | None) -> str:
    """``YYYY-MM-DD-Thh:mm:ssZ`` – JFS's RFC 3339 variant with a ``-`` before ``T``."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%d-T%H:%M:%SZ")


def rfc3339_ms(ts: int | float) -> str:
    """RFC 3339 with three fractional digits, as ``mode=liststream`` writes times."""
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


_JFS_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})-?T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})$"
)


def parse_jfs_time(value: str) -> int:
    """Parse a JFS time (``2024-03-04-T08:09:10Z`` or ``...+0100``); also plain RFC 3339."""
    m = _JFS_TIME.match(value.strip())
    if not m:
        raise ValueError(f"bad time {value!r}")
    y, mo, d, h, mi, s, off = m.groups()
    tz = UTC
    if off != "Z":
        sign = 1 if off[0] == "+" else -1
        digits = off[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    dt = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=tz)
    return int(dt.timestamp())


def parse_any_time(value: object) -> int | None:
    """Allocate accepts RFC 3339 strings (rclone), Unix milliseconds (other clients) or nothing."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("bad time")
    if isinstance(value, int | float):
        return int(value) // 1000
    if isinstance(value, str):
        if value.isdigit():
            return int(value) // 1000
        return parse_jfs_time(value)
    raise ValueError(f"bad time {value!r}")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_token(nbytes: int = 24) -> str:
    return secrets.token_urlsafe(nbytes)


def new_xid() -> str:
    """The 12-digit request id the service puts in ``<x-id>`` and the ``X-ID`` header."""
    return f"{secrets.randbelow(10**12):012d}"


def new_share_id() -> str:
    return secrets.token_hex(16)


def check_name(name: str) -> None:
    """Refuse a path segment the way the real service does (see the module docstring)."""
    if not name:
        raise InvalidName("no.jotta.backup.errors.InvalidArgumentException: Empty name")
    if PERCENT_SEQUENCE.search(name):
        raise InvalidName("Bad request", plain=True)
    if len(name) > MAX_NAME:
        raise InvalidName(
            "no.jotta.backup.errors.InvalidArgumentException: "
            "JFS file names may not be longer than 255 characters"
        )
    if name in (".", ".."):
        raise InvalidName(
            f"no.jotta.backup.errors.InvalidArgumentException: Invalid file name: {name}"
        )
    if _XML_INVALID.search(name):
        raise InvalidName(
            "no.jotta.backup.errors.InvalidArgumentException: Name contains invalid characters"
        )
