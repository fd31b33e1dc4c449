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
import re
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

__all__ = ["BwLimit", "Cutoff", "TransferOrder", "bandwidth_limit", "parse_bwlimit", "parse_order_by", "rate_at"]

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
        self._deadline: float | None = None
        if opts.max_duration > 0:
            self._deadline = time.monotonic() + opts.max_duration
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
        with self._lock:
            if self.expired.is_set():
                return
            self.expired.set()
        # fatal in every mode (as rclone): nothing new starts; hard mode also cuts reads
        self.run.count_error(DurationExceeded(MAX_DURATION_MESSAGE))

    def _over_time(self) -> bool:
        """The deadline passed (checked on the clock too: the timer thread may not have run)."""
        if self.expired.is_set():
            return True
        if self._deadline is not None and time.monotonic() >= self._deadline:
            self._expire()
            return True
        return False

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
        if self._over_time():
            raise DurationExceeded(MAX_DURATION_MESSAGE, path=path)

    def may_start(self, size: int) -> bool:
        """May a transfer of ``size`` bytes start now?  Refusals are counted (once)."""
        if self._over_time():
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


def parse_order_by(text: str) -> tuple[Callable[[Entry], Any], bool, int] | None:
    """``size,descending`` → (key, descending, mixed); empty → None.  ``mixed`` is the
    percentage of ``,mixed[,N]`` (default 50), -1 without it.  Bad values are fatal errors
    (rclone's messages; the run fails with exit 7, as rclone's does)."""
    if not text.strip():
        return None
    parts = text.lower().split(",")  # (no stripping: rclone takes " desc" as unknown)
    key = _KEYS.get(parts[0])
    if key is None:
        raise FatalError(f'unknown --order-by comparison "{parts[0]}"')
    direction = parts[1] if len(parts) > 1 else "ascending"
    mixed = -1
    if direction == "mixed":
        mixed = 50
        if len(parts) > 2:
            # (rclone reads the number as Go's Atoi: an optional sign, then digits only)
            if not re.fullmatch(r"[+-]?[0-9]+", parts[2]):
                raise FatalError(f'bad mixed fraction --order-by "{parts[2]}"')
            mixed = int(parts[2])
    elif direction not in ("ascending", "asc", "descending", "desc"):
        raise FatalError(f'unknown --order-by sort direction "{direction}"')
    # (a negative percentage is rclone's "not mixed", so it may not take a third part)
    if len(parts) > (3 if mixed >= 0 else 2):
        raise FatalError(f'bad --order-by string "{text}"')
    return key, direction.startswith("desc"), mixed


class TransferOrder:
    """The transfer queue in ``--order-by`` order: each free transfer worker takes the best
    queued transfer at the moment it becomes free (rclone's ordered transfer pipe).

    ``mixed`` (``--order-by size,mixed,N``): of the ``workers`` transfer slots, slot ``i``
    takes from the bottom of the order (the smallest, first name, oldest) when
    ``100 * i // workers < N`` and from the top otherwise, as rclone's transfer workers do;
    so ``N`` percent of the workers work through the small end and the rest through the big
    end.  A transfer starting takes a free slot of the group that is least busy (the first
    two started with two workers are the smallest and the biggest).
    """

    def __init__(self, key: Callable[[Entry], Any], descending: bool, mixed: int = -1,
                 workers: int = 1) -> None:
        self._key = key
        self._descending = descending and mixed < 0
        self._mixed = mixed >= 0
        self._low: list[tuple[Any, int, list[Action | None]]] = []
        self._high: list[tuple[Any, int, list[Action | None]]] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()
        workers = max(1, workers)
        #: slot i takes from the top of the order (True) or from the bottom (False)
        self._takes_top = [self._mixed and 100 * i // workers >= mixed for i in range(workers)]
        self._busy = [False] * workers

    def push(self, action: Action) -> None:
        assert action.src is not None
        value = self._key(action.src)
        cell: list[Action | None] = [action]  # emptied by whichever end takes it first
        seq = next(self._seq)
        with self._lock:
            heapq.heappush(self._low, (_Reversed(value) if self._descending else value, seq, cell))
            if self._mixed:
                heapq.heappush(self._high, (_Reversed(value), seq, cell))

    def take(self) -> tuple[Action, int] | None:
        """The next transfer for a worker that is free, with the slot it holds until
        :meth:`done`; None when nothing is queued."""
        with self._lock:
            slot = self._free_slot()
            heap = self._high if self._takes_top[slot] else self._low
            while heap:
                cell = heapq.heappop(heap)[2]
                action = cell[0]
                if action is not None:
                    cell[0] = None
                    self._busy[slot] = True
                    return action, slot
            return None

    def done(self, slot: int) -> None:
        with self._lock:
            self._busy[slot] = False

    def _free_slot(self) -> int:
        """A free slot of the group (bottom or top) with the smaller share of busy slots."""
        best, best_load = 0, 2.0
        for top in (False, True):
            group = [i for i, t in enumerate(self._takes_top) if t is top]
            free = [i for i in group if not self._busy[i]]
            if free:
                load = sum(self._busy[i] for i in group) / len(group)
                if load < best_load:
                    best, best_load = free[0], load
        return best


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


# ------------------------------------------------------------------------------ --bwlimit

_DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
#: (tx, rx) bytes per second; -1 = unlimited
Rate = tuple[int, int]


def _rate(text: str) -> Rate:
    from ..options import parse_size

    def one(part: str) -> int:
        part = part.strip()
        if not part:
            raise ValueError("empty string")
        return -1 if part.lower() == "off" else parse_size(part, default_unit="k")

    if ":" in text:
        tx, rx = text.split(":", 1)
        return one(tx), one(rx)
    value = one(text)
    return value, value


def parse_bwlimit(text: str) -> list[tuple[int | None, int, Rate]]:
    """rclone's ``--bwlimit``: ``1M``, ``10M:100k`` (upload:download), ``off``, or a timetable
    ``"08:00,512k 12:00,10M Sat-00:00,off"`` → ``[(weekday or None, minute of day, rate)]``."""
    text = text.strip()
    if not text:
        return [(None, 0, (-1, -1))]
    if "," not in text:
        return [(None, 0, _rate(text))]
    table: list[tuple[int | None, int, Rate]] = []
    for item in text.split():
        when, sep, rate = item.partition(",")
        if not sep:
            raise ValueError(f"invalid timetable entry {item!r}")
        day: int | None = None
        if "-" in when:
            name, when = when.split("-", 1)
            if name.lower()[:3] not in _DAYS:
                raise ValueError(f"invalid weekday in {item!r}")
            day = _DAYS[name.lower()[:3]]
        hh, colon, mm = when.partition(":")
        if not colon or not hh.isdigit() or not mm.isdigit() or int(hh) > 23 or int(mm) > 59:
            raise ValueError(f"invalid time in {item!r}")
        table.append((day, int(hh) * 60 + int(mm), _rate(rate)))
    return table


def rate_at(table: list[tuple[int | None, int, Rate]], when: time.struct_time) -> Rate:
    """The entry in force at ``when``: the latest one at or before it, the week (entries with
    a day) or the day (without) wrapping round."""
    now_day = when.tm_min + 60 * when.tm_hour
    now_week = when.tm_wday * 1440 + now_day
    best: tuple[int, Rate] | None = None
    latest: tuple[int, Rate] | None = None
    for day, minute, rate in table:
        position = minute if day is None else day * 1440 + minute
        current = now_day if day is None else now_week
        if position <= current and (best is None or position - current >= best[0]):
            best = (position - current, rate)
        # (the wrap-round candidate: the entry latest in its cycle)
        span = 1440 if day is None else 7 * 1440
        offset = position - span - current
        if latest is None or offset >= latest[0]:
            latest = (offset, rate)
    chosen = best if best is not None else latest
    assert chosen is not None
    return chosen[1]


def _rate_text(rate: Rate) -> str:
    from ..types import size_suffix

    def one(v: int) -> str:
        return "off" if v < 0 else "".join(size_suffix(v))

    return one(rate[0]) if rate[0] == rate[1] else f"{one(rate[0])}:{one(rate[1])}"


class BwLimit:
    """The ``--bwlimit`` token buckets shared by every transfer of a run.

    One limit (``1M``) throttles all transfer bytes.  Separate upload:download limits
    (``10M:1M``) throttle what goes to a remote and what comes from one, as rclone applies
    them on the network; a copy between local disks is then not limited, as in rclone.
    """

    def __init__(self, table: list[tuple[int | None, int, Rate]],
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 now: Callable[[], time.struct_time] = time.localtime) -> None:
        self._table = table
        self._clock = clock
        self._sleep = sleep
        self._now = now
        self._lock = threading.Lock()
        self._rate: Rate = (-1, -1)
        self._checked = -1e18
        self._tokens = [0.0, 0.0]  # tx, rx
        self._last = clock()
        self._refresh(force=True)

    def _refresh(self, force: bool = False) -> None:
        t = self._clock()
        if not force and t - self._checked < 1.0:
            return
        self._checked = t
        rate = rate_at(self._table, self._now())
        if rate != self._rate:
            if force:
                if rate != (-1, -1):
                    log.info("Starting bandwidth limiter at %s Byte/s", _rate_text(rate))
            else:
                log.info("Scheduled bandwidth change. Limit set to %s Byte/s", _rate_text(rate))
            self._rate = rate

    def take(self, n: int, *, upload: bool, download: bool) -> None:
        """Account ``n`` bytes just moved; sleep as long as the limit says."""
        with self._lock:
            self._refresh()
            tx, rx = self._rate
            now = self._clock()
            elapsed, self._last = now - self._last, now
            wait = 0.0
            for i, (rate, applies) in enumerate(((tx, upload), (rx, download))):
                if rate <= 0:
                    continue
                if tx == rx and i == 1:
                    break  # one total limit (the same value both ways): one bucket
                if tx != rx and not applies:
                    continue
                tokens = min(self._tokens[i] + elapsed * rate, rate / 10) - n
                self._tokens[i] = tokens
                if tokens < 0:
                    wait = max(wait, -tokens / rate)
        if wait > 0:
            self._sleep(wait)


def bandwidth_limit(opts: SyncOptions) -> BwLimit | None:
    """The run's ``--bwlimit`` limiter, or None when there is no limit at any time."""
    if not opts.bwlimit.strip():
        return None
    table = parse_bwlimit(opts.bwlimit)
    if all(rate == (-1, -1) for _, _, rate in table):
        return None
    return BwLimit(table)
