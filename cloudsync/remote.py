"""Remote strings (rclone's ``fspath`` grammar) and building a backend from one.

Grammar (rclone-semantics.md §A.3), decided in this order:

* no ``:`` anywhere → a local path;
* a ``/`` or ``\\`` before the first ``:`` or ``,`` → a local path (``./sync:me``);
* a single drive letter ``C:`` on Windows → a local path;
* a leading ``:`` → an on-the-fly backend: ``:memory:bucket/x``, ``:local,copy_links:/tmp``;
* otherwise ``name[,key=value…]:path`` names a config section.

Connection-string parameters: keys are ``[A-Za-z0-9_.]+``; a value containing ``:`` or ``,``
is quoted with ``'`` or ``"`` (a doubled quote inside is a literal quote); a bare key means
``key=true``.

:func:`open_backend` turns a remote string into a :class:`~cloudsync.backend.Backend`, applying
rclone's option precedence (see :mod:`cloudsync.options`).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, NotFound, UsageError

if TYPE_CHECKING:
    from .backend import Backend
    from .config import Config
    from .options import BackendSpec

__all__ = [
    "CAPABILITY_ALIASES",
    "RemoteSpec",
    "check_remote_name",
    "open_backend",
    "open_parent",
    "parse_disable",
    "parse_remote",
    "resolve_options",
]

# rclone's config-name rule: Unicode letters and digits, "_ - . + @" and space; must not start
# with "-" or space, must not end with space.  \w covers letters, digits and "_".
_NAME_RE = r"^[\w.+@]([\w.+@ -]*[\w.+@-])?$"
_KEY_RE = r"[A-Za-z0-9_.]+"


@functools.cache
def _rx(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled on first use: compiling at import would slow every start-up."""
    return re.compile(pattern)


@dataclass(frozen=True)
class RemoteSpec:
    """A parsed remote string.

    ``kind`` is ``"path"`` (plain local path), ``"config"`` (a named remote) or ``"onthefly"``
    (``:type:``).  ``name`` is the config name or, for on-the-fly remotes, the backend type.
    """

    original: str
    kind: str
    name: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_local_path(self) -> bool:
        return self.kind == "path"


def check_remote_name(name: str) -> None:
    """Raise UsageError unless ``name`` is a valid config name (rclone's rules)."""
    if not name:
        raise UsageError("config name can't be empty")
    if not _rx(_NAME_RE).match(name):
        raise UsageError(
            f"config name contains invalid characters - may only contain numbers, letters, "
            f"'_', '-', '.', '+', '@' and space, while not start with '-' or space, and not end "
            f"with space: {name!r}"
        )


def _is_drive_letter(text: str) -> bool:
    return os.name == "nt" and len(text) >= 2 and text[0].isalpha() and text[1] == ":" and (
        len(text) == 2 or text[2] in "/\\"
    )


def _parse_params(text: str, start: int, original: str) -> tuple[dict[str, str], int]:
    """Parse ``,k=v,k2='x:y'`` from ``text[start]`` (a ``,``); return params and the index of ``:``."""
    params: dict[str, str] = {}
    i, n = start, len(text)
    while i < n and text[i] == ",":
        i += 1
        m = _rx(_KEY_RE).match(text, i)
        if not m:
            raise ConfigError(f"invalid connection string parameter in {original!r}")
        key = m.group(0)
        i = m.end()
        if i < n and text[i] == "=":
            i += 1
            if i < n and text[i] in "'\"":
                quote = text[i]
                i += 1
                buf: list[str] = []
                while True:
                    if i >= n:
                        raise ConfigError(f"unterminated quoted config value in {original!r}")
                    if text[i] == quote:
                        if i + 1 < n and text[i + 1] == quote:  # doubled quote = literal quote
                            buf.append(quote)
                            i += 2
                            continue
                        i += 1
                        break
                    buf.append(text[i])
                    i += 1
                value = "".join(buf)
            else:
                j = i
                while j < n and text[j] not in ",:":
                    j += 1
                value = text[i:j]
                i = j
        else:
            value = "true"
        params[key] = value
    if i >= n or text[i] != ":":
        raise ConfigError(f"config name needs a trailing ':' in {original!r}")
    return params, i


def parse_remote(text: str) -> RemoteSpec:
    """Parse a remote string; ConfigError for a malformed one (see module docstring)."""
    if ":" not in text or _is_drive_letter(text):
        return RemoteSpec(text, "path", "local", text)
    onthefly = text.startswith(":")
    i = 1 if onthefly else 0
    n = len(text)
    while i < n and text[i] not in ":,":
        if text[i] in "/\\":
            if onthefly:
                raise ConfigError(f"backend name contains invalid characters in {text!r}")
            return RemoteSpec(text, "path", "local", text)
        i += 1
    name = text[1:i] if onthefly else text[:i]
    if i < n and text[i] == ",":
        params, i = _parse_params(text, i, text)
    elif i >= n:  # pragma: no cover - unreachable: text contains ":" and we stop at it
        raise ConfigError(f"config name needs a trailing ':' in {text!r}")
    else:
        params = {}
    path = text[i + 1 :]
    if onthefly:
        if not name:
            raise ConfigError(f"backend type missing in {text!r}", hint="use :TYPE:path, e.g. :memory:")
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise ConfigError(f"backend name contains invalid characters in {text!r}")
        return RemoteSpec(text, "onthefly", name, path, params)
    if not _rx(_NAME_RE).match(name):
        raise ConfigError(
            f"config name contains invalid characters - may only contain numbers, letters, "
            f"'_', '-', '.', '+', '@' and space: {text!r}"
        )
    return RemoteSpec(text, "config", name, path, params)


# rclone's feature names (``--disable ListR,Copy``) mapped to cloudsync capability names.
CAPABILITY_ALIASES: dict[str, str] = {
    "copy": "copy",
    "move": "move",
    "dirmove": "dir_move",
    "dir_move": "dir_move",
    "purge": "purge",
    "listr": "list_recursive",
    "list_recursive": "list_recursive",
    "setmodtime": "set_modtime",
    "set_modtime": "set_modtime",
    "cleanup": "cleanup",
    "publiclink": "public_link",
    "public_link": "public_link",
    "dirsetmodtime": "set_dir_modtime",
    "set_dir_modtime": "set_dir_modtime",
}


def parse_disable(values: Iterable[str]) -> tuple[str, ...]:
    """``--disable copy,ListR`` → capability names; UsageError for an unknown one."""
    out: list[str] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            cap = CAPABILITY_ALIASES.get(part.lower())
            if cap is None:
                known = ", ".join(sorted(set(CAPABILITY_ALIASES.values())))
                raise UsageError(f"--disable: unknown feature {part!r} (known: {known})")
            out.append(cap)
    return tuple(out)


def resolve_options(
    spec: BackendSpec,
    params: Mapping[str, str],
    flags: Mapping[str, str],
    overlay: Mapping[str, str],
    stored: Mapping[str, str],
    env: Mapping[str, str],
) -> dict[str, str]:
    """Raw option strings by rclone's precedence (first hit wins).

    1. connection-string ``params``; 2. ``flags`` (``--<backend>-<opt>``); 3. ``overlay``
    (``CLOUDSYNC_CONFIG_<REMOTE>_<OPT>``); 4. ``CLOUDSYNC_<BACKEND>_<OPT>``; 5. ``stored`` (the
    config file section, secrets already resolved); 6. the default (filled in later by
    ``BackendSpec.parse_options``).  Undeclared keys are kept (backends may store state).
    """
    raw: dict[str, str] = {k: v for k, v in stored.items() if k != "type"}
    for opt in spec.options:
        value = env.get(opt.env_name(spec.name))
        if value is not None:
            raw[opt.name] = value
    # Environment keys arrive upper-cased; map them back to the declared spelling.
    declared = {opt.name.lower(): opt.name for opt in spec.options}
    for key, value in overlay.items():
        if key.lower() != "type":
            raw[declared.get(key.lower(), key)] = value
    raw.update(flags)
    raw.update(params)
    return raw


def _suffix_for(params: Mapping[str, str]) -> str:
    """rclone names a remote with overridden options ``name{XXXXX}`` so it is a distinct remote."""
    if not params:
        return ""
    # Imported here: only connection-string overrides need them, not every start-up.
    import base64
    import hashlib

    blob = ",".join(f"{k}={v}" for k, v in sorted(params.items()))
    digest = base64.urlsafe_b64encode(hashlib.md5(blob.encode()).digest()).decode().rstrip("=")
    return "{" + digest[:5] + "}"


def _local_split(path: str) -> tuple[str, str]:
    stripped = path.rstrip("/\\") or path
    parent, leaf = os.path.split(stripped)
    return parent, leaf


def _remote_split(path: str) -> tuple[str, str]:
    stripped = path.strip("/")
    if "/" in stripped:
        parent, leaf = stripped.rsplit("/", 1)
        if path.startswith("/"):
            parent = "/" + parent
        return parent, leaf
    return ("/" if path.startswith("/") else ""), stripped


@dataclass
class _Target:
    """What a remote string resolved to: backend spec, names and merged options."""

    spec: BackendSpec
    name: str
    remote_name: str | None  # config section name (for ConfigAccess), None otherwise
    options: dict[str, Any]
    is_local_type: bool


def _target(
    remote: RemoteSpec,
    config: Config | None,
    backend_flags: Mapping[str, Mapping[str, str]],
    env: Mapping[str, str],
) -> _Target:
    from .registry import get_spec

    stored: Mapping[str, str] = {}
    overlay: Mapping[str, str] = {}
    remote_name: str | None = None
    if remote.kind == "path":
        type_name, display = "local", "local"
    elif remote.kind == "onthefly":
        type_name, display = remote.name, ":" + remote.name
    else:
        layers = config.layers(remote.name) if config is not None else None
        if layers is None:
            if remote.name == "local":  # the embedded default, like rclone's "local:"
                type_name, display = "local", "local"
            else:
                raise ConfigError(f'didn\'t find section in config file ("{remote.name}")')
        else:
            stored, overlay = layers
            type_name = overlay.get("type") or stored.get("type", "")
            if not type_name:
                raise ConfigError(f'remote "{remote.name}" has no "type" in the config file')
            remote_name = remote.name
            display = remote.name
    spec = get_spec(type_name)
    raw = resolve_options(spec, remote.params, backend_flags.get(spec.name, {}), overlay, stored, env)
    options = spec.parse_options(raw)
    return _Target(spec, display + _suffix_for(remote.params), remote_name, options,
                   spec.name == "local")


def _build(target: _Target, root: str, config: Config | None, disable: Iterable[str],
           low_level_retries: int | None = None) -> Backend:
    access = None
    if config is not None and target.remote_name is not None:
        access = config.access(target.remote_name, target.spec)
    backend = target.spec.factory(target.name, root, target.options, access)
    caps = tuple(disable)
    if caps:
        backend.disable(*caps)
    if low_level_retries is not None:
        # before any request: opening a file remote already asks the server (stat below)
        backend.set_low_level_retries(low_level_retries)
    return backend


def open_backend(
    remote: str,
    config: Config | None = None,
    *,
    backend_flags: Mapping[str, Mapping[str, str]] | None = None,
    disable: Iterable[str] = (),
    env: Mapping[str, str] | None = None,
    file_ok: bool = True,
    low_level_retries: int | None = None,
) -> tuple[Backend, str | None]:
    """Build the backend a remote string names.

    Returns ``(backend rooted at the path, None)``, or – when ``file_ok`` and the path names an
    existing *file* – ``(backend rooted at its parent, file name)`` (rclone's FsIsFile).
    ``backend_flags`` maps backend type → {option: raw value} from ``--<backend>-<opt>`` flags;
    ``low_level_retries``: the global ``--low-level-retries`` (None: the backend's default).
    """
    spec = parse_remote(remote)
    env = os.environ if env is None else env
    target = _target(spec, config, backend_flags or {}, env)
    path = spec.path
    split = _local_split if target.is_local_type else _remote_split
    if file_ok and path.strip("/\\"):
        parent, leaf = split(path)
        if leaf and leaf not in (".", ".."):
            parent_backend = _build(target, parent, config, disable, low_level_retries)
            try:
                entry = parent_backend.stat(leaf)
            except (NotFound, NotADirectoryError):
                entry = None
            except BaseException:
                parent_backend.close()
                raise
            if entry is not None and not entry.is_dir:
                return parent_backend, leaf
            parent_backend.close()
    return _build(target, path, config, disable, low_level_retries), None


def open_parent(
    remote: str,
    config: Config | None = None,
    *,
    backend_flags: Mapping[str, Mapping[str, str]] | None = None,
    disable: Iterable[str] = (),
    env: Mapping[str, str] | None = None,
    low_level_retries: int | None = None,
) -> tuple[Backend, str]:
    """Backend rooted at the parent of the remote's path, plus the leaf name (copyto/rcat DST)."""
    spec = parse_remote(remote)
    env = os.environ if env is None else env
    target = _target(spec, config, backend_flags or {}, env)
    split = _local_split if target.is_local_type else _remote_split
    parent, leaf = split(spec.path)
    if not leaf:
        raise UsageError(f"{remote!r} does not name a file")
    return _build(target, parent, config, disable, low_level_retries), leaf
