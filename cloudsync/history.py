"""File versions and the trash: value types, times, rclone's version names, and the past view.

Backends offer history through two optional capabilities (see :mod:`cloudsync.backend`):
``versions`` (list a file's versions, read one, make one current again, list a folder as it
was at a moment) and ``trash`` (list, restore, remove for good).  This module holds what every
such backend and the command line share:

* :class:`Version` and :class:`TrashItem`, the values those capabilities return;
* :func:`parse_time` – RFC 3339 or an rclone duration ("3d" = three days ago);
* rclone's version names (``file-v2026-11-01-120000-000.txt``, lib/version in rclone);
* :data:`HISTORY_OPTIONS` – the ``versions`` and ``version_at`` backend options, declared once
  (flags, environment variables, config keys and ``help backend`` follow from them);
* :class:`HistoryView` – a read-only backend that shows another one as it was at a moment
  (``version_at``) and/or with its older versions listed beside the current ones
  (``versions``), the way rclone's S3 and B2 backends do.
"""

from __future__ import annotations

import builtins
import datetime as _dt
import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, BinaryIO

from .backend import Backend, Readable
from .errors import (
    ConfigError,
    DirNotFound,
    HashUnsupported,
    IsDirError,
    IsFileError,
    NoRetryError,
    ObjectNotFound,
)
from .options import Option, parse_duration
from .types import MD5, Entry, PutInfo, Usage, join_path, parent_of

__all__ = [
    "COMPLETED",
    "HISTORY_OPTIONS",
    "HistoryView",
    "TrashItem",
    "Version",
    "format_time",
    "parse_time",
    "pick_version",
    "split_version_name",
    "version_name",
    "wrap_history",
]

#: The only state a version can be restored or read from (JottaCloud also has INCOMPLETE –
#: an upload that never finished – and CORRUPT – one that failed its checksum).
COMPLETED = "COMPLETED"


@dataclass(frozen=True, slots=True)
class Version:
    """One stored version of a file.

    ``id`` is the backend's handle (JottaCloud: the revision number).  ``stored_ns`` is when the
    version was stored (uploaded), ``mtime_ns`` the file's modification time it carries.
    ``current`` marks the version a plain read returns.
    """

    id: str
    size: int
    mtime_ns: int | None
    md5: str
    stored_ns: int
    state: str = COMPLETED
    current: bool = False

    @property
    def restorable(self) -> bool:
        return self.state == COMPLETED


@dataclass(frozen=True, slots=True)
class TrashItem:
    """Something in the trash: its original path (relative to the backend root) and when it went."""

    path: str
    is_dir: bool
    size: int = -1
    md5: str = ""
    mtime_ns: int | None = None
    deleted_ns: int | None = None


# ---------------------------------------------------------------------------- times

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?"
    r"\s*([Zz]|[+-]\d{2}:?\d{2})?$"
)


def parse_time(text: str, now_ns: int | None = None) -> int:
    """A moment as nanoseconds since the epoch: RFC 3339 (``2026-11-01T12:00:00Z``, a date
    alone, or a local time without offset) or an rclone duration meaning "that long ago"
    (``3d``, ``1h30m``, ``2w``).  ValueError for anything else."""
    t = text.strip()
    m = _RFC3339.match(t)
    if m:
        y, mo, d, hh, mm, ss, frac, tz = m.groups()
        when = _dt.datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
        if tz is None:
            when = when.astimezone()  # no offset: local time, as rclone's fs.Time parses it
        elif tz in ("Z", "z"):
            when = when.replace(tzinfo=_dt.UTC)
        else:
            sign = 1 if tz[0] == "+" else -1
            digits = tz[1:].replace(":", "")
            offset = _dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            when = when.replace(tzinfo=_dt.timezone(sign * offset))
        ns = int(when.timestamp()) * 1_000_000_000
        return ns + int((frac or "0").ljust(9, "0"))
    try:
        ago = parse_duration(t)
    except ValueError:
        raise ValueError(
            f"not a time: {text!r} (use RFC 3339 like 2026-11-01T12:00:00Z, or a duration ago like 3d)"
        ) from None
    now = time.time_ns() if now_ns is None else now_ns
    return now - int(ago * 1_000_000_000)


def format_time(ns: int | None) -> str:
    """UTC, second precision, RFC 3339 – how history commands print moments."""
    if ns is None:
        return "-"
    return _dt.datetime.fromtimestamp(ns // 1_000_000_000, tz=_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------- version names

_VERSION_TAG = re.compile(r"-v(\d{4})-(\d{2})-(\d{2})-(\d{2})(\d{2})(\d{2})-(\d{3})")


def _split_ext(name: str) -> tuple[str, str]:
    # Go's path.Ext: from the last dot of the last element, unless the name starts with it.
    dot = name.rfind(".")
    if dot <= 0:
        return name, ""
    return name[:dot], name[dot:]


def version_name(path: str, stored_ns: int) -> str:
    """``dir/file.txt`` stored at 2026-11-01 12:00:00.000 UTC → ``dir/file-v2026-11-01-120000-000.txt``."""
    parent, name = parent_of(path), path.rsplit("/", 1)[-1]
    base, ext = _split_ext(name)
    when = _dt.datetime.fromtimestamp(stored_ns // 1_000_000_000, tz=_dt.UTC)
    ms = (stored_ns // 1_000_000) % 1000
    tag = when.strftime("-v%Y-%m-%d-%H%M%S") + f"-{ms:03d}"
    return join_path(parent, base + tag + ext)


def split_version_name(path: str) -> tuple[str, int] | None:
    """The inverse of :func:`version_name`: ``(plain path, stored time rounded to ms)`` or None."""
    parent, name = parent_of(path), path.rsplit("/", 1)[-1]
    base, ext = _split_ext(name)
    tags = list(_VERSION_TAG.finditer(base))
    m = tags[-1] if tags else None
    if m is None or m.end() != len(base):
        return None
    y, mo, d, hh, mm, ss, ms = (int(g) for g in m.groups())
    try:
        when = _dt.datetime(y, mo, d, hh, mm, ss, tzinfo=_dt.UTC)
    except ValueError:
        return None
    ns = int(when.timestamp()) * 1_000_000_000 + ms * 1_000_000
    return join_path(parent, base[: m.start()] + ext), ns


def pick_version(versions: Iterable[Version], at_ns: int) -> Version | None:
    """The version that was current at ``at_ns``: the newest restorable one stored by then."""
    best: Version | None = None
    for v in versions:
        if not v.restorable or v.stored_ns > at_ns:
            continue
        if best is None or v.stored_ns > best.stored_ns or (
            v.stored_ns == best.stored_ns and _id_key(v.id) > _id_key(best.id)
        ):
            best = v
    return best


def _id_key(version_id: str) -> tuple[int, str]:
    # Numeric ids (JottaCloud revision numbers, memory counters) order numerically.
    return (int(version_id), "") if version_id.isdigit() else (0, version_id)


# ---------------------------------------------------------------------------- options

HISTORY_OPTIONS: tuple[Option, ...] = (
    Option(
        "versions",
        "Include old versions in directory listings, named like file-v2026-11-01-120000-000.txt "
        "(read-only; as rclone's S3 and B2 backends).",
        default=False, kind="bool", advanced=True,
    ),
    Option(
        "version_at",
        "Show the files as they were at this time: RFC 3339 (2026-11-01T12:00:00Z) or a "
        "duration ago (3d). Read-only; 'off' or empty = now.",
        default="off", advanced=True,
    ),
)


def wrap_history(backend: Backend, options: Mapping[str, Any]) -> Backend:
    """``backend`` itself, or a :class:`HistoryView` of it when ``versions``/``version_at`` ask."""
    show = bool(options.get("versions", False))
    raw_at = str(options.get("version_at") or "").strip()
    at_ns: int | None = None
    if raw_at and raw_at.lower() != "off":
        try:
            at_ns = parse_time(raw_at)
        except ValueError as exc:
            raise ConfigError(f"bad value for {backend.type_name} option 'version_at': {exc}") from None
    if not show and at_ns is None:
        return backend
    if not backend.has("versions"):
        raise ConfigError(f"{backend.type_name} keeps no file versions: 'versions'/'version_at' unavailable")
    return HistoryView(backend, at_ns=at_ns, show_versions=show)


class ReadOnlyHistory(NoRetryError):
    """A write to a remote shown as it was in the past (or with its old versions): retrying
    cannot help."""


class HistoryView(Backend):
    """Read-only view of a backend with the ``versions`` capability.

    With ``at_ns`` every file shows the version that was current then; files deleted after it
    are visible again (from the trash) and files created after it are absent.  With
    ``show_versions`` every file's older versions are listed beside it under rclone's version
    names.  Writing is refused, as rclone refuses it in ``--s3-version-at`` mode.
    """

    def __init__(self, inner: Backend, *, at_ns: int | None, show_versions: bool) -> None:
        super().__init__(inner.name, inner.root, replace(inner.features, partial_uploads=False))
        self.inner = inner
        self.at_ns = at_ns
        self.show_versions = show_versions
        # path -> the version a listing or stat resolved it to (None = the current one)
        self._resolved: dict[str, Version | None] = {}
        self._lock = threading.Lock()
        self.type_name = inner.type_name  # type: ignore[misc]

    def __str__(self) -> str:
        return str(self.inner)

    def _mode(self) -> str:
        flag = "version-at" if self.at_ns is not None else "versions"
        return f"--{self.inner.type_name}-{flag}"

    def _readonly(self, path: str) -> ReadOnlyHistory:
        return ReadOnlyHistory(f"can't modify or delete files in {self._mode()} mode", path=path or "/")

    def _key(self, path: str) -> str:
        return path.casefold() if self.features.case_insensitive else path

    # ------------------------------------------------------------------ listing
    def _entry(self, path: str, v: Version) -> Entry:
        return Entry(path, False, v.size, v.mtime_ns, {MD5: v.md5} if v.md5 else {})

    def _remember(self, path: str, v: Version | None) -> None:
        with self._lock:
            self._resolved[self._key(path)] = v

    def list(self, path: str) -> builtins.list[Entry]:
        out: builtins.list[Entry] = []
        if self.at_ns is not None:
            try:
                past = self.inner.list_at(path, self.at_ns)
            except IsFileError:
                # A file now, but no folder then (or a file that did not exist yet).
                raise DirNotFound(path=path or "/") from None
            for entry, v in past:
                if not entry.is_dir:
                    self._remember(entry.path, v)
                out.append(entry)
        else:
            out = builtins.list(self.inner.list(path))
        if not self.show_versions:
            return out
        extra: builtins.list[Entry] = []
        for entry in out:
            if entry.is_dir:
                continue
            shown = self._resolved.get(self._key(entry.path)) if self.at_ns is not None else None
            for v in self.inner.versions(entry.path):
                if not v.restorable or (v.current and shown is None):
                    continue
                if shown is not None and v.id == shown.id:
                    continue
                if self.at_ns is not None and v.stored_ns > self.at_ns:
                    continue
                name = version_name(entry.path, v.stored_ns)
                self._remember(name, v)
                extra.append(self._entry(name, v))
        return out + extra

    def _listed(self, path: str) -> Entry:
        """``path`` as the listing of its parent shows it (the past view has nothing else)."""
        try:
            listing = self.list(parent_of(path))
        except DirNotFound:
            raise ObjectNotFound(path=path) from None
        for entry in listing:
            if self._key(entry.path) == self._key(path):
                return entry
        raise ObjectNotFound(path=path)

    def _resolve(self, path: str) -> tuple[str, Version | None]:
        """(plain path, version) for ``path``; the version None means "the current file"."""
        key = self._key(path)
        with self._lock:
            seen = key in self._resolved
            known = self._resolved.get(key)
        if seen:
            base = split_version_name(path)
            plain = base[0] if base is not None and known is not None and not known.current else path
            return plain, known
        if self.at_ns is not None:
            if self._listed(path).is_dir:
                raise IsDirError(path=path)
            return self._resolve(path)  # listing it remembered its version
        try:
            entry = self.inner.stat(path)
            if entry.is_dir:
                raise IsDirError(path=path)
            return path, None
        except ObjectNotFound:
            pass
        split = split_version_name(path) if self.show_versions else None
        if split is None:
            raise ObjectNotFound(path=path)
        plain, ns = split
        for v in self.inner.versions(plain):
            if v.restorable and v.stored_ns // 1_000_000 == ns // 1_000_000:
                self._remember(path, v)
                return plain, v
        raise ObjectNotFound(path=path)

    def stat(self, path: str) -> Entry:
        if not path:
            return self.inner.stat(path)
        if self.at_ns is None:
            try:
                return self.inner.stat(path)
            except ObjectNotFound:
                pass
        else:
            return replace(self._listed(path), path=path)
        _, v = self._resolve(path)
        if v is None:
            return self.inner.stat(path)
        return self._entry(path, v)

    def get(self, path: str, start: int = 0, end: int | None = None) -> BinaryIO:
        plain, v = self._resolve(path)
        if v is None:
            return self.inner.get(plain, start, end)
        if v.current and plain == path:
            # Listed a moment ago: open it directly (JottaCloud: one request, no stat first).
            return self.inner.open_entry(self._entry(plain, v), start, end)
        return self.inner.open_version(plain, v.id, start, end)

    def hash(self, path: str, hash_type: str) -> str:
        if hash_type not in self.features.hashes:
            raise HashUnsupported(f"{self.inner.type_name} has no {hash_type} hashes", path=path)
        plain, v = self._resolve(path)
        if v is None:
            return self.inner.hash(plain, hash_type)
        return v.md5 if hash_type == MD5 else ""

    def about(self) -> Usage:
        return self.inner.about()

    def set_concurrency(self, threads: int) -> None:
        self.inner.set_concurrency(threads)

    def set_low_level_retries(self, tries: int) -> None:
        self.inner.set_low_level_retries(tries)

    def close(self) -> None:
        self.inner.close()

    # ------------------------------------------------------------------ writes are refused
    def put(self, path: str, stream: Readable, info: PutInfo) -> Entry:
        raise self._readonly(path)

    def delete(self, path: str) -> None:
        raise self._readonly(path)

    def mkdir(self, path: str) -> None:
        raise self._readonly(path)

    def rmdir(self, path: str) -> None:
        raise self._readonly(path)
