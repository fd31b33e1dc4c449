"""The fsspec filesystem over cloudsync remotes (``cloudsync://REMOTE/path``).

Two ways to name things, as the issue and s3fs's buckets have it:

* ``CloudsyncFileSystem(remote="jotta")``: paths are relative to that remote (``fs.ls("data")``);
* ``CloudsyncFileSystem()`` (what a URL creates): the first path component names the remote
  (``fs.ls("jotta/data")``); ``fs.ls("")`` lists the configured remotes.

Either way ``fs.unstrip_protocol(path)`` gives back ``cloudsync://jotta/data``.  Every other
keyword argument that is not one of fsspec's own is a backend option of the remote
(``version_at=…``, ``hard_delete=True``), exactly like ``--<backend>-<option>`` on the command line.

Instances hold only what they were constructed from (config path, options), so fsspec can pickle
them to Dask workers, which build their own backends from the same config; JottaCloud's rotating
refresh token is shared through that config under a cross-process lock (see
``cloudsync.backends.jottacloud._auth``).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import os
import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from fsspec.spec import AbstractFileSystem

from ..errors import (
    CloudsyncError,
    ConfigError,
    DirNotFound,
    IsFileError,
    NotFound,
    QuotaExceeded,
)
from ..history import ReadOnlyHistory
from ..types import MD5, Entry, PutInfo

if TYPE_CHECKING:
    from ..backend import Backend
    from ..config import Config
    from .files import CloudsyncFile

__all__ = ["CloudsyncFileSystem", "JottacloudFileSystem"]

#: Keyword arguments that belong to fsspec itself, not to the backend.
_FSSPEC_KWARGS = frozenset({
    "use_listings_cache", "listings_expiry_time", "max_paths", "skip_instance_cache",
    "asynchronous", "loop",
})


def _raw_option(value: Any) -> str:
    """A Python value as the option text the config file or a flag would hold."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, _dt.datetime):
        # A naive datetime means local time, as everywhere else in Python.
        return value.astimezone(_dt.UTC).isoformat()
    return str(value)


def translate(exc: BaseException, path: str) -> BaseException:
    """The standard Python exception fsspec callers expect for a cloudsync error.

    cloudsync's errors already derive from the matching built-in ones (ObjectNotFound is a
    FileNotFoundError, AuthError a PermissionError …); the rest become OSError with the same
    one-line message.  Messages never contain secrets (the errors are written that way).
    """
    if isinstance(exc, OSError | NotImplementedError | ValueError):
        return exc
    message = str(exc) if path in str(exc) else f"{path}: {exc}"
    if isinstance(exc, ConfigError):
        return ValueError(message)
    if isinstance(exc, ReadOnlyHistory):  # version_at / versions views refuse writes
        return PermissionError(errno.EROFS, message)
    if isinstance(exc, QuotaExceeded):
        return OSError(errno.ENOSPC, message)
    return OSError(message)


class CloudsyncFileSystem(AbstractFileSystem):  # type: ignore[misc]
    """fsspec filesystem for any cloudsync remote.

    >>> import fsspec
    >>> fs = fsspec.filesystem("cloudsync", remote="jotta")       # doctest: +SKIP
    >>> fs.ls("data")                                               # doctest: +SKIP
    >>> with fsspec.open("cloudsync://jotta/data/x.csv") as f:      # doctest: +SKIP
    ...     head = f.read(100)

    ``remote``: the config name paths are relative to (None: the first path component).
    ``config``: config file path (default: the CLI's lookup, ``CLOUDSYNC_CONFIG`` …).
    ``transfers``: parallel files in ``put``/``get`` of many files (``--transfers``).
    Any other keyword: a backend option of the remote (``version_at=…``) or one of fsspec's
    (``use_listings_cache``, ``listings_expiry_time`` …).
    """

    protocol: ClassVar[str | tuple[str, ...]] = ("cloudsync",)
    root_marker = ""
    #: Backend type a remote must have (None: any); the ``jottacloud://`` protocol sets it.
    required_type: ClassVar[str | None] = None

    def __init__(self, remote: str | None = None, *, config: str | None = None,
                 transfers: int = 4, **storage_options: Any) -> None:
        fs_kwargs = {k: v for k, v in storage_options.items() if k in _FSSPEC_KWARGS}
        super().__init__(**fs_kwargs)
        self.remote = remote.rstrip(":") if remote else None
        self.config_path = config
        self.transfers = max(1, int(transfers))
        self.backend_options = {k: v for k, v in storage_options.items() if k not in _FSSPEC_KWARGS}
        self._config: Config | None = None
        self._backends: dict[str, Backend] = {}
        self._lock = threading.RLock()
        if self.remote is not None:
            # Fail at once for a remote that does not exist or has options it does not know.
            self._remote_type(self.remote, error=ValueError)
            # Bound to a remote: a full URL loses the remote part too (see _strip_bound).
            self._strip_protocol = self._strip_bound  # type: ignore[method-assign]

    # ------------------------------------------------------------------ paths
    @classmethod
    def _after_protocol(cls, path: Any) -> tuple[str, str | None]:
        """``(path as text, what follows "cloudsync://" or "cloudsync::")``; None: no protocol."""
        text = os.fspath(path) if not isinstance(path, str) else path
        for proto in cls._protocols():
            for sep in ("://", "::"):
                if text.startswith(proto + sep):
                    return text, text[len(proto) + len(sep):]
        return text, None

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        text, rest = cls._after_protocol(path)
        return (text if rest is None else rest).strip("/")

    def _strip_bound(self, path: Any) -> Any:
        """``_strip_protocol`` of a filesystem bound to one remote: ``cloudsync://jotta/a`` → ``a``."""
        if isinstance(path, list):
            return [self._strip_bound(p) for p in path]
        text, rest = self._after_protocol(path)
        if rest is None:
            return text.strip("/")
        host, _, inner = rest.partition("/")
        if host.rstrip(":") != self.remote:
            raise ValueError(
                f"{text}: names remote {host!r}, but this filesystem is bound to remote "
                f"{self.remote!r} (create one without remote= to use several remotes)"
            )
        return inner.strip("/")

    @classmethod
    def _protocols(cls) -> tuple[str, ...]:
        return (cls.protocol,) if isinstance(cls.protocol, str) else tuple(cls.protocol)

    @staticmethod
    def _get_kwargs_from_urls(path: str) -> dict[str, Any]:
        return {}  # the remote stays in the path, like an s3fs bucket

    def unstrip_protocol(self, name: str) -> str:
        proto = self._protocols()[0]
        for p in self._protocols():
            if name.startswith(p + "://"):
                return name
        name = name.strip("/")
        if self.remote is not None:
            return f"{proto}://{self.remote}/{name}" if name else f"{proto}://{self.remote}"
        return f"{proto}://{name}"

    def _split(self, path: str) -> tuple[str, str]:
        """fsspec path → (remote name, path inside the remote); remote "" is the top level."""
        path = self._strip_protocol(path)
        if self.remote is not None:
            return self.remote, path
        head, _, rest = path.partition("/")
        return head.rstrip(":"), rest.strip("/")

    def _join(self, remote: str, inner: str) -> str:
        """The fsspec name of ``inner`` (a backend path) on ``remote``."""
        if self.remote is not None:
            return inner
        return f"{remote}/{inner}" if inner else remote

    # ------------------------------------------------------------------ backends
    @property
    def config(self) -> Config:
        with self._lock:
            if self._config is None:
                from ..config import Config

                self._config = Config.load(self.config_path)
            return self._config

    def _remote_type(self, name: str, error: type[Exception] = FileNotFoundError) -> str:
        layers = self.config.layers(name) if name else None
        if layers is None:
            if name == "local":
                type_name = "local"
            else:
                where = self.config.path or "the in-memory config"
                raise error(
                    f"unknown remote {name!r}: no such remote in {where} "
                    "(`cloudsync listremotes` shows the configured ones)"
                )
        else:
            stored, overlay = layers
            type_name = overlay.get("type") or stored.get("type", "")
        if self.required_type is not None and type_name != self.required_type:
            raise error(
                f"remote {name!r} is a {type_name or 'untyped'} remote, not {self.required_type} "
                f"(use cloudsync://{name}/… for it)"
            )
        from ..registry import get_spec

        spec = get_spec(type_name)
        known = {opt.name for opt in spec.options}
        unknown = sorted(set(self.backend_options) - known)
        if unknown:
            raise TypeError(
                f"unknown storage option(s) {', '.join(unknown)} for {type_name} remote {name!r} "
                f"(`cloudsync help backend {type_name}` lists its options)"
            )
        return type_name

    def backend(self, remote: str) -> Backend:
        """The backend of ``remote``, rooted at the top of the remote (built on first use)."""
        with self._lock:
            backend = self._backends.get(remote)
            if backend is not None:
                return backend
            type_name = self._remote_type(remote)
            from ..remote import open_backend

            flags = {type_name: {k: _raw_option(v) for k, v in self.backend_options.items()}}
            try:
                backend, _ = open_backend(f"{remote}:/", self.config, backend_flags=flags,
                                          file_ok=False)
            except CloudsyncError as exc:
                raise translate(exc, remote) from None
            self._backends[remote] = backend
            return backend

    def _resolve(self, path: str) -> tuple[Backend, str]:
        remote, inner = self._split(path)
        if not remote:
            raise IsADirectoryError(f"{path or '/'}: the top level holds remotes, not files")
        return self.backend(remote), inner

    def close(self) -> None:
        """Close the backends' connections (the filesystem stays usable: they reopen)."""
        with self._lock:
            backends, self._backends = list(self._backends.values()), {}
        for backend in backends:
            backend.close()

    # ------------------------------------------------------------------ metadata
    def _info(self, remote: str, entry: Entry) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self._join(remote, entry.path),
            "size": max(entry.size, 0) if not entry.is_dir else 0,
            "type": "directory" if entry.is_dir else "file",
            "mtime": entry.mtime_ns / 1e9 if entry.mtime_ns is not None else None,
        }
        md5 = entry.hashes.get(MD5)
        if md5:
            out["md5"] = md5
        if entry.mime_type:
            out["mime_type"] = entry.mime_type
        return out

    def _dir_info(self, name: str) -> dict[str, Any]:
        return {"name": name, "size": 0, "type": "directory", "mtime": None}

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        path = self._strip_protocol(path)
        remote, inner = self._split(path)
        listing: list[dict[str, Any]] | None = None
        if kwargs.get("refresh"):
            self.invalidate_cache(path)
        else:
            try:
                listing = self.dircache[path]
            except KeyError:
                listing = None
        if listing is None:
            if not remote:
                listing = [self._dir_info(r.name) for r in self.config.remotes()]
            else:
                listing = self._list(remote, inner, path)
            if not (len(listing) == 1 and listing[0]["name"] == path
                    and listing[0]["type"] == "file"):
                self.dircache[path] = listing  # a directory's listing (not a file's own entry)
        if detail:
            return list(listing)
        return sorted(item["name"] for item in listing)

    def _list(self, remote: str, inner: str, path: str) -> list[dict[str, Any]]:
        backend = self.backend(remote)
        try:
            entries = list(backend.list(inner))
        except (DirNotFound, IsFileError, NotADirectoryError):
            # A file lists as itself (fsspec's convention); anything else is not there.
            try:
                entry = backend.stat(inner)
            except NotFound:
                raise FileNotFoundError(f"{path}: no such file or directory") from None
            except CloudsyncError as exc:
                raise translate(exc, path) from None
            if entry.is_dir:
                raise FileNotFoundError(f"{path}: no such file or directory") from None
            return [self._info(remote, entry)]
        except CloudsyncError as exc:
            raise translate(exc, path) from None
        return sorted((self._info(remote, e) for e in entries), key=lambda d: d["name"])

    def find(self, path: str, maxdepth: int | None = None, withdirs: bool = False,
             detail: bool = False, **kwargs: Any) -> Any:
        """Everything below ``path``: one recursive listing where the backend has one
        (JottaCloud: a single streamed request for a whole tree), which also fills the listing
        cache of every directory in it; otherwise fsspec's directory-by-directory walk."""
        path = self._strip_protocol(path)
        remote, inner = self._split(path)
        backend = self.backend(remote) if remote else None
        if maxdepth is not None or backend is None or not backend.has("list_recursive"):
            return super().find(path, maxdepth=maxdepth, withdirs=withdirs, detail=detail, **kwargs)
        try:
            entries = list(backend.list_recursive(inner))
        except (NotFound, NotADirectoryError):
            # A file, or nothing at all: fsspec's own rules for those.
            return super().find(path, maxdepth=maxdepth, withdirs=withdirs, detail=detail, **kwargs)
        except CloudsyncError as exc:
            raise translate(exc, path) from None
        infos = [self._info(remote, e) for e in entries]
        listings: dict[str, list[dict[str, Any]]] = {path: []}
        for info in infos:
            if info["type"] == "directory":
                listings.setdefault(info["name"], [])
        for info in infos:
            listings.setdefault(self._parent(info["name"]), []).append(info)
        for name, listing in listings.items():
            self.dircache[name] = sorted(listing, key=lambda d: d["name"])
        out = {info["name"]: info for info in infos if withdirs or info["type"] != "directory"}
        if withdirs and path:
            out[path] = self.info(path)
        names = sorted(out)
        return {name: out[name] for name in names} if detail else names

    def _entry(self, path: str) -> tuple[Backend, str, Entry]:
        backend, inner = self._resolve(path)
        try:
            return backend, inner, backend.stat(inner)
        except NotFound:
            raise FileNotFoundError(f"{path}: no such file or directory") from None
        except CloudsyncError as exc:
            raise translate(exc, path) from None

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        path = self._strip_protocol(path)
        remote, inner = self._split(path)
        if not remote:
            return self._dir_info("")
        if not inner:
            self.backend(remote)  # an unknown remote raises here
            return self._dir_info(self._join(remote, ""))
        cached = self._ls_from_cache(path)
        if cached is not None:
            for item in cached:
                if item["name"] == path:
                    return dict(item)
        if path in self.dircache:  # listed as a directory: no need to ask again
            return self._dir_info(path)
        _, _, entry = self._entry(path)
        return self._info(remote, entry)

    def _ls_from_cache(self, path: str) -> list[dict[str, Any]] | None:
        parent = self._parent(path)
        try:
            listing = self.dircache[parent]
        except KeyError:
            return None
        if any(item["name"] == path for item in listing):
            return [item for item in listing if item["name"] == path]
        return None

    def checksum(self, path: str) -> int:
        """The file's md5 as an int (s3fs's convention); fsspec's token when there is none."""
        md5 = self.info(path).get("md5")
        return int(md5, 16) if md5 else int(super().checksum(path), 16)

    def ukey(self, path: str) -> str:
        """The md5 hex digest: equal ukeys mean equal content."""
        md5 = self.info(path).get("md5")
        return str(md5) if md5 else str(super().ukey(path))

    def modified(self, path: str) -> _dt.datetime:
        mtime = self.info(path).get("mtime")
        if mtime is None:
            raise NotImplementedError(f"{path}: the backend reports no modification time")
        return _dt.datetime.fromtimestamp(mtime, tz=_dt.UTC)

    def created(self, path: str) -> _dt.datetime:
        """The backends report no separate creation time: a file is created by its last write,
        so this is :meth:`modified`."""
        return self.modified(path)

    # ------------------------------------------------------------------ directories
    def invalidate_cache(self, path: str | None = None) -> None:
        if path is None:
            self.dircache.clear()
        else:
            path = self._strip_protocol(path)
            # The listings below it (a removed or replaced tree) and the ones above it (which
            # hold its entry) are all stale.
            prefix = path + "/" if path else ""
            for key in [k for k in self.dircache if k.startswith(prefix)]:
                self.dircache.pop(key, None)
            while True:
                self.dircache.pop(path, None)
                if not path:
                    break
                path = self._parent(path)
        super().invalidate_cache(path)

    @contextlib.contextmanager
    def _changing(self, path: str) -> Iterator[None]:
        """Around a change of ``path``: cloudsync errors become the standard Python ones, and
        the cached listings the change makes stale are dropped (whatever the outcome)."""
        try:
            yield
        except CloudsyncError as exc:
            raise translate(exc, path) from None
        finally:
            self.invalidate_cache(path)

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        path = self._strip_protocol(path)
        backend, inner = self._resolve(path)
        if not inner:
            return
        if not create_parents and not self.isdir(self._parent(path)):
            raise FileNotFoundError(f"{self._parent(path)}: parent directory does not exist")
        with self._changing(path):
            backend.mkdir(inner)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        path = self._strip_protocol(path)
        if not exist_ok and self.exists(path):
            raise FileExistsError(f"{path}: already exists")
        self.mkdir(path, create_parents=True)

    def rmdir(self, path: str) -> None:
        path = self._strip_protocol(path)
        backend, inner = self._resolve(path)
        with self._changing(path):
            backend.rmdir(inner)

    # ------------------------------------------------------------------ files
    def _open(self, path: str, mode: str = "rb", block_size: int | None = None,
              autocommit: bool = True, cache_options: Mapping[str, Any] | None = None,
              **kwargs: Any) -> CloudsyncFile:
        from .files import CloudsyncFile

        path = self._strip_protocol(path)
        if mode == "rb":
            backend, inner, entry = self._entry(path)
            if entry.is_dir:
                raise IsADirectoryError(f"{path}: is a directory, not a file")
            return CloudsyncFile(self, path, mode, backend=backend, backend_path=inner,
                                 entry=entry, block_size=block_size,
                                 details=self._info(self._split(path)[0], entry))
        if mode not in ("wb", "xb"):
            raise NotImplementedError(
                f"{path}: mode {mode!r} is not supported (cloudsync files are read whole or "
                "written whole: use 'rb', 'wb' or 'xb')"
            )
        backend, inner = self._resolve(path)
        if not inner:
            raise IsADirectoryError(f"{path}: is the top of a remote, not a file")
        if mode == "xb" and self.exists(path):
            raise FileExistsError(f"{path}: already exists")
        if self.isdir(path):
            raise IsADirectoryError(f"{path}: is a directory, not a file")
        return CloudsyncFile(self, path, "wb", backend=backend, backend_path=inner,
                             block_size=block_size, autocommit=autocommit)

    def cat_file(self, path: str, start: int | None = None, end: int | None = None,
                 **kwargs: Any) -> bytes:
        path = self._strip_protocol(path)
        backend, _inner, entry = self._entry(path)
        if entry.is_dir:
            raise IsADirectoryError(f"{path}: is a directory, not a file")
        size = entry.size
        lo = 0 if start is None else (max(0, size + start) if start < 0 else start)
        hi = size if end is None else (max(0, size + end) if end < 0 else min(end, size))
        if lo >= hi:
            return b""
        try:
            with backend.open_entry(entry, lo, hi) as stream:
                return stream.read()
        except CloudsyncError as exc:
            raise translate(exc, path) from None

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        import io
        import time

        path = self._strip_protocol(path)
        backend, inner = self._resolve(path)
        if mode == "create" and self.exists(path):
            raise FileExistsError(f"{path}: already exists")
        with self._changing(path):
            backend.put(inner, io.BytesIO(value), PutInfo(size=len(value), mtime_ns=time.time_ns()))

    def rm_file(self, path: str) -> None:
        path = self._strip_protocol(path)
        backend, inner = self._resolve(path)
        with self._changing(path):
            backend.delete(inner)

    def _rm(self, path: str) -> None:
        if self.isdir(path):
            self.rmdir(path)
        else:
            self.rm_file(path)

    def rm(self, path: str | list[str], recursive: bool = False,
           maxdepth: int | None = None) -> None:
        if isinstance(path, str) and recursive and maxdepth is None:
            stripped = self._strip_protocol(path)
            backend, inner = self._resolve(stripped)
            if inner and backend.has("purge") and self.isdir(stripped):
                with self._changing(stripped):
                    backend.purge(inner)  # one request where the backend can
                return
        paths = self.expand_path(path, recursive=recursive, maxdepth=maxdepth)
        # Children before their parents: backends refuse to remove non-empty directories.
        for p in sorted(paths, key=lambda p: (p.count("/"), p), reverse=True):
            self._rm(p)

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        """Copy one file: server-side when both are on one remote that can, else streamed."""
        path1, path2 = self._strip_protocol(path1), self._strip_protocol(path2)
        src, src_inner, entry = self._entry(path1)
        dst, dst_inner = self._resolve(path2)
        with self._changing(path2):
            if entry.is_dir:
                dst.mkdir(dst_inner)
            elif dst.has("copy") and dst.same_remote(src):
                dst.copy(src, src_inner, dst_inner)
            else:
                with src.open_entry(entry) as stream:
                    info = PutInfo(size=entry.size, mtime_ns=entry.mtime_ns, hashes=entry.hashes)
                    dst.put(dst_inner, stream, info)

    def mv(self, path1: Any, path2: Any, recursive: bool = False, maxdepth: int | None = None,
           **kwargs: Any) -> None:
        """Move: one server-side rename where the backend can, else copy and delete."""
        if (isinstance(path1, str) and isinstance(path2, str) and maxdepth is None
                and self._move_server_side(path1, path2, recursive)):
            return
        super().mv(path1, path2, recursive=recursive, maxdepth=maxdepth, **kwargs)

    def _move_server_side(self, path1: str, path2: str, recursive: bool) -> bool:
        p1, p2 = self._strip_protocol(path1), self._strip_protocol(path2)
        if self._has_magic(p1) or path2.endswith("/"):
            return False
        try:
            src, src_inner, entry = self._entry(p1)
        except FileNotFoundError:
            return False
        dst, dst_inner = self._resolve(p2)
        if not src_inner or not dst_inner or not dst.same_remote(src) or self.exists(p2):
            return False  # into an existing directory etc.: fsspec's generic rules decide
        if not (dst.has("dir_move") and recursive) if entry.is_dir else not dst.has("move"):
            return False
        with self._changing(p1), self._changing(p2):
            if entry.is_dir:
                dst.dir_move(src, src_inner, dst_inner)
            else:
                dst.move(src, src_inner, dst_inner)
        return True

    @staticmethod
    def _has_magic(path: str) -> bool:
        from glob import has_magic

        return bool(has_magic(path))

    # ------------------------------------------------------------------ transfers
    def put_file(self, lpath: str, rpath: str, callback: Any = None, mode: str = "overwrite",
                 **kwargs: Any) -> None:
        from .transfers import Transfers

        Transfers(self).put_one(os.fspath(lpath), self._strip_protocol(rpath), callback, mode)

    def get_file(self, rpath: str, lpath: str, callback: Any = None, outfile: Any = None,
                 **kwargs: Any) -> None:
        from .transfers import Transfers

        if outfile is not None:
            super().get_file(rpath, lpath, callback=callback, outfile=outfile, **kwargs)
            return
        Transfers(self).get_one(self._strip_protocol(rpath), os.fspath(lpath), callback)

    def put(self, lpath: Any, rpath: Any, recursive: bool = False, callback: Any = None,
            maxdepth: int | None = None, **kwargs: Any) -> None:
        """Upload files and trees: fsspec's path rules, then ``transfers`` files at a time
        through the engine (verified, atomic, md5 handed to backends that need it)."""
        from .transfers import Transfers

        Transfers(self).run("put", lpath, rpath, recursive=recursive, callback=callback,
                            maxdepth=maxdepth, **kwargs)

    def get(self, rpath: Any, lpath: Any, recursive: bool = False, callback: Any = None,
            maxdepth: int | None = None, **kwargs: Any) -> None:
        """Download files and trees, ``transfers`` at a time, through the engine."""
        from .transfers import Transfers

        Transfers(self).run("get", rpath, lpath, recursive=recursive, callback=callback,
                            maxdepth=maxdepth, **kwargs)


class JottacloudFileSystem(CloudsyncFileSystem):
    """``jottacloud://REMOTE/path``: the same filesystem, for JottaCloud remotes only."""

    protocol = ("jottacloud",)
    required_type = "jottacloud"
