"""-i/--interactive against the pinned rclone: the same answers on standard input must give the
same questions (our name where rclone prints its own), the same skips, files and exit code."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .test_outputs import RCLONE, Out, both

pytestmark = pytest.mark.skipif(RCLONE is None, reason="rclone binary not installed")

_MTIME = 1_500_000_000


def _tree(work: Path) -> None:
    for rel, data in (("src/a.txt", b"a\n"), ("src/sub/b.txt", b"bb\n"), ("dst/c.txt", b"old\n")):
        path = work / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (_MTIME, _MTIME))
    for rel in ("src/sub", "src", "dst"):
        os.utime(work / rel, (_MTIME, _MTIME))


def _files(work: Path) -> dict[str, bytes]:
    return {str(p.relative_to(work)): p.read_bytes() for p in sorted(work.rglob("*")) if p.is_file()}


def _notices(out: Out) -> list[str]:
    """NOTICE and CRITICAL lines, without the stats block (its speed varies)."""
    lines = out.lines("NOTICE") + out.lines("CRITICAL")
    return sorted(line.replace("rclone", "cloudsync") for line in lines if line)


def _compare(tmp_path: Path, answers: bytes, *args: str) -> tuple[Out, Out]:
    # one transfer and one checker: the questions come in one order for both tools
    want, got = both(tmp_path, _tree, *args, "--transfers", "1", "--checkers", "1", stdin=answers)
    assert got.out == want.out.replace("rclone", "cloudsync"), got.err
    assert got.code == want.code, got.err
    assert _notices(got) == _notices(want)
    assert _files(tmp_path / "cloudsync") == _files(tmp_path / "rclone")
    return want, got


def test_yes_and_no_answers_copy_and_skip_like_rclone(tmp_path: Path) -> None:
    want, got = _compare(tmp_path, b"y\nn\nn\n", "copy", "-i", "src", "dst")
    assert want.code == 0
    assert 'rclone: copy "a.txt"?' in want.out
    assert "q) Exit cloudsync now." in got.out
    assert "sub/b.txt: Skipped copy as --interactive is set (size 3)" in _notices(got)
    assert _files(tmp_path / "cloudsync")["dst/a.txt"] == b"a\n"
    assert "dst/sub/b.txt" not in _files(tmp_path / "cloudsync")


@pytest.mark.parametrize("answer, code", [(b"s\n", 1), (b"!\n", 1), (b"q\n", 0)])
def test_skip_all_do_all_and_quit_like_rclone(tmp_path: Path, answer: bytes, code: int) -> None:
    # after the one answer, the next question (the delete of sync) reads the end of input
    want, _ = _compare(tmp_path, answer, "sync", "-i", "src", "dst")
    assert want.code == code
    files = _files(tmp_path / "cloudsync")
    assert "dst/c.txt" in files  # never deleted: no answer allowed it
    assert ("dst/sub/b.txt" in files) == (answer == b"!\n")


def test_closed_standard_input_stops_with_exit_1_like_rclone(tmp_path: Path) -> None:
    want, got = _compare(tmp_path, b"", "copy", "-i", "src", "dst")
    assert want.code == 1
    assert "Failed to read line: EOF" in _notices(got)
    assert "dst/a.txt" not in _files(tmp_path / "cloudsync")


def test_default_case_and_invalid_answers_like_rclone(tmp_path: Path) -> None:
    want, got = _compare(tmp_path, b"x\n\nY\nyes\n!\n", "copy", "-i", "src", "dst")
    assert "This value must be one of the following characters: y, n, s, !, q." in got.out
    assert "This value must be a single character" in got.out
    assert want.code == 0


@pytest.mark.parametrize("answers", [b"n\ny\n", b"y\nn\n"])
def test_delete_asks_per_file_like_rclone(tmp_path: Path, answers: bytes) -> None:
    want, _ = _compare(tmp_path, answers, "delete", "-i", "src")
    assert 'rclone: delete "' in want.out


def _ops_tree(work: Path) -> None:
    for rel, data in (("w/d/a.txt", b"a\n"), ("w/d/sub/b.txt", b"bb\n"), ("w/c.txt", b"c\n")):
        path = work / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for rel in ("w/d/sub/e", "w/empty/x"):
        (work / rel).mkdir(parents=True)


def _all_paths(work: Path) -> list[str]:
    return sorted(str(p.relative_to(work)) for p in work.rglob("*"))


#: the operations rclone asks about with -i, and what it names in the question: the remote for
#: a folder that is the remote's root ("Local file system at w/new"), else the path in it
_OPS = [("mkdir", "w/new"), ("rmdir", "w/empty/x"), ("deletefile", "w/c.txt"),
        ("rmdirs", "w/empty"), ("delete", "w/d"), ("delete", "w/d", "--rmdirs"), ("purge", "w/d"),
        # a rename is asked as 'move to NEW "OLD"'; a folder moved server-side as a whole by
        # the destination remote's name
        ("moveto", "w/c.txt", "w/c2.txt"), ("moveto", "w/c.txt", "w/d/c.txt"), ("move", "w/d", "w/m")]


@pytest.mark.parametrize("answers", [b"n\nn\nn\nn\nn\nn\n", b"y\ny\ny\ny\ny\ny\n", b"y\nq\n", b""],
                         ids=["no", "yes", "yes-then-quit", "eof"])
@pytest.mark.parametrize("op", _OPS, ids=[" ".join(op) for op in _OPS])
def test_single_operations_ask_like_rclone(tmp_path: Path, op: tuple[str, ...], answers: bytes) -> None:
    # one checker: several questions come in one order for both tools
    args = (*op, "-i", *(("--checkers", "1") if op[0] in ("delete", "rmdirs", "purge") else ()))
    want, got = both(tmp_path, _ops_tree, *args, stdin=answers)
    assert got.out == want.out.replace("rclone", "cloudsync"), got.err
    assert got.code == want.code, got.err
    assert _notices(got) == _notices(want)
    assert _all_paths(tmp_path / "cloudsync") == _all_paths(tmp_path / "rclone")
    assert "?\ny) Yes, this is OK (default)" in want.out


@pytest.mark.parametrize("op", _OPS, ids=[" ".join(op) for op in _OPS])
def test_single_operations_dry_run_like_rclone(tmp_path: Path, op: tuple[str, ...]) -> None:
    want, got = both(tmp_path, _ops_tree, *op, "--dry-run")
    assert got.code == want.code == 0, got.err
    assert _notices(got) == _notices(want)
    if op[0] not in ("moveto", "move"):
        assert "Transferred:" not in got.err  # (rclone prints no stats for these)
    assert _all_paths(tmp_path / "cloudsync") == _all_paths(tmp_path / "rclone")
