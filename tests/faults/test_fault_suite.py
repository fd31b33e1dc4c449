"""The fault suite: seeded sync runs through a fault-injecting proxy must all succeed.

20 % of the requests fail (500, 503, 429, resets before and after the server acted, truncated
bodies, delays); every run must exit 0 on default retries, lose, corrupt or wrongly delete
nothing, leave no temporary file, and ``check`` must pass.  More seeds: ``bench/fault_bench.py``.
"""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

from cloudsync.jottaserver.faultproxy import FAULT_KINDS, FaultProxy
from cloudsync.jottaserver.testing import JottaServer

from .harness import _config, cloudsync, run

CI_SEEDS = (1, 2, 3)


@pytest.mark.parametrize("direction", ["up", "down"])
def test_seeded_sync_at_20_percent_faults(direction: str, tmp_path: Path) -> None:
    kinds: collections.Counter[str] = collections.Counter()
    for seed in CI_SEEDS:
        o = run(seed, direction, tmp_path / str(seed), files=30)
        assert o.ok, (seed, o)
        kinds.update(o.faults)
    assert set(kinds) == set(FAULT_KINDS), kinds  # every kind of fault really happened


@pytest.mark.parametrize("direction", ["up", "down"])
def test_server_down_for_a_while_mid_run(direction: str, tmp_path: Path) -> None:
    o = run(7, direction, tmp_path, rate=0.0, files=24, down_for=2.0)
    assert o.outage
    assert o.ok, o


def test_503_everywhere_costs_a_bounded_number_of_requests(tmp_path: Path) -> None:
    from tests.jottacloud.support import token_json

    config = tmp_path / "cloudsync.conf"
    with JottaServer() as srv, FaultProxy(f"127.0.0.1:{srv.port}", rate=1.0, kinds=("503",),
                                          skip=("/auth/",)) as proxy:
        _config(config, srv, proxy, token_json(srv))
        # A listing command (default --low-level-retries 10; no whole-command retries).
        r = cloudsync(["lsjson", "-R", "jotta:"], config)
        assert r.returncode == 5, r.stderr
        assert proxy.requests <= 10 + 1
        lines = [ln for ln in r.stderr.splitlines() if "ERROR" in ln]
        assert lines and all("Traceback" not in ln and "(<" not in ln for ln in lines), r.stderr
        assert "503" in r.stderr and "gave up after 10 tries" in r.stderr
        # A whole sync: --retries 3 runs of at most --low-level-retries requests each.
        before = proxy.requests
        src = tmp_path / "src"
        src.mkdir()
        (src / "a.txt").write_bytes(b"a")
        r = cloudsync(["sync", str(src), "jotta:dst", "--low-level-retries", "3"], config)
        assert r.returncode == 5, r.stderr
        assert "gave up after 3 tries" in r.stderr
        assert proxy.requests - before <= 3 * (3 + 1)
        before = proxy.requests
        r = cloudsync(["check", str(src), "jotta:dst", "--low-level-retries", "2"], config)
        assert r.returncode != 0
        assert proxy.requests - before <= 2 + 1
