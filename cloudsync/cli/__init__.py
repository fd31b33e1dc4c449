"""The ``cloudsync`` command line (click).

``cloudsync.cli:main`` is the console script; ``cli`` is the click group (for CliRunner tests).
Subcommands live in ``cmd_*`` modules and are imported only when used; ``cloudsync version``
does not even import click (see :mod:`.fastpath`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import cli

__all__ = ["cli", "main"]


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    from .fastpath import run_fast

    args = list(sys.argv[1:] if argv is None else argv)
    if run_fast(args):
        return
    from .app import main as _main

    _main(args)


def __getattr__(name: str) -> Any:
    if name == "cli":
        from .app import cli

        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
