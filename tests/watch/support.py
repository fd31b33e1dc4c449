"""Running a real ``cloudsync … --watch`` process and waiting for its effects (polling with
deadlines, never fixed sleeps)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import threading

    from cloudsync.watch import Watcher


def wait_until(check: Callable[[], Any], timeout: float, what: str,
               proc: subprocess.Popen[str] | None = None, log: Path | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"watcher exited ({proc.returncode}) while waiting for {what}:\n"
                                 + (log.read_text()[-3000:] if log else ""))
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}\n"
                                 + (log.read_text()[-3000:] if log else ""))
        time.sleep(0.05)


class WatchProcess:
    def __init__(self, args: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        self._out = open(log, "w")  # noqa: SIM115 - closed in stop()
        self.proc: subprocess.Popen[str] = subprocess.Popen(
            [sys.executable, "-m", "cloudsync", *args], stdout=self._out,
            stderr=subprocess.STDOUT, text=True, env={**os.environ, **(env or {})})

    def text(self) -> str:
        return self.log.read_text()

    def wait_for_log(self, needle: str, timeout: float = 30.0, count: int = 1) -> None:
        wait_until(lambda: self.text().count(needle) >= count, timeout, f"log line {needle!r}",
                   self.proc, self.log)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self._out.close()

    def __enter__(self) -> WatchProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._out.close()


def old(path: Path, text: str | bytes) -> Path:
    """Write a file that has long stopped changing (its modtime is in the past)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    os.utime(path, ns=(1_600_000_000_000_000_000,) * 2)
    return path


@contextmanager
def watching(w: Watcher) -> Iterator[threading.Thread]:
    """Run ``w`` in a thread for the ``with`` block; then stop it the way SIGTERM would and
    check that it really ended."""
    import threading

    t = threading.Thread(target=w.run)
    t.start()
    try:
        yield t
    finally:
        w.request_stop(raise_in_pass=False)
        t.join(10)
    assert not t.is_alive()
