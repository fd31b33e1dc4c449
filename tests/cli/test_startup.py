"""Start-up stays light: what ``version``, ``--help`` and a listing import (``-X importtime``).

Timing is left to bench/bench_scale.py; these tests pin the cause instead: a heavy module
creeping back into the start-up path of a command shows up here as a name in the import log.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

#: never on the start-up path of any of the commands below
HEAVY = ("requests", "urllib3", "lxml", "rich", "keyring", "cryptography", "nacl",
         "importlib.metadata", "cloudsync.backends.jottacloud", "cloudsync.jottaserver",
         "http.client", "ssl", "asyncio", "concurrent.futures")
#: the copy/sync/check machinery
ENGINE = ("cloudsync.engine.copy_sync", "cloudsync.engine.checker",
          "cloudsync.engine.march", "cloudsync.engine.act", "cloudsync.engine.plan",
          "cloudsync.engine.ops")


def imported(tmp_path: Path, *args: str) -> set[str]:
    """Modules the command line ``cloudsync ARGS`` imports, from ``python -X importtime``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDSYNC_")}
    env["CLOUDSYNC_CONFIG"] = str(tmp_path / "none.conf")
    env["HOME"] = str(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c",
         "import sys; from cloudsync.cli import main; main(sys.argv[1:])", *args],
        capture_output=True, text=True, env=env, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines()
             if line.startswith("import time:") and line.count("|") == 2}
    assert "cloudsync.cli" in names  # the log was read at all
    return names


def _found(names: set[str], banned: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if any(n == b or n.startswith(b + ".") for b in banned))


def test_version_imports_neither_click_nor_engine(tmp_path: Path) -> None:
    names = imported(tmp_path, "version")
    assert _found(names, HEAVY + ENGINE + ("cloudsync.engine", "click", "cloudsync.backend",
                                           "cloudsync.backends", "platform", "subprocess")) == []


def test_help_imports_no_engine_and_no_backend(tmp_path: Path) -> None:
    names = imported(tmp_path, "--help")
    assert _found(names, HEAVY + ENGINE + ("cloudsync.engine", "cloudsync.backends",
                                           "cloudsync.config", "configparser")) == []


#: what a listing of a local folder does not need either: the transfer options (SyncOptions'
#: ~60 dataclass fields), the run results and their events, the transfer API
LISTING_EXTRA = ("cloudsync.engine.options", "cloudsync.engine.api", "cloudsync.engine.result",
                 "cloudsync.events", "configparser")
#: what the local backend's writes and its time-precision probe use (tempfile with shutil,
#: random, bz2, lzma): lsjson prints times to the file system's precision, so it probes, as
#: rclone's does; lsf and size do not need to
PROBE = ("tempfile", "shutil", "random", "bz2", "lzma")


@pytest.mark.parametrize(("args", "banned"), [(("lsf",), PROBE), (("lsjson", "-R"), ()),
                                              (("size",), PROBE)])
def test_listing_of_a_local_folder_imports_no_transfer_engine(
        tmp_path: Path, args: tuple[str, ...], banned: tuple[str, ...]) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    names = imported(tmp_path, *args, str(folder))
    assert _found(names, HEAVY + ENGINE + LISTING_EXTRA + banned) == []


def test_flags_of_the_command_need_no_plugin_scan(tmp_path: Path) -> None:
    # entry points (importlib.metadata) are read only for a --<type>-<option> flag that is
    # not a built-in backend's and not one of the command's own flags
    folder = tmp_path / "empty"
    folder.mkdir()
    names = imported(tmp_path, "lsf", "--files-only", "--max-depth", "2", "--local-no-fsync",
                     str(folder))
    assert "importlib.metadata" not in names
