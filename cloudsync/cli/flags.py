"""Click options generated from :func:`cloudsync.options.flag` declarations, and back.

Light on purpose (click and :mod:`cloudsync.options` only): the root command's global flags
are built from it at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..errors import UsageError
from ..options import Option, flag_options

__all__ = ["build_options", "click_params", "convert", "flag_decorator", "help_text"]

F = TypeVar("F", bound=Callable[..., Any])


def help_text(opt: Option) -> str:
    """The flag's help with its default, as rclone prints it (``(default 4)``)."""
    default = opt.default_display()
    if opt.kind in ("bool", "count") or opt.multiple or default == "unset":
        return opt.help
    return f"{opt.help.rstrip('.')} (default {default})"


class _Split(click.types.StringParamType):
    """Text values whose environment variable is split on ``splitter``, not on whitespace."""

    def __init__(self, splitter: str) -> None:
        self.splitter = splitter

    def split_envvar_value(self, rv: str) -> list[str]:
        return [part for part in rv.split(self.splitter) if part]


def click_params(opt: Option, **kw: Any) -> list[click.Option]:
    """The click option(s) of one declared flag (several for ``switches``)."""
    if opt.switches:
        return [
            click.Option([name, name[2:].replace("-", "_")], is_flag=True, help=text,
                         envvar=Option(name[2:].replace("-", "_"), text).env_name(),
                         show_envvar=False, **kw)
            for name, _, text in opt.switches
        ]
    name = opt.flag_name()
    if opt.kind == "bool" and opt.default is True:
        # on by default: --no-NAME (and NAME=false, see bool_assignments) turns it off
        name = f"{name}/--no-{name[2:]}"
    decls = [name, *([opt.short] if opt.short else []), opt.name]
    kw.update(envvar=opt.env_name(), show_envvar=False, help=help_text(opt))
    if opt.kind == "bool":
        kw.update(is_flag=True, default=None)
    elif opt.kind == "count":
        kw.update(count=True)
    elif opt.multiple:
        kw.update(multiple=True, metavar=opt.metavar or opt.kind.upper())
        if opt.env_split is not None:
            kw.update(type=_Split(opt.env_split))
    elif opt.exclusive and opt.examples:
        kw.update(type=click.Choice([v for v, _ in opt.examples], case_sensitive=False))
    else:
        kw.update(metavar=opt.metavar or opt.kind.upper())
    return [click.Option(decls, **kw)]


_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def bool_assignments(args: list[str], commands: list[click.Command]) -> list[str]:
    """rclone's ``--flag=true|false`` for boolean flags (click's flags take no value):
    ``=true`` becomes ``--flag``; ``=false`` becomes ``--no-flag`` for a flag that is on by
    default and is dropped otherwise.  Go's ParseBool spellings; anything else is an error."""
    flags: dict[str, str] = {}
    for command in commands:
        for param in command.params:
            if isinstance(param, click.Option) and param.is_flag and not param.count:
                for opt in param.opts:
                    if opt.startswith("--"):
                        flags[opt] = next(iter(param.secondary_opts), "")
    out: list[str] = []
    for i, arg in enumerate(args):
        if arg == "--":
            out.extend(args[i:])
            break
        name, eq, value = arg.partition("=")
        if eq and name in flags:
            if value in _GO_TRUE:
                out.append(name)
                continue
            if value in _GO_FALSE:
                if flags[name]:
                    out.append(flags[name])
                continue
            raise click.UsageError(f'invalid argument "{value}" for "{name}" flag: parsing '
                                   f'"{value}" as bool failed')
        out.append(arg)
    return out


#: (options class, command) → its click options, in the order they are attached
_DECORATOR_PARAMS: dict[tuple[type, str | None], list[click.Option]] = {}


def _class_params(cls: type, command: str | None) -> list[click.Option]:
    # Built once per class and command and shared (a click option holds no per-command
    # state): the eleven listing commands all carry the same filter flags.
    key = (cls, command)
    params = _DECORATOR_PARAMS.get(key)
    if params is None:
        params = _DECORATOR_PARAMS[key] = []
        for _, opt in reversed(flag_options(cls)):
            if opt.commands and command not in opt.commands:
                continue
            params.extend(reversed(click_params(opt)))
    return params


def flag_decorator(cls: type, command: str | None) -> Callable[[F], F]:
    def deco(f: F) -> F:
        params = getattr(f, "__click_params__", [])
        params.extend(_class_params(cls, command))
        f.__click_params__ = params  # type: ignore[attr-defined]
        return f

    return deco


def one_flag(opt: Option) -> Callable[[F], F]:
    """A command's own use of a flag declared elsewhere (``lsjson -M``), from its declaration."""
    def deco(f: F) -> F:
        params = getattr(f, "__click_params__", [])
        params.extend(reversed(click_params(opt)))
        f.__click_params__ = params  # type: ignore[attr-defined]
        return f

    return deco


def convert(opt: Option, raw: Any) -> Any:
    """A value click collected for ``opt`` (a string, a flag's bool, a tuple) parsed to its kind."""
    if opt.kind in ("bool", "count"):
        return type(opt.default)(raw) if opt.default is not None else raw
    try:
        if opt.multiple:
            return tuple(opt.parse(v) if opt.parser else v for v in raw)
        return opt.parse(raw)
    except ValueError as exc:
        raise UsageError(f"invalid value for {opt.flag_name()}: {raw!r} ({exc})") from None


def build_options(cls: type, kw: dict[str, Any], **extra: Any) -> Any:
    """Pop ``cls``'s flags from a command's kwargs and build ``cls`` (unset flags keep defaults)."""
    values: dict[str, Any] = {}
    for field_name, opt in flag_options(cls):
        if opt.switches:
            chosen = [(name, value) for name, value, _ in opt.switches
                      if kw.pop(name[2:].replace("-", "_"), None)]
            if len(chosen) > 1:
                names = [name for name, _, _ in opt.switches]
                raise UsageError(f"only one of {', '.join(names[:-1])} or {names[-1]} can be used")
            if chosen:
                values[field_name] = chosen[0][1]
            continue
        raw = kw.pop(opt.name, None)
        if raw is None or (opt.multiple and not raw):
            continue
        values[field_name] = convert(opt, raw)
    values.update(extra)
    return cls(**values)
