"""Honest progress: totals grow with the listing (rclone's transfer queue), rclone 1.75's
``-P`` layout, and the stats lines of a 300-file copy compared with the real rclone's."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cloudsync.cli import formats
from cloudsync.cli.runner import Tracker
from cloudsync.events import RunStarted, Stats, TransferProgress, TransferStarted

FILES = 300
SIZE = 10_000


def test_transferring_line_is_rclones() -> None:
    # captured from rclone v1.75.2 -P: names right-aligned in 45 columns, " / <size>"
    text = formats.stats_text({"bytes": 1, "totalBytes": 2},
                              transferring=[("f145.bin", 100_000, 98_000, 0.0)])
    assert (" *                                      f145.bin: 98% / 97.656 KiB, 0 B/s, -\n"
            in text)
    text = formats.stats_text({}, transferring=[("x", 1024, 1024, 2048.0)])
    assert " * " + " " * 44 + "x:100% / 1 KiB, 2 KiB/s, 0s\n" in text


def test_long_names_are_shortened_in_the_middle_as_rclone() -> None:
    name = "a" * 30 + "MIDDLE" + "z" * 30
    short = formats.shorten_name(name, 45)
    assert len(short) == 45 and short == "a" * 22 + "…" + "z" * 22
    assert formats.shorten_name("short", 45) == "short"


def test_checks_and_listed_shown_as_rclone() -> None:
    text = formats.stats_text({"bytes": 0, "totalBytes": 10, "listed": 300, "transfers": 3,
                               "totalTransfers": 300, "elapsedTime": 0.5})
    assert "\nChecks:                 0 / 0, -, Listed 300\n" in text
    assert "\nTransferred:            3 / 300, 1%\n" in text


def test_tracker_reads_the_engines_growing_totals() -> None:
    t = Tracker()
    stats = Stats()
    t(RunStarted(stats))
    stats.add(total_transfers=300, total_bytes=300 * SIZE, listed=300)  # queued by the march
    t(TransferStarted("a", SIZE))
    t(TransferProgress("a", SIZE // 2))
    stats.add(bytes=SIZE // 2)
    snap, active = t.snapshot()
    assert (snap["totalTransfers"], snap["totalBytes"], snap["listed"]) == (300, 300 * SIZE, 300)
    assert snap["bytes"] == SIZE // 2
    assert active[0][:3] == ("a", SIZE, SIZE // 2)
    assert snap["eta"] is None or snap["eta"] > 0


def _stats_lines(stderr: str) -> list[dict[str, Any]]:
    out = []
    for line in stderr.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and "stats" in rec:
            out.append(rec["stats"])
    return out


def _check_early_total(lines: list[dict[str, Any]], tool: str) -> dict[str, Any]:
    """A stats line shown before a third of the files were done has a total within 10 % of the
    true one (the last such line: the very first may come before the listing has begun on a
    loaded machine), and no line claims 100 % before the end."""
    true_total = FILES * SIZE
    early = [s for s in lines[:-1] if s["transfers"] < FILES // 3]
    assert early, f"{tool}: no stats line before a third of the files were done: {lines[:3]}"
    first = early[-1]
    assert abs(first["totalBytes"] - true_total) <= true_total // 10, (tool, first)
    assert abs(first["totalTransfers"] - FILES) <= FILES // 10, (tool, first)
    for s in lines[:-1]:
        if s["transfers"] < FILES * 9 // 10 and s["totalBytes"]:
            # (before the listing found anything the line shows "0 B / 0 B, -", no percentage)
            # never 100 % with many files left (the last few may have been read whole while
            # their uploads are still being confirmed)
            assert s["bytes"] < s["totalBytes"], (tool, s)
    assert lines[-1]["totalBytes"] == true_total and lines[-1]["transfers"] == FILES
    return first


def _tree(root: Path) -> None:
    root.mkdir()
    for i in range(FILES):
        (root / f"f{i:03d}.bin").write_bytes(os.urandom(SIZE))


def _rclone() -> str | None:
    venv_bin = Path(sys.executable).parent / "rclone"
    return str(venv_bin) if venv_bin.exists() else shutil.which("rclone")


@pytest.mark.slow
def test_300_file_copy_shows_the_real_total_early_like_rclone(cs: Any, tmp_path: Path,
                                                             fail_keyring: None) -> None:
    testing = pytest.importorskip("cloudsync.jottaserver.testing")
    src = tmp_path / "src"
    _tree(src)
    # rclone, throttled so that stats lines appear while it works: its first early line
    rclone = _rclone()
    if rclone is not None:
        out = subprocess.run([rclone, "copy", str(src), str(tmp_path / "rdst"), "--bwlimit", "1M",
                              "--stats", "100ms", "--use-json-log", "-v", "--config", os.devnull],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        rclone_first = _check_early_total(_stats_lines(out.stderr), "rclone")
    # cloudsync, uploading to the offline server slowed down per request
    with testing.JottaServer(user="testuser") as srv:
        token = srv.mint_login_token()
        r = cs("config", "create", "jotta", "jottacloud", f"login_token={token}",
               f"jfs_url={srv.jfs_url}", f"api_url={srv.api_url}")
        assert r.code == 0, r.err
        srv.add_fault(r"/files/v1/allocate", "slow", rate=1.0, delay=0.02)
        r = cs("copy", str(src), "jotta:dst", "--stats", "100ms", "--use-json-log", "-v")
        assert r.code == 0, r.err[-2000:]
    lines = _stats_lines(r.err)
    first = _check_early_total(lines, "cloudsync")
    print(f"cloudsync stats before a third was done: {first['transfers']}/{first['totalTransfers']} files, "
          f"{first['bytes']}/{first['totalBytes']} bytes")
    if rclone is not None:
        print(f"rclone stats before a third was done: {rclone_first['transfers']}/"
              f"{rclone_first['totalTransfers']} files, {rclone_first['bytes']}/"
              f"{rclone_first['totalBytes']} bytes")
    assert first["listed"] >= FILES  # the Listed count, as rclone's
    if rclone is not None:
        assert first["totalTransfers"] == rclone_first["totalTransfers"] == FILES
        assert first["totalBytes"] == rclone_first["totalBytes"] == FILES * SIZE
