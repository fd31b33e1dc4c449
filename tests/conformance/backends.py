"""The one extension point of the conformance suite: which backends it runs on.

Every test in ``tests/conformance`` runs once per entry of :data:`FACTORIES`.  To add a backend,
add one entry::

    FACTORIES["jottacloud"] = jotta_factory

A factory is called with pytest's ``tmp_path`` and returns a context manager.  Entering it sets
up a fresh, *empty and not yet existing* test root on the backend's storage and yields a
:data:`Maker`; leaving it tears everything down (stop servers, delete the root).

``make(sub="")`` returns a new backend rooted at ``<test root>/<sub>`` (``sub`` is a
``/``-separated relative path, ``""`` for the test root itself).  Every backend it returns sees
the same storage and has the same remote name (so ``same_remote`` holds between them); the
tests call ``make`` several times to check rooted sub-directories, roots that are files
(FsIsFile) and roots that must not collapse onto the top of the storage.  Backends a test does
not close are closed by the factory on exit.

Optional capabilities are tested only when ``backend.has(cap)``; names a backend cannot hold are
skipped through ``backend.features.restricted_chars``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path

from cloudsync.backend import Backend
from cloudsync.registry import get_spec

__all__ = ["FACTORIES", "Factory", "Maker", "spec_maker"]

#: ``make(sub="") -> Backend`` rooted at ``<test root>/<sub>``.
Maker = Callable[..., Backend]
#: ``factory(tmp_path) -> context manager yielding a Maker``.
Factory = Callable[[Path], AbstractContextManager[Maker]]


@contextmanager
def spec_maker(type_name: str, remote_name: str, root: str,
               options: dict[str, str] | None = None) -> Iterator[Maker]:
    """A Maker building backends through the registered spec, exactly as the CLI does."""
    spec = get_spec(type_name)
    parsed = spec.parse_options(options or {})
    made: list[Backend] = []

    def make(sub: str = "") -> Backend:
        backend = spec.factory(remote_name, f"{root}/{sub}" if sub else root, parsed, None)
        made.append(backend)
        return backend

    try:
        yield make
    finally:
        for backend in made:
            backend.close()


@contextmanager
def local_factory(tmp_path: Path) -> Iterator[Maker]:
    with spec_maker("local", "local", str(tmp_path / "remote")) as make:
        yield make


@contextmanager
def memory_factory(tmp_path: Path) -> Iterator[Maker]:
    # The store is global to the process: a unique root keeps tests (and xdist workers'
    # threads) apart, and purging it afterwards keeps memory flat over a long run.
    root = f"conformance-{uuid.uuid4().hex}"
    with spec_maker("memory", ":memory", root) as make:
        yield make
        top = make("")
        with suppress(FileNotFoundError):
            top.purge("")


@contextmanager
def jottacloud_factory(tmp_path: Path) -> Iterator[Maker]:
    # A fresh offline JottaCloud server per test; the backend logs in with tokens issued
    # without HTTP, so only the file operations under test hit the wire.
    from jottacloud.support import jotta_options, running_server

    with running_server() as srv, spec_maker("jottacloud", "jotta", "conformance", jotta_options(srv)) as make:
        yield make


FACTORIES: dict[str, Factory] = {
    "local": local_factory,
    "memory": memory_factory,
    "jottacloud": jottacloud_factory,
}
