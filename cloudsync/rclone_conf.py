"""Reading the user's rclone configuration: obscured values, encrypted files, remote mapping.

Facts about rclone's formats (all public, checked against the pinned rclone binary in
``tests/cli/test_rclone_import.py``):

* *Obscured* values (``rclone obscure``): AES-256-CTR under a fixed key that rclone publishes
  in its source, a random 16-byte IV in front, the whole written as unpadded URL-safe base64.
  It only stops shoulder-surfing; it is no protection.
* *Encrypted* config files (``rclone config encryption set``): after optional ``#``/``;``
  comment lines, a line ``RCLONE_ENCRYPT_V0:`` and then standard base64 of a 24-byte nonce
  followed by a NaCl secretbox (XSalsa20-Poly1305) of the plain file.  The key is
  SHA-256 of ``"[" + NFKC(password) + "][rclone-config]"``.

The crypto libraries are imported lazily: only these commands need them.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError, UsageError

__all__ = [
    "ImportPlan",
    "decrypt_config",
    "default_rclone_config_path",
    "obscure",
    "parse_rclone_config",
    "plan_import",
    "read_rclone_config",
    "reveal",
]

# rclone's fixed obscuring key (fs/config/obscure), public by design.
_OBSCURE_KEY = bytes.fromhex("9c935b48730a554d6bfd7c63c886a92bd390198eb8128afbf4de162b8b95f638")
_ENCRYPT_MARKER = "RCLONE_ENCRYPT_V0:"


def _aes_ctr(iv: bytes, data: bytes) -> bytes:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    ctx = Cipher(algorithms.AES(_OBSCURE_KEY), modes.CTR(iv)).encryptor()
    return ctx.update(data) + ctx.finalize()


def obscure(plain: str) -> str:
    """Obscure ``plain`` the way ``rclone obscure`` does (a fresh random IV each time)."""
    iv = secrets.token_bytes(16)
    raw = iv + _aes_ctr(iv, plain.encode("utf-8"))
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def reveal(text: str) -> str:
    """The plain value of an rclone-obscured ``text`` (``ValueError`` when it is not one)."""
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("base64 decode failed when revealing password - is it obscured?") from None
    if len(raw) < 16:
        raise ValueError("input too short when revealing password - is it obscured?")
    try:
        return _aes_ctr(raw[:16], raw[16:]).decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("revealed value is not UTF-8 text - is it obscured?") from None


def default_rclone_config_path(env: Mapping[str, str] | None = None) -> Path:
    """Where rclone looks for its config: ``$RCLONE_CONFIG``, the XDG path, then ``~/.rclone.conf``."""
    env = os.environ if env is None else env
    explicit = env.get("RCLONE_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    home = Path(env.get("HOME") or Path.home())
    legacy = home / ".rclone.conf"
    xdg = env.get("XDG_CONFIG_HOME")
    modern = (Path(xdg) if xdg else home / ".config") / "rclone" / "rclone.conf"
    if not modern.exists() and legacy.exists():
        return legacy
    return modern


def decrypt_config(text: str, password: str | None, *, path: str = "rclone.conf") -> str:
    """The plain text of an rclone config, decrypting it when it is encrypted."""
    lines = text.splitlines()
    body_start = None
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        if stripped == _ENCRYPT_MARKER:
            body_start = i + 1
        elif stripped.startswith("RCLONE_ENCRYPT_V"):
            raise ConfigError(f"rclone config {path} uses an encryption version cloudsync does not know")
        break
    if body_start is None:
        return text
    if not password:
        raise ConfigError(f"rclone config {path} is encrypted",
                          hint="set RCLONE_CONFIG_PASS to its password")
    import hashlib
    import unicodedata

    try:
        box = base64.b64decode("".join(ln.strip() for ln in lines[body_start:]), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"rclone config {path} is damaged (its encrypted body is not base64)") from None
    if len(box) < 24 + 16:
        raise ConfigError(f"rclone config {path} is damaged (encrypted body too short)")
    import nacl.exceptions
    import nacl.secret

    key = hashlib.sha256(
        ("[" + unicodedata.normalize("NFKC", password) + "][rclone-config]").encode("utf-8")).digest()
    try:
        plain = nacl.secret.SecretBox(key).decrypt(box[24:], box[:24])
    except nacl.exceptions.CryptoError:
        raise ConfigError(f"couldn't decrypt rclone config {path}: wrong password",
                          hint="check RCLONE_CONFIG_PASS") from None
    try:
        return plain.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"rclone config {path} decrypted to something that is not text") from None


def parse_rclone_config(text: str, *, path: str = "rclone.conf") -> dict[str, dict[str, str]]:
    """Sections of an (already decrypted) rclone config, in file order, keys as written."""
    import configparser

    parser = configparser.ConfigParser(interpolation=None, strict=False,
                                       default_section="\0no-defaults\0")
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text, source=path)
    except configparser.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"couldn't parse rclone config {path}: {first}") from None
    return {name: dict(parser.items(name, raw=True)) for name in parser.sections()}


def read_rclone_config(path: Path, password: str | None) -> dict[str, dict[str, str]]:
    """Read, decrypt when needed, and parse the rclone config at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"rclone config {path} not found",
                         hint="give its path: cloudsync config import PATH") from None
    except IsADirectoryError:
        raise UsageError(f"rclone config {path} is a directory") from None
    except UnicodeDecodeError:
        raise ConfigError(f"couldn't parse rclone config {path}: not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"couldn't read rclone config {path}: {exc.strerror or exc}") from None
    return parse_rclone_config(decrypt_config(text, password, path=str(path)), path=str(path))


# ------------------------------------------------------------------------------ mapping

#: rclone's jottacloud keys that cloudsync spells differently.
_JOTTA_RENAMES = {"configVersion": "config_version", "tokenURL": "token_url"}


@dataclass
class ImportPlan:
    """What importing one rclone remote does."""

    name: str
    rclone_type: str
    #: cloudsync type, or None when the remote is skipped
    type: str | None
    values: dict[str, str] = field(default_factory=dict)
    #: rclone keys with no cloudsync equivalent (dropped)
    dropped: list[str] = field(default_factory=list)
    #: why it is skipped (type is None)
    reason: str = ""


def _map_jottacloud(section: Mapping[str, str], known: set[str], plan: ImportPlan) -> None:
    values: dict[str, str] = {}
    for key, value in section.items():
        key = _JOTTA_RENAMES.get(key, key)
        if key not in known:
            plan.dropped.append(key)
        elif value != "":
            values[key] = value
    version = values.get("config_version", "")
    client_id = values.get("client_id", "")
    if version == "0":
        values["config_type"] = "legacy"
        if values.get("client_secret"):
            # rclone keeps the legacy device registration's secret obscured
            with contextlib.suppress(ValueError):
                values["client_secret"] = reveal(values["client_secret"])
    elif client_id in ("", "jottacli"):
        values["config_type"] = "standard"
    else:
        values["config_type"] = "traditional"
    plan.values = values


def plan_import(sections: Mapping[str, Mapping[str, str]], types: set[str],
                known_keys: Mapping[str, set[str]]) -> list[ImportPlan]:
    """One :class:`ImportPlan` per rclone remote.

    ``types`` are the backend types cloudsync has; ``known_keys`` maps each to its option
    names.  Keys are taken over where cloudsync has the same option; the rest are listed.
    """
    plans: list[ImportPlan] = []
    for name, section in sections.items():
        rtype = section.get("type", "")
        plan = ImportPlan(name, rtype, None)
        plans.append(plan)
        if not rtype:
            plan.reason = "no type"
            continue
        if rtype not in types:
            plan.reason = f"cloudsync has no {rtype} backend"
            continue
        plan.type = rtype
        known = known_keys.get(rtype, set())
        rest = {k: v for k, v in section.items() if k != "type"}
        if rtype == "jottacloud":
            _map_jottacloud(rest, known, plan)
            continue
        for key, value in rest.items():
            if key in known:
                plan.values[key] = value
            else:
                plan.dropped.append(key)
    return plans
