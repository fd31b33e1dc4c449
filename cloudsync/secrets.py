"""Where secret option values (passwords, OAuth tokens) live.

Options declared with ``secret=True`` go to the system keyring – service ``"cloudsync"``,
username ``"<remote>:<key>"`` – but only when a real, secure keyring backend is active.  The
config section then records ``<key>_store = keyring`` instead of the value.

"Real" excludes keyring's ``fail`` and ``null`` backends, a chainer with nothing secure behind
it, and the ``keyrings.alt`` file backends (which write the secret to disk base64-encoded, i.e.
in plain text, and silently become the default when that package is installed).  Without a
real keyring the secret stays in the config file, which is always written mode 0600, and the
user is told so once per remote – never a silent plaintext "keyring".

``keyring`` is imported lazily: it is slow to import and probes D-Bus.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from .errors import SecretStoreError
from .log import notice

__all__ = [
    "KEYRING_SERVICE",
    "STORE_SUFFIX",
    "SecretStore",
    "keyring_is_secure",
    "state_dir",
]

log = logging.getLogger(__name__)

KEYRING_SERVICE = "cloudsync"
#: A section key ``<secret>_store = keyring`` says the secret lives in the keyring.
STORE_SUFFIX = "_store"
KEYRING = "keyring"

_HINT = (
    "set PYTHON_KEYRING_BACKEND to a working backend, or provide the value with "
    "CLOUDSYNC_CONFIG_<REMOTE>_<KEY>"
)


def state_dir() -> Path:
    """Per-user state directory (locks, one-time notices)."""
    import platformdirs

    return Path(platformdirs.user_state_dir("cloudsync", appauthor=False))


def _is_secure_backend(backend: Any) -> bool:
    module = type(backend).__module__
    if module.startswith("keyrings.alt"):
        return False  # plaintext/"encrypted" files on disk: no better than our 0600 config
    if module in ("keyring.backends.fail", "keyring.backends.null"):
        return False
    if module == "keyring.backends.chainer":
        return any(_is_secure_backend(b) for b in type(backend).backends)
    return True


def keyring_is_secure() -> bool:
    """True when the active keyring backend really protects secrets."""
    try:
        import keyring
    except ImportError:  # pragma: no cover - keyring is a hard dependency
        return False
    try:
        return _is_secure_backend(keyring.get_keyring())
    except Exception:  # a broken keyring configuration counts as "none"
        log.debug("keyring probe failed", exc_info=True)
        return False


class SecretStore:
    """Save, load and delete secret values for one config file.

    ``use_keyring`` None probes the keyring on first use; True/False forces the choice (tests,
    ``--no-keyring`` style switches).
    """

    def __init__(self, use_keyring: bool | None = None, config_path: Path | None = None):
        self._use_keyring = use_keyring
        self._config_path = config_path

    @property
    def uses_keyring(self) -> bool:
        if self._use_keyring is None:
            self._use_keyring = keyring_is_secure()
        return self._use_keyring

    @staticmethod
    def _username(remote: str, key: str) -> str:
        return f"{remote}:{key}"

    def save(self, remote: str, key: str, value: str) -> str:
        """Store a secret; returns where it went: ``"keyring"`` or ``"config"``.

        For ``"config"`` the caller writes the value into the (0600) section itself.
        """
        if not self.uses_keyring:
            self._notify_plaintext(remote)
            return "config"
        import keyring
        from keyring.errors import KeyringError

        try:
            keyring.set_password(KEYRING_SERVICE, self._username(remote, key), value)
        except KeyringError as exc:
            raise SecretStoreError(
                f"couldn't store {key!r} of remote {remote!r} in the system keyring: {exc}",
                hint=_HINT,
            ) from None
        return KEYRING

    def load(self, remote: str, key: str) -> str | None:
        """The secret stored in the keyring (None when absent)."""
        try:
            import keyring
            from keyring.errors import KeyringError
        except ImportError:  # pragma: no cover
            raise SecretStoreError("the keyring package is not installed", hint=_HINT) from None
        try:
            return keyring.get_password(KEYRING_SERVICE, self._username(remote, key))
        except KeyringError as exc:
            raise SecretStoreError(
                f"remote {remote!r} keeps {key!r} in the system keyring, which is unavailable: {exc}",
                hint=_HINT,
            ) from None

    def delete(self, remote: str, key: str) -> None:
        """Forget a keyring secret; missing entries and an absent keyring are fine."""
        try:
            import keyring
            from keyring.errors import KeyringError, PasswordDeleteError
        except ImportError:  # pragma: no cover
            return
        try:
            keyring.delete_password(KEYRING_SERVICE, self._username(remote, key))
        except PasswordDeleteError:
            pass
        except KeyringError as exc:
            log.warning("couldn't delete %s of %s from the keyring: %s", key, remote, exc)

    def _notify_plaintext(self, remote: str) -> None:
        """Tell the user once per (config file, remote) that a secret is kept in the file."""
        where = str(self._config_path) if self._config_path else "<memory>"
        import hashlib  # lazily: start-up need not load OpenSSL for this rare notice

        tag = hashlib.sha256(f"{where}\0{remote}".encode()).hexdigest()[:20]
        marker = state_dir() / "notices" / f"plaintext-secret-{tag}"
        if marker.exists():
            return
        notice(
            log,
            "No secure system keyring found: secrets of remote %r are stored in the config file "
            "%s (readable only by you, mode 0600). Install and unlock a keyring (Secret Service, "
            "KWallet, macOS Keychain, Windows Credential Locker) to keep them out of the file.",
            remote,
            where,
        )
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(f"{where}\n{remote}\n")
            os.chmod(marker, 0o600)
        except OSError:  # cannot remember: telling the user again later is the safe failure
            log.debug("couldn't write notice marker %s", marker, exc_info=True)
