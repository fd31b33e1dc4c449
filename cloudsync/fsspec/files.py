"""File objects of :class:`~cloudsync.fsspec.CloudsyncFileSystem`: ranged reads, streamed writes.

Reading (:class:`RangeReader`): every miss is one ranged ``get`` of the backend, asked for the
bytes wanted plus a read-ahead (the file's ``block_size``).  A miss that starts exactly where the
previous data ended means the caller reads sequentially: then one open-ended stream is started and
later sequential reads are served from it, so reading a whole file costs two requests however big
it is, and random reads cost one request each.

Writing (:class:`StreamUpload`): the bytes go to ``Backend.put`` through a bounded queue read by
an upload thread, so a large file is never held in memory here.  JottaCloud needs the md5 before
the upload starts; its backend spools an unknown-size stream itself, in memory up to its
``md5_memory_limit`` and in a temporary file beyond – that spool is the only copy made.  A file
whose bytes all fit in one block is sent in one ``put`` with its size known.
"""

from __future__ import annotations

import contextlib
import io
import queue
import tempfile
import threading
import time
from typing import TYPE_CHECKING, Any, BinaryIO

from fsspec.spec import AbstractBufferedFile

from ..errors import CloudsyncError
from ..hashing import read_full
from ..types import PutInfo
from .filesystem import translate

if TYPE_CHECKING:
    from ..backend import Backend
    from ..types import Entry
    from .filesystem import CloudsyncFileSystem

__all__ = ["CloudsyncFile", "RangeReader", "StreamUpload"]

#: Read-ahead after a random miss (the file's ``block_size`` unless given): small enough that
#: random 64 KiB reads do not drag megabytes each, large enough for line-by-line readers.
DEFAULT_READAHEAD = 256 << 10
#: Chunk size taken from an open sequential stream at a time.
STREAM_CHUNK = 1 << 20
#: Write block size: bytes gathered before they are handed to the upload thread.
WRITE_BLOCK = 4 << 20


class RangeReader:
    """Byte ranges of one file with read-ahead; counts the requests it sends (``requests``)."""

    def __init__(self, backend: Backend, entry: Entry, readahead: int) -> None:
        self.backend = backend
        self.entry = entry
        self.size = entry.size
        self.readahead = max(0, readahead)
        self.requests = 0
        self._buf = b""
        self._buf_start = 0
        self._stream: BinaryIO | None = None
        self._stream_pos = 0

    def _open(self, start: int, end: int | None) -> BinaryIO:
        self.requests += 1
        return self.backend.open_entry(self.entry, start, end)

    def _close_stream(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def fetch(self, start: int, end: int) -> bytes:
        end = min(end, self.size)
        if start >= end:
            return b""
        buf_end = self._buf_start + len(self._buf)
        if self._buf_start <= start and end <= buf_end:
            return self._buf[start - self._buf_start:end - self._buf_start]
        head = b""
        if self._buf_start <= start < buf_end:
            head = self._buf[start - self._buf_start:]
            start = buf_end
        sequential = start == buf_end and (buf_end > 0 or self._stream is not None)
        if self._stream is not None and self._stream_pos != start:
            self._close_stream()  # a seek away from the stream: it is no use any more
        if self._stream is None and sequential:
            self._stream = self._open(start, None)
            self._stream_pos = start
        if self._stream is not None:
            want = max(end - start, STREAM_CHUNK)
            data = read_full(self._stream, min(want, self.size - start))
            self._stream_pos += len(data)
            if self._stream_pos >= self.size:
                self._close_stream()  # fully read: its connection goes back to the pool
        else:
            stop = min(self.size, max(end, start + self.readahead))
            with self._open(start, stop) as stream:
                data = read_full(stream, stop - start)
        self._buf, self._buf_start = data, start
        return head + data[:end - start]

    def close(self) -> None:
        self._close_stream()
        self._buf = b""


class _QueueStream:
    """The readable end of a writer → upload-thread pipe (what ``Backend.put`` reads)."""

    _END = b""

    def __init__(self) -> None:
        self.chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=4)
        self._pending = b""
        self._done = False

    def read(self, n: int = -1, /) -> bytes:
        while not self._done and (n < 0 or len(self._pending) < n):
            chunk = self.chunks.get()
            if chunk is None:
                raise OSError("upload aborted: the file was discarded before it was closed")
            if chunk == self._END:
                self._done = True
                break
            self._pending += chunk
        if n < 0 or n >= len(self._pending):
            out, self._pending = self._pending, b""
        else:
            out, self._pending = self._pending[:n], self._pending[n:]
        return out


class StreamUpload:
    """One ``Backend.put`` running in a thread, fed block by block."""

    def __init__(self, backend: Backend, path: str) -> None:
        self._stream = _QueueStream()
        self._error: BaseException | None = None
        self.entry: Entry | None = None
        self._thread = threading.Thread(
            target=self._run, args=(backend, path), name=f"cloudsync-upload {path}", daemon=True
        )
        self._thread.start()

    def _run(self, backend: Backend, path: str) -> None:
        try:
            self.entry = backend.put(path, self._stream, PutInfo(size=-1, mtime_ns=time.time_ns()))
        except BaseException as exc:  # handed to the writing thread
            self._error = exc
            # Unblock a writer waiting on a full queue.
            while True:
                try:
                    self._stream.chunks.get_nowait()
                except queue.Empty:
                    break

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def send(self, data: bytes) -> None:
        while True:
            self._check()
            if not self._thread.is_alive():
                self._check()
                raise OSError("upload ended before all data was written")
            try:
                self._stream.chunks.put(data, timeout=0.5)
                return
            except queue.Full:
                continue

    def finish(self) -> None:
        self.send(_QueueStream._END)
        self._thread.join()
        self._check()

    def abort(self) -> None:
        if self._thread.is_alive():
            with contextlib.suppress(queue.Full):
                self._stream.chunks.put(None, timeout=5)
            self._thread.join(timeout=30)


class CloudsyncFile(AbstractBufferedFile):  # type: ignore[misc]
    """A file of a cloudsync remote opened through fsspec (modes ``rb``, ``wb``, ``xb``).

    Leaving a ``with`` block because of an exception discards a file being written: nothing
    half-written becomes visible (an existing file keeps its old content).
    """

    def __init__(self, fs: CloudsyncFileSystem, path: str, mode: str, *, backend: Backend,
                 backend_path: str, entry: Entry | None = None, block_size: int | None = None,
                 autocommit: bool = True, details: dict[str, Any] | None = None) -> None:
        self.backend = backend
        self.backend_path = backend_path
        self._upload: StreamUpload | None = None
        self._spool: Any = None
        self.reader: RangeReader | None = None
        reading = mode == "rb"
        size = entry.size if entry is not None else None
        default = DEFAULT_READAHEAD if reading else WRITE_BLOCK
        super().__init__(fs, path, mode, block_size=block_size or default, autocommit=autocommit,
                         cache_type="none", size=size)
        if details is not None:
            self._details = details
        if reading:
            assert entry is not None
            self.reader = RangeReader(backend, entry, self.blocksize)

    # ------------------------------------------------------------------ reading
    def _fetch_range(self, start: int, end: int) -> bytes:
        assert self.reader is not None
        return self.reader.fetch(start, end)

    # ------------------------------------------------------------------ writing
    def _initiate_upload(self) -> None:
        """Nothing to do yet: the first block decides between one put and a streamed one."""

    def _upload_chunk(self, final: bool = False) -> bool:
        data = self.buffer.getvalue()
        if not self.autocommit:
            if self._spool is None:
                # Kept open until commit()/discard(): no with-block can span that.
                self._spool = tempfile.SpooledTemporaryFile(max_size=WRITE_BLOCK)  # noqa: SIM115
            self._spool.write(data)
            return True
        if final and self._upload is None:
            # Everything fits in one block: one put with the size known (and, being
            # seekable, hashed first by backends that need the md5 up front).
            self._put(io.BytesIO(data), len(data))
            return True
        if self._upload is None:
            self._upload = StreamUpload(self.backend, self.backend_path)
        try:
            if data:
                self._upload.send(data)
            if final:
                self._upload.finish()
                self.fs.invalidate_cache(self.path)
        except CloudsyncError as exc:
            self._upload.abort()
            raise translate(exc, self.path) from None
        except BaseException:
            self._upload.abort()
            raise
        return True

    def _put(self, stream: BinaryIO, size: int) -> None:
        try:
            self.backend.put(self.backend_path, stream, PutInfo(size=size, mtime_ns=time.time_ns()))
        except CloudsyncError as exc:
            raise translate(exc, self.path) from None
        finally:
            self.fs.invalidate_cache(self.path)

    def commit(self) -> None:
        """Transactions (``autocommit=False``): upload what was written, now."""
        if self._spool is not None:
            size = self._spool.tell()
            self._spool.seek(0)
            try:
                self._put(self._spool, size)
            finally:
                self._spool.close()
                self._spool = None

    def discard(self) -> None:
        """Drop what was written; the remote is left as it was."""
        if self._upload is not None:
            self._upload.abort()
            self._upload = None
        if self._spool is not None:
            self._spool.close()
            self._spool = None

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None and self.writable():
            self.discard()
            self.closed = True  # nothing to flush: the upload was dropped
            return
        self.close()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.reader is not None:
                self.reader.close()
