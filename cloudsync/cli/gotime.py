"""Go reference-time layouts (``lsf --time-format``), as rclone users write them.

rclone formats times with Go layouts: the reference time ``Mon Jan 2 15:04:05 MST 2006`` written
the way the output should look (``2006-01-02``, ``Jan _2 15:04``), or a layout's Go name
(``RFC3339``, ``DateOnly`` …), or rclone's own ``max`` (all the precision the remote has),
``unix`` and ``unixnano``.  Times are shown in local time, as rclone shows them.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["NAMED", "compile_layout"]

NAMED: dict[str, str] = {
    "Layout": "01/02 03:04:05PM '06 -0700",
    "ANSIC": "Mon Jan _2 15:04:05 2006",
    "UnixDate": "Mon Jan _2 15:04:05 MST 2006",
    "RubyDate": "Mon Jan 02 15:04:05 -0700 2006",
    "RFC822": "02 Jan 06 15:04 MST",
    "RFC822Z": "02 Jan 06 15:04 -0700",
    "RFC850": "Monday, 02-Jan-06 15:04:05 MST",
    "RFC1123": "Mon, 02 Jan 2006 15:04:05 MST",
    "RFC1123Z": "Mon, 02 Jan 2006 15:04:05 -0700",
    "RFC3339": "2006-01-02T15:04:05Z07:00",
    "RFC3339Nano": "2006-01-02T15:04:05.999999999Z07:00",
    "Kitchen": "3:04PM",
    "Stamp": "Jan _2 15:04:05",
    "StampMilli": "Jan _2 15:04:05.000",
    "StampMicro": "Jan _2 15:04:05.000000",
    "StampNano": "Jan _2 15:04:05.000000000",
    "DateTime": "2006-01-02 15:04:05",
    "DateOnly": "2006-01-02",
    "TimeOnly": "15:04:05",
}

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

Piece = Callable[[time.struct_time, int], str]


def _zone(t: time.struct_time, *, z: bool, colon: bool, seconds: bool, hours_only: bool) -> str:
    off = t.tm_gmtoff or 0
    if z and off == 0:
        return "Z"
    sign = "-" if off < 0 else "+"
    off = abs(off)
    h, m, s = off // 3600, off // 60 % 60, off % 60
    if hours_only:
        return f"{sign}{h:02d}"
    sep = ":" if colon else ""
    return f"{sign}{h:02d}{sep}{m:02d}" + (f"{sep}{s:02d}" if seconds else "")


def _fraction(sep: str, digits: int, trim: bool) -> Piece:
    def piece(_t: time.struct_time, ns: int) -> str:
        text = f"{ns:09d}"[:digits]
        if trim:
            text = text.rstrip("0")
            return sep + text if text else ""
        return sep + text
    return piece


def _hour12(t: time.struct_time) -> int:
    return t.tm_hour % 12 or 12


# (token, renderer), longest and most specific first, as Go's parser tries them
_TOKENS: list[tuple[str, Piece]] = [
    ("January", lambda t, _: _MONTHS[t.tm_mon - 1]),
    ("Jan", lambda t, _: _MONTHS[t.tm_mon - 1][:3]),
    ("Monday", lambda t, _: _DAYS[t.tm_wday]),
    ("Mon", lambda t, _: _DAYS[t.tm_wday][:3]),
    ("MST", lambda t, _: t.tm_zone or ""),
    ("2006", lambda t, _: f"{t.tm_year:04d}"),
    ("-07:00:00", lambda t, _: _zone(t, z=False, colon=True, seconds=True, hours_only=False)),
    ("-070000", lambda t, _: _zone(t, z=False, colon=False, seconds=True, hours_only=False)),
    ("-07:00", lambda t, _: _zone(t, z=False, colon=True, seconds=False, hours_only=False)),
    ("-0700", lambda t, _: _zone(t, z=False, colon=False, seconds=False, hours_only=False)),
    ("-07", lambda t, _: _zone(t, z=False, colon=False, seconds=False, hours_only=True)),
    ("Z07:00:00", lambda t, _: _zone(t, z=True, colon=True, seconds=True, hours_only=False)),
    ("Z070000", lambda t, _: _zone(t, z=True, colon=False, seconds=True, hours_only=False)),
    ("Z07:00", lambda t, _: _zone(t, z=True, colon=True, seconds=False, hours_only=False)),
    ("Z0700", lambda t, _: _zone(t, z=True, colon=False, seconds=False, hours_only=False)),
    ("Z07", lambda t, _: _zone(t, z=True, colon=False, seconds=False, hours_only=True)),
    ("002", lambda t, _: f"{t.tm_yday:03d}"),
    ("__2", lambda t, _: f"{t.tm_yday:3d}"),
    ("_2", lambda t, _: f"{t.tm_mday:2d}"),
    ("01", lambda t, _: f"{t.tm_mon:02d}"),
    ("02", lambda t, _: f"{t.tm_mday:02d}"),
    ("03", lambda t, _: f"{_hour12(t):02d}"),
    ("04", lambda t, _: f"{t.tm_min:02d}"),
    ("05", lambda t, _: f"{t.tm_sec:02d}"),
    ("06", lambda t, _: f"{t.tm_year % 100:02d}"),
    ("15", lambda t, _: f"{t.tm_hour:02d}"),
    ("PM", lambda t, _: "PM" if t.tm_hour >= 12 else "AM"),
    ("pm", lambda t, _: "pm" if t.tm_hour >= 12 else "am"),
    ("1", lambda t, _: str(t.tm_mon)),
    ("2", lambda t, _: str(t.tm_mday)),
    ("3", lambda t, _: str(_hour12(t))),
    ("4", lambda t, _: str(t.tm_min)),
    ("5", lambda t, _: str(t.tm_sec)),
]


def _literal(text: str) -> Piece:
    return lambda _t, _ns: text


def _parse(layout: str) -> list[Piece]:
    pieces: list[Piece] = []
    literal = ""
    i = 0
    while i < len(layout):
        ch = layout[i]
        if ch in ".," and i + 1 < len(layout) and layout[i + 1] in "09":
            # fractional seconds: a run of 0s (fixed width) or 9s (trailing zeros dropped)
            digit = layout[i + 1]
            j = i + 1
            while j < len(layout) and layout[j] == digit:
                j += 1
            # Go reads it as a fraction only when no digit follows the run
            if not (j < len(layout) and layout[j].isdigit()):
                if literal:
                    pieces.append(_literal(literal))
                    literal = ""
                pieces.append(_fraction(ch, min(j - i - 1, 9), digit == "9"))
                i = j
                continue
        for token, render in _TOKENS:
            if layout.startswith(token, i):
                if literal:
                    pieces.append(_literal(literal))
                    literal = ""
                pieces.append(render)
                i += len(token)
                break
        else:
            literal += ch
            i += 1
    if literal:
        pieces.append(_literal(literal))
    return pieces


def compile_layout(layout: str, *, precision_ns: int = 1) -> Callable[[int], str]:
    """A function of nanoseconds since the epoch that formats them like Go's ``Format``.

    ``precision_ns`` is the remote's modtime precision, for ``max``.
    """
    if layout == "unix":
        return lambda ns: str(ns // 1_000_000_000)
    if layout == "unixnano":
        return lambda ns: str(ns)
    if layout == "max":
        digits = 0
        while precision_ns < 1_000_000_000 and 10 ** (9 - digits) > precision_ns:
            digits += 1
        layout = "2006-01-02 15:04:05" + ("." + "0" * digits if digits else "")
    pieces = _parse(NAMED.get(layout, layout))
    cache: dict[int, time.struct_time] = {}

    def render(ns: int) -> str:
        secs, frac = divmod(ns, 1_000_000_000)
        t = cache.get(secs)
        if t is None:
            if len(cache) > 4096:
                cache.clear()
            t = cache[secs] = time.localtime(secs)
        return "".join(p(t, frac) for p in pieces)

    return render
