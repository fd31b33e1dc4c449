"""cloudsync: rclone-style copy, sync and check for JottaCloud, local and memory storage."""

from __future__ import annotations

from .backend import CAPABILITIES, Backend, Features
from .errors import CloudsyncError
from .options import BackendSpec, Option
from .types import Entry, PutInfo, Usage

__all__ = [
    "CAPABILITIES",
    "Backend",
    "BackendSpec",
    "CloudsyncError",
    "Entry",
    "Features",
    "Option",
    "PutInfo",
    "Usage",
    "__version__",
]

__version__ = "0.1.0"
