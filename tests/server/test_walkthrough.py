"""CI runs the plain-``requests`` walkthrough script (all three auth flows + restart)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("walkthrough.py")


def test_walkthrough_script_passes() -> None:
    out = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "walkthrough passed" in out.stdout
    for flow in ("standard flow", "authorization-code flow", "legacy flow", "restart"):
        assert flow in out.stdout
