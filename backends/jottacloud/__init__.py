"""JottaCloud backend (and its white-label brands: Telia, Tele2, Onlime, Elkjøp …).

``SPEC`` is the registration record found through the ``cloudsync.backends`` entry point.
Options are declared once here and drive the config wizard, ``--jottacloud-*`` flags,
``CLOUDSYNC_JOTTACLOUD_*`` environment variables and the docs.  Heavy modules (requests,
lxml) are imported only when a backend is actually built or configured.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cloudsync.history import HISTORY_OPTIONS
from cloudsync.options import BackendSpec, Option

from ._encoding import DEFAULT_ENCODING

if TYPE_CHECKING:
    from cloudsync.backend import Backend
    from cloudsync.options import ConfigAccess, Prompter

__all__ = ["OPTIONS", "SPEC"]

OPTIONS: tuple[Option, ...] = (
    Option(
        "device", "Device to use: Jotta (the built-in one holding Archive, Sync …) or a backup device.",
        default="Jotta",
    ),
    Option(
        "mountpoint", "Mountpoint on the device: Archive by default; backup devices have their own.",
        default="Archive",
    ),
    Option(
        "hard_delete", "Delete files permanently instead of moving them to the trash.",
        default=False, kind="bool", advanced=True,
    ),
    Option(
        "trashed_only", "Only show files that are in the trash (listing walks all folders).",
        default=False, kind="bool", advanced=True,
    ),
    Option(
        "no_versions",
        "Avoid server-side versioning by deleting a file before uploading its new version "
        "(if that upload fails, no copy is left).",
        default=False, kind="bool", advanced=True,
    ),
    Option(
        "md5_memory_limit",
        "Sources without a known md5 are buffered in memory up to this size to hash them "
        "before upload; larger ones go to a temporary file.",
        default=10 << 20, kind="size", advanced=True,
    ),
    Option(
        "upload_resume_limit",
        "Accepted for rclone compatibility (rclone declares but does not use it); uploads from "
        "re-readable sources are always resumed from where they stopped.",
        default=10 << 20, kind="size", advanced=True,
    ),
    Option(
        "encoding", "Characters to encode in names (rclone encoding flags).",
        default=DEFAULT_ENCODING, advanced=True,
    ),
    Option("jfs_url", "Override the JFS file API base URL (offline server, testing).", default="", advanced=True),
    Option("api_url", "Override the JSON API base URL (offline server, testing).", default="", advanced=True),
    Option(
        "auth_base_url",
        "Override the base URL of the identity provider used for brand logins (offline server, testing).",
        default="", advanced=True,
    ),
    Option("token_url", "Token endpoint (set from OpenID discovery at config time).", default="", advanced=True),
    Option("www_url", "Override the web host used to build public links.", default="", advanced=True),
    Option(
        "config_type", "How this remote logs in.", default="", hidden=True,
        examples=(
            ("standard", "Personal login token"),
            ("traditional", "Browser login (Jottacloud or a white-label brand)"),
            ("legacy", "Legacy username and password"),
        ),
    ),
    Option("config_version", "Config layout version (1 = OAuth, 0 = legacy).", default="", hidden=True),
    Option("service", "Brand used for the browser login.", default="", hidden=True),
    Option("client_id", "OAuth client id.", default="", hidden=True),
    Option("client_secret", "OAuth client secret (legacy device registration).", default="", secret=True, hidden=True),
    Option("token", "OAuth token (JSON).", default="", secret=True, hidden=True),
    Option(
        "login_token", "Personal login token (single use; exchanged for a token on first use).",
        default="", secret=True, hidden=True,
    ),
    Option("username", "Account e-mail (legacy login only).", default="", hidden=True),
    Option(
        "account",
        "Internal account name used in file URLs: looked up once (customer document) and cached "
        "here, so later runs need no lookup; cleared when the remote logs in again.",
        default="", hidden=True,
    ),
    Option(
        "auth_browser",
        "Browser login: true = open a browser here and catch the redirect on 127.0.0.1, "
        "false = print the URL and paste the redirected address (headless machines).",
        default="", hidden=True,
    ),
    Option(
        "create_missing", "Config time: create the device/mountpoint if it does not exist.",
        default="", hidden=True,
    ),
    Option("password", "Password (legacy login only; never stored).", default="", secret=True, hidden=True),
    Option(
        "otp", "Config time: the one-time SMS code, if the legacy login asks for one (never stored).",
        default="", secret=True, hidden=True,
    ),
    *HISTORY_OPTIONS,
)


def _factory(name: str, root: str, options: Mapping[str, Any], config: ConfigAccess | None) -> Backend:
    from cloudsync.history import wrap_history

    from .backend import JottaBackend, JottaOptions

    return wrap_history(JottaBackend(name, root, JottaOptions.from_mapping(options), config), options)


def _configure(prompter: Prompter, current: Mapping[str, str]) -> dict[str, str]:
    from ._config import configure

    return configure(prompter, current)


SPEC = BackendSpec(
    name="jottacloud",
    description="JottaCloud (also Telia Cloud/Sky, Tele2, Onlime, Elkjøp and other white-label brands)",
    factory=_factory,
    options=OPTIONS,
    configure=_configure,
)
