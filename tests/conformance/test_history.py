"""The optional ``versions`` and ``trash`` capabilities, on every backend that offers them.

JottaCloud keeps times to the second, so moments that must be told apart are more than a
second apart (``_tick``).
"""

from __future__ import annotations

import hashlib
import io
import time

import pytest

from cloudsync.backend import Backend
from cloudsync.errors import AlreadyExists, NotFound, ObjectNotFound
from cloudsync.history import HistoryView
from cloudsync.types import PutInfo

from .backends import Maker

SECOND = 1_000_000_000
MTIME = 1_700_000_000 * SECOND


def _put(b: Backend, path: str, data: bytes, mtime_ns: int = MTIME) -> None:
    b.put(path, io.BytesIO(data), PutInfo(size=len(data), mtime_ns=mtime_ns))


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _tick() -> int:
    """A moment strictly between what happened before and what happens after (1 s clocks)."""
    time.sleep(1.05)
    moment = time.time_ns()
    time.sleep(1.05)
    return moment


def _need(b: Backend, cap: str) -> None:
    if not b.has(cap):
        pytest.skip(f"no {cap}")


def test_versions_list_read_restore(make: Maker) -> None:
    b = make()
    _need(b, "versions")
    for body in (b"first", b"second!", b"third!!!"):
        _put(b, "dir/f.txt", body)
    vs = b.versions("dir/f.txt")
    assert [(v.size, v.md5, v.current, v.restorable) for v in vs] == [
        (8, _md5(b"third!!!"), True, True), (7, _md5(b"second!"), False, True),
        (5, _md5(b"first"), False, True)]
    assert len({v.id for v in vs}) == 3
    assert all(v.stored_ns > 0 and v.mtime_ns == MTIME for v in vs)
    first = vs[-1]
    assert b.open_version("dir/f.txt", first.id).read() == b"first"
    assert b.open_version("dir/f.txt", first.id, 1, 4).read() == b"irs"
    restored = b.restore_version("dir/f.txt", first.id)
    assert (restored.size, restored.hashes["md5"]) == (5, _md5(b"first"))
    assert b.get("dir/f.txt").read() == b"first"
    # The content it replaced stays in the history.
    after = b.versions("dir/f.txt")
    assert after[0].current and after[0].md5 == _md5(b"first")
    assert _md5(b"third!!!") in {v.md5 for v in after[1:]}
    beside = b.restore_version("dir/f.txt", vs[1].id, to="dir/beside.txt")
    assert beside.hashes["md5"] == _md5(b"second!")
    assert b.get("dir/beside.txt").read() == b"second!"
    assert b.get("dir/f.txt").read() == b"first"


def test_versions_errors(make: Maker) -> None:
    b = make()
    _need(b, "versions")
    _put(b, "only.txt", b"one")
    vs = b.versions("only.txt")
    assert len(vs) == 1 and vs[0].current
    with pytest.raises(ObjectNotFound):
        b.restore_version("only.txt", "987654")
    with pytest.raises(ObjectNotFound):
        b.open_version("only.txt", "987654").read()
    with pytest.raises(ObjectNotFound):
        b.versions("missing.txt")
    # Restoring the current version changes nothing.
    assert b.restore_version("only.txt", vs[0].id).hashes["md5"] == _md5(b"one")
    assert len(b.versions("only.txt")) == 1


def test_list_at_three_moments(make: Maker) -> None:
    b = make()
    _need(b, "versions")
    _put(b, "d/edit.txt", b"v1")
    _put(b, "d/gone.txt", b"will be deleted")
    t1 = _tick()
    _put(b, "d/edit.txt", b"v2 longer")
    b.delete("d/gone.txt")
    _put(b, "d/new.txt", b"created later")
    t2 = _tick()

    def at(moment: int) -> dict[str, tuple[int, str]]:
        return {e.path: (e.size, e.hashes.get("md5", "")) for e, _ in b.list_at("d", moment)
                if not e.is_dir}

    assert at(t1) == {"d/edit.txt": (2, _md5(b"v1")), "d/gone.txt": (15, _md5(b"will be deleted"))}
    assert at(t2) == {"d/edit.txt": (9, _md5(b"v2 longer")), "d/new.txt": (13, _md5(b"created later"))}
    # Through the read-only view, as the version_at option builds it.
    view = HistoryView(b, at_ns=t1, show_versions=False)
    assert sorted(e.path for e in view.list("d")) == ["d/edit.txt", "d/gone.txt"]
    assert view.get("d/gone.txt").read() == b"will be deleted"
    assert view.get("d/edit.txt").read() == b"v1"
    assert view.stat("d/edit.txt").hashes["md5"] == _md5(b"v1")
    with pytest.raises(ObjectNotFound):
        view.stat("d/new.txt")
    with pytest.raises(Exception, match="version-at"):
        view.put("d/x.txt", io.BytesIO(b"x"), PutInfo(size=1))


def test_versions_listing_names(make: Maker) -> None:
    b = make()
    _need(b, "versions")
    _put(b, "n/a.txt", b"old")
    time.sleep(1.05)
    _put(b, "n/a.txt", b"newer")
    view = HistoryView(b, at_ns=None, show_versions=True)
    names = [e.path for e in view.list("n")]
    assert len(names) == 2 and "n/a.txt" in names
    old = next(n for n in names if n != "n/a.txt")
    assert old.startswith("n/a-v") and old.endswith(".txt")
    assert view.get(old).read() == b"old"
    assert view.stat(old).size == 3


def test_trash_list_restore_remove(make: Maker) -> None:
    b = make()
    _need(b, "trash")
    _put(b, "t/f.txt", b"file")
    _put(b, "t/d/x.txt", b"xx")
    _put(b, "t/d/sub/y.txt", b"yyy")
    b.delete("t/f.txt")
    b.purge("t/d")
    top = sorted((i.path, i.is_dir, i.size, i.md5) for i in b.trash("t"))
    assert top == [("t/d", True, -1, ""), ("t/f.txt", False, 4, _md5(b"file"))]
    assert all(i.deleted_ns for i in b.trash("t"))
    deep = sorted(i.path for i in b.trash("t", recursive=True))
    assert deep == ["t/d", "t/d/sub", "t/d/sub/y.txt", "t/d/x.txt", "t/f.txt"]
    restored = b.restore_trash("t/d")
    assert sorted(e.path for e in restored) == ["t/d/sub/y.txt", "t/d/x.txt"]
    y = b.stat("t/d/sub/y.txt")
    assert (y.size, y.hashes["md5"], y.mtime_ns) == (3, _md5(b"yyy"), MTIME)
    assert [i.path for i in b.trash("t")] == ["t/f.txt"]
    beside = b.restore_trash("t/f.txt", to="t/elsewhere.txt")
    assert [e.path for e in beside] == ["t/elsewhere.txt"]
    assert b.get("t/elsewhere.txt").read() == b"file"
    b.remove_trash("t/f.txt")
    assert b.trash("t") == []
    with pytest.raises(ObjectNotFound):
        b.restore_trash("t/f.txt")


def test_trash_restore_never_overwrites(make: Maker) -> None:
    b = make()
    _need(b, "trash")
    _put(b, "c/f.txt", b"old")
    b.delete("c/f.txt")
    _put(b, "c/f.txt", b"brand new")
    # Either the trash refuses (memory) or the new file absorbed the old one as a version
    # (JottaCloud): never is the new file's content replaced.
    with pytest.raises((AlreadyExists, NotFound)):
        b.restore_trash("c/f.txt")
    assert b.get("c/f.txt").read() == b"brand new"
    _put(b, "c/other.txt", b"other")
    b.delete("c/other.txt")
    with pytest.raises(AlreadyExists):
        b.restore_trash("c/other.txt", to="c/f.txt")
    assert b.get("c/f.txt").read() == b"brand new"


def test_trash_cleanup(make: Maker) -> None:
    b = make()
    _need(b, "trash")
    _put(b, "e/f.txt", b"f")
    b.delete("e/f.txt")
    assert b.trash("e")
    b.cleanup()
    assert b.trash("e") == []
