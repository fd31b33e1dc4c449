"""check: compare two trees without changing anything (rclone-semantics.md §B.4)."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, TYPE_CHECKING

from ..errors import CloudsyncError, DirNotFound
from ..hashing import read_full
from ..log import notice
from ..types import Entry
from .act import Run
from .march import Pair, Side, make_key, march, report_duplicate
from .options import CheckOptions
from .plan import common_hash
from .result import RunResult
from .retry import call_with_retries

if TYPE_CHECKING:
    from ..backend import Backend

__all__ = ["run_check"]

log = logging.getLogger("cloudsync.engine.check")

CHUNK = 1 << 20
#: Local files up to this size are hashed right in the march loop: reading 64 KiB from the
#: page cache and hashing it takes microseconds, less than handing the pair to a checker
#: thread.  Measured on 5,000 × 4 KiB pairs (2 cores): 1.4 s through the checkers, 0.55 s
#: inline, 0.7-0.9 s in batches of 64-512 pairs per checker task (threads then wait for the
#: GIL after every open/read).
SMALL_LOCAL = 64 << 10
#: From this size on the two sides of a pair are hashed at the same time (the destination in
#: a helper thread): a pair of big files then costs one file's time, not two.
PARALLEL_HASH = 8 << 20


class _Reports:
    """The ``--combined`` / per-category report files, written as results arrive."""

    def __init__(self, opts: CheckOptions) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, IO[str]] = {}
        self._owned: list[IO[str]] = []
        for name in ("combined", "missing_on_src", "missing_on_dst", "match", "differ", "error"):
            target = getattr(opts, name)
            if target == "-":
                # rclone: "-" is standard output (several reports may share it)
                import sys

                self._files[name] = sys.stdout
            elif target:
                f = open(target, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()
                self._files[name] = f
                self._owned.append(f)

    def write(self, sigil: str, category: str, path: str) -> None:
        if not self._files:
            return
        with self._lock:
            combined = self._files.get("combined")
            if combined is not None:
                combined.write(f"{sigil} {path}\n")
            f = self._files.get(category)
            if f is not None:
                f.write(f"{path}\n")

    def close(self) -> None:
        for f in self._files.values():
            with contextlib.suppress(OSError, ValueError):
                f.flush()
        for f in self._owned:
            with contextlib.suppress(OSError):
                f.close()


class _Counters:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.differences = 0
        self.src_missing = 0
        self.dst_missing = 0
        self.matches = 0
        self.no_hash = 0
        self.errors = 0

    def add(self, **kw: int) -> None:
        with self.lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)


def log_summary(counts: _Counters, dst: Backend, errors: int, *,
                src_missing: tuple[str, str | None]) -> None:
    """rclone's closing NOTICE lines of ``check`` (and ``checksum``): what is missing on each
    side, the differences, the errors, the matches.  ``src_missing`` is the line for files
    missing on the source, worded by the command, and the object it names (or None)."""
    if counts.dst_missing:
        notice(log, "%s: %d files missing", dst, counts.dst_missing, extra={"object": str(dst)})
    if counts.src_missing:
        text, obj = src_missing
        notice(log, "%s", text, extra={"object": obj} if obj else {})
    notice(log, "%s: %d differences found", dst, counts.differences, extra={"object": str(dst)})
    if errors:
        notice(log, "%s: %d errors while checking", dst, errors, extra={"object": str(dst)})
    if counts.no_hash:
        notice(log, "%s: %d hashes could not be checked", dst, counts.no_hash,
               extra={"object": str(dst)})
    if counts.matches:
        notice(log, "%s: %d matching files", dst, counts.matches, extra={"object": str(dst)})


def run_check(src: Backend, dst: Backend, opts: CheckOptions, *,
              src_file: str | None = None) -> RunResult:
    from ..filters import Filter

    filt = Filter.from_options(opts.filters).bind_source(src)
    run = Run(checkers=opts.checkers, transfers=1, backlog=opts.max_backlog)
    for backend in (src, dst):
        # the checkers, plus one hashing helper each (--download)
        backend.set_concurrency(2 * opts.checkers + 1)
        backend.set_low_level_retries(opts.low_level_retries)
    reports = _Reports(opts)
    counts = _Counters()
    hash_type = None if opts.size_only or opts.download else common_hash(src.features, dst.features)
    retries = opts.low_level_retries
    src_root_missing = False

    def failed(path: str, err: BaseException) -> None:
        counts.add(errors=1)
        run.count_error(err, path)
        reports.write("!", "error", path)

    helper_pool: list[ThreadPoolExecutor] = []
    helper_lock = threading.Lock()

    def helpers() -> ThreadPoolExecutor:
        # separate from the checkers: a checker waiting on its own pool could deadlock it
        with helper_lock:
            if not helper_pool:
                helper_pool.append(ThreadPoolExecutor(max_workers=max(1, opts.checkers),
                                                      thread_name_prefix="cloudsync-hash"))
            return helper_pool[0]

    def compare(s: Entry, d: Entry) -> None:
        path = s.path
        try:
            if s.size >= 0 and d.size >= 0 and s.size != d.size:
                _differ(path, "sizes differ")
                return
            if opts.size_only:
                _match(path, "OK")
                return
            if opts.download:
                # rclone counts each pair it downloads as one transfer
                run.stats.add(transfers=1, total_transfers=1)
                if _contents_equal(src, s, dst, d, retries):
                    _match(path, "OK")
                else:
                    _differ(path, "contents differ")
                return
            if hash_type is None:
                counts.add(no_hash=1)
                _match(path, "OK - could not check hash")
                return
            a = s.hashes.get(hash_type)
            b = d.hashes.get(hash_type)
            other: Future[str] | None = None
            if a is None and b is None and s.size >= PARALLEL_HASH:
                other = helpers().submit(call_with_retries,
                                         lambda: dst.hash(d.path, hash_type), retries)
            try:
                if a is None:
                    a = call_with_retries(lambda: src.hash(s.path, hash_type), retries)
            finally:
                if other is not None:
                    b = other.result()  # (waited for even when ours failed: no stray reads)
            if b is None:
                b = call_with_retries(lambda: dst.hash(d.path, hash_type), retries)
            if not a or not b:
                counts.add(no_hash=1)
                _match(path, "OK - could not check hash")
            elif a.lower() != b.lower():
                _differ(path, f"{hash_type} differ")
            else:
                _match(path, "OK")
        except Exception as err:
            failed(path, err)

    def with_known_hash(s: Entry, d: Entry) -> tuple[Entry, Entry] | None:
        # One side's hash came with the listing (JottaCloud) and the other's is known without
        # reading the file (a local file's hash-cache entry): decided right here, as cheaply
        # as a pair decided from the listings; handing it to a checker thread cost more than
        # the cache lookup itself.
        if opts.download or hash_type is None:
            return None
        if hash_type in d.hashes and hash_type not in s.hashes:
            h = src.known_hash(s.path, hash_type)
            return (dataclasses.replace(s, hashes={hash_type: h}), d) if h else None
        if hash_type in s.hashes and hash_type not in d.hashes:
            h = dst.known_hash(d.path, hash_type)
            return (s, dataclasses.replace(d, hashes={hash_type: h})) if h else None
        return None

    def _differ(path: str, why: str) -> None:
        counts.add(differences=1)
        log.error("%s: %s", path, why, extra={"object": path})
        difference(why)
        reports.write("*", "differ", path)

    def difference(why: str) -> None:
        # rclone counts every difference as an error in its stats: "N errors while checking"
        # and "Failed to check with N errors" count them
        run.stats.error(CloudsyncError(why), retryable=True)

    # (once per run: a match is the per-file common case of a big check)
    debug = log.isEnabledFor(logging.DEBUG)

    def _match(path: str, why: str) -> None:
        with counts.lock:
            counts.matches += 1
        if debug:
            log.debug("%s: %s", path, why, extra={"object": path})
        reports.write("=", "match", path)

    def on_error(err: BaseException, path: str) -> None:
        nonlocal src_root_missing
        if path == "" and isinstance(err, DirNotFound):
            src_root_missing = True
        counts.add(errors=1)
        run.count_error(err, path or None)

    try:
        pairs: Iterable[_PairLike | Pair]
        if src_file is not None:
            pairs = _single(src, dst, src_file, retries, on_error)
        else:
            key = make_key(fold_case=dst.features.case_insensitive or opts.ignore_case_sync)

            def count_listed(n: int) -> None:
                run.stats.add(listed=n)

            s_side = Side(src, filt, low_level_retries=retries, count_listed=count_listed)
            d_side = Side(dst, filt, low_level_retries=retries, count_listed=count_listed)
            pairs = march(s_side, d_side, key=key, on_error=on_error, checkers=opts.checkers,
                          max_depth=filt.max_depth, descend_dst_only=not opts.one_way,
                          on_src_duplicate=report_duplicate("source", False, on_error),
                          on_dst_duplicate=report_duplicate("destination", False, on_error))
        local = src.features.is_local and dst.features.is_local
        checks = 0  # flushed in batches: one stats lock per 256 pairs
        for pair in pairs:
            s, d = pair.src, pair.dst
            if pair.is_dir:
                continue  # empty directories are ignored
            if d is None:
                assert s is not None
                counts.add(differences=1, dst_missing=1)
                log.error("%s: file not in %s", s.path, dst, extra={"object": s.path})
                difference(f"file not in {dst}")
                reports.write("+", "missing_on_dst", s.path)
            elif s is None:
                if opts.one_way:
                    continue
                counts.add(differences=1, src_missing=1)
                log.error("%s: file not in %s", d.path, src, extra={"object": d.path})
                difference(f"file not in {src}")
                reports.write("-", "missing_on_src", d.path)
            else:
                checks += 1
                if checks == 256:
                    run.stats.add(checks=checks, total_checks=checks)
                    checks = 0
                if not (opts.download or (hash_type is not None
                                          and (hash_type not in s.hashes
                                               or hash_type not in d.hashes)
                                          and s.size == d.size)):
                    compare(s, d)  # decided from the listing alone
                elif local and 0 <= s.size <= SMALL_LOCAL:
                    compare(s, d)
                elif not local and (known := with_known_hash(s, d)) is not None:
                    compare(*known)
                else:
                    run.checkers.submit(compare, s, d)
        if checks:
            run.stats.add(checks=checks, total_checks=checks)
        run.join()
    finally:
        run.close()
        for pool in helper_pool:
            pool.shutdown(wait=True)
        reports.close()

    log_summary(counts, dst, run.stats.errors,
                src_missing=(f"{src}: {counts.src_missing} files missing", str(src)))

    result = run.result(differences=counts.differences, matches=counts.matches)
    if src_root_missing:
        result.final_error = next((e for e in run.errors if isinstance(e, DirNotFound)), None)
    elif counts.differences:
        result.final_error = CloudsyncError(f"{counts.differences} differences found")
    return result


def _single(src: Backend, dst: Backend, name: str, retries: int,
            on_error: object) -> list[_PairLike]:
    from ..errors import NotFound

    assert callable(on_error)
    try:
        s = call_with_retries(lambda: src.stat(name), retries)
    except Exception as err:
        on_error(err, name)
        return []
    try:
        d: Entry | None = call_with_retries(lambda: dst.stat(name), retries)
    except NotFound:
        d = None
    return [_PairLike(s, d)]


@dataclasses.dataclass
class _PairLike:
    """A src/dst pair shaped like march's Pair."""

    src: Entry | None
    dst: Entry | None

    @property
    def is_dir(self) -> bool:
        e = self.src or self.dst
        return bool(e and e.is_dir)


def _contents_equal(src: Backend, s: Entry, dst: Backend, d: Entry, retries: int) -> bool:
    """``check --download``: read both files and compare byte for byte, in chunks."""
    a = call_with_retries(lambda: src.open_entry(s), retries)
    try:
        b = call_with_retries(lambda: dst.open_entry(d), retries)
        try:
            while True:
                x = read_full(a, CHUNK)
                y = read_full(b, CHUNK)
                if x != y:
                    return False
                if not x:
                    return True
        finally:
            b.close()
    finally:
        a.close()
