"""``config import``, ``obscure`` and ``reveal`` against configs and values written by the real
rclone binary (the jottacloud end-to-end import is in tests/server/test_rclone.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cloudsync.config import Config
from cloudsync.rclone_conf import obscure, reveal


def _rclone() -> str:
    venv_bin = Path(sys.executable).parent / "rclone"
    found = str(venv_bin) if venv_bin.exists() else shutil.which("rclone")
    if found is None:
        pytest.skip("rclone binary not installed")
    return found


def _rc(conf: Path, *args: str) -> str:
    out = subprocess.run([_rclone(), "--config", str(conf), *args], capture_output=True, text=True,
                         timeout=60, env={"PATH": "/usr/bin:/bin", "HOME": str(conf.parent)})
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture
def rclone_conf(tmp_path: Path) -> Path:
    """A config written by rclone itself: memory, local (with an option), alias, ftp."""
    conf = tmp_path / "rclone.conf"
    _rc(conf, "config", "create", "mem", "memory")
    _rc(conf, "config", "create", "disk", "local", "copy_links=true")
    _rc(conf, "config", "create", "al", "alias", "remote=/tmp")
    _rc(conf, "config", "create", "ft", "ftp", "host=example.com", "pass=hunter2")
    return conf


@pytest.mark.parametrize("value", ["hunter2", "", "pä ss wörd €", "x" * 200, "-looks-like-a-flag"])
def test_obscure_and_reveal_agree_with_rclone_both_ways(tmp_path: Path, value: str) -> None:
    conf = tmp_path / "empty.conf"
    # "--": an argument starting with "-" (a value, or an obscured text whose random IV
    # begins with "-", one time in 64) would otherwise be read as a flag
    by_rclone = _rc(conf, "obscure", "--", value).strip()
    assert reveal(by_rclone) == value
    assert _rc(conf, "reveal", "--", obscure(value)).strip() == value
    assert obscure(value) != obscure(value)  # a fresh IV each time, as rclone


def test_obscured_text_starting_with_a_dash_reveals_after_double_dash(
        cs: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # base64url: a first IV byte 0xF8..0xFB gives "-" as the first character
    from cloudsync import rclone_conf

    monkeypatch.setattr(rclone_conf.secrets, "token_bytes", lambda n: b"\xf8" + b"\x01" * (n - 1))
    text = obscure("hunter2")
    assert text.startswith("-")
    monkeypatch.undo()
    assert _rc(tmp_path / "e.conf", "reveal", "--", text).strip() == "hunter2"
    r = cs("reveal", "--", text)
    assert (r.code, r.out) == (0, "hunter2\n")


def test_obscure_reveal_commands(cs: Any, tmp_path: Path) -> None:
    r = cs("obscure", "hunter2")
    assert r.code == 0
    assert _rc(tmp_path / "e.conf", "reveal", "--", r.out.strip()).strip() == "hunter2"
    r = cs("obscure", "-", input="from stdin\nsecond line\n")
    assert reveal(r.out.strip()) == "from stdin"
    r = cs("reveal", "--", r.out.strip())
    assert (r.code, r.out) == (0, "from stdin\n")
    r = cs("reveal", "!!not obscured")
    assert r.code == 1
    assert "base64 decode failed when revealing password - is it obscured?" in r.err
    assert "Traceback" not in r.err
    r = cs("reveal", "abc")
    assert (r.code, "input too short" in r.err) == (1, True)


def _check_imported(config_path: Path) -> None:
    cfg = Config(config_path)
    sections = cfg.file_sections()
    assert sections["mem"] == {"type": "memory"}
    assert sections["disk"]["type"] == "local"
    assert sections["disk"]["copy_links"] == "true"
    assert "al" not in sections and "ft" not in sections


def test_import_plain_rclone_config(cs: Any, rclone_conf: Path, config_path: Path) -> None:
    r = cs("config", "import", str(rclone_conf))
    assert r.code == 0, r.err
    assert "mem: imported as memory" in r.out
    assert "disk: imported as local" in r.out
    assert "al: skipped (cloudsync has no alias backend)" in r.out
    assert "ft: skipped (cloudsync has no ftp backend)" in r.out
    _check_imported(config_path)
    # the imported remote works at once
    r = cs("mkdir", "mem:bucket/dir")
    assert r.code == 0, r.err
    # a second import leaves existing remotes alone unless --overwrite
    r = cs("config", "import", str(rclone_conf))
    assert "mem: skipped (a cloudsync remote of that name exists" in r.out
    r = cs("config", "import", "--overwrite", str(rclone_conf))
    assert "mem: imported as memory" in r.out


def test_import_reads_rclones_default_location(cs: Any, rclone_conf: Path, config_path: Path,
                                               tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".config" / "rclone").mkdir(parents=True)
    shutil.copy(rclone_conf, home / ".config" / "rclone" / "rclone.conf")
    r = cs("config", "import", env={"HOME": str(home), "XDG_CONFIG_HOME": None,
                                    "RCLONE_CONFIG": None})
    assert r.code == 0, r.err
    _check_imported(config_path)


def test_import_encrypted_rclone_config(cs: Any, rclone_conf: Path, config_path: Path) -> None:
    _rc(rclone_conf, "config", "encryption", "set", "--password-command", "echo sesame ümlaut")
    assert "RCLONE_ENCRYPT_V0:" in rclone_conf.read_text()
    r = cs("config", "import", str(rclone_conf), env={"RCLONE_CONFIG_PASS": None})
    assert r.code == 1
    assert "is encrypted" in r.err and "RCLONE_CONFIG_PASS" in r.err
    r = cs("config", "import", str(rclone_conf), env={"RCLONE_CONFIG_PASS": "wrong"})
    assert r.code == 1
    assert "wrong password" in r.err and "Traceback" not in r.err
    r = cs("config", "import", str(rclone_conf), env={"RCLONE_CONFIG_PASS": "sesame ümlaut"})
    assert r.code == 0, r.err
    _check_imported(config_path)


def test_import_missing_file_is_one_line(cs: Any, tmp_path: Path) -> None:
    r = cs("config", "import", str(tmp_path / "nope.conf"))
    assert r.code == 2
    assert "not found" in r.err and "Traceback" not in r.err
    assert len(r.err.strip().splitlines()) == 1


def test_jottacloud_mapping_keeps_token_device_mountpoint() -> None:
    from cloudsync.rclone_conf import plan_import
    from cloudsync.registry import get_spec

    known = {t: {o.name for o in get_spec(t).options} for t in ("jottacloud", "local")}
    token = '{"access_token":"a","token_type":"Bearer","refresh_token":"r","expiry":"2030-01-01T00:00:00Z"}'
    sections = {
        "std": {"type": "jottacloud", "configVersion": "1", "client_id": "jottacli",
                "client_secret": "", "tokenURL": "https://id.example/token", "token": token,
                "device": "Laptop", "mountpoint": "Backup", "hard_delete": "true"},
        "legacy": {"type": "jottacloud", "configVersion": "0", "client_id": "abc",
                   "client_secret": obscure("s3cret"), "token": token, "username": "me@x",
                   "device": "", "mountpoint": ""},
        "brand": {"type": "jottacloud", "configVersion": "1", "client_id": "desktop",
                  "tokenURL": "https://id.example/telia/token", "token": token},
    }
    plans = {p.name: p for p in plan_import(sections, {"jottacloud", "local"}, known)}
    std = plans["std"].values
    assert std["token"] == token and std["device"] == "Laptop" and std["mountpoint"] == "Backup"
    assert std["token_url"] == "https://id.example/token" and std["config_version"] == "1"
    assert std["config_type"] == "standard" and std["hard_delete"] == "true"
    legacy = plans["legacy"].values
    assert legacy["config_type"] == "legacy" and legacy["client_secret"] == "s3cret"
    assert "device" not in legacy  # rclone's empty value means cloudsync's default
    assert plans["brand"].values["config_type"] == "traditional"


def test_imported_token_goes_to_the_keyring(cs: Any, tmp_path: Path, config_path: Path,
                                            memory_keyring: Any) -> None:
    conf = tmp_path / "rclone.conf"
    token = '{"access_token":"a","token_type":"Bearer","refresh_token":"r","expiry":"2030-01-01T00:00:00Z"}'
    conf.write_text(f"[j]\ntype = jottacloud\nconfigVersion = 1\nclient_id = jottacli\n"
                    f"tokenURL = https://id.example/token\ntoken = {token}\n")
    r = cs("config", "import", str(conf))
    assert r.code == 0, r.err
    assert "config reconnect j:" in r.err
    text = config_path.read_text()
    assert "refresh_token" not in text and "token_store = keyring" in text
    assert memory_keyring.store[("cloudsync", "j:token")] == token
