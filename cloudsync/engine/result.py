"""What every engine operation returns."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..events import Stats

__all__ = ["RunResult"]


@dataclass
class RunResult:
    """Outcome of one engine operation.

    ``errors`` holds every counted error (in the order they were counted).  ``final_error`` is
    the error that decides the exit code (pass it to :func:`cloudsync.errors.exit_code_for`),
    chosen the way rclone does: the operation's own error if it returned one, else the last
    counted error.  ``nothing_transferred`` is True when a successful copy/sync/move moved no
    data (``--error-on-no-transfer`` turns that into exit 9).
    """

    stats: Stats = field(default_factory=Stats)
    errors: list[BaseException] = field(default_factory=list)
    final_error: BaseException | None = None
    nothing_transferred: bool = False
    #: check only: number of differences found (also the reason for a final error).
    differences: int = 0
    #: check only: pairs that matched.
    matches: int = 0
    #: rclone's retry classification of the run, for ``run_with_retries``.
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.final_error is None
