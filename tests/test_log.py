"""Shared logging vocabulary: rclone's size rendering and dry-run notice."""

from __future__ import annotations

import logging

import pytest

from cloudsync.cli.formats import byte_unit
from cloudsync.log import skipped_dry_run
from cloudsync.types import size_suffix


@pytest.mark.parametrize(("n", "want"), [
    (-1, ("off", "")), (0, ("0", "")), (3, ("3", "")), (1023, ("1023", "")),
    (1024, ("1", "Ki")), (1536, ("1.500", "Ki")), (2048, ("2", "Ki")),
    (10 << 20, ("10", "Mi")), ((1 << 30) + (1 << 29), ("1.500", "Gi")),
])
def test_size_suffix_is_rclones(n: int, want: tuple[str, str]) -> None:
    assert size_suffix(n) == want


def test_byte_unit() -> None:
    assert byte_unit(72) == "72 B" and byte_unit(1536) == "1.500 KiB"


def test_dry_run_notice_matches_rclone(caplog: pytest.LogCaptureFixture) -> None:
    # Verified against rclone 1.75.2: `copy -n` of 2048 and 1536 byte files prints
    # "(size 2Ki)" and "(size 1.500Ki)"; directories and unknown sizes print no size.
    log = logging.getLogger("cloudsync.test")
    with caplog.at_level(logging.INFO, logger="cloudsync.test"):
        skipped_dry_run(log, "copy", "a", 2048)
        skipped_dry_run(log, "copy", "b", 1536)
        skipped_dry_run(log, "make directory", "d")
    assert [r.getMessage() for r in caplog.records] == [
        "a: Skipped copy as --dry-run is set (size 2Ki)",
        "b: Skipped copy as --dry-run is set (size 1.500Ki)",
        "d: Skipped make directory as --dry-run is set",
    ]
    assert caplog.records[0].__dict__["size"] == 2048
    assert caplog.records[0].__dict__["skipped"] == "copy"
