"""Low-level retries have one owner (the HTTP layer) and cover every transient fault.

Faults come from the offline server's own injector (``add_fault``); the whole-run fault suite
with an independent proxy is ``tests/faults``.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator

import pytest

from cloudsync.engine import sync
from cloudsync.engine.ops import walk_tree
from cloudsync.engine.options import SyncOptions
from cloudsync.errors import ObjectNotFound, RemoteUnreachable, TransientError
from cloudsync.types import PutInfo

from .support import make_backend, put_bytes, running_server, settled_log

testing = pytest.importorskip("cloudsync.jottaserver.testing")
JottaServer = testing.JottaServer

T = 1_600_000_000_000_000_000


class Unseekable(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self._buf = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        data = self._buf.read(len(b))
        b[: len(data)] = data
        return len(data)


@pytest.fixture
def srv() -> Iterator[JottaServer]:
    with running_server() as s:
        yield s


def _count(srv: JottaServer) -> int:
    return len(settled_log(srv))


@pytest.mark.parametrize("llr", [1, 4])
def test_503_everywhere_listing_costs_at_most_llr_plus_one(srv: JottaServer, llr: int) -> None:
    b = make_backend(srv, low_level_retries=str(llr))
    put_bytes(b, "a.txt", b"a")
    fresh = make_backend(srv, low_level_retries=str(llr))  # customer lookup not cached yet
    srv.clear_request_log()
    srv.add_fault(r".", "status", status=503, rate=1.0)
    for listing in (lambda: list(fresh.list("")),
                    lambda: list(b.list("")),
                    lambda: list(b.list_recursive("")),
                    lambda: list(walk_tree(b, "", low_level_retries=llr)),
                    lambda: b.stat("a.txt")):
        srv.clear_request_log()
        with pytest.raises(TransientError) as info:
            listing()
        assert info.value.low_level_retried
        assert f"gave up after {llr} tries" in str(info.value) or llr == 1
        assert _count(srv) <= llr + 1


def test_503_everywhere_engine_does_not_retry_again(srv: JottaServer) -> None:
    from cloudsync.backends.memory import MemoryBackend

    b = make_backend(srv, "dst", low_level_retries="3")
    b.username  # noqa: B018 - warm the account lookup
    src = MemoryBackend("m", "resilience-503")  # own bucket: the memory store is process-wide
    src.put("s.txt", io.BytesIO(b"s"), PutInfo(size=1, mtime_ns=T))
    srv.clear_request_log()
    srv.add_fault(r".", "status", status=503, rate=1.0)
    r = sync(src, b, SyncOptions(low_level_retries=3))
    assert r.final_error is not None
    # The destination listing fails after 3 tries; the engine adds no tries of its own (it
    # used to: 3 × 3), and sync stops before any transfer.
    assert _count(srv) <= 3 + 1


def test_truncated_small_replies_are_low_level_retries(srv: JottaServer) -> None:
    b = make_backend(srv)
    put_bytes(b, "x/a.txt", b"abc")
    # JSON (allocate), XML (file metadata) and the customer lookup, each cut once.
    srv.add_fault(r"/files/v1/allocate", "truncate", count=1)
    put_bytes(b, "x/b.txt", b"bee")
    srv.add_fault(r"/x/a\.txt$", "truncate", count=1)
    assert b.stat("x/a.txt").size == 3
    fresh = make_backend(srv)
    srv.add_fault(r"/account/v1/customer", "truncate", count=1)
    assert sorted(e.path for e in fresh.list("x")) == ["x/a.txt", "x/b.txt"]
    srv.add_fault(r"/account/v1/customer", "reset", count=1)
    assert make_backend(srv).stat("x/b.txt").size == 3


def test_cut_liststream_is_resumed_without_duplicates(srv: JottaServer) -> None:
    b = make_backend(srv)
    for i in range(30):
        put_bytes(b, f"d{i % 3}/f{i:02}.txt", b"x" * i)
    expected = sorted(e.path for e in b.list_recursive(""))
    srv.add_fault(r"mode=liststream", "truncate", count=2)
    got = [e.path for e in b.list_recursive("")]
    assert sorted(got) == expected and len(got) == len(set(got))


def test_cut_download_reopens_with_a_range(srv: JottaServer) -> None:
    b = make_backend(srv)
    data = os.urandom(300_000)
    put_bytes(b, "big.bin", data)
    srv.add_fault(r"mode=bin", "truncate", count=1)
    srv.add_fault(r"mode=bin", "reset", count=1)
    assert b.get("big.bin").read() == data
    assert b.get("big.bin", 1000, 200_000).read() == data[1000:200_000]


def test_upload_whose_reply_was_lost_is_resolved_from_server_state(srv: JottaServer) -> None:
    b = make_backend(srv, "root")
    data = os.urandom(100_000)
    srv.add_fault(r"/files/v1/upload/", "truncate", count=1)
    e = b.put("u.bin", io.BytesIO(data), PutInfo(size=len(data), mtime_ns=T))
    assert e.hashes["md5"] == hashlib.md5(data).hexdigest()
    assert srv.state.read("Jotta/Archive/root/u.bin") == data


def test_unseekable_upload_with_lost_reply_is_reopened_by_the_engine(srv: JottaServer) -> None:
    from cloudsync.backends.memory import MemoryBackend

    b = make_backend(srv, "dst")
    src = MemoryBackend("m", "resilience-unseekable")  # own bucket
    data = os.urandom(50_000)
    src.put("s.bin", io.BytesIO(data), PutInfo(size=len(data), mtime_ns=T))
    srv.add_fault(r"/files/v1/upload/", "truncate", count=1)
    r = sync(src, b, SyncOptions())
    assert r.final_error is None and not r.errors
    assert srv.state.read("Jotta/Archive/dst/s.bin") == data


def test_delete_whose_reply_was_cut_is_done(srv: JottaServer) -> None:
    b = make_backend(srv, "root")
    put_bytes(b, "gone.txt", b"g")
    srv.add_fault(r"dl=true", "truncate", count=1)
    b.delete("gone.txt")
    assert srv.state.is_trashed("Jotta/Archive/root/gone.txt")
    with pytest.raises(ObjectNotFound):
        b.stat("gone.txt")
    with pytest.raises(ObjectNotFound):  # deleting a missing file is still an error
        b.delete("gone.txt")


def test_error_line_names_operation_path_and_cause(srv: JottaServer) -> None:
    b = make_backend(srv, api_url="http://127.0.0.1:9/", low_level_retries="2")
    with pytest.raises(RemoteUnreachable) as info:  # (never answered: see test_backend)
        b.put("Photos/a.jpg", io.BytesIO(b"a"), PutInfo(size=1, mtime_ns=T))
    text = str(info.value)
    assert "connection refused by 127.0.0.1:9" in text
    assert "\n" not in text and "(<" not in text and "Errno" not in text and "HTTPConnection" not in text
    b = make_backend(srv, "root", low_level_retries="2")
    b.username  # noqa: B018 - cache the account lookup so the next call is the allocation
    srv.add_fault(r"/files/v1/allocate", "reset", rate=1.0)
    with pytest.raises(TransientError) as info:
        b.put("Photos/a.jpg", io.BytesIO(b"a"), PutInfo(size=1, mtime_ns=T))
    text = str(info.value)
    assert "while allocating upload for root/Photos/a.jpg" in text, text
    assert "connection reset" in text or "cut short" in text
    assert "\n" not in text and "(<" not in text and "ProtocolError(" not in text


def test_token_endpoint_down_is_one_plain_line(srv: JottaServer) -> None:
    b = make_backend(srv, token_url="http://127.0.0.1:9/token")
    srv.expire_access_tokens()
    with pytest.raises(TransientError) as info:
        b.list("")
    text = str(info.value)
    assert "connection refused by 127.0.0.1:9" in text, text
    assert "HTTPConnection" not in text and "0x" not in text and "Errno" not in text
