"""JottaCloud bench: local → jotta copy of N × 64 KiB files on the offline server, then a
no-op re-sync of the same tree.  Reports wall time and HTTP requests (from the server's log).

    python bench/jotta_bench.py [--files 1000] [--size 65536] [--transfers 4]

Target: the no-op re-sync needs ≤ 3 requests whatever the tree size (customer info +
one ``mode=liststream`` listing, plus a token refresh only when one is due).  Writes a
markdown table to ``bench/results/jotta.md``.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

from cloudsync.backends.jottacloud import SPEC
from cloudsync.backends.jottacloud._api import StoredToken, TokenResponse

from cloudsync import engine
from cloudsync.engine.options import SyncOptions
from cloudsync.jottaserver.testing import JottaServer
from cloudsync.registry import get_spec

RESULTS = Path(__file__).resolve().parent / "results" / "jotta.md"


def _settled(srv: JottaServer) -> list:
    # The server appends a log entry just after answering; wait until it stops growing.
    last = srv.request_log
    while True:
        time.sleep(0.05)
        now = srv.request_log
        if len(now) == len(last):
            return now
        last = now


def _kinds(entries: list) -> str:
    counts: collections.Counter[str] = collections.Counter()
    for e in entries:
        if e.path.startswith("/files/v1/upload/"):
            counts["upload"] += 1
        elif e.path == "/files/v1/allocate":
            counts["allocate"] += 1
        elif "mode=liststream" in e.query:
            counts["liststream"] += 1
        elif e.path.startswith("/jfs/"):
            counts[f"jfs {e.method}"] += 1
        else:
            counts[e.path.rsplit("/", 1)[-1] or e.path] += 1
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--size", type=int, default=64 * 1024)
    ap.add_argument("--transfers", type=int, default=4)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="jotta-bench-") as tmp, JottaServer() as srv:
        src_dir = Path(tmp) / "src"
        for i in range(args.files):
            p = src_dir / f"d{i // 100:02d}" / f"f{i:05d}.bin"
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(os.urandom(args.size))
            os.utime(p, (1_600_000_000 + i, 1_600_000_000 + i))
        token = StoredToken.from_response(TokenResponse.from_json(srv.issue_tokens())).to_json()
        options = SPEC.parse_options({
            "config_type": "standard", "config_version": "1", "client_id": "jottacli",
            "token_url": srv.token_url(), "token": token, "jfs_url": srv.jfs_url, "api_url": srv.api_url,
        })
        local = get_spec("local")
        src = local.factory("local", str(src_dir), local.parse_options({}), None)
        opts = SyncOptions(transfers=args.transfers)

        rows = []
        for label, run in (("copy (initial upload)", engine.copy), ("no-op re-sync", engine.sync)):
            _settled(srv)
            srv.clear_request_log()
            dst = SPEC.factory("jotta", "bench", options, None)  # fresh backend: cold start
            t0 = time.perf_counter()
            res = run(src, dst, opts)
            wall = time.perf_counter() - t0
            dst.close()
            log = _settled(srv)
            if not res.ok:
                print(f"{label} failed: {res.final_error}", file=sys.stderr)
                return 1
            rows.append((label, wall, len(log), res.stats.transfers, _kinds(log)))

    mib = args.files * args.size / (1 << 20)
    lines = [
        f"# JottaCloud bench: {args.files} × {args.size // 1024} KiB ({mib:.1f} MiB), local → jotta, "
        f"offline server, --transfers {args.transfers}",
        "",
        "| run | wall time | HTTP requests | transfers | requests by kind |",
        "|---|---:|---:|---:|---|",
    ]
    for label, wall, n, transfers, kinds in rows:
        lines.append(f"| {label} | {wall:.2f} s | {n} | {transfers} | {kinds} |")
    noop = rows[1][2]
    lines += ["", f"No-op re-sync target ≤ 3 requests: {'met' if noop <= 3 else 'MISSED'} ({noop})."]
    text = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0 if noop <= 3 else 2


if __name__ == "__main__":
    sys.exit(main())
