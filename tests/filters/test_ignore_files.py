"""--ignore-file NAME: gitignore-syntax files per folder and below (pathspec), in every command
that takes filters."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cloudsync.backends.local import LocalBackend

from cloudsync.engine import check, sync
from cloudsync.engine.options import CheckOptions, FilterOptions, SyncOptions
from cloudsync.errors import UsageError
from cloudsync.filters import Filter, IgnoreFiles


def _tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


TREE = {
    ".jottaignore": "*.log\n!top.log\n/cache/\n",
    "top.log": "kept by negation",
    "x.log": "ignored",
    "cache/blob": "ignored folder",
    "a/cache/blob": "not ignored: /cache/ is anchored to the root",
    "a/.jottaignore": "build/\n!y.log\n",
    "a/y.log": "re-included below a",
    "a/z.log": "ignored from the root file",
    "a/build/out.o": "ignored folder",
    "a/keep.txt": "kept",
    "b/y.log": "ignored: a's negation does not reach b",
}
KEPT = {".jottaignore", "top.log", "a/cache/blob", "a/.jottaignore", "a/y.log", "a/keep.txt"}


def test_ignore_files_follow_gitignore_rules(tmp_path: Path) -> None:
    _tree(tmp_path, TREE)
    ign = IgnoreFiles((".jottaignore",), lambda p: (tmp_path / p).read_bytes()
                      if (tmp_path / p).is_file() else None)
    assert {p for p in TREE if not ign.ignored(p, is_dir=False)} == KEPT
    assert ign.ignored("cache", is_dir=True) and ign.ignored("a/build", is_dir=True)
    assert not ign.ignored("a", is_dir=True) and not ign.ignored("a/cache", is_dir=True)


def test_copy_and_sync_skip_ignored_and_never_delete_them(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    _tree(src, TREE)
    opts = SyncOptions(filters=FilterOptions(ignore_file=(".jottaignore",)))
    result = sync(LocalBackend("local", str(src)), LocalBackend("local", str(dst)), opts)
    assert result.final_error is None
    assert _files(dst) == KEPT
    # an ignored file that exists on the destination is excluded, hence never deleted
    (dst / "x.log").write_text("old copy")
    result = sync(LocalBackend("local", str(src)), LocalBackend("local", str(dst)), opts)
    assert result.final_error is None and (dst / "x.log").exists()
    # check compares only what is not ignored
    res = check(LocalBackend("local", str(src)), LocalBackend("local", str(dst)),
                CheckOptions(filters=FilterOptions(ignore_file=(".jottaignore",))))
    assert res.final_error is None


def test_edited_ignore_file_takes_effect_on_the_next_filter(tmp_path: Path) -> None:
    _tree(tmp_path, {".ign": "*.tmp\n", "a.tmp": "", "b.txt": ""})
    backend = LocalBackend("local", str(tmp_path))
    f = Filter.from_options(FilterOptions(ignore_file=(".ign",))).bind_source(backend)
    assert not f.include_file("a.tmp", 0, None) and f.include_file("b.txt", 0, None)
    (tmp_path / ".ign").write_text("*.txt\n")
    assert f.ignore_files is not None
    f.ignore_files.forget("")
    assert f.include_file("a.tmp", 0, None) and not f.include_file("b.txt", 0, None)
    assert f.active


def test_ignore_file_must_be_a_name() -> None:
    with pytest.raises(UsageError):
        Filter.from_options(FilterOptions(ignore_file=("a/.ign",)))


def test_unbound_filter_ignores_nothing() -> None:
    f = Filter.from_options(FilterOptions(ignore_file=(".ign",)))
    assert f.include_file("anything.log", 1, None)


def test_cli_listing_and_check_take_ignore_file(tmp_path: Path) -> None:
    src = tmp_path / "src"
    _tree(src, TREE)
    out = subprocess.run([sys.executable, "-m", "cloudsync", "lsf", "-R", "--files-only",
                          "--ignore-file", ".jottaignore", str(src)],
                         capture_output=True, text=True, check=True).stdout
    assert set(out.split()) == KEPT
    dst = tmp_path / "dst"
    _tree(dst, {p: TREE[p] for p in KEPT})
    res = subprocess.run([sys.executable, "-m", "cloudsync", "check", "--ignore-file",
                          ".jottaignore", str(src), str(dst)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    res = subprocess.run([sys.executable, "-m", "cloudsync", "check", str(src), str(dst)],
                         capture_output=True, text=True)
    assert res.returncode == 1  # without the flag the ignored files are missing on dst
