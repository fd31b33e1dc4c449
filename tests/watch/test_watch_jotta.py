"""The issue's done-when, against the offline JottaCloud server: a running ``sync --watch``
reflects creates, edits, deletes, a file rename, a folder rename and a file written slowly over
10 s, each within watch-delay + 5 s; ``check`` passes afterwards; the slow file is never seen
partial; SIGTERM ends it with exit 0.  Access tokens live 2 s here, so the run also refreshes
its token many times (as a run of days would)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from cloudsync.jottaserver.testing import JottaServer

from .support import WatchProcess, old, wait_until

DELAY = 1.0
WITHIN = DELAY + 5.0
ROOT = "Jotta/Archive/backup/"


@pytest.fixture
def srv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[JottaServer]:
    yield from _server(monkeypatch, tmp_path, 2.0)


@pytest.fixture
def srv_hour(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[JottaServer]:
    # (SIGKILL between the server rotating a refresh token and the config write-back would
    # lose the login; with hour-long access tokens no refresh happens during the test)
    yield from _server(monkeypatch, tmp_path, 3600.0)


def _server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
            lifetime: float) -> Iterator[JottaServer]:
    from cloudsync.cli import cli

    with JottaServer(access_token_lifetime=lifetime) as server:
        conf = tmp_path / "cloudsync.conf"
        monkeypatch.setenv("CLOUDSYNC_CONFIG", str(conf))
        r = CliRunner().invoke(cli, ["config", "create", "j", "jottacloud",
                                     f"login_token={server.mint_login_token()}",
                                     f"jfs_url={server.jfs_url}", f"api_url={server.api_url}"])
        assert r.exit_code == 0, r.output
        yield server


def _live(srv: JottaServer) -> dict[str, bytes]:
    """Files as a client sees them: those with a completed revision (an upload in progress is
    invisible on JottaCloud)."""
    out = {}
    for path in srv.state.files():
        if path.startswith(ROOT):
            try:
                out[path[len(ROOT):]] = srv.state.read(path)
            except FileNotFoundError:
                continue
    return out


def test_sync_watch_reflects_every_kind_of_change(srv: JottaServer, tmp_path: Path) -> None:
    src = tmp_path / "src"
    old(src / "keep.txt", "keep")
    old(src / "docs/a.txt", "a")
    old(src / "edit.txt", "version 1")
    old(src / "gone.txt", "to be deleted")
    old(src / "dir/inner/deep.txt", "deep" * 1000)
    with WatchProcess(["sync", str(src), "j:backup", "--watch", "--watch-delay", f"{DELAY}s",
                       "-v"], tmp_path / "watch.log") as w:
        wait_until(lambda: len(_live(srv)) == 5, 30, "the initial full pass", w.proc, w.log)

        (src / "new.txt").write_text("created")
        wait_until(lambda: _live(srv).get("new.txt") == b"created", WITHIN, "create", w.proc, w.log)

        (src / "edit.txt").write_text("version 2, longer")
        wait_until(lambda: _live(srv).get("edit.txt") == b"version 2, longer", WITHIN, "edit",
                   w.proc, w.log)

        (src / "gone.txt").unlink()
        wait_until(lambda: "gone.txt" not in _live(srv), WITHIN, "delete", w.proc, w.log)
        assert any(p.endswith("gone.txt") for p in srv.state.trash())  # JottaCloud: to the trash

        (src / "keep.txt").rename(src / "kept.txt")
        wait_until(lambda: set(_live(srv)) >= {"kept.txt"} and "keep.txt" not in _live(srv),
                   WITHIN, "file rename", w.proc, w.log)

        (src / "dir").rename(src / "folder")
        wait_until(lambda: "folder/inner/deep.txt" in _live(srv)
                   and "dir/inner/deep.txt" not in _live(srv), WITHIN, "folder rename",
                   w.proc, w.log)
        w.wait_for_log("dir: Moved (server-side) to: folder")
        w.wait_for_log("keep.txt: Moved (server-side) to: kept.txt")

        # a file written slowly over 10 s: never visible partial, complete soon after
        chunks = [f"chunk {i:02d} ".encode() * 200 for i in range(20)]
        full = b"".join(chunks)
        seen: list[bytes] = []
        done = threading.Event()

        def writer() -> None:
            with open(src / "slow.bin", "wb") as f:
                for chunk in chunks:
                    f.write(chunk)
                    f.flush()
                    time.sleep(0.5)
            done.set()

        t = threading.Thread(target=writer)
        t.start()
        while not done.is_set():
            data = _live(srv).get("slow.bin")
            if data is not None:
                seen.append(data)
            time.sleep(0.05)
        t.join()
        assert all(d == full for d in seen), "the growing file appeared on the destination"
        wait_until(lambda: _live(srv).get("slow.bin") == full, WITHIN, "slow file complete",
                   w.proc, w.log)

        check = subprocess.run([sys.executable, "-m", "cloudsync", "check", str(src),
                                "j:backup"], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        started = time.monotonic()
        assert w.stop() == 0, w.text()[-3000:]
        assert time.monotonic() - started < 5
    text = (tmp_path / "watch.log").read_text()
    assert "Traceback" not in text and "ERROR" not in text, text[-3000:]


def test_server_down_for_a_while_then_catches_up(srv: JottaServer, tmp_path: Path) -> None:
    src = tmp_path / "src"
    old(src / "first.txt", "1")
    with WatchProcess(["sync", str(src), "j:backup", "--watch", "--watch-delay", "0.5s",
                       "--low-level-retries", "1"], tmp_path / "watch.log") as w:
        wait_until(lambda: "first.txt" in _live(srv), 30, "initial pass", w.proc, w.log)
        srv.add_fault(r".", "status", status=503, rate=1.0)  # every request fails
        (src / "while-down.txt").write_text("made while the service was down")
        (src / "first.txt").unlink()
        w.wait_for_log("pass failed: retrying", timeout=30)
        assert "while-down.txt" not in _live(srv) and "first.txt" in _live(srv)
        srv.clear_faults()
        wait_until(lambda: set(_live(srv)) == {"while-down.txt"}, 60, "catch-up", w.proc, w.log)
        assert w.stop() == 0


def test_bad_source_is_a_usage_error(srv: JottaServer, tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "cloudsync", "copy", "j:backup", str(tmp_path),
                        "--watch"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "--watch needs a local folder" in r.stderr
    assert "Traceback" not in r.stderr
    env = {**os.environ}
    r = subprocess.run([sys.executable, "-m", "cloudsync", "sync", str(tmp_path / "missing"),
                        "j:backup", "--watch"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 2, r.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_stopped_or_killed_mid_upload_then_restart_finishes(srv_hour: JottaServer,
                                                            tmp_path: Path, sig: int) -> None:
    srv = srv_hour
    src = tmp_path / "src"
    files = {f"f{i}.bin": bytes([i]) * (256 << 10) for i in range(6)}
    for name, data in files.items():
        old(src / name, data)
    srv.add_fault(r"/files/v1/upload/", "slow", delay=2.0, rate=1.0)
    args = ["sync", str(src), "j:backup", "--watch", "--watch-delay", "0.5s", "--transfers", "2"]
    with WatchProcess(args, tmp_path / "first.log") as w:
        # an upload is in flight once a file exists on the server without a completed revision
        wait_until(lambda: any(p.startswith(ROOT) for p in srv.state.files())
                   and len(_live(srv)) < len(files), 30, "an upload in flight", w.proc, w.log)
        started = time.monotonic()
        code = w.stop(sig)
        if sig == signal.SIGTERM:
            assert code == 0, w.text()[-2000:]
            assert time.monotonic() - started < 5
    for name, data in _live(srv).items():
        assert files[name] == data  # whatever is visible is complete
    srv.clear_faults()
    with WatchProcess(args, tmp_path / "second.log") as w:
        wait_until(lambda: _live(srv) == files, 30, "the restarted job to finish", w.proc, w.log)
        assert w.stop() == 0
    check = subprocess.run([sys.executable, "-m", "cloudsync", "check", str(src), "j:backup"],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
