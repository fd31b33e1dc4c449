"""cloudsync and the unmodified rclone on the same JottaCloud edges (offline server, one
namespace driver run for the module: :mod:`rclone_edges_driver`)."""

from __future__ import annotations

from typing import Any

import pytest

from .test_rclone import _run_driver

pytestmark = pytest.mark.slow

Runs = dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Runs]:
    out = _run_driver(tmp_path_factory.mktemp("edges"), "rclone_edges_driver.py")
    assert out["failures"] == []
    cases = out["cases"]
    assert isinstance(cases, dict)
    return cases


def _pairs(report: dict[str, Runs], case: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    runs = report[case]
    assert len(runs["rclone"]) == len(runs["cloudsync"]) > 0
    return list(zip(runs["rclone"], runs["cloudsync"], strict=True))


def test_destination_that_is_a_file_fails_as_in_rclone(report: dict[str, Runs]) -> None:
    """copy / sync / move / single-file copy / --no-traverse onto a file: rclone's NewFs
    fails (ErrorIsFile), exit 1 and one line; cloudsync the same (it was exit 6)."""
    for rc, cs in _pairs(report, "dst_is_file"):
        assert cs["rc"] == rc["rc"] == 1, (cs["argv"], cs["lines"])
        line = 'Failed to create file system for "jotta:ROOT/f.txt": is a file not a directory'
        assert any(line in ln for ln in rc["lines"])
        assert [ln for ln in cs["lines"] if "ERROR" in ln] == [f"ERROR : {line}"], cs["lines"]
        assert cs["tree"] == rc["tree"] == {"f.txt": [4, cs["tree"]["f.txt"][1], 1_000_000_000]}
        assert cs["uploads"] == rc["uploads"] == 0


def _copied(run: dict[str, Any]) -> list[str]:
    return sorted(ln for ln in run["lines"] if ": Copied " in ln)


def test_copy_dest_copies_server_side_what_it_holds_as_rclone(report: dict[str, Runs]) -> None:
    """--copy-dest: a file equal there is copied server-side (no upload), one that differs and
    one that is absent are uploaded -- trees, counters, uploads and lines as rclone's."""
    ((rc, cs),) = _pairs(report, "copy_dest")
    assert cs["rc"] == rc["rc"] == 0
    assert cs["tree"] == rc["tree"]
    assert rc["tree"]["dst/same.txt"][1] == "src:same.txt"
    assert rc["tree"]["dst/diff.txt"][1] == "src:diff.txt"
    assert cs["uploads"] == rc["uploads"] == 2  # diff.txt and absent.txt only
    keys = ("transfers", "serverSideCopies", "serverSideCopyBytes", "bytes", "totalBytes",
            "totalTransfers", "checks", "errors")
    assert {k: cs["stats"][k] for k in keys} == {k: rc["stats"][k] for k in keys}
    assert rc["stats"]["serverSideCopies"] == 2
    assert _copied(cs) == _copied(rc) == [
        "INFO: absent.txt: Copied (new)", "INFO: diff.txt: Copied (new)",
        "INFO: same.txt: Copied (server-side copy)", "INFO: sub/deep.txt: Copied (server-side copy)"]


def test_copy_dest_without_server_side_copy_is_refused_as_in_rclone(report: dict[str, Runs]) -> None:
    ((rc, cs),) = _pairs(report, "copy_dest_no_server_copy")
    assert cs["rc"] == rc["rc"] == 7
    assert cs["lines"] == rc["lines"]
    assert "can't use --copy-dest on a remote which doesn't support server side copy" in cs["lines"][-1]
    assert cs["uploads"] == rc["uploads"] == 0 and cs["tree"] == rc["tree"]
    assert not any(p.startswith("dst/") for p in cs["tree"])



@pytest.mark.parametrize(("case", "phrase"), [("timeout", "timed out talking to"),
                                              ("contimeout", "timed out talking to"),
                                              ("refused", "connection refused by")])
def test_a_service_that_never_answers_fails_fast_in_one_line_as_rclone(
        report: dict[str, Runs], case: str, phrase: str) -> None:
    """``timeout``: the connection and the TLS handshake succeed, the request is never
    answered (``--timeout 1s``); ``contimeout``: the TCP connect never completes (a full
    backlog, ``--contimeout 1s``, the idle timeout 30 s); ``refused``: nothing listens.
    rclone fails to open the remote (exit 1, no command retries); cloudsync the same."""
    for rc, cs in _pairs(report, case):
        assert cs["rc"] == rc["rc"] == 1, (cs["argv"], cs["lines"], rc["lines"])
        assert cs["seconds"] < 20 and rc["seconds"] < 20  # (well before the other limit, 30 s)
        errors = [ln for ln in cs["lines"] if ln.startswith(("ERROR", "NOTICE"))]
        assert len(errors) == 1, cs["lines"]
        assert f"{phrase} jfs.jottacloud.com" in errors[0]
        assert "Traceback" not in " ".join(cs["lines"])
