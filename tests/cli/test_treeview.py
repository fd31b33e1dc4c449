"""``tree`` rendering (the real rclone is compared in tests/differential/test_outputs.py)."""

from __future__ import annotations

from cloudsync.cli.treeview import TreeStyle, render_tree

S = 1_000_000_000
ENTRIES = [("a", True, 4096, 5 * S), ("a/b", True, 4096, 6 * S), ("a/b/c", False, 3, 1 * S),
           ("z", False, 10, 2 * S), (".h", False, 1, 3 * S), ("file10", False, 1, 9 * S),
           ("file2", False, 2, 8 * S)]


def test_default_layout_hides_dot_files_and_counts() -> None:
    assert render_tree(ENTRIES, TreeStyle()) == [
        "/", "├── a", "│   └── b", "│       └── c", "├── file10", "├── file2", "└── z", "",
        "2 directories, 4 files"]


def test_sizes_sum_below_folders_and_blocks_combine() -> None:
    lines = render_tree(ENTRIES, TreeStyle(size=True, protections=True, all_files=True))
    assert lines[0] == "[         17]  /"
    assert lines[1] == "├── [-rw-rw-rw-           1]  .h"
    assert lines[2] == "├── [          3]  a"


def test_sorts_reverse_dirsfirst_level_and_dirs_only() -> None:
    names = [ln.split()[-1] for ln in render_tree(ENTRIES, TreeStyle(sort="version", no_report=True))]
    assert names[1:] == ["a", "b", "c", "file2", "file10", "z"]
    by_time = render_tree(ENTRIES, TreeStyle(sort="mtime", reverse=True, level=1, no_report=True))
    assert [ln.split()[-1] for ln in by_time[1:]] == ["file10", "file2", "a", "z"]
    first = render_tree(ENTRIES, TreeStyle(sort="dirs", no_indent=True, no_report=True))
    assert first == ["/", "a", "b", "c", "file10", "file2", "z"]
    last = render_tree(ENTRIES, TreeStyle(sort="dirs", reverse=True, no_indent=True, no_report=True))
    assert last == ["/", "file10", "file2", "z", "a", "b", "c"]
    assert render_tree(ENTRIES, TreeStyle(dirs_only=True, full_path=True, quote=True))[-3:] == [
        '    └── "/a/b"', "", "0 directories"]
