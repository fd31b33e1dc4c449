"""The ``cloudsync`` command line (click)."""

from __future__ import annotations


def main() -> None:
    raise SystemExit("cloudsync CLI not built yet")
