"""Network timeouts every HTTP backend uses: rclone's ``--contimeout`` and ``--timeout``.

Set once per process by the CLI (a library user may call :func:`set_timeouts`); backends read
:func:`timeouts` for each request.  0 means no limit, as in rclone.
"""

from __future__ import annotations

__all__ = ["set_timeouts", "timeouts"]

_connect = 60.0
_io = 300.0


def set_timeouts(connect: float, io: float) -> None:
    """``connect``: to set up a connection; ``io``: the longest wait for the next data."""
    global _connect, _io
    _connect, _io = connect, io


def timeouts() -> tuple[float | None, float | None]:
    """(connect, read) for ``requests``; None where the limit is off."""
    return (_connect or None, _io or None)
