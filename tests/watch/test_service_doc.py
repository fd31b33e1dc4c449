"""docs/backup-service.md: the systemd unit and the launchd plist, run as written (what can be
run on Linux without a systemd user manager or macOS; the doc says what was not)."""

from __future__ import annotations

import os
import plistlib
import re
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cloudsync.jottaserver.testing import JottaServer

from .support import WatchProcess, wait_until
from .test_watch_jotta import srv_hour  # noqa: F401 - the offline server fixture

DOC = Path(__file__).resolve().parents[2] / "docs" / "backup-service.md"


def _block(lang: str) -> str:
    match = re.search(rf"```{lang}\n(.*?)```", DOC.read_text(), re.S)
    assert match, lang
    return match.group(1)


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    (home / ".local/bin").mkdir(parents=True)
    exe = home / ".local/bin/cloudsync"
    exe.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m cloudsync \"$@\"\n")
    exe.chmod(0o755)
    docs = home / "Documents"
    (docs / "letters").mkdir(parents=True)
    (docs / "letters/a.txt").write_text("dear server")
    os.utime(docs / "letters/a.txt", (1_600_000_000, 1_600_000_000))
    return home


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_unit_verifies(tmp_path: Path) -> None:
    home = _home(tmp_path)
    unit = tmp_path / "cloudsync-backup.service"
    unit.write_text(_block("ini"))
    r = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True,
                       env={**os.environ, "HOME": str(home)})
    assert r.returncode == 0 and "Unknown" not in r.stderr, r.stderr


def _run_as_service(argv: list[str], home: Path, srv: JottaServer, log: Path) -> None:
    env = {"HOME": str(home)}
    with WatchProcess(argv[1:], log, env) as w:  # (argv[0] is the cloudsync executable)
        def files() -> set[str]:
            # uploaded = a completed revision: the node exists from the upload's first request,
            # and a SIGTERM then abandons the upload in flight (nothing partial is kept)
            return {p for p, info in srv.state.files().items()
                    if p.startswith("Jotta/Archive/backup/") and info.size is not None}

        wait_until(lambda: "Jotta/Archive/backup/Documents/letters/a.txt" in files(), 30,
                   "initial upload", w.proc, w.log)
        (home / "Documents/new.txt").write_text("written while the service runs")
        wait_until(lambda: "Jotta/Archive/backup/Documents/new.txt" in files(), 10,
                   "new file", w.proc, w.log)
        assert w.stop(signal.SIGTERM) == 0  # what systemctl stop / launchctl bootout send
    r = subprocess.run([sys.executable, "-m", "cloudsync", "check", str(home / "Documents"),
                        "jotta:backup/Documents"], capture_output=True, text=True, env={
                            **os.environ, **env})
    assert r.returncode == 0, r.stderr


def _configure(srv: JottaServer) -> None:
    r = subprocess.run([sys.executable, "-m", "cloudsync", "config", "create", "jotta",
                        "jottacloud", f"login_token={srv.mint_login_token()}",
                        f"jfs_url={srv.jfs_url}", f"api_url={srv.api_url}"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_systemd_exec_start_runs_as_written(srv_hour: JottaServer, tmp_path: Path) -> None:  # noqa: F811
    home = _home(tmp_path)
    _configure(srv_hour)
    line = next(x for x in _block("ini").splitlines() if x.startswith("ExecStart="))
    argv = shlex.split(line[len("ExecStart="):].replace("%h", str(home)))
    assert Path(argv[0]) == home / ".local/bin/cloudsync" and "--watch" in argv
    _run_as_service(argv, home, srv_hour, tmp_path / "unit.log")


def test_launchd_plist_parses_and_runs_as_written(srv_hour: JottaServer,  # noqa: F811
                                                  tmp_path: Path) -> None:
    home = _home(tmp_path)
    _configure(srv_hour)
    plist = plistlib.loads(_block("xml").encode())
    assert plist["Label"] == "net.cloudsync.backup" and plist["RunAtLoad"] is True
    assert plist["KeepAlive"] == {"SuccessfulExit": False}  # exit 0 (SIGTERM) is not restarted
    argv = [a.replace("/Users/me", str(home)) for a in plist["ProgramArguments"]]
    assert argv[0] == str(home / ".local/bin/cloudsync") and "--watch" in argv
    _run_as_service(argv, home, srv_hour, tmp_path / "agent.log")
