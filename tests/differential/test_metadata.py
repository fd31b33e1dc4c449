"""-M/--metadata against the pinned rclone: lsjson -M prints the local backend's metadata keys
and values as rclone does, and copy -M keeps permissions and access time as rclone's does."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from .test_outputs import RCLONE, Out, both

pytestmark = pytest.mark.skipif(RCLONE is None, reason="rclone binary not installed")

MTIME = 1_500_000_000
ATIME = 1_400_000_000_123_456_789


def _tree(work: Path) -> None:
    (work / "src/sub").mkdir(parents=True)
    for rel, mode in (("src/a.txt", 0o640), ("src/sub/b.sh", 0o751)):
        path = work / rel
        path.write_bytes(b"data\n")
        path.chmod(mode)
        os.utime(path, ns=(ATIME, MTIME * 1_000_000_000))
    (work / "src/sub").chmod(0o750)
    os.utime(work / "src/sub", ns=(ATIME, MTIME * 1_000_000_000))


def _by_path(text: str) -> dict[str, dict[str, str]]:
    return {item["Path"]: item.get("Metadata", {}) for item in json.loads(text)}


def test_lsjson_metadata_keys_and_values_are_rclones(tmp_path: Path) -> None:
    want, got = both(tmp_path, _tree, "lsjson", "-M", "-R", "src")
    assert want.code == got.code == 0, got.err
    w, g = _by_path(want.out), _by_path(got.out)
    assert set(w) == set(g) == {"a.txt", "sub", "sub/b.sh"}
    assert w["a.txt"]["mode"] == "100640" and w["sub"]["mode"] == "40750"
    for path in w:
        assert set(g[path]) == set(w[path])  # atime, btime (where recorded), gid, mode, mtime, uid
        for key in ("atime", "gid", "mode", "mtime", "uid"):
            assert g[path][key] == w[path][key], (path, key)


def test_lsjson_without_metadata_flag_has_no_metadata(tmp_path: Path) -> None:
    want, got = both(tmp_path, _tree, "lsjson", "-R", "src")
    assert '"Metadata"' not in want.out and '"Metadata"' not in got.out


def _modes_and_atimes(work: Path) -> dict[str, tuple[int, bool]]:
    """dst mode, and whether dst's access time is the source's (reading the source for the
    copy may itself move the source's access time to now, for rclone as for us)."""
    out = {}
    for rel in ("a.txt", "sub/b.sh"):
        st = os.stat(work / "dst" / rel)
        out[rel] = (st.st_mode, st.st_atime_ns == os.stat(work / "src" / rel).st_atime_ns)
    return out


@pytest.mark.parametrize("flags", [("-M",), ("--metadata",), ()])
def test_copy_metadata_keeps_mode_and_atime_like_rclone(tmp_path: Path, flags: tuple[str, ...]) -> None:
    old = os.umask(0o022)
    try:
        want, got = both(tmp_path, _tree, "copy", *flags, "src", "dst")
    finally:
        os.umask(old)
    assert want.code == got.code == 0, got.err
    w, g = _modes_and_atimes(tmp_path / "rclone"), _modes_and_atimes(tmp_path / "cloudsync")
    assert g == w
    if flags:
        assert w == {"a.txt": (0o100640, True), "sub/b.sh": (0o100751, True)}
    else:
        assert w["a.txt"][0] == 0o100644  # the umask's, not the source's
        assert os.stat(tmp_path / "cloudsync/dst/a.txt").st_atime_ns == MTIME * 1_000_000_000


def test_copyto_metadata_like_rclone(tmp_path: Path) -> None:
    want, got = both(tmp_path, _tree, "copyto", "-M", "src/sub/b.sh", "dst/sub/b.sh")
    assert want.code == got.code == 0, got.err
    modes = {}
    for tool in ("rclone", "cloudsync"):
        dst, src = os.stat(tmp_path / tool / "dst/sub/b.sh"), os.stat(tmp_path / tool / "src/sub/b.sh")
        modes[tool] = (dst.st_mode, dst.st_atime_ns == src.st_atime_ns)
    assert modes["cloudsync"] == modes["rclone"] == (0o100751, True)


# ------------------------------------------------------------------ folders and moves (-M)

DIR_MTIME = 1_300_000_000_000_000_000


def _dir_tree(work: Path) -> None:
    (work / "src/sub/deep").mkdir(parents=True)
    (work / "src/emptyd").mkdir()
    for rel, mode in (("src/r.txt", 0o640), ("src/sub/a.sh", 0o751)):
        (work / rel).write_bytes(b"data\n")
        (work / rel).chmod(mode)
        os.utime(work / rel, ns=(ATIME, MTIME * 1_000_000_000))
    for rel, mode in (("src/sub/deep", 0o750), ("src/sub", 0o700), ("src/emptyd", 0o711)):
        (work / rel).chmod(mode)
        os.utime(work / rel, ns=(ATIME, DIR_MTIME))


def _shapes(root: Path) -> dict[str, tuple[int, bool]]:
    """{path: (mode, modtime is the fixture's)} of everything below ``root``."""
    out = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        fixture = DIR_MTIME if path.is_dir() else MTIME * 1_000_000_000
        out[str(path.relative_to(root))] = (st.st_mode, st.st_mtime_ns == fixture)
    return out


def _both_shapes(tmp_path: Path, make: Any, *args: str) -> tuple[Out, dict[str, tuple[int, bool]]]:
    """Run ``args`` through both tools (umask 022), check they agree on the exit code (0) and
    the shapes of ``dst``; cloudsync's output and rclone's dst shapes."""
    old = os.umask(0o022)
    try:
        want, got = both(tmp_path, make, *args)
    finally:
        os.umask(old)
    assert want.code == got.code == 0, got.err
    w = _shapes(tmp_path / "rclone/dst")
    assert _shapes(tmp_path / "cloudsync/dst") == w
    return got, w


@pytest.mark.parametrize("flags", [("-M",), ("-M", "--create-empty-src-dirs"), ("--create-empty-src-dirs",)])
def test_copy_metadata_of_folders_like_rclone(tmp_path: Path, flags: tuple[str, ...]) -> None:
    _, w = _both_shapes(tmp_path, _dir_tree, "copy", *flags, "src", "dst")
    assert w["sub"][0] == (0o40700 if "-M" in flags else 0o40755)
    assert w["sub"][1]  # the folder's modtime is the source's either way


def _existing_dir(work: Path) -> None:
    _dir_tree(work)
    (work / "dst/sub").mkdir(parents=True)
    (work / "dst/sub").chmod(0o755)


def test_copy_metadata_of_an_existing_folder_only_its_modtime_like_rclone(tmp_path: Path) -> None:
    # a folder that was there keeps its permissions; its modtime becomes the source's
    got, w = _both_shapes(tmp_path, _existing_dir, "copy", "-M", "-v", "src", "dst")
    assert w["sub"] == (0o40755, True) and w["sub/a.sh"][0] == 0o100751
    assert "sub: Updated directory metadata" in got.lines("INFO")


@pytest.mark.parametrize("flags", [("-M", "--disable", "Move,DirMove"), ("--disable", "Move,DirMove"),
                                   ("-M",), ("-M", "--disable", "DirMove")])
def test_move_metadata_like_rclone(tmp_path: Path, flags: tuple[str, ...]) -> None:
    # with server-side moves disabled a move is a copy and a delete: -M must carry the metadata
    # over as a copy's (and the folders read after the deletes, as rclone reads them)
    _, w = _both_shapes(tmp_path, _dir_tree, "move", *flags, "src", "dst")
    assert w["sub/a.sh"][0] == (0o100751 if "-M" in flags else 0o100644)
    assert _shapes(tmp_path / "cloudsync/src") == _shapes(tmp_path / "rclone/src")
