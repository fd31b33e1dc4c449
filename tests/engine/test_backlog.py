"""--max-backlog: the listing never runs more than the backlog ahead of the work.

Each test stalls the workers (a destination ``put`` or a source ``get`` that waits) and checks
that the march stops handing out work once the queue in front of them is full, then that the
run finishes normally once they are released.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from cloudsync.backends.memory import MemoryBackend

from cloudsync import engine
from cloudsync.engine.act import BoundedPool, Executor
from cloudsync.engine.options import CheckOptions, SyncOptions
from cloudsync.engine.result import RunResult

from .conftest import put

FILES = 60


def _source() -> MemoryBackend:
    src = MemoryBackend("s", "src")
    for i in range(FILES):
        put(src, f"d{i % 3}/f{i:02d}", b"x" * (i + 1))
    return src


def _settles(count: Callable[[], int], expected: int) -> int:
    """Wait (bounded) for ``count()`` to reach ``expected``, then give it room to overshoot."""
    deadline = time.monotonic() + 10
    while count() < expected and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)  # a march ignoring the bound would race past it meanwhile
    return count()


def _count_dispatches(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Paths the march hands to the executor, in order (a list that fills as it goes)."""
    dispatched: list[str] = []
    real_dispatch = Executor.dispatch

    def counting(self: Executor, action: Any, **kw: Any) -> None:
        dispatched.append(action.path)
        real_dispatch(self, action, **kw)

    monkeypatch.setattr(Executor, "dispatch", counting)
    return dispatched


def _in_thread(fn: Callable[[], RunResult]) -> tuple[threading.Thread, list[RunResult]]:
    out: list[RunResult] = []
    t = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    t.start()
    return t, out


@pytest.mark.parametrize("backlog", [1, 5])
def test_copy_march_waits_when_the_transfer_backlog_is_full(
        monkeypatch: pytest.MonkeyPatch, backlog: int) -> None:
    src, dst = _source(), MemoryBackend("d", "dst")
    release, started = threading.Event(), threading.Event()
    for method in ("put", "copy"):  # (memory to memory may copy server-side)
        real = getattr(dst, method)

        def stalled(*args: Any, _real: Any = real) -> Any:
            started.set()
            assert release.wait(30)
            return _real(*args)

        monkeypatch.setattr(dst, method, stalled)
    dispatched = _count_dispatches(monkeypatch)
    opts = SyncOptions(transfers=1, checkers=1, max_backlog=backlog)
    thread, result = _in_thread(lambda: engine.copy(src, dst, opts))
    assert started.wait(10)
    # one transfer running, `backlog` queued, and the march blocked handing out the next one
    assert _settles(lambda: len(dispatched), 1 + backlog + 1) == 1 + backlog + 1
    release.set()
    thread.join(30)
    assert not thread.is_alive()
    assert result[0].stats.transfers == FILES and result[0].final_error is None
    assert len(dispatched) == FILES


def test_check_march_waits_when_the_checker_backlog_is_full(
        monkeypatch: pytest.MonkeyPatch) -> None:
    src = _source()
    dst = MemoryBackend("d", "dst")
    engine.copy(src, dst, SyncOptions())
    release, started = threading.Event(), threading.Event()
    real_get = src.get
    opened: list[str] = []

    def stalled_get(path: str, *args: Any) -> Any:
        opened.append(path)
        started.set()
        assert release.wait(30)
        return real_get(path, *args)

    monkeypatch.setattr(src, "get", stalled_get)
    submitted: list[Any] = []
    real_submit = BoundedPool.submit

    def counting(self: BoundedPool, fn: Any, *args: Any) -> None:
        submitted.append(args)
        real_submit(self, fn, *args)

    monkeypatch.setattr(BoundedPool, "submit", counting)
    opts = CheckOptions(download=True, checkers=1, max_backlog=4)
    thread, result = _in_thread(lambda: engine.check(src, dst, opts))
    assert started.wait(10)
    assert _settles(lambda: len(submitted), 1 + 4 + 1) == 1 + 4 + 1
    release.set()
    thread.join(30)
    assert not thread.is_alive()
    assert result[0].matches == FILES and result[0].differences == 0


def test_max_backlog_flag_reaches_the_engine(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Any) -> None:
    from click.testing import CliRunner

    from cloudsync.cli import cli

    seen: list[int] = []
    real = BoundedPool.__init__

    def spy(self: BoundedPool, workers: int, name: str, on_error: Any,
            queue_limit: int = 10_000) -> None:
        seen.append(queue_limit)
        real(self, workers, name, on_error, queue_limit)

    monkeypatch.setattr(BoundedPool, "__init__", spy)
    assert SyncOptions().max_backlog == CheckOptions().max_backlog == 10_000
    monkeypatch.setenv("CLOUDSYNC_CONFIG", str(tmp_path / "none.conf"))
    (tmp_path / "src").mkdir()
    r = CliRunner().invoke(cli, ["copy", "--max-backlog", "7", str(tmp_path / "src"),
                                 str(tmp_path / "dst")])
    assert r.exit_code == 0, r.output
    assert seen == [7, 7]
    seen.clear()
    r = CliRunner().invoke(cli, ["check", str(tmp_path / "src"), str(tmp_path / "dst")],
                           env={"CLOUDSYNC_MAX_BACKLOG": "3"})
    assert seen == [3, 3]


def test_batched_local_copies_count_per_file_against_the_backlog(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    # small local copies travel in batches; a batch takes one queue slot per file, so the
    # march still stops --max-backlog files ahead of the copying
    from cloudsync.backends.local import LocalBackend

    src_dir = tmp_path / "src"
    for i in range(FILES):
        (src_dir / f"d{i % 3}").mkdir(parents=True, exist_ok=True)
        (src_dir / f"d{i % 3}" / f"f{i:02d}").write_bytes(b"x" * i)
    src, dst = LocalBackend("local", str(src_dir)), LocalBackend("local", str(tmp_path / "dst"))
    release, started = threading.Event(), threading.Event()
    real_batch = LocalBackend.copy_batch

    def stalled_batch(self: LocalBackend, *args: Any) -> Any:
        started.set()
        assert release.wait(30)
        return real_batch(self, *args)

    monkeypatch.setattr(LocalBackend, "copy_batch", stalled_batch)
    dispatched = _count_dispatches(monkeypatch)
    backlog = 9
    capacity = 1 + backlog  # one transfer worker
    thread, result = _in_thread(lambda: engine.copy(
        src, dst, SyncOptions(transfers=1, checkers=1, max_backlog=backlog)))
    assert started.wait(10)
    # one batch of `capacity` files running, the next one gathered and waiting for its slots
    assert _settles(lambda: len(dispatched), 2 * capacity) == 2 * capacity
    release.set()
    thread.join(30)
    assert not thread.is_alive()
    assert result[0].stats.transfers == FILES and result[0].final_error is None
    assert sum(1 for p in (tmp_path / "dst").rglob("f*")) == FILES
