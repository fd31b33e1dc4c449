"""The backend contract, item by item from rclone-semantics.md §E.6 (numbers in the names).

Each test gets ``make`` (see backends.py): ``make()`` is a fresh backend at an empty, not yet
existing root; ``make("sub")`` another backend over the same storage rooted below it.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import os
import threading
import time
from collections.abc import Iterator

import pytest

from cloudsync.backend import Backend
from cloudsync.errors import (
    CantSetModTime,
    CantSetModTimeWithoutDelete,
    CloudsyncError,
    DirectoryNotEmpty,
    DirExists,
    DirNotFound,
    HashUnsupported,
    IsDirError,
    IsFileError,
    NameNotSupported,
    NotFound,
    ObjectNotFound,
    RootIsFile,
)
from cloudsync.types import MODTIME_UNSUPPORTED, Entry, PutInfo, Usage

from .backends import Maker

SECOND = 1_000_000_000


def ns(text: str) -> int:
    """RFC 3339 UTC with 9 fractional digits -> ns since the epoch."""
    whole, frac = text.rstrip("Z").split(".")
    return calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) * SECOND + int(frac)


T1 = ns("2001-02-03T04:05:06.499999999Z")
T2 = ns("2011-12-25T12:59:59.123456789Z")
T_FILE2 = ns("2001-02-03T04:05:10.123123123Z")
T_SET = ns("2011-12-13T14:15:16.999999999Z")

FILE1 = "file name.txt"
FILE2_DIRS = ("hello? sausage", "êé", "Hello, 世界", " \" ' @ < > & ? + ≠")
FILE2 = "/".join((*FILE2_DIRS, "z.txt"))


# ---------------------------------------------------------------------------- helpers
def put_bytes(b: Backend, path: str, data: bytes, mtime_ns: int | None = T1,
              size: int | None = None) -> Entry:
    return b.put(path, io.BytesIO(data), PutInfo(len(data) if size is None else size, mtime_ns))


def read(b: Backend, path: str, start: int = 0, end: int | None = None) -> bytes:
    with b.get(path, start, end) as f:
        return f.read()


def names(entries: list[Entry] | Iterator[Entry]) -> dict[str, bool]:
    """{path: is_dir} of a listing."""
    return {e.path: e.is_dir for e in entries}


def walk(b: Backend, path: str = "") -> dict[str, bool]:
    out: dict[str, bool] = {}
    for e in b.list(path):
        out[e.path] = e.is_dir
        if e.is_dir:
            out.update(walk(b, e.path))
    return out


def check_mtime(b: Backend, got: int | None, want: int) -> None:
    precision = b.features.precision_ns
    if precision >= MODTIME_UNSUPPORTED:
        return
    assert got is not None
    assert abs(got - want) < max(precision, 1), (got, want, precision)


def check_hashes(b: Backend, path: str, data: bytes, entry: Entry | None = None) -> None:
    for t in b.features.hashes:
        want = hashlib.new(t, data).hexdigest()
        got = b.hash(path, t)
        assert got in (want, ""), (t, got, want)
        if entry is not None and t in entry.hashes:
            assert entry.hashes[t] == want


class FailingReader:
    """Delivers ``data`` then raises, like a dropped connection."""

    def __init__(self, data: bytes) -> None:
        self._buf = io.BytesIO(data)

    def read(self, n: int = -1, /) -> bytes:
        chunk = self._buf.read(n if 0 < n < 1024 else 1024)
        if not chunk:
            raise OSError("source broke")
        return chunk


# ---------------------------------------------------------------------------- 1-3
def test_01_mkdir_rmdir(make: Maker) -> None:
    b = make()
    with pytest.raises(CloudsyncError):
        b.rmdir("")  # the root does not exist yet
    b.mkdir("")
    b.mkdir("")
    b.mkdir("dir/subdir")
    assert names(b.list("")) == {"dir": True}
    b.rmdir("dir/subdir")
    b.rmdir("dir")
    assert b.list("") == []


def test_02_list_empty_root(make: Maker) -> None:
    b = make()
    with pytest.raises(DirNotFound):
        b.list("")  # a root that does not exist is "not found", never "empty"
    b.mkdir("")
    assert b.list("") == []


def test_03_list_missing_dir(make: Maker) -> None:
    b = make()
    b.mkdir("")
    with pytest.raises(DirNotFound):
        b.list("missing")
    with pytest.raises(DirNotFound):
        b.list("missing/deeper")


# ---------------------------------------------------------------------------- 4 encoding
AWKWARD = (
    [chr(c) for c in (*range(0x20), 0x7F)]
    + [".", ".."]
    + list("!\"#$%&'()*+,-.:;<=>?@[\\]^_`{|}~")
    + [f"{c}leading" for c in (" ", "~", "\r", "\n", "\t", "\v", ".")]
    + [f"trailing{c}" for c in (" ", "\r", "\n", "\t", "\v", ".")]
    + ["invalid utf8\udcfe", "test%46.txt"]
)


@pytest.mark.parametrize("name", AWKWARD, ids=[repr(n) for n in AWKWARD])
def test_04_awkward_names(make: Maker, name: str) -> None:
    b = make()
    if any(c in name for c in b.features.restricted_chars):
        # A declared restriction must be enforced cleanly, never by writing something else.
        with pytest.raises(NameNotSupported):
            put_bytes(b, name, b"x")
        return
    b.mkdir("")
    try:
        b.mkdir(name)
    except NameNotSupported:
        # "." and ".." may be impossible (local disks); refusing them is fine, anything
        # else (writing into the parent!) is not.
        assert name in (".", "..")
        with pytest.raises(NameNotSupported):
            put_bytes(b, f"{name}/x.txt", b"x")
        with pytest.raises(NameNotSupported):
            put_bytes(b, name, b"x")
        assert b.list("") == []
        return
    e = put_bytes(b, f"{name}/{name}", b"awkward")
    assert e.path == f"{name}/{name}"
    assert names(b.list("")) == {name: True}
    assert names(b.list(name)) == {f"{name}/{name}": False}
    assert read(b, f"{name}/{name}") == b"awkward"
    b.delete(f"{name}/{name}")
    b.rmdir(name)
    assert b.list("") == []


# ---------------------------------------------------------------------------- 5-8
def test_05_not_found_errors(make: Maker) -> None:
    b = make()
    b.mkdir("dir")
    for path in ("missing.txt", "missing/missing.txt", "dir/missing.txt"):
        with pytest.raises(ObjectNotFound):
            b.stat(path)
        with pytest.raises(ObjectNotFound):
            read(b, path)
        with pytest.raises(ObjectNotFound):
            b.delete(path)
        for t in b.features.hashes:
            with pytest.raises(ObjectNotFound):
                b.hash(path, t)
    assert b.stat("dir").is_dir
    with pytest.raises(IsDirError):
        read(b, "dir")
    with pytest.raises(IsDirError):
        b.delete("dir")
    with pytest.raises(IsDirError):
        put_bytes(b, "dir", b"x")


def test_06_failed_put_leaves_nothing(make: Maker) -> None:
    b = make()
    n = 5 * 1024
    with pytest.raises(Exception):  # noqa: B017 - the source's own error or a CloudsyncError
        b.put("failed.txt", FailingReader(os.urandom(n)), PutInfo(2 * n, T1))
    with pytest.raises(ObjectNotFound):
        b.stat("failed.txt")
    if _exists(b, ""):
        assert b.list("") == []  # no temp or partial file is visible either
    # Replacing an existing file: a failed put leaves the old one exactly as it was.
    old = put_bytes(b, "keep.txt", b"old content")
    with pytest.raises(Exception):  # noqa: B017
        b.put("keep.txt", FailingReader(os.urandom(n)), PutInfo(2 * n, T2))
    assert read(b, "keep.txt") == b"old content"
    assert names(b.list("")) == {"keep.txt": False}
    assert b.stat("keep.txt").mtime_ns == old.mtime_ns


def _exists(b: Backend, path: str) -> bool:
    try:
        b.stat(path)
    except NotFound:
        return False
    return True


def test_07_short_source(make: Maker) -> None:
    b = make()
    data = b"only these bytes"
    try:
        put_bytes(b, "short.txt", data, size=len(data) + 100)
    except CloudsyncError:
        with pytest.raises(ObjectNotFound):
            b.stat("short.txt")
    else:
        assert read(b, "short.txt") == data


def test_08_zero_length(make: Maker) -> None:
    b = make()
    e = put_bytes(b, "zero.txt", b"", T1)
    assert e.size == 0
    st = b.stat("zero.txt")
    assert st.size == 0
    check_mtime(b, st.mtime_ns, T1)
    assert read(b, "zero.txt") == b""
    check_hashes(b, "zero.txt", b"", e)


# ---------------------------------------------------------------------------- 9-10
@pytest.fixture
def tree(make: Maker) -> tuple[Backend, bytes, bytes]:
    b = make()
    d1, d2 = os.urandom(100), os.urandom(321)
    put_bytes(b, FILE1, d1, T1)
    put_bytes(b, FILE2, d2, T_FILE2)
    return b, d1, d2


def test_09_put_and_list(tree: tuple[Backend, bytes, bytes]) -> None:
    b, _, _ = tree
    assert names(b.list("")) == {FILE1: False, FILE2_DIRS[0]: True}
    for depth in range(1, len(FILE2_DIRS)):
        parent = "/".join(FILE2_DIRS[:depth])
        assert names(b.list(parent)) == {"/".join(FILE2_DIRS[: depth + 1]): True}
    assert names(b.list("/".join(FILE2_DIRS))) == {FILE2: False}
    expected = {FILE1: False, FILE2: False}
    expected.update({"/".join(FILE2_DIRS[: i + 1]): True for i in range(len(FILE2_DIRS))})
    assert walk(b) == expected
    if b.has("list_recursive"):
        assert names(b.list_recursive("")) == expected
        sub = FILE2_DIRS[0]
        assert names(b.list_recursive(sub)) == {k: v for k, v in expected.items()
                                                 if k.startswith(sub + "/")}


def test_10_stat_after_put(tree: tuple[Backend, bytes, bytes]) -> None:
    b, d1, d2 = tree
    for path, data, mtime in ((FILE1, d1, T1), (FILE2, d2, T_FILE2)):
        st = b.stat(path)
        assert (st.path, st.is_dir, st.size) == (path, False, len(data))
        check_mtime(b, st.mtime_ns, mtime)
        check_hashes(b, path, data, st)
        listed = {e.path: e for e in b.list(st.parent)}[path]
        assert (listed.size, listed.mtime_ns) == (st.size, st.mtime_ns)
        check_hashes(b, path, data, listed)
    if b.features.case_insensitive:
        assert b.stat(FILE2.upper()).size == len(d2)


def test_put_returns_the_stored_entry(make: Maker) -> None:
    b = make()
    data = os.urandom(3000)
    e = put_bytes(b, "a/b.bin", data, T2)
    assert (e.path, e.is_dir, e.size) == ("a/b.bin", False, len(data))
    check_mtime(b, e.mtime_ns, T2)
    assert e.mtime_ns == b.stat("a/b.bin").mtime_ns
    check_hashes(b, "a/b.bin", data, e)


# ---------------------------------------------------------------------------- 11-12, 19-21, 26
def test_11_purge(make: Maker) -> None:
    b = make()
    if not b.has("purge"):
        pytest.skip("no purge")
    put_bytes(b, "dirToPurge/a.txt", b"a")
    put_bytes(b, "dirToPurge/sub/b.txt", b"b")
    put_bytes(b, "keep/c.txt", b"c")
    put_bytes(b, "dirToPurgeNot.txt", b"d")
    b.purge("dirToPurge")
    assert walk(b) == {"keep": True, "keep/c.txt": False, "dirToPurgeNot.txt": False}
    with pytest.raises(DirNotFound):
        b.purge("dirToPurge")
    rooted = make("keep")
    rooted.purge("")
    assert walk(b) == {"dirToPurgeNot.txt": False}


def test_12_rooted_subdir_and_20_from_root(tree: tuple[Backend, bytes, bytes], make: Maker) -> None:
    b, _, _ = tree
    sub_root = "/".join(FILE2_DIRS[:2])
    sub = make(sub_root)
    put_bytes(sub, "a/b/c/d/e.txt", b"deep", T1)
    assert walk(sub) == {"a": True, "a/b": True, "a/b/c": True, "a/b/c/d": True,
                         "a/b/c/d/e.txt": False, FILE2_DIRS[2]: True,
                         f"{FILE2_DIRS[2]}/{FILE2_DIRS[3]}": True,
                         f"{FILE2_DIRS[2]}/{FILE2_DIRS[3]}/z.txt": False}
    # The same object seen from the outer root.
    assert read(b, f"{sub_root}/a/b/c/d/e.txt") == b"deep"
    assert read(sub, "/".join(FILE2.split("/")[2:])) == read(b, FILE2)


def test_19_root_is_a_file(tree: tuple[Backend, bytes, bytes], make: Maker) -> None:
    _, d1, _ = tree
    at_file = make(FILE1)
    st = at_file.stat("")
    assert not st.is_dir and st.size == len(d1)
    with pytest.raises((IsFileError, DirNotFound, RootIsFile)):
        at_file.list("")
    if at_file.features.refuses_file_root:
        # promised: a caller may skip probing the root because the listing says so
        with pytest.raises(RootIsFile):
            at_file.list("")
        if at_file.has("list_recursive"):
            with pytest.raises(RootIsFile):
                list(at_file.list_recursive(""))
    at_missing = make("not found.txt")
    with pytest.raises(ObjectNotFound):
        at_missing.stat("")
    with pytest.raises(DirNotFound):
        at_missing.list("")


def test_21_remove(tree: tuple[Backend, bytes, bytes]) -> None:
    b, _, _ = tree
    b.delete(FILE1)
    assert names(b.list("")) == {FILE2_DIRS[0]: True}
    with pytest.raises(ObjectNotFound):
        b.delete(FILE1)


def test_26_root_does_not_collapse(make: Maker) -> None:
    b = make()
    put_bytes(b, "deeper.txt", b"x")
    deep = make("deeper/nonexisting/directory")
    with pytest.raises(ObjectNotFound):
        deep.stat("deeper.txt")
    with pytest.raises(DirNotFound):
        deep.list("")


# ---------------------------------------------------------------------------- 13-16
def test_13_copy(tree: tuple[Backend, bytes, bytes], make: Maker) -> None:
    b, _, d2 = tree
    if not b.has("copy"):
        pytest.skip("no server-side copy")
    other = make()
    assert other.same_remote(b)
    e = other.copy(b, FILE2, FILE2 + "-copy")
    assert (e.path, e.size) == (FILE2 + "-copy", len(d2))
    assert read(b, FILE2 + "-copy") == d2
    src = b.stat(FILE2)
    dst = b.stat(FILE2 + "-copy")
    assert (dst.size, dst.mtime_ns) == (src.size, src.mtime_ns)
    check_hashes(b, FILE2 + "-copy", d2)
    if b.has("set_modtime"):
        b.set_modtime(FILE2 + "-copy", T2)
        assert b.stat(FILE2).mtime_ns == src.mtime_ns
    # Copy over an existing file replaces it.
    other.copy(b, FILE1, FILE2 + "-copy")
    assert read(b, FILE2 + "-copy") == read(b, FILE1)
    with pytest.raises(ObjectNotFound):
        b.copy(b, "missing.txt", "x.txt")


def test_13b_copy_batch(tree: tuple[Backend, bytes, bytes], make: Maker) -> None:
    b, d1, d2 = tree
    if not b.has("copy_batch"):
        pytest.skip("no batched server-side copy")
    other = make()
    results = other.copy_batch(b, [(FILE1, "batch/one.txt"), ("missing.txt", "batch/none.txt"),
                                   (FILE2, "batch/two.txt")])
    assert len(results) == 3
    assert isinstance(results[0], Entry) and results[0].path == "batch/one.txt"
    assert isinstance(results[1], ObjectNotFound)
    assert isinstance(results[2], Entry) and results[2].size == len(d2)
    assert read(b, "batch/one.txt") == d1 and read(b, "batch/two.txt") == d2
    assert names(b.list("batch")) == {"batch/one.txt": False, "batch/two.txt": False}
    assert b.stat("batch/two.txt").mtime_ns == b.stat(FILE2).mtime_ns


def test_14_move(tree: tuple[Backend, bytes, bytes]) -> None:
    b, d1, d2 = tree
    if not b.has("move"):
        pytest.skip("no server-side move")
    dirs = {"/".join(FILE2_DIRS[: i + 1]): True for i in range(len(FILE2_DIRS))}
    b.move(b, FILE2, "other.txt")
    assert walk(b) == {FILE1: False, "other.txt": False, **dirs}
    e = b.move(b, "other.txt", "moveTest/other.txt")
    assert (e.path, e.size) == ("moveTest/other.txt", len(d2))
    assert walk(b) == {FILE1: False, "moveTest": True, "moveTest/other.txt": False, **dirs}
    b.move(b, "moveTest/other.txt", FILE2)
    assert walk(b) == {FILE1: False, "moveTest": True, FILE2: False, **dirs}
    assert read(b, FILE2) == d2
    check_mtime(b, b.stat(FILE2).mtime_ns, T_FILE2)
    # Moving onto an existing file replaces it.
    b.move(b, FILE2, FILE1)
    assert read(b, FILE1) == d2
    with pytest.raises(ObjectNotFound):
        b.stat(FILE2)
    with pytest.raises(ObjectNotFound):
        b.move(b, "missing.txt", "x.txt")
    assert d1  # (kept for symmetry with the tree fixture)


def test_15_dir_move(tree: tuple[Backend, bytes, bytes], make: Maker) -> None:
    b, _, d2 = tree
    if not b.has("dir_move"):
        pytest.skip("no server-side directory move")
    with pytest.raises(DirExists):
        b.dir_move(b, "", "")
    before = walk(b)
    outer = make()
    src = make("tree")
    outer.dir_move(b, FILE2_DIRS[0], f"tree/{FILE2_DIRS[0]}")  # build a movable subtree
    put_bytes(src, "x.txt", b"x")
    tree_before = walk(src)
    target = make("new_name")
    target.dir_move(src, "", "sub_new_name")
    with pytest.raises(DirNotFound):
        src.list("")
    assert walk(target) == {"sub_new_name": True,
                            **{f"sub_new_name/{k}": v for k, v in tree_before.items()}}
    with pytest.raises(DirExists):
        target.dir_move(src, "", "sub_new_name")
    src.dir_move(target, "sub_new_name", "")
    assert walk(src) == tree_before
    assert read(src, f"{FILE2}") == d2
    outer.dir_move(src, FILE2_DIRS[0], FILE2_DIRS[0])
    src.delete("x.txt")
    assert {k: v for k, v in walk(b).items() if not k.startswith(("tree", "new_name"))} == before


def test_16_rmdir_not_empty(tree: tuple[Backend, bytes, bytes]) -> None:
    b, _, _ = tree
    with pytest.raises(DirectoryNotEmpty):
        b.rmdir("")
    with pytest.raises(DirectoryNotEmpty):
        b.rmdir(FILE2_DIRS[0])
    with pytest.raises((IsFileError, DirNotFound)):
        b.rmdir(FILE1)
    with pytest.raises(DirNotFound):
        b.rmdir("missing")


def test_mkdir_over_a_file(tree: tuple[Backend, bytes, bytes]) -> None:
    b, _, _ = tree
    with pytest.raises(IsFileError):
        b.mkdir(FILE1)
    with pytest.raises(IsFileError):
        b.mkdir(f"{FILE1}/sub")
    with pytest.raises((IsFileError, DirNotFound)):
        b.list(FILE1)
    with pytest.raises(CloudsyncError):
        put_bytes(b, f"{FILE1}/sub.txt", b"x")


# ---------------------------------------------------------------------------- 17-18
def test_17_precision(make: Maker) -> None:
    p = make().features.precision_ns
    assert 0 < p <= SECOND or p == MODTIME_UNSUPPORTED


def test_18_object_methods(make: Maker) -> None:
    b = make()
    data = os.urandom(100)
    put_bytes(b, "obj/file.bin", data, T1)
    st = b.stat("obj/file.bin")
    assert (st.name, st.parent, st.size) == ("file.bin", "obj", 100)
    check_hashes(b, "obj/file.bin", data)
    for t in ("whirlpool", "crc32"):
        if t not in b.features.hashes:
            with pytest.raises(HashUnsupported):
                b.hash("obj/file.bin", t)
    # Full reads, seeks and rclone's ranges (inclusive end there, exclusive here).
    assert read(b, "obj/file.bin") == data
    assert read(b, "obj/file.bin", 50) == data[50:]
    assert read(b, "obj/file.bin", 5, 16) == data[5:16]
    assert read(b, "obj/file.bin", 80) == data[80:]
    assert read(b, "obj/file.bin", 81, 100_000) == data[81:]
    assert read(b, "obj/file.bin", 100 - 20) == data[80:]
    assert read(b, "obj/file.bin", 150) == b""
    assert read(b, "obj/file.bin", 10, 10) == b""
    with b.get("obj/file.bin") as f:
        assert f.read(50) == data[:50]  # partial read, then close early
    # Opening changed nothing (hashes may have been cached meanwhile, but never differ).
    after = b.stat("obj/file.bin")
    assert (after.size, after.mtime_ns) == (st.size, st.mtime_ns)
    assert all(after.hashes[t] == h for t, h in st.hashes.items() if t in after.hashes)
    # set_modtime.
    if b.has("set_modtime"):
        try:
            e = b.set_modtime("obj/file.bin", T_SET)
        except (CantSetModTime, CantSetModTimeWithoutDelete):
            pass
        else:
            check_mtime(b, e.mtime_ns, T_SET)
            check_mtime(b, b.stat("obj/file.bin").mtime_ns, T_SET)
            assert read(b, "obj/file.bin") == data
        with pytest.raises(ObjectNotFound):
            b.set_modtime("obj/missing.bin", T_SET)
    # Update in place.
    new = os.urandom(200)
    e = put_bytes(b, "obj/file.bin", new, T2)
    assert (e.path, e.size) == ("obj/file.bin", 200)
    fresh = b.stat("obj/file.bin")
    assert fresh.size == 200
    check_mtime(b, fresh.mtime_ns, T2)
    check_hashes(b, "obj/file.bin", new, e)
    assert read(b, "obj/file.bin") == new
    assert names(b.list("obj")) == {"obj/file.bin": False}


def test_set_dir_modtime(make: Maker) -> None:
    """Optional DirSetModTime: sets an existing directory's modtime, never creates one."""
    b = make()
    if not b.has("set_dir_modtime"):
        pytest.skip("no set_dir_modtime")
    b.mkdir("d/inner")
    put_bytes(b, "d/file.bin", b"x", T1)
    b.set_dir_modtime("d/inner", T_SET)
    b.set_dir_modtime("d", T2)
    listed = {e.path: e for e in b.list("d")}
    check_mtime(b, listed["d/inner"].mtime_ns, T_SET)
    check_mtime(b, b.stat("d").mtime_ns, T2)
    # The files inside are untouched.
    check_mtime(b, listed["d/file.bin"].mtime_ns, T1)
    assert read(b, "d/file.bin") == b"x"
    with pytest.raises(DirNotFound):
        b.set_dir_modtime("d/missing", T_SET)
    with pytest.raises(DirNotFound):
        b.set_dir_modtime("missing/deeper", T_SET)
    assert "d/missing" not in names(b.list("d"))
    with pytest.raises((IsFileError, DirNotFound)):
        b.set_dir_modtime("d/file.bin", T_SET)


def test_metadata_round_trip(make: Maker) -> None:
    """Optional metadata (-M): what a file or folder reports can be set back unchanged, an
    upload's metadata is kept where the backend keeps arbitrary keys, and a missing path is
    ObjectNotFound."""
    b = make()
    if not b.has("metadata"):
        pytest.skip("no metadata")
    b.mkdir("d")
    put_bytes(b, "d/f.bin", b"x", T1)
    for path in ("d/f.bin", "d"):
        meta = b.metadata(path)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items())
        b.set_metadata(path, meta)
        assert b.metadata(path) == meta
    assert read(b, "d/f.bin") == b"x"
    b.put("d/g.bin", io.BytesIO(b"g"), PutInfo(1, T1, metadata={"colour": "blue"}))
    kept = b.metadata("d/g.bin")
    assert kept.get("colour") in ("blue", None)  # (local has system metadata only)
    if b.type_name == "memory":
        assert kept == {"colour": "blue"}
    with pytest.raises((ObjectNotFound, DirNotFound)):
        b.metadata("d/missing")


# ---------------------------------------------------------------------------- 22-24, 29
def test_22_about(make: Maker) -> None:
    b = make()
    b.mkdir("")
    assert isinstance(b.about(), Usage)


@pytest.mark.parametrize("size", [0, 100, 3 * 1024 * 1024 + 7])
def test_23_24_unknown_size(make: Maker, size: int) -> None:
    b = make()
    data = os.urandom(size)
    e = b.put("stream.bin", io.BytesIO(data), PutInfo(-1, T1))
    assert e.size == size
    assert b.stat("stream.bin").size == size
    assert read(b, "stream.bin") == data
    check_hashes(b, "stream.bin", data, e)


def test_put_verifies_announced_hashes(make: Maker) -> None:
    b = make()
    common = [t for t in b.features.hashes]
    if not common:
        pytest.skip("no hashes")
    t = common[0]
    bad = {t: hashlib.new(t, b"something else").hexdigest()}
    try:
        b.put("h.txt", io.BytesIO(b"content"), PutInfo(7, T1, bad))
    except CloudsyncError:
        with pytest.raises(ObjectNotFound):
            b.stat("h.txt")
    else:  # a backend may store first and leave verification to the engine
        assert b.hash("h.txt", t) != bad[t]


def test_29_close_twice(make: Maker) -> None:
    b = make()
    b.close()
    b.close()
    with make() as c:
        assert c is not None


# ---------------------------------------------------------------------------- concurrency
def test_parallel_puts_and_gets(make: Maker) -> None:
    b = make()
    blobs = {f"par/{t}/{i}.bin": os.urandom(1000 + 37 * i + t) for t in range(8) for i in range(10)}
    errors: list[BaseException] = []

    def worker(t: int) -> None:
        try:
            mine = {p: d for p, d in blobs.items() if p.startswith(f"par/{t}/")}
            for p, d in mine.items():
                put_bytes(b, p, d)
            for p, d in mine.items():
                assert read(b, p) == d
            # Everyone writes the same shared file too: the last write wins, whole.
            put_bytes(b, "par/shared.bin", bytes([t]) * 5000)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    listing = walk(b, "par")
    assert {p for p, is_dir in listing.items() if not is_dir} == {*blobs, "par/shared.bin"}
    shared = read(b, "par/shared.bin")
    assert len(shared) == 5000 and len(set(shared)) == 1
    for p, d in blobs.items():
        assert b.stat(p).size == len(d)
