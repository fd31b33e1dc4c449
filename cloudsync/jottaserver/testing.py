"""Fixture API: run the fake JottaCloud server inside a test (thread) or as a subprocess.

Usage::

    from cloudsync.jottaserver.testing import JottaServer

    with JottaServer(user="testuser", access_token_lifetime=5) as srv:
        token = srv.mint_login_token()            # what a user pastes into `cloudsync config`
        # point the backend at srv.jfs_url, srv.api_url; OIDC comes from the token's well_known_link
        srv.state.put_file("Jotta/Archive/dir/a.txt", b"hello")     # seed without HTTP
        srv.add_fault(r"/files/v1/allocate", "status", status=503, count=1)
        srv.add_fault(r"mode=bin", "reset", rate=0.2)
        srv.expire_access_tokens()                # force the next JFS call to 401
        assert srv.state.read("Jotta/Archive/dir/a.txt") == b"hello"
        assert [e.status for e in srv.request_log][-1] == 200

Authorization-code flow without a browser: call ``srv.approve_next_authorization()`` and the next
GET of the authorization endpoint redirects straight back to the client's ``redirect_uri`` with
``code`` and ``state`` (or set ``srv.auto_approve = True``).  The HTML form at the same endpoint
also accepts ``srv.login_name`` / ``srv.password``.

Legacy flow: ``srv.legacy_token_url`` takes ``grant_type=PASSWORD`` with ``username=srv.login_name``
and ``password=srv.password``; ``srv.enable_otp("123456")`` turns on the SMS challenge.

``JottaServerProcess`` runs the same server as ``python -m cloudsync.jottaserver`` (for memory
measurements or restart tests); only the HTTP surface is available there.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import threading
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from .app import App, LogEntry
from .faults import Fault
from .store import BUILTIN_DEVICE, MountPoint, Node, Store
from .wire import Server

__all__ = ["FileInfo", "JottaServer", "JottaServerProcess", "RevisionInfo", "StateView"]


@dataclass(frozen=True)
class RevisionInfo:
    number: int
    state: str
    size: int
    md5: str
    created: int | None
    modified: int | None
    updated: int | None


@dataclass(frozen=True)
class FileInfo:
    path: str  # "<device>/<mountpoint>/<names...>"
    size: int | None  # current COMPLETED revision; None if the file never completed
    md5: str | None
    created: int | None
    modified: int | None
    deleted: bool
    revisions: tuple[RevisionInfo, ...]


class StateView:
    """Read (and seed) the account without HTTP. Paths are ``"Jotta/Archive/dir/file"``."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def _split(self, path: str) -> tuple[MountPoint, list[str]]:
        parts = [p for p in path.strip("/").split("/") if p]
        if len(parts) < 2:
            raise ValueError(f"path must be <device>/<mountpoint>/..., got {path!r}")
        dev = self._store.device(parts[0])
        if dev is None:
            raise KeyError(f"no device {parts[0]!r}")
        mp = self._store.mountpoint(dev, parts[1])
        if mp is None or mp.special:
            raise KeyError(f"no mountpoint {parts[1]!r} on {parts[0]!r}")
        return mp, parts[2:]

    def _node(self, path: str) -> Node | None:
        mp, names = self._split(path)
        return self._store.lookup(mp, names) if names else None

    def _info(self, node: Node) -> FileInfo:
        mp = self._store.mountpoint_by_id(node.mp_id)
        path = "/".join([mp.device.name, mp.name, *self._store.node_names(node)])
        view = self._store.file_view(node)
        revs = tuple(
            RevisionInfo(r.number, r.state, r.size, r.md5, r.created, r.modified, r.updated)
            for r in self._store.revisions(node.id)
        )
        cur = view.current
        return FileInfo(path, cur.size if cur else None, cur.md5 if cur else None,
                        cur.created if cur else None, cur.modified if cur else None,
                        node.deleted is not None, revs)

    def _all(self, kind: str, include_trashed: bool) -> list[Node]:
        out: list[Node] = []
        for dev in self._store.devices():
            for mp in self._store.mountpoints(dev):
                for _names, node in self._store.walk(mp.id, 0):
                    if node.kind == kind and (include_trashed or node.deleted is None):
                        out.append(node)
        return out

    def files(self, include_trashed: bool = False) -> dict[str, FileInfo]:
        """Every file (live only by default), keyed by ``device/mountpoint/path``."""
        infos = [self._info(n) for n in self._all("file", include_trashed)]
        return {i.path: i for i in infos}

    def folders(self, include_trashed: bool = False) -> list[str]:
        out = []
        for n in self._all("folder", include_trashed):
            mp = self._store.mountpoint_by_id(n.mp_id)
            out.append("/".join([mp.device.name, mp.name, *self._store.node_names(n)]))
        return sorted(out)

    def file(self, path: str) -> FileInfo | None:
        node = self._node(path)
        return None if node is None or not node.is_file else self._info(node)

    def exists(self, path: str) -> bool:
        node = self._node(path)
        return node is not None and node.deleted is None

    def is_trashed(self, path: str) -> bool:
        node = self._node(path)
        return node is not None and node.deleted is not None

    def read(self, path: str, revision: int | None = None) -> bytes:
        """Content of the current (or a given COMPLETED) revision."""
        node = self._node(path)
        if node is None or not node.is_file:
            raise FileNotFoundError(path)
        revs = [r for r in self._store.revisions(node.id) if r.state == "COMPLETED"]
        if revision is not None:
            revs = [r for r in revs if r.number == revision]
        if not revs:
            raise FileNotFoundError(f"{path}: no completed revision")
        return self._store.blob_path(revs[0].md5, revs[0].size).read_bytes()

    def revisions(self, path: str) -> list[RevisionInfo]:
        info = self.file(path)
        if info is None:
            raise FileNotFoundError(path)
        return list(info.revisions)

    def trash(self) -> list[str]:
        """Top-level trashed items (what the ``Jotta/Trash`` view lists), as paths."""
        out = []
        for n in self._store.trash_top():
            mp = self._store.mountpoint_by_id(n.mp_id)
            out.append("/".join([mp.device.name, mp.name, *self._store.node_names(n)]))
        return out

    def usage(self) -> int:
        return self._store.usage()

    def put_file(self, path: str, data: bytes, *, modified: int | None = None,
                 created: int | None = None) -> FileInfo:
        """Create a COMPLETED file (new revision if it exists) straight in the store."""
        mp, names = self._split(path)
        if not names:
            raise ValueError("put_file needs a file name")
        node = self._store.import_bytes(mp, names, data, created, modified)
        return self._info(node)

    def put_metadata_only(self, path: str, *, size: int, md5: str, state: str = "COMPLETED",
                          modified: int | None = None, created: int | None = None) -> FileInfo:
        """A revision with no stored bytes (e.g. a 30 GB file, or an unfinished upload).

        Listings and documents show it normally; ``mode=bin`` answers 404
        PhysicalFileNotFoundException.  ``state`` is COMPLETED, INCOMPLETE or CORRUPT.
        """
        if state not in ("COMPLETED", "INCOMPLETE", "CORRUPT"):
            raise ValueError(f"bad state {state!r}")
        mp, names = self._split(path)
        node = self._store.import_metadata(mp, names, size, md5, state, created, modified)
        return self._info(node)

    def mkdir(self, path: str) -> None:
        mp, names = self._split(path)
        self._store.ensure_folders(mp, names, "/" + path.strip("/"))

    def trash_path(self, path: str) -> None:
        node = self._node(path)
        if node is None:
            raise FileNotFoundError(path)
        self._store.trash(node)

    def create_device(self, name: str, dtype: str = "WORKSTATION") -> None:
        self._store.create_device(name, dtype)

    def create_mountpoint(self, device: str, name: str) -> None:
        dev = self._store.device(device)
        if dev is None:
            raise KeyError(device)
        self._store.create_mountpoint(dev, name)


class JottaServer:
    """The fake service on ``127.0.0.1:<free port>`` in a background thread.

    ``data_dir=None`` keeps metadata in SQLite ``:memory:`` (blobs in a temporary directory);
    with a directory, state persists and a new ``JottaServer(data_dir=same)`` sees it all.
    """

    def __init__(
        self,
        user: str = "testuser",
        *,
        data_dir: str | os.PathLike[str] | None = None,
        access_token_lifetime: float = 3600.0,
        password: str = "password",
        capacity: int = -1,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int | None = None,
        public_url: str | None = None,
        tls_cert: str | os.PathLike[str] | None = None,
        tls_key: str | os.PathLike[str] | None = None,
    ) -> None:
        self._tls = (tls_cert, tls_key) if tls_cert is not None else None
        self._user = user
        self._data_dir = data_dir
        self._lifetime = access_token_lifetime
        self._password = password
        self._capacity = capacity
        self._host = host
        self._port = port
        self._seed = seed
        self._public_url = public_url
        self._httpd: Server | None = None
        self._thread: threading.Thread | None = None
        self.store: Store | None = None
        self.app: App | None = None
        self.base_url = ""

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> JottaServer:
        if self._httpd is not None:
            return self
        store = Store(self._data_dir, login_name=self._user, password=self._password,
                      capacity=self._capacity)
        app = App(store, access_token_lifetime=self._lifetime, seed=self._seed)
        httpd = Server((self._host, self._port), app)
        port = httpd.server_address[1]
        scheme = "http"
        if self._tls is not None:
            import ssl

            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self._tls[0], self._tls[1])
            # Handshakes happen in the handler threads, not in the accept loop.
            httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True,
                                           do_handshake_on_connect=False)
            scheme = "https"
        self.base_url = (self._public_url or f"{scheme}://{self._host}:{port}").rstrip("/")
        app.base_url = self.base_url
        store.set_meta("base_url", self.base_url)
        self.store, self.app, self._httpd = store, app, httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"jottaserver-{port}", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close_all()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.store is not None:
            self.store.close()

    def __enter__(self) -> JottaServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _require(self) -> tuple[Store, App]:
        if self.store is None or self.app is None or self._httpd is None:
            raise RuntimeError("JottaServer is not running; call start() or use it as a context manager")
        return self.store, self.app

    # ------------------------------------------------------------------ URLs

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    @property
    def jfs_url(self) -> str:
        return f"{self.base_url}/jfs/"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/"

    @property
    def legacy_token_url(self) -> str:
        return f"{self.base_url}/auth/v1/token"

    @property
    def legacy_register_url(self) -> str:
        return f"{self.base_url}/auth/v1/register"

    def well_known_url(self, realm: str = "jottacloud") -> str:
        return f"{self.base_url}/auth/realms/{realm}/.well-known/openid-configuration"

    def token_url(self, realm: str = "jottacloud") -> str:
        return f"{self.base_url}/auth/realms/{realm}/protocol/openid-connect/token"

    def auth_url(self, realm: str = "jottacloud") -> str:
        return f"{self.base_url}/auth/realms/{realm}/protocol/openid-connect/auth"

    # ------------------------------------------------------------------ account

    @property
    def username(self) -> str:
        """The internal account name used in JFS URLs (what ``account/v1/customer`` returns)."""
        return self._require()[0].username

    @property
    def login_name(self) -> str:
        return self._require()[0].login_name

    @property
    def password(self) -> str:
        """Account password: legacy ``PASSWORD`` grant and the authorization HTML form."""
        return self._require()[0].password

    legacy_password = password

    def set_capacity(self, capacity: int) -> None:
        """Quota in bytes; -1 = unlimited."""
        self._require()[0].set_meta("capacity", str(capacity))

    @property
    def state(self) -> StateView:
        return StateView(self._require()[0])

    # ------------------------------------------------------------------ auth helpers

    def mint_login_token(self, realm: str = "jottacloud") -> str:
        """A fresh single-use personal login token (base64url JSON with ``well_known_link``)."""
        return self._require()[1].auth.mint_login_token(self.base_url, realm)

    def issue_tokens(self, realm: str = "jottacloud") -> dict[str, Any]:
        """Log in without HTTP (login token + password grant): the token JSON a client stores."""
        _, app = self._require()
        token = self.mint_login_token(realm)
        secret = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))["auth_token"]
        return app.auth.password_grant(realm, "jottacli", self.login_name, secret,
                                       "openid offline_access", app.issuer(realm))

    def approve_next_authorization(self, count: int = 1) -> None:
        """The next ``count`` authorization requests redirect back at once with a code."""
        _, app = self._require()
        with app.store.lock:
            app.auth.pending_approvals += count

    @property
    def auto_approve(self) -> bool:
        return self._require()[1].auth.auto_approve

    @auto_approve.setter
    def auto_approve(self, value: bool) -> None:
        self._require()[1].auth.auto_approve = value

    def enable_otp(self, code: str = "123456") -> None:
        """Require the SMS one-time code on the legacy password grant."""
        self._require()[1].auth.otp_code = code

    def disable_otp(self) -> None:
        self._require()[1].auth.otp_code = None

    def expire_access_tokens(self) -> int:
        """Expire every access token issued so far; returns how many."""
        return self._require()[1].auth.expire_access_tokens()

    @property
    def access_token_lifetime(self) -> float:
        return self._require()[1].auth.access_token_lifetime

    @access_token_lifetime.setter
    def access_token_lifetime(self, seconds: float) -> None:
        self._require()[1].auth.access_token_lifetime = seconds

    # ------------------------------------------------------------------ faults & log

    def add_fault(self, route: str, kind: str, *, count: int | None = None,
                  rate: float | None = None, status: int = 500, retry_after: int = 1,
                  delay: float = 1.0, method: str | None = None) -> Fault:
        """Inject a fault; see :mod:`cloudsync.jottaserver.faults` for kinds and matching."""
        fault = Fault(route, kind, count=count, rate=rate, status=status,
                      retry_after=retry_after, delay=delay, method=method)
        return self._require()[1].faults.add(fault)

    def clear_faults(self) -> None:
        self._require()[1].faults.clear()

    @property
    def request_log(self) -> list[LogEntry]:
        _, app = self._require()
        with app._log_lock:
            return list(app.request_log)

    @property
    def connections_accepted(self) -> int:
        """TCP connections the server accepted so far (keep-alive reuse shows as few)."""
        httpd = self._httpd
        if httpd is None:
            raise RuntimeError("JottaServer is not running; call start() or use it as a context manager")
        return httpd.connections_accepted

    def clear_request_log(self) -> None:
        _, app = self._require()
        with app._log_lock:
            app.request_log.clear()


class JottaServerProcess:
    """The server as a child process (``python -m cloudsync.jottaserver``); HTTP surface only."""

    def __init__(self, *, user: str = "testuser", data_dir: str | os.PathLike[str] | None = None,
                 access_token_lifetime: float = 3600.0, extra_args: list[str] | None = None) -> None:
        self.args = [sys.executable, "-m", "cloudsync.jottaserver", "--addr", "127.0.0.1:0",
                     "--user", user, "--token-lifetime", str(access_token_lifetime)]
        if data_dir is not None:
            self.args += ["--data", str(data_dir)]
        self.args += extra_args or []
        self.proc: subprocess.Popen[str] | None = None
        self.info: dict[str, str] = {}

    def start(self) -> JottaServerProcess:
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            m = re.match(r"^(\w+)=(.*)$", line.strip())
            if m:
                self.info[m.group(1)] = m.group(2)
            if "login_token" in self.info:
                break
        if "base_url" not in self.info:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            self.stop()
            raise RuntimeError(f"server process did not start: {err}")
        return self

    @property
    def base_url(self) -> str:
        return self.info["base_url"]

    @property
    def login_token(self) -> str:
        return self.info["login_token"]

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        self.proc = None

    def __enter__(self) -> JottaServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


#: The real service's host names: rclone has them built in, so a test or bench that runs the
#: unmodified rclone against this server maps them to 127.0.0.1 (see :func:`enter_private_hosts`).
JOTTA_HOSTS = ("jfs.jottacloud.com", "api.jottacloud.com", "id.jottacloud.com", "www.jottacloud.com")


def make_tls_front_certs(directory: str | os.PathLike[str],
                         hosts: tuple[str, ...] = JOTTA_HOSTS) -> tuple[str, str, str]:
    """A throw-away CA and a server certificate for ``hosts`` (``openssl``, valid 2 days).

    Returns ``(ca.pem, srv.pem, srv.key)``: serve with ``JottaServer(tls_cert=…, tls_key=…)``
    and let clients trust ``ca.pem`` (rclone ``--ca-cert``, requests ``REQUESTS_CA_BUNDLE``).
    """
    from pathlib import Path

    d = Path(directory)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)

    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=cloudsync test CA")
    openssl("req", *ec, "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=jottacloud.com")
    (d / "ext").write_text("subjectAltName=" + ",".join(f"DNS:{h}" for h in hosts)
                           + "\nbasicConstraints=CA:FALSE\n")
    openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "srv.pem", "-days", "2", "-extfile", "ext")
    return str(d / "ca.pem"), str(d / "srv.pem"), str(d / "srv.key")


def enter_private_hosts(directory: str | os.PathLike[str],
                        hosts: tuple[str, ...] = JOTTA_HOSTS) -> None:
    """Inside ``unshare -rnm`` (root in a private user, network and mount namespace): bring up
    loopback and bind-mount an ``/etc/hosts`` that maps ``hosts`` to 127.0.0.1."""
    from pathlib import Path

    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    hosts_file = Path(directory) / "hosts"
    hosts_file.write_text(f"127.0.0.1 localhost\n127.0.0.1 {' '.join(hosts)}\n")
    subprocess.run(["mount", "--bind", str(hosts_file), "/etc/hosts"], check=True)


def md5_hex(data: bytes) -> str:
    """Convenience for tests: the lower-case hex md5 of ``data``."""
    return hashlib.md5(data).hexdigest()


DEFAULT_DEVICE = BUILTIN_DEVICE
