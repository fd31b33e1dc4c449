"""When transfers may start, and in which order: ``--max-transfer`` and ``--max-duration`` with
``--cutoff-mode``, ``--order-by`` and ``--check-first`` (rclone's meanings, checked against the
pinned binary by ``tests/differential/test_flags.py``).

Cutoff modes (rclone's ``--cutoff-mode``):

* ``hard`` -- the limit stops everything at once: the read that finds the byte limit reached
  (or any read after the deadline) fails the transfer, and the run stops (a fatal error);
* ``soft`` -- no transfer starts once the limit is reached; running ones finish;
* ``cautious`` -- a transfer does not start when it would take the bytes of all started
  transfers to the limit.

Every copy counts: server-side and local copies add their bytes like streamed ones, and while a
limit is set, local copies stream (so a hard limit can stop one midway, as rclone's does).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import DurationExceeded, FatalError, TransferLimitExceeded, TransferLimitReached
from ..log import notice

if TYPE_CHECKING:
    from ..types import Entry
    from .act import Run
    from .options import SyncOptions
    from .plan import Action

__all__ = ["Cutoff", "TransferOrder", "parse_order_by"]

log = logging.getLogger("cloudsync.engine")

MAX_TRANSFER_MESSAGE = "max transfer limit reached as set by --max-transfer"
MAX_DURATION_MESSAGE = "max transfer duration reached as set by --max-duration"


class Cutoff:
    """The byte and time limits of one run."""

    def __init__(self, run: Run, opts: SyncOptions) -> None:
        self.run = run
        self.mode = opts.cutoff_mode
        self.max_transfer = opts.max_transfer
        self.active = self.max_transfer >= 0 or opts.max_duration > 0
        self._lock = threading.Lock()
        self._started = 0  # bytes of every transfer started (cautious mode)
        self._refused = False
        #: set when the deadline passed: in hard mode every read fails from then on
        self.expired = threading.Event()
        self._timer: threading.Timer | None = None
        if opts.max_duration > 0:
            deadline = time.time() + opts.max_duration
            log.info("Transfer session %s deadline: %s", self.mode.upper(),
                     time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(deadline)))
            self._timer = threading.Timer(opts.max_duration, self._expire)
            self._timer.daemon = True
            self._timer.start()

    @property
    def hard(self) -> bool:
        return self.mode == "hard"

    def _expire(self) -> None:
        self.expired.set()
        # fatal in every mode (as rclone): nothing new starts; hard mode also cuts reads
        self.run.count_error(DurationExceeded(MAX_DURATION_MESSAGE))

    def close(self) -> None:
        """End of the run: stop the deadline timer, and wait for it if it is firing right now,
        so the run's result includes its error."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer.join()

    def check_read(self, path: str) -> None:
        """Before each read of a transfer (hard mode): fail once a limit is reached."""
        if not self.hard:
            return
        if 0 <= self.max_transfer <= self.run.stats.bytes:
            raise TransferLimitExceeded(MAX_TRANSFER_MESSAGE, path=path)
        if self.expired.is_set():
            raise DurationExceeded(MAX_DURATION_MESSAGE, path=path)

    def may_start(self, size: int) -> bool:
        """May a transfer of ``size`` bytes start now?  Refusals are counted (once)."""
        if self.expired.is_set():
            return False
        limit = self.max_transfer
        if limit < 0:
            return True
        size = max(size, 0)
        with self._lock:
            if self._refused:
                return False  # once stopped, stopped (a smaller file does not slip through)
            if self.mode == "hard":
                if self.run.stats.bytes < limit:
                    return True
                err: Exception = TransferLimitExceeded(MAX_TRANSFER_MESSAGE)
            elif self.mode == "soft" and self.run.stats.bytes < limit:
                return True
            elif self.mode == "cautious" and self._started + size < limit:
                self._started += size
                return True
            else:
                err = TransferLimitReached(MAX_TRANSFER_MESSAGE)
            first = not self._refused
            self._refused = True
        if first:
            if isinstance(err, TransferLimitReached):
                notice(log, "%s - stopping transfers", MAX_TRANSFER_MESSAGE)
                self.run.count_error(err, log_it=False)
            else:
                self.run.count_error(err)
        return False


# ------------------------------------------------------------------------------ --order-by

_KEYS: dict[str, Callable[[Entry], Any]] = {
    "size": lambda e: e.size,
    "name": lambda e: e.path,
    "modtime": lambda e: e.mtime_ns or 0,
}


def parse_order_by(text: str) -> tuple[Callable[[Entry], Any], bool] | None:
    """``size,descending`` → (key, descending); empty → None.  Bad values are fatal errors
    (rclone's messages; the run fails with exit 7, as rclone's does)."""
    if not text.strip():
        return None
    parts = [p.strip().lower() for p in text.split(",")]
    key = _KEYS.get(parts[0])
    if key is None:
        raise FatalError(f'unknown --order-by comparison "{parts[0]}"')
    direction = parts[1] if len(parts) > 1 else "ascending"
    if direction == "mixed":
        raise FatalError('--order-by "mixed" is not supported by cloudsync: use ascending or descending')
    if direction not in ("ascending", "asc", "descending", "desc"):
        raise FatalError(f'unknown --order-by sort direction "{direction}"')
    if len(parts) > 2:
        raise FatalError(f'bad --order-by string "{text}"')
    return key, direction.startswith("desc")


class TransferOrder:
    """The transfer queue in ``--order-by`` order: each free transfer worker takes the best
    queued transfer at the moment it becomes free (rclone's ordered transfer pipe)."""

    def __init__(self, key: Callable[[Entry], Any], descending: bool) -> None:
        self._key = key
        self._descending = descending
        self._heap: list[tuple[Any, int, Action]] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()

    def push(self, action: Action) -> None:
        assert action.src is not None
        value = self._key(action.src)
        if self._descending:
            value = _Reversed(value)
        with self._lock:
            heapq.heappush(self._heap, (value, next(self._seq), action))

    def pop(self) -> Action | None:
        with self._lock:
            return heapq.heappop(self._heap)[2] if self._heap else None


class _Reversed:
    """Inverts the order of a value (descending keys of any type in a min-heap)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Reversed) -> bool:
        return bool(other.value < self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and bool(self.value == other.value)

    __hash__ = None  # type: ignore[assignment]
