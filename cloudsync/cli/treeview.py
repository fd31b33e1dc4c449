"""``tree`` output as rclone 1.75 prints it (the layout of the classic ``tree`` program).

Facts taken from the real binary (tests/differential/test_outputs.py compares them):
names starting with ``.`` are hidden unless ``-a``; a file's ``[…]`` block holds its mode
(``-p``; always ``-rw-rw-rw-``, rclone's objects have no mode), its size (``-s``, ``%11d``) and its
date (``-D``: ``Jan 02 15:04`` this year, ``Jan 02  2006`` otherwise), space-separated; a folder
shows only its size (the sum of the files shown below it); ``-r`` reverses the comparison, so
equal keys keep their name order; ``--dirsfirst`` yields only to the time sorts;
``-d`` ends with ``0 directories``, as rclone's does.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["Node", "TreeStyle", "render_tree"]


@dataclass
class Node:
    name: str
    is_dir: bool
    size: int = -1
    mtime_ns: int | None = None
    children: list[Node] = field(default_factory=list)
    #: bytes of the files shown below a folder (-s)
    total: int = 0


@dataclass(frozen=True)
class TreeStyle:
    all_files: bool = False
    dirs_only: bool = False
    full_path: bool = False
    level: int = 0  # 0 = no limit
    modtime: bool = False
    no_indent: bool = False
    no_report: bool = False
    protections: bool = False
    quote: bool = False
    size: bool = False
    #: name, version, size, mtime, ctime, dirs (--dirsfirst, which rclone ranks below the time
    #: sorts and above the others), or "" (unsorted)
    sort: str = "name"
    reverse: bool = False


def _version_key(name: str) -> list[tuple[int, int | str]]:
    # digits compare as numbers ("file2" before "file10"), the rest as text
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", name)]


def _sort(nodes: list[Node], style: TreeStyle) -> list[Node]:
    if style.sort == "":
        return list(nodes)
    ordered = sorted(nodes, key=lambda n: n.name)  # the listing order the other sorts start from
    if style.sort == "dirs":
        # --dirsfirst compares only "folder or not" (-r puts files first); names keep their order
        ordered.sort(key=lambda n: n.is_dir == style.reverse)
    elif style.sort == "version":
        ordered.sort(key=lambda n: _version_key(n.name), reverse=style.reverse)
    elif style.sort == "size":
        ordered.sort(key=lambda n: n.size, reverse=style.reverse)
    elif style.sort in ("mtime", "ctime"):  # (objects have no change time: their mtime)
        ordered.sort(key=lambda n: n.mtime_ns or 0, reverse=style.reverse)
    elif style.reverse:
        ordered.reverse()
    return ordered


def _date(mtime_ns: int | None) -> str:
    t = time.localtime((mtime_ns or 0) // 1_000_000_000)
    if t.tm_year == time.localtime().tm_year:
        return time.strftime("%b %d %H:%M", t)
    return time.strftime("%b %d  %Y", t)


def _build(entries: Iterable[tuple[str, bool, int, int | None]], style: TreeStyle) -> Node:
    root = Node("", True)
    dirs: dict[str, Node] = {"": root}
    for path, is_dir, size, mtime_ns in entries:
        parent_path, _, name = path.rpartition("/")
        parent = dirs.get(parent_path)
        if parent is None:  # below a hidden folder, or past --level
            continue
        if name.startswith(".") and not style.all_files:
            continue
        if style.level and path.count("/") >= style.level:
            continue
        if style.dirs_only and not is_dir:
            continue
        node = Node(name, is_dir, size, mtime_ns)
        parent.children.append(node)
        if is_dir:
            dirs[path] = node
    return root


def _totals(node: Node) -> tuple[int, int, int]:
    """Fill in folder totals; returns (folders, files, bytes) below ``node``."""
    folders = files = total = 0
    for child in node.children:
        if child.is_dir:
            f, n, b = _totals(child)
            folders += 1 + f
            files += n
            total += b
        else:
            files += 1
            total += max(child.size, 0)
    node.total = total
    return folders, files, total


def render_tree(entries: Iterable[tuple[str, bool, int, int | None]], style: TreeStyle) -> list[str]:
    """The lines of ``tree`` for ``(path, is_dir, size, mtime_ns)`` entries in any order."""
    root = _build(entries, style)
    folders, files, _ = _totals(root)

    def label(node: Node, path: str) -> str:
        name = ("/" + path if style.full_path else node.name) if path else "/"
        if style.quote:
            name = f'"{name}"'
        fields = []
        if not node.is_dir and style.protections:
            fields.append("-rw-rw-rw-")
        if style.size:
            fields.append(f"{node.total if node.is_dir else max(node.size, 0):11d}")
        if not node.is_dir and style.modtime:
            fields.append(_date(node.mtime_ns))
        return f"[{' '.join(fields)}]  {name}" if fields else name

    out = [label(root, "")]

    def walk(node: Node, prefix: str, path: str) -> None:
        children = _sort(node.children, style)
        for i, child in enumerate(children):
            last = i == len(children) - 1
            child_path = f"{path}/{child.name}" if path else child.name
            branch = "" if style.no_indent else ("└── " if last else "├── ")
            out.append(prefix + branch + label(child, child_path))
            if child.is_dir:
                walk(child, "" if style.no_indent else prefix + ("    " if last else "│   "),
                     child_path)

    walk(root, "", "")
    if not style.no_report:
        out.append("")
        # rclone's -d report counts no folders (its tree counts the folders it opened for files)
        out.append("0 directories" if style.dirs_only else f"{folders} directories, {files} files")
    return out
