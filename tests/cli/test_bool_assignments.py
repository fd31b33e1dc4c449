"""rclone's ``--flag=true|false`` for every boolean flag, and ``--ask-password``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from cloudsync.cli.app import _settings, cli
from cloudsync.config_crypt import PasswordSource
from cloudsync.errors import ConfigError


def _parsed(*args: str) -> Any:
    ctx = cli.make_context("cloudsync", list(args), resilient_parsing=False)
    return ctx, _settings(ctx)


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("1", True), ("T", True),
                                                 ("false", False), ("0", False), ("F", False)])
def test_bool_flag_with_a_value(cs: Any, tmp_path: Path, value: str, expected: bool) -> None:
    (tmp_path / "a").write_bytes(b"a")
    r = cs("copy", str(tmp_path), str(tmp_path / "dst"), f"--dry-run={value}")
    assert r.code == 0, r.err
    assert (tmp_path / "dst" / "a").exists() is not expected


def test_bool_flag_global_and_default_on(cs: Any, tmp_path: Path) -> None:
    from cloudsync.cli.flags import bool_assignments

    commands = [cli]
    assert bool_assignments(["--skip-links=true", "x"], commands) == ["--skip-links", "x"]
    assert bool_assignments(["--skip-links=false", "x"], commands) == ["x"]
    # on by default: =false is its --no- form
    assert bool_assignments(["--ask-password=false"], commands) == ["--no-ask-password"]
    assert bool_assignments(["--ask-password=true"], commands) == ["--ask-password"]
    # values of other flags, and anything after --, are left alone
    assert bool_assignments(["--transfers=4", "--", "--skip-links=x"], commands) == \
        ["--transfers=4", "--", "--skip-links=x"]
    r = cs("lsf", str(tmp_path), "--skip-links=maybe")
    assert r.code == 2 and 'invalid argument "maybe" for "--skip-links" flag' in r.err


def test_ask_password_false_never_prompts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    asked: list[str] = []
    monkeypatch.setattr("getpass.getpass", lambda prompt: asked.append(prompt) or "pw")
    assert PasswordSource({}, None).get(tmp_path) == "pw" and asked
    asked.clear()
    with pytest.raises(ConfigError) as err:
        PasswordSource({}, None, ask=False).get(tmp_path)
    assert not asked and "--ask-password=false" in str(err.value.hint)


def test_ask_password_reaches_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cloudsync.cli.app import App

    monkeypatch.setenv("CLOUDSYNC_CONFIG", str(tmp_path / "c.conf"))
    for args, ask in ((["version"], True), (["--ask-password=false", "version"], False),
                      (["--no-ask-password", "version"], False)):
        _, settings = _parsed(*args)
        assert settings.ask_password is ask
        assert App(settings).config.passwords.ask is ask
