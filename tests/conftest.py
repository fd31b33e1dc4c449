"""Suite-wide isolation: no test touches the real home directory, config, state or keyring.

Set before any test module is imported so subprocesses (the CLI, rclone, servers) inherit it.
Individual tests still point CLOUDSYNC_CONFIG / RCLONE_CONFIG at their own temporary files.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_HOME = Path(tempfile.mkdtemp(prefix="cloudsync-test-home-"))
# Each pytest process (and each xdist worker) makes its own; without this, every run leaves
# one per process in /tmp.
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)
for _var, _sub in (
    ("HOME", ""),
    ("XDG_CONFIG_HOME", ".config"),
    ("XDG_CACHE_HOME", ".cache"),
    ("XDG_STATE_HOME", ".local/state"),
    ("XDG_DATA_HOME", ".local/share"),
):
    _path = _HOME / _sub
    _path.mkdir(parents=True, exist_ok=True)
    os.environ[_var] = str(_path)

# A real desktop keyring must never receive test secrets.  Tests that exercise the keyring path
# install an in-memory backend with keyring.set_keyring() (in-process) themselves.
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
for _var in list(os.environ):
    # Settings from the developer's shell must not leak into tests.
    # (CLOUDSYNC_TEST_* carries credentials for opt-in --live runs and is kept.)
    if _var.startswith(("CLOUDSYNC_", "RCLONE_")) and not _var.startswith("CLOUDSYNC_TEST_"):
        del os.environ[_var]


def pytest_addoption(parser: pytest.Parser) -> None:
    # Opt-in runs against the real JottaCloud service (re-recording cassettes); see
    # tests/jottacloud/README.md.  Defined here because pytest only reads options from
    # conftest files it loads at start-up.
    parser.addoption(
        "--live",
        action="store_true",
        default=False,
        help="talk to the real JottaCloud service (needs CLOUDSYNC_TEST_JOTTA_* variables)",
    )


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """In-process CLI runs configure the ``cloudsync`` logger; leave it as we found it so later
    tests in the same worker see the default setup (and no handler on a closed stream)."""
    logger = logging.getLogger("cloudsync")
    level, handlers, propagate = logger.level, list(logger.handlers), logger.propagate
    yield
    for handler in list(logger.handlers):
        if handler not in handlers:
            logger.removeHandler(handler)
            handler.close()
    logger.setLevel(level)
    logger.propagate = propagate
