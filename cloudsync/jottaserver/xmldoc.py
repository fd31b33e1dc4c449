"""JFS XML documents, shaped like the recorded payloads (element order, attributes, indentation).

Documents are built as small :class:`El` trees and serialised by hand: the service's formatting
(declaration, blank line, two-space indentation, ``<x></x>`` for empty values, ``<x/>`` for
childless elements) is part of what a faithful fake reproduces, and lxml's pretty printer
formats differently.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from xml.sax.saxutils import escape, quoteattr

from .store import Device, FileView, MountPoint, Node, Revision, Store
from .util import jfs_time, now, rfc3339_ms

__all__ = ["Docs", "El", "error_doc", "serialize"]

HOST = "dn-157"
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n\n'


@dataclass
class El:
    tag: str
    attrs: list[tuple[str, str]] = field(default_factory=list)
    text: str | None = None
    children: list[El] = field(default_factory=list)

    def add(self, child: El) -> El:
        self.children.append(child)
        return child


def t(tag: str, text: object, *, preserve: bool = False) -> El:
    """A text element; ``None`` renders as an empty ``<tag></tag>`` (JFS for "no value")."""
    attrs = [("xml:space", "preserve")] if preserve else []
    return El(tag, attrs, "" if text is None else str(text))


def serialize(root: El) -> bytes:
    out: list[str] = [DECLARATION]

    def write(e: El, depth: int) -> None:
        pad = "  " * depth
        attrs = "".join(f" {k}={quoteattr(v)}" for k, v in e.attrs)
        if e.text is not None:
            out.append(f"{pad}<{e.tag}{attrs}>{escape(e.text)}</{e.tag}>\n")
        elif not e.children:
            out.append(f"{pad}<{e.tag}{attrs}/>\n")
        else:
            out.append(f"{pad}<{e.tag}{attrs}>\n")
            for c in e.children:
                write(c, depth + 1)
            out.append(f"{pad}</{e.tag}>\n")

    write(root, 0)
    return "".join(out).encode("utf-8")


def error_doc(status: int, message: str, xid: str, reason: str | None = None) -> bytes:
    """The JFS ``<error>`` body; ``code`` always equals the HTTP status (rclone relies on it)."""
    if reason is None:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
    root = El("error")
    for child in (
        t("code", status), t("message", message), t("reason", reason), t("cause", ""),
        t("hostname", ""), t("x-id", xid),
    ):
        root.add(child)
    return serialize(root)


def _stamp(root: El) -> El:
    root.attrs += [("time", jfs_time(now())), ("host", HOST)]
    return root


class Docs:
    """Builds documents from the store for one account."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @property
    def user(self) -> str:
        return self.store.username

    # -------------------------------------------------------------- revisions and entries

    @staticmethod
    def revision(tag: str, rev: Revision, *, with_size: bool = True) -> El:
        e = El(tag)
        e.add(t("number", rev.number))
        e.add(t("state", rev.state))
        e.add(t("created", jfs_time(rev.created)))
        e.add(t("modified", jfs_time(rev.modified)))
        e.add(t("mime", rev.mime))
        if with_size:
            e.add(t("size", rev.size if rev.state != "INCOMPLETE" else rev.received))
        e.add(t("md5", rev.md5))
        e.add(t("updated", jfs_time(rev.updated)))
        return e

    def _file_body(self, e: El, view: FileView, *, direct: bool) -> None:
        node = view.node
        if node.public_uri:
            e.add(t("publicURI", node.public_uri))
            if direct and node.share_path:
                e.add(t("publicSharePath", node.share_path, preserve=True))
        if view.current is not None:
            e.add(self.revision("currentRevision", view.current))
        if view.latest is not None:
            # Listings carry no size for an unfinished newest revision (jottalib note).
            e.add(self.revision("latestRevision", view.latest, with_size=direct))
        if direct and view.older:
            revs = e.add(El("revisions"))
            for r in view.older:
                revs.add(self.revision("revision", r))

    def file_entry(self, node: Node, parent_path: str, *, trash_view: bool = False) -> El:
        e = El("file", [("name", node.name), ("uuid", node.uuid)])
        if node.deleted is not None:
            e.attrs.append(("deleted", jfs_time(node.deleted)))
            if trash_view:
                e.attrs.append(("contextType", "TRASH"))
            e.add(t("abspath", parent_path, preserve=True))
        self._file_body(e, self.store.file_view(node), direct=False)
        return e

    @staticmethod
    def folder_entry(node: Node, parent_path: str, *, trash_view: bool = False) -> El:
        e = El("folder", [("name", node.name)])
        if node.deleted is not None:
            e.attrs.append(("deleted", jfs_time(node.deleted)))
            if trash_view:
                e.attrs.append(("contextType", "TRASH"))
            e.add(t("abspath", parent_path, preserve=True))
        return e

    def _children(self, root: El, mp_id: int, parent_id: int, own_path: str) -> None:
        kids = self.store.children(mp_id, parent_id)
        folders = [k for k in kids if not k.is_file]
        files = [k for k in kids if k.is_file]
        if folders:
            fe = root.add(El("folders"))
            for k in folders:
                fe.add(self.folder_entry(k, own_path))
        if files:
            fi = root.add(El("files"))
            for k in files:
                fi.add(self.file_entry(k, own_path))
        root.add(El("metadata", [
            ("first", ""), ("max", ""), ("total", str(len(kids))),
            ("num_folders", str(len(folders))), ("num_files", str(len(files))),
        ]))

    # -------------------------------------------------------------- documents

    def device_summary(self, dev: Device) -> El:
        e = El("device")
        e.add(t("name", dev.name, preserve=True))
        e.add(t("display_name", dev.name, preserve=True))
        e.add(t("type", dev.type))
        e.add(t("sid", dev.sid))
        e.add(t("size", self.store.device_size(dev)))
        e.add(t("modified", jfs_time(dev.modified)))
        return e

    def user_doc(self) -> bytes:
        s = self.store
        cap = s.capacity
        root = _stamp(El("user"))
        for child in (
            t("username", self.user),
            t("account-type", "unlimited" if cap < 0 else "free"),
            t("locked", "false"),
            t("capacity", cap),
            t("max-devices", -1),
            t("max-mobile-devices", -1),
            t("usage", s.usage()),
            t("read-locked", "false"),
            t("write-locked", "false"),
            t("quota-write-locked", "true" if 0 <= cap <= s.usage() else "false"),
            t("enable-sync", "true"),
            t("enable-foldershare", "true"),
        ):
            root.add(child)
        devs = root.add(El("devices"))
        for dev in s.devices():
            devs.add(self.device_summary(dev))
        return serialize(root)

    def device_doc(self, dev: Device) -> bytes:
        root = _stamp(self.device_summary(dev))
        root.add(t("user", self.user))
        mps = root.add(El("mountPoints"))
        items = self.store.mountpoints(dev)
        for mp in items:
            m = mps.add(El("mountPoint"))
            m.add(t("name", mp.name, preserve=True))
            m.add(t("size", self.store.mountpoint_size(mp.id)))
            m.add(t("modified", jfs_time(mp.modified)))
        root.add(El("metadata", [
            ("first", ""), ("max", ""), ("total", str(len(items))),
            ("num_mountpoints", str(len(items))),
        ]))
        return serialize(root)

    def _mountpoint_head(self, mp: MountPoint, size: object, modified: int | None) -> El:
        root = _stamp(El("mountPoint"))
        dev_path = f"/{self.user}/{mp.device.name}"
        root.add(t("name", mp.name, preserve=True))
        root.add(t("path", dev_path, preserve=True))
        root.add(t("abspath", dev_path, preserve=True))
        root.add(t("size", size))
        root.add(t("modified", jfs_time(modified)))
        root.add(t("device", mp.device.name))
        root.add(t("user", self.user))
        return root

    def mountpoint_doc(self, mp: MountPoint) -> bytes:
        root = self._mountpoint_head(mp, self.store.mountpoint_size(mp.id), mp.modified)
        self._children(root, mp.id, 0, f"/{self.user}/{mp.device.name}/{mp.name}")
        return serialize(root)

    def folder_doc(self, node: Node) -> bytes:
        parent = self.store.parent_path(node)
        root = El("folder", [("name", node.name)])
        if node.deleted is not None:
            root.attrs.append(("deleted", jfs_time(node.deleted)))
        _stamp(root)
        root.add(t("path", parent, preserve=True))
        root.add(t("abspath", parent, preserve=True))
        if node.public_uri:
            # a shared folder carries its share id like a file (protocol notes: PublicLink)
            root.add(t("publicURI", node.public_uri))
            if node.share_path:
                root.add(t("publicSharePath", node.share_path, preserve=True))
        self._children(root, node.mp_id, node.id, f"{parent}/{node.name}")
        return serialize(root)

    def file_element(self, node: Node) -> El:
        root = El("file", [("name", node.name), ("uuid", node.uuid)])
        if node.deleted is not None:
            root.attrs.append(("deleted", jfs_time(node.deleted)))
        _stamp(root)
        parent = self.store.parent_path(node)
        root.add(t("path", parent, preserve=True))
        root.add(t("abspath", parent, preserve=True))
        self._file_body(root, self.store.file_view(node), direct=True)
        return root

    def file_doc(self, node: Node) -> bytes:
        return serialize(self.file_element(node))

    def node_doc(self, node: Node) -> bytes:
        return self.file_doc(node) if node.is_file else self.folder_doc(node)

    def trash_doc(self, mp: MountPoint) -> bytes:
        root = self._mountpoint_head(mp, None, None)
        items = self.store.trash_top()
        folders = [n for n in items if not n.is_file]
        files = [n for n in items if n.is_file]
        if folders:
            fe = root.add(El("folders"))
            for n in folders:
                fe.add(self.folder_entry(n, self.store.parent_path(n), trash_view=True))
        if files:
            fi = root.add(El("files"))
            for n in files:
                fi.add(self.file_entry(n, self.store.parent_path(n), trash_view=True))
        root.add(El("metadata", [
            ("first", ""), ("max", ""), ("total", str(len(items))),
            ("num_folders", str(len(folders))), ("num_files", str(len(files))),
        ]))
        return serialize(root)

    def search_doc(self, nodes: list[Node], max_items: int | None = None) -> bytes:
        """``<searchresult>`` as served for ``Jotta/Links`` and ``Jotta/Latest`` (jafs Links.xml)."""
        root = _stamp(El("searchresult"))
        folders = [n for n in nodes if not n.is_file]
        files = [n for n in nodes if n.is_file]
        for tag, group in (("folders", folders), ("files", files)):
            if not group:
                continue
            wrap = root.add(El(tag))
            for n in group:
                e = El(n.kind, [("name", n.name)] + ([("uuid", n.uuid)] if n.is_file else []))
                if n.deleted is not None:
                    e.attrs.append(("deleted", jfs_time(n.deleted)))
                parent = self.store.parent_path(n)
                e.add(t("path", parent, preserve=True))
                e.add(t("abspath", parent, preserve=True))
                if n.is_file:
                    view = self.store.file_view(n)
                    if n.public_uri:
                        e.add(t("publicURI", n.public_uri))
                    if view.current is not None:
                        e.add(self.revision("currentRevision", view.current))
                elif n.public_uri:
                    e.add(t("publicURI", n.public_uri))
                wrap.add(e)
        root.add(El("metadata", [
            ("first", "0"), ("max", str(max_items if max_items is not None else len(nodes))),
            ("total", str(len(nodes))), ("num_folders", str(len(folders))),
            ("num_files", str(len(files))),
        ]))
        return serialize(root)

    def filedirlist_doc(self, mp: MountPoint, start: Node | None) -> bytes:
        """``mode=list``: one ``<folder>`` per folder (the start folder first) with its files."""
        root = _stamp(El("filedirlist"))
        folders = root.add(El("folders"))
        base = f"/{self.user}/{mp.device.name}"
        start_id = 0 if start is None else start.id
        start_name = mp.name if start is None else start.name
        start_parent = base if start is None else self.store.parent_path(start)
        queue: list[tuple[str, str, int]] = [(start_name, start_parent, start_id)]
        while queue:
            name, parent, fid = queue.pop(0)
            fe = folders.add(El("folder", [("name", name)]))
            fe.add(t("path", parent, preserve=True))
            fe.add(t("abspath", parent, preserve=True))
            kids = [k for k in self.store.children(mp.id, fid) if k.deleted is None]
            files = [k for k in kids if k.is_file]
            if files:
                wrap = fe.add(El("files"))
                for k in files:
                    wrap.add(self.file_entry(k, f"{parent}/{name}"))
            queue[0:0] = [(k.name, f"{parent}/{name}", k.id) for k in kids if not k.is_file]
        return serialize(root)

    def liststream(self, mp: MountPoint, start: Node | None) -> Iterator[bytes]:
        """``mode=liststream``: compact, recursive, completed live files, ``<stats>`` last."""
        base_names: list[str] = [] if start is None else self.store.node_names(start)
        start_id = 0 if start is None else start.id

        def path(names: list[str]) -> str:
            return escape("/" + "/".join([mp.name, *base_names, *names]))

        yield b'<?xml version="1.0" encoding="UTF-8"?><liststream>'
        nfolders = 1
        nfiles = 0
        buf: list[str] = [f"<folder><path>{path([])}</path></folder>"]
        for names, node in self.store.walk(mp.id, start_id):
            if node.deleted is not None:
                continue
            if not node.is_file:
                # walk() descends into trashed folders too; their live-looking children are
                # themselves marked deleted, so skipping every tombstone is enough.
                nfolders += 1
                buf.append(f"<folder><path>{path(names)}</path></folder>")
            else:
                cur = self.store.file_view(node).current
                if cur is None:
                    continue
                nfiles += 1
                buf.append(
                    f"<file><path>{path(names[:-1])}</path><filename>{escape(node.name)}</filename>"
                    f"<md5>{cur.md5}</md5><size>{cur.size}</size>"
                    f"<modified>{rfc3339_ms(cur.modified or 0)}</modified>"
                    f"<created>{rfc3339_ms(cur.created or 0)}</created></file>"
                )
            if len(buf) >= 200:
                yield "".join(buf).encode("utf-8")
                buf.clear()
        buf.append(f"<stats><folders>{nfolders}</folders><files>{nfiles}</files></stats></liststream>")
        yield "".join(buf).encode("utf-8")
