#!/usr/bin/env python3
"""End-to-end walk through the fake JottaCloud server with plain ``requests`` (no cloudsync client).

Starts ``python -m cloudsync.jottaserver --data <tmp>`` (or uses ``--base-url`` of a running one
with ``--data``), then for each of the three auth flows – personal login token (standard),
authorization code (traditional) and legacy username/password with SMS code – logs in and walks:

    customer → create folder → allocate → upload → list → liststream → download with Range
    → trash → trash view → cleanup (purge_trash) → about (GET jfs/<user>)

Exit status 0 means every step answered what the protocol reference says.  Run it directly:
``python tests/server/walkthrough.py``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import subprocess
import sys
import tempfile
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from lxml import etree

PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
OTP = "246810"
REDIRECT = "http://localhost:53682/"


def step(msg: str) -> None:
    print(f"  ok  {msg}", flush=True)


def check(cond: bool, what: str) -> None:
    if not cond:
        raise SystemExit(f"FAILED: {what}")


def doc(resp: requests.Response) -> Any:
    check(resp.headers.get("Content-Type", "").startswith("text/xml"), f"XML from {resp.url}")
    return etree.fromstring(resp.content, PARSER)


class ServerProcess:
    def __init__(self, data_dir: str) -> None:
        self.data_dir = data_dir
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cloudsync.jottaserver", "--data", data_dir, "--user", "walker",
             "--password", "walk-pass", "--otp", OTP, "--token-lifetime", "600"],
            stdout=subprocess.PIPE, text=True)
        self.info: dict[str, str] = {}
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            m = re.match(r"^(\w+)=(.*)$", line.strip())
            if m:
                self.info[m.group(1)] = m.group(2)
            if "login_token" in self.info:
                break
        check("base_url" in self.info, "server started")

    def stop(self) -> None:
        self.proc.terminate()
        check(self.proc.wait(timeout=10) == 0, "server stopped cleanly")


def mint_login_token(data_dir: str) -> str:
    out = subprocess.run([sys.executable, "-m", "cloudsync.jottaserver", "--data", data_dir,
                          "--print-token"], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def walk(http: requests.Session, api: str, jfs: str, tag: str) -> None:
    """The file walk every flow must pass, with an authenticated session."""
    cust = http.get(api + "account/v1/customer")
    check(cust.status_code == 200, "customer")
    user = cust.json()["username"]
    step(f"customer → internal username {user}")
    base = f"{jfs}{user}/Jotta/Archive"
    folder = f"walk-{tag}"
    r = http.post(f"{base}/{folder}/sub", params={"mkDir": "true"})
    check(r.status_code == 200 and doc(r).tag == "folder", "mkDir")
    step("create folder")
    data = tag.encode().ljust(16, b".") + bytes(range(256)) * 40  # unique per flow: no dedupe
    md5 = hashlib.md5(data).hexdigest()
    r = http.post(api + "files/v1/allocate", json={
        "bytes": len(data), "md5": md5, "path": f"/jfs/Jotta/Archive/{folder}/sub/data.bin",
        "created": "2024-03-04T08:09:10Z", "modified": "2024-03-04T08:09:10Z"})
    alloc = r.json()
    check(r.status_code == 200 and alloc["state"] == "INCOMPLETE" and alloc["resume_pos"] == 0,
          "allocate")
    step("allocate")
    r = http.post(alloc["upload_url"], data=data, headers={"Content-Type": "application/octet-stream"})
    check(r.status_code == 201 and r.json()["md5"] == md5, "upload")
    step("upload")
    again = http.post(api + "files/v1/allocate", json={
        "bytes": len(data), "md5": md5, "path": f"/jfs/Jotta/Archive/{folder}/copy.bin"}).json()
    check(again["state"] == "COMPLETED", "dedupe allocate")
    step("allocate of known content → COMPLETED")
    listing = doc(http.get(f"{base}/{folder}/sub"))
    entry = listing.find("files/file")
    check(entry is not None and entry.get("name") == "data.bin", "listing has the file")
    check(entry.findtext("currentRevision/state") == "COMPLETED", "COMPLETED revision")
    check(entry.findtext("currentRevision/md5") == md5, "md5 in listing")
    step("list")
    ls = doc(http.get(f"{base}/{folder}", params={"mode": "liststream"}))
    files = ls.findall("file")
    folders = ls.findall("folder")
    check(ls.findtext("stats/files") == str(len(files)) == "2", "liststream file count")
    check(ls.findtext("stats/folders") == str(len(folders)) == "2", "liststream folder count")
    step("liststream")
    r = http.get(f"{base}/{folder}/sub/data.bin", params={"mode": "bin"},
                 headers={"Range": "bytes=100-199"})
    check(r.status_code == 206 and r.content == data[100:200], "ranged download")
    step("download with Range")
    r = http.post(f"{base}/{folder}/sub/data.bin", params={"dl": "true"})
    check(r.status_code == 200 and doc(r).get("deleted") is not None, "trash")
    tomb = doc(http.get(f"{base}/{folder}/sub")).find("files/file")
    check(tomb is not None and tomb.get("deleted") is not None, "tombstone in listing")
    step("trash")
    trash = doc(http.get(f"{jfs}{user}/Jotta/Trash"))
    names = [f.get("name") for f in trash.iterfind("files/file")]
    check("data.bin" in names, "trash view lists the file")
    step("trash view")
    r = http.post(api + "files/v1/purge_trash")
    check(r.status_code == 200 and r.json()["files"] >= 1, "purge_trash")
    r = http.get(f"{base}/{folder}/sub/data.bin")
    check(r.status_code == 404 and doc(r).findtext("code") == "404", "purged file is gone")
    step("cleanup")
    about = doc(http.get(f"{jfs}{user}"))
    check(about.tag == "user" and about.findtext("capacity") == "-1", "about")
    check(int(about.findtext("usage")) >= len(data), "usage counts the dedupe copy")
    step("about")


def standard(info: dict[str, str], data_dir: str) -> requests.Session:
    print("standard flow (personal login token)")
    token = mint_login_token(data_dir)
    login = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    step("mint login token")
    wk = requests.get(login["well_known_link"]).json()
    check("token_endpoint" in wk, "discovery")
    step("discovery")
    r = requests.post(wk["token_endpoint"], data={
        "client_id": "jottacli", "grant_type": "password", "password": login["auth_token"],
        "scope": "openid offline_access", "username": login["username"]})
    check(r.status_code == 200 and r.json()["scope"] == "openid email offline_access", "password grant")
    step("password grant")
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    walk(http, info["api_url"], info["jfs_url"], "standard")
    return http


def authorization_code(info: dict[str, str]) -> None:
    print("authorization-code flow (traditional, Telia SE)")
    realm_wk = info["well_known_url"].replace("/realms/jottacloud/", "/realms/telia_se/")
    wk = requests.get(realm_wk).json()
    step("discovery")
    params = {"access_type": "offline", "client_id": "desktop", "redirect_uri": REDIRECT,
              "response_type": "code", "scope": "openid jotta-default offline_access",
              "state": "walk-state"}
    page = requests.get(wk["authorization_endpoint"], params=params, allow_redirects=False)
    check(page.status_code == 200 and "<form" in page.text, "login page")
    r = requests.post(wk["authorization_endpoint"], allow_redirects=False,
                      data={**params, "username": info["login_name"], "password": info["password"]})
    check(r.status_code == 302, "login redirects back")
    q = parse_qs(urlsplit(r.headers["Location"]).query)
    check(q["state"] == ["walk-state"], "state round-trips")
    step("authorize (login form) → redirect with code")
    basic = base64.b64encode(b"desktop:").decode()
    tok = requests.post(wk["token_endpoint"], headers={"Authorization": f"Basic {basic}"}, data={
        "grant_type": "authorization_code", "code": q["code"][0], "redirect_uri": REDIRECT})
    check(tok.status_code == 200, "code exchange")
    step("code exchange (Basic client auth)")
    ref = requests.post(wk["token_endpoint"], data={
        "grant_type": "refresh_token", "refresh_token": tok.json()["refresh_token"],
        "client_id": "desktop"})
    check(ref.status_code == 200, "refresh (form client auth)")
    stale = requests.post(wk["token_endpoint"], data={
        "grant_type": "refresh_token", "refresh_token": tok.json()["refresh_token"],
        "client_id": "desktop"})
    check(stale.status_code == 400 and stale.json()["error_description"] == "Stale token",
          "reuse detection")
    step("refresh rotates; reuse → Stale token")
    # Reuse killed that family; log in again for the walk.
    r = requests.post(wk["authorization_endpoint"], allow_redirects=False,
                      data={**params, "username": info["login_name"], "password": info["password"]})
    code = parse_qs(urlsplit(r.headers["Location"]).query)["code"][0]
    tok = requests.post(wk["token_endpoint"], data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "client_id": "desktop"})
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {tok.json()['access_token']}"
    walk(http, info["api_url"], info["jfs_url"], "authcode")


def legacy(info: dict[str, str]) -> None:
    print("legacy flow (username/password + SMS code)")
    api = info["api_url"]
    reg = requests.post(api + "auth/v1/register", params={"device_id": "rclone-walkthrough0000000"},
                        headers={"Authorization": "Bearer dummy",
                                 "Content-Type": "application/x-www-form-urlencoded"})
    check(reg.status_code == 200, "register")
    creds = reg.json()
    step("register device")
    params = {"client_id": creds["client_id"], "client_secret": creds["client_secret"],
              "grant_type": "PASSWORD", "password": info["password"], "username": info["login_name"]}
    first = requests.post(api + "auth/v1/token", params=params)
    check(first.status_code == 401 and first.headers.get("X-JottaCloud-OTP") == "required; SMS",
          "OTP challenge")
    step("password grant → SMS challenge")
    tok = requests.post(api + "auth/v1/token", params=params, headers={"X-Jottacloud-Otp": OTP})
    check(tok.status_code == 200 and tok.json()["token_type"] == "bearer", "password + OTP")
    step("password grant with X-JottaCloud-OTP")
    basic = base64.b64encode(f"{creds['client_id']}:{creds['client_secret']}".encode()).decode()
    ref = requests.post(api + "auth/v1/token", headers={"Authorization": f"Basic {basic}"},
                        data={"grant_type": "REFRESH_TOKEN", "refresh_token": tok.json()["refresh_token"]})
    check(ref.status_code == 200, "REFRESH_TOKEN")
    step("REFRESH_TOKEN")
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {ref.json()['access_token']}"
    walk(http, info["api_url"], info["jfs_url"], "legacy")


def restart_check(data_dir: str, http: requests.Session) -> None:
    print("restart with the same --data")
    srv = ServerProcess(data_dir)
    try:
        user = http.get(srv.info["api_url"] + "account/v1/customer").json()["username"]
        trash = doc(http.get(f"{srv.info['jfs_url']}{user}/Jotta/Trash"))
        check(trash.tag == "mountPoint", "trash view after restart")
        r = http.get(f"{srv.info['jfs_url']}{user}/Jotta/Archive/walk-standard/copy.bin",
                     params={"mode": "bin"})
        check(r.status_code == 200 and r.content.startswith(b"standard"), "file after restart")
        step("token, files and trash survive the restart")
    finally:
        srv.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jotta-walk-") as data_dir:
        srv = ServerProcess(data_dir)
        try:
            http = standard(srv.info, data_dir)
            authorization_code(srv.info)
            legacy(srv.info)
        finally:
            srv.stop()
        restart_check(data_dir, http)
    print("walkthrough passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
