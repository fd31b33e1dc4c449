"""The installed program as users run it: fast start, python -m, exit codes, unreadable files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import T1, write

HEAVY = ("requests", "lxml", "rich", "keyring", "cloudsync.engine", "cloudsync.backends",
         "cloudsync.config", "cloudsync.remote")


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["CLOUDSYNC_CONFIG"] = str(tmp_path / "cloudsync.conf")
    env["TZ"] = "UTC"
    return env


def test_help_imports_nothing_heavy(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from cloudsync.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"heavy = [m for m in sys.modules if m.startswith({HEAVY!r})]\n"
        "print('HEAVY=' + ','.join(sorted(heavy)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(tmp_path),
                         check=True).stdout
    assert "Commands:" in out and "sync" in out
    assert out.strip().splitlines()[-1] == "HEAVY="


def test_python_dash_m_and_exit_codes(tmp_path: Path) -> None:
    env = _env(tmp_path)
    run = subprocess.run([sys.executable, "-m", "cloudsync", "ls", str(tmp_path / "missing")],
                         capture_output=True, text=True, env=env)
    assert run.returncode == 3
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1
    run = subprocess.run([sys.executable, "-m", "cloudsync", "copy", "x"], capture_output=True, text=True, env=env)
    assert run.returncode == 2
    run = subprocess.run([sys.executable, "-m", "cloudsync", "ls", "nope:"], capture_output=True, text=True, env=env)
    assert run.returncode == 1 and "nope" in run.stderr


def test_shell_completion_of_remote_names(tmp_path: Path) -> None:
    env = _env(tmp_path)
    (tmp_path / "cloudsync.conf").write_text("[jotta]\ntype = memory\n")
    env.update({"_CLOUDSYNC_COMPLETE": "bash_complete", "COMP_WORDS": "cloudsync copy jo", "COMP_CWORD": "2"})
    run = subprocess.run([sys.executable, "-m", "cloudsync"], capture_output=True, text=True, env=env)
    assert "jotta:" in run.stdout


@pytest.mark.skipif(sys.platform != "linux", reason="uses setpriv/capabilities")
def test_unreadable_file_sync(tmp_path: Path) -> None:
    """A file the process cannot read is an error (exit != 0), the others are copied, and sync
    deletes nothing on the destination."""
    src, dst = tmp_path / "src", tmp_path / "dst"
    write(src / "ok.txt", b"ok", T1)
    write(src / "locked.txt", b"secret", T1)
    write(dst / "extra.txt", b"extra", T1)
    os.chmod(src / "locked.txt", 0)
    cmd = [sys.executable, "-m", "cloudsync", "sync", str(src), str(dst), "--retries", "1"]
    if os.geteuid() == 0:
        # root reads anything through CAP_DAC_OVERRIDE; drop it (and DAC_READ_SEARCH) for the child.
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot make a file unreadable")
        cmd = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", *cmd]
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, env=_env(tmp_path))
    finally:
        os.chmod(src / "locked.txt", 0o600)
    assert run.returncode != 0
    assert "locked.txt" in run.stderr
    assert "Traceback" not in run.stderr
    assert (dst / "ok.txt").read_bytes() == b"ok"
    assert (dst / "extra.txt").exists()  # IO errors: sync must not delete
    assert not (dst / "locked.txt").exists()
