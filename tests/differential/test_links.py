"""Symlink flags of the local backend against the pinned rclone: -l/--links (``.rclonelink``
translation, both ways), --local-links, --skip-links, -l with -L, and -x/--one-file-system
(a tmpfs mounted inside the source, where we may mount; else the st_dev logic with a fake)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from .harness import _tool_env, cloudsync_command, rclone_command

RCLONE = rclone_command()
pytestmark = pytest.mark.skipif(RCLONE is None, reason="rclone binary not installed")

S = 1_000_000_000
T0 = 1_600_000_000 * S
TOOLS = {"rclone": RCLONE or [], "cloudsync": cloudsync_command()}


def _source(root: Path) -> Path:
    """A file, a link to it, a link to a folder, a broken link and an absolute one."""
    src = root / "src"
    (src / "sub").mkdir(parents=True)
    (src / "file").write_bytes(b"data\n")
    (src / "sub" / "inner").write_bytes(b"inner\n")
    os.symlink("file", src / "link")
    os.symlink("sub", src / "dirlink")
    os.symlink("/nonexistent/place", src / "broken")
    os.symlink("../file", src / "sub" / "up")
    for i, p in enumerate(sorted(src.rglob("*"))):
        os.utime(p, ns=(T0 + i * S, T0 + i * S), follow_symlinks=False)
    return src


def _tree(root: Path) -> dict[str, tuple[str, str, int]]:
    """rel path → (kind, content or link target, mtime) of everything under ``root``."""
    out: dict[str, tuple[str, str, int]] = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            st = p.lstat()
            if p.is_symlink():
                out[rel] = ("link", os.readlink(p), st.st_mtime_ns)
            elif p.is_dir():
                out[rel] = ("dir", "", 0)
            else:
                out[rel] = ("file", p.read_text(), st.st_mtime_ns)
    return out


def _run(tool: str, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TOOLS[tool], *args], cwd=tmp, env=_tool_env(tmp / f"{tool}-home"),
                          capture_output=True, text=True, timeout=120)


def _notices(stderr: str) -> list[str]:
    return sorted(line.split(" ", 2)[2] for line in stderr.splitlines()
                  if " NOTICE: " in line and "Config file" not in line)


@pytest.mark.parametrize("flag", ["-l", "--links", "--local-links"])
def test_links_local_to_local_recreates_the_symlinks(tmp_path: Path, flag: str) -> None:
    src = _source(tmp_path)
    for tool in TOOLS:
        r = _run(tool, tmp_path, "copy", "src", f"{tool}-dst", flag)
        assert r.returncode == 0, (tool, r.stderr)
        assert _notices(r.stderr) == [], (tool, r.stderr)
    want = _tree(tmp_path / "rclone-dst")
    assert want["link"][:2] == ("link", "file")  # the oracle does what we think it does
    assert _tree(tmp_path / "cloudsync-dst") == want
    assert _tree(src) == want


def test_links_to_a_plain_destination_writes_rclonelink_files_and_back(tmp_path: Path) -> None:
    _source(tmp_path)
    for tool in TOOLS:
        dst = tmp_path / f"{tool}-files"
        # (--local-links: rclone's global -l would force the translation on this remote too)
        r = _run(tool, tmp_path, "copy", "src", f":local,links=false:{dst}", "--local-links")
        assert r.returncode == 0, (tool, r.stderr)
    files = _tree(tmp_path / "rclone-files")
    assert files["link.rclonelink"][:2] == ("file", "file")
    assert files["broken.rclonelink"][:2] == ("file", "/nonexistent/place")
    assert _tree(tmp_path / "cloudsync-files") == files
    # listings with -l show the links as those files (size = the target's length)
    listed = {tool: _run(tool, tmp_path, "lsjson", "-R", "src", "-l").stdout for tool in TOOLS}
    import json

    def shape(text: str) -> list[tuple[str, int, str, bool]]:
        return sorted((e["Path"], e["Size"], e["ModTime"], e["IsDir"]) for e in json.loads(text)
                      if not e["IsDir"])

    assert shape(listed["cloudsync"]) == shape(listed["rclone"])
    # and back: the .rclonelink files of the plain copy become symlinks again
    r = _run("cloudsync", tmp_path, "copy", "cloudsync-files", "restored", "-l")
    assert r.returncode == 0, r.stderr
    assert _tree(tmp_path / "restored") == _tree(tmp_path / "src")
    r = _run("cloudsync", tmp_path, "check", "src", "restored", "-l")
    assert r.returncode == 0, r.stderr


def test_links_through_memory_and_sync_deletes_a_link(tmp_path: Path) -> None:
    src = _source(tmp_path)
    r = _run("cloudsync", tmp_path, "copy", "src", "copy1", "-l")
    assert r.returncode == 0, r.stderr
    (src / "link").unlink()
    r = _run("cloudsync", tmp_path, "sync", "src", "copy1", "-l")
    assert r.returncode == 0, r.stderr
    assert "link" not in _tree(tmp_path / "copy1") and (tmp_path / "copy1" / "dirlink").is_symlink()


def test_without_links_symlinks_are_skipped_with_a_notice_unless_skip_links(tmp_path: Path) -> None:
    _source(tmp_path)
    out = {}
    for tool in TOOLS:
        plain = _run(tool, tmp_path, "copy", "src", f"{tool}-plain")
        quiet = _run(tool, tmp_path, "copy", "src", f"{tool}-quiet", "--skip-links")
        assert plain.returncode == quiet.returncode == 0, (tool, plain.stderr, quiet.stderr)
        assert _notices(quiet.stderr) == [], (tool, quiet.stderr)
        out[tool] = _notices(plain.stderr)
        assert _tree(tmp_path / f"{tool}-quiet") == _tree(tmp_path / f"{tool}-plain")
    assert out["cloudsync"] == out["rclone"]
    assert len(out["rclone"]) == 4
    assert _tree(tmp_path / "cloudsync-plain") == _tree(tmp_path / "rclone-plain")


def test_links_with_copy_links_is_refused(tmp_path: Path) -> None:
    _source(tmp_path)
    for tool in TOOLS:
        r = _run(tool, tmp_path, "copy", "src", "dst", "-l", "-L")
        assert r.returncode == 1, (tool, r.stderr)
        assert "can't use -l/--links with -L/--copy-links" in r.stderr, (tool, r.stderr)
    assert not (tmp_path / "dst").exists()


def _can_mount() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and os.path.exists("/proc/filesystems") \
        and "tmpfs" in Path("/proc/filesystems").read_text()


@pytest.mark.skipif(not _can_mount(), reason="needs root to mount a tmpfs")
def test_one_file_system_does_not_enter_a_mount_point(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "mnt").mkdir(parents=True)
    (src / "plain").mkdir()
    (src / "a").write_bytes(b"a")
    (src / "plain" / "p").write_bytes(b"p")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(src / "mnt")],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        (src / "mnt" / "m").write_bytes(b"m")
        for tool in TOOLS:
            for flag in ("-x", "--one-file-system"):
                r = _run(tool, tmp_path, "copy", "src", f"{tool}{flag}", flag)
                assert r.returncode == 0, (tool, r.stderr)
            r = _run(tool, tmp_path, "copy", "src", f"{tool}-all")
            assert r.returncode == 0, (tool, r.stderr)
        want = _tree(tmp_path / "rclone-x")
        assert "mnt" not in want and "plain/p" in want
        for name in ("cloudsync-x", "cloudsync--one-file-system", "rclone--one-file-system"):
            assert _tree(tmp_path / name).keys() == want.keys(), name
        assert "mnt/m" in _tree(tmp_path / "cloudsync-all")
        listed = {tool: _run(tool, tmp_path, "lsf", "-R", "src", "-x").stdout for tool in TOOLS}
        assert listed["cloudsync"] == listed["rclone"] == "a\nplain/\nplain/p\n"
    finally:
        subprocess.run(["umount", str(src / "mnt")], check=False)


def test_one_file_system_compares_devices_with_the_root(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The st_dev logic without a mount: folders on another device than the root are skipped."""
    from cloudsync.backends.local import LocalBackend

    (tmp_path / "d1").mkdir()
    (tmp_path / "d2").mkdir()
    (tmp_path / "f").write_bytes(b"f")
    backend = LocalBackend("local", str(tmp_path), one_file_system=True)
    plain = LocalBackend("local", str(tmp_path))
    assert sorted(e.path for e in backend.list("")) == ["d1", "d2", "f"]
    # pretend the root is on another device: every folder is then across a boundary
    monkeypatch.setattr(backend, "_root_dev", os.stat(tmp_path).st_dev + 1)
    assert [e.path for e in backend.list("")] == ["f"]
    assert [e.path for e in backend.list_recursive("")] == ["f"]
    assert sorted(e.path for e in plain.list("")) == ["d1", "d2", "f"]


def test_links_with_metadata(tmp_path: Path) -> None:
    src = _source(tmp_path)
    for tool in TOOLS:
        r = _run(tool, tmp_path, "copy", "src", f"{tool}-meta", "-l", "-M")
        assert r.returncode == 0, (tool, r.stderr)
    assert _tree(tmp_path / "cloudsync-meta") == _tree(tmp_path / "rclone-meta") == _tree(src)
    listed = _run("cloudsync", tmp_path, "lsjson", "src", "-l", "-M")
    assert listed.returncode == 0 and '"Path":"link.rclonelink"' in listed.stdout
