"""The -i confirm hook of the engine: what is asked, what a "no" skips, that questions never
overlap across worker threads, and that StopRun ends the run with nothing more changed."""

from __future__ import annotations

import threading
import time

from cloudsync.backends.memory import MemoryBackend

from cloudsync import engine
from cloudsync.engine.act import StopRun
from cloudsync.engine.options import SyncOptions

from .conftest import T1, T2, put, tree


class Hook:
    def __init__(self, answers: dict[str, bool] | None = None, stop_at: str | None = None) -> None:
        self.answers = answers or {}
        self.stop_at = stop_at
        self.asked: list[tuple[str, str]] = []
        self._busy = threading.Lock()
        self.overlapped = False

    def __call__(self, action: str, path: str) -> bool:
        if not self._busy.acquire(blocking=False):
            self.overlapped = True
            self._busy.acquire()
        try:
            time.sleep(0.005)  # a slow user: other workers reach their question meanwhile
            self.asked.append((action, path))
            if path == self.stop_at:
                raise StopRun()
            return self.answers.get(path, True)
        finally:
            self._busy.release()


def _trees() -> tuple[MemoryBackend, MemoryBackend]:
    src, dst = MemoryBackend("m", "i-src"), MemoryBackend("m", "i-dst")
    for i in range(8):
        put(src, f"f{i}.txt", b"new", T2)
    put(dst, "extra.txt", b"old", T1)
    return src, dst


def test_every_change_is_asked_and_a_no_skips_it() -> None:
    src, dst = _trees()
    hook = Hook({"f3.txt": False, "extra.txt": False})
    r = engine.sync(src, dst, SyncOptions(confirm=hook, transfers=4))
    assert r.final_error is None
    asked = sorted(hook.asked)
    assert asked == sorted([("copy", f"f{i}.txt") for i in range(8)] + [("delete", "extra.txt")])
    got = tree(dst)
    assert "f3.txt" not in got and "extra.txt" in got
    assert all(f"f{i}.txt" in got for i in range(8) if i != 3)
    assert not hook.overlapped  # one question at a time, whatever the number of workers


def test_stop_run_ends_the_run_without_further_changes_or_questions() -> None:
    src, dst = _trees()
    hook = Hook(stop_at="f0.txt")
    engine.sync(src, dst, SyncOptions(confirm=hook, transfers=1, checkers=1))
    assert hook.asked == [("copy", "f0.txt")]  # nothing asked after the stop
    assert tree(dst) == {"extra.txt": (b"old", T1)}  # nothing copied, nothing deleted


def test_dry_run_asks_nothing() -> None:
    src, dst = _trees()
    hook = Hook()
    engine.sync(src, dst, SyncOptions(confirm=hook, dry_run=True))
    assert hook.asked == [] and "f0.txt" not in tree(dst)


def test_delete_asks_too() -> None:
    src, _ = _trees()
    hook = Hook({"f1.txt": False})
    engine.delete(src, "", SyncOptions(confirm=hook, checkers=1))
    assert ("delete", "f0.txt") in hook.asked and list(tree(src)) == ["f1.txt"]
