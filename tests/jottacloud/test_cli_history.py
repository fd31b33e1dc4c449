"""``versions``, ``restore``, ``trash`` and ``--jottacloud-version-at`` through the CLI, on the
offline server (and edge cases on memory)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloudsync.jottaserver.testing import JottaServer
from cloudsync.types import PutInfo

from .support import cs, make_backend, server_with_remote_j

SECOND = 1_000_000_000
MTIME = 1_700_000_000 * SECOND


@pytest.fixture
def srv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[JottaServer]:
    yield from server_with_remote_j(monkeypatch, tmp_path)


def _put(b, path: str, data: bytes, mtime: int = MTIME) -> None:  # type: ignore[no-untyped-def]
    b.put(path, io.BytesIO(data), PutInfo(size=len(data), mtime_ns=mtime))


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _moment() -> str:
    time.sleep(1.1)
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    time.sleep(1.1)
    return when


def test_versions_and_restore_version(srv: JottaServer) -> None:
    b = make_backend(srv)
    for body in (b"one", b"two!", b"three"):
        _put(b, "docs/a.txt", body)
    r = cs("versions", "j:docs/a.txt")
    assert r.exit_code == 0, r.output
    assert len(r.stdout.strip().splitlines()) == 4 and "current" in r.stdout
    listed = json.loads(cs("versions", "--json", "j:docs/a.txt").stdout)
    assert [v["MD5"] for v in listed] == [_md5(b"three"), _md5(b"two!"), _md5(b"one")]
    dry = cs("restore", "--dry-run", "--version", listed[-1]["ID"], "j:docs/a.txt")
    assert dry.exit_code == 0 and "Skipped restore of version" in dry.stderr
    assert b.get("docs/a.txt").read() == b"three"
    r = cs("restore", "--version", listed[-1]["ID"], "j:docs/a.txt")
    assert r.exit_code == 0, r.output
    assert b.get("docs/a.txt").read() == b"one"
    assert len(b.versions("docs/a.txt")) == 4  # the replaced content stays in the history
    listing = cs("lsf", "--jottacloud-versions", "j:docs").stdout.split()
    assert "a.txt" in listing and sum(n.startswith("a-v") and n.endswith(".txt") for n in listing) == 3
    bad = cs("restore", "--version", "99", "j:docs/a.txt")
    assert bad.exit_code == 4 and "version 99 not found" in bad.stderr
    assert cs("versions", "j:docs/missing.txt").exit_code == 4
    _put(b, "docs/b.txt", b"other")
    clash = cs("restore", "--version", listed[0]["ID"], "--to", "j:docs/b.txt", "j:docs/a.txt")
    assert clash.exit_code == 1 and "already lives" in clash.stderr
    assert b.get("docs/b.txt").read() == b"other"
    assert cs("restore", "j:docs/a.txt").exit_code == 2


def test_trash_restore_of_a_folder_of_50_files(srv: JottaServer) -> None:
    b = make_backend(srv)
    files = {f"photos/{i // 10}/img{i:02d}.jpg": (bytes([i]) * (100 + i), MTIME + i * SECOND)
             for i in range(50)}
    for path, (data, mtime) in files.items():
        _put(b, path, data, mtime)
    assert cs("purge", "j:photos").exit_code == 0
    ls = cs("trash", "ls", "j:")
    assert ls.exit_code == 0 and ls.stdout.strip().endswith("photos/")
    assert len(cs("trash", "ls", "-R", "j:").stdout.strip().splitlines()) == 56
    dry = cs("trash", "restore", "--dry-run", "j:photos")
    assert dry.exit_code == 0 and dry.stderr.count("Skipped restore from the trash") == 56
    assert [i.path for i in b.trash("")] == ["photos"]
    r = cs("trash", "restore", "j:photos")
    assert r.exit_code == 0, r.output
    assert "restored 50 files" in r.stdout
    got = {e.path: e for e in b.list_recursive("photos") if not e.is_dir}
    assert sorted(got) == sorted(files)
    for path, (data, mtime) in files.items():
        assert (got[path].hashes["md5"], got[path].mtime_ns) == (_md5(data), mtime)
    assert cs("trash", "ls", "j:photos").stdout.strip() == ""
    assert cs("trash", "restore", "j:photos").exit_code == 4


def test_trash_rm_and_empty(srv: JottaServer) -> None:
    b = make_backend(srv)
    _put(b, "t/a.txt", b"a")
    _put(b, "t/b.txt", b"b")
    b.delete("t/a.txt")
    b.delete("t/b.txt")
    assert cs("trash", "rm", "j:t/a.txt").exit_code == 0
    assert [i.path for i in b.trash("t")] == ["t/b.txt"]
    assert "Trashed:" in cs("about", "j:").stdout
    assert cs("trash", "empty", "j:").exit_code == 0
    assert b.trash("") == []


def test_copy_version_at_reproduces_the_tree(srv: JottaServer, tmp_path: Path) -> None:
    b = make_backend(srv)
    before = {"dir/keep.txt": b"keep", "dir/edit.txt": b"edit v1", "dir/sub/gone.txt": b"gone later",
              "dir/del.txt": b"deleted later"}
    for path, data in before.items():
        _put(b, path, data)
    at = _moment()
    _put(b, "dir/edit.txt", b"edit v2, longer")
    b.delete("dir/del.txt")
    b.purge("dir/sub")
    _put(b, "dir/new.txt", b"added later")
    later = _moment()
    _put(b, "dir/edit.txt", b"edit v3")
    out = tmp_path / "restored"
    r = cs("copy", "--jottacloud-version-at", at, "j:dir", str(out))
    assert r.exit_code == 0, r.output
    got = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert got == {k[len("dir/"):]: v for k, v in before.items()}
    # The connection-string form and the read commands work on the past too.
    past = f'j,version_at="{later}":dir'
    assert cs("cat", f"{past}/edit.txt").stdout == "edit v2, longer"
    md5 = cs("md5sum", past).stdout
    assert _md5(b"added later") in md5 and _md5(b"edit v2, longer") in md5 and "del.txt" not in md5
    names = {e["Path"] for e in json.loads(cs("lsjson", "-R", "--files-only", past).stdout)}
    assert names == {"keep.txt", "edit.txt", "new.txt"}
    assert cs("check", "--jottacloud-version-at", at, "j:dir", str(out)).exit_code == 0
    ro = cs("copy", str(out), past)
    assert ro.exit_code != 0
    # Folders carry no history on JottaCloud: before anything existed there are no files.
    early = cs("lsjson", "-R", "--files-only", "--jottacloud-version-at", "2001-01-01T00:00:00Z", "j:dir")
    assert json.loads(early.stdout) == []


def test_restore_folder_at_time_in_place(srv: JottaServer) -> None:
    b = make_backend(srv)
    _put(b, "w/a.txt", b"a1")
    _put(b, "w/b.txt", b"b1")
    at = _moment()
    _put(b, "w/a.txt", b"a2 changed")
    b.delete("w/b.txt")
    _put(b, "w/c.txt", b"new")
    r = cs("restore", "--at", at, "j:w")
    assert r.exit_code == 0, r.output
    assert b.get("w/a.txt").read() == b"a1" and b.get("w/b.txt").read() == b"b1"
    assert b.get("w/c.txt").read() == b"new"  # created later: left alone
    beside = cs("restore", "--at", at, "--to", "j:w-then", "j:w")
    assert beside.exit_code == 0, beside.output
    assert sorted(e.path for e in b.list_recursive("w-then")) == ["w-then/a.txt", "w-then/b.txt"]
    _put(b, "w/a.txt", b"a3 once more")
    one = cs("restore", "--at", at, "j:w/a.txt")
    assert one.exit_code == 0 and b.get("w/a.txt").read() == b"a1"
    assert cs("restore", "--at", at, "j:w/c.txt").exit_code == 4  # created later
    assert cs("restore", "--at", "2001-01-01T00:00:00Z", "j:w").exit_code == 4
    assert cs("restore", "--at", "yesterday-ish", "j:w").exit_code == 2


def test_local_has_no_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDSYNC_CONFIG", str(tmp_path / "c.conf"))
    (tmp_path / "f.txt").write_text("x")
    r = cs("versions", f"local:{tmp_path}/f.txt")
    assert r.exit_code != 0 and "keeps no file versions" in r.stderr
    assert "\n" not in r.stderr.strip()


def test_incomplete_and_corrupt_versions_are_never_restorable(srv: JottaServer) -> None:
    b = make_backend(srv)
    _put(b, "u/a.bin", b"good content")
    srv.state.put_metadata_only("Jotta/Archive/u/a.bin", size=1000, md5="0" * 32, state="CORRUPT")
    srv.state.put_metadata_only("Jotta/Archive/u/never.bin", size=50, md5="1" * 32, state="INCOMPLETE")
    listed = json.loads(cs("versions", "--json", "j:u/a.bin").stdout)
    assert [(v["State"], v["Current"]) for v in listed] == [("CORRUPT", False), ("COMPLETED", True)]
    table = cs("versions", "j:u/a.bin").stdout
    assert "CORRUPT" in table and "current" in table
    r = cs("restore", "--version", listed[0]["ID"], "j:u/a.bin")
    assert r.exit_code == 6 and "CORRUPT" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert b.get("u/a.bin").read() == b"good content"
    inc = json.loads(cs("versions", "--json", "j:u/never.bin").stdout)
    assert [v["State"] for v in inc] == ["INCOMPLETE"]
    assert cs("restore", "--version", inc[0]["ID"], "j:u/never.bin").exit_code == 6


def test_trashed_folder_with_trashed_and_live_children(srv: JottaServer) -> None:
    b = make_backend(srv)
    _put(b, "p/early.txt", b"trashed before the folder")
    _put(b, "p/late.txt", b"trashed with the folder")
    b.delete("p/early.txt")
    time.sleep(1.1)
    b.purge("p")
    r = cs("trash", "restore", "j:p")
    assert r.exit_code == 0, r.output
    # What went with the folder comes back; what was already gone stays in the trash.
    assert b.get("p/late.txt").read() == b"trashed with the folder"
    assert [i.path for i in b.trash("p")] == ["p/early.txt"]
    # A live folder with a trashed child: restoring the folder brings the child back.
    assert cs("trash", "restore", "j:p").exit_code == 0
    assert b.get("p/early.txt").read() == b"trashed before the folder"
    assert cs("trash", "restore", "j:p/late.txt").exit_code == 4  # live, not in the trash


def test_folder_deleted_and_recreated_since(srv: JottaServer, tmp_path: Path) -> None:
    b = make_backend(srv)
    _put(b, "r/old.txt", b"old life")
    at = _moment()
    b.purge("r")
    _put(b, "r/new.txt", b"new life")
    out = tmp_path / "then"
    assert cs("copy", "--jottacloud-version-at", at, "j:r", str(out)).exit_code == 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == {"old.txt": b"old life"}
    # In place: the old file comes back beside the new one, which is kept.
    assert cs("restore", "--at", at, "j:r").exit_code == 0
    assert b.get("r/old.txt").read() == b"old life" and b.get("r/new.txt").read() == b"new life"


def test_restricted_names_round_trip(srv: JottaServer) -> None:
    b = make_backend(srv)
    _put(b, "n/a:b?*.txt", b"v1")
    _put(b, "n/a:b?*.txt", b"v2!")
    listed = json.loads(cs("versions", "--json", "j:n/a:b?*.txt").stdout)
    assert len(listed) == 2
    assert cs("restore", "--version", listed[-1]["ID"], "j:n/a:b?*.txt").exit_code == 0
    assert b.get("n/a:b?*.txt").read() == b"v1"
    b.delete("n/a:b?*.txt")
    assert "n/a:b?*.txt" in cs("trash", "ls", "j:n").stdout
    assert cs("trash", "restore", "--to", "j:n/beside.txt", "j:n/a:b?*.txt").exit_code == 0
    assert b.get("n/beside.txt").read() == b"v1"


def test_memory_trash_refuses_to_overwrite_a_new_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDSYNC_CONFIG", str(tmp_path / "c.conf"))
    from cloudsync.backends.memory import MemoryBackend

    root = f"hist-{tmp_path.name}"
    b = MemoryBackend(":memory", root)
    _put(b, "a.txt", b"old")
    b.delete("a.txt")
    _put(b, "a.txt", b"new, only copy")
    r = cs("trash", "restore", f":memory:{root}/a.txt")
    assert r.exit_code == 1 and "a newer file now lives at this path" in r.stderr
    assert "--to" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert b.get("a.txt").read() == b"new, only copy"
    assert cs("trash", "restore", "--to", f":memory:{root}/old.txt", f":memory:{root}/a.txt").exit_code == 0
    assert b.get("old.txt").read() == b"old"
    assert cs("versions", f":memory:{root}/a.txt").exit_code == 0
    assert cs("trash", "ls", "--json", f":memory:{root}").exit_code == 0
