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
"""

from __future__ import annotations

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
