"""check, walk, copyto/moveto, delete/purge/rmdirs, and local-backend end-to-end runs."""

from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path
from typing import Any

import pytest
from cloudsync.backends.local import LocalBackend
from cloudsync.backends.memory import MemoryBackend

from cloudsync import engine
from cloudsync.engine.options import CheckOptions, FilterOptions, SyncOptions
from cloudsync.errors import DirNotFound, ExitCode, PermissionDenied, exit_code_for
from cloudsync.filters import Filter

from .conftest import T1, T2, Faulty, dirs, put, tree


def check_fixture() -> tuple[MemoryBackend, MemoryBackend]:
    src = MemoryBackend("m", "src")
    dst = MemoryBackend("m", "dst")
    put(src, "same.txt", b"same")
    put(dst, "same.txt", b"same")
    put(src, "other_mtime.txt", b"m", T1)
    put(dst, "other_mtime.txt", b"m", T2)  # modtimes are never compared by check
    put(src, "size.txt", b"aa")
    put(dst, "size.txt", b"a")
    put(src, "hash.txt", b"xx")
    put(dst, "hash.txt", b"yy")
    put(src, "only_src.txt", b"s")
    put(dst, "only_dst.txt", b"d")
    put(src, "sub/deep.txt", b"deep")
    put(dst, "sub/deep.txt", b"deep")
    return src, dst


def read_lines(p: Path) -> list[str]:
    return sorted(p.read_text().splitlines())


def test_check_reports(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    src, dst = check_fixture()
    names = ("combined", "missing_on_src", "missing_on_dst", "match", "differ", "error")
    files = {n: tmp_path / f"{n}.txt" for n in names}
    o = CheckOptions(**{n: str(p) for n, p in files.items()})
    with caplog.at_level(logging.DEBUG, logger="cloudsync"):
        r = engine.check(src, dst, o)
    assert exit_code_for(r.final_error) == 1 and str(r.final_error) == "4 differences found"
    assert r.differences == 4 and r.matches == 3 and r.stats.checks == 5
    assert read_lines(files["combined"]) == [
        "* hash.txt", "* size.txt", "+ only_src.txt", "- only_dst.txt", "= other_mtime.txt",
        "= same.txt", "= sub/deep.txt"]
    assert read_lines(files["missing_on_src"]) == ["only_dst.txt"]
    assert read_lines(files["missing_on_dst"]) == ["only_src.txt"]
    assert read_lines(files["differ"]) == ["hash.txt", "size.txt"]
    assert read_lines(files["error"]) == []
    msgs = [rec.getMessage() for rec in caplog.records]
    assert "Memory root 'dst': 4 differences found" in msgs
    assert "Memory root 'dst': 3 matching files" in msgs
    assert "hash.txt: md5 differ" in msgs and "size.txt: sizes differ" in msgs


def test_check_one_way_and_size_only() -> None:
    src, dst = check_fixture()
    r = engine.check(src, dst, CheckOptions(one_way=True))
    assert r.differences == 3
    r = engine.check(src, dst, CheckOptions(one_way=True, size_only=True))
    assert r.differences == 2


def test_check_download_compares_bytes() -> None:
    src = MemoryBackend("m", "src", hashes=frozenset())
    dst = MemoryBackend("m", "dst", hashes=frozenset())
    put(src, "a", b"xx")
    put(dst, "a", b"yy")
    put(src, "b", b"zz")
    put(dst, "b", b"zz")
    assert engine.check(src, dst, CheckOptions()).differences == 0  # no hash: could not check
    r = engine.check(src, dst, CheckOptions(download=True))
    assert r.differences == 1 and r.matches == 1


def test_check_missing_roots() -> None:
    src = MemoryBackend("m", "src")
    put(src, "a", b"a")
    r = engine.check(MemoryBackend("m", "nosuch"), src, CheckOptions())
    assert isinstance(r.final_error, DirNotFound) and exit_code_for(r.final_error) == 3
    r = engine.check(src, MemoryBackend("m", "nodst"), CheckOptions())
    assert exit_code_for(r.final_error) == 1 and r.differences == 1


def test_check_unreadable_file_is_an_error_not_a_match(tmp_path: Path) -> None:
    src = Faulty("f", "src", hashes=frozenset({"sha1"}))
    dst = MemoryBackend("m", "dst", hashes=frozenset({"sha1"}))
    put(src, "a", b"a")
    put(dst, "a", b"a")
    src.faults[("hash", "a")] = PermissionDenied("denied", path="a")
    r = engine.check(src, dst, CheckOptions(combined=str(tmp_path / "c")))
    assert r.final_error is not None and r.matches == 0
    assert read_lines(tmp_path / "c") == ["! a"]


def test_check_single_file() -> None:
    src, dst = check_fixture()
    assert engine.check(src, dst, CheckOptions(), src_file="same.txt").final_error is None
    assert engine.check(src, dst, CheckOptions(), src_file="hash.txt").differences == 1


# -- walk ----------------------------------------------------------------------------------------

def test_walk_filters_depth_and_kinds() -> None:
    b = MemoryBackend("m", "w")
    put(b, "a.txt", b"a")
    put(b, "a.log", b"l")
    put(b, "d/b.txt", b"b")
    put(b, "d/e/c.txt", b"c")
    assert [e.path for e in engine.walk(b)] == ["a.log", "a.txt", "d", "d/b.txt", "d/e", "d/e/c.txt"]
    assert [e.path for e in engine.walk(b, recursive=False)] == ["a.log", "a.txt", "d"]
    assert [e.path for e in engine.walk(b, max_depth=2, files_only=True)] == [
        "a.log", "a.txt", "d/b.txt"]
    assert [e.path for e in engine.walk(b, dirs_only=True)] == ["d", "d/e"]
    flt = Filter.from_options(FilterOptions(exclude=("*.log",)))
    assert [e.path for e in engine.walk(b, filter=flt, files_only=True)] == [
        "a.txt", "d/b.txt", "d/e/c.txt"]
    # a sub path: filter paths are relative to it
    flt2 = Filter.from_options(FilterOptions(include=("/e/**",)))
    assert [e.path for e in engine.walk(b, "d", filter=flt2, files_only=True)] == ["d/e/c.txt"]
    with pytest.raises(DirNotFound):
        list(engine.walk(b, "nosuch"))


# -- copyto / moveto -----------------------------------------------------------------------------

def test_copyto_and_moveto() -> None:
    a = MemoryBackend("m", "a")
    b = MemoryBackend("m", "b")
    put(a, "f.txt", b"data")
    r = engine.copyto(a, "f.txt", b, "renamed.txt", SyncOptions())
    assert r.final_error is None and r.stats.transfers == 1
    assert tree(b)["renamed.txt"][0] == b"data"
    r = engine.copyto(a, "f.txt", b, "renamed.txt", SyncOptions())
    assert r.stats.transfers == 0 and r.stats.checks == 0
    r = engine.moveto(a, "f.txt", b, "moved.txt", SyncOptions())
    assert r.final_error is None and set(tree(b)) == {"renamed.txt", "moved.txt"} and tree(a) == {}
    # onto itself: no-op
    assert engine.moveto(b, "moved.txt", b, "moved.txt", SyncOptions()).final_error is None
    assert "moved.txt" in tree(b)
    # a missing source is "directory not found" (exit 3), like rclone
    r = engine.copyto(a, "nope", b, "x", SyncOptions())
    assert exit_code_for(r.final_error) == 3


def test_moveto_equal_destination_just_deletes_source() -> None:
    a = Faulty("f", "a")
    b = MemoryBackend("m", "b")
    put(a, "f.txt", b"data")
    put(b, "g.txt", b"data")
    r = engine.moveto(a, "f.txt", b, "g.txt", SyncOptions())
    assert r.final_error is None and tree(a) == {} and a.calls["get"] == 0


def test_copyto_dry_run() -> None:
    a = MemoryBackend("m", "a")
    b = MemoryBackend("m", "b")
    put(a, "f.txt", b"data")
    r = engine.copyto(a, "f.txt", b, "g.txt", SyncOptions(dry_run=True))
    assert r.final_error is None and r.stats.transfers == 1 and tree(b) == {}


# -- delete / purge / rmdirs ---------------------------------------------------------------------

def test_delete_obeys_filters_and_keeps_dirs() -> None:
    b = MemoryBackend("m", "x")
    put(b, "a.txt", b"a")
    put(b, "d/b.log", b"b")
    put(b, "d/c.txt", b"c")
    r = engine.delete(b, "", SyncOptions(filters=FilterOptions(include=("*.txt",))))
    assert r.final_error is None and r.stats.deletes == 2
    assert set(tree(b)) == {"d/b.log"} and dirs(b) == {"d"}


def test_delete_rmdirs_and_dry_run() -> None:
    b = MemoryBackend("m", "x")
    put(b, "d/e/a.txt", b"a")
    assert engine.delete(b, "", SyncOptions(dry_run=True)).stats.deletes == 1
    assert set(tree(b)) == {"d/e/a.txt"}
    r = engine.delete(b, "", SyncOptions(), rmdirs=True)
    assert r.final_error is None and tree(b) == {} and dirs(b) == set()
    b.list("")  # the root is kept


def test_delete_max_delete() -> None:
    b = MemoryBackend("m", "x")
    for i in range(4):
        put(b, f"{i}.txt", b"a")
    r = engine.delete(b, "", SyncOptions(max_delete=1, checkers=1))
    assert exit_code_for(r.final_error) == ExitCode.FATAL and len(tree(b)) == 3


@pytest.mark.parametrize("native", [True, False])
def test_purge(native: bool) -> None:
    b = MemoryBackend("m", "x", disable=() if native else ("purge",))
    put(b, "keep.txt", b"k")
    put(b, "p/a.txt", b"a")
    put(b, "p/q/b.txt", b"b")
    r = engine.purge(b, "p", SyncOptions(filters=FilterOptions(exclude=("*",))))  # filters ignored
    assert r.final_error is None
    assert set(tree(b)) == {"keep.txt"} and dirs(b) == set()
    r = engine.purge(b, "p", SyncOptions())
    assert exit_code_for(r.final_error) == 1  # rclone 1.75: purging a missing dir exits 1


def test_rmdirs() -> None:
    b = MemoryBackend("m", "x")
    b.mkdir("r/empty/deeper")
    b.mkdir("r/also")
    put(b, "r/full/a.txt", b"a")
    r = engine.rmdirs(b, "r", SyncOptions(), leave_root=True)
    assert r.final_error is None and dirs(b) == {"r", "r/full"}
    put(MemoryBackend("m", "y"), "z/f", b"f")
    y = MemoryBackend("m", "y")
    y.delete("z/f")
    assert engine.rmdirs(y, "", SyncOptions()).final_error is None
    with pytest.raises(FileNotFoundError):
        y.list("")


# -- local backend end to end --------------------------------------------------------------------

def make_local_tree(root: Path, files: dict[str, tuple[bytes, int]]) -> None:
    for rel, (data, mtime) in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        os.utime(p, ns=(mtime, mtime))


def local_tree(root: Path) -> dict[str, tuple[bytes, int]]:
    out = {}
    for p in root.rglob("*"):
        if p.is_file():
            out[p.relative_to(root).as_posix()] = (p.read_bytes(), p.stat().st_mtime_ns)
    return out


def test_local_sync_roundtrip(tmp_path: Path) -> None:
    files = {"a.txt": (b"a" * 100, T1), "sub dir/hello world": (b"hello world", T2)}
    make_local_tree(tmp_path / "src", files)
    make_local_tree(tmp_path / "dst", {"extra": (b"x", T1), "sub dir/hello world": (b"old", T1)})
    src = LocalBackend("local", str(tmp_path / "src"))
    dst = LocalBackend("local", str(tmp_path / "dst"))
    r = engine.sync(src, dst, SyncOptions())
    assert r.final_error is None
    assert local_tree(tmp_path / "dst") == files
    r = engine.sync(src, dst, SyncOptions())
    assert r.stats.transfers == 0 and r.stats.checks == 2
    assert engine.check(src, dst, CheckOptions()).final_error is None


def test_local_to_memory_and_back(tmp_path: Path) -> None:
    files = {"x/y.bin": (os.urandom(3 << 20), T1), "z": (b"", T2)}
    make_local_tree(tmp_path / "src", files)
    src = LocalBackend("local", str(tmp_path / "src"))
    mem = MemoryBackend("m", "mid")
    assert engine.copy(src, mem, SyncOptions()).final_error is None
    out = LocalBackend("local", str(tmp_path / "out"))
    assert engine.copy(mem, out, SyncOptions()).final_error is None
    assert local_tree(tmp_path / "out") == files
    assert engine.check(src, mem, CheckOptions()).matches == 2


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_local_unreadable_file_blocks_deletes(tmp_path: Path) -> None:
    make_local_tree(tmp_path / "src", {"ok": (b"ok", T1), "locked": (b"no", T1)})
    make_local_tree(tmp_path / "dst", {"extra": (b"x", T1)})
    (tmp_path / "src" / "locked").chmod(0)
    try:
        r = engine.sync(LocalBackend("local", str(tmp_path / "src")),
                        LocalBackend("local", str(tmp_path / "dst")), SyncOptions())
    finally:
        (tmp_path / "src" / "locked").chmod(0o644)
    assert r.final_error is not None and "locked" in str(r.errors)
    assert (tmp_path / "dst" / "extra").exists()


def test_local_move_dir_server_side(tmp_path: Path) -> None:
    make_local_tree(tmp_path / "src", {"a/b": (b"b", T1)})
    src = LocalBackend("local", str(tmp_path / "src"))
    dst = LocalBackend("local", str(tmp_path / "dst"))
    r = engine.move(src, dst, SyncOptions())
    assert r.final_error is None and local_tree(tmp_path / "dst") == {"a/b": (b"b", T1)}


def _unused(*_: Any) -> None:
    """keep imports used by optional tests"""


def _local_check_fixture(tmp_path: Path) -> tuple[LocalBackend, LocalBackend]:
    src, dst = tmp_path / "s", tmp_path / "d"
    for root in (src, dst):
        (root / "sub").mkdir(parents=True)
    for name, a, b in (("same.bin", b"x" * 3000, b"x" * 3000), ("hash.bin", b"ab" * 900, b"ba" * 900),
                       ("sub/big.bin", b"1" * 70_000, b"1" * 69_999 + b"2"),
                       ("sub/bigsame.bin", b"q" * 70_000, b"q" * 70_000)):
        (src / name).write_bytes(a)
        (dst / name).write_bytes(b)
    return LocalBackend("local", str(src)), LocalBackend("local", str(dst))


@pytest.mark.parametrize("parallel_from", [None, 1])
def test_check_local_small_inline_and_big_in_parallel(tmp_path: Path, parallel_from: int | None,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # small local pairs are hashed in the march loop, bigger ones by the checkers, and from
    # PARALLEL_HASH on with both sides at once: the verdicts are the same every way
    check_mod = importlib.import_module("cloudsync.engine.checker")

    if parallel_from is not None:
        monkeypatch.setattr(check_mod, "PARALLEL_HASH", parallel_from)
    src, dst = _local_check_fixture(tmp_path)
    combined = tmp_path / "combined.txt"
    r = engine.check(src, dst, CheckOptions(combined=str(combined)))
    assert (r.differences, r.matches, r.stats.checks) == (2, 2, 4)
    assert read_lines(combined) == ["* hash.bin", "* sub/big.bin", "= same.bin", "= sub/bigsame.bin"]


def test_check_parallel_hash_error_is_counted(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    check_mod = importlib.import_module("cloudsync.engine.checker")

    monkeypatch.setattr(check_mod, "PARALLEL_HASH", 1)
    monkeypatch.setattr(check_mod, "SMALL_LOCAL", 0)
    src, dst = _local_check_fixture(tmp_path)

    def broken(path: str, hash_type: str) -> str:
        raise PermissionDenied("no", path=path)

    monkeypatch.setattr(dst, "hash", broken)
    r = engine.check(src, dst, CheckOptions(low_level_retries=1))
    assert r.stats.errors == 4 and r.matches == 0


def test_batched_local_copies_fall_back_and_count_like_single_ones(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # local→local small files go through copy_batch; a file it cannot copy server-side is
    # streamed instead, a failing one is counted with its name, the others are copied
    from cloudsync.errors import CantCopy

    class Picky(LocalBackend):
        def copy_batch(self, src: Any, pairs: list[tuple[str, str]]) -> list[Any]:
            res = super().copy_batch(src, pairs)
            return [CantCopy("no") if p[0] == "stream.txt"
                    else PermissionDenied("denied", path=p[0]) if p[0] == "bad.txt" else r
                    for p, r in zip(pairs, res, strict=True)]

    (tmp_path / "s").mkdir()
    for name in ("a.txt", "stream.txt", "bad.txt", "sub/c.txt"):
        (tmp_path / "s" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "s" / name).write_bytes(name.encode())
    src, dst = Picky("local", str(tmp_path / "s")), Picky("local", str(tmp_path / "d"))
    r = engine.copy(src, dst, SyncOptions(retries=1))
    assert r.stats.transfers == 3 and r.stats.errors == 1
    # local→local copies are plain transfers in rclone's accounting
    assert r.stats.server_side_copies == 0
    assert r.stats.bytes == len(b"a.txt") + len(b"sub/c.txt") + len(b"stream.txt")
    assert "bad.txt" in str(r.errors[0]) or getattr(r.errors[0], "path", "") == "bad.txt"
    # (Picky copied bad.txt before reporting it failed: only the others are checked)
    assert {"a.txt", "c.txt", "stream.txt"} <= {p.name for p in (tmp_path / "d").rglob("*.txt")}


def test_local_sync_decides_small_hash_pairs_inline(tmp_path: Path) -> None:
    # same size, different modtimes: the md5s decide (in the march thread for small local
    # files): different bytes are copied, equal bytes only get the source's modtime
    s, d = tmp_path / "s", tmp_path / "d"
    for root, changed in ((s, b"new!"), (d, b"old!")):
        (root / "sub").mkdir(parents=True)
        (root / "sub" / "changed.txt").write_bytes(changed)
        (root / "same.txt").write_bytes(b"same")
    for rel in ("sub/changed.txt", "same.txt"):
        os.utime(s / rel, ns=(T2, T2))
        os.utime(d / rel, ns=(T1, T1))
    r = engine.sync(LocalBackend("local", str(s)), LocalBackend("local", str(d)), SyncOptions())
    assert r.final_error is None and r.stats.transfers == 1 and r.stats.checks == 2
    assert (d / "sub" / "changed.txt").read_bytes() == b"new!"
    assert os.stat(d / "sub" / "changed.txt").st_mtime_ns == T2
    assert os.stat(d / "same.txt").st_mtime_ns == T2 and (d / "same.txt").read_bytes() == b"same"
