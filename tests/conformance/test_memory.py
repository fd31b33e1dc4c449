"""Behaviour specific to the memory backend: the shared store and the test knobs."""

from __future__ import annotations

import hashlib
import io
import uuid
from typing import Any

import pytest
from cloudsync.backends import memory as memory_mod
from cloudsync.backends.memory import MemoryBackend

from cloudsync.errors import (
    CantSetModTime,
    CantSetModTimeWithoutDelete,
    ConfigError,
    HashUnsupported,
)
from cloudsync.registry import get_spec
from cloudsync.types import MD5, MODTIME_UNSUPPORTED, SHA1, PutInfo

T = 1_234_567_891_987_654_321


def make(root: str = "", **options: str) -> MemoryBackend:
    spec = get_spec("memory")
    b = spec.factory(":memory", root, spec.parse_options(options), None)
    assert isinstance(b, MemoryBackend)
    return b


@pytest.fixture
def bucket() -> str:
    return f"test-{uuid.uuid4().hex}"


@pytest.fixture
def private_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests that reset() or count the whole store get their own (restored afterwards), so
    they never wipe data another test's long-lived fixture keeps in the shared store."""
    monkeypatch.setattr(memory_mod, "_top", memory_mod._Dir(0))


def put(b: MemoryBackend, path: str, data: bytes, mtime: int = T) -> Any:
    return b.put(path, io.BytesIO(data), PutInfo(len(data), mtime))


def test_defaults_and_description(bucket: str) -> None:
    b = make(f"/{bucket}//x/")
    assert b.root == f"{bucket}/x"
    assert str(b) == f"Memory root '{bucket}/x'"
    assert b.features.precision_ns == 1
    assert b.features.hashes == {MD5, SHA1}
    assert {"copy", "move", "dir_move", "purge", "list_recursive", "set_modtime"} <= b.capabilities()


def test_store_is_shared_between_backends(bucket: str) -> None:
    a = make(bucket)
    other = MemoryBackend("another-name", f"{bucket}/sub")
    put(a, "sub/f.txt", b"shared")
    assert other.get("f.txt").read() == b"shared"
    assert other.same_remote(a)


@pytest.mark.usefixtures("private_store")
def test_reset_wipes_everything(bucket: str) -> None:
    put(make(bucket), "f.txt", b"x")
    memory_mod.reset()
    assert make().list("") == []


def test_md5_is_free_in_listings_sha1_on_demand(bucket: str) -> None:
    b = make(bucket)
    data = b"hash me"
    e = put(b, "f.txt", data)
    assert e.hashes == {MD5: hashlib.md5(data).hexdigest()}
    assert b.list("")[0].hashes == {MD5: hashlib.md5(data).hexdigest()}
    assert b.hash("f.txt", SHA1) == hashlib.sha1(data).hexdigest()


def test_precision_option_truncates(bucket: str) -> None:
    b = make(bucket, precision="1s")
    assert b.features.precision_ns == 1_000_000_000
    assert put(b, "f.txt", b"x").mtime_ns == T - T % 1_000_000_000
    assert b.stat("f.txt").mtime_ns == T - T % 1_000_000_000
    assert make(bucket, precision="100ms").features.precision_ns == 100_000_000
    off = make(bucket, precision="off")
    assert off.features.precision_ns == MODTIME_UNSUPPORTED
    assert not off.features.modtime_supported
    assert put(off, "g.txt", b"x").mtime_ns != T  # upload time instead


def test_hashes_option(bucket: str) -> None:
    b = make(bucket, hashes="")
    assert b.features.hashes == frozenset()
    assert put(b, "f.txt", b"x").hashes == {}
    with pytest.raises(HashUnsupported):
        b.hash("f.txt", MD5)
    sha_only = make(bucket, hashes="sha1")
    assert sha_only.list("")[0].hashes == {}
    assert sha_only.hash("f.txt", SHA1) == hashlib.sha1(b"x").hexdigest()
    with pytest.raises(ConfigError):
        make(bucket, hashes="md5,whirlpool")


def test_case_insensitive_option(bucket: str) -> None:
    b = make(bucket, case_insensitive="true")
    assert b.features.case_insensitive
    put(b, "Dir/File.TXT", b"one")
    assert b.stat("dir/file.txt").size == 3
    put(b, "DIR/file.txt", b"two!")
    # Like a case-insensitive disk: one file, the first spelling kept, the new content.
    assert [(e.path, e.size) for e in b.list("Dir")] == [("Dir/File.TXT", 4)]
    # A case-only rename.
    b.move(b, "Dir/File.TXT", "Dir/file.txt")
    assert [e.path for e in b.list("Dir")] == ["Dir/file.txt"]
    sensitive = make(bucket)
    with pytest.raises(FileNotFoundError):
        sensitive.stat("dir/file.txt")


def test_set_modtime_option(bucket: str) -> None:
    no = make(bucket, set_modtime="false")
    put(no, "f.txt", b"x")
    assert not no.has("set_modtime")
    with pytest.raises(CantSetModTime):
        no.set_modtime("f.txt", 5)
    wd = make(bucket, set_modtime="without_delete")
    with pytest.raises(CantSetModTimeWithoutDelete):
        wd.set_modtime("f.txt", 5)
    with pytest.raises(ConfigError):
        make(bucket, set_modtime="maybe")
    yes = make(bucket)
    assert yes.set_modtime("f.txt", 5).mtime_ns == 5


def test_disable_option(bucket: str) -> None:
    b = make(bucket, disable="copy,move")
    assert not b.has("copy") and not b.has("move") and b.has("dir_move")
    with pytest.raises(ConfigError):
        make(bucket, disable="teleport")


@pytest.mark.usefixtures("private_store")
def test_about_counts_objects(bucket: str) -> None:
    b = make(bucket)
    put(b, "a", b"12345")
    put(b, "d/b", b"123")
    usage = b.about()
    assert (usage.objects, usage.used) == (2, 8)


def test_open_reader_survives_overwrite(bucket: str) -> None:
    b = make(bucket)
    put(b, "f.txt", b"first version")
    with b.get("f.txt") as f:
        put(b, "f.txt", b"second")
        assert f.read() == b"first version"


def test_dir_move_into_itself_is_refused(bucket: str) -> None:
    b = make(bucket)
    put(b, "a/f.txt", b"x")
    with pytest.raises(FileExistsError):
        b.dir_move(b, "a", "a/inner")
    assert b.get("a/f.txt").read() == b"x"
