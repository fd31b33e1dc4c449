"""The import-linter contracts (pyproject.toml) name every core module: a new one is covered."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_core_contract_lists_every_top_level_module() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    core = next(c for c in contracts if c["name"].startswith("the core imports"))
    modules = {f"cloudsync.{p.stem}" for p in (ROOT / "cloudsync").glob("*.py")
               if p.stem not in ("__init__", "__main__")}
    # The library API is a top layer like the CLI (it drives the engine); its own contract
    # keeps it off the CLI.
    top = next(c for c in contracts if c["name"].startswith("the library API"))
    missing = modules - set(core["source_modules"]) - set(top["source_modules"])
    assert not missing, f"add {sorted(missing)} to the core contract in pyproject.toml"
