#!/usr/bin/env python3
"""JottaCloud bench: cloudsync against the unmodified rclone, on the offline server.

    python bench/jotta_bench.py [--files 1000] [--size 65536] [--runs 3] [--profile]

rclone has JottaCloud's host names built in, so the bench re-runs itself inside ``unshare -rnm``
(root in a private user, network and mount namespace, as ``tests/server/test_rclone.py`` does):
loopback up, an ``/etc/hosts`` mapping the real host names to 127.0.0.1, and the offline server
on port 443 behind a TLS front with a throw-away CA.  rclone trusts it with ``--ca-cert``,
cloudsync with ``REQUESTS_CA_BUNDLE``; both talk to the same hosts through the same front, so
both pay the same TLS and server costs.  Both run with their default flags and a valid login.

Workloads, each run on a fresh tree of ``--files`` files of fresh random bytes (the server
dedupes uploads by md5, so old bytes would turn uploads into no-ops) in 10 folders:

* ``copy``      local → ``jotta:bench/<tool>-<run>`` (a fresh remote folder)
* ``noop``      ``sync`` of the same tree again: nothing to do
* ``check``     ``check`` of the tree against the remote (sizes and md5 from the listing)
* ``download``  ``copy`` of the remote folder into a fresh local folder

The tools alternate (the order flips every run), ``--runs`` times each; the figures are
medians: wall time, HTTP requests counted at the server while the tool ran, and peak RSS of
the tool's process (``wait4``, via bench_local's wrapper), and its CPU seconds (user + system,
also from ``wait4``: steadier than wall time on a shared, loaded machine; the server's own CPU
is not in it).  Every figure is also shown as a cloudsync/rclone ratio.  Targets: time ratio ≤ 1.0 and requests ≤ rclone's on every workload.
The table goes to ``bench/results/jotta.md``.  ``--profile`` then runs cloudsync once per
workload under py-spy (``pip install py-spy``) and prints the top frames.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import bench_local
from bench_local import MB, Sample, _top_py_spy, _version, log, timed, tool_env, write_atomic

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "jotta.md"
TOOLS = ("cloudsync", "rclone")
WORKLOADS = ("copy", "noop", "check", "download")
TITLES = {
    "copy": "copy (upload into a fresh folder)",
    "noop": "no-op re-sync",
    "check": "check (size and md5 from the listing)",
    "download": "download (copy into a fresh local folder)",
}
FOLDERS = 10
T0 = 1_600_000_000


@dataclass
class Cell:
    samples: list[Sample] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)
    kinds: str = ""

    @property
    def seconds(self) -> float:
        return statistics.median(s.seconds for s in self.samples)

    @property
    def cpu(self) -> float:
        return statistics.median(s.cpu for s in self.samples)

    @property
    def rss(self) -> int:
        return max(s.max_rss for s in self.samples)

    @property
    def nreq(self) -> int:
        return int(statistics.median(self.requests))


def _kinds(entries: list) -> str:
    counts: collections.Counter[str] = collections.Counter()
    for e in entries:
        if e.path.startswith("/files/v1/upload/"):
            counts["upload"] += 1
        elif e.path == "/files/v1/allocate":
            counts["allocate"] += 1
        elif "mode=liststream" in e.query:
            counts["liststream"] += 1
        elif "mode=bin" in e.query:
            counts["bin"] += 1
        elif e.path.startswith("/jfs/"):
            counts[f"jfs {e.method}{' ' + e.query.split('=')[0] if e.query else ''}"] += 1
        else:
            counts[e.path.rsplit("/", 1)[-1] or e.path] += 1
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))


def _settled(srv: object) -> list:
    # The server logs a request just after answering it: wait until the log stops growing.
    last = srv.request_log  # type: ignore[attr-defined]
    while True:
        time.sleep(0.05)
        now = srv.request_log  # type: ignore[attr-defined]
        if len(now) == len(last):
            return now
        last = now


def _tree(root: Path, files: int, size: int) -> None:
    for i in range(files):
        p = root / f"d{i % FOLDERS:02d}" / f"f{i:05d}.bin"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(os.urandom(size))
        os.utime(p, (T0 + i, T0 + i))


def _seed(srv: object, tree: Path, prefix: str) -> None:
    for p in sorted(tree.rglob("*")):
        if p.is_file():
            t = int(p.stat().st_mtime)
            srv.state.put_file(f"{prefix}/{p.relative_to(tree).as_posix()}",  # type: ignore[attr-defined]
                               p.read_bytes(), modified=t, created=t)


def _count(root: Path) -> int:
    return sum(len(f) for _d, _s, f in os.walk(root))


# ------------------------------------------------------------------------------ inside


def _configs(srv: object, home: Path) -> None:
    from cloudsync.backends.jottacloud._api import StoredToken, TokenResponse

    # One login per tool (each its own refresh-token family), valid for the whole bench: no
    # refresh is due, so neither tool pays for one.
    tokens = srv.issue_tokens()  # type: ignore[attr-defined]
    rc_token = json.dumps({"access_token": tokens["access_token"], "token_type": "Bearer",
                           "refresh_token": tokens["refresh_token"],
                           "expiry": "2099-01-01T00:00:00Z"})
    token_url = "https://id.jottacloud.com/auth/realms/jottacloud/protocol/openid-connect/token"
    (home / "rclone.conf").write_text(
        "[jotta]\ntype = jottacloud\nconfigVersion = 1\nclient_id = jottacli\nclient_secret =\n"
        f"tokenURL = {token_url}\ntoken = {rc_token}\ndevice =\nmountpoint =\n")
    cs_token = StoredToken.from_response(
        TokenResponse.from_json(srv.issue_tokens())).to_json()  # type: ignore[attr-defined]
    (home / "cloudsync.conf").write_text(
        "[jotta]\ntype = jottacloud\nconfig_type = standard\nconfig_version = 1\n"
        f"client_id = jottacli\ntoken_url = {token_url}\ntoken = {cs_token}\n")


def inside(args: argparse.Namespace) -> int:
    from cloudsync.jottaserver.testing import JottaServer, enter_private_hosts

    work: Path = args.work
    enter_private_hosts(work)
    bench_local.RUN_DIR = work  # where the timing wrapper leaves its report
    env = tool_env(work)
    env = {k: v for k, v in env.items() if "proxy" not in k.lower()}
    env["REQUESTS_CA_BUNDLE"] = str(args.ca)
    home = Path(env["HOME"])
    prog = {"cloudsync": [str(args.cloudsync)], "rclone": [str(args.rclone), "--ca-cert", str(args.ca)]}
    wls = [w for w in WORKLOADS if w in args.only] if args.only else list(WORKLOADS)
    args.workloads = wls
    # Without the copy workload the remote trees are seeded straight into the server's store
    # (no HTTP): a big tree can then be timed for no-op, check and download in minutes.
    seeded = "copy" not in wls
    cells = {(w, t): Cell() for w in wls for t in TOOLS}
    args.load = [os.getloadavg()[0]]
    with JottaServer(user="bench", host="127.0.0.1", port=443, tls_cert=args.cert,
                     tls_key=args.key, public_url="https://api.jottacloud.com",
                     access_token_lifetime=7 * 24 * 3600.0) as srv:
        _configs(srv, home)
        for tool in TOOLS:  # untimed warm-up: caches, bytecode, the remote's first lookups
            empty = work / "empty"
            empty.mkdir(exist_ok=True)
            r = subprocess.run([*prog[tool], "copy", str(empty), "jotta:warm-up"], env=env,
                               capture_output=True, text=True, check=False)
            if r.returncode:
                log(f"{tool} warm-up failed: {r.stderr[-1500:]}")
                return 1

        def args_for(wl: str, tool: str, i: int) -> list[str]:
            tree = 0 if seeded else i
            src, remote = str(work / f"src-{tool}-{tree}"), f"jotta:bench/{tool}-{tree}"
            return {"copy": ["copy", src, remote], "noop": ["sync", src, remote],
                    "check": ["check", src, remote],
                    "download": ["copy", remote, str(work / f"dl-{tool}-{i}")]}[wl]

        def verify(wl: str, tool: str, i: int) -> str | None:
            if wl == "download":
                got = _count(work / f"dl-{tool}-{i}")
                return None if got == args.files else f"downloaded {got} files"
            if wl == "copy":
                prefix = f"Jotta/Archive/bench/{tool}-{i}/"
                got = sum(1 for p in srv.state.files() if p.startswith(prefix))
                return None if got == args.files else f"server holds {got} files"
            return None

        for i in range(args.runs):
            order = list(TOOLS) if i % 2 == 0 else list(reversed(TOOLS))
            for tool in TOOLS:
                if not seeded or i == 0:
                    _tree(work / f"src-{tool}-{i}", args.files, args.size)
                if seeded and i == 0:
                    _seed(srv, work / f"src-{tool}-0", f"Jotta/Archive/bench/{tool}-0")
            for wl in wls:
                for tool in order:
                    _settled(srv)
                    srv.clear_request_log()
                    s = timed([*prog[tool], *args_for(wl, tool, i)], env, work)
                    reqs = _settled(srv)
                    problem = verify(wl, tool, i)
                    if s.rc != 0 or problem:
                        log(f"{tool} failed on {wl}: exit {s.rc}; {problem or ''}")
                        return 1
                    cell = cells[(wl, tool)]
                    cell.samples.append(s)
                    cell.requests.append(len(reqs))
                    cell.kinds = _kinds(reqs)
                    log(f"  run {i + 1} {wl:8s} {tool:9s} {s.seconds:7.3f} s  cpu {s.cpu:6.3f} s  "
                        f"{len(reqs):5d} requests  rss {s.max_rss / MB:6.1f} MB")
        if args.profile:
            _profile(args, work, env, prog["cloudsync"], args_for)
    args.load.append(os.getloadavg()[0])
    text = render(cells, args, prog["rclone"])
    write_atomic(args.out, text)
    print(text)
    met = all(_ok(cells, wl) for wl in wls)
    return 0 if met else 2


def _ok(cells: dict[tuple[str, str], Cell], wl: str) -> bool:
    cs, rc = cells[(wl, "cloudsync")], cells[(wl, "rclone")]
    return cs.seconds <= rc.seconds and cs.nreq <= rc.nreq


def _profile(args: argparse.Namespace, work: Path, env: dict[str, str], cloudsync: list[str],
             args_for: Callable[[str, str, int], list[str]]) -> None:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        log("--profile needs py-spy (pip install py-spy)")
        return
    i = args.runs  # a fresh run number: its own trees and folders
    _tree(work / f"src-cloudsync-{i}", args.files, args.size)
    for wl in WORKLOADS:
        out = work / f"profile-{wl}.txt"
        subprocess.run([py_spy, "record", "--format", "raw", "--rate", "500", "--threads",
                        "--nonblocking", "-o", str(out), "--", *cloudsync,
                        *args_for(wl, "cloudsync", i)],
                       env=env, cwd=work, capture_output=True, check=False)
        print(f"\n## {wl}: top frames (py-spy, {args.files} files)\n")
        print(_top_py_spy(out, args.top) if out.exists() else "(no profile written)")


def render(cells: dict[tuple[str, str], Cell], args: argparse.Namespace, rclone: list[str]) -> str:
    lines = [
        "# JottaCloud bench: cloudsync vs rclone on the offline server",
        "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; cloudsync git "
        f"{bench_local._git_rev()}; {_version(rclone[:1])}",
        f"- {args.files:,} files × {args.size // 1024} KiB in {FOLDERS} folders, fresh random bytes "
        f"every run; {args.runs} runs per tool, alternating; medians; default flags for both "
        "(4 transfers, 8 checkers); one TLS front (port 443, throw-away CA) for both",
        f"- machine: {os.cpu_count()} CPUs; load average (1 min) {args.load[0]:.1f} at the start, "
        f"{args.load[-1]:.1f} at the end",
        "",
        "| workload | cloudsync | rclone | time ratio | requests cloudsync / rclone | "
        "request ratio | peak RSS cloudsync / rclone | RSS ratio | CPU s cloudsync / rclone | "
        "CPU ratio | target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for wl in args.workloads:
        cs, rc = cells[(wl, "cloudsync")], cells[(wl, "rclone")]
        lines.append(
            f"| {TITLES[wl]} | {cs.seconds:.2f} s | {rc.seconds:.2f} s | "
            f"{cs.seconds / rc.seconds:.2f} | {cs.nreq:,} / {rc.nreq:,} | "
            f"{cs.nreq / max(rc.nreq, 1):.2f} | {cs.rss / MB:.1f} / {rc.rss / MB:.1f} MB | "
            f"{cs.rss / max(rc.rss, 1):.2f} | {cs.cpu:.2f} / {rc.cpu:.2f} | "
            f"{cs.cpu / max(rc.cpu, 1e-9):.2f} | {'met' if _ok(cells, wl) else 'MISSED'} |")
    lines += ["", "Requests by kind (last run):", ""]
    for wl in args.workloads:
        for tool in TOOLS:
            lines.append(f"- {wl}, {tool}: {cells[(wl, tool)].kinds}")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------ outside


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--size", type=int, default=64 * 1024)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--only", type=lambda v: v.split(","), default=None,
                    help="comma list of workloads (without copy, the remote trees are seeded)")
    ap.add_argument("--profile", action="store_true", help="also profile cloudsync (py-spy)")
    ap.add_argument("--top", type=int, default=25, help="frames shown per profile")
    ap.add_argument("--venv-cloudsync", action="store_true",
                    help="run the venv's cloudsync (an editable install: its import hook costs "
                         "~20 ms per start) instead of a regular install of this checkout")
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    for name in ("work", "ca", "cert", "key", "rclone", "cloudsync"):
        ap.add_argument(f"--{name}", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.inside:
        return inside(args)

    venv_bin = Path(sys.executable).parent
    rclone = venv_bin / "rclone" if (venv_bin / "rclone").exists() else shutil.which("rclone")
    if args.venv_cloudsync:
        cloudsync = venv_bin / "cloudsync" if (venv_bin / "cloudsync").exists() else shutil.which("cloudsync")
    else:
        # what users run: a regular install (bench_scale's), no editable-install import hook
        from bench_scale import install_cloudsync

        cloudsync = install_cloudsync(HERE / "work" / "jotta")[0]
    missing = [n for n, v in (("rclone", rclone), ("cloudsync", cloudsync),
                              ("openssl", shutil.which("openssl")), ("unshare", shutil.which("unshare")),
                              ("ip", shutil.which("ip"))) if not v]
    if missing:
        log(f"needs {', '.join(missing)} (pip install -e '.[test]' brings rclone)")
        return 1
    from cloudsync.jottaserver.testing import make_tls_front_certs

    with tempfile.TemporaryDirectory(prefix="jotta-bench-") as tmp:
        work = Path(tmp)
        ca, cert, key = make_tls_front_certs(work)
        cmd = ["unshare", "-rnm", sys.executable, str(Path(__file__).resolve()), "--inside",
               "--work", str(work), "--ca", ca, "--cert", cert, "--key", key,
               "--rclone", str(rclone), "--cloudsync", str(cloudsync),
               "--files", str(args.files), "--size", str(args.size), "--runs", str(args.runs),
               "--out", str(args.out.resolve()), "--top", str(args.top)]
        if args.only:
            cmd += ["--only", ",".join(args.only)]
        if args.profile:
            cmd.append("--profile")
        return subprocess.run(cmd, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
