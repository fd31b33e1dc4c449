"""cloudsync.hashing: the streaming helpers backends and the engine share."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from cloudsync.errors import HashUnsupported
from cloudsync.hashing import (
    EMPTY_HASHES,
    HashingReader,
    MultiHasher,
    hash_file,
    hash_stream,
    hasher,
)
from cloudsync.types import MD5, SHA1

DATA = os.urandom(2 * 1024 * 1024 + 123)
WANT = {MD5: hashlib.md5(DATA).hexdigest(), SHA1: hashlib.sha1(DATA).hexdigest()}


def test_hasher_and_unsupported() -> None:
    h = hasher(MD5)
    h.update(b"abc")
    assert h.hexdigest() == "900150983cd24fb0d6963f7d28e17f72"
    with pytest.raises(HashUnsupported):
        hasher("whirlpool")


def test_empty_hashes_constant() -> None:
    assert MultiHasher([MD5, SHA1]).hexdigests() == dict(EMPTY_HASHES)


def test_hashing_reader_counts_and_hashes_what_was_read() -> None:
    r = HashingReader(io.BytesIO(DATA), [MD5, SHA1, MD5])
    assert r.types == (MD5, SHA1)
    chunks = []
    while chunk := r.read(100_000):
        chunks.append(chunk)
    assert b"".join(chunks) == DATA
    assert r.eof and r.bytes_read == len(DATA)
    assert r.hexdigests() == WANT
    assert r.hexdigest(SHA1) == WANT[SHA1]


def test_hashing_reader_partial_and_close() -> None:
    src = io.BytesIO(DATA)
    with HashingReader(src, []) as r:
        assert r.read(10) == DATA[:10]
        assert r.read(0) == b"" and not r.eof
        assert r.bytes_read == 10 and r.hexdigests() == {}
    assert src.closed


def test_hash_stream_and_file(tmp_path: Path) -> None:
    assert hash_stream(io.BytesIO(DATA), [MD5, SHA1]) == (WANT, len(DATA))
    p = tmp_path / "f.bin"
    p.write_bytes(DATA)
    assert hash_file(str(p), [SHA1, MD5], chunk_size=4096) == WANT
    (tmp_path / "empty").write_bytes(b"")
    assert hash_file(str(tmp_path / "empty"), [MD5]) == {MD5: EMPTY_HASHES[MD5]}
