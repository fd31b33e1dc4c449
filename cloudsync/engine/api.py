"""Public engine functions (signatures the CLI codes against).

Each function imports the module that does the work when it is called: ``lsf`` then never
builds the march, planner and executor, and a sync never the removal operations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from ..events import Reporter, null_reporter
from ..options import LOW_LEVEL_RETRIES
from .options import CheckOptions, SyncOptions
from .result import RunResult
from .retry import run_with_retries as _run_with_retries

if TYPE_CHECKING:
    from ..backend import Backend
    from ..filters import Filter
    from ..types import Entry

__all__ = [
    "check",
    "copy",
    "copyto",
    "delete",
    "move",
    "moveto",
    "purge",
    "rmdirs",
    "run_with_retries",
    "sync",
    "walk",
]


def copy(src: Backend, dst: Backend, opts: SyncOptions, *, reporter: Reporter = null_reporter,
         backup: Backend | None = None, src_file: str | None = None,
         dests: Sequence[Backend] = ()) -> RunResult:
    """Copy the contents of ``src`` into ``dst``, skipping equal files; never deletes."""
    from .copy_sync import run_copy

    return run_copy(src, dst, opts, "copy", reporter=reporter, backup=backup, src_file=src_file,
                    dests=dests)


def sync(src: Backend, dst: Backend, opts: SyncOptions, *, reporter: Reporter = null_reporter,
         backup: Backend | None = None, src_file: str | None = None,
         dests: Sequence[Backend] = ()) -> RunResult:
    """Make ``dst`` identical to ``src`` (deletions per §B.2)."""
    from .copy_sync import run_copy

    return run_copy(src, dst, opts, "sync", reporter=reporter, backup=backup, src_file=src_file,
                    dests=dests)


def move(src: Backend, dst: Backend, opts: SyncOptions, *, reporter: Reporter = null_reporter,
         backup: Backend | None = None, src_file: str | None = None,
         dests: Sequence[Backend] = ()) -> RunResult:
    """Like copy, then delete each source file transferred or found equal."""
    from .copy_sync import run_copy

    return run_copy(src, dst, opts, "move", reporter=reporter, backup=backup, src_file=src_file,
                    dests=dests)


def copyto(src: Backend, src_path: str, dst: Backend, dst_path: str, opts: SyncOptions, *,
           reporter: Reporter = null_reporter, backup: Backend | None = None) -> RunResult:
    """Copy one file to a new name (``backup``: --backup-dir for a replaced file)."""
    from .ops import copy_to

    return copy_to(src, src_path, dst, dst_path, opts, move=False, reporter=reporter,
                   backup=backup)


def moveto(src: Backend, src_path: str, dst: Backend, dst_path: str, opts: SyncOptions, *,
           reporter: Reporter = null_reporter, backup: Backend | None = None) -> RunResult:
    """Move/rename one file (``backup``: --backup-dir for a replaced file)."""
    from .ops import copy_to

    return copy_to(src, src_path, dst, dst_path, opts, move=True, reporter=reporter,
                   backup=backup)


def check(src: Backend, dst: Backend, opts: CheckOptions, *,
          src_file: str | None = None) -> RunResult:
    """Compare ``src`` and ``dst`` (§B.4); writes the report files named in ``opts``."""
    from .checker import run_check

    return run_check(src, dst, opts, src_file=src_file)


def walk(backend: Backend, path: str = "", *, filter: Filter | None = None, max_depth: int = -1,
         recursive: bool = True, files_only: bool = False, dirs_only: bool = False,
         on_error: Callable[[BaseException, str], None] | None = None,
         low_level_retries: int = LOW_LEVEL_RETRIES.default) -> Iterator[Entry]:
    """Filtered listing below ``path`` (entry paths relative to the backend root).

    ``on_error(err, path)`` receives entries that could not be read (e.g. a broken symlink
    followed with ``-L``) while the walk goes on; without it such a listing raises.
    """
    from .listing import walk_tree

    return walk_tree(backend, path, filter=filter, max_depth=max_depth, recursive=recursive,
                     files_only=files_only, dirs_only=dirs_only, on_error=on_error,
                     low_level_retries=low_level_retries)


def delete(backend: Backend, path: str, opts: SyncOptions, *, rmdirs: bool = False) -> RunResult:
    """Delete the files below ``path`` that the filters include."""
    from .ops import delete_files

    return delete_files(backend, path, opts, rmdirs=rmdirs)


def purge(backend: Backend, path: str, opts: SyncOptions) -> RunResult:
    """Delete ``path`` and everything under it, ignoring filters."""
    from .ops import purge_dir

    return purge_dir(backend, path, opts)


def rmdirs(backend: Backend, path: str, opts: SyncOptions, *,
           leave_root: bool = False) -> RunResult:
    """Remove every empty directory below ``path`` (and ``path`` unless ``leave_root``)."""
    from .ops import remove_empty_dirs

    return remove_empty_dirs(backend, path, opts, leave_root=leave_root)


def run_with_retries(operation: Callable[[], RunResult], retries: int, *,
                     retries_sleep: float = 0.0) -> RunResult:
    """Re-run ``operation`` while it fails with retryable errors (rclone's ``--retries``)."""
    return _run_with_retries(operation, retries, retries_sleep=retries_sleep)
