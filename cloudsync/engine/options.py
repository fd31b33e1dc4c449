"""Options of the copy/sync/move/check engine (one field per rclone flag it honours)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["CheckOptions", "FilterOptions", "SyncOptions"]


@dataclass(frozen=True)
class FilterOptions:
    """rclone's filter flags (rclone-semantics.md §A.4).  Sizes in bytes, ages in seconds."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    filter: tuple[str, ...] = ()  # "+ glob" / "- glob" / "!"
    include_from: tuple[str, ...] = ()  # file paths
    exclude_from: tuple[str, ...] = ()
    filter_from: tuple[str, ...] = ()
    files_from: tuple[str, ...] = ()
    files_from_raw: tuple[str, ...] = ()
    exclude_if_present: tuple[str, ...] = ()
    min_size: int = -1
    max_size: int = -1
    min_age: float | None = None
    max_age: float | None = None
    max_depth: int = -1
    delete_excluded: bool = False
    #: --ignore-file NAME: gitignore-syntax files of that name in the source tree
    ignore_file: tuple[str, ...] = ()


@dataclass(frozen=True)
class SyncOptions:
    """Flags shared by copy, sync, move (and copyto/moveto)."""

    dry_run: bool = False
    # transfer decision (§B.1)
    checksum: bool = False
    size_only: bool = False
    ignore_size: bool = False
    ignore_times: bool = False
    update: bool = False
    ignore_existing: bool = False
    immutable: bool = False
    modify_window_ns: int = 1
    no_update_modtime: bool = False
    refresh_times: bool = False
    ignore_checksum: bool = False
    ignore_case_sync: bool = False
    no_unicode_normalization: bool = False
    fix_case: bool = False
    # deletions (§B.2)
    delete_mode: Literal["before", "during", "after"] = "after"
    max_delete: int = -1
    max_delete_size: int = -1
    ignore_errors: bool = False
    # backups
    backup_dir: str | None = None  # remote string; resolved by the caller into backup_backend
    suffix: str = ""
    suffix_keep_extension: bool = False
    # dirs
    create_empty_src_dirs: bool = False
    delete_empty_src_dirs: bool = False  # move only
    no_update_dir_modtime: bool = False  # don't copy directory modtimes
    # concurrency and retries
    transfers: int = 4
    checkers: int = 8
    retries: int = 3
    retries_sleep: float = 0.0
    low_level_retries: int = 10
    # listing
    fast_list: bool = False
    no_traverse: bool = False
    # limits / misc
    max_transfer: int = -1
    error_on_no_transfer: bool = False
    inplace: bool = False
    check_first: bool = False
    filters: FilterOptions = field(default_factory=FilterOptions)


@dataclass(frozen=True)
class CheckOptions:
    """Flags of ``check`` (§B.4).  Report files are paths to write, or None."""

    one_way: bool = False
    download: bool = False
    size_only: bool = False
    checkers: int = 8
    combined: str | None = None
    missing_on_src: str | None = None
    missing_on_dst: str | None = None
    match: str | None = None
    differ: str | None = None
    error: str | None = None
    ignore_case_sync: bool = False
    low_level_retries: int = 10
    filters: FilterOptions = field(default_factory=FilterOptions)
