"""The filtered tree walk behind ``ls``, ``lsf``, ``lsjson``, ``size``, ``delete``, ``purge``…

Entries stream out one directory at a time, breadth first, each directory sorted by name –
rclone's order (it sorts within a directory and never the whole tree).  A local tree is listed
directory by directory, so memory holds one directory listing plus the paths of the
directories still to visit, whatever the size of the tree.  A remote that offers
``list_recursive`` is fetched with that one streamed call instead (one request instead of
one per directory) and served from the collected tree.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection, Iterator, Sequence
from itertools import islice
from operator import attrgetter
from typing import TYPE_CHECKING

from ..errors import PartialListing
from ..options import LOW_LEVEL_RETRIES
from ..types import Entry
from .retry import call_with_retries

if TYPE_CHECKING:
    from ..backend import Backend
    from ..filters import Filter

__all__ = ["walk_tree"]

# Entries of one directory share the parent prefix: ordering by path is ordering by name,
# without computing each name.
_by_path = attrgetter("path")
#: a walk with more folders than this waiting names folders PREFETCH_GAP to PREFETCH_GAP +
#: PREFETCH_AHEAD places ahead to the backend: the next few it lists itself, meanwhile the
#: backend (local: a helper process) lists those further on, so the two never race for the
#: same folder
PREFETCH_FROM = 64
PREFETCH_GAP = 6
PREFETCH_AHEAD = 16


def walk_tree(backend: Backend, path: str = "", *, filter: Filter | None = None,
              max_depth: int = -1, recursive: bool = True, files_only: bool = False,
              dirs_only: bool = False, low_level_retries: int = LOW_LEVEL_RETRIES.default,
              on_error: Callable[[BaseException, str], None] | None = None) -> Iterator[Entry]:
    """Entries below ``path``, breadth first, sorted by name within each directory.

    ``filter`` paths are relative to ``path``; yielded paths are relative to the backend root.
    ``recursive=False`` is ``max_depth=1``.  A missing ``path`` raises DirNotFound.
    ``on_error(err, path)`` receives the unreadable entries of a partial listing (a broken or
    looping link with -L); the walk goes on with the rest.  Without it such a listing raises.
    """
    filt = filter if filter is not None and filter.active else None
    if not recursive:
        max_depth = 1
    if filter is not None and max_depth < 0 and filter.max_depth >= 0:
        max_depth = filter.max_depth
    prefix = path.strip("/")
    cut = len(prefix) + 1 if prefix else 0

    tree: dict[str, list[Entry]] | None = None
    if max_depth != 1 and backend.walks_recursively():
        def fetch() -> dict[str, list[Entry]]:
            t: dict[str, list[Entry]] = {prefix: []}
            for e in backend.list_recursive(prefix):
                if e.path == prefix:
                    continue
                t.setdefault(e.parent, []).append(e)
                if e.is_dir:
                    t.setdefault(e.path, [])
            return t

        tree = call_with_retries(fetch, low_level_retries)

    def list_dir(d: str) -> list[Entry]:
        if tree is not None:
            # handed out once: the walk visits each directory once, and memory is freed as
            # the walk goes
            return tree.pop(d, [])
        try:
            return call_with_retries(lambda: list(backend.list(d)), low_level_retries)
        except PartialListing as part:
            if on_error is None:
                raise
            for err in part.errors:
                on_error(err, err.path or d)
            return list(part.entries)

    markers = filt.exclude_if_present if filt is not None else ()
    queue: deque[tuple[str, int]] = deque([(prefix, 0)])
    try:
        yield from _walk_queue(queue, list_dir, filt, markers, cut, max_depth, files_only,
                               dirs_only, backend.prefetch_lists if tree is None else None)
    finally:
        if tree is None:
            backend.prefetch_lists(None)


def _walk_queue(queue: deque[tuple[str, int]], list_dir: Callable[[str], list[Entry]],
                filt: Filter | None, markers: Collection[str], cut: int, max_depth: int,
                files_only: bool, dirs_only: bool,
                prefetch: Callable[[Sequence[str] | None], None] | None) -> Iterator[Entry]:
    while queue:
        if prefetch is not None and len(queue) > PREFETCH_FROM:
            # a big walk: the backend may list the next folders ahead (local: in helpers)
            prefetch([p for p, _ in islice(queue, PREFETCH_GAP, PREFETCH_GAP + PREFETCH_AHEAD)])
        d, depth = queue.popleft()
        entries = list_dir(d)
        entries.sort(key=_by_path)
        if markers and any(not e.is_dir and e.name in markers for e in entries):
            continue
        descend = max_depth < 0 or depth + 1 < max_depth
        if filt is None and not files_only and not dirs_only:
            # nothing to leave out: the folder's entries go out as they are (a loop in C)
            if descend:
                queue.extend([(e.path, depth + 1) for e in entries if e.is_dir])
            yield from entries
            continue
        for e in entries:
            if e.is_dir:
                if filt is not None and not filt.include_dir(e.path[cut:]):
                    continue
                if not files_only:
                    yield e
                if descend:
                    queue.append((e.path, depth + 1))
            else:
                if filt is not None and not filt.include_file(e.path[cut:], e.size, e.mtime_ns):
                    continue
                if not dirs_only:
                    yield e
