"""``sync --track-renames`` against the offline JottaCloud server: a renamed file becomes one
server-side move (no upload, no delete), counted as a rename."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from cloudsync import engine
from cloudsync.backend import Backend
from cloudsync.engine.options import SyncOptions
from cloudsync.jottaserver.testing import JottaServer
from cloudsync.registry import get_spec

from .support import make_backend, running_server, settled_log

T = 1_600_000_000
BIG = os.urandom(300_000)


@pytest.fixture
def srv() -> Any:
    with running_server() as server:
        yield server


def local(path: Path) -> Backend:
    spec = get_spec("local")
    return spec.factory("local", str(path), spec.parse_options({}), None)


def test_rename_is_a_server_side_move(srv: JottaServer, tmp_path: Path) -> None:
    src_dir = tmp_path / "src"
    (src_dir / "old").mkdir(parents=True)
    (src_dir / "old" / "photo.jpg").write_bytes(BIG)
    (src_dir / "keep.txt").write_bytes(b"keep")
    for p in (src_dir / "old" / "photo.jpg", src_dir / "keep.txt"):
        os.utime(p, (T, T))
    res = engine.sync(local(src_dir), make_backend(srv, "backup"), SyncOptions())
    assert res.ok, res.errors

    # the user renames and moves the photo locally
    (src_dir / "new").mkdir()
    (src_dir / "old" / "photo.jpg").rename(src_dir / "new" / "renamed.jpg")
    settled_log(srv)
    srv.clear_request_log()
    res = engine.sync(local(src_dir), make_backend(srv, "backup"), SyncOptions(track_renames=True))
    assert res.ok, res.errors
    assert res.stats.renames == 1 and res.stats.server_side_moves == 1
    assert res.stats.transfers == 0 and res.stats.deletes == 0
    assert srv.state.read("Jotta/Archive/backup/new/renamed.jpg") == BIG
    requests = settled_log(srv)
    shown = [(e.method, e.path, e.query) for e in requests]
    # no upload of the 300 kB (no allocate, no upload), no delete of the old name
    assert not any("allocate" in e.path or e.method == "PUT" for e in requests), shown
    assert not any("rm" in str(e.query) or "dlDir" in str(e.query) for e in requests), shown
    assert sum("mv" in str(e.query) for e in requests) == 1, shown


def test_without_track_renames_the_file_is_uploaded_again(srv: JottaServer,
                                                           tmp_path: Path) -> None:
    src_dir = tmp_path / "src"
    src_dir.mkdir()
    (src_dir / "a.bin").write_bytes(BIG)
    assert engine.sync(local(src_dir), make_backend(srv, "backup"), SyncOptions()).ok
    (src_dir / "a.bin").rename(src_dir / "b.bin")
    res = engine.sync(local(src_dir), make_backend(srv, "backup"), SyncOptions())
    assert res.ok and res.stats.transfers == 1 and res.stats.renames == 0
