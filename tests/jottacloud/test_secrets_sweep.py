"""Secrets sweep: no token, refresh token, login token, password or config password appears in
any output, log (``-vv --log-file``, ``--use-json-log``), cassette or temporary file.

Every command runs as a real process against the offline server, with the config encrypted
(so the config file itself must not hold a secret in the clear either) and a forced token
refresh in the middle (the rotated tokens are secrets too).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cloudsync.config import Config

from .support import running_server

CONFIG_PASS = "sweep-config-pass-8f3a"
ACCOUNT_PASS = "sweep-account-pass-51c2"
REPO = Path(__file__).resolve().parents[2]


def _run(args: list[str], env: dict[str, str], log: Path, stdin: str | None = None,
         json_log: bool = False) -> str:
    """``args`` with ``-vv --log-file`` (and ``--use-json-log``)."""
    outputs = []
    for extra in ((("--use-json-log",),) if json_log else ((),)):
        r = subprocess.run([sys.executable, "-m", "cloudsync", *args, "-vv", "--log-file", str(log),
                            *extra], env=env, input=stdin, capture_output=True, text=True,
                           timeout=120, check=False)
        assert r.returncode == 0, (args, r.stderr[-2000:])
        outputs.append(r.stdout + r.stderr)
    return "\n".join(outputs)


def _tokens(config: Path, env: dict[str, str], remote: str) -> set[str]:
    raw = Config(config, env=env).file_sections()[remote]["token"]
    data = json.loads(raw)
    return {v for k, v in data.items() if k in ("access_token", "refresh_token", "id_token") and v}


def test_no_secret_anywhere(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    config = home / "cloudsync.conf"
    log = tmp_path / "cloudsync.log"
    src = tmp_path / "src"
    (src / "d").mkdir(parents=True)
    (src / "d" / "a.txt").write_bytes(b"sweep")
    (src / "b.txt").write_bytes(b"sweep b")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDSYNC_")}
    env.update(CLOUDSYNC_CONFIG=str(config), CLOUDSYNC_CONFIG_PASS=CONFIG_PASS, HOME=str(home),
               XDG_CONFIG_HOME=str(home / ".config"), XDG_STATE_HOME=str(home / ".state"),
               XDG_CACHE_HOME=str(home / ".cache"), TMPDIR=str(tmp_path / "tmp"),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    (tmp_path / "tmp").mkdir()
    secrets: set[str] = {CONFIG_PASS, ACCOUNT_PASS}
    seen = []
    with running_server(password=ACCOUNT_PASS) as srv:
        login_token = srv.mint_login_token()
        secrets.add(login_token)
        urls = [f"jfs_url={srv.jfs_url}", f"api_url={srv.api_url}"]
        # encrypt the (still empty) config first, then create the remotes inside it
        seen.append(_run(["config", "touch"], env, log, json_log=True))
        seen.append(_run(["config", "encryption", "set"], env, log, json_log=True))
        seen.append(_run(["config", "create", "jotta", "jottacloud", f"login_token={login_token}",
                          *urls], env, log, json_log=True))
        secrets |= _tokens(config, env, "jotta")
        # legacy login with the account password, through the wizard (answers on stdin)
        env_legacy = dict(env, CLOUDSYNC_JOTTACLOUD_JFS_URL=srv.jfs_url,
                          CLOUDSYNC_JOTTACLOUD_API_URL=srv.api_url,
                          CLOUDSYNC_JOTTACLOUD_AUTH_BASE_URL=srv.base_url)
        answers = "\n".join(["n", "old", "jottacloud", "3", srv.login_name, ACCOUNT_PASS, "n",
                             "y", "q"]) + "\n"
        r = subprocess.run([sys.executable, "-m", "cloudsync", "config", "-vv", "--log-file",
                            str(log)], env=env_legacy, input=answers, capture_output=True,
                           text=True, timeout=120, check=False)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        seen.append(r.stdout + r.stderr)
        secrets |= _tokens(config, env, "old")
        for args in (["copy", str(src), "jotta:b"], ["sync", str(src), "jotta:c"],
                     ["check", str(src), "jotta:b"], ["lsjson", "-R", "jotta:"],
                     ["ls", "old:"], ["about", "jotta:"], ["md5sum", "jotta:b"],
                     ["cat", "jotta:b/b.txt"], ["link", "jotta:b/b.txt"],
                     ["config", "show"], ["config", "dump"], ["config", "redacted"],
                     ["listremotes", "--long"], ["backend", "features", "jotta:"]):
            seen.append(_run(args, env, log, json_log=len(seen) % 2 == 0))
        # the server revokes every access token: the next commands refresh and rotate
        srv.expire_access_tokens()
        seen.append(_run(["ls", "jotta:b"], env, log))
        seen.append(_run(["ls", "old:"], env, log, json_log=True))
        secrets |= _tokens(config, env, "jotta") | _tokens(config, env, "old")
    assert len(secrets) >= 9  # passwords, login token, two logins' tokens before and after
    secrets = {s for s in secrets if len(s) >= 8}
    texts = {"command output": "\n".join(seen)}
    for path in [*tmp_path.rglob("*"), *(REPO / "cassettes").rglob("*")]:
        if path.is_file():
            texts[str(path)] = path.read_bytes().decode("utf-8", "replace")
    assert log.stat().st_size > 3_000 and "DEBUG" in log.read_text()  # -vv really logged
    assert config.read_text().startswith("CLOUDSYNC_ENCRYPT_V1")
    leaks = [(where, s[:6] + "…") for where, text in texts.items() for s in secrets if s in text]
    assert leaks == [], leaks


@pytest.mark.parametrize("flag", ["--use-json-log", None])
def test_failing_refresh_does_not_log_tokens(tmp_path: Path, flag: str | None) -> None:
    """A refresh the server refuses: the error line and the -vv log stay clean."""
    config = tmp_path / "c.conf"
    log = tmp_path / "l.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDSYNC_")}
    env.update(CLOUDSYNC_CONFIG=str(config), PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    with running_server() as srv:
        token = srv.mint_login_token()
        r = subprocess.run([sys.executable, "-m", "cloudsync", "config", "create", "j", "jottacloud",
                            f"login_token={token}", f"jfs_url={srv.jfs_url}", f"api_url={srv.api_url}"],
                           env=env, capture_output=True, text=True, check=False)
        assert r.returncode == 0, r.stderr
        secrets = _tokens(config, env, "j") | {token}
        srv.expire_access_tokens()
        srv.add_fault(r"/token", "status", status=400, rate=1.0)
        args = [sys.executable, "-m", "cloudsync", "ls", "j:", "-vv", "--log-file", str(log)]
        r = subprocess.run(args + ([flag] if flag else []), env=env, capture_output=True, text=True,
                           check=False)
    assert r.returncode != 0
    text = r.stdout + r.stderr + log.read_text()
    assert [s[:6] for s in secrets if s in text] == []
