"""What changed since the last pass, coalesced, with bounded memory.

File system events name files; a pass re-examines *folders*.  Every event marks its folder
(or, for created, deleted and moved folders, the whole subtree) as dirty, with the time of its
first and last change.  A folder is ready once it has been quiet for the watch delay (or has
waited ``max_wait`` while something in it keeps changing).  However many events arrive, the
store holds at most ``limit`` folders: past that it forgets them all and asks for a full
re-scan instead, which is always correct.

Bursts coalesce: while events keep arriving anywhere, a pass waits for a short global lull
(``min(delay, 1 s)``), but never holds a ready folder back for more than ``max(delay, 2 s)``
– so 10,000 files created at once make a handful of passes, and a file that is written
continuously somewhere cannot delay everything else for long.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

__all__ = ["Batch", "Changes", "Move"]


@dataclass(frozen=True)
class Move:
    """A rename or move inside the watched folder (paths relative to it)."""

    old: str
    new: str
    is_dir: bool


@dataclass
class Batch:
    """The work of one pass."""

    full: bool = False
    reason: str = ""
    dirs: set[str] = field(default_factory=set)   # folders whose own entries changed
    trees: set[str] = field(default_factory=set)  # folders to re-examine with everything below
    moves: list[Move] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.full or bool(self.dirs or self.trees or self.moves)

    def describe(self) -> str:
        if self.full:
            return f"full re-scan ({self.reason})" if self.reason else "full re-scan"
        return f"{len(self.dirs) + len(self.trees)} changed folder(s)"


def parent_of(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


class Changes:
    """Thread-safe store fed by the watcher thread and drained by the pass loop."""

    def __init__(self, limit: int = 10_000, max_moves: int = 1_000) -> None:
        self.limit = limit
        self.max_moves = max_moves
        self._lock = threading.Condition()
        # path -> [first change, last change]
        self._dirs: dict[str, list[float]] = {}
        self._trees: dict[str, list[float]] = {}
        self._moves: list[tuple[Move, float]] = []
        self._full_reason = ""
        self._last_event = float("-inf")
        self.events = 0  # events seen (for the status line and tests)

    # -- feeding (watcher thread) -------------------------------------------------------------
    def _mark(self, table: dict[str, list[float]], path: str, now: float) -> None:
        slot = table.get(path)
        if slot is None:
            if len(self._dirs) + len(self._trees) >= self.limit:
                self._overflow_locked(f"more than {self.limit} changed folders")
                return
            table[path] = [now, now]
            self._lock.notify_all()
        else:
            slot[1] = now

    def _overflow_locked(self, reason: str) -> None:
        self._dirs.clear()
        self._trees.clear()
        self._moves.clear()
        if not self._full_reason:
            self._full_reason = reason
        self._lock.notify_all()

    def dir_changed(self, path: str, now: float, *, event: bool = True) -> None:
        with self._lock:
            if event:
                self.events += 1
                self._last_event = max(self._last_event, now)
            if not self._full_reason:
                self._mark(self._dirs, path, now)

    def tree_changed(self, path: str, now: float) -> None:
        with self._lock:
            self.events += 1
            self._last_event = max(self._last_event, now)
            if not self._full_reason:
                self._mark(self._trees, path, now)

    def moved(self, move: Move, now: float) -> None:
        with self._lock:
            self.events += 1
            self._last_event = max(self._last_event, now)
            if self._full_reason:
                return
            if len(self._moves) < self.max_moves:
                self._moves.append((move, now))
            self._mark(self._dirs, parent_of(move.old), now)
            self._mark(self._dirs, parent_of(move.new), now)
            if move.is_dir:
                self._mark(self._trees, move.old, now)
                self._mark(self._trees, move.new, now)
            else:
                # the file itself must be looked at even if its folder is otherwise quiet
                pass

    def lost(self, reason: str) -> None:
        """Events may have been lost: the next pass re-scans everything."""
        with self._lock:
            self._overflow_locked(reason)

    # -- draining (pass loop) -----------------------------------------------------------------
    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._dirs) + len(self._trees) + (1 if self._full_reason else 0)

    def full_requested(self) -> str:
        with self._lock:
            return self._full_reason

    @staticmethod
    def _lull(delay: float) -> float:
        return min(delay, 1.0)

    @staticmethod
    def _hold(delay: float) -> float:
        return max(delay, 2.0)

    def _ready_times(self, delay: float, max_wait: float) -> list[float]:
        return [min(last + delay, first + max_wait)
                for first, last in (*self._dirs.values(), *self._trees.values())]

    def next_ready(self, delay: float, max_wait: float) -> float | None:
        """When the next pass may start (None: nothing pending)."""
        with self._lock:
            if self._full_reason:
                return 0.0
            times = self._ready_times(delay, max_wait)
            if not times:
                return None
            first_ready = min(times)
            # ready, but events still arriving: at the lull, or when held long enough
            return max(first_ready, min(self._last_event + self._lull(delay),
                                        first_ready + self._hold(delay)))

    def take(self, now: float, delay: float, max_wait: float, *, full: bool = False,
             reason: str = "") -> Batch:
        """Pop everything ready at ``now`` (everything at all for a full pass)."""
        with self._lock:
            if full or self._full_reason:
                batch = Batch(full=True, reason=self._full_reason or reason)
                self._full_reason = ""
                self._dirs.clear()
                self._trees.clear()
                self._moves.clear()
                return batch
            batch = Batch()
            times = self._ready_times(delay, max_wait)
            if not times or min(times) > now:
                return batch
            if (now - self._last_event < self._lull(delay)
                    and now - min(times) < self._hold(delay)):
                return batch  # a burst is still going on: let it coalesce a little longer

            def ready(slot: list[float]) -> bool:
                return now - slot[1] >= delay or now - slot[0] >= max_wait

            for table, out in ((self._dirs, batch.dirs), (self._trees, batch.trees)):
                for path in [p for p, slot in table.items() if ready(slot)]:
                    del table[path]
                    out.add(path)
            if batch.dirs or batch.trees:
                keep: list[tuple[Move, float]] = []
                for move, when in self._moves:
                    (batch.moves.append(move) if now - when >= delay or not self._touches(move)
                     else keep.append((move, when)))
                self._moves = keep
            return batch

    def _touches(self, move: Move) -> bool:
        # a move whose folders are still pending waits for them
        return any(p in self._dirs or p in self._trees
                   for p in (parent_of(move.old), parent_of(move.new)))

    def requeue(self, batch: Batch, now: float) -> None:
        """Put a failed pass's work back (a full pass stays a full pass)."""
        with self._lock:
            if batch.full:
                self._overflow_locked(batch.reason or "the last pass failed")
                return
            if self._full_reason:
                return
            for path in batch.dirs:
                self._mark(self._dirs, path, now)
            for path in batch.trees:
                self._mark(self._trees, path, now)

    def wait(self, timeout: float) -> None:
        """Sleep up to ``timeout`` s; a first change after a quiet spell wakes it early."""
        with self._lock:
            self._lock.wait(timeout)
