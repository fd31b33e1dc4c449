"""Versions restored by cloudsync, read by the unmodified rclone (``unshare -rnm``, as
rclone_driver.py).

rclone logs in (its own standard login), cloudsync imports that remote, uploads one file three
times with different content, lists three versions and restores the first; rclone must then
read the first content as the current one.  Prints ``{"failures": [...], "steps": N}``.

Usage: ``python rclone_history_driver.py <workdir> <rclone> <ca.pem> <srv.pem> <srv.key>``
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from cloudsync.jottaserver.testing import JottaServer

sys.path.insert(0, str(Path(__file__).parent))
from rclone_driver import rclone_login, start_driver

BODIES = (b"first version of the file", b"second, longer version of the file", b"third")


def main() -> int:
    (work, rclone, ca, cert, key), env = start_driver()
    failures: list[str] = []
    steps = 0
    conf = work / "rclone.conf"
    cs = work / "cloudsync.conf"

    def run(cmd: list[str], extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        nonlocal steps
        steps += 1
        out = subprocess.run(cmd, capture_output=True, text=True, env={**env, **(extra or {})},
                             timeout=120)
        if out.returncode != 0:
            failures.append(f"{' '.join(cmd[-4:])} → {out.returncode}: {out.stderr[-600:]}")
        return out

    def cloudsync(*args: str) -> subprocess.CompletedProcess[str]:
        return run([sys.executable, "-m", "cloudsync", *args],
                   {"CLOUDSYNC_CONFIG": str(cs), "REQUESTS_CA_BUNDLE": str(ca)})

    with JottaServer(user="rclone", host="127.0.0.1", port=443, tls_cert=cert, tls_key=key,
                     public_url="https://api.jottacloud.com") as srv:
        failures += rclone_login(rclone, ca, env, conf, "jotta", srv.mint_login_token())
        cloudsync("config", "import", str(conf))
        f = work / "a.txt"
        for body in BODIES:
            f.write_bytes(body)
            cloudsync("copyto", str(f), "jotta:hist/a.txt")
        out = cloudsync("versions", "--json", "jotta:hist/a.txt")
        try:
            versions = json.loads(out.stdout)
        except ValueError:
            versions = []
        if len(versions) != 3:
            failures.append(f"cloudsync versions listed {len(versions)} versions: {out.stdout[-500:]}")
        else:
            first = versions[-1]
            if first["MD5"] != hashlib.md5(BODIES[0]).hexdigest():
                failures.append(f"oldest version has md5 {first['MD5']}")
            cloudsync("restore", "--version", first["ID"], "jotta:hist/a.txt")
        out = run([str(rclone), "--ca-cert", str(ca), "md5sum", "jotta:hist/a.txt"])
        if not out.stdout.startswith(hashlib.md5(BODIES[0]).hexdigest()):
            failures.append(f"rclone md5sum after restore: {out.stdout!r}")
        out = run([str(rclone), "--ca-cert", str(ca), "cat", "jotta:hist/a.txt"])
        if out.stdout.encode() != BODIES[0]:
            failures.append(f"rclone cat after restore: {out.stdout!r}")
    print(json.dumps({"failures": failures, "steps": steps}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
