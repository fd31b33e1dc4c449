"""fsspec's own abstract test suite (copy, get, put, pipe, open) over three cloudsync remotes:
memory, local and JottaCloud on the offline server."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

fsspec = pytest.importorskip("fsspec")

from fsspec.tests import abstract  # noqa: E402

from cloudsync.fsspec import CloudsyncFileSystem  # noqa: E402
from cloudsync.jottaserver.testing import JottaServer  # noqa: E402

from .support import jotta_remote, write_config  # noqa: E402


class CloudsyncFixtures(abstract.AbstractFixtures):  # type: ignore[misc]
    @pytest.fixture(scope="class", params=["memory", "local", "jottacloud"])
    @classmethod
    def _backend(cls, request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CloudsyncFileSystem, str]]:
        tmp = tmp_path_factory.mktemp("fsspec-abstract")
        conf = tmp / "cloudsync.conf"
        if request.param == "memory":
            write_config(conf, {"mem": {"type": "memory"}})
            fs = CloudsyncFileSystem(remote="mem", config=str(conf), skip_instance_cache=True)
            top = f"abstract-{uuid.uuid4().hex}"
            yield fs, top
            if fs.exists(top):  # the memory store is global to the process
                fs.rm(top, recursive=True)
        elif request.param == "local":
            write_config(conf, {})
            root = tmp / "remote"
            root.mkdir()
            fs = CloudsyncFileSystem(remote="local", config=str(conf), skip_instance_cache=True)
            yield fs, str(root).lstrip("/")
        else:
            with JottaServer() as srv:
                write_config(conf, {"jotta": jotta_remote(srv)})
                fs = CloudsyncFileSystem(remote="jotta", config=str(conf), skip_instance_cache=True)
                yield fs, "abstract"
                fs.close()

    @pytest.fixture(scope="class")
    @classmethod
    def fs(cls, _backend: tuple[CloudsyncFileSystem, str]) -> CloudsyncFileSystem:
        return _backend[0]

    @pytest.fixture
    def fs_path(self, _backend: tuple[CloudsyncFileSystem, str]) -> str:
        return _backend[1]

    @pytest.fixture
    def fs_join(self) -> Callable[..., str]:
        return lambda *parts: "/".join(parts)  # keeps a trailing "/" ("copy into")


class TestCloudsyncCopy(abstract.AbstractCopyTests, CloudsyncFixtures):  # type: ignore[misc]
    pass


class TestCloudsyncGet(abstract.AbstractGetTests, CloudsyncFixtures):  # type: ignore[misc]
    pass


class TestCloudsyncPut(abstract.AbstractPutTests, CloudsyncFixtures):  # type: ignore[misc]
    pass


class TestCloudsyncPipe(abstract.AbstractPipeTests, CloudsyncFixtures):  # type: ignore[misc]
    pass


class TestCloudsyncOpen(abstract.AbstractOpenTests, CloudsyncFixtures):  # type: ignore[misc]
    pass

