"""Helpers for the fsspec / library API tests: config files for local, memory and JottaCloud
(offline server) remotes.  No test code here."""

from __future__ import annotations

import configparser
from collections.abc import Mapping
from pathlib import Path

from cloudsync.jottaserver.testing import JottaServer


def write_config(path: Path, remotes: Mapping[str, Mapping[str, str]]) -> Path:
    """Write an rclone-style config file with one section per remote."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    for name, values in remotes.items():
        parser[name] = dict(values)
    with path.open("w") as f:
        parser.write(f)
    path.chmod(0o600)
    return path


def jotta_remote(srv: JottaServer, **extra: str) -> dict[str, str]:
    """A jottacloud remote logged in to ``srv`` (tokens issued without HTTP)."""
    from jottacloud.support import jotta_options

    return {"type": "jottacloud", **jotta_options(srv, **extra)}
