"""Listing and reading commands: ls, lsl, lsd, lsf, lsjson, md5sum, sha1sum, hashsum, size,
tree, cat.  Output formats follow rclone exactly (rclone-semantics.md §D.2, §D.5)."""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

import click

from ..errors import HashUnsupported, UsageError
from ..options import METADATA
from ..types import HASH_ORDER, Entry
from . import formats
from .app import App, global_options, pass_app
from .flags import one_flag
from .params import REMOTE, build_filter_options, filter_flags

if TYPE_CHECKING:
    from ..backend import Backend
    from ..filters import FilterOptions

__all__ = ["cat", "hashsum", "ls", "lsd", "lsf", "lsjson", "lsl", "md5sum", "sha1sum", "size", "tree"]

_HASH_ALIASES = {"md5": "md5", "sha1": "sha1", "sha-1": "sha1", "sha256": "sha256", "sha-256": "sha256",
                 "sha512": "sha512", "crc32": "crc32", "whirlpool": "whirlpool"}


def normalise_hash(name: str) -> str:
    key = name.strip().lower()
    return _HASH_ALIASES.get(key, key)


@dataclass
class Listing:
    """A listed remote: the backend, the entries (path relative to the listed root).

    ``entries`` streams (one directory in memory at a time): iterate it once.
    """

    backend: Backend
    entries: Iterator[tuple[str, Entry]]


def _tree_order(item: tuple[str, Entry]) -> tuple[str, ...]:
    # Component-wise: a directory's contents follow the directory itself (``tree``'s order).
    return tuple(item[0].split("/"))


def list_remote(
    app: App,
    remote: str,
    filters: FilterOptions,
    *,
    recursive: bool,
    max_depth: int = -1,
    files_only: bool = False,
    dirs_only: bool = False,
) -> Listing:
    """Everything ``ls``-style commands print, in rclone's order: directory by directory,
    sorted within each (never the whole tree at once); a file remote lists just that file."""
    from ..engine import walk
    from ..filters import Filter

    backend, leaf = app.open(remote)
    flt = Filter.from_options(filters).bind_source(backend)
    if leaf is not None:
        entry = backend.stat(leaf)
        return Listing(backend, iter([] if dirs_only else [(leaf, entry)]))
    depth = max_depth if max_depth >= 0 else filters.max_depth
    if not recursive and depth < 0:
        depth = 1
    entries = walk(backend, "", filter=flt, max_depth=depth, recursive=recursive or depth != 1,
                   files_only=files_only, dirs_only=dirs_only, on_error=app.entry_error,
                   low_level_retries=app.settings.low_level_retries)
    return Listing(backend, ((e.path, e) for e in entries))


def _out(text: str) -> None:
    click.echo(text)


def _mtime_or_now(entry: Entry) -> int:
    """The time listed for ``entry``: a file's unknown time is --default-time, a folder's now."""
    ns = formats.mtime_of(entry)
    return ns if ns is not None else time.time_ns()


def _write_lines(lines: Iterable[str], sep: str = "\n", end: str = "\n") -> bool:
    """Print ``lines`` joined by ``sep`` and followed by ``end``, in batches (click.echo per
    line costs more than the listing itself); returns whether there was any line."""
    write = sys.stdout.write
    it = iter(lines)
    started = False
    batch: list[str] = []
    try:
        while True:
            batch = list(itertools.islice(it, 512))  # (the per-line loop in C)
            if not batch:
                break
            write((sep if started else "") + sep.join(batch))
            started = True
    finally:  # a listing that fails half way still shows what came before, as rclone's does
        if started:
            write(end)
        sys.stdout.flush()
    return started


def _hash_of(backend: Backend, path: str, entry: Entry, hash_type: str, download: bool) -> str:
    if download:
        from ..hashing import hash_stream

        with backend.get(path) as stream:
            digests, _ = hash_stream(stream, (hash_type,))
        return digests[hash_type]
    value = entry.hashes.get(hash_type)
    if value:
        return value
    return backend.hash(path, hash_type)


# ------------------------------------------------------------------------------ ls / lsl / lsd


def _listing_command(name: str, help_text: str) -> Callable[[Callable[..., None]], click.Command]:
    def deco(f: Callable[..., None]) -> click.Command:
        f = filter_flags(f)
        f = click.argument("remote", type=REMOTE)(f)
        f = global_options(f)
        return click.command(name, help=help_text)(pass_app(f))

    return deco


def _size_text(app: App) -> Callable[[int], str]:
    """Sizes as numbers, or with --human-readable as rclone's suffixed form (``1.953Ki``)."""
    if not app.settings.human_readable:
        return str
    from ..types import size_suffix

    return lambda n: str(n) if n < 0 else "".join(size_suffix(n))


@_listing_command("ls", "List the objects in the path with size and path (recursive).")
def ls(app: App, remote: str, **kw: Any) -> None:
    listing = list_remote(app, remote, build_filter_options(kw), recursive=True, files_only=True)
    text = _size_text(app)
    _write_lines(f"{text(entry.size):>9} {path}" for path, entry in listing.entries)


@_listing_command("lsl", "List the objects in path with modification time, size and path (recursive).")
def lsl(app: App, remote: str, **kw: Any) -> None:
    listing = list_remote(app, remote, build_filter_options(kw), recursive=True, files_only=True)
    text = _size_text(app)
    _write_lines(
        f"{text(entry.size):>9} "
        f"{formats.local_time(formats.mtime_of(entry), '%Y-%m-%d %H:%M:%S', nanos=True)} {path}"
        for path, entry in listing.entries)


@click.command("lsd", help="List all directories in the path (one level unless -R).")
@click.option("-R", "--recursive", is_flag=True, help="Recurse into the listing.")
@filter_flags
@click.argument("remote", type=REMOTE)
@global_options
@pass_app
def lsd(app: App, remote: str, recursive: bool, **kw: Any) -> None:
    listing = list_remote(app, remote, build_filter_options(kw), recursive=recursive,
                          max_depth=-1 if recursive else 1, dirs_only=True)
    text = _size_text(app)
    _write_lines(f"{text(entry.size):>12} {formats.local_time(entry.mtime_ns)} {-1:>9d} {path}"
                 for path, entry in listing.entries)


# ------------------------------------------------------------------------------ lsf


@click.command("lsf", help="List directories and objects in remote:path formatted for parsing.")
@click.option("-F", "--format", "fmt", default="p", show_default=True,
              help="Output format: p path, s size, t modtime, h hash, i ID, m MimeType, T tier.")
@click.option("-s", "--separator", default=None, help="Separator for the items in the format (default ';').")
@click.option("--csv", "use_csv", is_flag=True, help="Output in CSV format.")
@click.option("-d", "--dir-slash/--no-dir-slash", default=True, help="Append a slash to directory names.")
@click.option("--hash", "hash_name", default="md5", show_default=True, help="Use this hash when h is used in the format.")
@click.option("--files-only", is_flag=True, help="Only list files.")
@click.option("--dirs-only", is_flag=True, help="Only list directories.")
@click.option("--absolute", is_flag=True, help="Put a leading / in front of path names.")
@click.option("-t", "--time-format", default=None,
              help="Specify a custom time format (a Go layout such as 2006-01-02, a layout name such as "
                   "RFC3339, or 'max' for max precision supported by remote; default: 2006-01-02 15:04:05).")
@click.option("-R", "--recursive", is_flag=True, help="Recurse into the listing.")
@filter_flags
@click.argument("remote", type=REMOTE)
@global_options
@pass_app
def lsf(app: App, remote: str, fmt: str, separator: str | None, use_csv: bool, dir_slash: bool,
        hash_name: str, files_only: bool, dirs_only: bool, absolute: bool, time_format: str | None,
        recursive: bool, **kw: Any) -> None:
    sep = separator if separator is not None else ("," if use_csv else ";")
    hash_type = normalise_hash(hash_name)
    listing = list_remote(app, remote, build_filter_options(kw), recursive=recursive,
                          files_only=files_only, dirs_only=dirs_only)
    backend = listing.backend
    from .gotime import compile_layout

    layout = time_format or "2006-01-02 15:04:05"
    # only "max" needs the remote's precision: the local backend would probe for it
    show_time = compile_layout(layout, precision_ns=backend.features.precision_ns
                               if "t" in fmt and layout == "max" else 1)

    # One formatter per format letter, chosen once: the per-entry work is only the calls.
    def path_of(path: str, entry: Entry) -> str:
        path = formats.valid_utf8(path)  # always valid UTF-8 (the copy itself keeps the bytes)
        shown = ("/" + path) if absolute else path
        return shown + "/" if entry.is_dir and dir_slash else shown

    def hash_of(path: str, entry: Entry) -> str:
        if entry.is_dir:
            return ""
        try:
            return _hash_of(backend, entry.path, entry, hash_type, False)
        except HashUnsupported:
            return ""

    fields: dict[str, Callable[[str, Entry], str]] = {
        "p": path_of,
        "s": lambda _p, e: str(-1 if e.is_dir else e.size),
        "t": lambda _p, e: show_time(_mtime_or_now(e)),  # --default-time for unknown ones
        "h": hash_of,
        "i": lambda _p, e: e.id or "",
        "m": lambda _p, e: formats.mime_type_of(e),
    }
    getters: list[Callable[[str, Entry], str]] = []
    for letter in fmt:
        if letter in fields:
            getters.append(fields[letter])
        elif letter in "oeTM":
            getters.append(lambda _p, _e: "")
        else:
            raise UsageError(f"unknown format character {letter!r}")

    def line(path: str, entry: Entry) -> str:
        values = [get(path, entry) for get in getters]
        return formats.csv_line(values, sep) if use_csv else sep.join(values)

    if fmt == "p" and not use_csv:
        _write_lines(path_of(path, entry) for path, entry in listing.entries)
    else:
        _write_lines(line(path, entry) for path, entry in listing.entries)


# ------------------------------------------------------------------------------ lsjson


@click.command("lsjson", help="List directories and objects in the path in JSON format.")
@click.option("-R", "--recursive", is_flag=True, help="Recurse into the listing.")
@click.option("--hash", "with_hash", is_flag=True, help="Include hashes in the output (may take longer).")
@click.option("--hash-type", multiple=True, help="Show only this hash type (may be repeated).")
@click.option("--no-modtime", is_flag=True, help="Don't read the modification time (can speed things up).")
@click.option("--no-mimetype", is_flag=True, help="Don't read the mime type (can speed things up).")
@click.option("--files-only", is_flag=True, help="Show only files in the listing.")
@click.option("--dirs-only", is_flag=True, help="Show only directories in the listing.")
@click.option("--stat", is_flag=True, help="Just return the info for the pointed to file.")
@click.option("--original", is_flag=True, hidden=True)
@one_flag(METADATA)
@filter_flags
@click.argument("remote", type=REMOTE)
@global_options
@pass_app
def lsjson(app: App, remote: str, recursive: bool, with_hash: bool, hash_type: tuple[str, ...],
           no_modtime: bool, no_mimetype: bool, files_only: bool, dirs_only: bool, stat: bool,
           original: bool, metadata: bool | None, **kw: Any) -> None:
    filters = build_filter_options(kw)
    types = [normalise_hash(t) for t in hash_type]
    want_hash = with_hash or bool(types)

    def formatter(backend: Backend) -> tuple[Callable[[str, Entry], str],
                                             Callable[[Entry], str] | None]:
        """The item formatter, and one taking just the entry when nothing else is needed."""
        feats = backend.features
        fmt = formats.LsjsonFormat(precision_ns=feats.precision_ns, local_tz=feats.is_local,
                                   no_modtime=no_modtime, no_mimetype=no_mimetype)
        hash_types = (types or [h for h in HASH_ORDER if h in feats.hashes]
                      or sorted(feats.hashes)) if want_hash else []
        with_meta = backend.has("metadata")
        if not hash_types and not (metadata and with_meta):
            return fmt.as_item, fmt

        def item(path: str, entry: Entry) -> str:
            hashes: dict[str, str] | None = None
            if hash_types and not entry.is_dir:
                hashes = {}
                for t in hash_types:
                    try:
                        hashes[t] = _hash_of(backend, entry.path, entry, t, False)
                    except HashUnsupported:
                        continue
            meta = None
            if metadata and with_meta and path:
                meta = backend.metadata(entry.path)
            return fmt(entry, path, hashes, meta)

        return item, None

    out = sys.stdout
    if stat:
        import json

        backend, leaf = app.open(remote)
        entry = backend.stat(leaf or "")
        line = formatter(backend)[0](leaf or "", entry)
        # (one object, indented: re-encoded from the one-line form, which is the reference)
        out.write(formats.go_json(json.loads(line), indent="\t") + "\n")
        return
    # rclone prints "[" before listing, so a failure mid-way leaves "[\n" on stdout.
    backend, leaf = app.open(remote)
    out.write("[\n")
    out.flush()
    item, plain = formatter(backend)
    formatted: Iterator[str]
    if leaf is not None:
        entry = backend.stat(leaf)
        formatted = iter([] if dirs_only else [item(leaf, entry)])
    else:
        from ..engine import walk
        from ..filters import Filter

        depth = filters.max_depth if filters.max_depth >= 0 else (-1 if recursive else 1)
        flt = Filter.from_options(filters).bind_source(backend)
        entries = walk(backend, "", filter=flt, max_depth=depth,
                       recursive=recursive or depth != 1, files_only=files_only,
                       dirs_only=dirs_only, on_error=app.entry_error,
                       low_level_retries=app.settings.low_level_retries)
        # (a walk lists paths from the root: each entry is listed as its own path; the
        # per-entry loop runs in C)
        formatted = (map(plain, entries) if plain is not None
                     else (item(e.path, e) for e in entries))
    listed = _write_lines(formatted, sep=",\n", end="")
    out.write("\n]\n" if listed else "]\n")


# ------------------------------------------------------------------------------ hashes


def _hashsum(app: App, remote: str, hash_type: str, download: bool, base64_out: bool,
             output_file: str | None, kw: dict[str, Any]) -> None:
    listing = list_remote(app, remote, build_filter_options(kw), recursive=True, files_only=True)
    backend = listing.backend
    if not download and hash_type not in backend.features.hashes:
        raise HashUnsupported(
            f"hash type {hash_type!r} not supported by {backend}", hint="use --download to hash the bytes locally"
        )

    def lines() -> Iterator[str]:
        for path, entry in listing.entries:
            digest = _hash_of(backend, entry.path, entry, hash_type, download)
            if base64_out and digest:
                import base64 as b64

                digest = b64.urlsafe_b64encode(bytes.fromhex(digest)).decode()
            # hex pads a missing hash to the hash's width; base64 is never padded (as rclone)
            width = len(digest) if base64_out else 32 if hash_type == "md5" else 40 if hash_type == "sha1" else len(digest)
            yield f"{digest:>{width}}  {path}\n"

    if output_file:
        with open(output_file, "w", encoding="utf-8") as fh:
            fh.writelines(lines())
    else:
        _write_lines(lines(), sep="", end="")


def _hash_command(name: str, fixed: str | None) -> Any:
    def body(app: App, remote: str, download: bool, base64_out: bool, output_file: str | None,
             checkfile: str | None, hash_name: str | None = None, **kw: Any) -> None:
        if checkfile is not None:
            # -C: rclone's checksum, with its combined report on stdout (or --output-file)
            from .cmd_checksum import run_checksum_command

            kw["combined"] = output_file or "-"
            run_checksum_command(app, name, hash_name or fixed or "md5", checkfile, remote, kw,
                                 download=download)
            return
        _hashsum(app, remote, normalise_hash(hash_name or fixed or "md5"), download, base64_out, output_file, kw)

    f: Any = pass_app(body)
    f = global_options(f)
    f = click.argument("remote", type=REMOTE)(f)
    if fixed is None:
        f = click.argument("hash_name", metavar="HASH")(f)
    f = filter_flags(f)
    f = click.option("--output-file", default=None, help="Output hashsums to a file rather than stdout.")(f)
    f = click.option("--base64", "base64_out", is_flag=True, help="Output base64 encoded hashsum.")(f)
    f = click.option("--download", is_flag=True, help="Download the file and hash it locally.")(f)
    f = click.option("-C", "--checkfile", default=None, metavar="SUMFILE",
                     help="Validate hashes against a given SUM file instead of printing them.")(f)
    what = fixed or "the given hash"
    return click.command(name, help=f"Produces a {what} file for all the objects in the path.")(f)


md5sum = _hash_command("md5sum", "md5")
sha1sum = _hash_command("sha1sum", "sha1")
hashsum = _hash_command("hashsum", None)


# ------------------------------------------------------------------------------ size / tree


@click.command("size", help="Prints the total size and number of objects in remote:path.")
@click.option("--json", "as_json", is_flag=True, help="Format output as JSON.")
@filter_flags
@click.argument("remote", type=REMOTE)
@global_options
@pass_app
def size(app: App, remote: str, as_json: bool, **kw: Any) -> None:
    listing = list_remote(app, remote, build_filter_options(kw), recursive=True, files_only=True)
    count = total = sizeless = 0
    for _, e in listing.entries:
        count += 1
        if e.size >= 0:
            total += e.size
        else:
            sizeless += 1
    if as_json:
        _out(formats.go_json({"count": count, "bytes": total, "sizeless": sizeless}))
        return
    _out(f"Total objects: {formats.count_suffix(count)} ({count})" if count >= 1000 else f"Total objects: {count}")
    _out(f"Total size: {formats.byte_unit(total)} ({total} Byte)")
    if sizeless:
        _out(f"Total objects with unknown size: {sizeless}")


@click.command("tree", help="List the contents of the remote in a tree like fashion.")
@click.option("-a", "--all", "all_files", is_flag=True, help="All files are listed (list . files too).")
@click.option("-d", "--dirs-only", is_flag=True, help="List directories only.")
@click.option("--dirsfirst", is_flag=True, help="List directories before files (-U disables).")
@click.option("--full-path", is_flag=True, help="Print the full path prefix for each file.")
@click.option("--level", type=int, default=0, help="Descend only level directories deep.")
@click.option("-D", "--modtime", is_flag=True, help="Print the date of last modification.")
@click.option("--noindent", is_flag=True, help="Don't print indentation lines.")
@click.option("--noreport", is_flag=True, help="Turn off file/directory count at end of tree listing.")
@click.option("-o", "--output", default=None, metavar="FILE", help="Output to file instead of stdout.")
@click.option("-p", "--protections", is_flag=True, help="Print the protections for each file.")
@click.option("-Q", "--quote", is_flag=True, help="Quote filenames with double quotes.")
@click.option("-s", "--size", "show_size", is_flag=True, help="Print the size in bytes of each file.")
@click.option("--sort", "sort_by", type=click.Choice(["name", "version", "size", "mtime", "ctime"]),
              default=None, help="Select sort: name,version,size,mtime,ctime.")
@click.option("--sort-ctime", is_flag=True, help="Sort files by last status change time (objects have none: modification time).")
@click.option("-t", "--sort-modtime", is_flag=True, help="Sort files by last modification time.")
@click.option("-r", "--sort-reverse", is_flag=True, help="Reverse the order of the sort.")
@click.option("-U", "--unsorted", is_flag=True, help="Leave files unsorted.")
@click.option("--version", "version_sort", is_flag=True, help="Sort files alphanumerically by version.")
@filter_flags
@click.argument("remote", type=REMOTE)
@global_options
@pass_app
def tree(app: App, remote: str, all_files: bool, dirs_only: bool, dirsfirst: bool, full_path: bool,
         level: int, modtime: bool, noindent: bool, noreport: bool, output: str | None,
         protections: bool, quote: bool, show_size: bool, sort_by: str | None, sort_ctime: bool,
         sort_modtime: bool, sort_reverse: bool, unsorted: bool, version_sort: bool,
         **kw: Any) -> None:
    from .treeview import TreeStyle, render_tree

    # rclone's precedence: a time sort, then --dirsfirst, then version, size, name
    sort = ("mtime" if sort_modtime or sort_by == "mtime" else
            "ctime" if sort_ctime or sort_by == "ctime" else
            "dirs" if dirsfirst else
            "version" if version_sort or sort_by == "version" else sort_by or "name")
    style = TreeStyle(all_files=all_files, dirs_only=dirs_only, full_path=full_path, level=max(level, 0), modtime=modtime,
                      no_indent=noindent, no_report=noreport, protections=protections,
                      quote=quote, size=show_size, sort="" if unsorted else sort,
                      reverse=sort_reverse)
    filters = build_filter_options(kw)
    if level > 0 and (filters.max_depth < 0 or filters.max_depth > level):
        import dataclasses

        filters = dataclasses.replace(filters, max_depth=level)  # list no deeper than shown
    listing = list_remote(app, remote, filters, recursive=True)
    # (the whole tree is needed before the first line: folder sizes and counts come first)
    lines = render_tree(((p, e.is_dir, e.size, e.mtime_ns) for p, e in listing.entries), style)
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.writelines(line + "\n" for line in lines)
        return
    for line in lines:
        _out(line)


# ------------------------------------------------------------------------------ cat


def _copy_stream(src: BinaryIO, dst: BinaryIO | None) -> None:
    while True:
        chunk = src.read(1 << 20)
        if not chunk:
            break
        if dst is not None:
            dst.write(chunk)


@click.command("cat", help="Concatenate files and send them to stdout.")
@click.option("--head", type=int, default=-1, help="Only print the first N characters.")
@click.option("--tail", type=int, default=-1, help="Only print the last N characters.")
@click.option("--offset", type=int, default=0, help="Start printing at offset N (or from end if -ve).")
@click.option("--count", type=int, default=-1, help="Only print N characters.")
@click.option("--separator", default="", help="Separator to use between objects when printing multiple files.")
@click.option("--discard", is_flag=True, help="Discard the output instead of printing.")
@filter_flags
@click.argument("remote", type=REMOTE)
@global_options
@pass_app
def cat(app: App, remote: str, head: int, tail: int, offset: int, count: int, separator: str,
        discard: bool, **kw: Any) -> None:
    if head >= 0 and tail >= 0:
        raise UsageError("can only use one of --head or --tail")
    if head >= 0:
        offset, count = 0, head
    elif tail >= 0:
        offset, count = -tail, -1
    listing = list_remote(app, remote, build_filter_options(kw), recursive=True, files_only=True)
    out = None if discard else sys.stdout.buffer
    for path, entry in _files(listing):
        start = offset
        if start < 0:
            start = max(0, entry.size + start) if entry.size >= 0 else 0
        end = None if count < 0 else start + count
        with listing.backend.get(entry.path, start, end) as stream:
            _copy_stream(stream, out)
        if separator and out is not None:
            out.write(separator.encode())
        del path
    if out is not None:
        out.flush()


def _files(listing: Listing) -> Iterator[tuple[str, Entry]]:
    for path, entry in listing.entries:
        if not entry.is_dir:
            yield path, entry
