"""``checksum HASH SUMFILE DST`` and ``md5sum``/``sha1sum``/``hashsum -C SUMFILE``: check a
destination against a SUM file, as rclone does."""

from __future__ import annotations

import io
from typing import Any

import click

from ..engine.options import CheckOptions
from ..errors import CloudsyncError, HashUnsupported, UsageError
from ..hashing import SUPPORTED
from ..options import flag_options
from .app import App, global_options, pass_app
from .flags import one_flag
from .params import REMOTE, build_check_options, filter_flags
from .runner import finish

__all__ = ["checksum", "checksum_flags", "run_checksum_command"]

#: the flags of ``check`` that rclone's ``checksum`` takes too (not --size-only and the like)
_FLAGS = ("one_way", "download", "combined", "missing_on_src", "missing_on_dst", "match", "differ",
          "error", "checkers", "max_backlog")


def checksum_flags(f: Any, *, report_flags: bool = True) -> Any:
    """Attach check's flags that a SUM-file check takes (``report_flags``: the report files
    and --one-way, which ``md5sum -C`` does not have)."""
    for name, opt in reversed(flag_options(CheckOptions)):
        if name in _FLAGS and (report_flags or name in ("checkers", "max_backlog")):
            f = one_flag(opt)(f)
    return f


def run_checksum_command(app: App, command: str, hash_name: str, sumfile: str, dest: str,
                         kw: dict[str, Any], *, download: bool | None = None) -> None:
    from ..engine.checksum import parse_sum_lines, run_checksum
    from .cmd_list import normalise_hash

    hash_type = normalise_hash(hash_name)
    if hash_type not in SUPPORTED:
        raise UsageError(f"unknown hash type {hash_name!r}",
                         hint="supported: " + ", ".join(sorted(SUPPORTED)))
    opts = build_check_options(kw)
    if download is not None:
        import dataclasses

        opts = dataclasses.replace(opts, download=download)
    sums_backend, leaf = app.open(sumfile)
    if leaf is None:
        err = CloudsyncError(f"not a sum file: {sums_backend}", hint="name a file of HASH  path lines")
        err.cli_context = command  # type: ignore[attr-defined]
        raise err
    with sums_backend.get(leaf) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline="")
        sums = parse_sum_lines(text, leaf)
    dst = app.open_dir(dest)
    if not opts.download and hash_type not in dst.features.hashes:
        raise HashUnsupported(f"hash type {hash_type!r} not supported by {dst}",
                              hint="use --download to hash the bytes locally")
    result = run_checksum(sums, hash_type, dst, opts, download=opts.download)
    finish(app, command, result)


@click.command("checksum", help="Checks that hashsums of destination files match the SUM file.\n\n"
               "SUMFILE (local or on a remote) holds `HASH  path` lines, as md5sum/sha1sum and "
               "`cloudsync hashsum` write them; it stands for the source of a check.  Hashes are "
               "compared case-insensitively; sizes are not compared.  --download hashes the "
               "destination's bytes locally.  Reports and exit codes are check's.")
@checksum_flags
@filter_flags
@click.argument("hash_name", metavar="HASH")
@click.argument("sumfile", type=REMOTE)
@click.argument("dest", type=REMOTE)
@global_options
@pass_app
def checksum(app: App, hash_name: str, sumfile: str, dest: str, **kw: Any) -> None:
    run_checksum_command(app, "checksum", hash_name, sumfile, dest, kw)
