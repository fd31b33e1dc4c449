#!/usr/bin/env python3
"""HTTP requests of getting files back from JottaCloud, counted at the offline server.

    python bench/history_bench.py [--files 1000]

Two workloads, each through the real command line (a ``cloudsync`` subprocess) against a
fresh offline server on a free loopback port, on ``--files`` files in 10 folders:

* ``trash restore``: the folder is purged (to the trash), then
  ``cloudsync trash restore jotta:bench`` brings every file back;
* ``copy --version-at``: after a moment T, 10 % of the files are edited, 10 % deleted and
  10 % added; ``cloudsync copy --jottacloud-version-at T jotta:tree ./restored`` must
  reproduce the tree as it was at T (checked byte for byte).

The server's request log gives the counts (by kind).  The table goes to
``bench/results/history.md``.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "history.md"
FOLDERS = 10
MTIME = 1_600_000_000


def _kind(method: str, path: str, query: str) -> str:
    if "/files/v1/" in path or "/account/" in path:
        return path.rsplit("/", 1)[-1]
    for key in ("cphash", "mkDir", "revision", "mode=bin", "dlDir", "rm", "dl"):
        if key in query:
            return {"mode=bin": "download", "revision": "download (old revision)"}.get(key, key)
    if path.endswith("/Trash"):
        return "trash view"
    return "folder/file document" if method == "GET" else method


def _run(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({out.returncode}): {out.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    args = parser.parse_args()
    n = args.files

    from cloudsync.jottaserver.testing import JottaServer

    rows: list[tuple[str, float, int, str]] = []
    with tempfile.TemporaryDirectory(prefix="history-bench-") as tmp, JottaServer() as srv:
        work = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDSYNC_")}
        env["CLOUDSYNC_CONFIG"] = str(work / "cloudsync.conf")
        cs = [sys.executable, "-m", "cloudsync"]
        _run([*cs, "config", "create", "jotta", "jottacloud", f"login_token={srv.mint_login_token()}",
              f"jfs_url={srv.jfs_url}", f"api_url={srv.api_url}"], env)
        _run([*cs, "lsd", "jotta:"], env)  # log in once, outside the counts

        def count(label: str, cmd: list[str]) -> None:
            srv.clear_request_log()
            wall = _run(cmd, env)
            log = srv.request_log
            kinds = collections.Counter(_kind(e.method, e.path, e.query) for e in log)
            text = ", ".join(f"{k} {v:,}" for k, v in kinds.most_common())
            rows.append((label, wall, len(log), text))

        # -- trash restore of a purged folder
        for i in range(n):
            srv.state.put_file(f"Jotta/Archive/bench/d{i % FOLDERS}/f{i:05d}.bin",
                               os.urandom(64) + i.to_bytes(4, "big"), modified=MTIME + i)
        srv.state.trash_path("Jotta/Archive/bench")
        count(f"trash restore of a {n:,}-file folder", [*cs, "trash", "restore", "jotta:bench"])
        restored = srv.state.files()
        missing = [p for p in (f"Jotta/Archive/bench/d{i % FOLDERS}/f{i:05d}.bin" for i in range(n))
                   if p not in restored]
        if missing:
            raise SystemExit(f"trash restore left {len(missing)} files behind, e.g. {missing[0]}")

        # -- copy --jottacloud-version-at of a tree changed since
        expected: dict[str, bytes] = {}
        for i in range(n):
            rel = f"d{i % FOLDERS}/f{i:05d}.bin"
            data = os.urandom(64) + i.to_bytes(4, "big")
            expected[rel] = data
            srv.state.put_file(f"Jotta/Archive/tree/{rel}", data, modified=MTIME + i)
        time.sleep(1.1)
        at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        time.sleep(1.1)
        step = 10
        for i in range(0, n, step):
            srv.state.put_file(f"Jotta/Archive/tree/d{i % FOLDERS}/f{i:05d}.bin", b"edited later")
            srv.state.trash_path(f"Jotta/Archive/tree/d{(i + 1) % FOLDERS}/f{i + 1:05d}.bin")
            srv.state.put_file(f"Jotta/Archive/tree/d{i % FOLDERS}/new{i:05d}.bin", b"added later")
        out = work / "restored"
        count(f"copy --jottacloud-version-at of a {n:,}-file tree (10 % edited, deleted, added since)",
              [*cs, "copy", "--jottacloud-version-at", at, "jotta:tree", str(out)])
        got = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
        if got != expected:
            raise SystemExit("copy --jottacloud-version-at did not reproduce the tree")

    lines = ["| workload | wall time | HTTP requests | requests by kind |", "|---|---:|---:|---|"]
    lines += [f"| {label} | {wall:.2f} s | {total:,} | {kinds} |" for label, wall, total, kinds in rows]
    table = "\n".join(lines) + "\n"
    print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(f"# JottaCloud history bench ({n:,} files)\n\n{table}", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
