"""What a JottaCloud no-op re-sync imports: no OAuth machinery while the access token is
valid, no keyring when the config holds no keyring secret (``python -X importtime``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cloudsync.jottaserver.testing import JottaServer

from .support import running_server
from .test_request_counts import _cli, _remote

#: imported only to refresh a token, log in, or read a secret from the keyring
NOT_ON_A_NOOP = ("oauthlib", "requests_oauthlib", "keyring", "http.server",
                 "cloudsync.backends.jottacloud._api_account", "cloudsync.backends.jottacloud._config")


@pytest.fixture
def srv() -> Any:
    with running_server() as server:
        yield server


def test_noop_resync_with_a_valid_token_imports_no_oauth_and_no_keyring(
        srv: JottaServer, tmp_path: Path) -> None:
    src = tmp_path / "photos"
    for i in range(6):
        (src / f"p{i}.jpg").parent.mkdir(parents=True, exist_ok=True)
        (src / f"p{i}.jpg").write_bytes(os.urandom(100))
    conf = tmp_path / "cloudsync.conf"
    env = _remote(srv, conf)
    assert "keyring" not in conf.read_text()  # the token is in the file: no keyring secret
    r = _cli(env, "sync", str(src), "jotta:backup")  # (caches the account name)
    assert r.returncode == 0, r.stderr
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "cloudsync", "sync", str(src),
                           "jotta:backup"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines()
             if line.startswith("import time:") and line.count("|") == 2}
    assert "cloudsync.backends.jottacloud.backend" in names  # the log was read at all
    found = sorted(n for n in names if any(n == b or n.startswith(b + ".") for b in NOT_ON_A_NOOP))
    assert found == []
