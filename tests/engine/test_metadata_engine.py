"""-M in the engine: local copies keep the source's permissions; a backend without metadata
accepts the flag and copies as without it."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from cloudsync.backends.local import LocalBackend
from cloudsync.backends.memory import MemoryBackend

from cloudsync import engine
from cloudsync.engine.options import SyncOptions
from cloudsync.errors import ObjectNotFound
from cloudsync.types import PutInfo

from .conftest import T1, put, tree


def _src(tmp_path: Path) -> LocalBackend:
    (tmp_path / "src").mkdir()
    f = tmp_path / "src/x.sh"
    f.write_bytes(b"x")
    f.chmod(0o700)
    return LocalBackend("local", str(tmp_path / "src"))


def test_local_copy_keeps_mode_with_metadata_only(tmp_path: Path) -> None:
    src = _src(tmp_path)
    old = os.umask(0o022)
    try:
        for name, flag in (("with", True), ("without", False)):
            dst = LocalBackend("local", str(tmp_path / name))
            r = engine.copy(src, dst, SyncOptions(metadata=flag))
            assert r.final_error is None
    finally:
        os.umask(old)
    assert (tmp_path / "with/x.sh").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "without/x.sh").stat().st_mode & 0o777 == 0o644
    assert LocalBackend("local", str(tmp_path / "with")).metadata("x.sh")["mode"] == "100700"


def test_backend_without_metadata_ignores_the_flag(tmp_path: Path) -> None:
    src = MemoryBackend("m", "meta-src")
    src.disable("metadata")
    put(src, "a.txt", b"a", T1)
    assert not src.has("metadata")
    dst = LocalBackend("local", str(tmp_path / "dst"))
    r = engine.copy(src, dst, SyncOptions(metadata=True))
    assert r.final_error is None and (tmp_path / "dst/a.txt").read_bytes() == b"a"
    mem = MemoryBackend("m", "meta-dst")
    mem.disable("metadata")
    r = engine.copy(_src(tmp_path), mem, SyncOptions(metadata=True))
    assert r.final_error is None and tree(MemoryBackend("m", "meta-dst"))["x.sh"][0] == b"x"


def test_memory_keeps_metadata_set_on_upload_and_by_set_metadata() -> None:
    m = MemoryBackend("m", "meta-rt")
    m.put("f.txt", io.BytesIO(b"f"), PutInfo(1, T1, metadata={"colour": "blue"}))
    assert m.metadata("f.txt") == {"colour": "blue"}
    m.set_metadata("f.txt", {"shape": "round"})
    assert m.metadata("f.txt") == {"colour": "blue", "shape": "round"}
    m.mkdir("d")
    m.set_metadata("d", {"k": "v"})
    assert m.metadata("d") == {"k": "v"} and m.metadata("") == {}
    copied = MemoryBackend("m", "meta-rt2")
    r = engine.copy(m, copied, SyncOptions(metadata=True, create_empty_src_dirs=True))
    assert r.final_error is None
    assert copied.metadata("f.txt") == {"colour": "blue", "shape": "round"}
    assert copied.metadata("d") == {"k": "v"}  # a folder the run made gets the source's
    with pytest.raises(ObjectNotFound):
        m.metadata("missing")


@pytest.mark.parametrize("verb", ["copy", "move"])
def test_local_metadata_through_memory_and_back(tmp_path: Path, verb: str) -> None:
    # local -> memory keeps rclone's local keys as strings; memory -> local applies them again
    src = _src(tmp_path)
    (tmp_path / "src/sub").mkdir()
    (tmp_path / "src/sub/y").write_bytes(b"y")
    (tmp_path / "src/sub").chmod(0o700)
    mem = MemoryBackend("m", f"meta-mid-{verb}")
    r = getattr(engine, verb)(src, mem, SyncOptions(metadata=True))
    assert r.final_error is None
    assert mem.metadata("x.sh")["mode"] == "100700" and mem.metadata("sub")["mode"] == "40700"
    assert ((tmp_path / "src/x.sh").exists()) == (verb == "copy")
    back = LocalBackend("local", str(tmp_path / "back"))
    r = getattr(engine, verb)(mem, back, SyncOptions(metadata=True))
    assert r.final_error is None
    assert (tmp_path / "back/x.sh").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "back/sub").stat().st_mode & 0o777 == 0o700
