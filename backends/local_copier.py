"""Helper processes that run the batches of a big local→local copy.

Copying a small local file is about eleven system calls with a little Python around each.
Several transfer threads of one process spend most of that time handing the GIL to each other:
a 50,000-file copy with four transfer threads made 3.4 million ``futex`` calls and spent 8 s in
the kernel, against 2 s for rclone, whose copies run on every core.  A batch handed to a helper
process runs on a core of its own, with a GIL of its own, while this process goes on listing
and planning.

A helper gives every file exactly the guarantees of an in-process copy, because it runs the
same code (:meth:`LocalBackend.copy_jobs`): each file is written under its temporary name,
the batch is made durable by one ``syncfs``, and only then is each file renamed into place.
What a helper cannot finish (it died, or could not start) is copied again in this process, so
a failing helper costs time, never a file.

Helpers start only once a copy has batched :data:`START_AFTER` files (a small copy would pay
their start-up, ~50 ms of CPU each, for nothing), are shared by every local backend of the
process, ignore Ctrl-C (the parent decides when to stop; a running batch is finished, as a
transfer thread would finish it), and exit when their input closes: at the end of the process,
or when it dies.

Protocol on a helper's stdin/stdout: frames of a 4-byte big-endian length and a pickle.  A
request is ``(settings, jobs)``; the reply holds one result per job, ``(size, mtime_ns)`` or the
exception that file got.  Both ends are this program, so the pickles are trusted.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cloudsync.types import Entry

__all__ = ["MIN_BATCH", "START_AFTER", "CopyJob", "CopySettings", "Helpers", "helpers", "serve"]

log = logging.getLogger("cloudsync.backends.local")

#: ``(src_os, src_path, dst_os, dst_path)``: one file to copy (OS paths and the paths shown)
CopyJob = tuple[str, str, str, str]
#: ``(no_fsync, partial_suffix, precision_ns)`` of the destination backend
CopySettings = tuple[bool, str, int]

#: batches smaller than this are copied in-process (the round trip would cost more)
MIN_BATCH = 32
#: helpers start once a copy has batched more files than this: a helper costs ~50 ms of CPU
#: to start, which a copy of a few hundred files never wins back (300 × 4 KiB: 0.13 s without
#: helpers, 0.19 s with), while 50,000 files gain seconds
START_AFTER = 4096

_HEADER_SIZE = 4


def _helper_count() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return min(cpus, 4) if cpus > 1 else 0


def _read_frame(stream: IO[bytes]) -> bytes | None:
    head = stream.read(_HEADER_SIZE)
    if len(head) < _HEADER_SIZE:
        return None
    size = int.from_bytes(head, "big")
    body = stream.read(size)
    if len(body) < size:
        return None
    return body


def _write_frame(stream: IO[bytes], body: bytes) -> None:
    stream.write(len(body).to_bytes(_HEADER_SIZE, "big") + body)
    stream.flush()


class _Helper:
    """One helper process and its pipes."""

    def __init__(self) -> None:
        # The helper finds cloudsync where this process found it, whatever the working folder
        # holds (-c would otherwise put it first on the path).
        code = (
            f"import sys; sys.path[:] = {sys.path!r}; "
            "from cloudsync.backends.local_copier import serve; sys.exit(serve())"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
        )

    def call(self, request: bytes) -> list[Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        _write_frame(self.proc.stdin, request)
        reply = _read_frame(self.proc.stdout)
        if reply is None:
            raise OSError(f"copy helper {self.proc.pid} ended (exit {self.proc.poll()})")
        results: list[Any] = pickle.loads(reply)
        return results

    def close(self) -> None:
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()

    def kill(self) -> None:
        self.close()
        try:
            self.proc.kill()
            self.proc.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            pass


class Helpers:
    """A few helper processes; :meth:`run` takes an idle one (starting it the first time)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._idle: list[_Helper] = []
        self._started = 0
        self._cond = threading.Condition()
        #: set after a helper failed: every later batch is copied in-process
        self.broken = size <= 0

    def run(
        self, settings: CopySettings, jobs: Sequence[CopyJob]
    ) -> list[Entry | Exception] | None:
        """Copy ``jobs`` in a helper; None when no helper could (the caller copies them)."""
        from cloudsync.types import Entry

        helper = self._take()
        if helper is None:
            return None
        try:
            raw = helper.call(pickle.dumps((settings, list(jobs)), pickle.HIGHEST_PROTOCOL))
            if len(raw) != len(jobs):
                raise OSError(f"copy helper answered {len(raw)} results for {len(jobs)} files")
        except Exception as err:  # the batch is copied again in this process
            log.debug("copy helper failed (%s): copying in this process from now on", err)
            self.broken = True
            helper.kill()
            with self._cond:
                self._started -= 1
                self._cond.notify_all()
            return None
        self._give(helper)
        return [
            Entry(job[3], False, r[0], r[1]) if isinstance(r, tuple) else r
            for job, r in zip(jobs, raw, strict=True)
        ]

    def _take(self) -> _Helper | None:
        with self._cond:
            while True:
                if self.broken:
                    return None
                if self._idle:
                    return self._idle.pop()
                if self._started < self.size:
                    self._started += 1
                    break
                self._cond.wait()
        try:
            return _Helper()
        except OSError as err:
            log.debug("could not start a copy helper (%s): copying in this process", err)
            with self._cond:
                self._started -= 1
                self.broken = True
                self._cond.notify_all()
            return None

    def _give(self, helper: _Helper) -> None:
        with self._cond:
            if self.broken:
                helper.close()
                self._started -= 1
            else:
                self._idle.append(helper)
            self._cond.notify_all()

    def close(self) -> None:
        """End the idle helpers (they exit when their input closes)."""
        with self._cond:
            idle, self._idle = self._idle, []
            self._started -= len(idle)
            self._cond.notify_all()
        for helper in idle:
            helper.close()
            try:
                helper.proc.wait(2)
            except subprocess.TimeoutExpired:
                helper.kill()


_helpers: Helpers | None = None
_helpers_lock = threading.Lock()


def helpers() -> Helpers:
    """The process's helpers, shared by every local backend."""
    global _helpers
    with _helpers_lock:
        if _helpers is None:
            _helpers = Helpers(_helper_count())
            atexit.register(_helpers.close)
        return _helpers


def _portable(result: Entry | Exception) -> tuple[int, int] | Exception:
    from cloudsync.errors import CloudsyncError
    from cloudsync.types import Entry

    if isinstance(result, Entry):
        return (result.size, result.mtime_ns if result.mtime_ns is not None else 0)
    try:  # every exception must come back whole, or as its one line
        pickle.loads(pickle.dumps(result))
    except Exception:
        return CloudsyncError(str(result))
    return result


def serve() -> int:
    """A helper's main loop: copy each batch read from stdin, answer on stdout."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # the replies' channel carries nothing else
    from cloudsync.backends.local import LocalBackend

    from cloudsync.backend import Features

    backends: dict[CopySettings, LocalBackend] = {}
    while True:
        request = _read_frame(inp)
        if request is None:
            return 0
        settings, jobs = pickle.loads(request)
        backend = backends.get(settings)
        if backend is None:
            no_fsync, suffix, precision = settings
            backend = LocalBackend("local", os.sep, no_fsync=no_fsync, partial_suffix=suffix)
            backend.features = Features(precision_ns=precision, is_local=True)
            backends[settings] = backend
        results = [_portable(r) for r in backend.copy_jobs(jobs)]
        try:
            _write_frame(out, pickle.dumps(results, pickle.HIGHEST_PROTOCOL))
        except BrokenPipeError:  # the parent is gone
            return 0
