"""engine ``checksum`` (a destination against SUM-file lines) on memory and on the offline
JottaCloud server; the CLI is compared with the real rclone in tests/differential."""

from __future__ import annotations

import hashlib
import logging

import pytest

from cloudsync.backend import Backend
from cloudsync.engine.checksum import parse_sum_lines, run_checksum
from cloudsync.engine.options import CheckOptions

from .conftest import put


def test_sum_lines_text_binary_blank_and_malformed(caplog: pytest.LogCaptureFixture) -> None:
    lines = ["ABC  a b.txt\n", "def *dir/c\r\n", "\n", "garbage line\n", "# comment\n", "0a  /lead\n"]
    with caplog.at_level(logging.INFO, logger="cloudsync"):
        sums = parse_sum_lines(lines, "SUMS")
    assert sums == {"a b.txt": "abc", "dir/c": "def", "lead": "0a"}
    assert [r.getMessage() for r in caplog.records] == [
        "SUMS: improperly formatted checksum line 3", "SUMS: improperly formatted checksum line 4"]


@pytest.mark.parametrize("download", [False, True])
def test_matches_differences_and_missing_on_both_sides(remote_backend: Backend,
                                                       download: bool) -> None:
    for path, data in (("a", b"alpha"), ("d/b", b"beta"), ("d/extra", b"x")):
        put(remote_backend, path, data)
    sums = {"a": hashlib.md5(b"alpha").hexdigest(),
            "d/b": hashlib.md5(b"other").hexdigest(),
            "gone": "0" * 32}
    res = run_checksum(dict(sums), "md5", remote_backend, CheckOptions(), download=download)
    assert (res.matches, res.differences) == (1, 2)  # d/b differs, d/extra has no line
    assert not res.ok
    assert str(res.final_error) == "2 differences found"
    if download:
        assert res.stats.transfers == 2
    one_way = run_checksum(dict(sums), "md5", remote_backend, CheckOptions(one_way=True))
    assert (one_way.matches, one_way.differences) == (1, 1)
    ok = run_checksum({"a": sums["a"]}, "md5", remote_backend, CheckOptions(one_way=True))
    assert ok.ok and ok.final_error is None and ok.matches == 1
