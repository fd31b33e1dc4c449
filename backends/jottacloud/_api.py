"""JottaCloud wire types: JFS XML documents and JSON payloads, parsed into frozen dataclasses.

Nothing here talks to the network.  XML goes through one hardened lxml parser (no entity
resolution, no DTD loading, no network, huge-tree protection on), so a hostile or broken
answer can neither read local files nor blow up memory.  A body that is not the XML we expect
(an HTML captive portal, a truncated document) becomes a :class:`~cloudsync.errors.ProtocolError`
with one clear line; the offending text is never echoed back in full.

Times: JFS XML uses ``YYYY-MM-DD-Thh:mm:ssZ`` (RFC 3339 with an extra ``-`` before ``T``);
liststream and the JSON API use plain RFC 3339.  Everything is converted to integer
nanoseconds since the epoch, as :class:`cloudsync.types.Entry` wants.
"""

from __future__ import annotations

import builtins
import datetime as _dt
import json
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cloudsync.errors import ConfigError, ProtocolError

if TYPE_CHECKING:
    from lxml import etree

    from ._api_account import (
        CustomerInfo,
        DeviceSummary,
        JottaDevice,
        JottaUser,
        LoginToken,
        MountPointSummary,
        PurgeTrashResponse,
        WellKnown,
        decode_login_token,
    )
    from ._api_account import (
        LegacyClient as LegacyClient,  # (for _api.LegacyClient in _auth)
    )

__all__ = [
    "AllocateRequest",
    "AllocateResponse",
    "ApiError",
    "CustomerInfo",
    "DeviceSummary",
    "JottaDevice",
    "JottaFile",
    "JottaFolder",
    "JottaUser",
    "JsonApiError",
    "ListStreamFile",
    "ListStreamParser",
    "LoginToken",
    "MountPointSummary",
    "OAuthError",
    "PurgeTrashResponse",
    "Revision",
    "StoredToken",
    "TokenResponse",
    "UploadResponse",
    "WellKnown",
    "decode_login_token",
    "format_jfs_time",
    "format_rfc3339_seconds",
    "parse_document",
    "parse_jfs_time",
    "parse_json",
    "parse_rfc3339",
]

STATE_COMPLETED = "COMPLETED"

# --------------------------------------------------------------------------- times

_JFS_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})-?T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$"
)


def _to_ns(m: re.Match[str]) -> int:
    year, month, day, hour, minute, sec = (int(m.group(i)) for i in range(1, 7))
    frac = (m.group(7) or "")[:9].ljust(9, "0")
    tz = m.group(8) or "Z"
    if tz == "Z":
        offset = 0
    else:
        sign = -1 if tz[0] == "-" else 1
        digits = tz[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    when = _dt.datetime(year, month, day, hour, minute, sec, tzinfo=_dt.UTC)
    secs = int(when.timestamp()) - offset
    return secs * 1_000_000_000 + int(frac)


#: Seconds since the epoch of a UTC day (``2020-09-13`` → …), for :func:`_fast_utc`.
_DAYS: dict[str, int] = {}
_EPOCH_DAY = _dt.date(1970, 1, 1).toordinal()


def _fast_utc(text: str) -> int | None:
    """``2020-09-13T12:26:40Z`` / ``…40.000Z`` (every listing entry's form) → ns, else None.

    The regex and a datetime per field were most of the time to parse a big listing; a
    listing's files share few days, so the day is looked up once and the clock read off.
    """
    n = len(text)
    if not ((n == 20 or (n == 24 and text[19] == ".")) and text[10] == "T" and text[-1] == "Z"
            and text[13] == ":" and text[16] == ":"):
        return None
    day = text[:10]
    base = _DAYS.get(day)
    if base is None:
        if day[4] != "-" or day[7] != "-" or not (day[:4] + day[5:7] + day[8:]).isdigit():
            return None
        try:
            base = (_dt.date.fromisoformat(day).toordinal() - _EPOCH_DAY) * 86400
        except ValueError:
            return None
        if len(_DAYS) > 10_000:
            _DAYS.clear()
        _DAYS[day] = base
    clock = text[11:13] + text[14:16] + text[17:19] + text[20:23]
    if not (clock.isdigit() and clock.isascii()):
        return None
    hh, mm, ss = int(text[11:13]), int(text[14:16]), int(text[17:19])
    if hh > 23 or mm > 59 or ss > 59:
        return None
    secs = base + hh * 3600 + mm * 60 + ss
    return secs * 1_000_000_000 + int(text[20:23] or 0) * 1_000_000


def parse_jfs_time(text: str | None) -> int | None:
    """``2018-07-05-T15:08:02Z`` (or ``+0100``) → ns; empty/None → None (JFS "no value")."""
    if text is None or not text.strip():
        return None
    fast = _fast_utc(text)
    if fast is not None:
        return fast
    m = _JFS_TIME.match(text.strip())
    if m is None:
        raise ProtocolError(f"unparseable JottaCloud time {text.strip()[:40]!r}")
    return _to_ns(m)


def parse_rfc3339(text: str | None) -> int | None:
    """RFC 3339 (liststream / JSON API) → ns; also tolerates the JFS form."""
    return parse_jfs_time(text)


def format_jfs_time(ns: int) -> str:
    """ns → ``2024-03-04-T08:09:10Z`` (second precision, as the JCreated/JModified headers want)."""
    when = _dt.datetime.fromtimestamp(ns // 1_000_000_000, tz=_dt.UTC)
    return when.strftime("%Y-%m-%d-T%H:%M:%SZ")


def format_rfc3339_seconds(ns: int) -> str:
    """ns → ``2024-03-04T08:09:10Z`` (allocate's ``created``/``modified``)."""
    when = _dt.datetime.fromtimestamp(ns // 1_000_000_000, tz=_dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- XML plumbing

_parsers = threading.local()


def _parser() -> etree.XMLParser:
    # lxml parsers must not be shared between threads; the engine calls us from many.
    parser: etree.XMLParser | None = getattr(_parsers, "parser", None)
    if parser is None:
        from lxml import etree

        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            huge_tree=False,
            load_dtd=False,
            dtd_validation=False,
            remove_comments=True,
            remove_pis=True,
        )
        _parsers.parser = parser
    return parser


_HTML_START = re.compile(rb"^\s*(<!doctype\s+html|<html|<head|<body)", re.IGNORECASE)


def looks_like_html(data: bytes) -> bool:
    return bool(_HTML_START.match(data[:512]))


def parse_document(data: bytes, what: str = "response") -> etree._Element:
    """Parse one XML document with the hardened parser; ProtocolError when it is not XML."""
    from lxml import etree

    if looks_like_html(data):
        raise ProtocolError(
            f"JottaCloud {what} was an HTML page instead of XML "
            "(a captive portal, proxy or login page is intercepting the connection?)"
        )
    if not data.strip():
        raise ProtocolError(f"JottaCloud {what} was empty where an XML document was expected")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise ProtocolError(f"JottaCloud {what} is not well-formed XML: {_xml_error(exc)}") from None
    if root is None:  # pragma: no cover - lxml returns None only with recover=True
        raise ProtocolError(f"JottaCloud {what} is not an XML document")
    return root


def _child(el: etree._Element, name: str) -> etree._Element | None:
    return el.find(name)


def _text(el: etree._Element, name: str) -> str | None:
    child = el.find(name)
    if child is None:
        return None
    return child.text or ""


def _int(el: etree._Element, name: str) -> int | None:
    return _int_of(_text(el, name), name)


def _int_of(text: str | None, name: str) -> int | None:
    if text is None or not text.strip():
        return None
    try:
        return int(text.strip())
    except ValueError:
        raise ProtocolError(f"<{name}> is not a number: {text.strip()[:30]!r}") from None


def _bool(el: etree._Element, name: str) -> bool:
    return (_text(el, name) or "").strip().lower() == "true"


# --------------------------------------------------------------------------- XML types


@dataclass(frozen=True, slots=True)
class ApiError:
    """A JFS ``<error>`` document (``code`` = HTTP status, ``message`` = Java exception text)."""

    code: int | None
    message: str
    reason: str
    cause: str
    x_id: str

    @classmethod
    def from_xml(cls, el: etree._Element) -> ApiError:
        return cls(
            code=_int(el, "code"),
            message=(_text(el, "message") or "").strip(),
            reason=(_text(el, "reason") or "").strip(),
            cause=(_text(el, "cause") or "").strip(),
            x_id=(_text(el, "x-id") or "").strip(),
        )

    @property
    def exception(self) -> str:
        """The Java exception's simple class name (``NoSuchFileException``), or ``""``."""
        head = self.message.split(":", 1)[0].strip()
        return head.rsplit(".", 1)[-1] if "." in head or head.endswith("Exception") else ""


@dataclass(frozen=True, slots=True)
class Revision:
    number: int | None
    state: str
    created_ns: int | None
    modified_ns: int | None
    updated_ns: int | None
    mime: str | None
    size: int | None
    md5: str

    @classmethod
    def from_xml(cls, el: etree._Element) -> Revision:
        return cls(
            number=_int(el, "number"),
            state=(_text(el, "state") or "").strip(),
            created_ns=parse_jfs_time(_text(el, "created")),
            modified_ns=parse_jfs_time(_text(el, "modified")),
            updated_ns=parse_jfs_time(_text(el, "updated")),
            mime=(_text(el, "mime") or "").strip() or None,
            size=_int(el, "size"),
            md5=(_text(el, "md5") or "").strip().lower(),
        )


@dataclass(frozen=True, slots=True)
class JottaFile:
    name: str
    uuid: str
    deleted: bool
    current: Revision | None
    latest: Revision | None
    public_uri: str | None = None
    public_share_path: str | None = None
    path: str | None = None
    revisions: tuple[Revision, ...] = ()
    #: When the file went to the trash (``deleted`` attribute), and its original parent path.
    deleted_ns: int | None = None
    abspath: str | None = None

    @classmethod
    def from_xml(cls, el: etree._Element) -> JottaFile:
        cur = _child(el, "currentRevision")
        lat = _child(el, "latestRevision")
        revs = _child(el, "revisions")
        return cls(
            name=el.get("name", ""),
            uuid=el.get("uuid", ""),
            deleted=el.get("deleted") is not None,
            current=Revision.from_xml(cur) if cur is not None else None,
            latest=Revision.from_xml(lat) if lat is not None else None,
            public_uri=(_text(el, "publicURI") or "").strip() or None,
            public_share_path=(_text(el, "publicSharePath") or "").strip() or None,
            path=_text(el, "path"),
            revisions=tuple(Revision.from_xml(r) for r in revs.findall("revision"))
            if revs is not None
            else (),
            deleted_ns=parse_jfs_time(el.get("deleted")),
            abspath=_text(el, "abspath"),
        )

    @property
    def valid(self) -> bool:
        """A live file with a completed current revision (what rclone calls ``validFile``)."""
        return not self.deleted and self.current is not None and self.current.state == STATE_COMPLETED


@dataclass(frozen=True, slots=True)
class JottaFolder:
    """A ``<folder>`` or ``<mountPoint>`` document, or a sub-folder stub inside a listing."""

    name: str
    kind: str  # "folder" or "mountPoint"
    deleted: bool
    folders: tuple[JottaFolder, ...] = ()
    files: tuple[JottaFile, ...] = ()
    path: str | None = None
    modified_ns: int | None = None
    public_uri: str | None = None
    public_share_path: str | None = None
    deleted_ns: int | None = None
    abspath: str | None = None

    @classmethod
    def from_xml(cls, el: etree._Element) -> JottaFolder:
        kind = str(el.tag)
        name = (_text(el, "name") or "").strip() if kind == "mountPoint" else el.get("name", "")
        folders_el = _child(el, "folders")
        files_el = _child(el, "files")
        deleted = el.get("deleted") is not None or _child(el, "deleted") is not None
        return cls(
            name=name,
            kind=kind,
            deleted=deleted,
            folders=tuple(cls.from_xml(f) for f in folders_el.findall("folder"))
            if folders_el is not None
            else (),
            files=tuple(JottaFile.from_xml(f) for f in files_el.findall("file"))
            if files_el is not None
            else (),
            path=_text(el, "path"),
            modified_ns=parse_jfs_time(_text(el, "modified")),
            public_uri=(_text(el, "publicURI") or "").strip() or None,
            public_share_path=(_text(el, "publicSharePath") or "").strip() or None,
            deleted_ns=parse_jfs_time(el.get("deleted")),
            abspath=_text(el, "abspath"),
        )


#: root element → the class that reads it (by name: the account types are defined on demand)
_KINDS: dict[str, str] = {
    "user": "JottaUser",
    "device": "JottaDevice",
    "mountPoint": "JottaFolder",
    "folder": "JottaFolder",
    "file": "JottaFile",
    "error": "ApiError",
}

#: names defined in :mod:`._api_account` (imported on first use, see ``__getattr__``)
_ACCOUNT_NAMES = frozenset({
    "CustomerInfo", "DeviceSummary", "JottaDevice", "JottaUser", "LegacyClient", "LoginToken",
    "MountPointSummary", "PurgeTrashResponse", "WellKnown", "decode_login_token",
})


def __getattr__(name: str) -> Any:
    if name in _ACCOUNT_NAMES:
        from . import _api_account

        value = getattr(_api_account, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _xml_error(exc: Exception) -> str:
    """lxml's message without its "(<string>, line N)" suffix (we parse bytes, not a file)."""
    text = str(exc)
    cut = text.rfind(" (<string>")
    return text[:cut] if cut > 0 else text


def parse_node(
    data: bytes, what: str = "response"
) -> JottaUser | JottaDevice | JottaFolder | JottaFile | ApiError:
    """Parse a JFS document and dispatch on its root element."""
    root = parse_document(data, what)
    kind_name = _KINDS.get(str(root.tag))
    if kind_name is None:
        raise ProtocolError(f"JottaCloud {what} has unexpected root element <{str(root.tag)[:40]}>")
    kind = globals().get(kind_name) or __getattr__(kind_name)
    result: JottaUser | JottaDevice | JottaFolder | JottaFile | ApiError = kind.from_xml(root)
    return result


# --------------------------------------------------------------------------- liststream


@dataclass(frozen=True, slots=True)
class ListStreamFile:
    """One ``<file>`` of ``mode=liststream``; ``parent`` starts at ``/<Mountpoint>``."""

    parent: str
    name: str
    md5: str
    size: int
    modified_ns: int | None
    created: str | None  # parsed only when asked for (created_ns): a sync never needs it

    @property
    def created_ns(self) -> int | None:
        return parse_rfc3339(self.created)


@dataclass
class ListStreamParser:
    """Incremental parser for ``mode=liststream``: feed bytes, collect folders and files.

    The stream is flat XML (``<folder><path>…</path></folder>``, ``<file>…</file>`` and a
    final ``<stats>``).  Like rclone we count every folder (explicit ones plus file parents not
    seen before) and every file, and refuse the whole listing when the totals disagree with
    ``<stats>`` – a truncated stream must never look like a shorter tree.
    """

    folders_seen: set[str] = field(default_factory=set)
    files_seen: int = 0
    stats: tuple[int, int] | None = None
    _parser: Any = None

    def __post_init__(self) -> None:
        from lxml import etree

        self._parser = etree.XMLPullParser(
            events=("end",),
            resolve_entities=False,
            no_network=True,
            huge_tree=False,
            load_dtd=False,
        )
        self._started = False

    def feed(self, data: bytes) -> Iterator[tuple[str, str] | ListStreamFile]:
        """Feed a chunk; yield ``("folder", path)`` tuples and :class:`ListStreamFile` items."""
        from lxml import etree

        if not self._started and data.strip():
            self._started = True
            if looks_like_html(data):
                raise ProtocolError(
                    "JottaCloud listing was an HTML page instead of XML "
                    "(a captive portal, proxy or login page is intercepting the connection?)"
                )
        try:
            self._parser.feed(data)
            events = list(self._parser.read_events())
        except etree.XMLSyntaxError as exc:
            raise ProtocolError(f"JottaCloud listing is not well-formed XML: {_xml_error(exc)}") from None
        for _event, el in events:
            tag = el.tag
            parent = el.getparent()
            # Only top-level children of the root are items; <path> etc. are their fields.
            if parent is None or parent.getparent() is not None:
                continue
            if tag == "folder":
                path = (_text(el, "path") or "").strip()
                if path not in self.folders_seen:
                    self.folders_seen.add(path)
                    yield ("folder", path)
            elif tag == "file":
                # One pass over the fields (a find() per field was most of the parsing time;
                # a listing of a big tree is a million of these).  The first of a repeated
                # field counts, as with find().
                fields: dict[Any, str] = {}
                for child in el:
                    fields.setdefault(child.tag, child.text or "")
                parent_path = (fields.get("path") or "").strip()
                if parent_path not in self.folders_seen:
                    self.folders_seen.add(parent_path)
                    yield ("folder", parent_path)
                self.files_seen += 1
                yield ListStreamFile(
                    parent=parent_path,
                    name=fields.get("filename") or "",
                    md5=(fields.get("md5") or "").strip().lower(),
                    size=_int_of(fields.get("size"), "size") or 0,
                    modified_ns=parse_rfc3339(fields.get("modified")),
                    created=fields.get("created"),
                )
            elif tag == "stats":
                self.stats = (_int(el, "folders") or 0, _int(el, "files") or 0)
            # Free memory as we go: a million-file listing must not build a million-node tree.
            el.clear()
            while el.getprevious() is not None:
                prev = el.getprevious()
                if prev is None:
                    break
                del parent[0]

    def close(self) -> None:
        """End of stream: verify the document is complete and the counts match ``<stats>``."""
        from lxml import etree

        if not self._started:
            raise ProtocolError("JottaCloud listing was empty where an XML document was expected")
        try:
            self._parser.close()
        except etree.XMLSyntaxError as exc:
            raise ProtocolError(
                f"JottaCloud listing was cut short (not well-formed XML: {_xml_error(exc)})"
            ) from None
        if self.stats is None:
            raise ProtocolError("JottaCloud listing ended without its <stats> summary")
        folders, files = self.stats
        if folders != len(self.folders_seen) or files != self.files_seen:
            raise ProtocolError(
                f"invalid result from liststream: server said {folders} folders/{files} files, "
                f"got {len(self.folders_seen)}/{self.files_seen}"
            )


# --------------------------------------------------------------------------- JSON plumbing


def parse_json(data: bytes, what: str = "response") -> dict[str, Any]:
    if looks_like_html(data):
        raise ProtocolError(
            f"JottaCloud {what} was an HTML page instead of JSON "
            "(a captive portal, proxy or login page is intercepting the connection?)"
        )
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError(f"JottaCloud {what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise ProtocolError(f"JottaCloud {what} is not a JSON object")
    return value


def _s(d: Mapping[str, Any], key: str, what: str, required: bool = True) -> str:
    value = d.get(key)
    if value is None:
        if required:
            raise ProtocolError(f"JottaCloud {what} lacks field {key!r}")
        return ""
    if not isinstance(value, str):
        raise ProtocolError(f"JottaCloud {what} field {key!r} is not a string")
    return value


def _i(d: Mapping[str, Any], key: str, what: str, default: int | None = None) -> int:
    value = d.get(key, default)
    if value is None:
        raise ProtocolError(f"JottaCloud {what} lacks field {key!r}")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError(f"JottaCloud {what} field {key!r} is not an integer")
    return value


# --------------------------------------------------------------------------- JSON types


@dataclass(frozen=True, slots=True)
class TokenResponse:
    """A token endpoint's success answer (OIDC or legacy)."""

    access_token: str
    token_type: str
    refresh_token: str
    expires_in: int | None

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> TokenResponse:
        what = "token response"
        expires = d.get("expires_in")
        if isinstance(expires, str) and expires.isdigit():
            expires = int(expires)
        return cls(
            access_token=_s(d, "access_token", what),
            token_type=_s(d, "token_type", what, required=False) or "Bearer",
            refresh_token=_s(d, "refresh_token", what, required=False),
            expires_in=expires if isinstance(expires, int) and not isinstance(expires, bool) else None,
        )

    def __repr__(self) -> str:
        return f"TokenResponse(token_type={self.token_type!r}, expires_in={self.expires_in}, <redacted>)"


@dataclass(frozen=True, slots=True)
class StoredToken:
    """What we keep in the config (Go ``oauth2.Token`` JSON, so rclone configs read the same)."""

    access_token: str
    token_type: str
    refresh_token: str
    expiry: _dt.datetime | None

    @classmethod
    def from_response(cls, resp: TokenResponse, now: _dt.datetime | None = None) -> StoredToken:
        now = now or _dt.datetime.now(_dt.UTC)
        expiry = now + _dt.timedelta(seconds=resp.expires_in) if resp.expires_in else None
        return cls(resp.access_token, resp.token_type, resp.refresh_token, expiry)

    def with_refresh_fallback(self, previous_refresh: str) -> StoredToken:
        # Some servers omit refresh_token on refresh when it did not rotate: keep the old one.
        if self.refresh_token:
            return self
        return StoredToken(self.access_token, self.token_type, previous_refresh, self.expiry)

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "refresh_token": self.refresh_token,
            "expiry": self.expiry.astimezone(_dt.UTC).isoformat().replace("+00:00", "Z")
            if self.expiry
            else "0001-01-01T00:00:00Z",
        }
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> StoredToken:
        try:
            d = json.loads(text)
        except ValueError:
            raise ConfigError("the stored JottaCloud token is corrupt (not JSON)") from None
        if not isinstance(d, dict) or not isinstance(d.get("access_token", ""), str):
            raise ConfigError("the stored JottaCloud token is corrupt")
        expiry: _dt.datetime | None = None
        raw = d.get("expiry")
        if isinstance(raw, str) and raw and not raw.startswith("0001-"):
            ns = parse_rfc3339(raw)
            if ns is not None:
                expiry = _dt.datetime.fromtimestamp(ns / 1e9, tz=_dt.UTC)
        return cls(
            access_token=str(d.get("access_token") or ""),
            token_type=str(d.get("token_type") or "Bearer"),
            refresh_token=str(d.get("refresh_token") or ""),
            expiry=expiry,
        )

    def valid_for(self, seconds: float, now: _dt.datetime | None = None) -> bool:
        """True when the access token will still be good ``seconds`` from now."""
        if not self.access_token:
            return False
        if self.expiry is None:
            return True
        now = now or _dt.datetime.now(_dt.UTC)
        return self.expiry - _dt.timedelta(seconds=seconds) > now

    def __repr__(self) -> str:
        return f"StoredToken(expiry={self.expiry}, <redacted>)"


@dataclass(frozen=True, slots=True)
class OAuthError:
    """``{"error": "...", "error_description": "..."}`` from a token endpoint."""

    error: str
    description: str

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> OAuthError | None:
        err = d.get("error")
        if not isinstance(err, str):
            return None
        desc = d.get("error_description")
        return cls(err, desc if isinstance(desc, str) else "")


@dataclass(frozen=True, slots=True)
class JsonApiError:
    """Error object of the JSON API (``api.jottacloud.com``)."""

    code: int | None
    message: str
    error_id: str

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> JsonApiError:
        code = d.get("code")
        message = d.get("message")
        error_id = d.get("error_id")
        return cls(
            code=code if isinstance(code, int) and not isinstance(code, bool) else None,
            message=message if isinstance(message, str) else "",
            error_id=error_id if isinstance(error_id, str) else "",
        )


@dataclass(frozen=True, slots=True)
class AllocateRequest:
    bytes: int
    created: str
    md5: str
    modified: str
    path: str

    def to_json(self) -> builtins.bytes:
        # Field order as rclone (Go) marshals it, so recorded requests look the same.
        return json.dumps(
            {"bytes": self.bytes, "created": self.created, "md5": self.md5,
             "modified": self.modified, "path": self.path},
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode("utf-8")


@dataclass(frozen=True, slots=True)
class AllocateResponse:
    name: str
    path: str
    state: str
    upload_id: str
    upload_url: str
    bytes: int
    resume_pos: int

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> AllocateResponse:
        what = "allocate response"
        state = _s(d, "state", what)
        return cls(
            name=_s(d, "name", what, required=False),
            path=_s(d, "path", what, required=False),
            state=state,
            upload_id=_s(d, "upload_id", what, required=False),
            upload_url=_s(d, "upload_url", what, required=state != STATE_COMPLETED),
            bytes=_i(d, "bytes", what, default=0),
            resume_pos=_i(d, "resume_pos", what, default=0),
        )


@dataclass(frozen=True, slots=True)
class UploadResponse:
    md5: str
    bytes: int
    path: str
    modified_ms: int | None

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> UploadResponse:
        what = "upload response"
        modified = d.get("modified")
        return cls(
            md5=_s(d, "md5", what).lower(),
            bytes=_i(d, "bytes", what),
            path=_s(d, "path", what, required=False),
            modified_ms=modified if isinstance(modified, int) else None,
        )


