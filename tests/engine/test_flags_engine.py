"""Engine side of rclone's transfer-control flags (the differential tests compare with rclone;
these pin what cannot be seen from the outside, such as which requests are made)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from cloudsync.backends.memory import MemoryBackend

from cloudsync import engine
from cloudsync.engine.options import SyncOptions
from cloudsync.errors import ExitCode, PermissionDenied, exit_code_for
from cloudsync.types import Entry, PutInfo

from .conftest import T1, T2, Faulty, put, tree


def test_no_traverse_never_lists_the_destination() -> None:
    src = MemoryBackend("m", "nt-src")
    dst = Faulty("f", "nt-dst")
    put(src, "a.txt", b"new", T2)
    put(src, "same.txt", b"same", T1)
    put(src, "d/b.txt", b"b", T1)
    put(dst, "a.txt", b"old", T1)
    put(dst, "same.txt", b"same", T1)
    put(dst, "other/x.txt", b"x", T1)
    r = engine.copy(src, dst, SyncOptions(no_traverse=True))
    assert r.final_error is None
    assert dst.calls["list"] == 0 and dst.calls["list_recursive"] == 0
    assert dst.calls["stat"] >= 3  # one lookup per source entry instead
    assert tree(dst)["a.txt"][0] == b"new" and tree(dst)["d/b.txt"][0] == b"b"
    assert "other/x.txt" in tree(dst) and r.stats.transfers == 2


def test_no_traverse_lookup_failure_is_an_error_not_absent() -> None:
    src = MemoryBackend("m", "nt2-src")
    dst = Faulty("f", "nt2-dst")
    put(src, "a.txt", b"new", T2)
    dst.faults[("stat", "a.txt")] = PermissionDenied("denied", path="a.txt")
    r = engine.copy(src, dst, SyncOptions(no_traverse=True, retries=1))
    assert r.final_error is not None and "a.txt" not in tree(dst)


def test_max_transfer_counts_server_side_copies() -> None:
    # both sides on one memory remote: server-side copies, counted like streamed ones
    src = MemoryBackend("m", "ssc/src")
    dst = MemoryBackend("m", "ssc/dst")
    for i in range(4):
        put(src, f"{i}.bin", b"x" * 1000, T1)
    r = engine.copy(src, dst, SyncOptions(max_transfer=2500, cutoff_mode="soft", transfers=1,
                                          check_first=True))
    assert exit_code_for(r.final_error) == ExitCode.TRANSFER_EXCEEDED
    assert len(tree(dst)) == 3  # 0, 1000, 2000 bytes done < 2500 when each started


def test_order_by_bad_value_is_fatal_exit_7() -> None:
    src = MemoryBackend("m", "ob-src")
    put(src, "a", b"a", T1)
    r = engine.copy(src, MemoryBackend("m", "ob-dst"), SyncOptions(order_by="colour"))
    assert exit_code_for(r.final_error) == ExitCode.FATAL
    assert 'unknown --order-by comparison "colour"' in str(r.final_error)


class _StartOrder(Faulty):
    """Records the order in which uploads start; the first ``together`` uploads wait for
    each other, so they are provably running at the same time."""

    def __init__(self, name: str, root: str, together: int) -> None:
        super().__init__(name, root)
        self.started: list[str] = []
        self._barrier = threading.Barrier(together, timeout=10)

    def put(self, path: str, stream: Any, info: PutInfo) -> Entry:
        with self._flock:
            self.started.append(path)
            first = len(self.started) <= self._barrier.parties
        if first:
            self._barrier.wait()
        return super().put(path, stream, info)


def _sized(name: str, sizes: dict[str, int]) -> MemoryBackend:
    src = MemoryBackend("m", name)
    for path, size in sizes.items():
        put(src, path, b"x" * size, T1 + size)
    return src


_SIZES = {"a": 500, "b": 100, "c": 900, "d": 300, "e": 700, "f": 200}


@pytest.mark.parametrize("check_first", [True, False])
def test_order_by_mixed_two_workers_start_with_the_biggest_and_the_smallest(check_first: bool) -> None:
    src = _sized(f"mix-src-{check_first}", _SIZES)
    dst = _StartOrder("f", f"mix-dst-{check_first}", together=2)
    r = engine.copy(src, dst, SyncOptions(order_by="size,mixed", transfers=2,
                                          check_first=check_first))
    assert r.final_error is None and r.stats.transfers == 6
    if check_first:  # every transfer queued before the first starts: the whole order is seen
        assert set(dst.started[:2]) == {"b", "c"}
    assert sorted(tree(dst)) == sorted(_SIZES)


def test_order_by_mixed_percentage_shares_the_workers() -> None:
    # 4 workers at 25 %: worker 0 (0 %) takes the smallest, workers 1-3 (25, 50, 75 %) the
    # biggest, as rclone's "100 * i / transfers < fraction" rule gives
    src = _sized("mix25-src", _SIZES)
    dst = _StartOrder("f", "mix25-dst", together=4)
    r = engine.copy(src, dst, SyncOptions(order_by="size,mixed,25", transfers=4, check_first=True))
    assert r.final_error is None
    assert sorted(dst.started[:4]) == ["a", "b", "c", "e"]  # 100 B, then 900, 700, 500 B


@pytest.mark.parametrize(("order", "want"), [
    ("size,mixed", ["b", "f", "d", "a", "e", "c"]),       # one worker: 0 % < 50 %: the bottom
    ("size,mixed,0", ["c", "e", "a", "d", "f", "b"]),     # 0 % < 0 % is false: the top
    ("size,mixed,100", ["b", "f", "d", "a", "e", "c"]),
    ("name,mixed,0", ["f", "e", "d", "c", "b", "a"]),
])
def test_order_by_mixed_one_worker(order: str, want: list[str]) -> None:
    src = _sized(f"mix1-src-{order}", _SIZES)
    dst = _StartOrder("f", f"mix1-dst-{order}", together=1)
    r = engine.copy(src, dst, SyncOptions(order_by=order, transfers=1, check_first=True))
    assert r.final_error is None
    assert dst.started == want


@pytest.mark.parametrize(("order", "message"), [
    ("size,mixed,x", 'bad mixed fraction --order-by "x"'),
    ("size,mixed,", 'bad mixed fraction --order-by ""'),
    ("size,mixed,50,1", 'bad --order-by string "size,mixed,50,1"'),
    ("size,mixed,-5", 'bad --order-by string "size,mixed,-5"'),  # (negative: not mixed)
    ("size,desc,1", 'bad --order-by string "size,desc,1"'),
    ("size, desc", 'unknown --order-by sort direction " desc"'),
])
def test_order_by_mixed_bad_values_are_fatal(order: str, message: str) -> None:
    r = engine.copy(_sized(f"mixbad-{order}", {"a": 1}), MemoryBackend("m", f"mixbad-dst-{order}"),
                    SyncOptions(order_by=order))
    assert exit_code_for(r.final_error) == ExitCode.FATAL
    assert message in str(r.final_error)


def test_copy_dest_copies_server_side_from_the_folder() -> None:
    src = Faulty("f", "cpd/src")  # another backend type: its files stream
    dst = MemoryBackend("m", "cpd/dst")
    prev = MemoryBackend("m", "cpd/prev")
    put(src, "same.bin", b"x" * 100, T1)
    put(src, "other.bin", b"new", T1)
    put(src, "retimed.bin", b"r", T2)
    put(prev, "same.bin", b"x" * 100, T1)
    put(prev, "other.bin", b"older", T1)
    put(prev, "retimed.bin", b"r", T1)
    r = engine.copy(src, dst, SyncOptions(copy_dest=("cpd/prev",)), dests=[prev])
    assert r.final_error is None
    got = tree(dst)
    assert got["same.bin"] == (b"x" * 100, T1) and got["other.bin"][0] == b"new"
    assert got["retimed.bin"] == (b"r", T2)  # copied from prev, given the source's modtime
    assert r.stats.transfers == 3 and r.stats.server_side_copies == 2


def test_extra_dests_must_be_on_the_destinations_remote() -> None:
    src = MemoryBackend("m", "xr/src")
    put(src, "a", b"a", T1)
    other = Faulty("elsewhere", "xr/cmp")  # another backend type: no server-side path there
    r = engine.copy(src, MemoryBackend("m", "xr/dst"), SyncOptions(compare_dest=("x",)),
                    dests=[other])
    assert exit_code_for(r.final_error) == ExitCode.FATAL


def test_bwlimit_timetable_picks_the_entry_in_force() -> None:
    import time as _time

    from cloudsync.engine.limits import parse_bwlimit, rate_at

    def at(wday: int, hh: int, mm: int) -> _time.struct_time:
        return _time.struct_time((2026, 1, 1, hh, mm, 0, wday, 1, 0))

    table = parse_bwlimit("08:00,512k 12:00,10M 23:00,off")
    assert rate_at(table, at(3, 9, 0)) == (512 * 1024, 512 * 1024)
    assert rate_at(table, at(3, 12, 0)) == (10 << 20, 10 << 20)
    assert rate_at(table, at(3, 7, 59)) == (-1, -1)  # yesterday's 23:00 entry
    week = parse_bwlimit("Mon-08:00,1M Fri-18:00,2M:100k")
    assert rate_at(week, at(2, 10, 0)) == (1 << 20, 1 << 20)  # Wednesday
    assert rate_at(week, at(0, 7, 0)) == (2 << 20, 100 * 1024)  # Monday before 08:00: Friday's
    assert parse_bwlimit("100")[0][2] == (100 * 1024, 100 * 1024)  # KiB without a suffix


def test_bwlimit_paces_bytes_and_separate_limits_skip_local_copies() -> None:
    from cloudsync.engine.limits import BwLimit, parse_bwlimit

    clock = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        clock[0] += s

    lim = BwLimit(parse_bwlimit("100K"), clock=lambda: clock[0], sleep=sleep)
    for _ in range(10):
        lim.take(10 * 1024, upload=False, download=False)
    assert 0.9 <= clock[0] <= 1.0  # 100 KiB at 100 KiB/s
    split = BwLimit(parse_bwlimit("1M:100K"), clock=lambda: clock[0], sleep=sleep)
    before = clock[0]
    split.take(100 * 1024, upload=False, download=False)  # local to local: not limited
    assert clock[0] == before
    split.take(100 * 1024, upload=False, download=True)  # a download: the 100K side
    assert clock[0] - before >= 0.9


def test_max_duration_over_stops_every_transfer_even_before_the_timer_thread_runs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Under load the deadline timer's thread may run long after the deadline: the engine must
    # read the clock itself before each transfer (rclone: nothing is copied, no dst is made).
    from cloudsync.engine import limits

    class LateTimer:  # the timer thread that never got the CPU in time
        def __init__(self, interval: float, function: Any) -> None:
            self.daemon = False

        def start(self) -> None:
            pass

        def cancel(self) -> None:
            pass

        def join(self) -> None:
            pass

    monkeypatch.setattr(limits.threading, "Timer", LateTimer)
    for mode in ("hard", "soft", "cautious"):
        src = MemoryBackend("m", f"md-{mode}-src")
        for i in range(5):
            put(src, f"f{i}.bin", b"x" * 100, T1)
        dst = MemoryBackend("m", f"md-{mode}-dst")
        r = engine.copy(src, dst, SyncOptions(max_duration=1e-9, cutoff_mode=mode))
        assert exit_code_for(r.final_error) == ExitCode.DURATION_EXCEEDED, mode
        assert r.stats.transfers == 0 and tree(dst) == {}, mode
