"""Drive the real rclone binary against the fake server; run inside ``unshare -rnm``.

rclone's JottaCloud hosts are hard-coded, so this script (root in a private user, network and
mount namespace) brings up loopback, bind-mounts an ``/etc/hosts`` that maps the real host names
to 127.0.0.1, serves the fake server over TLS on port 443 with a throw-away CA, writes an
rclone.conf holding an already expired token (so rclone starts with a refresh), and runs a
sequence of rclone commands.  It prints a JSON report ``{"failures": [...], "steps": N}``.

Usage: ``python rclone_driver.py <workdir> <rclone> <ca.pem> <srv.pem> <srv.key>``
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cloudsync.jottaserver.testing import JottaServer, enter_private_hosts


def rclone_login(rclone: Path, ca: Path, env: dict[str, str], conf: Path, name: str,
                 login_token: str) -> list[str]:
    """``rclone config create NAME jottacloud`` through rclone's standard-login state machine,
    fed ``login_token``; returns the failures (empty when rclone stored a token)."""
    failures: list[str] = []
    state = ""
    for answer in (None, "standard", login_token, "false"):
        if answer is None:
            cmd = ["config", "create", name, "jottacloud", "--non-interactive"]
        else:
            cmd = ["config", "update", name, "--continue", "--state", state, "--result",
                   answer, "--non-interactive"]
        out = subprocess.run([str(rclone), "--ca-cert", str(ca), *cmd], capture_output=True,
                             text=True, env=env, timeout=60)
        try:
            reply = json.loads(out.stdout)
        except ValueError:
            failures.append(f"rclone config {answer!r}: {out.stdout[-300:]} {out.stderr[-300:]}")
            break
        if reply.get("Error"):
            failures.append(f"rclone config {answer!r}: {reply['Error']}")
            break
        state = reply.get("State") or ""
        if not state:
            break
    if state:
        failures.append(f"rclone config did not finish (state {state!r})")
    if "token = " not in conf.read_text().split(f"[{name}]", 1)[-1]:
        failures.append("rclone's login did not store a token")
    return failures


def up_loopback_with_jotta_hosts(work: Path) -> None:
    """Inside the namespace: loopback up, the JottaCloud host names pointing at it."""
    enter_private_hosts(work)


def start_driver() -> tuple[tuple[Path, Path, Path, Path, Path], dict[str, str]]:
    """The common opening of a namespace driver: its arguments (work, rclone, ca, cert, key),
    the host names set up, and an environment with no proxy nor stray CLOUDSYNC_/RCLONE_
    settings whose rclone config is ``work/rclone.conf``."""
    work, rclone, ca, cert, key = (Path(a) for a in sys.argv[1:6])
    up_loopback_with_jotta_hosts(work)
    env = {k: v for k, v in os.environ.items()
           if "proxy" not in k.lower() and not k.startswith(("CLOUDSYNC_", "RCLONE_"))}
    env["RCLONE_CONFIG"] = str(work / "rclone.conf")
    return (work, rclone, ca, cert, key), env


def main() -> int:
    work, rclone, ca, cert, key = (Path(a) for a in sys.argv[1:6])
    up_loopback_with_jotta_hosts(work)
    failures: list[str] = []
    steps = 0
    with JottaServer(user="rclone", host="127.0.0.1", port=443, tls_cert=cert, tls_key=key,
                     public_url="https://api.jottacloud.com") as srv:
        tokens = srv.issue_tokens()
        token = json.dumps({"access_token": tokens["access_token"], "token_type": "Bearer",
                            "refresh_token": tokens["refresh_token"],
                            "expiry": "2001-01-01T00:00:00Z"})
        conf = work / "rclone.conf"
        conf.write_text(
            "[jotta]\ntype = jottacloud\nconfigVersion = 1\nclient_id = jottacli\n"
            "client_secret =\n"
            "tokenURL = https://id.jottacloud.com/auth/realms/jottacloud/protocol/openid-connect/token\n"
            f"token = {token}\ndevice =\nmountpoint =\n"
        )
        src = work / "src"
        (src / "sub dir").mkdir(parents=True)
        (src / "a.txt").write_bytes(b"hello rclone")
        (src / "empty.txt").write_bytes(b"")
        (src / "sub dir" / "b+c.txt").write_bytes(b"plus")
        (src / "sub dir" / "ünï #%20 日本.txt").write_bytes(b"names")
        (src / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024 + 7))
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env["RCLONE_CONFIG"] = str(conf)

        def rc(*args: str, expect: str | None = None) -> str:
            nonlocal steps
            steps += 1
            cmd = [str(rclone), "--ca-cert", str(ca), "--low-level-retries", "1", "--retries", "1",
                   "-v", *args]
            out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
            errors = [ln for ln in out.stderr.splitlines() if "ERROR" in ln]
            if out.returncode != 0 or errors:
                failures.append(f"rclone {' '.join(args)} → {out.returncode}: "
                                f"{' | '.join(errors) or out.stderr[-800:]}")
            elif expect is not None and expect not in out.stdout:
                failures.append(f"rclone {' '.join(args)}: {expect!r} not in {out.stdout!r}")
            return out.stdout

        # rclone's own standard login: config state machine fed a fresh personal login token
        # (discovery + password grant happen inside rclone).
        steps += 4
        failures += rclone_login(rclone, ca, env, conf, "login", srv.mint_login_token())
        rc("lsd", "login:")
        rc("about", "jotta:", expect="Used:")
        rc("mkdir", "jotta:test")
        rc("copy", str(src), "jotta:test")
        rc("ls", "jotta:test", expect="b+c.txt")
        rc("lsf", "-R", "--fast-list", "jotta:test", expect="sub dir/ünï #%20 日本.txt")
        rc("check", str(src), "jotta:test")
        rc("check", "--fast-list", "--download", str(src), "jotta:test")
        rc("cat", "--offset", "6", "--count", "6", "jotta:test/a.txt", expect="rclone")
        rc("copyto", "jotta:test/a.txt", "jotta:test/copies/a2.txt")
        rc("moveto", "jotta:test/copies/a2.txt", "jotta:test/moved/a3.txt")
        rc("move", "jotta:test/moved", "jotta:test/moved2")
        rc("cat", "jotta:test/moved2/a3.txt", expect="hello rclone")
        rc("purge", "jotta:test/moved2")
        rc("touch", "-t", "2020-01-02T03:04:05", "jotta:test/a.txt")
        rc("lsl", "jotta:test/a.txt", expect="2020-01-02 03:04:05")
        rc("link", "jotta:test/a.txt", expect="https://www.jottacloud.com/opin/io/downloadPublic/")
        (src / "a.txt").write_bytes(b"hello again, a new revision")
        (src / "big.bin").unlink()
        rc("sync", str(src), "jotta:test/")
        rc("check", str(src), "jotta:test")
        rc("delete", "jotta:test/sub dir")
        rc("rmdirs", "jotta:test")
        rc("cleanup", "jotta:")
        rc("copy", "--max-age", "1h", str(src), "jotta:again")
        rc("lsf", "jotta:again", expect="a.txt")
        bad = [e for e in srv.request_log if e.status >= 500 or e.status in (0, 401)]
        failures += [f"server answered {e.status} to {e.method} {e.path}" for e in bad]
        if not any(e.path.endswith("/.well-known/openid-configuration") for e in srv.request_log):
            failures.append("rclone never fetched the OIDC discovery document")
        paths = {e.path for e in srv.request_log}
        for needed in ("/account/v1/customer", "/files/v1/allocate", "/files/v1/purge_trash",
                       "/auth/realms/jottacloud/protocol/openid-connect/token"):
            if needed not in paths:
                failures.append(f"rclone never called {needed}")
        if not srv.state.exists("Jotta/Archive/again/a.txt"):
            failures.append("final upload missing on the server")
    print(json.dumps({"failures": failures, "steps": steps}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
