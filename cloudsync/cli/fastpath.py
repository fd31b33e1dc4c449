"""Invocations answered without click: ``cloudsync version``.

Importing click and building the command group costs more than rclone's whole start-up, so
the commonest argument-free commands are recognised here from the raw argument list and
answered directly.  Anything else – extra flags, environment-driven options – goes through
click as usual; the click commands print the same text (they call the same functions).
"""

from __future__ import annotations

import os
import sys

__all__ = ["run_fast", "version_text"]


def _os_version() -> str:
    # platform.platform() reads the interpreter binary to find the C library and may run
    # `uname -p` in a subprocess; these calls give the same answer from the kernel and libc.
    uname = os.uname()
    libc = _libc()
    if uname.sysname == "Linux" and libc:
        return f"Linux-{uname.release}-{uname.machine}-with-{libc.replace(' ', '')}"
    import platform

    return platform.platform(terse=True)


def _libc() -> str:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError, AttributeError):  # not glibc, or no confstr on this OS
        return ""


def version_text() -> str:
    """What ``cloudsync version`` prints (rclone's layout, Python instead of Go)."""
    from .. import __version__

    uname = os.uname()
    return "".join(f"{line}\n" for line in (
        f"cloudsync v{__version__}",
        f"- os/version: {_os_version()}",
        f"- os/kernel: {uname.release}",
        f"- os/type: {sys.platform}",
        f"- os/arch: {uname.machine}",
        f"- python/version: {sys.version.split()[0]}",
    ))


def run_fast(args: list[str]) -> bool:
    """Answer ``args`` here when they need no option parsing; False: let click do it."""
    if args == ["version"]:
        sys.stdout.write(version_text())
        sys.stdout.flush()
        return True
    return False
