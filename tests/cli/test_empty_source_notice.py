"""sync from an empty source: rclone's behaviour (everything goes), announced in one NOTICE."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import T1, write

testing = pytest.importorskip("cloudsync.jottaserver.testing")


def _notices(err: str) -> list[str]:
    return [ln for ln in err.splitlines() if "the source has no files" in ln]


@pytest.mark.parametrize("mode", ["--delete-after", "--delete-before", "--delete-during"])
def test_local_empty_source_notice(cs: Any, tmp_path: Path, mode: str) -> None:
    src, dst = tmp_path / "empty", tmp_path / "dst"
    (src / "no-files-here").mkdir(parents=True)
    for i in range(3):
        write(dst / f"f{i}.txt", b"x", T1)
    r = cs("sync", str(src), str(dst), "--dry-run", mode)
    lines = _notices(r.err)
    assert r.code == 0 and len(lines) == 1 and "would delete all 3 files" in lines[0]
    assert len(list(dst.iterdir())) == 3
    r = cs("sync", str(src), str(dst), "--max-delete", "1", mode)
    assert r.code == 7 and len(_notices(r.err)) == 1
    assert len([p for p in dst.iterdir() if p.is_file()]) == 2  # the guard rail still holds
    r = cs("sync", str(src), str(dst), mode, "-v")
    lines = _notices(r.err)
    assert r.code == 0 and len(lines) == 1 and "NOTICE" in lines[0]
    assert "deletes all 2 files" in lines[0] and "cannot be restored" in lines[0]
    # the notice comes before the first deletion
    assert r.err.index("the source has no files") < r.err.index(": Deleted")
    assert [p.name for p in dst.iterdir() if p.is_file()] == []
    # a source with files: no such notice; with --delete-during the destination-only files
    # that come before the first source file are deleted all the same
    write(src / "z" / "a.txt", b"a", T1)
    write(dst / "extra.txt", b"e", T1)
    write(dst / "y" / "extra.txt", b"e", T1)
    r = cs("sync", str(src), str(dst), mode)
    assert r.code == 0 and _notices(r.err) == []
    assert sorted(str(p.relative_to(dst)) for p in dst.rglob("*") if p.is_file()) == ["z/a.txt"]


def test_jottacloud_empty_source_notice_names_the_trash(cs: Any, tmp_path: Path) -> None:
    src = tmp_path / "empty"
    src.mkdir()
    with testing.JottaServer(user="testuser") as srv:
        for i in range(4):
            srv.state.put_file(f"Jotta/Archive/backup/d/f{i}.txt", b"x")
        token = srv.mint_login_token()
        assert cs("config", "create", "jotta", "jottacloud", f"login_token={token}",
                  f"jfs_url={srv.jfs_url}", f"api_url={srv.api_url}").code == 0
        r = cs("sync", str(src), "jotta:backup")
        lines = _notices(r.err)
        assert r.code == 0 and len(lines) == 1, r.err
        assert "deletes all 4 files" in lines[0]
        assert "cloudsync trash restore jotta:backup/PATH" in lines[0]
        assert all(srv.state.is_trashed(f"Jotta/Archive/backup/d/f{i}.txt") for i in range(4))
        # and the way back works
        assert cs("trash", "restore", "jotta:backup/d").code == 0
        assert srv.state.exists("Jotta/Archive/backup/d/f0.txt")
