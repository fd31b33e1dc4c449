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
from collections import OrderedDict
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
#: The table layout (meta key ``layout``).  Layout 2, the table ``folder_hashes``, replaced the
#: one-row-per-path table ``hashes`` (meta key ``schema`` 1) of earlier versions, which is
#: copied over once and otherwise left alone, so that an older cloudsync sharing the file
#: keeps working.
_LAYOUT = "2"
#: Hashes waiting to be written are flushed in one transaction once there are this many.
_FLUSH_EVERY = 2048
_HASH_TYPES = frozenset({"md5", "sha1"})
_HEX_LEN = {"md5": 32, "sha1": 40}
_HEX_DIGITS = frozenset("0123456789abcdef")
_U64 = 1 << 64
#: Rows of whole folders held in memory (a few MB), the least recently used folders dropped
#: first; a folder with more cached rows than _FOLDER_MAX is looked up file by file.
_LOADED_MAX = 8_192
_FOLDER_MAX = 4_096
_COLUMNS = "dev, ino, size, mtime_ns, ctime_ns, hash, tag"


#: ``--cache-dir``, when given (see :func:`set_cache_dir`)
_cache_dir: str | None = None


def set_cache_dir(path: str | None) -> None:
    """Use ``path`` as the cache directory (``--cache-dir``); None: the platform's."""
    global _cache_dir
    if path != _cache_dir:
        _cache_dir = os.path.abspath(path) if path else None
        configure(enabled=_enabled)  # the next use opens the cache in its new place


def cache_dir() -> str:
    """The cache directory: ``--cache-dir``, else the platform's (``~/.cache/cloudsync``)."""
    if _cache_dir:
        return _cache_dir
    import platformdirs

    return platformdirs.user_cache_dir("cloudsync", appauthor=False)


def default_path() -> str:
    """Where the cache lives: ``CLOUDSYNC_HASH_CACHE``, else ``hashcache.sqlite`` in the cache
    directory (``--cache-dir`` or the platform's)."""
    explicit = os.environ.get("CLOUDSYNC_HASH_CACHE")
    if explicit:
        return os.path.abspath(os.path.expanduser(explicit))
    return os.path.join(cache_dir(), "hashcache.sqlite")


def _signed(n: int) -> int:
    # SQLite integers are signed 64-bit; inode and device numbers may use all 64 bits.
    return n - _U64 if n >= 1 << 63 else n


_Key = tuple[int, int, int, int, int]  # dev, ino, size, mtime_ns, ctime_ns
#: A stored row as read back: (dev, ino, size, mtime_ns, ctime_ns, hash, tag)
_Row = tuple[int, int, int, int, int, str, int]


def _key(st: os.stat_result) -> _Key:
    return (_signed(st.st_dev), _signed(st.st_ino), st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _tag(path: bytes, hash_type: str, key: _Key, digest: str) -> int:
    """The CRC every row carries: over the full path, the hash type, the key and the hash."""
    return zlib.crc32(b"%b\0%s|%d|%d|%d|%d|%d|%s" % (path, hash_type.encode(), *key,
                                                     digest.encode()))


def _split(path: str) -> tuple[bytes, bytes, bytes]:
    """(full path, folder, name) as bytes: rows are keyed by folder so that one query brings
    a whole folder's hashes."""
    bpath = os.fsencode(path)
    folder, _, name = bpath.rpartition(b"/")
    return bpath, folder, name


def _valid(row: _Row, bpath: bytes, hash_type: str, key: _Key) -> str | None:
    """The row's hash if it is for exactly this file state and verifies, else None."""
    if row[:5] != key:
        return None
    digest = row[5]
    if (not isinstance(digest, str) or len(digest) != _HEX_LEN[hash_type]
            or not _HEX_DIGITS.issuperset(digest)):
        return None
    if row[6] != _tag(bpath, hash_type, key, digest):
        return None  # a row that does not verify is never trusted
    return digest


class HashCache:
    """One cache database.  Thread-safe; every failure degrades to "not cached".

    Lookups are answered folder by folder: the first lookup in a folder is one query for that
    file, the second loads every row of the folder in one query (a folder's files are
    usually hashed together, as ``check`` and ``--checksum`` do), and the rest of the folder
    is answered from memory.  Writes are collected and committed in one transaction per
    :data:`_FLUSH_EVERY` hashes (answered from memory meanwhile).
    """

    def __init__(self, path: str | None = None) -> None:
        self.path = path or default_path()
        self._lock = threading.Lock()
        self._db: Any = None
        self._disabled = False
        self._warned = False
        # (path, type) -> (folder, name, key, hash) waiting to be written
        self._pending: dict[tuple[bytes, str], tuple[bytes, bytes, _Key, str]] = {}
        # (folder, type) -> {name: row}: whole folders read in one query (LRU order)
        self._folders: OrderedDict[tuple[bytes, str], dict[bytes, _Row]] = OrderedDict()
        self._loaded = 0
        # folders with one single-file lookup so far: the second one there loads the folder
        # (a set, as check looks in the source and destination folders by turns)
        self._touched: set[tuple[bytes, str]] = set()
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
            row = db.execute("SELECT value FROM meta WHERE key = 'layout'").fetchone()
            if row is None:
                _create_tables(db)
            elif row[0] != _LAYOUT:
                raise sqlite3.DatabaseError(f"unknown cache layout {row[0]!r}")
            # A cheap look at the pages the cache uses most; full integrity checks would cost
            # seconds on a large cache at every start.
            db.execute("SELECT count(*) FROM (SELECT 1 FROM folder_hashes LIMIT 1)").fetchone()
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
        self._folders.clear()
        self._loaded = 0
        self._touched.clear()

    # -- lookups ---------------------------------------------------------------------------
    def lookup(self, path: str, hash_type: str, st: os.stat_result) -> str | None:
        if hash_type not in _HASH_TYPES:
            return None
        bpath, folder, name = _split(path)
        key = _key(st)
        with self._lock:
            pending = self._pending.get((bpath, hash_type))
            if pending is not None and pending[2] == key:
                self.hits += 1
                return pending[3]
            where = (folder, hash_type)
            rows = self._folders.get(where)
            if rows is not None:
                self._folders.move_to_end(where)
                row = rows.get(name)
            else:
                db = self._open()
                if db is None:
                    return None
                try:
                    if where in self._touched:
                        row = self._load_folder(db, where).get(name)
                    else:
                        if len(self._touched) >= 256:
                            self._touched.clear()
                        self._touched.add(where)
                        row = db.execute(
                            f"SELECT {_COLUMNS} FROM folder_hashes WHERE dir = ? AND type = ?"
                            " AND name = ?", (folder, hash_type, name)).fetchone()
                except Exception as err:
                    self._failed(err)
                    return None
            if row is None:
                return None
            digest = _valid(row, bpath, hash_type, key)
            if digest is not None:
                self.hits += 1
            return digest

    def _load_folder(self, db: Any, where: tuple[bytes, str]) -> dict[bytes, _Row]:
        """Every cached row of one folder, remembered (unless the folder is too big)."""
        self._touched.discard(where)
        cur = db.execute(f"SELECT name, {_COLUMNS} FROM folder_hashes WHERE dir = ? AND type = ?"
                         " LIMIT ?", (*where, _FOLDER_MAX + 1))
        rows = {r[0]: r[1:] for r in cur}
        if len(rows) > _FOLDER_MAX:
            return rows  # used once, not kept: memory stays bounded
        self._folders[where] = rows
        self._loaded += len(rows) + 1
        while self._loaded > _LOADED_MAX and len(self._folders) > 1:
            _, dropped = self._folders.popitem(last=False)
            self._loaded -= len(dropped) + 1
        return rows

    def store(self, path: str, hash_type: str, st: os.stat_result, digest: str) -> None:
        if hash_type not in _HASH_TYPES:
            return
        bpath, folder, name = _split(path)
        key = _key(st)
        with self._lock:
            if self._disabled:
                return
            self._pending[(bpath, hash_type)] = (folder, name, key, digest)
            rows = self._folders.get((folder, hash_type))
            if rows is not None:  # (answered from there once flushed)
                if name not in rows:
                    self._loaded += 1
                rows[name] = (*key, digest, _tag(bpath, hash_type, key, digest))
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
                db.executemany(
                    "INSERT OR REPLACE INTO folder_hashes VALUES (?,?,?,?,?,?,?,?,?,?)",
                    [(folder, hash_type, name, *key, digest, _tag(bpath, hash_type, key, digest))
                     for (bpath, hash_type), (folder, name, key, digest) in pending.items()])
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
                out["entries"] = db.execute("SELECT count(*) FROM folder_hashes").fetchone()[0]
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
        import sqlite3

        with self._lock:
            self._pending.clear()
            self._folders.clear()
            self._loaded = 0
            db = self._open()
            if db is None:
                return 0
            try:
                n = int(db.execute("SELECT count(*) FROM folder_hashes").fetchone()[0])
                db.execute("DELETE FROM folder_hashes")
                with contextlib.suppress(sqlite3.OperationalError):  # (an older version's)
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


def _create_tables(db: Any) -> None:
    """Layout 2, filled from an earlier version's table if there is one (in one transaction,
    which another process creating it at the same time waits for)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        if db.execute("SELECT value FROM meta WHERE key = 'layout'").fetchone() is None:
            # One row per (folder, hash type, name): a folder's rows are adjacent, so one
            # range query reads them all.
            db.execute(
                "CREATE TABLE IF NOT EXISTS folder_hashes (dir BLOB NOT NULL, type TEXT NOT NULL,"
                " name BLOB NOT NULL, dev INTEGER NOT NULL, ino INTEGER NOT NULL,"
                " size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,"
                " hash TEXT NOT NULL, tag INTEGER NOT NULL, PRIMARY KEY (dir, type, name))"
                " WITHOUT ROWID")
            old = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if old is not None and old[0] == "1":
                _copy_v1(db)
            db.execute("INSERT INTO meta VALUES ('layout', ?)", (_LAYOUT,))
        db.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(Exception):
            db.execute("ROLLBACK")
        raise


def _copy_v1(db: Any) -> None:
    """The rows of the one-row-per-path table (md5 and sha1 columns) that verify: an upgrade
    must not make unchanged files be hashed again."""
    rows = []
    for path, *key, md5, sha1, tag in db.execute("SELECT * FROM hashes"):
        path = bytes(path)
        if tag != zlib.crc32(path + b"\0" + f"{tuple(key)}|{md5 or ''}|{sha1 or ''}".encode()):
            continue
        folder, _, name = path.rpartition(b"/")
        for hash_type, digest in (("md5", md5), ("sha1", sha1)):
            if digest:
                rows.append((folder, hash_type, name, *key, digest,
                             _tag(path, hash_type, tuple(key), digest)))
    db.executemany("INSERT OR REPLACE INTO folder_hashes VALUES (?,?,?,?,?,?,?,?,?,?)", rows)


def _is_damage(err: BaseException) -> bool:
    text = str(err).lower()
    return any(w in text for w in ("malformed", "not a database", "corrupt", "unknown cache layout",
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


def cached_file_hash(os_path: str, hash_type: str) -> str | None:
    """The cached ``hash_type`` hash of local file ``os_path`` if the cache still vouches for
    it; None otherwise (no cache, no entry, a changed file, any error): nothing is read."""
    cache = get_cache()
    if cache is None:
        return None
    try:
        st = os.stat(os_path)
    except OSError:
        return None
    digest = cache.lookup(os_path, hash_type, st)
    if digest is not None:
        _count(hits=1)
    return digest


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
