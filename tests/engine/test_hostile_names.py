"""Names that come from a listing never escape, alias or silently vanish.

A server (or a corrupted file system) may answer with names such as ``..``, ``a/../../x`` or an
absolute path.  The listing is refused: the run counts an error, writes nothing outside the
destination, and – because an error was counted – `sync` deletes nothing.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cloudsync.backends.local import SPEC as LOCAL
from cloudsync.backends.memory import MemoryBackend

from cloudsync.engine import copy, sync
from cloudsync.engine.options import SyncOptions
from cloudsync.errors import ProtocolError
from cloudsync.types import Entry, PutInfo

T = 1_000_000_000_000_000_000


class Hostile(MemoryBackend):
    """A memory backend whose root listing also carries one hostile entry."""

    evil: Entry

    def list(self, path: str) -> list[Entry]:
        out = list(super().list(path))
        if path == "":
            out.append(self.evil)
        return out

    def list_recursive(self, path: str) -> Iterator[Entry]:
        yield from super().list_recursive(path)
        yield self.evil


@pytest.fixture(params=["per-directory", "recursive"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize("evil_path", ["../evil.txt", "sub/../../evil.txt", "/abs.txt", "..", "."])
def test_hostile_source_names_are_refused(tmp_path: Path, mode: str, evil_path: str) -> None:
    src = Hostile(":memory", f"hostile-{mode}-{abs(hash(evil_path))}")
    src.evil = Entry(path=evil_path, is_dir=evil_path in ("..", "."), size=4, mtime_ns=T)
    if mode == "per-directory":
        src.disable("list_recursive")
    src.put("ok.txt", io.BytesIO(b"ok"), PutInfo(size=2, mtime_ns=T))
    dst_dir = tmp_path / "area" / "dst"
    dst_dir.mkdir(parents=True)
    (dst_dir / "keep.txt").write_bytes(b"only copy")  # sync must not delete this
    dst = LOCAL.factory("local", str(dst_dir), LOCAL.parse_options({}), None)

    result = sync(src, dst, SyncOptions(retries=1))

    assert any(isinstance(e, ProtocolError) and "invalid name" in str(e) for e in result.errors)
    assert result.final_error is not None
    assert (dst_dir / "keep.txt").read_bytes() == b"only copy"
    # Nothing appeared anywhere outside the destination folder.
    outside = sorted(p.name for p in (tmp_path / "area").iterdir())
    assert outside == ["dst"]
    assert not (tmp_path / "evil.txt").exists() and not Path("/abs.txt").exists()
    assert sorted(os.listdir(dst_dir)) in (["keep.txt"], ["keep.txt", "ok.txt"])


def test_plain_names_still_copy(tmp_path: Path) -> None:
    src = MemoryBackend(":memory", "plain-names")
    src.put("a b/ü.txt", io.BytesIO(b"x"), PutInfo(size=1, mtime_ns=T))
    dst = LOCAL.factory("local", str(tmp_path), LOCAL.parse_options({}), None)
    result = copy(src, dst, SyncOptions())
    assert result.final_error is None
    assert (tmp_path / "a b" / "ü.txt").read_bytes() == b"x"
