"""Config file encryption: scrypt key derivation + AES-256-GCM, both from ``cryptography``.

For machines without a keyring (servers, containers, NAS boxes), where tokens would otherwise
sit in plain text in a 0600 file.  The encrypted file is text::

    CLOUDSYNC_ENCRYPT_V1 scrypt n=32768 r=8 p=1
    <base64 of salt (16 bytes) | nonce (12 bytes) | ciphertext and GCM tag>

The header line is authenticated as associated data, so its parameters cannot be changed
without the tag failing.  The key is derived once per process (scrypt with 32 MiB of memory
takes about 0.1 s) and kept with its salt, so rewriting the file (a rotated token written
back under the lock) needs no second prompt; every write uses a fresh random nonce.

The password comes from ``CLOUDSYNC_CONFIG_PASS``, else the output of ``--password-command``
(``CLOUDSYNC_PASSWORD_COMMAND``), else a prompt on a terminal.  A wrong password is one
:class:`~cloudsync.errors.ConfigError` line, and nothing is ever written with it.
"""

from __future__ import annotations

import base64
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import ConfigError

__all__ = ["MAGIC", "ConfigKey", "PasswordSource", "decrypt", "encrypt", "is_encrypted"]

MAGIC = "CLOUDSYNC_ENCRYPT_V1"
PASS_ENV = "CLOUDSYNC_CONFIG_PASS"
_N, _R, _P = 2**15, 8, 1
_SALT, _NONCE = 16, 12


def is_encrypted(text: str) -> bool:
    return text.startswith(MAGIC)


@dataclass(frozen=True)
class ConfigKey:
    """A derived key with the salt and header it belongs to (never logged, never stored)."""

    key: bytes
    salt: bytes
    header: str

    def __repr__(self) -> str:  # a traceback or debug print must not show the key
        return "ConfigKey(<redacted>)"


def _header(n: int, r: int, p: int) -> str:
    return f"{MAGIC} scrypt n={n} r={r} p={p}"


def _parse_header(line: str, path: object) -> tuple[int, int, int]:
    parts = line.split()
    try:
        if parts[0] != MAGIC or parts[1] != "scrypt":
            raise ValueError
        fields = dict(p.split("=", 1) for p in parts[2:])
        n, r, p = int(fields["n"]), int(fields["r"]), int(fields["p"])
    except (IndexError, KeyError, ValueError):
        raise ConfigError(f"config file {path} has an unknown encryption header") from None
    if not (2 <= n <= 2**20 and 1 <= r <= 32 and 1 <= p <= 16):
        raise ConfigError(f"config file {path} has out-of-range encryption parameters")
    return n, r, p


def derive(password: str, salt: bytes | None = None, *, n: int = _N, r: int = _R, p: int = _P) -> ConfigKey:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    if not password:
        raise ConfigError("the config password must not be empty")
    salt = salt if salt is not None else os.urandom(_SALT)
    key = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(password.encode("utf-8"))
    return ConfigKey(key, salt, _header(n, r, p))


def encrypt(plaintext: str, key: ConfigKey) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(_NONCE)
    sealed = AESGCM(key.key).encrypt(nonce, plaintext.encode("utf-8"), key.header.encode("ascii"))
    body = base64.encodebytes(key.salt + nonce + sealed).decode("ascii")
    return f"{key.header}\n{body}"


def decrypt(text: str, password: PasswordSource | str, path: object,
            key: ConfigKey | None = None) -> tuple[str, ConfigKey]:
    """The plaintext and the key that opened it.  ``key`` (from an earlier read in this
    process) is tried first when its salt matches, so no password is asked again."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    header, _, body = text.partition("\n")
    header = header.strip()
    n, r, p = _parse_header(header, path)
    try:
        raw = base64.b64decode("".join(body.split()), validate=True)
    except ValueError:
        raise ConfigError(f"config file {path} is damaged (its encrypted body is not base64)") from None
    if len(raw) < _SALT + _NONCE + 16:
        raise ConfigError(f"config file {path} is damaged (its encrypted body is too short)")
    salt, nonce, sealed = raw[:_SALT], raw[_SALT:_SALT + _NONCE], raw[_SALT + _NONCE:]
    if key is None or key.salt != salt or key.header != header:
        secret = password if isinstance(password, str) else password.get(path)
        key = derive(secret, salt, n=n, r=r, p=p)
    try:
        plain = AESGCM(key.key).decrypt(nonce, sealed, header.encode("ascii"))
    except InvalidTag:
        raise ConfigError(
            f"couldn't decrypt config file {path}: wrong password (or the file was altered)",
            hint=f"check {PASS_ENV} or --password-command",
        ) from None
    try:
        return plain.decode("utf-8"), key
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} decrypted to something that is not text") from None


class PasswordSource:
    """Where the config password comes from: environment, a command, or a prompt."""

    def __init__(self, env: Mapping[str, str] | None = None, command: str | None = None, *,
                 ask: bool = True) -> None:
        self.env: Mapping[str, str] = os.environ if env is None else env
        #: --ask-password=false: never prompt, even on a terminal
        self.ask = ask
        self.command = command if command is not None else (self.env.get("CLOUDSYNC_PASSWORD_COMMAND") or None)

    def get(self, path: object, *, prompt: str = "Enter the config password") -> str:
        value = self.env.get(PASS_ENV)
        if value:
            return value
        if self.command:
            return run_password_command(self.command)
        if self.ask and sys.stdin.isatty():
            import getpass

            value = getpass.getpass(f"{prompt} ({path}): ")
            if value:
                return value
        raise ConfigError(
            f"config file {path} is encrypted and no password was given",
            hint=f"set {PASS_ENV}, use --password-command, or run on a terminal"
            + ("" if self.ask else " without --ask-password=false"),
        )

    def new_password(self, path: object) -> str:
        """A new password for ``config encryption set``: prompted twice on a terminal, else
        taken from the environment or the command (for scripts)."""
        if self.ask and sys.stdin.isatty() and not self.env.get(PASS_ENV) and not self.command:
            import getpass

            first = getpass.getpass(f"New config password ({path}): ")
            if not first:
                raise ConfigError("the config password must not be empty")
            if getpass.getpass("Confirm the new config password: ") != first:
                raise ConfigError("the two passwords differ; nothing changed")
            return first
        return self.get(path, prompt="New config password")


def run_password_command(command: str) -> str:
    """The first line the command prints (rclone's ``--password-command``); run without a shell."""
    import shlex
    import subprocess

    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise ConfigError(f"--password-command could not be parsed: {exc}") from None
    if not argv:
        raise ConfigError("--password-command is empty")
    try:
        done = subprocess.run(argv, capture_output=True, check=False, timeout=120)
    except FileNotFoundError:
        raise ConfigError(f"--password-command: {argv[0]}: command not found") from None
    except (OSError, subprocess.SubprocessError) as exc:
        raise ConfigError(f"--password-command failed to run: {type(exc).__name__}") from None
    if done.returncode != 0:
        raise ConfigError(f"--password-command failed with exit code {done.returncode}")
    text = done.stdout.decode("utf-8", "replace").splitlines()
    if not text or not text[0]:
        raise ConfigError("--password-command printed no password")
    return text[0]
