"""Single-object and housekeeping operations: walk, copyto/moveto, delete, purge, rmdirs."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..errors import (
    CantPurge,
    CloudsyncError,
    DirNotFound,
    IsFileError,
    NotFound,
    Unsupported,
)
from ..events import Reporter
from ..types import Entry
from .act import Executor, Run
from .limits import Cutoff, bandwidth_limit
from .listing import walk_tree
from .options import SyncOptions
from .plan import Action, Context, decide_file
from .result import RunResult
from .retry import call_with_retries

if TYPE_CHECKING:
    from ..backend import Backend
    from ..filters import Filter

__all__ = ["copy_to", "delete_files", "purge_dir", "remove_empty_dirs", "walk_tree"]

log = logging.getLogger("cloudsync.engine")


# ------------------------------------------------------------------------------------------------


def copy_to(src: Backend, src_path: str, dst: Backend, dst_path: str, opts: SyncOptions, *,
            move: bool, reporter: Reporter | None = None,
            backup: Backend | None = None) -> RunResult:
    """copyto / moveto: one file to a new name (rclone's CopyFile / MoveFile)."""
    run = Run(checkers=1, transfers=1, dry_run=opts.dry_run, reporter=reporter, confirm=opts.confirm)
    run.cutoff = Cutoff(run, opts)
    run.bwlimit = bandwidth_limit(opts)
    try:
        _copy_to(run, src, src_path, dst, dst_path, opts, move, backup)
        run.join()
    finally:
        run.cutoff.close()
        run.close()
    res = run.result(nothing_transferred=run.stats.transfers == 0)
    return res


def _copy_to(run: Run, src: Backend, src_path: str, dst: Backend, dst_path: str,
             opts: SyncOptions, move: bool, backup: Backend | None = None) -> None:
    retries = opts.low_level_retries
    same_object = (dst.same_remote(src) and dst.root == src.root and src_path == dst_path)
    if move and same_object:
        return  # moveto onto itself is a no-op
    try:
        s = call_with_retries(lambda: src.stat(src_path), retries)
    except NotFound:
        # rclone treats a missing SRC as a directory: "directory not found" (exit 3)
        run.count_error(DirNotFound(path=src_path), src_path)
        return
    except Exception as err:
        run.count_error(err, src_path)
        return
    if s.is_dir:
        run.count_error(IsFileError("is a directory, use copy/move for directories",
                                    path=src_path), src_path)
        return
    try:
        d: Entry | None = call_with_retries(lambda: dst.stat(dst_path), retries)
    except NotFound:
        d = None
    except Exception as err:
        run.count_error(err, dst_path)
        return
    if d is not None and d.is_dir:
        run.count_error(CloudsyncError("can't overwrite a directory with a file", path=dst_path),
                        dst_path)
        return
    ctx = Context.build(opts, src.features, dst.features, dst.capabilities())
    if backup is None and opts.suffix:
        backup = dst  # --suffix alone: the backup stays next to the original
    ex = Executor(run, src, dst, ctx, backup=backup, low_level_retries=retries)
    ex.move_mode = move
    if same_object:
        return  # copyto onto itself: "same object", nothing to do
    # Decide on an entry renamed to the destination path so actions carry the new name.
    from dataclasses import replace

    s_named = replace(s, path=dst_path)
    action = decide_file(s_named, d, ctx)
    if action.kind == "copy" and move:
        action.kind = "move"
    if action.kind in ("copy", "move"):
        # The transfer reads ``src_path`` but writes ``dst_path``.
        _transfer_renamed(run, ex, s, d, dst_path, move=move, backup=backup is not None and d is not None)
        return
    if action.kind == "hash":
        action = ex._rehash(action)
        if action.kind in ("copy", "move"):
            _transfer_renamed(run, ex, s, d, dst_path, move=move,
                              backup=backup is not None and d is not None)
            return
    if action.kind == "update_modtime":
        ex.update_modtime(Action("update_modtime", dst_path, s, d))
    elif action.kind == "error":
        ex.dispatch(action)
        return
    if move:
        # equal: just remove the source (rclone's DeleteFile: one delete, one check)
        if run.skip("delete", s.path, s.size):
            run.stats.add(deletes=1, checks=1, total_checks=1)
        else:
            try:
                call_with_retries(lambda: src.delete(s.path), retries)
                log.info("%s: Deleted", s.path, extra={"object": s.path})
            except Exception as err:
                run.count_error(err, s.path)
            else:
                run.stats.add(deletes=1, checks=1, total_checks=1)


def _transfer_renamed(run: Run, ex: Executor, s: Entry, d: Entry | None, dst_path: str, *,
                      move: bool, backup: bool) -> None:
    run.stats.add(total_transfers=1, total_bytes=max(s.size, 0))
    # rclone asks (and logs) a move under another name as 'move to NEW'
    leaf = dst_path.rsplit("/", 1)[-1]
    verb = ("move" if leaf == s.path.rsplit("/", 1)[-1] else f"move to {leaf}") if move else "copy"
    if run.skip(verb, s.path, s.size):
        run.stats.add(transfers=1, bytes=max(s.size, 0), renames=1 if move else 0)
        return
    if run.cutoff is not None and run.cutoff.active and not run.cutoff.may_start(s.size):
        return
    try:
        if backup and d is not None:
            ex._backup(d)
        ex._transfer(s, dst_path, move=move, replacing=d is not None and not backup)
    except Exception as err:
        run.count_error(err, s.path)
        return
    run.stats.add(transfers=1)


# ------------------------------------------------------------------------------------------------


def delete_files(backend: Backend, path: str, opts: SyncOptions, *, rmdirs: bool = False) -> RunResult:
    """``delete``: remove every file below ``path`` the filters include (dirs kept unless rmdirs)."""
    from ..filters import Filter

    filt = Filter.from_options(opts.filters).bind_source(backend)
    run = Run(checkers=opts.checkers, transfers=1, dry_run=opts.dry_run, confirm=opts.confirm)
    run.ignore_errors = True  # delete has no "errors suppress deletes" rule
    ctx = Context.build(opts, backend.features, backend.features, backend.capabilities())
    ex = Executor(run, backend, backend, ctx, low_level_retries=opts.low_level_retries,
                  max_delete=opts.max_delete, max_delete_size=opts.max_delete_size)
    try:
        try:
            for e in walk_tree(backend, path, filter=filt, files_only=True,
                               low_level_retries=opts.low_level_retries):
                if run.stop.is_set():
                    break
                ex.dispatch(Action("delete", e.path, None, e))
        except Exception as err:
            run.count_error(err, path or None)
        run.join()
        if rmdirs and not run.stop.is_set():
            _remove_empty(run, ex, backend, path, filt, leave_root=True,
                          retries=opts.low_level_retries)
    finally:
        run.close()
    return run.result()


def purge_dir(backend: Backend, path: str, opts: SyncOptions) -> RunResult:
    """``purge``: delete ``path`` and everything in it, ignoring filters."""
    run = Run(checkers=opts.checkers, transfers=1, dry_run=opts.dry_run, confirm=opts.confirm)
    run.ignore_errors = True
    ctx = Context.build(opts, backend.features, backend.features, backend.capabilities())
    ex = Executor(run, backend, backend, ctx, low_level_retries=opts.low_level_retries)
    retries = opts.low_level_retries
    # rclone's local backend has no purge: there a dry run or -i goes file by file and folder
    # by folder (each asked and reported on its own), as rclone's does
    one_by_one = run.may_skip and backend.features.is_local
    try:
        if not one_by_one and run.skip("purge directory", path or str(backend), -1):
            return run.result()
        if backend.has("purge") and not one_by_one:
            try:
                call_with_retries(lambda: backend.purge(path), retries)
                log.info("%s: Purged directory", path or str(backend),
                         extra={"object": path or str(backend)})
                return run.result()
            except (CantPurge, Unsupported):
                pass
            except DirNotFound as err:
                # rclone 1.75 exits 1 (not 3) for purging a missing directory
                run.count_error(CloudsyncError(err.message, path=path or None), path or None)
                return run.result()
            except Exception as err:
                run.count_error(err, path or None)
                return run.result()
        try:
            for e in walk_tree(backend, path, files_only=True, low_level_retries=retries):
                ex.dispatch(Action("delete", e.path, None, e))
        except DirNotFound as err:
            run.count_error(CloudsyncError(err.message, path=path or None), path or None)
            return run.result()
        except Exception as err:
            run.count_error(err, path or None)
        run.join()
        if not run.had_errors and not run.stop.is_set():
            _remove_empty(run, ex, backend, path, None, leave_root=False, retries=retries)
    finally:
        run.close()
    return run.result()


def remove_empty_dirs(backend: Backend, path: str, opts: SyncOptions, *,
                      leave_root: bool = False) -> RunResult:
    """``rmdirs``: remove every empty directory below ``path`` (deepest first)."""
    from ..filters import Filter

    filt = Filter.from_options(opts.filters).bind_source(backend)
    run = Run(checkers=1, transfers=1, dry_run=opts.dry_run, confirm=opts.confirm)
    ctx = Context.build(opts, backend.features, backend.features, backend.capabilities())
    ex = Executor(run, backend, backend, ctx, low_level_retries=opts.low_level_retries)
    try:
        _remove_empty(run, ex, backend, path, filt, leave_root=leave_root,
                      retries=opts.low_level_retries)
    finally:
        run.close()
    return run.result()


def _remove_empty(run: Run, ex: Executor, backend: Backend, path: str, filt: Filter | None, *,
                  leave_root: bool, retries: int) -> None:
    prefix = path.strip("/")
    cut = len(prefix) + 1 if prefix else 0
    dirs: list[str] = []
    nonempty: set[str] = set()
    try:
        # Unfiltered listing: an excluded file still keeps its directory alive.
        for e in walk_tree(backend, prefix, low_level_retries=retries):
            if e.is_dir:
                rel = e.path[cut:]
                if filt is None or filt.include_dir(rel):
                    dirs.append(e.path)
                else:
                    nonempty.add(e.path)
            else:
                nonempty.add(e.path)
    except Exception as err:
        run.count_error(err, path or None)
        return
    # Anything non-empty makes all its ancestors non-empty.
    alive: set[str] = set()
    for p in nonempty:
        parent = p.rsplit("/", 1)[0] if "/" in p else ""
        while parent and parent not in alive:
            alive.add(parent)
            parent = parent.rsplit("/", 1)[0] if "/" in parent else ""
    all_removed = True
    for d in sorted(dirs, key=lambda p: (-p.count("/"), p)):
        if d in alive:
            all_removed = False
            continue
        if ex.rmdir(d, backend):
            continue
        all_removed = False
        # could not remove: its parents are not empty either
        parent = d
        while "/" in parent:
            parent = parent.rsplit("/", 1)[0]
            alive.add(parent)
    if (not leave_root and all_removed and not nonempty
            and not ex.rmdir(prefix, backend) and not run.dry_run):
        run.count_error(CloudsyncError("failed to remove directory", path=prefix or None),
                        prefix or None)
