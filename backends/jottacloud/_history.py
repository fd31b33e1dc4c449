"""JottaCloud file versions and trash: the ``versions`` and ``trash`` capabilities.

A mixin of :class:`~.backend.JottaBackend` (kept apart from the file operations, as rclone
splits a backend by job).  What the protocol gives (reference §3.2, §5):

* a file document lists ``currentRevision`` (newest COMPLETED), ``latestRevision`` (a newer
  INCOMPLETE or CORRUPT upload) and ``revisions`` (older ones, newest first); each revision has
  ``number``, ``size``, ``md5``, ``modified`` and ``updated`` (when it was stored);
* ``mode=bin&revision=N`` downloads an older revision;
* a trashed file or folder stays at its path as a tombstone with ``deleted="<time>"``, so folder
  listings show what was deleted and when; ``/Jotta/Trash`` lists every trashed top item with
  its original parent in ``<abspath>``;
* ``cphash`` with a size and md5 makes that content current at a path when the server holds it.

Choices where the reference marks behaviour unverified (the offline server behaves the same):

1. *Making an old version current* (or restoring from the trash) first asks ``cphash`` at the
   target with the old size, md5 and times: one request, no bytes, and the server adds the
   content as a new revision (restoring a tombstone in place).  Only if it answers 404 ("send
   the bytes") are they streamed from ``mode=bin&revision=N`` into an ordinary upload.  The
   replaced content stays as an older revision; ``?restore=true`` is not used (answers 500).
2. *A folder restored from the trash* brings back what was trashed with it (every tombstone
   below it deleted at or after the folder itself); items trashed earlier stay in the trash, as
   they were already gone when the folder was deleted.  Folders left empty are revived with
   ``mkDir``.
3. *Removing one item from the trash for good* is ``rm=true`` (a file) or ``rmDir=true`` (a
   folder) on the tombstone's path.
4. *A past moment* is resolved with one folder request per folder (tombstones carry their
   deletion time) and one file request only for files stored again after that moment.  JFS
   times have one-second precision, and the server forgets when a since re-created file had
   been deleted: between that deletion and the re-creation such a file shows its last version.
"""

from __future__ import annotations

import builtins
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from cloudsync.backend import Backend
from cloudsync.errors import (
    AlreadyExists,
    IsDirError,
    IsFileError,
    NoRetryError,
    ObjectNotFound,
    ProtocolError,
)
from cloudsync.history import COMPLETED, TrashItem, Version, pick_version
from cloudsync.types import MD5, Entry, PutInfo, join_path

from . import _api
from ._http import HttpNotFound

if TYPE_CHECKING:
    from .backend import JottaBackend

__all__ = ["HistoryCapabilities", "JottaHistory"]

#: Parallel cphash requests when restoring a folder (the engine's default --transfers).
RESTORE_WORKERS = 4
_DIR_VERSION = Version("", -1, None, "", 0)


def _version(rev: _api.Revision, current: bool) -> Version:
    return Version(
        id=str(rev.number) if rev.number is not None else "",
        size=rev.size if rev.size is not None else -1,
        mtime_ns=rev.modified_ns,
        md5=rev.md5,
        stored_ns=rev.updated_ns or 0,
        state=rev.state or COMPLETED,
        current=current,
    )


def _all_versions(f: _api.JottaFile) -> builtins.list[Version]:
    out: builtins.list[Version] = []
    if f.latest is not None:
        out.append(_version(f.latest, False))
    if f.current is not None:
        out.append(_version(f.current, not f.deleted))
    out.extend(_version(r, False) for r in f.revisions)
    out.sort(key=lambda v: int(v.id) if v.id.isdigit() else -1, reverse=True)
    return out


class JottaHistory:
    """Versions and trash over the JFS documents of one :class:`~.backend.JottaBackend`."""

    def __init__(self, backend: JottaBackend) -> None:
        self.b = backend

    # ------------------------------------------------------------------ documents
    def _doc(self, path: str) -> Any:
        try:
            return self.b._node(self.b._full(path))
        except HttpNotFound:
            raise ObjectNotFound(path=path or "/") from None

    def _file_doc(self, path: str) -> _api.JottaFile:
        node = self._doc(path)
        if isinstance(node, _api.JottaFolder):
            raise IsDirError(path=path)
        if not isinstance(node, _api.JottaFile):
            raise ProtocolError("file document expected", path=path)
        return node

    # ------------------------------------------------------------------ versions
    def versions(self, path: str) -> builtins.list[Version]:
        return _all_versions(self._file_doc(path))

    def open_version(self, path: str, version_id: str, start: int = 0,
                     end: int | None = None) -> BinaryIO:
        if not version_id.isdigit():
            raise ObjectNotFound(f"version {version_id} not found", path=path)
        # One request: the server serves only COMPLETED revisions and answers 404 otherwise.
        return self.b._open_file(path, -1, start, end, revision=version_id)

    def _pick(self, path: str, version_id: str) -> tuple[_api.JottaFile, Version]:
        f = self._file_doc(path)
        for v in _all_versions(f):
            if v.id == version_id:
                if not v.restorable:
                    raise NoRetryError(
                        f"version {version_id} is {v.state} (its upload never completed) and "
                        "cannot be restored", path=path)
                return f, v
        raise ObjectNotFound(f"version {version_id} not found", path=path,
                             hint="'cloudsync versions' lists the versions of a file")

    def restore_version(self, path: str, version_id: str,
                        to: str | None = None) -> Entry:
        f, v = self._pick(path, version_id)
        target = path if to is None else to
        if to is None and v.current:
            return self.b._file_entry(path, f)
        return self._bring_back(path, target, v)

    def _bring_back(self, source: str, target: str, v: Version) -> Entry:
        """Make content ``v`` of ``source`` current at ``target``: cphash, else stream it."""
        self.b._check_name(target)
        mtime = v.mtime_ns if v.mtime_ns is not None else v.stored_ns
        try:
            return self.b._cphash(target, v.size, v.md5, mtime, None)
        except ObjectNotFound:
            pass  # the server wants the bytes
        stream = self.b._open_file(source, v.size, 0, None, revision=v.id or None)
        try:
            return self.b.put(target, stream, PutInfo(size=v.size, mtime_ns=mtime, hashes={MD5: v.md5}))
        finally:
            stream.close()

    def list_at(self, path: str, at_ns: int) -> builtins.list[tuple[Entry, Version]]:
        full = self.b._full(path)
        try:
            node = self.b._node(full)
        except HttpNotFound as exc:
            raise self.b._dir_not_found(exc, full) from None
        if isinstance(node, _api.JottaFile):
            raise IsFileError(path=path)
        if not isinstance(node, _api.JottaFolder):
            raise ProtocolError("unexpected document in a listing", path=path)
        out: builtins.list[tuple[Entry, Version]] = []
        for sub in node.folders:
            if sub.deleted_ns is not None and sub.deleted_ns <= at_ns:
                continue
            out.append((Entry(join_path(path, self.b.encoder.decode(sub.name)), True), _DIR_VERSION))
        for f in node.files:
            if f.deleted_ns is not None and f.deleted_ns <= at_ns:
                continue
            rel = join_path(path, self.b.encoder.decode(f.name))
            cur = f.current
            if cur is None or cur.state != COMPLETED:
                continue
            if cur.updated_ns is not None and cur.updated_ns <= at_ns:
                v: Version | None = _version(cur, not f.deleted)
            elif cur.number == 1:
                continue  # its first revision came later: the file did not exist yet
            else:
                v = pick_version(self.versions(rel), at_ns)
            if v is not None:
                out.append((Entry(rel, False, v.size, v.mtime_ns, {MD5: v.md5} if v.md5 else {}), v))
        return out

    # ------------------------------------------------------------------ trash
    def _trash_view(self) -> _api.JottaFolder:
        node = self.b.http.get_node(
            self.b.endpoints.jfs_url + self._q_user() + "/Jotta/Trash", path="Trash"
        )
        if not isinstance(node, _api.JottaFolder):
            raise ProtocolError("trash listing expected")
        return node

    def _q_user(self) -> str:
        from .backend import _q

        return _q(self.b.username)

    def _origin(self, abspath: str | None, name: str, below: str) -> str | None:
        """Path relative to our root of a trashed item, if it lies below ``below``."""
        if abspath is None:
            return None
        base = f"/{self.b.username}/{self.b.device}/{self.b.mountpoint}"
        prefix = base + ("/" + self.b._enc(self.b._full(below)) if self.b._full(below) else "")
        original = abspath.rstrip("/") + "/" + name
        key, pkey = original.casefold(), prefix.casefold()
        if not key.startswith(pkey + "/"):
            return None
        root = base + ("/" + self.b._enc(self.b.root) if self.b.root else "")
        return self.b.encoder.decode_path(original[len(root) + 1:])

    def _file_item(self, rel: str, f: _api.JottaFile) -> TrashItem:
        rev = f.current or f.latest
        return TrashItem(rel, False, rev.size if rev and rev.size is not None else -1,
                         rev.md5 if rev else "", rev.modified_ns if rev else None, f.deleted_ns)

    def trash(self, path: str, recursive: bool = False) -> builtins.list[TrashItem]:
        view = self._trash_view()
        out: builtins.list[TrashItem] = []
        for d in view.folders:
            rel = self._origin(d.abspath, d.name, path)
            if rel is None:
                continue
            out.append(TrashItem(rel, True, deleted_ns=d.deleted_ns))
            if recursive:
                out.extend(item for item, _ in self._walk_trashed(rel, None))
        for f in view.files:
            rel = self._origin(f.abspath, f.name, path)
            if rel is not None:
                out.append(self._file_item(rel, f))
        return out

    def _walk_trashed(self, top: str,
                      cutoff: int | None) -> builtins.list[tuple[TrashItem, _api.JottaFile | None]]:
        """Tombstones below trashed folder ``top`` deleted at or after ``cutoff``: one folder
        request per folder."""
        out: builtins.list[tuple[TrashItem, _api.JottaFile | None]] = []
        stack = [top]
        while stack:
            rel = stack.pop()
            node = self._doc(rel)
            if not isinstance(node, _api.JottaFolder):
                continue
            for sub in node.folders:
                if not sub.deleted or (cutoff is not None and (sub.deleted_ns or 0) < cutoff):
                    continue
                sub_rel = join_path(rel, self.b.encoder.decode(sub.name))
                out.append((TrashItem(sub_rel, True, deleted_ns=sub.deleted_ns), None))
                stack.append(sub_rel)
            for f in node.files:
                if not f.deleted or (cutoff is not None and (f.deleted_ns or 0) < cutoff):
                    continue
                out.append((self._file_item(join_path(rel, self.b.encoder.decode(f.name)), f), f))
        return out

    def restore_trash(self, path: str, to: str | None = None) -> builtins.list[Entry]:
        node = self._doc(path)
        if to is not None:
            try:
                self.b.stat(to)
            except ObjectNotFound:
                pass
            else:
                raise AlreadyExists("something already lives at the --to path; nothing was restored",
                                    path=to, hint="choose a path that does not exist yet")

        def target(rel: str) -> str:
            return rel if to is None else join_path(to, rel[len(path):].lstrip("/"))

        if isinstance(node, _api.JottaFile):
            if not node.deleted:
                raise ObjectNotFound("not in the trash (a live file is at this path)", path=path,
                                     hint="'cloudsync trash ls' shows what the trash holds")
            item = self._file_item(path, node)
            return [self._restore_file(path, target(path), item)]
        if not isinstance(node, _api.JottaFolder):
            raise ProtocolError("unexpected document", path=path)
        folders: builtins.list[str] = []
        files: builtins.list[tuple[str, TrashItem]] = []
        if node.deleted:
            folders.append(path)
            for item, _ in self._walk_trashed(path, node.deleted_ns):
                (folders.append(item.path) if item.is_dir else files.append((item.path, item)))
        else:
            # A live folder: bring back every trashed item below it (its own walk for folders).
            tops = self.trash(path)
            if not tops:
                raise ObjectNotFound("nothing below this folder is in the trash", path=path)
            for top in tops:
                if top.is_dir:
                    folders.append(top.path)
                    for item, _ in self._walk_trashed(top.path, top.deleted_ns):
                        (folders.append(item.path) if item.is_dir else files.append((item.path, item)))
                else:
                    files.append((top.path, top))
        with ThreadPoolExecutor(max_workers=RESTORE_WORKERS) as pool:
            restored = builtins.list(pool.map(lambda f: self._restore_file(f[0], target(f[0]), f[1]), files))
        # Folders that got no file back are revived (or created at --to) explicitly.
        filled = {e.path.rsplit("/", 1)[0] if "/" in e.path else "" for e in restored}
        for d in folders:
            t = target(d)
            if not any(p == t or p.startswith(t + "/") for p in filled):
                self.b.mkdir(t)
        return restored

    def _restore_file(self, source: str, target: str, item: TrashItem) -> Entry:
        if item.size < 0 or not item.md5:
            raise NoRetryError("trashed file never completed its upload; cannot restore", path=source)
        v = Version("", item.size, item.mtime_ns, item.md5, item.mtime_ns or 0)
        return self._bring_back(source, target, v)

    def remove_trash(self, path: str) -> None:
        node = self._doc(path)
        deleted = getattr(node, "deleted", False)
        if not deleted:
            if isinstance(node, _api.JottaFolder):
                tops = self.trash(path)
                if not tops:
                    raise ObjectNotFound("nothing below this folder is in the trash", path=path)
                for top in tops:
                    self.remove_trash(top.path)
                return
            raise ObjectNotFound("not in the trash (a live file is at this path)", path=path)
        param = "rm" if isinstance(node, _api.JottaFile) else "rmDir"
        try:
            self.b.http.request("POST", self.b._url(self.b._full(path)), params={param: "true"}, path=path)
        except HttpNotFound:
            raise ObjectNotFound(path=path) from None

    def trashed_total(self) -> int:
        """Bytes in the trash below our root (one Trash request plus one per trashed folder)."""
        return sum(max(i.size, 0) for i in self.trash("", recursive=True) if not i.is_dir)



class HistoryCapabilities(Backend):
    """The capability methods of ``JottaBackend``, forwarded to its :class:`JottaHistory`."""

    @property
    def _history(self) -> JottaHistory:
        impl: JottaHistory | None = self.__dict__.get("_history_impl")
        if impl is None:
            impl = self.__dict__["_history_impl"] = JottaHistory(cast("JottaBackend", self))
        return impl

    def versions(self, path: str) -> builtins.list[Version]:
        return self._history.versions(path)

    def open_version(self, path: str, version_id: str, start: int = 0,
                     end: int | None = None) -> BinaryIO:
        return self._history.open_version(path, version_id, start, end)

    def restore_version(self, path: str, version_id: str, to: str | None = None) -> Entry:
        return self._history.restore_version(path, version_id, to)

    def list_at(self, path: str, at_ns: int) -> builtins.list[tuple[Entry, Version]]:
        return self._history.list_at(path, at_ns)

    def trash(self, path: str, recursive: bool = False) -> builtins.list[TrashItem]:
        return self._history.trash(path, recursive)

    def restore_trash(self, path: str, to: str | None = None) -> builtins.list[Entry]:
        return self._history.restore_trash(path, to)

    def remove_trash(self, path: str) -> None:
        self._history.remove_trash(path)

    def trashed_total(self) -> int:
        return self._history.trashed_total()
