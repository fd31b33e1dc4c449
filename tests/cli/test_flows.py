"""Backends with their own configure flow: config create (non-interactive), reconnect, wizard."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cloudsync.options import BackendSpec, Option, Prompter
from cloudsync.registry import register

CALLS: list[dict[str, str]] = []


def _configure(prompter: Prompter, current: Mapping[str, str]) -> dict[str, str]:
    CALLS.append(dict(current))
    code = current.get("login_token") or prompter.prompt("Login token", secret=True)
    return {"token": f"token-for-{code}", "device": current.get("device") or "Jotta"}


def _factory(name: str, root: str, options: Mapping[str, Any], config: Any) -> Any:
    from cloudsync.backends.memory import SPEC as MEM

    return MEM.factory(name, root, {**MEM.parse_options({})}, None)


FLOW = BackendSpec(
    name="flowtest",
    description="backend with a configure flow",
    factory=_factory,
    options=(
        Option("device", "Device"),
        Option("login_token", "single use", secret=True, hidden=True),
        Option("token", "oauth", secret=True, hidden=True),
    ),
    configure=_configure,
)
register(FLOW)


def test_create_runs_flow_without_terminal(cs: Any, config_path: Path, fail_keyring: None) -> None:
    r = cs("config", "create", "fl", "flowtest", "login_token=abc", "device=Dev")
    assert r.code == 0, r.err
    text = config_path.read_text()
    assert "token = token-for-abc" in text  # 0600 file, no keyring here
    assert "login_token" not in text  # single-use answer is never persisted
    assert "device = Dev" in text
    assert "token-for-abc" not in r.out  # shown redacted


def test_create_needing_input_fails_clearly(cs: Any, config_path: Path) -> None:
    r = cs("config", "create", "fl2", "flowtest", "--non-interactive")
    assert r.code == 2
    assert "Login token" in r.err
    assert not config_path.exists()


def test_reconnect_keeps_other_values(cs: Any, config_path: Path, memory_keyring: Any) -> None:
    assert cs("config", "create", "fl3", "flowtest", "login_token=one", "device=Keep").code == 0
    assert memory_keyring.store[("cloudsync", "fl3:token")] == "token-for-one"
    r = cs("config", "reconnect", "fl3:", input="two\n")
    assert r.code == 0, r.err
    assert CALLS[-1]["device"] == "Keep" and CALLS[-1]["token"] == "token-for-one"
    assert memory_keyring.store[("cloudsync", "fl3:token")] == "token-for-two"
    assert "device = Keep" in config_path.read_text()
