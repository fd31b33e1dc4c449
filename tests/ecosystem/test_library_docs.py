"""Every Python example in docs/library.md runs, unchanged, against the offline JottaCloud
server: the examples are scripts run in order with a ``jotta`` remote in the config file and a
home folder holding ~/Documents and ~/Pictures."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fsspec")
pytest.importorskip("pandas")
pytest.importorskip("distributed")

from cloudsync.jottaserver.testing import JottaServer

from .support import jotta_remote, write_config

DOC = Path(__file__).resolve().parents[2] / "docs" / "library.md"

SALES = {
    "sales-2024.csv": "region,amount\nnorth,10\nsouth,5\nnorth,2.5\n",
    "sales-2025.csv": "region,amount\nsouth,1\neast,7\n",
}


def examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[JottaServer, dict[str, str]]]:
    home = tmp_path / "home"
    for rel, data in {"Documents/report.txt": "quarterly report\n",
                      "Documents/notes/todo.md": "- back up\n",
                      "Documents/scratch.tmp": "ignored\n",
                      "Pictures/cat.jpg": "not really a jpeg\n"}.items():
        p = home / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(data)
    with JottaServer() as srv:
        for name, text in SALES.items():
            srv.state.put_file(f"Jotta/Archive/data/{name}", text.encode())
        conf = write_config(tmp_path / "cloudsync.conf", {"jotta": jotta_remote(srv)})
        env = {**os.environ, "HOME": str(home), "CLOUDSYNC_CONFIG": str(conf)}
        yield srv, env


def run(code: str, env: dict[str, str], tmp: Path, n: int) -> str:
    script = tmp / f"example_{n}.py"
    script.write_text(code)
    proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                          text=True, timeout=180, cwd=tmp)
    assert proc.returncode == 0, f"example {n} failed:\n{code}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    return proc.stdout


@pytest.mark.timeout(400)
def test_every_library_example_runs(world: tuple[JottaServer, dict[str, str]], tmp_path: Path) -> None:
    srv, env = world
    codes = examples()
    assert len(codes) == 7
    outputs = [run(code, env, tmp_path, n) for n, code in enumerate(codes)]
    backup, verify, progress, listing, pandas_out, browse, dask_out = outputs

    assert "2 files (" in backup and "0 deleted" in backup
    assert srv.state.read("Jotta/Archive/backup/Documents/report.txt") == b"quarterly report\n"
    assert not srv.state.exists("Jotta/Archive/backup/Documents/scratch.tmp")
    assert "2 files match" in verify and "backup verified" in verify
    assert "done cat.jpg" in progress and "ok" in progress.splitlines()[-1]
    assert "file Documents/report.txt" in listing and "used:" in listing
    assert re.search(r"north\s+12\.5", pandas_out) and "(3, 2)" in pandas_out
    assert srv.state.exists("Jotta/Archive/data/sales-2024.parquet")
    assert "written from fsspec" in browse and "region,amount" in browse
    assert re.search(r"east\s+7\.0", dask_out) and re.search(r"south\s+6\.0", dask_out)
