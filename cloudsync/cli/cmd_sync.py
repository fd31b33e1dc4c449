"""copy, copyto, sync, move, moveto and check: thin wrappers around :mod:`cloudsync.engine`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from ..errors import IsDirError, IsFileError, UsageError
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

__all__ = ["check", "copy", "copyto", "move", "moveto", "sync"]  # noqa: F822 - built by __getattr__


def _open_dst_dir(app: App, remote: str, *, listed: bool = True) -> Backend:
    """The destination directory; an existing *file* there is an error, as in rclone.

    ``listed``: the run lists the destination root, whose listing refuses a file root by
    itself where the backend can (RootIsFile): then no probe request is made (a no-op sync is
    one request).  A single-file copy or ``--no-traverse`` never lists it: probed.
    """
    backend = app.open_dir(remote)
    if listed and backend.features.refuses_file_root:
        return backend
    backend.close()
    backend, leaf = app.open(remote)
    if leaf is not None:
        backend.close()
        raise app.not_a_directory(remote)
    return backend


def _backup(app: App, opts: SyncOptions) -> Backend | None:
    return app.open_dir(opts.backup_dir) if opts.backup_dir else None


def _dests(app: App, opts: SyncOptions) -> list[Backend]:
    """The --compare-dest / --copy-dest folders."""
    if opts.compare_dest and opts.copy_dest:
        raise UsageError("can't use --compare-dest with --copy-dest")
    return [app.open_dir(remote) for remote in opts.copy_dest or opts.compare_dest]


# The click commands are built on first access (module ``__getattr__``), one at a time: each
# carries ~65 options, and building all six for every run of one of them is measurable
# start-up time.
_BUILDERS: dict[str, Callable[[], click.Command]] = {}


def __getattr__(name: str) -> click.Command:
    build = _BUILDERS.get(name)
    if build is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    command = build()
    globals()[name] = command  # later lookups find it directly
    return command


def _dir_command(name: str, help_text: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register the builder of command ``name``; returns the plain function unchanged."""

    def deco(f: Any) -> Any:
        def build() -> click.Command:
            g = pass_app(f)
            g = global_options(g)
            g = click.argument("dest", type=REMOTE)(g)
            g = click.argument("source", type=REMOTE)(g)
            g = filter_flags(g)
            g = sync_flags(g, name)
            return click.command(name, help=help_text)(g)

        _BUILDERS[name] = build
        return f

    return deco


def _run_transfer(app: App, name: str, opts: SyncOptions, job: Callable[[Any], Any]) -> None:
    """Run one transfer command through the --retries loop with its exit-code rules."""
    run(app, name, job, retries=opts.retries, retries_sleep=opts.retries_sleep,
        dry_run=opts.dry_run, error_on_no_transfer=opts.error_on_no_transfer)


def _dir_transfer(app: App, name: str, source: str, dest: str, opts: SyncOptions) -> None:
    """copy / sync / move: the contents of SOURCE (or the one file it names) into DEST."""
    from .. import engine

    op = {"copy": engine.copy, "sync": engine.sync, "move": engine.move}[name]
    src, src_file = app.open(source)
    dst = _open_dst_dir(app, dest, listed=src_file is None and (name == "sync" or not opts.no_traverse))
    backup = _backup(app, opts)
    dests = _dests(app, opts)
    _run_transfer(app, name, opts, lambda rep: op(src, dst, opts, reporter=rep, backup=backup,
                                                  src_file=src_file, dests=dests))


def _transfer_or_watch(app: App, name: str, source: str, dest: str, opts: SyncOptions) -> None:
    if not opts.watch:
        _dir_transfer(app, name, source, dest, opts)
        return
    from .cmd_watch import watch_command

    watch_command(app, name, source, dest, opts)


@_dir_command("copy", "Copy the contents of SOURCE into DEST, skipping identical files. Never deletes.")
def _copy(app: App, source: str, dest: str, **kw: Any) -> None:
    _transfer_or_watch(app, "copy", source, dest, build_sync_options(kw))


@_dir_command("sync", "Make DEST identical to SOURCE, modifying DEST only (deletes extra files).")
def _sync(app: App, source: str, dest: str, **kw: Any) -> None:
    _transfer_or_watch(app, "sync", source, dest, build_sync_options(kw))


@_dir_command("move", "Move the contents of SOURCE into DEST.")
def _move(app: App, source: str, dest: str, **kw: Any) -> None:
    _dir_transfer(app, "move", source, dest, build_sync_options(kw))


def _to_command(app: App, name: str, source: str, dest: str, opts: SyncOptions, *,
                move: bool) -> None:
    """copyto / moveto: a file SOURCE goes to the name DEST; a directory SOURCE is exactly
    copy / move into DEST (rclone §A.1), backups and all."""
    from .. import engine

    if opts.compare_dest or opts.copy_dest:
        raise UsageError(f"{name} does not support --compare-dest or --copy-dest yet: use copy or move")
    src, src_file = app.open(source)
    if src_file is None:
        dst, leaf = app.open(dest)
        if leaf is not None:
            dst.close()
            err = IsFileError("Source doesn't exist or is a directory and destination is a file")
            err.cli_context = name  # type: ignore[attr-defined]
            raise err
        backup = _backup(app, opts)
        op = engine.move if move else engine.copy
        _run_transfer(app, name, opts, lambda rep: op(src, dst, opts, reporter=rep, backup=backup))
        return
    if _names_a_directory(dest):
        # "dir/" says "a directory": rclone refuses rather than guess a file name in it
        is_dir = IsDirError(f"{dest!r} is a directory")
        is_dir.cli_context = name  # type: ignore[attr-defined]
        raise is_dir
    dst, dst_leaf = app.open_parent(dest)
    backup = _backup(app, opts)
    op_to = engine.moveto if move else engine.copyto
    _run_transfer(app, name, opts,
                  lambda rep: op_to(src, src_file, dst, dst_leaf, opts, reporter=rep, backup=backup))


def _names_a_directory(remote: str) -> bool:
    """``DEST`` ends with a slash after a non-empty path (``remote:dir/``, ``./out/``)."""
    from ..remote import parse_remote

    path = parse_remote(remote).path
    return path.rstrip("/\\") != "" and path.endswith(("/", "\\"))


@_dir_command("copyto", "Copy SOURCE to DEST under a new name (a directory SOURCE works like copy).")
def _copyto(app: App, source: str, dest: str, **kw: Any) -> None:
    _to_command(app, "copyto", source, dest, build_sync_options(kw), move=False)


@_dir_command("moveto", "Move SOURCE to DEST under a new name (a directory SOURCE works like move).")
def _moveto(app: App, source: str, dest: str, **kw: Any) -> None:
    _to_command(app, "moveto", source, dest, build_sync_options(kw), move=True)


def _check(app: App, source: str, dest: str, **kw: Any) -> None:
    from .. import engine

    opts = build_check_options(kw)
    src, src_file = app.open(source)
    dst = app.open_dir(dest)
    result = engine.check(src, dst, opts, src_file=src_file)
    finish(app, "check", result)


def _build_check() -> click.Command:
    f: Any = pass_app(_check)
    f = global_options(f)
    f = click.argument("dest", type=REMOTE)(f)
    f = click.argument("source", type=REMOTE)(f)
    f = filter_flags(f)
    f = check_flags(f)
    return click.command("check", help="Check that the files in SOURCE and DEST match (changes nothing).")(f)


_BUILDERS["check"] = _build_check
