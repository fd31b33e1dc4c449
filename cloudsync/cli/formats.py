"""Text and JSON formats the commands print, byte-for-byte as rclone (rclone-semantics.md §D).

Pure functions only (no I/O, no click), so each format is unit-tested on its own.
"""

from __future__ import annotations

import datetime as _dt
import re
import time as _time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..types import MODTIME_UNSUPPORTED, Entry, _utc_offset, format_rfc3339, size_suffix

__all__ = [
    "LsjsonFormat",
    "byte_unit",
    "count_suffix",
    "csv_line",
    "format_duration",
    "go_json",
    "local_time",
    "mime_type_of",
    "modtime_digits",
    "percent",
    "shorten_name",
    "size_suffix",
    "stats_text",
    "valid_utf8",
]

def byte_unit(n: float) -> str:
    """``72`` → ``72 B``, ``1536`` → ``1.500 KiB`` (rclone's ``SizeSuffix.ByteUnit``)."""
    value, prefix = size_suffix(n)
    if value == "off":
        return "off"
    return f"{value} {prefix}B"


def byte_rate(n: float) -> str:
    return f"{byte_unit(n)}/s"


def bit_rate(n: float) -> str:
    """``--stats-unit bits``: ``1536`` bytes/s → ``12 Kibit/s`` (rclone's BitRateUnit)."""
    text = byte_unit(n * 8)
    return (text[:-1] + "bit/s") if text.endswith("B") else text


def count_suffix(n: int) -> str:
    """Decimal count with k/M/G suffix (rclone's ``CountSuffix``): ``1234`` → ``1.234k``."""
    if n < 1000:
        return str(n)
    scaled, i = float(n), 0
    suffixes = ("", "k", "M", "G", "T", "P", "E")
    while scaled >= 1000 and i < len(suffixes) - 1:
        scaled /= 1000
        i += 1
    if scaled == int(scaled):
        return f"{scaled:.0f}{suffixes[i]}"
    return f"{scaled:.3f}{suffixes[i]}"


def percent(a: int, b: int) -> str:
    if b <= 0:
        return "-"
    return f"{int(a * 100 / b)}%"


def format_duration(seconds: float, decimals: int = 1) -> str:
    """``75.25`` → ``1m15.2s`` (without the trailing ``s`` handled by callers that want it)."""
    seconds = max(seconds, 0.0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{secs:.{decimals}f}"
    if hours:
        return f"{int(hours)}h{int(minutes)}m{text}"
    if minutes:
        return f"{int(minutes)}m{text}"
    return text


def shorten_name(name: str, width: int) -> str:
    """rclone's shortenName: over ``width`` characters, the middle becomes one ``…``."""
    if width <= 0 or len(name) <= width:
        return name
    keep = width - 1
    suffix = keep // 2
    return name[: keep - suffix] + "…" + name[len(name) - suffix:]


def eta_text(eta: float | None) -> str:
    if eta is None:
        return "-"
    return format_duration(eta, 0) + "s"


def stats_text(
    stats: Mapping[str, Any],
    *,
    one_line: bool = False,
    transferring: Sequence[tuple[str, int, int, float]] = (),
    name_width: int = 45,
    bits: bool = False,
) -> str:
    """The stats block (§D.4) from a :meth:`cloudsync.events.Stats.snapshot` dict.

    ``transferring`` lists in-flight transfers as ``(name, size, bytes done, speed)``.
    The returned text starts with a newline like rclone's (it follows a log prefix).
    ``name_width`` is ``--stats-file-name-length`` (0: no limit); ``bits`` shows the rates in
    bits per second (``--stats-unit bits``; amounts stay in bytes, as rclone's).
    """
    rate_unit = bit_rate if bits else byte_rate
    done, total = int(stats.get("bytes", 0)), int(stats.get("totalBytes", 0))
    total = max(total, done)
    speed = float(stats.get("speed") or 0.0)
    first = (
        f"{byte_unit(done):>13} / {byte_unit(total)}, {percent(done, total)}, "
        f"{rate_unit(speed)}, ETA {eta_text(stats.get('eta'))}"
    )
    if one_line:
        xfr = ""
        transfers, total_t = int(stats.get("transfers", 0)), int(stats.get("totalTransfers", 0))
        checks, total_c = int(stats.get("checks", 0)), int(stats.get("totalChecks", 0))
        parts = []
        if transfers or total_t:
            parts.append(f"xfr#{transfers}/{total_t}")
        if checks or total_c:
            parts.append(f"chk#{checks}/{total_c}")
        if parts:
            xfr = " (" + ", ".join(parts) + ")"
        return first + xfr
    lines = ["", "Transferred:   \t" + first]
    errors = int(stats.get("errors", 0))
    if errors:
        if stats.get("fatalError"):
            detail = " (fatal error encountered)"
        elif stats.get("retryError"):
            detail = " (retrying may help)"
        else:
            detail = " (no need to retry)"
        lines.append(f"Errors:        {errors:>10d}{detail}")
    checks, total_checks = int(stats.get("checks", 0)), int(stats.get("totalChecks", 0))
    listed = int(stats.get("listed", 0))
    if checks or total_checks or listed:
        lines.append(
            f"Checks:        {checks:>10d} / {total_checks}, {percent(checks, total_checks)}, Listed {listed}"
        )
    deletes, deleted_dirs = int(stats.get("deletes", 0)), int(stats.get("deletedDirs", 0))
    if deletes or deleted_dirs:
        freed = byte_unit(int(stats.get("deletedBytes", 0) or 0))
        lines.append(f"Deleted:       {deletes:>10d} (files), {deleted_dirs} (dirs), {freed} (freed)")
    renames = int(stats.get("renames", 0))
    if renames:
        lines.append(f"Renamed:       {renames:>10d}")
    transfers, total_transfers = int(stats.get("transfers", 0)), int(stats.get("totalTransfers", 0))
    if transfers or total_transfers:
        lines.append(
            f"Transferred:   {transfers:>10d} / {total_transfers}, {percent(transfers, total_transfers)}"
        )
    ssc, sscb = int(stats.get("serverSideCopies", 0)), int(stats.get("serverSideCopyBytes", 0))
    if ssc or sscb:
        lines.append(f"Server Side Copies:{ssc:>6d} @ {byte_unit(sscb)}")
    ssm, ssmb = int(stats.get("serverSideMoves", 0)), int(stats.get("serverSideMoveBytes", 0))
    if ssm or ssmb:
        lines.append(f"Server Side Moves:{ssm:>7d} @ {byte_unit(ssmb)}")
    lines.append(f"Elapsed time:  {format_duration(float(stats.get('elapsedTime', 0.0))):>10}s")
    if transferring:
        lines.append("Transferring:")
        for name, size, done_bytes, rate in transferring:
            left = (size - done_bytes) / rate if rate > 0 and size > 0 else None
            pct = int(100 * done_bytes / size) if size > 0 else 0
            shown = shorten_name(name, name_width)
            lines.append(f" * {shown:>{name_width}}:{pct:3d}% / {byte_unit(max(size, 0))}, "
                         f"{rate_unit(rate)}, {eta_text(left)}")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------ listings


def modtime_digits(precision_ns: int) -> int:
    """Fractional digits rclone prints for a backend precision (9 for ns, 3 for ms, 0 for s)."""
    if precision_ns >= 1_000_000_000:
        return 0
    digits = 9
    p = precision_ns
    while p >= 10 and digits > 0:
        p //= 10
        digits -= 1
    return digits


#: ``--default-time``: shown for a file whose modification time is unknown (rclone's default);
#: a folder without one shows the time of the listing, as rclone's do
DEFAULT_TIME_NS = 946_684_800 * 1_000_000_000  # 2000-01-01T00:00:00Z


def parse_default_time(text: str) -> int:
    """``--default-time``: RFC 3339 (``2000-01-01T00:00:00Z``) or a date (``2000-01-01``, UTC)."""
    t = text.strip()
    try:
        when = _dt.datetime.fromisoformat(t.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a time: {text!r} (e.g. 2000-01-01T00:00:00Z)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.UTC)
    return int(when.timestamp()) * 1_000_000_000 + when.microsecond * 1000


def mtime_of(entry: Entry) -> int | None:
    """The time a listing shows: a file's unknown modtime is ``--default-time``."""
    ns = entry.mtime_ns
    if ns is None and not entry.is_dir:
        return DEFAULT_TIME_NS
    return ns


def local_time(ns: int | None, fmt: str = "%Y-%m-%d %H:%M:%S", nanos: bool = False) -> str:
    """Local-time rendering of a modtime (``lsl``/``lsd``/``lsf``); None means now."""
    if ns is None:
        ns = _dt.datetime.now().timestamp().__int__() * 1_000_000_000
    secs, frac = divmod(ns, 1_000_000_000)
    text = _dt.datetime.fromtimestamp(secs).strftime(fmt)
    if nanos:
        text += f".{frac:09d}"
    return text


def mime_type_of(entry: Entry) -> str:
    if entry.is_dir:
        return "inode/directory"
    if entry.mime_type:
        return entry.mime_type
    from .mime import mime_type_by_name  # lazily: only listings with MIME types need its tables

    return mime_type_by_name(entry.name)


def go_json(value: Any, indent: str | None = None) -> str:
    """JSON as Go's ``encoding/json`` writes it: compact, UTF-8, ``<>&`` escaped."""
    import json  # lazily: most commands never print JSON

    if indent is None:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    else:
        text = json.dumps(value, ensure_ascii=False, indent=indent, separators=(",", ": "))
    return _go_escapes(text)


def _go_escapes(text: str) -> str:
    text = (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )
    if text.isascii():
        return text
    # Go writes each byte that is not UTF-8 as the escape \ufffd (Python's json keeps it as
    # the lone surrogate of its surrogateescape decoding)
    return _UNDECODABLE.sub(r"\\ufffd", text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


class TimeText:
    """``format_rfc3339(ns, digits, tz)`` for the many modtimes of one listing, cheaply.

    The zone offset is looked up once per UTC hour (the whole hour, when the offset is the same
    at both of its ends; an hour with a clock change takes the general path) and the date once
    per day; the rest is integer arithmetic.  A listing of 200,000 files spent a fifth of its
    time in ``localtime``/``strftime``.
    """

    _BOUND = 1 << 16  # cached hours and days (then started afresh: memory stays flat)

    def __init__(self, digits: int, tz: _dt.tzinfo | None) -> None:
        self._digits = digits
        self._tz = tz
        self._local = tz is None
        self._hours: dict[int, tuple[int, str] | None] = {}
        self._days: dict[int, str | None] = {}
        self._prefixes: dict[int, str | None] = {}

    def __call__(self, ns: int) -> str:
        secs, frac = divmod(ns, 1_000_000_000)
        try:
            zone = self._hours[secs // 3600]
        except KeyError:
            zone = self._zone(secs // 3600)
        if zone is None:
            return format_rfc3339(ns, self._digits, self._tz)
        local = secs + zone[0]
        # the local hour's "YYYY-MM-DDTHH:" (by local hour: an offset of +05:30 splits a UTC
        # hour in two)
        try:
            prefix = self._prefixes[local // 3600]
        except KeyError:
            prefix = self._prefix(local // 3600)
        if prefix is None:
            return format_rfc3339(ns, self._digits, self._tz)
        m, s = divmod(local % 3600, 60)
        digits = self._digits
        if digits == 9:
            return f"{prefix}{m:02d}:{s:02d}.{frac:09d}{zone[1]}"
        if digits:
            return f"{prefix}{m:02d}:{s:02d}.{f'{frac:09d}'[:digits]}{zone[1]}"
        return f"{prefix}{m:02d}:{s:02d}{zone[1]}"

    def _prefix(self, local_hour: int) -> str | None:
        if len(self._prefixes) >= self._BOUND:
            self._prefixes.clear()
        day, hour = divmod(local_hour, 24)
        try:
            date = self._days[day]
        except KeyError:
            date = self._day(day)
        prefix = f"{date}T{hour:02d}:" if date is not None else None
        self._prefixes[local_hour] = prefix
        return prefix

    def _zone(self, hour: int) -> tuple[int, str] | None:
        if len(self._hours) >= self._BOUND:
            self._hours.clear()
        zone: tuple[int, str] | None = (0, "Z")
        if self._local:
            try:
                first = _time.localtime(hour * 3600).tm_gmtoff
                same = first == _time.localtime(hour * 3600 + 3599).tm_gmtoff
            except (OverflowError, OSError, ValueError):
                same = False
            zone = (first or 0, _utc_offset(first or 0)) if same else None
        self._hours[hour] = zone
        return zone

    def _day(self, day: int) -> str | None:
        if len(self._days) >= self._BOUND:
            self._days.clear()
        try:
            tm = _time.gmtime(day * 86400)
        except (OverflowError, OSError, ValueError):
            tm = None
        date = (f"{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d}"
                if tm is not None and 1000 <= tm.tm_year <= 9999 else None)
        self._days[day] = date
        return date


class LsjsonFormat:
    """``lsjson`` objects as Go's ``encoding/json`` writes them, keys in rclone's order (§D.2).

    Set up once per listing, so that the per-entry work is string concatenation: a listing of
    200,000 files spent most of its time building a dict and encoding it per file.  The common
    object (no hashes, ID or metadata) is one f-string; times come from :class:`TimeText`,
    MIME types from a per-extension cache.
    """

    def __init__(self, *, precision_ns: int, local_tz: bool, no_modtime: bool = False,
                 no_mimetype: bool = False, include_id: bool = True) -> None:
        import json
        from json.encoder import encode_basestring

        self._quote = encode_basestring
        self._encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        self._digits = modtime_digits(precision_ns) if precision_ns < MODTIME_UNSUPPORTED else 0
        self._tz = None if local_tz else _dt.UTC
        self._time = TimeText(self._digits, self._tz)
        self._no_modtime = no_modtime
        self._no_mimetype = no_mimetype
        self._include_id = include_id
        self._mimes: dict[str, str] = {}
        #: the one-f-string object applies (times and MIME types both shown)
        self._common = not no_modtime and not no_mimetype
        self._quoted_mimes: dict[str, str] = {}  # extension → its MIME type, JSON-quoted

    def _mime(self, entry: Entry, name: str) -> str:
        if entry.is_dir:
            return "inode/directory"
        if entry.mime_type:
            return entry.mime_type
        return self._mime_of(name)

    def _mime_of(self, name: str) -> str:
        """A file's MIME type by its name's extension (cached per extension)."""
        dot = name.rfind(".")
        ext = name[dot:] if dot >= 0 else ""
        mime = self._mimes.get(ext)
        if mime is None:
            from .mime import mime_type_by_name  # lazily: only listings with MIME types need it

            if len(self._mimes) >= 4096:
                self._mimes.clear()
            mime = self._mimes[ext] = mime_type_by_name(name)
        return mime

    def _quoted_mime(self, ext: str, path: str) -> str:
        if len(self._quoted_mimes) >= 4096:
            self._quoted_mimes.clear()
        quoted = self._quoted_mimes[ext] = self._quote(self._mime_of(path.rsplit("/", 1)[-1]))
        return quoted

    def as_item(self, path: str, entry: Entry) -> str:
        """The object for ``entry`` listed as ``path`` (``lsjson``'s item signature)."""
        return self(entry, path)

    def __call__(self, entry: Entry, path: str | None = None,
                 hashes: Mapping[str, str] | None = None,
                 metadata: Mapping[str, str] | None = None) -> str:
        """The object for ``entry``, listed as ``path`` (default: its own path), on one line."""
        if path is None:
            path = entry.path
        q = self._quote
        ns = entry.mtime_ns
        if (ns is not None and path and self._common and not hashes and not metadata
                and not (self._include_id and entry.id)):
            # The common object, per file of a big listing: every step here counts.
            quoted = q(path)
            # the name is the quoted path's tail (JSON leaves "/" alone): one quoting per line
            slash = quoted.rfind("/")
            qname = '"' + quoted[slash + 1:] if slash >= 0 else quoted
            if entry.is_dir:
                qmime = '"inode/directory"'
            elif entry.mime_type:
                qmime = q(entry.mime_type)
            else:
                dot = path.rfind(".")
                ext = path[dot:] if dot > path.rfind("/") else ""
                qmime = self._quoted_mimes.get(ext) or self._quoted_mime(ext, path)
            line = (f'{{"Path":{quoted},"Name":{qname},"Size":{entry.size},'
                    f'"MimeType":{qmime},"ModTime":"{self._time(ns)}",'
                    f'"IsDir":{"true" if entry.is_dir else "false"}}}')
            # (four scans in C: cheaper than the replaces, which are rarely needed)
            if line.isascii() and "<" not in line and ">" not in line and "&" not in line:
                return line
            # (bytes that are not UTF-8 become \ufffd escapes here, as Go writes them)
            return _go_escapes(line)
        name = path.rsplit("/", 1)[-1] if path else entry.name
        parts = ['{"Path":', q(path), ',"Name":', q(name), ',"Size":', str(entry.size)]
        if not self._no_mimetype:
            parts += (',"MimeType":', q(self._mime(entry, name)))
        if self._no_modtime:
            parts.append(',"ModTime":""')
        else:
            ns = mtime_of(entry)  # --default-time for a file whose time is unknown
            if ns is None:
                ns = int(_dt.datetime.now().timestamp() * 1_000_000_000)
            parts += (',"ModTime":"', self._time(ns), '"')
        parts.append(',"IsDir":true' if entry.is_dir else ',"IsDir":false')
        if hashes:
            cleaned = {k: v for k, v in hashes.items() if v}
            if cleaned:
                parts += (',"Hashes":', self._encode(cleaned))
        if self._include_id and entry.id:
            parts += (',"ID":', q(entry.id))
        if metadata:  # (-M; keys sorted, as Go writes a map)
            parts += (',"Metadata":', self._encode(dict(sorted(metadata.items()))))
        parts.append("}")
        return _go_escapes("".join(parts))


#: a byte of a file name that is not UTF-8, as Python's surrogateescape decoding keeps it
_UNDECODABLE = re.compile("[\udc80-\udcff]")


def valid_utf8(text: str) -> str:
    """``text`` as valid UTF-8 for output: each byte a file name had that is not UTF-8 (kept
    by Python as a lone surrogate) becomes one U+FFFD, as Go replaces them byte by byte."""
    if text.isascii():
        return text
    return _UNDECODABLE.sub("\ufffd", text)


def csv_field(text: str, sep: str) -> str:
    """Quote like Go's encoding/csv: when the field holds the separator, a quote, CR/LF, or
    starts with a space."""
    if text == "":
        return text
    needs = sep in text or '"' in text or "\r" in text or "\n" in text or text[0] in " \t"
    if text == "\\.":
        needs = True
    if not needs:
        return text
    return '"' + text.replace('"', '""') + '"'


def csv_line(fields: Iterable[str], sep: str = ",") -> str:
    return sep.join(csv_field(f, sep) for f in fields)
