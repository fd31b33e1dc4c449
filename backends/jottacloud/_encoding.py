"""Restricted-character encoding for JottaCloud names (rclone's ``lib/encoder`` rules).

JottaCloud cannot store some characters (and a name with ``%xx`` in it gets a bare 400), so
names are encoded on the way in and decoded on listing, exactly as rclone's default for this
backend does – files written by rclone and by cloudsync therefore read the same in both.

Default set (rclone's display form):
``Slash,LtGt,DoubleQuote,Colon,Question,Asterisk,Pipe,Percent,Del,Ctl,InvalidUtf8,Dot``.

* the ASCII character is replaced by its fullwidth look-alike (``:`` → ``：``), control
  characters by the Unicode "symbol for" pictures (``\\x01`` → ``␁``), DEL by ``␡``;
* a name that *already contains* one of the replacement characters gets it quoted with
  ``‛`` (U+201B) so the mapping round-trips; ``‛`` and ``␀`` themselves are always quoted;
* bytes that are not valid UTF-8 (Python keeps them as surrogate escapes ``\\udcXX``) become
  ``‛`` followed by two upper-case hex digits;
* the whole names ``.`` and ``..`` become ``．`` and ``．．``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

__all__ = ["DEFAULT_ENCODING", "Encoder", "parse_encoding"]

QUOTE = "\u201b"  # ‛ SINGLE HIGH-REVERSED-9 QUOTATION MARK
SYMBOL_NULL = "\u2400"  # ␀
FULL_OFFSET = 0xFEE0
FULL_DOT = "\uff0e"  # ．

DEFAULT_ENCODING = "Slash,LtGt,DoubleQuote,Colon,Question,Asterisk,Pipe,Percent,Del,Ctl,InvalidUtf8,Dot"

# Flags that replace an ASCII character by its fullwidth form.
_FULLWIDTH_FLAGS: dict[str, str] = {
    "Slash": "/",
    "LtGt": "<>",
    "DoubleQuote": '"',
    "SingleQuote": "'",
    "BackQuote": "`",
    "Dollar": "$",
    "Colon": ":",
    "Question": "?",
    "Asterisk": "*",
    "Pipe": "|",
    "Hash": "#",
    "Percent": "%",
    "BackSlash": "\\",
}
_OTHER_FLAGS = frozenset({"Del", "Ctl", "InvalidUtf8", "Dot", "None"})


def parse_encoding(text: str) -> frozenset[str]:
    """Parse an rclone-style comma list of encoding flags; ValueError on an unknown one."""
    flags = {part.strip() for part in text.split(",") if part.strip()}
    unknown = flags - set(_FULLWIDTH_FLAGS) - _OTHER_FLAGS
    if unknown:
        known = ", ".join(sorted({*_FULLWIDTH_FLAGS, *_OTHER_FLAGS}))
        raise ValueError(f"unsupported encoding flag(s) {', '.join(sorted(unknown))} (known: {known})")
    flags.discard("None")
    return frozenset(flags)


@dataclass(frozen=True)
class Encoder:
    """Encode/decode single names (path elements) with a set of rclone encoding flags."""

    flags: frozenset[str]

    @classmethod
    def from_text(cls, text: str = DEFAULT_ENCODING) -> Encoder:
        return cls(parse_encoding(text))

    @cached_property
    def _tables(self) -> tuple[dict[str, str], dict[str, str]]:
        enc: dict[str, str] = {}
        for flag, chars in _FULLWIDTH_FLAGS.items():
            if flag in self.flags:
                for c in chars:
                    enc[c] = chr(ord(c) + FULL_OFFSET)
        if "Ctl" in self.flags:
            for code in range(1, 0x20):
                enc[chr(code)] = chr(ord(SYMBOL_NULL) + code)
        if "Del" in self.flags:
            enc["\x7f"] = "\u2421"
        # NUL is always encoded (rclone's EncodeZero is part of every set).
        enc["\x00"] = SYMBOL_NULL
        dec = {v: k for k, v in enc.items()}
        return enc, dec

    @cached_property
    def _decode_marks(self) -> frozenset[str]:
        """Characters that make :meth:`decode` change a name."""
        return frozenset(self._tables[1]) | {QUOTE}

    def encode(self, name: str) -> str:
        if not name:
            return name
        if "Dot" in self.flags:
            if name == ".":
                return FULL_DOT
            if name == "..":
                return FULL_DOT * 2
            if name == FULL_DOT:
                return QUOTE + FULL_DOT
            if name == FULL_DOT * 2:
                return QUOTE + FULL_DOT + QUOTE + FULL_DOT
        enc, dec = self._tables
        out: list[str] = []
        for c in name:
            if c in enc:
                out.append(enc[c])
            elif c in dec or c == QUOTE:
                out.append(QUOTE + c)
            elif "\udc80" <= c <= "\udcff" and "InvalidUtf8" in self.flags:
                out.append(f"{QUOTE}{ord(c) - 0xDC00:02X}")
            else:
                out.append(c)
        return "".join(out)

    def decode(self, name: str) -> str:
        if "Dot" in self.flags:
            if name == FULL_DOT:
                return "."
            if name == FULL_DOT * 2:
                return ".."
            if name == QUOTE + FULL_DOT:
                return FULL_DOT
            if name == QUOTE + FULL_DOT + QUOTE + FULL_DOT:
                return FULL_DOT * 2
        _, dec = self._tables
        if self._decode_marks.isdisjoint(name):
            return name  # nothing encoded: every name of an ordinary listing
        out: list[str] = []
        i, n = 0, len(name)
        while i < n:
            c = name[i]
            if c == QUOTE and i + 1 < n:
                nxt = name[i + 1]
                if nxt in dec or nxt == QUOTE:
                    out.append(nxt)
                    i += 2
                    continue
                hexpart = name[i + 1 : i + 3]
                if (
                    "InvalidUtf8" in self.flags
                    and len(hexpart) == 2
                    and all(h in "0123456789ABCDEF" for h in hexpart)
                    and int(hexpart, 16) >= 0x80
                ):
                    out.append(chr(0xDC00 + int(hexpart, 16)))
                    i += 3
                    continue
            out.append(dec.get(c, c))
            i += 1
        return "".join(out)

    def encode_path(self, path: str) -> str:
        return "/".join(self.encode(p) for p in path.split("/")) if path else ""

    def decode_path(self, path: str) -> str:
        return "/".join(self.decode(p) for p in path.split("/")) if path else ""
