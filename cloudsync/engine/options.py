"""Options of the copy/sync/move/check engine: one field per rclone flag it honours.

Every field is its flag, declared once with :func:`cloudsync.options.flag` (name, default,
help, parsing); the CLI generates the click options, ``CLOUDSYNC_<FLAG>`` variables and
``docs/flags.md`` from these declarations.  The filter flags live with the filters
(:class:`cloudsync.filters.FilterOptions`, re-exported here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ..errors import UsageError
from ..filters import FilterOptions
from ..options import (
    LOW_LEVEL_RETRIES,
    METADATA,
    Option,
    flag,
    parse_duration,
    parse_size,
    positive_int,
    shared_flag,
)

if TYPE_CHECKING:
    from .act import Confirm

__all__ = ["METADATA", "CheckOptions", "FilterOptions", "SyncOptions"]


def _window_ns(text: str) -> int:
    return max(1, round(parse_duration(text) * 1_000_000_000))


def _size_kib(text: str) -> int:
    """rclone's SizeSuffix flags count in KiB when no suffix is given (``--max-transfer 10``)."""
    return parse_size(text, default_unit="k")


def _bwlimit(text: str) -> str:
    from .limits import parse_bwlimit

    parse_bwlimit(text)  # refuse a bad value on the command line, as rclone does
    return text


def _key_value(text: str) -> str:
    if "=" not in text or text.startswith("="):
        raise ValueError(f"{text!r} is not of the form key=value")
    return text


def _off_duration(text: str) -> float:
    """A duration where 0 (and rclone's ``off``) means no limit."""
    return 0.0 if text.strip().lower() == "off" else parse_duration(text)


# Flags that copy/sync/move and check both carry: declared once, shared by both classes.
SIZE_ONLY = Option("size_only", "Skip based on size only, not modtime or checksum.", False, "bool")
CHECKERS = Option("checkers", "Number of checkers to run in parallel.", 8, "int", parser=positive_int)
IGNORE_CASE_SYNC = Option("ignore_case_sync", "Ignore case when synchronizing.", False, "bool")
#: rclone's bound on the queues between listing, checking and transferring: the listing can
#: run this far ahead of the work, and no further (memory stays flat on any size of tree).
MAX_BACKLOG = Option("max_backlog", "Maximum number of objects in sync or check backlog.", 10_000,
                     "int", parser=positive_int)


@dataclass(frozen=True)
class SyncOptions:
    """Flags shared by copy, sync, move (and copyto/moveto, delete, purge, rmdirs)."""

    dry_run: bool = flag(False, "Do a trial run with no permanent changes.", short="-n")
    interactive: bool = flag(False, "Enable interactive mode: ask before each change (copy, "
                                    "delete, set directory modification time …).", short="-i")
    metadata: bool = shared_flag(METADATA)
    metadata_set: tuple[str, ...] = flag(
        (), "Add metadata key=value when uploading (with -M; e.g. mode=100600 on a local "
            "destination).", multiple=True, metavar="KEY=VALUE", parser=_key_value)
    # transfer decision (§B.1)
    checksum: bool = flag(False, "Check for changes with size & checksum (if available).", short="-c")
    size_only: bool = shared_flag(SIZE_ONLY)
    ignore_size: bool = flag(False, "Ignore size when skipping; use modtime or checksum.")
    ignore_times: bool = flag(False, "Don't skip items that match size and time - transfer all.",
                              short="-I")
    update: bool = flag(False, "Skip files that are newer on the destination.", short="-u")
    ignore_existing: bool = flag(False, "Skip all files that exist on destination.")
    immutable: bool = flag(False, "Do not modify files, fail if existing files have been modified.")
    modify_window_ns: int = flag(1, "Max time diff to be considered the same.", name="modify_window",
                                 kind="duration", parser=_window_ns, default_text="1ns",
                                 metavar="DURATION")
    no_update_modtime: bool = flag(False, "Don't update destination modtime if files identical.")
    refresh_times: bool = flag(False, "Refresh the modtime of remote files.")
    ignore_checksum: bool = flag(False, "Skip post copy check of checksums.")
    ignore_case_sync: bool = shared_flag(IGNORE_CASE_SYNC)
    no_unicode_normalization: bool = flag(False, "Don't normalize unicode characters in filenames.")
    fix_case: bool = flag(False, "Force rename of case insensitive dest to match source.")
    # deletions (§B.2)
    delete_mode: Literal["before", "during", "after"] = flag(
        "after", "When synchronizing, when to delete files on the destination.",
        switches=(
            ("--delete-before", "before", "When synchronizing, delete files on destination before transferring."),
            ("--delete-during", "during", "When synchronizing, delete files during transfer."),
            ("--delete-after", "after", "When synchronizing, delete files on destination after transferring (default)."),
        ))
    max_delete: int = flag(-1, "When synchronizing, limit the number of deletes.", default_text="off")
    max_delete_size: int = flag(-1, "When synchronizing, limit the total size of deletes.",
                                kind="size", parser=_size_kib, metavar="SIZE")
    ignore_errors: bool = flag(False, "Delete even if there are I/O errors.")
    track_renames: bool = flag(False, "When synchronizing, track file renames and do a server-side "
                                      "move if possible.")
    track_renames_strategy: str = flag("hash", "Strategies to use when synchronizing using "
                                       "track-renames hash|modtime|leaf.", metavar="STRATEGY")
    # backups: a remote string, resolved by the caller into the backup backend
    backup_dir: str | None = flag(None, "Make backups into hierarchy based in DIR.", metavar="REMOTE")
    suffix: str = flag("", "Suffix to add to changed files.", metavar="SUFFIX")
    # other folders of the destination's remote, resolved by the caller into backends
    compare_dest: tuple[str, ...] = flag(
        (), "Include additional server-side paths during comparison (a file equal to the "
            "source there is not transferred).", multiple=True, metavar="REMOTE")
    copy_dest: tuple[str, ...] = flag(
        (), "Implies --compare-dest but also copies files from paths into destination "
            "(server-side).", multiple=True, metavar="REMOTE")
    suffix_keep_extension: bool = flag(False, "Preserve the extension when using --suffix.")
    # dirs
    create_empty_src_dirs: bool = flag(False, "Create empty source dirs on destination after sync.")
    delete_empty_src_dirs: bool = flag(False, "Delete empty source dirs after move.", commands=("move",))
    no_update_dir_modtime: bool = flag(False, "Don't update directory modification times.")
    # concurrency and retries
    transfers: int = flag(4, "Number of file transfers to run in parallel.", parser=positive_int)
    checkers: int = shared_flag(CHECKERS)
    retries: int = flag(3, "Retry operations this many times if they fail.", parser=positive_int)
    retries_sleep: float = flag(0.0, "Interval between retrying operations (0 to disable).",
                                kind="duration", metavar="DURATION")
    #: the global ``--low-level-retries`` (declared once, in cloudsync.options; the CLI sets it)
    low_level_retries: int = LOW_LEVEL_RETRIES.default
    max_backlog: int = shared_flag(MAX_BACKLOG)
    # watch mode (copy/sync --watch, run by cloudsync.watch; a single engine run ignores them)
    watch: bool = flag(False, "Keep running: sync changes of the local SOURCE folder as they "
                       "happen.", commands=("copy", "sync"))
    watch_delay: float = flag(2.0, "With --watch: sync a file once it has not changed for this "
                              "long.", kind="duration", metavar="DURATION", default_text="2s",
                              commands=("copy", "sync"))
    rescan_interval: float = flag(3600.0, "With --watch: re-scan everything this often (0: only "
                                  "at start and when events were lost).", kind="duration",
                                  metavar="DURATION", default_text="1h", commands=("copy", "sync"))
    # listing
    fast_list: bool = flag(False, "Use recursive list if available.")
    no_traverse: bool = flag(False, "Don't traverse destination file system on copy (each source "
                                    "file is looked up instead; ignored by sync).")
    # limits / misc
    max_transfer: int = flag(-1, "Maximum size of data to transfer (every copy counts, server-side "
                                 "and local ones too).", kind="size", parser=_size_kib, metavar="SIZE")
    bwlimit: str = flag("", "Bandwidth limit in KiB/s, or use suffix B|K|M|G|T|P, 'UP:DOWN' for "
                            "separate upload and download limits, or a timetable "
                            "('08:00,512k 12:00,10M Sat-00:00,off').", default_text="off",
                        parser=_bwlimit, metavar="BwTimetable")
    max_duration: float = flag(0.0, "Maximum duration cloudsync will transfer data for (0 = off).",
                               kind="duration", parser=_off_duration, metavar="DURATION")
    cutoff_mode: Literal["hard", "soft", "cautious"] = flag(
        "hard", "Mode to stop transfers when reaching the max transfer limit HARD|SOFT|CAUTIOUS.",
        examples=(("hard", ""), ("soft", ""), ("cautious", "")), exclusive=True,
        parser=lambda text: text.strip().lower())
    order_by: str = flag("", "Instructions on how to order the transfers, e.g. 'size,descending' "
                             "(size|name|modtime, then ascending|descending|mixed; 'size,mixed,25' "
                             "gives 25% of the transfer workers the smallest files first and the "
                             "others the biggest; the percentage defaults to 50).", metavar="ORDER")
    error_on_no_transfer: bool = flag(False, "Sets exit code 9 if no files are transferred.")
    inplace: bool = flag(False, "Accepted for rclone compatibility and changes nothing: cloudsync "
                                "always writes to a temporary name and renames it into place, so "
                                "no reader ever sees a half-written file.")
    check_first: bool = flag(False, "Do all the checks before starting transfers.")
    no_check_dest: bool = flag(False, "Don't check the destination, copy regardless (copy, move: "
                                      "it is not listed, every file is transferred as new).")
    filters: FilterOptions = field(default_factory=FilterOptions)
    #: asked before each change; the CLI sets it for -i (the engine never prompts by itself)
    confirm: Confirm | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.size_only and self.checksum:
            raise UsageError("can't use --size-only and --checksum together")


@dataclass(frozen=True)
class CheckOptions:
    """Flags of ``check`` (§B.4).  Report files are paths to write, or None."""

    one_way: bool = flag(False, "Check one way only, source files must exist on remote.")
    download: bool = flag(False, "Check by downloading rather than with hash.")
    size_only: bool = shared_flag(SIZE_ONLY)
    checkers: int = shared_flag(CHECKERS)
    combined: str | None = flag(None, "Make a combined report of changes to this file.", metavar="FILE")
    missing_on_src: str | None = flag(None, "Report all files missing from the source to this file.",
                                      metavar="FILE")
    missing_on_dst: str | None = flag(None, "Report all files missing from the destination to this file.",
                                      metavar="FILE")
    match: str | None = flag(None, "Report all matching files to this file.", metavar="FILE")
    differ: str | None = flag(None, "Report all non-matching files to this file.", metavar="FILE")
    error: str | None = flag(None, "Report all files with errors (hashing or reading) to this file.",
                             metavar="FILE")
    ignore_case_sync: bool = shared_flag(IGNORE_CASE_SYNC)
    #: the global ``--low-level-retries`` (declared once, in cloudsync.options; the CLI sets it)
    low_level_retries: int = LOW_LEVEL_RETRIES.default
    max_backlog: int = shared_flag(MAX_BACKLOG)
    filters: FilterOptions = field(default_factory=FilterOptions)
