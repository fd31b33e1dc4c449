"""The interactive (and scriptable) config flow: auth type → login → device → mountpoint.

Every question has a key in ``current`` that answers it without prompting, so
``cloudsync config create NAME jottacloud login_token=… device=Jotta mountpoint=Archive``
runs the same code without a terminal:

=================  ==========================================================
``config_type``    ``standard`` | ``traditional`` | ``legacy``
``login_token``    standard: the personal login token
``service``        traditional: brand key (``jottacloud``, ``telia_se`` …)
``auth_browser``   traditional: ``true`` = local browser + listener, ``false`` = paste
``username``       legacy: e-mail;  ``password``: legacy password (never stored)
``otp``            legacy: the SMS code, when the server asks for one (never stored)
``device``         device name (created when missing and ``create_missing=true``)
``mountpoint``     mountpoint name
=================  ==========================================================

Endpoint overrides (``jfs_url``, ``api_url``, ``auth_base_url``, ``www_url``) come from
``current`` or the ``CLOUDSYNC_JOTTACLOUD_*`` environment and are stored with the remote.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from cloudsync.errors import ConfigError
from cloudsync.options import parse_bool

from . import _auth
from ._api import StoredToken, decode_login_token
from ._http import DEFAULT_API_URL, JottaHttp

if TYPE_CHECKING:
    from cloudsync.options import Prompter

    from .backend import JottaBackend

__all__ = ["browser_login", "configure"]

_ENDPOINT_KEYS = ("jfs_url", "api_url", "auth_base_url", "www_url")
# Mountpoints of the built-in device that are views, not places to store files.
_SPECIAL_MOUNTPOINTS = {"trash", "links", "latest", "shared"}


def _setting(current: Mapping[str, str], key: str) -> str:
    value = current.get(key)
    if value:
        return value
    return os.environ.get(f"CLOUDSYNC_JOTTACLOUD_{key.upper()}", "")


def configure(prompter: Prompter, current: Mapping[str, str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for key in _ENDPOINT_KEYS:
        value = _setting(current, key)
        if value:
            values[key] = value
    api_url = values.get("api_url") or DEFAULT_API_URL
    flows = _auth.AuthFlows(JottaHttp(low_level_retries=3), api_url)

    config_type = current.get("config_type") or prompter.choose(
        "Authentication type",
        [
            ("standard", "Personal login token – generate one in the web UI under Settings → Security (recommended)"),
            ("traditional", "Log in with a browser – Jottacloud or a white-label brand (Telia, Tele2, Onlime, Elkjøp …)"),
            ("legacy", "Legacy username and password (only for services that still support it)"),
        ],
        default="standard",
    )
    if config_type == "standard":
        text = current.get("login_token") or prompter.prompt(
            "Personal login token (from https://www.jottacloud.com/web/secure or your brand's equivalent)",
            secret=True,
        )
        wk, token = flows.login_token_grant(decode_login_token(text))
        values.update(
            config_type="standard", config_version="1", client_id=_auth.STANDARD_CLIENT_ID,
            token_url=wk.token_endpoint, token=token.to_json(), login_token="",
        )
    elif config_type == "traditional":
        key = current.get("service") or prompter.choose(
            "Service", [(s.key, s.name) for s in _auth.SERVICES], default="jottacloud"
        )
        svc = _auth.service(key)
        wk = flows.discover(svc.discovery_url(values.get("auth_base_url", "")))
        token = browser_login(prompter, flows, wk, svc, current)
        values.update(
            config_type="traditional", config_version="1", service=svc.key, client_id=svc.client_id,
            token_url=wk.token_endpoint, token=token.to_json(),
        )
    elif config_type == "legacy":
        client = flows.legacy_register()
        username = current.get("username") or prompter.prompt("Username (e-mail address)")
        password = current.get("password") or prompter.prompt("Password", secret=True)
        token = flows.legacy_password_grant(
            client, username, password,
            ask_otp=lambda: current.get("otp") or prompter.prompt("Enter the one-time code JottaCloud sent by SMS"),
        )
        values.update(
            config_type="legacy", config_version="0", client_id=client.client_id,
            client_secret=client.client_secret, username=username, password="",
            token_url=flows.legacy_token_url, token=token.to_json(),
        )
    else:
        raise ConfigError(f"unknown jottacloud config_type {config_type!r}", hint="standard, traditional or legacy")

    # A new login may be another account: never reuse the cached account name.
    backend = _backend({**current, **values, "account": ""})
    try:
        device, mountpoint = _choose_device(prompter, backend, current)
        values["device"], values["mountpoint"] = device, mountpoint
        # The wizard's own requests may have refreshed the token: keep the newest one.
        values["token"] = backend.tokens.token.to_json()
        # Cache what the wizard looked up (or clear it: the first run will look it up).
        values["account"] = backend.known_account
    finally:
        backend.close()
    return values


def _backend(values: Mapping[str, str]) -> JottaBackend:
    from . import SPEC
    from .backend import JottaBackend, JottaOptions

    parsed = SPEC.parse_options({k: v for k, v in values.items() if k not in ("device", "mountpoint")})
    return JottaBackend("config", "", JottaOptions.from_mapping(parsed), None)


def browser_login(
    prompter: Prompter,
    flows: _auth.AuthFlows,
    wk: object,
    svc: _auth.Service,
    current: Mapping[str, str],
) -> StoredToken:
    """Authorization-code login: local redirect listener, or paste the redirected URL."""
    from ._api import WellKnown

    assert isinstance(wk, WellKnown)
    import secrets  # (a login only: not on every start)

    state = secrets.token_urlsafe(24)
    choice = current.get("auth_browser")
    use_listener = parse_bool(choice) if choice else prompter.confirm(
        "Use a web browser on this machine to log in? (say no on a machine without one)", default=True
    )
    listener: _auth.RedirectListener | None = None
    if use_listener:
        try:
            listener = _auth.RedirectListener(state, _auth.REDIRECT_PORT)
        except OSError as exc:
            prompter.echo(f"Cannot listen on 127.0.0.1:{_auth.REDIRECT_PORT} ({exc}); paste the URL instead.")
    if listener is not None:
        try:
            flow = flows.code_flow(wk, svc, listener.redirect_uri, state)
            prompter.echo(f"Log in to {svc.name} in your browser. If it does not open, visit:\n{flow.url}")
            open_browser(flow.url)
            code = _auth.listener_result_code(listener.wait(_auth.AUTH_CODE_TIMEOUT))
        finally:
            listener.close()
    else:
        port = _auth.REDIRECT_PORT or 53682
        redirect_uri = f"http://{_auth.REDIRECT_HOST}:{port}/"
        flow = flows.code_flow(wk, svc, redirect_uri, state)
        prompter.echo(
            f"Open this URL in a browser on any machine and log in to {svc.name}:\n{flow.url}\n"
            f"The browser then goes to {redirect_uri}… and shows an error page – that is expected. "
            "Copy the full address of that page."
        )
        code = _auth.parse_redirect(prompter.prompt("Paste the address here"), state)
    return flow.exchange(code)


def open_browser(url: str) -> None:
    """Open ``url`` in the user's browser (tests replace this)."""
    import webbrowser

    with contextlib.suppress(webbrowser.Error):
        webbrowser.open(url)


def _match(name: str, names: list[str]) -> str | None:
    # Device and mountpoint names are case-insensitive on the server; keep its casing.
    for existing in names:
        if existing.casefold() == name.casefold():
            return existing
    return None


def _choose_device(prompter: Prompter, backend: JottaBackend, current: Mapping[str, str]) -> tuple[str, str]:
    create = parse_bool(current.get("create_missing", "false"))
    if current.get("device") or current.get("mountpoint"):
        device = current.get("device") or "Jotta"
        mountpoint = current.get("mountpoint") or "Archive"
        return _resolve(backend, device, mountpoint, create)
    if not prompter.confirm(
        "Use a non-standard device/mountpoint (a backup device, or Sync instead of Archive)?", default=False
    ):
        return "Jotta", "Archive"
    devices = backend.list_devices()
    names = [d.name for d in devices]
    choices = [(d.name, f"{d.display_name} ({d.type or 'device'})") for d in devices]
    choices.append(("+", "Create a new backup device"))
    device = prompter.choose("Device", choices, default="Jotta" if "Jotta" in names else None)
    if device == "+":
        device = prompter.prompt("Name of the new device").strip()
        if not device:
            raise ConfigError("device name must not be empty")
        existing = _match(device, names)
        if existing is None:
            backend.create_device(device)
        else:
            device = existing
    info = backend.device_info(device)
    mps = [m.name for m in info.mountpoints if not m.deleted and m.name.casefold() not in _SPECIAL_MOUNTPOINTS]
    mp_choices = [(m, m) for m in mps]
    builtin = device.casefold() == "jotta"
    if not builtin:
        mp_choices.append(("+", "Create a new mountpoint"))
    mountpoint = prompter.choose("Mountpoint", mp_choices, default="Archive" if "Archive" in mps else None)
    if mountpoint == "+":
        mountpoint = prompter.prompt("Name of the new mountpoint").strip()
        if not mountpoint:
            raise ConfigError("mountpoint name must not be empty")
        existing_mp = _match(mountpoint, mps)
        if existing_mp is None:
            backend.create_mountpoint(device, mountpoint)
        else:
            mountpoint = existing_mp
    return device, mountpoint


def _resolve(backend: JottaBackend, device: str, mountpoint: str, create: bool) -> tuple[str, str]:
    """Check (case-insensitively) that ``device/mountpoint`` exist; create them when asked."""
    names = [d.name for d in backend.list_devices()]
    existing = _match(device, names)
    if existing is None:
        if not create:
            raise ConfigError(
                f'JottaCloud has no device "{device}"',
                hint="known devices: " + ", ".join(names) + "; add create_missing=true to create it",
            )
        backend.create_device(device)
        existing = device
    device = existing
    mps = [m.name for m in backend.device_info(device).mountpoints if not m.deleted]
    existing_mp = _match(mountpoint, mps)
    if existing_mp is None:
        if not create or device.casefold() == "jotta":
            raise ConfigError(
                f'JottaCloud device "{device}" has no mountpoint "{mountpoint}"',
                hint="known mountpoints: " + ", ".join(mps)
                + ("" if device.casefold() == "jotta" else "; add create_missing=true to create it"),
            )
        backend.create_mountpoint(device, mountpoint)
        existing_mp = mountpoint
    return device, existing_mp
