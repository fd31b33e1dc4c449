"""-M in the engine: local copies keep the source's permissions; a backend without metadata
accepts the flag and copies as without it."""

from __future__ import annotations

import os
from pathlib import Path

from cloudsync.backends.local import LocalBackend
from cloudsync.backends.memory import MemoryBackend

from cloudsync import engine
from cloudsync.engine.options import SyncOptions

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
    put(src, "a.txt", b"a", T1)
    assert not src.has("metadata")
    dst = LocalBackend("local", str(tmp_path / "dst"))
    r = engine.copy(src, dst, SyncOptions(metadata=True))
    assert r.final_error is None and (tmp_path / "dst/a.txt").read_bytes() == b"a"
    r = engine.copy(_src(tmp_path), MemoryBackend("m", "meta-dst"), SyncOptions(metadata=True))
    assert r.final_error is None and tree(MemoryBackend("m", "meta-dst"))["x.sh"][0] == b"x"
