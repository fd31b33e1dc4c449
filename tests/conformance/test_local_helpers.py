"""Helper processes for big local→local copies (cloudsync.backends.local_helpers).

Every test makes the helpers start early (not after 4,096 files) and runs them for real.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cloudsync.backends import local_helpers
from cloudsync.backends.local import LocalBackend, _temp_name

from cloudsync.errors import IsDirError, ObjectNotFound
from cloudsync.types import Entry, PutInfo

T = 1_234_567_891_987_654_321

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX helpers")


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[local_helpers.Helpers]:
    helpers = local_helpers.Helpers(2)
    monkeypatch.setattr(local_helpers, "_helpers", helpers)
    monkeypatch.setattr(local_helpers, "START_AFTER", 0)
    monkeypatch.setattr(local_helpers, "MIN_BATCH", 1)
    yield helpers
    helpers.close()


def _tree(root: Path, n: int) -> list[tuple[str, str]]:
    src = LocalBackend("local", str(root))
    pairs = []
    for i in range(n):
        data = bytes([i % 251]) * (i * 37 % 3000)
        src.put(f"d{i % 3}/f{i}.bin", io.BytesIO(data), PutInfo(len(data), T + i))
        pairs.append((f"d{i % 3}/f{i}.bin", f"out/d{i % 3}/f{i}.bin"))
    return pairs


def test_a_batch_is_copied_by_a_helper_with_every_guarantee(
    pool: local_helpers.Helpers, tmp_path: Path
) -> None:
    pairs = _tree(tmp_path / "src", 40)
    src = LocalBackend("local", str(tmp_path / "src"))
    dst = LocalBackend("local", str(tmp_path / "dst"))
    results = dst.copy_batch(src, pairs)
    assert pool._started == 1 and len(pool._idle) == 1 and not pool.broken  # a helper did it
    for i, ((s, d), res) in enumerate(zip(pairs, results, strict=True)):
        assert isinstance(res, Entry) and res.path == d
        assert (tmp_path / "dst" / d).read_bytes() == (tmp_path / "src" / s).read_bytes()
        assert (res.size, res.mtime_ns) == (i * 37 % 3000, T + i)
        assert os.stat(tmp_path / "dst" / d).st_mtime_ns == T + i
    assert [p for p in (tmp_path / "dst").rglob("*") if ".partial" in p.name] == []


def test_each_file_gets_its_own_error_back_from_the_helper(
    pool: local_helpers.Helpers, tmp_path: Path
) -> None:
    pairs = _tree(tmp_path / "src", 3)
    (tmp_path / "src" / "adir").mkdir()
    src = LocalBackend("local", str(tmp_path / "src"))
    dst = LocalBackend("local", str(tmp_path / "dst"))
    results = dst.copy_batch(
        src, [pairs[0], ("gone.bin", "out/gone.bin"), ("adir", "out/adir"), pairs[2]]
    )
    assert pool._started == 1
    assert isinstance(results[0], Entry) and isinstance(results[3], Entry)
    assert isinstance(results[1], ObjectNotFound) and results[1].path == "gone.bin"
    assert isinstance(results[2], IsDirError) and results[2].path == "adir"
    assert not (tmp_path / "dst" / "out" / "gone.bin").exists()


def test_a_helper_that_dies_costs_time_never_a_file(
    pool: local_helpers.Helpers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A helper that ends without answering: the batch is copied in this process, and every
    later batch too (no second helper is tried)."""
    started: list[int] = []

    def dying(self: Any) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "import sys; sys.stdin.read(4)"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        started.append(self.proc.pid)

    monkeypatch.setattr(local_helpers._Helper, "__init__", dying)
    pairs = _tree(tmp_path / "src", 12)
    src = LocalBackend("local", str(tmp_path / "src"))
    dst = LocalBackend("local", str(tmp_path / "dst"))
    for chunk in (pairs[:6], pairs[6:]):
        results = dst.copy_batch(src, chunk)
        assert all(isinstance(r, Entry) for r in results)
    assert pool.broken and len(started) == 1 and pool._started == 0
    for s, d in pairs:
        assert (tmp_path / "dst" / d).read_bytes() == (tmp_path / "src" / s).read_bytes()


def test_helpers_are_shared_and_bounded(pool: local_helpers.Helpers, tmp_path: Path) -> None:
    import threading

    pairs = _tree(tmp_path / "src", 60)
    src = LocalBackend("local", str(tmp_path / "src"))
    dst = LocalBackend("local", str(tmp_path / "dst"))
    chunks = [pairs[i::6] for i in range(6)]
    out: list[list[Any]] = []
    threads = [
        threading.Thread(target=lambda c=c: out.append(dst.copy_batch(src, c))) for c in chunks
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert pool._started <= 2 and len(pool._idle) == pool._started
    assert sum(isinstance(r, Entry) for res in out for r in res) == 60
    pool.close()
    assert pool._started == 0 and pool._idle == []


def test_a_big_cli_copy_goes_through_helpers_and_checks_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end in a real process: a copy big enough to start the helpers (from 256 files
    here), then rclone-style check."""
    src = tmp_path / "src"
    for i in range(1500):
        d = src / f"d{i % 7}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i}").write_bytes(os.urandom(i % 700))
    code = (
        "import sys\n"
        "from cloudsync.backends import local_helpers\n"
        "local_helpers.START_AFTER = 256\n"
        "seen = []\n"
        "real = local_helpers.Helpers.run\n"
        "def spy(self, s, jobs):\n"
        "    r = real(self, s, jobs)\n"
        "    seen.append(r is not None)\n"
        "    return r\n"
        "local_helpers.Helpers.run = spy\n"
        "from cloudsync.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as e:\n"
        "    print('HELPED', sum(seen), file=sys.stderr)\n"
        "    raise\n"
    )
    env = {**os.environ, "CLOUDSYNC_CONFIG": str(tmp_path / "c.conf")}
    run = subprocess.run(
        [sys.executable, "-c", code, "copy", str(src), str(tmp_path / "dst")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    helped = int(run.stderr.rsplit("HELPED", 1)[1].split()[0])
    assert helped >= 1
    check = subprocess.run(
        [sys.executable, "-m", "cloudsync", "check", str(src), str(tmp_path / "dst")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert check.returncode == 0, check.stderr
    assert "0 differences found" in check.stderr


# ------------------------------------------------------------------ listing ahead of a walk
def test_list_plain_lists_plain_folders_and_leaves_the_rest_to_the_walk(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    (plain / "sub").mkdir(parents=True)
    (plain / "a.txt").write_bytes(b"abc")
    os.utime(plain / "a.txt", ns=(T, T))
    rows = local_helpers.list_plain(str(plain), ".partial")
    assert rows is not None
    assert sorted((n, d) for n, d, _, _ in rows) == [("a.txt", False), ("sub", True)]
    assert [(s, m) for n, _, s, m in rows if n == "a.txt"] == [(3, T)]
    for name, make in (("link", lambda d: (d / "link").symlink_to("x")),
                       ("temp", lambda d: (d / _temp_name("a.txt")).write_bytes(b"")),
                       ("uni", lambda d: (d / "ñ.txt").write_bytes(b"")),
                       ("fifo", lambda d: os.mkfifo(d / "p"))):
        d = tmp_path / name
        d.mkdir()
        (d / "ok").write_bytes(b"")
        make(d)
        assert local_helpers.list_plain(str(d), ".partial") is None, name
    assert local_helpers.list_plain(str(tmp_path / "missing"), ".partial") is None


def _big_tree(root: Path, folders: int = 90) -> None:
    for i in range(folders):
        d = root / f"d{i // 10}" / f"s{i % 10}"
        d.mkdir(parents=True, exist_ok=True)
        for j in range(5):
            (d / f"f{j}").write_bytes(b"x" * j)
    if folders > 35:
        (root / "d3" / "s4" / "link").symlink_to("f1")  # a folder the walk lists itself
    if folders > 55:
        (root / "d5" / "s5" / _temp_name("f9")).write_bytes(b"half")  # a leftover: not listed


def test_a_walk_with_helpers_listing_ahead_lists_exactly_what_it_lists_alone(
    pool: local_helpers.Helpers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cloudsync import engine
    from cloudsync.engine import listing

    _big_tree(tmp_path)
    monkeypatch.setattr(listing, "PREFETCH_FROM", 2)
    taken: list[bool] = []
    real_take = local_helpers.AheadLister.take

    def take(self: local_helpers.AheadLister, path: str) -> Any:
        rows = real_take(self, path)
        taken.append(rows is not None)
        return rows

    monkeypatch.setattr(local_helpers.AheadLister, "take", take)
    backend = LocalBackend("local", str(tmp_path))
    alone = LocalBackend("local", str(tmp_path))
    monkeypatch.setattr(alone, "prefetch_lists", lambda paths: None)
    got = [(e.path, e.is_dir, e.size, e.mtime_ns) for e in engine.walk(backend, "")]
    want = [(e.path, e.is_dir, e.size, e.mtime_ns) for e in engine.walk(alone, "")]
    assert got == want and len(got) > 500
    assert taken and backend._ahead is None  # asked, and forgotten at the end of the walk
    assert pool._started == 1 and len(pool._idle) == 1 and not pool.broken


def test_a_helper_reply_is_taken_once_it_is_there(
    pool: local_helpers.Helpers, tmp_path: Path
) -> None:
    import select

    _big_tree(tmp_path, folders=4)
    lister = local_helpers.AheadLister(pool, ".partial", 1)
    paths = ["d0/s0", "d0/s1", "d0/s2", "d0/s3"]
    lister.want(paths, lambda p: str(tmp_path / p))
    assert select.select([lister._helpers[0].out_fd], [], [], 30)[0]
    rows = lister.take("d0/s0")
    assert rows is not None and sorted(r[0] for r in rows) == [f"f{j}" for j in range(5)]
    lister.close()
    assert len(pool._idle) == 1 and not pool.broken


def test_a_listing_helper_that_dies_leaves_the_walk_complete(
    pool: local_helpers.Helpers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cloudsync import engine
    from cloudsync.engine import listing

    _big_tree(tmp_path)
    monkeypatch.setattr(listing, "PREFETCH_FROM", 2)

    def dying(self: Any) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read(4)"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        self.in_fd = self.proc.stdin.fileno()  # type: ignore[union-attr]
        self.out_fd = self.proc.stdout.fileno()  # type: ignore[union-attr]

    monkeypatch.setattr(local_helpers._Helper, "__init__", dying)
    backend = LocalBackend("local", str(tmp_path))
    alone = LocalBackend("local", str(tmp_path))
    monkeypatch.setattr(alone, "prefetch_lists", lambda paths: None)
    got = [e.path for e in engine.walk(backend, "")]
    assert got == [e.path for e in engine.walk(alone, "")]
    assert pool.broken
