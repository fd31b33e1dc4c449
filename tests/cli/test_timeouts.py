"""--timeout / --contimeout reach the HTTP layer (offline JottaCloud server, a stalled reply)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cloudsync import net


@pytest.fixture(autouse=True)
def _restore_timeouts() -> Any:
    yield
    net.set_timeouts(60.0, 300.0)


def test_timeout_flag_cuts_a_stalled_server(cs: Any, tmp_path: Path, fail_keyring: None) -> None:
    testing = pytest.importorskip("cloudsync.jottaserver.testing")
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_bytes(b"hello")
    with testing.JottaServer(user="testuser") as srv:
        token = srv.mint_login_token()
        r = cs("config", "create", "jotta", "jottacloud", f"login_token={token}",
               f"jfs_url={srv.jfs_url}", f"api_url={srv.api_url}")
        assert r.code == 0, r.err
        srv.add_fault(r"/files/v1/allocate", "slow", rate=1.0, delay=1.5)
        r = cs("copy", str(src), "jotta:dst", "--timeout", "300ms", "--low-level-retries", "1",
               "--retries", "1")
        assert r.code != 0
        assert "timed out" in r.err.lower() or "timeout" in r.err.lower(), r.err
        assert net.timeouts() == (60.0, 0.3)


def test_timeouts_default_to_rclones_and_zero_means_none() -> None:
    assert net.timeouts() == (60.0, 300.0)
    net.set_timeouts(0, 0)
    assert net.timeouts() == (None, None)
