"""copy, copyto, sync, move, moveto and check: thin wrappers around :mod:`cloudsync.engine`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from ..errors import IsFileError
from .app import App, global_options, pass_app
from .params import (
    REMOTE,
    build_check_options,
    build_sync_options,
    check_flags,
    filter_flags,
    sync_flags,
)
from .runner import finish, run

if TYPE_CHECKING:
    from ..backend import Backend
    from ..engine.options import SyncOptions

__all__ = ["check", "copy", "copyto", "move", "moveto", "sync"]


def _open_dst_dir(app: App, remote: str) -> Backend:
    """The destination directory; an existing *file* there is an error, as in rclone."""
    backend, leaf = app.open(remote)
    if leaf is not None:
        backend.close()
        err = IsFileError("is a file not a directory")
        err.cli_context = f'create file system for "{remote}"'  # type: ignore[attr-defined]
        raise err
    return backend


def _backup(app: App, opts: SyncOptions) -> Backend | None:
    return app.open_dir(opts.backup_dir) if opts.backup_dir else None


def _dir_command(
    name: str, help_text: str, extra: list[Any] | None = None
) -> Callable[[Callable[..., None]], click.Command]:
    def deco(f: Any) -> click.Command:
        f = pass_app(f)
        f = global_options(f)
        f = click.argument("dest", type=REMOTE)(f)
        f = click.argument("source", type=REMOTE)(f)
        f = filter_flags(f)
        f = sync_flags(f)
        for option in extra or []:
            f = option(f)
        return click.command(name, help=help_text)(f)

    return deco


@_dir_command("copy", "Copy the contents of SOURCE into DEST, skipping identical files. Never deletes.")
def copy(app: App, source: str, dest: str, **kw: Any) -> None:
    from .. import engine

    opts = build_sync_options(kw)
    src, src_file = app.open(source)
    dst = _open_dst_dir(app, dest)
    backup = _backup(app, opts)
    run(app, "copy", lambda rep: engine.copy(src, dst, opts, reporter=rep, backup=backup, src_file=src_file),
        retries=opts.retries, retries_sleep=opts.retries_sleep, dry_run=opts.dry_run,
        error_on_no_transfer=opts.error_on_no_transfer)


@_dir_command("sync", "Make DEST identical to SOURCE, modifying DEST only (deletes extra files).")
def sync(app: App, source: str, dest: str, **kw: Any) -> None:
    from .. import engine

    opts = build_sync_options(kw)
    src, src_file = app.open(source)
    dst = _open_dst_dir(app, dest)
    backup = _backup(app, opts)
    run(app, "sync", lambda rep: engine.sync(src, dst, opts, reporter=rep, backup=backup, src_file=src_file),
        retries=opts.retries, retries_sleep=opts.retries_sleep, dry_run=opts.dry_run,
        error_on_no_transfer=opts.error_on_no_transfer)


@_dir_command("move", "Move the contents of SOURCE into DEST.",
              [click.option("--delete-empty-src-dirs", is_flag=True,
                            help="Delete empty source dirs after move.")])
def move(app: App, source: str, dest: str, delete_empty_src_dirs: bool, **kw: Any) -> None:
    from .. import engine

    opts = build_sync_options(kw, delete_empty_src_dirs=delete_empty_src_dirs)
    src, src_file = app.open(source)
    dst = _open_dst_dir(app, dest)
    backup = _backup(app, opts)
    run(app, "move", lambda rep: engine.move(src, dst, opts, reporter=rep, backup=backup, src_file=src_file),
        retries=opts.retries, retries_sleep=opts.retries_sleep, dry_run=opts.dry_run,
        error_on_no_transfer=opts.error_on_no_transfer)


@_dir_command("copyto", "Copy SOURCE to DEST under a new name (a directory SOURCE works like copy).")
def copyto(app: App, source: str, dest: str, **kw: Any) -> None:
    from .. import engine

    opts = build_sync_options(kw)
    src, src_file = app.open(source)
    if src_file is None:
        dst = _open_dst_dir(app, dest)
        run(app, "copyto", lambda rep: engine.copy(src, dst, opts, reporter=rep),
            retries=opts.retries, retries_sleep=opts.retries_sleep, dry_run=opts.dry_run,
            error_on_no_transfer=opts.error_on_no_transfer)
        return
    dst, dst_leaf = app.open_parent(dest)
    run(app, "copyto", lambda rep: engine.copyto(src, src_file, dst, dst_leaf, opts, reporter=rep),
        retries=opts.retries, retries_sleep=opts.retries_sleep, dry_run=opts.dry_run,
        error_on_no_transfer=opts.error_on_no_transfer)


@_dir_command("moveto", "Move SOURCE to DEST under a new name (a directory SOURCE works like move).")
def moveto(app: App, source: str, dest: str, **kw: Any) -> None:
    from .. import engine

    opts = build_sync_options(kw)
    src, src_file = app.open(source)
    if src_file is None:
        dst = _open_dst_dir(app, dest)
        run(app, "moveto", lambda rep: engine.move(src, dst, opts, reporter=rep),
            retries=opts.retries, retries_sleep=opts.retries_sleep, dry_run=opts.dry_run,
            error_on_no_transfer=opts.error_on_no_transfer)
        return
    dst, dst_leaf = app.open_parent(dest)
    run(app, "moveto", lambda rep: engine.moveto(src, src_file, dst, dst_leaf, opts, reporter=rep),
        retries=opts.retries, retries_sleep=opts.retries_sleep, dry_run=opts.dry_run,
        error_on_no_transfer=opts.error_on_no_transfer)


@click.command("check", help="Check that the files in SOURCE and DEST match (changes nothing).")
@check_flags
@filter_flags
@click.argument("source", type=REMOTE)
@click.argument("dest", type=REMOTE)
@global_options
@pass_app
def check(app: App, source: str, dest: str, **kw: Any) -> None:
    from .. import engine

    opts = build_check_options(kw)
    src, src_file = app.open(source)
    dst = app.open_dir(dest)
    result = engine.check(src, dst, opts, src_file=src_file)
    finish(app, "check", result)
