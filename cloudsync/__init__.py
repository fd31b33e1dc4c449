"""cloudsync: rclone-style copy, sync and check for JottaCloud, local and memory storage.

The library API (each name has its own help with an example)::

    import cloudsync

    result = cloudsync.copy("/home/me/photos", "jotta:backup/photos", transfers=8)
    print(result.stats.transfers, "files copied; exit code", result.exit_code)

    report = cloudsync.check("/home/me/photos", "jotta:backup/photos")
    for diff in report.differences:            # Difference(path, kind)
        print(diff.kind, diff.path)

    with cloudsync.open_remote("jotta:backup") as jotta:   # a Backend handle
        print([entry.path for entry in jotta.list("")])

* :func:`open_remote` – a remote string (``"jotta:path"``, ``"/local/dir"``, ``":memory:x"``)
  → a :class:`Backend`;
* :func:`copy`, :func:`sync`, :func:`move` → :class:`TransferResult`; :func:`check` →
  :class:`CheckResult`.  Options are the CLI's flags (``dry_run=True``, ``checksum=True``,
  ``max_delete=10`` …) with its defaults; ``progress=`` receives the CLI's transfer events
  (:class:`TransferStarted`, :class:`TransferProgress`, :class:`TransferDone`);
* :mod:`cloudsync.errors` – the exceptions (each also a standard Python exception:
  ``FileNotFoundError``, ``PermissionError`` …) and ``exit_code_for``;
* :mod:`cloudsync.fsspec` (extra ``cloudsync[fsspec]``) – ``cloudsync://REMOTE/path`` URLs for
  pandas, pyarrow and Dask.

Names are imported on first use: ``import cloudsync`` stays light, which the command line's
start-up time depends on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import errors
    from .api import CheckResult, Difference, TransferResult, check, copy, move, open_remote, sync
    from .backend import CAPABILITIES, Backend, Features
    from .errors import CloudsyncError
    from .events import Event, Stats, TransferDone, TransferProgress, TransferStarted
    from .options import BackendSpec, Option
    from .types import Entry, PutInfo, Usage

__all__ = [
    "CAPABILITIES",
    "Backend",
    "BackendSpec",
    "CheckResult",
    "CloudsyncError",
    "Difference",
    "Entry",
    "Event",
    "Features",
    "Option",
    "PutInfo",
    "Stats",
    "TransferDone",
    "TransferProgress",
    "TransferResult",
    "TransferStarted",
    "Usage",
    "__version__",
    "check",
    "copy",
    "errors",
    "move",
    "open_remote",
    "sync",
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
    "CheckResult": "api",
    "Difference": "api",
    "TransferResult": "api",
    "check": "api",
    "copy": "api",
    "move": "api",
    "open_remote": "api",
    "sync": "api",
    "Event": "events",
    "Stats": "events",
    "TransferDone": "events",
    "TransferProgress": "events",
    "TransferStarted": "events",
}


def __getattr__(name: str) -> Any:
    from importlib import import_module

    if name == "errors":  # the submodule itself
        return import_module(".errors", __name__)
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    # help(cloudsync) and dir() list the lazy names too (pydoc binds them through __getattr__).
    return sorted(set(globals()) | set(__all__))
