"""``config edit/password/unset/string/userinfo/disconnect``: rclone's config subcommands
(``string`` and ``unset`` are compared with the real rclone; ``userinfo`` runs against the
offline JottaCloud server)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloudsync.jottaserver.testing import JottaServer
from tests.differential.harness import _tool_env, cloudsync_command, rclone_command
from tests.jottacloud.support import cs, server_with_remote_j

RCLONE = rclone_command()
CONF = "[loc]\ntype = local\ncopy_links = true\nskip_links = false\n\n[mem]\ntype = memory\n"


def _both(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], ...]:
    """Run ``args`` through rclone and cloudsync, each on its own copy of ``CONF``."""
    out = []
    for name, cmd in (("rclone", RCLONE), ("cloudsync", cloudsync_command())):
        assert cmd is not None
        env = _tool_env(tmp_path / name)
        conf = Path(env["RCLONE_CONFIG" if name == "rclone" else "CLOUDSYNC_CONFIG"])
        conf.write_text(CONF)
        out.append(subprocess.run([*cmd, *args], env=env, capture_output=True, text=True, timeout=60))
    return tuple(out)


@pytest.mark.skipif(RCLONE is None, reason="rclone binary not installed")
@pytest.mark.parametrize("remote", ["loc:", "loc:sub/dir", "mem:", "mem:a b"])
def test_config_string_is_rclones(tmp_path: Path, remote: str) -> None:
    rc, cs_ = _both(tmp_path, "config", "string", remote)
    assert cs_.returncode == rc.returncode == 0, cs_.stderr
    assert cs_.stdout == rc.stdout


@pytest.mark.skipif(RCLONE is None, reason="rclone binary not installed")
def test_config_unset_removes_the_keys(tmp_path: Path) -> None:
    rc, cs_ = _both(tmp_path, "config", "unset", "loc", "copy_links", "skip_links")
    assert cs_.returncode == rc.returncode == 0, cs_.stderr
    for name in ("rclone", "cloudsync"):
        text = (tmp_path / name / f"{name}.conf").read_text()
        assert "copy_links" not in text and "skip_links" not in text and "type = local" in text


@pytest.mark.skipif(RCLONE is None, reason="rclone binary not installed")
@pytest.mark.parametrize("args", [("config", "userinfo", "loc:"), ("config", "disconnect", "mem:")])
def test_unsupported_userinfo_and_disconnect_exit_2(tmp_path: Path, args: tuple[str, ...]) -> None:
    rc, cs_ = _both(tmp_path, *args)
    assert cs_.returncode == rc.returncode == 2
    assert "doesn't support" in cs_.stderr and "Traceback" not in cs_.stderr


@pytest.fixture
def srv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[JottaServer]:
    yield from server_with_remote_j(monkeypatch, tmp_path)


def test_userinfo_of_a_jottacloud_remote(srv: JottaServer) -> None:
    r = cs("config", "userinfo", "j:")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    # rclone's layout: keys sorted, right-aligned on the longest
    assert [ln.split(":")[0].strip() for ln in lines] == [
        "AccountType", "Email", "Name", "SubscriptionType", "Username"]
    assert all(ln.index(":") == len("SubscriptionType") for ln in lines)
    username = lines[-1].split(": ", 1)[1]
    assert username == srv.username
    as_json = json.loads(cs("config", "userinfo", "--json", "j:").stdout)
    assert as_json["Username"] == username


def test_password_sets_only_secrets_and_unset_removes(srv: JottaServer, tmp_path: Path) -> None:
    r = cs("config", "password", "j", "jfs_url", "https://example.invalid/")
    assert r.exit_code == 2
    assert "is not a password" in r.stderr
    conf = (tmp_path / "cloudsync.conf").read_text()
    assert "example.invalid" not in conf
    assert cs("config", "unset", "j", "mountpoint").exit_code == 0
    assert cs("lsf", "j:").exit_code == 0  # still logged in


def test_edit_is_the_wizard(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CLOUDSYNC_CONFIG", str(tmp_path / "c.conf"))
    from click.testing import CliRunner

    from cloudsync.cli import cli

    r = CliRunner().invoke(cli, ["config", "edit"], input="q\n")
    assert r.exit_code == 0, r.output
    assert "New remote" in r.output or "n)" in r.output
