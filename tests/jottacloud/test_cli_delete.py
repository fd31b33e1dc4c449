"""``cloudsync delete REMOTE:dir/file`` deletes that one file (rclone's FsIsFile), on JottaCloud
and locally – it used to walk the file as a directory (JottaCloud: 400 for ``mode=liststream``
on a file, retried three times; local: "is a file not a directory")."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cloudsync.jottaserver.testing import JottaServer

from .support import cs, make_backend, put_bytes, server_with_remote_j, settled_log


@pytest.fixture
def srv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[JottaServer]:
    yield from server_with_remote_j(monkeypatch, tmp_path)


def test_delete_one_jotta_file(srv: JottaServer) -> None:
    b = make_backend(srv)
    for name in ("dir/del.txt", "dir/keep.txt", "dir/sub/del.txt"):
        put_bytes(b, name, name.encode())
    srv.clear_request_log()
    r = cs("delete", "-v", "j:dir/del.txt")
    assert r.exit_code == 0, r.output
    assert "del.txt: Deleted" in r.stderr and "ERROR" not in r.stderr
    assert set(srv.state.files()) == {"Jotta/Archive/dir/keep.txt", "Jotta/Archive/dir/sub/del.txt"}
    assert srv.state.trash()  # an ordinary delete: to the trash
    log = settled_log(srv)
    assert not [e for e in log if e.status == 400], [(e.path, e.query) for e in log]
    assert not [e for e in log if "liststream" in e.query and e.path.endswith("del.txt")]


def test_delete_one_file_dry_run_keeps_it(srv: JottaServer) -> None:
    b = make_backend(srv)
    put_bytes(b, "d/x.txt", b"x")
    r = cs("delete", "--dry-run", "j:d/x.txt")
    assert r.exit_code == 0, r.output
    assert "Skipped delete as --dry-run is set" in r.stderr
    assert srv.state.read("Jotta/Archive/d/x.txt") == b"x"


def test_delete_one_local_file_with_glob_characters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDSYNC_CONFIG", str(tmp_path / "cloudsync.conf"))
    root = tmp_path / "files"
    root.mkdir()
    odd = "we[ir]d *{x}?.txt"
    for name in (odd, "weird.txt", "other.txt"):
        (root / name).write_text(name)
    r = cs("delete", str(root / odd))
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in root.iterdir()) == ["other.txt", "weird.txt"]
