"""Error edges compared with the pinned rclone on local folders: a destination that is a file,
setup refusals (one final line, no extra ERROR lines)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_outputs import RCLONE, both

pytestmark = pytest.mark.skipif(RCLONE is None, reason="rclone binary not installed")


def _src_and_file(work: Path) -> None:
    (work / "src").mkdir()
    (work / "src" / "a").write_bytes(b"a")
    (work / "f.txt").write_bytes(b"file")


@pytest.mark.parametrize("args", [("copy", "src", "f.txt"), ("sync", "src", "f.txt"),
                                  ("move", "src", "f.txt"), ("copy", "src/a", "f.txt"), ("copy", "src/a", "f.txt/")])
def test_local_destination_that_is_a_file(tmp_path: Path, args: tuple[str, ...]) -> None:
    rc, cs = both(tmp_path, _src_and_file, *args)
    assert cs.code == rc.code == 1
    want = f'Failed to create file system for "{args[2]}": is a file not a directory'
    assert rc.lines("CRITICAL") == [want]
    assert cs.lines("ERROR") == [want], cs.err
    for tool in ("rclone", "cloudsync"):
        assert (tmp_path / tool / "f.txt").read_bytes() == b"file"
        assert (tmp_path / tool / "src" / "a").exists()


def test_overlap_refusal_is_only_the_final_line(tmp_path: Path) -> None:
    def tree(work: Path) -> None:
        (work / "src" / "in").mkdir(parents=True)

    rc, cs = both(tmp_path, tree, "sync", "src", "src/in")
    assert cs.code == rc.code == 7
    assert cs.lines("ERROR") == rc.lines("ERROR") == ["Fatal error received - not attempting retries"]
    assert cs.lines("NOTICE") == rc.lines("NOTICE")
