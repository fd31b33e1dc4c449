"""``touch``: set modification times, or create an empty file (rclone's ``touch``)."""

from __future__ import annotations

import time
from typing import Any

import click

from ..errors import CloudsyncError
from .app import App, global_options, pass_app
from .params import REMOTE, build_sync_options, filter_flags, sync_flags
from .runner import run_without_stats

__all__ = ["parse_timestamp", "touch"]

#: rclone's three layouts, chosen by the argument's length as rclone does: exactly 19
#: characters is date and time, longer adds a fraction of a second, anything else is YYMMDD.
_DATE_TIME_LEN = len("2006-01-02T15:04:05")


def parse_timestamp(text: str, *, localtime: bool = False) -> int:
    """``--timestamp`` in nanoseconds since the epoch (UTC unless ``localtime``)."""
    import calendar
    import datetime as dt

    try:
        if len(text) == _DATE_TIME_LEN:
            stamp, nanos = dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S"), 0
        elif len(text) > _DATE_TIME_LEN:
            whole, dot, fraction = text.partition(".")
            if not dot or not fraction.isdigit():
                raise ValueError("expected YYYY-MM-DDTHH:MM:SS.SSS")
            stamp = dt.datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S")
            nanos = int(fraction[:9].ljust(9, "0"))  # digits beyond nanoseconds are dropped
        else:
            if len(text) != 6 or not text.isdigit():
                raise ValueError("expected YYMMDD")
            # two-digit years as rclone (Go) reads them: 69-99 are 19xx, 00-68 are 20xx
            year = int(text[:2])
            stamp = dt.datetime(year + (1900 if year >= 69 else 2000), int(text[2:4]), int(text[4:]))
            nanos = 0
    except ValueError as err:
        raise CloudsyncError(
            f"failed to parse timestamp argument {text!r}: {err}",
            hint="use YYMMDD, YYYY-MM-DDTHH:MM:SS or YYYY-MM-DDTHH:MM:SS.SSS",
        ) from None
    seconds = int(time.mktime(stamp.timetuple())) if localtime else calendar.timegm(stamp.timetuple())
    return seconds * 1_000_000_000 + nanos


@click.command("touch", help="Create new file or change file modification time.\n\n"
               "Sets the modification time of REMOTE to now (or --timestamp).  A missing file is "
               "created empty unless --no-create or --recursive is given; a directory has the "
               "files directly in it touched (all files below it with --recursive, filters "
               "applied, --transfers at a time).  --timestamp is UTC unless --localtime.")
@click.option("-C", "--no-create", is_flag=True,
              help="Do not create the file if it does not exist (implied with --recursive).")
@click.option("-R", "--recursive", is_flag=True, help="Recursively touch all files.")
@click.option("-t", "--timestamp", default=None, metavar="TIME",
              help="Use specified time instead of the current time of day "
                   "(YYMMDD, YYYY-MM-DDTHH:MM:SS or YYYY-MM-DDTHH:MM:SS.SSS).")
@click.option("--localtime", is_flag=True, help="Use localtime for timestamp, not UTC.")
@sync_flags
@filter_flags
@click.argument("remote", type=REMOTE)
@global_options
@pass_app
def touch(app: App, remote: str, no_create: bool, recursive: bool, timestamp: str | None,
          localtime: bool, **kw: Any) -> None:
    from ..engine.touch import touch as engine_touch
    from ..remote import parse_remote

    opts = build_sync_options(kw)
    try:
        mtime_ns = (time.time_ns() if timestamp is None
                    else parse_timestamp(timestamp, localtime=localtime))
    except CloudsyncError as err:
        err.cli_context = "touch"  # type: ignore[attr-defined]
        raise
    if parse_remote(remote).path.strip("/\\") == "":
        backend, leaf = app.open_dir(remote), ""
    else:
        backend, leaf = app.open_parent(remote)
    # rclone's touch prints no stats block, only what failed
    run_without_stats(app, "touch", lambda: engine_touch(backend, leaf, opts, mtime_ns=mtime_ns,
                                                         create=not no_create, recursive=recursive),
                      opts)
