"""Behaviour specific to the local backend (on top of the shared contract)."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from cloudsync.backends import local as local_mod
from cloudsync.backends.local import LocalBackend

from cloudsync.errors import (
    CantDirMove,
    CantMove,
    CorruptedTransfer,
    NameNotSupported,
    NoRetryError,
    ObjectNotFound,
    PermissionDenied,
)
from cloudsync.hashing import HashingReader
from cloudsync.log import NOTICE
from cloudsync.registry import get_spec
from cloudsync.types import MD5, SHA1, PutInfo

T = 1_234_567_891_987_654_321
SYMLINK_NOTICE = "Can't follow symlink without -L/--copy-links"

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file system semantics")


def put(b: LocalBackend, path: str, data: bytes, **kw: Any) -> Any:
    return b.put(path, io.BytesIO(data), PutInfo(len(data), T, **kw))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "root"
    r.mkdir()
    return r


@pytest.fixture
def b(root: Path) -> LocalBackend:
    return LocalBackend("local", str(root))


def test_spec_and_description(root: Path) -> None:
    spec = get_spec("local")
    assert {o.name for o in spec.options} >= {"copy_links", "skip_links"}
    backend = spec.factory("local", str(root), spec.parse_options({"copy_links": "true"}), None)
    assert isinstance(backend, LocalBackend) and backend.copy_links
    assert str(backend) == f"Local file system at {root}"
    assert backend.features.is_local and backend.features.slow_hash
    assert backend.features.hashes == {MD5, SHA1}
    assert {"copy", "move", "dir_move", "purge", "set_modtime", "list_recursive"} <= backend.capabilities()


def test_root_is_expanded_and_absolute(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert LocalBackend("local", "~/x/").root == str(tmp_path / "x")
    monkeypatch.chdir(tmp_path)
    assert LocalBackend("local", "rel").root == str(tmp_path / "rel")


def test_nanosecond_mtime_and_hashes_from_put(b: LocalBackend, root: Path) -> None:
    data = os.urandom(5000)
    e = put(b, "d/f.bin", data)
    assert os.stat(root / "d" / "f.bin").st_mtime_ns == e.mtime_ns
    if b.features.precision_ns == 1:
        assert e.mtime_ns == T
    assert e.hashes == {MD5: hashlib.md5(data).hexdigest()}
    # sha1 is computed while writing only when the source announced one.
    e = put(b, "d/g.bin", data, hashes={SHA1: hashlib.sha1(data).hexdigest()})
    assert e.hashes[SHA1] == hashlib.sha1(data).hexdigest()
    assert e.hashes[MD5] == hashlib.md5(data).hexdigest()


def test_put_reuses_a_fresh_hashing_reader(b: LocalBackend) -> None:
    data = os.urandom(3 * 1024 * 1024 + 5)
    reader = HashingReader(io.BytesIO(data), [MD5])
    e = b.put("r.bin", reader, PutInfo(len(data), T))
    assert e.hashes[MD5] == hashlib.md5(data).hexdigest() == reader.hexdigest(MD5)
    assert reader.bytes_read == len(data)


def test_partial_name_while_writing(b: LocalBackend, root: Path) -> None:
    seen: list[list[str]] = []

    class Spy:
        def __init__(self) -> None:
            self.parts = [b"abc", b"def"]

        def read(self, n: int = -1, /) -> bytes:
            seen.append(sorted(os.listdir(root / "dir")))
            return self.parts.pop(0) if self.parts else b""

    put(b, "dir/final.txt", b"old")
    b.put("dir/final.txt", Spy(), PutInfo(6, T))
    # While streaming, the real name still held the old file and the new bytes went to a
    # temp name that cannot be mistaken for a finished file.
    for listing in seen:
        assert "final.txt" in listing
        others = [n for n in listing if n != "final.txt"]
        assert len(others) == 1
        assert others[0].startswith(".final.txt.") and others[0].endswith(".partial")
    assert os.listdir(root / "dir") == ["final.txt"]
    assert (root / "dir" / "final.txt").read_bytes() == b"abcdef"


def test_hash_mismatch_keeps_the_old_file(b: LocalBackend, root: Path) -> None:
    put(b, "f.txt", b"old")
    with pytest.raises(CorruptedTransfer):
        put(b, "f.txt", b"new", hashes={MD5: hashlib.md5(b"other").hexdigest()})
    assert (root / "f.txt").read_bytes() == b"old"
    assert os.listdir(root) == ["f.txt"]


def test_long_name_temp_file(b: LocalBackend, root: Path) -> None:
    name = "é" * 120  # 240 bytes: the ".name.random.partial" temp name would exceed 255
    put(b, name, b"x")
    assert os.listdir(root) == [name]
    with pytest.raises(NameNotSupported):
        put(b, "x" * 300, b"x")
    assert os.listdir(root) == [name]


@pytest.mark.parametrize("path", ["..", "../escape.txt", "a/../../escape.txt", "./x", "a//b",
                                  "nul\x00.txt"])
def test_paths_never_escape_the_root(b: LocalBackend, root: Path, path: str) -> None:
    with pytest.raises(NameNotSupported):
        put(b, path, b"x")
    with pytest.raises(NameNotSupported):
        b.mkdir(path)
    with pytest.raises(NameNotSupported):
        b.stat(path)
    assert os.listdir(root) == []
    assert sorted(os.listdir(root.parent)) == ["root"]


# ---------------------------------------------------------------------------- symlinks
@posix_only
def test_symlinks_skipped_with_notice(b: LocalBackend, root: Path,
                                      caplog: pytest.LogCaptureFixture) -> None:
    (root / "real.txt").write_bytes(b"real")
    (root / "dir").mkdir()
    os.symlink(root / "real.txt", root / "link.txt")
    os.symlink(root / "dir", root / "linkdir")
    with caplog.at_level(NOTICE, logger="cloudsync"):
        listing = {e.path for e in b.list("")}
    assert listing == {"real.txt", "dir"}
    notices = [r.getMessage() for r in caplog.records if r.levelno == NOTICE]
    assert sorted(notices) == [f"link.txt: {SYMLINK_NOTICE}", f"linkdir: {SYMLINK_NOTICE}"]
    with pytest.raises(ObjectNotFound):
        b.stat("link.txt")
    caplog.clear()
    quiet = LocalBackend("local", str(root), skip_links=True)
    with caplog.at_level(NOTICE, logger="cloudsync"):
        assert {e.path for e in quiet.list("")} == {"real.txt", "dir"}
    assert not [r for r in caplog.records if r.levelno >= NOTICE]


@posix_only
def test_copy_links_follows(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "inner.txt").write_bytes(b"inner")
    (root / "real.txt").write_bytes(b"real!")
    os.symlink(root / "real.txt", root / "link.txt")
    os.symlink(outside, root / "linkdir")
    b = LocalBackend("local", str(root), copy_links=True)
    entries = {e.path: (e.is_dir, e.size) for e in b.list("")}
    assert entries["link.txt"] == (False, 5)
    assert entries["linkdir"][0] is True
    assert {e.path for e in b.list_recursive("")} == {"real.txt", "link.txt", "linkdir",
                                                      "linkdir/inner.txt"}
    assert b.get("linkdir/inner.txt").read() == b"inner"
    assert b.stat("link.txt").size == 5


@posix_only
def test_copy_links_broken_link_and_loop_are_errors(root: Path) -> None:
    b = LocalBackend("local", str(root), copy_links=True)
    (root / "sub").mkdir()
    os.symlink(root, root / "sub" / "loop")
    with pytest.raises(NoRetryError):
        list(b.list_recursive(""))
    os.unlink(root / "sub" / "loop")
    os.symlink(root / "missing", root / "broken")
    with pytest.raises(NoRetryError):
        b.list("")


@posix_only
def test_special_files_skipped(b: LocalBackend, root: Path, caplog: pytest.LogCaptureFixture) -> None:
    os.mkfifo(root / "fifo")
    (root / "f.txt").write_bytes(b"x")
    with caplog.at_level(NOTICE, logger="cloudsync"):
        assert [e.path for e in b.list("")] == ["f.txt"]
    assert any("fifo" in r.getMessage() for r in caplog.records)


@posix_only
def test_purge_does_not_follow_links(b: LocalBackend, root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_bytes(b"keep me")
    (root / "d").mkdir()
    os.symlink(outside, root / "d" / "link")
    b.purge("d")
    assert not (root / "d").exists()
    assert (outside / "precious.txt").read_bytes() == b"keep me"


# ---------------------------------------------------------------------------- permissions
def test_unreadable_directory_is_an_error(b: LocalBackend, root: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    (root / "secret").mkdir()

    def denied(path: Any) -> Any:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(local_mod.os, "scandir", denied)
    with pytest.raises(PermissionDenied) as info:
        b.list("secret")
    assert "secret" in str(info.value)


def test_unreadable_file_fails_that_file_only(b: LocalBackend, root: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    (root / "ok.txt").write_bytes(b"ok")
    (root / "locked.txt").write_bytes(b"no")

    real_open = os.open  # (reads open with os.open: a FIFO must not block the open)

    def fake_open(path: Any, *args: Any, **kw: Any) -> Any:
        if str(path).endswith("locked.txt"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kw)

    monkeypatch.setattr(local_mod.os, "open", fake_open)
    assert {e.path for e in b.list("")} == {"ok.txt", "locked.txt"}
    with pytest.raises(PermissionDenied) as info:
        b.get("locked.txt")
    assert "locked.txt" in str(info.value)
    assert b.get("ok.txt").read() == b"ok"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root can read anything")
def test_real_permissions(b: LocalBackend, root: Path) -> None:  # pragma: no cover - non-root
    (root / "locked").mkdir()
    (root / "locked.txt").write_bytes(b"x")
    os.chmod(root / "locked", 0)
    os.chmod(root / "locked.txt", 0)
    try:
        with pytest.raises(PermissionDenied):
            b.list("locked")
        with pytest.raises(PermissionDenied):
            b.get("locked.txt")
        with pytest.raises(PermissionDenied):
            b.hash("locked.txt", MD5)
    finally:
        os.chmod(root / "locked", 0o755)
        os.chmod(root / "locked.txt", 0o644)


# ---------------------------------------------------------------------------- server side
def test_copy_is_kernel_side_and_falls_back(b: LocalBackend, root: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    data = os.urandom(200_000)
    put(b, "src.bin", data)
    e = b.copy(b, "src.bin", "dst/one.bin")
    assert (root / "dst" / "one.bin").read_bytes() == data
    assert e.mtime_ns == os.stat(root / "src.bin").st_mtime_ns == os.stat(root / "dst" / "one.bin").st_mtime_ns

    def no_kernel(*args: Any) -> int:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(local_mod.os, "copy_file_range", no_kernel, raising=False)
    monkeypatch.setattr(local_mod.os, "sendfile", no_kernel, raising=False)
    b.copy(b, "src.bin", "dst/two.bin")
    assert (root / "dst" / "two.bin").read_bytes() == data
    assert sorted(os.listdir(root / "dst")) == ["one.bin", "two.bin"]


def test_cross_device_rename_is_cant_move(b: LocalBackend, root: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    put(b, "a.txt", b"a")
    (root / "d").mkdir()

    def exdev(*args: Any) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(local_mod.os, "replace", exdev)
    monkeypatch.setattr(local_mod.os, "rename", exdev)
    with pytest.raises(CantMove):
        b.move(b, "a.txt", "b.txt")
    with pytest.raises(CantDirMove):
        b.dir_move(b, "d", "e")
    assert (root / "a.txt").exists() and (root / "d").is_dir()


# ---------------------------------------------------------------------------- probing
@pytest.mark.parametrize(("stored", "precision"), [
    (local_mod._PROBE_NS, 1),
    (local_mod._PROBE_NS - local_mod._PROBE_NS % 100, 100),
    (local_mod._PROBE_NS - local_mod._PROBE_NS % 1000, 1000),
    (local_mod._PROBE_NS - local_mod._PROBE_NS % 1_000_000_000, 1_000_000_000),
    (local_mod._PROBE_NS - local_mod._PROBE_NS % 2_000_000_000, 2_000_000_000),
    (1_600_000_001_123_457_000, 1000),  # rounded (not truncated) to the microsecond
])
def test_precision_from_probe(stored: int, precision: int) -> None:
    assert local_mod._precision_from(stored) == precision


def test_probe_runs_once_per_file_system(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    LocalBackend("local", str(root)).features  # noqa: B018 - probe (or cache hit)
    assert os.stat(root).st_dev in local_mod._probe_cache

    def boom(*a: Any, **kw: Any) -> Any:
        raise AssertionError("probed again")

    monkeypatch.setattr(tempfile, "mkstemp", boom)
    again = LocalBackend("local", str(root / "not" / "yet"))
    assert again.features.precision_ns == local_mod._probe_cache[os.stat(root).st_dev][0]
    assert not [n for n in os.listdir(root) if n.startswith(".cloudsync-probe")]


def test_about(b: LocalBackend) -> None:
    usage = b.about()
    assert usage.total and usage.free is not None and usage.used is not None
    assert LocalBackend("local", b.root + "/missing/deeper").about().total == usage.total


def test_features_can_be_overridden(root: Path) -> None:
    import dataclasses

    b = LocalBackend("local", str(root))
    b.features = dataclasses.replace(b.features, precision_ns=1_000_000_000)
    assert b.features.precision_ns == 1_000_000_000


@pytest.mark.parametrize("tempdir_usable", [True, False])
def test_probe_leaves_the_root_untouched(root: Path, tmp_path: Path, tempdir_usable: bool,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # The root may be a copy's *source*: probing must not change its directory mtime.
    monkeypatch.setattr(local_mod, "_probe_cache", {})
    if not tempdir_usable:  # e.g. /tmp on another file system: probe in the root itself
        monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path / "nowhere"))
    os.utime(root, ns=(T, T))
    b = LocalBackend("local", str(root))
    assert 0 < b.features.precision_ns <= 2_000_000_000
    assert os.stat(root).st_dev in local_mod._probe_cache
    assert os.stat(root).st_mtime_ns == T
    assert os.listdir(root) == []


@posix_only
def test_set_dir_modtime_leaves_symlinked_dirs_alone(root: Path, tmp_path: Path) -> None:
    # With -L a listed directory may be a link to somewhere outside the tree: its target's
    # times are not ours to change.
    outside = tmp_path / "outside"
    outside.mkdir()
    os.utime(outside, ns=(T, T))
    root.mkdir(exist_ok=True)
    os.symlink(outside, root / "link")
    b = LocalBackend("local", str(root), copy_links=True)
    b.set_dir_modtime("link", 1_000_000_000_000_000_000)
    assert os.stat(outside).st_mtime_ns == T
    b.mkdir("real")
    b.set_dir_modtime("real", 1_000_000_000_123_456_789)
    assert os.stat(root / "real").st_mtime_ns == 1_000_000_000_123_456_789


def test_copy_batch_copies_each_file_and_reports_each_failure(root: Path, tmp_path: Path) -> None:
    src = LocalBackend("local", str(tmp_path / "src"))
    put(src, "a.txt", b"aaa")
    put(src, "sub/b.txt", b"b" * 5000)
    put(src, "empty", b"")
    dst = LocalBackend("local", str(root))
    put(dst, "a.txt", b"old content")  # replaced atomically
    res = dst.copy_batch(src, [("a.txt", "a.txt"), ("missing", "x/missing"),
                               ("sub/b.txt", "new/dir/b.txt"), ("empty", "empty")])
    assert [type(r).__name__ for r in res] == ["Entry", "ObjectNotFound", "Entry", "Entry"]
    assert (root / "a.txt").read_bytes() == b"aaa"
    assert (root / "new" / "dir" / "b.txt").read_bytes() == b"b" * 5000
    assert (root / "empty").read_bytes() == b""
    for rel in ("a.txt", "new/dir/b.txt", "empty"):
        assert os.stat(root / rel).st_mtime_ns == T
    first = res[0]
    assert not isinstance(first, Exception) and (first.size, first.mtime_ns) == (3, T)
    # no temp file anywhere, and nothing for the missing source
    leftovers = [p for p in root.rglob("*") if p.name.endswith(".partial")]
    assert leftovers == [] and not (root / "x" / "missing").exists()


@pytest.mark.parametrize("vouched", [True, False])
def test_copy_batch_fsyncs_each_file_unless_syncfs_vouched(
    b: LocalBackend, monkeypatch: pytest.MonkeyPatch, vouched: bool
) -> None:
    """A batch is made durable either by one successful syncfs (Linux ≥ 5.8 reports write-back
    errors) or, when that cannot be relied on, by one fsync per file — never by neither."""
    for i in range(3):
        put(b, f"src/{i}.txt", b"x" * (i + 1))
    syncs: list[int] = []
    fsyncs: list[int] = []
    monkeypatch.setattr(local_mod, "_syncfs", lambda fd: syncs.append(fd) or vouched)
    real_fsync = os.fsync
    monkeypatch.setattr(local_mod.os, "fsync", lambda fd: (fsyncs.append(fd), real_fsync(fd))[1])
    results = b.copy_batch(b, [(f"src/{i}.txt", f"dst/{i}.txt") for i in range(3)])
    assert [r.size for r in results] == [1, 2, 3]  # type: ignore[union-attr]
    assert len(syncs) == 1
    assert len(fsyncs) == (0 if vouched else 3)
    assert sorted(os.listdir(b.root + "/dst")) == ["0.txt", "1.txt", "2.txt"]


def test_syncfs_is_only_trusted_on_kernels_that_report_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Uname:
        def __init__(self, release: str) -> None:
            self.release = release

    for release, want in (("6.18.44-fc", True), ("5.8.0", True), ("5.4.0-150-generic", False),
                          ("4.19.0", False), ("garbage", False)):
        monkeypatch.setattr(local_mod.os, "uname", lambda r=release: Uname(r))
        assert local_mod._kernel_at_least(5, 8) is want, release


@posix_only
def test_a_temp_file_another_writer_locks_between_our_create_and_lock_stays_theirs(
    b: LocalBackend, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two writers of one file: ours creates the temp name, the other opens it and takes the
    lock before we do. The file is theirs; ours must write elsewhere (it wrote into theirs,
    and one of the two renames then found nothing: ObjectNotFound under parallel puts)."""
    import fcntl

    real_open = os.open
    stolen: list[tuple[str, int]] = []

    def racing_open(path: Any, flags: int, mode: int = 0o777, **kw: Any) -> int:
        fd = real_open(path, flags, mode, **kw)
        if flags & os.O_EXCL and not stolen and str(path).endswith(".partial"):
            other = real_open(path, os.O_WRONLY)
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
            stolen.append((str(path), other))
        return fd

    monkeypatch.setattr(local_mod.os, "open", racing_open)
    put(b, "f.txt", b"data")
    monkeypatch.undo()
    assert stolen and (root / "f.txt").read_bytes() == b"data"
    assert os.path.exists(stolen[0][0])  # the other writer's temp file is still its own
    os.close(stolen[0][1])
