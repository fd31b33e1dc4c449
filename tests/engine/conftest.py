"""Helpers for engine tests: memory trees, fault-injecting and call-counting backends."""

from __future__ import annotations

import io
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import pytest
from cloudsync.backends import memory
from cloudsync.backends.memory import MemoryBackend

from cloudsync.backend import Backend
from cloudsync.engine import retry
from cloudsync.types import Entry, PutInfo

T1 = 981_173_106_499_999_999  # 2001-02-03T04:05:06.499999999Z
T2 = 1_324_817_999_123_456_789  # 2011-12-25T12:59:59.123456789Z
S = 1_000_000_000


@pytest.fixture(autouse=True)
def _clean_memory(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    memory.reset()
    # no real sleeping in retry tests
    monkeypatch.setattr(retry, "BACKOFF_BASE", 0.0)
    yield
    memory.reset()


def put(b: Backend, path: str, data: bytes, mtime: int = T1) -> Entry:
    return b.put(path, io.BytesIO(data), PutInfo(len(data), mtime))


def tree(b: Backend) -> dict[str, tuple[bytes, int | None]]:
    """{path: (content, mtime)} of every file of ``b``."""
    out: dict[str, tuple[bytes, int | None]] = {}
    stack = [""]
    while stack:
        d = stack.pop()
        try:
            entries = b.list(d)
        except FileNotFoundError:
            continue
        for e in entries:
            if e.is_dir:
                stack.append(e.path)
            else:
                with b.get(e.path) as f:
                    out[e.path] = (f.read(), e.mtime_ns)
    return out


def dirs(b: Backend) -> set[str]:
    out: set[str] = set()
    stack = [""]
    while stack:
        d = stack.pop()
        try:
            entries = b.list(d)
        except FileNotFoundError:
            continue
        for e in entries:
            if e.is_dir:
                out.add(e.path)
                stack.append(e.path)
    return out


class Faulty(MemoryBackend):
    """A memory backend that counts calls and raises on demand.

    ``faults[(op, path)]`` is an exception instance (raised every time) or a list of them
    (raised one per call until exhausted).  Being a different class from MemoryBackend, it is
    never "the same remote" as a plain memory backend: transfers to/from it stream.
    """

    def __init__(self, name: str = "faulty", root: str = "", **kw: Any) -> None:
        super().__init__(name, root, **kw)
        self.faults: dict[tuple[str, str], BaseException | list[BaseException]] = {}
        self.calls: Counter[str] = Counter()
        self._flock = threading.Lock()

    def _hit(self, op: str, path: str) -> None:
        with self._flock:
            self.calls[op] += 1
            fault = self.faults.get((op, path))
            if fault is None:
                return
            if isinstance(fault, list):
                if not fault:
                    return
                raise fault.pop(0)
        raise fault

    def list(self, path: str) -> list[Entry]:
        self._hit("list", path)
        return super().list(path)

    def list_recursive(self, path: str) -> Iterator[Entry]:
        self._hit("list_recursive", path)
        return super().list_recursive(path)

    def stat(self, path: str) -> Entry:
        self._hit("stat", path)
        return super().stat(path)

    def get(self, path: str, start: int = 0, end: int | None = None) -> BinaryIO:
        self._hit("get", path)
        return super().get(path, start, end)

    def put(self, path: str, stream: Any, info: PutInfo) -> Entry:
        self._hit("put", path)
        return super().put(path, stream, info)

    def hash(self, path: str, hash_type: str) -> str:
        self._hit("hash", path)
        return super().hash(path, hash_type)

    def delete(self, path: str) -> None:
        self._hit("delete", path)
        super().delete(path)

    def set_modtime(self, path: str, mtime_ns: int) -> Entry:
        self._hit("set_modtime", path)
        return super().set_modtime(path, mtime_ns)


@pytest.fixture
def mem() -> Callable[..., MemoryBackend]:
    def make(root: str, name: str = "mem", **kw: Any) -> MemoryBackend:
        return MemoryBackend(name, root, **kw)

    return make


@pytest.fixture(params=["memory", "jottacloud"])
def remote_backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """A memory backend, then one on the offline JottaCloud server (modtimes to the second,
    md5 only), for commands whose engine code is the same whatever the backend."""
    if request.param == "memory":
        yield MemoryBackend("mem", "root")
        return
    from tests.jottacloud.support import make_backend, running_server

    with running_server() as srv:
        b = make_backend(srv, "engine")
        yield b
        b.close()
