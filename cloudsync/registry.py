"""Backend discovery through the ``cloudsync.backends`` entry-point group.

Built-in backends register exactly like third-party ones: an entry point whose value is a
:class:`~cloudsync.options.BackendSpec` (conventionally the module attribute ``SPEC``).  Specs
are loaded lazily, one module at a time, so ``cloudsync --help`` imports no backend.
"""

from __future__ import annotations

import importlib
import threading
from typing import TYPE_CHECKING

from .errors import ConfigError
from .options import BackendSpec

if TYPE_CHECKING:
    from importlib import metadata

__all__ = ["ENTRY_POINT_GROUP", "backend_types", "builtin_types", "get_spec", "plugin_types", "register"]

ENTRY_POINT_GROUP = "cloudsync.backends"

_lock = threading.Lock()
_loaded: dict[str, BackendSpec] = {}
_extra: dict[str, BackendSpec] = {}

#: The built-in backends (also declared as entry points in pyproject.toml), loaded without
#: scanning installed distributions: importing importlib.metadata and reading every
#: entry_points.txt cost ~40 ms of each command's start-up.  Plugins are still found through
#: their entry points; the built-in names cannot be shadowed by one.
_BUILTIN: dict[str, str] = {
    "local": "cloudsync.backends.local",
    "memory": "cloudsync.backends.memory",
    "jottacloud": "cloudsync.backends.jottacloud",
}


def _entry_points() -> dict[str, metadata.EntryPoint]:
    from importlib import metadata

    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def register(spec: BackendSpec) -> None:
    """Register a spec in-process (tests, embedding applications)."""
    with _lock:
        _extra[spec.name] = spec
        for alias in spec.aliases:
            _extra[alias] = spec


def backend_types() -> list[str]:
    """Names of every available backend type, sorted."""
    return sorted(set(_entry_points()) | set(_BUILTIN) | set(_extra))


def builtin_types() -> list[str]:
    """Backend types known without reading entry points: built-in and registered in-process."""
    with _lock:
        return sorted(set(_BUILTIN) | set(_extra))


def plugin_types() -> list[str]:
    """Backend types only entry points name (plugins); reading them imports importlib.metadata."""
    return sorted(set(_entry_points()) - set(_BUILTIN))


def get_spec(type_name: str) -> BackendSpec:
    """The spec of backend ``type_name``; ConfigError when no such backend exists."""
    with _lock:
        if type_name in _extra:
            return _extra[type_name]
        if type_name in _loaded:
            return _loaded[type_name]
    module = _BUILTIN.get(type_name)
    if module is not None:
        spec = importlib.import_module(module).SPEC
        assert isinstance(spec, BackendSpec)
        with _lock:
            _loaded[type_name] = spec
        return spec
    ep = _entry_points().get(type_name)
    if ep is None:
        raise ConfigError(
            f'didn\'t find backend called "{type_name}"',
            hint="known backends: " + ", ".join(backend_types()),
        )
    try:
        spec = ep.load()
    except Exception as exc:  # a broken plugin must not take the whole program down
        raise ConfigError(f'backend "{type_name}" failed to load: {exc}') from exc
    if not isinstance(spec, BackendSpec):
        raise ConfigError(f'backend "{type_name}" entry point is not a BackendSpec')
    with _lock:
        _loaded[type_name] = spec
    return spec
