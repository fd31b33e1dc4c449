"""cloudsync: rclone-style copy, sync and check for JottaCloud, local and memory storage."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .backend import CAPABILITIES, Backend, Features
    from .errors import CloudsyncError
    from .options import BackendSpec, Option
    from .types import Entry, PutInfo, Usage

__all__ = [
    "CAPABILITIES",
    "Backend",
    "BackendSpec",
    "CloudsyncError",
    "Entry",
    "Features",
    "Option",
    "PutInfo",
    "Usage",
    "__version__",
]

__version__ = "0.1.0"

#: public name → defining module.  Bound on first use (PEP 562): ``cloudsync version`` and
#: ``cloudsync --help`` import this package but need none of these modules.
_LAZY = {
    "CAPABILITIES": "backend",
    "Backend": "backend",
    "Features": "backend",
    "CloudsyncError": "errors",
    "BackendSpec": "options",
    "Option": "options",
    "Entry": "types",
    "PutInfo": "types",
    "Usage": "types",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
