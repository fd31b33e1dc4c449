"""engine ``touch`` on a memory backend and on the offline JottaCloud server (local is compared
with the real rclone in tests/differential/test_touch.py)."""

from __future__ import annotations

import logging

import pytest

from cloudsync.backend import Backend
from cloudsync.engine.options import SyncOptions
from cloudsync.engine.touch import touch
from cloudsync.filters import FilterOptions

from .conftest import T2, put, tree

T = 1_262_304_000 * 1_000_000_000  # 2010-01-01T00:00:00Z
#: whole seconds: JottaCloud keeps modtimes to the second
T1 = 981_173_106 * 1_000_000_000


def _fill(b: Backend) -> None:
    put(b, "d/a", b"hi", T1)
    put(b, "d/keep.log", b"log", T1)
    put(b, "d/sub/b", b"x", T1)


def _mtimes(b: Backend) -> dict[str, int | None]:
    return {path: mtime for path, (_, mtime) in tree(b).items()}


def test_existing_file_gets_the_time_and_keeps_its_bytes(remote_backend: Backend) -> None:
    _fill(remote_backend)
    res = touch(remote_backend, "d/a", SyncOptions(), mtime_ns=T)
    assert res.ok, res.errors
    t = tree(remote_backend)
    assert t["d/a"] == (b"hi", T)
    assert t["d/sub/b"][1] == T1


def test_missing_file_is_created_empty_unless_told_not_to(remote_backend: Backend) -> None:
    _fill(remote_backend)
    assert touch(remote_backend, "new/deep/f", SyncOptions(), mtime_ns=T2, create=False).ok
    assert touch(remote_backend, "new/deep/f", SyncOptions(), mtime_ns=T2, recursive=True).ok
    assert "new/deep/f" not in tree(remote_backend)
    assert touch(remote_backend, "new/deep/f", SyncOptions(), mtime_ns=T2).ok
    data, mtime = tree(remote_backend)["new/deep/f"]
    assert data == b""
    # JottaCloud keeps modtimes to the second
    assert mtime is not None and abs(mtime - T2) < 1_000_000_000


def test_directory_non_recursive_recursive_and_filtered(remote_backend: Backend) -> None:
    _fill(remote_backend)
    assert touch(remote_backend, "d", SyncOptions(), mtime_ns=T).ok
    assert _mtimes(remote_backend) == {"d/a": T, "d/keep.log": T, "d/sub/b": T1}
    opts = SyncOptions(filters=FilterOptions(exclude=("*.log",)), transfers=2)
    assert touch(remote_backend, "d", opts, mtime_ns=T2 - T2 % 1_000_000_000, recursive=True).ok
    whole = T2 - T2 % 1_000_000_000
    assert _mtimes(remote_backend) == {"d/a": whole, "d/keep.log": T, "d/sub/b": whole}


def test_dry_run_changes_nothing(remote_backend: Backend) -> None:
    _fill(remote_backend)
    before = tree(remote_backend)
    for path, recursive in (("d", True), ("d/a", False), ("d/new", False)):
        assert touch(remote_backend, path, SyncOptions(dry_run=True), mtime_ns=T, recursive=recursive).ok
    assert tree(remote_backend) == before


def test_missing_directory_with_recursive_is_a_notice_not_an_error(remote_backend: Backend,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="cloudsync"):
        res = touch(remote_backend, "nothing/here", SyncOptions(), mtime_ns=T, recursive=True)
    assert res.ok
    assert "Not touching nonexistent file due to --recursive" in caplog.text
