"""Logging vocabulary shared by library and CLI.

Library code logs through ``logging.getLogger(__name__)`` (under ``cloudsync``) and never
configures handlers; the CLI does.  rclone's NOTICE level (between INFO and WARNING) is the
default verbosity: what a user should see without ``-v``.
"""

from __future__ import annotations

import logging

__all__ = ["NOTICE", "notice"]

NOTICE = 25
logging.addLevelName(NOTICE, "NOTICE")
logging.getLogger("cloudsync").addHandler(logging.NullHandler())


def notice(logger: logging.Logger, msg: str, *args: object, **kwargs: object) -> None:
    """Log at NOTICE (``logger.log(NOTICE, …)`` with a name that reads well)."""
    logger.log(NOTICE, msg, *args, **kwargs)  # type: ignore[arg-type]
