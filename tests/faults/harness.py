"""Seeded fault runs: cloudsync → fault proxy → offline JottaCloud server.

Used by ``tests/faults`` (a few seeds in CI) and ``bench/fault_bench.py`` (many seeds, and the
figures).  One run: a seeded source tree, a destination pre-seeded with identical, stale and
destination-only files, then ``cloudsync sync`` (a real subprocess, default retries) through a
:class:`~cloudsync.jottaserver.faultproxy.FaultProxy`, then ``cloudsync check`` through the
same proxy.  The outcome is judged on the server's and the disk's state, read directly.
"""

from __future__ import annotations

import collections
import hashlib
import os
import random
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloudsync.jottaserver.faultproxy import FAULT_KINDS, FaultProxy
from cloudsync.jottaserver.testing import JottaServer

MOUNT = "Jotta/Archive"
T0 = 1_600_000_000  # seconds; whole seconds survive JottaCloud's mtime resolution
SIZES = (0, 1, 17, 1000, 4096, 65_537, 300_000)


@dataclass
class Outcome:
    seed: int
    direction: str
    exit_code: int
    check_code: int
    faults: collections.Counter[str]
    requests: int
    lost: list[str] = field(default_factory=list)  # a source file missing or wrong at the end
    wrongly_deleted: list[str] = field(default_factory=list)
    not_deleted: list[str] = field(default_factory=list)  # destination-only files left behind
    leftovers: list[str] = field(default_factory=list)  # temporary files left behind
    stderr: str = ""
    seconds: float = 0.0
    outage: bool = False  # the server really was down for a while during the sync

    @property
    def ok(self) -> bool:
        return (self.exit_code == 0 and self.check_code == 0 and not self.lost
                and not self.wrongly_deleted and not self.not_deleted and not self.leftovers)


def _tree(rng: random.Random, n: int) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    dirs = ["", "a", "a/b", "c d", "ü"]
    for i in range(n):
        d = rng.choice(dirs)
        name = f"f{i:02}-{rng.randrange(1000)}.bin"
        files[f"{d}/{name}" if d else name] = rng.randbytes(rng.choice(SIZES))
    return files


def _write_local(root: Path, files: dict[str, bytes], mtime: int = T0) -> None:
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        os.utime(p, (mtime, mtime))


def _direct_backend(srv: JottaServer, root: str) -> Any:
    from cloudsync.backends.jottacloud import SPEC

    from tests.jottacloud.support import jotta_options

    return SPEC.factory("direct", root, SPEC.parse_options(jotta_options(srv)), None)


def _put_remote(srv: JottaServer, root: str, files: dict[str, bytes], mtime: int = T0) -> None:
    import io

    from cloudsync.types import PutInfo

    b = _direct_backend(srv, root)
    try:
        for rel, data in files.items():
            b.put(rel, io.BytesIO(data), PutInfo(size=len(data), mtime_ns=mtime * 1_000_000_000))
    finally:
        b.close()


def _config(path: Path, srv: JottaServer, proxy: FaultProxy, token: str) -> None:
    base = proxy.url
    path.write_text(
        "[jotta]\n"
        "type = jottacloud\n"
        "config_type = standard\n"
        "config_version = 1\n"
        "client_id = jottacli\n"
        f"token_url = {srv.token_url()}\n"
        f"token = {token}\n"
        f"jfs_url = {base}/jfs/\n"
        f"api_url = {base}/\n"
        f"www_url = {base}/\n"
        f"auth_base_url = {srv.base_url}\n",
        encoding="utf-8",
    )
    path.chmod(0o600)


def cloudsync(args: list[str], config: Path, timeout: float = 600,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CLOUDSYNC_CONFIG=str(config), **(env or {}))
    return subprocess.run([sys.executable, "-m", "cloudsync", *args], env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


def _local_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def run(seed: int, direction: str, work: Path, *, rate: float = 0.2, files: int = 16,
        kinds: tuple[str, ...] = FAULT_KINDS, down_for: float = 0.0) -> Outcome:
    """One seeded run of ``sync`` up (local → jotta) or down (jotta → local).

    ``down_for`` > 0: the server goes away (connection refused) for that many seconds once the
    sync has sent a few requests, then comes back.
    """
    from tests.jottacloud.support import token_json

    rng = random.Random(seed)
    src_files = _tree(rng, files)
    names = sorted(src_files)
    rng.shuffle(names)
    third = max(1, len(names) // 3)
    identical = {k: src_files[k] for k in names[:third]}
    stale = {k: src_files[k][: len(src_files[k]) // 2] + b"stale" for k in names[third: 2 * third]}
    dst_only = {f"old/o{i}.bin": rng.randbytes(rng.choice(SIZES)) for i in range(2)}
    dst_only["a/zz-extra.bin"] = b"extra"
    work.mkdir(parents=True, exist_ok=True)
    config = work / "cloudsync.conf"
    started = time.monotonic()
    with JottaServer() as srv:
        local = work / ("src" if direction == "up" else "dst")
        if direction == "up":
            _write_local(local, src_files)
            _put_remote(srv, "dst", {**identical, **dst_only})
            _put_remote(srv, "dst", stale, mtime=T0 + 3600)
            src, dst = str(local), "jotta:dst"
        else:
            _put_remote(srv, "src", src_files)
            _write_local(local, {**identical, **dst_only})
            _write_local(local, stale, mtime=T0 + 3600)
            src, dst = "jotta:src", str(local)
        with FaultProxy(f"127.0.0.1:{srv.port}", rate=rate, seed=seed, kinds=kinds,
                        skip=("/auth/",)) as proxy:
            _config(config, srv, proxy, token_json(srv))
            stop = threading.Event()
            went_down = threading.Event()
            if down_for:
                def outage() -> None:
                    while proxy.requests < 3 and not stop.is_set():
                        time.sleep(0.005)
                    if stop.is_set():
                        return
                    proxy.down()
                    went_down.set()
                    time.sleep(down_for)
                    proxy.up()
                watcher = threading.Thread(target=outage, daemon=True)
                watcher.start()
            res = cloudsync(["sync", src, dst], config)
            stop.set()
            (work / "sync.stderr").write_text(res.stderr, encoding="utf-8")
            if down_for:
                watcher.join(down_for + 5)
                if proxy._listener is None:
                    proxy.up()
            check = cloudsync(["check", src, dst], config)
            faults = collections.Counter(proxy.injected)
            requests = proxy.requests

        # Judge on the state itself, read without the proxy.
        if direction == "up":
            prefix = f"{MOUNT}/dst/"
            live = {p[len(prefix):]: p for p in srv.state.files() if p.startswith(prefix)}
            got = {rel: srv.state.read(full) for rel, full in live.items()}
            gone = set(dst_only) - set(got)
            leftovers: list[str] = []
            source_after = _local_files(local)
        else:
            got = _local_files(local)
            gone = set(dst_only) - set(got)
            leftovers = [p for p in got if ".partial" in p or "/.cloudsync" in "/" + p]
            for p in leftovers:
                got.pop(p)
            source_after = {}
            prefix = f"{MOUNT}/src/"
            for full in srv.state.files():
                if full.startswith(prefix):
                    source_after[full[len(prefix):]] = srv.state.read(full)
    lost = sorted(k for k, v in src_files.items() if got.get(k) != v)
    wrongly = sorted(set(src_files) - set(got))
    # The source must be untouched, too.
    wrongly += sorted(k for k, v in src_files.items() if source_after.get(k) != v)
    not_deleted = sorted(set(dst_only) - gone)
    return Outcome(seed, direction, res.returncode, check.returncode, faults, requests, lost,
                   wrongly, not_deleted, leftovers,
                   (res.stderr + check.stderr)[-3000:], time.monotonic() - started,
                   went_down.is_set())


def digest(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()
