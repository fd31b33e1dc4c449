"""The local file system backend.

Design notes (the *why*; the contract itself is in :mod:`cloudsync.backend`):

* **Atomic writes.**  ``put`` streams into ``.<name>.<crc32 of name>.partial`` in the
  destination directory, counts and hashes the bytes, sets the modtime, fsyncs and only then
  ``os.replace``\\ s the temp file over the destination name.  Any failure (the source stream
  raising, a short stream, a hash mismatch, a full disk) removes the temp file, so nothing half
  written is ever visible under the real name and an existing file stays as it was.
* **Leftovers of a killed run** are found again: the temp name is derived from the final name
  (as rclone's ``name.<crc32>.partial``), and a writer holds an ``flock`` on its temp file
  until it has renamed it.  The next write of that file adopts an unlocked leftover
  (truncates and reuses it); listings never show temp files and note the unlocked ones, which
  :meth:`LocalBackend.remove_leftovers` deletes at the end of a copy, sync or move.  A temp
  file locked by a live writer is left alone (a second writer of the same file then uses a
  unique name).
* **Hashes** are not free on a local disk, so listings carry none; ``hash`` reads the file
  (1 MiB chunks).  ``put`` hashes while writing and returns the digests in the new entry so the
  engine can verify a transfer without reading the file back.
* **Precision** is probed once per file system (device) and process, lazily, by setting an odd
  nanosecond modtime on a throw-away file and reading it back.  The same probe detects a
  case-insensitive file system.
* **Symlinks** are skipped in listings with a NOTICE unless ``copy_links`` (``-L``) follows
  them (``skip_links`` skips them silently).  Other special files (FIFOs, sockets, devices)
  are always skipped: reading a FIFO could block for ever.
* **Errors** are translated to :mod:`cloudsync.errors` with the path: an unreadable directory
  makes ``list`` raise PermissionDenied (the engine then counts an error and deletes nothing),
  an unreadable file fails only that file's ``get``.
"""

from __future__ import annotations

import contextlib
import errno
import io
import itertools
import logging
import os
import stat as statmod
import sys
import threading
import zlib
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from cloudsync.backend import Backend, Features, Readable
from cloudsync.errors import (
    AlreadyExists,
    CantCopy,
    CantDirMove,
    CantMove,
    CloudsyncError,
    CorruptedTransfer,
    DirectoryNotEmpty,
    DirExists,
    DirNotFound,
    HashUnsupported,
    IsDirError,
    IsFileError,
    NameNotSupported,
    NoRetryError,
    ObjectNotFound,
    PartialListing,
    PermissionDenied,
    QuotaExceeded,
)
from cloudsync.hashcache import cached_file_hash, file_hash
from cloudsync.hashing import CHUNK_SIZE, HashingReader, MultiHasher
from cloudsync.log import go_quote, notice
from cloudsync.options import BackendSpec, Option
from cloudsync.types import MD5, SHA1, Entry, PutInfo, Usage

if TYPE_CHECKING:
    from cloudsync.options import ConfigAccess

    from .local_helpers import AheadLister, CopyJob, CopySettings

__all__ = ["SPEC", "LocalBackend"]

log = logging.getLogger(__name__)

_SECOND = 1_000_000_000
_HASHES = frozenset({MD5, SHA1})

# Characters no name can contain on this platform ("/" is the path separator everywhere and
# never reaches a backend inside a name).
if sys.platform == "win32":  # pragma: no cover - Linux/macOS are what we test
    _RESTRICTED = '\x00\\:*?"<>|' + "".join(chr(c) for c in range(1, 32))
else:
    _RESTRICTED = "\x00"


# ---------------------------------------------------------------------------- probing
_probe_lock = threading.Lock()
#: st_dev -> (precision_ns, case_insensitive); one probe per file system per process.
_probe_cache: dict[int, tuple[int, bool]] = {}

#: An odd second with a non-zero digit in every sub-second place, so that truncation to any
#: power of ten (and FAT's 2 s) is visible in what the file system hands back.
_PROBE_NS = 1_600_000_001_123_456_789


def _existing_ancestor(path: str) -> str:
    while not os.path.isdir(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def _precision_from(stored: int) -> int:
    if stored == _PROBE_NS:
        return 1
    for p in (10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000,
              _SECOND, 2 * _SECOND):
        # Truncated (most file systems) or rounded to the nearest unit (integer maths: a float
        # cannot hold a nanosecond timestamp exactly).
        if stored in (_PROBE_NS - _PROBE_NS % p, (_PROBE_NS + p // 2) // p * p):
            return p
    return _SECOND


def _probe(directory: str) -> tuple[int, bool]:
    """(precision_ns, case_insensitive) of the file system holding ``directory``.

    The probe file goes to the system temp dir when that is on the same file system, so the
    user's directories are not touched at all (the root may be a *source*, whose directory
    mtimes a copy must leave alone).  Otherwise it goes into ``directory`` and that
    directory's times are put back afterwards.
    """
    default = (_SECOND, sys.platform in ("darwin", "win32"))
    try:
        dev = os.stat(directory).st_dev
    except OSError:
        return default
    with _probe_lock:
        cached = _probe_cache.get(dev)
        if cached is not None:
            return cached
        result = default
        import tempfile  # (here: a listing never probes, and tempfile costs start-up time)

        for where in (tempfile.gettempdir(), directory):
            try:
                before = os.stat(where)
                if before.st_dev != dev:
                    continue
                fd, name = tempfile.mkstemp(prefix=".cloudsync-probe-", dir=where)
            except OSError:
                continue  # read-only or not ours: try the next place, else assume the default
            try:
                os.close(fd)
                os.utime(name, ns=(_PROBE_NS, _PROBE_NS))
                precision = _precision_from(os.stat(name).st_mtime_ns)
                folded = os.path.join(where, os.path.basename(name).upper())
                insensitive = os.path.exists(folded)
                result = (precision, insensitive)
            except OSError:
                pass
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(name)
                if where == directory:
                    with contextlib.suppress(OSError):
                        os.utime(where, ns=(before.st_atime_ns, before.st_mtime_ns))
            break
        _probe_cache[dev] = result
        return result


# ---------------------------------------------------------------------------- helpers
def _partial_suffix(text: str) -> str:
    if not text:
        # rclone allows it; here the suffix is how temporary files are recognised (and
        # cleaned up), so without one a user's file could be taken for a leftover
        raise ValueError("cloudsync needs a non-empty suffix to recognise its temporary files")
    if len(text) > 16:
        raise ValueError(f"Expecting suffix length not greater than 16 but got {len(text)}")
    if "/" in text or "\0" in text:
        raise ValueError("a suffix cannot contain '/' or NUL")
    return text


#: -l/--links: the extension of the file a symlink is translated to (rclone's)
LINK_SUFFIX = ".rclonelink"
#: longest symlink target accepted from a ".rclonelink" file (Linux's PATH_MAX)
_MAX_LINK = 4096


def _read_link(os_path: str, path: str) -> bytes:
    try:
        return os.fsencode(os.readlink(os_path))
    except OSError as exc:
        raise _translate(exc, path) from None


def _link_entry(os_path: str, path: str, st: os.stat_result) -> Entry:
    """The ``<name>.rclonelink`` file a symlink is listed as: its size is the target's length
    in bytes, its time the link's own (as rclone lists it)."""
    return Entry(path, False, len(_read_link(os_path, path)), st.st_mtime_ns)

class _RangeReader(io.RawIOBase):
    """Reads at most ``limit`` bytes of an open file (``get`` with an ``end``)."""

    def __init__(self, f: io.FileIO, limit: int) -> None:
        super().__init__()
        self._f = f
        self._left = limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            return 0
        view = memoryview(buffer).cast("B")
        if len(view) > self._left:
            view = view[: self._left]
        n = self._f.readinto(view) or 0
        self._left -= n
        return n

    def close(self) -> None:
        try:
            self._f.close()
        finally:
            super().close()


#: The fallback for a second concurrent writer of one file needs only a unique name (created
#: with O_EXCL): one random per-process prefix plus a counter costs no syscall.
_TEMP_PREFIX = os.urandom(3).hex()
_SHOWN_DOTS = {".": "\uff0e", "..": "\uff0e\uff0e"}
_temp_counter = itertools.count()
_TEMP_SUFFIX = ".partial"

try:
    import fcntl as _fcntl
except ImportError:  # Windows: an open file cannot be removed, which serves as the lock
    _fcntl = None  # type: ignore[assignment]


def _temp_name(name: str, token: str | None = None, suffix: str = _TEMP_SUFFIX) -> str:
    """The temp name for ``name``: deterministic (``crc32`` of the name) unless ``token``;
    ``suffix`` is ``--partial-suffix``."""
    if token is None:
        token = f"{zlib.crc32(os.fsencode(name)):08x}"
    # Keep the temp name within NAME_MAX (255 bytes on most file systems) for long names.
    if len(name) > 50 and len(os.fsencode(name)) > 200:  # (≤ 4 bytes per character)
        return f".cloudsync.{token}{suffix}"
    return f".{name}.{token}{suffix}"


def _is_temp_name(name: str, suffix: str = _TEMP_SUFFIX) -> bool:
    """One of our temp names (deterministic or unique fallback), by its shape (with this
    ``suffix`` or the default one: a leftover of an earlier run is recognised too)."""
    if suffix != _TEMP_SUFFIX and _is_temp_name(name):
        return True
    if not (name.endswith(suffix) and name.startswith(".")):
        return False
    stem = name[1: -len(suffix)]
    final, dot, token = stem.rpartition(".")
    if not dot or not final or len(token) not in (8, 10):
        return False
    try:
        int(token, 16)
    except ValueError:
        return False
    if final == "cloudsync":
        return True
    return _temp_name(final, None, suffix) == name or token.startswith(_TEMP_PREFIX) \
        or len(token) == 10


def _lock_temp(fd: int) -> bool:
    """Take the writer's lock on an open temp file; False if a live writer holds it."""
    if _fcntl is None:
        return True
    try:
        _fcntl.flock(fd, _fcntl.LOCK_EX | _fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _replace_then_close(fd: int, tmp: str, final: str) -> None:
    """Rename the temp file into place, then close it.

    On POSIX the rename happens while the writer still holds its lock, so another process can
    never adopt (truncate) a temp file in the instant between close and rename.  Windows
    cannot rename an open file: there it closes first (and no other process can have it open).
    """
    if _fcntl is None:
        os.close(fd)
        os.replace(tmp, final)
        return
    try:
        os.replace(tmp, final)
    finally:
        os.close(fd)


def _remove_if_stale(os_path: str) -> bool:
    """Remove a leftover temp file nobody is writing; True if it is gone."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(os_path, flags)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    try:
        if not _lock_temp(fd):
            return False  # a live writer
        with contextlib.suppress(FileNotFoundError):
            if os.stat(os_path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino:
                os.unlink(os_path)
                log.debug("%s: removed a temporary file left by an interrupted run", os_path)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


_buffers = threading.local()


def _hash_file(path: str, hash_type: str) -> str:
    """Hash of the local file ``path``: one open, reads into a per-thread reused 1 MiB buffer.

    (A fresh 1 MiB buffer per file was the largest cost of ``check`` on many small files.)
    OS errors propagate for the caller to translate.
    """
    buf = getattr(_buffers, "buf", None)
    if buf is None:
        buf = _buffers.buf = memoryview(bytearray(CHUNK_SIZE))
    h = MultiHasher((hash_type,))
    with open(path, "rb", buffering=0) as f:
        readinto = f.readinto
        while True:
            n = readinto(buf)
            if not n:
                break
            h.update(buf[:n])
    return h.hexdigests()[hash_type]


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _translate(exc: OSError, path: str, *, missing: type[CloudsyncError] = ObjectNotFound) -> CloudsyncError:
    """One OSError as the matching cloudsync error (``missing`` says what ENOENT means here)."""
    if isinstance(exc, CloudsyncError):
        return exc
    reason = exc.strerror or str(exc)
    if isinstance(exc, FileNotFoundError):
        return missing(path=path)
    if isinstance(exc, PermissionError) or exc.errno == errno.EROFS:
        # strerror already says "Permission denied" / "Read-only file system"; add the remedy.
        return PermissionDenied(reason, path=path, hint="check the file's permissions and owner")
    if isinstance(exc, IsADirectoryError):
        return IsDirError(path=path)
    if isinstance(exc, NotADirectoryError):
        return IsFileError(f"a parent is a file not a directory: {reason}", path=path)
    if isinstance(exc, FileExistsError):
        return AlreadyExists(path=path)
    if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
        return DirectoryNotEmpty(path=path)
    if exc.errno == errno.ENAMETOOLONG:
        return NameNotSupported(f"name too long: {reason}", path=path)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return QuotaExceeded(f"no space left: {reason}", path=path)
    return CloudsyncError(reason, path=path)


def _refuse_special(mode: int, path: str) -> None:
    """A FIFO, device or socket named as a file to read is refused at once: reading one would
    wait for ever or never end (rclone hangs on them)."""
    if statmod.S_ISREG(mode) or statmod.S_ISDIR(mode):
        return
    kind = ("a FIFO (named pipe)" if statmod.S_ISFIFO(mode)
            else "a character device" if statmod.S_ISCHR(mode)
            else "a block device" if statmod.S_ISBLK(mode)
            else "a socket" if statmod.S_ISSOCK(mode) else "not a regular file")
    raise NoRetryError(f"is {kind}, not a regular file: refusing to read it", path=path)


# ---------------------------------------------------------------------------- backend
class LocalBackend(Backend):
    type_name = "local"

    def __init__(
        self,
        name: str,
        root: str,
        *,
        copy_links: bool = False,
        skip_links: bool = False,
        no_fsync: bool = False,
        links: bool = False,
        one_file_system: bool = False,
        partial_suffix: str = _TEMP_SUFFIX,
    ) -> None:
        if links and copy_links:
            from cloudsync.errors import ConfigError

            raise ConfigError("can't use -l/--links with -L/--copy-links")
        typed = os.path.normpath(os.path.expanduser(root or "."))
        root = os.path.abspath(typed)
        # rclone names a local remote by the path as typed (cleaned), its "." and ".." shown
        # as the full-width look-alikes its name encoding uses
        self._shown_root = "/".join(_SHOWN_DOTS.get(part, part) for part in typed.split(os.sep)) \
            if not os.path.isabs(typed) else typed
        # Features depend on the probe, which is done lazily on first use (see `features`).
        super().__init__(name, root, Features())
        self._features: Features | None = None
        self.copy_links = copy_links
        self.skip_links = skip_links
        self.no_fsync = no_fsync
        #: -l/--links: a symlink is listed, read and written as a file ``<name>.rclonelink``
        #: holding its target
        self.links = links
        #: -x: the device of the root (set on the first listing); folders on others are skipped
        self.one_file_system = one_file_system
        self._root_dev: int | None = None
        #: --partial-suffix: the end of the temporary names files are written under
        self.partial_suffix = partial_suffix or _TEMP_SUFFIX
        self._leftovers: set[str] = set()
        #: files copied in batches so far: helper processes start once a copy is this big
        self._batched_files = 0
        #: helpers listing ahead of a big walk (see prefetch_lists)
        self._ahead: AheadLister | None = None
        self._ahead_lock = threading.Lock()
        self._warned_utf8: set[str] = set()  # names not UTF-8 that were noticed already
        self._warned_lock = threading.Lock()
        self._leftover_lock = threading.Lock()

    # ------------------------------------------------------------------ features (lazy)
    @property
    def features(self) -> Features:
        feats = self._features
        if feats is None:
            precision, insensitive = _probe(_existing_ancestor(self.root))
            feats = self._features = Features(
                hashes=_HASHES,
                precision_ns=precision,
                case_insensitive=insensitive,
                can_have_empty_dirs=True,
                restricted_chars=_RESTRICTED,
                # NAME_MAX is 255 *bytes* (not characters): too long names fail in the OS
                # call and come back as NameNotSupported instead.
                max_name_length=None,
                is_local=True,
                slow_hash=True,
                # All local backends of this machine see the same files, whatever their names,
                # so rename/copy between them works (EXDEV is turned into CantMove/CantCopy).
                server_side_across_configs=True,
            )
        return feats

    @features.setter
    def features(self, value: Features) -> None:
        # An explicit assignment wins over the probe (Backend.__init__'s placeholder is
        # dropped again right after it in our __init__).
        self._features = value

    def walks_recursively(self) -> bool:
        # known without `features`, whose probe of the file system a listing need not pay
        return False

    def __str__(self) -> str:
        return f"Local file system at {self._shown_root}"

    # ------------------------------------------------------------------ paths
    def _os_path(self, path: str) -> str:
        """OS path of backend path ``path``; refuses names that could escape the root."""
        if not path:
            return self.root
        # (substring tests run in C: this is called for every file of a sync)
        wrapped = f"/{path}/"
        if "//" in wrapped or "/./" in wrapped or "/../" in wrapped:
            for part in path.split("/"):
                if part in ("", ".", ".."):
                    raise NameNotSupported(f"invalid name {part!r} for the local file system",
                                           path=path)
        if (_RESTRICTED in path if len(_RESTRICTED) == 1
                else any(c in path for c in _RESTRICTED)):
            raise NameNotSupported("name contains a character the local file system cannot hold",
                                   path=path)
        if os.sep != "/":  # pragma: no cover - Windows
            return os.path.join(self.root, *path.split("/"))
        return self.root + "/" + path if self.root != "/" else "/" + path

    def _entry(self, path: str, st: os.stat_result) -> Entry:
        if statmod.S_ISDIR(st.st_mode):
            return Entry(path, True, st.st_size, st.st_mtime_ns)
        return Entry(path, False, st.st_size, st.st_mtime_ns)

    # ------------------------------------------------------------------ listing
    def _scan(self, path: str, os_path: str) -> Iterator[tuple[Entry, str]]:
        """(entry, os_path) for each child of ``os_path``; raises rather than skip silently."""
        prefix = path + "/" if path else ""
        try:
            it = os.scandir(os_path)
        except NotADirectoryError:
            raise IsFileError(path=path or self.root) from None
        except OSError as exc:
            raise _translate(exc, path or self.root, missing=DirNotFound) from None
        with it:
            while True:
                try:
                    de = next(it)
                except StopIteration:
                    return
                except OSError as exc:
                    raise _translate(exc, path or self.root, missing=DirNotFound) from None
                rel = prefix + de.name
                if de.name[0] == "." and _is_temp_name(de.name, self.partial_suffix):
                    self._note_temp(de.path)  # never listed: not (yet) a file of the tree
                    continue
                if not de.name.isascii():
                    self._check_utf8(rel)
                try:
                    st = de.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # removed while we were listing: it is simply not there any more
                except OSError as exc:
                    raise _translate(exc, rel) from None
                entry = self._special(de, rel, st)
                if entry is not None:
                    yield entry, de.path

    def prefetch_lists(self, paths: Sequence[str] | None) -> None:
        """Let helper processes list the folders a big walk reaches next (see
        :class:`.local_helpers.AheadLister`): a listing is mostly one ``lstat`` per file, which
        rclone runs on eight goroutines; here they leave this process's core to the walk."""
        with self._ahead_lock:
            if paths is None:
                ahead, self._ahead = self._ahead, None
                if ahead is not None:
                    ahead.close()  # (never a stale listing for a later walk)
                return
            if self.copy_links or self.links or self.one_file_system:
                return  # (their rules are applied in this process)
            if self._ahead is None:
                from . import local_helpers

                pool = local_helpers.helpers()
                if pool.broken:
                    return
                self._ahead = local_helpers.AheadLister(pool, self.partial_suffix,
                                                        local_helpers.lister_count())
            self._ahead.want(paths, self._os_path)

    def list(self, path: str) -> list[Entry]:
        # The engine's hot path (one call per directory of a sync): the same rules as _scan,
        # with regular files and directories handled inline (no generator, no tuples, no
        # stat-module calls) and everything else handed to _scan's general code.
        prefix = path + "/" if path else ""
        if self._ahead is not None:
            with self._ahead_lock:
                rows = self._ahead.take(path) if self._ahead is not None else None
            if rows is not None:
                return [Entry(prefix + name, is_dir, size, mtime)
                        for name, is_dir, size, mtime in rows]
        os_path = self._os_path(path)
        out: list[Entry] = []
        bad: list[CloudsyncError] = []
        append = out.append
        try:
            it = os.scandir(os_path)
        except NotADirectoryError:
            raise IsFileError(path=path or self.root) from None
        except OSError as exc:
            raise _translate(exc, path or self.root, missing=DirNotFound) from None
        with it:
            try:
                for de in it:
                    try:
                        st = de.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue  # removed while we were listing: simply not there any more
                    except OSError as exc:
                        raise _translate(exc, prefix + de.name) from None
                    fmt = st.st_mode & 0o170000
                    if not de.name.isascii():
                        self._check_utf8(prefix + de.name)
                    if fmt == 0o100000:  # S_IFREG
                        if de.name[0] == "." and _is_temp_name(de.name, self.partial_suffix):
                            self._note_temp(de.path)  # never listed: not (yet) a file of the tree
                            continue
                        append(Entry(prefix + de.name, False, st.st_size, st.st_mtime_ns))
                    elif fmt == 0o040000:  # S_IFDIR
                        if self.one_file_system and self._other_device(st):
                            continue  # a mount point: -x does not cross into it
                        append(Entry(prefix + de.name, True, st.st_size, st.st_mtime_ns))
                    else:
                        try:
                            special = self._special(de, prefix + de.name, st)
                        except CloudsyncError as err:
                            if not (self.copy_links and fmt == 0o120000):  # S_IFLNK
                                raise
                            bad.append(err)  # rclone: an error for this entry, not the folder
                            continue
                        if special is not None:
                            if special.is_dir and fmt == 0o120000 and self._loops(de, os_path):
                                bad.append(NoRetryError(
                                    "symlink loop: it points to a folder above it "
                                    "(-L/--copy-links would follow it for ever)",
                                    path=special.path))
                                continue
                            append(special)
            except CloudsyncError:
                raise
            except OSError as exc:  # reading the directory itself failed half way
                raise _translate(exc, path or self.root, missing=DirNotFound) from None
        if bad:
            raise PartialListing(out, bad, path=path or None)
        return out

    def _check_utf8(self, rel: str) -> None:
        """rclone's notice, once per name and backend, for a listed name whose bytes are not
        UTF-8 (listings show such bytes as U+FFFD; copies keep them)."""
        try:
            rel.encode("utf-8")
        except UnicodeEncodeError:
            with self._warned_lock:
                if rel in self._warned_utf8:
                    return
                self._warned_utf8.add(rel)
            shown = str(self)
            notice(log, "%s: Replacing invalid UTF-8 characters in %s", shown, go_quote(rel),
                   extra={"object": shown, "objectType": "*local.Fs"})

    @staticmethod
    def _loops(de: os.DirEntry[str], listed_os_path: str) -> bool:
        """A followed directory link whose target is the listed folder or one above it."""
        target = os.path.realpath(de.path)
        here = os.path.realpath(listed_os_path)
        return here == target or here.startswith(target.rstrip(os.sep) + os.sep)

    def _other_device(self, st: os.stat_result) -> bool:
        """-x: whether a listed folder is on another file system than the root (rclone
        compares the st_dev of each folder with the root's)."""
        if self._root_dev is None:
            try:
                self._root_dev = os.stat(self.root).st_dev
            except OSError:
                return False
        return st.st_dev != self._root_dev

    def _special(self, de: os.DirEntry[str], rel: str, st: os.stat_result) -> Entry | None:
        """A listed entry that is neither a regular file nor a directory: links, FIFOs…"""
        mode = st.st_mode
        if statmod.S_ISLNK(mode) and self.links:
            if de.name[0] == "." and _is_temp_name(de.name, self.partial_suffix):
                return None  # a link being written (or a killed run's)
            return _link_entry(de.path, rel + LINK_SUFFIX, st)
        if statmod.S_ISLNK(mode):
            if not self.copy_links:
                if not self.skip_links:
                    notice(log, "%s: Can't follow symlink without -L/--copy-links", rel)
                return None
            try:
                st = os.stat(de.path)
            except FileNotFoundError:
                raise NoRetryError("broken symlink (-L/--copy-links cannot follow it)",
                                   path=rel) from None
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise NoRetryError("symlink loop: too many levels of symbolic links",
                                       path=rel) from None
                raise _translate(exc, rel) from None
            mode = st.st_mode
        if statmod.S_ISDIR(mode):
            if self.one_file_system and self._other_device(st):
                return None
            return Entry(rel, True, st.st_size, st.st_mtime_ns)
        if statmod.S_ISREG(mode):
            return Entry(rel, False, st.st_size, st.st_mtime_ns)
        notice(log, "%s: Can't transfer non file/directory", rel)
        return None

    # The engine should walk a local tree with per-directory `list`, not this: it runs in one
    # thread and yields nothing until each directory is read, whereas per-directory listings can
    # run in parallel and overlap with checking and transfers (rclone's local backend has no
    # ListR for the same reason).  It is here for `ls`-style commands and `--fast-list`.
    def list_recursive(self, path: str) -> Iterator[Entry]:
        # Iterative (no recursion limit on deep trees).  With copy_links, a directory link
        # pointing back at one of its ancestors would loop for ever, so track the chain.
        root_os = self._os_path(path)
        stack: list[tuple[str, str, frozenset[tuple[int, int]]]] = [(path, root_os, frozenset())]
        if self.copy_links:
            st = self._stat_os(root_os, path, missing=DirNotFound)
            stack = [(path, root_os, frozenset({(st.st_dev, st.st_ino)}))]
        while stack:
            rel, os_path, chain = stack.pop()
            for entry, child_os in self._scan(rel, os_path):
                yield entry
                if entry.is_dir:
                    child_chain = chain
                    if self.copy_links:
                        st = self._stat_os(child_os, entry.path, missing=DirNotFound)
                        key = (st.st_dev, st.st_ino)
                        if key in chain:
                            raise NoRetryError("symlink loop (-L/--copy-links)", path=entry.path)
                        child_chain = chain | {key}
                    stack.append((entry.path, child_os, child_chain))

    def _stat_os(self, os_path: str, path: str, *, missing: type[CloudsyncError] = ObjectNotFound,
                 follow: bool = True) -> os.stat_result:
        try:
            return os.stat(os_path, follow_symlinks=follow)
        except NotADirectoryError:
            raise missing(path=path) from None
        except OSError as exc:
            raise _translate(exc, path, missing=missing) from None

    def _link_os(self, path: str) -> str | None:
        """With -l: the OS path of the symlink that ``path`` (``<name>.rclonelink``) stands
        for, or None when ``path`` is not one."""
        if not (self.links and path.endswith(LINK_SUFFIX) and len(path) > len(LINK_SUFFIX)):
            return None
        os_path = self._os_path(path[: -len(LINK_SUFFIX)])
        return os_path if os.path.islink(os_path) else None

    def stat(self, path: str) -> Entry:
        link = self._link_os(path)
        if link is not None:
            try:
                return _link_entry(link, path, os.lstat(link))
            except OSError as exc:
                raise _translate(exc, path) from None
        # The root is always followed (a root that is a link to a directory is normal);
        # other links only with copy_links, exactly as listings show them.
        follow = self.copy_links or not path
        st = self._stat_os(self._os_path(path), path, follow=follow)
        if statmod.S_ISLNK(st.st_mode) and self.links and path:
            raise ObjectNotFound(path=path)  # listed as <name>.rclonelink
        if statmod.S_ISLNK(st.st_mode):
            if not self.skip_links:
                notice(log, "%s: Can't follow symlink without -L/--copy-links", path)
            raise ObjectNotFound(path=path)
        _refuse_special(st.st_mode, path)
        return self._entry(path, st)

    # ------------------------------------------------------------------ metadata (-M)
    def metadata(self, path: str) -> dict[str, str]:
        link = self._link_os(path)  # -l: the symlink's own metadata
        os_path, follow = (link, False) if link else (self._os_path(path), self.copy_links or not path)
        st = self._stat_os(os_path, path, follow=follow)
        return _stat_metadata(st, _birth_time_ns(os_path, follow))

    def set_metadata(self, path: str, metadata: dict[str, str]) -> None:
        link = self._link_os(path)  # -l: the symlink itself (a link's mode means nothing)
        os_path = link or self._os_path(path)
        follow = link is None
        try:
            if "mode" in metadata and follow:
                os.chmod(os_path, statmod.S_IMODE(int(metadata["mode"], 8)))
            if "atime" in metadata or "mtime" in metadata:
                st = os.stat(os_path, follow_symlinks=follow)
                atime = _parse_meta_time(metadata["atime"]) if "atime" in metadata else st.st_atime_ns
                mtime = _parse_meta_time(metadata["mtime"]) if "mtime" in metadata else st.st_mtime_ns
                os.utime(os_path, ns=(atime, mtime), follow_symlinks=follow)
            if "uid" in metadata or "gid" in metadata:
                # (as rclone: ownership is kept where the user may set it, else left alone)
                with contextlib.suppress(PermissionError):
                    os.chown(os_path, int(metadata.get("uid", -1)), int(metadata.get("gid", -1)),
                             follow_symlinks=follow)
        except ValueError:
            raise CloudsyncError(f"bad metadata value in {metadata!r}", path=path) from None
        except OSError as exc:
            raise _translate(exc, path) from None

    # ------------------------------------------------------------------ reading
    def get(self, path: str, start: int = 0, end: int | None = None) -> BinaryIO:
        link = self._link_os(path)
        if link is not None:
            target = _read_link(link, path)
            return io.BytesIO(target[max(start, 0): end])
        try:
            # O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below);
            # it changes nothing for regular files
            fd = os.open(self._os_path(path), os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except OSError as exc:
            raise _translate(exc, path) from None
        try:
            mode = os.fstat(fd).st_mode
            if statmod.S_ISDIR(mode):
                raise IsDirError(path=path)
            _refuse_special(mode, path)
        except BaseException:
            os.close(fd)
            raise
        f = io.FileIO(fd, "rb", closefd=True)
        try:
            if start > 0:
                f.seek(start)
            if end is None:
                return cast(BinaryIO, f)
            return cast(BinaryIO, _RangeReader(f, max(0, end - max(start, 0))))
        except BaseException:
            f.close()
            raise

    def hash(self, path: str, hash_type: str) -> str:
        if hash_type not in _HASHES:
            raise HashUnsupported(f"local backend cannot compute {hash_type!r}", path=path)
        link = self._link_os(path)
        if link is not None:
            mh = MultiHasher([hash_type])
            mh.update(_read_link(link, path))
            return mh.hexdigests()[hash_type]
        os_path = self._os_path(path)
        try:
            # through the persistent hash cache: an unchanged file is never read twice
            return file_hash(os_path, hash_type, _hash_file)
        except OSError as exc:
            raise _translate(exc, path) from None

    def known_hash(self, path: str, hash_type: str) -> str | None:
        if hash_type not in _HASHES or (self.links and path.endswith(LINK_SUFFIX)):
            return None
        return cached_file_hash(self._os_path(path), hash_type)

    # ------------------------------------------------------------------ writing
    def _open_temp(self, os_path: str, path: str) -> tuple[int, str]:
        """Open (and lock) the temp file for ``os_path``: its deterministic name, adopting an
        unlocked leftover of an interrupted run; a unique name if a live writer has it."""
        directory, _, name = os_path.rpartition(os.sep)
        base = os.O_WRONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0) | getattr(
            os, "O_NOFOLLOW", 0)
        made_parents = False
        # First try to create the deterministic name: the usual case, and a file we created
        # is ours without the fstat and stat that adopting a leftover needs.
        fresh = True
        for attempt in range(10):
            deterministic = attempt < 3
            token = None if deterministic else f"{_TEMP_PREFIX}{next(_temp_counter):04x}"
            tmp = f"{directory}{os.sep}{_temp_name(name, token, self.partial_suffix)}"
            exclusive = fresh or not deterministic or _fcntl is None
            flags = base | os.O_CREAT | (os.O_EXCL if exclusive else 0)
            try:
                fd = os.open(tmp, flags, 0o666)
            except FileNotFoundError:
                if made_parents:
                    raise DirNotFound("could not create the parent directory", path=path) from None
                # Only now create parents: the common case (parent exists) costs no extra stat.
                self._makedirs(directory, path)
                made_parents = True
                continue
            except FileExistsError:
                if deterministic and fresh and _fcntl is None:
                    # Windows: a leftover can be removed unless its writer still has it open.
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
                fresh = False  # a leftover, or a live writer's: adopt it if unlocked
                continue
            except OSError as exc:
                if deterministic and exc.errno == errno.ELOOP:
                    fresh = False
                    continue  # a symlink planted at our temp name: never write through it
                raise _translate(exc, path) from None
            if _fcntl is None:
                return fd, tmp
            if exclusive:
                # (a file we created: ours once locked, so no cleanup takes it for a leftover)
                if _lock_temp(fd) or not deterministic:
                    return fd, tmp
                # Another writer of the same file opened it between our create and our lock,
                # and locked it first: it is theirs now.
                os.close(fd)
                continue
            try:
                ok = _lock_temp(fd)
                st = os.fstat(fd)
                # The file we locked must still be the one under the temp name (a writer
                # that finished meanwhile renamed it to the final name).
                ok = ok and os.stat(tmp, follow_symlinks=False).st_ino == st.st_ino
                if ok and st.st_size:
                    log.debug("%s: adopting a temporary file left by an interrupted run", path)
                    os.ftruncate(fd, 0)
            except FileNotFoundError:
                ok = False
            except OSError as exc:
                os.close(fd)
                raise _translate(exc, path) from None
            if ok:
                return fd, tmp
            os.close(fd)  # a live writer has it (or it was just renamed): try again, then unique
        raise AlreadyExists("could not find a free temporary name", path=path)

    def remove_leftovers(self) -> int:
        """Remove the unlocked temp files listings came across; returns how many went."""
        with self._leftover_lock:
            found, self._leftovers = self._leftovers, set()
        removed = 0
        for os_path in sorted(found):
            if _remove_if_stale(os_path):
                removed += 1
        if removed:
            log.info("removed %d temporary file(s) left by an interrupted run", removed)
        return removed

    def _note_temp(self, os_path: str) -> None:
        with self._leftover_lock:
            self._leftovers.add(os_path)

    def _makedirs(self, os_dir: str, path: str) -> None:
        try:
            os.makedirs(os_dir, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise IsFileError("a parent is a file not a directory", path=path) from None
        except OSError as exc:
            raise _translate(exc, path) from None

    def _finish(self, fd: int, tmp: str, mtime_ns: int | None, size: int,
                durable: bool = False, mtime_set: int | None = None) -> tuple[int, int]:
        """Set the modtime, make the data durable (unless ``durable``: a syncfs already did)
        and return the stored ``(size, mtime_ns)``.  ``mtime_set``: the modtime the caller
        already set.

        With nanosecond precision the file system stores exactly what we set, so the final
        fstat (one syscall per file) is only made when it could tell us something new.
        """
        if mtime_ns is not None:
            os.utime(fd, ns=(mtime_ns, mtime_ns))
        if not (self.no_fsync or durable):
            os.fsync(fd)
        known = mtime_ns if mtime_ns is not None else mtime_set
        if known is not None and self.features.precision_ns == 1:
            return size, known
        st = os.fstat(fd)
        return st.st_size, st.st_mtime_ns

    def put(self, path: str, stream: Readable, info: PutInfo) -> Entry:
        if self.links and path.endswith(LINK_SUFFIX) and len(path) > len(LINK_SUFFIX):
            return self._put_link(path, stream, info)
        os_path = self._os_path(path)
        # Hash what verification needs: md5 (the engine's first choice) plus any type the source
        # announced.  sha1 costs ~40% on top of md5, so it is only computed when asked for.
        wanted = [MD5] + [t for t in info.hashes if t in _HASHES and t != MD5]
        # A HashingReader that has delivered nothing yet already hashes exactly the bytes we
        # write: reuse its digests instead of hashing the same bytes twice in one thread.
        reused: HashingReader | None = None
        if isinstance(stream, HashingReader) and stream.bytes_read == 0:
            reused = stream
            wanted = [t for t in wanted if t not in stream.types]
        mh = MultiHasher(wanted)
        fd, tmp = self._open_temp(os_path, path)
        try:
            try:
                write = os.write
                while True:
                    data = stream.read(CHUNK_SIZE)
                    if not data:
                        break
                    mh.update(data)
                    view = memoryview(data)
                    while view:
                        view = view[write(fd, view):]
                if 0 <= info.size != mh.size:
                    raise CorruptedTransfer(
                        f"source delivered {mh.size} bytes, expected {info.size}", path=path)
                hashes = mh.hexdigests()
                if reused is not None:
                    hashes.update(reused.hexdigests())
                for t, expected in info.hashes.items():
                    got = hashes.get(t)
                    if got and expected and got != expected.lower():
                        raise CorruptedTransfer(
                            f"{t} differ: source {expected}, written {got}", path=path)
                size, mtime = self._finish(fd, tmp, info.mtime_ns, mh.size)
            except BaseException:
                _remove_quietly(tmp)  # (while still holding the lock)
                os.close(fd)
                raise
            _replace_then_close(fd, tmp, os_path)
        except BaseException as exc:
            _remove_quietly(tmp)
            if isinstance(exc, OSError) and not isinstance(exc, CloudsyncError):
                raise _translate(exc, path) from exc
            raise
        return Entry(path, False, size, mtime, hashes, info.mime_type)

    def _put_link(self, path: str, stream: Readable, info: PutInfo) -> Entry:
        """-l: ``<name>.rclonelink`` is written as the symlink ``<name>`` to its content
        (made under a temporary name and renamed into place, like every write)."""
        target = stream.read(_MAX_LINK + 1) or b""
        if len(target) > _MAX_LINK or b"\0" in target:
            raise NoRetryError("not a symlink target (too long, or a NUL byte in it)", path=path)
        os_path = self._os_path(path[: -len(LINK_SUFFIX)])
        # a unique temp name of the usual shape: listings never show it, nor a leftover of it
        token = f"{_TEMP_PREFIX}{next(_temp_counter) & 0xFFFF:04x}"
        tmp = os.path.join(os.path.dirname(os_path), _temp_name(os.path.basename(os_path), token,
                                                                self.partial_suffix))
        try:
            if os.path.isdir(os_path) and not os.path.islink(os_path):
                raise IsDirError(path=path)
            try:
                os.symlink(target, tmp)
            except FileNotFoundError:
                self._makedirs(os.path.dirname(os_path), path)
                os.symlink(target, tmp)
            try:
                if info.mtime_ns is not None:
                    os.utime(tmp, ns=(info.mtime_ns, info.mtime_ns), follow_symlinks=False)
                os.replace(tmp, os_path)
            except BaseException:
                _remove_quietly(tmp)
                raise
            st = os.lstat(os_path)
        except OSError as exc:
            raise _translate(exc, path) from None
        mh = MultiHasher([MD5])
        mh.update(target)
        return Entry(path, False, len(target), st.st_mtime_ns, mh.hexdigests(), info.mime_type)

    def delete(self, path: str) -> None:
        link = self._link_os(path)
        os_path = link if link is not None else self._os_path(path)
        try:
            st = os.lstat(os_path)
            if statmod.S_ISDIR(st.st_mode):
                raise IsDirError(path=path)
            os.unlink(os_path)
        except NotADirectoryError:
            raise ObjectNotFound(path=path) from None
        except OSError as exc:
            raise _translate(exc, path) from None

    def mkdir(self, path: str) -> None:
        os_path = self._os_path(path)
        try:
            os.makedirs(os_path, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise IsFileError(path=path or self.root) from None
        except OSError as exc:
            raise _translate(exc, path) from None

    def rmdir(self, path: str) -> None:
        try:
            os.rmdir(self._os_path(path))
        except NotADirectoryError:
            raise IsFileError(path=path or self.root) from None
        except OSError as exc:
            raise _translate(exc, path or self.root, missing=DirNotFound) from None

    def about(self) -> Usage:
        try:
            import shutil

            du = shutil.disk_usage(_existing_ancestor(self.root))
        except OSError as exc:
            raise _translate(exc, self.root, missing=DirNotFound) from None
        return Usage(total=du.total, used=du.used, free=du.free)

    # ------------------------------------------------------------------ optional capabilities
    def _src_os_path(self, src: Backend, src_path: str, cant: type[CloudsyncError]) -> str:
        if not isinstance(src, LocalBackend):
            raise cant(f"cannot do server-side operations from {src}")
        if src._link_os(src_path) is not None:
            # -l: a link's ".rclonelink" file goes through get/put, which translate it
            raise cant("a translated symlink (-l/--links) is copied through a stream")
        return src._os_path(src_path)

    def copy(self, src: Backend, src_path: str, dst_path: str) -> Entry:
        """Kernel-side copy (copy_file_range, else sendfile) into a temp name, then rename.

        rclone's local backend has no Copy (it reads and writes through user space); doing it
        in the kernel makes local→local copies faster and keeps Python out of the data path.
        """
        staged = self._stage_copy(src, src_path, dst_path)
        return self._commit(staged)

    def copy_batch(self, src: Backend, pairs: _Pairs) -> _Results:
        """Many small server-side copies at once: ``[(src_path, dst_path)]`` → one result each
        (the new entry, or the error that file got), in order.

        Same guarantees as :meth:`copy` for every file (temp name, fsync, then rename).  What
        changes is the cost of the fsyncs: every temp file of the batch is written first, then one
        ``syncfs`` flushes them all in a single journal commit, and only then is each renamed
        into place.  Per-file fsyncs each forced their own commit (ext4 delayed allocation):
        ~260 µs per 4 KiB file with 4 threads.  Where ``syncfs`` cannot vouch for the data
        (not Linux, kernel before 5.8, an error) every file is fsynced on its own as usual.

        A big copy hands its batches to helper processes (see :mod:`.local_helpers`), which run
        :meth:`copy_jobs` with a GIL each; a batch a helper could not finish is run here.
        """
        results: _MaybeResults = [None] * len(pairs)
        jobs: list[CopyJob] = []
        for i, (src_path, dst_path) in enumerate(pairs):
            try:
                src_os = self._src_os_path(src, src_path, CantCopy)
                self._refuse_link_dest(dst_path, CantCopy)
                jobs.append((src_os, src_path, self._os_path(dst_path), dst_path))
            except Exception as exc:
                results[i] = exc
        done: _Results | None = None
        from . import local_helpers  # (subprocess and pickle: not for every command's start-up)

        if len(jobs) >= local_helpers.MIN_BATCH:
            self._batched_files += len(jobs)
            if self._batched_files > local_helpers.START_AFTER:
                done = local_helpers.helpers().run(self.copy_settings(), jobs)
        if done is None:
            done = self.copy_jobs(jobs)
        it = iter(done)
        return [r if r is not None else next(it) for r in results]

    def copy_settings(self) -> CopySettings:
        """What a helper process needs to copy exactly as this backend does."""
        return (self.no_fsync, self.partial_suffix, self.features.precision_ns)

    def copy_jobs(self, jobs: Sequence[CopyJob]) -> _Results:
        """Copy ``(src_os, src_path, dst_os, dst_path)`` jobs: all staged, one syncfs, then
        each renamed into place; one result per job, in order (see :meth:`copy_batch`)."""
        results: _MaybeResults = [None] * len(jobs)
        staged: _StagedList = []
        try:
            for i, (src_os, src_path, dst_os, dst_path) in enumerate(jobs):
                try:
                    staged.append((i, self._stage_os(src_os, src_path, dst_os, dst_path)))
                except Exception as exc:
                    results[i] = exc
            # One syncfs makes every staged file durable at once; the per-file fsync is then
            # redundant and only runs when syncfs could not vouch for the data.
            synced = bool(staged) and not self.no_fsync and _syncfs(staged[0][1].fd)
            while staged:
                i, st = staged.pop(0)
                try:
                    results[i] = self._commit(st, durable=synced)
                except Exception as exc:
                    results[i] = exc
        except BaseException:
            for _, st in staged:  # interrupted: leave no temp file behind
                st.abandon()
            raise
        return [r if r is not None else CloudsyncError("not copied") for r in results]

    def _stage_copy(self, src: Backend, src_path: str, dst_path: str) -> _Staged:
        """Copy the bytes into an open temp file with the source's modtime; not yet durable."""
        src_os = self._src_os_path(src, src_path, CantCopy)
        self._refuse_link_dest(dst_path, CantCopy)
        return self._stage_os(src_os, src_path, self._os_path(dst_path), dst_path)

    def _stage_os(self, src_os: str, src_path: str, dst_os: str, dst_path: str) -> _Staged:
        try:
            sfd = os.open(src_os, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            raise _translate(exc, src_path) from None
        try:
            sst = os.fstat(sfd)
            if statmod.S_ISDIR(sst.st_mode):
                raise IsDirError(path=src_path)
            fd, tmp = self._open_temp(dst_os, dst_path)
            try:
                copied = _kernel_copy(sfd, fd, sst.st_size)
                if copied != sst.st_size:
                    raise CorruptedTransfer(
                        f"copied {copied} bytes, source has {sst.st_size}", path=dst_path)
                os.utime(fd, ns=(sst.st_mtime_ns, sst.st_mtime_ns))
            except BaseException as exc:
                _remove_quietly(tmp)  # (while still holding the lock)
                os.close(fd)
                if isinstance(exc, OSError) and not isinstance(exc, CloudsyncError):
                    raise _translate(exc, dst_path) from exc
                raise
        finally:
            os.close(sfd)
        return _Staged(fd, tmp, dst_os, dst_path, copied, sst.st_mtime_ns)

    def _commit(self, st: _Staged, durable: bool = False) -> Entry:
        """fsync (unless ``durable`` already), close and rename a staged temp file into place
        (removed on any failure)."""
        try:
            try:
                size, mtime = self._finish(st.fd, st.tmp, None, st.size, durable=durable,
                                           mtime_set=st.mtime_ns)
            except BaseException:
                _remove_quietly(st.tmp)  # (while still holding the lock)
                os.close(st.fd)
                st.fd = -1
                raise
            fd, st.fd = st.fd, -1
            _replace_then_close(fd, st.tmp, st.dst_os)
        except BaseException as exc:
            _remove_quietly(st.tmp)
            if isinstance(exc, OSError) and not isinstance(exc, CloudsyncError):
                raise _translate(exc, st.dst_path) from exc
            raise
        return Entry(st.dst_path, False, size, mtime)

    def _refuse_link_dest(self, dst_path: str, cant: type[CloudsyncError]) -> None:
        if self.links and dst_path.endswith(LINK_SUFFIX):
            # -l: written through put, which makes the symlink the file stands for
            raise cant("a '.rclonelink' file is written as a symlink (-l/--links)")

    def move(self, src: Backend, src_path: str, dst_path: str) -> Entry:
        src_os = self._src_os_path(src, src_path, CantMove)
        self._refuse_link_dest(dst_path, CantMove)
        dst_os = self._os_path(dst_path)
        st = self._stat_os(src_os, src_path, follow=False)
        if statmod.S_ISDIR(st.st_mode):
            raise IsDirError(path=src_path)
        self._rename(src_os, dst_os, src_path, dst_path, CantMove, replace=True)
        return self._entry(dst_path, st)

    def dir_move(self, src: Backend, src_path: str, dst_path: str) -> None:
        src_os = self._src_os_path(src, src_path, CantDirMove)
        dst_os = self._os_path(dst_path)
        if os.path.lexists(dst_os):
            raise DirExists(path=dst_path or self.root)
        st = self._stat_os(src_os, src_path or src.root, missing=DirNotFound)
        if not statmod.S_ISDIR(st.st_mode):
            raise IsFileError(path=src_path or src.root)
        # os.rename of a directory never replaces a non-empty target; the lexists check above
        # makes "exists" an error for empty targets too, as the contract asks.
        self._rename(src_os, dst_os, src_path, dst_path, CantDirMove, replace=False)

    def _rename(self, src_os: str, dst_os: str, src_path: str, dst_path: str,
                cant: type[CloudsyncError], *, replace: bool) -> None:
        op = os.replace if replace else os.rename
        for attempt in (0, 1):
            try:
                op(src_os, dst_os)
                return
            except FileNotFoundError:
                if attempt or not os.path.lexists(src_os):
                    raise ObjectNotFound(path=src_path) from None
                self._makedirs(os.path.dirname(dst_os), dst_path)
            except OSError as exc:
                if exc.errno == errno.EXDEV:
                    raise cant("source and destination are on different file systems",
                               path=dst_path) from None
                if exc.errno in (errno.ENOTEMPTY, errno.EEXIST) and not replace:
                    raise DirExists(path=dst_path) from None
                raise _translate(exc, dst_path) from None

    def purge(self, path: str) -> None:
        os_path = self._os_path(path)
        st = self._stat_os(os_path, path or self.root, missing=DirNotFound, follow=False)
        if not statmod.S_ISDIR(st.st_mode):
            raise IsFileError(path=path or self.root)
        failures: list[OSError] = []

        def onerror(func: Any, p: str, excinfo: Any) -> None:
            if isinstance(excinfo[1], OSError):
                failures.append(excinfo[1])

        # rmtree never follows symlinks: a link to elsewhere is removed, not its target.
        import shutil

        shutil.rmtree(os_path, onerror=onerror)
        if failures:
            first = failures[0]
            where = first.filename if isinstance(first.filename, str) else os_path
            raise _translate(first, where)

    def set_modtime(self, path: str, mtime_ns: int) -> Entry:
        link = self._link_os(path)
        if link is not None:
            try:
                os.utime(link, ns=(mtime_ns, mtime_ns), follow_symlinks=False)
                return _link_entry(link, path, os.lstat(link))
            except OSError as exc:
                raise _translate(exc, path) from None
        os_path = self._os_path(path)
        try:
            st = os.stat(os_path)
            if statmod.S_ISDIR(st.st_mode):
                raise IsDirError(path=path)
            os.utime(os_path, ns=(mtime_ns, mtime_ns))
            st = os.stat(os_path)
        except NotADirectoryError:
            raise ObjectNotFound(path=path) from None
        except OSError as exc:
            raise _translate(exc, path) from None
        return self._entry(path, st)

    def set_dir_modtime(self, path: str, mtime_ns: int) -> None:
        # Never through a symlink: with -L a listed "directory" may be a link, and changing
        # the times of whatever it points at would touch data outside the destination tree.
        # The root is the exception, as everywhere (a root that is a link is normal).
        os_path = self._os_path(path)
        follow = not path
        st = self._stat_os(os_path, path or self.root, missing=DirNotFound, follow=follow)
        if statmod.S_ISLNK(st.st_mode):
            return  # a link stands in for the directory: leave both alone
        if not statmod.S_ISDIR(st.st_mode):
            raise IsFileError(path=path or self.root)
        try:
            os.utime(os_path, ns=(mtime_ns, mtime_ns), follow_symlinks=follow)
        except FileNotFoundError:
            raise DirNotFound(path=path or self.root) from None
        except OSError as exc:
            raise _translate(exc, path or self.root, missing=DirNotFound) from None


def _meta_time(ns: int) -> str:
    """Go's RFC3339Nano (trailing zeros of the fraction dropped), as rclone writes metadata."""
    from cloudsync.types import format_rfc3339

    text = format_rfc3339(ns, 9, tz=None)
    head, dot, tail = text.partition(".")
    if not dot:
        return text
    digits, zone = tail[:9].rstrip("0"), tail[9:]
    return f"{head}.{digits}{zone}" if digits else head + zone


def _parse_meta_time(text: str) -> int:
    import datetime as dt

    head, dot, tail = text.partition(".")
    frac = ""
    if dot:
        i = 0
        while i < len(tail) and tail[i].isdigit():
            i += 1
        frac, zone = tail[:i], tail[i:]
        text = head + zone
    when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int(when.timestamp()) * 1_000_000_000 + int((frac + "000000000")[:9])


def _birth_time_ns(os_path: str, follow: bool) -> int | None:
    """The creation time: ``st_birthtime`` where the platform has it, else Linux's statx
    (glibc 2.28+); None when neither the system nor the file system records it."""
    try:
        st = os.stat(os_path, follow_symlinks=follow)
    except OSError:
        return None
    birth = getattr(st, "st_birthtime_ns", None) or getattr(st, "st_birthtime", None)
    if birth is not None:
        return int(birth) if isinstance(birth, int) else int(birth * 1_000_000_000)
    if not sys.platform.startswith("linux"):
        return None
    import ctypes
    import struct

    try:
        statx = ctypes.CDLL(None, use_errno=True).statx
    except (OSError, AttributeError):
        return None
    buf = ctypes.create_string_buffer(256)
    at_fdcwd, nofollow, statx_btime = -100, 0x100, 0x800
    if statx(at_fdcwd, os.fsencode(os_path), 0 if follow else nofollow, statx_btime, buf) != 0:
        return None
    mask = struct.unpack_from("<I", buf.raw, 0)[0]
    if not mask & statx_btime:
        return None
    sec, nsec = struct.unpack_from("<qI", buf.raw, 80)  # stx_btime
    return int(sec) * 1_000_000_000 + int(nsec)


def _stat_metadata(st: os.stat_result, btime_ns: int | None) -> dict[str, str]:
    """rclone's local backend metadata keys (``btime`` only where it is recorded)."""
    meta = {
        "atime": _meta_time(st.st_atime_ns),
        "gid": str(st.st_gid),
        "mode": f"{st.st_mode:o}",
        "mtime": _meta_time(st.st_mtime_ns),
        "uid": str(st.st_uid),
    }
    if btime_ns is not None:
        meta["btime"] = _meta_time(btime_ns)
    return meta


class _Staged:
    """A copied temp file waiting for its fsync and rename (see ``LocalBackend.copy_batch``)."""

    __slots__ = ("dst_os", "dst_path", "fd", "mtime_ns", "size", "tmp")

    def __init__(self, fd: int, tmp: str, dst_os: str, dst_path: str, size: int,
                 mtime_ns: int) -> None:
        self.fd = fd
        self.tmp = tmp
        self.dst_os = dst_os
        self.dst_path = dst_path
        self.size = size
        self.mtime_ns = mtime_ns

    def abandon(self) -> None:
        _remove_quietly(self.tmp)  # (while still holding the lock)
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1


_syncfs_fn: Any = None
# (aliases: inside LocalBackend's body ``list`` names the method)
_Pairs = Sequence[tuple[str, str]]
_Results = list[Entry | Exception]
_MaybeResults = list[Entry | Exception | None]
_StagedList = list[tuple[int, _Staged]]


def _syncfs(fd: int) -> bool:
    """Linux ``syncfs(fd)``: flush the whole file system holding ``fd`` in one journal commit.

    True only when everything written before the call is now durable *and* the kernel would
    have said otherwise: ``syncfs`` reports write-back errors only since Linux 5.8 (before, it
    returned 0 whatever happened).  On False the caller fsyncs each file as usual.
    """
    global _syncfs_fn
    if _syncfs_fn is None:
        _syncfs_fn = False
        if sys.platform.startswith("linux") and _kernel_at_least(5, 8):
            try:
                import ctypes

                _syncfs_fn = ctypes.CDLL(None, use_errno=True).syncfs
            except (OSError, AttributeError):
                pass
    if not _syncfs_fn:
        return False
    return bool(_syncfs_fn(fd) == 0)


def _kernel_at_least(major: int, minor: int) -> bool:
    try:
        parts = os.uname().release.split(".", 2)
        return (int(parts[0]), int("".join(c for c in parts[1] if c.isdigit()) or 0)) >= (
            major, minor)
    except (ValueError, IndexError, AttributeError):
        return False


_NO_KERNEL_COPY = (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EBADF,
                   getattr(errno, "ENOTSUP", errno.EOPNOTSUPP))


def _kernel_copy(sfd: int, dfd: int, size: int) -> int:
    """Copy the first ``size`` bytes of ``sfd`` to ``dfd``, inside the kernel where possible
    (reflinks on btrfs/xfs); returns how many bytes were copied (fewer: the source shrank).

    Stopping at ``size`` instead of reading up to an empty result saves a syscall per file,
    which matters for thousands of small files.
    """
    copied = 0
    cfr = getattr(os, "copy_file_range", None)
    if cfr is not None:
        try:
            while copied < size:
                n = cfr(sfd, dfd, min(size - copied, 1 << 30))
                if not n:
                    return copied
                copied += n
            return copied
        except OSError as exc:
            if copied or exc.errno not in _NO_KERNEL_COPY:
                raise
    if hasattr(os, "sendfile") and sys.platform.startswith("linux"):
        try:
            while copied < size:
                n = os.sendfile(dfd, sfd, None, min(size - copied, 1 << 30))
                if not n:
                    return copied
                copied += n
            return copied
        except OSError as exc:
            if copied or exc.errno not in _NO_KERNEL_COPY:
                raise
    buf = bytearray(min(CHUNK_SIZE, max(size, 1)))
    with open(sfd, "rb", buffering=0, closefd=False) as fin:
        while copied < size:
            n = fin.readinto(buf)
            if not n:
                return copied
            n = min(n, size - copied)
            view = memoryview(buf)[:n]
            while view:
                view = view[os.write(dfd, view):]
            copied += n
    return copied


# ---------------------------------------------------------------------------- registration
def _factory(name: str, root: str, options: Mapping[str, Any],
             config: ConfigAccess | None) -> LocalBackend:
    return LocalBackend(
        name or "local",
        root,
        copy_links=bool(options.get("copy_links", False)),
        skip_links=bool(options.get("skip_links", False)),
        no_fsync=bool(options.get("no_fsync", False)),
        links=bool(options.get("links", False)),
        one_file_system=bool(options.get("one_file_system", False)),
        partial_suffix=str(options.get("partial_suffix") or _TEMP_SUFFIX),
    )


SPEC = BackendSpec(
    name="local",
    description="Local Disk",
    factory=_factory,
    options=(
        Option("copy_links", "Follow symlinks and copy the pointed to item.", default=False,
               kind="bool", advanced=True),
        Option("skip_links", "Don't warn about skipped symlinks.", default=False, kind="bool",
               advanced=True),
        Option("links", "Translate symlinks to/from regular files with a '.rclonelink' "
               "extension for the local backend.", default=False, kind="bool", advanced=True),
        Option("one_file_system", "Don't cross filesystem boundaries (unix/macOS only).",
               default=False, kind="bool", advanced=True),
        Option("partial_suffix", "Suffix of the temporary name a file is written under before "
               "it is renamed into place (the global --partial-suffix).", default=_TEMP_SUFFIX,
               advanced=True, parser=_partial_suffix),
        Option("no_fsync",
               "Don't fsync each file before renaming it into place.\n\n"
               "Faster for many small files, but after a power cut recently written files may "
               "be empty or truncated (a later sync finds them by size).",
               default=False, kind="bool", advanced=True),
    ),
)
