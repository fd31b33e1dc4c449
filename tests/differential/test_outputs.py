"""Output that scripts parse, compared with the pinned rclone: the same command line runs
through both tools in identical fixtures and the lines a script would read must agree."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from .harness import _tool_env, cloudsync_command, rclone_command

RCLONE = rclone_command()
pytestmark = pytest.mark.skipif(RCLONE is None, reason="rclone binary not installed")

_STAMP = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ")


class Out:
    def __init__(self, proc: subprocess.CompletedProcess[bytes]) -> None:
        self.code = proc.returncode
        self.stdout = proc.stdout
        self.out = proc.stdout.decode("utf-8", "replace")
        self.err = proc.stderr.decode("utf-8", "replace")

    def lines(self, level: str) -> list[str]:
        """stderr lines of one level, without their time stamps."""
        out = []
        for line in self.err.splitlines():
            line = _STAMP.sub("", line)
            if line.startswith(level):
                out.append(line.split(":", 1)[1].strip())
        return out


def both(tmp_path: Path, make: Callable[[Path], None], *args: str,
         stdin: bytes | None = None) -> tuple[Out, Out]:
    """Run ``args`` through rclone and cloudsync, each in its own copy of the fixture."""
    results = []
    assert RCLONE is not None
    for name, cmd in (("rclone", RCLONE), ("cloudsync", cloudsync_command())):
        work = tmp_path / name
        work.mkdir()
        make(work)
        env = _tool_env(tmp_path / f"{name}-home")
        proc = subprocess.run([*cmd, *args], cwd=work, env=env, capture_output=True, input=stdin,
                              timeout=120)
        results.append(Out(proc))
    return results[0], results[1]


def _check_tree(work: Path) -> None:
    (work / "a").mkdir()
    (work / "b").mkdir()
    for rel, data in (("a/same", b"1"), ("b/same", b"1"), ("a/diff", b"x"), ("b/diff", b"yy"),
                      ("a/onlysrc", b"s"), ("b/onlydst", b"d")):
        (work / rel).write_bytes(data)


def test_check_summary_lines_and_final_error(tmp_path: Path) -> None:
    rc, cs = both(tmp_path, _check_tree, "check", "a", "b")
    assert cs.code == rc.code == 1
    # remotes named as typed, the counts, "N errors while checking", no stats block
    assert cs.lines("NOTICE") == rc.lines("NOTICE")
    assert rc.lines("NOTICE")[-1] == "Failed to check with 3 errors: last error was: 3 differences found"
    assert "Transferred:" not in cs.err
    assert sorted(cs.lines("ERROR")) == sorted(rc.lines("ERROR"))


def test_check_matching_trees_print_the_same(tmp_path: Path) -> None:
    def same(work: Path) -> None:
        (work / "a").mkdir()
        (work / "a" / "f").write_bytes(b"1")
        (work / "b").mkdir()
        (work / "b" / "f").write_bytes(b"1")

    rc, cs = both(tmp_path, same, "check", "./a/", "b")
    assert cs.code == rc.code == 0
    assert cs.lines("NOTICE") == rc.lines("NOTICE")
    assert cs.err.count("\n") == rc.err.count("\n")


@pytest.mark.parametrize("flags", [
    ("--combined", "-"),
    ("--differ", "-", "--missing-on-dst", "-"),
    ("--missing-on-src", "-"),
    ("--match", "-"),
    ("--error", "-", "--match", "-"),
])
def test_check_reports_to_standard_output(tmp_path: Path, flags: tuple[str, ...]) -> None:
    rc, cs = both(tmp_path, _check_tree, "check", "a", "b", *flags)
    assert cs.code == rc.code == 1
    assert sorted(cs.out.splitlines()) == sorted(rc.out.splitlines())
    assert rc.out  # (the oracle did print something)
    assert not (tmp_path / "cloudsync" / "-").exists()


MIME_NAMES = ["a.txt", "b.jpg", "c.tar.gz", "d.JSON", "e.md", "f.unknownext", "noext", ".bashrc",
              "h.webp", "i.mkv", "k.heic", "m.py", "n.go", "o.svg", "p.ts", "q.HTML", "r.Mp3",
              "s.csv", "t.docx", "u.zip", "v.", "w.css"]


def test_lsjson_and_lsf_mime_types_are_rclones(tmp_path: Path) -> None:
    def tree(work: Path) -> None:
        (work / "m").mkdir()
        for name in MIME_NAMES:
            (work / "m" / name).write_bytes(b"x")

    rc, cs = both(tmp_path, tree, "lsjson", "m")
    assert cs.code == rc.code == 0
    want = {i["Name"]: i["MimeType"] for i in json.loads(rc.out)}
    got = {i["Name"]: i["MimeType"] for i in json.loads(cs.out)}
    assert got == want
    (tmp_path / "lsf").mkdir()
    rc, cs = both(tmp_path / "lsf", tree, "lsf", "--format", "pm", "--separator", "|", "m")
    assert sorted(cs.out.splitlines()) == sorted(rc.out.splitlines())
