"""Tokens for the fake server: personal login tokens, OIDC grants, refresh rotation, legacy auth.

Only SHA-256 hashes of secrets are stored (in the same SQLite database as the files), so a
``--data`` directory survives a restart with every session intact and never holds a usable secret.

A *family* is one login session: the password / authorization-code / legacy grant that started it
and every refresh after.  Each refresh marks the presented refresh token ``used`` and issues a new
one; presenting a ``used`` one again kills the family (all its access and refresh tokens), which
is Jottacloud's documented reuse detection.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

from .brands import LOGIN_TOKEN_CLIENT, REALMS
from .store import Store
from .util import b64url, new_token

__all__ = [
    "LEGACY_CLIENT_ID",
    "LEGACY_REALM",
    "AuthService",
    "OAuthError",
    "Principal",
]

LEGACY_CLIENT_ID = "nibfk8biu12ju7hpqomr8b1e40"
LEGACY_REALM = "<legacy>"
AUTH_CODE_LIFETIME = 60.0
# Keycloak gives a plain (non-offline) session refresh token a 30-minute life.
ONLINE_REFRESH_LIFETIME = 1800


def _h(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class OAuthError(Exception):
    """An RFC 6749 error answer: HTTP status, ``error`` and ``error_description``."""

    def __init__(self, status: int, error: str, description: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description
        self.headers = headers or {}

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


@dataclass
class Principal:
    """Who an accepted access token belongs to."""

    family: str
    client_id: str
    realm: str
    scope: str


def _jwt(payload: dict[str, Any]) -> str:
    """A JWT-shaped opaque token (unsigned; clients must not need to verify it)."""
    header = {"alg": "RS256", "typ": "JWT", "kid": "jottaserver"}
    parts = [
        b64url(json.dumps(header, separators=(",", ":")).encode()),
        b64url(json.dumps(payload, separators=(",", ":")).encode()),
        b64url(secrets.token_bytes(32)),
    ]
    return ".".join(parts)


def returned_scope(requested: str) -> str:
    """Keycloak adds ``email``: ``openid offline_access`` comes back ``openid email offline_access``."""
    req = [s for s in requested.split() if s]
    head = [s for s in req if s == "openid"]
    rest = [s for s in req if s not in ("openid", "offline_access", "email")]
    tail = [s for s in req if s == "offline_access"]
    return " ".join([*head, *rest, "email", *tail])


class AuthService:
    def __init__(self, store: Store, *, access_token_lifetime: float = 3600.0) -> None:
        self.store = store
        self.access_token_lifetime = access_token_lifetime
        # Headless approval for the authorization-code flow (tests): remaining auto-approvals.
        self.pending_approvals = 0
        self.auto_approve = False
        # SMS one-time code for the legacy password grant; None = 2FA off.
        self.otp_code: str | None = None

    # ------------------------------------------------------------------ bookkeeping

    def _insert(self, secret: str, kind: str, *, family: str | None = None,
                client_id: str | None = None, realm: str | None = None,
                expires: float | None = None, scope: str | None = None,
                data: dict[str, Any] | None = None) -> None:
        with self.store.tx() as db:
            db.execute(
                "INSERT INTO tokens (hash, kind, family, client_id, realm, expires, status, scope, "
                "data, created) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (_h(secret), kind, family, client_id, realm, expires, "active", scope,
                 json.dumps(data or {}), time.time()),
            )

    def _get(self, secret: str, kind: str) -> dict[str, Any] | None:
        with self.store.tx() as db:
            row = db.execute(
                "SELECT * FROM tokens WHERE hash = ? AND kind = ?", (_h(secret), kind)
            ).fetchone()
            if row is None:
                return None
            out = dict(row)
            out["data"] = json.loads(out["data"] or "{}")
            return out

    def _set_status(self, secret: str, status: str) -> None:
        with self.store.tx() as db:
            db.execute("UPDATE tokens SET status = ? WHERE hash = ?", (status, _h(secret)))

    def _family_alive(self, family: str | None) -> bool:
        if family is None:
            return False
        with self.store.tx() as db:
            row = db.execute("SELECT alive FROM families WHERE id = ?", (family,)).fetchone()
            return bool(row and row["alive"])

    def kill_family(self, family: str) -> None:
        with self.store.tx() as db:
            db.execute("UPDATE families SET alive = 0 WHERE id = ?", (family,))
            db.execute("UPDATE tokens SET status = 'revoked' WHERE family = ?", (family,))

    def expire_access_tokens(self) -> int:
        """Make every access token issued so far expired (tests of refresh-on-401 paths)."""
        with self.store.tx() as db:
            cur = db.execute(
                "UPDATE tokens SET expires = ? WHERE kind = 'access' AND expires > ?",
                (time.time() - 1, time.time() - 1),
            )
            return cur.rowcount

    # ------------------------------------------------------------------ login tokens

    def mint_login_token(self, base_url: str, realm: str = "jottacloud") -> str:
        """A single-use personal login token: base64url (no padding) of the JSON rclone expects."""
        if realm not in REALMS:
            raise ValueError(f"unknown realm {realm!r}")
        secret = new_token(24)
        self._insert(secret, "login", realm=realm)
        payload = {
            "username": self.store.login_name,
            "realm": realm,
            "well_known_link": f"{base_url}/auth/realms/{realm}/.well-known/openid-configuration",
            "auth_token": secret,
        }
        raw = json.dumps(payload, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    # ------------------------------------------------------------------ issuing

    def _issue(self, *, family: str, client_id: str, realm: str, scope: str, issuer: str,
               legacy: bool = False) -> dict[str, Any]:
        now = time.time()
        lifetime = self.access_token_lifetime
        sub = self.store.username
        offline = "offline_access" in scope.split()
        access = _jwt({
            "exp": int(now + lifetime), "iat": int(now), "jti": str(uuid.uuid4()), "iss": issuer,
            "sub": sub, "typ": "Bearer", "azp": client_id, "session_state": family,
            "scope": scope, "preferred_username": self.store.login_name,
        })
        refresh = _jwt({
            "exp": 0 if offline else int(now + ONLINE_REFRESH_LIFETIME), "iat": int(now),
            "jti": str(uuid.uuid4()), "iss": issuer, "sub": sub,
            "typ": "Offline" if offline else "Refresh", "azp": client_id,
            "session_state": family, "scope": scope,
        })
        self._insert(access, "access", family=family, client_id=client_id, realm=realm,
                     expires=now + lifetime, scope=scope)
        self._insert(refresh, "refresh", family=family, client_id=client_id, realm=realm,
                     expires=None if offline else now + ONLINE_REFRESH_LIFETIME, scope=scope)
        if legacy:
            return {
                "access_token": access, "token_type": "bearer", "refresh_token": refresh,
                "expires_in": int(lifetime), "scope": scope,
            }
        return {
            "access_token": access,
            "expires_in": int(lifetime),
            "refresh_expires_in": 0 if offline else ONLINE_REFRESH_LIFETIME,
            "refresh_token": refresh,
            "token_type": "Bearer",
            "id_token": _jwt({"iss": issuer, "sub": sub, "aud": client_id, "iat": int(now),
                              "exp": int(now + lifetime), "email": self.email}),
            "not-before-policy": 0,
            "session_state": family,
            "scope": scope,
        }

    @property
    def email(self) -> str:
        return f"{self.store.login_name}@example.com"

    def _new_family(self, realm: str, client_id: str) -> str:
        family = str(uuid.uuid4())
        with self.store.tx() as db:
            db.execute(
                "INSERT INTO families (id, realm, client_id, alive, created) VALUES (?,?,?,1,?)",
                (family, realm, client_id, time.time()),
            )
        return family

    # ------------------------------------------------------------------ OIDC grants

    def password_grant(self, realm: str, client_id: str, username: str, password: str,
                       scope: str, issuer: str) -> dict[str, Any]:
        if client_id != LOGIN_TOKEN_CLIENT:
            raise OAuthError(400, "unauthorized_client", "Client not allowed for direct access grants")
        with self.store.lock:
            tok = self._get(password, "login")
            ok = (
                tok is not None and tok["status"] == "active" and tok["realm"] == realm
                and username.lower() == self.store.login_name.lower()
            )
            if not ok:
                # Keycloak answers failed direct grants with 401 + invalid_grant.
                raise OAuthError(401, "invalid_grant", "Invalid user credentials")
            self._set_status(password, "used")
            family = self._new_family(realm, client_id)
        return self._issue(family=family, client_id=client_id, realm=realm,
                           scope=returned_scope(scope or "openid"), issuer=issuer)

    def create_code(self, realm: str, client_id: str, redirect_uri: str, scope: str) -> str:
        code = new_token(24)
        self._insert(code, "code", client_id=client_id, realm=realm,
                     expires=time.time() + AUTH_CODE_LIFETIME, scope=scope,
                     data={"redirect_uri": redirect_uri})
        return code

    def take_approval(self) -> bool:
        """Consume one headless approval if a test armed one (or auto-approve is on)."""
        with self.store.lock:
            if self.auto_approve:
                return True
            if self.pending_approvals > 0:
                self.pending_approvals -= 1
                return True
            return False

    def code_grant(self, realm: str, client_id: str, code: str, redirect_uri: str,
                   issuer: str) -> dict[str, Any]:
        # The store lock (re-entrant) makes check-and-mark atomic against concurrent requests;
        # revocations run in their own transaction so the OAuthError raised after them cannot
        # roll them back.
        with self.store.lock:
            tok = self._get(code, "code")
            if tok is None or tok["realm"] != realm:
                raise OAuthError(400, "invalid_grant", "Code not valid")
            if tok["status"] != "active":
                # Replaying a code: Keycloak refuses and revokes what the first use issued.
                if tok["family"]:
                    self.kill_family(tok["family"])
                raise OAuthError(400, "invalid_grant", "Code not valid")
            if tok["expires"] is not None and tok["expires"] < time.time():
                raise OAuthError(400, "invalid_grant", "Code not valid")
            if tok["client_id"] != client_id:
                raise OAuthError(400, "invalid_grant", "Auth error")
            if tok["data"].get("redirect_uri") != redirect_uri:
                raise OAuthError(400, "invalid_grant", "Incorrect redirect_uri")
            family = self._new_family(realm, client_id)
            with self.store.tx() as db:
                db.execute("UPDATE tokens SET status = 'used', family = ? WHERE hash = ?",
                           (family, _h(code)))
            return self._issue(family=family, client_id=client_id, realm=realm,
                               scope=returned_scope(tok["scope"] or "openid"), issuer=issuer)

    def refresh_grant(self, realm: str, client_id: str, refresh_token: str, issuer: str,
                      *, legacy: bool = False) -> dict[str, Any]:
        with self.store.lock:
            tok = self._get(refresh_token, "refresh")
            if tok is None or tok["realm"] != realm:
                raise OAuthError(400, "invalid_grant", "Invalid refresh token")
            if tok["status"] == "used":
                self.kill_family(tok["family"])  # reuse detection: the whole family dies
                raise OAuthError(400, "invalid_grant", "Stale token")
            if tok["status"] != "active" or not self._family_alive(tok["family"]):
                raise OAuthError(400, "invalid_grant", "Session not active")
            if tok["expires"] is not None and tok["expires"] < time.time():
                raise OAuthError(400, "invalid_grant", "Token is not active")
            if tok["client_id"] != client_id:
                raise OAuthError(400, "invalid_grant", "Session doesn't have required client")
            self._set_status(refresh_token, "used")
            return self._issue(family=tok["family"], client_id=client_id, realm=realm,
                               scope=tok["scope"] or "", issuer=issuer, legacy=legacy)

    # ------------------------------------------------------------------ legacy

    def register_legacy_client(self, device_id: str) -> dict[str, str]:
        client_id = new_token(16)
        client_secret = new_token(24)
        self._insert(client_id, "legacy_client", client_id=client_id,
                     data={"secret": _h(client_secret), "device_id": device_id})
        return {"client_id": client_id, "client_secret": client_secret}

    def check_legacy_client(self, client_id: str, client_secret: str) -> bool:
        if client_id == LEGACY_CLIENT_ID:
            return True  # rclone's built-in client; its secret is not something a fake can check
        tok = self._get(client_id, "legacy_client")
        return tok is not None and secrets.compare_digest(tok["data"].get("secret", ""), _h(client_secret))

    def legacy_password_grant(self, client_id: str, username: str, password: str,
                              otp: str | None, issuer: str) -> dict[str, Any]:
        names = {self.store.login_name.lower(), self.email.lower()}
        if username.lower() not in names or not secrets.compare_digest(password, self.store.password):
            raise OAuthError(400, "invalid_grant", LEGACY_INVALID_GRANT)
        if self.otp_code is not None:
            if not otp:
                raise OAuthError(401, "invalid_grant", "Two-factor authentication required",
                                 headers={"X-JottaCloud-OTP": "required; SMS"})
            if otp.replace("-", "").strip() != self.otp_code:
                raise OAuthError(400, "invalid_grant", "Invalid one-time code")
        family = self._new_family(LEGACY_REALM, client_id)
        return self._issue(family=family, client_id=client_id, realm=LEGACY_REALM,
                           scope="offline_access", issuer=issuer, legacy=True)

    # ------------------------------------------------------------------ checking

    def check_access(self, token: str) -> Principal | None:
        """The principal behind a bearer token, or None if unknown, expired or revoked."""
        tok = self._get(token, "access")
        if tok is None or tok["status"] != "active":
            return None
        if tok["expires"] is not None and tok["expires"] < time.time():
            return None
        if not self._family_alive(tok["family"]):
            return None
        return Principal(tok["family"], tok["client_id"] or "", tok["realm"] or "", tok["scope"] or "")


LEGACY_INVALID_GRANT = (
    "The provided authorization grant (e.g., authorization code, resource owner credentials) or "
    "refresh token is invalid, expired, revoked, does not match the redirection URI used in the "
    "authorization request, or was issued to another client."
)
