"""A fault-injecting HTTP proxy to put between a client and the offline server.

It is deliberately independent of the server's own fault hooks: it sees only bytes on the
wire, so what it breaks is exactly what a flaky network or an overloaded front end breaks.
Every request is forwarded on a fresh upstream connection (``Connection: close`` both ways);
with probability ``rate`` (seeded) one fault replaces the normal exchange, the kinds
taking turns:

``500`` / ``503``  answer that status without forwarding (the request had no effect).
``429``            answer 429 with ``Retry-After`` (no effect).
``reset``          before forwarding: read the request, then reset the connection (no effect).
``lost_reply``     forward the request (it takes effect), then reset instead of answering.
``truncate``       forward, send the headers and half the body, then close.
``delay``          sleep ``delay`` seconds, then forward normally.

:meth:`FaultProxy.down` stops listening (clients see "connection refused") and cuts the open
connections; :meth:`FaultProxy.up` listens on the same port again.
"""

from __future__ import annotations

import collections
import contextlib
import random
import socket
import struct
import threading
import time
from collections.abc import Sequence

__all__ = ["FAULT_KINDS", "FaultProxy"]

FAULT_KINDS = ("500", "503", "429", "reset", "lost_reply", "truncate", "delay")
_HEAD_LIMIT = 64 * 1024


class _Cut(Exception):
    """The client went away or sent something we cannot forward."""


class FaultProxy:
    """A threaded proxy on 127.0.0.1 forwarding to ``upstream`` ("host:port")."""

    def __init__(self, upstream: str, *, rate: float = 0.2, seed: int = 0,
                 kinds: Sequence[str] = FAULT_KINDS, retry_after: int = 1, delay: float = 0.3,
                 skip: Sequence[str] = ()) -> None:
        host, _, port = upstream.rpartition(":")
        self.upstream = (host or "127.0.0.1", int(port))
        self.rate = rate
        self.kinds = tuple(kinds)
        for k in self.kinds:
            if k not in FAULT_KINDS:
                raise ValueError(f"unknown fault kind {k!r}")
        self.retry_after = retry_after
        self.delay = delay
        #: Request-target substrings never faulted (e.g. the token endpoint).
        self.skip = tuple(skip)
        self._rng = random.Random(seed)
        self._turn = self._rng.randrange(len(self.kinds))
        self._lock = threading.Lock()
        #: Faults injected so far, by kind; ``requests`` counts every request seen.
        self.injected: collections.Counter[str] = collections.Counter()
        #: Faults injected so far, by request line ("GET /jfs/... HTTP/1.1").
        self.faulted: collections.Counter[str] = collections.Counter()
        self.requests = 0
        self._listener: socket.socket | None = None
        self._port = 0
        self._conns: set[socket.socket] = set()
        self._accept_thread: threading.Thread | None = None
        self._closed = False

    # ------------------------------------------------------------------ life cycle
    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> FaultProxy:
        self.up()
        return self

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def up(self) -> None:
        """Listen (again, on the same port once one was chosen)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self._port))
        sock.listen(64)
        self._port = sock.getsockname()[1]
        self._listener = sock
        self._accept_thread = threading.Thread(target=self._accept, args=(sock,), daemon=True,
                                               name="fault-proxy-accept")
        self._accept_thread.start()

    def down(self) -> None:
        """Stop listening and cut every open connection: the server is "down"."""
        sock, self._listener = self._listener, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self._accept_thread is not None:
            self._accept_thread.join(5)
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            _reset(c)

    def close(self) -> None:
        self._closed = True
        self.down()

    # ------------------------------------------------------------------ serving
    def _accept(self, sock: socket.socket) -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with self._lock:
                self._conns.add(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True,
                             name="fault-proxy-conn").start()

    def _pick(self, target: str) -> str | None:
        with self._lock:
            self.requests += 1
            if any(s in target for s in self.skip):
                return None
            if self._rng.random() >= self.rate:
                return None
            # The kinds take turns (from a seeded start), so even a short run sees each.
            kind = self.kinds[(self._turn + sum(self.injected.values())) % len(self.kinds)]
            self.injected[kind] += 1
            self.faulted[target] += 1
            return kind

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(60)
            reader = conn.makefile("rb")
            while True:
                try:
                    head, body = _read_request(reader)
                except _Cut:
                    return
                target = head.split(b"\r\n", 1)[0].decode("latin-1")
                kind = self._pick(target)
                if kind in ("500", "503", "429"):
                    conn.sendall(_status_reply(int(kind), self.retry_after))
                    continue  # keep-alive: the client may send its retry on this connection
                if kind == "reset":
                    _reset(conn)
                    return
                if kind == "delay":
                    time.sleep(self.delay)
                reply = self._forward(head, body)
                if reply is None:
                    _reset(conn)
                    return
                if kind == "lost_reply":
                    _reset(conn)
                    return
                rhead, rbody = reply
                if kind == "truncate":
                    conn.sendall(rhead + rbody[: len(rbody) // 2])
                    conn.shutdown(socket.SHUT_RDWR)
                    return
                conn.sendall(rhead + rbody)
        except OSError:
            return
        finally:
            with self._lock:
                self._conns.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()

    def _forward(self, head: bytes, body: bytes) -> tuple[bytes, bytes] | None:
        """Send the request upstream on a fresh connection; the reply as (head, raw body)."""
        try:
            up = socket.create_connection(self.upstream, timeout=120)
        except OSError:
            return None
        try:
            up.sendall(_set_header(head, b"Connection", b"close") + body)
            chunks = []
            while True:
                data = up.recv(256 * 1024)
                if not data:
                    break
                chunks.append(data)
        except OSError:
            return None
        finally:
            up.close()
        raw = b"".join(chunks)
        end = raw.find(b"\r\n\r\n")
        if end < 0:
            return None
        rhead = raw[: end + 4]
        # Our client connection stays open for the next request (keep-alive), so the reply
        # must say how long it is: the upstream, asked to close, may not have.
        rbody = raw[end + 4:]
        if _header(rhead, b"Transfer-Encoding").lower() == b"chunked":
            rbody = _dechunk(rbody)
            rhead = _set_header(rhead, b"Transfer-Encoding", None)
        rhead = _set_header(rhead, b"Content-Length", str(len(rbody)).encode())
        rhead = _set_header(rhead, b"Connection", b"keep-alive")
        return rhead, rbody


# ---------------------------------------------------------------------- wire helpers


def _reset(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        conn.close()


def _read_request(reader: object) -> tuple[bytes, bytes]:
    lines = []
    size = 0
    while True:
        line = reader.readline(_HEAD_LIMIT)  # type: ignore[attr-defined]
        if not line:
            raise _Cut
        size += len(line)
        if size > _HEAD_LIMIT:
            raise _Cut
        lines.append(line)
        if line in (b"\r\n", b"\n"):
            break
    head = b"".join(lines)
    if _header(head, b"Transfer-Encoding").lower() == b"chunked":
        body = _read_chunked(reader)
        head = _set_header(_set_header(head, b"Transfer-Encoding", None),
                           b"Content-Length", str(len(body)).encode())
        return head, body
    length = int(_header(head, b"Content-Length") or b"0")
    body = reader.read(length) if length else b""  # type: ignore[attr-defined]
    if len(body) != length:
        raise _Cut
    return head, body


def _read_chunked(reader: object) -> bytes:
    out: list[bytes] = []
    while True:
        size_line = reader.readline(1024)  # type: ignore[attr-defined]
        if not size_line:
            raise _Cut
        n = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        if n == 0:
            while reader.readline(1024) not in (b"\r\n", b"\n", b""):  # type: ignore[attr-defined]
                pass
            return b"".join(out)
        out.append(reader.read(n))  # type: ignore[attr-defined]
        reader.readline(1024)  # type: ignore[attr-defined]


def _dechunk(raw: bytes) -> bytes:
    out: list[bytes] = []
    pos = 0
    while True:
        eol = raw.find(b"\r\n", pos)
        if eol < 0:
            return b"".join(out)
        n = int(raw[pos:eol].split(b";", 1)[0].strip() or b"0", 16)
        if n == 0:
            return b"".join(out)
        out.append(raw[eol + 2: eol + 2 + n])
        pos = eol + 2 + n + 2


def _header(head: bytes, name: bytes) -> bytes:
    low = name.lower() + b":"
    for line in head.split(b"\r\n")[1:]:
        if line.lower().startswith(low):
            return line.split(b":", 1)[1].strip()
    return b""


def _set_header(head: bytes, name: bytes, value: bytes | None) -> bytes:
    lines = head.rstrip(b"\r\n").split(b"\r\n")
    low = name.lower() + b":"
    kept = [lines[0]] + [ln for ln in lines[1:] if not ln.lower().startswith(low)]
    if value is not None:
        kept.append(name + b": " + value)
    return b"\r\n".join(kept) + b"\r\n\r\n"


def _status_reply(status: int, retry_after: int) -> bytes:
    reason = {500: "Internal Server Error", 503: "Service Unavailable", 429: "Too Many Requests"}[status]
    body = f"{status} {reason}".encode()
    extra = f"Retry-After: {retry_after}\r\n" if status == 429 else ""
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\n{extra}"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body
