"""cloudsync.fsspec beyond the abstract suite: URLs, both path modes, reads and writes against
the offline JottaCloud server (request counts, streaming, md5 spool), caches and bad input."""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path

import pytest

fsspec = pytest.importorskip("fsspec")

from cloudsync.fsspec import CloudsyncFileSystem, JottacloudFileSystem  # noqa: E402
from cloudsync.jottaserver.testing import JottaServer  # noqa: E402

from .support import write_config  # noqa: E402


def jfs(conf: str, **kw: object) -> CloudsyncFileSystem:
    return CloudsyncFileSystem(remote="jotta", config=conf, skip_instance_cache=True, **kw)


def data_requests(srv: JottaServer) -> list[str]:
    """Requests for file contents (downloads), in order."""
    return [e.path for e in srv.request_log if "mode=bin" in e.query]


# ----------------------------------------------------------------------------- names and URLs


def test_entry_points_register_both_protocols() -> None:
    assert fsspec.get_filesystem_class("cloudsync") is CloudsyncFileSystem
    assert fsspec.get_filesystem_class("jottacloud") is JottacloudFileSystem


def test_urls_round_trip_in_both_modes(srv: JottaServer, conf: str) -> None:
    srv.state.put_file("Jotta/Archive/data/x.csv", b"a,b\n1,2\n")
    bound = jfs(conf)
    assert bound.ls("data", detail=False) == ["data/x.csv"]
    assert bound.unstrip_protocol("data/x.csv") == "cloudsync://jotta/data/x.csv"
    assert bound.cat("cloudsync://jotta/data/x.csv") == b"a,b\n1,2\n"  # a full URL works too
    with pytest.raises(ValueError, match="bound to remote 'jotta'"):
        bound.cat("cloudsync://other/data/x.csv")

    free = CloudsyncFileSystem(config=conf, skip_instance_cache=True)
    assert free.ls("jotta/data", detail=False) == ["jotta/data/x.csv"]
    assert free.unstrip_protocol("jotta/data/x.csv") == "cloudsync://jotta/data/x.csv"
    assert sorted(free.ls("", detail=False)) == ["jotta", "mem"]  # the top level: remotes

    fs, path = fsspec.core.url_to_fs("cloudsync://jotta/data/x.csv", config=conf)
    assert path == "jotta/data/x.csv"
    with fsspec.open(fs.unstrip_protocol(path), "rb", config=conf) as f:
        assert f.read() == b"a,b\n1,2\n"
    jotta_url = fsspec.open("jottacloud://jotta/data/x.csv", "rb", config=conf)
    with jotta_url as f:
        assert f.read(3) == b"a,b"
    assert jotta_url.fs.unstrip_protocol("jotta/data/x.csv") == "jottacloud://jotta/data/x.csv"


def test_jottacloud_protocol_refuses_other_remote_types(conf: str) -> None:
    with pytest.raises(ValueError, match="'mem' is a memory remote, not jottacloud"):
        JottacloudFileSystem(remote="mem", config=conf, skip_instance_cache=True)


def test_metadata_from_the_listing(srv: JottaServer, conf: str) -> None:
    payload = b"hello world"
    srv.state.put_file("Jotta/Archive/d/f.txt", payload, modified=1_700_000_000)
    fs = jfs(conf)
    info = fs.info("d/f.txt")
    md5 = hashlib.md5(payload).hexdigest()
    assert (info["type"], info["size"], info["md5"]) == ("file", len(payload), md5)
    assert fs.checksum("d/f.txt") == int(md5, 16)
    assert fs.ukey("d/f.txt") == md5
    assert fs.modified("d/f.txt").timestamp() == pytest.approx(1_700_000_000, abs=1)
    assert fs.created("d/f.txt") == fs.modified("d/f.txt")
    assert fs.isdir("d") and fs.isfile("d/f.txt") and not fs.exists("d/nope")
    assert fs.du("d") == len(payload)
    assert fs.glob("d/*.txt") == ["d/f.txt"]
    assert fs.find("") == ["d/f.txt"]
    assert [(root, dirs, files) for root, dirs, files in fs.walk("")] == [("", ["d"], []), ("d", [], ["f.txt"])]


# ----------------------------------------------------------------------------- reading


def test_ranged_reads_cost_one_request_each_and_sequential_reads_stream(srv: JottaServer, conf: str) -> None:
    data = random.Random(1).randbytes(3 << 20)
    srv.state.put_file("Jotta/Archive/big.bin", data)
    fs = jfs(conf)
    with fs.open("big.bin", "rb") as f:
        srv.clear_request_log()
        for offset in (2_000_000, 100, 1_500_000, 3_000_000):
            f.seek(offset)
            assert f.read(65536) == data[offset:offset + 65536]
        assert len(data_requests(srv)) == 4  # one per miss
        f.seek(3_070_000)
        assert f.read(1000) == data[3_070_000:3_071_000]  # inside the read-ahead: no request
        assert len(data_requests(srv)) == 4
    srv.clear_request_log()
    with fs.open("big.bin", "rb") as f:
        chunks = []
        while chunk := f.read(100_000):
            chunks.append(chunk)
    assert b"".join(chunks) == data
    assert len(data_requests(srv)) == 2  # a first block, then one stream to the end
    assert fs.cat_file("big.bin", start=-10) == data[-10:]
    assert fs.cat_file("big.bin", 5, 25) == data[5:25]


def test_streamed_write_larger_than_the_md5_memory_limit(srv: JottaServer, conf: str) -> None:
    fs = jfs(conf, md5_memory_limit="1M")  # a backend option as a storage option
    blocks = [os.urandom(1 << 20) for _ in range(6)]
    with fs.open("up/big.bin", "wb", block_size=1 << 20) as f:
        for block in blocks:
            f.write(block)
    body = b"".join(blocks)
    assert srv.state.read("Jotta/Archive/up/big.bin") == body
    assert fs.info("up/big.bin")["md5"] == hashlib.md5(body).hexdigest()


def test_failed_write_leaves_nothing_and_keeps_the_old_file(srv: JottaServer, conf: str) -> None:
    fs = jfs(conf)
    fs.pipe("w/keep.txt", b"old")
    with pytest.raises(RuntimeError), fs.open("w/keep.txt", "wb", block_size=1 << 16) as f:
        f.write(os.urandom(1 << 18))  # streaming has started
        raise RuntimeError("the writer fails half-way")
    assert fs.cat("w/keep.txt") == b"old"
    with pytest.raises(RuntimeError), fs.open("w/new.txt", "wb") as f:
        f.write(b"partial")
        raise RuntimeError("boom")
    assert not fs.exists("w/new.txt")


def test_listing_cache_sees_own_writes(srv: JottaServer, conf: str) -> None:
    fs = jfs(conf)
    fs.pipe("c/a.txt", b"1")
    assert fs.ls("c", detail=False) == ["c/a.txt"]
    srv.clear_request_log()
    assert fs.ls("c", detail=False) == ["c/a.txt"]
    assert srv.request_log == []  # served from the cache
    fs.pipe("c/b.txt", b"2")
    with fs.open("c/d/e.txt", "wb") as f:
        f.write(b"3")
    assert fs.ls("c", detail=False) == ["c/a.txt", "c/b.txt", "c/d"]
    fs.rm("c/a.txt")
    fs.mv("c/b.txt", "c/z.txt")
    assert fs.ls("c", detail=False) == ["c/d", "c/z.txt"]
    fs.rm("c", recursive=True)
    assert not fs.exists("c")


def test_copy_and_move_are_server_side_on_jottacloud(srv: JottaServer, conf: str) -> None:
    fs = jfs(conf)
    fs.pipe("s/a.bin", os.urandom(50_000))
    srv.clear_request_log()
    fs.cp("s/a.bin", "s/b.bin")
    fs.mv("s/b.bin", "t/c.bin")
    fs.mv("t", "u", recursive=True)
    uploads = [e for e in srv.request_log if "allocate" in e.path or "upload" in e.path]
    assert uploads == [] and data_requests(srv) == []  # no byte went through us
    assert fs.cat("u/c.bin") == fs.cat("s/a.bin")
    assert not fs.exists("t")


def test_put_and_get_trees_through_the_engine(srv: JottaServer, conf: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    for i in range(12):
        (src / f"d{i % 3}").mkdir(parents=True, exist_ok=True)
        (src / f"d{i % 3}" / f"f{i}.txt").write_bytes(os.urandom(1000 + i))
    fs = jfs(conf, transfers=4)
    fs.put(str(src), "tree", recursive=True)
    assert sorted(fs.find("tree")) == sorted(
        f"tree/{p.relative_to(src).as_posix()}" for p in src.rglob("*.txt"))
    out = tmp_path / "out"
    fs.get("tree", str(out), recursive=True)
    for p in src.rglob("*.txt"):
        assert (out / p.relative_to(src)).read_bytes() == p.read_bytes()


# ----------------------------------------------------------------------------- bad input


def test_bad_input_raises_standard_exceptions_without_secrets(srv: JottaServer, conf: str) -> None:
    with pytest.raises(ValueError, match="unknown remote 'nosuch'"):
        CloudsyncFileSystem(remote="nosuch", config=conf, skip_instance_cache=True)
    free = CloudsyncFileSystem(config=conf, skip_instance_cache=True)
    with pytest.raises(FileNotFoundError, match="unknown remote 'nosuch'"):
        free.ls("nosuch/x")
    with pytest.raises(TypeError, match="unknown storage option"):
        CloudsyncFileSystem(remote="jotta", config=conf, no_such_option=1, skip_instance_cache=True)
    fs = jfs(conf)
    with pytest.raises(FileNotFoundError):
        fs.open("missing.txt", "rb")
    with pytest.raises(FileNotFoundError):
        fs.cat("missing.txt")
    with pytest.raises(FileNotFoundError):
        fs.info("missing/deeper.txt")
    fs.mkdir("adir")
    with pytest.raises(IsADirectoryError):
        fs.open("adir", "rb")
    with pytest.raises(IsADirectoryError):
        fs.open("adir", "wb")
    with pytest.raises(NotImplementedError, match="mode 'ab'"):
        fs.open("adir/x", "ab")


def test_write_where_the_backend_cannot(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    conf = str(write_config(tmp_path / "c.conf", {}))
    fs = CloudsyncFileSystem(remote="local", config=conf, skip_instance_cache=True)
    try:
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only directories")
        with pytest.raises(PermissionError):
            fs.pipe(f"{ro.as_posix().lstrip('/')}/x.txt", b"x")
    finally:
        ro.chmod(0o700)


def test_revoked_token_names_reconnect(srv: JottaServer, conf: str) -> None:
    from cloudsync.config import Config

    old = Config.load(conf).get("jotta", "token")
    assert old
    fs = jfs(conf)
    srv.expire_access_tokens()
    fs.ls("")  # rotates the refresh token (written back to the config)
    Config.load(conf).set_values("jotta", {"token": old})  # someone restores a stale copy
    srv.expire_access_tokens()
    stale = jfs(conf)
    with pytest.raises(PermissionError) as info:
        stale.ls("", refresh=True)
    message = str(info.value)
    assert "cloudsync config reconnect jotta:" in message
    import json

    for secret in json.loads(old).values():
        if isinstance(secret, str) and len(secret) > 12:
            assert secret not in message


def test_version_at_storage_option_reads_the_past_and_refuses_writes(srv: JottaServer, conf: str) -> None:
    import datetime as dt
    import time

    fs = jfs(conf)
    fs.pipe("v/doc.txt", b"first draft")
    time.sleep(1.1)  # JottaCloud stores revision times in seconds
    between = dt.datetime.now(dt.UTC)
    time.sleep(1.1)
    fs.pipe("v/doc.txt", b"final text")
    past = jfs(conf, version_at=between)  # a datetime, as Python callers have it
    assert past.cat("v/doc.txt") == b"first draft"
    assert fs.cat("v/doc.txt") == b"final text"
    with pytest.raises(PermissionError, match="version-at"):
        past.pipe("v/doc.txt", b"rewrite history")
    with pytest.raises(PermissionError), past.open("v/new.txt", "wb") as f:
        f.write(b"x")
    assert fs.cat("v/doc.txt") == b"final text"


def test_write_to_a_full_account_is_enospc(srv: JottaServer, conf: str) -> None:
    import errno

    srv.set_capacity(10)
    fs = jfs(conf)
    with pytest.raises(OSError) as info:
        fs.pipe("full.bin", os.urandom(1000))
    assert info.value.errno == errno.ENOSPC and "full.bin" in str(info.value)
    assert not fs.exists("full.bin")


def test_find_is_one_recursive_listing_that_fills_the_cache(srv: JottaServer, conf: str) -> None:
    for i in range(12):
        srv.state.put_file(f"Jotta/Archive/tree/d{i % 3}/e{i % 2}/f{i}.txt", b"x" * i)
    fs = jfs(conf)
    fs.info("tree")  # the account lookup of a first use, out of the count below
    srv.clear_request_log()
    files = fs.find("tree")
    assert len(files) == 12 and files == sorted(files)
    assert [e.query for e in srv.request_log] == ["mode=liststream"]  # one request for the tree
    dirs = ["tree/d0", "tree/d1", "tree/d2", *(f"tree/d{a}/e{b}" for a in range(3) for b in range(2))]
    assert fs.find("tree", withdirs=True) == sorted([*files, "tree", *dirs])
    srv.clear_request_log()
    # The listing cache now holds every directory of the tree: no request for these.
    assert fs.ls("tree/d1/e0", detail=False) == ["tree/d1/e0/f10.txt", "tree/d1/e0/f4.txt"]
    assert fs.du("tree", maxdepth=3) == sum(range(12))
    assert sorted(fs.glob("tree/*/*/f1*.txt")) == ["tree/d1/e0/f10.txt", "tree/d1/e1/f1.txt",
                                                   "tree/d2/e1/f11.txt"]
    assert srv.request_log == []
    assert fs.find("tree/d0/e0/f0.txt") == ["tree/d0/e0/f0.txt"]  # a file finds itself
    assert fs.find("tree/none") == []
