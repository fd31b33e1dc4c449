"""``copy --watch`` / ``sync --watch``: checks of the arguments, then :class:`Watcher`."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..errors import UsageError
from .app import App

if TYPE_CHECKING:
    from ..engine.options import SyncOptions

__all__ = ["watch_command"]


def _inside(inner: str, outer: str) -> bool:
    return inner == outer or inner.startswith(outer.rstrip(os.sep) + os.sep)


def watch_command(app: App, name: str, source: str, dest: str, opts: SyncOptions) -> None:
    from ..engine.copy_sync import overlaps
    from ..watch import Watcher, WatchOptions
    from ..watch.loop import default_status_stream
    from .cmd_sync import _backup, _open_dst_dir

    delay, rescan = opts.watch_delay, opts.rescan_interval
    if delay < 0 or rescan < 0:
        raise UsageError("--watch-delay and --rescan-interval can't be negative")
    src, src_file = app.open(source)
    if not src.features.is_local or src_file is not None or not os.path.isdir(src.root):
        raise UsageError(f"--watch needs a local folder as SOURCE, and {source!r} is not one")
    dst = _open_dst_dir(app, dest)
    if overlaps(src, dst) or (dst.features.is_local and (
            _inside(os.path.realpath(dst.root), os.path.realpath(src.root))
            or _inside(os.path.realpath(src.root), os.path.realpath(dst.root)))):
        raise UsageError(f"--watch: SOURCE and DEST overlap ({source!r}, {dest!r}): one must "
                         "not be inside the other")
    backup = _backup(app, opts)
    status = default_status_stream(app.settings.progress) if not app.settings.use_json_log else None
    watcher = Watcher(src, dst, opts, name,
                      watch=WatchOptions(delay=delay, rescan_interval=rescan,
                                         max_wait=max(30 * delay, 10.0)),
                      backup=backup, status=status)
    watcher.install_signal_handlers()
    code = watcher.run()
    from .. import hashcache

    cache = hashcache.get_cache()
    if cache is not None:
        cache.flush()
    raise SystemExit(code)

