"""Routes of the fake JottaCloud service: JFS XML, JSON API, uploads, OIDC and legacy auth.

See the package docstring (:mod:`cloudsync.jottaserver`) for the URL layout and for every
behaviour chosen where the protocol reference is silent or unsure.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import json
import logging
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from .auth import LEGACY_CLIENT_ID, LEGACY_REALM, AuthService, OAuthError, Principal
from .brands import DESKTOP_CLIENTS, LOGIN_TOKEN_CLIENT, REALMS, Brand
from .faults import Fault, FaultSet
from .store import (
    BUILTIN_DEVICE,
    Device,
    JfsError,
    MountPoint,
    Node,
    Store,
    bad_argument,
    not_found_dir,
    not_found_file,
)
from .util import InvalidName, check_name, new_xid, parse_any_time, parse_jfs_time
from .wire import CHUNK, BadRequestBody, ClientGone, FileSlice, Request, Response, redact_query
from .xmldoc import Docs, error_doc

__all__ = ["App", "LogEntry"]

log = logging.getLogger("cloudsync.jottaserver")

_SEC = "org.springframework.security."
NO_TOKEN = f"{_SEC}authentication.BadCredentialsException: No token or token is malformed!"
TOKEN_MISMATCH = f"{_SEC}authentication.AuthenticationCredentialsNotFoundException: Token mismatch!"
NO_USERNAME = f"{_SEC}core.userdetails.UsernameNotFoundException: Username not found in url!"
NO_COMMAND = "POST Request is missing multipart content or don't dont have any command parameters"
_EXC = "no.jotta.backup.errors."

XML = "text/xml;charset=UTF-8"
JSON = "application/json;charset=UTF-8"
_MD5 = re.compile(r"^[0-9a-fA-F]{32}$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


_SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})


@dataclass
class LogEntry:
    """One served request, secrets redacted (query values of secret-bearing parameters)."""

    method: str
    path: str
    query: str
    status: int  # 0 = the connection was cut before a response
    fault: str | None
    time: float
    #: the request's headers, Authorization and cookies masked (tests of --header, --user-agent)
    headers: tuple[tuple[str, str], ...] = ()


def _json(status: int, payload: Any, headers: list[tuple[str, str]] | None = None,
          reason: str | None = None) -> Response:
    return Response(status, json.dumps(payload).encode(), headers or [], reason, JSON)


class App:
    """The whole service behind one port (one account)."""

    def __init__(self, store: Store, *, access_token_lifetime: float = 3600.0,
                 seed: int | None = None) -> None:
        self.store = store
        self.auth = AuthService(store, access_token_lifetime=access_token_lifetime)
        self.docs = Docs(store)
        self.faults = FaultSet(seed)
        self.base_url = "http://127.0.0.1"
        self.request_log: deque[LogEntry] = deque(maxlen=100_000)
        self._log_lock = threading.Lock()
        self._active_uploads: set[str] = set()
        self._uploads_lock = threading.Lock()

    # ------------------------------------------------------------------ infrastructure

    @staticmethod
    def new_xid() -> str:
        return new_xid()

    def log_request(self, req: Request, status: int, fault: Fault | None) -> None:
        with self._log_lock:
            self.request_log.append(LogEntry(
                req.method, req.path, redact_query(req.raw_query), status,
                None if fault is None else fault.kind, time.time(),
                tuple((k, "XXXX" if k.lower() in _SECRET_HEADERS else v)
                      for k, v in req.headers.items()),
            ))

    @staticmethod
    def plain_error(status: int, reason: str) -> Response:
        """A Jetty-level refusal: no XML, just the status line (rclone shows ``400 Bad request``)."""
        return Response(status, f"{status} {reason}".encode(), reason=reason,
                        content_type="text/plain;charset=UTF-8")

    @staticmethod
    def _style(path: str) -> str:
        if path.startswith("/jfs"):
            return "jfs"
        if path.startswith("/auth/"):
            return "oauth"
        return "api"

    def error(self, req: Request, status: int, message: str) -> Response:
        """The error document a route of this kind answers with."""
        style = self._style(req.path)
        headers = [("X-ID", req.xid)]
        if style == "jfs":
            return Response(status, error_doc(status, message, req.xid), headers, None, XML)
        if style == "oauth":
            err = "temporarily_unavailable" if status >= 500 or status == 429 else "invalid_request"
            return _json(status, {"error": err, "error_description": message}, headers)
        head = message.split(":", 1)[0].split("{", 1)[0]
        return _json(status, {
            "code": status, "message": message, "cause": "",
            "error_id": head.rsplit(".", 1)[-1] or "Exception", "x-id": req.xid,
        }, headers, "Incomplete Upload" if status == 420 else None)

    def dispatch(self, req: Request, fault: Fault | None) -> Response:
        try:
            if fault is not None and fault.kind == "slow":
                time.sleep(fault.delay)
            if fault is not None and fault.kind in ("status", "429"):
                resp = self.error(req, fault.status, f"Injected fault ({fault.status})")
                if fault.kind == "429":
                    resp.headers.append(("Retry-After", str(fault.retry_after)))
                return resp
            resp = self.route(req)
        except ClientGone:
            raise
        except JfsError as exc:
            if exc.plain:
                return self.plain_error(exc.status, exc.message)
            return self.error(req, exc.status, exc.message)
        except OAuthError as exc:
            return _json(exc.status, exc.body(), [("X-ID", req.xid), *exc.headers.items()])
        except InvalidName as exc:
            if exc.plain:
                return self.plain_error(400, "Bad request")
            return self.error(req, 400, str(exc))
        except BadRequestBody as exc:
            return self.error(req, 400, f"{_EXC}InvalidArgumentException: {exc}")
        except Exception:  # a bug must answer 500, never a traceback to the client
            log.exception("internal error on %s %s", req.method, req.path)
            return self.error(req, 500, "java.lang.RuntimeException: Internal server error")
        if not any(k == "X-ID" for k, _ in resp.headers):
            resp.headers.append(("X-ID", req.xid))
        return resp

    def route(self, req: Request) -> Response:
        p = req.path
        if p == "/jfs" or p.startswith("/jfs/"):
            return self.jfs(req)
        if p.startswith("/auth/realms/"):
            return self.oidc(req)
        routes = {
            ("GET", "/account/v1/customer"): self.customer,
            ("POST", "/files/v1/allocate"): self.allocate,
            ("POST", "/files/v1/purge_trash"): self.purge_trash,
            ("POST", "/auth/v1/register"): self.legacy_register,
            ("POST", "/auth/v1/token"): self.legacy_token,
        }
        handler = routes.get((req.method, p.rstrip("/") or "/"))
        if handler is not None:
            return handler(req)
        if p.startswith("/files/v1/upload/") and req.method in ("POST", "PUT"):
            return self.upload(req, p[len("/files/v1/upload/"):])
        if p.startswith("/opin/io/downloadPublic/") and req.method in ("GET", "HEAD"):
            return self.public_download(req, p[len("/opin/io/downloadPublic/"):])
        known = {path for _, path in routes}
        if p.rstrip("/") in known:
            return self.error(req, 405, f"HTTP method {req.method} is not supported by this URL")
        return self.error(req, 404, f"No handler found for {req.method} {p}")

    # ------------------------------------------------------------------ bearer auth

    def bearer(self, req: Request) -> Principal:
        header = req.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or " " in token:
            raise JfsError(401, NO_TOKEN)
        principal = self.auth.check_access(token)
        if principal is None:
            raise JfsError(401, TOKEN_MISMATCH)
        return principal

    # ------------------------------------------------------------------ JFS paths

    def _segments(self, raw: str) -> list[str]:
        """Percent-decode a JFS path (``+`` stays ``+``); Jetty drops ``;params`` per segment."""
        out = []
        for seg in raw.split("/"):
            seg = seg.split(";", 1)[0]
            if not seg:
                continue
            try:
                out.append(unquote(seg, errors="strict"))
            except UnicodeDecodeError as exc:
                raise JfsError(400, "Bad request", plain=True) from exc
        return out

    def _check_user(self, raw_user: str, user: str) -> None:
        if "+" in raw_user:
            raise JfsError(400, f"java.lang.IllegalArgumentException: Unable to validate decoded path: /{user}")
        if user != self.store.username:
            raise JfsError(400, NO_USERNAME)

    def _device(self, name: str) -> Device:
        dev = self.store.device(name)
        if dev is None:
            raise JfsError(404, f"{_EXC}NoSuchDeviceException: Device {name} does not exist")
        return dev

    def _mountpoint(self, dev: Device, name: str) -> MountPoint:
        mp = self.store.mountpoint(dev, name)
        if mp is None:
            raise JfsError(404, f"{_EXC}NoSuchMountPointException")
        return mp

    def _display(self, mp: MountPoint, names: list[str]) -> str:
        return "/".join(["", self.store.username, mp.device.name, mp.name, *names])

    def _dest(self, value: str) -> tuple[MountPoint, list[str]]:
        """A ``cp=``/``mv=``/``mvDir=`` value: ``/<user>/<device>/<mountpoint>/<path>``."""
        parts = [p for p in value.split("/") if p]
        if len(parts) < 4:
            raise bad_argument(f"Invalid destination path {value}")
        if parts[0] != self.store.username:
            raise JfsError(400, NO_USERNAME)
        mp = self._mountpoint(self._device(parts[1]), parts[2])
        names = parts[3:]
        for n in names:
            check_name(n)
        return mp, names

    def jfs(self, req: Request) -> Response:
        raw = req.path[len("/jfs"):]
        raw_segs = [s for s in raw.split("/") if s]
        segs = self._segments(raw)
        self.bearer(req)
        if not segs:
            raise JfsError(400, NO_USERNAME)
        self._check_user(raw_segs[0], segs[0])
        try:
            for name in segs[1:]:
                check_name(name)
        except InvalidName as exc:
            raise JfsError(400, str(exc), plain=exc.plain) from exc
        if req.method not in ("GET", "HEAD", "POST"):
            return self.error(req, 405, f"HTTP method {req.method} is not supported by this URL")
        post = req.method == "POST"
        if len(segs) == 1:
            if post:
                return self.error(req, 500, NO_COMMAND)
            return Response(200, self.docs.user_doc(), content_type=XML)
        if len(segs) == 2:
            if post:
                if not req.has("type"):
                    return self.error(req, 500, NO_COMMAND)
                dev = self.store.create_device(segs[1], req.q("type") or "WORKSTATION")
                # The service answers 201 whether or not the device existed (jafs NewDevice).
                return Response(201, self.docs.device_doc(dev), content_type=XML)
            return Response(200, self.docs.device_doc(self._device(segs[1])), content_type=XML)
        dev = self._device(segs[1])
        if len(segs) == 3:
            return self.jfs_mountpoint(req, dev, segs[2])
        mp = self._mountpoint(dev, segs[2])
        if mp.special:
            raise bad_argument(f"Cannot address items below {mp.name} directly")
        names = segs[3:]
        return self.jfs_post(req, mp, names) if post else self.jfs_get(req, mp, names)

    def jfs_mountpoint(self, req: Request, dev: Device, name: str) -> Response:
        if req.method == "POST":
            if req.q("mkDir") == "true":
                mp = self._mountpoint(dev, name)
                return Response(200, self._mp_doc(mp, req), content_type=XML)
            commands = {"dl", "rm", "dlDir", "rmDir", "cp", "mv", "mvDir", "cphash"}
            if commands & set(req.query):
                raise bad_argument(f"Command not supported on mountpoint {name}")
            mp, created = self.store.create_mountpoint(dev, name)
            return Response(201 if created else 200, self.docs.mountpoint_doc(mp), content_type=XML)
        mp = self._mountpoint(dev, name)
        mode = req.q("mode")
        if mp.special:
            if mode not in (None, ""):
                raise bad_argument(f"Unknown mode {mode}")
            return Response(200, self._mp_doc(mp, req), content_type=XML)
        if mode in (None, ""):
            return Response(200, self.docs.mountpoint_doc(mp), content_type=XML)
        if mode == "list":
            return Response(200, self.docs.filedirlist_doc(mp, None), content_type=XML)
        if mode == "liststream":
            return Response(200, self.docs.liststream(mp, None), content_type=XML)
        if mode in ("bin", "thumb", "enableShare", "disableShare"):
            raise bad_argument(f"mode={mode} is not supported on a mountpoint")
        raise bad_argument(f"Unknown mode {mode}")

    def _mp_doc(self, mp: MountPoint, req: Request) -> bytes:
        if not mp.special:
            return self.docs.mountpoint_doc(mp)
        if mp.name == "Trash":
            return self.docs.trash_doc(mp)
        if mp.name == "Links":
            return self.docs.search_doc(self.store.shared())
        try:
            limit = int(req.q("max") or "10")
        except ValueError as exc:
            raise bad_argument("max must be a number") from exc
        return self.docs.search_doc(self.store.latest_files(max(limit, 0)), limit)

    def _missing(self, mp: MountPoint, names: list[str]) -> JfsError:
        """404 for a missing path: NoSuchFile if the parent folder exists, NoSuchPath otherwise."""
        parent = self.store.lookup(mp, names[:-1]) if len(names) > 1 else None
        if len(names) == 1 or (parent is not None and not parent.is_file):
            return not_found_file(self._display(mp, names))
        return not_found_dir(self._display(mp, names[:-1]))

    def jfs_get(self, req: Request, mp: MountPoint, names: list[str]) -> Response:
        mode = req.q("mode")
        known = (None, "", "bin", "list", "liststream", "enableShare", "disableShare", "thumb")
        if mode not in known:
            raise bad_argument(f"Unknown mode {mode}")
        node = self.store.lookup(mp, names)
        if node is None:
            raise self._missing(mp, names)
        display = self._display(mp, names)
        if mode in (None, ""):
            return Response(200, self.docs.node_doc(node), content_type=XML)
        if mode == "bin":
            return self.download(req, node, display)
        if mode == "thumb":
            raise JfsError(404, f"{_EXC}NoSuchFileException: No thumbnail for {display}")
        if mode in ("enableShare", "disableShare"):
            node = self.store.set_share(node, mode == "enableShare")
            return Response(200, self.docs.node_doc(node), content_type=XML)
        if node.is_file:
            raise bad_argument(f"mode={mode} needs a folder, {display} is a file")
        if mode == "list":
            return Response(200, self.docs.filedirlist_doc(mp, node), content_type=XML)
        if node.deleted is not None:
            raise not_found_dir(display)
        return Response(200, self.docs.liststream(mp, node), content_type=XML)

    def download(self, req: Request, node: Node, display: str) -> Response:
        if not node.is_file:
            raise bad_argument(f"mode=bin needs a file, {display} is a folder")
        view = self.store.file_view(node)
        rev = view.current
        wanted = req.q("revision")
        if wanted:
            try:
                number = int(wanted)
            except ValueError as exc:
                raise bad_argument("revision must be a number") from exc
            rev = next((r for r in self.store.revisions(node.id)
                        if r.number == number and r.state == "COMPLETED"), None)
        if rev is None:
            raise not_found_file(display)
        blob = self.store.blob_path(rev.md5, rev.size)
        if not self.store.blob_exists(rev.md5, rev.size):
            raise JfsError(404, f"{_EXC}PhysicalFileNotFoundException: File unavailable directly on dfs bricks")
        size = rev.size
        headers = [("Accept-Ranges", "bytes"), ("ETag", f'"{rev.md5}"')]
        rng = req.headers.get("Range")
        if rng:
            start, end = self._parse_range(rng, size)
            headers.append(("Content-Range", f"bytes {start}-{end}/{size}"))
            return Response(206, FileSlice(blob, start, end - start + 1), headers,
                            content_type=rev.mime)
        return Response(200, FileSlice(blob, 0, size), headers, content_type=rev.mime)

    @staticmethod
    def _parse_range(value: str, size: int) -> tuple[int, int]:
        m = _RANGE.match(value.strip().replace(" ", ""))
        unsatisfiable = JfsError(416, f"{_EXC}RequestedRangeNotSatisfiedException: {value} of {size}")
        if not m or (not m.group(1) and not m.group(2)):
            raise unsatisfiable
        a, b = m.groups()
        if not a:  # suffix range: the last N bytes
            n = int(b)
            if n == 0 or size == 0:
                raise unsatisfiable
            return max(size - n, 0), size - 1
        start = int(a)
        end = int(b) if b else size - 1
        if start > end or start >= size:
            raise unsatisfiable
        return start, min(end, size - 1)

    def jfs_post(self, req: Request, mp: MountPoint, names: list[str]) -> Response:
        q = req.query
        display = self._display(mp, names)
        node = self.store.lookup(mp, names)
        if q.get("mkDir") == ["true"]:
            self.store.ensure_folders(mp, names, display)
            fresh = self.store.lookup(mp, names)
            assert fresh is not None
            return Response(200, self.docs.folder_doc(fresh), content_type=XML)
        if "dl" in q:
            if node is None:
                # Soft delete of a missing path succeeds (rclone relies on it, PR #6860).
                return Response(200, b"", content_type=XML)
            node = self.store.trash(node) if node.deleted is None else node
            return Response(200, self.docs.node_doc(node), content_type=XML)
        if "rm" in q:
            if node is None or not node.is_file:
                raise not_found_file(display)
            self.store.hard_delete(node)
            return Response(200, b"", content_type=XML)
        if "dlDir" in q:
            if node is None or node.is_file:
                raise not_found_dir(display)
            node = self.store.trash(node) if node.deleted is None else node
            return Response(200, self.docs.folder_doc(node), content_type=XML)
        if "rmDir" in q:
            if node is None or node.is_file:
                raise not_found_dir(display)
            self.store.hard_delete(node)
            return Response(200, b"", content_type=XML)
        if "cphash" in q:
            return self.cphash(req, mp, names, display)
        for cmd in ("cp", "mv"):
            if cmd in q:
                dmp, dnames = self._dest(q[cmd][0])
                if node is None:
                    raise not_found_file(display, source=True)
                if cmd == "cp":
                    out = self.store.copy_file(node, dmp, dnames, display, self._display(dmp, dnames))
                else:
                    out = self.store.move_file(node, dmp, dnames, display, self._display(dmp, dnames))
                return Response(200, self.docs.file_doc(out), content_type=XML)
        if "mvDir" in q:
            dmp, dnames = self._dest(q["mvDir"][0])
            if node is None or node.is_file or node.deleted is not None:
                raise not_found_dir(display)
            out = self.store.move_dir(node, dmp, dnames, display, self._display(dmp, dnames))
            return Response(200, self.docs.folder_doc(out), content_type=XML)
        return self.error(req, 500, NO_COMMAND)

    def cphash(self, req: Request, mp: MountPoint, names: list[str], display: str) -> Response:
        md5 = req.headers.get("JMd5") or ""
        value = req.q("cphash") or ""
        if not md5 and _MD5.match(value):
            md5 = value  # the old upload style carried the md5 as the parameter value
        size_h = req.headers.get("JSize")
        if not _MD5.match(md5) or size_h is None:
            raise JfsError(400, "Upload without md5 no longer supported. Use header JMd5.")
        try:
            size = int(size_h)
            created = parse_jfs_time(req.headers["JCreated"]) if req.headers.get("JCreated") else None
            modified = parse_jfs_time(req.headers["JModified"]) if req.headers.get("JModified") else None
        except ValueError as exc:
            raise bad_argument(f"Bad JSize/JCreated/JModified header: {exc}") from exc
        node = self.store.cphash(mp, names, size, md5, created, modified, display)
        return Response(200, self.docs.file_doc(node), content_type=XML)

    # ------------------------------------------------------------------ JSON API

    def customer(self, req: Request) -> Response:
        principal = self.bearer(req)
        brand = REALMS.get(principal.realm)
        cap = self.store.capacity
        return _json(200, {
            "username": self.store.username,
            "email": self.auth.email,
            "name": self.store.login_name.title(),
            "country_code": "NO",
            "language_code": "en",
            "customer_group_code": "",
            "brand_code": (brand.key if brand else "jottacloud").upper(),
            "account_type": "unlimited" if cap < 0 else "free",
            "subscription_type": "UNLIMITED" if cap < 0 else "FREE",
            "usage": self.store.usage(),
            "quota": cap,
            "business_usage": 0,
            "business_quota": 0,
            "write_locked": False,
            "read_locked": False,
            "locked_cause": None,
            "web_hash": hashlib.sha1(self.store.username.encode()).hexdigest(),
            "android_hash": "",
            "ios_hash": "",
        })

    def _alloc_target(self, path: str) -> tuple[MountPoint, list[str]]:
        """``/jfs/<device>/<mountpoint>/<path>`` or ``<mountpoint>/<path>`` on device Jotta."""
        if path.startswith("/jfs/"):
            parts = [p for p in path[len("/jfs/"):].split("/") if p]
        else:
            parts = [BUILTIN_DEVICE, *[p for p in path.split("/") if p]]
        if len(parts) < 3:
            raise bad_argument(f"Invalid path {path}")
        mp = self._mountpoint(self._device(parts[0]), parts[1])
        if mp.special:
            raise bad_argument(f"Cannot upload to {mp.name}")
        return mp, parts[2:]

    def allocate(self, req: Request) -> Response:
        self.bearer(req)
        try:
            body = json.loads(req.body.read_all(1 << 20) or b"null")
        except (ValueError, UnicodeDecodeError) as exc:
            raise bad_argument("Request body is not valid JSON") from exc
        if not isinstance(body, dict):
            raise bad_argument("Request body must be a JSON object")
        path, size, md5 = body.get("path"), body.get("bytes"), body.get("md5")
        if not isinstance(path, str) or not path:
            raise bad_argument("path is required")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise bad_argument("bytes must be a non-negative integer")
        if not isinstance(md5, str) or not _MD5.match(md5):
            raise bad_argument("md5 must be 32 hex characters")
        try:
            created = parse_any_time(body.get("created"))
            modified = parse_any_time(body.get("modified"))
        except ValueError as exc:
            raise bad_argument(f"Bad created/modified: {exc}") from exc
        conflict = body.get("conflict_handler") or "CREATE_NEW_REVISION"
        if conflict not in ("CREATE_NEW_REVISION", "REJECT_CONFLICTS"):
            raise bad_argument(f"Unknown conflict_handler {conflict}")
        mp, names = self._alloc_target(path)
        try:
            for n in names:
                check_name(n)
        except InvalidName as exc:
            raise JfsError(400, str(exc)) from exc
        cap = self.store.capacity
        if cap >= 0 and self.store.usage() + size > cap:
            raise JfsError(507, f"{_EXC}QuotaExceededException: Not enough space for {size} bytes")
        display = self._display(mp, names)
        res = self.store.allocate(mp, names, size, md5, created, modified, display, conflict)
        return _json(200, {
            "name": res.node.name,
            "path": self.store.jfs_path(res.node),
            "state": res.state,
            "upload_id": res.upload_id,
            "upload_url": f"{self.base_url}/files/v1/upload/{res.upload_id}",
            "bytes": size,
            "resume_pos": res.resume_pos,
        })

    def upload(self, req: Request, upload_id: str) -> Response:
        self.bearer(req)
        target = self.store.upload_target(upload_id)
        if target is None:
            raise JfsError(404, f"{_EXC}NoSuchUploadException: Unknown or finished upload")
        with self._uploads_lock:
            if upload_id in self._active_uploads:
                raise JfsError(409, f"{_EXC}ConcurrentUploadException: Upload already in progress")
            self._active_uploads.add(upload_id)
        try:
            return self._receive(req, target.upload_id, target.revision.size, target.revision.md5,
                                 target.partial, target.jfs_path)
        finally:
            with self._uploads_lock:
                self._active_uploads.discard(upload_id)

    def _receive(self, req: Request, upload_id: str, size: int, md5: str, partial: Any,
                 jfs_path: str) -> Response:
        have = partial.stat().st_size if partial.exists() else 0
        start = 0
        rng = req.headers.get("Range")
        if rng:
            m = _RANGE.match(rng.strip().replace(" ", ""))
            if not m or not m.group(1):
                raise JfsError(416, f"{_EXC}RequestedRangeNotSatisfiedException: {rng}")
            start = int(m.group(1))
            if m.group(2) and int(m.group(2)) >= size:
                raise JfsError(416, f"{_EXC}RequestedRangeNotSatisfiedException: {rng} of {size}")
        if start > have or start > size:
            raise JfsError(416, f"{_EXC}RequestedRangeNotSatisfiedException: resume at {start} "
                                f"but only {have} bytes stored")
        digest = hashlib.md5()
        with open(partial, "r+b" if partial.exists() else "w+b") as f:
            # Re-hash the kept prefix so the final check covers the whole body.
            left = start
            while left > 0:
                piece = f.read(min(CHUNK, left))
                if not piece:
                    break
                digest.update(piece)
                left -= len(piece)
            f.seek(start)
            f.truncate(start)
            received = start
            overflow = False
            try:
                while True:
                    piece = req.body.read(CHUNK)
                    if not piece:
                        break
                    room = size - received
                    if len(piece) > room:
                        overflow = True
                        piece = piece[:room]
                    if piece:
                        f.write(piece)
                        digest.update(piece)
                        received += len(piece)
            except ClientGone:
                f.flush()
                self.store.upload_progress(upload_id, received)
                raise
        self.store.upload_progress(upload_id, received)
        if overflow:
            self.store.finish_upload(upload_id, md5_ok=False)
            raise JfsError(400, f"{_EXC}CorruptUploadOpenApiException: More bytes than allocated")
        if received < size:
            raise JfsError(420, f"{_EXC}IncompleteUploadOpenApiException: Received {received} of {size} bytes")
        ok = digest.hexdigest() == md5.lower()
        rev = self.store.finish_upload(upload_id, md5_ok=ok)
        if rev is None:
            raise JfsError(404, f"{_EXC}NoSuchFileException: File {jfs_path} does not exist")
        if not ok:
            raise JfsError(400, f"{_EXC}CorruptUploadOpenApiException: Checksum mismatch, "
                                f"expected {md5} got {digest.hexdigest()}")
        return _json(201, {
            "md5": rev.md5, "bytes": rev.size, "content_id": hashlib.sha1(
                f"{rev.md5}-{rev.size}".encode()).hexdigest(),
            "path": jfs_path, "modified": (rev.modified or 0) * 1000,
        })

    def purge_trash(self, req: Request) -> Response:
        self.bearer(req)
        folders, files = self.store.purge_trash()
        return _json(200, {"files": files, "folders": folders})

    def public_download(self, req: Request, rest: str) -> Response:
        parts = [p for p in rest.split("/") if p]
        node = self.store.by_public_uri(parts[-1]) if len(parts) == 2 else None
        if node is None or parts[0] != self.store.username or not node.is_file:
            raise JfsError(404, f"{_EXC}NoSuchFileException: Shared file not found")
        return self.download(req, node, self.store.jfs_path(node))

    # ------------------------------------------------------------------ OIDC

    def issuer(self, realm: str) -> str:
        return f"{self.base_url}/auth/realms/{realm}"

    def discovery(self, realm: str) -> dict[str, Any]:
        iss = self.issuer(realm)
        oc = f"{iss}/protocol/openid-connect"
        return {
            "issuer": iss,
            "authorization_endpoint": f"{oc}/auth",
            "token_endpoint": f"{oc}/token",
            "token_introspection_endpoint": f"{oc}/token/introspect",
            "introspection_endpoint": f"{oc}/token/introspect",
            "userinfo_endpoint": f"{oc}/userinfo",
            "end_session_endpoint": f"{oc}/logout",
            "jwks_uri": f"{oc}/certs",
            "check_session_iframe": f"{oc}/login-status-iframe.html",
            "registration_endpoint": f"{iss}/clients-registrations/openid-connect",
            "grant_types_supported": ["authorization_code", "implicit", "refresh_token", "password",
                                      "client_credentials"],
            "response_types_supported": ["code", "none", "id_token", "token", "id_token token",
                                         "code id_token", "code token", "code id_token token"],
            "subject_types_supported": ["public", "pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "userinfo_signing_alg_values_supported": ["RS256"],
            "request_object_signing_alg_values_supported": ["none", "RS256"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_basic",
                                                      "client_secret_post", "client_secret_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["sub", "iss", "auth_time", "name", "given_name", "family_name",
                                 "preferred_username", "email"],
            "claim_types_supported": ["normal"],
            "claims_parameter_supported": False,
            "scopes_supported": ["openid", "offline_access", "email", "profile", "jotta-default"],
            "request_parameter_supported": True,
            "request_uri_parameter_supported": True,
            "code_challenge_methods_supported": ["plain", "S256"],
            "tls_client_certificate_bound_access_tokens": True,
        }

    def oidc(self, req: Request) -> Response:
        rest = req.path[len("/auth/realms/"):]
        realm, _, tail = rest.partition("/")
        realm = unquote(realm)
        brand = REALMS.get(realm)
        if brand is None:
            return _json(404, {"error": "Realm does not exist"})
        if tail == ".well-known/openid-configuration" and req.method in ("GET", "HEAD"):
            return _json(200, self.discovery(realm))
        if tail == "protocol/openid-connect/token":
            if req.method != "POST":
                raise OAuthError(405, "invalid_request", "HTTP method not allowed")
            return self.token_endpoint(req, brand)
        if tail == "protocol/openid-connect/auth":
            return self.authorize(req, brand)
        if tail == "protocol/openid-connect/userinfo":
            self.bearer(req)
            return _json(200, {"sub": self.store.username, "email": self.auth.email,
                               "email_verified": True,
                               "preferred_username": self.store.login_name})
        if tail == "protocol/openid-connect/certs":
            return _json(200, {"keys": []})
        if tail == "protocol/openid-connect/logout":
            return Response(204, None)
        raise OAuthError(404, "invalid_request", f"Unknown endpoint {tail}")

    @staticmethod
    def _form(req: Request) -> dict[str, str]:
        ctype = (req.headers.get("Content-Type") or "").lower()
        raw = req.body.read_all(1 << 20)
        if raw and "json" in ctype:
            raise OAuthError(400, "invalid_request", "Expected application/x-www-form-urlencoded")
        try:
            pairs = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError as exc:
            raise OAuthError(400, "invalid_request", "Body is not UTF-8") from exc
        return {k: v[0] for k, v in pairs.items()}

    @staticmethod
    def _client(req: Request, form: dict[str, str]) -> tuple[str | None, str]:
        """Client id and secret from ``Authorization: Basic`` or the form (both styles work)."""
        header = req.headers.get("Authorization") or ""
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "basic" and value.strip():
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise OAuthError(401, "invalid_client", "Invalid client credentials") from exc
            cid, _, secret = decoded.partition(":")
            cid, secret = unquote(cid.replace("+", " ")), unquote(secret.replace("+", " "))
            if form.get("client_id") not in (None, cid):
                raise OAuthError(400, "invalid_request", "Conflicting client credentials")
            return cid, secret
        return form.get("client_id"), form.get("client_secret", "")

    def token_endpoint(self, req: Request, brand: Brand) -> Response:
        form = self._form(req)
        client_id, _secret = self._client(req, form)
        if not client_id:
            raise OAuthError(401, "unauthorized_client", "INVALID_CREDENTIALS: Invalid client credentials")
        if not brand.allows_client(client_id):
            raise OAuthError(401, "unauthorized_client", "INVALID_CREDENTIALS: Invalid client credentials")
        grant = form.get("grant_type", "")
        issuer = self.issuer(brand.realm)
        if grant == "password":
            self._check_scope(brand, form.get("scope", ""))
            tok = self.auth.password_grant(brand.realm, client_id, form.get("username", ""),
                                           form.get("password", ""), form.get("scope", ""), issuer)
        elif grant == "authorization_code":
            tok = self.auth.code_grant(brand.realm, client_id, form.get("code", ""),
                                       form.get("redirect_uri", ""), issuer)
        elif grant == "refresh_token":
            tok = self.auth.refresh_grant(brand.realm, client_id, form.get("refresh_token", ""), issuer)
        elif not grant:
            raise OAuthError(400, "invalid_request", "Missing form parameter: grant_type")
        else:
            # Upper-case PASSWORD/REFRESH_TOKEN belong to the legacy endpoint only.
            raise OAuthError(400, "unsupported_grant_type", "Unsupported grant_type")
        return _json(200, tok, [("Cache-Control", "no-store"), ("Pragma", "no-cache")])

    @staticmethod
    def _check_scope(brand: Brand, scope: str) -> None:
        if brand.strict and "jotta-default" in scope.split():
            raise OAuthError(400, "invalid_scope", "Invalid scopes: " + scope)

    def authorize(self, req: Request, brand: Brand) -> Response:
        """Authorization endpoint: an HTML login form, or an immediate redirect when a test
        armed :meth:`AuthService.take_approval` (headless approval)."""
        params = {k: v[0] for k, v in req.query.items()}
        if req.method == "POST":
            params.update(self._form(req))
        client_id = params.get("client_id", "")
        redirect_uri = params.get("redirect_uri", "")
        if not brand.allows_client(client_id) or client_id not in DESKTOP_CLIENTS:
            return self._html(400, "Client not found.")
        ru = urlsplit(redirect_uri)
        if ru.scheme != "http" or ru.hostname not in ("localhost", "127.0.0.1", "::1"):
            return self._html(400, "Invalid parameter: redirect_uri")
        state = params.get("state", "")
        scope = params.get("scope", "openid")
        sep = "&" if ru.query else "?"
        if params.get("response_type") != "code":
            q = urlencode({"error": "unsupported_response_type", "state": state})
            return Response(302, b"", [("Location", f"{redirect_uri}{sep}{q}")])
        if brand.strict and "jotta-default" in scope.split():
            q = urlencode({"error": "invalid_scope", "error_description": "Invalid scopes: " + scope,
                           "state": state})
            return Response(302, b"", [("Location", f"{redirect_uri}{sep}{q}")])
        approved = False
        message = ""
        if req.method == "POST":
            login_ok = (params.get("username", "").lower() in
                        (self.store.login_name.lower(), self.auth.email.lower()))
            if login_ok and params.get("password", "") == self.store.password:
                approved = True
            else:
                message = "Invalid username or password."
        elif self.auth.take_approval():
            approved = True
        if approved:
            code = self.auth.create_code(brand.realm, client_id, redirect_uri, scope)
            q = urlencode({"state": state, "session_state": "jottaserver", "code": code})
            return Response(302, b"", [("Location", f"{redirect_uri}{sep}{q}")])
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items() if k not in ("username", "password")
        )
        page = (
            f"<!DOCTYPE html><html><head><title>Sign in to {html.escape(brand.name)}</title></head>"
            f"<body><h1>{html.escape(brand.name)}</h1><p>{html.escape(message)}</p>"
            f'<form method="post" action="{html.escape(req.path)}">{hidden}'
            '<input name="username" autocomplete="username">'
            '<input name="password" type="password" autocomplete="current-password">'
            '<button type="submit">Sign in</button></form></body></html>'
        )
        return Response(200, page.encode(), content_type="text/html;charset=UTF-8")

    @staticmethod
    def _html(status: int, text: str) -> Response:
        page = f"<!DOCTYPE html><html><body><p>{html.escape(text)}</p></body></html>"
        return Response(status, page.encode(), content_type="text/html;charset=UTF-8")

    # ------------------------------------------------------------------ legacy auth

    def _legacy_params(self, req: Request) -> dict[str, str]:
        """Legacy endpoints take parameters in the query string (rclone) or the body (others)."""
        params = {k: v[0] for k, v in req.query.items()}
        for k, v in self._form(req).items():
            params.setdefault(k, v)
        return params

    def legacy_register(self, req: Request) -> Response:
        header = req.headers.get("Authorization") or ""
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise OAuthError(401, "unauthorized", "Full authentication is required")
        params = self._legacy_params(req)
        device_id = params.get("device_id", "")
        if not device_id:
            raise OAuthError(400, "invalid_request", "device_id is required")
        return _json(200, self.auth.register_legacy_client(device_id))

    def legacy_token(self, req: Request) -> Response:
        params = self._legacy_params(req)
        client_id, secret = self._client(req, params)
        if not client_id or not self.auth.check_legacy_client(client_id, secret):
            raise OAuthError(401, "invalid_client", "Bad client credentials")
        grant = params.get("grant_type", "")
        issuer = f"{self.base_url}/auth/v1"
        if grant == "PASSWORD":
            tok = self.auth.legacy_password_grant(
                client_id, params.get("username", ""), params.get("password", ""),
                req.headers.get("X-JottaCloud-OTP"), issuer)
        elif grant == "REFRESH_TOKEN":
            tok = self.auth.refresh_grant(LEGACY_REALM, client_id, params.get("refresh_token", ""),
                                          issuer, legacy=True)
        else:
            # The legacy endpoint "throws a 400 Bad Request if we use the lower case" (rclone).
            raise OAuthError(400, "unsupported_grant_type", f"Unsupported grant type: {grant}")
        return _json(200, tok)


# Re-exported for the fixture: which client a login token's password grant must use.
PASSWORD_GRANT_CLIENT = LOGIN_TOKEN_CLIENT
DEFAULT_LEGACY_CLIENT = LEGACY_CLIENT_ID
