"""Option metadata and backend registration records.

A backend declares its options once, as :class:`Option` records inside its
:class:`BackendSpec`.  The same records drive the config wizard, ``config create``
validation, the ``--<backend>-<option>`` flags, the ``CLOUDSYNC_<BACKEND>_<OPTION>`` and
``CLOUDSYNC_CONFIG_<REMOTE>_<OPTION>`` environment variables, and the generated docs.

Value lookup precedence (rclone's, see rclone-semantics.md §A.3), first hit wins:

1. connection-string parameter (``remote,key=value:path``)
2. command-line flag ``--<backend>-<option>``
3. ``CLOUDSYNC_CONFIG_<REMOTE>_<OPTION>``
4. ``CLOUDSYNC_<BACKEND>_<OPTION>``
5. the config file section
6. the default
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .backend import Backend

__all__ = [
    "BackendSpec",
    "ConfigAccess",
    "Option",
    "Prompter",
    "parse_bool",
    "parse_duration",
    "parse_size",
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


_PARSERS: dict[str, Callable[[str], Any]] = {
    "str": str,
    "int": int,
    "bool": parse_bool,
    "size": parse_size,
    "duration": parse_duration,
}


@dataclass(frozen=True)
class Option:
    """One backend option, declared once.

    ``kind`` is one of ``str``, ``int``, ``bool``, ``size``, ``duration``.  ``secret`` options
    (passwords, tokens) are stored in the keyring when a real one exists and are never printed.
    ``examples`` are ``(value, help)`` pairs offered by the wizard as choices; with
    ``exclusive`` only those values are allowed.  ``advanced`` options are only asked for in
    the wizard's advanced section.  ``hidden`` options are internal state (e.g. a token) that
    the wizard never asks for directly.
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

    def parse(self, text: str) -> Any:
        value = _PARSERS[self.kind](text)
        if self.exclusive and self.examples and text not in {v for v, _ in self.examples}:
            allowed = ", ".join(v for v, _ in self.examples)
            raise ValueError(f"{self.name} must be one of: {allowed}")
        return value

    def flag_name(self, backend: str) -> str:
        return f"--{backend}-{self.name.replace('_', '-')}"

    def env_name(self, backend: str) -> str:
        return f"CLOUDSYNC_{backend.upper()}_{self.name.upper()}"


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
