"""The backend contract.

A backend is a storage system seen from one root folder.  It implements a small required
contract (:class:`Backend`'s abstract methods) and may implement optional capabilities by
overriding the methods listed in :data:`CAPABILITIES`; the engine discovers them at run time
with :meth:`Backend.has` and falls back to generic code when one is missing (or raises the
matching ``Cant…`` error, or was switched off with ``--disable``).

Paths handed to a backend are relative to its root: ``/``-separated, no leading or trailing
slash, ``""`` meaning the root.  Names are the user's real names; a backend that needs to
encode restricted characters does so inside (and decodes on listing).

Error contract (the engine relies on it; see :mod:`cloudsync.errors`):

* a listing that fails raises – it never returns a partial listing;
* a missing directory is :class:`~cloudsync.errors.DirNotFound`, a missing file
  :class:`~cloudsync.errors.ObjectNotFound`;
* a failed or short ``put`` leaves nothing visible under the destination name;
* network trouble is :class:`~cloudsync.errors.TransientError` (the engine retries it).
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar, Protocol

from .errors import (
    CantCopy,
    CantDirMove,
    CantMove,
    CantPurge,
    CantSetModTime,
    Unsupported,
)
from .types import MD5, MODTIME_UNSUPPORTED, Entry, PutInfo, Usage

if TYPE_CHECKING:
    from .history import TrashItem, Version

__all__ = [
    "CAPABILITIES",
    "Backend",
    "Features",
    "Readable",
]

#: Optional capabilities, by method name.
CAPABILITIES: tuple[str, ...] = (
    "copy",
    "move",
    "dir_move",
    "purge",
    "list_recursive",
    "set_modtime",
    "cleanup",
    "public_link",
    "set_dir_modtime",
    "copy_batch",
    "metadata",
    "versions",
    "trash",
)


class Readable(Protocol):
    """Anything ``put`` can read bytes from (files, sockets, HTTP bodies, pipes)."""

    def read(self, n: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class Features:
    """Static facts about a backend that the engine uses to decide.

    ``precision_ns``: modtime resolution (1 for nanoseconds, 1_000_000_000 for seconds,
    :data:`~cloudsync.types.MODTIME_UNSUPPORTED` when modtimes cannot be stored).
    ``hashes``: hash types the backend returns cheaply (from listings or on demand).
    ``restricted_chars``: characters this backend cannot store even after its own encoding.
    ``max_name_length``: longest name (one path element) in characters, None = unlimited.
    ``partial_uploads``: the engine may upload under a temporary name and ``move`` it in place.
    ``server_side_across_configs``: server-side copy/move works between two remotes of this type.
    ``refuses_file_root``: listing a root that names a file raises RootIsFile (see below).
    """

    hashes: frozenset[str] = frozenset({MD5})
    precision_ns: int = 1
    case_insensitive: bool = False
    can_have_empty_dirs: bool = True
    restricted_chars: str = ""
    max_name_length: int | None = None
    is_local: bool = False
    slow_hash: bool = False
    partial_uploads: bool = False
    server_side_across_configs: bool = False
    read_mime_type: bool = False
    #: Listing the root raises :class:`~cloudsync.errors.RootIsFile` when the root names a
    #: file, so a caller needs no probe request first to refuse a file as a directory.
    refuses_file_root: bool = False
    #: An upload must announce the file's md5 before its first byte (JottaCloud): the engine
    #: then asks a local source for it first, which the persistent hash cache answers.
    md5_before_upload: bool = False

    @property
    def modtime_supported(self) -> bool:
        return self.precision_ns < MODTIME_UNSUPPORTED


class Backend(ABC):
    """One storage system seen from one root folder.

    ``name`` is the config name the user gave (``"jotta"``, ``"local"``, ``":memory"`` for
    on-the-fly remotes); two backends with the same ``type_name`` and ``name`` are "the same
    remote", which is what allows server-side copy and move between them.
    """

    #: Backend type as registered (``"local"``, ``"memory"``, ``"jottacloud"``).
    type_name: ClassVar[str] = ""

    def __init__(self, name: str, root: str, features: Features) -> None:
        self.name = name
        # Subclasses normalise the root their own way (local keeps an absolute OS path).
        self.root = root
        self.features = features
        self._disabled: set[str] = set()

    # ------------------------------------------------------------------ description
    def __str__(self) -> str:
        return f"{self.type_name} root '{self.root}'"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}:{self.root}>"

    # ------------------------------------------------------------------ capabilities
    def capabilities(self) -> frozenset[str]:
        """Optional capabilities this backend implements and that are not disabled."""
        return frozenset(
            cap
            for cap in CAPABILITIES
            if cap not in self._disabled
            and getattr(type(self), cap) is not getattr(Backend, cap)
        )

    def has(self, capability: str) -> bool:
        if capability not in CAPABILITIES:
            raise KeyError(capability)
        return capability in self.capabilities()

    def walks_recursively(self) -> bool:
        """Whether a walk of a tree asks for it in one :meth:`list_recursive` stream (remotes:
        one request) rather than one :meth:`list` per directory (local trees: as fast, and
        listed in parallel)."""
        return self.has("list_recursive") and not self.features.is_local

    def disable(self, *capabilities: str) -> None:
        """Switch capabilities off (``--disable copy,list_recursive``); tests use it for fallbacks."""
        for cap in capabilities:
            if cap not in CAPABILITIES:
                raise KeyError(cap)
            self._disabled.add(cap)

    def same_remote(self, other: Backend) -> bool:
        """True when server-side operations from ``other`` into ``self`` are possible."""
        if type(other) is not type(self):
            return False
        return other.name == self.name or self.features.server_side_across_configs

    def describe(self) -> dict[str, Any]:
        """``backend features`` JSON: name, root, precision, hashes, features and capabilities."""
        feats = asdict(self.features)
        feats["hashes"] = sorted(self.features.hashes)
        return {
            "Name": self.name,
            "Type": self.type_name,
            "Root": self.root,
            "String": str(self),
            "Precision": self.features.precision_ns,
            "Hashes": sorted(self.features.hashes),
            "Features": {**{k: v for k, v in feats.items() if isinstance(v, bool)},
                         **{cap: self.has(cap) for cap in CAPABILITIES}},
        }

    # ------------------------------------------------------------------ required contract
    @abstractmethod
    def list(self, path: str) -> Iterable[Entry]:
        """All entries of directory ``path`` (complete, any order).

        Entry paths are relative to the backend root (``path + "/" + name``).  A missing
        directory raises DirNotFound; ``path`` naming a file raises IsFileError (or DirNotFound).
        """

    @abstractmethod
    def stat(self, path: str) -> Entry:
        """The file or directory at ``path``; ObjectNotFound when there is nothing there."""

    @abstractmethod
    def put(self, path: str, stream: Readable, info: PutInfo) -> Entry:
        """Create or replace file ``path`` with the bytes of ``stream``; return the new entry.

        Parent directories are created as needed.  ``info.size`` -1 means unknown.  When the
        stream fails or ends before ``info.size`` bytes, raise and leave nothing new visible
        under ``path`` (an existing file stays as it was).  ``info.mtime_ns`` is stored as the
        modtime (to the backend's precision).
        """

    @abstractmethod
    def get(self, path: str, start: int = 0, end: int | None = None) -> BinaryIO:
        """Open file ``path`` for reading bytes ``[start, end)`` (end None = to EOF; clamped).

        The caller closes the stream.  A missing file raises ObjectNotFound, a directory IsDirError.
        """

    def open_entry(self, entry: Entry, start: int = 0, end: int | None = None) -> BinaryIO:
        """Open a file this backend just listed (``entry`` came from ``list``/``list_recursive``).

        Like :meth:`get`, but a backend may trust what the listing said (size, that it is a
        file) instead of asking again: JottaCloud then sends one request per download, as
        rclone does with an object from a listing.  The default is :meth:`get`.
        """
        return self.get(entry.path, start, end)

    @abstractmethod
    def hash(self, path: str, hash_type: str) -> str:
        """Lower-case hex hash of file ``path``; ``""`` when unknown; HashUnsupported for a
        type not in ``features.hashes``."""

    def known_hash(self, path: str, hash_type: str) -> str | None:
        """The ``hash_type`` hash of file ``path`` if it is known without reading the file (a
        local file's still-valid hash-cache entry), else None: then :meth:`hash` must read it.
        Never raises: a failure here is found again, and reported, by :meth:`hash`."""
        return None

    @abstractmethod
    def delete(self, path: str) -> None:
        """Delete file ``path``; ObjectNotFound if it is not there, IsDirError for a directory."""

    @abstractmethod
    def mkdir(self, path: str) -> None:
        """Create directory ``path`` and its parents; fine if it exists; IsFileError if a file."""

    @abstractmethod
    def rmdir(self, path: str) -> None:
        """Remove empty directory ``path``; DirNotFound if missing, DirectoryNotEmpty if not empty."""

    @abstractmethod
    def about(self) -> Usage:
        """Quota and usage of the whole remote; fields the backend cannot know stay None."""

    # ------------------------------------------------------------------ optional capabilities
    def copy(self, src: Backend, src_path: str, dst_path: str) -> Entry:
        """Server-side copy of file ``src_path`` of ``src`` (a backend with :meth:`same_remote`)."""
        raise CantCopy("server-side copy not supported")

    def copy_batch(
        self, src: Backend, pairs: Sequence[tuple[str, str]]
    ) -> builtins.list[Entry | Exception]:
        """Many small server-side copies at once: one result per ``(src_path, dst_path)`` pair,
        in order – the new entry, or the error that file got.

        Every file keeps :meth:`copy`'s guarantees (nothing half-written is visible).  Worth
        offering when per-file costs can be shared (the local backend flushes a whole batch
        with one journal commit).  Raise only when the batch as a whole failed.
        """
        raise CantCopy("batched server-side copy not supported")

    def move(self, src: Backend, src_path: str, dst_path: str) -> Entry:
        """Server-side move/rename of a file; replaces an existing destination file."""
        raise CantMove("server-side move not supported")

    def dir_move(self, src: Backend, src_path: str, dst_path: str) -> None:
        """Server-side move of a whole directory; DirExists if ``dst_path`` exists."""
        raise CantDirMove("server-side directory move not supported")

    def purge(self, path: str) -> None:
        """Delete directory ``path`` and everything under it; DirNotFound if missing."""
        raise CantPurge("purge not supported")

    def list_recursive(self, path: str) -> Iterator[Entry]:
        """Every file and directory below ``path`` in as few requests as possible, any order.

        Raises (possibly mid-iteration) on failure – never ends early without an error.
        """
        raise Unsupported("recursive listing not supported")

    def set_modtime(self, path: str, mtime_ns: int) -> Entry:
        """Change the modtime of a file in place; CantSetModTime when only a re-upload can."""
        raise CantSetModTime("setting modification times not supported")

    def set_dir_modtime(self, path: str, mtime_ns: int) -> None:
        """Change the modtime of existing directory ``path`` (``""`` is the root).

        The engine copies source directory modtimes with it after all files of a run, deepest
        first (writing into a directory changes its modtime on most file systems), like
        rclone's ``DirSetModTime``.  DirNotFound when ``path`` is missing, IsFileError when it
        is a file; stored to the backend's precision.
        """
        raise Unsupported("setting directory modification times not supported")

    def metadata(self, path: str) -> dict[str, str]:
        """rclone's metadata of file or directory ``path`` (``-M``): string keys and values,
        named as rclone's backend of the same kind names them (local: ``mode``, ``uid``,
        ``gid``, ``atime``, ``mtime``).  Backends without metadata do not implement it."""
        raise Unsupported("metadata not supported")

    def set_metadata(self, path: str, metadata: dict[str, str]) -> None:
        """Apply what this backend can of ``metadata`` (from :meth:`metadata` of a backend of
        the same kind) to the existing ``path``; keys it does not know are ignored."""
        raise Unsupported("metadata not supported")

    def cleanup(self) -> None:
        """Empty the trash / remove old versions."""
        raise Unsupported("cleanup not supported")

    def user_info(self) -> dict[str, str]:
        """Who is logged in (``config userinfo``): rclone's keys (``Username``, ``Email`` …).

        Not a capability of the engine: a backend with an account overrides it.
        """
        raise Unsupported(f"{self} doesn't support UserInfo")

    def public_link(self, path: str, expire: float | None = None, unlink: bool = False) -> str:
        """Create (or with ``unlink`` remove) a public link to ``path``; returns the URL."""
        raise Unsupported("public links not supported")

    # ------------------------------------------------------------------ history: versions
    # The ``versions`` capability (discovered through :meth:`versions`; a backend offering it
    # implements all four methods).  Version ids are the backend's own (strings).
    def versions(self, path: str) -> builtins.list[Version]:
        """Every version of file ``path``, newest first, the current one marked; INCOMPLETE and
        CORRUPT ones included with their state (they are never restorable).  ObjectNotFound
        when there is no file (live or trashed) at ``path``."""
        raise Unsupported("file versions not supported")

    def open_version(self, path: str, version_id: str, start: int = 0,
                     end: int | None = None) -> BinaryIO:
        """Read bytes ``[start, end)`` of one version, like :meth:`get`; ObjectNotFound for an
        unknown id, NoRetryError for a version that is not restorable."""
        raise Unsupported("file versions not supported")

    def restore_version(self, path: str, version_id: str, to: str | None = None) -> Entry:
        """Make version ``version_id`` of ``path`` the current content of ``path`` (or write it
        to ``to``).  The content it replaces stays in the history as an older version."""
        raise Unsupported("file versions not supported")

    def list_at(self, path: str, at_ns: int) -> builtins.list[tuple[Entry, Version]]:
        """Directory ``path`` as it was at ``at_ns``: every file with the version current then
        (files deleted since included, files created since left out) and its sub-directories.
        Directory entries carry a placeholder version.  DirNotFound when nothing is known."""
        raise Unsupported("file versions not supported")

    # ------------------------------------------------------------------ history: trash
    # The ``trash`` capability (discovered through :meth:`trash`); :meth:`cleanup` empties it.
    def trash(self, path: str, recursive: bool = False) -> builtins.list[TrashItem]:
        """What is in the trash below directory ``path`` (original paths, relative to the root):
        the trashed items themselves, and with ``recursive`` also everything inside trashed
        folders."""
        raise Unsupported("trash not supported")

    def restore_trash(self, path: str, to: str | None = None) -> builtins.list[Entry]:
        """Bring trashed file or folder ``path`` back to where it was (or to ``to``), a folder
        with everything that was trashed with it; returns the restored files.  ObjectNotFound
        when nothing at ``path`` is in the trash; AlreadyExists (nothing changed) when a live
        file now holds the target path."""
        raise Unsupported("trash not supported")

    def remove_trash(self, path: str) -> None:
        """Remove trashed item ``path`` (and everything inside it) permanently."""
        raise Unsupported("trash not supported")

    @property
    def deletes_to_trash(self) -> bool:
        """Whether a delete moves the file to a trash it can be restored from."""
        return self.has("trash")

    # ------------------------------------------------------------------ lifecycle
    def set_concurrency(self, threads: int) -> None:  # noqa: B027 - optional hook
        """At most ``threads`` threads will call this backend at once (the engine's transfers
        plus checkers); a backend with a connection pool sizes it so that none waits or
        throws a connection away."""

    def prefetch_lists(self, paths: Sequence[str] | None) -> None:  # noqa: B027 - optional hook
        """A hint from a tree walk: the folders ``paths`` will be listed soon, in this order
        (None: the walk is over, forget the hints).  A backend may list them ahead of time;
        :meth:`list` must still answer exactly as it would have."""

    def set_low_level_retries(self, tries: int) -> None:  # noqa: B027 - optional hook
        """``--low-level-retries``: a backend that retries its own requests (and marks the
        errors it gave up on ``low_level_retried``) makes at most ``tries`` tries per request.
        A backend without this hook is retried per call by the engine instead."""

    def remove_leftovers(self) -> int:
        """Remove temporary files an interrupted earlier run left behind (and listings of this
        run came across); returns how many.  Called after a copy, sync or move."""
        return 0

    def close(self) -> None:  # noqa: B027 - optional hook, default does nothing
        """Release connections and background resources; may be called more than once."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

