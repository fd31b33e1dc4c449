"""Times, rclone's version names and version picking (cloudsync.history)."""

from __future__ import annotations

import pytest

from cloudsync.history import Version, parse_time, pick_version, split_version_name, version_name

S = 1_000_000_000
NOON = 1_793_534_400 * S  # 2026-11-01T12:00:00Z


@pytest.mark.parametrize("text, expected", [
    ("2026-11-01T12:00:00Z", NOON),
    ("2026-11-01T13:00:00+01:00", NOON),
    ("2026-11-01t12:00:00.250z", NOON + 250_000_000),
    ("2026-11-01 12:00:00Z", NOON),
])
def test_rfc3339(text: str, expected: int) -> None:
    assert parse_time(text) == expected


def test_durations_are_ago() -> None:
    now = NOON + 10 * 86400 * S
    assert parse_time("3d", now) == now - 3 * 86400 * S
    assert parse_time("1h30m", now) == now - 5400 * S
    assert parse_time("2w", now) == now - 14 * 86400 * S


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-01", "", "3 parsecs"])
def test_bad_times(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_time(bad)


def test_version_names_as_rclone() -> None:
    assert version_name("file.txt", NOON) == "file-v2026-11-01-120000-000.txt"
    assert version_name("d/archive.tar.gz", NOON + 5_000_000) == "d/archive.tar-v2026-11-01-120000-005.gz"
    assert version_name("noext", NOON) == "noext-v2026-11-01-120000-000"
    assert version_name(".hidden", NOON) == ".hidden-v2026-11-01-120000-000"
    assert split_version_name("d/file-v2026-11-01-120000-007.txt") == ("d/file.txt", NOON + 7_000_000)
    assert split_version_name("file.txt") is None
    assert split_version_name("file-v2026-11-01-120000-000-x.txt") is None


def test_pick_version_skips_unfinished_and_later() -> None:
    vs = [Version("3", 1, None, "c", NOON + 10 * S, "INCOMPLETE"),
          Version("2", 1, None, "b", NOON + 5 * S),
          Version("1", 1, None, "a", NOON)]
    assert pick_version(vs, NOON + 20 * S).id == "2"  # type: ignore[union-attr]
    assert pick_version(vs, NOON + 4 * S).id == "1"  # type: ignore[union-attr]
    assert pick_version(vs, NOON - S) is None
