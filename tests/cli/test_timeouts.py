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


def _stalled_remote(config_path: Path, port: int) -> None:
    token = ('{"access_token":"a","token_type":"Bearer","refresh_token":"r",'
             '"expiry":"2099-01-01T00:00:00Z"}')
    base = f"http://127.0.0.1:{port}"
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(
        f"[stalled]\ntype = jottacloud\njfs_url = {base}/jfs/\napi_url = {base}/\n"
        f"token_url = {base}/token\nconfig_version = 1\nclient_id = jottacli\ntoken = {token}\n")


def test_contimeout_cuts_a_connect_that_never_completes(cs: Any, config_path: Path,
                                                        fail_keyring: None) -> None:
    """A listening socket with a backlog of 0 and one connection queued: the kernel drops
    further SYNs, so a connect never completes.  --contimeout 1s ends it, not the idle
    --timeout (30 s); the service never answered: exit 1, as rclone (tests/server/
    test_rclone_edges.py compares the two through the namespace driver)."""
    import socket
    import time

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            _stalled_remote(config_path, port)
            started = time.monotonic()
            r = cs("lsf", "stalled:", "--contimeout", "1s", "--timeout", "30s",
                   "--low-level-retries", "1")
            took = time.monotonic() - started
    assert r.code == 1, r.err
    assert f"timed out talking to 127.0.0.1:{port}" in r.err
    assert took < 20  # (well before the idle timeout)


def test_timeout_cuts_a_server_that_accepts_and_never_answers(cs: Any, config_path: Path,
                                                              fail_keyring: None) -> None:
    import socket
    import threading
    import time

    held: list[socket.socket] = []
    stop = threading.Event()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(0.2)
        port = listener.getsockname()[1]

        def accept() -> None:
            while not stop.is_set():
                try:
                    held.append(listener.accept()[0])
                except TimeoutError:
                    continue

        thread = threading.Thread(target=accept)
        thread.start()
        try:
            _stalled_remote(config_path, port)
            started = time.monotonic()
            r = cs("lsf", "stalled:", "--timeout", "1s", "--contimeout", "30s",
                   "--low-level-retries", "1")
            took = time.monotonic() - started
        finally:
            stop.set()
            thread.join()
            for conn in held:
                conn.close()
    assert held  # (the connection was made: this is the idle timeout)
    assert r.code == 1, r.err
    assert f"timed out talking to 127.0.0.1:{port}" in r.err
    assert took < 20
