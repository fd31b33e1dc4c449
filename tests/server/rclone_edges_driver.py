"""The unmodified rclone and cloudsync side by side on the same JottaCloud edges.

Runs inside ``unshare -rnm`` like :mod:`rclone_driver` (rclone's JottaCloud hosts are fixed).
Each tool gets its own login and its own folder (``rclone-…`` / ``cloudsync-…``, named ``ROOT``
in the report so that the two reports compare as they are):

* ``dst_is_file``: copy / sync / single-file copy onto a destination that is a file;
* ``copy_dest``: ``copy --copy-dest`` with a file equal in the copy-dest folder, one that
  differs and one that is absent there (the final tree, the counters, the uploads the server
  saw), and the same with server-side copy disabled;
* ``timeout``: a host that accepts the connection and the TLS handshake, then never answers,
  with ``--timeout 1s``;
* ``contimeout``: a host whose TCP connect never completes (a listening socket with a full
  backlog drops the SYNs), with ``--contimeout 1s``;
* ``refused``: nothing listens (connection refused).

Prints one JSON report ``{"failures": [...], "cases": {case: {tool: [run, ...]}}}``; a run is
``{"argv", "rc", "seconds", "lines", "stats", "tree", "uploads"}``.

Usage: ``python rclone_edges_driver.py <workdir> <rclone> <ca.pem> <srv.pem> <srv.key>``
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from cloudsync.jottaserver.testing import JottaServer

sys.path.insert(0, str(Path(__file__).parent))
from rclone_driver import start_driver

TOOLS = ("rclone", "cloudsync")
TOKEN_URL = "https://id.jottacloud.com/auth/realms/jottacloud/protocol/openid-connect/token"
#: the local sources' modtime, in whole seconds (JottaCloud keeps seconds)
MTIME = 1_000_000_000
_STAMP = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ")

Run = dict[str, Any]


def _configs(srv: JottaServer, work: Path) -> None:
    """A login per tool (its own refresh-token family), valid for the whole run."""
    from cloudsync.backends.jottacloud._api import StoredToken, TokenResponse

    tokens = srv.issue_tokens()
    rc_token = json.dumps({"access_token": tokens["access_token"], "token_type": "Bearer",
                           "refresh_token": tokens["refresh_token"],
                           "expiry": "2099-01-01T00:00:00Z"})
    (work / "rclone.conf").write_text(
        "[jotta]\ntype = jottacloud\nconfigVersion = 1\nclient_id = jottacli\nclient_secret =\n"
        f"tokenURL = {TOKEN_URL}\ntoken = {rc_token}\ndevice =\nmountpoint =\n")
    cs_token = StoredToken.from_response(TokenResponse.from_json(srv.issue_tokens())).to_json()
    (work / "cloudsync.conf").write_text(
        "[jotta]\ntype = jottacloud\nconfig_type = standard\nconfig_version = 1\n"
        f"client_id = jottacli\ntoken_url = {TOKEN_URL}\ntoken = {cs_token}\n")


def _local(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (MTIME, MTIME))


def _stats(stderr: str) -> dict[str, Any] | None:
    for line in reversed(stderr.splitlines()):
        if line.startswith("{") and '"stats"' in line:
            try:
                stats = json.loads(line)["stats"]
            except (ValueError, KeyError):
                continue
            return stats if isinstance(stats, dict) else None
    return None


def _lines(stderr: str) -> list[str]:
    """The log lines, time stamps off; JSON log lines as "LEVEL: message"."""
    out = []
    for line in stderr.splitlines():
        if line.startswith("{"):
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            msg = obj.get("msg", "").strip()
            if msg:
                where = f"{obj['object']}: " if obj.get("object") else ""
                out.append(f"{obj.get('level', '').upper()}: {where}{msg}")
            continue
        out.append(_STAMP.sub("", line))
    return [ln for ln in out if "Config file" not in ln]


class Driver:
    def __init__(self) -> None:
        (self.work, self.rclone, self.ca, self.cert, self.key), self.env = start_driver()
        self.srv: JottaServer | None = None
        self.cases: dict[str, dict[str, list[Run]]] = {}
        self.failures: list[str] = []

    def run(self, case: str, tool: str, *args: str) -> Run:
        """One command line; ``ROOT`` in it is the tool's own folder."""
        root = f"{tool}-{case}"
        argv = [a.replace("ROOT", root) for a in args]
        if tool == "rclone":
            cmd = [str(self.rclone), "--ca-cert", str(self.ca), *argv]
            env = self.env
        else:
            cmd = [sys.executable, "-m", "cloudsync", *argv]
            env = {**self.env, "CLOUDSYNC_CONFIG": str(self.work / "cloudsync.conf"),
                   "REQUESTS_CA_BUNDLE": str(self.ca),
                   "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
        before = self._uploads()
        started = time.monotonic()
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=self.work,
                                 timeout=120)
            rc, stderr = out.returncode, out.stderr
        except subprocess.TimeoutExpired as exc:
            rc, stderr = -1, str(exc.stderr or "")
        run: Run = {
            "argv": args, "rc": rc, "seconds": round(time.monotonic() - started, 2),
            "lines": [ln.replace(root, "ROOT") for ln in _lines(stderr)],
            "stats": _stats(stderr), "uploads": self._uploads() - before,
            "tree": self._tree(f"Jotta/Archive/{root}"),
        }
        self.cases.setdefault(case, {}).setdefault(tool, []).append(run)
        return run

    def _uploads(self) -> int:
        if self.srv is None:
            return 0
        return sum(1 for e in self.srv.request_log if e.path == "/files/v1/allocate")

    def _tree(self, top: str) -> dict[str, list[Any]]:
        if self.srv is None:
            return {}
        cut = len(top) + 1
        return {path[cut:]: [info.size, info.md5, info.modified]
                for path, info in sorted(self.srv.state.files().items())
                if path.startswith(top + "/")}

    # ---------------------------------------------------------------- against the server
    def dst_is_file(self, srv: JottaServer) -> None:
        _local(self.work / "src", {"a": b"aaa"})
        for tool in TOOLS:
            srv.state.put_file(f"Jotta/Archive/{tool}-dst_is_file/f.txt", b"file", modified=MTIME)
            for args in (("copy", "src", "jotta:ROOT/f.txt"), ("sync", "src", "jotta:ROOT/f.txt"),
                         ("move", "src", "jotta:ROOT/f.txt"), ("copy", "src/a", "jotta:ROOT/f.txt"),
                         ("copy", "--no-traverse", "src", "jotta:ROOT/f.txt")):
                self.run("dst_is_file", tool, *args, "--retries", "1")

    def copy_dest(self, srv: JottaServer) -> None:
        """The server keeps one blob per md5 for the whole account (an upload of bytes it has
        is skipped), so each tool uploads bytes of its own: same sizes, its own letter."""
        for tool in TOOLS:
            t = tool[0].encode()
            files = {"same.txt": b"identical bytes", "diff.txt": b"new version " + t,
                     "absent.txt": b"only in source " + t, "sub/deep.txt": b"deep and identical"}
            labels = {hashlib.md5(data).hexdigest(): f"src:{rel}" for rel, data in files.items()}
            for case in ("copy_dest", "copy_dest_no_server_copy"):
                _local(self.work / f"{tool}-{case}-src", files)
                prev = f"Jotta/Archive/{tool}-{case}/prev"
                for rel, data in (("same.txt", b"identical bytes"), ("diff.txt", b"older version " + t),
                                  ("sub/deep.txt", b"deep and identical")):
                    srv.state.put_file(f"{prev}/{rel}", data, modified=MTIME)
                    labels.setdefault(hashlib.md5(data).hexdigest(), f"prev:{rel}")
            for run in (
                self.run("copy_dest", tool, "copy", "--copy-dest", "jotta:ROOT/prev", "ROOT-src",
                         "jotta:ROOT/dst", "-v", "--use-json-log", "--retries", "1"),
                self.run("copy_dest_no_server_copy", tool, "copy", "--copy-dest", "jotta:ROOT/prev",
                         "ROOT-src", "jotta:ROOT/dst", "--disable", "copy", "--retries", "1"),
            ):
                run["tree"] = {path: [size, labels.get(md5, md5), mtime]
                               for path, (size, md5, mtime) in run["tree"].items()}

    # ---------------------------------------------------------------- hosts that stall
    def stalled(self, case: str, *flags: str) -> None:
        for tool in TOOLS:
            self.run(case, tool, "lsf", "jotta:", "--low-level-retries", "1", *flags)
            self.run(case, tool, "copy", "src", "jotta:ROOT", "--low-level-retries", "1",
                     "--retries", "1", *flags)


class _SilentTLS:
    """Port 443: accepts, completes the TLS handshake, reads the request, never answers."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(str(cert), str(key))
        self.listener = socket.create_server(("127.0.0.1", 443))
        self.listener.settimeout(0.2)
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._accept)]
        self.threads[0].start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            t = threading.Thread(target=self._hold, args=(conn,))
            self.threads.append(t)
            t.start()

    def _hold(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                tls = self.ctx.wrap_socket(conn, server_side=True)
            except (OSError, ssl.SSLError):
                return
            tls.settimeout(0.2)
            with tls:
                while not self.stop.is_set():
                    try:
                        if not tls.recv(65536):
                            return
                    except TimeoutError:
                        continue
                    except (OSError, ssl.SSLError):
                        return

    def close(self) -> None:
        self.stop.set()
        for t in list(self.threads):
            t.join()
        self.listener.close()


def _full_backlog() -> tuple[socket.socket, socket.socket]:
    """Port 443 listening with a backlog of 0 and one connection queued, never accepted: the
    kernel drops every further SYN, so a connect there never completes."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 443))
    listener.listen(0)
    filler = socket.create_connection(("127.0.0.1", 443), timeout=5)
    return listener, filler


def main() -> int:
    d = Driver()
    with JottaServer(user="edges", host="127.0.0.1", port=443, tls_cert=d.cert, tls_key=d.key,
                     public_url="https://api.jottacloud.com") as srv:
        d.srv = srv
        _configs(srv, d.work)
        d.dst_is_file(srv)
        d.copy_dest(srv)
        d.srv = None
    silent = _SilentTLS(d.cert, d.key)
    try:
        d.stalled("timeout", "--timeout", "1s", "--contimeout", "30s")
    finally:
        silent.close()
    listener, filler = _full_backlog()
    try:
        d.stalled("contimeout", "--contimeout", "1s", "--timeout", "30s")
    finally:
        filler.close()
        listener.close()
    d.stalled("refused")  # nothing listens any more
    print(json.dumps({"failures": d.failures, "cases": d.cases}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
