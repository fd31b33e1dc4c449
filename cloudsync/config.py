"""The config file: rclone.conf format, environment overlay, atomic writes, secrets.

* Format: INI, one ``[name]`` section per remote with a ``type`` key.  Parsed with
  ``ConfigParser(interpolation=None)`` and ``optionxform = str`` so that ``%`` in a token and the
  case of keys such as ``configVersion`` survive a round trip.
* Location: ``--config`` > ``CLOUDSYNC_CONFIG`` > ``$XDG_CONFIG_HOME/cloudsync/cloudsync.conf``
  or ``~/.config/cloudsync/cloudsync.conf`` (all Unix, like rclone) > platformdirs (Windows).
  ``--config ""`` or ``/dev/null`` keeps the config in memory only.
* Environment: ``CLOUDSYNC_CONFIG_<REMOTE>_<KEY>`` overrides a key; ``..._TYPE`` alone defines a
  whole remote that exists only in the environment.
* Writes: under a file lock, re-read the file, apply the change, write a temporary file (mode
  0600) in the same directory, fsync, ``os.replace``.  A crash leaves the old or the new file,
  never half of one, and two processes never lose each other's changes.
* Secrets: see :mod:`cloudsync.secrets`.
* Encryption (``cloudsync config encryption set``): the whole file is sealed with a key derived
  from a password (:mod:`cloudsync.config_crypt`); it is decrypted on reading and sealed again
  on every write, under the same lock and with the same atomic replace, so a rotated token is
  written back exactly as in a plain file.  Secrets then stay in the sealed file.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigError
from .secrets import KEYRING, STORE_SUFFIX, SecretStore, state_dir

if TYPE_CHECKING:
    import configparser

    from .config_crypt import ConfigKey, PasswordSource
    from .options import BackendSpec

__all__ = [
    "Config",
    "RemoteAccess",
    "RemoteInfo",
    "default_config_path",
    "env_name_part",
    "resolve_config_path",
]

ENV_PREFIX = "CLOUDSYNC_CONFIG_"
REDACTED = "XXX"


def env_name_part(text: str) -> str:
    """A remote name as it appears in an environment variable name."""
    return re.sub(r"[^A-Za-z0-9]", "_", text).upper()


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import platformdirs

        return Path(platformdirs.user_config_dir("cloudsync", appauthor=False)) / "cloudsync.conf"
    xdg = env.get("XDG_CONFIG_HOME")
    base = Path(xdg) if xdg else Path(env.get("HOME") or Path.home()) / ".config"
    return base / "cloudsync" / "cloudsync.conf"


def resolve_config_path(explicit: str | None, env: Mapping[str, str] | None = None) -> Path | None:
    """The config file to use; None means "in memory only" (``--config ""`` or ``/dev/null``)."""
    env = os.environ if env is None else env
    chosen = explicit if explicit is not None else env.get("CLOUDSYNC_CONFIG")
    if chosen is None:
        return default_config_path(env)
    if chosen == "" or chosen == os.devnull:
        return None
    return Path(chosen).expanduser()


@dataclass(frozen=True)
class RemoteInfo:
    """A remote defined in the config file or the environment."""

    name: str
    type: str
    source: str  # "file" or "environment"
    description: str = ""


def _new_parser() -> configparser.ConfigParser:
    # Imported here: a run that never reads or writes a config file need not load it.
    import configparser

    parser = configparser.ConfigParser(
        interpolation=None, strict=False, default_section="\0no-defaults\0"
    )
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    return parser


class Config:
    """One config file (or an in-memory config) plus the environment overlay."""

    def __init__(
        self,
        path: Path | None,
        env: Mapping[str, str] | None = None,
        secrets: SecretStore | None = None,
        *,
        password_command: str | None = None,
        ask_password: bool = True,
    ) -> None:
        self.path = path
        self._ask_password = ask_password
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.secrets = secrets if secrets is not None else SecretStore(config_path=path)
        self._password_command = password_command
        self._passwords: PasswordSource | None = None
        #: the key that opened the file (None: the file is plain text)
        self._key: ConfigKey | None = None
        self._sections: dict[str, dict[str, str]] = {}
        self._stamp: tuple[int, int] | None = None
        self._mutex = threading.RLock()
        self._read()

    @classmethod
    def load(cls, explicit: str | None = None, env: Mapping[str, str] | None = None, *,
             password_command: str | None = None, ask_password: bool = True) -> Config:
        return cls(resolve_config_path(explicit, env), env, password_command=password_command,
                   ask_password=ask_password)

    @property
    def passwords(self) -> PasswordSource:
        if self._passwords is None:
            from .config_crypt import PasswordSource

            self._passwords = PasswordSource(self.env, self._password_command,
                                             ask=self._ask_password)
        return self._passwords

    @property
    def encrypted(self) -> bool:
        with self._mutex:
            self._maybe_reload()
            return self._key is not None

    # ------------------------------------------------------------------ reading
    def _read(self) -> None:
        if self.path is None:
            return
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._sections, self._stamp = {}, None
            return
        except OSError as exc:
            raise ConfigError(f"couldn't read config file {self.path}: {exc.strerror or exc}") from None
        try:
            text = self.path.read_text(encoding="utf-8")
        except IsADirectoryError:
            raise ConfigError(f"config file {self.path} is a directory") from None
        except UnicodeDecodeError:
            raise ConfigError(f"couldn't parse config file {self.path}: not UTF-8 text") from None
        except OSError as exc:
            raise ConfigError(f"couldn't read config file {self.path}: {exc.strerror or exc}") from None
        key = None
        if text.startswith("CLOUDSYNC_ENCRYPT_"):
            from .config_crypt import decrypt

            text, key = decrypt(text, self.passwords, self.path, self._key)
        self._sections = self._parse(text)
        self._key = key
        self._stamp = (st.st_mtime_ns, st.st_size)

    def _parse(self, text: str) -> dict[str, dict[str, str]]:
        if "RCLONE_ENCRYPT_V" in text:
            raise ConfigError(
                f"config file {self.path} is encrypted (rclone config encryption), "
                "which cloudsync does not support"
            )
        import configparser

        parser = _new_parser()
        try:
            parser.read_string(text, source=str(self.path))
        except configparser.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"couldn't parse config file {self.path}: {first}") from None
        return {name: dict(parser.items(name, raw=True)) for name in parser.sections()}

    def _maybe_reload(self) -> None:
        """Re-read when another process changed the file (rclone does the same)."""
        if self.path is None:
            return
        try:
            st = self.path.stat()
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        except OSError:
            return
        if stamp != self._stamp:
            self._read()

    def reload(self) -> None:
        with self._mutex:
            self._read()

    # ------------------------------------------------------------------ queries
    def file_sections(self) -> dict[str, dict[str, str]]:
        """Raw sections as stored in the file (secrets not resolved); a copy."""
        with self._mutex:
            self._maybe_reload()
            return {k: dict(v) for k, v in self._sections.items()}

    def overlay(self, name: str) -> dict[str, str]:
        """``CLOUDSYNC_CONFIG_<NAME>_<KEY>`` values, keys lower-cased."""
        prefix = ENV_PREFIX + env_name_part(name) + "_"
        return {
            key[len(prefix) :].lower(): value
            for key, value in self.env.items()
            if key.startswith(prefix) and len(key) > len(prefix)
        }

    def _env_remote_names(self) -> list[str]:
        names = []
        for key in self.env:
            if key.startswith(ENV_PREFIX) and key.endswith("_TYPE") and len(key) > len(ENV_PREFIX) + 5:
                names.append(key[len(ENV_PREFIX) : -5].lower())
        return sorted(set(names))

    def _find_file_section(self, name: str) -> str | None:
        if name in self._sections:
            return name
        return None

    def remotes(self) -> list[RemoteInfo]:
        """Remotes in file order, then those defined only by the environment."""
        with self._mutex:
            self._maybe_reload()
            out: list[RemoteInfo] = []
            seen: set[str] = set()
            for name, section in self._sections.items():
                ov = self.overlay(name)
                out.append(RemoteInfo(name, ov.get("type") or section.get("type", ""), "file",
                                      ov.get("description") or section.get("description", "")))
                seen.add(env_name_part(name))
            for name in self._env_remote_names():
                if env_name_part(name) in seen:
                    continue
                ov = self.overlay(name)
                out.append(RemoteInfo(name, ov.get("type", ""), "environment", ov.get("description", "")))
            return out

    def has_remote(self, name: str) -> bool:
        return self.layers(name) is not None

    def layers(self, name: str) -> tuple[dict[str, str], dict[str, str]] | None:
        """``(file values with secrets resolved, environment overlay)`` or None if no such remote."""
        with self._mutex:
            self._maybe_reload()
            section_name = self._find_file_section(name)
            overlay = self.overlay(name)
            if section_name is None:
                if "type" in overlay:
                    return {}, overlay
                return None
            return self._resolve(name, self._sections[section_name]), overlay

    def _resolve(self, remote: str, section: Mapping[str, str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in section.items():
            if key.endswith(STORE_SUFFIX) and value == KEYRING:
                secret_key = key[: -len(STORE_SUFFIX)]
                secret = self.secrets.load(remote, secret_key)
                if secret is not None:
                    out[secret_key] = secret
                continue
            out.setdefault(key, value)
        return out

    def get(self, name: str, key: str) -> str | None:
        """One value with overlay and secrets applied (None when unset)."""
        layers = self.layers(name)
        if layers is None:
            return None
        stored, overlay = layers
        if key.lower() in overlay:
            return overlay[key.lower()]
        return stored.get(key)

    # ------------------------------------------------------------------ writing
    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        with self._mutex:
            if self.path is None:
                yield
                return
            from filelock import FileLock

            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with FileLock(str(self.path) + ".lock", timeout=60):
                self._read()  # apply our change to the newest content
                yield

    def _write(self) -> None:
        if self.path is None:
            return
        import io

        parser = _new_parser()
        for name, section in self._sections.items():
            parser.add_section(name)
            for key, value in section.items():
                # configparser cannot store a value that starts a continuation line
                parser.set(name, key, value.replace("\n", " "))
        buf = io.StringIO()
        parser.write(buf)
        content = buf.getvalue()
        if self._key is not None:
            from .config_crypt import encrypt

            content = encrypt(content, self._key)
        directory = self.path.parent
        import tempfile  # lazily: only saving needs it (it pulls in shutil, random, ...)

        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(content)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        with contextlib.suppress(OSError):  # make the rename itself durable
            dfd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        st = self.path.stat()
        self._stamp = (st.st_mtime_ns, st.st_size)

    def _store_value(
        self, remote: str, section: dict[str, str], key: str, value: str, secret: bool
    ) -> None:
        store_key = key + STORE_SUFFIX
        if secret and value and self._key is None:
            # (an encrypted file is itself the safe place: secrets stay in it)
            where = self.secrets.save(remote, key, value)
            if where == KEYRING:
                section.pop(key, None)
                section[store_key] = KEYRING
                return
        if section.get(store_key) == KEYRING:
            self.secrets.delete(remote, key)
            section.pop(store_key, None)
        section[key] = value

    def set_values(
        self,
        name: str,
        values: Mapping[str, str],
        *,
        spec: BackendSpec | None = None,
        create: bool = False,
        secret_keys: Iterable[str] = (),
    ) -> None:
        """Set keys of remote ``name`` (creating the section with ``create``) and save.

        Keys declared ``secret`` by ``spec`` (or listed in ``secret_keys``) go through the
        secret store.
        """
        secret = set(secret_keys)
        if spec is not None:
            secret |= {opt.name for opt in spec.options if opt.secret}
        with self._write_lock():
            if name not in self._sections:
                if not create:
                    raise ConfigError(f'didn\'t find section in config file ("{name}")')
                self._sections[name] = {}
            section = self._sections[name]
            for key, value in values.items():
                self._store_value(name, section, key, value, key in secret)
            self._write()

    def set_encryption(self, password: str) -> None:
        """Seal the file with ``password`` (a new salt and key), atomically, under the lock."""
        from .config_crypt import derive

        if self.path is None:
            raise ConfigError("an in-memory config cannot be encrypted")
        key = derive(password)
        with self._write_lock():
            self._key = key
            self._write()

    def remove_encryption(self) -> None:
        """Store the file as plain text again (after it was opened with the right password)."""
        with self._write_lock():
            self._key = None
            self._write()

    def touch(self) -> None:
        """Create the (empty) config file if it does not exist yet."""
        with self._write_lock():
            if self.path is not None and not self.path.exists():
                self._write()

    def unset(self, name: str, keys: Iterable[str]) -> None:
        with self._write_lock():
            section = self._sections.get(name)
            if section is None:
                raise ConfigError(f'didn\'t find section in config file ("{name}")')
            for key in keys:
                section.pop(key, None)
                if section.pop(key + STORE_SUFFIX, None) == KEYRING:
                    self.secrets.delete(name, key)
            self._write()

    def replace_section(self, name: str, values: Mapping[str, str], *, spec: BackendSpec | None = None) -> None:
        """Replace a whole section (the wizard's result), keeping secrets in their store."""
        with self._write_lock():
            old = self._sections.get(name, {})
            for key, value in old.items():
                if key.endswith(STORE_SUFFIX) and value == KEYRING:
                    base = key[: -len(STORE_SUFFIX)]
                    if base not in values:
                        self.secrets.delete(name, base)
            self._sections[name] = {}
            secret = {opt.name for opt in spec.options if opt.secret} if spec is not None else set()
            section = self._sections[name]
            for key, value in values.items():
                self._store_value(name, section, key, value, key in secret)
            self._write()

    def delete_remote(self, name: str) -> None:
        with self._write_lock():
            section = self._sections.pop(name, None)
            if section is None:
                raise ConfigError(f'didn\'t find section in config file ("{name}")')
            for key, value in section.items():
                if key.endswith(STORE_SUFFIX) and value == KEYRING:
                    self.secrets.delete(name, key[: -len(STORE_SUFFIX)])
            self._write()

    # ------------------------------------------------------------------ presentation
    def secret_keys_of(self, name: str) -> set[str]:
        """Keys of ``name`` that are secret: declared by its backend or kept in the keyring."""
        with self._mutex:
            section = self._sections.get(name, {})
        keys = {k[: -len(STORE_SUFFIX)] for k, v in section.items() if k.endswith(STORE_SUFFIX) and v == KEYRING}
        type_name = section.get("type") or self.overlay(name).get("type")
        if type_name:
            try:
                from .registry import get_spec

                keys |= {opt.name for opt in get_spec(type_name).options if opt.secret}
            except ConfigError:
                pass
        # Unknown backends: be conservative with names that look secret.
        keys |= {k for k in section if re.search(r"(token|pass|secret|key)$", k, re.I) and k != "type"}
        return keys

    def show(self, name: str | None = None, *, redact: bool = True) -> dict[str, dict[str, str]]:
        """Sections for ``config show``/``dump``: stored values, secrets redacted unless asked.

        With ``redact=False`` secrets held in the keyring are fetched and shown.
        """
        with self._mutex:
            self._maybe_reload()
            names = [name] if name is not None else list(self._sections)
            out: dict[str, dict[str, str]] = {}
            for remote in names:
                if remote not in self._sections:
                    layers = self.layers(remote)
                    if layers is None:
                        raise ConfigError(f'didn\'t find section in config file ("{remote}")')
                    raw = dict(layers[1])
                else:
                    raw = dict(self._sections[remote])
                    if not redact:
                        raw = self._resolve(remote, raw)
                if redact:
                    secret = self.secret_keys_of(remote)
                    raw = {k: (REDACTED if k in secret and v else v) for k, v in raw.items()}
                out[remote] = raw
            return out

    def access(self, name: str, spec: BackendSpec | None = None) -> RemoteAccess:
        return RemoteAccess(self, name, spec)


class RemoteAccess:
    """:class:`cloudsync.options.ConfigAccess` for one remote of a :class:`Config`."""

    def __init__(self, config: Config, name: str, spec: BackendSpec | None) -> None:
        self._config = config
        self._name = name
        self._spec = spec

    @property
    def remote_name(self) -> str:
        return self._name

    def get(self, key: str) -> str | None:
        return self._config.get(self._name, key)

    def set(self, key: str, value: str) -> None:
        secret = set()
        if self._spec is not None:
            secret = {opt.name for opt in self._spec.options if opt.secret}
        with self._config._write_lock():
            if self._name not in self._config._sections:
                # An env-only remote has nowhere to persist state: make a section for it.
                self._config._sections[self._name] = {}
            section = self._config._sections[self._name]
            self._config._store_value(self._name, section, key, value, key in secret)
            self._config._write()

    def reload(self) -> None:
        self._config.reload()

    def lock(self) -> contextlib.AbstractContextManager[None]:
        return _remote_lock(self._name)


_remote_locks: dict[str, object] = {}
_remote_locks_mutex = threading.Lock()


def _remote_lock(name: str) -> contextlib.AbstractContextManager[None]:
    """Cross-process lock for one remote (state dir), reentrant within a thread."""
    from filelock import FileLock

    safe = re.sub(r"[^A-Za-z0-9_.@+-]", "_", name)
    path = state_dir() / "locks" / f"remote-{safe}.lock"
    with _remote_locks_mutex:
        lock = _remote_locks.get(str(path))
        if lock is None:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            lock = FileLock(str(path), timeout=300)
            _remote_locks[str(path)] = lock
    return _LockContext(lock)


class _LockContext(contextlib.AbstractContextManager[None]):
    def __init__(self, lock: object) -> None:
        self._lock = lock

    def __enter__(self) -> None:
        self._lock.acquire()  # type: ignore[attr-defined]

    def __exit__(self, *exc: object) -> None:
        self._lock.release()  # type: ignore[attr-defined]
