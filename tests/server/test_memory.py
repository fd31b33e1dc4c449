"""The server streams bodies: its peak memory does not grow with the upload/download size.

A 200 MB body is streamed from a generator to a server running as a subprocess, then downloaded
in pieces; the server's peak RSS (VmHWM) must stay within a small margin of what a 20 MB transfer
needed.  Nothing here times anything.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from cloudsync.jottaserver.testing import JottaServerProcess

from .conftest import decode_login_token

MiB = 1 << 20
BLOCK = os.urandom(MiB)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def body(n_mib: int) -> Iterator[bytes]:
    for i in range(n_mib):
        yield BLOCK[i % 7:] + BLOCK[: i % 7]


def digest(n_mib: int) -> str:
    h = hashlib.md5()
    for piece in body(n_mib):
        h.update(piece)
    return h.hexdigest()


def transfer(info: dict[str, str], headers: dict[str, str], user: str, n_mib: int) -> None:
    md5 = digest(n_mib)
    alloc = requests.post(info["api_url"] + "files/v1/allocate", headers=headers, json={
        "bytes": n_mib * MiB, "md5": md5, "path": f"/jfs/Jotta/Archive/{n_mib}.bin"}).json()
    r = requests.post(alloc["upload_url"], data=body(n_mib), headers=headers)
    assert r.status_code == 201, r.text
    h = hashlib.md5()
    with requests.get(f"{info['jfs_url']}{user}/Jotta/Archive/{n_mib}.bin",
                      params={"mode": "bin"}, headers=headers, stream=True) as dl:
        for piece in dl.iter_content(MiB):
            h.update(piece)
    assert h.hexdigest() == md5


def test_large_transfers_run_in_constant_memory() -> None:
    with JottaServerProcess() as proc:
        login = decode_login_token(proc.login_token)
        tok = requests.post(proc.info["token_url"], data={
            "client_id": "jottacli", "grant_type": "password", "password": login["auth_token"],
            "username": login["username"], "scope": "openid offline_access"}).json()
        headers = {"Authorization": f"Bearer {tok['access_token']}"}
        user = proc.info["username"]
        transfer(proc.info, headers, user, 20)
        small = peak_rss(proc.pid)
        transfer(proc.info, headers, user, 200)
        large = peak_rss(proc.pid)
        assert large - small < 40 * MiB, (small, large)
