"""Fault bench: many seeded syncs through the fault-injecting proxy, plus the request counts
of a server that answers 503 to everything.

    python bench/fault_bench.py [--seeds 20] [--rate 0.2] [--files 30] [--outages 2]

Each seed runs ``sync`` up (local → jotta) and down (jotta → local) with pre-seeded
destinations (identical, stale and destination-only files) through
:class:`cloudsync.jottaserver.faultproxy.FaultProxy` (500, 503, 429, resets before and after
the server acted, truncated bodies, delays), then ``check`` through the same proxy.  Target:
every run exits 0 on default retries, nothing lost, nothing wrongly deleted, no temporary
file left, ``check`` passes; a listing against 503-everywhere costs at most
``--low-level-retries`` + 1 requests.  Writes ``bench/results/faults.md``.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cloudsync.jottaserver.faultproxy import FAULT_KINDS, FaultProxy  # noqa: E402
from cloudsync.jottaserver.testing import JottaServer  # noqa: E402
from tests.faults.harness import _config, cloudsync, run  # noqa: E402
from tests.jottacloud.support import token_json  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "faults.md"


def probe_503(work: Path) -> list[tuple[str, int, int, int]]:
    """(command, --low-level-retries, exit code, requests) with 503 on every request."""
    rows = []
    config = work / "probe.conf"
    src = work / "probe-src"
    src.mkdir(parents=True, exist_ok=True)
    (src / "a.txt").write_bytes(b"a")
    with JottaServer() as srv, FaultProxy(f"127.0.0.1:{srv.port}", rate=1.0, kinds=("503",),
                                          skip=("/auth/",)) as proxy:
        _config(config, srv, proxy, token_json(srv))
        for args, llr in ((["lsjson", "-R", "jotta:"], 10),
                          (["check", str(src), "jotta:dst"], 10),
                          (["check", str(src), "jotta:dst", "--low-level-retries", "3"], 3),
                          (["sync", str(src), "jotta:dst", "--retries", "1"], 10),
                          (["sync", str(src), "jotta:dst"], 10)):
            before = proxy.requests
            r = cloudsync(args, config)
            rows.append((" ".join(a if "/" not in a else "SRC" for a in args), llr, r.returncode,
                         proxy.requests - before))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--first-seed", type=int, default=100)
    ap.add_argument("--rate", type=float, default=0.2)
    ap.add_argument("--files", type=int, default=30)
    ap.add_argument("--outages", type=int, default=2, help="outage runs per direction")
    args = ap.parse_args()

    faults: collections.Counter[str] = collections.Counter()
    exits: collections.Counter[int] = collections.Counter()
    checks: collections.Counter[int] = collections.Counter()
    lost = wrongly = not_deleted = leftovers = requests = runs = 0
    bad = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="cloudsync-faults-") as tmp:
        work = Path(tmp)
        plan = [(seed, d, 0.0) for seed in range(args.first_seed, args.first_seed + args.seeds)
                for d in ("up", "down")]
        plan += [(900 + i, d, 2.0) for i in range(args.outages) for d in ("up", "down")]
        for seed, direction, down_for in plan:
            o = run(seed, direction, work / f"{direction}-{seed}", rate=0.0 if down_for else args.rate,
                    files=args.files, kinds=FAULT_KINDS, down_for=down_for)
            runs += 1
            faults.update(o.faults)
            if down_for:
                faults["outage"] += int(o.outage)
            exits[o.exit_code] += 1
            checks[o.check_code] += 1
            lost += len(o.lost)
            wrongly += len(o.wrongly_deleted)
            not_deleted += len(o.not_deleted)
            leftovers += len(o.leftovers)
            requests += o.requests
            tag = "outage" if down_for else f"{args.rate:.0%}"
            print(f"seed {seed:4} {direction:4} {tag:6} exit {o.exit_code} check {o.check_code} "
                  f"requests {o.requests:4} faults {sum(o.faults.values()):3} "
                  f"lost {len(o.lost)} wrongly deleted {len(o.wrongly_deleted)} "
                  f"leftovers {len(o.leftovers)} {o.seconds:5.1f}s", flush=True)
            if not o.ok:
                bad.append(o)
                print(o.stderr[-1500:], flush=True)
        probe = probe_503(work)
    elapsed = time.monotonic() - started

    lines = [
        f"# Fault bench ({time.strftime('%Y-%m-%d')})",
        "",
        f"`python bench/fault_bench.py --seeds {args.seeds} --rate {args.rate} --files {args.files} "
        f"--outages {args.outages}` — {elapsed:.0f} s",
        "",
        "| runs | requests | faults injected | exit codes | check exit codes | files lost "
        "| wrongly deleted | dst-only left | temp files left |",
        "|---:|---:|---|---|---|---:|---:|---:|---:|",
        f"| {runs} | {requests} | "
        + ", ".join(f"{k} {faults[k]}" for k in (*FAULT_KINDS, "outage") if faults[k])
        + f" (total {sum(v for k, v in faults.items() if k != 'outage')}) | "
        + ", ".join(f"{k}: {v}" for k, v in sorted(exits.items())) + " | "
        + ", ".join(f"{k}: {v}" for k, v in sorted(checks.items()))
        + f" | {lost} | {wrongly} | {not_deleted} | {leftovers} |",
        "",
        "503 on every request (the account lookup included):",
        "",
        "| command | --low-level-retries | exit | requests |",
        "|---|---:|---:|---:|",
        *[f"| `cloudsync {cmd}` | {llr} | {code} | {n} |" for cmd, llr, code, n in probe],
        "",
    ]
    text = "\n".join(lines)
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
