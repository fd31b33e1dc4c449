"""``touch`` against the pinned rclone: the same command line in identical fixtures must leave
the same files with the same modification times, print the same notices and exit alike."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from .harness import DIR_MTIME, T1
from .test_outputs import RCLONE, both

pytestmark = pytest.mark.skipif(RCLONE is None, reason="rclone binary not installed")


def _tree(work: Path) -> None:
    (work / "d" / "sub").mkdir(parents=True)
    for rel, data in (("d/a", b"hi\n"), ("d/keep.log", b"log"), ("d/sub/b", b"x\n")):
        (work / rel).write_bytes(data)
        os.utime(work / rel, ns=(T1, T1))
    for rel in ("d/sub", "d"):
        os.utime(work / rel, ns=(DIR_MTIME, DIR_MTIME))


def _files(work: Path) -> dict[str, tuple[int, int]]:
    """path → (size, mtime_ns) of every file under ``work``."""
    out = {}
    for root, _, names in os.walk(work):
        for name in names:
            p = Path(root) / name
            st = p.stat()
            out[p.relative_to(work).as_posix()] = (st.st_size, st.st_mtime_ns)
    return out


def _trees(tmp_path: Path) -> tuple[dict[str, tuple[int, int]], dict[str, tuple[int, int]]]:
    return _files(tmp_path / "rclone"), _files(tmp_path / "cloudsync")


@pytest.mark.parametrize("stamp", ["2006-01-02T15:04:05", "2006-01-02T15:04:05.123456789",
                                   "2006-01-02T15:04:05.5", "991231", "680101", "690101"])
def test_timestamp_forms_set_the_same_time(tmp_path: Path, stamp: str) -> None:
    rc, cs = both(tmp_path, _tree, "touch", "-t", stamp, "d/a")
    assert cs.code == rc.code == 0
    r, c = _trees(tmp_path)
    assert c == r
    assert r["d/a"][1] != T1  # the oracle changed something


def test_localtime_reads_the_timestamp_in_the_local_zone(tmp_path: Path) -> None:
    rc, cs = both(tmp_path, _tree, "touch", "--localtime", "-t", "2006-01-02T15:04:05", "d/a",
                  env={"TZ": "Europe/Oslo"})
    assert cs.code == rc.code == 0
    r, c = _trees(tmp_path)
    assert c == r
    assert r["d/a"][1] == 1136210645 * 10**9  # 14:04:05 UTC


@pytest.mark.parametrize("stamp", ["bogus", "2006-01-02", "2006-01-02 15:04:05",
                                   "2006-01-02T15:04:05Z", "060230", "2006-13-02T15:04:05"])
def test_bad_timestamps_fail_and_change_nothing(tmp_path: Path, stamp: str) -> None:
    rc, cs = both(tmp_path, _tree, "touch", "--retries", "1", "-t", stamp, "d/a")
    assert cs.code == rc.code == 1
    assert _trees(tmp_path)[1] == _trees(tmp_path)[0]
    # one clear line saying what was wrong, no traceback
    assert "failed to parse timestamp argument" in cs.err
    assert "Traceback" not in cs.err


def test_missing_file_is_created_empty_with_its_parents(tmp_path: Path) -> None:
    before = time.time_ns()
    rc, cs = both(tmp_path, _tree, "touch", "new/deep/file")
    assert cs.code == rc.code == 0
    r, c = _trees(tmp_path)
    assert set(c) == set(r)
    assert c["new/deep/file"][0] == r["new/deep/file"][0] == 0
    assert c["new/deep/file"][1] >= before
    # nothing else was touched
    assert {k: v for k, v in c.items() if k != "new/deep/file"} == \
        {k: v for k, v in r.items() if k != "new/deep/file"}


@pytest.mark.parametrize("flags", [("-C",), ("--no-create",), ("-R",)])
def test_no_create_and_recursive_leave_a_missing_file_missing(tmp_path: Path,
                                                               flags: tuple[str, ...]) -> None:
    rc, cs = both(tmp_path, _tree, "touch", *flags, "d/missing")
    assert cs.code == rc.code == 0
    assert _trees(tmp_path)[1] == _trees(tmp_path)[0]
    assert "d/missing" not in _trees(tmp_path)[0]
    assert cs.lines("NOTICE") == rc.lines("NOTICE")
    assert "Not touching nonexistent file" in rc.lines("NOTICE")[0]


@pytest.mark.parametrize("flags", [(), ("-R",), ("-R", "--include", "b"), ("-R", "--max-depth", "1"),
                                   ("-R", "--exclude", "*.log"), ("--transfers", "1", "-R")])
def test_directory_touches_its_files(tmp_path: Path, flags: tuple[str, ...]) -> None:
    rc, cs = both(tmp_path, _tree, "touch", "-t", "2010-01-01T00:00:00", *flags, "d")
    assert cs.code == rc.code == 0
    r, c = _trees(tmp_path)
    assert c == r
    assert any(mtime == 1262304000 * 10**9 for _, mtime in r.values())
    assert (tmp_path / "cloudsync" / "d").stat().st_mtime_ns == \
        (tmp_path / "rclone" / "d").stat().st_mtime_ns


@pytest.mark.parametrize("target", ["d", "d/a", "d/new"])
def test_dry_run_changes_nothing_and_says_so(tmp_path: Path, target: str) -> None:
    rc, cs = both(tmp_path, _tree, "touch", "-n", "-R" if target == "d" else "-v", target)
    assert cs.code == rc.code == 0
    r, c = _trees(tmp_path)
    assert c == r
    assert "d/new" not in r
    assert sorted(cs.lines("NOTICE")) == sorted(rc.lines("NOTICE"))


def test_touch_prints_no_stats(tmp_path: Path) -> None:
    rc, cs = both(tmp_path, _tree, "touch", "-v", "d/a")
    assert cs.code == rc.code == 0
    assert "Transferred:" not in rc.err
    assert "Transferred:" not in cs.err


def test_path_under_a_file_fails_like_rclone(tmp_path: Path) -> None:
    rc, cs = both(tmp_path, _tree, "touch", "--retries", "1", "d/a/x")
    assert cs.code == rc.code == 1
    assert _trees(tmp_path)[1] == _trees(tmp_path)[0]
    assert "Traceback" not in cs.err

