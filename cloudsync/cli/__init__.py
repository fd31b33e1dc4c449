"""The ``cloudsync`` command line (click).

``cloudsync.cli:main`` is the console script; ``cli`` is the click group (for CliRunner tests).
Subcommands live in ``cmd_*`` modules and are imported only when used.
"""

from __future__ import annotations

from collections.abc import Sequence

from .app import cli

__all__ = ["cli", "main"]


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    from .app import main as _main

    _main(argv)
