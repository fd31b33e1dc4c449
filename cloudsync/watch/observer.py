"""File system events (watchdog: inotify, FSEvents, ReadDirectoryChangesW) → :class:`Changes`.

Events are a speed-up, never the source of truth: anything that suggests events were lost
(the kernel queue overflowed, a watch could not be added, the observer thread died) turns
into a request for a full re-scan.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from .changes import Changes, Move, parent_of

__all__ = ["Observer", "start_observer"]

log = logging.getLogger(__name__)


class _LostEvents(logging.Handler):
    """watchdog reports an overflowed queue or a watch it could not add only in its log."""

    def __init__(self, changes: Changes) -> None:
        super().__init__(logging.WARNING)
        self.changes = changes

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        self.changes.lost(f"file system events lost: {message}")


def _handler(root: str, changes: Changes, ignore_names: tuple[str, ...]) -> Any:
    from watchdog.events import FileSystemEvent, FileSystemEventHandler

    sep = os.sep

    def rel(path: str | bytes) -> str | None:
        p = os.fsdecode(path)
        if p == root:
            return ""
        if not p.startswith(root + sep) and root != sep:
            return None  # moved out of the watched folder
        out = p[len(root) + 1:] if root != sep else p[1:]
        return out.replace(sep, "/") if sep != "/" else out

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event: FileSystemEvent) -> None:
            kind = event.event_type
            if kind in ("opened", "closed_no_write"):
                return  # reading a file changes nothing
            now = time.monotonic()
            src = rel(event.src_path)
            if kind == "moved":
                dest = rel(event.dest_path)
                if src is not None and dest is not None and not event.is_synthetic:
                    changes.moved(Move(src, dest, event.is_directory), now)
                    return
                for p in (src, dest):
                    if p is not None:
                        changes.dir_changed(parent_of(p), now)
                        if event.is_directory:
                            changes.tree_changed(p, now)
                return
            if src is None:
                return
            if event.is_directory:
                if kind in ("created", "deleted"):
                    changes.tree_changed(src, now)
                    if src:
                        changes.dir_changed(parent_of(src), now)
                else:
                    changes.dir_changed(src, now)
                return
            name = src.rsplit("/", 1)[-1]
            if name in ignore_names:
                # an edited ignore file changes what is excluded below its folder
                changes.tree_changed(parent_of(src), now)
                return
            changes.dir_changed(parent_of(src), now)

    return Handler()


class Observer:
    """A running watchdog observer on ``root`` feeding ``changes``."""

    def __init__(self, root: str, changes: Changes, ignore_names: tuple[str, ...] = ()) -> None:
        from watchdog.observers import Observer as WatchdogObserver

        self.root = root
        self.changes = changes
        self._lost = _LostEvents(changes)
        logging.getLogger("watchdog").addHandler(self._lost)
        self._observer: Any = WatchdogObserver()
        self._observer.schedule(_handler(root, changes, ignore_names), root, recursive=True)
        self._observer.daemon = True
        self._observer.start()

    def alive(self) -> bool:
        return bool(self._observer.is_alive())

    def stop(self) -> None:
        logging.getLogger("watchdog").removeHandler(self._lost)
        try:
            self._observer.stop()
            self._observer.join(timeout=2)
        except Exception as err:  # stopping must never fail the exit
            log.debug("stopping the file system observer: %s", err)


def start_observer(root: str, changes: Changes, ignore_names: tuple[str, ...] = ()) -> Observer:
    return Observer(root, changes, ignore_names)
