"""Helper processes for the local backend: the batches of a big local→local copy, and the
folders a big walk (``lsjson -R``, ``lsf -R``, ``size`` …) reaches next.

Both are a few system calls per file with a little Python around each, on one core with one
GIL.  Threads do not help: several transfer threads spent their time handing the GIL to each
other (a 50,000-file copy with four of them made 3.4 million ``futex`` calls and spent 8 s in
the kernel, against 2 s for rclone, which copies and lists on every core).  A helper process
has a core and a GIL of its own.

**Copies.**  A helper gives every file exactly the guarantees of an in-process copy, because it
runs the same code (:meth:`LocalBackend.copy_jobs`): each file is written under its temporary
name, the batch is made durable by one ``syncfs``, and only then is each file renamed into
place.  What a helper cannot finish (it died, or could not start) is copied again in this
process, so a failing helper costs time, never a file.  Helpers start only once a copy has
batched :data:`START_AFTER` files (a small copy would pay their start-up, ~50 ms of CPU each,
for nothing).

**Listings.**  :class:`AheadLister`: a helper lists plain folders (:func:`list_plain`) a few
places ahead of the walk, and the walk picks the replies up between folders, in its own
thread, only when they are already there; any folder with something special in it (a link, a
name that may not be UTF-8, a leftover temporary file, an error) is listed by the walk itself
with all of :meth:`LocalBackend.list`'s rules.

Helpers are shared by every local backend of the process, ignore Ctrl-C (the parent decides
when to stop; a running batch is finished, as a transfer thread would finish it), and exit
when their input closes: at the end of the process, or when it dies.

Protocol on a helper's stdin/stdout: frames of a 4-byte big-endian length and a pickle.  A
request is ``("copy", settings, jobs)`` (the reply: one ``(size, mtime_ns)`` or exception per
job) or ``("list", partial_suffix, folders)`` (one :data:`Rows` or None per folder); replies
come in the order of the requests.  Both ends are this program, so the pickles are trusted.
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
from collections import deque
from collections.abc import Callable, Sequence
from itertools import islice
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cloudsync.types import Entry

__all__ = ["MIN_BATCH", "START_AFTER", "AheadLister", "CopyJob", "CopySettings", "Helpers", "Rows",
           "helpers", "list_plain", "serve"]

log = logging.getLogger("cloudsync.backends.local")

#: ``(src_os, src_path, dst_os, dst_path)``: one file to copy (OS paths and the paths shown)
CopyJob = tuple[str, str, str, str]
#: ``(no_fsync, partial_suffix, precision_ns)`` of the destination backend
CopySettings = tuple[bool, str, int]
#: a folder's entries as a helper lists them: ``(name, is_dir, size, mtime_ns)``
Rows = list[tuple[str, bool, int, int]]

#: batches smaller than this are copied in-process (the round trip would cost more)
MIN_BATCH = 32
#: helpers start once a copy has batched more files than this: a helper costs ~50 ms of CPU
#: to start, which a copy of a few hundred files never wins back (300 × 4 KiB: 0.13 s without
#: helpers, 0.19 s with), while 50,000 files gain seconds
START_AFTER = 4096

_HEADER_SIZE = 4


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _helper_count() -> int:
    cpus = _cpus()
    return min(cpus, 4) if cpus > 1 else 0


def lister_count() -> int:
    """Helpers listing ahead of a walk: one core is the walk's own."""
    return max(1, min(_cpus() - 1, 4))


def _read_exact(fd: int, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _send_frame(fd: int, body: bytes) -> None:
    """One frame (length, then the pickle) onto a pipe, whole."""
    view = memoryview(len(body).to_bytes(_HEADER_SIZE, "big") + body)
    while view:
        view = view[os.write(fd, view):]


def _receive_frame(fd: int) -> bytes | None:
    """The next frame from a pipe; None when it closed first."""
    head = _read_exact(fd, _HEADER_SIZE)
    return _read_exact(fd, int.from_bytes(head, "big")) if head else None


class _Helper:
    """One helper process and its pipes (unbuffered: a reader that polls the descriptor, as
    :class:`AheadLister` does, must never find part of a reply hidden in a buffer)."""

    def __init__(self) -> None:
        # The helper finds cloudsync where this process found it, whatever the working folder
        # holds (-c would otherwise put it first on the path).
        code = (
            f"import sys; sys.path[:] = {sys.path!r}; "
            "from cloudsync.backends.local_helpers import serve; sys.exit(serve())"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
            bufsize=0,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.in_fd = self.proc.stdin.fileno()
        self.out_fd = self.proc.stdout.fileno()
        with contextlib.suppress(OSError, ImportError):
            import fcntl  # room for several replies: a helper listing ahead need not wait

            fcntl.fcntl(self.out_fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)

    def send(self, request: bytes) -> None:
        _send_frame(self.in_fd, request)

    def receive(self) -> list[Any]:
        body = _receive_frame(self.out_fd)
        if body is None:
            raise OSError(f"helper {self.proc.pid} ended (exit {self.proc.poll()})")
        results: list[Any] = pickle.loads(body)
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
        #: set after a helper failed: every later job is done in-process
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
            helper.send(pickle.dumps(("copy", settings, list(jobs)), pickle.HIGHEST_PROTOCOL))
            raw = helper.receive()
            if len(raw) != len(jobs):
                raise OSError(f"copy helper answered {len(raw)} results for {len(jobs)} files")
        except Exception as err:  # the batch is copied again in this process
            self.lost(helper, err, "copy")
            return None
        self.give(helper)
        return [Entry(job[3], False, r[0], r[1]) if isinstance(r, tuple) else r
                for job, r in zip(jobs, raw, strict=True)]

    def try_take(self) -> _Helper | None:
        """An idle helper (started if need be) without waiting; None if all are busy."""
        with self._cond:
            if self.broken or (not self._idle and self._started >= self.size):
                return None
        return self._take()

    def lost(self, helper: _Helper, err: BaseException, what: str) -> None:
        """A helper failed: it is killed, and every later job is done in-process."""
        log.debug("%s helper failed (%s): working in this process from now on", what, err)
        self.broken = True
        helper.kill()
        with self._cond:
            self._started -= 1
            self._cond.notify_all()

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
            log.debug("could not start a helper (%s): working in this process", err)
            with self._cond:
                self._started -= 1
                self.broken = True
                self._cond.notify_all()
            return None

    def give(self, helper: _Helper) -> None:
        """Hand back an idle helper (one that owes no reply)."""
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


class AheadLister:
    """Helpers listing the folders a big walk will reach next, read in the walk's own thread.

    The walk names the folders it will list (:meth:`want`); each helper gets small requests
    in walk order and answers them in that order.  When the walk needs a folder, :meth:`take`
    reads the replies that are already there, without waiting and without a thread (a thread
    reading the pipes fought the walk for the GIL), and hands over that folder's rows.  A
    folder whose reply has not come yet is listed by the walk itself (the reply is dropped
    when it comes): the walk and the helpers share the listing, and the walk never waits.
    """

    #: folders per request, and requests in flight per helper: a helper works only on the
    #: nearest folders it was asked for, never down a backlog the walk has passed meanwhile
    CHUNK = 2
    IN_FLIGHT = 2

    def __init__(self, pool: Helpers, suffix: str, count: int) -> None:
        self._pool = pool
        self._suffix = suffix
        self._helpers: list[_Helper] = []
        for _ in range(count):
            helper = pool.try_take()
            if helper is None:
                break
            self._helpers.append(helper)
        self._sent: list[deque[list[str]]] = [deque() for _ in self._helpers]
        self._where: dict[str, int] = {}  # folder asked for → its helper
        self._ready: dict[str, Rows | None] = {}  # replies read, not taken yet
        self._next = 0
        self.failed = not self._helpers

    def want(self, paths: Sequence[str], os_path: Callable[[str], str]) -> None:
        """Ask for the first of these folders that no helper has, as far as the helpers have
        room (``os_path`` maps a path to the folder to list)."""
        if self.failed:
            return
        new = (p for p in paths if p not in self._where and p not in self._ready)
        for h, helper in enumerate(self._helpers):
            try:
                self._drain(h, helper)
                while len(self._sent[h]) < self.IN_FLIGHT:
                    chunk = list(islice(new, self.CHUNK))
                    if not chunk:
                        return
                    helper.send(pickle.dumps(("list", self._suffix, [os_path(p) for p in chunk]),
                                             pickle.HIGHEST_PROTOCOL))
                    self._sent[h].append(chunk)
                    for p in chunk:
                        self._where[p] = h
            except (OSError, ValueError, pickle.UnpicklingError) as err:
                self._fail(err)
                return

    def _drain(self, h: int, helper: _Helper) -> None:
        """Read the replies that are there already (never waits)."""
        import select

        while self._sent[h] and select.select([helper.out_fd], [], [], 0)[0]:
            self._absorb(h, helper.receive())

    def take(self, path: str) -> Rows | None:
        """The rows of folder ``path`` if a helper has answered for it; else None (the caller
        lists it itself)."""
        if path in self._ready:
            return self._ready.pop(path)
        h = self._where.get(path)
        if h is None or self.failed:
            return None
        try:
            self._drain(h, self._helpers[h])
        except (OSError, ValueError, pickle.UnpicklingError) as err:
            self._fail(err)
            return None
        if path in self._ready:
            return self._ready.pop(path)
        self._where.pop(path, None)  # not there yet: its reply will find no one waiting
        return None

    def _absorb(self, h: int, replies: list[Rows | None]) -> None:
        asked = self._sent[h].popleft()
        if len(replies) != len(asked):
            raise ValueError(f"helper answered {len(replies)} folders for {len(asked)}")
        for p, rows in zip(asked, replies, strict=True):
            if self._where.get(p) == h:
                del self._where[p]
                self._ready[p] = rows

    def close(self) -> None:
        """Read what is still on its way, then hand the helpers back, idle."""
        try:
            for h, helper in enumerate(self._helpers):
                while self._sent[h]:
                    self._sent[h].popleft()
                    helper.receive()
        except (OSError, ValueError, pickle.UnpicklingError) as err:
            self._fail(err)
        for helper in self._helpers:
            self._pool.give(helper)
        self._helpers = []
        self._where.clear()
        self._ready.clear()

    def _fail(self, err: BaseException) -> None:
        self.failed = True
        for helper in self._helpers:
            self._pool.lost(helper, err, "listing")
        self._helpers = []
        self._where.clear()
        self._ready.clear()


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


def list_plain(os_path: str, suffix: str) -> Rows | None:
    """``(name, is_dir, size, mtime_ns)`` of each entry of folder ``os_path`` when it holds
    only plain files and folders with ASCII names and no temporary file; otherwise None, and
    the walk lists the folder itself with all of :meth:`LocalBackend.list`'s rules (a link, a
    special file, a name that may not be UTF-8, a leftover temporary file, an error)."""
    from cloudsync.backends.local import _is_temp_name

    rows: Rows = []
    try:
        with os.scandir(os_path) as it:
            for de in it:
                name = de.name
                if not name.isascii():
                    return None
                try:
                    st = de.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # removed meanwhile (LocalBackend.list skips it too)
                fmt = st.st_mode & 0o170000
                if fmt == 0o100000:  # S_IFREG
                    if name[0] == "." and _is_temp_name(name, suffix):
                        return None
                    rows.append((name, False, st.st_size, st.st_mtime_ns))
                elif fmt == 0o040000:  # S_IFDIR
                    rows.append((name, True, st.st_size, st.st_mtime_ns))
                else:
                    return None
    except OSError:
        return None
    return rows


def serve() -> int:
    """A helper's main loop: copy each batch read from stdin, answer on stdout."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    inp, out = sys.stdin.fileno(), sys.stdout.fileno()
    sys.stdout = sys.stderr  # the replies' channel carries nothing else
    from cloudsync.backends.local import LocalBackend

    from cloudsync.backend import Features

    backends: dict[CopySettings, LocalBackend] = {}
    while True:
        request = _receive_frame(inp)
        if request is None:
            return 0
        kind, *args = pickle.loads(request)
        results: list[Any]
        if kind == "list":
            suffix, os_paths = args
            results = [list_plain(path, suffix) for path in os_paths]
        else:
            settings, jobs = args
            backend = backends.get(settings)
            if backend is None:
                no_fsync, suffix, precision = settings
                backend = LocalBackend("local", os.sep, no_fsync=no_fsync, partial_suffix=suffix)
                backend.features = Features(precision_ns=precision, is_local=True)
                backends[settings] = backend
            results = [_portable(r) for r in backend.copy_jobs(jobs)]
        try:
            _send_frame(out, pickle.dumps(results, pickle.HIGHEST_PROTOCOL))
        except BrokenPipeError:  # the parent is gone
            return 0
