"""The white-label brands (protocol reference §2.4): one OIDC realm each on the fake server."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BRANDS", "DESKTOP_CLIENTS", "LOGIN_TOKEN_CLIENT", "REALMS", "Brand"]

LOGIN_TOKEN_CLIENT = "jottacli"
DESKTOP_CLIENTS = ("desktop", "desktop-win", "desktop-mac")


@dataclass(frozen=True)
class Brand:
    key: str
    name: str
    domain: str
    realm: str
    client_id: str
    scopes: str

    @property
    def strict(self) -> bool:
        """Phonero rejects client ``desktop`` and scope ``jotta-default`` (rclone 7e08899a2)."""
        return self.realm == "phonero"

    def allows_client(self, client_id: str) -> bool:
        if client_id == LOGIN_TOKEN_CLIENT:
            return True
        if self.strict and client_id == "desktop":
            return False
        return client_id in DESKTOP_CLIENTS


_DEFAULT = "openid jotta-default offline_access"
_SHORT = "openid offline_access"

BRANDS: tuple[Brand, ...] = (
    Brand("jottacloud", "Jottacloud", "id.jottacloud.com", "jottacloud", "desktop", _DEFAULT),
    Brand("elgiganten_dk", "Elgiganten Cloud (DK)", "cloud.elgiganten.dk", "elgiganten", "desktop", _DEFAULT),
    Brand("elgiganten_se", "Elgiganten Cloud (SE)", "cloud.elgiganten.se", "elgiganten", "desktop", _DEFAULT),
    Brand("elkjop", "Elkjøp Cloud (NO)", "cloud.elkjop.no", "elkjop", "desktop", _DEFAULT),
    Brand("elko", "ELKO Cloud (IS)", "cloud.elko.is", "elko", "desktop", _DEFAULT),
    Brand("gigantti", "Gigantti Cloud (FI)", "cloud.gigantti.fi", "gigantti", "desktop", _DEFAULT),
    Brand("letsgo", "Let's Go Cloud (DE)", "letsgo.jotta.cloud", "letsgo", "desktop-win", _SHORT),
    Brand("mediamarkt", "MediaMarkt Cloud", "mediamarkt.jottacloud.com", "mediamarkt", "desktop", _DEFAULT),
    Brand("onlime", "Onlime (DK)", "cloud-auth.onlime.dk", "onlime_wl", "desktop", _DEFAULT),
    Brand("phonero", "Phonero Sky (NO)", "sky.phonero.no", "phonero", "desktop-win", _SHORT),
    Brand("tele2", "Tele2 Cloud (SE)", "mittcloud-auth.tele2.se", "comhem", "desktop", _DEFAULT),
    Brand("telia_no", "Telia Sky (NO)", "sky-auth.telia.no", "get", "desktop", _DEFAULT),
    Brand("telia_se", "Telia Cloud (SE)", "cloud-auth.telia.se", "telia_se", "desktop", _DEFAULT),
)

# Several brands share a realm (the two Elgiganten sites); the realm is what the server serves.
REALMS: dict[str, Brand] = {}
for _b in BRANDS:
    REALMS.setdefault(_b.realm, _b)
