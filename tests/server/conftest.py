"""Fixtures for the fake JottaCloud server's own tests (plain ``requests``, no backend code)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from lxml import etree

from cloudsync.jottaserver.testing import JottaServer

PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def xml(resp: requests.Response) -> etree._Element:
    return etree.fromstring(resp.content, PARSER)


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def decode_login_token(token: str) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    return out


class Client:
    """A tiny authenticated client: what a test needs to talk to the server over HTTP."""

    def __init__(self, srv: JottaServer) -> None:
        self.srv = srv
        self.http = requests.Session()
        self.tokens = self.login()
        self.user = self.get_api("account/v1/customer").json()["username"]

    def login(self, realm: str = "jottacloud") -> dict[str, Any]:
        login = decode_login_token(self.srv.mint_login_token(realm))
        wk = self.http.get(login["well_known_link"]).json()
        r = self.http.post(wk["token_endpoint"], data={
            "client_id": "jottacli", "grant_type": "password", "password": login["auth_token"],
            "scope": "openid offline_access", "username": login["username"],
        })
        assert r.status_code == 200, r.text
        tokens: dict[str, Any] = r.json()
        self.http.headers["Authorization"] = f"Bearer {tokens['access_token']}"
        return tokens

    def url(self, path: str = "") -> str:
        return f"{self.srv.jfs_url}{self.user}/{path}".rstrip("/")

    def get(self, path: str = "", **kw: Any) -> requests.Response:
        return self.http.get(self.url(path), **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.http.post(self.url(path), **kw)

    def get_api(self, path: str, **kw: Any) -> requests.Response:
        return self.http.get(self.srv.api_url + path, **kw)

    def post_api(self, path: str, **kw: Any) -> requests.Response:
        return self.http.post(self.srv.api_url + path, **kw)

    def allocate(self, path: str, data: bytes, **extra: Any) -> dict[str, Any]:
        body = {"bytes": len(data), "md5": md5(data), "path": path,
                "created": "2024-03-04T08:09:10Z", "modified": "2024-03-04T08:09:10Z", **extra}
        r = self.post_api("files/v1/allocate", json=body)
        assert r.status_code == 200, r.text
        out: dict[str, Any] = r.json()
        return out

    def upload(self, path: str, data: bytes, **extra: Any) -> dict[str, Any]:
        """Allocate + upload; ``path`` like ``/jfs/Jotta/Archive/x``."""
        alloc = self.allocate(path, data, **extra)
        if alloc["state"] != "COMPLETED":
            r = self.http.post(alloc["upload_url"], data=data[alloc["resume_pos"]:],
                               headers={"Content-Type": "application/octet-stream"})
            assert r.status_code == 201, r.text
        return alloc


@pytest.fixture
def srv() -> Iterator[JottaServer]:
    with JottaServer(user="testuser") as server:
        yield server


@pytest.fixture
def client(srv: JottaServer) -> Client:
    return Client(srv)
