"""Pure formatters: sizes, stats block (§D.4), CSV quoting, progress tracker."""

from __future__ import annotations

import pytest

from cloudsync.cli import formats
from cloudsync.cli.runner import Tracker
from cloudsync.events import Stats, TransferDone, TransferProgress, TransferStarted


def test_byte_unit_and_counts() -> None:
    assert formats.byte_unit(0) == "0 B"
    assert formats.byte_unit(72) == "72 B"
    assert formats.byte_unit(1536) == "1.500 KiB"
    assert formats.byte_unit(2048) == "2 KiB"
    assert formats.byte_unit(5 * 1024**4) == "5 TiB"
    assert formats.count_suffix(999) == "999"
    assert formats.count_suffix(1234) == "1.234k"
    assert formats.percent(1, 0) == "-"
    assert formats.percent(14, 14) == "100%"


def test_stats_block_matches_rclone_layout() -> None:
    snap = Stats(bytes=14, total_bytes=14, checks=2, total_checks=2, listed=6, transfers=2,
                 total_transfers=2).snapshot()
    snap["elapsedTime"] = 0.0
    snap["speed"] = 0.0
    text = formats.stats_text(snap)
    assert text == (
        "\nTransferred:   \t         14 B / 14 B, 100%, 0 B/s, ETA -\n"
        "Checks:                 2 / 2, 100%, Listed 6\n"
        "Transferred:            2 / 2, 100%\n"
        "Elapsed time:         0.0s\n"
    )
    snap.update(errors=1, retryError=True, deletes=1, deletedDirs=0, renames=1)
    text = formats.stats_text(snap)
    assert "Errors:                 1 (retrying may help)\n" in text
    assert "Deleted:                1 (files), 0 (dirs), 0 B (freed)\n" in text
    assert "Renamed:                1\n" in text
    one = formats.stats_text(snap, one_line=True)
    assert one == "         14 B / 14 B, 100%, 0 B/s, ETA - (xfr#2/2, chk#2/2)"


def test_csv_quoting_like_go() -> None:
    assert formats.csv_line(["a,b", 'q"t', " lead", "plain", ""]) == '"a,b","q""t"," lead",plain,'


def test_modtime_digits() -> None:
    assert formats.modtime_digits(1) == 9
    assert formats.modtime_digits(1_000_000) == 3
    assert formats.modtime_digits(1_000_000_000) == 0
    assert formats.modtime_digits(2_000_000_000) == 0


def test_go_json_escapes_html() -> None:
    assert formats.go_json({"a": "<&>é"}) == '{"a":"\\u003c\\u0026\\u003eé"}'


def test_tracker_counts_events() -> None:
    t = Tracker()
    t(TransferStarted("a", 10))
    t(TransferStarted("b", 5))
    t(TransferProgress("a", 10))
    t(TransferDone("a", True))
    t(TransferProgress("b", 2))
    stats, active = t.snapshot()
    assert (stats["bytes"], stats["totalBytes"], stats["transfers"], stats["totalTransfers"]) == (12, 15, 1, 2)
    assert [a[:3] for a in active] == [("b", 5, 2)]
    t(TransferDone("b", False, "boom"))
    stats, active = t.snapshot()
    assert stats["errors"] == 1 and active == []
    text = formats.stats_text(stats, transferring=[("b", 5, 2, 1.0)])
    assert "Transferring:\n * " + " " * 44 + "b: 40% / 5 B, 1 B/s, 3s\n" in text


def test_tracker_speed_window_stays_small_however_many_files(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """100,000 small files at 20,000 a second: the 5 s speed window keeps one sample per
    100 ms (it kept one per event: 100,000 tuples, and a list.pop(0) over them per event),
    and the speed it gives is the recent one."""
    from cloudsync.cli import runner

    clock = [1000.0]
    monkeypatch.setattr(runner.time, "monotonic", lambda: clock[0])
    t = Tracker()
    for i in range(100_000):
        clock[0] += 1 / 20_000
        t(TransferProgress(f"f{i}", 256))
    assert len(t._recent) <= 52
    stats, _ = t.snapshot()
    assert stats["bytes"] == 100_000 * 256
    assert abs(stats["speed"] - 20_000 * 256) < 20_000 * 256 * 0.01
    for _ in range(10):  # then a slower second: the window follows it
        clock[0] += 0.5
        t(TransferProgress("big", 1 << 20))
    assert abs(t.snapshot()[0]["speed"] - 2 * (1 << 20)) < 0.15 * 2 * (1 << 20)
