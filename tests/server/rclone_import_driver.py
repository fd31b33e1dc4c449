"""``cloudsync config import`` of a jottacloud remote that the real rclone created and used.

Runs inside ``unshare -rnm`` like :mod:`rclone_driver` (rclone's JottaCloud hosts are fixed):
rclone logs in with a personal login token and uploads a file, the config is then encrypted by
rclone itself, and cloudsync imports it (plain and encrypted) and copies with it at once —
without any login of its own.  Prints a JSON report ``{"failures": [...], "steps": N}``.

Usage: ``python rclone_import_driver.py <workdir> <rclone> <ca.pem> <srv.pem> <srv.key>``
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cloudsync.jottaserver.testing import JottaServer

sys.path.insert(0, str(Path(__file__).parent))
from rclone_driver import rclone_login, start_driver

PASSWORD = "correct horse"


def main() -> int:
    (work, rclone, ca, cert, key), env = start_driver()
    failures: list[str] = []
    steps = 0
    conf = work / "rclone.conf"
    src = work / "src"
    src.mkdir()
    (src / "a.txt").write_bytes(b"imported remote works")
    (src / "b.bin").write_bytes(os.urandom(70_000))

    def run(cmd: list[str], extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        nonlocal steps
        steps += 1
        return subprocess.run(cmd, capture_output=True, text=True, env={**env, **(extra or {})},
                              timeout=120)

    def cloudsync(*args: str, config: Path, **extra: str) -> subprocess.CompletedProcess[str]:
        return run([sys.executable, "-m", "cloudsync", *args],
                   {"CLOUDSYNC_CONFIG": str(config), "REQUESTS_CA_BUNDLE": str(ca), **extra})

    with JottaServer(user="rclone", host="127.0.0.1", port=443, tls_cert=cert, tls_key=key,
                     public_url="https://api.jottacloud.com") as srv:
        failures += rclone_login(rclone, ca, env, conf, "rjotta", srv.mint_login_token())
        out = run([str(rclone), "--ca-cert", str(ca), "copy", str(src / "a.txt"), "rjotta:byrclone"])
        if out.returncode != 0:
            failures.append(f"rclone copy: {out.stderr[-500:]}")

        # 1. the plain config, as rclone left it
        plain_cs = work / "plain-cloudsync.conf"
        out = cloudsync("config", "import", str(conf), config=plain_cs)
        if out.returncode != 0 or "rjotta: imported as jottacloud" not in out.stdout:
            failures.append(f"plain import: rc={out.returncode} {out.stdout} {out.stderr[-500:]}")
        if "config reconnect rjotta:" not in out.stderr:
            failures.append(f"no shared-login notice naming config reconnect: {out.stderr!r}")
        rclone_token = json.loads(_value(conf.read_text(), "token"))
        imported = plain_cs.read_text() if plain_cs.exists() else ""
        if rclone_token["refresh_token"] not in imported:
            failures.append("the imported remote does not carry rclone's refresh token")

        # 2. the same config encrypted by rclone, read with RCLONE_CONFIG_PASS
        out = run([str(rclone), "config", "encryption", "set", "--password-command",
                   f"echo {PASSWORD}"])
        if out.returncode != 0 or "RCLONE_ENCRYPT_V0:" not in conf.read_text():
            failures.append(f"rclone did not encrypt its config: {out.stderr[-300:]}")
        cs = work / "cloudsync.conf"
        out = cloudsync("config", "import", config=cs, RCLONE_CONFIG=str(conf))
        if out.returncode == 0:
            failures.append("an encrypted config was imported without its password")
        out = cloudsync("config", "import", config=cs, RCLONE_CONFIG=str(conf),
                        RCLONE_CONFIG_PASS=PASSWORD)
        if out.returncode != 0 or "rjotta: imported as jottacloud" not in out.stdout:
            failures.append(f"encrypted import: rc={out.returncode} {out.stdout} {out.stderr[-500:]}")

        # 3. used at once: no login token, no wizard, just the imported token
        logins_before = _password_grants(srv)
        out = cloudsync("copy", str(src), "rjotta:imported", "-v", config=cs)
        if out.returncode != 0:
            failures.append(f"cloudsync copy with the imported remote: {out.stderr[-800:]}")
        for name in ("a.txt", "b.bin"):
            if not srv.state.exists(f"Jotta/Archive/imported/{name}"):
                failures.append(f"cloudsync's upload of {name} is missing on the server")
        out = cloudsync("lsf", "rjotta:byrclone", config=cs)
        if out.stdout.strip() != "a.txt":
            failures.append(f"cloudsync does not see rclone's upload: {out.stdout!r} {out.stderr[-300:]}")
        if _password_grants(srv) != logins_before:
            failures.append("cloudsync logged in anew instead of using the imported token")
    print(json.dumps({"failures": failures, "steps": steps}))
    return 0


def _value(text: str, key: str) -> str:
    for line in text.splitlines():
        if line.startswith(f"{key} = "):
            return line.split(" = ", 1)[1]
    raise KeyError(key)


def _password_grants(srv: JottaServer) -> int:
    """Logins: every one starts with OpenID discovery, which a token refresh never needs."""
    return sum(1 for e in srv.request_log if e.path.endswith("/.well-known/openid-configuration"))


if __name__ == "__main__":
    sys.exit(main())
