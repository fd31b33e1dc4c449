"""MIME type from a file name, as rclone reports it (``lsjson``'s MimeType, ``lsf --format m``).

rclone uses Go's ``mime.TypeByExtension`` on the last extension: Go's small built-in table
first, then the system database — the freedesktop ``globs2`` file when there is one (first
entry per extension wins, the file being in weight order), else the ``mime.types`` files.
Every ``text/*`` type gets ``; charset=utf-8``.  Python's :mod:`mimetypes` differs (it reads
``.tar.gz`` as tar, prefers its own table, adds no charset), hence this module.
"""

from __future__ import annotations

import functools

__all__ = ["mime_type_by_name"]

# Go's builtinTypesLower (mime/type.go)
_GO_BUILTIN = {
    ".avif": "image/avif", ".css": "text/css; charset=utf-8", ".gif": "image/gif",
    ".htm": "text/html; charset=utf-8", ".html": "text/html; charset=utf-8",
    ".jpeg": "image/jpeg", ".jpg": "image/jpeg", ".js": "text/javascript; charset=utf-8",
    ".json": "application/json", ".mjs": "text/javascript; charset=utf-8",
    ".pdf": "application/pdf", ".png": "image/png", ".svg": "image/svg+xml",
    ".wasm": "application/wasm", ".webp": "image/webp", ".xml": "text/xml; charset=utf-8",
}
_GLOBS = ("/usr/local/share/mime/globs2", "/usr/share/mime/globs2")


def _with_charset(mime: str) -> str:
    if mime.startswith("text/") and "charset=" not in mime:
        return mime + "; charset=utf-8"
    return mime


@functools.cache
def _tables() -> tuple[dict[str, str], dict[str, str]]:
    """(exact, lower-cased) extension → type, built once."""
    exact: dict[str, str] = {}
    lower: dict[str, str] = {}

    def put(ext: str, mime: str) -> None:
        mime = _with_charset(mime)
        exact[ext] = mime
        lower[ext.lower()] = mime

    for ext, mime in _GO_BUILTIN.items():
        put(ext, mime)
    for globs in _GLOBS:
        try:
            with open(globs, encoding="utf-8", errors="replace") as f:
                for line in f:
                    fields = line.rstrip("\n").split(":")
                    if len(fields) < 3 or not fields[0] or fields[0].startswith("#"):
                        continue
                    glob = fields[2]
                    if len(glob) < 3 or not glob.startswith("*."):
                        continue
                    ext = glob[1:]
                    if any(c in ext for c in "?*[") or ext in exact:
                        continue
                    put(ext, fields[1])
        except OSError:
            continue
        return exact, lower
    import mimetypes  # no globs2: the mime.types files, as Go falls back to

    db = mimetypes.MimeTypes(filenames=())
    for name in mimetypes.knownfiles:
        try:
            db.read(name)
        except OSError:
            continue
        for ext, mime in db.types_map[True].items():
            put(ext, mime)
    for ext, mime in _GO_BUILTIN.items():
        put(ext, mime)
    return exact, lower


def mime_type_by_name(name: str) -> str:
    """``a.txt`` → ``text/plain; charset=utf-8``; unknown → ``application/octet-stream``."""
    # Go's filepath.Ext: from the last dot of the last element (".bashrc" is an extension)
    dot = name.rfind(".")
    if dot < 0:
        return "application/octet-stream"
    ext = name[dot:]
    exact, lower = _tables()
    return exact.get(ext) or lower.get(ext.lower()) or "application/octet-stream"
