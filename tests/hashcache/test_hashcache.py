"""The persistent hash cache: an unchanged file is never hashed twice, a changed one always is;
damage is rebuilt, an unusable cache is skipped with one warning; several processes share it."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cloudsync.backends.local import LocalBackend

from cloudsync import hashcache
from cloudsync.hashing import hash_file
from cloudsync.types import MD5, SHA1


@pytest.fixture
def cache_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "cache" / "hashcache.sqlite"
    monkeypatch.setattr(hashcache, "SETTLE_S", 0.0)  # files made by the test count as settled
    hashcache.configure(enabled=True, path=str(path))
    yield path
    hashcache.configure(enabled=True)


def _hashed() -> int:
    return hashcache.counters()[0]


def _old(path: Path, text: str) -> Path:
    path.write_text(text)
    os.utime(path, ns=(1_600_000_000_000_000_000,) * 2)
    return path


def test_unchanged_file_is_hashed_once_and_a_changed_one_again(tmp_path: Path,
                                                               cache_path: Path) -> None:
    f = _old(tmp_path / "f.txt", "hello")
    backend = LocalBackend("local", str(tmp_path))
    want = hash_file(str(f), (MD5, SHA1))
    before = _hashed()
    assert backend.hash("f.txt", MD5) == want[MD5]
    assert backend.hash("f.txt", SHA1) == want[SHA1]
    assert _hashed() == before + 2
    hashcache.get_cache().flush()  # type: ignore[union-attr]
    assert backend.hash("f.txt", MD5) == want[MD5]
    assert backend.hash("f.txt", SHA1) == want[SHA1]
    assert _hashed() == before + 2  # both answered by the cache
    # same size, mtime set back: ctime still tells the change
    _old(f, "HELLO")
    assert backend.hash("f.txt", MD5) == hash_file(str(f))[MD5]
    assert _hashed() == before + 3


def test_young_files_are_not_remembered(tmp_path: Path, cache_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hashcache, "SETTLE_S", 3600.0)
    (tmp_path / "new").write_text("just written")
    backend = LocalBackend("local", str(tmp_path))
    before = _hashed()
    backend.hash("new", MD5)
    backend.hash("new", MD5)
    assert _hashed() == before + 2


def test_persisted_across_instances_and_stats_clear(tmp_path: Path, cache_path: Path) -> None:
    _old(tmp_path / "a", "a")
    LocalBackend("local", str(tmp_path)).hash("a", MD5)
    hashcache.configure(enabled=True, path=str(cache_path))  # flushes and reopens
    before = _hashed()
    LocalBackend("local", str(tmp_path)).hash("a", MD5)
    assert _hashed() == before
    hashcache.get_cache().flush()  # type: ignore[union-attr]
    cache = hashcache.HashCache(str(cache_path))
    stats = cache.stats()
    assert stats["entries"] == 1 and stats["hits"] >= 1 and stats["hashed"] >= 1
    assert cache.clear() == 1 and cache.stats()["entries"] == 0
    cache.close()


def test_tampered_row_is_never_trusted(tmp_path: Path, cache_path: Path) -> None:
    f = _old(tmp_path / "a", "content")
    LocalBackend("local", str(tmp_path)).hash("a", MD5)
    hashcache.configure(enabled=True, path=str(cache_path))
    db = sqlite3.connect(cache_path)
    db.execute("UPDATE folder_hashes SET hash = ?", ("0" * 32,))
    db.commit()
    db.close()
    assert LocalBackend("local", str(tmp_path)).hash("a", MD5) == hash_file(str(f))[MD5]


def test_damaged_cache_is_rebuilt_with_one_warning(tmp_path: Path, cache_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    cache_path.parent.mkdir(parents=True)
    cache_path.write_bytes(b"this is not an sqlite database" * 100)
    for i in range(3):
        _old(tmp_path / f"f{i}", str(i))
    backend = LocalBackend("local", str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="cloudsync"):
        for i in range(3):
            assert backend.hash(f"f{i}", MD5) == hash_file(str(tmp_path / f"f{i}"))[MD5]
    warnings = [r for r in caplog.records if "hash cache" in r.getMessage()]
    assert len(warnings) == 1 and "rebuilding" in warnings[0].getMessage()
    hashcache.get_cache().flush()  # type: ignore[union-attr]
    assert sqlite3.connect(cache_path).execute("SELECT count(*) FROM folder_hashes").fetchone()[0] == 3


def test_unwritable_cache_warns_once_and_hashes_anyway(tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be (fails even for root)")
    hashcache.configure(enabled=True, path=str(blocker / "sub" / "hashcache.sqlite"))
    try:
        for i in range(3):
            _old(tmp_path / f"f{i}", str(i))
        backend = LocalBackend("local", str(tmp_path))
        with caplog.at_level(logging.WARNING, logger="cloudsync"):
            for i in range(3):
                assert backend.hash(f"f{i}", MD5) == hash_file(str(tmp_path / f"f{i}"))[MD5]
        messages = [r.getMessage() for r in caplog.records if "hash cache" in r.getMessage()]
        assert len(messages) == 1 and "continuing without it" in messages[0]
    finally:
        hashcache.configure(enabled=True)


def test_disabled_cache_touches_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    where = tmp_path / "c.sqlite"
    monkeypatch.setenv("CLOUDSYNC_HASH_CACHE", str(where))
    hashcache.configure(enabled=False)
    try:
        _old(tmp_path / "a", "a")
        before = _hashed()
        LocalBackend("local", str(tmp_path)).hash("a", MD5)
        LocalBackend("local", str(tmp_path)).hash("a", MD5)
        assert _hashed() == before + 2 and not where.exists()
    finally:
        hashcache.configure(enabled=True)


_WORKER = """
import sys
from cloudsync.backends.local import LocalBackend
b = LocalBackend("local", sys.argv[1])
for _ in range(3):
    for i in range(200):
        b.hash(f"f{i}", "md5")
"""


def test_several_processes_share_the_cache(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    for i in range(200):
        _old(tree / f"f{i}", f"file {i}")
    env = {**os.environ, "CLOUDSYNC_HASH_CACHE": str(tmp_path / "shared.sqlite")}
    time.sleep(hashcache.SETTLE_S)  # ctimes of the new files must be settled to be stored
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, str(tree)], env=env,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0 and "hash cache" not in err, err
    cache = hashcache.HashCache(str(tmp_path / "shared.sqlite"))
    assert cache.stats()["entries"] == 200
    cache.close()


def test_second_check_of_an_unchanged_10000_file_tree_hashes_nothing(tmp_path: Path) -> None:
    """The issue's done-when: shown by -vv and by `hashcache stats`."""
    src, dst = tmp_path / "src", tmp_path / "dst"
    for root in (src, dst):
        for d in range(100):
            (root / f"d{d}").mkdir(parents=True)
            for i in range(100):
                (root / f"d{d}" / f"f{i}").write_text(f"{d}/{i}")
    env = {**os.environ, "CLOUDSYNC_HASH_CACHE": str(tmp_path / "hc.sqlite")}
    time.sleep(hashcache.SETTLE_S)
    cmd = [sys.executable, "-m", "cloudsync", "check", "-vv", str(src), str(dst)]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "Hash cache: 20000 files hashed, 0 hashes from the cache" in first.stderr
    second = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert second.returncode == 0
    assert "Hash cache: 0 files hashed, 20000 hashes from the cache" in second.stderr
    stats = subprocess.run([sys.executable, "-m", "cloudsync", "hashcache", "stats", "--json"],
                           env=env, capture_output=True, text=True, check=True).stdout
    assert '"entries": 20000' in stats
    cleared = subprocess.run([sys.executable, "-m", "cloudsync", "hashcache", "clear"],
                             env=env, capture_output=True, text=True, check=True).stdout
    assert "Removed 20000 entries" in cleared


def _v1_tag(path: bytes, key: tuple[int, ...], md5: str | None, sha1: str | None) -> int:
    import zlib

    return zlib.crc32(path + b"\0" + f"{key}|{md5 or ''}|{sha1 or ''}".encode())


def test_an_earlier_versions_cache_is_taken_over(tmp_path: Path, cache_path: Path) -> None:
    """The one-row-per-path table of earlier versions: its rows that verify are copied (an
    upgrade hashes nothing again), a tampered one is not; the old table stays usable."""
    good, bad = _old(tmp_path / "good", "good"), _old(tmp_path / "bad", "bad")
    cache_path.parent.mkdir(parents=True)
    db = sqlite3.connect(cache_path)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO meta VALUES ('schema', '1')")
    db.execute("CREATE TABLE hashes (path BLOB PRIMARY KEY, dev INTEGER NOT NULL, ino INTEGER"
               " NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, ctime_ns INTEGER"
               " NOT NULL, md5 TEXT, sha1 TEXT, tag INTEGER NOT NULL) WITHOUT ROWID")
    for f, tamper in ((good, False), (bad, True)):
        st = f.stat()
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        digests = hash_file(str(f), (MD5, SHA1))
        bpath = os.fsencode(str(f))
        tag = _v1_tag(bpath, key, digests[MD5], digests[SHA1]) + (1 if tamper else 0)
        db.execute("INSERT INTO hashes VALUES (?,?,?,?,?,?,?,?,?)",
                   (bpath, *key, digests[MD5], digests[SHA1], tag))
    db.commit()
    db.close()
    hashcache.configure(enabled=True, path=str(cache_path))
    backend = LocalBackend("local", str(tmp_path))
    before = _hashed()
    assert backend.hash("good", MD5) == hash_file(str(good))[MD5]
    assert backend.hash("good", SHA1) == hash_file(str(good), (SHA1,))[SHA1]
    assert _hashed() == before
    assert backend.hash("bad", MD5) == hash_file(str(bad))[MD5]
    assert _hashed() == before + 1
    hashcache.get_cache().flush()  # type: ignore[union-attr]
    db = sqlite3.connect(cache_path)
    assert db.execute("SELECT count(*) FROM hashes").fetchone()[0] == 2  # left as it was
    assert db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0] == "1"


def test_a_folder_is_read_in_one_query_and_changes_still_miss(tmp_path: Path,
                                                              cache_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    files = [_old(folder / f"f{i:03d}", f"file {i}") for i in range(300)]
    backend = LocalBackend("local", str(tmp_path))
    for f in files:
        backend.hash(f"d/{f.name}", MD5)
    hashcache.configure(enabled=True, path=str(cache_path))  # flushed; a fresh instance
    cache = hashcache.get_cache()
    assert cache is not None
    statements: list[str] = []
    cache._open().set_trace_callback(statements.append)
    changed = _old(files[7], "FILE 7")  # same size, same mtime: only ctime tells
    before = _hashed()
    for f in files:
        assert backend.hash(f"d/{f.name}", MD5) == hash_file(str(f))[MD5]
    assert _hashed() == before + 1  # the changed file, and only it
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2, selects  # one file, then the whole folder
    # what was just stored is answered from memory, and after a flush from the database
    assert backend.hash(f"d/{changed.name}", MD5) == hash_file(str(changed))[MD5]
    cache.flush()
    hashcache.configure(enabled=True, path=str(cache_path))
    before = _hashed()
    assert backend.hash(f"d/{changed.name}", MD5) == hash_file(str(changed))[MD5]
    assert _hashed() == before


@pytest.mark.parametrize("local_side", ["src", "dst"])
def test_check_against_a_listing_with_md5_takes_the_local_hash_from_the_cache_inline(
    tmp_path: Path, cache_path: Path, monkeypatch: pytest.MonkeyPatch, local_side: str
) -> None:
    """local ↔ a remote whose listing carries md5 (JottaCloud; memory here): with a warm cache
    every pair is decided in the march thread (no checker task, nothing read), and a file
    changed since it was cached is still hashed and found different."""
    import io

    from cloudsync.backends.memory import MemoryBackend

    from cloudsync import engine
    from cloudsync.engine.act import BoundedPool
    from cloudsync.engine.options import CheckOptions
    from cloudsync.types import PutInfo

    root = tmp_path / "tree"
    root.mkdir()
    remote = MemoryBackend("mem", f"inline-check/{tmp_path.name}")  # (one global store)
    for i in range(40):
        data = f"content {i}".encode()
        _old(root / f"f{i:02d}", data.decode())
        remote.put(f"f{i:02d}", io.BytesIO(data), PutInfo(len(data), 1_600_000_000_000_000_000))
    local = LocalBackend("local", str(root))
    src, dst = (local, remote) if local_side == "src" else (remote, local)
    assert engine.check(src, dst, CheckOptions()).differences == 0  # fills the cache
    hashcache.get_cache().flush()  # type: ignore[union-attr]

    submitted: list[Any] = []
    real_submit = BoundedPool.submit
    monkeypatch.setattr(BoundedPool, "submit",
                        lambda self, fn, *a: (submitted.append(fn), real_submit(self, fn, *a)))
    hits, before = hashcache.counters()[1], _hashed()
    result = engine.check(src, dst, CheckOptions())
    assert (result.differences, result.matches) == (0, 40)
    assert submitted == [] and _hashed() == before and hashcache.counters()[1] == hits + 40

    _old(root / "f07", "CONTENT 7")  # same size and mtime: the cache must not vouch for it
    result = engine.check(src, dst, CheckOptions())
    assert (result.differences, result.matches) == (1, 39)
    assert _hashed() == before + 1 and len(submitted) == 1
