"""The JottaCloud backend: operations on one device/mountpoint, seen from one root folder.

Wire types live in :mod:`._api`, HTTP/retries/error mapping in :mod:`._http`, logins and
token refresh in :mod:`._auth`; this module only decides *which* requests an operation needs
(see protocol reference §3–§6) and turns answers into :class:`~cloudsync.types.Entry` values.

Nothing touches the network until the first operation: ``cloudsync --help``, config
listing and cassette replay construct backends freely.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote

from cloudsync.backend import Backend, Features, Readable
from cloudsync.errors import (
    CantCopy,
    CantDirMove,
    CantMove,
    CloudsyncError,
    ConfigError,
    CorruptedTransfer,
    DirectoryNotEmpty,
    DirExists,
    DirNotFound,
    HashUnsupported,
    IsDirError,
    IsFileError,
    NameNotSupported,
    NoRetryError,
    ObjectNotFound,
    ProtocolError,
    RootIsFile,
    TransientError,
    Unsupported,
)
from cloudsync.hashing import MultiHasher
from cloudsync.types import MD5, Entry, PutInfo, Usage, join_path, parent_of

from . import _api
from ._auth import AuthFlows, TokenManager, reconnect_hint
from ._encoding import Encoder
from ._history import HistoryCapabilities
from ._http import Endpoints, HttpNoRetry, HttpNotFound, JottaHttp, network_cause, status_of

if TYPE_CHECKING:
    import requests

    from cloudsync.options import ConfigAccess

__all__ = ["FEATURES", "JottaBackend", "JottaOptions"]

log = logging.getLogger("cloudsync.backends.jottacloud")

DEFAULT_DEVICE = "Jotta"
DEFAULT_MOUNTPOINT = "Archive"
MAX_NAME_LENGTH = 255
CHUNK = 1 << 20

FEATURES = Features(
    hashes=frozenset({MD5}),
    precision_ns=1_000_000_000,
    case_insensitive=True,
    can_have_empty_dirs=True,
    max_name_length=MAX_NAME_LENGTH,
    read_mime_type=True,
    refuses_file_root=True,
    md5_before_upload=True,
)


@dataclass(frozen=True)
class JottaOptions:
    """Parsed backend options (see ``SPEC.options`` for help texts)."""

    device: str = DEFAULT_DEVICE
    mountpoint: str = DEFAULT_MOUNTPOINT
    hard_delete: bool = False
    trashed_only: bool = False
    no_versions: bool = False
    md5_memory_limit: int = 10 << 20
    upload_resume_limit: int = 10 << 20
    encoding: str = ""
    jfs_url: str = ""
    api_url: str = ""
    www_url: str = ""
    token_url: str = ""
    client_id: str = ""
    client_secret: str = ""
    config_type: str = ""
    config_version: str = ""
    token: str = ""
    login_token: str = ""
    account: str = ""
    low_level_retries: int = 10

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> JottaOptions:
        kwargs: dict[str, Any] = {}
        for name in cls.__dataclass_fields__:
            value = values.get(name)
            if value is None or value == "":
                continue
            kwargs[name] = value
        if "low_level_retries" in kwargs:  # a global setting, may arrive as text
            kwargs["low_level_retries"] = int(kwargs["low_level_retries"])
        return cls(**kwargs)


#: Account names looked up in this process, by (api URL, remote name, initial token): every
#: backend on one login shares one customer-info call.
_ACCOUNTS: dict[tuple[str, str, str], str] = {}
_ACCOUNTS_LOCK = threading.Lock()


class JottaBackend(HistoryCapabilities):
    type_name = "jottacloud"

    def __init__(
        self,
        name: str,
        root: str,
        options: JottaOptions,
        config: ConfigAccess | None = None,
    ) -> None:
        super().__init__(name, root.strip("/"), FEATURES)
        self.opts = options
        self.config = config
        from ._encoding import DEFAULT_ENCODING

        try:
            self.encoder = Encoder.from_text(options.encoding or DEFAULT_ENCODING)
        except ValueError as exc:
            raise ConfigError(f"bad jottacloud encoding: {exc}") from None
        self.endpoints = Endpoints(
            jfs_url=options.jfs_url or Endpoints.jfs_url,
            api_url=options.api_url or Endpoints.api_url,
            www_url=options.www_url or Endpoints.www_url,
        )
        # Every JFS/API request carries the bearer token: same transport rule as the OAuth
        # endpoints (https, or plain http to this machine only – the offline server).
        from ._auth import check_oauth_transport

        check_oauth_transport(self.endpoints.jfs_url)
        check_oauth_transport(self.endpoints.api_url)
        self.device = options.device or DEFAULT_DEVICE
        self.mountpoint = options.mountpoint or DEFAULT_MOUNTPOINT
        self.http = JottaHttp(
            self._access_token, low_level_retries=options.low_level_retries,
            token_invalidator=self._invalidate_token,
        )
        self._setup_lock = threading.RLock()
        self._tokens: TokenManager | None = None
        self._username: str | None = None
        if options.trashed_only:
            # rclone: ListR is disabled in trashed-only mode (liststream omits trashed files).
            self.disable("list_recursive")

    def __str__(self) -> str:
        return f"jottacloud root '{self.root}' ({self.device}/{self.mountpoint})"

    # ------------------------------------------------------------------ lazy setup
    @property
    def tokens(self) -> TokenManager:
        with self._setup_lock:
            if self._tokens is None:
                self._tokens = self._make_token_manager()
            return self._tokens

    def _access_token(self) -> str:
        return self.tokens.access_token()

    def _invalidate_token(self, access_token: str) -> None:
        self.tokens.invalidate(access_token)

    @property
    def username(self) -> str:
        """The internal account name used in JFS URLs.

        Looked up with one customer-info call at most once per process (shared by every
        backend on the same login) and cached in the remote's config, so later runs start
        with their first real request (a no-op re-sync is one liststream request).
        """
        if self._username is None:
            with self._setup_lock:
                if self._username is None:
                    self._username = self._known_account() or self._look_up_account()
        return self._username

    @property
    def known_account(self) -> str:
        """The account name if it was looked up already, else "" (never sends a request)."""
        return self._username or ""

    def _account_key(self) -> tuple[str, str, str]:
        return (self.endpoints.api_url, self.name, self.opts.token or self.opts.login_token)

    def _known_account(self) -> str:
        stored = self.config.get("account") if self.config is not None else None
        if stored:
            return stored
        with _ACCOUNTS_LOCK:
            return self.opts.account or _ACCOUNTS.get(self._account_key(), "")

    def _look_up_account(self) -> str:
        name = self.customer_info().username
        with _ACCOUNTS_LOCK:
            _ACCOUNTS[self._account_key()] = name
        if self.config is not None:
            try:
                self.config.set("account", name)
            except (CloudsyncError, OSError) as exc:  # only a cache: the next run looks again
                log.debug("could not cache the account name in the config: %s", exc)
        return name

    def customer_info(self) -> _api.CustomerInfo:
        data = self.http.get_json(
            "GET", self.endpoints.api_url + "account/v1/customer", what="customer info",
            op="looking up the account",
        )
        return _api.CustomerInfo.from_json(data)

    def user_info(self) -> dict[str, str]:
        """rclone's UserInfo for JottaCloud: from the customer document."""
        info = self.customer_info()
        return {"Username": info.username, "Email": info.email, "Name": info.name,
                "AccountType": info.account_type, "SubscriptionType": info.subscription_type}

    def _make_token_manager(self) -> TokenManager:
        opts = self.opts
        legacy = opts.config_type == "legacy" or opts.config_version == "0"
        token_text = opts.token
        if self.config is not None:
            stored = self.config.get("token")
            token_text = stored or token_text
        token_url = opts.token_url
        client_id = opts.client_id
        if not token_text and opts.login_token:
            # `config create NAME jottacloud login_token=…` stores only the one-time login
            # token: exchange it on first use and keep the result.
            flows = AuthFlows(JottaHttp(low_level_retries=opts.low_level_retries), self.endpoints.api_url)
            wk, token = flows.login_token_grant(_api.decode_login_token(opts.login_token))
            token_text = token.to_json()
            token_url = wk.token_endpoint
            client_id = client_id or "jottacli"
            if self.config is not None:
                self.config.set("token_url", token_url)
                self.config.set("client_id", client_id)
                self.config.set("config_type", "standard")
                self.config.set("config_version", "1")
                self.config.set("token", token_text)
                self.config.set("login_token", "")
                self.config.set("account", "")  # a new login may be another account
        hint = reconnect_hint(self.name, self._token_variable(token_text))
        if not token_text:
            raise ConfigError(f'remote "{self.name}:" has no JottaCloud login yet', hint=hint)
        if legacy:
            token_url = token_url or self.endpoints.api_url + "auth/v1/token"
        if not token_url:
            raise ConfigError(f'remote "{self.name}:" lacks its token URL (outdated config)',
                              hint=hint)
        return TokenManager(
            self.name,
            _api.StoredToken.from_json(token_text),
            token_url=token_url,
            client_id=client_id or ("jottacli" if not legacy else ""),
            client_secret=opts.client_secret,
            legacy=legacy,
            config=self.config,
            http=JottaHttp(low_level_retries=1, session=None),
            hint=hint,
        )

    def _token_variable(self, token_text: str | None) -> str | None:
        """The environment variable the token in use came from, if it did: the remote's own
        ``CLOUDSYNC_CONFIG_<NAME>_TOKEN`` or the backend's ``CLOUDSYNC_JOTTACLOUD_TOKEN``."""
        if not token_text:
            return None
        import os

        names = ["CLOUDSYNC_JOTTACLOUD_TOKEN"]
        if self.config is not None:
            from cloudsync.config import ENV_PREFIX, env_name_part

            names.insert(0, f"{ENV_PREFIX}{env_name_part(self.config.remote_name)}_TOKEN")
        return next((n for n in names if os.environ.get(n) == token_text), None)

    def set_concurrency(self, threads: int) -> None:
        self.http.set_pool_size(threads)

    @property
    def deletes_to_trash(self) -> bool:
        return not self.opts.hard_delete

    def set_low_level_retries(self, tries: int) -> None:
        self.http.low_level_retries = max(1, tries)

    def close(self) -> None:
        self.http.close()

    # ------------------------------------------------------------------ paths
    def _dir_not_found(self, err: HttpNotFound, full: str) -> DirNotFound:
        """DirNotFound for a listing; names a missing device or mountpoint instead of "/"."""
        java = err.java_exception
        if "NoSuchDevice" in java:
            return DirNotFound(
                f'JottaCloud has no device "{self.device}"',
                hint="check the remote's device option: cloudsync config, or --jottacloud-device",
            )
        if "NoSuchMountPoint" in java:
            return DirNotFound(
                f'JottaCloud device "{self.device}" has no mountpoint "{self.mountpoint}"',
                hint="check the remote's mountpoint option: cloudsync config, or --jottacloud-mountpoint",
            )
        return DirNotFound(path=full or "/")

    def _full(self, path: str) -> str:
        return join_path(self.root, path)

    def _check_name(self, path: str) -> None:
        for part in path.split("/"):
            if len(self.encoder.encode(part)) > MAX_NAME_LENGTH:
                raise NameNotSupported(
                    f"name is longer than JottaCloud's limit of {MAX_NAME_LENGTH} characters",
                    path=path,
                )

    def _enc(self, full: str) -> str:
        return self.encoder.encode_path(full)

    def _mount_url(self) -> str:
        return (
            self.endpoints.jfs_url
            + _q(self.username) + "/" + _q(self.device) + "/" + _q(self.mountpoint)
        )

    def _url(self, full: str) -> str:
        base = self._mount_url()
        return base + "/" + _q(self._enc(full)) if full else base

    def _abs(self, full: str) -> str:
        """``/<user>/<device>/<mountpoint>/<path>`` as cp/mv/mvDir values want it (unescaped)."""
        tail = "/" + self._enc(full) if full else ""
        return f"/{self.username}/{self.device}/{self.mountpoint}{tail}"

    # ------------------------------------------------------------------ metadata
    def _node(self, full: str, params: Mapping[str, str] | None = None, method: str = "GET",
              op: str = "reading") -> Any:
        node = self.http.get_node(self._url(full), params=params, path=full or "/", method=method, op=op)
        if isinstance(node, _api.ApiError):
            raise ProtocolError(f"unexpected error document: {node.message}", path=full)
        return node

    def _file_visible(self, f: _api.JottaFile) -> bool:
        if self.opts.trashed_only:
            return f.deleted and f.current is not None and f.current.state == _api.STATE_COMPLETED
        return f.valid

    def _file_entry(self, path: str, f: _api.JottaFile) -> Entry:
        rev = f.current
        assert rev is not None
        return Entry(
            path=path,
            is_dir=False,
            size=rev.size if rev.size is not None else -1,
            mtime_ns=rev.modified_ns,
            hashes={MD5: rev.md5} if rev.md5 else {},
            mime_type=rev.mime,
            id=f.uuid or None,
        )

    def stat(self, path: str) -> Entry:
        full = self._full(path)
        try:
            node = self._node(full)
        except HttpNotFound:
            raise ObjectNotFound(path=path or "/") from None
        if isinstance(node, _api.JottaFile):
            if not self._file_visible(node):
                raise ObjectNotFound(path=path)
            return self._file_entry(path, node)
        if isinstance(node, _api.JottaFolder):
            if node.deleted and not self.opts.trashed_only:
                raise ObjectNotFound(path=path or "/")
            return Entry(path=path, is_dir=True, mtime_ns=node.modified_ns)
        raise ProtocolError(f"unexpected <{type(node).__name__}> document", path=path)

    def list(self, path: str) -> Iterable[Entry]:
        full = self._full(path)
        try:
            node = self._node(full, op="listing")
        except HttpNotFound as exc:
            raise self._dir_not_found(exc, full) from None
        if isinstance(node, _api.JottaFile):
            raise RootIsFile(path=self.root) if not path else IsFileError(path=path)
        if not isinstance(node, _api.JottaFolder):
            raise ProtocolError("unexpected document in a listing", path=path)
        if node.deleted and not self.opts.trashed_only:
            raise DirNotFound(path=path or "/")
        entries: builtins.list[Entry] = []
        for sub in node.folders:
            if sub.deleted and not self.opts.trashed_only:
                continue
            entries.append(Entry(path=join_path(path, self.encoder.decode(sub.name)), is_dir=True))
        for f in node.files:
            if self._file_visible(f):
                entries.append(self._file_entry(join_path(path, self.encoder.decode(f.name)), f))
        return entries

    def list_recursive(self, path: str) -> Iterator[Entry]:
        if self.opts.trashed_only:
            raise Unsupported("recursive listing is not available with trashed_only")
        full = self._full(path)
        resp = self._open_liststream(full)
        return self._resumable_liststream(resp, path, full)

    def _open_liststream(self, full: str) -> requests.Response:
        try:
            return self.http.request(
                "GET", self._url(full), params={"mode": "liststream"}, stream=True, path=full or "/",
                op="listing",
            )
        except HttpNotFound as exc:
            raise self._dir_not_found(exc, full) from None
        except IsFileError:
            # "mode=liststream needs a folder": our own root names a file.  Said here, by the
            # listing, so that nobody has to spend a request on probing the root first.
            if full == self.root:
                raise RootIsFile(path=self.root) from None
            raise

    def _resumable_liststream(self, resp: requests.Response, path: str, full: str) -> Iterator[Entry]:
        """The streamed listing; a stream cut short is a low-level retry, owned here.

        The listing is requested again and the entries already given out are skipped (by
        path), so the caller sees each entry once and never a silently shortened listing.
        """
        seen: set[str] = set()
        tries = self.http.low_level_retries
        attempt = 1
        while True:
            try:
                for entry in self._iter_liststream(resp, path, full):
                    if entry.path not in seen:
                        seen.add(entry.path)
                        yield entry
                return
            except TransientError as exc:
                if attempt >= tries or exc.low_level_retried:
                    exc.low_level_retried = True
                    raise
                attempt += 1
                pause = self.http.pacer.failure()
                log.debug("%s: %s; low level retry %d/%d in %.2fs", path or "/", exc, attempt, tries, pause)
                time.sleep(pause)
                resp = self._open_liststream(full)

    def _iter_liststream(self, resp: requests.Response, path: str, full: str) -> Iterator[Entry]:
        prefix = "/" + self.mountpoint + ("/" + self._enc(full) if full else "")
        prefix_key = prefix.casefold()
        parser = _api.ListStreamParser()

        def rel(server_path: str) -> str | None:
            key = server_path.rstrip("/").casefold()
            if key == prefix_key:
                return ""
            if not key.startswith(prefix_key + "/"):
                raise ProtocolError(
                    f"liststream returned a path outside the listed folder: {server_path[:100]!r}",
                    path=path,
                )
            tail = server_path.rstrip("/")[len(prefix) + 1 :]
            return self.encoder.decode_path(tail)

        # The files of one folder come one after the other: resolve their parent once.
        last_parent = ("", "")
        try:
            for chunk in resp.iter_content(chunk_size=64 * 1024):
                for item in parser.feed(chunk):
                    if isinstance(item, tuple):
                        sub = rel(item[1])
                        if sub:
                            yield Entry(path=join_path(path, sub), is_dir=True)
                    else:
                        if item.parent != last_parent[0] or not last_parent[0]:
                            last_parent = (item.parent, rel(item.parent) or "")
                        parent = last_parent[1]
                        yield Entry(
                            path=join_path(path, parent, self.encoder.decode(item.name)),
                            is_dir=False,
                            size=item.size,
                            mtime_ns=item.modified_ns // 1_000_000_000 * 1_000_000_000
                            if item.modified_ns is not None
                            else None,
                            hashes={MD5: item.md5} if item.md5 else {},
                        )
            parser.close()
        except CloudsyncError:
            raise
        except Exception as exc:  # connection dropped mid-stream: never end quietly
            cause = network_cause(exc, self.endpoints.jfs_url)
            if cause is not None:
                raise TransientError(f"{cause} while listing {full or '/'}", path=path) from None
            raise
        finally:
            resp.close()

    def hash(self, path: str, hash_type: str) -> str:
        if hash_type != MD5:
            raise HashUnsupported(f"jottacloud has no {hash_type} hashes")
        entry = self.stat(path)
        if entry.is_dir:
            raise IsDirError(path=path)
        return entry.hashes.get(MD5, "")

    # ------------------------------------------------------------------ reading
    def get(self, path: str, start: int = 0, end: int | None = None) -> BinaryIO:
        return self.open_entry(self.stat(path), start, end)

    def open_entry(self, entry: Entry, start: int = 0, end: int | None = None) -> BinaryIO:
        # The listing already said it is a live file and how big it is: ask for the bytes
        # straight away (one request per download, as rclone), no metadata request first.
        if entry.is_dir:
            raise IsDirError(path=entry.path)
        return self._open_file(entry.path, entry.size, start, end)

    def _open_file(self, path: str, size: int, start: int, end: int | None,
                   revision: str | None = None) -> BinaryIO:
        """Download ``[start, end)`` of ``path`` (of an older revision when given): one request."""
        if end is None or (size >= 0 and end > size):
            end = size if size >= 0 else None
        start = max(0, start)
        if end is not None and start >= end:
            return io.BytesIO(b"")
        ranged = start > 0 or (end is not None and size >= 0 and end < size)
        full = self._full(path)
        limit = None if end is None else end - start
        resp = self._open_bin(full, path, start, end, ranged, revision)
        if resp is None:
            return io.BytesIO(b"")
        skip = start if (ranged and resp.status_code == 200) else 0

        def reopen(pos: int) -> requests.Response | None:
            # A download cut short continues with a ranged request from where it stopped.
            return self._open_bin(full, path, pos, end, True, revision)

        return _ResponseReader(resp, skip, limit, reopen=reopen, start=start,  # type: ignore[return-value]
                               tries=self.http.low_level_retries, pacer=self.http.pacer, path=path)

    def _open_bin(self, full: str, path: str, start: int, end: int | None, ranged: bool,
                  revision: str | None = None) -> requests.Response | None:
        headers: dict[str, str] = {}
        params = {"mode": "bin"} if revision is None else {"mode": "bin", "revision": revision}
        if ranged:
            headers["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        try:
            resp = self.http.request(
                "GET", self._url(full), params=params, headers=headers, stream=True,
                path=path, ok_statuses=frozenset({416}), op="downloading",
            )
        except HttpNotFound:
            raise ObjectNotFound(path=path) from None
        if resp.status_code == 416:
            resp.close()
            return None
        return resp

    # ------------------------------------------------------------------ writing
    def put(self, path: str, stream: Readable, info: PutInfo) -> Entry:
        if not path:
            raise IsDirError("cannot upload to the root directory", path="/")
        self._check_name(path)
        full = self._full(path)
        mtime_ns = info.mtime_ns if info.mtime_ns is not None else time.time_ns()
        source = self._prepare_source(stream, info, path)
        try:
            if self.opts.no_versions:
                self._delete_for_no_versions(full, path)
            self._upload(full, path, source, mtime_ns)
        finally:
            source.close()
        mtime_s = mtime_ns // 1_000_000_000 * 1_000_000_000
        return Entry(path=path, is_dir=False, size=source.size, mtime_ns=mtime_s, hashes={MD5: source.md5})

    def _prepare_source(self, stream: Readable, info: PutInfo, path: str) -> _Source:
        md5 = (info.hashes.get(MD5) or "").lower()
        if md5 and info.size >= 0:
            return _StreamSource(stream, info.size, md5, path)
        seekable = getattr(stream, "seekable", None)
        if callable(seekable):
            try:
                can_seek = bool(seekable())
            except (OSError, ValueError):
                can_seek = False
            if can_seek:
                return _SeekableSource.hash_first(stream, info.size, path)
        return _SpooledSource.spool(stream, info.size, self.opts.md5_memory_limit, path)

    def _delete_for_no_versions(self, full: str, path: str) -> None:
        # no_versions: remove the old file first so the server keeps no revision of it.  If the
        # upload then fails there is no copy left at all – documented risk, hence opt-in.
        try:
            self.stat(path)
        except ObjectNotFound:
            return
        log.info("%s: no_versions: deleting the old version before upload", path)
        with contextlib.suppress(HttpNotFound):
            self.http.request("POST", self._url(full), params={"rm": "true"}, path=path,
                              op="deleting the old version of", gone_after_retry_ok=True)

    def _allocate(self, full: str, source: _Source, mtime_ns: int) -> _api.AllocateResponse:
        when = _api.format_rfc3339_seconds(mtime_ns)
        req = _api.AllocateRequest(
            bytes=source.size,
            created=when,
            md5=source.md5,
            modified=when,
            path=f"/jfs/{self.device}/{self.mountpoint}/{self._enc(full)}",
        )
        data = self.http.get_json(
            "POST", self.endpoints.api_url + "files/v1/allocate", json_body=req.to_json(), path=full,
            what="allocate response", op="allocating upload for",
        )
        return _api.AllocateResponse.from_json(data)

    def _upload(self, full: str, path: str, source: _Source, mtime_ns: int) -> None:
        # A rewindable source (seekable or spooled) can be sent again: after an interrupted
        # upload we allocate again and continue from the server's resume_pos.  An upload
        # superseded by a concurrent writer of the same path (NoSuchUploadException, or 409
        # ConcurrentUploadException) is redone after a short random pause.
        interrupted = 0
        superseded = 0
        while True:
            try:
                alloc = self._allocate(full, source, mtime_ns)
            except HttpNotFound:
                raise ObjectNotFound("destination folder vanished", path=path) from None
            if alloc.state == _api.STATE_COMPLETED:
                # The server already has these bytes (same file, or dedupe): nothing to send.
                return
            if alloc.resume_pos:
                log.info("%s: resuming upload at byte %d", path, alloc.resume_pos)
            try:
                self._send(alloc, source, path)
                return
            except (HttpNotFound, HttpNoRetry) as exc:
                # A 404 from an upload URL means the allocation was invalidated (another
                # writer finished first); 409 means another writer is mid-upload.
                if isinstance(exc, HttpNoRetry) and "concurrentupload" not in exc.java_exception.lower():
                    raise
                superseded += 1
                if not source.rewindable or superseded > 10:
                    raise TransientError(f"upload kept being superseded: {exc}", path=path) from None
                source.rewind()
                import random

                time.sleep(random.uniform(0.01, 0.05) * superseded)
            except (TransientError, _Incomplete) as exc:
                # The upload's low-level retries are owned here (the HTTP layer sends the body
                # once): allocate again, which also tells whether a lost reply hid a finished
                # upload (state COMPLETED) or from which byte to resume.
                interrupted += 1
                tries = self.http.low_level_retries
                if source.rewindable and interrupted < tries:
                    log.info("%s: upload interrupted (%s); resuming", path, exc)
                    time.sleep(self.http.pacer.failure())
                    source.rewind()
                    continue
                if isinstance(exc, _Incomplete):
                    raise TransientError(f"upload of {path} incomplete: {exc}", path=path,
                                         low_level_retried=source.rewindable) from None
                if isinstance(exc, TransientError) and source.rewindable:
                    exc.low_level_retried = True
                raise

    def _send(self, alloc: _api.AllocateResponse, source: _Source, path: str) -> None:
        pos = min(max(0, alloc.resume_pos), source.size)
        body = source.body(pos)
        headers = {"Content-Type": "application/octet-stream"}
        if pos:
            headers["Range"] = f"bytes={pos}-{source.size - 1}"
        try:
            resp = self.http.request(
                "POST", alloc.upload_url, data=body if source.size - pos else b"", headers=headers,
                retry=False, path=path, ok_statuses=frozenset({420}), op="uploading",
            )
        except CloudsyncError as exc:
            if body.error is not None:
                raise body.error from None
            if "corrupt" in str(exc).lower():
                raise CorruptedTransfer(f"server rejected the upload: {exc}", path=path) from None
            raise
        except Exception:
            if body.error is not None:
                raise body.error from None
            raise
        if body.error is not None:
            raise body.error
        if resp.status_code == 420:
            raise _Incomplete("server reports the upload as incomplete")
        try:
            up = _api.UploadResponse.from_json(_api.parse_json(resp.content, "upload response"))
        except ProtocolError:
            up = None
        source.finish_verify()
        if up is not None and (up.md5 != source.md5 or up.bytes != source.size):
            raise CorruptedTransfer(
                f"server stored {up.bytes} bytes with md5 {up.md5}, expected {source.size} bytes "
                f"with md5 {source.md5}",
                path=path,
            )

    # ------------------------------------------------------------------ deleting, dirs
    def delete(self, path: str) -> None:
        entry = self.stat(path)
        if entry.is_dir:
            raise IsDirError(path=path)
        full = self._full(path)
        try:
            # A retry after a lost reply finds the file gone (404): the first try did it.
            self.http.request(
                "POST", self._url(full), params={"rm" if self.opts.hard_delete else "dl": "true"}, path=path,
                op="deleting", gone_after_retry_ok=True,
            )
        except HttpNotFound:
            raise ObjectNotFound(path=path) from None

    def mkdir(self, path: str) -> None:
        if path:
            self._check_name(path)
        self._mkdir_full(self._full(path), path)

    def _mkdir_full(self, full: str, path: str) -> None:
        try:
            node = self._node(full, params={"mkDir": "true"}, method="POST", op="creating directory")
        except HttpNotFound:
            raise DirNotFound(f"cannot create directory (device or mountpoint {self.device}/{self.mountpoint} missing?)", path=path or "/") from None
        except (NoRetryError, NameNotSupported) as exc:
            if status_of(exc) in (400, 409, 500):
                try:
                    existing = self.stat(path)
                except ObjectNotFound:
                    raise exc from None
                if not existing.is_dir:
                    raise IsFileError(path=path) from None
            raise
        if isinstance(node, _api.JottaFile):
            raise IsFileError(path=path)

    def _raw_children(self, path: str) -> builtins.list[Entry]:
        return builtins.list(JottaBackend.list(self, path))

    def rmdir(self, path: str) -> None:
        children = self._raw_children(path)
        full = self._full(path)
        if not full:
            raise NoRetryError("can't remove the root of a mountpoint", path="/")
        if children:
            raise DirectoryNotEmpty(path=path)
        self._remove_dir(full, path)

    def _remove_dir(self, full: str, path: str) -> None:
        try:
            self.http.request(
                "POST", self._url(full), params={"rmDir" if self.opts.hard_delete else "dlDir": "true"}, path=path,
                op="removing directory", gone_after_retry_ok=True,
            )
        except HttpNotFound:
            raise DirNotFound(path=path) from None

    def purge(self, path: str) -> None:
        full = self._full(path)
        if not full:
            raise NoRetryError("can't purge the root of a mountpoint", path="/")
        try:
            entry = self.stat(path)
        except ObjectNotFound:
            raise DirNotFound(path=self._full(path) or "/") from None
        if not entry.is_dir:
            raise IsFileError(path=path)
        self._remove_dir(full, path)

    # ------------------------------------------------------------------ server-side
    def _same(self, src: Backend, what: type[CloudsyncError]) -> JottaBackend:
        if not isinstance(src, JottaBackend) or not self.same_remote(src):
            raise what("server-side operations need both sides on the same JottaCloud remote")
        return src

    def _mkparent(self, path: str) -> None:
        parent = parent_of(path)
        if parent or self.root:
            self.mkdir(parent)

    def copy(self, src: Backend, src_path: str, dst_path: str) -> Entry:
        jsrc = self._same(src, CantCopy)
        self._check_name(dst_path)
        self._mkparent(dst_path)
        src_full, dst_full = jsrc._full(src_path), self._full(dst_path)
        try:
            node = jsrc._node(src_full, params={"cp": self._abs(dst_full)}, method="POST", op="copying")
        except HttpNotFound:
            raise ObjectNotFound(path=src_path) from None
        if not isinstance(node, _api.JottaFile):
            raise IsDirError("server-side copy works on files only", path=src_path)
        if node.deleted or not node.valid:
            # Server bug (rclone #6112): copying onto a trashed path leaves the result in the
            # trash.  Re-post the content hash to restore it.
            rev = node.current or node.latest
            if rev is None or rev.size is None:
                raise ProtocolError("server-side copy answered without revision data", path=dst_path)
            return self._cphash(dst_path, rev.size, rev.md5, rev.modified_ns or time.time_ns(), rev.created_ns)
        return self._file_entry(dst_path, node)

    def move(self, src: Backend, src_path: str, dst_path: str) -> Entry:
        jsrc = self._same(src, CantMove)
        self._check_name(dst_path)
        self._mkparent(dst_path)
        src_full, dst_full = jsrc._full(src_path), self._full(dst_path)
        try:
            node = jsrc._node(src_full, params={"mv": self._abs(dst_full)}, method="POST", op="moving")
        except HttpNotFound:
            # rclone #4295: the move may have happened although the answer says 404.
            try:
                moved = self.stat(dst_path)
                jsrc.stat(src_path)
            except ObjectNotFound:
                if "moved" in locals() and not moved.is_dir:
                    return moved
                raise ObjectNotFound(path=src_path) from None
            raise ObjectNotFound(path=src_path) from None
        if not isinstance(node, _api.JottaFile):
            raise IsDirError("server-side move works on files only", path=src_path)
        if not node.valid:
            return self.stat(dst_path)
        return self._file_entry(dst_path, node)

    def dir_move(self, src: Backend, src_path: str, dst_path: str) -> None:
        jsrc = self._same(src, CantDirMove)
        src_full, dst_full = jsrc._full(src_path), self._full(dst_path)
        if not src_full:
            raise CantDirMove("can't move the root of a mountpoint")
        if dst_path:
            self._check_name(dst_path)
        try:
            self.stat(dst_path)
        except ObjectNotFound:
            pass
        else:
            raise DirExists(path=dst_path or "/")
        if parent_of(dst_full):
            # The parent may lie above our root (dst_path ""): create it by full path.
            self._mkdir_full(parent_of(dst_full), parent_of(dst_path))
        try:
            self.http.request(
                "POST", jsrc._url(src_full) + "/", params={"mvDir": self._abs(dst_full)}, path=src_path,
                op="moving directory",
            )
        except HttpNotFound:
            raise DirNotFound(path=src_path or "/") from None

    def _cphash(self, path: str, size: int, md5: str, mtime_ns: int, created_ns: int | None) -> Entry:
        headers = {
            "JSize": str(size),
            "JMd5": md5,
            "JCreated": _api.format_jfs_time(created_ns if created_ns is not None else mtime_ns),
            "JModified": _api.format_jfs_time(mtime_ns),
        }
        full = self._full(path)
        try:
            resp = self.http.request("POST", self._url(full), params={"cphash": "true"}, headers=headers, path=path)
        except HttpNotFound:
            raise ObjectNotFound(path=path) from None
        node = _api.parse_node(resp.content, "cphash answer")
        if not isinstance(node, _api.JottaFile) or not node.valid:
            return self.stat(path)
        return self._file_entry(path, node)

    def set_modtime(self, path: str, mtime_ns: int) -> Entry:
        full = self._full(path)
        try:
            node = self._node(full)
        except HttpNotFound:
            raise ObjectNotFound(path=path) from None
        if isinstance(node, _api.JottaFolder):
            raise IsDirError(path=path)
        if not isinstance(node, _api.JottaFile) or not node.valid or node.current is None:
            raise ObjectNotFound(path=path)
        rev = node.current
        if rev.size is None:
            raise ProtocolError("file has no size", path=path)
        return self._cphash(path, rev.size, rev.md5, mtime_ns, rev.created_ns)

    # ------------------------------------------------------------------ account
    def _user(self) -> _api.JottaUser:
        node = self.http.get_node(self.endpoints.jfs_url + _q(self.username), path="/")
        if not isinstance(node, _api.JottaUser):
            raise ProtocolError("account document expected")
        return node

    def about(self) -> Usage:
        user = self._user()
        total = free = None
        if user.capacity is not None and user.capacity > 0:
            total = user.capacity
            free = max(0, user.capacity - (user.usage or 0))
        trashed = self._trash_size()
        if trashed is None:
            # The device document may not list Trash (reference §3.1): add up the trash view.
            with contextlib.suppress(HttpNotFound, ProtocolError):
                trashed = self.trashed_total()
        return Usage(total=total, used=user.usage, free=free, trashed=trashed)

    def about_details(self) -> dict[str, Any]:
        """Everything ``about`` knows, including whether the account is unlimited."""
        user = self._user()
        usage = self.about()
        return {
            "account_type": user.account_type,
            "unlimited": user.unlimited,
            "total": usage.total,
            "used": usage.used,
            "free": usage.free,
            "trashed": usage.trashed,
            "write_locked": user.write_locked or user.quota_write_locked,
        }

    def _trash_size(self) -> int | None:
        try:
            node = self.http.get_node(
                self.endpoints.jfs_url + _q(self.username) + "/" + _q(DEFAULT_DEVICE), path="/"
            )
        except (HttpNotFound, ProtocolError):
            return None
        if isinstance(node, _api.JottaDevice):
            for mp in node.mountpoints:
                if mp.name.casefold() == "trash":
                    return mp.size
        return None

    def cleanup(self) -> None:
        data = self.http.get_json(
            "POST", self.endpoints.api_url + "files/v1/purge_trash", retry=False, what="purge_trash response"
        )
        result = _api.PurgeTrashResponse.from_json(data)
        self.last_cleanup = result
        log.info("emptied the trash: %d files, %d folders", result.files, result.folders)

    def public_link(self, path: str, expire: float | None = None, unlink: bool = False) -> str:
        if expire is not None:
            raise Unsupported("JottaCloud public links cannot expire")
        full = self._full(path)
        try:
            node = self._node(full, params={"mode": "disableShare" if unlink else "enableShare"})
        except HttpNotFound:
            raise ObjectNotFound(path=path or "/") from None
        uri = getattr(node, "public_uri", None)
        if unlink:
            if uri:
                raise ProtocolError("the server did not remove the public link", path=path)
            return ""
        if not uri:
            raise ProtocolError("the server returned no public link", path=path)
        share_path = getattr(node, "public_share_path", None)
        if share_path:
            log.info("web link: %s%s", self.endpoints.www_url.rstrip("/"), share_path)
        return f"{self.endpoints.www_url}opin/io/downloadPublic/{_q(self.username)}/{uri}"

    # ------------------------------------------------------------------ devices (config time)
    def list_devices(self) -> builtins.list[_api.DeviceSummary]:
        return builtins.list(self._user().devices)

    def device_info(self, device: str) -> _api.JottaDevice:
        node = self.http.get_node(self.endpoints.jfs_url + _q(self.username) + "/" + _q(device), path=device)
        if not isinstance(node, _api.JottaDevice):
            raise ProtocolError("device document expected")
        return node

    def create_device(self, device: str) -> None:
        self.http.request(
            "POST", self.endpoints.jfs_url + _q(self.username) + "/" + _q(device),
            params={"type": "WORKSTATION"}, retry=False, path=device,
        )

    def create_mountpoint(self, device: str, mountpoint: str) -> None:
        self.http.request(
            "POST", self.endpoints.jfs_url + _q(self.username) + "/" + _q(device) + "/" + _q(mountpoint),
            retry=False, path=f"{device}/{mountpoint}",
        )


# ---------------------------------------------------------------------- helpers


def _q(text: str) -> str:
    # Go's path escaping plus '+' → %2B (JottaCloud decodes '+' as space otherwise) and ';'
    # escaped too (Jetty treats an unescaped ';' as a path parameter, rclone #2750).
    return quote(text, safe="/$&,:=@")


class _Incomplete(Exception):
    pass


class _ResponseReader(io.RawIOBase):
    """A streaming download body: skips ``skip`` bytes (server ignored Range), stops at ``limit``.

    A body cut short (reset, truncated) is a low-level retry owned here: ``reopen(pos)`` asks
    for the rest with a ranged request, up to ``tries`` tries, with the pacer's backoff.  A
    body that ends early without an error (a server closing a short body cleanly) is caught
    by the length check too when the size is known.
    """

    def __init__(self, resp: requests.Response, skip: int, limit: int | None, *,
                 reopen: Callable[[int], requests.Response | None] | None = None, start: int = 0,
                 tries: int = 1, pacer: Any = None, path: str = "") -> None:
        self._resp = resp
        self._raw = resp.raw
        self._raw.decode_content = True
        self._skip = skip
        self._left = limit
        self._reopen = reopen
        self._pos = start
        self._tries = max(1, tries)
        self._failures = 0
        self._pacer = pacer
        self._path = path

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        while True:
            try:
                return self._readinto(buf)
            except TransientError as exc:
                self._failures += 1
                if self._reopen is None or self._failures >= self._tries:
                    exc.low_level_retried = self._reopen is not None
                    raise
                pause = self._pacer.failure() if self._pacer is not None else 0.0
                log.debug("%s: %s; re-opening at byte %d in %.2fs", self._path, exc, self._pos, pause)
                time.sleep(pause)
                self._resp.close()
                resp = self._reopen(self._pos)
                if resp is None:  # nothing left past pos after all
                    self._left = 0
                    return 0
                self._resp = resp
                self._raw = resp.raw
                self._raw.decode_content = True
                self._skip = self._pos if resp.status_code == 200 else 0

    def _readinto(self, buf: Any) -> int:
        try:
            while self._skip:
                chunk = self._raw.read(min(self._skip, CHUNK))
                if not chunk:
                    return 0
                self._skip -= len(chunk)
            want = len(buf)
            if self._left is not None:
                want = min(want, self._left)
            if want <= 0:
                return 0
            data = self._raw.read(want)
        except Exception as exc:
            cause = network_cause(exc, self._resp.url or "")
            if cause is not None:
                raise TransientError(f"{cause} while downloading {self._path}", path=self._path) from None
            raise
        n = len(data)
        if n == 0 and self._left:
            raise TransientError(f"download of {self._path} ended {self._left} bytes early", path=self._path)
        buf[:n] = data
        self._pos += n
        if self._left is not None:
            self._left -= n
        return n

    def close(self) -> None:
        if not self.closed:
            self._resp.close()
        super().close()


class _Body:
    """File-like upload body with a length, so requests sends Content-Length and streams it.

    Errors from the source (or a source that ends early) are kept in ``error`` and re-raised
    by the caller instead of whatever the HTTP stack turns them into.
    """

    def __init__(self, read: Any, length: int) -> None:
        self._read = read
        self._left = length
        self.error: BaseException | None = None

    def __len__(self) -> int:
        return self._left

    def read(self, n: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        want = self._left if n is None or n < 0 else min(n, self._left)
        try:
            data = self._read(min(want, CHUNK))
        except BaseException as exc:
            self.error = exc
            raise
        if not data:
            self.error = CorruptedTransfer(f"source ended {self._left} bytes early")
            raise self.error
        self._left -= len(data)
        return bytes(data)


class _Source:
    """Bytes to upload with their md5 known up front."""

    size: int
    md5: str
    rewindable: bool = False

    def body(self, pos: int) -> _Body:
        raise NotImplementedError

    def rewind(self) -> None:
        raise TransientError("upload interrupted and the source cannot be re-read")

    def finish_verify(self) -> None:
        """After a completed upload: check the bytes sent match the md5 we announced."""

    def close(self) -> None:
        pass


class _StreamSource(_Source):
    """A one-pass stream whose md5 the caller already knows; verified while it is sent."""

    def __init__(self, stream: Readable, size: int, md5: str, path: str) -> None:
        self.stream = stream
        self.size = size
        self.md5 = md5
        self.path = path
        self._hash = MultiHasher([MD5])
        self._used = False

    def body(self, pos: int) -> _Body:
        if self._used:
            raise TransientError("upload interrupted and the source cannot be re-read", path=self.path)
        self._used = True
        skipped = 0
        while skipped < pos:  # the server already has these bytes: hash them, don't send them
            data = self.stream.read(min(CHUNK, pos - skipped))
            if not data:
                raise CorruptedTransfer(f"source ended after {skipped} of {self.size} bytes", path=self.path)
            self._hash.update(data)
            skipped += len(data)

        def read(n: int) -> bytes:
            data = self.stream.read(n)
            if data:
                self._hash.update(data)
            return data

        return _Body(read, self.size - pos)

    def finish_verify(self) -> None:
        got = self._hash.hexdigests()[MD5]
        if self._hash.size == self.size and got != self.md5:
            raise CorruptedTransfer(
                f"source md5 {got} differs from the announced {self.md5}", path=self.path
            )


class _SeekableSource(_Source):
    """A seekable stream (a local file): hashed in a first pass, then sent from its start."""

    rewindable = True

    def __init__(self, stream: Any, start: int, size: int, md5: str, path: str) -> None:
        self.stream = stream
        self.start = start
        self.size = size
        self.md5 = md5
        self.path = path

    @classmethod
    def hash_first(cls, stream: Any, expected: int, path: str) -> _SeekableSource:
        start = stream.tell()
        h = MultiHasher([MD5])
        while True:
            data = stream.read(CHUNK)
            if not data:
                break
            h.update(data)
        _check_size(h.size, expected, path)
        stream.seek(start)
        return cls(stream, start, h.size, h.hexdigests()[MD5], path)

    def body(self, pos: int) -> _Body:
        self.stream.seek(self.start + pos)
        return _Body(self.stream.read, self.size - pos)

    def rewind(self) -> None:
        self.stream.seek(self.start)


class _SpooledSource(_Source):
    """A stream without a known md5, copied to memory (small) or a temp file while hashing."""

    rewindable = True

    def __init__(self, buf: BinaryIO, size: int, md5: str) -> None:
        self.buf = buf
        self.size = size
        self.md5 = md5

    @classmethod
    def spool(cls, stream: Readable, expected: int, memory_limit: int, path: str) -> _SpooledSource:
        h = MultiHasher([MD5])
        buf: BinaryIO = io.BytesIO()
        in_memory = True
        try:
            while True:
                data = stream.read(CHUNK)
                if not data:
                    break
                h.update(data)
                if in_memory and h.size > memory_limit:
                    import tempfile  # (here: rarely needed, and it costs every start)

                    spill = tempfile.TemporaryFile(prefix="cloudsync-jcmd5-")  # noqa: SIM115 - owned by the source
                    spill.write(buf.getvalue())  # type: ignore[attr-defined]
                    buf = spill
                    in_memory = False
                buf.write(data)
            _check_size(h.size, expected, path)
        except BaseException:
            buf.close()
            raise
        buf.seek(0)
        return cls(buf, h.size, h.hexdigests()[MD5])

    def body(self, pos: int) -> _Body:
        self.buf.seek(pos)
        return _Body(self.buf.read, self.size - pos)

    def rewind(self) -> None:
        self.buf.seek(0)

    def close(self) -> None:
        self.buf.close()


def _check_size(got: int, expected: int, path: str) -> None:
    if expected >= 0 and got != expected:
        raise CorruptedTransfer(
            f"source delivered {got} bytes but announced {expected}; not uploading", path=path
        )
