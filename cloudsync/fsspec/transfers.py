"""``put``/``get`` of files and trees through the engine, several files at a time.

fsspec's own ``put``/``get`` decide which local path goes to which remote path (trailing
slashes, globs, "copy into an existing directory" …) and then call ``put_file``/``get_file`` one
after the other.  We keep its decisions exactly – the abstract test suite checks them – by
letting it run with ``put_file``/``get_file`` only *collecting* the pairs (see
:data:`COLLECTING`), then run the pairs ``transfers`` at a time through the engine's single-file
copy: every file is verified by size and md5, written under a temporary name and renamed, and a
JottaCloud upload gets the md5 computed while reading the local file.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from fsspec.spec import AbstractFileSystem

from ..events import Event, TransferProgress, TransferStarted

if TYPE_CHECKING:
    from ..backend import Backend
    from .filesystem import CloudsyncFileSystem

__all__ = ["COLLECTING", "Transfers"]

#: Set while fsspec's put/get plan a batch: ``put_file``/``get_file`` append (source, target).
COLLECTING: contextvars.ContextVar[list[tuple[str, str]] | None] = contextvars.ContextVar(
    "cloudsync_fsspec_collecting", default=None
)


def _local_backend() -> Backend:
    from ..remote import open_backend

    backend, _ = open_backend("/", None, file_ok=False)
    return backend


def _local_rel(path: str) -> str:
    """A local absolute path as a path inside the local backend rooted at ``/``."""
    return os.path.abspath(path).replace(os.sep, "/").lstrip("/")


class Transfers:
    """One put/get batch of a :class:`CloudsyncFileSystem`."""

    def __init__(self, fs: CloudsyncFileSystem) -> None:
        self.fs = fs

    # ------------------------------------------------------------------ batches
    def run(self, direction: str, source: Any, target: Any, *, recursive: bool,
            callback: Any, maxdepth: int | None, **kwargs: Any) -> None:
        jobs: list[tuple[str, str]] = []
        token = COLLECTING.set(jobs)
        try:
            plan = AbstractFileSystem.put if direction == "put" else AbstractFileSystem.get
            plan(self.fs, source, target, recursive=recursive, maxdepth=maxdepth, **kwargs)
        finally:
            COLLECTING.reset(token)
        if callback is not None:
            callback.set_size(len(jobs))
        one = self._put_job if direction == "put" else self._get_job
        local = _local_backend()
        try:
            # Directories first (a file's parent must exist before it lands), then the files.
            dirs = [job for job in jobs if self._is_dir_job(direction, job)]
            files = [job for job in jobs if job not in dirs]
            for job in dirs:
                one(local, job, None)
                if callback is not None:
                    callback.relative_update(1)
            with ThreadPoolExecutor(max_workers=min(self.fs.transfers, max(1, len(files))),
                                    thread_name_prefix="cloudsync-fsspec") as pool:
                futures = [pool.submit(one, local, job, None) for job in files]
                first_error: BaseException | None = None
                for future in futures:
                    try:
                        future.result()
                    except BaseException as exc:
                        first_error = first_error or exc
                    else:
                        if callback is not None:
                            callback.relative_update(1)
            if first_error is not None:
                raise first_error
        finally:
            local.close()

    def _is_dir_job(self, direction: str, job: tuple[str, str]) -> bool:
        if direction == "put":
            return os.path.isdir(job[0])
        return bool(self.fs.isdir(job[0]))

    # ------------------------------------------------------------------ single files
    def put_one(self, lpath: str, rpath: str, callback: Any, mode: str) -> None:
        jobs = COLLECTING.get()
        if jobs is not None:
            jobs.append((lpath, rpath))
            return
        if mode == "create" and self.fs.exists(rpath):
            raise FileExistsError(f"{rpath}: already exists")
        local = _local_backend()
        try:
            self._put_job(local, (lpath, rpath), callback)
        finally:
            local.close()

    def get_one(self, rpath: str, lpath: str, callback: Any) -> None:
        jobs = COLLECTING.get()
        if jobs is not None:
            jobs.append((rpath, lpath))
            return
        local = _local_backend()
        try:
            self._get_job(local, (rpath, lpath), callback)
        finally:
            local.close()

    def _put_job(self, local: Backend, job: tuple[str, str], callback: Any) -> None:
        lpath, rpath = job
        if os.path.isdir(lpath):
            self.fs.makedirs(rpath, exist_ok=True)
            return
        backend, inner = self.fs._resolve(rpath)
        try:
            self._copy(local, _local_rel(lpath), backend, inner, rpath, callback)
        finally:
            self.fs.invalidate_cache(rpath)

    def _get_job(self, local: Backend, job: tuple[str, str], callback: Any) -> None:
        rpath, lpath = job
        if self.fs.isdir(rpath):
            os.makedirs(lpath, exist_ok=True)
            return
        backend, inner = self.fs._resolve(rpath)
        parent = os.path.dirname(os.path.abspath(lpath))
        os.makedirs(parent, exist_ok=True)
        self._copy(backend, inner, local, _local_rel(lpath), rpath, callback)

    def _copy(self, src: Backend, src_path: str, dst: Backend, dst_path: str, shown: str,
              callback: Any) -> None:
        from ..engine import copyto
        from ..engine.options import SyncOptions
        from .filesystem import translate

        # ignore_times: fsspec's put/get always write, even over an equal-looking file.
        opts = SyncOptions(ignore_times=True, transfers=1, checkers=1)
        result = copyto(src, src_path, dst, dst_path, opts, reporter=_reporter(callback))
        if result.final_error is not None:
            raise translate(result.final_error, shown) from None


def _reporter(callback: Any) -> Callable[[Event], None]:
    """Engine events → an fsspec ``Callback`` (size once, then byte deltas)."""

    def report(event: Event) -> None:
        if callback is None:
            return
        if isinstance(event, TransferStarted) and event.size >= 0:
            callback.set_size(event.size)
        elif isinstance(event, TransferProgress):
            callback.relative_update(event.delta)

    return report
