"""-M/--metadata against the pinned rclone: lsjson -M prints the local backend's metadata keys
and values as rclone does, and copy -M keeps permissions and access time as rclone's does."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from .test_outputs import RCLONE, both

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
