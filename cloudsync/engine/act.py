"""Act: run planned actions on bounded thread pools, with rclone's logging and accounting.

:class:`Run` owns the per-run state every worker shares: the :class:`~cloudsync.events.Stats`,
the counted errors (and rclone's choice of the final one), the stop flag set by fatal errors,
the two pools (``--checkers`` for compare/hash/delete work, ``--transfers`` for copies) and the
one-shot notices.  Work is handed to the pools through a semaphore so at most
``workers + --max-backlog`` items are ever pending in each: the march blocks when the checkers
are that far behind, and the checkers when the transfers are, so a tree of millions of files
is processed in constant memory.

:class:`Executor` knows how to perform each action against a (src, dst, backup) triple:
streaming copies in 1 MiB chunks with progress events and on-the-fly hashing, server-side
copy/move with fallbacks, post-transfer verification, in-place modtime fixes, deletes with
``--max-delete`` budgets, backups, and ``--dry-run``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, BinaryIO

from ..errors import (
    CantCopy,
    CantMove,
    CantSetModTime,
    CantSetModTimeWithoutDelete,
    CloudsyncError,
    CorruptedTransfer,
    FatalError,
    NoRetryError,
    ObjectNotFound,
    TransientError,
    Unsupported,
)
from ..events import Reporter, RunStarted, Stats, TransferDone, TransferProgress, TransferStarted
from ..hashing import SUPPORTED, HashingReader
from ..log import notice, skipped_dry_run
from ..options import LOW_LEVEL_RETRIES
from ..types import MD5, Entry, PutInfo, join_path, parent_of
from .plan import (
    FORCED_UPLOAD_NOTICE,
    Action,
    Context,
    DirTime,
    Kind,
    decide_file,
    name_problem,
)
from .result import RunResult
from .retry import backoff_delay, call_with_retries, is_fatal, is_no_retry, retry_owned_here

if TYPE_CHECKING:
    from ..backend import Backend
    from .dests import ExtraDests
    from .limits import BwLimit, Cutoff, TransferOrder

__all__ = ["BoundedPool", "Confirm", "Executor", "Run", "StopRun"]

log = logging.getLogger("cloudsync.engine")

READ_CHUNK = 1 << 20
#: Small server-side copies go to a destination with the ``copy_batch`` capability (local)
#: this many at a time, so their fsyncs share one journal commit (see LocalBackend.copy_batch).
BATCH_SIZE = 128
BATCH_FILE_MAX = 1 << 20
#: Local pairs up to this size needing a hash comparison are decided in the march thread.
INLINE_HASH_MAX = 64 << 10


def _fd_budget() -> int:
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):  # pragma: no cover - not Unix
        return 256
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return 1024
    return max(64, soft // 8)


class BoundedPool:
    """A thread pool whose ``submit`` blocks once ``workers + queue_limit`` items are pending.

    An item is one object: a task working on many (a batch of small copies) is submitted with
    :meth:`submit_weighted` and takes as many slots, so the bound holds in objects, whatever
    the batching.  Exceptions escaping a task are handed to ``on_error`` (never lost, never
    re-raised).  :meth:`join` waits until everything submitted so far has finished.
    """

    def __init__(self, workers: int, name: str,
                 on_error: Callable[[BaseException, tuple[Any, ...]], None],
                 queue_limit: int = 10_000) -> None:
        self.workers = max(1, workers)
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix=name)
        self._capacity = self.workers + max(0, queue_limit)
        self._slots = threading.BoundedSemaphore(self._capacity)
        self._pending = 0
        self._cond = threading.Condition()
        self._on_error = on_error

    @property
    def capacity(self) -> int:
        """Objects that may be pending (running or queued) at once."""
        return self._capacity

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        self._submit(1, fn, args)

    def submit_weighted(self, weight: int, fn: Callable[..., Any], *args: Any) -> None:
        """Submit a task that stands for ``weight`` objects (at most the whole capacity)."""
        self._submit(max(1, min(weight, self._capacity)), fn, args)

    def _submit(self, weight: int, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        # Slot by slot: only workers release slots, and they never wait on the pool, so a
        # submitter holding part of its weight always gets the rest.
        for _ in range(weight):
            self._slots.acquire()
        with self._cond:
            self._pending += 1
        try:
            self._pool.submit(self._run, fn, args, weight)
        except BaseException:
            self._done(weight)
            raise

    def _run(self, fn: Callable[..., Any], args: tuple[Any, ...], weight: int) -> None:
        try:
            fn(*args)
        except BaseException as err:  # every failure is counted, none is lost
            self._on_error(err, args)
        finally:
            self._done(weight)

    def _done(self, weight: int) -> None:
        for _ in range(weight):
            self._slots.release()
        with self._cond:
            self._pending -= 1
            if self._pending == 0:
                self._cond.notify_all()

    def join(self) -> None:
        with self._cond:
            while self._pending:
                self._cond.wait()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)


class StopRun(Exception):
    """Raised by a confirm hook to end the run at once (-i's "q", or no answer to read)."""


#: -i/--interactive: ``confirm(action, path)`` -> do it?  (``action`` as rclone words it:
#: ``copy``, ``delete``, ``set directory modification time`` …)
Confirm = Callable[[str, str], bool]


class Run:
    """Shared state of one operation (stats, errors, pools, stop flag)."""

    def __init__(self, *, checkers: int = 8, transfers: int = 4, dry_run: bool = False,
                 reporter: Reporter | None = None, stats: Stats | None = None,
                 backlog: int = 10_000, confirm: Confirm | None = None) -> None:
        self.stats = stats if stats is not None else Stats()
        self.errors: list[BaseException] = []
        self.dry_run = dry_run
        self.reporter = reporter
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._fatal: BaseException | None = None
        self._normal: BaseException | None = None
        self._no_retry: BaseException | None = None
        self._notices: set[str] = set()
        #: --max-transfer / --max-duration with --cutoff-mode (None: no limit)
        self.cutoff: Cutoff | None = None
        #: --bwlimit (None: no limit)
        self.bwlimit: BwLimit | None = None
        #: --ignore-errors: deletions go ahead even after errors
        self.ignore_errors = False
        #: set from outside (watch mode's SIGTERM): transfers in flight give up at their next read
        self.cancel: threading.Event | None = None
        #: -i/--interactive: asked before each change (None: nothing is asked)
        self.confirm = confirm
        # one question at a time, whichever worker thread asks
        self._confirm_lock = threading.Lock()
        self.checkers = BoundedPool(checkers, "cloudsync-check", self._task_error, backlog)
        self.transfers = BoundedPool(transfers, "cloudsync-xfer", self._task_error, backlog)
        if reporter is not None:
            reporter(RunStarted(self.stats))

    # -- dry run and -i -----------------------------------------------------------------------
    @property
    def may_skip(self) -> bool:
        """Some change may be skipped (a dry run, or the user is asked before each one)."""
        return self.dry_run or self.confirm is not None

    def skip(self, action: str, path: str, size: int = -1) -> bool:
        """rclone's SkipDestructive: True when ``action`` on ``path`` must not be done.

        A dry run skips everything; with a confirm hook (-i) the user is asked, one question
        at a time.  Either way the skip is logged (``Skipped copy as --dry-run is set``) and
        the caller accounts for it as if done, as rclone does.  A hook raising
        :class:`StopRun` ends the run: nothing more is changed or asked.
        """
        if self.dry_run:
            skipped_dry_run(log, action, path, size)
            return True
        if self.confirm is None:
            return False
        with self._confirm_lock:
            if self.stop.is_set():
                return True
            try:
                ok = self.confirm(action, path)
            except StopRun:
                self.stop.set()
                return True
        if not ok:
            skipped_dry_run(log, action, path, size, "--interactive")
        return not ok

    # -- errors --------------------------------------------------------------------------------
    def _task_error(self, err: BaseException, args: tuple[Any, ...] = ()) -> None:
        path = getattr(err, "path", None)
        if not isinstance(path, str) or not path:
            # name the file even when the backend's error does not
            first = args[0] if args else None
            path = first.path if isinstance(first, (Action, Entry)) else None
        self.count_error(err, path)

    def count_error(self, err: BaseException, path: str | None = None, *, log_it: bool = True) -> None:
        """Count one error: log it at ERROR as ``<path>: <message>``; fatal errors stop the run."""
        if log_it:
            text = str(err) if str(err) else type(err).__name__
            if path and not (isinstance(err, CloudsyncError) and err.path == path):
                log.error("%s: %s", path, text, extra={"object": path})
            else:
                log.error("%s", text, extra={"object": path} if path else {})
        fatal = is_fatal(err)
        no_retry = is_no_retry(err)
        self.stats.error(err, fatal=fatal, retryable=not fatal and not no_retry)
        with self._lock:
            self.errors.append(err)
            if fatal:
                self._fatal = err
            elif no_retry:
                self._no_retry = err
            else:
                self._normal = err
        if fatal and not self.stop.is_set():
            log.error("Cancelling sync due to fatal error: %s", err)
            self.stop.set()

    def refuse(self, err: BaseException) -> None:
        """Stop a run before it starts (a flag combination or remote it cannot work with):
        counted, but said only by the command's final line, as rclone returns such an error
        from its set-up rather than logging it."""
        self.stop.set()
        self.count_error(err, log_it=False)

    @property
    def had_errors(self) -> bool:
        return bool(self.errors)

    def final_error(self) -> BaseException | None:
        """rclone's choice: a fatal error, else the last plain one, else the last no-retry one."""
        with self._lock:
            return self._fatal or self._normal or self._no_retry

    def notice_once(self, message: str) -> None:
        with self._lock:
            if message in self._notices:
                return
            self._notices.add(message)
        notice(log, "%s", message)

    def emit(self, event: Any) -> None:
        if self.reporter is not None:
            self.reporter(event)

    # -- lifecycle -----------------------------------------------------------------------------
    def join(self) -> None:
        # Checkers may hand work to the transfer pool (a failed in-place modtime fix turns into
        # an upload), never the other way round, so drain them in this order.
        self.checkers.join()
        self.transfers.join()

    def close(self) -> None:
        self.checkers.shutdown()
        self.transfers.shutdown()

    def result(self, **extra: Any) -> RunResult:
        return RunResult(stats=self.stats, errors=list(self.errors), final_error=self.final_error(),
                         **extra)


class _Source(HashingReader):
    """Read wrapper for one transfer: counts bytes, reports progress, hashes on the fly.

    Being a :class:`~cloudsync.hashing.HashingReader` lets a destination that hashes what it
    writes reuse our digests instead of hashing the same bytes a second time.
    """

    __slots__ = ("_direction", "_path", "_run")

    def __init__(self, stream: BinaryIO, path: str, run: Run, hash_types: tuple[str, ...],
                 direction: tuple[bool, bool] = (True, True)) -> None:
        super().__init__(stream, hash_types)
        self._path = path
        self._run = run
        self._direction = direction  # (upload to a remote, download from one), for --bwlimit

    def read(self, n: int = -1, /) -> bytes:
        run = self._run
        cancel = run.cancel
        if cancel is not None and cancel.is_set():
            run.stop.set()
            # the backend's put fails and leaves nothing visible under the real name
            raise NoRetryError("transfer abandoned: stopping", path=self._path)
        if run.cutoff is not None:
            # --cutoff-mode hard: the read after a limit was reached fails (as rclone's)
            run.cutoff.check_read(self._path)
        data = super().read(n)
        if data:
            size = len(data)
            run.stats.add(bytes=size)
            run.emit(TransferProgress(self._path, size))
            if run.bwlimit is not None:
                up, down = self._direction
                run.bwlimit.take(size, upload=up, download=down)
        return data

    def digests(self) -> dict[str, str]:
        return self.hexdigests() if self.types else {}


def _dry(action: str, path: str, size: int) -> None:
    skipped_dry_run(log, action, path, size)


class Executor:
    """Performs actions between one source and one destination (and an optional backup)."""

    def __init__(self, run: Run, src: Backend, dst: Backend, ctx: Context, *,
                 backup: Backend | None = None, low_level_retries: int = LOW_LEVEL_RETRIES.default,
                 max_delete: int = -1, max_delete_size: int = -1) -> None:
        self.run = run
        self.src = src
        self.dst = dst
        self.ctx = ctx
        self.opts = ctx.opts
        self.backup = backup
        self.retries = low_level_retries
        for backend in {id(b): b for b in (src, dst, backup) if b is not None}.values():
            backend.set_low_level_retries(low_level_retries)
        self.max_delete = max_delete
        self.max_delete_size = max_delete_size
        self._delete_lock = threading.Lock()
        self._deleted = 0
        self._budget_errors = 0
        self._deleted_size = 0
        self._filled_lock = threading.Lock()
        #: directories (and their ancestors) that received a file this run
        self.filled: set[str] = set()
        #: destination dirs whose contents this run changes (parents of transfers), for the
        #: end-of-run dir modtimes; set.add is atomic, so checker threads may add too
        self.modified_dirs: set[str] = set()
        self._track_modified = ctx.dir_modtimes
        #: move: transfers are moves and equal sources are deleted
        self.move_mode = False
        # checked once: a per-file debug call is measurable on 100,000-file no-op syncs
        self._debug = log.isEnabledFor(logging.DEBUG)
        self._info = log.isEnabledFor(logging.INFO)
        same = dst.same_remote(src)
        self._server_copy = same and dst.has("copy")
        # rclone has no server-side copy between local paths: it streams them, so it logs
        # "Copied (new)" and counts plain transfers. Ours run in the kernel, but they are
        # reported and counted the way rclone's are.
        self._copy_is_transfer = src.features.is_local and dst.features.is_local
        self._server_move = same and dst.has("move")
        ht = ctx.hash_type
        self._verify_type = ht if ht is not None and not self.opts.ignore_checksum else None
        # Optional capability: small server-side copies sharing per-file costs (local fsyncs).
        self._copy_batch: Callable[[Backend, list[tuple[str, str]]], list[Any]] | None = (
            dst.copy_batch if self._server_copy and dst.has("copy_batch") else None)
        self._pending: list[Action] = []
        # --order-by: a free transfer worker takes the best queued transfer; --check-first:
        # transfers wait in _held until every check is done (release_held)
        self._order: TransferOrder | None = None
        #: --compare-dest / --copy-dest folders (None: not used)
        self.dests: ExtraDests | None = None
        self._held: list[Action] | None = [] if self.opts.check_first else None
        cutoff = run.cutoff
        limited = (cutoff is not None and cutoff.active) or run.bwlimit is not None
        if limited and self._copy_is_transfer:
            # local copies stream while a limit is set (as rclone's always do), so a hard
            # limit can stop one midway and --bwlimit paces it
            self._server_copy = False
        # -M: metadata goes where both sides have it (rclone: backends without ignore -M);
        # each backend applies the keys it knows (local: mode, times, owner) and ignores others
        self.keeps_metadata = self.opts.metadata and src.has("metadata") and dst.has("metadata")
        if self._held is not None or limited or self.keeps_metadata:
            self._copy_batch = None
        # both sides on local disks: small files are hashed in the march thread (see check)
        self._inline_hash = src.features.is_local and dst.features.is_local
        # the destination needs the md5 before the upload starts: a local source gives it from
        # its persistent hash cache (else the backend would read the file twice per upload)
        self._md5_first = dst.features.md5_before_upload and src.features.is_local
        # each file of a running batch holds an open temp file: all running batches together
        # stay within an eighth of the open-files limit
        self._batch_size = max(8, min(BATCH_SIZE, _fd_budget() // run.transfers.workers))
        # and a batch never holds more than the transfer queue may (--max-backlog)
        self._batch_size = min(self._batch_size, run.transfers.capacity)

    # -- dispatch ------------------------------------------------------------------------------
    def dispatch(self, action: Action, *, batchable: bool = False) -> None:
        """Run ``action`` now (cheap) or hand it to the right pool.

        ``batchable``: the caller (the march loop, one thread) calls :meth:`flush` when done,
        so small server-side copies may be held back and sent in batches.
        """
        kind = action.kind
        for message in action.notices:
            self.run.notice_once(message)
        if kind == "skip":
            if self._debug and action.src is not None and action.dst is not None:
                log.debug("%s: %s", action.path, action.reason.capitalize(),
                          extra={"object": action.path})
            if action.then_delete_src:
                self.run.checkers.submit(self.delete_src, action)
        elif kind in ("copy", "move"):
            if action.dst is None:
                problem = name_problem(action.path, self.dst.features)
                if problem is not None:
                    self.run.count_error(problem, action.path)
                    return
            if self._track_modified:
                self._modified(action)
            self._queued(action)
            if self._held is not None:
                self._held.append(action)
                return
            if self._order is not None:
                self._order.push(action)
                self.run.transfers.submit(self._transfer_next)
                return
            if (batchable and self._copy_batch is not None and kind == "copy"
                    and not action.backup and not self.run.may_skip and action.src is not None
                    and 0 <= action.src.size <= BATCH_FILE_MAX):
                pending = self._pending
                pending.append(action)
                if len(pending) >= self._batch_size:
                    self.flush()
                return
            self.run.transfers.submit(self.transfer, action)
        elif (kind == "hash" and batchable and self._inline_hash and action.src is not None
              and 0 <= action.src.size <= INLINE_HASH_MAX):
            self._hash_inline(action)
        elif kind in ("update_modtime", "hash"):
            self.run.checkers.submit(self.check_action, action)
        elif kind in ("delete", "backup"):
            self.run.checkers.submit(self.delete, action)
        elif kind == "error":
            err = action.error or CloudsyncError(action.reason, path=action.path)
            if action.reason and action.reason != getattr(err, "message", str(err)):
                # e.g. "Timestamp mismatch between immutable objects" before the error itself
                log.error("%s: %s", action.path, action.reason, extra={"object": action.path})
            self.run.count_error(err, action.path)
        elif kind == "delete_src":
            self.run.checkers.submit(self.delete_src, action)
        elif kind == "dir_modtime":
            src = action.src
            assert src is not None and src.mtime_ns is not None
            size = action.dst.size if action.dst is not None else -1
            self.run.checkers.submit(self.set_dir_modtime, DirTime(action.path, src.mtime_ns, size))
        else:  # mkdir / rmdir are run by the caller at the end of the run
            raise ValueError(f"cannot dispatch {action}")

    def _settled_by_dests(self, action: Action, src: Entry) -> bool:
        """--compare-dest / --copy-dest: True when a folder holds this file already, so it is
        not transferred (compare) or is copied server-side from there (copy)."""
        assert self.dests is not None
        found = self.dests.find_equal(src)
        if found is None:
            return False
        backend, other, same_modtime = found
        stats = self.run.stats
        size = max(src.size, 0)
        if not self.dests.copy:
            if self._debug:
                log.debug("%s: Destination found in --compare-dest, skipping", src.path,
                          extra={"object": src.path})
            stats.add(total_transfers=-1, total_bytes=-size)  # queued, but no transfer
        else:
            dst_path = action.dst.path if action.dst is not None else action.path
            if self.run.skip("copy", src.path, src.size):
                stats.add(transfers=1, bytes=size)
                return True
            cutoff = self.run.cutoff
            if cutoff is not None and cutoff.active and not cutoff.may_start(src.size):
                return True
            if action.backup and action.dst is not None:
                self._backup(action.dst)
            new = call_with_retries(lambda: self.dst.copy(backend, other.path, dst_path), self.retries)
            mtime = src.mtime_ns
            if mtime is not None and new.mtime_ns != mtime and self.dst.has("set_modtime"):
                with contextlib.suppress(Unsupported):  # (a copy keeps the folder's modtime)
                    call_with_retries(lambda: self.dst.set_modtime(dst_path, mtime), self.retries)
            stats.add(transfers=1, server_side_copies=1, server_side_copy_bytes=size, bytes=size)
            self._log_done("Copied (server-side copy)", src, dst_path)
            self._mark_filled(dst_path)
        if self.move_mode and (self.dests.copy or same_modtime):
            # (rclone keeps a source whose twin there differs in modtime only)
            self._delete_source(src)
        return True

    def use_dests(self, dests: ExtraDests) -> None:
        self.dests = dests
        self._copy_batch = None  # every transfer must pass the check in transfer()

    def set_order(self, order: TransferOrder | None) -> None:
        self._order = order
        if order is not None:
            self._copy_batch = None

    def release_held(self) -> None:
        """--check-first: every check is done, start the transfers held until now."""
        if not self._held:
            return
        held, self._held = self._held, []
        if self._order is None:
            for action in held:
                self.run.transfers.submit(self.transfer, action)
            return
        for action in held:  # all queued first: the first worker must see the whole order
            self._order.push(action)
        for _ in held:
            self.run.transfers.submit(self._transfer_next)

    def _transfer_next(self) -> None:
        """A transfer worker is free: run the best queued transfer (--order-by)."""
        assert self._order is not None
        taken = self._order.take()
        if taken is None:
            return
        action, slot = taken
        try:
            self.transfer(action)
        except Exception as err:
            self.run._task_error(err, (action,))
        finally:
            self._order.done(slot)

    def _queued(self, action: Action) -> None:
        """Count a transfer into the totals when it is queued, as rclone's transfer queue does,
        so the totals grow with the listing instead of with the transfers started."""
        src = action.src
        self.run.stats.add(total_transfers=1, total_bytes=max(src.size, 0) if src is not None else 0)

    def _submit_transfer(self, action: Action) -> None:
        self._queued(action)
        self.run.transfers.submit(self.transfer, action)

    def _modified(self, action: Action) -> None:
        # rclone marks the parent of the file being replaced (or of the new one)
        self.modified_dirs.add(parent_of(action.dst.path if action.dst is not None else action.path))

    # -- checker work --------------------------------------------------------------------------
    def _hash_inline(self, action: Action) -> None:
        """Decide a small local pair right here (march thread): hashing a few KiB from the
        page cache costs less than the hand-off to a checker, and a resulting copy may join
        a batch."""
        try:
            decided = self._rehash(action)
        except Exception as err:
            self.run._task_error(err, (action,))
            return
        if decided.kind == "skip":
            for message in decided.notices:
                self.run.notice_once(message)
            if decided.then_delete_src:
                self.run.checkers.submit(self.delete_src, decided)
        elif decided.kind == "update_modtime":
            self.run.checkers.submit(self.check_action, decided)
        else:
            self.dispatch(decided, batchable=True)

    def check_action(self, action: Action) -> None:
        if self.run.stop.is_set():
            return
        if action.kind == "hash":
            action = self._rehash(action)
            if action.kind == "skip":
                # Inline, never through dispatch: a checker blocking on a submit to its own
                # full pool would deadlock the run.
                for message in action.notices:
                    self.run.notice_once(message)
                if action.then_delete_src:
                    self.delete_src(action)
                return
            if action.kind != "update_modtime":
                self.dispatch(action)  # copy/move → the transfer pool; error → counted here
                return
        self.update_modtime(action)

    def _rehash(self, action: Action) -> Action:
        ht = self.ctx.hash_type
        assert ht is not None and action.src is not None and action.dst is not None
        src, dst = action.src, action.dst
        if ht not in src.hashes:
            h = call_with_retries(lambda: self.src.hash(src.path, ht), self.retries)
            src = dataclasses.replace(src, hashes={**src.hashes, ht: h})
        if ht not in dst.hashes:
            h = call_with_retries(lambda: self.dst.hash(dst.path, ht), self.retries)
            dst = dataclasses.replace(dst, hashes={**dst.hashes, ht: h})
        decided = decide_file(src, dst, self.ctx, hashed=True)
        # the same mode-specific touches the planner gives a first-time decision
        if decided.kind == "copy":
            if self.move_mode:
                decided.kind = "move"
            decided.backup = self.backup is not None
        elif (decided.kind in ("skip", "update_modtime") and self.move_mode
              and not self.opts.ignore_existing):
            decided.then_delete_src = True
        return decided

    def update_modtime(self, action: Action) -> None:
        src, dst = action.src, action.dst
        assert src is not None and dst is not None and src.mtime_ns is not None
        if self.run.skip("update modification time", dst.path, dst.size):
            pass  # (skip logged it)
        else:
            try:
                call_with_retries(lambda: self.dst.set_modtime(dst.path, src.mtime_ns or 0), self.retries)
                log.info("%s: Updated modification time in destination", dst.path,
                         extra={"object": dst.path})
            except CantSetModTimeWithoutDelete:
                self.run.notice_once(FORCED_UPLOAD_NOTICE)
                if self._track_modified:
                    self._modified(action)
                if self.backup is None:
                    call_with_retries(lambda: self.dst.delete(dst.path), self.retries)
                    self.run.stats.add(deletes=1, checks=1, total_checks=1)
                kind: Kind = "move" if action.then_delete_src else "copy"
                self._submit_transfer(Action(kind, action.path, src, None,
                                             reason="re-upload to set modtime"))
                return
            except CantSetModTime:
                self.run.notice_once(FORCED_UPLOAD_NOTICE)
                if self._track_modified:
                    self._modified(action)
                kind2: Kind = "move" if action.then_delete_src else "copy"
                self._submit_transfer(Action(kind2, action.path, src, dst,
                                             reason="re-upload to set modtime",
                                             backup=self.backup is not None))
                return
            except Exception as err:  # counted, but the files are still considered equal
                self.run.count_error(err, dst.path)
        if action.then_delete_src:
            self.delete_src(action)

    # -- transfers -----------------------------------------------------------------------------
    def flush(self) -> None:
        """Hand the held-back small copies to the transfer pool (see ``dispatch``)."""
        if self._pending:
            batch, self._pending = self._pending, []
            self.run.transfers.submit_weighted(len(batch), self.transfer_batch, batch)

    def transfer_batch(self, actions: list[Action]) -> None:
        """Server-side copies of small files through the destination's ``copy_batch``.

        Accounting and logging are those of :meth:`transfer`, file by file; a file the batch
        cannot copy server-side (CantCopy) goes the usual way, alone.
        """
        run = self.run
        if run.stop.is_set():
            return
        assert self._copy_batch is not None
        stats = run.stats
        srcs: list[Entry] = []
        pairs: list[tuple[str, str]] = []
        for a in actions:
            src = a.src
            assert src is not None
            srcs.append(src)
            pairs.append((src.path, a.dst.path if a.dst is not None else a.path))
            run.emit(TransferStarted(src.path, src.size))
        try:
            results = call_with_retries(lambda: self._copy_batch(self.src, pairs), self.retries)  # type: ignore[misc]
        except Exception as err:  # the whole batch failed: each file on its own
            log.debug("batch copy failed (%s): copying one by one", err)
            results = [CantCopy(str(err))] * len(actions)
        done = done_bytes = 0
        filled: list[str] = []
        for a, src, (_, dst_path), res in zip(actions, srcs, pairs, results, strict=True):
            if isinstance(res, Entry):
                size = max(src.size, 0)
                done += 1
                done_bytes += size
                run.emit(TransferProgress(src.path, size))
                self._log_done(self._copied_message(a.dst is not None), src, dst_path)
                run.emit(TransferDone(src.path, True))
                filled.append(res.path)
                continue
            if isinstance(res, (CantCopy, Unsupported)):
                try:
                    new = self._stream(src, dst_path)
                    self._log_done("Copied (replaced existing)" if a.dst is not None
                                   else "Copied (new)", src, dst_path)
                except Exception as err:
                    res = err
                else:
                    run.emit(TransferDone(src.path, True))
                    stats.add(transfers=1)
                    self._mark_filled(new.path)
                    continue
            run.emit(TransferDone(src.path, False, str(res)))
            run._task_error(res, (a,))
        if done:
            if self._copy_is_transfer:
                stats.add(bytes=done_bytes, transfers=done)
            else:
                stats.add(server_side_copies=done, server_side_copy_bytes=done_bytes,
                          bytes=done_bytes, transfers=done)
            self._mark_filled_many(filled)

    def transfer(self, action: Action) -> None:
        if self.run.stop.is_set():
            return
        src = action.src
        assert src is not None
        if self.dests is not None and self._settled_by_dests(action, src):
            return
        move = action.kind == "move"
        dst_path = action.dst.path if action.dst is not None else action.path
        replacing = action.dst is not None
        stats = self.run.stats
        if self.run.dry_run and action.backup and action.dst is not None:
            # rclone would first move the existing file into the backup (a "check")
            _dry("move", action.dst.path, action.dst.size)
            stats.add(checks=1, total_checks=1)
        if self.run.skip("move" if move else "copy", src.path, src.size):
            stats.add(transfers=1, bytes=max(src.size, 0))
            if move:
                stats.add(renames=1)  # rclone counts every move, server-side or not
            return
        cutoff = self.run.cutoff
        if cutoff is not None and cutoff.active and not cutoff.may_start(src.size):
            return
        self.run.emit(TransferStarted(src.path, src.size))
        try:
            if action.backup and action.dst is not None:
                self._backup(action.dst)
                replacing = False
            new = self._transfer(src, dst_path, move=move, replacing=replacing)
        except BaseException as err:
            self.run.emit(TransferDone(src.path, False, str(err)))
            raise
        self.run.emit(TransferDone(src.path, True))
        stats.add(transfers=1)
        self._mark_filled(new.path if new is not None else dst_path)

    def copy_metadata(self, src_path: str, dst_path: str) -> bool:
        """-M: give the new copy (file or folder) the source's metadata; a failure is counted,
        the copy kept."""
        try:
            meta = call_with_retries(lambda: self.src.metadata(src_path), self.retries)
            # --metadata-set key=value: over what the source has
            meta.update(item.split("=", 1) for item in self.opts.metadata_set)  # type: ignore[misc]
            call_with_retries(lambda: self.dst.set_metadata(dst_path, meta), self.retries)
        except Exception as err:
            self.run.count_error(err, dst_path)
            return False
        return True

    def _copied(self, src: Entry, new: Entry | None, dst_path: str, *, move: bool) -> None:
        """A copy is in place: -M gives it the source's metadata, then a move (a copy and a
        delete, no server-side move) removes the source (rclone's move -M keeps it too)."""
        if self.keeps_metadata:
            self.copy_metadata(src.path, new.path if new is not None else dst_path)
        if move:
            self._delete_source(src)
            # rclone's Move counts a rename for a copy+delete move too
            self.run.stats.add(renames=1)

    def _transfer(self, src: Entry, dst_path: str, *, move: bool, replacing: bool) -> Entry | None:
        stats = self.run.stats
        size = max(src.size, 0)
        if move and self._server_move:
            try:
                new = call_with_retries(lambda: self.dst.move(self.src, src.path, dst_path), self.retries)
            except (CantMove, Unsupported):
                pass
            else:
                # rclone's ServerSideMoveEnd: the bytes count as done (the "Transferred" line
                # must not stay at 0 %), but apart from them and without feeding the speed
                stats.add(server_side_moves=1, server_side_move_bytes=size, renames=1, bytes=size)
                self.run.emit(TransferProgress(src.path, size))
                if replacing:
                    # rclone deletes the existing destination before a server-side move and
                    # counts it; our backends replace atomically, so only the count remains.
                    stats.add(deletes=1, checks=1, total_checks=1)
                self._log_done("Moved (server-side)", src, dst_path)
                return new
        if self._server_copy:
            try:
                new = call_with_retries(lambda: self.dst.copy(self.src, src.path, dst_path), self.retries)
            except (CantCopy, Unsupported):
                pass
            else:
                # rclone's ServerSideCopyEnd (see the move above)
                if self._copy_is_transfer:
                    stats.add(bytes=size)
                else:
                    stats.add(server_side_copies=1, server_side_copy_bytes=size, bytes=size)
                self.run.emit(TransferProgress(src.path, size))
                self._log_done(self._copied_message(replacing), src, dst_path)
                self._copied(src, new, dst_path, move=move)
                return new
        new = self._stream(src, dst_path)
        self._log_done("Copied (replaced existing)" if replacing else "Copied (new)", src, dst_path)
        self._copied(src, new, dst_path, move=move)
        return new

    def _copied_message(self, replacing: bool) -> str:
        if not self._copy_is_transfer:
            return "Copied (server-side copy)"
        return "Copied (replaced existing)" if replacing else "Copied (new)"

    def _log_done(self, message: str, src: Entry, dst_path: str) -> None:
        if not self._info:
            return  # (without -v: no per-file record, not even the dict for its extras)
        if dst_path != src.path:
            log.info("%s: %s to: %s", src.path, message, dst_path,
                     extra={"object": src.path, "size": src.size})
        else:
            log.info("%s: %s", src.path, message, extra={"object": src.path, "size": src.size})

    def _stream(self, src: Entry, dst_path: str) -> Entry:
        """Copy the bytes of ``src`` to ``dst_path`` and verify the result."""
        if self._md5_first and not src.hashes.get(MD5):
            md5 = call_with_retries(lambda: self.src.hash(src.path, MD5), self.retries)
            src = dataclasses.replace(src, hashes={**src.hashes, MD5: md5})
        vt = self._verify_type
        # Hash while reading only when the source did not already tell us and we can compute it.
        hash_types: tuple[str, ...] = ()
        if vt is not None and not src.hashes.get(vt) and vt in SUPPORTED:
            hash_types = (vt,)
        info = PutInfo(size=src.size, mtime_ns=src.mtime_ns, hashes=dict(src.hashes),
                       mime_type=src.mime_type)
        tries = max(1, self.retries)
        attempt = 1
        while True:
            stream = call_with_retries(lambda: self.src.open_entry(src), self.retries)
            reader = _Source(stream, src.path, self.run, hash_types,
                             (not self.dst.features.is_local, not self.src.features.is_local))
            try:
                new = self.dst.put(dst_path, reader, info)
                break
            except TransientError as err:
                # A put consumed its stream: never retry it with the same one, re-open instead
                # (unless the backend already spent the low-level retries on it).
                if attempt >= tries or self.run.stop.is_set() or not retry_owned_here(err):
                    raise
                self.run.stats.add(bytes=-reader.bytes_read)
                delay = backoff_delay(attempt, err)
                log.debug("%s: low level retry %d/%d (%s)", src.path, attempt, tries, err)
                self.run.stop.wait(delay)
                attempt += 1
            finally:
                reader.close()
        self._verify(src, new, reader.digests())
        return new

    def _verify(self, src: Entry, new: Entry, digests: dict[str, str]) -> None:
        problem = None
        if not self.opts.ignore_size and src.size >= 0 and new.size >= 0 and src.size != new.size:
            problem = f"corrupted on transfer: sizes differ src({src.size}) vs dst({new.size})"
        elif self._verify_type is not None:
            vt = self._verify_type
            a = src.hashes.get(vt) or digests.get(vt, "")
            b = new.hashes.get(vt, "")
            if a and b and a.lower() != b.lower():
                problem = f"corrupted on transfer: {vt} hashes differ src({a}) vs dst({b})"
        if problem is None:
            return
        try:
            self.dst.delete(new.path)
        except Exception as err:
            log.error("%s: failed to remove corrupted object: %s", new.path, err,
                      extra={"object": new.path})
        raise CorruptedTransfer(problem, path=src.path)

    def _mark_filled_many(self, paths: list[str]) -> None:
        parents = {parent_of(p) for p in paths}  # a batch is mostly one directory: one lock
        with self._filled_lock:
            for parent in parents:
                while parent and parent not in self.filled:
                    self.filled.add(parent)
                    parent = parent_of(parent)

    def note_written(self, path: str) -> None:
        """A file appeared at ``path`` without a transfer (a --track-renames move)."""
        if self._track_modified:
            self.modified_dirs.add(parent_of(path))
        self._mark_filled(path)

    def _mark_filled(self, path: str) -> None:
        parent = parent_of(path)
        with self._filled_lock:
            while parent and parent not in self.filled:
                self.filled.add(parent)
                parent = parent_of(parent)

    # -- deletes -------------------------------------------------------------------------------
    def _reserve_delete(self, size: int) -> None:
        with self._delete_lock:
            if self.max_delete >= 0 and self._deleted >= self.max_delete:
                raise FatalError("--max-delete threshold reached")
            if self.max_delete_size >= 0 and self._deleted_size + max(size, 0) > self.max_delete_size:
                raise FatalError("--max-delete-size threshold reached")
            self._deleted += 1
            self._deleted_size += max(size, 0)

    @property
    def budget_errors(self) -> int:
        """How many deletes failed on the --max-delete/--max-delete-size budget."""
        with self._delete_lock:
            return self._budget_errors

    def delete(self, action: Action) -> None:
        """Delete (or back up) a destination-only file.

        Every delete checks the ``--max-delete``/``--max-delete-size`` budget on its own, as
        rclone does: once the budget is spent the rest fail (fatally), but a later, smaller
        file may still fit under ``--max-delete-size``.  Any *other* error stops deleting.
        """
        dst = action.dst
        assert dst is not None
        with self._delete_lock:
            budget_errors = self._budget_errors
        other_errors = len(self.run.errors) > budget_errors
        if other_errors and (self.run.stop.is_set() or not self.run.ignore_errors):
            # --delete-during: once anything failed, the rest of the deletes are unsafe
            log.debug("%s: not deleting as there were IO errors", dst.path,
                      extra={"object": dst.path})
            return
        stats = self.run.stats
        stats.add(total_checks=1)
        try:
            self._reserve_delete(dst.size)
        except FatalError as err:
            with self._delete_lock:
                self._budget_errors += 1
            log.error("%s: Got fatal error on delete: %s", dst.path, err.message,
                      extra={"object": dst.path})
            self.run.count_error(err, dst.path, log_it=False)
            return
        if self.run.skip("move into backup dir" if action.kind == "backup" else "delete", dst.path,
                         dst.size):
            pass  # (skip logged it)
        elif action.kind == "backup":
            self._backup(dst)
        else:
            try:
                call_with_retries(lambda: self.dst.delete(dst.path), self.retries)
            except ObjectNotFound:
                log.debug("%s: already deleted", dst.path, extra={"object": dst.path})
            else:
                log.info("%s: Deleted", dst.path, extra={"object": dst.path})
        stats.add(deletes=1, checks=1, deleted_bytes=max(dst.size, 0))

    def delete_src(self, action: Action) -> None:
        """move: remove a source file found equal on the destination."""
        if self.run.stop.is_set():
            return
        src = action.src
        assert src is not None
        if self.run.skip("delete", src.path, src.size):
            self.run.stats.add(deletes=1, checks=1, total_checks=1)
        else:
            self._delete_source(src)

    def _delete_source(self, src: Entry) -> None:
        """Remove a source file (move); counted as a delete and a check, like rclone."""
        try:
            call_with_retries(lambda: self.src.delete(src.path), self.retries)
        except ObjectNotFound:
            return
        finally:
            self.run.stats.add(deletes=1, checks=1, total_checks=1)
        log.info("%s: Deleted", src.path, extra={"object": src.path})

    def _backup(self, dst: Entry) -> None:
        """Move ``dst`` into the backup location (keeping its relative path, plus suffix)."""
        backup = self.backup
        assert backup is not None
        target = backup_name(dst.path, self.opts.suffix, self.opts.suffix_keep_extension)
        # rclone moves the file with its Move operation, which is one more "check"
        self.run.stats.add(checks=1, total_checks=1)
        if backup.same_remote(self.dst) and backup.has("move"):
            try:
                call_with_retries(lambda: backup.move(self.dst, dst.path, target), self.retries)
            except (CantMove, Unsupported):
                pass
            else:
                self.run.stats.add(renames=1)
                log.info("%s: Moved into backup dir", dst.path, extra={"object": dst.path})
                return
        if backup.same_remote(self.dst) and backup.has("copy"):
            try:
                call_with_retries(lambda: backup.copy(self.dst, dst.path, target), self.retries)
            except (CantCopy, Unsupported):
                pass
            else:
                call_with_retries(lambda: self.dst.delete(dst.path), self.retries)
                log.info("%s: Moved into backup dir", dst.path, extra={"object": dst.path})
                return
        stream = call_with_retries(lambda: self.dst.open_entry(dst), self.retries)
        try:
            backup.put(target, stream, PutInfo(size=dst.size, mtime_ns=dst.mtime_ns,
                                               hashes=dict(dst.hashes)))
        finally:
            stream.close()
        call_with_retries(lambda: self.dst.delete(dst.path), self.retries)
        log.info("%s: Moved into backup dir", dst.path, extra={"object": dst.path})

    def fix_case(self, dst: Entry, name: str) -> Entry:
        """--fix-case: rename ``dst`` to the source's spelling ``name`` (same directory).

        A case-insensitive store may treat the new name as the old one, so the rename goes
        through a temporary name.  Failures are counted and the entry is returned unchanged.
        """
        parent = parent_of(dst.path)
        new_path = join_path(parent, name)
        if self.run.skip("rename", dst.path, dst.size):
            return dataclasses.replace(dst, path=new_path)
        if not self.dst.has("move"):
            return dst
        tmp = f"{dst.path}.{abs(hash(dst.path)) % 10**8:08d}.fixcase"
        try:
            call_with_retries(lambda: self.dst.move(self.dst, dst.path, tmp), self.retries)
            call_with_retries(lambda: self.dst.move(self.dst, tmp, new_path), self.retries)
        except Exception as err:
            self.run.count_error(err, dst.path)
            return dst
        self.run.stats.add(renames=1)
        log.info("%s: Fixed case by renaming to: %s", dst.path, new_path,
                 extra={"object": dst.path})
        return dataclasses.replace(dst, path=new_path)

    def fix_case_dir(self, dst: Entry, name: str) -> Entry:
        """--fix-case for a directory: rename it (with everything in it) to the source's
        spelling ``name``, through a temporary name; needs server-side ``dir_move``.

        Failures are counted and the entry is returned unchanged.
        """
        parent = parent_of(dst.path)
        new_path = join_path(parent, name)
        if self.run.skip("rename", dst.path, -1):
            return dst  # (not renamed: keep listing it under the name it really has)
        if not self.dst.has("dir_move"):
            return dst
        tmp = f"{dst.path}.{abs(hash(dst.path)) % 10**8:08d}.fixcase"
        try:
            call_with_retries(lambda: self.dst.dir_move(self.dst, dst.path, tmp), self.retries)
            try:
                call_with_retries(lambda: self.dst.dir_move(self.dst, tmp, new_path),
                                  self.retries)
            except BaseException:
                # put it back under its old name rather than leave the temporary one
                with contextlib.suppress(Exception):
                    self.dst.dir_move(self.dst, tmp, dst.path)
                raise
        except Exception as err:
            self.run.count_error(err, dst.path)
            return dst
        self.run.stats.add(renames=1)
        log.info("%s: Fixed case by renaming to: %s", dst.path, new_path,
                 extra={"object": dst.path})
        return dataclasses.replace(dst, path=new_path)

    # -- directories ---------------------------------------------------------------------------
    def mkdir(self, path: str) -> None:
        if self.run.skip("make directory", path, -1):
            return
        if not self.keeps_metadata:
            log.info("%s: Making directory", path, extra={"object": path})
        try:
            call_with_retries(lambda: self.dst.mkdir(path), self.retries)
        except Exception as err:
            self.run.count_error(err, path)
            return
        if self.keeps_metadata and self.copy_metadata(path, path):
            log.info("%s: Updated directory metadata", path, extra={"object": path})

    def set_dir_modtime(self, item: DirTime) -> None:
        """Copy one source directory modtime (rclone's SetDirModTime; not counted in stats)."""
        if self.run.stop.is_set():
            return
        if self.run.skip("set directory modification time", item.path, item.size):
            return
        try:
            call_with_retries(lambda: self.dst.set_dir_modtime(item.path, item.mtime_ns),
                              self.retries)
        except Exception as err:
            text = str(err) or type(err).__name__
            log.error("%s: Failed to update directory timestamp or metadata: %s", item.path, text,
                      extra={"object": item.path})
            self.run.count_error(err, item.path, log_it=False)
            return
        if self.keeps_metadata:
            # -M: a folder this run made gets all the source folder's metadata (read now, as
            # rclone does: after a move's deletes its mtime is theirs); an existing one only
            # its modtime, as rclone's
            if item.created and not self.copy_metadata(item.path, item.path):
                return
            log.info("%s: Updated directory metadata", item.path, extra={"object": item.path})
            return
        # (rclone 1.75 names DirSetModTime for a folder this run made, SetModTime otherwise)
        log.info("%s: Set directory modification time (using %s)", item.path,
                 "DirSetModTime" if item.created else "SetModTime", extra={"object": item.path})

    def set_dir_modtimes(self, levels: list[list[DirTime]]) -> None:
        """The end-of-run dir modtimes, deepest level first, one level at a time (rclone)."""
        for batch in levels:
            if self.run.stop.is_set():
                return
            if len(batch) == 1 or self.dst.features.is_local:
                # a local utime is a few microseconds: cheaper than a thread hand-off
                for item in batch:
                    self.set_dir_modtime(item)
            else:
                for item in batch:
                    self.run.checkers.submit(self.set_dir_modtime, item)
                self.run.checkers.join()

    def rmdir(self, path: str, backend: Backend | None = None) -> bool:
        """Remove an empty directory; failures are expected (not empty) and only logged."""
        target = backend if backend is not None else self.dst
        shown = path or str(target)  # (the root is named by its remote, as rclone does)
        if self.run.skip("remove directory", shown, -1):
            self.run.stats.add(deleted_dirs=1)
            return True
        try:
            call_with_retries(lambda: target.rmdir(path), self.retries)
        except Exception as err:
            log.debug("%s: failed to remove directory: %s", shown, err, extra={"object": shown})
            return False
        log.info("%s: Removing directory", shown, extra={"object": shown})
        self.run.stats.add(deleted_dirs=1)
        return True


def backup_name(path: str, suffix: str, keep_extension: bool) -> str:
    """``three.txt`` + ``.bak`` → ``three.txt.bak``; with keep_extension → ``three.bak.txt``."""
    if not suffix:
        return path
    if keep_extension:
        parent, _, name = path.rpartition("/")
        stem, dot, ext = name.rpartition(".")
        if dot and stem:
            return join_path(parent, f"{stem}{suffix}.{ext}")
    return path + suffix
