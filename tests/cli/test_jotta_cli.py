"""The CLI hosting the jottacloud backend against the offline server (no network)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import T1, write

testing = pytest.importorskip("cloudsync.jottaserver.testing")


def test_jotta_end_to_end(cs: Any, config_path: Path, tmp_path: Path, fail_keyring: None) -> None:
    src = tmp_path / "photos"
    write(src / "2024" / "a.jpg", b"first photo", T1)
    with testing.JottaServer(user="testuser") as srv:
        token = srv.mint_login_token()
        r = cs("config", "create", "jotta", "jottacloud", f"login_token={token}",
               f"jfs_url={srv.jfs_url}", f"api_url={srv.api_url}", "device=Jotta", "mountpoint=Archive")
        assert r.code == 0, r.err
        assert token not in config_path.read_text()  # the single-use login token is not kept
        assert "refresh_token" not in r.out  # shown redacted
        assert cs("sync", str(src), "jotta:backup").code == 0
        assert cs("check", str(src), "jotta:backup").code == 0
        assert cs("ls", "jotta:backup").out == "       11 2024/a.jpg\n"
        assert srv.state.read("Jotta/Archive/backup/2024/a.jpg") == b"first photo"
        about = cs("about", "jotta:")
        assert about.code == 0 and about.out.startswith("Total:   unlimited\n")
        link = cs("link", "jotta:backup/2024/a.jpg")
        assert link.code == 0 and link.out.startswith("http")
        assert cs("cleanup", "jotta:").code == 0
        features = json.loads(cs("backend", "features", "jotta:").out)
        assert features["Type"] == "jottacloud"
        assert "jotta:" in cs("listremotes").out
