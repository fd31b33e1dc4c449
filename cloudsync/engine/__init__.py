"""The copy/sync/move/check engine: scan → plan → act.

Public entry points (the CLI calls only these):

* :func:`copy`, :func:`sync`, :func:`move` – directory level, rclone semantics (§B.1, §B.2);
* :func:`copyto`, :func:`moveto` – one file under a new name;
* :func:`check` – compare without changing anything (§B.4);
* :func:`walk` – filtered recursive listing for ``ls``/``lsf``/``lsjson``/``size``/…;
* :func:`delete`, :func:`purge`, :func:`rmdirs` – removal commands;
* :func:`run_with_retries` – the command-level ``--retries`` loop.

Every operation returns a :class:`RunResult`; it never raises for per-file failures (they are
counted), only for usage errors.

The names are bound on first use (PEP 562): importing ``cloudsync.engine.options`` – which
every command's flag parsing does – must not build the whole engine (march, planner,
executor, thread pools) when the command is ``lsf`` or ``version``.  No submodule may be
named like a public function (the import system would bind the module over the function):
hence ``checker`` and ``copy_sync``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .api import (
        check,
        copy,
        copyto,
        delete,
        move,
        moveto,
        purge,
        rmdirs,
        run_with_retries,
        sync,
        walk,
    )
    from .result import RunResult

__all__ = [
    "RunResult",
    "check",
    "copy",
    "copyto",
    "delete",
    "move",
    "moveto",
    "purge",
    "rmdirs",
    "run_with_retries",
    "sync",
    "walk",
]


def __getattr__(name: str) -> Any:
    if name == "RunResult":
        from .result import RunResult

        return RunResult
    if name == "walk":
        # a listing command needs only the walk, not the transfer API with its options and events
        from .listing import walk_tree

        globals()["walk"] = walk_tree
        return walk_tree
    if name in __all__:
        from . import api

        # all at once: later lookups of any public name no longer come through here
        space = globals()
        for public in api.__all__:
            space[public] = getattr(api, public)
        return space[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
