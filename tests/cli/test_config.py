"""Config file round trip, environment overlay, atomic 0600 writes, secrets and keyring paths."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from cloudsync.config import Config, default_config_path, resolve_config_path
from cloudsync.errors import ConfigError, SecretStoreError
from cloudsync.options import BackendSpec, Option
from cloudsync.secrets import KEYRING_SERVICE, SecretStore, keyring_is_secure

SPEC = BackendSpec(
    name="memory",
    description="test",
    factory=lambda *a: None,  # type: ignore[arg-type,return-value]
    options=(Option("token", "t", secret=True), Option("configVersion", "v")),
)


def test_path_resolution(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "x"), "HOME": str(tmp_path)}
    assert default_config_path(env) == tmp_path / "x" / "cloudsync" / "cloudsync.conf"
    assert default_config_path({"HOME": str(tmp_path)}) == tmp_path / ".config" / "cloudsync" / "cloudsync.conf"
    assert resolve_config_path(None, {**env, "CLOUDSYNC_CONFIG": "/a/b.conf"}) == Path("/a/b.conf")
    assert resolve_config_path("/c.conf", {**env, "CLOUDSYNC_CONFIG": "/a/b.conf"}) == Path("/c.conf")
    assert resolve_config_path("", env) is None
    assert resolve_config_path(os.devnull, env) is None


def test_round_trip_keeps_case_and_percent(tmp_path: Path) -> None:
    path = tmp_path / "c.conf"
    path.write_text("[j]\ntype = memory\nconfigVersion = 1\ntokenURL = https://x/a%20b?c=%d\n\n[other]\ntype = local\n")
    cfg = Config(path, env={}, secrets=SecretStore(use_keyring=False))
    cfg.set_values("j", {"device": "Jotta"})
    text = path.read_text()
    assert "configVersion = 1" in text
    assert "tokenURL = https://x/a%20b?c=%d" in text
    assert "device = Jotta" in text
    assert text.index("[j]") < text.index("[other]")
    again = Config(path, env={})
    assert again.get("j", "tokenURL") == "https://x/a%20b?c=%d"


def test_write_is_atomic_and_0600(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "c.conf"
    cfg = Config(path, env={}, secrets=SecretStore(use_keyring=False))
    cfg.set_values("a", {"type": "memory"}, create=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    inode = path.stat().st_ino
    cfg.set_values("a", {"x": "1"})
    assert path.stat().st_ino != inode  # replaced by rename, never rewritten in place
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_concurrent_writers_do_not_lose_changes(tmp_path: Path) -> None:
    path = tmp_path / "c.conf"
    a = Config(path, env={}, secrets=SecretStore(use_keyring=False))
    b = Config(path, env={}, secrets=SecretStore(use_keyring=False))
    a.set_values("one", {"type": "memory"}, create=True)
    b.set_values("two", {"type": "memory"}, create=True)  # b re-reads under the lock first
    names = [r.name for r in Config(path, env={}).remotes()]
    assert names == ["one", "two"]


def test_env_overlay_and_env_only_remotes(tmp_path: Path) -> None:
    path = tmp_path / "c.conf"
    path.write_text("[mine]\ntype = memory\nprecision = 1s\n")
    env = {"CLOUDSYNC_CONFIG_MINE_PRECISION": "1ms", "CLOUDSYNC_CONFIG_MYS3_TYPE": "memory",
           "CLOUDSYNC_CONFIG_MYS3_HASHES": "md5"}
    cfg = Config(path, env=env)
    assert cfg.get("mine", "precision") == "1ms"
    remotes = {(r.name, r.type, r.source) for r in cfg.remotes()}
    assert remotes == {("mine", "memory", "file"), ("mys3", "memory", "environment")}
    assert cfg.has_remote("mys3") and cfg.has_remote("MYS3")
    assert cfg.get("mys3", "hashes") == "md5"


@pytest.mark.parametrize(
    "content", ["not an ini file\n", "[a]\ntype = memory\n  [broken\nkey\n", "\xff\xfe garbage"]
)
def test_corrupt_config_is_one_clear_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "c.conf"
    path.write_bytes(content.encode("latin-1"))
    with pytest.raises(ConfigError, match="config file"):
        Config(path, env={})


def test_unreadable_config(tmp_path: Path) -> None:
    path = tmp_path / "dir.conf"
    path.mkdir()
    with pytest.raises(ConfigError, match="is a directory"):
        Config(path, env={})


def test_encrypted_rclone_config_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.conf"
    path.write_text("# Encrypted rclone configuration File\n\nRCLONE_ENCRYPT_V0:\nAAAA\n")
    with pytest.raises(ConfigError, match="encrypted"):
        Config(path, env={})


def test_reload_when_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "c.conf"
    path.write_text("[a]\ntype = memory\n")
    cfg = Config(path, env={})
    path.write_text("[a]\ntype = memory\n\n[b]\ntype = local\nextra = 1\n")
    assert [r.name for r in cfg.remotes()] == ["a", "b"]


# ------------------------------------------------------------------------------ secrets


def test_secret_goes_to_keyring(tmp_path: Path, memory_keyring: Any) -> None:
    assert keyring_is_secure()
    path = tmp_path / "c.conf"
    cfg = Config(path, env={})
    cfg.set_values("j", {"type": "memory", "token": '{"refresh_token":"s3cret"}'}, spec=SPEC, create=True)
    text = path.read_text()
    assert "s3cret" not in text
    assert "token_store = keyring" in text
    assert memory_keyring.store[(KEYRING_SERVICE, "j:token")] == '{"refresh_token":"s3cret"}'
    assert Config(path, env={}).get("j", "token") == '{"refresh_token":"s3cret"}'
    # redacted by default, revealed on request
    assert cfg.show("j")["j"] == {"type": "memory", "token_store": "keyring"}
    assert cfg.show("j", redact=False)["j"]["token"] == '{"refresh_token":"s3cret"}'
    cfg.delete_remote("j")
    assert memory_keyring.store == {}


def test_no_keyring_keeps_secret_in_file_and_says_so_once(
    tmp_path: Path, fail_keyring: None, caplog: pytest.LogCaptureFixture
) -> None:
    assert not keyring_is_secure()
    path = tmp_path / "c.conf"
    cfg = Config(path, env={})
    with caplog.at_level(logging.INFO, logger="cloudsync"):
        cfg.set_values("j", {"type": "memory", "token": "tok1"}, spec=SPEC, create=True)
        cfg.access("j", SPEC).set("token", "tok2")
    notices = [r for r in caplog.records if "No secure system keyring" in r.getMessage()]
    assert len(notices) == 1
    assert "token = tok2" in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert cfg.show("j")["j"]["token"] == "XXX"


def test_keyring_secret_unavailable_later_is_clear_error(tmp_path: Path, fail_keyring: None) -> None:
    path = tmp_path / "c.conf"
    path.write_text("[j]\ntype = memory\ntoken_store = keyring\n")
    with pytest.raises(SecretStoreError, match="keyring"):
        Config(path, env={}).get("j", "token")


def test_plaintext_alt_backends_are_not_secure() -> None:
    from cloudsync.secrets import _is_secure_backend

    class FakeAlt:
        pass

    FakeAlt.__module__ = "keyrings.alt.file"
    assert not _is_secure_backend(FakeAlt())
    from keyring.backends import fail, null

    assert not _is_secure_backend(fail.Keyring())
    assert not _is_secure_backend(null.Keyring())


def test_remote_access_protocol(tmp_path: Path, memory_keyring: Any) -> None:
    path = tmp_path / "c.conf"
    cfg = Config(path, env={})
    cfg.set_values("j", {"type": "memory"}, create=True)
    access = cfg.access("j", SPEC)
    assert access.remote_name == "j"
    with access.lock(), access.lock():  # reentrant in one thread
        access.set("token", "rotated")
    other = Config(path, env={}).access("j", SPEC)
    assert other.get("token") == "rotated"
    access.set("configVersion", "2")
    other.reload()
    assert other.get("configVersion") == "2"
