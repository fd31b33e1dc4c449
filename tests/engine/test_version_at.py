"""The engine on a remote seen as it was (``version_at``): a tree with edits, deletes and
re-creations across three points in time, copied and checked back exactly (memory backend)."""

from __future__ import annotations

import time
import uuid

import pytest
from cloudsync.backends.memory import MemoryBackend

from cloudsync import engine
from cloudsync.engine.options import CheckOptions, SyncOptions
from cloudsync.history import HistoryView, wrap_history
from cloudsync.registry import get_spec

from .conftest import T1, T2, put, tree


def _moment() -> int:
    time.sleep(0.002)
    t = time.time_ns()
    time.sleep(0.002)
    return t


@pytest.fixture
def history() -> tuple[MemoryBackend, list[int], list[dict[str, tuple[bytes, int | None]]]]:
    """A tree changed three times; returns the backend, the moments and the tree at each."""
    b = MemoryBackend("m", f"va-{uuid.uuid4().hex}")
    moments: list[int] = []
    states: list[dict[str, tuple[bytes, int | None]]] = []
    put(b, "keep.txt", b"never changes")
    put(b, "edit.txt", b"edit 1")
    put(b, "d/recreated.txt", b"first life")
    put(b, "d/deep/doomed.txt", b"will be purged")
    put(b, "gone.txt", b"deleted in step 2")
    moments.append(_moment())
    states.append(tree(b))
    put(b, "edit.txt", b"edit 2, longer", T2)
    b.delete("d/recreated.txt")
    b.purge("d/deep")
    put(b, "added.txt", b"added in step 2")
    moments.append(_moment())
    states.append(tree(b))
    put(b, "edit.txt", b"edit 3")
    b.delete("gone.txt")
    put(b, "d/recreated.txt", b"second life", T2)
    b.delete("added.txt")
    moments.append(_moment())
    states.append(tree(b))
    put(b, "after.txt", b"after everything")
    put(b, "edit.txt", b"edit 4")
    return b, moments, states


def test_copy_reproduces_each_moment(history) -> None:  # type: ignore[no-untyped-def]
    b, moments, states = history
    assert states[0] != states[1] != states[2]
    for at, expected in zip(moments, states, strict=True):
        past = HistoryView(b, at_ns=at, show_versions=False)
        assert tree(past) == expected
        dst = MemoryBackend("m", f"out-{uuid.uuid4().hex}")
        r = engine.copy(past, dst, SyncOptions())
        assert r.final_error is None
        assert tree(dst) == expected
        chk = engine.check(past, dst, CheckOptions())
        assert chk.final_error is None and chk.differences == 0


def test_recreated_file_is_absent_while_it_was_deleted(history) -> None:  # type: ignore[no-untyped-def]
    b, moments, _ = history
    step2 = HistoryView(b, at_ns=moments[1], show_versions=False)
    assert "d/recreated.txt" not in tree(step2)
    step3 = HistoryView(b, at_ns=moments[2], show_versions=False)
    assert tree(step3)["d/recreated.txt"] == (b"second life", T2)
    assert tree(HistoryView(b, at_ns=moments[0], show_versions=False))["d/recreated.txt"] == (b"first life", T1)


def test_sync_from_the_past_restores_a_tree(history) -> None:  # type: ignore[no-untyped-def]
    b, moments, states = history
    dst = MemoryBackend("m", f"out-{uuid.uuid4().hex}")
    engine.copy(b, dst, SyncOptions())
    # checksum: "edit 1" and "edit 4" share size and modtime
    r = engine.sync(HistoryView(b, at_ns=moments[0], show_versions=False), dst, SyncOptions(checksum=True))
    assert r.final_error is None
    assert tree(dst) == states[0]


def test_option_builds_the_view_and_refuses_writes(history) -> None:  # type: ignore[no-untyped-def]
    b, moments, states = history
    spec = get_spec("memory")
    when = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moments[0] // 1_000_000_000 - 3600)) + "Z"
    view = spec.factory("m", b.root, spec.parse_options({"version_at": when}), None)
    assert isinstance(view, HistoryView)
    assert tree(view) == {}  # an hour before anything existed
    same = wrap_history(b, {"version_at": "off", "versions": False})
    assert same is b
    past = HistoryView(b, at_ns=moments[0], show_versions=False)
    r = engine.copy(MemoryBackend("m", b.root), past, SyncOptions())
    assert r.final_error is not None and "version-at" in str(r.final_error)
    assert tree(b) != states[0]
