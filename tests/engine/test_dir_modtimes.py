"""Directory modtimes are copied like rclone does on local (rclone-semantics.md §B.2 step 6)."""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path
from typing import Any

import pytest
from cloudsync.backends.local import LocalBackend
from cloudsync.backends.memory import MemoryBackend

from cloudsync import engine
from cloudsync.engine.options import FilterOptions, SyncOptions
from cloudsync.types import PutInfo

from .conftest import T1, T2, put

DIR_T = 1_500_000_000_000_000_000  # 2017-07-14T02:40:00Z
OLD_T = 1_200_000_000_000_000_000


def mtime(p: Path) -> int:
    return os.stat(p).st_mtime_ns


def make_src(root: Path) -> LocalBackend:
    """src: a/f2, a/b/f1, c/f3, empty/inner/ (no file) and every dir at DIR_T."""
    for rel, data in (("a/f2", b"yo"), ("a/b/f1", b"hi"), ("c/f3", b"x")):
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        os.utime(p, ns=(T1, T1))
    (root / "empty" / "inner").mkdir(parents=True)
    for d in ("a/b", "a", "c", "empty/inner", "empty", ""):
        os.utime(root / d, ns=(DIR_T, DIR_T))
    return LocalBackend("local", str(root))


def make_dst(root: Path) -> LocalBackend:
    """dst: c/f3 equal to the source's, c/ at an older modtime."""
    (root / "c").mkdir(parents=True)
    (root / "c" / "f3").write_bytes(b"x")
    os.utime(root / "c" / "f3", ns=(T1, T1))
    os.utime(root / "c", ns=(OLD_T, OLD_T))
    return LocalBackend("local", str(root))


def run(mode: str, src: Any, dst: Any, **kw: Any) -> engine.RunResult:
    result: engine.RunResult = getattr(engine, mode)(src, dst, SyncOptions(**kw))
    return result


@pytest.mark.parametrize("mode", ["copy", "sync", "move"])
def test_dir_modtimes_are_copied_after_the_files(tmp_path: Path, mode: str) -> None:
    src, dst = make_src(tmp_path / "src"), make_dst(tmp_path / "dst")
    root_before = mtime(tmp_path / "dst")
    r = run(mode, src, dst)
    assert r.final_error is None and r.stats.transfers == 2
    d = tmp_path / "dst"
    # new dirs that received files (written into after their creation), and the existing
    # dir whose modtime differed, all carry the source's time
    assert {p: mtime(d / p) for p in ("a", "a/b", "c")} == dict.fromkeys(("a", "a/b", "c"), DIR_T)
    assert not (d / "empty").exists()  # no file below it: never created without the flag
    assert mtime(d) != DIR_T or root_before == DIR_T  # the root is never set
    # not counted anywhere
    assert (r.stats.checks, r.stats.deletes) == ((1, 0) if mode != "move" else (2, 1))


def test_create_empty_src_dirs_gets_modtimes_too(tmp_path: Path) -> None:
    src, dst = make_src(tmp_path / "src"), make_dst(tmp_path / "dst")
    r = run("copy", src, dst, create_empty_src_dirs=True)
    assert r.final_error is None
    d = tmp_path / "dst"
    for p in ("a", "a/b", "c", "empty", "empty/inner"):
        assert mtime(d / p) == DIR_T, p


def test_existing_dir_with_nothing_to_transfer_is_fixed(tmp_path: Path) -> None:
    src, dst = make_src(tmp_path / "src"), LocalBackend("local", str(tmp_path / "dst"))
    assert run("copy", src, dst).stats.transfers == 3
    os.utime(tmp_path / "dst" / "a" / "b", ns=(OLD_T, OLD_T))
    r = run("copy", src, dst)
    assert r.stats.transfers == 0 and r.final_error is None
    assert mtime(tmp_path / "dst" / "a" / "b") == DIR_T


def test_dry_run_only_announces(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    src, dst = make_src(tmp_path / "src"), make_dst(tmp_path / "dst")
    with caplog.at_level(logging.INFO, logger="cloudsync"):
        r = run("copy", src, dst, dry_run=True)
    assert r.final_error is None
    assert mtime(tmp_path / "dst" / "c") == OLD_T
    assert not (tmp_path / "dst" / "a").exists()
    skipped = {rec.getMessage() for rec in caplog.records
               if "Skipped set directory modification time" in rec.getMessage()}
    assert {m.split(":")[0] for m in skipped} == {"a", "a/b", "c"}
    # an existing dir says its size, like rclone; a new one does not
    assert any(m.startswith("c: ") and "(size " in m for m in skipped)
    assert "a/b: Skipped set directory modification time as --dry-run is set" in skipped


def test_no_update_dir_modtime(tmp_path: Path) -> None:
    src, dst = make_src(tmp_path / "src"), make_dst(tmp_path / "dst")
    run("copy", src, dst, no_update_dir_modtime=True)
    assert mtime(tmp_path / "dst" / "c") == OLD_T
    assert mtime(tmp_path / "dst" / "a") != DIR_T


def test_only_changed_dirs_get_a_time_at_the_end(caplog: pytest.LogCaptureFixture) -> None:
    # memory dirs keep their modtime on writes, so what was set shows in the log alone
    src, dst = MemoryBackend("m", "src"), MemoryBackend("m", "dst")
    put(src, "same/deep/f", b"1")
    put(src, "new/f", b"2")
    put(src, "other/g", b"3")
    put(dst, "same/deep/f", b"1")
    put(dst, "other/g", b"3")
    put(dst, "other/extra", b"x")
    for d in ("same", "same/deep", "new", "other"):
        src.set_dir_modtime(d, DIR_T)
        if d != "new":
            dst.set_dir_modtime(d, DIR_T)
    put(src, "same/deep/f2", b"changed dir")  # memory: a write leaves the dir time alone
    with caplog.at_level(logging.INFO, logger="cloudsync"):
        r = run("sync", src, dst)
    assert r.final_error is None
    set_ = sorted(rec.getMessage().split(":")[0] for rec in caplog.records
                  if "Set directory modification time" in rec.getMessage())
    # same/deep got a file, so it and its parent are set; "other" only lost a file (rclone does
    # not count deletions as changes); "new" is new on the destination
    assert set_ == ["new", "same", "same/deep"]


def test_filtered_out_files_do_not_make_a_dir_non_empty(tmp_path: Path) -> None:
    src = make_src(tmp_path / "src")
    (tmp_path / "src" / "logs").mkdir()
    (tmp_path / "src" / "logs" / "x.log").write_bytes(b"log")
    os.utime(tmp_path / "src" / "logs", ns=(DIR_T, DIR_T))
    dst = LocalBackend("local", str(tmp_path / "dst"))
    run("copy", src, dst, filters=FilterOptions(exclude=("*.log",)))
    assert not (tmp_path / "dst" / "logs").exists()
    assert mtime(tmp_path / "dst" / "a") == DIR_T


def test_failed_dir_modtime_is_counted(caplog: pytest.LogCaptureFixture) -> None:
    class Refusing(MemoryBackend):
        def set_dir_modtime(self, path: str, mtime_ns: int) -> None:
            raise PermissionError("read-only dir")

    src, dst = MemoryBackend("m", "src"), Refusing("m", "dst")
    src.put("d/f", io.BytesIO(b"1"), PutInfo(1, T2))
    src.set_dir_modtime("d", DIR_T)
    with caplog.at_level(logging.ERROR, logger="cloudsync"):
        r = run("copy", src, dst)
    assert r.stats.transfers == 1 and r.stats.errors == 1
    assert any("d: Failed to update directory timestamp or metadata" in rec.getMessage()
               for rec in caplog.records)
