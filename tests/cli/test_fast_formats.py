"""The per-entry formatting shortcuts of big listings give exactly the general answers."""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections.abc import Iterator

import pytest

from cloudsync.cli import formats
from cloudsync.types import Entry, _format_rfc3339_datetime, format_rfc3339


@pytest.fixture(params=["UTC", "Europe/Oslo", "America/St_Johns", "Asia/Kolkata",
                        "Australia/Lord_Howe"])
def local_zone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def test_rfc3339_shortcut_matches_datetime(local_zone: str) -> None:
    rnd = random.Random(local_zone)
    stamps = [rnd.randrange(-2_000_000_000, 4_000_000_000) * 10**9 + rnd.randrange(10**9)
              for _ in range(2000)]
    # around the 2024 spring and autumn clock changes in Europe and America
    for edge in (1711846800, 1729990800, 1710054000, 1730613600):
        stamps += [(edge + d) * 10**9 + 123 for d in range(-7200, 7200, 300)]
    stamps += [0, -1, 253402000000 * 10**9, -62135000000 * 10**9]  # years 9999 and 1
    for ns in stamps:
        secs, frac = divmod(ns, 10**9)
        for digits in (0, 3, 9):
            for tz in (None, dt.UTC):
                assert format_rfc3339(ns, digits, tz) == _format_rfc3339_datetime(
                    secs, frac, digits, tz), (ns, digits, tz)


def _reference(entry: Entry, path: str, *, local: bool, hashes: dict[str, str] | None) -> str:
    """The lsjson object the slow way: a dict in rclone's key order, json-encoded."""
    item: dict[str, object] = {"Path": path, "Name": path.rsplit("/", 1)[-1] or entry.name,
                               "Size": entry.size, "MimeType": formats.mime_type_of(entry),
                               "ModTime": format_rfc3339(entry.mtime_ns or 0, 9,
                                                         None if local else dt.UTC),
                               "IsDir": entry.is_dir}
    if hashes:
        item["Hashes"] = hashes
    if entry.id:
        item["ID"] = entry.id
    return formats.go_json(item)


@pytest.mark.parametrize("path", ["plain.txt", "dir/sub/f.bin", 'quote"and\\slash', "tab\there",
                                  "html<&>.x", "uni-ñ-日本\u2028.txt", "ctl\x01\x1f.txt"])
def test_lsjson_line_matches_json_encoding(path: str) -> None:
    fmt = formats.LsjsonFormat(precision_ns=1, local_tz=False)
    entry = Entry(path, False, 42, 1_324_817_999_123_456_789, id="id<1>")
    line = fmt(entry, path, {"md5": "abc", "sha1": ""})
    assert line == _reference(entry, path, local=False, hashes={"md5": "abc"})
    assert json.loads(line)["Path"] == path
    d = Entry(path, True, -1, 1_324_817_999_123_456_789)
    assert fmt(d, path) == _reference(d, path, local=False, hashes=None)


def test_time_text_matches_rfc3339(local_zone: str) -> None:
    """The per-hour/per-day cache of listings gives format_rfc3339's answer everywhere,
    including the hours with a clock change (Lord Howe moves by 30 minutes mid-hour)."""
    rnd = random.Random(local_zone + "cache")
    stamps = [rnd.randrange(-2_000_000_000, 4_000_000_000) * 10**9 + rnd.randrange(10**9)
              for _ in range(2000)]
    for edge in (1711846800, 1729990800, 1710054000, 1730613600, 1712417400, 1727539200):
        stamps += [(edge + d) * 10**9 + 987_654_321 for d in range(-7200, 7200, 97)]
    stamps += [0, -1, 253402000000 * 10**9, -62135000000 * 10**9]
    for digits in (0, 3, 6, 9):
        for tz in (None, dt.UTC):
            text = formats.TimeText(digits, tz)
            for ns in stamps + stamps[:50]:  # (the second time from the cache)
                assert text(ns) == format_rfc3339(ns, digits, tz), (ns, digits, tz)


@pytest.mark.parametrize("name", ["plain.txt", "x.JPG", "noext", ".bashrc", "a<b>&c.html",
                                  "uni-ñ\u2029.txt", 'q"uote\\.json'])
def test_lsjson_common_object_matches_json_encoding(name: str) -> None:
    """The one-f-string object (no hashes, ID or metadata) equals the general encoding."""
    for local in (False, True):
        fmt = formats.LsjsonFormat(precision_ns=1, local_tz=local)
        for path in (name, f"dir/{name}"):
            for entry in (Entry(path, False, 7, 1_324_817_999_123_456_789),
                          Entry(path, True, -1, 1_324_817_999_000_000_000),
                          Entry(path, False, 0, 5, mime_type="text/x<y>")):
                assert fmt(entry, path) == _reference(entry, path, local=local, hashes=None)
    root = Entry("", True, -1, 1_324_817_999_000_000_000)
    fmt = formats.LsjsonFormat(precision_ns=1, local_tz=False)
    assert fmt(root, "") == formats.go_json(json.loads(fmt(root, "")))


def test_entries_built_by_plain_stores_keep_the_dataclass_behaviour() -> None:
    """Entry's run-time __init__ (plain slot stores, see cloudsync.types) gives the same
    object as the dataclass would: defaults, keywords, equality, replace and repr."""
    import dataclasses

    e = Entry("a/b.txt", False, 3, 4)
    assert (e.path, e.is_dir, e.size, e.mtime_ns, dict(e.hashes), e.mime_type, e.id) == (
        "a/b.txt", False, 3, 4, {}, None, None)
    assert e == Entry(path="a/b.txt", is_dir=False, size=3, mtime_ns=4)
    assert e != Entry("a/b.txt", False, 3, 5)
    assert dataclasses.replace(e, size=9) == Entry("a/b.txt", False, 9, 4)
    assert repr(Entry("d", True)) == ("Entry(path='d', is_dir=True, size=-1, mtime_ns=None, "
                                      "hashes=mappingproxy({}), mime_type=None, id=None)")
    assert [f.name for f in dataclasses.fields(Entry)] == [
        "path", "is_dir", "size", "mtime_ns", "hashes", "mime_type", "id"]
