"""Watch mode: ``copy``/``sync --watch`` keep a destination up to date with a local folder.

:class:`Watcher` runs the loop (:mod:`.loop`); :mod:`.observer` turns file system events
(watchdog) into coalesced folder changes (:mod:`.changes`); :mod:`.scope` narrows each pass of
the ordinary engine to what changed and leaves out files still being written.
"""

from __future__ import annotations

from .loop import Watcher, WatchGone, WatchOptions

__all__ = ["WatchGone", "WatchOptions", "Watcher"]
