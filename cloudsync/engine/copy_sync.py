"""copy / sync / move: scan (march) → plan (Planner) → act (Executor)."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..errors import (
    CantDirMove,
    CloudsyncError,
    DirExists,
    FatalError,
    IsFileError,
    NotFound,
    Unsupported,
    UsageError,
)
from ..events import Reporter
from ..log import notice
from ..types import Entry
from .act import Executor, Run
from .dests import ExtraDests
from .limits import Cutoff, TransferOrder, bandwidth_limit, parse_order_by
from .march import KeyFunc, Side, make_key, march, report_duplicate
from .options import SyncOptions
from .plan import CHECKSUM_FALLBACK_NOTICE, Context, Mode, Phase, Planner
from .rename_act import track_renames
from .renames import parse_strategy, why_ignored
from .result import RunResult
from .retry import call_with_retries

if TYPE_CHECKING:
    from ..backend import Backend
    from ..filters import Filter

__all__ = ["build_filter", "overlaps", "run_copy"]

log = logging.getLogger("cloudsync.engine")

OVERLAP_MESSAGE = ("can't sync or move files on overlapping remotes (try excluding the destination "
                   "with a filter rule)")


def build_filter(opts_filters: object) -> Filter:
    from ..filters import Filter
    from .options import FilterOptions

    assert isinstance(opts_filters, FilterOptions)
    return Filter.from_options(opts_filters)


def _norm_root(root: str) -> str:
    return root.replace("\\", "/").rstrip("/")


def _relative_inside(inner: Backend, outer: Backend) -> str | None:
    """``inner``'s root relative to ``outer``'s root when it lies inside it (same remote)."""
    if inner.type_name != outer.type_name or inner.name != outer.name:
        return None
    a, b = _norm_root(inner.root), _norm_root(outer.root)
    if a == b:
        return ""
    if b == "" and not a.startswith("/"):
        return a
    if a.startswith(b + "/"):
        return a[len(b) + 1:]
    return None


def overlaps(a: Backend, b: Backend) -> bool:
    """One root is inside the other on the same remote."""
    return _relative_inside(a, b) is not None or _relative_inside(b, a) is not None


def _dst_excluded_by_filter(src: Backend, dst: Backend, filt: Filter) -> bool:
    rel = _relative_inside(dst, src)
    if not rel:
        return False
    parts = rel.split("/")
    return any(not filt.include_dir("/".join(parts[: i + 1])) for i in range(len(parts)))


def run_copy(src: Backend, dst: Backend, opts: SyncOptions, mode: Mode, *,
             reporter: Reporter | None = None, backup: Backend | None = None,
             src_file: str | None = None, filt: Filter | None = None,
             cancel: threading.Event | None = None, dests: Sequence[Backend] = ()) -> RunResult:
    """The engine behind copy, sync and move.

    ``filt`` replaces the filter built from ``opts.filters`` (watch mode narrows a run to the
    folders that changed); once ``cancel`` is set, transfers in flight are abandoned (nothing
    half-written becomes visible) and no new work starts.  ``dests``: the --compare-dest /
    --copy-dest folders, on the destination's remote.
    """
    if filt is None:
        filt = build_filter(opts.filters).bind_source(src)
    run = Run(checkers=opts.checkers, transfers=opts.transfers, dry_run=opts.dry_run,
              reporter=reporter, backlog=opts.max_backlog, confirm=opts.confirm)
    run.cutoff = Cutoff(run, opts)
    run.bwlimit = bandwidth_limit(opts)
    run.cancel = cancel
    run.ignore_errors = opts.ignore_errors
    for backend in (src, dst, backup):
        if backend is not None:
            backend.set_concurrency(opts.transfers + opts.checkers)
            backend.set_low_level_retries(opts.low_level_retries)
    try:
        result = _run(run, src, dst, opts, mode, filt, backup, src_file, dests)
        if not opts.dry_run:
            # Temp files a killed earlier run left (the listings noted them; a file written
            # again already adopted its own): nothing of the tree, so they go now.
            try:
                dst.remove_leftovers()
            except Exception as err:  # cosmetic: never fails the run
                log.debug("could not remove leftover temporary files: %s", err)
        return result
    except BaseException:
        # Ctrl-C or a bug: let queued work see the stop flag instead of starting
        run.stop.set()
        raise
    finally:
        run.cutoff.close()
        run.close()


def _run(run: Run, src: Backend, dst: Backend, opts: SyncOptions, mode: Mode, filt: Filter,
         backup: Backend | None, src_file: str | None, dests: Sequence[Backend] = ()) -> RunResult:
    # --- safety checks before touching anything --------------------------------------------
    if mode != "copy" and overlaps(src, dst) and not _dst_excluded_by_filter(src, dst, filt):
        run.refuse(FatalError(OVERLAP_MESSAGE))
        return run.result()
    if backup is not None:
        if overlaps(backup, dst):
            run.refuse(FatalError("destination and parameter to --backup-dir mustn't overlap"))
            return run.result()
        if overlaps(backup, src) and not _dst_excluded_by_filter(src, backup, filt):
            run.refuse(FatalError("source and parameter to --backup-dir mustn't overlap"))
            return run.result()
    elif opts.suffix:
        # --suffix without --backup-dir: the backup stays next to the original.
        backup = dst
    if opts.no_traverse and mode == "sync":
        log.error("--no-traverse can't be used with sync: ignoring it")
    if opts.no_check_dest and mode == "sync":
        run.count_error(CloudsyncError("can't use --no-check-dest with sync: use copy instead"))
        return run.result()

    strategy = None
    try:
        strategy = parse_strategy(opts.track_renames_strategy)
    except UsageError as err:  # rclone: an error of the run (exit 1), whatever the command
        run.refuse(CloudsyncError(err.message))
        return run.result()
    tracking = False
    if opts.track_renames:
        if mode == "sync" and opts.delete_mode == "before":
            run.refuse(FatalError("can't use --delete-before with --track-renames"))
            return run.result()
        ctx = Context.build(opts, src.features, dst.features, dst.capabilities())
        reason = why_ignored(strategy, sync=mode == "sync", dst_can_move=dst.has("move"),
                             hash_type=ctx.hash_type, window=ctx.window)
        if reason is not None:
            log.error("%s: %s", dst, reason, extra={"object": str(dst)})
        else:
            tracking = True
            if opts.delete_mode != "after":  # renames need the deletions after the transfers
                opts = dataclasses.replace(opts, delete_mode="after")
    ctx = Context.build(opts, src.features, dst.features, dst.capabilities())
    if ctx.checksum_fallback:
        run.notice_once(CHECKSUM_FALLBACK_NOTICE)
    max_delete = opts.max_delete
    executor = Executor(run, src, dst, ctx, backup=backup, low_level_retries=opts.low_level_retries,
                        max_delete=max_delete, max_delete_size=opts.max_delete_size)
    executor.move_mode = mode == "move"
    if dests:
        try:
            executor.use_dests(ExtraDests(list(dests), copy=bool(opts.copy_dest), src=src, dst=dst,
                                          ctx=ctx, retries=opts.low_level_retries))
        except FatalError as err:
            run.refuse(err)
            return _finish(run)
    try:
        order = parse_order_by(opts.order_by)
    except FatalError as err:
        run.refuse(err)
        return _finish(run)
    if order is not None:
        order_key, descending, mixed = order
        executor.set_order(TransferOrder(order_key, descending, mixed, workers=run.transfers.workers))

    if src_file is not None:
        _single_file(run, executor, src, dst, ctx, mode, src_file, backup is not None)
        run.join()
        executor.release_held()
        run.join()
        return _finish(run)

    if (mode == "move" and not filt.active and filt.max_depth < 0
            and dst.same_remote(src) and dst.has("dir_move")):
        # (a dry run or -i's "no" skips it, named by the destination remote, as rclone's)
        if run.skip("server-side directory move", str(dst), -1):
            return _finish(run, quiet=True)
        try:
            call_with_retries(lambda: dst.dir_move(src, "", ""), opts.low_level_retries)
        except (DirExists, CantDirMove, Unsupported, NotFound) as err:
            # (a missing source root is reported by the march below, the usual way)
            log.debug("server-side directory move not possible (%s): moving file by file", err)
        except Exception as err:
            run.count_error(err)
            return _finish(run)
        else:
            log.info("%s: Server side directory move succeeded", dst, extra={"object": str(dst)})
            return _finish(run, quiet=True)

    key = make_key(normalize=not opts.no_unicode_normalization,
                   fold_case=dst.features.case_insensitive or opts.ignore_case_sync)
    delete_excluded = filt.delete_excluded or opts.filters.delete_excluded

    def count_listed(n: int) -> None:
        run.stats.add(listed=n)

    def side_src() -> Side:
        return Side(src, filt, low_level_retries=opts.low_level_retries, count_listed=count_listed,
                    use_recursive=src.has("list_recursive") if opts.fast_list else None)

    def side_dst() -> Side:
        return Side(dst, filt, low_level_retries=opts.low_level_retries, count_listed=count_listed,
                    use_recursive=dst.has("list_recursive") if opts.fast_list else None,
                    include_all=delete_excluded and mode == "sync")

    phases: list[Phase] = ["all"]
    if mode == "sync" and opts.delete_mode == "before":
        phases = ["delete", "copy"]
    planner: Planner | None = None
    src_side, dst_side = side_src(), side_dst()
    # --no-traverse (copy, move): look each source file up on the destination, never list it
    dst_side.lookup_only = (opts.no_traverse or opts.no_check_dest) and mode != "sync"
    # --no-check-dest: the destination is neither listed nor looked up; all is transferred
    dst_side.blind = opts.no_check_dest
    for phase in phases:
        if run.stop.is_set():
            break
        if phase == "copy" and run.had_errors and not opts.ignore_errors:
            # rclone's delete-before pass failed: do not go on to copy against a half-known tree
            break
        previous = planner
        planner = Planner(ctx, mode, backup=backup is not None, phase=phase)
        if tracking:
            planner.held_new = []
        if previous is not None:
            # --delete-before: the delete pass saw the destination-only dirs to prune
            planner.dst_only_dirs = previous.dst_only_dirs
        _march_phase(run, executor, planner, src_side, dst_side, key, opts, mode, filt,
                     error_on_case=dst.features.case_insensitive, count_checks=phase != "delete")
        run.join()
        executor.release_held()  # --check-first: the checks are done, the transfers start
        run.join()
        if phase == "delete":
            _delete_candidates(run, executor, planner, dst, opts)

    if planner is None:  # stopped before the march began (e.g. --max-duration already over)
        return _finish(run)
    if tracking and planner.held_new is not None and not run.stop.is_set():
        track_renames(run, executor, planner, strategy)
    # --- deletions after the transfers --------------------------------------------------------
    if mode == "sync" and opts.delete_mode == "after" and not run.stop.is_set():
        _delete_candidates(run, executor, planner, dst, opts)
    elif planner.held_deletes and not run.stop.is_set():
        # --delete-during from a source with no files: announced, then deleted, as above
        planner.delete_candidates = planner.held_deletes
        planner.held_deletes = []
        _delete_candidates(run, executor, planner, dst, opts)
    # --- directories (rclone's order: new dirs, their modtimes, then pruning) -----------------
    if not run.stop.is_set():
        for action in planner.mkdir_actions(frozenset(executor.filled)):
            executor.mkdir(action.path)
    if ctx.dir_modtimes and not run.stop.is_set():
        # after every file write and delete, since those change a directory's modtime
        modified = executor.modified_dirs | set(planner.src_only_dirs)
        executor.set_dir_modtimes(planner.dir_modtime_levels(modified))
    if mode == "sync" and not run.stop.is_set():
        prune = planner.prune_actions()
        if run.had_errors and not opts.ignore_errors:
            log.error("%s: not deleting directories as there were IO errors", dst,
                      extra={"object": str(dst)})
        else:
            for action in prune:
                executor.rmdir(action.path)
    if mode == "move" and opts.delete_empty_src_dirs and not run.stop.is_set():
        _delete_empty_src_dirs(run, executor, src_side, planner, opts)
    return _finish(run)


def _delete_candidates(run: Run, executor: Executor, planner: Planner, dst: Backend,
                       opts: SyncOptions) -> None:
    """Delete the collected destination-only files, unless any error was counted."""
    if run.stop.is_set():
        return
    if run.had_errors and not opts.ignore_errors:
        log.error("%s: not deleting files as there were IO errors", dst,
                  extra={"object": str(dst)})
        return
    if planner.src_files == 0 and planner.delete_candidates:
        empty_source_notice(dst, len(planner.delete_candidates), opts.dry_run)
    for action in planner.deletions():
        # (a spent --max-delete budget stops the run but not this loop: each delete checks
        # the budget itself, like rclone's; any other fatal error ends it)
        if run.stop.is_set() and len(run.errors) > executor.budget_errors:
            break
        executor.dispatch(action)
    run.join()


def empty_source_notice(dst: Backend, count: int, dry_run: bool) -> None:
    """rclone deletes everything when syncing from an empty source; we do too, but say so
    first, in one loud line, with the way back where there is one."""
    files = f"{count} file{'s' if count != 1 else ''}"
    verb = "would delete" if dry_run else "deletes"
    text = f"{dst}: the source has no files: sync {verb} all {files} on the destination"
    if dst.deletes_to_trash:
        where = f"{dst.name}:{dst.root}".rstrip("/")
        text += (f"; they go to the trash: `cloudsync trash ls {where}` lists them and "
                 f"`cloudsync trash restore {where}/PATH` brings them back")
    elif not dry_run:
        text += "; they cannot be restored"
    notice(log, "%s (--dry-run shows what would go, --max-delete N limits it)", text)


def _march_phase(run: Run, executor: Executor, planner: Planner, src_side: Side, dst_side: Side,
                 key: KeyFunc, opts: SyncOptions, mode: Mode, filt: Filter, *,
                 error_on_case: bool, count_checks: bool = True) -> None:
    k = key

    def on_error(err: BaseException, path: str) -> None:
        run.count_error(err, path or None)

    descend_dst = mode == "sync"
    max_depth = filt.max_depth if filt.max_depth >= 0 else opts.filters.max_depth
    stats = run.stats
    # --fix-case: only meaningful where names match regardless of case
    fix_case = opts.fix_case and (executor.dst.features.case_insensitive or opts.ignore_case_sync)
    checks = 0  # counted locally and flushed in batches: one lock per 256 pairs, not per pair
    for pair in march(src_side, dst_side, key=k, on_error=on_error, checkers=opts.checkers,
                      max_depth=max_depth, descend_dst_only=descend_dst,
                      on_src_duplicate=report_duplicate("source", error_on_case, on_error),
                      on_dst_duplicate=report_duplicate("destination", False, on_error),
                      stop=run.stop):
        if run.stop.is_set():
            break
        src, dst = pair.src, pair.dst
        if fix_case and src is not None and dst is not None and src.name != dst.name:
            if src.is_dir:
                # rename the dir before the march descends into it (rclone fixes each dir
                # before its contents); the march lists it under the new name
                old = dst.path
                dst = pair.dst = executor.fix_case_dir(dst, src.name)
                if dst.path != old:
                    dst_side.renamed_dir(old, dst.path)
            else:
                dst = executor.fix_case(dst, src.name)
        if count_checks and src is not None and dst is not None and not src.is_dir:
            checks += 1
            if checks == 256:
                stats.add(checks=checks, total_checks=checks)
                checks = 0
        action = planner.pair(src, dst, pair.dst_path, pair.dst_dir)
        if action is not None:
            executor.dispatch(action, batchable=True)
        if planner.held_deletes and planner.src_files:
            for held in planner.release_held_deletes():
                executor.dispatch(held)
    executor.flush()
    if checks:
        stats.add(checks=checks, total_checks=checks)


def _single_file(run: Run, executor: Executor, src: Backend, dst: Backend, ctx: Context,
                 mode: Mode, name: str, has_backup: bool) -> None:
    """copy/sync/move when SRC names one file: only that file, and no deletions."""
    retries = ctx.opts.low_level_retries
    try:
        src_entry = call_with_retries(lambda: src.stat(name), retries)
    except Exception as err:
        run.count_error(err, name)
        return
    dst_entry: Entry | None
    try:
        dst_entry = call_with_retries(lambda: dst.stat(name), retries)
    except (NotFound, IsFileError):
        dst_entry = None
    except Exception as err:
        run.count_error(err, name)
        return
    if dst_entry is not None and dst_entry.is_dir:
        dst_entry = None
    planner = Planner(ctx, "copy" if mode == "sync" else mode, backup=has_backup)
    if dst_entry is not None:
        run.stats.add(checks=1, total_checks=1)
    action = planner.pair(src_entry, dst_entry)
    if action is not None:
        executor.dispatch(action)


def _delete_empty_src_dirs(run: Run, executor: Executor, src_side: Side, planner: Planner,
                           opts: SyncOptions) -> None:
    """move --delete-empty-src-dirs: remove source dirs left empty (never the root)."""
    dirs: list[str] = []
    pending = [""]
    while pending:
        path = pending.pop()
        try:
            # list for real: a recursive listing cached earlier describes the tree before the move
            def fetch(p: str = path) -> list[Entry]:
                return list(src_side.backend.list(p))

            entries = call_with_retries(fetch, opts.low_level_retries)
        except Exception:
            continue
        for e in entries:
            if e.is_dir:
                dirs.append(e.path)
                pending.append(e.path)
    for path in sorted(dirs, key=lambda p: (-p.count("/"), p)):
        executor.rmdir(path, executor.src)


def _finish(run: Run, *, quiet: bool = False) -> RunResult:
    """The run's result; ``quiet``: no "nothing to transfer" line (rclone has none after a
    whole-folder server-side move, done or skipped, yet counts nothing transferred)."""
    stats = run.stats
    nothing = stats.transfers == 0
    if nothing and not run.had_errors and not quiet:
        log.info("There was nothing to transfer")
    return run.result(nothing_transferred=nothing)
