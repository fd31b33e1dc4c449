#!/usr/bin/env python3
"""Watch-mode bench: ``cloudsync sync SRC jotta:… --watch`` against the offline server.

    python bench/watch_bench.py [--quick] [--latency-files 200] [--burst 10000]
                                [--big 100000] [--idle 60]

Four figures (targets from issue #11):

* **latency** – a file is written and closed, one every ``--gap`` seconds; the time until the
  server holds it complete, p50/p95 over ``--latency-files`` files (target: p95 ≤ watch-delay
  + 2 s);
* **burst** – ``--burst`` new files in 100 folders written as fast as possible: time until all
  are complete on the server, passes it took, peak RSS of the watcher;
* **idle** – CPU the watcher uses over ``--idle`` seconds with nothing changing, on a tree of
  ``--big`` files (target ≤ 1 % of one core);
* **restart** – the watcher stopped and started again on that unchanged tree: time until its
  first pass is done, HTTP requests it sent, files it hashed (targets: 0 hashed, ≤ 3
  requests), plain and with ``--checksum`` (whose local md5s come from the hash cache).

The server runs in this process (a thread); the watcher is a separate process whose CPU and
peak RSS are read from ``/proc`` (Linux).  The big tree is seeded straight into the server's
store (same sizes and modtimes as the local files), so no upload is needed to get there.
Results go to ``bench/results/watch.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "watch.md"
T0 = 1_600_000_000


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _proc_cpu(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Watch:
    """One ``cloudsync … --watch --use-json-log`` process."""

    def __init__(self, args: list[str], logfile: Path, env: dict[str, str]) -> None:
        self.logfile = logfile
        self._out = open(logfile, "w")  # noqa: SIM115 - closed in stop()
        self.started = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-m", "cloudsync", *args, "--watch",
                                      "--use-json-log"], stdout=self._out,
                                     stderr=subprocess.STDOUT, env=env)

    def passes(self) -> list[dict]:
        out = []
        for line in self.logfile.read_text().splitlines():
            if line.startswith("{") and '"watch"' in line:
                out.append(json.loads(line))
        return out

    def wait_passes(self, n: int, timeout: float) -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            passes = self.passes()
            if len(passes) >= n:
                return passes
            if self.proc.poll() is not None:
                raise SystemExit(f"watcher exited: {self.logfile.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise SystemExit(f"timeout waiting for pass {n}: {self.logfile.read_text()[-2000:]}")
            time.sleep(0.05)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        self._out.close()
        return code


def _complete(srv, path: str) -> bool:
    try:
        srv.state.read(path)
    except FileNotFoundError:
        return False
    return True


def bench_latency(srv, env: dict[str, str], work: Path, files: int, gap: float,
                  delay: float) -> dict:
    src = work / "lat"
    src.mkdir()
    w = Watch(["sync", str(src), "j:lat", "--watch-delay", f"{delay}s"], work / "lat.log", env)
    w.wait_passes(1, 60)
    pending: dict[str, float] = {}
    lat: list[float] = []
    lock = threading.Lock()
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set() or pending:
            with lock:
                items = list(pending.items())
            for name, t0 in items:
                if _complete(srv, f"Jotta/Archive/lat/{name}"):
                    with lock:
                        lat.append(time.monotonic() - t0)
                        del pending[name]
            time.sleep(0.02)

    t = threading.Thread(target=poll)
    t.start()
    for i in range(files):
        name = f"f{i:04d}.bin"
        with open(src / name, "wb") as f:
            f.write(os.urandom(4096))
        with lock:
            pending[name] = time.monotonic()
        time.sleep(gap)
    stop.set()
    t.join(120)
    w.stop()
    lat.sort()
    return {"files": files, "delay": delay, "gap": gap, "p50": statistics.median(lat),
            "p95": lat[int(0.95 * (len(lat) - 1))], "max": lat[-1]}


def bench_burst(srv, env: dict[str, str], work: Path, n: int) -> dict:
    src = work / "burst"
    src.mkdir()
    w = Watch(["sync", str(src), "j:burst", "--watch-delay", "2s"], work / "burst.log", env)
    before = len(w.wait_passes(1, 60))
    t0 = time.monotonic()
    per = max(1, n // 100)
    for i in range(n):
        d = src / f"d{i // per:03d}"
        if i % per == 0:
            d.mkdir()
        (d / f"f{i:05d}").write_bytes(b"%d\n" % i * 64)
    written = time.monotonic() - t0
    prefix = "Jotta/Archive/burst/"
    while True:
        done = sum(1 for p in srv.state.files() if p.startswith(prefix))
        if done >= n and all(_complete(srv, p) for p in list(srv.state.files())[-50:]
                             if p.startswith(prefix)):
            break
        if time.monotonic() - t0 > 1800:
            raise SystemExit("burst did not finish in 30 min")
        time.sleep(0.5)
    elapsed = time.monotonic() - t0
    rss = _peak_rss_mb(w.proc.pid)
    passes = len(w.passes()) - before
    w.stop()
    return {"files": n, "written_in": written, "all_up_after": elapsed, "passes": passes,
            "peak_rss_mb": rss}


def seed_big(srv, work: Path, n: int) -> Path:
    src = work / "big"
    per = 100
    for start in range(0, n, 1000):
        # one server transaction per 1,000 files (seeding file by file takes minutes)
        with srv.store.tx():
            _seed_range(srv, src, start, min(n, start + 1000), per)
        if start and start % 20000 == 0:
            log(f"  seeded {start} files")
    return src


def _seed_range(srv, src: Path, start: int, end: int, per: int) -> None:
    for i in range(start, end):
        folder = f"d{i // per:04d}"
        name = f"f{i:06d}.txt"
        data = b"x" * (100 + i % 100)  # 100 distinct contents: the server stores 100 blobs
        p = src / folder / name
        if i % per == 0:
            p.parent.mkdir(parents=True)
        p.write_bytes(data)
        os.utime(p, (T0, T0))
        srv.state.put_file(f"Jotta/Archive/big/{folder}/{name}", data, modified=T0)


def bench_big(srv, env: dict[str, str], work: Path, n: int, idle: float) -> dict:
    log(f"seeding {n} files locally and on the server")
    src = seed_big(srv, work, n)
    out: dict = {"files": n}
    # first start: populates nothing to upload; the tree is already there
    srv.clear_request_log()
    w = Watch(["sync", str(src), "j:big"], work / "big1.log", env)
    first = w.wait_passes(1, 1800)[0]
    out["first_pass_s"] = first["watch"]["elapsed"]
    out["first_transfers"] = first["stats"]["transfers"]
    time.sleep(2)
    cpu0, t0 = _proc_cpu(w.proc.pid), time.monotonic()
    log(f"idling for {idle:.0f}s")
    time.sleep(idle)
    cpu1, t1 = _proc_cpu(w.proc.pid), time.monotonic()
    out["idle_cpu_pct"] = 100 * (cpu1 - cpu0) / (t1 - t0)
    out["idle_rss_mb"] = _peak_rss_mb(w.proc.pid)
    w.stop()
    for label, extra in (("restart", []), ("checksum-1st", ["-c"]), ("restart -c", ["-c"])):
        srv.clear_request_log()
        t = time.monotonic()
        w = Watch(["sync", str(src), "j:big", *extra], work / f"big-{label}.log", env)
        rec = w.wait_passes(1, 1800)[0]
        wall = time.monotonic() - t
        requests = len(srv.request_log)
        w.stop()
        out[label] = {"wall_s": wall, "pass_s": rec["watch"]["elapsed"], "requests": requests,
                      "files_hashed": rec["watch"]["files_hashed"],
                      "hashes_from_cache": rec["watch"]["hashes_from_cache"]}
        log(f"  {label}: {out[label]}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--quick", action="store_true", help="small numbers (smoke run)")
    ap.add_argument("--latency-files", type=int, default=200)
    ap.add_argument("--gap", type=float, default=1.5, help="seconds between latency files")
    ap.add_argument("--delay", type=float, default=1.0, help="--watch-delay of the latency run")
    ap.add_argument("--burst", type=int, default=10_000)
    ap.add_argument("--big", type=int, default=100_000)
    ap.add_argument("--idle", type=float, default=60.0)
    ap.add_argument("--only", choices=("latency", "burst", "big"), action="append")
    args = ap.parse_args()
    if args.quick:
        args.latency_files, args.burst, args.big, args.idle = 10, 500, 2000, 5.0
    only = set(args.only or ("latency", "burst", "big"))

    sys.path.insert(0, str(HERE.parent))
    from cloudsync.jottaserver.testing import JottaServer

    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="cloudsync-watch-bench-") as tmp, \
            JottaServer() as srv:
        work = Path(tmp)
        env = {**os.environ, "CLOUDSYNC_CONFIG": str(work / "cloudsync.conf"),
               "XDG_CACHE_HOME": str(work / "cache"),
               "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
        subprocess.run([sys.executable, "-m", "cloudsync", "config", "create", "j", "jottacloud",
                        f"login_token={srv.mint_login_token()}", f"jfs_url={srv.jfs_url}",
                        f"api_url={srv.api_url}"], env=env, check=True, capture_output=True)
        if "latency" in only:
            log(f"latency: {args.latency_files} files, one every {args.gap}s")
            results["latency"] = bench_latency(srv, env, work, args.latency_files, args.gap,
                                               args.delay)
            log(f"  {results['latency']}")
        if "burst" in only:
            log(f"burst: {args.burst} files")
            results["burst"] = bench_burst(srv, env, work, args.burst)
            log(f"  {results['burst']}")
        if "big" in only:
            results["big"] = bench_big(srv, env, work, args.big, args.idle)
            log(f"  {results['big']}")
    print(json.dumps(results, indent=2))
    if not args.quick:
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(f"# watch bench {time.strftime('%Y-%m-%d %H:%M')}\n\n```json\n"
                           f"{json.dumps(results, indent=2)}\n```\n")


if __name__ == "__main__":
    main()
