"""The public library API in ``cloudsync``: open_remote, copy, sync, move, check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import cloudsync
from cloudsync.events import TransferDone, TransferProgress, TransferStarted


def tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


@pytest.fixture
def conf(tmp_path: Path) -> str:
    path = tmp_path / "cloudsync.conf"
    path.write_text("[mem]\ntype = memory\n")
    return str(path)


def test_public_names_are_exported_lazily_and_documented() -> None:
    names = set(cloudsync.__all__)
    assert {"open_remote", "copy", "sync", "move", "check", "errors", "TransferResult",
            "CheckResult", "Difference", "Stats", "TransferStarted"} <= names
    for name in ("open_remote", "copy", "sync", "move", "check"):
        doc = getattr(cloudsync, name).__doc__
        assert doc and "::" in doc, name  # a docstring with an example
    assert cloudsync.errors.FatalError is not None
    out = subprocess.run(
        [sys.executable, "-c", "import sys, cloudsync; print(sorted(m for m in ('cloudsync.api', "
         "'cloudsync.engine', 'cloudsync.cli', 'requests', 'fsspec') if m in sys.modules))"],
        capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"  # import cloudsync stays light
    helptext = subprocess.run([sys.executable, "-c", "import cloudsync; help(cloudsync)"],
                              capture_output=True, text=True, check=True,
                              env={**os.environ, "PAGER": "cat"}).stdout
    for name in ("open_remote(", "copy(", "sync(", "move(", "check(", "class TransferResult"):
        assert name in helptext


def test_copy_sync_check_move_with_cli_options(tmp_path: Path, conf: str) -> None:
    src = tree(tmp_path / "src", {"a.txt": b"alpha", "sub/b.txt": b"beta", "skip.tmp": b"x"})
    events: list[object] = []
    result = cloudsync.copy(str(src), "mem:api/dst", config=conf, exclude=["*.tmp"],
                            transfers=2, progress=events.append)
    assert result.ok and result.exit_code == 0
    assert result.stats.transfers == 2 and result.stats.bytes == 9
    assert {type(e) for e in events} >= {TransferStarted, TransferProgress, TransferDone}
    assert {e.path for e in events if isinstance(e, TransferDone)} == {"a.txt", "sub/b.txt"}

    report = cloudsync.check(str(src), "mem:api/dst", config=conf, exclude="*.tmp")
    assert report.ok and report.differences == () and report.matched == ("a.txt", "sub/b.txt")

    (src / "a.txt").write_bytes(b"ALPHA!")
    (src / "new.txt").write_bytes(b"n")
    with cloudsync.open_remote("mem:api/dst", config=conf) as dst:
        dst.mkdir("extra")
    report = cloudsync.check(str(src), "mem:api/dst", config=conf, exclude=["*.tmp"])
    assert not report.ok and report.exit_code == 1
    assert [(d.kind, d.path) for d in report.differences] == [
        ("differ", "a.txt"), ("missing_on_dst", "new.txt")]

    dry = cloudsync.sync(str(src), "mem:api/dst", config=conf, dry_run=True, exclude=["*.tmp"])
    assert dry.ok
    with cloudsync.open_remote("mem:api/dst", config=conf) as dst:
        assert dst.stat("a.txt").size == 5 and dst.stat("extra").is_dir  # nothing changed
    result = cloudsync.sync(str(src), "mem:api/dst", config=conf, exclude=["*.tmp"], checksum=True)
    assert result.ok and result.stats.transfers == 2
    assert cloudsync.check(str(src), "mem:api/dst", config=conf, exclude=["*.tmp"]).ok

    moved = cloudsync.move("mem:api/dst", "mem:api/moved", config=conf)
    assert moved.ok
    with cloudsync.open_remote("mem:api", config=conf) as top:
        assert sorted(e.path for e in top.list("moved")) == ["moved/a.txt", "moved/new.txt", "moved/sub"]


def test_failures_are_typed_results_and_bad_options_raise(tmp_path: Path, conf: str) -> None:
    result = cloudsync.copy(str(tmp_path / "nope"), "mem:x", config=conf)
    assert not result.ok and result.exit_code == 3  # directory not found, as the CLI
    assert isinstance(result.error, FileNotFoundError) and result.errors
    with pytest.raises(TypeError, match="unknown option"):
        cloudsync.copy(str(tmp_path), "mem:x", config=conf, no_such_flag=True)
    with pytest.raises(cloudsync.errors.UsageError):
        cloudsync.sync(str(tmp_path), "mem:x", config=conf, size_only=True, checksum=True)
    with pytest.raises(cloudsync.errors.ConfigError, match="didn't find section"):
        cloudsync.open_remote("unknown:x", config=conf)
    (tmp_path / "big.bin").write_bytes(os.urandom(3000))
    limited = cloudsync.copy(str(tmp_path), "mem:lim", config=conf, max_transfer=1000)
    assert limited.exit_code == 8  # --max-transfer reached
