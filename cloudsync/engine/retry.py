"""Retries at two levels, as rclone does them.

* Low level (``--low-level-retries``): retried once, by one owner.  A backend with its own
  HTTP layer (JottaCloud) retries each request there, with its pacer, and marks the error it
  finally gives up on ``low_level_retried``; such an error is never retried again here (the
  two loops would multiply: 10 × 10 requests for one ``stat``).  For a backend that does not
  retry by itself, one call that raised a :class:`~cloudsync.errors.TransientError` is tried
  again here after a capped exponential backoff (or the server's ``retry_after``).
* Command level (``--retries``): the whole operation is run again while the run ended with
  errors that retrying may fix (anything that is neither fatal nor "no retry").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from ..errors import CantOpenRemote, CloudsyncError, ExitCode, TransferLimitReached, TransientError

if TYPE_CHECKING:  # (a listing uses the low-level retries only: no run results, no events)
    from .result import RunResult

__all__ = ["backoff_delay", "call_with_retries", "is_fatal", "is_no_retry", "retry_owned_here",
           "run_with_retries"]

log = logging.getLogger("cloudsync.engine")

T = TypeVar("T")

#: First backoff delay and its cap, in seconds (tests shrink these).
BACKOFF_BASE = 0.1
BACKOFF_CAP = 10.0


def backoff_delay(attempt: int, err: BaseException | None = None) -> float:
    """Delay before retry number ``attempt`` (1-based); honours ``retry_after``."""
    if isinstance(err, TransientError) and err.retry_after is not None:
        return max(0.0, min(err.retry_after, 300.0))
    return float(min(BACKOFF_CAP, BACKOFF_BASE * (2 ** (attempt - 1))))


def retry_owned_here(err: BaseException) -> bool:
    """Whether a per-call retry in the engine may try ``err`` again (see the module doc)."""
    return isinstance(err, TransientError) and not err.low_level_retried


def call_with_retries(fn: Callable[[], T], low_level_retries: int,
                      sleep: Callable[[float], None] = time.sleep) -> T:
    """Call ``fn``; on TransientError call it again, at most ``low_level_retries`` tries in all.

    An error whose low-level retries the backend already spent is raised at once.
    """
    tries = max(1, low_level_retries)
    attempt = 1
    while True:
        try:
            return fn()
        except TransientError as err:
            if attempt >= tries or not retry_owned_here(err):
                raise
            delay = backoff_delay(attempt, err)
            log.debug("low level retry %d/%d after %.2fs: %s", attempt, tries, delay, err)
            sleep(delay)
            attempt += 1


def is_fatal(err: BaseException) -> bool:
    return isinstance(err, CloudsyncError) and err.fatal


def is_no_retry(err: BaseException) -> bool:
    """Errors that retrying the command cannot fix (rclone's NoRetryError class)."""
    if isinstance(err, TransferLimitReached | CantOpenRemote):  # exit 8 / 1, but no retry either
        return True
    return (isinstance(err, CloudsyncError) and not err.retryable and not err.fatal
            and err.exit_code == ExitCode.NO_RETRY)


def run_with_retries(operation: Callable[[], RunResult], retries: int, *,
                     retries_sleep: float = 0.0,
                     sleep: Callable[[float], None] = time.sleep) -> RunResult:
    """Run ``operation`` up to ``retries`` times while it fails with retryable errors.

    Mirrors rclone's command loop: stop at once on a fatal error ("Fatal error received - not
    attempting retries") or when every error is no-retry ("Can't retry any of the errors - not
    attempting retries"); otherwise log ``Attempt i/N failed with E errors and: <err>`` and go
    again.  The returned result is the last attempt's, with the transfer counters of earlier
    attempts added in (their errors are not: rclone resets the error count between tries).
    """
    retries = max(1, retries)
    previous: list[RunResult] = []
    result = operation()
    attempt = 1
    while True:
        if not result.errors and result.final_error is None:
            if attempt > 1:
                log.error("Attempt %d/%d succeeded", attempt, retries)
            break
        if any(is_fatal(e) for e in result.errors) or (result.final_error is not None
                                                      and is_fatal(result.final_error)):
            log.error("Fatal error received - not attempting retries")
            break
        errs = result.errors or ([result.final_error] if result.final_error else [])
        if errs and all(is_no_retry(e) for e in errs):
            log.error("Can't retry any of the errors - not attempting retries")
            break
        log.error("Attempt %d/%d failed with %d errors and: %s", attempt, retries,
                  len(result.errors), result.final_error or (errs[-1] if errs else ""))
        if attempt >= retries:
            break
        delay = retries_sleep
        retry_after = [e.retry_after for e in errs
                       if isinstance(e, TransientError) and e.retry_after is not None]
        if retry_after:
            delay = max(delay, max(retry_after))
        if delay > 0:
            sleep(delay)
        previous.append(result)
        attempt += 1
        result = operation()
    result.attempts = attempt
    result.nothing_transferred = result.nothing_transferred and all(
        old.nothing_transferred for old in previous)
    for old in previous:
        s, o = result.stats, old.stats
        s.add(bytes=o.bytes, checks=o.checks, deletes=o.deletes, deleted_dirs=o.deleted_dirs,
              listed=o.listed, renames=o.renames, server_side_copies=o.server_side_copies,
              server_side_copy_bytes=o.server_side_copy_bytes,
              server_side_moves=o.server_side_moves,
              server_side_move_bytes=o.server_side_move_bytes, transfers=o.transfers,
              deleted_bytes=o.deleted_bytes)
        s.started = min(s.started, o.started)
    return result
