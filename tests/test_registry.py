"""Backends are found through the ``cloudsync.backends`` entry-point group.

The built-in ones are declared as entry points exactly like a plugin's; the registry only keeps
a start-up shortcut for them (importing importlib.metadata costs ~30 ms per command).  These
tests pin that the shortcut is nothing but a cache of what the package declares, and that a
third-party distribution is discovered with no change to cloudsync.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from importlib.metadata import distribution
from pathlib import Path

import pytest

from cloudsync import registry
from cloudsync.errors import ConfigError
from cloudsync.options import BackendSpec


def test_builtin_shortcut_is_exactly_the_declared_entry_points() -> None:
    declared = {
        ep.name: ep.value
        for ep in distribution("cloudsync").entry_points
        if ep.group == registry.ENTRY_POINT_GROUP
    }
    assert declared == {name: f"{module}:SPEC" for name, module in registry._BUILTIN.items()}
    for name in declared:
        spec = registry.get_spec(name)
        assert isinstance(spec, BackendSpec) and spec.name == name


@pytest.fixture
def plugin_dist(tmp_path: Path) -> Iterator[str]:
    """A throw-away installed distribution that declares one backend entry point."""
    pkg = tmp_path / "cs_plugin_demo.py"
    pkg.write_text(textwrap.dedent('''
        from cloudsync.backends.memory import SPEC as _MEMORY
        from cloudsync.options import BackendSpec

        SPEC = BackendSpec(name="plugindemo", description="A third-party backend",
                           factory=_MEMORY.factory, options=_MEMORY.options)
    '''))
    info = tmp_path / "cs_plugin_demo-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: cs-plugin-demo\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[cloudsync.backends]\nplugindemo = cs_plugin_demo:SPEC\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        yield "plugindemo"
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("cs_plugin_demo", None)
        registry._loaded.pop("plugindemo", None)


def test_third_party_backend_is_found_through_its_entry_point(plugin_dist: str) -> None:
    assert plugin_dist in registry.backend_types()
    spec = registry.get_spec(plugin_dist)
    assert spec.description == "A third-party backend"
    backend = spec.factory(plugin_dist, "plugin-root", spec.parse_options({}), None)
    backend.mkdir("x")
    assert [e.path for e in backend.list("")] == ["x"]


def test_unknown_backend_is_a_config_error_naming_the_known_ones() -> None:
    with pytest.raises(ConfigError, match='didn\'t find backend called "nope"') as info:
        registry.get_spec("nope")
    assert "local" in str(info.value) and "jottacloud" in str(info.value)
