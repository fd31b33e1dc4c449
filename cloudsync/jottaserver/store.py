"""State of the fake JottaCloud account: SQLite metadata plus content-addressed blob files.

One code path for both modes: with a data directory the database is ``<dir>/state.sqlite3`` and
blobs live in ``<dir>/blobs``; without one the database is SQLite ``:memory:`` and blobs go to a
temporary directory removed on :meth:`Store.close`.  Upload bodies always stream to
``<root>/partial/<upload_id>`` so nothing is ever held whole in memory.

Every public method takes :attr:`Store.lock` (an ``RLock``) and runs in one SQLite transaction,
which makes the store safe under the threaded HTTP server.  Blob bytes are written outside the
lock; only the final rename and the metadata update happen inside it.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import sqlite3
import tempfile
import threading
import uuid as uuidlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from .util import check_name, new_share_id, new_token, now

__all__ = [
    "AllocResult",
    "Device",
    "JfsError",
    "MountPoint",
    "Node",
    "Revision",
    "Store",
    "internal_username",
]

EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"
# current + 4 older completed revisions are kept (jotta-versions "keeps up to 5 versions").
MAX_VERSIONS = 5
BUILTIN_DEVICE = "Jotta"
BUILTIN_MOUNTPOINTS = ("Archive", "Shared", "Sync")
SPECIAL_MOUNTPOINTS = ("Trash", "Links", "Latest")

_EXC = "no.jotta.backup.errors."


class JfsError(Exception):
    """A failure the HTTP layer renders as the service's XML (JFS) or JSON (API) error."""

    def __init__(self, status: int, message: str, *, plain: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.plain = plain

    @property
    def error_id(self) -> str:
        """The exception's simple class name (``NoSuchFileException``), used by the JSON API."""
        head = self.message.split(":", 1)[0].split("{", 1)[0]
        return head.rsplit(".", 1)[-1] or "Exception"


def not_found_file(path: str, source: bool = False) -> JfsError:
    what = "Source file" if source else "File"
    return JfsError(404, f"{_EXC}NoSuchFileException: {what} {path} does not exist")


def not_found_dir(path: str) -> JfsError:
    return JfsError(404, f"{_EXC}NoSuchPathException: Directory {path}")


def bad_argument(text: str) -> JfsError:
    return JfsError(400, f"{_EXC}InvalidArgumentException: {text}")


def internal_username(login_name: str) -> str:
    """Derive the 24-character internal account name (``12qh1wsht8cssxdtwl15rqh9`` style).

    Deterministic so recorded cassettes stay stable, and deliberately different from the login
    name so a client that puts the login name in JFS URLs fails here exactly as it would live.
    """
    n = int.from_bytes(hashlib.sha256(("jottaserver:" + login_name).encode()).digest(), "big")
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = []
    for _ in range(24):
        n, r = divmod(n, 36)
        out.append(alphabet[r])
    return "".join(out)


def mime_for(name: str) -> str:
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or "application/octet-stream"


@dataclass
class Device:
    id: int
    name: str
    type: str
    sid: str
    created: int
    modified: int | None


@dataclass
class MountPoint:
    id: int
    device: Device
    name: str
    modified: int | None
    special: bool = False


@dataclass
class Node:
    id: int
    mp_id: int
    parent_id: int
    kind: str  # "folder" | "file"
    name: str
    uuid: str
    created: int | None
    modified: int | None
    deleted: int | None
    public_uri: str | None
    share_path: str | None

    @property
    def is_file(self) -> bool:
        return self.kind == "file"


@dataclass
class Revision:
    id: int
    node_id: int
    number: int
    state: str  # COMPLETED | INCOMPLETE | CORRUPT
    created: int | None
    modified: int | None
    updated: int | None
    size: int
    md5: str
    mime: str
    received: int
    upload_id: str | None


@dataclass
class FileView:
    """A file with its revisions split the way the XML documents present them."""

    node: Node
    current: Revision | None
    latest: Revision | None
    older: list[Revision]


@dataclass
class AllocResult:
    state: str
    node: Node
    revision: Revision
    upload_id: str
    resume_pos: int


@dataclass
class UploadTarget:
    upload_id: str
    revision: Revision
    node: Node
    partial: Path
    jfs_path: str


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS devices (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, name_lc TEXT NOT NULL UNIQUE, type TEXT NOT NULL,
    sid TEXT NOT NULL, created INTEGER NOT NULL, modified INTEGER);
CREATE TABLE IF NOT EXISTS mountpoints (
    id INTEGER PRIMARY KEY, device_id INTEGER NOT NULL, name TEXT NOT NULL, name_lc TEXT NOT NULL,
    modified INTEGER, UNIQUE (device_id, name_lc));
CREATE TABLE IF NOT EXISTS nodes (
    id INTEGER PRIMARY KEY, mp_id INTEGER NOT NULL, parent_id INTEGER NOT NULL, kind TEXT NOT NULL,
    name TEXT NOT NULL, name_lc TEXT NOT NULL, uuid TEXT NOT NULL, created INTEGER,
    modified INTEGER, deleted INTEGER, public_uri TEXT, share_path TEXT,
    UNIQUE (mp_id, parent_id, name_lc));
CREATE INDEX IF NOT EXISTS nodes_parent ON nodes (parent_id);
CREATE TABLE IF NOT EXISTS revisions (
    id INTEGER PRIMARY KEY, node_id INTEGER NOT NULL, number INTEGER NOT NULL,
    state TEXT NOT NULL, created INTEGER, modified INTEGER, updated INTEGER,
    size INTEGER NOT NULL, md5 TEXT NOT NULL, mime TEXT NOT NULL, received INTEGER NOT NULL,
    upload_id TEXT UNIQUE);
CREATE INDEX IF NOT EXISTS revisions_node ON revisions (node_id);
CREATE INDEX IF NOT EXISTS revisions_blob ON revisions (md5, size);
CREATE TABLE IF NOT EXISTS tokens (
    hash TEXT PRIMARY KEY, kind TEXT NOT NULL, family TEXT, client_id TEXT, realm TEXT,
    expires REAL, status TEXT NOT NULL, scope TEXT, data TEXT, created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS tokens_family ON tokens (family);
CREATE TABLE IF NOT EXISTS families (
    id TEXT PRIMARY KEY, realm TEXT, client_id TEXT, alive INTEGER NOT NULL, created REAL NOT NULL);
"""


def _lc(name: str) -> str:
    # Java's equalsIgnoreCase is closest to a per-character lower(); casefold would also merge
    # "ß" and "ss", which the service does not.
    return name.lower()


class Store:
    """The account: devices, mountpoints, folders, files, revisions, blobs and tokens."""

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        *,
        login_name: str = "testuser",
        password: str = "password",
        capacity: int = -1,
    ) -> None:
        self.lock = threading.RLock()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if data_dir is not None:
            self.root = Path(data_dir)
            self.root.mkdir(parents=True, exist_ok=True)
            db_path = str(self.root / "state.sqlite3")
        else:
            self._tmp = tempfile.TemporaryDirectory(prefix="jottaserver-")
            self.root = Path(self._tmp.name)
            db_path = ":memory:"
        self.persistent = data_dir is not None
        self.blob_dir = self.root / "blobs"
        self.partial_dir = self.root / "partial"
        self.blob_dir.mkdir(exist_ok=True)
        self.partial_dir.mkdir(exist_ok=True)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves in tx().
        self.db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        if self.persistent:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA busy_timeout=10000")
        self._depth = 0
        self.closed = False
        self._username: str | None = None
        self._login_name: str | None = None
        for stmt in _SCHEMA.split(";"):
            if stmt.strip():
                self.db.execute(stmt)
        with self.tx():
            self._init_meta("login_name", login_name)
            self._init_meta("username", internal_username(login_name))
            self._init_meta("password", password)
            self._init_meta("capacity", str(capacity))
            self._init_meta("created", str(now()))
            if self._device_row(BUILTIN_DEVICE) is None:
                dev = self._insert_device(BUILTIN_DEVICE, "JOTTA")
                for mp in BUILTIN_MOUNTPOINTS:
                    self._insert_mountpoint(dev, mp)

    # ------------------------------------------------------------------ plumbing

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """Lock + one transaction; nested uses join the outer transaction."""
        with self.lock:
            if self.closed:
                raise JfsError(503, "Service Unavailable: server is stopping")
            outer = self._depth == 0
            if outer:
                self.db.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self.db
            except BaseException:
                self._depth -= 1
                if outer:
                    self.db.execute("ROLLBACK")
                raise
            else:
                self._depth -= 1
                if outer:
                    self.db.execute("COMMIT")

    def close(self) -> None:
        with self.lock:
            if self.closed:
                return
            self.closed = True
            self.db.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    def _init_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def meta(self, key: str, default: str | None = None) -> str | None:
        with self.tx() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            return default if row is None else str(row["value"])

    def set_meta(self, key: str, value: str) -> None:
        with self.tx() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    @property
    def username(self) -> str:
        # Fixed for the life of the account; cached because every request builds paths with it.
        if self._username is None:
            self._username = self.meta("username") or ""
        return self._username

    @property
    def login_name(self) -> str:
        if self._login_name is None:
            self._login_name = self.meta("login_name") or ""
        return self._login_name

    @property
    def password(self) -> str:
        return self.meta("password") or ""

    @property
    def capacity(self) -> int:
        return int(self.meta("capacity") or "-1")

    def blob_path(self, md5: str, size: int) -> Path:
        return self.blob_dir / f"{md5.lower()}-{size}"

    def blob_exists(self, md5: str, size: int) -> bool:
        if size == 0 and md5.lower() == EMPTY_MD5:
            self._ensure_empty_blob()
            return True
        return self.blob_path(md5, size).exists()

    def _ensure_empty_blob(self) -> None:
        p = self.blob_path(EMPTY_MD5, 0)
        if not p.exists():
            p.touch()

    # ------------------------------------------------------------------ devices & mountpoints

    def _device_row(self, name: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.db.execute(
            "SELECT * FROM devices WHERE name_lc = ?", (_lc(name),)
        ).fetchone()
        return row

    @staticmethod
    def _device(row: sqlite3.Row) -> Device:
        return Device(row["id"], row["name"], row["type"], row["sid"], row["created"], row["modified"])

    def _insert_device(self, name: str, dtype: str) -> Device:
        ts = now()
        cur = self.db.execute(
            "INSERT INTO devices (name, name_lc, type, sid, created, modified) VALUES (?,?,?,?,?,?)",
            (name, _lc(name), dtype, str(uuidlib.uuid4()), ts, ts),
        )
        return Device(int(cur.lastrowid or 0), name, dtype, "", ts, ts)

    def _insert_mountpoint(self, dev: Device, name: str) -> MountPoint:
        cur = self.db.execute(
            "INSERT INTO mountpoints (device_id, name, name_lc, modified) VALUES (?,?,?,NULL)",
            (dev.id, name, _lc(name)),
        )
        return MountPoint(int(cur.lastrowid or 0), dev, name, None)

    def devices(self) -> list[Device]:
        with self.tx() as db:
            return [self._device(r) for r in db.execute("SELECT * FROM devices ORDER BY id")]

    def device(self, name: str) -> Device | None:
        with self.tx():
            row = self._device_row(name)
            return None if row is None else self._device(row)

    def create_device(self, name: str, dtype: str) -> Device:
        check_name(name)
        with self.tx():
            row = self._device_row(name)
            if row is not None:
                return self._device(row)
            self._insert_device(name, dtype.upper() or "WORKSTATION")
            row = self._device_row(name)
            assert row is not None
            return self._device(row)

    def mountpoints(self, dev: Device) -> list[MountPoint]:
        with self.tx() as db:
            rows = db.execute("SELECT * FROM mountpoints WHERE device_id = ? ORDER BY id", (dev.id,))
            return [MountPoint(r["id"], dev, r["name"], r["modified"]) for r in rows]

    def mountpoint(self, dev: Device, name: str) -> MountPoint | None:
        if dev.name == BUILTIN_DEVICE and _lc(name) in {_lc(s) for s in SPECIAL_MOUNTPOINTS}:
            canonical = next(s for s in SPECIAL_MOUNTPOINTS if _lc(s) == _lc(name))
            return MountPoint(0, dev, canonical, None, special=True)
        with self.tx() as db:
            r = db.execute(
                "SELECT * FROM mountpoints WHERE device_id = ? AND name_lc = ?", (dev.id, _lc(name))
            ).fetchone()
            return None if r is None else MountPoint(r["id"], dev, r["name"], r["modified"])

    def create_mountpoint(self, dev: Device, name: str) -> tuple[MountPoint, bool]:
        check_name(name)
        with self.tx():
            existing = self.mountpoint(dev, name)
            if existing is not None:
                if existing.special:
                    raise bad_argument(f"Cannot create special mountpoint {name}")
                return existing, False
            mp = self._insert_mountpoint(dev, name)
            self._touch_mp(mp.id)
            return mp, True

    def mountpoint_by_id(self, mp_id: int) -> MountPoint:
        with self.tx() as db:
            r = db.execute("SELECT * FROM mountpoints WHERE id = ?", (mp_id,)).fetchone()
            d = db.execute("SELECT * FROM devices WHERE id = ?", (r["device_id"],)).fetchone()
            return MountPoint(r["id"], self._device(d), r["name"], r["modified"])

    def _touch_mp(self, mp_id: int) -> None:
        ts = now()
        self.db.execute("UPDATE mountpoints SET modified = ? WHERE id = ?", (ts, mp_id))
        self.db.execute(
            "UPDATE devices SET modified = ? WHERE id = (SELECT device_id FROM mountpoints WHERE id = ?)",
            (ts, mp_id),
        )

    def mountpoint_size(self, mp_id: int) -> int:
        with self.tx() as db:
            row = db.execute(
                "SELECT COALESCE(SUM(r.size), 0) AS s FROM nodes n JOIN revisions r ON r.node_id = n.id "
                "WHERE n.mp_id = ? AND n.deleted IS NULL AND r.state = 'COMPLETED' AND r.number = "
                "(SELECT MAX(number) FROM revisions r2 WHERE r2.node_id = n.id AND r2.state = 'COMPLETED')",
                (mp_id,),
            ).fetchone()
            return int(row["s"])

    def device_size(self, dev: Device) -> int:
        return sum(self.mountpoint_size(mp.id) for mp in self.mountpoints(dev))

    def usage(self) -> int:
        """Bytes counted against the quota: the current revision of every file, trash included."""
        with self.tx() as db:
            row = db.execute(
                "SELECT COALESCE(SUM(r.size), 0) AS s FROM revisions r WHERE r.state = 'COMPLETED' "
                "AND r.number = (SELECT MAX(number) FROM revisions r2 WHERE r2.node_id = r.node_id "
                "AND r2.state = 'COMPLETED')"
            ).fetchone()
            return int(row["s"])

    # ------------------------------------------------------------------ nodes

    @staticmethod
    def _node(row: sqlite3.Row) -> Node:
        return Node(
            row["id"], row["mp_id"], row["parent_id"], row["kind"], row["name"], row["uuid"],
            row["created"], row["modified"], row["deleted"], row["public_uri"], row["share_path"],
        )

    @staticmethod
    def _rev(row: sqlite3.Row) -> Revision:
        return Revision(
            row["id"], row["node_id"], row["number"], row["state"], row["created"], row["modified"],
            row["updated"], row["size"], row["md5"], row["mime"], row["received"], row["upload_id"],
        )

    def _child(self, mp_id: int, parent_id: int, name: str) -> Node | None:
        row = self.db.execute(
            "SELECT * FROM nodes WHERE mp_id = ? AND parent_id = ? AND name_lc = ?",
            (mp_id, parent_id, _lc(name)),
        ).fetchone()
        return None if row is None else self._node(row)

    def node_by_id(self, node_id: int) -> Node | None:
        with self.tx() as db:
            row = db.execute("SELECT * FROM nodes WHERE id = ?", (node_id,)).fetchone()
            return None if row is None else self._node(row)

    def lookup(self, mp: MountPoint, names: Sequence[str]) -> Node | None:
        """Case-insensitive walk; returns tombstones too (callers decide what they mean)."""
        with self.tx():
            parent = 0
            node: Node | None = None
            for i, name in enumerate(names):
                node = self._child(mp.id, parent, name)
                if node is None or (node.is_file and i < len(names) - 1):
                    return None
                parent = node.id
            return node

    def children(self, mp_id: int, parent_id: int) -> list[Node]:
        with self.tx() as db:
            rows = db.execute(
                "SELECT * FROM nodes WHERE mp_id = ? AND parent_id = ?", (mp_id, parent_id)
            ).fetchall()
        nodes = [self._node(r) for r in rows]
        # Recorded listings: folders first, then files, each ordered as if by upper-cased name.
        nodes.sort(key=lambda n: (n.is_file, n.name.upper(), n.name))
        return nodes

    def node_names(self, node: Node) -> list[str]:
        with self.tx() as db:
            names = [node.name]
            parent = node.parent_id
            while parent:
                row = db.execute("SELECT name, parent_id FROM nodes WHERE id = ?", (parent,)).fetchone()
                names.append(row["name"])
                parent = row["parent_id"]
            names.reverse()
            return names

    def revisions(self, node_id: int) -> list[Revision]:
        with self.tx() as db:
            rows = db.execute(
                "SELECT * FROM revisions WHERE node_id = ? ORDER BY number DESC", (node_id,)
            ).fetchall()
            return [self._rev(r) for r in rows]

    def file_view(self, node: Node) -> FileView:
        revs = self.revisions(node.id)
        current = next((r for r in revs if r.state == "COMPLETED"), None)
        latest = revs[0] if revs and revs[0].state != "COMPLETED" else None
        older = [r for r in revs if r.state == "COMPLETED" and r is not current]
        return FileView(node, current, latest, older[: MAX_VERSIONS - 1])

    def subtree(self, node_id: int) -> list[Node]:
        with self.tx() as db:
            rows = db.execute(
                "WITH RECURSIVE sub(id) AS (SELECT ? UNION ALL "
                "SELECT n.id FROM nodes n JOIN sub ON n.parent_id = sub.id) "
                "SELECT nodes.* FROM nodes JOIN sub ON nodes.id = sub.id",
                (node_id,),
            ).fetchall()
            return [self._node(r) for r in rows]

    def _insert_node(self, mp_id: int, parent_id: int, kind: str, name: str,
                     created: int | None = None, modified: int | None = None) -> Node:
        check_name(name)
        ts = now()
        c = ts if created is None else created
        m = ts if modified is None else modified
        cur = self.db.execute(
            "INSERT INTO nodes (mp_id, parent_id, kind, name, name_lc, uuid, created, modified) "
            "VALUES (?,?,?,?,?,?,?,?)",
            (mp_id, parent_id, kind, name, _lc(name), str(uuidlib.uuid4()), c, m),
        )
        node = self.node_by_id(int(cur.lastrowid or 0))
        assert node is not None
        return node

    def _revive_chain(self, node: Node) -> None:
        """Clear ``deleted`` on a node and its ancestors (writing below a trashed folder)."""
        ids = [node.id]
        parent = node.parent_id
        while parent:
            ids.append(parent)
            parent = self.db.execute("SELECT parent_id FROM nodes WHERE id = ?", (parent,)).fetchone()[0]
        self.db.executemany("UPDATE nodes SET deleted = NULL WHERE id = ?", [(i,) for i in ids])

    def ensure_folders(self, mp: MountPoint, names: Sequence[str], display: str) -> int:
        """Create (or revive) every folder on ``names``; returns the last one's id (0 = root)."""
        with self.tx():
            parent = 0
            for i, name in enumerate(names):
                node = self._child(mp.id, parent, name)
                if node is not None and node.is_file:
                    if node.deleted is None:
                        raise bad_argument(f"Path {'/'.join(names[: i + 1])} is a file")
                    self._hard_delete([node.id])
                    node = None
                if node is None:
                    node = self._insert_node(mp.id, parent, "folder", name)
                    self._touch_mp(mp.id)
                elif node.deleted is not None:
                    self._revive_chain(node)
                parent = node.id
            return parent

    # ------------------------------------------------------------------ trash & delete

    def trash(self, node: Node) -> Node:
        """Soft delete: the node and its live descendants become tombstones with one timestamp."""
        with self.tx() as db:
            ts = now()
            ids = [n.id for n in self.subtree(node.id) if n.deleted is None]
            db.executemany("UPDATE nodes SET deleted = ? WHERE id = ?", [(ts, i) for i in ids])
            self._touch_mp(node.mp_id)
            fresh = self.node_by_id(node.id)
            assert fresh is not None
            return fresh

    def hard_delete(self, node: Node) -> tuple[int, int]:
        with self.tx():
            counts = self._hard_delete([n.id for n in self.subtree(node.id)])
            self._touch_mp(node.mp_id)
            return counts

    def _hard_delete(self, ids: Sequence[int]) -> tuple[int, int]:
        """Remove nodes (already expanded to their subtrees) with revisions, partials, blobs."""
        folders = files = 0
        blobs: set[tuple[str, int]] = set()
        for node_id in ids:
            row = self.db.execute("SELECT kind FROM nodes WHERE id = ?", (node_id,)).fetchone()
            if row is None:
                continue
            if row["kind"] == "file":
                files += 1
            else:
                folders += 1
            for r in self.db.execute("SELECT * FROM revisions WHERE node_id = ?", (node_id,)).fetchall():
                rev = self._rev(r)
                blobs.add((rev.md5.lower(), rev.size))
                if rev.upload_id:
                    self._remove_partial(rev.upload_id)
            self.db.execute("DELETE FROM revisions WHERE node_id = ?", (node_id,))
            self.db.execute("DELETE FROM nodes WHERE id = ?", (node_id,))
        for md5, size in blobs:
            self._gc_blob(md5, size)
        return folders, files

    def _gc_blob(self, md5: str, size: int) -> None:
        used = self.db.execute(
            "SELECT 1 FROM revisions WHERE lower(md5) = ? AND size = ? AND state = 'COMPLETED' LIMIT 1",
            (md5, size),
        ).fetchone()
        if used is None and size > 0:
            with suppress(FileNotFoundError):
                self.blob_path(md5, size).unlink()

    def partial_path(self, upload_id: str) -> Path:
        return self.partial_dir / hashlib.sha256(upload_id.encode()).hexdigest()

    def _remove_partial(self, upload_id: str) -> None:
        with suppress(FileNotFoundError):
            self.partial_path(upload_id).unlink()

    def purge_trash(self) -> tuple[int, int]:
        """Empty the trash: every tombstone goes, with anything below it. Returns (folders, files)."""
        with self.tx() as db:
            rows = db.execute("SELECT id, mp_id FROM nodes WHERE deleted IS NOT NULL").fetchall()
            ids: list[int] = []
            seen: set[int] = set()
            for r in rows:
                for n in self.subtree(r["id"]):
                    if n.id not in seen:
                        seen.add(n.id)
                        ids.append(n.id)
            counts = self._hard_delete(ids)
            for mp_id in {r["mp_id"] for r in rows}:
                self._touch_mp(mp_id)
            return counts

    def trash_top(self) -> list[Node]:
        """Trashed items whose parent is not trashed: what the ``Trash`` view lists."""
        with self.tx() as db:
            rows = db.execute(
                "SELECT n.* FROM nodes n LEFT JOIN nodes p ON p.id = n.parent_id "
                "WHERE n.deleted IS NOT NULL AND (n.parent_id = 0 OR p.deleted IS NULL)"
            ).fetchall()
        nodes = [self._node(r) for r in rows]
        nodes.sort(key=lambda n: (n.is_file, n.name.upper(), n.name, n.id))
        return nodes

    def shared(self) -> list[Node]:
        with self.tx() as db:
            rows = db.execute("SELECT * FROM nodes WHERE public_uri IS NOT NULL ORDER BY id").fetchall()
            return [self._node(r) for r in rows]

    def latest_files(self, limit: int) -> list[Node]:
        with self.tx() as db:
            rows = db.execute(
                "SELECT n.* FROM nodes n JOIN revisions r ON r.node_id = n.id "
                "WHERE n.kind = 'file' AND n.deleted IS NULL AND r.state = 'COMPLETED' "
                "GROUP BY n.id ORDER BY MAX(r.updated) DESC, n.id DESC LIMIT ?",
                (limit,),
            ).fetchall()
            return [self._node(r) for r in rows]

    # ------------------------------------------------------------------ revisions

    def _add_revision(self, node: Node, state: str, size: int, md5: str, created: int | None,
                      modified: int | None, received: int, upload_id: str | None) -> Revision:
        row = self.db.execute(
            "SELECT COALESCE(MAX(number), 0) AS n FROM revisions WHERE node_id = ?", (node.id,)
        ).fetchone()
        ts = now()
        cur = self.db.execute(
            "INSERT INTO revisions (node_id, number, state, created, modified, updated, size, md5, "
            "mime, received, upload_id) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (node.id, int(row["n"]) + 1, state, created, modified, ts, size, md5, mime_for(node.name),
             received, upload_id),
        )
        if state == "COMPLETED":
            self.db.execute("UPDATE nodes SET modified = ? WHERE id = ?", (modified, node.id))
            self._prune(node.id)
        self._touch_mp(node.mp_id)
        r = self.db.execute("SELECT * FROM revisions WHERE id = ?", (cur.lastrowid,)).fetchone()
        return self._rev(r)

    def _prune(self, node_id: int) -> None:
        rows = self.db.execute(
            "SELECT * FROM revisions WHERE node_id = ? AND state = 'COMPLETED' ORDER BY number DESC",
            (node_id,),
        ).fetchall()
        for r in rows[MAX_VERSIONS:]:
            rev = self._rev(r)
            self.db.execute("DELETE FROM revisions WHERE id = ?", (rev.id,))
            self._gc_blob(rev.md5.lower(), rev.size)

    def _set_times(self, rev: Revision, created: int | None, modified: int | None) -> None:
        if created is not None:
            self.db.execute("UPDATE revisions SET created = ? WHERE id = ?", (created, rev.id))
        if modified is not None:
            self.db.execute("UPDATE revisions SET modified = ? WHERE id = ?", (modified, rev.id))
            self.db.execute("UPDATE nodes SET modified = ? WHERE id = ?", (modified, rev.node_id))

    def _write_target(self, mp: MountPoint, names: Sequence[str], display: str) -> tuple[int, Node | None]:
        """Parent folder id (created as needed) and the live-or-trashed file at ``names``."""
        if mp.special:
            raise bad_argument(f"Cannot write to {mp.name}")
        parent = self.ensure_folders(mp, names[:-1], display)
        node = self._child(mp.id, parent, names[-1])
        if node is not None and not node.is_file:
            if node.deleted is None:
                raise bad_argument(f"Path {display} is a folder")
            self._hard_delete([n.id for n in self.subtree(node.id)])
            node = None
        return parent, node

    def allocate(self, mp: MountPoint, names: Sequence[str], size: int, md5: str,
                 created: int | None, modified: int | None, display: str,
                 conflict: str = "CREATE_NEW_REVISION") -> AllocResult:
        for name in names:
            check_name(name)
        md5l = md5.lower()
        with self.tx():
            parent, node = self._write_target(mp, names, display)
            ts = now()
            modified = modified if modified is not None else (created if created is not None else ts)
            created = created if created is not None else modified
            if node is not None:
                view = self.file_view(node)
                cur = view.current
                if (node.deleted is None and cur is not None and cur.md5.lower() == md5l
                        and cur.size == size):
                    self._set_times(cur, created, modified)
                    return AllocResult("COMPLETED", node, cur, new_token(), size)
                if conflict == "REJECT_CONFLICTS" and node.deleted is None and cur is not None:
                    raise JfsError(409, f"{_EXC}UniqueFileException: File {display} already exists")
            if self.blob_exists(md5l, size):
                if node is None:
                    node = self._insert_node(mp.id, parent, "file", names[-1], created, modified)
                rev = self._add_revision(node, "COMPLETED", size, md5, created, modified, size, None)
                self._revive_chain(node)
                return AllocResult("COMPLETED", node, rev, new_token(), size)
            if node is None:
                node = self._insert_node(mp.id, parent, "file", names[-1], created, modified)
            latest = self.file_view(node).latest
            if latest is not None and latest.state == "INCOMPLETE":
                if latest.md5.lower() == md5l and latest.size == size and latest.upload_id:
                    self._set_times(latest, created, modified)
                    pos = self._partial_size(latest.upload_id)
                    return AllocResult("INCOMPLETE", node, latest, latest.upload_id, pos)
                # A different body replaces the unfinished one rather than stacking revisions.
                if latest.upload_id:
                    self._remove_partial(latest.upload_id)
                self.db.execute("DELETE FROM revisions WHERE id = ?", (latest.id,))
            upload_id = new_token(32)
            rev = self._add_revision(node, "INCOMPLETE", size, md5, created, modified, 0, upload_id)
            self.partial_path(upload_id).touch()
            return AllocResult("INCOMPLETE", node, rev, upload_id, 0)

    def _partial_size(self, upload_id: str) -> int:
        try:
            return self.partial_path(upload_id).stat().st_size
        except FileNotFoundError:
            return 0

    def upload_target(self, upload_id: str) -> UploadTarget | None:
        with self.tx() as db:
            r = db.execute("SELECT * FROM revisions WHERE upload_id = ?", (upload_id,)).fetchone()
            if r is None:
                return None
            rev = self._rev(r)
            node = self.node_by_id(rev.node_id)
            assert node is not None
            return UploadTarget(upload_id, rev, node, self.partial_path(upload_id), self.jfs_path(node))

    def upload_progress(self, upload_id: str, received: int) -> None:
        with self.tx() as db:
            db.execute("UPDATE revisions SET received = ? WHERE upload_id = ?", (received, upload_id))

    def finish_upload(self, upload_id: str, md5_ok: bool) -> Revision | None:
        """Turn a fully received partial into a COMPLETED (or CORRUPT) revision."""
        with self.tx() as db:
            r = db.execute("SELECT * FROM revisions WHERE upload_id = ?", (upload_id,)).fetchone()
            if r is None:
                self._remove_partial(upload_id)
                return None
            rev = self._rev(r)
            partial = self.partial_path(upload_id)
            if md5_ok:
                blob = self.blob_path(rev.md5, rev.size)
                if blob.exists():
                    partial.unlink()
                else:
                    os.replace(partial, blob)
                db.execute(
                    "UPDATE revisions SET state = 'COMPLETED', received = size, updated = ?, "
                    "upload_id = NULL WHERE id = ?",
                    (now(), rev.id),
                )
                node = self.node_by_id(rev.node_id)
                assert node is not None
                db.execute("UPDATE nodes SET modified = ? WHERE id = ?", (rev.modified, node.id))
                self._revive_chain(node)
                self._prune(node.id)
            else:
                self._remove_partial(upload_id)
                db.execute(
                    "UPDATE revisions SET state = 'CORRUPT', updated = ?, upload_id = NULL WHERE id = ?",
                    (now(), rev.id),
                )
            self._touch_mp(self.node_by_id(rev.node_id).mp_id)  # type: ignore[union-attr]
            out = db.execute("SELECT * FROM revisions WHERE id = ?", (rev.id,)).fetchone()
            return self._rev(out)

    def cphash(self, mp: MountPoint, names: Sequence[str], size: int, md5: str,
               created: int | None, modified: int | None, display: str) -> Node:
        """Set times / dedupe / restore by content; 404 when the content is unknown."""
        md5l = md5.lower()
        with self.tx():
            node = self.lookup(mp, names)
            if node is not None and not node.is_file:
                raise not_found_file(display)
            if node is not None:
                cur = self.file_view(node).current
                if cur is not None and cur.md5.lower() == md5l and cur.size == size:
                    self._set_times(cur, created, modified)
                    self._revive_chain(node)
                    fresh = self.node_by_id(node.id)
                    assert fresh is not None
                    return fresh
            if not self.blob_exists(md5l, size):
                raise not_found_file(display)
            parent, node = self._write_target(mp, names, display)
            ts = now()
            modified = modified if modified is not None else ts
            created = created if created is not None else modified
            if node is None:
                node = self._insert_node(mp.id, parent, "file", names[-1], created, modified)
            self._add_revision(node, "COMPLETED", size, md5, created, modified, size, None)
            self._revive_chain(node)
            fresh = self.node_by_id(node.id)
            assert fresh is not None
            return fresh

    def copy_file(self, src: Node, mp: MountPoint, names: Sequence[str], src_display: str,
                  display: str) -> Node:
        with self.tx():
            cur = self.file_view(src).current if src.is_file and src.deleted is None else None
            if cur is None:
                raise not_found_file(src_display, source=True)
            for name in names:
                check_name(name)
            parent, node = self._write_target(mp, names, display)
            if node is not None and node.id == src.id:
                return src
            if node is None:
                node = self._insert_node(mp.id, parent, "file", names[-1], cur.created, cur.modified)
            dcur = self.file_view(node).current
            if dcur is None or dcur.md5.lower() != cur.md5.lower() or dcur.size != cur.size:
                self._add_revision(node, "COMPLETED", cur.size, cur.md5, cur.created, cur.modified,
                                   cur.size, None)
            # Deliberately no revive: a copy onto a trashed path leaves it in the trash (§5).
            fresh = self.node_by_id(node.id)
            assert fresh is not None
            return fresh

    def move_file(self, src: Node, mp: MountPoint, names: Sequence[str], src_display: str,
                  display: str) -> Node:
        with self.tx() as db:
            if not src.is_file or src.deleted is not None:
                raise not_found_file(src_display, source=True)
            for name in names:
                check_name(name)
            parent, node = self._write_target(mp, names, display)
            if node is not None and node.id != src.id:
                cur = self.file_view(src).current
                if cur is None:
                    raise not_found_file(src_display, source=True)
                # The destination keeps its history and gains the moved content as a revision.
                self._add_revision(node, "COMPLETED", cur.size, cur.md5, cur.created, cur.modified,
                                   cur.size, None)
                self._hard_delete([src.id])
                self._revive_chain(node)
                fresh = self.node_by_id(node.id)
            else:
                db.execute(
                    "UPDATE nodes SET mp_id = ?, parent_id = ?, name = ?, name_lc = ? WHERE id = ?",
                    (mp.id, parent, names[-1], _lc(names[-1]), src.id),
                )
                self._touch_mp(src.mp_id)
                self._touch_mp(mp.id)
                fresh = self.node_by_id(src.id)
            assert fresh is not None
            return fresh

    def move_dir(self, src: Node, mp: MountPoint, names: Sequence[str], src_display: str,
                 display: str) -> Node:
        with self.tx() as db:
            if src.is_file or src.deleted is not None:
                raise not_found_dir(src_display)
            if mp.special:
                raise bad_argument(f"Cannot write to {mp.name}")
            for name in names:
                check_name(name)
            if mp.id == src.mp_id:
                src_names = self.node_names(src)
                if [_lc(n) for n in names[: len(src_names)]] == [_lc(n) for n in src_names] and len(
                    names
                ) > len(src_names):
                    raise bad_argument(f"Cannot move {src_display} into itself")
            parent = self.ensure_folders(mp, names[:-1], display)
            existing = self._child(mp.id, parent, names[-1])
            if existing is not None and existing.id != src.id:
                if existing.deleted is not None:
                    # Jotta's docs: moves onto previously deleted paths may fail; empty the trash.
                    raise bad_argument(f"Destination {display} exists in trash")
                raise bad_argument(f"Destination {display} already exists")
            db.execute(
                "UPDATE nodes SET parent_id = ?, name = ?, name_lc = ?, modified = ? WHERE id = ?",
                (parent, names[-1], _lc(names[-1]), now(), src.id),
            )
            if mp.id != src.mp_id:
                ids = [n.id for n in self.subtree(src.id)]
                db.executemany("UPDATE nodes SET mp_id = ? WHERE id = ?", [(mp.id, i) for i in ids])
            self._touch_mp(src.mp_id)
            self._touch_mp(mp.id)
            fresh = self.node_by_id(src.id)
            assert fresh is not None
            return fresh

    def set_share(self, node: Node, enabled: bool) -> Node:
        with self.tx() as db:
            if enabled and node.public_uri is None:
                db.execute(
                    "UPDATE nodes SET public_uri = ?, share_path = ? WHERE id = ?",
                    (new_share_id(), "/s/" + new_share_id()[:24], node.id),
                )
            elif not enabled:
                db.execute("UPDATE nodes SET public_uri = NULL, share_path = NULL WHERE id = ?", (node.id,))
            fresh = self.node_by_id(node.id)
            assert fresh is not None
            return fresh

    def by_public_uri(self, public_uri: str) -> Node | None:
        with self.tx() as db:
            row = db.execute("SELECT * FROM nodes WHERE public_uri = ?", (public_uri,)).fetchone()
            return None if row is None else self._node(row)

    # ------------------------------------------------------------------ paths

    def jfs_path(self, node: Node) -> str:
        """``/<user>/<device>/<mountpoint>/<names...>`` of a node."""
        mp = self.mountpoint_by_id(node.mp_id)
        return "/".join(["", self.username, mp.device.name, mp.name, *self.node_names(node)])

    def parent_path(self, node: Node) -> str:
        return self.jfs_path(node).rsplit("/", 1)[0]

    def walk(self, mp_id: int, parent_id: int) -> Iterator[tuple[list[str], Node]]:
        """Pre-order walk below a folder: (names relative to the start, node)."""
        stack: list[tuple[list[str], int]] = [([], parent_id)]
        while stack:
            prefix, pid = stack.pop(0)
            kids = self.children(mp_id, pid)
            for k in kids:
                yield [*prefix, k.name], k
            stack[0:0] = [([*prefix, k.name], k.id) for k in kids if not k.is_file]

    # ------------------------------------------------------------------ seeding (tests)

    def import_bytes(self, mp: MountPoint, names: Sequence[str], data: bytes, created: int | None,
                     modified: int | None) -> Node:
        """Put a COMPLETED file straight into the store (test seeding, no HTTP)."""
        md5 = hashlib.md5(data).hexdigest()
        blob = self.blob_path(md5, len(data))
        if not blob.exists():
            tmp = self.partial_dir / ("import-" + new_token(8))
            tmp.write_bytes(data)
            os.replace(tmp, blob)
        with self.tx():
            node, created, modified = self._import_target(mp, names, created, modified)
            self._add_revision(node, "COMPLETED", len(data), md5, created, modified, len(data), None)
            self._revive_chain(node)
            fresh = self.node_by_id(node.id)
            assert fresh is not None
            return fresh

    def _import_target(self, mp: MountPoint, names: Sequence[str], created: int | None,
                       modified: int | None) -> tuple[Node, int, int]:
        """The file node an import writes a revision to (made if missing), with its times.

        Call inside a transaction.  Missing times default like an upload's: modified = now,
        created = modified.
        """
        display = "/".join(["", self.username, mp.device.name, mp.name, *names])
        parent, node = self._write_target(mp, names, display)
        modified = now() if modified is None else modified
        created = modified if created is None else created
        if node is None:
            node = self._insert_node(mp.id, parent, "file", names[-1], created, modified)
        return node, created, modified

    def import_metadata(self, mp: MountPoint, names: Sequence[str], size: int, md5: str,
                        state: str, created: int | None, modified: int | None,
                        received: int = 0) -> Node:
        """A revision without content (tests: big or unfinished files without their bytes).

        Downloads of such a revision answer 404 PhysicalFileNotFoundException, like a lost blob.
        An INCOMPLETE one gets an upload id, so it can be resumed through allocate.
        """
        with self.tx():
            node, created, modified = self._import_target(mp, names, created, modified)
            upload_id = new_token(32) if state == "INCOMPLETE" else None
            if upload_id is not None:
                self.partial_path(upload_id).touch()
            self._add_revision(node, state, size, md5, created, modified,
                               size if state == "COMPLETED" else received, upload_id)
            fresh = self.node_by_id(node.id)
            assert fresh is not None
            return fresh
