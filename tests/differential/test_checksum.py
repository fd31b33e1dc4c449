"""``checksum HASH SUMFILE DST`` and ``md5sum``/``sha1sum``/``hashsum -C`` against the pinned
rclone: the same SUM file and tree give the same reports, log lines and exit codes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from .test_outputs import RCLONE, Out, both

pytestmark = pytest.mark.skipif(RCLONE is None, reason="rclone binary not installed")

FILES = {"d/a": b"hi\n", "d/sub/b": b"x\n", "d/extra": b"y\n"}


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _tree(work: Path) -> None:
    for rel, data in FILES.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_bytes(data)
    a, b = _md5(FILES["d/a"]), _md5(FILES["d/sub/b"])
    # every case at once: matches, a wrong hash in upper case, a line with no file
    (work / "all.md5").write_text(f"{a}  a\n{b}  sub/b\n{'0' * 32}  missing\n{'ABCDEF' * 5}AB  extra\n")
    # matches only, so the destination has a file with no line ("sum not found")
    (work / "ok.md5").write_text(f"{a}  a\n{b} *sub/b\n")
    # blank and malformed lines are skipped with a notice naming the 0-based line
    (work / "weird.md5").write_text(f"garbage line\n{a} *a\n\n# comment\n")
    sha = hashlib.sha1(FILES["d/a"]).hexdigest()
    (work / "sha1.txt").write_text(f"{sha.upper()}  a\n")


def _same(rc: Out, cs: Out, *, final_line: bool = True) -> None:
    assert cs.code == rc.code
    assert sorted(cs.out.splitlines()) == sorted(rc.out.splitlines())
    assert sorted(cs.lines("ERROR")) == sorted(rc.lines("ERROR"))
    notices_rc, notices_cs = rc.lines("NOTICE"), cs.lines("NOTICE")
    if not final_line:
        # rclone 1.75 counts a SUM line with no file twice in its final "Failed to … with N
        # errors: last error was: …" line (tests/differential/DISAGREEMENTS.md D7)
        notices_rc = [n for n in notices_rc if not n.startswith("Failed to")]
        notices_cs = [n for n in notices_cs if not n.startswith("Failed to")]
    assert notices_cs == notices_rc
    assert "Traceback" not in cs.err


@pytest.mark.parametrize("args", [
    ("checksum", "md5", "ok.md5", "d"),
    ("checksum", "md5", "ok.md5", "d", "--one-way"),
    ("checksum", "md5", "ok.md5", "d", "--one-way", "--download"),
    ("checksum", "MD5", "ok.md5", "d", "--combined", "-"),
    ("checksum", "md5", "weird.md5", "d", "--one-way"),
    ("checksum", "sha1", "sha1.txt", "d", "--one-way", "--match", "-"),
    ("checksum", "sha1", "ok.md5", "d", "--one-way", "--differ", "-"),
    ("checksum", "md5", "ok.md5", "d", "--include", "a"),
    ("md5sum", "-C", "ok.md5", "d"),
    ("md5sum", "--checkfile", "ok.md5", "d", "--download"),
    ("hashsum", "md5", "-C", "ok.md5", "d"),
    ("sha1sum", "-C", "ok.md5", "d"),
])
def test_checksum_agrees_with_rclone(tmp_path: Path, args: tuple[str, ...]) -> None:
    rc, cs = both(tmp_path, _tree, *args)
    _same(rc, cs)


@pytest.mark.parametrize("args", [
    ("checksum", "md5", "all.md5", "d"),
    ("checksum", "md5", "all.md5", "d", "--one-way", "--combined", "-"),
    ("checksum", "md5", "all.md5", "d", "--missing-on-dst", "-", "--missing-on-src", "-"),
    ("md5sum", "-C", "all.md5", "d"),
])
def test_sum_lines_without_a_file(tmp_path: Path, args: tuple[str, ...]) -> None:
    rc, cs = both(tmp_path, _tree, *args)
    assert rc.code == 1
    _same(rc, cs, final_line=False)


def test_bad_arguments_exit_as_rclone(tmp_path: Path) -> None:
    for args, code in ((("checksum", "md5", "nosuch.md5", "d"), 1),
                       (("checksum", "foo", "ok.md5", "d"), 2)):
        (tmp_path / args[1]).mkdir()
        rc, cs = both(tmp_path / args[1], _tree, *args)
        assert cs.code == rc.code == code, (args, cs.err)
        assert "Traceback" not in cs.err


def test_missing_destination_folder_exits_3(tmp_path: Path) -> None:
    rc, cs = both(tmp_path, _tree, "checksum", "md5", "ok.md5", "nosuch")
    assert cs.code == rc.code == 3
    # every SUM line is reported missing, and nothing is counted as a difference
    # (rclone reports them from parallel checkers: compared as sets)
    assert sorted(e for e in cs.lines("ERROR") if "file not in" in e) == \
        sorted(e for e in rc.lines("ERROR") if "file not in" in e) != []
    def counts(o: Out) -> list[str]:
        return [n for n in o.lines("NOTICE")
                if not n.startswith("Failed") and ("missing" in n or "differences" in n)]

    assert counts(cs) == counts(rc) != []
