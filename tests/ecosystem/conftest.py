"""Fixtures of the fsspec / library tests: an offline JottaCloud server and a config file with
a ``jotta`` remote on it (plus a ``mem`` memory remote)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cloudsync.jottaserver.testing import JottaServer

from .support import jotta_remote, write_config


@pytest.fixture
def srv() -> Iterator[JottaServer]:
    with JottaServer() as server:
        yield server


@pytest.fixture
def conf(srv: JottaServer, tmp_path: Path) -> str:
    return str(write_config(tmp_path / "cloudsync.conf",
                            {"jotta": jotta_remote(srv), "mem": {"type": "memory"}}))
