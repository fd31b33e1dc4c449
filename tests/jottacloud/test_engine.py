"""The engine's copy/sync/check scenarios, local → jotta and jotta → local, on the offline server."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from cloudsync import engine
from cloudsync.backend import Backend
from cloudsync.engine.options import CheckOptions, SyncOptions
from cloudsync.jottaserver.testing import JottaServer
from cloudsync.registry import get_spec

from .support import make_backend, running_server, settled_log

T = 1_600_000_000


@pytest.fixture
def srv() -> Any:
    with running_server() as server:
        yield server


def local(path: Path) -> Backend:
    spec = get_spec("local")
    return spec.factory("local", str(path), spec.parse_options({}), None)


def make_tree(root: Path, files: dict[str, bytes]) -> None:
    for i, (name, data) in enumerate(sorted(files.items())):
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        os.utime(p, (T + i, T + i))


FILES = {
    "a.txt": b"alpha",
    "dir/b.bin": os.urandom(70_000),
    "dir/sub/c:d?.txt": b"restricted name",
    "empty.txt": b"",
}


def tree_of(b: Backend) -> dict[str, int]:
    return {e.path: e.size for e in engine.walk(b) if not e.is_dir}


def test_copy_check_sync_local_to_jotta(srv: JottaServer, tmp_path: Path) -> None:
    src_dir = tmp_path / "src"
    make_tree(src_dir, FILES)
    src, dst = local(src_dir), make_backend(srv, "backup")
    res = engine.copy(src, dst, SyncOptions())
    assert res.ok, res.errors
    assert res.stats.transfers == len(FILES)
    for name, data in FILES.items():
        assert srv.state.read("Jotta/Archive/backup/" + name.replace(":", "：").replace("?", "？")) == data
    chk = engine.check(src, dst, CheckOptions())
    assert chk.ok and chk.differences == 0

    # No-op re-sync: nothing transferred, and only a handful of requests.
    settled_log(srv)
    srv.clear_request_log()
    fresh = make_backend(srv, "backup")
    res = engine.sync(src, fresh, SyncOptions())
    assert res.ok and res.stats.transfers == 0
    requests_made = settled_log(srv)
    assert len(requests_made) <= 3, [(e.method, e.path, e.query) for e in requests_made]

    # A local change and a local deletion propagate; the deleted file goes to the trash.
    (src_dir / "a.txt").write_bytes(b"alpha v2")
    os.utime(src_dir / "a.txt", (T + 100, T + 100))
    (src_dir / "empty.txt").unlink()
    res = engine.sync(src, fresh, SyncOptions())
    assert res.ok, res.errors
    assert srv.state.read("Jotta/Archive/backup/a.txt") == b"alpha v2"
    assert srv.state.is_trashed("Jotta/Archive/backup/empty.txt")
    assert engine.check(src, fresh, CheckOptions()).differences == 0


def test_copy_jotta_to_local(srv: JottaServer, tmp_path: Path) -> None:
    for i, (name, data) in enumerate(sorted(FILES.items())):
        srv.state.put_file("Jotta/Archive/photos/" + name.replace(":", "：").replace("?", "？"), data,
                           modified=T + i, created=T + i)
    src, dst = make_backend(srv, "photos"), local(tmp_path / "restore")
    res = engine.copy(src, dst, SyncOptions())
    assert res.ok, res.errors
    for name, data in FILES.items():
        assert (tmp_path / "restore" / name).read_bytes() == data
    assert tree_of(src) == tree_of(dst)
    assert engine.check(src, dst, CheckOptions()).differences == 0
    again = engine.copy(src, dst, SyncOptions())
    assert again.ok and again.stats.transfers == 0


def test_check_reports_difference(srv: JottaServer, tmp_path: Path) -> None:
    src_dir = tmp_path / "s"
    make_tree(src_dir, {"x.txt": b"one"})
    dst = make_backend(srv, "chk")
    assert engine.copy(local(src_dir), dst, SyncOptions()).ok
    srv.state.put_file("Jotta/Archive/chk/x.txt", b"two", modified=T)
    res = engine.check(local(src_dir), dst, CheckOptions())
    assert res.differences == 1 and not res.ok


def test_names_differing_only_in_case_are_reported(srv: JottaServer, tmp_path: Path) -> None:
    src_dir = tmp_path / "case"
    make_tree(src_dir, {"Photo.jpg": b"1", "photo.jpg": b"2"})
    res = engine.copy(local(src_dir), make_backend(srv, "case"), SyncOptions())
    assert not res.ok
    assert any("case" in str(e).lower() or "duplicate" in str(e).lower() for e in res.errors), res.errors


# -- sync --track-renames: a renamed file becomes one server-side move (no upload, no delete)

BIG = os.urandom(300_000)


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
