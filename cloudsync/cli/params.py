"""Click options generated from the declared flags, and parameter types for the commands.

Flags are declared once, as :func:`cloudsync.options.flag` fields of
:class:`~cloudsync.filters.FilterOptions`, :class:`~cloudsync.engine.options.SyncOptions`,
:class:`~cloudsync.engine.options.CheckOptions` and the CLI's global ``Settings``.  This module
turns each declaration into its click option (help text with the default, ``CLOUDSYNC_<FLAG>``
like rclone's ``RCLONE_<FLAG>``) and the parsed values back into the dataclass; nothing here
names an individual flag.  :func:`render_flags` writes ``docs/flags.md`` from the same records.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..filters import FilterOptions
from ..options import Option, flag_options
from .flags import build_options, flag_decorator

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

    from ..engine.options import CheckOptions, SyncOptions

# (the engine's option classes are imported where used: a listing command needs only the
# filter flags, and defining SyncOptions' ~60 dataclass fields is measurable start-up time)

__all__ = [
    "REMOTE",
    "build_check_options",
    "build_filter_options",
    "build_sync_options",
    "check_flags",
    "filter_flags",
    "render_flags",
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


def filter_flags(f: F) -> F:
    return flag_decorator(FilterOptions, None)(f)


def sync_flags(f: F, command: str | None = None) -> F:
    from ..engine.options import SyncOptions

    return flag_decorator(SyncOptions, command)(f)


def check_flags(f: F) -> F:
    from ..engine.options import CheckOptions

    return flag_decorator(CheckOptions, None)(f)


def build_filter_options(kw: dict[str, Any]) -> FilterOptions:
    """Pop the filter flags from a command's kwargs and build :class:`FilterOptions`."""
    result: FilterOptions = build_options(FilterOptions, kw)
    return result


def _global_low_level_retries() -> int:
    """The global ``--low-level-retries`` of this command line (the engine options carry it)."""
    from .app import get_app

    return get_app().settings.low_level_retries


def build_sync_options(kw: dict[str, Any]) -> SyncOptions:
    """Pop the sync and filter flags from a command's kwargs and build :class:`SyncOptions`."""
    from ..engine.options import SyncOptions

    filters = build_filter_options(kw)
    result: SyncOptions = build_options(SyncOptions, kw, filters=filters,
                                        low_level_retries=_global_low_level_retries())
    if result.interactive and not result.dry_run:
        import dataclasses

        from .interactive import current_asker

        result = dataclasses.replace(result, confirm=current_asker(create=True))
    return result


def build_check_options(kw: dict[str, Any]) -> CheckOptions:
    from ..engine.options import CheckOptions

    filters = build_filter_options(kw)
    result: CheckOptions = build_options(CheckOptions, kw, filters=filters,
                                         low_level_retries=_global_low_level_retries())
    return result


# ------------------------------------------------------------------------------ docs/flags.md


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _rows(opts: list[tuple[str, Option]], seen: set[str]) -> list[str]:
    lines: list[str] = []
    for _, opt in opts:
        if opt.name in seen:
            continue
        seen.add(opt.name)
        entries = ([(name, value, text) for name, value, text in opt.switches] if opt.switches
                   else [(opt.flag_name(), None, opt.help)])
        for name, _, text in entries:
            env = Option(name[2:].replace("-", "_"), text).env_name()
            short = f"`{opt.short}`, " if opt.short else ""
            default = "" if opt.switches else opt.default_display()
            only = f" (only {', '.join(opt.commands)})" if opt.commands else ""
            lines.append(f"| {short}`{name}` | `{env}` | {f'`{default}`' if default else ''} "
                         f"| {_cell(text)}{only} |")
    return lines


def render_flags() -> str:
    """``docs/flags.md``: every global, transfer, filter and check flag, from its declaration."""
    from ..engine.options import CheckOptions, SyncOptions
    from .app import Settings

    groups: list[tuple[str, str, type]] = [
        ("Global flags", "Accepted by every command, before or after its name.", Settings),
        ("Transfer flags", "copy, sync, move, copyto, moveto (and delete, purge, rmdirs).", SyncOptions),
        ("Filter flags", "Transfers, listings, check and delete.", FilterOptions),
        ("Check flags", "check.", CheckOptions),
    ]
    parts = [
        "# Flags",
        "",
        "Generated from the flag declarations (`cloudsync.options.flag`); regenerate this file with",
        "`cloudsync help flags --markdown > docs/flags.md`.  Every flag can also be set with its",
        "environment variable (rclone's `RCLONE_<FLAG>` is `CLOUDSYNC_<FLAG>` here); a flag on the",
        "command line wins.  Backend options are in [backends.md](backends.md).",
        "",
    ]
    for title, scope, cls in groups:
        seen: set[str] = set()
        if cls is CheckOptions:
            seen = {opt.name for _, opt in flag_options(SyncOptions)}
            shared = [opt.flag_name() for _, opt in flag_options(cls) if opt.name in seen]
            scope += f" It also takes {', '.join(f'`{s}`' for s in shared)} (transfer flags above)."
        rows = _rows(flag_options(cls), seen)
        parts += [f"## {title}", "", scope, "", "| flag | environment | default | meaning |",
                  "|---|---|---|---|", *rows, ""]
    return "\n".join(parts).rstrip("\n") + "\n"
