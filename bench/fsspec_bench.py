"""fsspec bench: reading from the offline JottaCloud server through ``cloudsync://`` URLs.

    python bench/fsspec_bench.py [--size-mb 200] [--reads 1000] [--runs 3]

1. Sequential: one ``--size-mb`` file read whole through ``fsspec.open`` (1 MiB reads), against
   ``cloudsync cat`` of the same file to /dev/null.  Both run as fresh processes (interpreter
   start-up and imports included for both), alternating, ``--runs`` times; medians.
   Target: fsspec ≥ 90 % of cat's MB/s.
2. Random: ``--reads`` reads of 64 KiB at random offsets of the same file through one open
   fsspec file: time, and ranged requests sent (counted by the file's reader; every miss of the
   read-ahead is one ranged GET).  Target: one request per read that misses the read-ahead.

The server runs as its own process (``python -m cloudsync.jottaserver``).  Writes a markdown
table to ``bench/results/fsspec.md``.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cloudsync.jottaserver.testing import JottaServerProcess

RESULTS = Path(__file__).resolve().parent / "results" / "fsspec.md"
CHUNK = 1 << 20

READ_SCRIPT = """
import sys, fsspec
with fsspec.open(sys.argv[1], "rb") as f:
    while f.read(1 << 20):
        pass
"""


def _write_config(path: Path, srv: JottaServerProcess) -> None:
    base = srv.base_url
    path.write_text(
        "[jotta]\ntype = jottacloud\n"
        f"login_token = {srv.login_token}\n"
        f"jfs_url = {base}/jfs/\napi_url = {base}/\n"
    )
    path.chmod(0o600)


def _timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=int, default=200)
    ap.add_argument("--reads", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    size = args.size_mb * 1_000_000

    with tempfile.TemporaryDirectory(prefix="fsspec-bench-") as tmp, \
            JottaServerProcess(data_dir=Path(tmp) / "server") as srv:
        conf = Path(tmp) / "cloudsync.conf"
        _write_config(conf, srv)
        env = {**os.environ, "CLOUDSYNC_CONFIG": str(conf)}
        os.environ["CLOUDSYNC_CONFIG"] = str(conf)
        src = Path(tmp) / "big.bin"
        with src.open("wb") as f:
            for _ in range(0, size, CHUNK):
                f.write(os.urandom(min(CHUNK, size - f.tell())))
        cloudsync = [sys.executable, "-m", "cloudsync"]
        subprocess.run([*cloudsync, "copyto", str(src), "jotta:bench/big.bin"], env=env, check=True)

        cat_times: list[float] = []
        fsspec_times: list[float] = []
        for run in range(args.runs):
            order = ["cat", "fsspec"] if run % 2 == 0 else ["fsspec", "cat"]
            for tool in order:
                if tool == "cat":
                    cat_times.append(_timed([*cloudsync, "cat", "jotta:bench/big.bin"], env))
                else:
                    fsspec_times.append(_timed(
                        [sys.executable, "-c", READ_SCRIPT, "cloudsync://jotta/bench/big.bin"], env))
        cat_s, fs_s = statistics.median(cat_times), statistics.median(fsspec_times)
        cat_mbs, fs_mbs = size / 1e6 / cat_s, size / 1e6 / fs_s

        import fsspec
        import requests.adapters

        # Count the HTTP requests really sent (independently of the reader's own counter).
        sent: list[str] = []
        original_send = requests.adapters.HTTPAdapter.send

        def counting_send(self, request, *a, **kw):  # type: ignore[no-untyped-def]
            sent.append(f"{request.method} {request.url}")
            return original_send(self, request, *a, **kw)

        requests.adapters.HTTPAdapter.send = counting_send  # type: ignore[method-assign]
        fs = fsspec.filesystem("cloudsync", remote="jotta")
        rng = random.Random(12345)
        offsets = [rng.randrange(0, size - 65536) for _ in range(args.reads)]
        with fs.open("bench/big.bin", "rb") as f:
            sent.clear()
            t0 = time.perf_counter()
            misses = most = 0
            for off in offsets:
                before = len(sent)
                f.seek(off)
                if len(f.read(65536)) != 65536:
                    raise SystemExit("short read")
                misses += len(sent) > before
                most = max(most, len(sent) - before)
            random_s = time.perf_counter() - t0
            requests = len(sent)

    rows = [
        "| run | time (median) | throughput | notes |",
        "|---|---:|---:|---|",
        f"| `cloudsync cat` {args.size_mb} MB | {cat_s:.2f} s | {cat_mbs:.0f} MB/s | fresh process |",
        f"| `fsspec.open` read {args.size_mb} MB | {fs_s:.2f} s | {fs_mbs:.0f} MB/s | fresh process; "
        f"{100 * fs_mbs / cat_mbs:.0f} % of cat |",
        f"| {args.reads:,} random 64 KiB reads | {random_s:.2f} s | "
        f"{args.reads / random_s:.0f} reads/s | {requests:,} ranged requests "
        f"({misses:,} reads missed the read-ahead; at most {most} per read) |",
    ]
    text = "\n".join(rows) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(f"# fsspec bench ({time.strftime('%Y-%m-%d')})\n\n{text}")
    ok = fs_mbs >= 0.9 * cat_mbs and most <= 1
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
