"""Getting files back: ``versions``, ``restore`` and ``trash ls|restore|rm|empty``.

They work on any backend with the ``versions`` / ``trash`` capabilities (memory, jottacloud).
Paths are resolved against the remote's top (``name:``), so ``--to`` may name any other place
on the same remote.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import click

from ..errors import DirNotFound, IsDirError, NoRetryError, ObjectNotFound, Unsupported, UsageError
from ..history import Version, format_time, parse_time
from ..log import skipped_dry_run
from ..types import join_path
from . import formats
from .app import App, global_options, pass_app
from .params import REMOTE

if TYPE_CHECKING:
    from ..backend import Backend

__all__ = ["restore", "trash", "versions"]

log = logging.getLogger("cloudsync.cli")


def _split(remote: str) -> tuple[str, str]:
    """``name:some/path`` → (``name:``, ``some/path``)."""
    from ..remote import parse_remote

    path = parse_remote(remote).path
    top = remote[: len(remote) - len(path)] if path and remote.endswith(path) else remote
    if top == remote and path:
        raise UsageError(f"cannot tell the remote from the path in {remote!r}")
    return top, path.strip("/")


def _open(app: App, remote: str, cap: str) -> tuple[Backend, str, str]:
    top, path = _split(remote)
    backend = app.open_dir(top)
    if not backend.has(cap):
        what = "file versions" if cap == "versions" else "a trash"
        raise Unsupported(f"{backend.type_name} remote {top} keeps no {what}")
    return backend, top, path


def _to_path(top: str, to: str | None) -> str | None:
    if to is None:
        return None
    to_top, to_path = _split(to)
    if to_top != top:
        raise UsageError(f"--to must be on the same remote ({top}), not {to_top}")
    if not to_path:
        raise UsageError("--to needs a path below the remote's top")
    return to_path


def _at(text: str) -> int:
    try:
        return parse_time(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


# ------------------------------------------------------------------------------ versions


@click.command("versions", help="List the stored versions of a file.")
@click.option("--json", "as_json", is_flag=True, help="Format output as JSON.")
@click.argument("remote", type=REMOTE)
@global_options
@pass_app
def versions(app: App, remote: str, as_json: bool) -> None:
    backend, _, path = _open(app, remote, "versions")
    if not path:
        raise UsageError("versions needs a file path, not the remote's top")
    try:
        found = backend.versions(path)
    except IsADirectoryError:
        raise IsDirError("versions are kept per file and this is a folder", path=path,
                         hint="'cloudsync restore REMOTE:folder --at TIME' restores a folder") from None
    if as_json:
        click.echo(formats.go_json([_version_json(v) for v in found], indent="\t"))
        return
    click.echo(f"{'VERSION':>8}  {'STORED':<20}  {'SIZE':>12}  {'MD5':<32}  STATE")
    for v in found:
        state = "current" if v.current else ("" if v.restorable else v.state)
        md5 = v.md5 or "-"
        click.echo(f"{v.id:>8}  {format_time(v.stored_ns):<20}  {v.size:>12}  {md5:<32}  {state}".rstrip())


def _version_json(v: Version) -> dict[str, Any]:
    return {"ID": v.id, "Stored": format_time(v.stored_ns), "Size": v.size,
            "ModTime": format_time(v.mtime_ns), "MD5": v.md5, "State": v.state, "Current": v.current}


# ------------------------------------------------------------------------------ restore


@click.command("restore", help="Make an older version current again (a file, or a folder tree as of --at).")
@click.option("--version", "version_id", default=None, metavar="ID", help="Version of the file to restore.")
@click.option("--at", "at", default=None, metavar="TIME",
              help="Restore as it was at TIME (RFC 3339 or a duration ago, e.g. 3d).")
@click.option("--to", "to", default=None, type=REMOTE, metavar="REMOTE:PATH",
              help="Restore beside it, to this path on the same remote.")
@click.option("-n", "--dry-run", is_flag=True, help="Print what would change, change nothing.")
@click.argument("remote", type=REMOTE)
@global_options
@pass_app
def restore(app: App, remote: str, version_id: str | None, at: str | None, to: str | None,
            dry_run: bool) -> None:
    if (version_id is None) == (at is None):
        raise UsageError("restore needs exactly one of --version ID or --at TIME")
    backend, top, path = _open(app, remote, "versions")
    target = _to_path(top, to)
    if target is not None:
        _refuse_existing(backend, target)
    if version_id is not None:
        if not path:
            raise UsageError("--version needs a file path")
        chosen = next((v for v in backend.versions(path) if v.id == version_id), None)
        if chosen is None:
            raise ObjectNotFound(f"version {version_id} not found", path=path,
                                 hint="'cloudsync versions' lists the versions of a file")
        _restore_one(backend, path, chosen, target, dry_run)
        return
    assert at is not None
    when = _at(at)
    plan = _plan_at(backend, path, when)
    if not plan:
        raise ObjectNotFound(f"nothing existed here at {format_time(when)}", path=path or "/")
    changed = 0
    for rel, v in plan:
        dest = rel if target is None else join_path(target, rel[len(path):].lstrip("/"))
        if target is None and _is_current(backend, rel, v):
            continue
        _restore_one(backend, rel, v, dest if target is not None else None, dry_run)
        changed += 1
    if changed == 0:
        click.echo(f"nothing to restore: everything is as it was at {format_time(when)}", err=True)


def _refuse_existing(backend: Backend, target: str) -> None:
    from ..errors import AlreadyExists

    try:
        backend.stat(target)
    except ObjectNotFound:
        return
    raise AlreadyExists("something already lives at the --to path; nothing was restored", path=target,
                        hint="choose a path that does not exist yet")


def _is_current(backend: Backend, path: str, v: Version) -> bool:
    try:
        entry = backend.stat(path)
    except ObjectNotFound:
        return False
    return not entry.is_dir and entry.size == v.size and entry.hashes.get("md5", v.md5) == v.md5


def _restore_one(backend: Backend, path: str, v: Version, to: str | None, dry_run: bool) -> None:
    if not v.restorable:
        raise NoRetryError(f"version {v.id} is {v.state} (its upload never completed); it cannot be restored",
                           path=path)
    dest = to or path
    if dry_run:
        skipped_dry_run(log, f"restore of version {v.id} ({format_time(v.stored_ns)})", dest, v.size)
        return
    if to is None and v.current:
        click.echo(f"{path}: version {v.id} is already the current one", err=True)
        return
    backend.restore_version(path, v.id, to)
    click.echo(f"restored {path} version {v.id} ({format_time(v.stored_ns)}) -> {dest}")


def _plan_at(backend: Backend, path: str, when: int) -> list[tuple[str, Version]]:
    """Every file at or below ``path`` as it was at ``when``, with its version then."""
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    if path:
        try:
            siblings = backend.list_at(parent, when)
        except DirNotFound:
            return []
        match = [(e, v) for e, v in siblings if e.path == path]
        if not match:
            return []
        entry, v = match[0]
        if not entry.is_dir:
            return [(path, v)]
    out: list[tuple[str, Version]] = []
    stack = [path]
    while stack:
        d = stack.pop()
        for entry, v in backend.list_at(d, when):
            if entry.is_dir:
                stack.append(entry.path)
            else:
                out.append((entry.path, v))
    return sorted(out)


# ------------------------------------------------------------------------------ trash


@click.group("trash", help="List, restore or remove what is in the trash.")
def trash() -> None:
    pass


@trash.command("ls", help="List what is in the trash below a path.")
@click.option("-R", "--recursive", is_flag=True, help="Also list what is inside trashed folders.")
@click.option("--json", "as_json", is_flag=True, help="Format output as JSON.")
@click.argument("remote", type=REMOTE)
@global_options
@pass_app
def trash_ls(app: App, remote: str, recursive: bool, as_json: bool) -> None:
    backend, _, path = _open(app, remote, "trash")
    items = sorted(backend.trash(path, recursive), key=lambda i: i.path)
    if as_json:
        click.echo(formats.go_json([
            {"Path": i.path, "IsDir": i.is_dir, "Size": i.size, "MD5": i.md5,
             "ModTime": format_time(i.mtime_ns), "Deleted": format_time(i.deleted_ns)}
            for i in items], indent="\t"))
        return
    for i in items:
        size = "-" if i.is_dir else str(i.size)
        click.echo(f"{size:>12}  {format_time(i.deleted_ns):<20}  {i.path}{'/' if i.is_dir else ''}")


@trash.command("restore", help="Bring trashed files or folders back (to where they were, or --to).")
@click.option("--to", "to", default=None, type=REMOTE, metavar="REMOTE:PATH",
              help="Restore to this path on the same remote instead.")
@click.option("-n", "--dry-run", is_flag=True, help="Print what would be restored, change nothing.")
@click.argument("remotes", type=REMOTE, nargs=-1, required=True)
@global_options
@pass_app
def trash_restore(app: App, remotes: tuple[str, ...], to: str | None, dry_run: bool) -> None:
    if to is not None and len(remotes) > 1:
        raise UsageError("--to takes one path to restore")
    for remote in remotes:
        backend, top, path = _open(app, remote, "trash")
        if not path:
            raise UsageError("trash restore needs a path, not the remote's top")
        target = _to_path(top, to)
        if dry_run:
            items = [i for i in backend.trash(_parent(path), True)
                     if i.path == path or i.path.startswith(path + "/")]
            if not items:
                raise ObjectNotFound("not in the trash", path=path)
            for i in items:
                dest = i.path if target is None else join_path(target, i.path[len(path):].lstrip("/"))
                skipped_dry_run(log, "restore from the trash", dest, -1 if i.is_dir else i.size)
            continue
        restored = backend.restore_trash(path, target)
        click.echo(f"restored {len(restored)} file{'s' if len(restored) != 1 else ''} from the trash: "
                   f"{path} -> {target or path}")


def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


@trash.command("rm", help="Remove trashed items permanently.")
@click.option("-n", "--dry-run", is_flag=True, help="Do a trial run with no permanent changes.")
@click.argument("remotes", type=REMOTE, nargs=-1, required=True)
@global_options
@pass_app
def trash_rm(app: App, remotes: tuple[str, ...], dry_run: bool) -> None:
    for remote in remotes:
        backend, _, path = _open(app, remote, "trash")
        if not path:
            raise UsageError("trash rm needs a path; 'cloudsync trash empty REMOTE:' empties it all")
        if dry_run:
            skipped_dry_run(log, "removal from the trash", path)
            continue
        backend.remove_trash(path)


@trash.command("empty", help="Empty the trash (= cleanup).")
@click.option("-n", "--dry-run", is_flag=True, help="Do a trial run with no permanent changes.")
@click.argument("remote", type=REMOTE)
@global_options
@pass_app
def trash_empty(app: App, remote: str, dry_run: bool) -> None:
    backend, _, _ = _open(app, remote, "trash")
    if dry_run:
        skipped_dry_run(log, "emptying the trash", remote)
        return
    backend.cleanup()
