"""Public engine functions (signatures the CLI codes against)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from ..events import Reporter, null_reporter
from ..types import Entry
from .options import CheckOptions, SyncOptions
from .result import RunResult

if TYPE_CHECKING:
    from ..backend import Backend
    from ..filters import Filter

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
         backup: Backend | None = None, src_file: str | None = None) -> RunResult:
    """Copy the contents of ``src`` into ``dst``, skipping equal files; never deletes."""
    raise NotImplementedError


def sync(src: Backend, dst: Backend, opts: SyncOptions, *, reporter: Reporter = null_reporter,
         backup: Backend | None = None, src_file: str | None = None) -> RunResult:
    """Make ``dst`` identical to ``src`` (deletions per §B.2)."""
    raise NotImplementedError


def move(src: Backend, dst: Backend, opts: SyncOptions, *, reporter: Reporter = null_reporter,
         backup: Backend | None = None, src_file: str | None = None) -> RunResult:
    """Like copy, then delete each source file transferred or found equal."""
    raise NotImplementedError


def copyto(src: Backend, src_path: str, dst: Backend, dst_path: str, opts: SyncOptions, *,
           reporter: Reporter = null_reporter) -> RunResult:
    """Copy one file to a new name."""
    raise NotImplementedError


def moveto(src: Backend, src_path: str, dst: Backend, dst_path: str, opts: SyncOptions, *,
           reporter: Reporter = null_reporter) -> RunResult:
    """Move/rename one file."""
    raise NotImplementedError


def check(src: Backend, dst: Backend, opts: CheckOptions, *,
          src_file: str | None = None) -> RunResult:
    """Compare ``src`` and ``dst`` (§B.4); writes the report files named in ``opts``."""
    raise NotImplementedError


def walk(backend: Backend, path: str = "", *, filter: Filter | None = None, max_depth: int = -1,
         recursive: bool = True, files_only: bool = False,
         dirs_only: bool = False) -> Iterator[Entry]:
    """Filtered listing below ``path`` (entry paths relative to the backend root)."""
    raise NotImplementedError


def delete(backend: Backend, path: str, opts: SyncOptions, *, rmdirs: bool = False) -> RunResult:
    """Delete the files below ``path`` that the filters include."""
    raise NotImplementedError


def purge(backend: Backend, path: str, opts: SyncOptions) -> RunResult:
    """Delete ``path`` and everything under it, ignoring filters."""
    raise NotImplementedError


def rmdirs(backend: Backend, path: str, opts: SyncOptions, *,
           leave_root: bool = False) -> RunResult:
    """Remove every empty directory below ``path`` (and ``path`` unless ``leave_root``)."""
    raise NotImplementedError


def run_with_retries(operation: Callable[[], RunResult], retries: int, *,
                     retries_sleep: float = 0.0) -> RunResult:
    """Re-run ``operation`` while it fails with retryable errors (rclone's ``--retries``)."""
    raise NotImplementedError
