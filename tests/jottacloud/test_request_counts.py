"""How many requests JottaCloud work costs, counted at the offline server.

* a download sends ONE request per file (``mode=bin``): the listing already carried size, md5
  and times, so there is no metadata request per file;
* the account name (customer document) is looked up at most once per process and cached in the
  remote's config, so a no-op re-sync through the CLI is ONE ``liststream`` request;
* connections are kept alive and reused.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cloudsync import engine
from cloudsync.engine.options import CheckOptions, SyncOptions
from cloudsync.jottaserver.testing import JottaServer
from cloudsync.registry import get_spec

from .support import make_backend, put_bytes, running_server, settled_log

FILES = 24


def _kinds(log: list[Any]) -> collections.Counter[str]:
    out: collections.Counter[str] = collections.Counter()
    for e in log:
        if "mode=liststream" in e.query:
            out["liststream"] += 1
        elif "mode=bin" in e.query:
            out["bin"] += 1
        elif e.path.endswith("/account/v1/customer"):
            out["customer"] += 1
        else:
            out[f"{e.method} {e.path.rsplit('/', 1)[-1]}?{e.query}"] += 1
    return out


def _local(path: Path) -> Any:
    spec = get_spec("local")
    return spec.factory("local", str(path), spec.parse_options({}), None)


@pytest.fixture
def srv() -> Any:
    with running_server() as server:
        yield server


def _seed(srv: JottaServer, n: int = FILES) -> dict[str, bytes]:
    b = make_backend(srv, "tree")
    data = {f"d{i % 3}/f{i:03d}.bin": os.urandom(100 + i) for i in range(n)}
    for name, body in data.items():
        put_bytes(b, name, body)
    b.close()
    return data


def test_download_is_one_request_per_file(srv: JottaServer, tmp_path: Path) -> None:
    data = _seed(srv)
    src = make_backend(srv, "tree")
    src.username  # noqa: B018 - the account lookup is counted below, separately
    settled_log(srv)
    srv.clear_request_log()
    res = engine.copy(src, _local(tmp_path / "dl"), SyncOptions(transfers=4))
    assert res.ok, res.final_error
    kinds = _kinds(settled_log(srv))
    assert kinds == {"liststream": 1, "bin": FILES}, kinds
    for name, body in data.items():
        assert (tmp_path / "dl" / name).read_bytes() == body


def test_check_download_is_one_request_per_file(srv: JottaServer, tmp_path: Path) -> None:
    data = _seed(srv)
    for name, body in data.items():
        (tmp_path / "src" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "src" / name).write_bytes(body)
    dst = make_backend(srv, "tree")
    dst.username  # noqa: B018
    settled_log(srv)
    srv.clear_request_log()
    res = engine.check(_local(tmp_path / "src"), dst, CheckOptions(download=True))
    assert res.ok, res.final_error
    assert _kinds(settled_log(srv)) == {"liststream": 1, "bin": FILES}


def test_account_lookup_once_per_process(srv: JottaServer) -> None:
    _seed(srv, 2)
    settled_log(srv)
    srv.clear_request_log()
    # the same login opened twice (the CLI opens a parent to probe a path, then the path)
    first, second = make_backend(srv, "tree"), None
    try:
        list(first.list(""))
        second = make_backend(srv, "tree")
        second.opts = first.opts  # the very same options, as the CLI builds them
        list(second.list(""))
    finally:
        first.close()
        if second is not None:
            second.close()
    assert _kinds(settled_log(srv))["customer"] == 1


def test_connections_are_kept_alive(srv: JottaServer, tmp_path: Path) -> None:
    _seed(srv)
    before = srv.connections_accepted
    src = make_backend(srv, "tree")
    res = engine.copy(src, _local(tmp_path / "dl"), SyncOptions(transfers=4, checkers=4))
    assert res.ok, res.final_error
    # 1 listing + FILES downloads over at most transfers + checkers connections
    assert srv.connections_accepted - before <= 8


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cloudsync", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def _remote(srv: JottaServer, conf: Path) -> dict[str, str]:
    """The environment of a CLI whose config holds remote "jotta:" on ``srv``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDSYNC_")}
    env.update(CLOUDSYNC_CONFIG=str(conf), PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    r = _cli(env, "config", "create", "jotta", "jottacloud", f"login_token={srv.mint_login_token()}",
             f"jfs_url={srv.jfs_url}", f"api_url={srv.api_url}")
    assert r.returncode == 0, r.stderr
    return env


def test_cli_noop_resync_is_one_liststream_request(srv: JottaServer, tmp_path: Path) -> None:
    src = tmp_path / "photos"
    for i in range(FILES):
        p = src / f"y{i % 4}" / f"p{i}.jpg"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(os.urandom(200))
    conf = tmp_path / "cloudsync.conf"
    env = _remote(srv, conf)
    r = _cli(env, "sync", str(src), "jotta:backup")
    assert r.returncode == 0, r.stderr
    assert "account" in conf.read_text()  # the account name is cached for later runs
    settled_log(srv)
    srv.clear_request_log()
    r = _cli(env, "sync", "-v", str(src), "jotta:backup")
    assert r.returncode == 0, r.stderr
    log = settled_log(srv)
    assert _kinds(log) == {"liststream": 1}, [(e.method, e.path, e.query) for e in log]
    assert "There was nothing to transfer" in r.stderr


def test_cli_sync_onto_a_file_is_refused_without_a_probe(srv: JottaServer, tmp_path: Path) -> None:
    b = make_backend(srv)
    put_bytes(b, "afile.bin", b"keep me")
    b.close()
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_bytes(b"a")
    conf = tmp_path / "cloudsync.conf"
    env = _remote(srv, conf)
    r = _cli(env, "sync", str(src), "jotta:afile.bin")
    assert r.returncode != 0
    assert "is a file not a directory" in r.stderr and "Traceback" not in r.stderr
    assert srv.state.read("Jotta/Archive/afile.bin") == b"keep me"
    assert set(srv.state.files()) == {"Jotta/Archive/afile.bin"}


def test_a_new_login_never_keeps_a_stale_account_name(srv: JottaServer) -> None:
    from cloudsync.backends.jottacloud import _config

    from .support import ScriptedPrompter

    current = {"jfs_url": srv.jfs_url, "api_url": srv.api_url, "account": "someone-else",
               "device": "Jotta", "mountpoint": "Archive"}
    values = _config.configure(ScriptedPrompter(["standard", srv.mint_login_token()]), current)
    assert values["account"] in ("", srv.username)
