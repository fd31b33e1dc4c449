"""A persistent cache of local file hashes, so an unchanged file is never hashed twice.

An SQLite database in the platform cache directory (``~/.cache/cloudsync/hashcache.sqlite``
on Linux; platformdirs elsewhere).  One row per absolute path, valid only while the file's
device, inode, size, mtime and ctime (nanoseconds) are exactly what they were when it was
hashed.  ctime is part of the key because no user tool can set it back: a file rewritten with
the same size whose mtime was restored (``touch -r``, ``os.utime``) still misses.

Safety rules (the cache is a speed-up, never a source of truth):

* a hash is stored only when the file's stat is identical before and after hashing, and its
  timestamps are at least :data:`SETTLE_S` old (a write within the same timestamp tick after
  hashing would otherwise go unseen);
* every row carries a CRC of its contents; a row that does not verify is a miss;
* a damaged database file is deleted and rebuilt (one warning); a cache that cannot be opened
  or written (read-only home, full disk) is switched off for the process (one warning) and
  the hash is computed as usual;
* several processes may use it at once: SQLite's WAL mode and a busy timeout serialise them,
  and a write that still finds the database locked is simply dropped.

:func:`file_hash` is the hook the local backend calls; :func:`configure` switches the cache
off (``--no-hash-cache``); ``cloudsync hashcache stats|clear`` use :class:`HashCache`.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import time
import zlib
from collections.abc import Callable
from typing import Any

__all__ = [
    "SETTLE_S",
    "HashCache",
    "configure",
    "counters",
    "default_path",
    "file_hash",
    "get_cache",
    "log_summary",
]

log = logging.getLogger(__name__)

#: A file whose mtime or ctime is younger than this is hashed but not remembered.
SETTLE_S = 1.0
_SCHEMA = "1"
_FLUSH_EVERY = 256
_HASH_COLUMNS = ("md5", "sha1")
_U64 = 1 << 64


def default_path() -> str:
    """Where the cache lives: ``CLOUDSYNC_HASH_CACHE`` or the platform cache directory."""
    explicit = os.environ.get("CLOUDSYNC_HASH_CACHE")
    if explicit:
        return os.path.abspath(os.path.expanduser(explicit))
    import platformdirs

    return os.path.join(platformdirs.user_cache_dir("cloudsync", appauthor=False),
                        "hashcache.sqlite")


def _signed(n: int) -> int:
    # SQLite integers are signed 64-bit; inode and device numbers may use all 64 bits.
    return n - _U64 if n >= 1 << 63 else n


_Key = tuple[int, int, int, int, int]  # dev, ino, size, mtime_ns, ctime_ns


def _key(st: os.stat_result) -> _Key:
    return (_signed(st.st_dev), _signed(st.st_ino), st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _tag(path: bytes, key: _Key, md5: str | None, sha1: str | None) -> int:
    text = f"{key}|{md5 or ''}|{sha1 or ''}".encode()
    return zlib.crc32(path + b"\0" + text)


class HashCache:
    """One cache database.  Thread-safe; every failure degrades to "not cached"."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path or default_path()
        self._lock = threading.Lock()
        self._db: Any = None
        self._disabled = False
        self._warned = False
        # path -> (key, {type: hex}) waiting to be written (also answered from here)
        self._pending: dict[bytes, tuple[_Key, dict[str, str]]] = {}
        self.hits = 0
        self.hashed = 0
        self._hits_saved = 0
        self._hashed_saved = 0

    # -- opening ---------------------------------------------------------------------------
    def _warn(self, what: str, err: BaseException) -> None:
        if not self._warned:
            self._warned = True
            log.warning("hash cache %s: %s: %s", self.path, what, err)

    def _connect(self) -> Any:
        import sqlite3

        directory = os.path.dirname(self.path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=5.0, check_same_thread=False,
                             isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            db.execute(
                "CREATE TABLE IF NOT EXISTS hashes (path BLOB PRIMARY KEY, dev INTEGER NOT NULL,"
                " ino INTEGER NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,"
                " ctime_ns INTEGER NOT NULL, md5 TEXT, sha1 TEXT, tag INTEGER NOT NULL)"
                " WITHOUT ROWID")
            row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if row is None:
                db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (_SCHEMA,))
            elif row[0] != _SCHEMA:
                raise sqlite3.DatabaseError(f"unknown cache schema {row[0]!r}")
            # A cheap look at the pages the cache uses most; full integrity checks would cost
            # seconds on a large cache at every start.
            db.execute("SELECT count(*) FROM (SELECT 1 FROM hashes LIMIT 1)").fetchone()
        except BaseException:
            db.close()
            raise
        return db

    def _open(self) -> Any:
        """The connection, opening (or rebuilding) it on first use; None when unusable."""
        if self._db is not None or self._disabled:
            return self._db
        import sqlite3

        try:
            self._db = self._connect()
        except sqlite3.OperationalError as err:
            if _is_damage(err):
                return self._rebuild(err)
            self._disabled = True
            self._warn("cannot be used, continuing without it", err)
        except sqlite3.DatabaseError as err:
            return self._rebuild(err)
        except OSError as err:
            self._disabled = True
            self._warn("cannot be used, continuing without it", err)
        return self._db

    def _rebuild(self, err: BaseException) -> Any:
        self._warn("is damaged, rebuilding it", err)
        self._close_db()
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(OSError):
                os.unlink(self.path + suffix)
        try:
            self._db = self._connect()
        except Exception as again:
            self._disabled = True
            self._warned = False
            self._warn("cannot be rebuilt, continuing without it", again)
        return self._db

    def _failed(self, err: BaseException) -> None:
        """A query failed: rebuild a damaged file, give up on anything else (locks aside)."""
        import sqlite3

        if isinstance(err, sqlite3.OperationalError) and "locked" in str(err):
            return  # another process holds the write lock for longer than the timeout: skip
        if isinstance(err, sqlite3.DatabaseError) and (_is_damage(err) or
                                                       not isinstance(err, sqlite3.OperationalError)):
            self._rebuild(err)
            return
        self._warn("stopped working, continuing without it", err)
        self._disabled = True
        self._close_db()

    def _close_db(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            with contextlib.suppress(Exception):
                db.close()

    # -- lookups ---------------------------------------------------------------------------
    def lookup(self, path: str, hash_type: str, st: os.stat_result) -> str | None:
        if hash_type not in _HASH_COLUMNS:
            return None
        bpath = os.fsencode(path)
        key = _key(st)
        with self._lock:
            pending = self._pending.get(bpath)
            if pending is not None and pending[0] == key and hash_type in pending[1]:
                self.hits += 1
                return pending[1][hash_type]
            db = self._open()
            if db is None:
                return None
            try:
                row = db.execute(
                    "SELECT dev, ino, size, mtime_ns, ctime_ns, md5, sha1, tag FROM hashes"
                    " WHERE path = ?", (bpath,)).fetchone()
            except Exception as err:
                self._failed(err)
                return None
            if row is None or tuple(row[:5]) != key:
                return None
            md5, sha1, tag = row[5], row[6], row[7]
            if tag != _tag(bpath, key, md5, sha1):
                return None  # a row that does not verify is never trusted
            value = md5 if hash_type == "md5" else sha1
            if not value or not _is_hex(value, 32 if hash_type == "md5" else 40):
                return None
            self.hits += 1
            return str(value)

    def store(self, path: str, hash_type: str, st: os.stat_result, digest: str) -> None:
        if hash_type not in _HASH_COLUMNS:
            return
        bpath = os.fsencode(path)
        key = _key(st)
        with self._lock:
            if self._disabled:
                return
            held = self._pending.get(bpath)
            hashes = dict(held[1]) if held is not None and held[0] == key else {}
            hashes[hash_type] = digest
            self._pending[bpath] = (key, hashes)
            if len(self._pending) >= _FLUSH_EVERY:
                self._flush_locked()

    def count_hashed(self) -> None:
        with self._lock:
            self.hashed += 1

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        pending, self._pending = self._pending, {}
        hits, hashed = self.hits - self._hits_saved, self.hashed - self._hashed_saved
        if not pending and not hits and not hashed:
            return
        db = self._open()
        if db is None:
            return
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                for bpath, (key, hashes) in pending.items():
                    row = db.execute(
                        "SELECT dev, ino, size, mtime_ns, ctime_ns, md5, sha1, tag FROM hashes"
                        " WHERE path = ?", (bpath,)).fetchone()
                    md5, sha1 = hashes.get("md5"), hashes.get("sha1")
                    if row is not None and tuple(row[:5]) == key and row[7] == _tag(
                            bpath, key, row[5], row[6]):
                        md5, sha1 = md5 or row[5], sha1 or row[6]
                    db.execute("INSERT OR REPLACE INTO hashes VALUES (?,?,?,?,?,?,?,?,?)",
                               (bpath, *key, md5, sha1, _tag(bpath, key, md5, sha1)))
                for name, n in (("hits", hits), ("hashed", hashed)):
                    if n:
                        db.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE"
                                   " SET value = CAST(value AS INTEGER) + ?", (name, str(n), n))
                db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(Exception):
                    db.execute("ROLLBACK")
                raise
            self._hits_saved += hits
            self._hashed_saved += hashed
        except Exception as err:
            self._failed(err)

    # -- maintenance -----------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """What ``cloudsync hashcache stats`` prints."""
        self.flush()
        out: dict[str, Any] = {"path": self.path, "entries": 0, "bytes": 0,
                               "hits": 0, "hashed": 0}
        with self._lock:
            db = self._open()
            if db is None:
                out["error"] = "unavailable"
                return out
            try:
                out["entries"] = db.execute("SELECT count(*) FROM hashes").fetchone()[0]
                for name, value in db.execute("SELECT key, value FROM meta"):
                    if name in ("hits", "hashed"):
                        out[name] = int(value)
            except Exception as err:
                self._failed(err)
                out["error"] = str(err)
        for suffix in ("", "-wal"):
            with contextlib.suppress(OSError):
                out["bytes"] += os.path.getsize(self.path + suffix)
        return out

    def clear(self) -> int:
        """Forget every entry and the counters; returns how many entries there were."""
        with self._lock:
            self._pending.clear()
            db = self._open()
            if db is None:
                return 0
            try:
                n = int(db.execute("SELECT count(*) FROM hashes").fetchone()[0])
                db.execute("DELETE FROM hashes")
                db.execute("DELETE FROM meta WHERE key IN ('hits', 'hashed')")
                db.execute("VACUUM")
            except Exception as err:
                self._failed(err)
                return 0
            self._hits_saved, self._hashed_saved = self.hits, self.hashed
            return n

    def close(self) -> None:
        self.flush()
        with self._lock:
            self._close_db()


def _is_hex(value: object, length: int) -> bool:
    if not isinstance(value, str) or len(value) != length:
        return False
    try:
        int(value, 16)
    except ValueError:
        return False
    return True


def _is_damage(err: BaseException) -> bool:
    text = str(err).lower()
    return any(w in text for w in ("malformed", "not a database", "corrupt", "unknown cache schema",
                                   "no such column", "disk image"))


# ---------------------------------------------------------------------------------------------
# The process-wide cache used by the local backend
# ---------------------------------------------------------------------------------------------

_state_lock = threading.Lock()
_cache: HashCache | None = None
_enabled = os.environ.get("CLOUDSYNC_NO_HASH_CACHE", "").lower() not in ("1", "true", "yes", "on")
#: Files hashed / answered from the cache in this process (counted with or without a cache).
_hashed = 0
_hits = 0


def configure(*, enabled: bool = True, path: str | None = None) -> None:
    """Switch the process-wide cache on or off (``--no-hash-cache``), or point it elsewhere."""
    global _enabled, _cache
    with _state_lock:
        old, _cache = _cache, None
        _enabled = enabled
        if enabled and path is not None:
            _cache = HashCache(path)
    if old is not None:
        old.close()


def get_cache() -> HashCache | None:
    """The process-wide cache (opened lazily), or None when switched off."""
    global _cache
    if not _enabled:
        return None
    cache = _cache
    if cache is None:
        with _state_lock:
            if _cache is None:
                _cache = HashCache()
                atexit.register(_close_at_exit)
            cache = _cache
    return cache


def _close_at_exit() -> None:
    cache = _cache
    if cache is not None:
        with contextlib.suppress(Exception):
            cache.close()


def counters() -> tuple[int, int]:
    """``(files hashed, hashes answered from the cache)`` in this process."""
    return _hashed, _hits


def _count(hashed: int = 0, hits: int = 0) -> None:
    global _hashed, _hits
    with _state_lock:
        _hashed += hashed
        _hits += hits


def log_summary() -> None:
    """A DEBUG line (``-vv``) with this process's hashing figures; nothing if none."""
    if _hashed or _hits:
        log.debug("Hash cache: %d files hashed, %d hashes from the cache%s", _hashed, _hits,
                  "" if _enabled else " (--no-hash-cache)")


def file_hash(os_path: str, hash_type: str, compute: Callable[[str, str], str]) -> str:
    """The ``hash_type`` hash of local file ``os_path``, from the cache when it is still valid.

    ``compute(os_path, hash_type)`` reads the file; OS errors propagate from it (or from the
    stat) to the caller as usual.
    """
    cache = get_cache()
    if cache is None:
        digest = compute(os_path, hash_type)
        _count(hashed=1)
        return digest
    before = os.stat(os_path)
    cached = cache.lookup(os_path, hash_type, before)
    if cached is not None:
        _count(hits=1)
        return cached
    digest = compute(os_path, hash_type)
    _count(hashed=1)
    cache.count_hashed()
    try:
        after = os.stat(os_path)
    except OSError:
        return digest
    settled = time.time_ns() - int(SETTLE_S * 1e9)
    if (_key(after) == _key(before) and after.st_mtime_ns < settled
            and after.st_ctime_ns < settled):
        cache.store(os_path, hash_type, after, digest)
    return digest
