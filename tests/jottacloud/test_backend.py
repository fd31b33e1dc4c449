"""Backend operations against the offline server: the JottaCloud-specific behaviours."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any

import pytest
from cloudsync.backends.jottacloud.backend import JottaBackend

from cloudsync.engine.retry import is_no_retry
from cloudsync.errors import (
    CorruptedTransfer,
    DirNotFound,
    NameNotSupported,
    ObjectNotFound,
    ProtocolError,
    QuotaExceeded,
    RemoteUnreachable,
    TransientError,
    exit_code_for,
)
from cloudsync.jottaserver.testing import JottaServer
from cloudsync.types import PutInfo

from .support import make_backend, put_bytes, running_server, settled_log

T = 1_600_000_000_000_000_000


@pytest.fixture
def srv() -> Any:
    with running_server() as server:
        yield server


@pytest.fixture
def b(srv: JottaServer) -> Any:
    backend = make_backend(srv, "root")
    yield backend
    backend.close()


def uploads(srv: JottaServer) -> list[Any]:
    return [e for e in settled_log(srv) if e.path.startswith("/files/v1/upload/")]


class Unseekable:
    def __init__(self, data: bytes) -> None:
        self._b = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self._b.read(n)


def test_no_network_in_constructor(srv: JottaServer) -> None:
    settled_log(srv)
    srv.clear_request_log()
    make_backend(srv, "x")
    assert settled_log(srv) == []


def test_restricted_names_round_trip(b: JottaBackend, srv: JottaServer) -> None:
    put_bytes(b, "d:ir/a:b?.txt", b"abc")
    assert srv.state.read("Jotta/Archive/root/d：ir/a：b？.txt") == b"abc"
    assert [e.path for e in b.list("d:ir")] == ["d:ir/a:b?.txt"]
    assert {e.path for e in b.list_recursive("")} == {"d:ir", "d:ir/a:b?.txt"}
    assert b.get("d:ir/a:b?.txt").read() == b"abc"


def test_case_insensitive_lookup(b: JottaBackend) -> None:
    put_bytes(b, "Hello.TXT", b"hi")
    assert b.features.case_insensitive
    assert b.stat("hello.txt").size == 2


def test_completed_allocate_sends_no_body(b: JottaBackend, srv: JottaServer) -> None:
    put_bytes(b, "same.bin", b"payload")
    n = len(uploads(srv))
    put_bytes(b, "same.bin", b"payload", mtime_ns=T + 5 * 10**9)  # only the time changes
    assert len(uploads(srv)) == n
    assert b.stat("same.bin").mtime_ns == T + 5 * 10**9


def test_dedupe_elsewhere_sends_no_body(b: JottaBackend, srv: JottaServer) -> None:
    put_bytes(b, "one.bin", b"shared content")
    n = len(uploads(srv))
    put_bytes(b, "two.bin", b"shared content")
    assert len(uploads(srv)) == n
    assert b.get("two.bin").read() == b"shared content"


@pytest.mark.parametrize("size", [0, 1000, 300_000])
def test_put_without_md5_spools(srv: JottaServer, size: int, tmp_path: Path) -> None:
    # A tiny memory limit forces the temp-file path for the larger sizes.
    b = make_backend(srv, "spool", md5_memory_limit="1000")
    data = os.urandom(size)
    e = b.put("f.bin", Unseekable(data), PutInfo(size=-1, mtime_ns=T))
    assert e.size == size and e.hashes["md5"] == hashlib.md5(data).hexdigest()
    assert b.get("f.bin").read() == data


def test_put_with_known_md5_streams_once(b: JottaBackend) -> None:
    data = os.urandom(50_000)
    md5 = hashlib.md5(data).hexdigest()
    e = b.put("k.bin", Unseekable(data), PutInfo(size=len(data), mtime_ns=T, hashes={"md5": md5}))
    assert e.hashes["md5"] == md5
    assert b.stat("k.bin").hashes["md5"] == md5


def test_wrong_announced_md5_is_corruption(b: JottaBackend) -> None:
    data = b"real bytes"
    with pytest.raises(CorruptedTransfer):
        b.put("bad.bin", Unseekable(data), PutInfo(size=len(data), mtime_ns=T, hashes={"md5": "0" * 32}))
    with pytest.raises(ObjectNotFound):
        b.stat("bad.bin")


def test_short_source_leaves_nothing(b: JottaBackend) -> None:
    with pytest.raises(CorruptedTransfer):
        b.put("short.bin", Unseekable(b"12345"), PutInfo(size=10, mtime_ns=T, hashes={"md5": "1" * 32}))
    with pytest.raises(CorruptedTransfer):
        b.put("short2.bin", Unseekable(b"12345"), PutInfo(size=10, mtime_ns=T))
    assert b.list("") == []


def test_interrupted_upload_resumes(b: JottaBackend, srv: JottaServer) -> None:
    data = os.urandom(400_000)
    srv.add_fault(r"/files/v1/upload/", "reset", count=1)
    e = b.put("big.bin", io.BytesIO(data), PutInfo(size=len(data), mtime_ns=T))
    assert e.size == len(data)
    assert srv.state.read("Jotta/Archive/root/big.bin") == data
    ups = uploads(srv)
    assert len(ups) == 2  # the reset one, then the resumed remainder


def test_retry_on_503_and_429(b: JottaBackend, srv: JottaServer) -> None:
    put_bytes(b, "r.txt", b"r")
    srv.add_fault(r"/jfs/.*/root$", "status", status=503, count=2)
    srv.add_fault(r"mode=bin", "429", count=1, retry_after=0)
    assert [e.path for e in b.list("")] == ["r.txt"]
    assert b.get("r.txt").read() == b"r"


def test_range_reads(b: JottaBackend) -> None:
    data = bytes(range(100))
    put_bytes(b, "r.bin", data)
    assert b.get("r.bin", 5, 16).read() == data[5:16]
    assert b.get("r.bin", 80).read() == data[80:]
    assert b.get("r.bin", 81, 100_000).read() == data[81:]
    assert b.get("r.bin", 200).read() == b""


def test_delete_goes_to_trash_then_cleanup(b: JottaBackend, srv: JottaServer) -> None:
    put_bytes(b, "t.txt", b"t")
    b.delete("t.txt")
    assert srv.state.is_trashed("Jotta/Archive/root/t.txt")
    with pytest.raises(ObjectNotFound):
        b.stat("t.txt")
    assert b.list("") == []
    b.cleanup()
    assert b.last_cleanup.files >= 1
    assert not srv.state.is_trashed("Jotta/Archive/root/t.txt")


def test_hard_delete(srv: JottaServer) -> None:
    b = make_backend(srv, "h", hard_delete="true")
    put_bytes(b, "gone.txt", b"g")
    b.delete("gone.txt")
    assert not srv.state.is_trashed("Jotta/Archive/h/gone.txt")
    assert srv.state.file("Jotta/Archive/h/gone.txt") is None


def test_trashed_only_lists_trash(srv: JottaServer) -> None:
    b = make_backend(srv, "tr")
    put_bytes(b, "keep.txt", b"k")
    put_bytes(b, "sub/old.txt", b"o")
    b.delete("sub/old.txt")
    t = make_backend(srv, "tr", trashed_only="true")
    assert not t.has("list_recursive")
    assert [e.path for e in t.list("sub")] == ["sub/old.txt"]
    assert [e.path for e in t.list("") if not e.is_dir] == []


def test_no_versions_leaves_one_revision(srv: JottaServer) -> None:
    b = make_backend(srv, "nv", no_versions="true")
    put_bytes(b, "v.txt", b"one")
    put_bytes(b, "v.txt", b"two!")
    revs = srv.state.revisions("Jotta/Archive/nv/v.txt")
    assert [r.state for r in revs] == ["COMPLETED"]
    v = make_backend(srv, "v")
    put_bytes(v, "v.txt", b"one")
    put_bytes(v, "v.txt", b"two!")
    assert len(srv.state.revisions("Jotta/Archive/v/v.txt")) == 2


def test_set_modtime_without_upload(b: JottaBackend, srv: JottaServer) -> None:
    put_bytes(b, "m.txt", b"m")
    n = len(uploads(srv))
    e = b.set_modtime("m.txt", T + 3_999_999_999)
    assert e.mtime_ns == T + 3 * 10**9
    assert b.stat("m.txt").mtime_ns == T + 3 * 10**9
    assert len(uploads(srv)) == n


def test_copy_onto_trashed_path_restores(b: JottaBackend, srv: JottaServer) -> None:
    put_bytes(b, "src.txt", b"src")
    put_bytes(b, "dst.txt", b"old")
    b.delete("dst.txt")
    e = b.copy(b, "src.txt", "dst.txt")
    assert e.size == 3
    assert b.get("dst.txt").read() == b"src"


def test_move_and_dir_move(b: JottaBackend) -> None:
    put_bytes(b, "a/x.txt", b"x")
    b.move(b, "a/x.txt", "b/y.txt")
    assert [e.path for e in b.list("b")] == ["b/y.txt"]
    b.dir_move(b, "b", "c/d")
    assert [e.path for e in b.list("c/d")] == ["c/d/y.txt"]
    with pytest.raises(DirNotFound):
        b.list("b")


def test_public_link(b: JottaBackend, srv: JottaServer) -> None:
    put_bytes(b, "share.txt", b"s")
    url = b.public_link("share.txt")
    assert url.startswith(srv.base_url + "/opin/io/downloadPublic/")
    assert b.public_link("share.txt", unlink=True) == ""
    with pytest.raises(ObjectNotFound):
        b.public_link("missing.txt")


def test_about_unlimited_and_limited(srv: JottaServer) -> None:
    b = make_backend(srv)
    put_bytes(b, "u.bin", b"12345")
    u = b.about()
    assert u.used == 5 and u.total is None and u.free is None
    assert b.about_details()["unlimited"] is True
    srv.set_capacity(1000)
    u = b.about()
    assert (u.total, u.used, u.free) == (1000, 5, 995)


def test_quota_exceeded_is_fatal_and_clear(srv: JottaServer) -> None:
    srv.set_capacity(10)
    b = make_backend(srv, "q")
    with pytest.raises(QuotaExceeded) as info:
        put_bytes(b, "big.bin", b"x" * 100)
    assert exit_code_for(info.value) == 7
    assert "\n" not in str(info.value)


def test_name_too_long(b: JottaBackend, srv: JottaServer) -> None:
    srv.clear_request_log()
    with pytest.raises(NameNotSupported, match="255"):
        put_bytes(b, "x" * 256, b"x")
    assert not [e for e in settled_log(srv) if e.path.startswith("/files")]


def test_captive_portal_html(srv: JottaServer) -> None:
    import http.server
    import threading

    class Portal(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<!DOCTYPE html><html><body>Please accept the terms</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    portal = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Portal)
    threading.Thread(target=portal.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{portal.server_address[1]}/"
        b = make_backend(srv, api_url=base)
        with pytest.raises(ProtocolError) as info:
            b.list("")
        assert "HTML page" in str(info.value) and "\n" not in str(info.value)
    finally:
        portal.shutdown()
        portal.server_close()


def test_unknown_mountpoint_listing(srv: JottaServer) -> None:
    b = make_backend(srv, mountpoint="Nope")
    with pytest.raises(DirNotFound):
        b.list("")


def test_network_down_from_the_start_is_unreachable(srv: JottaServer) -> None:
    """No answer at all: rclone's remote fails to open there (exit 1, no command retries);
    once the service has answered, the same failure is transient (see test_resilience)."""
    b = make_backend(srv, api_url="http://127.0.0.1:9/", low_level_retries="2")
    with pytest.raises(RemoteUnreachable) as info:
        b.list("")
    assert not isinstance(info.value, TransientError)
    assert exit_code_for(info.value) == 1 and is_no_retry(info.value)
