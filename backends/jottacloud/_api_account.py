"""JottaCloud account and login documents: user, devices, customer, tokens to log in with.

Split from :mod:`._api` because only ``config``, a login, ``about`` and the device commands
parse them, while every start of a transfer imports ``_api``: each frozen dataclass costs
about half a millisecond to define.  ``_api`` still offers these names (resolved on first
use), so callers write ``_api.JottaUser`` as before.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cloudsync.errors import ConfigError

from ._api import _bool, _child, _i, _int, _s, _text, parse_jfs_time

if TYPE_CHECKING:
    from lxml import etree

__all__ = [
    "CustomerInfo",
    "DeviceSummary",
    "JottaDevice",
    "JottaUser",
    "LegacyClient",
    "LoginToken",
    "MountPointSummary",
    "PurgeTrashResponse",
    "WellKnown",
    "decode_login_token",
]


@dataclass(frozen=True, slots=True)
class MountPointSummary:
    name: str
    size: int | None
    modified_ns: int | None
    deleted: bool

    @classmethod
    def from_xml(cls, el: etree._Element) -> MountPointSummary:
        return cls(
            name=(_text(el, "name") or "").strip(),
            size=_int(el, "size"),
            modified_ns=parse_jfs_time(_text(el, "modified")),
            deleted=_child(el, "deleted") is not None or el.get("deleted") is not None,
        )


@dataclass(frozen=True, slots=True)
class DeviceSummary:
    name: str
    display_name: str
    type: str
    size: int | None

    @classmethod
    def from_xml(cls, el: etree._Element) -> DeviceSummary:
        name = (_text(el, "name") or "").strip()
        return cls(
            name=name,
            display_name=(_text(el, "display_name") or "").strip() or name,
            type=(_text(el, "type") or "").strip(),
            size=_int(el, "size"),
        )


@dataclass(frozen=True, slots=True)
class JottaDevice:
    name: str
    display_name: str
    type: str
    user: str
    mountpoints: tuple[MountPointSummary, ...]

    @classmethod
    def from_xml(cls, el: etree._Element) -> JottaDevice:
        mps = _child(el, "mountPoints")
        name = (_text(el, "name") or "").strip()
        return cls(
            name=name,
            display_name=(_text(el, "display_name") or "").strip() or name,
            type=(_text(el, "type") or "").strip(),
            user=(_text(el, "user") or "").strip(),
            mountpoints=tuple(MountPointSummary.from_xml(m) for m in mps.findall("mountPoint"))
            if mps is not None
            else (),
        )


@dataclass(frozen=True, slots=True)
class JottaUser:
    """``GET jfs/<user>``: account, quota and devices.  ``capacity`` -1 means unlimited."""

    username: str
    account_type: str
    capacity: int | None
    usage: int | None
    locked: bool
    read_locked: bool
    write_locked: bool
    quota_write_locked: bool
    devices: tuple[DeviceSummary, ...]

    @classmethod
    def from_xml(cls, el: etree._Element) -> JottaUser:
        devs = _child(el, "devices")
        return cls(
            username=(_text(el, "username") or "").strip(),
            account_type=(_text(el, "account-type") or "").strip(),
            capacity=_int(el, "capacity"),
            usage=_int(el, "usage"),
            locked=_bool(el, "locked"),
            read_locked=_bool(el, "read-locked"),
            write_locked=_bool(el, "write-locked"),
            quota_write_locked=_bool(el, "quota-write-locked"),
            devices=tuple(DeviceSummary.from_xml(d) for d in devs.findall("device"))
            if devs is not None
            else (),
        )

    @property
    def unlimited(self) -> bool:
        return self.capacity is not None and self.capacity < 0


@dataclass(frozen=True, slots=True)
class LoginToken:
    """The decoded personal login token (single use)."""

    username: str
    realm: str
    well_known_link: str
    auth_token: str

    def __repr__(self) -> str:  # never show the one-time secret
        return f"LoginToken(username={self.username!r}, realm={self.realm!r}, auth_token=<redacted>)"


def decode_login_token(text: str) -> LoginToken:
    """Decode a personal login token: base64url (padding optional) of a JSON object.

    ConfigError with one clear line when it is not one; nothing of the token is echoed.
    """
    raw = "".join(text.split())
    if not raw:
        raise ConfigError("the personal login token is empty")
    try:
        decoded = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        value = json.loads(decoded)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ConfigError(
            "that is not a JottaCloud personal login token (expected base64-encoded JSON); "
            "copy the whole token from the web page's 'Personal login token' section"
        ) from None
    if not isinstance(value, dict):
        raise ConfigError("that is not a JottaCloud personal login token (not a JSON object)")
    missing = [k for k in ("username", "realm", "well_known_link", "auth_token") if not isinstance(value.get(k), str) or not value.get(k)]
    if missing:
        raise ConfigError(f"the personal login token lacks field(s): {', '.join(missing)}")
    return LoginToken(
        username=value["username"],
        realm=value["realm"],
        well_known_link=value["well_known_link"],
        auth_token=value["auth_token"],
    )


@dataclass(frozen=True, slots=True)
class WellKnown:
    """The parts of an OIDC discovery document we use."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    #: PKCE methods the issuer advertises (Keycloak: ``plain``, ``S256``); empty when absent.
    code_challenge_methods: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> WellKnown:
        what = "OpenID discovery document"
        methods = d.get("code_challenge_methods_supported")
        return cls(
            issuer=_s(d, "issuer", what, required=False),
            authorization_endpoint=_s(d, "authorization_endpoint", what, required=False),
            token_endpoint=_s(d, "token_endpoint", what),
            code_challenge_methods=tuple(m for m in methods if isinstance(m, str))
            if isinstance(methods, list) else (),
        )


@dataclass(frozen=True, slots=True)
class CustomerInfo:
    username: str
    email: str
    name: str
    account_type: str
    subscription_type: str
    usage: int | None
    quota: int | None

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> CustomerInfo:
        what = "customer info"
        usage = d.get("usage")
        quota = d.get("quota")
        return cls(
            username=_s(d, "username", what),
            email=_s(d, "email", what, required=False),
            name=_s(d, "name", what, required=False),
            account_type=_s(d, "account_type", what, required=False),
            subscription_type=_s(d, "subscription_type", what, required=False),
            usage=usage if isinstance(usage, int) else None,
            quota=quota if isinstance(quota, int) else None,
        )


@dataclass(frozen=True, slots=True)
class PurgeTrashResponse:
    folders: int
    files: int

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> PurgeTrashResponse:
        what = "purge_trash response"
        return cls(folders=_i(d, "folders", what, default=0), files=_i(d, "files", what, default=0))


@dataclass(frozen=True, slots=True)
class LegacyClient:
    """``auth/v1/register`` answer: a machine-specific OAuth client."""

    client_id: str
    client_secret: str

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> LegacyClient:
        what = "device registration"
        return cls(_s(d, "client_id", what), _s(d, "client_secret", what))

    def __repr__(self) -> str:
        return f"LegacyClient(client_id={self.client_id!r}, client_secret=<redacted>)"
