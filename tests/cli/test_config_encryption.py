"""Encrypted config: set/remove/check, every command, wrong passwords, token refresh."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from cloudsync.config import Config
from cloudsync.config_crypt import MAGIC, decrypt

testing = pytest.importorskip("cloudsync.jottaserver.testing")

PASS = "correct horse battery staple"


def _plain(path: Path, password: str = PASS) -> str:
    return decrypt(path.read_text(), password, path)[0]


def test_set_check_remove_and_wrong_password(cs: Any, config_path: Path, tmp_path: Path) -> None:
    assert cs("config", "create", "m", "memory").code == 0
    env = {"CLOUDSYNC_CONFIG_PASS": PASS}
    r = cs("config", "encryption", "set", env=env)
    assert r.code == 0, r.err
    text = config_path.read_text()
    assert text.startswith(MAGIC) and "[m]" not in text and "memory" not in text
    assert config_path.stat().st_mode & 0o777 == 0o600
    assert "m:" in cs("listremotes", env=env).out
    assert cs("config", "encryption", "check", env=env).code == 0
    before = config_path.read_bytes()
    for bad_env, args in (({"CLOUDSYNC_CONFIG_PASS": "nope"}, ()),
                          ({}, ("--password-command", "false")),
                          ({}, ("--password-command", "echo nope")),
                          ({}, ())):
        r = cs("listremotes", *args, env=bad_env)
        assert r.code == 1, (bad_env, args, r.out, r.err)
        lines = [ln for ln in r.err.splitlines() if ln.strip()]
        assert len(lines) == 1 and "Traceback" not in r.err, r.err
        assert "nope" not in r.err and PASS not in r.err
        r = cs("config", "update", "m", "case_insensitive=true", *args, env=bad_env)
        assert r.code == 1
        assert config_path.read_bytes() == before  # never a partial or re-keyed write
    # the password from a command, as rclone's --password-command
    cmd = f"{sys.executable} -c \"print('{PASS}')\""
    assert cs("--password-command", cmd, "listremotes").out == "m:\n"
    assert cs("listremotes", env={"CLOUDSYNC_PASSWORD_COMMAND": cmd}).out == "m:\n"
    # writes keep it encrypted
    assert cs("config", "update", "m", "precision=1000", env=env).code == 0
    assert config_path.read_text().startswith(MAGIC) and "precision = 1000" in _plain(config_path)
    r = cs("config", "encryption", "remove", env=env)
    assert r.code == 0 and config_path.read_text().startswith("[m]")
    r = cs("config", "encryption", "check")
    assert r.code == 1 and "not encrypted" in r.err


def test_encrypted_config_serves_jottacloud_and_a_rotated_token(
        cs: Any, config_path: Path, tmp_path: Path, fail_keyring: None) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_bytes(b"hello")
    env = {"CLOUDSYNC_CONFIG_PASS": PASS}
    with testing.JottaServer(user="testuser") as srv:
        token = srv.mint_login_token()
        assert cs("config", "create", "jotta", "jottacloud", f"login_token={token}",
                  f"jfs_url={srv.jfs_url}", f"api_url={srv.api_url}").code == 0
        assert cs("config", "encryption", "set", env=env).code == 0
        old = json.loads(Config(config_path, env=env).file_sections()["jotta"]["token"])
        assert old["refresh_token"] not in config_path.read_text()
        for args in (("copy", str(src), "jotta:b"), ("check", str(src), "jotta:b"),
                     ("lsjson", "jotta:b"), ("about", "jotta:"), ("md5sum", "jotta:b")):
            r = cs(*args, env=env)
            assert r.code == 0, (args, r.err)
        # The server revokes every access token: the next command refreshes, and the rotated
        # refresh token is written back into the still encrypted file.
        srv.expire_access_tokens()
        r = cs("ls", "jotta:b", env=env)
        assert r.code == 0 and "a.txt" in r.out, r.err
        text = config_path.read_text()
        assert text.startswith(MAGIC)
        new = json.loads(Config(config_path, env=env).file_sections()["jotta"]["token"])
        assert new["access_token"] != old["access_token"]
        assert new["refresh_token"] not in text and new["access_token"] not in text
        assert not list(config_path.parent.glob("*.tmp"))  # the atomic write left nothing
        # and the new token works in the next process
        assert cs("ls", "jotta:b", env=env).code == 0
