"""touch: set files' modification times, or create an empty file (rclone's ``touch``)."""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING

from ..errors import NotFound, Unsupported
from ..log import notice
from ..types import PutInfo
from .act import Run
from .listing import walk_tree
from .options import SyncOptions
from .result import RunResult
from .retry import call_with_retries

if TYPE_CHECKING:
    from ..backend import Backend
    from ..types import Entry

__all__ = ["touch"]

log = logging.getLogger("cloudsync.engine")


def touch(backend: Backend, path: str, opts: SyncOptions, *, mtime_ns: int, create: bool = True,
          recursive: bool = False) -> RunResult:
    """Touch ``path`` (relative to ``backend``'s root) as rclone's ``touch`` does.

    A file gets ``mtime_ns`` as its modification time.  A directory has the files directly in
    it touched (every file below it with ``recursive``), filters applied, ``opts.transfers``
    at a time.  Nothing there: an empty file is created (parents included) unless ``create``
    is false or ``recursive`` is set, which only log a NOTICE, as rclone does.
    """
    from ..filters import Filter

    run = Run(checkers=1, transfers=max(1, opts.transfers), dry_run=opts.dry_run,
              confirm=opts.confirm, backlog=opts.max_backlog)
    retries = opts.low_level_retries
    backend.set_low_level_retries(retries)
    try:
        try:
            entry = call_with_retries(lambda: backend.stat(path), retries) if path else None
        except NotFound:
            if recursive or not create:
                why = "--recursive" if recursive else "--no-create"
                notice(log, "%s: Not touching nonexistent file due to %s", backend, why)
            elif not run.skip("touch (create)", str(backend)):
                call_with_retries(lambda: backend.put(path, io.BytesIO(b""),
                                                      PutInfo(size=0, mtime_ns=mtime_ns)),
                                  retries)
            return run.result()
        if entry is not None and not entry.is_dir:
            # rclone names a single file without its size here
            _touch_one(run, backend, entry, mtime_ns, retries, shown_size=-1)
            return run.result()
        filt = Filter.from_options(opts.filters).bind_source(backend)
        log.debug("%s: Touching %s files in directory %r", backend,
                  "recursively" if recursive else "non-recursively", path)
        for e in walk_tree(backend, path, filter=filt, files_only=True, recursive=recursive,
                           low_level_retries=retries):
            if run.stop.is_set():
                break
            run.transfers.submit(_touch_one, run, backend, e, mtime_ns, retries)
        run.join()
    except Exception as err:
        run.count_error(err, path or None)
    finally:
        run.close()
    return run.result()


def _touch_one(run: Run, backend: Backend, entry: Entry, mtime_ns: int, retries: int,
               shown_size: int | None = None) -> None:
    if run.skip("touch", entry.path, entry.size if shown_size is None else shown_size):
        return
    if not backend.has("set_modtime"):
        raise Unsupported(f"can't set modification time on {backend}", path=entry.path)
    log.debug("%s: Touching", entry.path, extra={"object": entry.path})
    try:
        call_with_retries(lambda: backend.set_modtime(entry.path, mtime_ns), retries)
    except Exception as err:
        run.count_error(err, entry.path)
