"""The ``--live`` re-recording path, exercised end to end against a stand-in for the real service.

Someone with a real account runs::

    CLOUDSYNC_TEST_JOTTA_LOGIN_TOKEN=… pytest tests/jottacloud --live --record-mode=rewrite -k cassette

This test does exactly that in a subprocess, with the offline server standing in for the real
hosts (the only difference: CLOUDSYNC_TEST_JOTTA_{JFS,API,WWW}_URL point at it, and the
cassettes go to a temporary directory, so the committed ones are never touched).  It then
checks that the account's internal username, e-mail, name, login name, login token and
password appear nowhere in what was written, and that the new cassettes replay with the
network blocked, exactly as CI replays the committed ones.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .support import running_server

REPO = Path(__file__).resolve().parents[2]


def _pytest(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "tests/jottacloud/test_cassettes.py", "-q",
         "-p", "no:cacheprovider", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )


def test_live_rerecording_scrubs_and_replays(tmp_path: Path) -> None:
    cassettes = tmp_path / "cassettes"
    with running_server(user="real.person", password="Sekrit-Pa55word") as srv:
        token = srv.mint_login_token()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDSYNC_TEST_")}
        env.update(
            CLOUDSYNC_TEST_JOTTA_LOGIN_TOKEN=token,
            CLOUDSYNC_TEST_JOTTA_CASSETTE_DIR=str(cassettes),
            CLOUDSYNC_TEST_JOTTA_JFS_URL=srv.jfs_url,
            CLOUDSYNC_TEST_JOTTA_API_URL=srv.api_url,
            CLOUDSYNC_TEST_JOTTA_WWW_URL=srv.base_url + "/",
        )
        rec = _pytest(["--live", "--record-mode=rewrite", "-rs"], env)
        assert rec.returncode == 0, rec.stdout[-3000:] + rec.stderr[-2000:]
        # Browser and legacy logins need a person (and a service that still offers legacy).
        assert "\n16 passed, 2 skipped" in "\n" + rec.stdout.splitlines()[-1], rec.stdout[-2000:]
        assert srv.state.files() == {}  # the tests cleaned up after themselves
        personal = [srv.username, srv.login_name, f"{srv.login_name}@example.com", "Real.Person",
                    srv.password, token, srv.base_url]

    names = sorted(p.name for p in cassettes.glob("*.yaml"))
    ops = ["about", "delete_to_trash_and_cleanup", "dir_move", "list_recursive", "mkdir_list_stat",
           "public_link", "purge", "put_and_ranged_get", "server_side_copy", "server_side_move",
           "set_modtime", "trash_restore", "versions"]
    assert names == [*(f"test_op_{op}.yaml" for op in ops), "test_refresh_rotates_token.yaml",
                     "test_standard_login_token.yaml"]
    for path in cassettes.glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        for value in personal:
            assert value not in text, f"{path.name} still holds {value[:12]}…"
        assert "eyJ" not in text  # no JWT (access/refresh/id token) in any form
        assert "/jfs/USERNAME/" in text or path.name == "test_standard_login_token.yaml"

    # Replay: no server, network blocked, the same tests (the CI command).
    replay_env = {k: v for k, v in env.items() if k != "CLOUDSYNC_TEST_JOTTA_LOGIN_TOKEN"
                  and not k.endswith("_URL")}
    rep = _pytest(["--record-mode=none", "--block-network",
                   "--allowed-hosts=127.0.0.1,localhost,::1",
                   "-k", "standard or refresh or test_op_ or hygiene"], replay_env)
    assert rep.returncode == 0, rep.stdout[-3000:] + rep.stderr[-2000:]
    assert "16 passed" in rep.stdout
