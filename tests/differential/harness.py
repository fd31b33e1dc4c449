"""Differential harness: run one scenario through the real rclone binary and through cloudsync.

A *scenario* is a fixture (a source tree, a destination tree and any extra files, all with exact
bytes and nanosecond mtimes) plus one or more command lines.  Each tool gets its own copy of the
fixture in its own directory and runs with that directory as its working directory, so the
command lines use the relative paths ``src``, ``dst``, ``backup`` … and are byte-for-byte the
same for both tools (log messages and report files then name the same paths too).

After the run the harness snapshots the whole working directory and compares, tool against tool:

* every file as ``{path: (bytes, size, mtime_ns)}`` and the sorted list of directories
  (src *and* dst and everything else: move/sync change both sides, --backup-dir writes a third
  tree, check writes report files);
* the exit code of every command;
* report files (``check --combined`` and the per-category files), as sorted lines, because rclone
  writes them as results arrive (rclone-semantics.md §B.4);
* the ``transfers``/``deletes``/``checks`` counters of the final ``{"stats": …}`` line of
  ``-v --use-json-log`` (§G).  While the cloudsync CLI cannot produce that line the comparison
  is *reported* as a :class:`StatsUnavailable` warning instead of failing, so the gap stays
  visible in the pytest summary rather than being silently dropped.

Before comparing, the rclone result is checked against the scenario's own expectations
(``expect_*``, written from the facts in rclone-semantics.md §B), so a scenario that does not test
what its name says fails loudly as an *oracle* mismatch instead of passing vacuously.

Directory mtimes: every fixture directory gets the fixed mtime ``DIR_MTIME``; rclone copies dir
mtimes to the local backend (DirSetModTime, §B.2 step 6) and leaves source dirs alone.  Where
rclone's final dir mtime is a fixture value (i.e. deterministic), cloudsync's must be the same;
dirs rclone touched "now" are not compared.  A scenario can downgrade this to a
:class:`DirMtimeDiffers` warning with ``compare_dir_mtimes=False``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

__all__ = [
    "ABSENT",
    "DIR",
    "DIR_MTIME",
    "NOW_NS",
    "T1",
    "T2",
    "T3",
    "DirMtimeDiffers",
    "F",
    "RunOutput",
    "Scenario",
    "Snapshot",
    "StatsUnavailable",
    "cloudsync_command",
    "compare",
    "rclone_command",
    "run_scenario",
]

# rclone's own sync-test times (rclone-semantics.md "Notation").
T1: Final = 981173106_499999999  # 2001-02-03T04:05:06.499999999Z
T2: Final = 1324817999_123456789  # 2011-12-25T12:59:59.123456789Z
T3: Final = 1325249999_000000000  # 2011-12-30T12:59:59.000000000Z
#: Fixed once per process so both tools see identical fixtures in age-filter scenarios.
NOW_NS: Final = time.time_ns()
SECOND: Final = 1_000_000_000
#: mtime given to every directory of a fixture (2017-07-14T02:40:00Z), distinct from T1–T3.
DIR_MTIME: Final = 1500000000_000000000
DAY: Final = 86_400 * SECOND

STAT_KEYS: Final = ("transfers", "deletes", "checks")


@dataclass(frozen=True)
class F:
    """A file in a tree spec: exact bytes and mtime (ns since the epoch)."""

    data: bytes
    mtime: int = T1


class _Dir:
    def __repr__(self) -> str:
        return "DIR"


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


#: Value for a directory entry in a tree spec; the key must end with "/".
DIR: Final = _Dir()
#: ``expect_dst=ABSENT``: the rclone run must leave no ``dst`` directory at all.
ABSENT: Final = _Absent()

TreeSpec = Mapping[str, "F | _Dir"]


@dataclass(frozen=True)
class Snapshot:
    """Everything under one tool's working directory after a run (reports split out)."""

    files: dict[str, tuple[bytes, int, int]]
    dirs: list[str]
    reports: dict[str, list[str]]
    dir_mtimes: dict[str, int] = field(default_factory=dict)

    def sub(self, top: str) -> Snapshot:
        """The part below ``top`` (e.g. "dst"), with paths relative to it."""
        pre = top.rstrip("/") + "/"
        return Snapshot(
            files={k[len(pre) :]: v for k, v in self.files.items() if k.startswith(pre)},
            dirs=[d[len(pre) :] for d in self.dirs if d.startswith(pre)],
            reports={},
        )

    def has_dir(self, top: str) -> bool:
        return top in self.dirs


@dataclass(frozen=True)
class RunOutput:
    """One command run by one tool."""

    argv: list[str]
    rc: int
    stdout: str
    stderr: str
    stats: dict[str, Any] | None

    def tail(self, n: int = 25) -> str:
        lines = (self.stdout + self.stderr).splitlines()
        return "\n".join(lines[-n:])


@dataclass(frozen=True)
class Result:
    runs: list[RunOutput]
    snap: Snapshot


@dataclass(frozen=True)
class Scenario:
    """One differential case.  ``cmds`` are argument lists *without* the program name."""

    name: str
    section: str
    cmds: tuple[tuple[str, ...], ...]
    src: TreeSpec | None = field(default_factory=dict)  # None: no src directory at all
    dst: TreeSpec | None = None  # None: no dst directory at all
    extra: TreeSpec = field(default_factory=dict)  # more files/dirs at the top level
    #: top-level files written by the tools whose lines are compared sorted (check reports).
    reports: tuple[str, ...] = ()
    # --- what rclone must do (checked first: validates the scenario, not cloudsync) ---
    expect_rc: int | tuple[int, ...] = 0  # of the last command (tuple: one per command)
    expect_dst: TreeSpec | _Absent | None = None  # full expected dst tree
    expect_src: TreeSpec | _Absent | None = None  # full expected src tree
    expect_stats: Mapping[str, int] = field(default_factory=dict)  # subset, last command
    expect_reports: Mapping[str, Sequence[str]] = field(default_factory=dict)
    # --- how to compare ---
    #: for partially nondeterministic outcomes (--max-delete): compare only what this returns.
    normalize: Callable[[Snapshot], object] | None = None
    compare_stats: bool = True
    #: False: dir mtime differences only warn (DirMtimeDiffers) instead of failing.
    compare_dir_mtimes: bool = True
    #: extra global flags for both tools (e.g. ("--retries", "1")).
    flags: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.name


class DirMtimeDiffers(UserWarning):
    """A directory mtime rclone set deterministically differs in cloudsync's result."""


class StatsUnavailable(UserWarning):
    """cloudsync produced no ``{"stats": …}`` JSON log line, so counters were not compared."""


class OracleMismatch(AssertionError):
    """rclone itself did not do what the scenario expects: the scenario is wrong."""


# ---------------------------------------------------------------------------------------------
# tools


def rclone_command() -> list[str] | None:
    exe = shutil.which(
        "rclone", path=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
    )
    return [exe] if exe else None


def cloudsync_command() -> list[str]:
    # The console script next to this interpreter is what users run; fall back to -m.
    script = Path(sys.executable).parent / "cloudsync"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "cloudsync"]


def _tool_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RCLONE_", "CLOUDSYNC_"))}
    for var, sub in (
        ("HOME", ""),
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_CACHE_HOME", ".cache"),
        ("XDG_STATE_HOME", ".local/state"),
        ("XDG_DATA_HOME", ".local/share"),
    ):
        (home / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(home / sub)
    for name in ("rclone.conf", "cloudsync.conf"):
        (home / name).touch()
    env["RCLONE_CONFIG"] = str(home / "rclone.conf")
    env["CLOUDSYNC_CONFIG"] = str(home / "cloudsync.conf")
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
    env["TZ"] = "UTC"
    env["LC_ALL"] = "C.UTF-8"
    env["NO_COLOR"] = "1"
    return env


# ---------------------------------------------------------------------------------------------
# fixtures and snapshots


def build_tree(root: Path, spec: TreeSpec) -> None:
    """Create ``spec`` under ``root`` with exact bytes and mtimes (dirs: ``DIR_MTIME``)."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, item in spec.items():
        path = root / rel
        if isinstance(item, _Dir):
            assert rel.endswith("/"), f"directory entries end with '/': {rel!r}"
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(item.data)
        os.utime(path, ns=(item.mtime, item.mtime))
    # Last, deepest first, because creating entries inside a dir changes its mtime.
    dirs = sorted({p for p in root.rglob("*") if p.is_dir()} | {root}, key=lambda p: -len(p.parts))
    for d in dirs:
        os.utime(d, ns=(DIR_MTIME, DIR_MTIME))


def build_fixture(root: Path, sc: Scenario) -> None:
    root.mkdir(parents=True)
    build_tree(root, sc.extra)
    if sc.src is not None:
        build_tree(root / "src", sc.src)
    if sc.dst is not None:
        build_tree(root / "dst", sc.dst)


def snapshot(root: Path, reports: Sequence[str] = ()) -> Snapshot:
    files: dict[str, tuple[bytes, int, int]] = {}
    dirs: list[str] = []
    dir_mtimes: dict[str, int] = {}
    rep: dict[str, list[str]] = {}
    for cur, dnames, fnames in os.walk(root):
        rel_dir = os.path.relpath(cur, root)
        for d in dnames:
            rel = d if rel_dir == "." else f"{rel_dir}/{d}"
            dirs.append(rel)
            dir_mtimes[rel] = Path(cur, d).stat().st_mtime_ns
        for f in fnames:
            rel = f if rel_dir == "." else f"{rel_dir}/{f}"
            p = Path(cur, f)
            if rel in reports:
                rep[rel] = sorted(p.read_text("utf-8").splitlines())
                continue
            st = p.lstat()
            data = p.read_bytes() if not p.is_symlink() else b"<symlink>"
            files[rel] = (data, st.st_size, st.st_mtime_ns)
    for r in reports:
        rep.setdefault(r, ["<not written>"])
    return Snapshot(
        files=dict(sorted(files.items())), dirs=sorted(dirs), reports=rep, dir_mtimes=dir_mtimes
    )


def spec_as_snapshot(spec: TreeSpec) -> Snapshot:
    files = {k: (v.data, len(v.data), v.mtime) for k, v in spec.items() if isinstance(v, F)}
    dirs: set[str] = set()
    for k in spec:
        parts = k.rstrip("/").split("/")
        upto = parts if k.endswith("/") else parts[:-1]
        for i in range(1, len(upto) + 1):
            dirs.add("/".join(upto[:i]))
    return Snapshot(files=dict(sorted(files.items())), dirs=sorted(dirs), reports={})


def _parse_stats(stderr: str) -> dict[str, Any] | None:
    """The last ``{"stats": …}`` object of a ``--use-json-log`` stream, if any."""
    for line in reversed(stderr.splitlines()):
        line = line.strip()
        if not line.startswith("{") or '"stats"' not in line:
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        stats = obj.get("stats") if isinstance(obj, dict) else None
        if isinstance(stats, dict):
            return stats
    return None


def run_tool(prog: list[str], sc: Scenario, work: Path, home: Path, timeout: float = 60) -> Result:
    build_fixture(work, sc)
    env = _tool_env(home)
    runs: list[RunOutput] = []
    for cmd in sc.cmds:
        # Flags go after the positional arguments, which rclone and click both accept.
        argv = [*prog, *cmd, *sc.flags, "-v", "--use-json-log"]
        proc = subprocess.run(
            argv,
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        runs.append(
            RunOutput(argv, proc.returncode, proc.stdout, proc.stderr, _parse_stats(proc.stderr))
        )
    return Result(runs, snapshot(work, sc.reports))


# ---------------------------------------------------------------------------------------------
# comparison


def _fmt_files(files: Mapping[str, tuple[bytes, int, int]]) -> list[str]:
    out = []
    for k, (data, size, mtime) in files.items():
        shown = data if len(data) <= 40 else data[:37] + b"..."
        out.append(f"{k}: {shown!r} size={size} mtime={mtime}")
    return out


def _diff_snap(what: str, want: Snapshot, got: Snapshot) -> list[str]:
    problems = []
    if want.files != got.files:
        wl, gl = set(_fmt_files(want.files)), set(_fmt_files(got.files))
        problems.append(
            f"{what} files differ:\n  only in expected/rclone: {sorted(wl - gl)}\n"
            f"  only in actual/cloudsync: {sorted(gl - wl)}"
        )
    if want.dirs != got.dirs:
        problems.append(
            f"{what} dirs differ:\n  only in expected/rclone: {sorted(set(want.dirs) - set(got.dirs))}\n"
            f"  only in actual/cloudsync: {sorted(set(got.dirs) - set(want.dirs))}"
        )
    return problems


def check_oracle(sc: Scenario, res: Result) -> None:
    """Fail if rclone did not do what the scenario says it does (the scenario is then wrong)."""
    problems: list[str] = []
    rcs = [r.rc for r in res.runs]
    want_rcs = list(sc.expect_rc) if isinstance(sc.expect_rc, tuple) else [*rcs[:-1], sc.expect_rc]
    if rcs != want_rcs:
        problems.append(f"exit codes {rcs}, expected {want_rcs}")
    for top, spec in (("dst", sc.expect_dst), ("src", sc.expect_src)):
        if spec is None:
            continue
        if isinstance(spec, _Absent):
            if res.snap.has_dir(top):
                problems.append(f"{top} exists but should not")
            continue
        if not res.snap.has_dir(top):
            problems.append(f"{top} does not exist")
            continue
        problems += _diff_snap(top, spec_as_snapshot(spec), res.snap.sub(top))
    stats = res.runs[-1].stats or {}
    for k, v in sc.expect_stats.items():
        if stats.get(k) != v:
            problems.append(f"stats[{k}] = {stats.get(k)}, expected {v}")
    for name, lines in sc.expect_reports.items():
        if res.snap.reports.get(name) != sorted(lines):
            problems.append(
                f"report {name} = {res.snap.reports.get(name)}, expected {sorted(lines)}"
            )
    if problems:
        raise OracleMismatch(
            f"rclone disagrees with scenario {sc.name!r}:\n"
            + "\n".join(problems)
            + "\n--- rclone output ---\n"
            + res.runs[-1].tail()
        )


def compare(sc: Scenario, ref: Result, got: Result) -> list[str]:
    """Differences between the rclone (``ref``) and cloudsync (``got``) results."""
    problems: list[str] = []
    for i, (a, b) in enumerate(zip(ref.runs, got.runs, strict=True)):
        if a.rc != b.rc:
            problems.append(f"command {i + 1}: exit code rclone={a.rc} cloudsync={b.rc}")
    if sc.normalize is not None:
        na, nb = sc.normalize(ref.snap), sc.normalize(got.snap)
        if na != nb:
            problems.append(f"normalised trees differ:\n  rclone:    {na!r}\n  cloudsync: {nb!r}")
    else:
        problems += _diff_snap("tree", ref.snap, got.snap)
    fixed = {DIR_MTIME, T1, T2, T3}
    odd = sorted(
        d
        for d, m in ref.snap.dir_mtimes.items()
        if m in fixed and d in got.snap.dir_mtimes and got.snap.dir_mtimes[d] != m
    )
    # Source dirs: one rclone left untouched must stay untouched (writing a probe or temp file
    # into the source is a data-safety bug).  Dst dirs: rclone copies the src dir mtimes.
    if odd and sc.compare_dir_mtimes:
        problems.append(
            "dir mtimes differ (rclone's are fixture values, i.e. deterministic): "
            + ", ".join(
                f"{d}: rclone={ref.snap.dir_mtimes[d]} cloudsync={got.snap.dir_mtimes[d]}"
                for d in odd
            )
        )
    elif odd:
        warnings.warn(
            f"{sc.name}: dir mtimes differ from rclone's for {odd}", DirMtimeDiffers, stacklevel=2
        )
    if ref.snap.reports != got.snap.reports:
        for name in sc.reports:
            ra, rb = ref.snap.reports.get(name), got.snap.reports.get(name)
            if ra != rb:
                problems.append(f"report {name} differs:\n  rclone:    {ra}\n  cloudsync: {rb}")
    if sc.compare_stats:
        for i, (a, b) in enumerate(zip(ref.runs, got.runs, strict=True)):
            if b.stats is None:
                # Tolerated, but never silently: surfaces in pytest's warnings summary.
                warnings.warn(
                    f"{sc.name}: command {i + 1}: cloudsync printed no JSON stats line "
                    "(-v --use-json-log); counters not compared",
                    StatsUnavailable,
                    stacklevel=2,
                )
                continue
            sa = {k: (a.stats or {}).get(k) for k in STAT_KEYS}
            sb = {k: b.stats.get(k) for k in STAT_KEYS}
            if sa != sb:
                problems.append(f"command {i + 1}: stats rclone={sa} cloudsync={sb}")
    return problems


def run_scenario(sc: Scenario, tmp: Path) -> tuple[Result, Result | None]:
    """Run rclone (validated against the scenario) and, unless oracle-only, cloudsync."""
    rc = rclone_command()
    assert rc is not None
    ref = run_tool(rc, sc, tmp / "rclone", tmp / "home-rclone")
    check_oracle(sc, ref)
    if os.environ.get("DIFF_ORACLE_ONLY"):
        return ref, None
    got = run_tool(cloudsync_command(), sc, tmp / "cloudsync", tmp / "home-cloudsync")
    return ref, got


def describe(ref: Result, got: Result) -> str:
    parts = []
    for i, (a, b) in enumerate(zip(ref.runs, got.runs, strict=True)):
        parts.append(f"--- command {i + 1}: {' '.join(b.argv[1:])}")
        parts.append(f"--- rclone (rc={a.rc}) ---\n{a.tail(12)}")
        parts.append(f"--- cloudsync (rc={b.rc}) ---\n{b.tail(12)}")
    return "\n".join(parts)
