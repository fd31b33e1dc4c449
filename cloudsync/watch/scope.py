"""A pass's filter: the user's filter, narrowed to the folders that changed and to files that
have stopped changing."""

from __future__ import annotations

import threading
import time

from ..filters import Filter
from .changes import Batch, parent_of

__all__ = ["ScopedFilter"]


class ScopedFilter(Filter):
    """``base`` (the user's filters, ignore files included) restricted to ``batch``.

    * Only the changed folders' own files, everything below changed subtrees, and the
      folders leading to them are looked at; nothing else is listed, compared or deleted
      (to the engine it is "excluded", which sync never deletes).
    * A file whose modification time is younger than ``settle_s`` is left out on both sides
      and remembered in :attr:`unsettled`: it is still being written, so it must not appear
      on the destination yet.  The loop looks at its folder again later.
    """

    def __init__(self, base: Filter, batch: Batch, settle_s: float) -> None:
        super().__init__()
        self.__dict__.update(base.__dict__)
        self._scope_full = batch.full
        self._scope_dirs = frozenset(batch.dirs)
        self._scope_trees = tuple(sorted(batch.trees))
        self._scope_tree_set = frozenset(batch.trees)
        ancestors: set[str] = set()
        for path in (*batch.dirs, *batch.trees):
            while path:
                path = parent_of(path)
                ancestors.add(path)
        self._scope_ancestors = frozenset(ancestors)
        now = time.time_ns()
        self._unsettled_after = now - int(settle_s * 1e9)
        self._future = now + 1_000_000_000  # a modtime in the future is a clock issue, not a write
        self._scope_lock = threading.Lock()
        #: folders holding files left out because they were still changing
        self.unsettled: set[str] = set()

    @property
    def active(self) -> bool:
        return True  # (never a whole-tree shortcut such as a server-side directory move)

    def _in_tree(self, path: str) -> bool:
        if path in self._scope_tree_set or "" in self._scope_tree_set:
            return True
        while "/" in path:
            path = path.rsplit("/", 1)[0]
            if path in self._scope_tree_set:
                return True
        return False

    def _in_scope_dir(self, path: str) -> bool:
        return (self._scope_full or path in self._scope_dirs or path in self._scope_ancestors
                or self._in_tree(path))

    def include_dir(self, path: str) -> bool:
        path = path.strip("/")
        return self._in_scope_dir(path) and super().include_dir(path)

    def include_file(self, path: str, size: int, mtime_ns: int | None) -> bool:
        parent = parent_of(path)
        if not (self._scope_full or parent in self._scope_dirs or self._in_tree(parent)):
            return False
        if mtime_ns is not None and self._unsettled_after < mtime_ns < self._future:
            with self._scope_lock:
                self.unsettled.add(parent)
            return False
        return super().include_file(path, size, mtime_ns)
