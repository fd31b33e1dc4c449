"""Act for ``sync --track-renames``: hash the candidates, match them (:mod:`.renames`) and turn
each match into a server-side move on the destination; everything else is copied as usual."""

from __future__ import annotations

import dataclasses
import logging
import threading
from typing import TYPE_CHECKING

from .renames import Strategy, match_renames, needs_hash
from .retry import call_with_retries

if TYPE_CHECKING:
    from ..backend import Backend
    from ..types import Entry
    from .act import Executor, Run
    from .plan import Action, Planner

__all__ = ["track_renames"]

log = logging.getLogger("cloudsync.engine")


def track_renames(run: Run, executor: Executor, planner: Planner, strategy: Strategy) -> None:
    """Run the held-back new files of ``planner`` through rename matching, then copy the rest.

    Matched destination files leave ``planner.delete_candidates``; the deletions after the
    transfers then see only what really went away.
    """
    held = planner.held_new or []
    planner.held_new = None
    ctx = executor.ctx
    src_be, dst_be = executor.src, executor.dst
    ht = ctx.hash_type
    log.info("%s: Making map for --track-renames", dst_be, extra={"object": str(dst_be)})
    sources = [a.src for a in held if a.src is not None]
    sizes = {s.size for s in sources}
    # rclone hashes (and counts as a check) every destination file of a size worth matching
    dsts = [d for d in planner.delete_candidates if d.size in sizes]
    if dsts:
        run.stats.add(checks=len(dsts), total_checks=len(dsts))
    workers = run.checkers.workers
    dst_hashed = _with_hashes(dst_be, dsts, needs_hash(dsts, sizes, strategy, ht), ht,
                              executor.retries, workers)
    dst_sizes = {d.size for d in dsts}
    sources = _with_hashes(src_be, sources, needs_hash(sources, dst_sizes, strategy, ht), ht,
                           executor.retries, workers)
    log.info("%s: Finished making map for --track-renames", dst_be, extra={"object": str(dst_be)})
    renames, _unmatched = match_renames(sources, dst_hashed, strategy, ht, ctx.window)
    by_path = {a.src.path: a for a in held if a.src is not None}
    renamed: set[str] = set()
    lock = threading.Lock()

    def rename(src: Entry, dst: Entry, action: Action) -> None:
        if _move(run, executor, dst, action.path):
            with lock:
                renamed.add(dst.path)
        else:  # (rclone: a failed rename is only logged; the file is uploaded instead)
            executor.dispatch(action)

    matched: set[str] = set()
    for src, dst in renames:
        action = by_path[src.path]
        matched.add(src.path)
        run.checkers.submit(rename, src, dst, action)
    for action in held:
        if action.src is not None and action.src.path not in matched:
            executor.dispatch(action)
    run.join()
    executor.release_held()  # --check-first
    run.join()
    if renamed:
        planner.delete_candidates = [d for d in planner.delete_candidates
                                     if d.path not in renamed]


def _with_hashes(backend: Backend, entries: list[Entry], missing: list[Entry], ht: str | None,
                 retries: int, workers: int) -> list[Entry]:
    """``entries`` with the ``ht`` hash filled in for those in ``missing``, ``workers`` at a
    time (a file that cannot be hashed keeps none and is simply never matched, as in rclone)."""
    if not missing or ht is None:
        return entries
    from concurrent.futures import ThreadPoolExecutor

    def fetch(entry: Entry) -> str | None:
        try:
            return call_with_retries(lambda: backend.hash(entry.path, ht), retries)
        except Exception as err:
            log.debug("%s: Hash failed: %s", entry.path, err, extra={"object": entry.path})
            return None

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(missing)))) as pool:
        found = dict(zip((e.path for e in missing), pool.map(fetch, missing), strict=True))
    out: list[Entry] = []
    for entry in entries:
        value = found.get(entry.path)
        if value:
            entry = dataclasses.replace(entry, hashes={**entry.hashes, ht: value})
        out.append(entry)
    return out


def _move(run: Run, executor: Executor, dst: Entry, new_path: str) -> bool:
    """Server-side move of destination file ``dst`` to ``new_path``; False when it failed."""
    size = max(dst.size, 0)
    stats = run.stats
    if run.skip(f"move to {new_path}", dst.path, dst.size):
        # (--dry-run, or "no" at -i: accounted as done, and the old name is not deleted, as
        # rclone's Move reports success there)
        stats.add(renames=1, bytes=size, checks=1, total_checks=1)
    else:
        backend = executor.dst
        try:
            call_with_retries(lambda: backend.move(backend, dst.path, new_path), executor.retries)
        except Exception as err:
            log.debug("%s: Failed to rename to %r: %s", new_path, dst.path, err,
                      extra={"object": new_path})
            return False
        # rclone's Move: one check, one server-side move, one rename
        stats.add(renames=1, server_side_moves=1, server_side_move_bytes=size, checks=1,
                  total_checks=1)
        log.info("%s: Moved (server-side) to: %s", dst.path, new_path,
                 extra={"object": dst.path, "size": dst.size})
    log.info('%s: Renamed from "%s"', new_path, dst.path, extra={"object": new_path})
    executor.note_written(new_path)
    return True
