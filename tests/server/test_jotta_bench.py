"""Keep bench/jotta_bench.py working: a tiny run against the real rclone through the TLS front.

Times are not checked here (speed goals live in the bench); request counts are exact and are:
cloudsync never sends more requests than rclone, and its no-op re-sync and check are ONE request.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .test_rclone import _can_unshare, _rclone

BENCH = Path(__file__).resolve().parents[2] / "bench" / "jotta_bench.py"


@pytest.mark.slow
def test_jotta_bench_smoke(tmp_path: Path) -> None:
    if _rclone() is None or not _can_unshare():
        pytest.skip("needs the rclone binary and user/network/mount namespaces")
    out = tmp_path / "jotta.md"
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--files", "20", "--size", "1024", "--runs", "1",
         "--out", str(out)],
        capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode in (0, 2), proc.stderr[-3000:]  # 2: a time target missed
    rows = [line for line in out.read_text().splitlines() if line.startswith("| ")][1:]
    assert len(rows) == 4, rows  # one row per workload
    requests = {}
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        cs, rc = (int(x.replace(",", "")) for x in cells[4].split(" / "))
        assert cs <= rc, row
        requests[cells[0].split(" ")[0]] = cs
    assert requests["no-op"] == 1 and requests["check"] == 1, requests
    assert requests["download"] == 20 + 2, requests  # one per file, the listing, the path probe
