"""Logging vocabulary shared by library and CLI.

Library code logs through ``logging.getLogger(__name__)`` (under ``cloudsync``) and never
configures handlers; the CLI does.  rclone's NOTICE level (between INFO and WARNING) is the
default verbosity: what a user should see without ``-v``.
"""

from __future__ import annotations

import logging

__all__ = ["NOTICE", "notice", "skipped_dry_run"]

NOTICE = 25
logging.addLevelName(NOTICE, "NOTICE")
logging.getLogger("cloudsync").addHandler(logging.NullHandler())


def notice(logger: logging.Logger, msg: str, *args: object, **kwargs: object) -> None:
    """Log at NOTICE (``logger.log(NOTICE, …)`` with a name that reads well)."""
    logger.log(NOTICE, msg, *args, **kwargs)  # type: ignore[arg-type]


def skipped_dry_run(logger: logging.Logger, action: str, path: str, size: int = -1,
                    flag: str = "--dry-run") -> None:
    """rclone's ``<path>: Skipped <action> as --dry-run is set (size N)`` NOTICE, with the
    structured ``skipped``/``size``/``object`` fields ``--use-json-log`` emits.  ``flag`` is
    ``--interactive`` for an action the user declined."""
    if size < 0:  # directories and unknown sizes: rclone leaves the size out
        notice(logger, "%s: Skipped %s as %s is set", path, action, flag,
               extra={"skipped": action, "object": path})
        return
    from .types import size_suffix

    notice(logger, "%s: Skipped %s as %s is set (size %s)", path, action, flag,
           "".join(size_suffix(size)), extra={"skipped": action, "size": size, "object": path})


# ---------------------------------------------------------------------------------------------
# CLI logging setup: rclone's text format, --use-json-log, and the one redaction filter.
# ---------------------------------------------------------------------------------------------

import datetime as _dt  # noqa: E402 - kept below the shared vocabulary on purpose
import functools as _functools  # noqa: E402
import os as _os  # noqa: E402
import re as _re  # noqa: E402
import sys as _sys  # noqa: E402
from typing import IO, Any  # noqa: E402

__all__ += ["LOG_FORMAT_CHOICES", "SYSLOG_FACILITIES", "RedactingFilter", "go_quote",
            "parse_log_format", "redact", "setup_logging", "show_control_chars", "syslog_handler"]

# What must never reach a log: bearer tokens, OAuth token fields, passwords in URLs/forms.
# Kept as source text and compiled on first use (see _redactions): compiling at import time
# would slow down every start-up, even of runs that never log a line.
_REDACTION_SOURCES: tuple[tuple[str, str], ...] = (
    (r"(?i)(authorization\s*[:=]\s*['\"]?)(bearer|basic)?\s*[^\s'\",}]+", r"\1\2 XXX"),
    (
        r"(?i)([\"']?(?:access_token|refresh_token|id_token|token|password|pass|secret|"
        r"client_secret|code|login_token)[\"']?\s*[:=]\s*[\"']?)([^\s\"'&,;}]+)",
        r"\1XXX",
    ),
)


@_functools.cache
def _redactions() -> tuple[tuple[_re.Pattern[str], str], ...]:
    return tuple((_re.compile(pattern), repl) for pattern, repl in _REDACTION_SOURCES)


def redact(text: str) -> str:
    """Mask secrets in ``text`` (used for every log line, and for messages shown to users)."""
    for pattern, repl in _redactions():
        text = pattern.sub(repl, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with :func:`redact` before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call must not kill the program
            message = str(record.msg)
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        obj = getattr(record, "object", None)
        if isinstance(obj, str):
            record.object = redact(obj)
        return True


def show_control_chars(text: str) -> str:
    """Control characters as their Unicode pictures (``␊``, ``␉``), as rclone shows names."""
    return "".join(
        chr(0x2400 + ord(c)) if ord(c) < 0x20 else ("\u2421" if c == "\x7f" else c) for c in text
    )


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
               "\v": "\\v", '"': '\\"', "\\": "\\\\"}


def go_quote(text: str) -> str:
    """``text`` quoted as Go's ``%q`` (strconv.Quote) writes it, as rclone's messages name
    paths: printable characters as they are, the usual backslash escapes, other characters
    as ``\\uXXXX``, and each byte that is not UTF-8 (a lone surrogate from the file system
    decoding) as ``\\xNN``."""
    out = ['"']
    for c in text:
        code = ord(c)
        if c in _GO_ESCAPES:
            out.append(_GO_ESCAPES[c])
        elif 0xDC80 <= code <= 0xDCFF:  # (surrogateescape of an undecodable byte)
            out.append(f"\\x{code - 0xDC00:02x}")
        elif c.isprintable():
            out.append(c)
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def _level_name(levelno: int) -> str:
    if levelno >= logging.CRITICAL:
        return "CRITICAL"
    if levelno >= logging.ERROR:
        return "ERROR"
    if levelno >= logging.WARNING:
        return "WARNING"
    if levelno >= NOTICE:
        return "NOTICE"
    if levelno >= logging.INFO:
        return "INFO"
    return "DEBUG"


def _object_and_message(record: logging.LogRecord) -> tuple[str, str]:
    """The record's object (``extra={"object": …}``) and its message without a repeated
    ``"<object>: "`` prefix (library code may put the object in both places)."""
    obj = getattr(record, "object", None)
    message = record.getMessage()
    if obj in (None, ""):
        return "", message
    text = str(obj)
    if message.startswith(text + ": "):
        message = message[len(text) + 2 :]
    return text, message


#: ``--log-format`` items (rclone's; ``json`` is ``--use-json-log``)
LOG_FORMAT_CHOICES = ("date", "time", "microseconds", "UTC", "longfile", "shortfile", "pid",
                      "nolevel", "json")


def parse_log_format(text: str) -> frozenset[str]:
    """``date,time,UTC`` → the set of items (case as rclone spells them); unknown ones refused."""
    known = {c.lower(): c for c in LOG_FORMAT_CHOICES}
    items = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if part.lower() not in known:
            raise ValueError(f"invalid choice {part!r} from: {', '.join(LOG_FORMAT_CHOICES)}")
        items.add(known[part.lower()])
    return frozenset(items)


class TextFormatter(logging.Formatter):
    """``2026/11/22 01:43:47 INFO  : obj: msg`` (rclone's default text log line).

    ``bits`` are ``--log-format`` items, laid out as rclone (Go's log prefix, then the pid and
    the level): ``2026/11/22 01:43:47.123456 cli/app.py:12: [4242] INFO  : msg``.
    """

    def __init__(self, bits: frozenset[str] = frozenset({"date", "time"})) -> None:
        super().__init__()
        self.bits = bits
        self._pid = f"[{_os.getpid()}] " if "pid" in bits else ""

    def format(self, record: logging.LogRecord) -> str:
        bits = self.bits
        head = ""
        if bits & {"date", "time", "microseconds"}:
            when = (_dt.datetime.fromtimestamp(record.created, _dt.UTC) if "UTC" in bits
                    else _dt.datetime.fromtimestamp(record.created))
            if "date" in bits:
                head += when.strftime("%Y/%m/%d ")
            if bits & {"time", "microseconds"}:
                head += when.strftime("%H:%M:%S.%f " if "microseconds" in bits else "%H:%M:%S ")
        if "longfile" in bits:
            head += f"{record.pathname}:{record.lineno}: "
        elif "shortfile" in bits:
            folder = _os.path.basename(_os.path.dirname(record.pathname))
            head += f"{folder}/{record.filename}:{record.lineno}: "
        head += self._pid
        if "nolevel" not in bits:
            head += f"{_level_name(record.levelno):<6}: "
        obj, message = _object_and_message(record)
        prefix = f"{show_control_chars(obj)}: " if obj else ""
        text = f"{head}{prefix}{message}"
        if record.exc_info and record.levelno <= logging.DEBUG:
            text += "\n" + self.formatException(record.exc_info)
        return text


#: ``--syslog-facility`` names (rclone's, as in syslog(3))
SYSLOG_FACILITIES = ("KERN", "USER", "MAIL", "DAEMON", "AUTH", "SYSLOG", "LPR", "NEWS", "UUCP",
                     "CRON", "AUTHPRIV", "FTP", "LOCAL0", "LOCAL1", "LOCAL2", "LOCAL3", "LOCAL4",
                     "LOCAL5", "LOCAL6", "LOCAL7")

#: where syslog(3) delivers on this system (tests point it at their own socket)
SYSLOG_ADDRESS = "/dev/log"


def syslog_handler(facility: str) -> logging.Handler:
    """A handler that sends each line to the local syslog daemon, as rclone's ``--syslog``
    (its level as the syslog priority, NOTICE included); OSError when there is none."""
    import logging.handlers as _handlers
    import socket

    code = _handlers.SysLogHandler.facility_names[facility.lower()]
    # SysLogHandler swallows a failed connection (and would fail on every line): try first
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        probe.connect(SYSLOG_ADDRESS)
    finally:
        probe.close()
    class _Handler(_handlers.SysLogHandler):
        priority_map = {**_handlers.SysLogHandler.priority_map, "NOTICE": "notice"}  # noqa: RUF012

    handler = _Handler(address=SYSLOG_ADDRESS, facility=code, socktype=socket.SOCK_DGRAM)
    handler.ident = f"cloudsync[{_os.getpid()}]: "
    return handler


class JsonFormatter(logging.Formatter):
    """``--use-json-log``: one JSON object per line, keys in rclone's order."""

    def format(self, record: logging.LogRecord) -> str:
        when = _dt.datetime.fromtimestamp(record.created).astimezone()
        obj, message = _object_and_message(record)
        out: dict[str, Any] = {
            "time": when.isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "level": _level_name(record.levelno).lower(),
            "msg": message,
        }
        for key in ("size", "skipped", "stats", "watch"):
            value = getattr(record, key, None)
            if value is not None:
                out[key] = value
        if obj:
            out["object"] = obj
            out["objectType"] = str(getattr(record, "objectType", "") or "object")
        out["source"] = f"{record.module}.py:{record.lineno}"
        import json  # only --use-json-log needs it; keeps start-up lean

        return json.dumps(out, ensure_ascii=False, default=str, separators=(",", ":"))


def setup_logging(
    level: int = NOTICE,
    *,
    log_file: str | None = None,
    json_log: bool = False,
    stream: IO[str] | None = None,
    log_format: frozenset[str] = frozenset({"date", "time"}),
    syslog_facility: str | None = None,
) -> logging.Handler:
    """Configure the ``cloudsync`` logger for the command line; returns the handler.

    Replaces any handler an earlier call installed (tests invoke the CLI many times in one
    process).  ``log_file`` is appended to, like rclone's ``--log-file``.
    """
    root = logging.getLogger("cloudsync")
    for old in list(root.handlers):
        if getattr(old, "_cloudsync_cli", False):
            root.removeHandler(old)
            if isinstance(old, logging.FileHandler):
                old.close()
    handler: logging.Handler
    if syslog_facility:
        handler = syslog_handler(syslog_facility)
    elif log_file:
        handler = logging.FileHandler(log_file, mode="a", encoding="utf-8")
    else:
        handler = logging.StreamHandler(stream if stream is not None else _sys.stderr)
    setattr(handler, "_cloudsync_cli", True)  # noqa: B010 - marks handlers we own
    if json_log or "json" in log_format:
        handler.setFormatter(JsonFormatter())
    elif syslog_facility:
        # syslog stamps the time itself; the level stays in the text as rclone's does
        handler.setFormatter(TextFormatter(log_format - {"date", "time", "microseconds"}))
    else:
        handler.setFormatter(TextFormatter(log_format))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    root.setLevel(level)
    return handler
