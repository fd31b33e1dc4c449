"""Output that scripts parse, compared with the pinned rclone: the same command line runs
through both tools in identical fixtures and the lines a script would read must agree."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
         stdin: bytes | None = None, env: dict[str, str] | None = None) -> tuple[Out, Out]:
    """Run ``args`` through rclone and cloudsync, each in its own copy of the fixture
    (``env``: variables set on top of the harness's clean environment, e.g. ``TZ``)."""
    results = []
    assert RCLONE is not None
    for name, cmd in (("rclone", RCLONE), ("cloudsync", cloudsync_command())):
        work = tmp_path / name
        work.mkdir()
        make(work)
        tool_env = {**_tool_env(tmp_path / f"{name}-home"), **(env or {})}
        proc = subprocess.run([*cmd, *args], cwd=work, env=tool_env, capture_output=True, input=stdin,
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


def _links(work: Path) -> None:
    (work / "L" / "d").mkdir(parents=True)
    (work / "L" / "f").write_bytes(b"x")
    (work / "L" / "d" / "g").write_bytes(b"y")
    os.symlink("nowhere", work / "L" / "broken")
    os.symlink("self", work / "L" / "self")


def test_copy_links_broken_and_looping_symlinks_are_entry_errors(tmp_path: Path) -> None:
    rc, cs = both(tmp_path, _links, "copy", "-L", "L", "out")
    assert cs.code == rc.code == 6  # no-retry errors, as rclone's table
    for tool in ("rclone", "cloudsync"):  # the rest is copied
        assert (tmp_path / tool / "out" / "f").read_bytes() == b"x"
        assert (tmp_path / tool / "out" / "d" / "g").read_bytes() == b"y"
    for name in ("broken", "self"):
        assert any(line.startswith(f"{name}: ") for line in cs.lines("ERROR")), cs.err
    assert "Traceback" not in cs.err


@pytest.mark.parametrize("command", ["lsf", "lsjson"])
def test_listing_with_copy_links_lists_the_rest_and_fails_like_rclone(tmp_path: Path,
                                                                      command: str) -> None:
    rc, cs = both(tmp_path, _links, command, "-R", "-L", "L")
    assert cs.code == rc.code == 6
    if command == "lsf":
        assert sorted(cs.out.splitlines()) == sorted(rc.out.splitlines()) == ["d/", "d/g", "f"]
    else:
        assert sorted(i["Path"] for i in json.loads(cs.out)) == \
            sorted(i["Path"] for i in json.loads(rc.out))


def test_copy_links_directory_loop_is_reported_not_followed(tmp_path: Path) -> None:
    work = tmp_path / "w"
    (work / "L" / "d").mkdir(parents=True)
    (work / "L" / "f").write_bytes(b"x")
    os.symlink("..", work / "L" / "d" / "up")  # rclone follows this until paths get too long
    out = subprocess.run([*cloudsync_command(), "copy", "-L", "L", "out"], cwd=work,
                         env=_tool_env(tmp_path / "home"), capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 6, out.stderr
    assert "d/up: symlink loop" in out.stderr
    assert (work / "out" / "f").exists() and not (work / "out" / "d" / "up").exists()


def test_rmdirs_keeps_what_filters_exclude_and_their_parents(tmp_path: Path) -> None:
    def tree(work: Path) -> None:
        for d in ("t/keep/inner", "t/drop/sub", "t/x/keep", "t/y"):
            (work / d).mkdir(parents=True)

    rc, cs = both(tmp_path, tree, "rmdirs", "t", "--include", "/drop/**")
    assert cs.code == rc.code == 0

    def dirs(tool: str) -> list[str]:
        root = tmp_path / tool
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_dir())

    assert dirs("cloudsync") == dirs("rclone")
    assert "t/keep/inner" in dirs("cloudsync") and "t/drop" not in dirs("cloudsync")
    # with an exclude rule rclone also keeps the excluded folders and their parents (it then
    # fails trying to remove those parents; cloudsync knows they are not empty)
    (tmp_path / "ex").mkdir()
    rc, cs = both(tmp_path / "ex", tree, "rmdirs", "t", "--exclude", "keep/**")
    assert cs.code == 0
    assert sorted(p.name for p in (tmp_path / "ex" / "cloudsync" / "t").iterdir()) == \
        sorted(p.name for p in (tmp_path / "ex" / "rclone" / "t").iterdir()) == ["keep", "x"]


def test_help_without_argument_is_the_overview_exit_0(tmp_path: Path) -> None:
    rc, cs = both(tmp_path, lambda w: None, "help")
    assert cs.code == rc.code == 0
    assert "Available commands:" in rc.out and "Commands:" in cs.out
    assert "  copy " in rc.out and "  copy " in cs.out


def test_rmdir_of_a_missing_folder_exits_as_rclone(tmp_path: Path) -> None:
    rc, cs = both(tmp_path, lambda w: None, "rmdir", "nope")
    assert cs.code == rc.code == 1
    assert "nope" in cs.err and "directory not found" in cs.err
    assert "Traceback" not in cs.err


#: names whose bytes are not UTF-8: one bad byte, two, a truncated sequence (two bytes Go
#: replaces one by one), and one in a subfolder
_NOT_UTF8 = (b"bad\xffname.txt", b"two\xfe\xc3.txt", b"trunc\xe2\x82x.txt", b"sub/in\xff.txt")


def _not_utf8_tree(work: Path) -> None:
    src = os.fsencode(work / "src")
    os.makedirs(os.path.join(src, b"sub"))
    for name in (*_NOT_UTF8, "fine é.txt".encode()):
        with open(os.path.join(src, name), "wb") as f:
            f.write(b"x")


def _without_config_notice(err: str) -> list[str]:
    return sorted(_STAMP.sub("", line) for line in err.splitlines() if "Config file" not in line)


@pytest.mark.parametrize("args", [("lsjson", "-R", "--no-modtime", "src"), ("lsjson", "--no-modtime", "src/sub"),
                                  ("lsjson", "-R", "--no-modtime", "-M", "--files-only", "src"),
                                  ("copy", "src", "dst")])
def test_lsjson_of_names_not_utf8_is_rclones_byte_for_byte(tmp_path: Path, args: tuple[str, ...]) -> None:
    rc, cs = both(tmp_path, _not_utf8_tree, *args)
    assert cs.code == rc.code == 0, cs.err
    if "-M" in args:  # (atime and btime differ between the two fixtures: compare the rest)
        def strip(out: bytes) -> list[Any]:
            return sorted((json.loads(out) or []), key=lambda i: i["Path"])
        got, want = strip(cs.stdout), strip(rc.stdout)
        assert [(i["Path"], sorted(i["Metadata"])) for i in got] == \
            [(i["Path"], sorted(i["Metadata"])) for i in want]
        assert b"\\ufffd" in cs.stdout
    else:
        # Go escapes each byte that is not UTF-8 as \ufffd; the order of entries is the
        # directory's, so lines are compared sorted
        assert sorted(cs.stdout.splitlines()) == sorted(rc.stdout.splitlines())
        assert b"\\ufffd\\ufffdx.txt" in rc.stdout or "-R" not in args
    # the notice, once per name, on stderr, at NOTICE level, the path quoted as Go's %q
    assert _without_config_notice(cs.err) == _without_config_notice(rc.err)
    assert any('Replacing invalid UTF-8 characters in "' in line for line in rc.lines("NOTICE"))


def test_lsf_of_names_not_utf8_is_rclones_in_valid_utf8(tmp_path: Path) -> None:
    # rclone writes the raw bytes; cloudsync's listings are always valid UTF-8 (issue 8, point 5):
    # the same output with each such byte shown as U+FFFD, as in lsjson (DISAGREEMENTS.md)
    rc, cs = both(tmp_path, _not_utf8_tree, "lsf", "-R", "src")
    assert cs.code == rc.code == 0, cs.err
    cs.stdout.decode("utf-8")  # (strict: raises on any byte that is not UTF-8)
    shown = re.sub("[\udc80-\udcff]", "\ufffd", os.fsdecode(rc.stdout)).encode()
    assert sorted(cs.stdout.splitlines()) == sorted(shown.splitlines())
    assert _without_config_notice(cs.err) == _without_config_notice(rc.err)


def _tree_fixture(work: Path) -> None:
    for rel, data in (("a.txt", b"hello\n"), ("sub/b.bin", b"x" * 2000), ("sub/deep/c.md", b"zz"),
                      ("zero", b""), ("sp ace.txt", b"name"), (".hidden", b"h"), ("sub/.h2", b"")):
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_bytes(data)
        os.utime(work / rel, (1577934245, 1577934245))  # 2020-01-02T03:04:05Z
    (work / "empty").mkdir()
    os.utime(work / "zero", (1_780_000_000, 1_780_000_000))
    for d in ("sub/deep", "sub", "empty", "."):
        os.utime(work / d, (1_790_000_000, 1_790_000_000))


@pytest.mark.parametrize("flags", [
    (), ("-a",), ("-d",), ("-a", "-d"), ("--dirsfirst",), ("--full-path",), ("--level", "1"),
    ("--level", "2"), ("-D",), ("--noindent",), ("--noreport",), ("-p",), ("-Q",), ("-s",),
    ("-t",), ("-r",), ("-t", "-r"), ("-U",), ("--sort", "size"), ("--sort", "mtime"),
    ("--version",), ("-p", "-s", "-D"), ("-s", "-D", "-Q", "-a"), ("--full-path", "--noindent", "-d"),
    ("-ds",), ("--dirsfirst", "-r"), ("--dirsfirst", "-t"), ("--dirsfirst", "--sort", "name"),
    ("--dirsfirst", "-U"), ("--dirsfirst", "--sort", "size"), ("--dirsfirst", "--version"),
    ("--dirsfirst", "--sort", "mtime"),
])
def test_tree_flags_print_as_rclone(tmp_path: Path, flags: tuple[str, ...]) -> None:
    rc, cs = both(tmp_path, _tree_fixture, "tree", ".", *flags)
    assert cs.code == rc.code == 0, cs.err
    assert cs.out == rc.out


def test_tree_output_file(tmp_path: Path) -> None:
    rc, cs = both(tmp_path, _tree_fixture, "tree", "sub", "-o", "../tree.txt")
    assert cs.code == rc.code == 0
    assert (tmp_path / "tree.txt").exists()
    assert cs.out == rc.out == ""


def test_hashsum_base64_is_not_padded(tmp_path: Path) -> None:
    rc, cs = both(tmp_path, _tree_fixture, "hashsum", "sha1", "--base64", ".")
    assert cs.code == rc.code == 0
    assert sorted(cs.out.splitlines()) == sorted(rc.out.splitlines())


@pytest.mark.parametrize("layout", [
    "RFC3339", "RFC3339Nano", "DateOnly", "DateTime", "TimeOnly", "Kitchen", "ANSIC", "UnixDate",
    "RubyDate", "RFC822", "RFC850", "RFC1123Z", "Stamp", "StampMilli", "StampNano", "max", "unix",
    "unixnano", "2006-01-02", "Jan _2 06 3:04PM", "02/01/2006 15:04:05.000",
    "Monday 002 pm -0700 Z07:00 .999 ,000", "%Y-%m-%d",
])
@pytest.mark.parametrize("tz", ["UTC", "Europe/Oslo"])
def test_lsf_time_format_takes_go_layouts(tmp_path: Path, layout: str, tz: str) -> None:
    def tree(work: Path) -> None:
        (work / "f").write_bytes(b"x")
        os.utime(work / "f", ns=(1_577_934_245_123_450_000, 1_577_934_245_123_450_000))

    rc, cs = both(tmp_path, tree, "lsf", "--format", "tp", "-t", layout, ".", env={"TZ": tz})
    assert cs.code == rc.code == 0
    assert cs.out == rc.out


@pytest.mark.parametrize("target", ["dir", "nothing"])
def test_deletefile_of_a_folder_or_nothing_exits_4(tmp_path: Path, target: str) -> None:
    def tree(work: Path) -> None:
        (work / "dir").mkdir()
        (work / "dir" / "f").write_bytes(b"x")

    rc, cs = both(tmp_path, tree, "deletefile", target)
    assert cs.code == rc.code == 4
    assert (tmp_path / "cloudsync" / "dir" / "f").exists()


def _global_flags_tree(work: Path) -> None:
    (work / "src" / "sub").mkdir(parents=True)
    (work / "src" / "a.txt").write_bytes(b"hello\n")
    (work / "src" / "sub" / "b").write_bytes(b"b")


@pytest.mark.parametrize("args", [
    ("lsf", "-R", "src", "--fast-list"), ("ls", "src", "--transfers", "4"),
    ("size", "src", "--checkers", "16"), ("md5sum", "src", "--checkers", "16", "--retries", "1"),
    ("cat", "src/a.txt", "--retries", "1"), ("cat", "src/a.txt", "--bwlimit=1M"),
    ("lsjson", "src", "--no-modtime", "--fast-list", "--max-backlog", "100"), ("ls", "src", "-n"),
    ("--fast-list", "lsf", "src"), ("mkdir", "new", "--retries", "2", "--update"),
    ("lsf", "src", "--delete-after", "--ignore-existing", "-c"),
])
def test_every_global_flag_is_accepted_by_every_command(tmp_path: Path, args: tuple[str, ...]) -> None:
    rc, cs = both(tmp_path, _global_flags_tree, *args)
    assert cs.code == rc.code == 0, cs.err
    assert sorted(cs.out.splitlines()) == sorted(rc.out.splitlines())


def test_unknown_flags_are_still_refused(tmp_path: Path) -> None:
    rc, cs = both(tmp_path, _global_flags_tree, "ls", "src", "--no-such-flag")
    assert cs.code == rc.code == 2


def _folder_to_move(work: Path) -> None:
    (work / "w/d/sub").mkdir(parents=True)
    (work / "w/d/a.txt").write_bytes(b"a")


@pytest.mark.parametrize("flags", [("-v",), ("-v", "--error-on-no-transfer"), ("-v", "--dry-run")])
def test_whole_folder_server_side_move_logs_as_rclone(tmp_path: Path, flags: tuple[str, ...]) -> None:
    rc, cs = both(tmp_path, _folder_to_move, "move", "w/d", "w/m", *flags)
    assert cs.code == rc.code, cs.err
    assert cs.lines("INFO  ")[:1] == rc.lines("INFO  ")[:1]
    if "--dry-run" not in flags:
        assert rc.lines("INFO  ")[0] == "Local file system at w/m: Server side directory move succeeded"
    assert cs.lines("NOTICE")[:1] == rc.lines("NOTICE")[:1]
    assert "There was nothing to transfer" not in cs.err
    assert sorted(p.name for p in (tmp_path / "cloudsync/w").iterdir()) == \
        sorted(p.name for p in (tmp_path / "rclone/w").iterdir())
