"""Temporary files of a killed run are adopted or removed by the next run (issue 7, point 4)."""

from __future__ import annotations

import fcntl
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cloudsync.backends.local import LocalBackend, _temp_name

from cloudsync.types import PutInfo

T = 1_600_000_000_000_000_000


def _partials(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".partial")]


def test_copy_killed_three_times_then_completed_leaves_no_temp_file(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    blob = os.urandom(1 << 20)
    for i in range(6):
        (src / f"d{i % 2}").mkdir(exist_ok=True)
        (src / f"d{i % 2}" / f"big{i}.bin").write_bytes(blob * 24 + bytes([i]))
    env = dict(os.environ, CLOUDSYNC_CONFIG=str(tmp_path / "c.conf"))
    cmd = [sys.executable, "-m", "cloudsync", "copy", str(src), str(dst), "--transfers", "2"]
    kills = 0
    for _ in range(20):
        if kills == 3:
            break
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        try:
            while proc.poll() is None and time.monotonic() < deadline:
                if dst.exists() and _partials(dst):
                    os.kill(proc.pid, signal.SIGKILL)
                    kills += 1
                    break
                time.sleep(0.0005)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        if proc.returncode == 0:  # finished before we caught it writing: start afresh
            for p in dst.rglob("*.bin"):
                p.unlink()
    assert kills == 3
    assert _partials(dst), "the kills left temporary files (the situation under test)"
    # `ls` of the destination never shows them
    ls = subprocess.run([sys.executable, "-m", "cloudsync", "lsf", "-R", str(dst)], env=env,
                        capture_output=True, text=True, check=False)
    assert ".partial" not in ls.stdout
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert _partials(dst) == []
    for p in src.rglob("*.bin"):
        assert (dst / p.relative_to(src)).read_bytes() == p.read_bytes()


def test_leftover_is_adopted_by_the_next_write(tmp_path: Path) -> None:
    b = LocalBackend("l", str(tmp_path))
    leftover = tmp_path / _temp_name("a.txt")
    leftover.write_bytes(b"half written junk" * 100)
    b.put("a.txt", io.BytesIO(b"new"), PutInfo(size=3, mtime_ns=T))
    assert sorted(os.listdir(tmp_path)) == ["a.txt"]
    assert (tmp_path / "a.txt").read_bytes() == b"new"


def test_listing_hides_temp_files_and_sync_end_removes_stale_ones(tmp_path: Path) -> None:
    from cloudsync.engine import sync
    from cloudsync.engine.options import SyncOptions

    src, dst = tmp_path / "s", tmp_path / "d"
    src.mkdir()
    (dst / "x").mkdir(parents=True)
    (src / "keep.txt").write_bytes(b"k")
    stale = dst / "x" / _temp_name("gone.txt")  # its file is no longer in the source
    stale.write_bytes(b"junk")
    live = dst / _temp_name("busy.txt")  # a live writer holds this one
    live.write_bytes(b"in progress")
    with open(live, "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        b = LocalBackend("d", str(dst))
        assert [e.path for e in b.list("x")] == []
        assert [e.path for e in b.list("")] == ["x"]
        dry = sync(LocalBackend("s", str(src)), LocalBackend("d", str(dst)), SyncOptions(dry_run=True))
        assert dry.final_error is None and stale.exists()  # --dry-run changes nothing
        r = sync(LocalBackend("s", str(src)), LocalBackend("d", str(dst)), SyncOptions())
        assert r.final_error is None and r.stats.deletes == 0
        assert not stale.exists()
        assert live.read_bytes() == b"in progress"  # never touched while locked
        # a second writer of busy.txt uses a unique name and leaves the locked one alone
        LocalBackend("d", str(dst)).put("busy.txt", io.BytesIO(b"b"), PutInfo(size=1, mtime_ns=T))
        assert live.read_bytes() == b"in progress" and (dst / "busy.txt").read_bytes() == b"b"


def test_second_writer_temp_file_is_locked_too(tmp_path: Path) -> None:
    from cloudsync.backends.local import _remove_if_stale

    b = LocalBackend("l", str(tmp_path))
    live = tmp_path / _temp_name("f.txt")
    live.write_bytes(b"")
    seen: list[Path] = []

    class Spy(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buf: bytearray) -> int:  # type: ignore[override]
            if seen:
                return 0
            seen.extend(p for p in tmp_path.iterdir() if p.name.endswith(".partial") and p != live)
            # a cleanup by another process while this writer works must leave its file alone
            assert seen and not _remove_if_stale(str(seen[0])) and seen[0].exists()
            buf[:1] = b"x"
            return 1

    with open(live, "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        b.put("f.txt", Spy(), PutInfo(size=1, mtime_ns=T))
    assert (tmp_path / "f.txt").read_bytes() == b"x" and not seen[0].exists()


@pytest.mark.parametrize("name", ["a.txt", "é" * 120])
def test_temp_name_is_deterministic_and_recognised(name: str) -> None:
    from cloudsync.backends.local import _is_temp_name

    assert _temp_name(name) == _temp_name(name)
    assert _is_temp_name(_temp_name(name))
    assert not _is_temp_name(".a.txt.partial") and not _is_temp_name(".a.txt.zzzzzzzz.partial")
