"""``--data DIR``: files, tokens and trash survive a restart; the CLI serves and stops cleanly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import requests

from cloudsync.jottaserver.testing import JottaServer, JottaServerProcess

from .conftest import Client, decode_login_token, md5, xml

A = "/jfs/Jotta/Archive"


def test_restart_keeps_files_tokens_and_trash(tmp_path: Path) -> None:
    with JottaServer(data_dir=tmp_path) as srv:
        c = Client(srv)
        c.upload(f"{A}/keep/a.txt", b"alpha")
        c.upload(f"{A}/keep/a.txt", b"alpha v2")
        c.upload(f"{A}/gone.txt", b"gone")
        c.post("Jotta/Archive/gone.txt", params={"dl": "true"})
        c.post("laptop", params={"type": "LAPTOP"})
        pending = c.allocate(f"{A}/partial.bin", b"0123456789")
        c.http.post(pending["upload_url"], data=b"01234")  # 420, five bytes kept
        username, tokens = srv.username, c.tokens
        unused_login = srv.mint_login_token()
    with JottaServer(data_dir=tmp_path) as srv2:
        assert srv2.username == username
        h = {"Authorization": f"Bearer {tokens['access_token']}"}
        base = f"{srv2.jfs_url}{username}"
        r = requests.get(f"{base}/Jotta/Archive/keep/a.txt", params={"mode": "bin"}, headers=h)
        assert r.status_code == 200 and r.content == b"alpha v2"
        assert srv2.state.revisions("Jotta/Archive/keep/a.txt")[1].number == 1
        assert srv2.state.trash() == ["Jotta/Archive/gone.txt"]
        assert xml(requests.get(f"{base}/Jotta/Trash", headers=h)).find("files/file") is not None
        assert "laptop" in [d.findtext("name") for d in xml(requests.get(base, headers=h)).iterfind(
            "devices/device")]
        # Refresh tokens rotate on from where they were.
        r = requests.post(srv2.token_url(), data={"grant_type": "refresh_token", "client_id": "jottacli",
                                                  "refresh_token": tokens["refresh_token"]})
        assert r.status_code == 200
        # An unused login token minted before the restart still logs in once.
        login = decode_login_token(unused_login)
        r = requests.post(srv2.token_url(), data={
            "client_id": "jottacli", "grant_type": "password", "password": login["auth_token"],
            "username": login["username"], "scope": "openid offline_access"})
        assert r.status_code == 200
        # The interrupted upload resumes at the bytes stored before the restart.
        c2 = Client(srv2)
        again = c2.allocate(f"{A}/partial.bin", b"0123456789")
        assert again["resume_pos"] == 5
        r = c2.http.post(again["upload_url"], data=b"56789", headers={"Range": "bytes=5-9"})
        assert r.status_code == 201
        assert srv2.state.read("Jotta/Archive/partial.bin") == b"0123456789"


def test_cli_process_serves_restarts_and_prints_tokens(tmp_path: Path) -> None:
    with JottaServerProcess(data_dir=tmp_path, user="cliuser") as proc:
        info = proc.info
        for key in ("base_url", "jfs_url", "api_url", "well_known_url", "token_url", "username",
                    "login_token"):
            assert info[key], key
        login = decode_login_token(proc.login_token)
        assert login["well_known_link"] == info["well_known_url"]
        tok = requests.post(info["token_url"], data={
            "client_id": "jottacli", "grant_type": "password", "password": login["auth_token"],
            "username": login["username"], "scope": "openid offline_access"}).json()
        h = {"Authorization": f"Bearer {tok['access_token']}"}
        alloc = requests.post(info["api_url"] + "files/v1/allocate", headers=h, json={
            "bytes": 3, "md5": md5(b"cli"), "path": f"{A}/cli.txt"}).json()
        assert requests.post(alloc["upload_url"], data=b"cli", headers=h).status_code == 201
        # --print-token mints a token the running server accepts.
        out = subprocess.run(
            [sys.executable, "-m", "cloudsync.jottaserver", "--data", str(tmp_path), "--print-token"],
            capture_output=True, text=True, check=True)
        extra = decode_login_token(out.stdout.strip())
        r = requests.post(info["token_url"], data={
            "client_id": "jottacli", "grant_type": "password", "password": extra["auth_token"],
            "username": extra["username"], "scope": "openid offline_access"})
        assert r.status_code == 200
        proc.proc.terminate()
        assert proc.proc.wait(timeout=10) == 0
    with JottaServerProcess(data_dir=tmp_path, user="cliuser") as proc2:
        url = f"{proc2.info['jfs_url']}{proc2.info['username']}/Jotta/Archive/cli.txt"
        r = requests.get(url, params={"mode": "bin"}, headers=h)
        assert r.status_code == 200 and r.content == b"cli"


def test_print_token_without_data_is_a_usage_error() -> None:
    out = subprocess.run([sys.executable, "-m", "cloudsync.jottaserver", "--print-token"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "--data" in out.stderr
