"""Option metadata: backend options and the global/engine flags, each declared once.

A backend declares its options once, as :class:`Option` records inside its
:class:`BackendSpec`.  The same records drive the config wizard, ``config create``
validation, the ``--<backend>-<option>`` flags, the ``CLOUDSYNC_<BACKEND>_<OPTION>`` and
``CLOUDSYNC_CONFIG_<REMOTE>_<OPTION>`` environment variables, and the generated docs.

Global and engine flags (``--transfers``, ``--include``, ``-v`` …) are the same
:class:`Option` records, declared as dataclass fields with :func:`flag`; see
:func:`flag` for how to add one.

Value lookup precedence (rclone's, see rclone-semantics.md §A.3), first hit wins:

1. connection-string parameter (``remote,key=value:path``)
2. command-line flag ``--<backend>-<option>``
3. ``CLOUDSYNC_CONFIG_<REMOTE>_<OPTION>``
4. ``CLOUDSYNC_<BACKEND>_<OPTION>``
5. the config file section
6. the default
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .backend import Backend

__all__ = [
    "LOW_LEVEL_RETRIES",
    "METADATA",
    "BackendSpec",
    "ConfigAccess",
    "Option",
    "Prompter",
    "flag",
    "flag_options",
    "format_duration",
    "non_negative_float",
    "non_negative_int",
    "parse_bool",
    "parse_duration",
    "parse_size",
    "positive_int",
    "shared_flag",
]

_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f", ""}


def parse_bool(text: str) -> bool:
    low = text.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError(f"not a boolean: {text!r}")


_SIZE_UNITS = {"b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def parse_size(text: str, default_unit: str = "b") -> int:
    """rclone-style size: ``10M``, ``512k``, ``1.5G``, ``100`` (unit ``default_unit``), ``off`` = -1.

    Suffixes are binary (K = 1024).  An optional trailing ``i``/``iB``/``B`` is accepted.
    """
    t = text.strip().lower()
    if t in ("off", "-1"):
        return -1
    for tail in ("ib", "i", "b"):
        if len(t) > 1 and t.endswith(tail) and t[-len(tail) - 1 : -len(tail)].isalpha():
            t = t[: -len(tail)]
            break
    unit = default_unit.lower()
    if t and t[-1] in _SIZE_UNITS:
        unit, t = t[-1], t[:-1]
    try:
        value = float(t)
    except ValueError:
        raise ValueError(f"not a size: {text!r}") from None
    if value < 0:
        raise ValueError(f"not a size: {text!r}")
    return int(value * _SIZE_UNITS[unit])


_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 7 * 86400.0,
    "M": 30 * 86400.0,
    "y": 365 * 86400.0,
}


def parse_duration(text: str) -> float:
    """rclone/Go-style duration to seconds: ``1h30m``, ``500ms``, ``2d``, ``1.5s``; bare = seconds."""
    t = text.strip()
    if not t:
        raise ValueError("empty duration")
    try:
        return float(t)
    except ValueError:
        pass
    total, i, n = 0.0, 0, len(t)
    while i < n:
        j = i
        while j < n and (t[j].isdigit() or t[j] == "."):
            j += 1
        if j == i:
            raise ValueError(f"not a duration: {text!r}")
        number = float(t[i:j])
        k = j
        while k < n and not (t[k].isdigit() or t[k] == "."):
            k += 1
        unit = t[j:k]
        if unit not in _DURATION_UNITS:
            raise ValueError(f"not a duration: {text!r}")
        total += number * _DURATION_UNITS[unit]
        i = k
    return total


def format_duration(seconds: float) -> str:
    """Go's ``time.Duration`` text, as rclone prints defaults: ``0s``, ``1ns``, ``1m0s``, ``5m0s``."""
    ns = round(seconds * 1e9)
    if ns == 0:
        return "0s"
    if ns < 1000:
        return f"{ns}ns"
    if ns < 1_000_000:
        return f"{ns / 1e3:g}µs"
    if ns < 1_000_000_000:
        return f"{ns / 1e6:g}ms"
    hours, rest = divmod(ns, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    secs = f"{rest / 1e9:g}s"
    if hours:
        return f"{hours}h{minutes}m{secs}"
    if minutes:
        return f"{minutes}m{secs}"
    return secs


def _at_least(kind: Callable[[str], Any], low: float) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        value = kind(text)
        if value < low:
            raise ValueError(f"{value} is less than {low:g}")
        return value

    return parse


#: An integer of at least 1 (``--transfers``, ``--checkers``, ``--retries`` …).
positive_int: Callable[[str], int] = _at_least(int, 1)
#: An integer or a number of at least 0 (``--max-connections``, ``--tpslimit`` …).
non_negative_int: Callable[[str], int] = _at_least(int, 0)
non_negative_float: Callable[[str], float] = _at_least(float, 0)


_PARSERS: dict[str, Callable[[str], Any]] = {
    "str": str,
    "int": int,
    "float": float,
    "count": int,
    "bool": parse_bool,
    "size": parse_size,
    "duration": parse_duration,
}


@dataclass(frozen=True)
class Option:
    """One backend option or global/engine flag, declared once.

    ``kind`` is one of ``str``, ``int``, ``float``, ``bool``, ``size``, ``duration`` (and ``count`` for
    ``-vv``-style flags).  ``secret`` options (passwords, tokens) are stored in the keyring when a
    real one exists and are never printed.  ``examples`` are ``(value, help)`` pairs offered by
    the wizard as choices; with ``exclusive`` only those values are allowed.  ``advanced``
    options are only asked for in the wizard's advanced section.  ``hidden`` options are
    internal state (e.g. a token) that the wizard never asks for directly.

    The remaining fields matter for command-line flags only: ``short`` (``-n``), ``metavar``,
    ``multiple`` (the flag may repeat; the value is a tuple of strings), ``parser`` (overrides
    the kind's parser, e.g. sizes counted in KiB), ``default_text`` (how the default reads in
    help and docs when the value alone would mislead, e.g. ``off`` for -1), ``switches``
    (``(flag, value, help)`` triples: several boolean flags that each set this one value, such
    as ``--delete-before``/``--delete-after``; at most one may be given) and ``commands`` (only
    these commands carry the flag; empty = all that carry its group) and ``env_split`` (what
    separates the values of a ``multiple`` flag in its environment variable, when whitespace
    cannot: ``"\\n"`` for HTTP headers).
    """

    name: str
    help: str
    default: Any = None
    kind: str = "str"
    secret: bool = False
    advanced: bool = False
    required: bool = False
    hidden: bool = False
    exclusive: bool = False
    examples: tuple[tuple[str, str], ...] = ()
    short: str = ""
    metavar: str = ""
    multiple: bool = False
    parser: Callable[[str], Any] | None = None
    default_text: str | None = None
    switches: tuple[tuple[str, Any, str], ...] = ()
    commands: tuple[str, ...] = ()
    #: how a ``multiple`` flag's environment variable splits into values (None: whitespace)
    env_split: str | None = None

    def parse(self, text: str) -> Any:
        value = (self.parser or _PARSERS[self.kind])(text)
        if self.exclusive and self.examples and text not in {v for v, _ in self.examples}:
            allowed = ", ".join(v for v, _ in self.examples)
            raise ValueError(f"{self.name} must be one of: {allowed}")
        return value

    def flag_name(self, backend: str = "") -> str:
        """``--<backend>-<option>``, or ``--<flag>`` for a global/engine flag."""
        prefix = f"{backend}-" if backend else ""
        return f"--{prefix}{self.name.replace('_', '-')}"

    def env_name(self, backend: str = "") -> str:
        """``CLOUDSYNC_<BACKEND>_<OPTION>``, or ``CLOUDSYNC_<FLAG>`` (rclone's ``RCLONE_<FLAG>``)."""
        prefix = f"{backend.upper()}_" if backend else ""
        return f"CLOUDSYNC_{prefix}{self.name.upper()}"

    def default_display(self) -> str:
        """The default as rclone writes it (``10Mi``, ``1m0s``, ``true``); ``unset`` if none."""
        if self.default_text is not None:
            return self.default_text
        if self.default is None or self.default == "" or self.default == ():
            return "unset"
        if self.kind == "bool":
            return "true" if self.default else "false"
        if self.kind == "size" and isinstance(self.default, int):
            if self.default < 0:
                return "off"
            from .types import size_suffix

            # rclone writes sizes with binary suffixes (10Mi), the way users type them.
            return "".join(size_suffix(self.default))
        if self.kind == "duration" and isinstance(self.default, int | float):
            return format_duration(self.default)
        return str(self.default)


def flag(default: Any, help: str, *, kind: str | None = None, **meta: Any) -> Any:
    """Declare a global or engine flag as a dataclass field -- the one place a flag is written.

    The field's name is the flag's name (``max_backlog`` → ``--max-backlog``, environment
    variable ``CLOUDSYNC_MAX_BACKLOG``); pass ``name=`` when the field must be called
    otherwise (``modify_window_ns`` is set by ``--modify-window``).  ``default`` is both the
    field's default and the documented one; ``kind`` is guessed from it (bool, int, else str).
    Every other keyword is an :class:`Option` field (``short="-n"``, ``metavar``,
    ``multiple``, ``parser``, ``default_text``, ``examples``/``exclusive``, ``switches``,
    ``commands``).

    To add a flag:

    1. add a field to the options dataclass of its layer -- :class:`cloudsync.engine.options.SyncOptions`
       (copy/sync/move/…), :class:`~cloudsync.engine.options.CheckOptions`,
       :class:`cloudsync.filters.FilterOptions` or the CLI's global
       :class:`cloudsync.cli.app.Settings` -- as ``my_flag: int = flag(3, "What it does.")``;
    2. use ``opts.my_flag`` where it takes effect;
    3. regenerate the docs: ``cloudsync help flags --markdown > docs/flags.md``.

    The click option, its ``CLOUDSYNC_<FLAG>`` variable, its help text with the default, the
    parsing into the dataclass and ``docs/flags.md`` all come from this declaration.
    """
    if kind is None:
        kind = "bool" if isinstance(default, bool) else "int" if isinstance(default, int) else "str"
    option = Option(name=meta.pop("name", ""), help=help, default=default, kind=kind, **meta)
    return field(default=default, metadata={"option": option})


def shared_flag(option: Option) -> Any:
    """A field for a flag already declared by another options class (same :class:`Option`)."""
    return field(default=option.default, metadata={"option": option})


#: ``--low-level-retries``: a global flag, since every command's requests are retried (the
#: CLI's ``Settings`` field); the engine's options carry its value for the runs they describe.
LOW_LEVEL_RETRIES = Option("low_level_retries", "Number of low level retries to do.", 10, "int",
                           parser=positive_int)

#: ``-M``/``--metadata``: a transfer flag (SyncOptions) that ``lsjson`` takes too; declared here
#: so that a listing need not define the engine's option classes to offer it.
METADATA = Option("metadata", "If set, preserve metadata when copying or moving objects and the "
                  "folders a run makes (local: permissions, access time, owner where permitted; "
                  "memory: any keys; a backend without metadata ignores it).",
                  False, "bool", short="-M")


#: class → its flags (named): every command line reads them several times at start-up
_FLAG_OPTIONS: dict[type, tuple[tuple[str, Option], ...]] = {}


def flag_options(cls: type) -> list[tuple[str, Option]]:
    """``(field name, Option)`` for every flag field of dataclass ``cls``, in declaration order."""
    cached = _FLAG_OPTIONS.get(cls)
    if cached is None:
        out: list[tuple[str, Option]] = []
        for f in dataclasses.fields(cls):
            option = f.metadata.get("option")
            if isinstance(option, Option):
                out.append((f.name, option if option.name
                            else dataclasses.replace(option, name=f.name)))
        cached = _FLAG_OPTIONS[cls] = tuple(out)
    return list(cached)


class ConfigAccess(Protocol):
    """A backend's handle on its own stored remote section.

    Backends that must persist state (rotating OAuth refresh tokens) use it.  ``lock()`` is a
    cross-process lock on this remote; hold it while re-reading and writing a token so that two
    processes never both present the same refresh token.
    """

    @property
    def remote_name(self) -> str: ...

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str) -> None:
        """Persist ``key`` now (atomically; secrets go to the keyring when one exists)."""

    def reload(self) -> None:
        """Re-read the stored section (another process may have refreshed a token)."""

    def lock(self) -> AbstractContextManager[None]: ...


class Prompter(Protocol):
    """What an interactive config flow may ask of the user.

    The CLI implements it with click prompts; tests implement it with scripted answers.
    """

    def echo(self, text: str) -> None: ...

    def prompt(self, text: str, default: str | None = None, secret: bool = False) -> str: ...

    def confirm(self, text: str, default: bool = False) -> bool: ...

    def choose(self, text: str, choices: Sequence[tuple[str, str]], default: str | None = None) -> str:
        """Offer ``(value, help)`` choices; return the chosen value."""


#: Builds a backend: ``factory(name, root, options, config)``.  ``options`` holds every declared
#: option, parsed to its kind (defaults filled in).  ``config`` is None for on-the-fly remotes.
BackendFactory = Callable[[str, str, Mapping[str, Any], "ConfigAccess | None"], "Backend"]

#: An interactive config flow: ``configure(prompter, current_values) -> values to store``.
#: Backends without one get the generic flow (one question per non-advanced option).
ConfigureFlow = Callable[[Prompter, Mapping[str, str]], dict[str, str]]


@dataclass(frozen=True)
class BackendSpec:
    """Registration record of a backend type; exported as ``SPEC`` and found by entry point."""

    name: str
    description: str
    factory: BackendFactory
    options: tuple[Option, ...] = ()
    configure: ConfigureFlow | None = None
    aliases: tuple[str, ...] = field(default=())

    def option(self, name: str) -> Option:
        for opt in self.options:
            if opt.name == name:
                return opt
        raise KeyError(name)

    def iter_options(self, advanced: bool | None = None) -> Iterator[Option]:
        for opt in self.options:
            if advanced is None or opt.advanced == advanced:
                yield opt

    def parse_options(self, raw: Mapping[str, str]) -> dict[str, Any]:
        """Parse raw string values (unknown keys kept as strings) and fill in defaults."""
        values: dict[str, Any] = {}
        for opt in self.options:
            if opt.name in raw:
                try:
                    values[opt.name] = opt.parse(raw[opt.name])
                except ValueError as exc:
                    from .errors import ConfigError

                    raise ConfigError(f"bad value for {self.name} option {opt.name!r}: {exc}") from None
            else:
                values[opt.name] = opt.default
        for key, text in raw.items():
            values.setdefault(key, text)
        return values
