"""Hashing helpers shared by backends and the engine.

Everything here streams: bytes are hashed as they pass through, in chunks of
:data:`CHUNK_SIZE`, so memory stays constant whatever the file size.  ``hashlib`` releases the
GIL for large updates, so hashing in worker threads scales across cores.

* :func:`hasher` – a fresh hashlib object for a cloudsync hash type name;
* :class:`MultiHasher` – several hashers fed together;
* :class:`HashingReader` – wraps a readable stream, hashes and counts what is read through it;
* :func:`hash_stream` / :func:`hash_file` – read to the end and return the hex digests.

Hash strings are lower-case hex, as in :class:`~cloudsync.types.Entry`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import IO, TYPE_CHECKING, Any, Protocol

from .errors import HashUnsupported
from .types import MD5, SHA1

if TYPE_CHECKING:
    from .backend import Readable

__all__ = [
    "CHUNK_SIZE",
    "EMPTY_HASHES",
    "SUPPORTED",
    "Hasher",
    "HashingReader",
    "MultiHasher",
    "hash_file",
    "hash_stream",
    "hasher",
]

#: Read/hash granularity: large enough that per-call overhead vanishes, small enough to keep
#: memory flat when many transfers run at once.
CHUNK_SIZE = 1 << 20

#: Hash types this module can compute.
SUPPORTED: frozenset[str] = frozenset({MD5, SHA1})

#: Digests of zero bytes (handy for empty files and tests).
EMPTY_HASHES: Mapping[str, str] = {
    MD5: "d41d8cd98f00b204e9800998ecf8427e",
    SHA1: "da39a3ee5e6b4b0d3255bfef95601890afd80709",
}


class Hasher(Protocol):
    """The part of a hashlib object we use."""

    def update(self, data: bytes | bytearray | memoryview, /) -> None: ...

    def hexdigest(self) -> str: ...


def hasher(hash_type: str) -> Hasher:
    """A fresh hashlib object for ``hash_type`` (``"md5"``, ``"sha1"``); HashUnsupported otherwise."""
    # Imported on first use: loading OpenSSL costs milliseconds of start-up that a copy
    # deciding by size and modtime never needs.
    import hashlib

    if hash_type == MD5:
        # usedforsecurity=False keeps md5 available on FIPS-restricted OpenSSL builds; it is a
        # content fingerprint here, not a security measure.
        return hashlib.md5(usedforsecurity=False)
    if hash_type == SHA1:
        return hashlib.sha1(usedforsecurity=False)
    raise HashUnsupported(f"hash type {hash_type!r} not supported")


class MultiHasher:
    """Feed the same bytes to several hashers; ``hexdigests()`` returns ``{type: hex}``."""

    __slots__ = ("_hashers", "size")

    def __init__(self, types: Iterable[str] = (MD5,)) -> None:
        # dict.fromkeys de-duplicates while keeping order.
        self._hashers = {t: hasher(t) for t in dict.fromkeys(types)}
        self.size = 0

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(self._hashers)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        for h in self._hashers.values():
            h.update(data)
        self.size += len(data)

    def hexdigests(self) -> dict[str, str]:
        return {t: h.hexdigest() for t, h in self._hashers.items()}


class HashingReader:
    """A read-only stream wrapper that hashes and counts every byte read through it.

    ``HashingReader(stream, ["md5"])`` behaves like ``stream`` for ``read``; after the consumer
    has read to the end, :meth:`hexdigests` gives the hashes of exactly what was delivered and
    :attr:`bytes_read` its length.  ``types`` may be empty (a pure byte counter).  ``close``
    closes the wrapped stream when it has a ``close`` method.
    """

    __slots__ = ("_hash", "_stream", "eof")

    def __init__(self, stream: Readable, types: Iterable[str] = (MD5,)) -> None:
        self._stream = stream
        self._hash = MultiHasher(types)
        #: True once a read returned no bytes for a positive request (the source is exhausted).
        self.eof = False

    @property
    def bytes_read(self) -> int:
        return self._hash.size

    @property
    def types(self) -> tuple[str, ...]:
        return self._hash.types

    def read(self, n: int = -1, /) -> bytes:
        data = self._stream.read(n)
        if data:
            self._hash.update(data)
        elif n != 0:
            self.eof = True
        return data

    def hexdigests(self) -> dict[str, str]:
        return self._hash.hexdigests()

    def hexdigest(self, hash_type: str) -> str:
        return self._hash.hexdigests()[hash_type]

    def close(self) -> None:
        close: Any = getattr(self._stream, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> HashingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def hash_stream(
    stream: Readable, types: Iterable[str] = (MD5,), chunk_size: int = CHUNK_SIZE
) -> tuple[dict[str, str], int]:
    """Read ``stream`` to its end; return ``({type: hex}, bytes_read)``.  Does not close it."""
    mh = MultiHasher(types)
    while True:
        data = stream.read(chunk_size)
        if not data:
            break
        mh.update(data)
    return mh.hexdigests(), mh.size


def hash_file(path: str, types: Iterable[str] = (MD5,), chunk_size: int = CHUNK_SIZE) -> dict[str, str]:
    """Hashes of the local file ``path`` (OS errors propagate to the caller to translate)."""
    mh = MultiHasher(types)
    # readinto a reused buffer: no allocation per chunk on multi-GiB files.
    buf = bytearray(chunk_size)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while True:
            n = f.readinto(view)
            if not n:
                break
            mh.update(view[:n])
    return mh.hexdigests()


def read_full(stream: IO[bytes], n: int) -> bytes:
    """Up to ``n`` bytes, fewer only at the end of the stream: raw and network streams may
    return short reads, and a caller comparing or slicing blocks needs whole ones."""
    parts: list[bytes] = []
    left = n
    while left > 0:
        data = stream.read(left)
        if not data:
            break
        parts.append(data)
        left -= len(data)
    return b"".join(parts)
