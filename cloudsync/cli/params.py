"""Reusable option groups (filters, sync flags) and parameter types for the commands.

Each flag also reads ``CLOUDSYNC_<FLAG>`` (``CLOUDSYNC_TRANSFERS=8``), like rclone's
``RCLONE_<FLAG>``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..engine.options import CheckOptions, FilterOptions, SyncOptions
from ..errors import UsageError
from ..options import parse_duration, parse_size

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

__all__ = [
    "REMOTE",
    "build_check_options",
    "build_filter_options",
    "build_sync_options",
    "check_flags",
    "filter_flags",
    "sync_flags",
]

F = TypeVar("F", bound=Callable[..., Any])


class RemoteParam(click.ParamType):  # type: ignore[type-arg]
    """A remote string; completes configured remote names (from the config file only)."""

    name = "remote"

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
        # Imported here, not at module level: only completion needs it (saves start-up time).
        from click.shell_completion import CompletionItem

        items: list[CompletionItem] = []
        if ":" not in incomplete:
            try:
                from ..config import Config

                config = Config.load(None)
                for info in config.remotes():
                    if info.name.startswith(incomplete):
                        items.append(CompletionItem(info.name + ":"))
            except Exception:  # completion must never fail loudly
                pass
        items.append(CompletionItem(incomplete, type="file"))
        return items


REMOTE = RemoteParam()


def _env(name: str) -> str:
    return "CLOUDSYNC_" + name.upper().replace("-", "_")


def _opt(*decls: str, **kw: Any) -> Callable[[F], F]:
    long = next(d for d in decls if d.startswith("--"))
    kw.setdefault("envvar", _env(long[2:]))
    kw.setdefault("show_envvar", False)
    return click.option(*decls, **kw)


def _apply(f: F, decorators: list[Callable[[F], F]]) -> F:
    for deco in reversed(decorators):
        f = deco(f)
    return f


_FILTER_FLAGS: list[Callable[[Any], Any]] = [
    _opt("--include", multiple=True, metavar="GLOB", help="Include files matching pattern."),
    _opt("--exclude", multiple=True, metavar="GLOB", help="Exclude files matching pattern."),
    _opt("--filter", "-f", "filter_", multiple=True, metavar="RULE", help="Add a file filtering rule (+ glob / - glob / !)."),
    _opt("--include-from", multiple=True, metavar="FILE", help="Read file include patterns from file."),
    _opt("--exclude-from", multiple=True, metavar="FILE", help="Read file exclude patterns from file."),
    _opt("--filter-from", multiple=True, metavar="FILE", help="Read file filtering patterns from a file."),
    _opt("--files-from", multiple=True, metavar="FILE", help="Read list of source-file names from file."),
    _opt("--files-from-raw", multiple=True, metavar="FILE", help="Like --files-from without comment/space processing."),
    _opt("--exclude-if-present", multiple=True, metavar="NAME", help="Exclude directories if this file is present."),
    _opt("--min-size", metavar="SIZE", help="Only transfer files bigger than this (KiB or suffix B|K|M|G|T|P)."),
    _opt("--max-size", metavar="SIZE", help="Only transfer files smaller than this (KiB or suffix B|K|M|G|T|P)."),
    _opt("--min-age", metavar="DURATION", help="Only transfer files older than this (s or suffix ms|s|m|h|d|w|M|y)."),
    _opt("--max-age", metavar="DURATION", help="Only transfer files younger than this."),
    _opt("--max-depth", type=int, default=-1, show_default=False, help="If set limits the recursion depth to this."),
    _opt("--delete-excluded", is_flag=True, help="Delete files on dest excluded from sync."),
    _opt("--ignore-file", multiple=True, metavar="NAME", help="Ignore what files called NAME in the source tree list (gitignore syntax, per folder and below)."),
]

_FILTER_KEYS = (
    "include", "exclude", "filter_", "include_from", "exclude_from", "filter_from", "files_from",
    "files_from_raw", "exclude_if_present", "min_size", "max_size", "min_age", "max_age",
    "max_depth", "delete_excluded", "ignore_file",
)


def filter_flags(f: F) -> F:
    return _apply(f, _FILTER_FLAGS)


def build_filter_options(kw: dict[str, Any]) -> FilterOptions:
    """Pop the filter flags from a command's kwargs and build :class:`FilterOptions`."""
    from ..filters import parse_age, parse_size_kib_default

    values = {k: kw.pop(k, None) for k in _FILTER_KEYS}
    min_size = parse_size_kib_default(values["min_size"]) if values["min_size"] else -1
    max_size = parse_size_kib_default(values["max_size"]) if values["max_size"] else -1
    min_age = parse_age(values["min_age"]) if values["min_age"] else None
    max_age = parse_age(values["max_age"]) if values["max_age"] else None
    return FilterOptions(
        include=tuple(values["include"] or ()),
        exclude=tuple(values["exclude"] or ()),
        filter=tuple(values["filter_"] or ()),
        include_from=tuple(values["include_from"] or ()),
        exclude_from=tuple(values["exclude_from"] or ()),
        filter_from=tuple(values["filter_from"] or ()),
        files_from=tuple(values["files_from"] or ()),
        files_from_raw=tuple(values["files_from_raw"] or ()),
        exclude_if_present=tuple(values["exclude_if_present"] or ()),
        min_size=min_size,
        max_size=max_size,
        min_age=min_age,
        max_age=max_age,
        max_depth=values["max_depth"] if values["max_depth"] is not None else -1,
        delete_excluded=bool(values["delete_excluded"]),
        ignore_file=tuple(values["ignore_file"] or ()),
    )


_SYNC_FLAGS: list[Callable[[Any], Any]] = [
    _opt("-n", "--dry-run", is_flag=True, help="Do a trial run with no permanent changes."),
    _opt("-c", "--checksum", is_flag=True, help="Check for changes with size & checksum (if available)."),
    _opt("--size-only", is_flag=True, help="Skip based on size only, not modtime or checksum."),
    _opt("--ignore-size", is_flag=True, help="Ignore size when skipping; use modtime or checksum."),
    _opt("-I", "--ignore-times", is_flag=True, help="Don't skip items that match size and time - transfer all."),
    _opt("-u", "--update", is_flag=True, help="Skip files that are newer on the destination."),
    _opt("--ignore-existing", is_flag=True, help="Skip all files that exist on destination."),
    _opt("--immutable", is_flag=True, help="Do not modify files, fail if existing files have been modified."),
    _opt("--modify-window", metavar="DURATION", help="Max time diff to be considered the same (default 1ns)."),
    _opt("--no-update-modtime", is_flag=True, help="Don't update destination modtime if files identical."),
    _opt("--refresh-times", is_flag=True, help="Refresh the modtime of remote files."),
    _opt("--ignore-checksum", is_flag=True, help="Skip post copy check of checksums."),
    _opt("--ignore-case-sync", is_flag=True, help="Ignore case when synchronizing."),
    _opt("--no-unicode-normalization", is_flag=True, help="Don't normalize unicode characters in filenames."),
    _opt("--fix-case", is_flag=True, help="Force rename of case insensitive dest to match source."),
    _opt("--delete-before", is_flag=True, help="When synchronizing, delete files on destination before transferring."),
    _opt("--delete-during", is_flag=True, help="When synchronizing, delete files during transfer."),
    _opt("--delete-after", is_flag=True, help="When synchronizing, delete files on destination after transferring (default)."),
    _opt("--max-delete", type=int, default=-1, help="When synchronizing, limit the number of deletes."),
    _opt("--max-delete-size", metavar="SIZE", help="When synchronizing, limit the total size of deletes."),
    _opt("--ignore-errors", is_flag=True, help="Delete even if there are I/O errors."),
    _opt("--backup-dir", metavar="REMOTE", help="Make backups into hierarchy based in DIR."),
    _opt("--suffix", default="", metavar="SUFFIX", help="Suffix to add to changed files."),
    _opt("--suffix-keep-extension", is_flag=True, help="Preserve the extension when using --suffix."),
    _opt("--create-empty-src-dirs", is_flag=True, help="Create empty source dirs on destination after sync."),
    _opt("--no-update-dir-modtime", is_flag=True, help="Don't update directory modification times."),
    _opt("--transfers", type=click.IntRange(min=1), default=4, help="Number of file transfers to run in parallel."),
    _opt("--checkers", type=click.IntRange(min=1), default=8, help="Number of checkers to run in parallel."),
    _opt("--retries", type=click.IntRange(min=1), default=3, help="Retry operations this many times if they fail."),
    _opt("--retries-sleep", metavar="DURATION", help="Interval between retrying operations (default 0)."),
    _opt("--low-level-retries", type=click.IntRange(min=1), default=10, help="Number of low level retries to do."),
    _opt("--fast-list", is_flag=True, help="Use recursive list if available."),
    _opt("--no-traverse", is_flag=True, help="Don't traverse destination file system on copy."),
    _opt("--max-transfer", metavar="SIZE", help="Maximum size of data to transfer."),
    _opt("--error-on-no-transfer", is_flag=True, help="Sets exit code 9 if no files are transferred."),
    _opt("--inplace", is_flag=True, help="Download directly to destination file instead of atomic download to temp/rename."),
    _opt("--check-first", is_flag=True, help="Do all the checks before starting transfers."),
]

_SYNC_KEYS = (
    "dry_run", "checksum", "size_only", "ignore_size", "ignore_times", "update", "ignore_existing",
    "immutable", "modify_window", "no_update_modtime", "refresh_times", "ignore_checksum",
    "ignore_case_sync", "no_unicode_normalization", "fix_case", "delete_before", "delete_during",
    "delete_after", "max_delete", "max_delete_size", "ignore_errors", "backup_dir", "suffix",
    "suffix_keep_extension", "create_empty_src_dirs", "no_update_dir_modtime", "transfers", "checkers", "retries",
    "retries_sleep", "low_level_retries", "fast_list", "no_traverse", "max_transfer",
    "error_on_no_transfer", "inplace", "check_first",
)


def sync_flags(f: F) -> F:
    return _apply(f, _SYNC_FLAGS)


def _size(text: str | None, flag: str) -> int:
    if not text:
        return -1
    try:
        return parse_size(text)
    except ValueError:
        raise UsageError(f"invalid value for {flag}: {text!r}") from None


def _duration(text: str | None, flag: str, default: float) -> float:
    if not text:
        return default
    try:
        return parse_duration(text)
    except ValueError:
        raise UsageError(f"invalid value for {flag}: {text!r}") from None


def build_sync_options(kw: dict[str, Any], *, delete_empty_src_dirs: bool = False) -> SyncOptions:
    """Pop the sync and filter flags from a command's kwargs and build :class:`SyncOptions`."""
    filters = build_filter_options(kw)
    v = {k: kw.pop(k, None) for k in _SYNC_KEYS}
    modes = [m for m in ("before", "during", "after") if v[f"delete_{m}"]]
    if len(modes) > 1:
        raise UsageError("only one of --delete-before, --delete-during or --delete-after can be used")
    if v["size_only"] and v["checksum"]:
        raise UsageError("can't use --size-only and --checksum together")
    window = _duration(v["modify_window"], "--modify-window", 1e-9)
    return SyncOptions(
        dry_run=bool(v["dry_run"]),
        checksum=bool(v["checksum"]),
        size_only=bool(v["size_only"]),
        ignore_size=bool(v["ignore_size"]),
        ignore_times=bool(v["ignore_times"]),
        update=bool(v["update"]),
        ignore_existing=bool(v["ignore_existing"]),
        immutable=bool(v["immutable"]),
        modify_window_ns=max(1, round(window * 1_000_000_000)),
        no_update_modtime=bool(v["no_update_modtime"]),
        refresh_times=bool(v["refresh_times"]),
        ignore_checksum=bool(v["ignore_checksum"]),
        ignore_case_sync=bool(v["ignore_case_sync"]),
        no_unicode_normalization=bool(v["no_unicode_normalization"]),
        fix_case=bool(v["fix_case"]),
        delete_mode=modes[0] if modes else "after",  # type: ignore[arg-type]
        max_delete=v["max_delete"] if v["max_delete"] is not None else -1,
        max_delete_size=_size(v["max_delete_size"], "--max-delete-size"),
        ignore_errors=bool(v["ignore_errors"]),
        backup_dir=v["backup_dir"] or None,
        suffix=v["suffix"] or "",
        suffix_keep_extension=bool(v["suffix_keep_extension"]),
        create_empty_src_dirs=bool(v["create_empty_src_dirs"]),
        delete_empty_src_dirs=delete_empty_src_dirs,
        no_update_dir_modtime=bool(v["no_update_dir_modtime"]),
        transfers=v["transfers"] or 4,
        checkers=v["checkers"] or 8,
        retries=v["retries"] or 3,
        retries_sleep=_duration(v["retries_sleep"], "--retries-sleep", 0.0),
        low_level_retries=v["low_level_retries"] or 10,
        fast_list=bool(v["fast_list"]),
        no_traverse=bool(v["no_traverse"]),
        max_transfer=_size(v["max_transfer"], "--max-transfer"),
        error_on_no_transfer=bool(v["error_on_no_transfer"]),
        inplace=bool(v["inplace"]),
        check_first=bool(v["check_first"]),
        filters=filters,
    )


_CHECK_FLAGS: list[Callable[[Any], Any]] = [
    _opt("--one-way", is_flag=True, help="Check one way only, source files must exist on remote."),
    _opt("--download", is_flag=True, help="Check by downloading rather than with hash."),
    _opt("--size-only", is_flag=True, help="Only compare the sizes, not the hashes as well."),
    _opt("--checkers", type=click.IntRange(min=1), default=8, help="Number of checkers to run in parallel."),
    _opt("--combined", metavar="FILE", help="Make a combined report of changes to this file."),
    _opt("--missing-on-src", metavar="FILE", help="Report all files missing from the source to this file."),
    _opt("--missing-on-dst", metavar="FILE", help="Report all files missing from the destination to this file."),
    _opt("--match", metavar="FILE", help="Report all matching files to this file."),
    _opt("--differ", metavar="FILE", help="Report all non-matching files to this file."),
    _opt("--error", metavar="FILE", help="Report all files with errors (hashing or reading) to this file."),
    _opt("--ignore-case-sync", is_flag=True, help="Ignore case when synchronizing."),
    _opt("--low-level-retries", type=click.IntRange(min=1), default=10, help="Number of low level retries to do."),
]

_CHECK_KEYS = (
    "one_way", "download", "size_only", "checkers", "combined", "missing_on_src",
    "missing_on_dst", "match", "differ", "error", "ignore_case_sync", "low_level_retries",
)


def check_flags(f: F) -> F:
    return _apply(f, _CHECK_FLAGS)


def build_check_options(kw: dict[str, Any]) -> CheckOptions:
    filters = build_filter_options(kw)
    v = {k: kw.pop(k, None) for k in _CHECK_KEYS}
    return CheckOptions(
        one_way=bool(v["one_way"]),
        download=bool(v["download"]),
        size_only=bool(v["size_only"]),
        checkers=v["checkers"] or 8,
        combined=v["combined"],
        missing_on_src=v["missing_on_src"],
        missing_on_dst=v["missing_on_dst"],
        match=v["match"],
        differ=v["differ"],
        error=v["error"],
        ignore_case_sync=bool(v["ignore_case_sync"]),
        low_level_retries=v["low_level_retries"] or 10,
        filters=filters,
    )
