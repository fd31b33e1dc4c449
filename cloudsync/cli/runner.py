"""Running an engine operation from the command line: live progress, periodic stats, the final
stats block, the ``Failed to <cmd>`` line and the exit code.

The engine reports progress as events (:mod:`cloudsync.events`) from worker threads;
:class:`Tracker` folds them into counters.  ``-P`` renders the counters with rich on a terminal
(stderr, redrawn every 500 ms); ``--stats D`` logs the stats block every D.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..errors import CantOpenRemote, ExitCode, UsageError, exit_code_for
from ..events import (
    Event,
    Reporter,
    RunStarted,
    Stats,
    TransferDone,
    TransferProgress,
    TransferStarted,
)
from ..log import NOTICE
from . import formats

if TYPE_CHECKING:
    from ..engine import RunResult
    from ..engine.options import SyncOptions
    from .app import App

__all__ = ["Tracker", "finish", "progress", "stats_interval"]

log = logging.getLogger("cloudsync.cli")


_SPEED_WINDOW_S = 5.0
_SPEED_SAMPLE_S = 0.1


class Tracker:
    """What ``-P`` and ``--stats`` show: the engine's live counters plus in-flight transfers.

    The engine hands its :class:`~cloudsync.events.Stats` over at the start of a run
    (:class:`~cloudsync.events.RunStarted`); their totals grow as the listing queues work, as
    rclone's do.  Transfer events add what only they know: the files in flight and a recent
    speed.  Before a run starts (or for an operation without one) the events alone count.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started = time.monotonic()
        self.stats: Stats | None = None
        self.bytes = 0
        self.total_bytes = 0
        self.transfers = 0
        self.total_transfers = 0
        self.errors = 0
        self.active: dict[str, list[float]] = {}  # path → [size, done, started], in start order
        # (time, bytes so far) for the 5 s speed window, one sample per 100 ms: a sample per
        # event held every event of the window (85,000 at 17,000 small files a second: 8 MB,
        # and a list.pop(0) over all of them per event)
        self._recent: deque[tuple[float, int]] = deque()

    def __call__(self, event: Event) -> None:
        now = time.monotonic()
        with self._lock:
            if isinstance(event, RunStarted):
                # a new run (or a --retries attempt): its counters from now on
                self.stats = event.stats
                self.active.clear()
            elif isinstance(event, TransferStarted):
                self.total_transfers += 1
                if event.size > 0:
                    self.total_bytes += event.size
                self.active[event.path] = [float(event.size), 0.0, now]
            elif isinstance(event, TransferProgress):
                self.bytes += event.delta
                slot = self.active.get(event.path)
                if slot is not None:
                    slot[1] += event.delta
                recent = self._recent
                if len(recent) > 1 and now - recent[-2][0] < _SPEED_SAMPLE_S:
                    recent[-1] = (now, self.bytes)  # the newest sample moves forward
                else:
                    recent.append((now, self.bytes))
                cutoff = now - _SPEED_WINDOW_S
                while len(recent) > 2 and recent[0][0] < cutoff:
                    recent.popleft()
            elif isinstance(event, TransferDone):
                self.active.pop(event.path, None)
                if event.ok:
                    self.transfers += 1
                else:
                    self.errors += 1

    def snapshot(self) -> tuple[dict[str, Any], list[tuple[str, int, int, float]]]:
        """Stats in the JSON ``stats`` shape plus the in-flight transfers."""
        engine = self.stats.snapshot() if self.stats is not None else None
        with self._lock:
            now = time.monotonic()
            elapsed = now - self.started
            if len(self._recent) >= 2 and self._recent[-1][0] > self._recent[0][0]:
                speed = (self._recent[-1][1] - self._recent[0][1]) / (self._recent[-1][0] - self._recent[0][0])
            else:
                speed = self.bytes / elapsed if elapsed > 0 else 0.0
            if engine is not None:
                stats = engine
                stats["speed"] = speed
            else:
                stats = {
                    "bytes": self.bytes, "totalBytes": self.total_bytes, "speed": speed,
                    "transfers": self.transfers, "totalTransfers": self.total_transfers,
                    "errors": self.errors, "elapsedTime": elapsed,
                }
            remaining = int(stats["totalBytes"]) - int(stats["bytes"])
            stats["eta"] = remaining / speed if speed > 0 and remaining > 0 else None
            active = []
            for path, (size, done, started) in self.active.items():
                rate = done / (now - started) if now > started else 0.0
                active.append((path, int(size), int(done), rate))
            return stats, active


def stats_level(app: App, default: int) -> int:
    """The level stats lines are logged at: --stats-log-level when given, else ``default``."""
    name = app.settings.stats_log_level
    if not name:
        return default
    return {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "NOTICE": NOTICE,
            "ERROR": logging.ERROR}[name.upper()]


def stats_interval(app: App) -> float:
    """``--stats`` in seconds (0 = off); ``-P`` redraws every 500 ms by default."""
    from ..options import parse_duration

    text = app.settings.stats
    if text is None:
        return 0.5 if app.settings.progress else 0.0
    try:
        return parse_duration(text)
    except ValueError:
        raise UsageError(f"invalid value for --stats: {text!r}") from None


@contextmanager
def progress(app: App) -> Iterator[Reporter]:
    """A reporter for the engine, with ``-P`` live display or ``--stats`` logging running."""
    tracker = Tracker()
    interval = stats_interval(app)
    stop = threading.Event()
    threads: list[threading.Thread] = []
    live: Any = None
    stderr = sys.stderr
    if app.settings.progress and stderr.isatty() and not app.settings.use_json_log:
        from rich.console import Console
        from rich.live import Live
        from rich.text import Text

        console = Console(file=stderr)

        def render() -> Text:
            stats, active = tracker.snapshot()
            return Text(_stats_text(app, stats, transferring=active).strip("\n"))

        live = Live(render(), console=console, refresh_per_second=4, transient=False)
        live.start()

        def redraw() -> None:
            while not stop.wait(interval or 0.5):
                live.update(render())

        threads.append(threading.Thread(target=redraw, name="cloudsync-progress", daemon=True))
    elif interval > 0 and (app.settings.stats is not None):
        def periodic() -> None:
            while not stop.wait(interval):
                stats, active = tracker.snapshot()
                log.log(stats_level(app, logging.INFO),
                        _stats_text(app, stats, transferring=active),
                         extra={"stats": stats})

        threads.append(threading.Thread(target=periodic, name="cloudsync-stats", daemon=True))
    for t in threads:
        t.start()
    try:
        yield tracker
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=2)
        if live is not None:
            stats, _ = tracker.snapshot()
            live.update(Text(_stats_text(app, stats).strip("\n")))
            live.stop()


def _stats_text(app: App, stats: Mapping[str, Any],
                transferring: Sequence[tuple[str, int, int, float]] = ()) -> str:
    """The stats block with the global stats flags (one line, name length, unit)."""
    s = app.settings
    dated = s.stats_one_line_date or bool(s.stats_one_line_date_format)
    text = formats.stats_text(stats, one_line=s.stats_one_line or dated, transferring=transferring,
                              name_width=s.stats_file_name_length, bits=s.stats_unit == "bits")
    if dated:
        # --stats-one-line-date[-format]: the date first, in Go's layout as rclone takes it
        from .gotime import compile_layout

        layout = s.stats_one_line_date_format or "2006/01/02 15:04:05 - "
        text = compile_layout(layout)(time.time_ns()) + text
    return text


def _final_message(command: str, result: RunResult) -> str:
    err = result.final_error
    # rclone counts the errors of its stats (check's differences included)
    n = max(len(result.errors), result.stats.errors)
    if n > 1:
        return f"Failed to {command} with {n} errors: last error was: {err}"
    return f"Failed to {command}: {err}"


def finish(
    app: App,
    command: str,
    result: RunResult,
    *,
    dry_run: bool = False,
    error_on_no_transfer: bool = False,
    show_stats: bool = True,
) -> None:
    """Log the final stats (rclone's rule) and exit with the right code."""
    from .interactive import current_asker

    asker = current_asker()
    if asker is not None and asker.exit_code is not None:
        # -i: the user quit, or there was no answer to read -- rclone exits there, no stats
        raise SystemExit(asker.exit_code)
    # rclone shows the final stats of an -i run as it does a dry run's
    dry_run = dry_run or asker is not None
    unusable = next((e for e in result.errors if isinstance(e, CantOpenRemote)), None)
    if unusable is not None:
        raise unusable  # rclone would not have started: its one line, exit 1, no stats
    if "cloudsync.hashcache" in sys.modules:  # (-vv: how many files were read to hash them)
        sys.modules["cloudsync.hashcache"].log_summary()
    failed = result.final_error is not None
    explicit = app.settings.stats is not None and stats_interval(app) > 0
    # commands without a stats block (rclone's delete, purge, rmdirs) show one when --stats asks
    if show_stats or explicit:
        snapshot = result.stats.snapshot()
        # (rclone's "N B (freed)" is not one of its JSON stats keys: passed on the side)
        text = _stats_text(app, {**snapshot, "deletedBytes": result.stats.deleted_bytes})
        # rclone logs the final stats at INFO (its --stats-log-level), failed or not; a dry run
        # and an explicit --stats show them
        level = stats_level(app, NOTICE if (dry_run or explicit) else logging.INFO)
        log.log(level, text, extra={"stats": snapshot})
    if failed:
        log.log(NOTICE if not app.settings.quiet else logging.ERROR, _final_message(command, result))
        raise SystemExit(exit_code_for(result.final_error))
    if error_on_no_transfer and result.nothing_transferred:
        raise SystemExit(ExitCode.NO_FILES_TRANSFERRED)


def run_without_stats(app: App, command: str, operation: Callable[[], RunResult],
                      opts: SyncOptions) -> None:
    """A command rclone runs without a stats block (delete, purge, rmdirs, touch): the
    ``--retries`` loop, then :func:`finish`, which shows stats only when ``--stats`` asks."""
    from ..engine import run_with_retries

    result = run_with_retries(operation, opts.retries, retries_sleep=opts.retries_sleep)
    finish(app, command, result, dry_run=opts.dry_run, show_stats=False)


def run(app: App, command: str, operation: Callable[[Reporter], RunResult], *, retries: int = 1,
        retries_sleep: float = 0.0, dry_run: bool = False, error_on_no_transfer: bool = False) -> RunResult:
    """Run an engine operation with progress and the retry loop, then :func:`finish`."""
    from ..engine import run_with_retries

    with progress(app) as reporter:
        result = run_with_retries(lambda: operation(reporter), retries, retries_sleep=retries_sleep)
    finish(app, command, result, dry_run=dry_run, error_on_no_transfer=error_on_no_transfer)
    return result
