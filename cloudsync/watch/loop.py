"""The watch loop: a full pass, then passes over what changed, until told to stop.

Each pass is an ordinary engine run (copy or sync, with every flag's meaning) narrowed by a
:class:`~.scope.ScopedFilter` to the changed folders; a full re-scan is the same run without
the narrowing.  Local renames become server-side moves on the destination first (sync only:
a move removes the old name, and copy never deletes), after which the pass finds the moved
files equal and transfers nothing.

Failures never end the loop unless they are fatal (credentials revoked, quota full,
``--max-delete``): the pass's folders go back in the queue and the next attempt waits, with
exponential back-off, while events keep being collected.  Losing the watched folder itself
(deleted, unmounted) ends it with an error, before any pass could mistake an empty mount point
for "everything was deleted".
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from ..errors import (
    CantDirMove,
    CantMove,
    CloudsyncError,
    DirNotFound,
    NotFound,
    Unsupported,
)
from ..log import notice
from .changes import Batch, Changes, Move
from .scope import ScopedFilter

if TYPE_CHECKING:
    from ..backend import Backend
    from ..engine.options import SyncOptions
    from ..engine.result import RunResult
    from ..events import Reporter
    from ..types import Entry

__all__ = ["WatchGone", "WatchOptions", "Watcher"]

log = logging.getLogger("cloudsync.watch")

#: Longest wait between attempts while the destination keeps failing.
MAX_BACKOFF_S = 300.0
#: How far the wall clock may run ahead of the monotonic clock before we assume the machine
#: slept (the monotonic clock stops during suspend on Linux and macOS).
SLEEP_JUMP_S = 30.0


class WatchGone(CloudsyncError):
    """The watched folder disappeared (deleted or unmounted)."""

    exit_code = 3


@dataclass(frozen=True)
class WatchOptions:
    delay: float = 2.0             # --watch-delay: quiet time before a change is synced
    rescan_interval: float = 3600.0  # --rescan-interval (0: never, apart from start and losses)
    max_wait: float = 60.0         # a folder that never goes quiet is still looked at this often
    tick: float = 1.0              # housekeeping period while idle


class _Stopped(KeyboardInterrupt):
    """Raised in the main thread by SIGTERM/SIGINT while a pass runs."""


class Watcher:
    """Keep ``dst`` a copy (``mode="copy"``) or mirror (``"sync"``) of local folder ``src``."""

    def __init__(self, src: Backend, dst: Backend, opts: SyncOptions, mode: str, *,
                 watch: WatchOptions | None = None, backup: Backend | None = None,
                 reporter_factory: Callable[[], Reporter] | None = None,
                 status: TextIO | None = None) -> None:
        self.src, self.dst, self.opts, self.mode = src, dst, opts, mode
        self.wopts = watch or WatchOptions()
        self.backup = backup
        self.root = os.path.realpath(src.root)
        self.changes = Changes()
        self.stop_event = threading.Event()
        self.cancel = threading.Event()
        self._reporter_factory = reporter_factory
        self._status = status
        self._in_pass = False
        self.passes = 0
        self.last_synced: float | None = None
        self.in_flight = 0
        self.exit_error: BaseException | None = None
        st = os.stat(self.root)
        self._dev = st.st_dev
        self._ino = st.st_ino
        self._guard_listings(src)
        self._watched: tuple[int, int] = (0, 0)  # files, folders (for -P)
        self._hashed_before = self._cached_before = 0  # hash counters at the last pass

    # -- signals --------------------------------------------------------------------------
    def request_stop(self, raise_in_pass: bool = True) -> None:
        """SIGTERM/SIGINT: take no new work; abandon transfers in flight (nothing partial is
        ever visible: uploads go to temporary names / incomplete JottaCloud uploads)."""
        first = not self.stop_event.is_set()
        self.stop_event.set()
        self.cancel.set()
        with self.changes._lock:
            self.changes._lock.notify_all()
        if first and raise_in_pass and self._in_pass:
            raise _Stopped()

    def install_signal_handlers(self) -> None:
        import signal

        def handler(signum: int, frame: Any) -> None:
            log.info("received signal %d: stopping", signum)
            self.request_stop()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    # -- checks -----------------------------------------------------------------------------
    def _check_root(self) -> None:
        try:
            st = os.stat(self.root)
        except OSError as err:
            raise WatchGone(f"the watched folder disappeared ({err.strerror}): stopped, and "
                            "nothing was deleted at the destination", path=self.root) from None
        if st.st_dev != self._dev or st.st_ino != self._ino:
            raise WatchGone("the watched folder was replaced or unmounted: stopped, and nothing "
                            "was deleted at the destination", path=self.root)

    def _guard_listings(self, src: Backend) -> None:
        """Make every listing of the watched folder prove, once it is complete, that it read
        the folder we watch.  The check at the top of each pass is not enough: a folder
        unmounted between that check and the listing reads as the empty mount point, and
        ``sync`` would then delete everything at the destination.  A listing that fails this
        check is a listing error, so the engine deletes nothing."""
        plain_list = src.list
        plain_recursive = src.list_recursive

        def guarded_list(path: str) -> Iterable[Entry]:
            entries = list(plain_list(path))
            self._check_root()
            return entries

        def guarded_recursive(path: str) -> Iterator[Entry]:
            yield from plain_recursive(path)
            self._check_root()

        # Instance attributes: capabilities are read from the class, so none changes.
        src.list = guarded_list  # type: ignore[method-assign]
        src.list_recursive = guarded_recursive  # type: ignore[method-assign]

    # -- the loop -----------------------------------------------------------------------------
    def run(self) -> int:
        """Watch until stopped; returns the exit code (0 after SIGTERM/SIGINT)."""
        from .observer import Observer

        observer: Observer | None = None
        ignore_names = tuple(self.opts.filters.ignore_file)
        try:
            observer = Observer(self.root, self.changes, ignore_names)
        except Exception as err:
            log.error("%s: cannot watch for changes (%s): re-scanning every %gs instead",
                      self.root, err, max(self.wopts.delay, 10.0))
        backoff = 0.0
        retry_at = 0.0
        next_full = 0.0  # the first pass is a full one
        wall, mono = time.time(), time.monotonic()
        failures = 0
        try:
            while not self.stop_event.is_set():
                now = time.monotonic()
                self._check_root()
                # the machine slept: events may have been dropped meanwhile
                new_wall = time.time()
                if (new_wall - wall) - (now - mono) > SLEEP_JUMP_S:
                    self.changes.lost("the machine woke from sleep")
                wall, mono = new_wall, now
                if observer is not None and not observer.alive():
                    log.error("%s: the file system watch stopped working: re-scanning",
                              self.root)
                    observer.stop()
                    observer = None
                    self.changes.lost("the file system watch failed")
                if observer is None:
                    try:
                        observer = Observer(self.root, self.changes, ignore_names)
                    except Exception as err:
                        log.debug("watch still unavailable: %s", err)
                        if next_full > now + max(self.wopts.delay, 10.0):
                            next_full = now + max(self.wopts.delay, 10.0)
                if now >= retry_at:
                    batch = self._next_batch(now, next_full)
                    if batch:
                        if batch.full:
                            interval = self.wopts.rescan_interval
                            next_full = now + interval if interval > 0 else float("inf")
                        ok = self._pass(batch)
                        if self.stop_event.is_set():
                            break
                        if ok:
                            failures, backoff = 0, 0.0
                        else:
                            failures += 1
                            self.changes.requeue(batch, time.monotonic())
                            backoff = min(MAX_BACKOFF_S, max(1.0, self.wopts.delay) * 2 ** (failures - 1))
                            retry_at = time.monotonic() + backoff
                            notice(log, "pass failed: retrying in %.0fs (changes keep being "
                                   "collected)", backoff)
                        if self.exit_error is not None:
                            break
                        continue
                self._render_status()
                self.changes.wait(self._sleep_for(next_full, retry_at))
        except _Stopped:
            pass
        except WatchGone as err:
            self.exit_error = err
        finally:
            if observer is not None:
                observer.stop()
            self._render_status(final=True)
        if self.exit_error is not None:
            from ..errors import exit_code_for

            log.error("%s", self.exit_error)
            return exit_code_for(self.exit_error)
        notice(log, "Stopped watching %s", self.root)
        return 0

    def _sleep_for(self, next_full: float, retry_at: float) -> float:
        now = time.monotonic()
        wake = min(now + self.wopts.tick, next_full)
        if retry_at > now:
            wake = min(wake, retry_at)
        else:
            ready = self.changes.next_ready(self.wopts.delay, self.wopts.max_wait)
            if ready is not None:
                wake = min(wake, ready + 0.01)
        return max(0.02, wake - now)

    def _next_batch(self, now: float, next_full: float) -> Batch:
        full = now >= next_full
        reason = "start" if self.passes == 0 else "periodic re-scan"
        return self.changes.take(now, self.wopts.delay, self.wopts.max_wait, full=full,
                                 reason=reason)

    # -- one pass ---------------------------------------------------------------------------
    def _pass(self, batch: Batch) -> bool:
        from ..engine.copy_sync import build_filter, run_copy

        self.passes += 1
        started = time.monotonic()
        base = build_filter(self.opts.filters).bind_source(self.src)  # fresh: re-reads ignore files
        scoped = ScopedFilter(base, batch, self.wopts.delay)
        moved = 0
        result: RunResult | None = None
        self._in_pass = True
        try:
            if self.stop_event.is_set():
                return True
            if batch.moves and self.mode == "sync":
                moved = self._server_side_moves(batch.moves, base)
            reporter = self._reporter()
            result = run_copy(self.src, self.dst, self.opts, self.mode,  # type: ignore[arg-type]
                              reporter=reporter, backup=self.backup, filt=scoped,
                              cancel=self.cancel)
        finally:
            self._in_pass = False
        # files still being written: their folders are looked at again once they settle
        now = time.monotonic()
        for folder in scoped.unsettled:
            self.changes.dir_changed(folder, now, event=False)
        self._log_pass(batch, result, moved, time.monotonic() - started)
        if batch.full:
            self._count_watched()
        if result is not None and result.final_error is not None:
            from ..engine.retry import is_fatal

            # credentials revoked, quota full, --max-delete reached: a person must act
            if is_fatal(result.final_error):
                self.exit_error = result.final_error
            return False
        self.last_synced = time.time()
        return True

    def _server_side_moves(self, moves: list[Move], filt: Any) -> int:
        """Renames and moves done on the destination itself; anything doubtful is left to the
        pass (which then uploads and deletes as usual)."""
        dst = self.dst
        can_move, can_dir_move = dst.has("move"), dst.has("dir_move")
        done = 0
        moved_dirs: list[str] = []
        for mv in moves:
            if self.stop_event.is_set():
                break
            if any(mv.old == d or mv.old.startswith(d + "/") for d in moved_dirs):
                continue  # carried along with its folder
            if not (filt.include_path(mv.old) and filt.include_path(mv.new)):
                continue
            local = os.path.join(self.root, *mv.new.split("/"))
            try:
                if mv.is_dir:
                    if not can_dir_move or not os.path.isdir(local):
                        continue
                    if not filt.include_dir(mv.old) or not filt.include_dir(mv.new):
                        continue
                    old = dst.stat(mv.old)
                    if not old.is_dir or _exists(dst, mv.new):
                        continue
                    if self.opts.dry_run:
                        notice(log, "%s: Skipped move as --dry-run is set (to %s)", mv.old, mv.new)
                        continue
                    dst.dir_move(dst, mv.old, mv.new)
                    moved_dirs.append(mv.old)
                else:
                    if not can_move:
                        continue
                    st = os.stat(local)
                    old = dst.stat(mv.old)
                    if old.is_dir or old.size != st.st_size or _exists(dst, mv.new):
                        continue
                    if self.opts.dry_run:
                        notice(log, "%s: Skipped move as --dry-run is set (to %s)", mv.old, mv.new)
                        continue
                    dst.move(dst, mv.old, mv.new)
            except (NotFound, DirNotFound, CantMove, CantDirMove, Unsupported, OSError) as err:
                log.debug("%s: no server-side move to %s (%s): the pass will copy it",
                          mv.old, mv.new, err)
                continue
            except CloudsyncError as err:
                log.info("%s: server-side move to %s failed (%s): the pass will copy it",
                         mv.old, mv.new, err)
                continue
            done += 1
            log.info("%s: Moved (server-side) to: %s", mv.old, mv.new,
                     extra={"object": mv.old})
        return done

    # -- reporting ----------------------------------------------------------------------------
    def _reporter(self) -> Reporter:
        from ..events import TransferDone, TransferStarted

        inner = self._reporter_factory() if self._reporter_factory else None
        self.in_flight = 0

        def report(event: Any) -> None:
            if isinstance(event, TransferStarted):
                self.in_flight += 1
            elif isinstance(event, TransferDone):
                self.in_flight -= 1
            if inner is not None:
                inner(event)

        return report

    def _log_pass(self, batch: Batch, result: RunResult | None, moved: int,
                  elapsed: float) -> None:
        if result is None:
            return
        stats = result.stats.snapshot()
        from ..hashcache import counters

        hashed, cached = counters()
        record = {"pass": self.passes, "kind": "full" if batch.full else "incremental",
                  "folders": len(batch.dirs) + len(batch.trees), "moves": moved,
                  "elapsed": round(elapsed, 3), "files_hashed": hashed - self._hashed_before,
                  "hashes_from_cache": cached - self._cached_before}
        self._hashed_before, self._cached_before = hashed, cached
        text = (f"Watch pass {self.passes} ({batch.describe()}): "
                f"{stats.get('transfers', 0)} transferred, {moved} moved, "
                f"{stats.get('deletes', 0)} deleted, {stats.get('errors', 0)} errors "
                f"in {elapsed:.1f}s")
        level = logging.INFO
        if batch.full or stats.get("transfers") or stats.get("deletes") \
                or stats.get("errors") or moved:
            level = 25  # NOTICE
        log.log(level, "%s", text, extra={"stats": stats, "watch": record})

    def _count_watched(self) -> None:
        if self._status is None:
            return
        files = folders = 0
        stack = [self.root]
        while stack:
            try:
                with os.scandir(stack.pop()) as it:
                    for de in it:
                        if de.is_dir(follow_symlinks=False):
                            folders += 1
                            stack.append(de.path)
                        else:
                            files += 1
            except OSError:
                continue
        self._watched = (files, folders + 1)

    def _render_status(self, final: bool = False) -> None:
        out = self._status
        if out is None:
            return
        files, folders = self._watched
        last = (time.strftime("%H:%M:%S", time.localtime(self.last_synced))
                if self.last_synced else "never")
        line = (f"Watching {files} files in {folders} folders; queued {self.changes.pending}; "
                f"in flight {self.in_flight}; last change synced at {last}")
        out.write("\r\x1b[2K" + line + ("\n" if final else ""))
        out.flush()


def _exists(backend: Backend, path: str) -> bool:
    try:
        backend.stat(path)
    except NotFound:
        return False
    return True


def default_status_stream(progress: bool) -> TextIO | None:
    return sys.stderr if progress and sys.stderr.isatty() else None
