"""Single-shot operations: mkdir, rmdir, rmdirs, delete, deletefile, purge, rcat, about, link,
cleanup, backend features, version, completion and the lazily mounted ``serve`` group."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import click

from ..engine.options import SyncOptions
from ..errors import (
    CloudsyncError,
    DirNotFound,
    ObjectNotFound,
    Unsupported,
    UsageError,
)
from ..log import skipped_dry_run
from ..options import flag_options
from ..types import PutInfo, Usage
from . import formats
from .app import App, get_app, global_options, pass_app
from .flags import one_flag
from .params import REMOTE, build_sync_options, filter_flags, sync_flags
from .runner import run_without_stats

__all__ = [
    "about", "backend", "cleanup", "completion", "delete", "deletefile", "link", "mkdir", "purge",
    "rcat", "rmdir", "rmdirs", "serve", "version",
]

log = logging.getLogger("cloudsync.cli")


#: -i/--interactive, declared with the engine flags, taken by the single-shot operations too
_INTERACTIVE = dict(flag_options(SyncOptions))["interactive"]


def _skip(action: str, name: str, size: int = -1, *, dry_run: bool, interactive: bool) -> bool:
    """rclone's SkipDestructive for a single-shot operation: a dry run skips ``action`` on
    ``name``; -i asks first (``q`` or no answer ends the command, as rclone does)."""
    if not dry_run and not interactive:
        return False
    from ..engine.act import Run
    from .interactive import current_asker

    asker = current_asker(create=True) if not dry_run else None
    run = Run(checkers=1, transfers=1, dry_run=dry_run, confirm=asker)
    try:
        skipped = run.skip(action, name, size)
    finally:
        run.close()
    if asker is not None and asker.exit_code is not None:
        raise SystemExit(asker.exit_code)
    return skipped


@click.command("mkdir", help="Make the path if it doesn't already exist.")
@click.option("-n", "--dry-run", is_flag=True, help="Do a trial run with no permanent changes.")
@one_flag(_INTERACTIVE)
@click.argument("remote", type=REMOTE)
@global_options
@pass_app
def mkdir(app: App, remote: str, dry_run: bool, interactive: bool | None) -> None:
    backend = app.open_dir(remote)
    # (rclone names a folder that is the remote's root by the remote: "Local file system at …")
    if _skip("make directory", str(backend), dry_run=dry_run, interactive=bool(interactive)):
        return
    log.info("%s: Making directory", backend)
    backend.mkdir("")


@click.command("rmdir", help="Remove the empty directory at path.")
@click.option("-n", "--dry-run", is_flag=True, help="Do a trial run with no permanent changes.")
@one_flag(_INTERACTIVE)
@click.argument("remote", type=REMOTE)
@global_options
@pass_app
def rmdir(app: App, remote: str, dry_run: bool, interactive: bool | None) -> None:
    backend, leaf = app.open_parent(remote)
    if (dry_run or interactive) and _skip("remove directory", str(app.open_dir(remote)),
                                          dry_run=dry_run, interactive=bool(interactive)):
        return
    try:
        backend.rmdir(leaf)
    except DirNotFound as err:
        # rclone 1.75 reports a missing directory here as a plain rmdir failure (exit 1), not
        # as "directory not found" (exit 3) the way listings do.
        raise CloudsyncError("directory not found", path=err.path or leaf or remote,
                             hint="nothing to remove") from None


@click.command("rmdirs", help="Remove empty directories under the path (and the path unless --leave-root).")
@click.option("--leave-root", is_flag=True, help="Do not remove root directory if empty.")
@sync_flags
@filter_flags
@click.argument("remote", type=REMOTE)
@global_options
@pass_app
def rmdirs(app: App, remote: str, leave_root: bool, **kw: Any) -> None:
    from ..engine import rmdirs as engine_rmdirs

    opts = build_sync_options(kw)
    backend = app.open_dir(remote)
    run_without_stats(app, "rmdirs", lambda: engine_rmdirs(backend, "", opts, leave_root=leave_root),
                      opts)


@click.command("delete", help="Remove the files in path (obeys filters; keeps directories unless --rmdirs).")
@click.option("--rmdirs", "with_rmdirs", is_flag=True, help="Remove empty directories but leave root intact.")
@sync_flags
@filter_flags
@click.argument("remote", type=REMOTE)
@global_options
@pass_app
def delete(app: App, remote: str, with_rmdirs: bool, **kw: Any) -> None:
    from ..engine import delete as engine_delete

    opts = build_sync_options(kw)
    backend, leaf = app.open(remote)
    if leaf is not None:
        # `delete remote:dir/file` names one file (rclone's FsIsFile): rclone walks the parent
        # with only that file admitted (its file list takes precedence over other filters).
        # Walking the file itself as a directory fails on every backend.
        import dataclasses
        import re

        from ..filters import FilterOptions

        glob = "/" + re.sub(r"([\\*?\[\]{}])", r"\\\1", leaf)
        only = FilterOptions(filter=("+ " + glob, "- **"), max_depth=1)
        opts = dataclasses.replace(opts, filters=only)
    run_without_stats(app, "delete", lambda: engine_delete(backend, "", opts, rmdirs=with_rmdirs),
                      opts)


@click.command("deletefile", help="Remove a single file from remote.")
@click.option("-n", "--dry-run", is_flag=True, help="Do a trial run with no permanent changes.")
@one_flag(_INTERACTIVE)
@click.argument("remote", type=REMOTE)
@global_options
@pass_app
def deletefile(app: App, remote: str, dry_run: bool, interactive: bool | None) -> None:
    backend, leaf = app.open(remote)
    if leaf is None:
        # rclone: "object not found" (exit 4), whether a folder or nothing is there
        raise ObjectNotFound(f"{remote} is a directory or doesn't exist: object not found",
                             hint="deletefile removes one file")
    if (dry_run or interactive) and _skip("delete", leaf, backend.stat(leaf).size,
                                          dry_run=dry_run, interactive=bool(interactive)):
        return
    backend.delete(leaf)
    log.info("Deleted", extra={"object": leaf})


@click.command("purge", help="Remove the path and all of its contents (ignores filters).")
@sync_flags
@click.argument("remote", type=REMOTE)
@global_options
@pass_app
def purge(app: App, remote: str, **kw: Any) -> None:
    from ..engine import purge as engine_purge

    opts = build_sync_options(kw)
    backend = app.open_dir(remote)
    run_without_stats(app, "purge", lambda: engine_purge(backend, "", opts), opts)


@click.command("rcat", help="Copies standard input to file on remote.")
@click.option("--size", "size_hint", type=int, default=-1, help="File size hint to preallocate.")
@click.argument("remote", type=REMOTE)
@global_options
@pass_app
def rcat(app: App, remote: str, size_hint: int) -> None:
    backend, leaf = app.open_parent(remote)
    stdin = sys.stdin.buffer
    info = PutInfo(size=size_hint, mtime_ns=time.time_ns())
    entry = backend.put(leaf, stdin, info)
    log.info("Copied (Rcat, new)", extra={"object": leaf, "size": entry.size})


# ------------------------------------------------------------------------------ about / link / cleanup


@click.command("about", help="Get quota information from the remote.")
@click.option("--json", "as_json", is_flag=True, help="Format output as JSON.")
@click.option("--full", is_flag=True, help="Full numbers instead of human-readable.")
@click.argument("remote", type=REMOTE)
@global_options
@pass_app
def about(app: App, remote: str, as_json: bool, full: bool) -> None:
    backend = app.open_dir(remote)
    unlimited = False
    try:
        # A backend may say more than Usage can (JottaCloud: "unlimited" plans have no total).
        details = getattr(backend, "about_details", None)
        if callable(details):
            info = details()
            usage = Usage(total=info.get("total"), used=info.get("used"), free=info.get("free"),
                          trashed=info.get("trashed"), other=info.get("other"),
                          objects=info.get("objects"))
            unlimited = bool(info.get("unlimited")) and usage.total is None
        else:
            usage = backend.about()
    except Unsupported:
        raise Unsupported(f"{backend} doesn't support about") from None
    if unlimited:
        usage = Usage(total=-1, used=usage.used, free=usage.free, trashed=usage.trashed,
                      other=usage.other, objects=usage.objects)
    fields = [("total", usage.total, True), ("used", usage.used, True), ("free", usage.free, True),
              ("trashed", usage.trashed, True), ("other", usage.other, True),
              ("objects", usage.objects, False)]
    # A negative total means "no limit" (JottaCloud's unlimited plans report -1).
    unlimited = usage.total is not None and usage.total < 0
    if as_json:
        data: dict[str, Any] = {}
        for key, value, _ in fields:
            if value is None or (value < 0 and key in ("total", "free")):
                continue
            data[key] = value
        if unlimited:
            data["unlimited"] = True
        click.echo(formats.go_json(data, indent="\t"))
        return
    for key, value, is_size in fields:
        label = f"{key.capitalize()}:"
        if value is None:
            continue
        if key in ("total", "free") and value < 0:
            text = "unlimited"
        elif full:
            text = str(value)
        elif is_size:
            text = formats.byte_unit(value)
        else:
            text = formats.count_suffix(value)
        click.echo(f"{label:<9}{text}")


@click.command("link", help="Generate a public link to a file/folder.")
@click.option("--expire", default=None, metavar="DURATION", help="The amount of time that the link will be valid.")
@click.option("--unlink", is_flag=True, help="Remove existing public link to file/folder.")
@click.argument("remote", type=REMOTE)
@global_options
@pass_app
def link(app: App, remote: str, expire: str | None, unlink: bool) -> None:
    from ..options import parse_duration

    backend, leaf = app.open(remote)
    seconds = None
    if expire:
        try:
            seconds = parse_duration(expire)
        except ValueError:
            raise UsageError(f"invalid value for --expire: {expire!r}") from None
    if not backend.has("public_link"):
        raise Unsupported(f"{backend} doesn't support public links")
    try:
        url = backend.public_link(leaf or "", expire=seconds, unlink=unlink)
    except Unsupported as err:
        if seconds is not None:
            # the backend has links, just not expiring ones: say that, not "no links at all"
            raise Unsupported(f"--expire is not supported: {err.message or err}",
                              hint="leave out --expire") from None
        raise
    if url:
        click.echo(url)


@click.command("cleanup", help="Clean up the remote if possible (empty the trash).")
@click.option("-n", "--dry-run", is_flag=True, help="Do a trial run with no permanent changes.")
@click.argument("remote", type=REMOTE)
@global_options
@pass_app
def cleanup(app: App, remote: str, dry_run: bool) -> None:
    backend = app.open_dir(remote)
    if not backend.has("cleanup"):
        raise Unsupported(f"{backend} doesn't support cleanup")
    if dry_run:
        skipped_dry_run(log, "cleanup", remote)
        return
    backend.cleanup()


@click.group("backend", help="Run a backend-specific command.")
def backend() -> None:
    pass


@backend.command("features", help="Print the features of a remote as JSON (Backend.describe()).")
@click.argument("remote", type=REMOTE)
@global_options
@pass_app
def backend_features(app: App, remote: str) -> None:
    import json

    be = app.open_dir(remote)
    click.echo(json.dumps(be.describe(), indent="\t"))


# ------------------------------------------------------------------------------ version / completion


@click.command("version", help="Show the version number.")
@global_options
@pass_app
def version(app: App) -> None:
    from .fastpath import version_text

    click.echo(version_text(), nl=False)


@click.command("completion", help="Output a shell completion script: bash, zsh or fish.")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    from click.shell_completion import get_completion_class

    from .app import cli

    cls = get_completion_class(shell)
    assert cls is not None
    click.echo(cls(cli, {}, "cloudsync", "_CLOUDSYNC_COMPLETE").source())


class _LazyServe(click.Group):
    """``serve`` comes from :mod:`cloudsync.jottaserver.cli`, imported only when used."""

    def _target(self) -> click.Group | None:
        try:
            from importlib import import_module

            module = import_module("cloudsync.jottaserver.cli")
        except ImportError as exc:
            get_app().setup_logging()
            log.debug("cannot import cloudsync.jottaserver.cli", exc_info=True)
            self._error = str(exc)
            return None
        group = getattr(module, "serve", None)
        return group if isinstance(group, click.Group) else None

    def list_commands(self, ctx: click.Context) -> list[str]:
        target = self._target()
        return target.list_commands(ctx) if target else []

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self._target()
        if target is None:
            raise click.ClickException(
                "the 'serve' commands are not available in this installation "
                f"({getattr(self, '_error', 'cloudsync.jottaserver.cli has no serve group')})"
            )
        return target.get_command(ctx, cmd_name)


serve = _LazyServe("serve", help="Serve a fake JottaCloud server for tests (serve jottacloud …).")
