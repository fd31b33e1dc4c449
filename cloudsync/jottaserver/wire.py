"""HTTP/1.1 plumbing for the fake server: request body reading, responses, the threaded server.

Kept separate from the routes so the protocol code in :mod:`.app` never touches sockets.
Supports keep-alive, ``Content-Length`` and chunked request bodies, chunked or sized responses,
file-backed bodies streamed in 1 MiB pieces, and the connection-level faults (reset, truncate).
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import struct
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

if TYPE_CHECKING:
    from email.message import Message

    from .app import App

__all__ = ["BodyReader", "ClientGone", "FileSlice", "Request", "Response", "Server"]

log = logging.getLogger("cloudsync.jottaserver")

CHUNK = 1 << 20


class ClientGone(Exception):
    """The peer closed the connection (or a fault cut it) before the request body was complete."""


class BadRequestBody(Exception):
    """Malformed framing: bad Content-Length or chunk header."""


class BodyReader:
    """Reads a request body framed by ``Content-Length`` or ``Transfer-Encoding: chunked``."""

    def __init__(self, rfile: Any, headers: Message) -> None:
        self._rfile = rfile
        te = (headers.get("Transfer-Encoding") or "").lower()
        self.chunked = "chunked" in te
        cl = headers.get("Content-Length")
        self.length: int | None
        if self.chunked:
            self.length = None
        elif cl is None or cl.strip() == "":
            self.length = 0
        else:
            try:
                self.length = int(cl)
            except ValueError as exc:
                raise BadRequestBody(f"bad Content-Length {cl!r}") from exc
            if self.length < 0:
                raise BadRequestBody("negative Content-Length")
        self.consumed = 0
        self.limit: int | None = None  # a "reset" fault cuts the body here
        self._chunk_left = 0
        self._done = not self.chunked and self.length == 0

    @property
    def has_body(self) -> bool:
        return self.chunked or bool(self.length)

    @property
    def done(self) -> bool:
        return self._done

    def _raw(self, n: int) -> bytes:
        data: bytes = self._rfile.read(n) if n > 0 else b""
        if len(data) < n:
            raise ClientGone("connection closed mid-body")
        return data

    def read(self, n: int = CHUNK) -> bytes:
        """Up to ``n`` bytes; ``b""`` at the end of the body."""
        if self._done:
            return b""
        if self.limit is not None and self.consumed >= self.limit:
            raise ClientGone("connection reset by fault injection")
        if self.limit is not None:
            n = min(n, self.limit - self.consumed)
        if not self.chunked:
            assert self.length is not None
            n = min(n, self.length - self.consumed)
            data = self._raw(n)
            self.consumed += len(data)
            if self.consumed >= self.length:
                self._done = True
            return data
        if self._chunk_left == 0:
            line = self._rfile.readline(1024)
            if not line:
                raise ClientGone("connection closed in chunk header")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError as exc:
                raise BadRequestBody("bad chunk header") from exc
            if size == 0:
                # Trailers end with an empty line.
                while True:
                    trailer = self._rfile.readline(1024)
                    if not trailer or trailer in (b"\r\n", b"\n"):
                        break
                self._done = True
                return b""
            self._chunk_left = size
        data = self._raw(min(n, self._chunk_left))
        self._chunk_left -= len(data)
        self.consumed += len(data)
        if self._chunk_left == 0:
            self._raw(2)  # CRLF after the chunk data
        return data

    def read_all(self, cap: int) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            piece = self.read(CHUNK)
            if not piece:
                return b"".join(parts)
            total += len(piece)
            if total > cap:
                raise BadRequestBody("request body too large")
            parts.append(piece)

    def drain(self, cap: int) -> bool:
        """Discard what is left if it is at most ``cap`` bytes; False means close the connection."""
        if self._done:
            return True
        if self.length is not None and self.length - self.consumed > cap:
            return False
        try:
            start = self.consumed
            while self.read(CHUNK):
                if self.consumed - start > cap:
                    return False
        except (ClientGone, BadRequestBody, OSError):
            return False
        return True



#: Query parameters whose values are secrets: never logged, never kept in the request log.
SECRET_PARAMS = frozenset({
    "password", "client_secret", "refresh_token", "code", "auth_token", "access_token", "token",
    "id_token",
})
_QUERY_IN_LINE = re.compile(r"\?([^ \"]*)")


def redact_query(raw: str) -> str:
    """``raw`` query string with the values of secret-bearing parameters replaced."""
    pairs = parse_qs(raw, keep_blank_values=True)
    return urlencode([(k, "REDACTED" if k.lower() in SECRET_PARAMS else v)
                      for k, vals in pairs.items() for v in vals])


@dataclass
class FileSlice:
    path: Path
    offset: int
    length: int


@dataclass
class Response:
    status: int
    body: bytes | FileSlice | Iterable[bytes] | None = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    reason: str | None = None
    content_type: str | None = None


@dataclass
class Request:
    method: str
    target: str
    path: str  # raw, still percent-encoded
    raw_query: str
    headers: Message
    body: BodyReader
    xid: str

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.raw_query, keep_blank_values=True)

    def q(self, name: str) -> str | None:
        vals = self.query.get(name)
        return vals[0] if vals else None

    def has(self, name: str) -> bool:
        return name in self.query


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY each response could stall
    # on Nagle + delayed ACK for ~40 ms.
    disable_nagle_algorithm = True
    # Garbage request lines still get a proper status line (the stdlib would assume HTTP/0.9).
    default_request_version = "HTTP/1.1"
    server_version = "Jetty(9.4.51.v20230217)"
    sys_version = ""
    # An idle keep-alive connection is dropped after this long.
    timeout = 120
    server: Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)
        handshake = getattr(self.connection, "do_handshake", None)
        if handshake is not None:  # TLS: handshake here, in the handler thread
            handshake()

    def finish(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            super().finish()
        self.server.track(self.connection, False)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        # The request line carries the query string, where legacy clients put passwords.
        line = _QUERY_IN_LINE.sub(lambda m: "?" + redact_query(m.group(1)), format % args)
        log.debug("%s %s", self.address_string(), line)

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_GET

    def _handle(self) -> None:
        app: App = self.server.app
        split = urlsplit(self.path)
        try:
            body = BodyReader(self.rfile, self.headers)
        except BadRequestBody:
            self.close_connection = True
            self._send(app.plain_error(400, "Bad request"))
            return
        req = Request(self.command, self.path, split.path, split.query, self.headers, body,
                      app.new_xid())
        fault = app.faults.pick(self.command, self.path)
        if fault is not None and fault.kind == "reset" and body.has_body:
            body.limit = (body.length // 2) if body.length else 64 * 1024
        try:
            resp = app.dispatch(req, fault)
        except ClientGone:
            app.log_request(req, 0, fault)
            self._abort(reset=fault is not None and fault.kind == "reset")
            return
        if not body.drain(16 * 1024 * 1024):
            self.close_connection = True
        # Logged before the response goes out, so a client that reads the log right after its
        # response always finds the entry.
        app.log_request(req, resp.status, fault)
        if fault is not None and fault.kind in ("reset", "truncate"):
            with contextlib.suppress(OSError):
                self._send(resp, cut=True)
            self._abort(reset=fault.kind == "reset")
        else:
            try:
                self._send(resp)
            except OSError:
                self.close_connection = True

    def _abort(self, *, reset: bool) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.wfile.flush()
        if reset:
            with contextlib.suppress(OSError):
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with contextlib.suppress(OSError):
            self.connection.close()

    def _send(self, resp: Response, *, cut: bool = False) -> None:
        self.send_response(resp.status, resp.reason)
        for k, v in resp.headers:
            self.send_header(k, v)
        if resp.content_type:
            self.send_header("Content-Type", resp.content_type)
        body = resp.body
        chunks: Iterator[bytes]
        if body is None:
            body = b""
        if isinstance(body, bytes):
            self.send_header("Content-Length", str(len(body)))
            total: int | None = len(body)
            chunks = iter([body])
        elif isinstance(body, FileSlice):
            self.send_header("Content-Length", str(body.length))
            total = body.length
            chunks = _file_chunks(body)
        else:
            self.send_header("Transfer-Encoding", "chunked")
            total = None
            chunks = iter(body)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        if total is not None:
            budget = total // 2 if cut else total
            for piece in chunks:
                if budget <= 0:
                    break
                piece = piece[:budget]
                self.wfile.write(piece)
                budget -= len(piece)
        else:
            for i, piece in enumerate(chunks):
                if piece:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                if cut and i >= 0:
                    return
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def _file_chunks(fs: FileSlice) -> Iterator[bytes]:
    with open(fs.path, "rb") as f:
        f.seek(fs.offset)
        left = fs.length
        while left > 0:
            piece = f.read(min(CHUNK, left))
            if not piece:
                break
            left -= len(piece)
            yield piece


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr: tuple[str, int], app: App) -> None:
        self.app = app
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        #: Connections accepted so far (tests and benches check that clients keep them alive).
        self.connections_accepted = 0
        super().__init__(addr, Handler)

    def track(self, conn: socket.socket, add: bool) -> None:
        with self._conns_lock:
            if add:
                self._conns.add(conn)
                self.connections_accepted += 1
            else:
                self._conns.discard(conn)

    def close_all(self) -> None:
        """Shut every open connection so no handler thread outlives the server."""
        with self._conns_lock:
            conns = list(self._conns)
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Never print a traceback to the console; a broken client connection is routine.
        log.debug("connection error from %s", client_address, exc_info=True)
