"""File versions and trash for the memory backend (the ``versions`` and ``trash`` capabilities).

The memory store keeps, beside its tree, a timeline per file path: every version written
there and every deletion, each with the moment it happened.  Deleted files and purged or
removed folders also go to a trash, from which they can be restored or removed for good.
That is enough to answer "what did this folder look like at T" exactly – including files
deleted and re-created since – so the engine and the command line are tested without HTTP.

Old content costs memory: each path keeps its newest :data:`MAX_VERSIONS` versions, and the
trash its newest :data:`MAX_TRASH` items (the process-wide store is a test tool).
"""

from __future__ import annotations

import builtins
import io
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol, cast

from cloudsync.errors import AlreadyExists, DirNotFound, IsDirError, ObjectNotFound
from cloudsync.history import TrashItem, Version
from cloudsync.types import MD5, Entry, join_path

__all__ = ["MAX_TRASH", "MAX_VERSIONS", "HistoryStore", "MemoryHistory"]

MAX_VERSIONS = 10
MAX_TRASH = 2000
MAX_PATHS = 100_000

Key = tuple[str, ...]


@dataclass
class _Event:
    """A version written (``node`` is the file) or a deletion (``node`` None)."""

    id: int
    node: Any
    stored_ns: int


@dataclass
class _Trashed:
    node: Any  # the memory backend's _File or _Dir
    deleted_ns: int


@dataclass
class HistoryStore:
    """Timelines and trash of the whole process-wide memory store (guarded by its lock)."""

    timelines: OrderedDict[Key, list[_Event]] = field(default_factory=OrderedDict)
    trash: OrderedDict[Key, _Trashed] = field(default_factory=OrderedDict)
    counter: int = 0
    # time.time_ns() may repeat on coarse clocks; events must be strictly ordered.
    last_ns: int = 0
    lock: threading.RLock = field(default_factory=threading.RLock)

    def clear(self) -> None:
        with self.lock:
            self.timelines.clear()
            self.trash.clear()

    def _stamp(self) -> tuple[int, int]:
        self.counter += 1
        self.last_ns = max(time.time_ns(), self.last_ns + 1)
        return self.counter, self.last_ns

    def record(self, key: Key, node: Any) -> None:
        """A version of ``key`` was written (``node``) or deleted (None)."""
        with self.lock:
            ident, ts = self._stamp()
            line = self.timelines.pop(key, [])
            line.append(_Event(ident, node, ts))
            if node is not None:
                versions = [e for e in line if e.node is not None]
                if len(versions) > MAX_VERSIONS:
                    drop = versions[0]
                    line = [e for e in line if e is not drop]
            self.timelines[key] = line  # re-inserted: most recently used last
            while len(self.timelines) > MAX_PATHS:
                self.timelines.popitem(last=False)

    def put_trash(self, key: Key, node: Any) -> int:
        with self.lock:
            _, ts = self._stamp()
            self.trash.pop(key, None)
            self.trash[key] = _Trashed(node, ts)
            while len(self.trash) > MAX_TRASH:
                self.trash.popitem(last=False)
            return ts


class _Tree(Protocol):
    """What the mixin needs from :class:`~backends.memory.MemoryBackend`."""

    _root_parts: builtins.list[str]

    def _parts(self, path: str) -> builtins.list[str]: ...
    def _lookup(self, parts: builtins.list[str]) -> Any: ...
    def _place(self, dst_path: str, node: Any) -> Entry: ...
    def _dir_for_write(self, parts: builtins.list[str], path: str) -> Any: ...
    def _clone(self, node: Any) -> Any: ...
    def _entry(self, path: str, node: Any) -> Entry: ...
    def _key(self, parts: builtins.list[str]) -> Key: ...


class MemoryHistory:
    """Mixin: the ``versions`` and ``trash`` capabilities over a :class:`HistoryStore`."""

    history: HistoryStore  # set by the memory module (one per process)

    # ------------------------------------------------------------------ helpers
    def _rel(self: Any, key: Key) -> str:
        return "/".join(key[len(self._root_parts):])

    def _timeline(self: Any, path: str) -> list[_Event]:
        key = self._key(self._parts(path))
        with self.history.lock:
            line = self.history.timelines.get(key)
        if not line:
            raise ObjectNotFound("no file with versions at this path", path=path)
        return cast("list[_Event]", line)

    @staticmethod
    def _version(ev: _Event, current: bool) -> Version:
        node = ev.node
        return Version(id=str(ev.id), size=len(node.data), mtime_ns=node.mtime_ns,
                       md5=node.hashes.get(MD5, ""), stored_ns=ev.stored_ns, current=current)

    def _find(self: Any, path: str, version_id: str) -> _Event:
        for ev in self._timeline(path):
            if ev.node is not None and str(ev.id) == version_id:
                return cast(_Event, ev)
        raise ObjectNotFound(f"version {version_id} not found", path=path,
                             hint="'cloudsync versions' lists the versions of a file")

    # ------------------------------------------------------------------ versions
    def versions(self: Any, path: str) -> builtins.list[Version]:
        with self.history.lock:
            line = builtins.list(self._timeline(path))
            live = self._lookup(self._parts(path))
        out = []
        for ev in reversed(line):
            if ev.node is not None:
                out.append(self._version(ev, ev.node is live))
        if not out:
            raise ObjectNotFound("no file with versions at this path", path=path)
        return out

    def open_version(self: Any, path: str, version_id: str, start: int = 0,
                     end: int | None = None) -> BinaryIO:
        data = self._find(path, version_id).node.data
        stop = len(data) if end is None else min(end, len(data))
        start = max(0, start)
        return io.BytesIO(data[start:stop] if start < stop else b"")

    def restore_version(self: Any, path: str, version_id: str, to: str | None = None) -> Entry:
        with self.history.lock:
            ev = self._find(path, version_id)
            target = to if to is not None else path
            live = self._lookup(self._parts(target))
            if live is not None and not hasattr(live, "data"):
                raise IsDirError(path=target)
            if live is ev.node:
                return cast(Entry, self._entry(target, live))
            return cast(Entry, self._place(target, self._clone(ev.node)))

    def list_at(self: Any, path: str, at_ns: int) -> builtins.list[tuple[Entry, Version]]:
        base = self._key(self._parts(path))
        n = len(base)
        files: dict[str, tuple[Entry, Version]] = {}
        dirs: set[str] = set()
        with self.history.lock:
            for key, line in self.history.timelines.items():
                if len(key) <= n or key[:n] != base:
                    continue
                state = None
                for ev in line:
                    if ev.stored_ns <= at_ns:
                        state = ev
                if state is None or state.node is None:
                    continue
                child = key[n]
                rel = join_path(path, child)
                if len(key) == n + 1:
                    v = self._version(state, state.node is self._lookup(builtins.list(key)))
                    files[rel] = (self._entry(rel, state.node), v)
                else:
                    dirs.add(rel)
        if not files and not dirs:
            node = self._lookup(builtins.list(base))
            if node is None or hasattr(node, "data"):
                raise DirNotFound(path=path or "/")
        placeholder = Version("", -1, None, "", 0)
        return [(Entry(d, True), placeholder) for d in sorted(dirs)] + builtins.list(files.values())

    # ------------------------------------------------------------------ trash
    def _trash_items(self: Any, path: str) -> builtins.list[tuple[Key, _Trashed]]:
        base = self._key(self._parts(path))
        with self.history.lock:
            return [(k, t) for k, t in self.history.trash.items()
                    if len(k) > len(base) and k[: len(base)] == base]

    def trash(self: Any, path: str, recursive: bool = False) -> builtins.list[TrashItem]:
        out: builtins.list[TrashItem] = []
        for key, t in self._trash_items(path):
            rel = self._rel(key)
            out.append(self._trash_item(rel, t.node, t.deleted_ns))
            if recursive and not hasattr(t.node, "data"):
                for sub, node in _walk(t.node, rel):
                    out.append(self._trash_item(sub, node, t.deleted_ns))
        return out

    @staticmethod
    def _trash_item(rel: str, node: Any, deleted_ns: int) -> TrashItem:
        if hasattr(node, "data"):
            return TrashItem(rel, False, len(node.data), node.hashes.get(MD5, ""), node.mtime_ns,
                             deleted_ns)
        return TrashItem(rel, True, -1, "", node.mtime_ns, deleted_ns)

    def restore_trash(self: Any, path: str, to: str | None = None) -> builtins.list[Entry]:
        with self.history.lock:
            key = self._key(self._parts(path))
            exact = self.history.trash.get(key)
            items = [(key, exact)] if exact is not None else self._trash_items(path)
            if not items:
                raise ObjectNotFound("not in the trash", path=path,
                                     hint="'cloudsync trash ls' shows what the trash holds")
            # (target path, file node) for every file, and every folder to re-create.
            plan: builtins.list[tuple[str, Any]] = []
            folders: builtins.list[str] = []
            for k, t in items:
                rel = self._rel(k)
                target = rel if to is None else join_path(to, rel[len(path):].lstrip("/"))
                if hasattr(t.node, "data"):
                    plan.append((target, t.node))
                else:
                    folders.append(target)
                    for sub, node in _walk(t.node, target):
                        if hasattr(node, "data"):
                            plan.append((sub, node))
                        else:
                            folders.append(sub)
            for target, _ in plan:
                live = self._lookup(self._parts(target))
                if live is not None:
                    raise AlreadyExists(
                        "a newer file now lives at this path; nothing was restored", path=target,
                        hint="restore beside it with --to REMOTE:otherpath")
            for d in folders:
                if self._lookup(self._parts(d)) is not None and hasattr(self._lookup(self._parts(d)), "data"):
                    raise AlreadyExists("a file now lives where this folder was; nothing was restored",
                                        path=d, hint="restore beside it with --to REMOTE:otherpath")
            for d in folders:
                self._dir_for_write(self._parts(d), d)
            restored = [self._place(target, self._clone(node)) for target, node in plan]
            if to is None:  # restored beside: the trashed original stays (as on JottaCloud)
                for k, _ in items:
                    self.history.trash.pop(k, None)
            return restored

    def remove_trash(self: Any, path: str) -> None:
        key = self._key(self._parts(path))
        with self.history.lock:
            keys = [key] if key in self.history.trash else [k for k, _ in self._trash_items(path)]
            if not keys:
                raise ObjectNotFound("not in the trash", path=path)
            for k in keys:
                del self.history.trash[k]

    def cleanup(self: Any) -> None:
        base = self._key(self._parts(""))
        with self.history.lock:
            for k in [k for k in self.history.trash if k[: len(base)] == base]:
                del self.history.trash[k]

    def trashed_size(self: Any) -> int:
        total = 0
        for _, t in self._trash_items(""):
            nodes = [t.node] if hasattr(t.node, "data") else [n for _, n in _walk(t.node, "")]
            total += sum(len(n.data) for n in nodes if hasattr(n, "data"))
        return total


def _walk(d: Any, prefix: str) -> builtins.list[tuple[str, Any]]:
    """Every node below folder ``d`` (pre-order) with its path under ``prefix``."""
    out: builtins.list[tuple[str, Any]] = []
    stack = [(prefix, d)]
    while stack:
        rel, node = stack.pop()
        for name, child in node.children.items():
            sub = join_path(rel, name)
            out.append((sub, child))
            if not hasattr(child, "data"):
                stack.append((sub, child))
    return out

