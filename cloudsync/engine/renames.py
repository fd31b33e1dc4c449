"""Plan for ``sync --track-renames``: match destination-only files to source-only files.

Pure decisions, no I/O (rclone-semantics.md §A.2, rclone's ``fs/sync``).  After the march,
the source-only files (held back instead of copied) and the destination-only files (the
``--delete-after`` candidates) are paired by size plus the keys of
``--track-renames-strategy``: ``hash`` (the common hash type), ``leaf`` (the file's own
name) and ``modtime`` (equal within the modify window).  Each pair becomes a server-side
move on the destination; the rest is copied and deleted as usual.  Only those two
candidate lists are ever held, so memory grows with the differences, not with the tree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import UsageError
from ..types import MODTIME_UNSUPPORTED, Entry

__all__ = ["Strategy", "match_renames", "parse_strategy", "rename_key", "why_ignored"]

KNOWN = ("hash", "modtime", "leaf", "size")


@dataclass(frozen=True)
class Strategy:
    """What besides the size must agree for a destination file to count as renamed."""

    hash: bool = True
    modtime: bool = False
    leaf: bool = False


def parse_strategy(text: str) -> Strategy:
    """``hash,modtime,leaf`` (``size`` is always part of the key and accepted as a no-op)."""
    parts = text.split(",") if text else []
    for part in parts:
        if part not in KNOWN:
            raise UsageError(f"unknown track renames strategy {part!r}")
    return Strategy(hash="hash" in parts, modtime="modtime" in parts, leaf="leaf" in parts)


def why_ignored(strategy: Strategy, *, sync: bool, dst_can_move: bool, hash_type: str | None,
                window: int) -> str | None:
    """rclone's reason for ignoring ``--track-renames`` (logged as an ERROR), or None."""
    if not dst_can_move:
        return ("Ignoring --track-renames as the destination does not support server-side move or "
                "copy")
    if strategy.hash and hash_type is None:
        return "Ignoring --track-renames as the source and destination do not have a common hash"
    if strategy.modtime and window == MODTIME_UNSUPPORTED:
        return ("Ignoring --track-renames as either the source or destination do not support "
                "modtime")
    if not sync:
        return "Ignoring --track-renames as it doesn't work with copy or move, only sync"
    return None


def _leaf(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def rename_key(entry: Entry, strategy: Strategy, hash_type: str | None) -> str | None:
    """The matching key (size, then hash and leaf name as the strategy asks); None when the
    hash it needs is unknown (such a file is never matched: it is copied or deleted)."""
    key = str(entry.size)
    if strategy.hash:
        value = entry.hashes.get(hash_type, "") if hash_type is not None else ""
        if not value:
            return None
        key += "," + value.lower()
    if strategy.leaf:
        key += "," + _leaf(entry.path)
    return key


def needs_hash(entries: Iterable[Entry], sizes: set[int] | frozenset[int], strategy: Strategy,
               hash_type: str | None) -> list[Entry]:
    """The candidates whose size could match and whose hash the listing did not give."""
    if not strategy.hash or hash_type is None:
        return []
    return [e for e in entries if e.size in sizes and not e.hashes.get(hash_type)]


def match_renames(src_only: Iterable[Entry], dst_only: Iterable[Entry], strategy: Strategy,
                  hash_type: str | None, window: int
                  ) -> tuple[list[tuple[Entry, Entry]], list[Entry]]:
    """Pair source-only files with destination-only files.

    Returns ``(renames, unmatched)``: ``(src, dst)`` pairs, each meaning "move ``dst.path``
    to ``src.path``", and the source files left to copy.  A destination file is used at most
    once; among several candidates with the same key the first listed wins (with ``modtime``,
    the first whose modtime agrees), as in rclone.
    """
    sources = list(src_only)
    sizes = {s.size for s in sources}
    by_key: dict[str, list[Entry]] = {}
    for dst in dst_only:
        if dst.size not in sizes:  # only sizes some source file has are worth a key
            continue
        key = rename_key(dst, strategy, hash_type)
        if key is not None:
            by_key.setdefault(key, []).append(dst)
    renames: list[tuple[Entry, Entry]] = []
    unmatched: list[Entry] = []
    for src in sources:
        key = rename_key(src, strategy, hash_type)
        found = _pop(by_key, key, src, strategy, window) if key is not None else None
        if found is None:
            unmatched.append(src)
        else:
            renames.append((src, found))
    return renames, unmatched


def _pop(by_key: dict[str, list[Entry]], key: str, src: Entry, strategy: Strategy,
         window: int) -> Entry | None:
    candidates = by_key.get(key)
    if not candidates:
        return None
    index = 0
    if strategy.modtime:
        index = -1
        for i, dst in enumerate(candidates):
            if src.mtime_ns is None or dst.mtime_ns is None:
                continue
            if -window < dst.mtime_ns - src.mtime_ns < window:
                index = i
                break
        if index < 0:
            return None
    found = candidates.pop(index)
    if not candidates:
        del by_key[key]
    return found
