"""Table-driven tests of cloudsync.filters against rclone's documented filter semantics (§A.4)."""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path
from typing import Any

import pytest

from cloudsync.engine.options import FilterOptions
from cloudsync.errors import UsageError
from cloudsync.filters import (
    MIXED_INCLUDE_EXCLUDE_WARNING,
    Filter,
    glob_to_regex,
    parse_age,
    parse_size_kib_default,
)

NOW = 1_700_000_000.0
DAY = 86400.0


def make(**kw: Any) -> Filter:
    return Filter.from_options(FilterOptions(**kw), now=NOW)


def inc(f: Filter, path: str, size: int = 10, mtime_ns: int | None = None) -> bool:
    return f.include_file(path, size, mtime_ns)


# --- glob -> regex ---------------------------------------------------------------------------

GLOB_CASES = [
    # glob, path, matches
    ("*.jpg", "a.jpg", True),
    ("*.jpg", "dir/a.jpg", True),  # unanchored: matches after any "/"
    ("*.jpg", "a.jpg.txt", False),
    ("/*.jpg", "a.jpg", True),
    ("/*.jpg", "dir/a.jpg", False),  # anchored at the root
    ("a.jpg", "xa.jpg", False),  # unanchored still starts at a "/" boundary
    ("a.jpg", "x/a.jpg", True),
    ("dir/*", "dir/f", True),
    ("dir/*", "dir/sub/f", False),  # "*" stops at "/"
    ("dir/**", "dir/sub/f", True),  # "**" crosses "/"
    ("dir/**", "x/dir/sub/f", True),
    ("/dir/**", "x/dir/sub/f", False),
    ("?.txt", "a.txt", True),
    ("?.txt", "ab.txt", False),
    ("a?b", "a/b", False),  # "?" does not match "/"
    ("[ab].txt", "b.txt", True),
    ("[ab].txt", "c.txt", False),
    ("[^ab].txt", "c.txt", True),
    ("[a-c]x", "bx", True),
    ("[[:digit:]]*.log", "7days.log", True),
    ("[[:digit:]]*.log", "days.log", False),
    ("[^[:alpha:]].x", "1.x", True),
    ("[^[:alpha:]].x", "a.x", False),
    ("{a,b}.txt", "a.txt", True),
    ("{a,b}.txt", "b.txt", True),
    ("{a,b}.txt", "c.txt", False),
    ("file.{jp{,e}g,png}", "file.jpeg", True),  # nested alternation
    ("file.{jp{,e}g,png}", "file.jpg", True),
    ("{{.*\\.(jpg|png)}}", "dir/x.png", True),  # raw regex
    ("{{.*\\.(jpg|png)}}", "dir/x.gif", False),
    ("x{{[0-9]+}}.txt", "x123.txt", True),
    ("x{{[0-9]+}}.txt", "xab.txt", False),
    ("\\*.txt", "*.txt", True),  # escaped star is literal
    ("\\*.txt", "a.txt", False),
    ("a.b", "aXb", False),  # "." is literal
    ("a+(1)|$^", "a+(1)|$^", True),  # regex metacharacters are literal
    ("p (1).txt", "p (1).txt", True),
    ("ünï cödé.txt", "dir/ünï cödé.txt", True),
    ("*.txt", "a.txt\n", False),  # end anchor is end of text, not "before a newline"
]


@pytest.mark.parametrize(("glob", "path", "expected"), GLOB_CASES)
def test_glob_matching(glob: str, path: str, expected: bool) -> None:
    assert (re.search(glob_to_regex(glob), path) is not None) is expected


@pytest.mark.parametrize(
    ("glob", "regex"),
    [
        ("*.jpg", r"(^|/)[^/]*\.jpg\Z"),
        ("/a/**", r"^a/.*\Z"),
        ("?", r"(^|/)[^/]\Z"),
        ("{a,b}", r"(^|/)(a|b)\Z"),
        ("{{x}}", r"(^|/)(x)\Z"),
    ],
)
def test_glob_regex_text(glob: str, regex: str) -> None:
    assert glob_to_regex(glob) == regex


@pytest.mark.parametrize(
    "glob", ["***", "a]", "[ab", "{a,b", "a}", "{{abc", "[[:nosuch:]]", "x\\", "{{(}}"]
)
def test_bad_globs_are_usage_errors(glob: str) -> None:
    with pytest.raises(UsageError, match="bad glob pattern"):
        make(include=(glob,))


# --- rules and their order --------------------------------------------------------------------

RULE_CASES: list[tuple[dict[str, Any], str, bool]] = [
    ({}, "anything/at/all", True),
    ({"include": ("*.jpg",)}, "a.jpg", True),
    ({"include": ("*.jpg",)}, "a.txt", False),  # implicit "- /**" after includes
    ({"include": ("*.jpg",)}, "d/a.jpg", True),
    ({"exclude": ("*.jpg",)}, "a.txt", True),  # no include: default is include
    ({"exclude": ("*.jpg",)}, "d/a.jpg", False),
    ({"exclude": ("/*.jpg",)}, "d/a.jpg", True),
    ({"exclude": ("dir/",)}, "dir/f", False),  # "- dir/" == "- dir/**"
    ({"exclude": ("dir/",)}, "x/dir/sub/f", False),
    ({"exclude": ("dir/",)}, "dir", True),  # a *file* called dir is not matched
    ({"exclude": ("/dir/",)}, "x/dir/f", True),
    # Includes are added before excludes, whatever the command line order.
    ({"include": ("*.jpg",), "exclude": ("a/**",)}, "a/x.jpg", True),
    ({"include": ("*.jpg",), "exclude": ("a/**",)}, "a/x.txt", False),
    # --filter rules come after include/exclude, in their own order.
    ({"exclude": ("*.txt",), "filter": ("+ keep.txt",)}, "keep.txt", False),
    ({"filter": ("+ keep.txt", "- *.txt")}, "keep.txt", True),
    ({"filter": ("+ keep.txt", "- *.txt")}, "other.txt", False),
    ({"filter": ("- *.txt", "+ keep.txt")}, "keep.txt", False),
    ({"filter": ("+ *.jpg", "- **")}, "d/x.jpg", True),
    ({"filter": ("+ *.jpg", "- **")}, "d/x.png", False),
    # "!" clears everything before it, including --include/--exclude rules...
    ({"exclude": ("*.txt",), "filter": ("!",)}, "a.txt", True),
    ({"filter": ("- *.txt", "!", "- *.jpg")}, "a.txt", True),
    ({"filter": ("- *.txt", "!", "- *.jpg")}, "a.jpg", False),
    # ...but the implicit exclude of --include is added after the filters.
    ({"include": ("*.jpg",), "filter": ("!",)}, "a.jpg", False),
    ({"include": ("*.jpg",), "filter": ("!", "+ *.png")}, "a.png", True),
    # "+ dir/" is a directory-only rule: with no file rule, the implicit exclude wins.
    ({"include": ("a/",)}, "a/f", False),
    ({"filter": ("+ a/", "- *")}, "a/f", False),
    # "**" rules apply to files as well.
    ({"filter": ("+ /a/**", "- **")}, "a/b/c", True),
    ({"filter": ("+ /a/**", "- **")}, "b/c", False),
]


@pytest.mark.parametrize(("kw", "path", "expected"), RULE_CASES)
def test_rules(kw: dict[str, Any], path: str, expected: bool) -> None:
    assert inc(make(**kw), path) is expected


def test_mixing_include_and_exclude_logs_rclone_message(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="cloudsync.filters"):
        make(include=("*.jpg",), exclude=("*.png",))
    assert MIXED_INCLUDE_EXCLUDE_WARNING in caplog.text
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="cloudsync.filters"):
        make(include=("*.jpg",), filter=("- *.png",))
    assert MIXED_INCLUDE_EXCLUDE_WARNING not in caplog.text


@pytest.mark.parametrize("rule", ["*.jpg", "+*.jpg", "x", "# comment", "-", ""])
def test_malformed_filter_rule(rule: str) -> None:
    with pytest.raises(UsageError, match="malformed rule"):
        make(filter=(rule,))


def test_rule_files(tmp_path: Path) -> None:
    ff = tmp_path / "filters.txt"
    ff.write_text(
        "# a comment\n; another comment\n\n  + *.jpg  \r\n- secret/**\n+ secret2/**\n- *\n",
        encoding="utf-8",
    )
    f = make(filter_from=(str(ff),))
    assert inc(f, "x.jpg") and inc(f, "secret2/a")
    assert not inc(f, "x.txt")
    assert inc(f, "secret/a.jpg")  # "+ *.jpg" comes before "- secret/**"
    assert not inc(f, "secret/a.txt")

    incl = tmp_path / "incl.txt"
    incl.write_text("*.jpg\n#*.png\n", encoding="utf-8")
    excl = tmp_path / "excl.txt"
    excl.write_text("bad.jpg\n", encoding="utf-8")
    f = make(include_from=(str(incl),), exclude_from=(str(excl),))
    assert inc(f, "good.jpg")
    assert inc(f, "bad.jpg")  # include-from rules precede exclude-from rules
    assert not inc(f, "x.png")
    f = make(exclude_from=(str(excl),))
    assert not inc(f, "d/bad.jpg") and inc(f, "x.png")


def test_unreadable_rule_file_is_usage_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.txt")
    for key in ("include_from", "exclude_from", "filter_from", "files_from", "files_from_raw"):
        with pytest.raises(UsageError, match=r"nope\.txt"):
            make(**{key: (missing,)})


# --- directory pruning ------------------------------------------------------------------------

DIR_CASES: list[tuple[dict[str, Any], str, bool]] = [
    ({}, "any/dir", True),
    ({"include": ("/a/**",)}, "a", True),
    ({"include": ("/a/**",)}, "a/b/c", True),
    ({"include": ("/a/**",)}, "b", False),
    ({"include": ("*.jpg",)}, "b", True),  # could be anywhere: nothing is pruned
    ({"include": ("*.jpg",)}, "b/c/d", True),
    ({"include": ("/a/b/*.jpg",)}, "a", True),
    ({"include": ("/a/b/*.jpg",)}, "a/b", True),
    ({"include": ("/a/b/*.jpg",)}, "a/b/c", False),
    ({"include": ("/a/b/*.jpg",)}, "a/c", False),
    ({"include": ("/a/b/*.jpg",)}, "x", False),
    ({"include": ("a/*/x.txt",)}, "q/a/z", True),  # unanchored dir globs
    ({"include": ("a/*/x.txt",)}, "q/a/z/w", False),
    ({"include": ("{a,b}/x",)}, "c", False),  # braces without "/" split fine
    ({"include": ("{a,b}/x",)}, "q/b", True),
    ({"include": ("{a,b/c}/x",)}, "c", True),  # "/" inside braces: search everywhere
    ({"include": ("{{a/b}}/x",)}, "c", True),
    ({"exclude": ("*.jpg",)}, "d", True),  # excluding files never prunes dirs
    ({"exclude": ("*",)}, "d", False),  # ...except "*": no file anywhere survives
    ({"exclude": ("d/",)}, "d", False),
    ({"exclude": ("d/",)}, "x/d", False),
    ({"exclude": ("d/",)}, "d2", True),
    ({"exclude": ("/d/**",)}, "d", False),  # "/d/**" also matches the dir "d/" itself
    ({"exclude": ("/d/**",)}, "x/d", True),
    ({"exclude": ("d/*",)}, "d", True),  # file rule only
    ({"include": ("a/",)}, "a", True),
    ({"include": ("a/",)}, "b", False),
    ({"filter": ("+ *.jpg", "- *")}, "d", True),  # jpgs may be anywhere
    ({"filter": ("+ /*.jpg", "- *")}, "d", False),  # only root jpgs; "- *" prunes all dirs
    ({"filter": ("- /x/**", "+ **")}, "x", False),
    ({"filter": ("- /x/**", "+ **")}, "y", True),
    ({"include": ("/a/**",), "filter": ("!",)}, "b", False),  # implicit "- /**" prunes all
    ({"min_size": 10}, "a", True),  # size/age never prune
    ({"include": ("/a/**",)}, "", True),  # the root is always listed
]


@pytest.mark.parametrize(("kw", "path", "expected"), DIR_CASES)
def test_include_dir(kw: dict[str, Any], path: str, expected: bool) -> None:
    assert make(**kw).include_dir(path) is expected


def test_include_dir_accepts_slashes() -> None:
    f = make(include=("/a/**",))
    assert f.include_dir("a/") and f.include_dir("/a") and not f.include_dir("b/")


# --- size and age -----------------------------------------------------------------------------

SIZE_CASES = [
    # min, max, size, included
    (1024, -1, 1023, False),
    (1024, -1, 1024, True),  # inclusive
    (-1, 1024, 1024, True),
    (-1, 1024, 1025, False),
    (100, 200, 150, True),
    (100, 200, 99, False),
    (100, 200, 201, False),
    (0, 0, 0, True),
    (0, 0, 1, False),
    (100, -1, -1, True),  # unknown size: never excluded by size
    (-1, 100, -1, True),
]


@pytest.mark.parametrize(("lo", "hi", "size", "expected"), SIZE_CASES)
def test_size_limits(lo: int, hi: int, size: int, expected: bool) -> None:
    assert inc(make(min_size=lo, max_size=hi), "f", size=size) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1024),  # KiB when no suffix
        ("0", 0),
        ("1.5", 1536),
        ("100B", 100),
        ("100b", 100),
        ("1K", 1024),
        ("1k", 1024),
        ("2M", 2 << 20),
        ("1G", 1 << 30),
        ("1KiB", 1024),
        ("off", -1),
    ],
)
def test_parse_size_kib_default(text: str, expected: int) -> None:
    assert parse_size_kib_default(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "1X", "-5"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(UsageError):
        parse_size_kib_default(text)


def ns(seconds_ago: float) -> int:
    return int((NOW - seconds_ago) * 1e9)


AGE_CASES: list[tuple[dict[str, Any], int | None, bool]] = [
    ({"max_age": DAY}, ns(DAY / 2), True),  # younger than max-age
    ({"max_age": DAY}, ns(2 * DAY), False),  # older
    ({"max_age": DAY}, ns(DAY), True),  # the boundary itself is kept
    ({"min_age": DAY}, ns(2 * DAY), True),
    ({"min_age": DAY}, ns(DAY / 2), False),
    ({"min_age": DAY}, ns(-DAY), False),  # future mtime is "newer"
    ({"min_age": DAY, "max_age": 3 * DAY}, ns(2 * DAY), True),
    ({"min_age": DAY, "max_age": 3 * DAY}, ns(4 * DAY), False),
    ({"max_age": DAY}, None, True),  # unknown mtime: never excluded by age
]


@pytest.mark.parametrize(("kw", "mtime_ns", "expected"), AGE_CASES)
def test_age_limits(kw: dict[str, Any], mtime_ns: int | None, expected: bool) -> None:
    assert inc(make(**kw), "f", mtime_ns=mtime_ns) is expected


def test_min_age_larger_than_max_age_is_usage_error() -> None:
    with pytest.raises(UsageError, match="can't be larger"):
        make(min_age=2 * DAY, max_age=DAY)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("10", 10.0),
        ("500ms", 0.5),
        ("90s", 90.0),
        ("5m", 300.0),
        ("2h", 7200.0),
        ("1h30m", 5400.0),
        ("2d", 2 * DAY),
        ("1w", 7 * DAY),
        ("1M", 30 * DAY),  # month, not minute
        ("1y", 365 * DAY),
        ("1.5d", 1.5 * DAY),
    ],
)
def test_parse_age_durations(text: str, seconds: float) -> None:
    assert parse_age(text, NOW) == pytest.approx(seconds)


def test_parse_age_absolute_times() -> None:
    local = dt.datetime(2023, 11, 10, 12, 30, 15)  # naive = local time, as rclone reads it
    for text in ("2023-11-10 12:30:15", "2023-11-10T12:30:15"):
        assert parse_age(text, NOW) == pytest.approx(NOW - local.timestamp())
    midnight = dt.datetime(2023, 11, 10)
    assert parse_age("2023-11-10", NOW) == pytest.approx(NOW - midnight.timestamp())
    utc = dt.datetime(2023, 11, 10, 12, 30, 15, tzinfo=dt.UTC).timestamp()
    assert parse_age("2023-11-10T12:30:15Z", NOW) == pytest.approx(NOW - utc)
    assert parse_age("2023-11-10T14:30:15.5+02:00", NOW) == pytest.approx(NOW - utc - 0.5)
    assert parse_age("off", NOW) is None


@pytest.mark.parametrize("text", ["", "yesterday", "2023-13-45", "5x", "-1h"])
def test_parse_age_rejects(text: str) -> None:
    with pytest.raises(UsageError):
        parse_age(text, NOW)


# --- files-from -------------------------------------------------------------------------------


def test_files_from(tmp_path: Path) -> None:
    lst = tmp_path / "list.txt"
    lst.write_text(
        "# photos\n  a/b/one.jpg  \n; old\n\n/two.txt\nmissing/x\r\nc/ # not a comment\n",
        encoding="utf-8",
    )
    f = make(files_from=(str(lst),))
    assert f.active
    assert f.files_from == frozenset({"a/b/one.jpg", "two.txt", "missing/x", "c/ # not a comment"})
    assert inc(f, "a/b/one.jpg") and inc(f, "two.txt")
    assert not inc(f, "a/b/two.jpg") and not inc(f, "a/b/one.jpg.bak")
    assert f.include_dir("a") and f.include_dir("a/b") and f.include_dir("missing")
    assert f.include_dir("c")
    assert not f.include_dir("b") and not f.include_dir("a/b/c") and not f.include_dir("a/c")
    # size/age/path rules do not apply to listed files
    assert inc(f, "two.txt", size=-1, mtime_ns=0)


def test_files_from_raw_keeps_lines_verbatim(tmp_path: Path) -> None:
    lst = tmp_path / "raw.txt"
    lst.write_bytes(b"# not a comment\n  spaced name  \nd/e.txt\r\nlast")
    f = make(files_from_raw=(str(lst),))
    assert f.files_from == frozenset({"# not a comment", "  spaced name  ", "d/e.txt", "last"})
    assert f.include_dir("d")


def test_files_from_several_lists_merge(tmp_path: Path) -> None:
    one, two = tmp_path / "1", tmp_path / "2"
    one.write_text("a\n", encoding="utf-8")
    two.write_text(" b \n", encoding="utf-8")
    f = make(files_from=(str(one),), files_from_raw=(str(two),))
    assert f.files_from == frozenset({"a", " b "})


def test_empty_files_from_includes_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("# nothing\n", encoding="utf-8")
    f = make(files_from=(str(empty),))
    assert f.files_from == frozenset() and f.active
    assert not inc(f, "x") and not f.include_dir("d")


@pytest.mark.parametrize(
    "extra",
    [
        {"include": ("*",)},
        {"exclude": ("*.tmp",)},
        {"filter": ("- x",)},
        {"min_size": 0},
        {"max_age": DAY},
        {"exclude_if_present": (".nobackup",)},
    ],
)
def test_files_from_mixed_with_other_filters_is_usage_error(
    tmp_path: Path, extra: dict[str, Any]
) -> None:
    lst = tmp_path / "l"
    lst.write_text("a\n", encoding="utf-8")
    with pytest.raises(UsageError, match="overrides all other filters"):
        make(files_from=(str(lst),), **extra)


def test_files_from_with_cleared_rules_is_fine(tmp_path: Path) -> None:
    lst = tmp_path / "l"
    lst.write_text("a\n", encoding="utf-8")
    f = make(files_from=(str(lst),), filter=("- x", "!"))  # "!" left no rule: not active
    assert f.files_from == frozenset({"a"})


# --- misc properties --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "active"),
    [
        ({}, False),
        ({"max_depth": 2, "delete_excluded": True}, False),
        ({"include": ("*",)}, True),
        ({"exclude": ("x",)}, True),
        ({"filter": ("- x", "!")}, False),
        ({"min_size": 0}, True),
        ({"max_size": 10}, True),
        ({"min_age": 1.0}, True),
        ({"max_age": 1.0}, True),
        ({"exclude_if_present": (".ignore",)}, True),
    ],
)
def test_active(kw: dict[str, Any], active: bool) -> None:
    assert make(**kw).active is active


def test_passthrough_fields() -> None:
    f = make(max_depth=3, delete_excluded=True, exclude_if_present=(".nobackup", ".ignore"))
    assert f.max_depth == 3 and f.delete_excluded
    assert f.exclude_if_present == (".nobackup", ".ignore")
    assert f.files_from is None
    g = make()
    assert g.max_depth == -1 and not g.delete_excluded and g.exclude_if_present == ()


def test_dump_lists_file_and_dir_rules() -> None:
    text = make(include=("/a/*.jpg",)).dump()
    assert "+ ^a/[^/]*\\.jpg\\Z" in text and "+ ^a/\\Z" in text and "- ^.*\\Z" in text


def test_default_filter_includes_everything() -> None:
    f = Filter()
    assert not f.active and f.files_from is None and f.max_depth == -1
    assert f.include_file("a/b", -1, None) and f.include_dir("a") and f.include_path("x")


def test_include_path_ignores_size_and_age(tmp_path: Path) -> None:
    f = make(include=("*.jpg",), min_size=100, max_age=DAY)
    assert f.include_path("d/x.jpg") and not f.include_path("x.png")
    assert not inc(f, "d/x.jpg", size=1)
    lst = tmp_path / "l"
    lst.write_text("a/b\n", encoding="utf-8")
    g = make(files_from=(str(lst),))
    assert g.include_path("a/b") and not g.include_path("a")
