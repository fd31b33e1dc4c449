"""Progress as events: the engine emits them, the CLI renders them (rich, plain, JSON, nothing).

The engine never prints.  It calls ``reporter(event)`` from worker threads (a reporter must be
thread-safe and fast), and logs human messages through :mod:`logging` with rclone's wording
(``Copied (new)``, ``Deleted`` …) under the ``cloudsync`` logger, passing the structured bits in
``extra={"object": path, "size": n, "skipped": action}`` so ``--use-json-log`` can emit them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Event",
    "Reporter",
    "RunStarted",
    "Stats",
    "TransferDone",
    "TransferProgress",
    "TransferStarted",
    "null_reporter",
]


@dataclass(frozen=True, slots=True)
class TransferStarted:
    """A transfer of ``path`` began (``size`` -1 when unknown)."""

    path: str
    size: int  # -1 unknown


@dataclass(frozen=True, slots=True)
class TransferProgress:
    """``delta`` more bytes of ``path`` moved."""

    path: str
    delta: int  # bytes moved since the last event for this path


@dataclass(frozen=True, slots=True)
class TransferDone:
    """The transfer of ``path`` ended, ``ok`` or with ``error``."""

    path: str
    ok: bool
    error: str | None = None


@dataclass(frozen=True, slots=True)
class RunStarted:
    """An engine run began; ``stats`` are its live counters (totals grow as the listing finds
    work, so a progress display reads them instead of guessing from started transfers)."""

    stats: Stats


Event = TransferStarted | TransferProgress | TransferDone | RunStarted
Reporter = Callable[[Event], None]


def null_reporter(event: Event) -> None:
    """A reporter that ignores everything (``-q``, library use)."""


@dataclass
class Stats:
    """rclone's accounting counters (names as in its JSON stats, see rclone-semantics.md §D.4).

    Thread-safe: workers call :meth:`add`.  ``snapshot()`` gives the JSON ``stats`` object.
    """

    bytes: int = 0
    checks: int = 0
    deletes: int = 0
    deleted_dirs: int = 0
    errors: int = 0
    fatal_error: bool = False
    retry_error: bool = False
    listed: int = 0
    renames: int = 0
    server_side_copies: int = 0
    server_side_copy_bytes: int = 0
    server_side_moves: int = 0
    server_side_move_bytes: int = 0
    total_bytes: int = 0
    total_checks: int = 0
    total_transfers: int = 0
    transfers: int = 0
    deleted_bytes: int = 0
    last_error: str | None = None
    started: float = field(default_factory=time.monotonic)
    transfer_time: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **deltas: int) -> None:
        with self._lock:
            for name, value in deltas.items():
                setattr(self, name, getattr(self, name) + value)

    def error(self, err: BaseException, *, fatal: bool = False, retryable: bool = False) -> None:
        with self._lock:
            self.errors += 1
            self.last_error = str(err)
            self.fatal_error = self.fatal_error or fatal
            self.retry_error = self.retry_error or retryable

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def snapshot(self) -> dict[str, Any]:
        """The JSON ``stats`` object, keys sorted as rclone prints them."""
        with self._lock:
            elapsed = self.elapsed
            # Server-side bytes count as done but never moved through us: like rclone's
            # BytesNoNetwork they stay out of the speed.
            moved = self.bytes - self.server_side_copy_bytes - self.server_side_move_bytes
            speed = max(moved, 0) / elapsed if elapsed > 0 else 0.0
            remaining = self.total_bytes - self.bytes
            eta = remaining / speed if speed > 0 and remaining > 0 else None
            out: dict[str, Any] = {
                "bytes": self.bytes,
                "checks": self.checks,
                "deletedDirs": self.deleted_dirs,
                "deletes": self.deletes,
                "elapsedTime": round(elapsed, 9),
                "errors": self.errors,
                "eta": eta,
                "fatalError": self.fatal_error,
                "listed": self.listed,
                "renames": self.renames,
                "retryError": self.retry_error,
                "serverSideCopies": self.server_side_copies,
                "serverSideCopyBytes": self.server_side_copy_bytes,
                "serverSideMoveBytes": self.server_side_move_bytes,
                "serverSideMoves": self.server_side_moves,
                "speed": speed,
                "totalBytes": self.total_bytes,
                "totalChecks": self.total_checks,
                "totalTransfers": self.total_transfers,
                "transferTime": round(self.transfer_time, 9),
                "transfers": self.transfers,
            }
            if self.errors and self.last_error:
                out["lastError"] = self.last_error
            return dict(sorted(out.items()))
