"""The memory backend: a process-global, thread-safe store, addressed like rclone's ``:memory:``.

All memory backends of a process share one namespace: the root is a path inside it, so two
backends (even with different roots or names) see the same data, and server-side copy/move
works between any two of them.  :func:`reset` wipes the store (tests).

It exists for tests, so its features can be bent through hidden options: ``precision``
(``1ns``, ``1s``, ``off`` …), ``hashes`` (comma list, may be empty), ``case_insensitive``,
``set_modtime`` (``true``, ``false`` → CantSetModTime, ``without_delete`` →
CantSetModTimeWithoutDelete) and ``disable`` (capabilities to switch off, like ``--disable``).

Metadata (-M): any string keys and values, kept with a file or folder as given on upload
(``PutInfo.metadata``) or by ``set_metadata`` (merged into what is there), and returned by
``metadata``.  rclone's memory backend has none; ours has it so that metadata round trips (and
-M between backends) can be tested without a real file system.

md5 is computed when a file is written and returned in listings (free); sha1 is computed on
demand and cached.  Modtimes are stored truncated to the configured precision, which is what a
real backend of that precision would hand back.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

from cloudsync.backend import CAPABILITIES, Backend, Features, Readable
from cloudsync.errors import (
    CantSetModTime,
    CantSetModTimeWithoutDelete,
    ConfigError,
    CorruptedTransfer,
    DirectoryNotEmpty,
    DirExists,
    DirNotFound,
    HashUnsupported,
    IsDirError,
    IsFileError,
    NameNotSupported,
    ObjectNotFound,
)
from cloudsync.hashing import CHUNK_SIZE, SUPPORTED, hasher
from cloudsync.history import HISTORY_OPTIONS, wrap_history
from cloudsync.options import BackendSpec, Option, parse_duration
from cloudsync.types import MD5, MODTIME_UNSUPPORTED, SHA1, Entry, PutInfo, Usage

from .memory_history import HistoryStore, Key, MemoryHistory

if TYPE_CHECKING:
    from cloudsync.options import ConfigAccess

__all__ = ["SPEC", "MemoryBackend", "reset"]


@dataclass
class _File:
    data: bytes
    mtime_ns: int
    hashes: dict[str, str] = field(default_factory=dict)
    mime_type: str | None = None
    metadata: dict[str, str] | None = None


@dataclass
class _Dir:
    mtime_ns: int
    #: child name -> node; a dict keeps insertion order, which makes listings stable.
    children: dict[str, _File | _Dir] = field(default_factory=dict)
    metadata: dict[str, str] | None = None


_history = HistoryStore()
# One lock for the tree and its history, so a version is recorded with the write it describes.
_lock = _history.lock
_top = _Dir(0)


def reset() -> None:
    """Forget everything every memory backend of this process has stored (test helper)."""
    global _top
    with _lock:
        _top = _Dir(time.time_ns())
        _history.clear()


def _split(path: str) -> list[str]:
    return [p for p in path.split("/") if p]


class MemoryBackend(MemoryHistory, Backend):
    type_name = "memory"
    history = _history

    def __init__(
        self,
        name: str = ":memory",
        root: str = "",
        *,
        precision_ns: int = 1,
        hashes: frozenset[str] = frozenset({MD5, SHA1}),
        case_insensitive: bool = False,
        set_modtime: str = "true",
        disable: tuple[str, ...] = (),
    ) -> None:
        bad = set(hashes) - SUPPORTED
        if bad:
            raise ConfigError(f"memory backend cannot compute hash types {sorted(bad)}")
        if set_modtime not in ("true", "false", "without_delete"):
            raise ConfigError(f"bad set_modtime value {set_modtime!r}")
        features = Features(
            hashes=frozenset(hashes),
            precision_ns=precision_ns,
            case_insensitive=case_insensitive,
            can_have_empty_dirs=True,
            read_mime_type=True,
            # NUL is refused (NameNotSupported) to behave like every real file system.
            restricted_chars="\x00",
            # One global store: every memory backend can reach every other one's data.
            server_side_across_configs=True,
        )
        super().__init__(name, "/".join(_split(root)), features)
        self._root_parts = _split(root)
        self._set_modtime_mode = set_modtime
        if set_modtime != "true":
            self.disable("set_modtime")
        if disable:
            self.disable(*disable)

    def __str__(self) -> str:
        return f"Memory root '{self.root}'"

    # ------------------------------------------------------------------ store access
    def _parts(self, path: str) -> list[str]:
        if "\x00" in path:
            # Not a storage limit, but nothing else can hold it either; refuse consistently.
            raise NameNotSupported("name contains NUL", path=path)
        parts = path.split("/") if path else []
        if any(not p for p in parts):
            raise NameNotSupported("empty path element", path=path)
        return self._root_parts + parts

    def _child(self, d: _Dir, name: str) -> tuple[str, _File | _Dir] | None:
        node = d.children.get(name)
        if node is not None:
            return name, node
        if self.features.case_insensitive:
            folded = name.casefold()
            for existing, child in d.children.items():
                if existing.casefold() == folded:
                    return existing, child
        return None

    def _lookup(self, parts: list[str]) -> _File | _Dir | None:
        node: _File | _Dir = _top
        for name in parts:
            if not isinstance(node, _Dir):
                return None
            found = self._child(node, name)
            if found is None:
                return None
            node = found[1]
        return node

    def _dir_for_write(self, parts: list[str], path: str) -> _Dir:
        """The directory ``parts``, created with its parents; IsFileError if a file is in the way."""
        node = _top
        now = time.time_ns()
        for name in parts:
            found = self._child(node, name)
            if found is None:
                new = _Dir(now)
                node.children[name] = new
                node = new
            elif isinstance(found[1], _Dir):
                node = found[1]
            else:
                raise IsFileError("a parent is a file not a directory", path=path)
        return node

    def _get_dir(self, path: str) -> _Dir:
        node = self._lookup(self._parts(path))
        if node is None:
            raise DirNotFound(path=path or self.root)
        if not isinstance(node, _Dir):
            raise IsFileError(path=path or self.root)
        return node

    def _get_file(self, path: str) -> _File:
        node = self._lookup(self._parts(path))
        if node is None:
            raise ObjectNotFound(path=path)
        if isinstance(node, _Dir):
            raise IsDirError(path=path)
        return node

    def _key(self, parts: list[str]) -> Key:
        return tuple(parts)

    @staticmethod
    def _clone(node: _File) -> _File:
        return _File(node.data, node.mtime_ns, dict(node.hashes), node.mime_type,
                     dict(node.metadata) if node.metadata else None)

    def _record_tree(self, parts: list[str], node: _File | _Dir) -> None:
        """History of a removed subtree: every file under it was deleted now."""
        if isinstance(node, _File):
            _history.record(tuple(parts), None)
            return
        for name, child in node.children.items():
            self._record_tree([*parts, name], child)

    def _entry(self, path: str, node: _File | _Dir) -> Entry:
        if isinstance(node, _Dir):
            return Entry(path, True, -1, node.mtime_ns)
        hashes = {t: h for t, h in node.hashes.items() if t in self.features.hashes}
        return Entry(path, False, len(node.data), node.mtime_ns, hashes, node.mime_type)

    def _truncate(self, mtime_ns: int) -> int:
        p = self.features.precision_ns
        if p >= MODTIME_UNSUPPORTED:
            # Cannot store modtimes: report the upload time, as such backends do.
            return time.time_ns()
        return mtime_ns - mtime_ns % p

    # ------------------------------------------------------------------ required contract
    def list(self, path: str) -> list[Entry]:
        prefix = path + "/" if path else ""
        with _lock:
            d = self._get_dir(path)
            return [self._entry(prefix + name, node) for name, node in d.children.items()]

    def list_recursive(self, path: str) -> Iterator[Entry]:
        # Snapshot under the lock so concurrent writers cannot break the iteration.
        with _lock:
            out: list[Entry] = []
            stack = [(path, self._get_dir(path))]
            while stack:
                rel, d = stack.pop()
                prefix = rel + "/" if rel else ""
                for name, node in d.children.items():
                    out.append(self._entry(prefix + name, node))
                    if isinstance(node, _Dir):
                        stack.append((prefix + name, node))
        return iter(out)

    def stat(self, path: str) -> Entry:
        with _lock:
            node = self._lookup(self._parts(path))
            if node is None:
                raise ObjectNotFound(path=path)
            return self._entry(path, node)

    def put(self, path: str, stream: Readable, info: PutInfo) -> Entry:
        if not path:
            raise IsDirError("cannot write a file at the root", path=self.root)
        parts = self._parts(path)
        # Read outside the lock: the source may be slow (a network download).
        chunks = []
        size = 0
        want_md5 = MD5 in self.features.hashes
        md5 = hasher(MD5) if want_md5 else None
        while True:
            data = stream.read(CHUNK_SIZE)
            if not data:
                break
            if md5 is not None:
                md5.update(data)
            chunks.append(data)
            size += len(data)
        if 0 <= info.size != size:
            raise CorruptedTransfer(f"source delivered {size} bytes, expected {info.size}", path=path)
        hashes = {MD5: md5.hexdigest()} if md5 is not None else {}
        for t, expected in info.hashes.items():
            if t in hashes and expected and hashes[t] != expected.lower():
                raise CorruptedTransfer(f"{t} differ: source {expected}, written {hashes[t]}",
                                        path=path)
        mtime = self._truncate(info.mtime_ns if info.mtime_ns is not None else time.time_ns())
        node = _File(b"".join(chunks), mtime, hashes, info.mime_type,
                     dict(info.metadata) if info.metadata else None)
        with _lock:
            parent = self._dir_for_write(parts[:-1], path)
            found = self._child(parent, parts[-1])
            name = parts[-1]
            if found is not None:
                if isinstance(found[1], _Dir):
                    raise IsDirError(path=path)
                name = found[0]  # a case-insensitive store keeps the existing spelling
            parent.children[name] = node
            _history.record((*parts[:-1], name), node)
            return self._entry(path, node)

    def get(self, path: str, start: int = 0, end: int | None = None) -> BinaryIO:
        with _lock:
            data = self._get_file(path).data
        stop = len(data) if end is None else min(end, len(data))
        start = max(0, start)
        # bytes are immutable: a later overwrite does not disturb an open reader.
        return io.BytesIO(data[start:stop] if start < stop else b"")

    def hash(self, path: str, hash_type: str) -> str:
        if hash_type not in self.features.hashes:
            raise HashUnsupported(f"memory backend configured without {hash_type!r}", path=path)
        with _lock:
            node = self._get_file(path)
            known = node.hashes.get(hash_type)
            data = node.data
        if known is None:
            h = hasher(hash_type)
            h.update(data)
            known = h.hexdigest()
            with _lock:
                if node.data is data:
                    node.hashes[hash_type] = known
        return known

    def delete(self, path: str) -> None:
        self._remove_file(path, to_trash=True)

    def _remove_file(self, path: str, *, to_trash: bool) -> None:
        parts = self._parts(path)
        with _lock:
            parent = self._lookup(parts[:-1]) if parts else None
            found = self._child(parent, parts[-1]) if isinstance(parent, _Dir) and parts else None
            if found is None:
                raise ObjectNotFound(path=path)
            if isinstance(found[1], _Dir):
                raise IsDirError(path=path)
            del parent.children[found[0]]  # type: ignore[union-attr]
            key = (*parts[:-1], found[0])
            _history.record(key, None)
            if to_trash:
                _history.put_trash(key, found[1])

    def mkdir(self, path: str) -> None:
        parts = self._parts(path)
        with _lock:
            self._dir_for_write(parts, path or self.root)

    def _detach_dir(self, path: str, *, must_be_empty: bool, to_trash: bool = True) -> _Dir:
        parts = self._parts(path)
        with _lock:
            if not parts:
                raise DirNotFound("cannot remove the top of the memory store", path=path)
            parent = self._lookup(parts[:-1])
            found = self._child(parent, parts[-1]) if isinstance(parent, _Dir) else None
            if found is None:
                raise DirNotFound(path=path or self.root)
            if not isinstance(found[1], _Dir):
                raise IsFileError(path=path or self.root)
            if must_be_empty and found[1].children:
                raise DirectoryNotEmpty(path=path or self.root)
            del parent.children[found[0]]  # type: ignore[union-attr]
            key = [*parts[:-1], found[0]]
            self._record_tree(key, found[1])
            if to_trash:
                _history.put_trash(tuple(key), found[1])
            return found[1]

    def rmdir(self, path: str) -> None:
        self._detach_dir(path, must_be_empty=True)

    def about(self) -> Usage:
        objects = used = 0
        with _lock:
            stack = [_top]
            while stack:
                d = stack.pop()
                for node in d.children.values():
                    if isinstance(node, _Dir):
                        stack.append(node)
                    else:
                        objects += 1
                        used += len(node.data)
        return Usage(used=used, objects=objects, trashed=self.trashed_size())

    # ------------------------------------------------------------------ optional capabilities
    def _source(self, src: Backend, src_path: str) -> tuple[MemoryBackend, _File]:
        if not isinstance(src, MemoryBackend):
            raise TypeError(f"server-side operation from {src} into {self}")
        return src, src._get_file(src_path)

    def copy(self, src: Backend, src_path: str, dst_path: str) -> Entry:
        with _lock:
            _, node = self._source(src, src_path)
            return self._place(dst_path, self._clone(node))

    def _place(self, dst_path: str, node: _File) -> Entry:
        parts = self._parts(dst_path)
        if not parts:
            raise IsDirError(path=self.root)
        parent = self._dir_for_write(parts[:-1], dst_path)
        found = self._child(parent, parts[-1])
        name = parts[-1]
        if found is not None:
            if isinstance(found[1], _Dir):
                raise IsDirError(path=dst_path)
            name = found[0]
        parent.children[name] = node
        _history.record((*parts[:-1], name), node)
        return self._entry(dst_path, node)

    def move(self, src: Backend, src_path: str, dst_path: str) -> Entry:
        with _lock:
            source, node = self._source(src, src_path)
            entry = self._place(dst_path, node)
            if self._lookup(source._parts(src_path)) is node:  # not a move onto itself
                source._remove_file(src_path, to_trash=False)
                # Moving onto itself under a different case: put it back under the new name.
                if self._lookup(self._parts(dst_path)) is None:
                    self._place(dst_path, node)
            return entry

    def dir_move(self, src: Backend, src_path: str, dst_path: str) -> None:
        if not isinstance(src, MemoryBackend):
            raise TypeError(f"server-side operation from {src} into {self}")
        with _lock:
            if self._lookup(self._parts(dst_path)) is not None:
                raise DirExists(path=dst_path or self.root)
            src_parts = src._parts(src_path)
            dst_parts = self._parts(dst_path)
            if dst_parts[: len(src_parts)] == src_parts:
                raise DirExists("cannot move a directory into itself", path=dst_path)
            node = src._detach_dir(src_path, must_be_empty=False, to_trash=False)
            try:
                parent = self._dir_for_write(dst_parts[:-1], dst_path)
            except BaseException:
                src._dir_for_write(src_parts[:-1], src_path).children[src_parts[-1]] = node
                raise
            parent.children[dst_parts[-1]] = node
            for sub, child in _walk_files(node, dst_parts):
                _history.record(sub, child)

    def purge(self, path: str) -> None:
        self._detach_dir(path, must_be_empty=False)

    def set_modtime(self, path: str, mtime_ns: int) -> Entry:
        if self._set_modtime_mode == "false":
            raise CantSetModTime(path=path)
        if self._set_modtime_mode == "without_delete":
            raise CantSetModTimeWithoutDelete(path=path)
        with _lock:
            node = self._get_file(path)
            node.mtime_ns = self._truncate(mtime_ns)
            return self._entry(path, node)

    def set_dir_modtime(self, path: str, mtime_ns: int) -> None:
        with _lock:
            self._get_dir(path).mtime_ns = self._truncate(mtime_ns)

    def metadata(self, path: str) -> dict[str, str]:
        with _lock:
            node = self._lookup(self._parts(path))
            if node is None:
                raise ObjectNotFound(path=path)
            return dict(node.metadata or {})

    def set_metadata(self, path: str, metadata: dict[str, str]) -> None:
        with _lock:
            node = self._lookup(self._parts(path))
            if node is None:
                raise ObjectNotFound(path=path)
            node.metadata = {**(node.metadata or {}), **metadata}


def _walk_files(d: _Dir, parts: list[str]) -> Iterator[tuple[Key, _File]]:
    for name, child in d.children.items():
        if isinstance(child, _File):
            yield (*parts, name), child
        else:
            yield from _walk_files(child, [*parts, name])


# ---------------------------------------------------------------------------- registration
def _parse_precision(text: str) -> int:
    t = text.strip().lower()
    if t in ("off", "none", "unsupported"):
        return MODTIME_UNSUPPORTED
    if t.endswith("ns") and t[:-2].isdigit():
        value = int(t[:-2])  # exact: parse_duration's float would round large values
    else:
        value = round(parse_duration(t) * 1_000_000_000)
    if value <= 0:
        raise ValueError(f"precision must be positive: {text!r}")
    return value


def _factory(name: str, root: str, options: Mapping[str, Any],
             config: ConfigAccess | None) -> Backend:
    try:
        precision = _parse_precision(str(options.get("precision") or "1ns"))
    except ValueError as exc:
        raise ConfigError(f"bad value for memory option 'precision': {exc}") from None
    raw_hashes = options.get("hashes")
    hashes = frozenset(
        h.strip().lower() for h in str("md5,sha1" if raw_hashes is None else raw_hashes).split(",")
        if h.strip())
    disable = tuple(c.strip() for c in str(options.get("disable") or "").split(",") if c.strip())
    unknown = [c for c in disable if c not in CAPABILITIES]
    if unknown:
        raise ConfigError(f"memory option 'disable': unknown capabilities {unknown}")
    backend = MemoryBackend(
        name or ":memory",
        root,
        precision_ns=precision,
        hashes=hashes,
        case_insensitive=bool(options.get("case_insensitive", False)),
        set_modtime=str(options.get("set_modtime") or "true").lower(),
        disable=disable,
    )
    return wrap_history(backend, options)


SPEC = BackendSpec(
    name="memory",
    description="In memory object storage system.",
    factory=_factory,
    options=(
        Option("precision", "Modtime precision to emulate (1ns, 1ms, 1s, off).", default="1ns",
               advanced=True, hidden=True),
        Option("hashes", "Hash types to support, comma separated (md5, sha1; may be empty).",
               default="md5,sha1", advanced=True, hidden=True),
        Option("case_insensitive", "Match names case-insensitively.", default=False,
               kind="bool", advanced=True, hidden=True),
        Option("set_modtime", "Whether modtimes can be changed in place.", default="true",
               advanced=True, hidden=True, exclusive=True,
               examples=(("true", "set in place"),
                         ("false", "CantSetModTime: re-upload"),
                         ("without_delete", "CantSetModTimeWithoutDelete: delete, re-upload"))),
        Option("disable", "Capabilities to switch off, comma separated (copy,move,…).",
               default="", advanced=True, hidden=True),
        *HISTORY_OPTIONS,
    ),
)
