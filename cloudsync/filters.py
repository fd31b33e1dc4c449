"""rclone-compatible path, size and age filtering (rclone-semantics.md §A.4).

A :class:`Filter` is built once per command from :class:`FilterOptions` (the filter flags,
declared here once)
and asked two questions by the engine while it walks a tree:

* :meth:`Filter.include_file` -- does this object take part (both sides of a sync, ``ls*``,
  ``check``, ``delete`` ...)?
* :meth:`Filter.include_dir` -- is it worth listing this directory at all?

Rules are kept exactly the way rclone keeps them, because users port their filter files from
rclone and expect identical results:

* every glob becomes an anchored regular expression (:func:`glob_to_regex`);
* there are two ordered rule lists, one for files and one for directories.  Include rules also
  generate directory rules (``--include "/a/b/*.jpg"`` only needs ``a/`` and ``a/b/``), which is
  what lets the walker prune; exclude rules only generate directory rules when they can only match
  directories (``- dir/``, anything with ``**``, or the catch-all ``*``);
* the first matching rule decides, no match means "included".

Directory rules are matched against the directory path with a trailing ``/``.

Ignore files (``--ignore-file .jottaignore``) come on top of the rules: gitignore-syntax files of
that name anywhere in the source tree, each applying to its own folder and below
(:class:`IgnoreFiles`, matching by ``pathspec``).  What they ignore is excluded whatever the
rules say.  They are read through a callback bound to the source (:meth:`Filter.bind_source`),
lazily, once per folder and filter.
"""

from __future__ import annotations

import datetime as _dt
import functools
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import UsageError
from .options import flag, parse_duration, parse_size

if TYPE_CHECKING:
    from .backend import Backend

__all__ = [
    "Filter",
    "FilterOptions",
    "IgnoreFiles",
    "backend_reader",
    "glob_to_regex",
    "parse_age",
    "parse_size_kib_default",
]

log = logging.getLogger(__name__)


@functools.cache
def _rx(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled on first use: compiling at import would slow every start-up."""
    return re.compile(pattern)

MIXED_INCLUDE_EXCLUDE_WARNING = (
    "Using --filter is recommended instead of both --include and --exclude as the order they "
    "are parsed in is indeterminate"
)

# ---------------------------------------------------------------------------------------------
# CLI value parsing
# ---------------------------------------------------------------------------------------------


def parse_size_kib_default(text: str) -> int:
    """Parse a ``--min-size``/``--max-size`` value to bytes; ``off`` gives -1.

    rclone's size flags count in KiB when no suffix is given (``--min-size 1`` is 1024 bytes, a
    classic surprise); ``B``, ``K``, ``M``, ``G``, ``T``, ``P`` (optionally ``Ki``/``KiB``) select
    the unit explicitly.
    """
    try:
        return parse_size(text, default_unit="k")
    except ValueError:
        raise UsageError(
            f"invalid size {text!r}: expected a number with optional suffix B|K|M|G|T|P"
        ) from None


# Absolute time layouts rclone accepts for ages, tried in this order.  They are interpreted in
# local time unless they carry an offset (RFC 3339).
_AGE_TIME_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")
_RFC3339 = r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})\Z"


def parse_age(text: str, now: float | None = None) -> float | None:
    """Parse a ``--min-age``/``--max-age`` value to an age in seconds relative to ``now``.

    Accepts durations (bare number = seconds; units ``ms, s, m, h, d, w, M, y``, combinable as in
    ``1h30m``) and absolute times (``2006-01-02``, ``2006-01-02 15:04:05``,
    ``2006-01-02T15:04:05``, RFC 3339).  An absolute time ``T`` becomes the age ``now - T``, so the
    filter then selects by that moment.  ``off`` returns None (no age filter).
    """
    t = text.strip()
    if t == "off":
        return None
    try:
        return parse_duration(t)
    except ValueError:
        pass
    if now is None:
        now = time.time()
    moment: _dt.datetime | None = None
    if _rx(_RFC3339).match(t):
        try:
            moment = _dt.datetime.fromisoformat(t.replace("z", "Z").replace("t", "T"))
        except ValueError:
            moment = None
    else:
        for fmt in _AGE_TIME_FORMATS:
            try:
                moment = _dt.datetime.strptime(t, fmt)  # naive = local time, like rclone
                break
            except ValueError:
                continue
    if moment is None:
        raise UsageError(
            f"invalid age {text!r}: expected a duration like 1h30m or 7d (units ms|s|m|h|d|w|M|y) "
            "or a time like 2006-01-02, '2006-01-02 15:04:05' or RFC 3339"
        )
    return now - moment.timestamp()


@dataclass(frozen=True)
class FilterOptions:
    """rclone's filter flags (rclone-semantics.md §A.4).  Sizes in bytes, ages in seconds.

    Each field is its flag, declared once (see :func:`cloudsync.options.flag`).
    """

    include: tuple[str, ...] = flag((), "Include files matching pattern.", multiple=True, metavar="GLOB")
    exclude: tuple[str, ...] = flag((), "Exclude files matching pattern.", multiple=True, metavar="GLOB")
    filter: tuple[str, ...] = flag((), "Add a file filtering rule (+ glob / - glob / !).",
                                   short="-f", multiple=True, metavar="RULE")
    include_from: tuple[str, ...] = flag((), "Read file include patterns from file.",
                                         multiple=True, metavar="FILE")
    exclude_from: tuple[str, ...] = flag((), "Read file exclude patterns from file.",
                                         multiple=True, metavar="FILE")
    filter_from: tuple[str, ...] = flag((), "Read file filtering patterns from a file.",
                                        multiple=True, metavar="FILE")
    files_from: tuple[str, ...] = flag((), "Read list of source-file names from file.",
                                       multiple=True, metavar="FILE")
    files_from_raw: tuple[str, ...] = flag((), "Like --files-from without comment/space processing.",
                                           multiple=True, metavar="FILE")
    exclude_if_present: tuple[str, ...] = flag((), "Exclude directories if this file is present.",
                                               multiple=True, metavar="NAME")
    min_size: int = flag(-1, "Only transfer files bigger than this (KiB or suffix B|K|M|G|T|P).",
                         kind="size", parser=parse_size_kib_default, metavar="SIZE")
    max_size: int = flag(-1, "Only transfer files smaller than this (KiB or suffix B|K|M|G|T|P).",
                         kind="size", parser=parse_size_kib_default, metavar="SIZE")
    min_age: float | None = flag(None, "Only transfer files older than this (s or suffix ms|s|m|h|d|w|M|y).",
                                 kind="duration", parser=parse_age, default_text="off", metavar="DURATION")
    max_age: float | None = flag(None, "Only transfer files younger than this (s or suffix ms|s|m|h|d|w|M|y).",
                                 kind="duration", parser=parse_age, default_text="off", metavar="DURATION")
    max_depth: int = flag(-1, "If set limits the recursion depth to this.", default_text="off")
    delete_excluded: bool = flag(False, "Delete files on dest excluded from sync.")
    ignore_file: tuple[str, ...] = flag(
        (), "Ignore what files called NAME in the source tree list (gitignore syntax, per folder "
            "and below).", multiple=True, metavar="NAME")


# ---------------------------------------------------------------------------------------------
# glob -> regex
# ---------------------------------------------------------------------------------------------

# POSIX classes that Go's regexp understands inside brackets but Python's ``re`` does not.
_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7f",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}
_POSIX_RE = r"\[:([a-z]+):\]"


def _bracket_to_python(segment: str, glob: str) -> str:
    """Translate one Go character class ``[...]`` (as rclone copies it) into Python syntax.

    Go and Python agree on ranges, ``^`` negation and backslash escapes; they differ on POSIX
    classes (Python has none) and on a bare ``[`` or doubled ``&&``/``~~``/``||`` inside a class,
    which Python reserves for future set operations.
    """
    out: list[str] = []
    i, n = 0, len(segment)
    while i < n:
        c = segment[i]
        if c == "\\" and i + 1 < n:
            out.append(segment[i : i + 2])
            i += 2
            continue
        if c == "[":
            m = _rx(_POSIX_RE).match(segment, i)
            if m:
                name = m.group(1)
                if name not in _POSIX_CLASSES:
                    raise UsageError(
                        f"bad glob pattern {glob!r}: unknown character class [:{name}:]"
                    )
                out.append(_POSIX_CLASSES[name])
                i = m.end()
                continue
            out.append("\\[")
        elif c in "&~|":
            out.append("\\" + c)
        else:
            out.append(c)
        i += 1
    return "".join(out)


def glob_to_regex(glob: str) -> str:
    """Convert an rclone path glob into a Python regular expression (source text).

    ``*`` -> ``[^/]*``, ``**`` -> ``.*``, ``?`` -> ``[^/]``, ``[...]`` character classes,
    ``{a,b}`` alternation (may nest), ``{{re}}`` raw regular expression, ``\\x`` escapes ``x``.
    A leading ``/`` anchors at the root; otherwise the glob matches a path suffix that starts
    after a ``/`` (``(^|/)glob$``).  Raises :class:`UsageError` for malformed globs.

    The walk mirrors rclone's converter state machine (brace depth, bracket depth, the
    ``{{``/``}}`` bookkeeping) so that odd inputs behave the same, then patches the few spots
    where Go's regexp dialect differs from Python's.
    """
    out: list[str] = []
    body = glob
    if body.startswith("/"):
        body = body[1:]
        out.append("^")
    else:
        out.append("(^|/)")

    def bad(why: str) -> UsageError:
        return UsageError(f"bad glob pattern {glob!r}: {why}")

    stars = 0

    def flush_stars() -> None:
        nonlocal stars
        if stars == 1:
            out.append("[^/]*")
        elif stars == 2:
            out.append(".*")
        elif stars > 2:
            raise bad("too many stars")
        stars = 0

    def overwrite_last(ch: str) -> None:
        out[-1] = out[-1][:-1] + ch

    brace_depth = 0
    bracket_depth = 0
    bracket: list[str] = []  # the class being collected, translated once it closes
    slashed = False
    in_regex = False  # inside {{ ... }}
    in_regex_end = False  # just saw the closing }}; a further } extends the regex
    nxt = last = ""
    for c in body:
        nxt, last = c, nxt
        if slashed:
            # rclone writes the backslash and the next rune verbatim.
            out.append(c)
            slashed = False
            continue
        if in_regex_end:
            if c == "}":
                # "}}}": the regex itself ended with "}" -- take the longest reading.
                overwrite_last("}")
                out.append(")")
                continue
            in_regex_end = False
        if in_regex:
            if c == "}" and last == "}":
                in_regex = False
                in_regex_end = True
                overwrite_last(")")
            else:
                out.append(c)
            continue
        if c != "*":
            flush_stars()
        if bracket_depth > 0:
            bracket.append(c)
            if c == "[":
                bracket_depth += 1
            elif c == "]":
                bracket_depth -= 1
                if bracket_depth == 0:
                    out.append("[" + _bracket_to_python("".join(bracket[:-1]), glob) + "]")
                    bracket = []
            continue
        if c == "\\":
            out.append(c)
            slashed = True
        elif c == "*":
            stars += 1
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            bracket_depth = 1
            bracket = []
        elif c == "]":
            raise bad("mismatched ']'")
        elif c == "{":
            if brace_depth > 0 and last == "{":
                # "{{" opens a raw regex; the "(" written for the first "{" wraps it.
                in_regex = True
                brace_depth -= 1
            else:
                brace_depth += 1
                out.append("(")
        elif c == "}":
            if brace_depth <= 0:
                raise bad("mismatched '{' and '}'")
            out.append(")")
            brace_depth -= 1
        elif c == ",":
            out.append("|" if brace_depth > 0 else ",")
        elif c in ".+()|^$":
            out.append("\\" + c)
        else:
            out.append(c)
    flush_stars()
    if bracket_depth > 0:
        raise bad("mismatched '[' and ']'")
    if brace_depth != 0:
        raise bad("mismatched '{' and '}'")
    if in_regex:
        raise bad("mismatched '{{' and '}}'")
    if slashed:
        raise bad("trailing backslash")
    # Go's "$" is end of text; Python's "$" would also match before a trailing newline.
    out.append("\\Z")
    return "".join(out)


def _compile(glob: str) -> re.Pattern[str]:
    source = glob_to_regex(glob)
    try:
        return re.compile(source)
    except re.error as exc:
        raise UsageError(f"bad glob pattern {glob!r} (regexp {source!r}): {exc}") from None


# Globs whose directory prefixes cannot be worked out: "/" or "**" inside braces, raw regexes,
# nested braces.  For those every directory has to be searched.
_TOO_HARD = r"(\{[^{}]*(\*\*|/)[^{}]*\})|\{\{|\}\}|\{[^{}]*\{"
_SLASHES = r"/{2,}"


def _dir_globs(glob: str) -> list[str]:
    """Directory globs (with trailing ``/``) for every directory that could hold a match of ``glob``.

    ``/a/b/*.jpg`` gives ``/a/b/``, ``/a/``, ``/``; ``a/**/x`` gives ``a/**/``, ``a/``;
    a glob without ``/`` (``*.jpg``) could be anywhere, giving ``/**``.
    """
    if _rx(_TOO_HARD).search(glob):
        log.info("Can't figure out directory filters from %r: looking in all directories", glob)
        return ["/**"]
    glob = _rx(_SLASHES).sub("/", glob)
    out: list[str] = []
    while True:
        i = glob.rfind("/")
        j = glob.rfind("**")
        what = ""
        if j > i:
            i, what = j, "**"
        if i < 0:
            if not out:
                out.append("/**")
            return out
        glob = glob[:i]
        candidate = glob + what + "/"
        if not out or out[-1] != candidate:
            out.append(candidate)


@dataclass
class _Rules:
    """An ordered include/exclude rule list; first match wins, no match includes."""

    rules: list[tuple[bool, re.Pattern[str]]] = field(default_factory=list)
    seen: set[tuple[bool, str]] = field(default_factory=set)

    def add(self, include: bool, pattern: re.Pattern[str]) -> None:
        # Duplicates can never decide anything (the first copy matches first); dropping them
        # keeps long generated rule lists (include rules share parents) cheap to evaluate.
        key = (include, pattern.pattern)
        if key not in self.seen:
            self.seen.add(key)
            self.rules.append((include, pattern))

    def clear(self) -> None:
        self.rules.clear()
        self.seen.clear()

    def include(self, path: str) -> bool:
        for include, pattern in self.rules:
            if pattern.search(path):
                return include
        return True

    def __len__(self) -> int:
        return len(self.rules)


# ---------------------------------------------------------------------------------------------
# rule files
# ---------------------------------------------------------------------------------------------


def _read_lines(source: str, *, raw: bool, flag: str) -> Iterator[str]:
    """Lines of a ``--*-from`` file (``-`` = stdin).

    Not raw: lines are stripped, blank lines and ``#``/``;`` comments skipped.  Raw
    (``--files-from-raw``): every line verbatim, only the line terminator removed.
    """
    try:
        if source == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(source, "rb") as fh:
                data = fh.read()
    except OSError as exc:
        raise UsageError(f"{flag}: can't read {source!r}: {exc.strerror or exc}") from None
    text = data.decode("utf-8", errors="surrogateescape")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline ending the last line does not start another one
    for line in lines:
        # Go's line scanner drops one "\r" before "\n" (CRLF files), even in raw mode.
        line = line.removesuffix("\r")
        if raw:
            yield line
            continue
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        yield line


# ---------------------------------------------------------------------------------------------
# Filter
# ---------------------------------------------------------------------------------------------


class Filter:
    """The active filter of one command; immutable once built (see :meth:`from_options`).

    ``Filter()`` is the inactive filter that includes everything.
    """

    max_depth: int
    delete_excluded: bool

    def __init__(self) -> None:
        self._file_rules = _Rules()
        self._dir_rules = _Rules()
        self._files: set[str] | None = None
        self._files_frozen: frozenset[str] | None = None
        self._dirs: set[str] = set()
        self._min_size = -1
        self._max_size = -1
        self._mtime_from_ns: int | None = None  # exclude mtime < this (--max-age)
        self._mtime_to_ns: int | None = None  # exclude mtime > this (--min-age)
        self._exclude_if_present: tuple[str, ...] = ()
        self.max_depth = -1
        self.delete_excluded = False
        self._ignore_names: tuple[str, ...] = ()
        self._ignore: IgnoreFiles | None = None

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def from_options(cls, opts: FilterOptions, *, now: float | None = None) -> Filter:
        """Build the filter; raise :class:`UsageError` for bad rules or flag combinations."""
        f = cls()
        f.max_depth = opts.max_depth
        f.delete_excluded = opts.delete_excluded
        f._min_size = opts.min_size
        f._max_size = opts.max_size
        f._exclude_if_present = tuple(opts.exclude_if_present)
        f._ignore_names = tuple(dict.fromkeys(n for n in opts.ignore_file if n))
        for name in f._ignore_names:
            if "/" in name or name in (".", ".."):
                raise UsageError(f"--ignore-file takes a file name, not a path: {name!r}")
        if opts.min_age is not None or opts.max_age is not None:
            if now is None:
                now = time.time()
            if opts.min_age is not None:
                f._mtime_to_ns = int((now - opts.min_age) * 1e9)
            if opts.max_age is not None:
                f._mtime_from_ns = int((now - opts.max_age) * 1e9)
            if (
                f._mtime_to_ns is not None
                and f._mtime_from_ns is not None
                and f._mtime_to_ns < f._mtime_from_ns
            ):
                raise UsageError(
                    f"filter: --min-age {opts.min_age:g}s can't be larger than --max-age {opts.max_age:g}s"
                )
        f._parse_rules(opts)

        files_from = [(p, False, "--files-from") for p in opts.files_from]
        files_from += [(p, True, "--files-from-raw") for p in opts.files_from_raw]
        if files_from:
            if f.active:
                # rclone refuses the combination instead of guessing which one should win.
                raise UsageError(
                    f"the usage of {files_from[0][2]} overrides all other filters, it should be "
                    "used alone or with --files-from or --files-from-raw"
                )
            f._files = set()
            for source, raw, flag in files_from:
                for line in _read_lines(source, raw=raw, flag=flag):
                    f._add_file(line)
            f._files_frozen = frozenset(f._files)
        return f

    def bind_source(self, source: Backend | Callable[[str], bytes | None]) -> Filter:
        """Read ignore files from ``source`` (a backend, or ``read(path) -> bytes | None``).

        Without a bound source, ``--ignore-file`` ignores nothing.  Returns ``self``.
        """
        if self._ignore_names:
            read = source if callable(source) else backend_reader(source)
            self._ignore = IgnoreFiles(self._ignore_names, read)
        return self

    @property
    def ignore_files(self) -> IgnoreFiles | None:
        return self._ignore

    def _parse_rules(self, opts: FilterOptions) -> None:
        implicit_exclude = False
        saw_exclude = False
        for glob in opts.include:
            self._add(True, glob)
            implicit_exclude = True
        for source in opts.include_from:
            for line in _read_lines(source, raw=False, flag="--include-from"):
                self._add(True, line)
            implicit_exclude = True
        for glob in opts.exclude:
            self._add(False, glob)
            saw_exclude = True
        for source in opts.exclude_from:
            for line in _read_lines(source, raw=False, flag="--exclude-from"):
                self._add(False, line)
            saw_exclude = True
        if implicit_exclude and saw_exclude:
            log.error(MIXED_INCLUDE_EXCLUDE_WARNING)
        for rule in opts.filter:
            self._add_rule(rule)
        for source in opts.filter_from:
            for line in _read_lines(source, raw=False, flag="--filter-from"):
                self._add_rule(line)
        if implicit_exclude:
            # Includes mean "only these": everything not matched above is excluded.
            self._add(False, "/**")

    def _add_rule(self, rule: str) -> None:
        if rule == "!":
            self._file_rules.clear()
            self._dir_rules.clear()
        elif rule.startswith("- "):
            self._add(False, rule[2:])
        elif rule.startswith("+ "):
            self._add(True, rule[2:])
        else:
            raise UsageError(f"malformed rule {rule!r}: expected '+ glob', '- glob' or '!'")

    def _add(self, include: bool, glob: str) -> None:
        is_dir_rule = glob.endswith("/")
        is_file_rule = not is_dir_rule
        if is_dir_rule and not include:
            # Excluding "dir/" excludes everything below it.
            glob += "**"
        if "**" in glob:
            is_dir_rule = is_file_rule = True
        pattern = _compile(glob)
        if is_file_rule:
            self._file_rules.add(include, pattern)
            # An include rule tells which directories can hold matches.  An exclude rule tells
            # nothing about directories (a dir may hold other, non-excluded files) -- except "*",
            # which excludes every file anywhere.
            if include or glob == "*":
                for dir_glob in _dir_globs(glob):
                    if dir_glob != "/":  # the root is always listed
                        self._dir_rules.add(include, _compile(dir_glob))
        if is_dir_rule:
            self._dir_rules.add(include, pattern)

    def _add_file(self, name: str) -> None:
        assert self._files is not None
        name = name.strip("/")
        self._files.add(name)
        parent = name
        while "/" in parent:
            parent = parent.rsplit("/", 1)[0]
            if parent in self._dirs:
                break
            self._dirs.add(parent)

    # -- queries -----------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """True when any filter could exclude something (not counting ``--max-depth``)."""
        return bool(
            self._files is not None
            or self._file_rules
            or self._dir_rules
            or self._min_size >= 0
            or self._max_size >= 0
            or self._mtime_from_ns is not None
            or self._mtime_to_ns is not None
            or self._exclude_if_present
            or self._ignore_names
        )

    @property
    def files_from(self) -> frozenset[str] | None:
        """The ``--files-from`` names (leading/trailing ``/`` removed), or None when not used."""
        return self._files_frozen

    @property
    def exclude_if_present(self) -> tuple[str, ...]:
        """Marker file names: a directory whose listing contains one is skipped entirely."""
        return self._exclude_if_present

    def include_file(self, path: str, size: int, mtime_ns: int | None) -> bool:
        """Whether the object at ``path`` (relative, ``/``-separated) passes the filter.

        ``size`` -1 (unknown) is never excluded by the size limits; ``mtime_ns`` None (unknown)
        is never excluded by the age limits.
        """
        if self._files is not None:
            return path in self._files
        if mtime_ns is not None:
            if self._mtime_from_ns is not None and mtime_ns < self._mtime_from_ns:
                return False
            if self._mtime_to_ns is not None and mtime_ns > self._mtime_to_ns:
                return False
        if size >= 0:
            if self._min_size >= 0 and size < self._min_size:
                return False
            if self._max_size >= 0 and size > self._max_size:
                return False
        if not self._file_rules.include(path):
            return False
        return self._ignore is None or not self._ignore.ignored(path, is_dir=False)

    def include_dir(self, path: str) -> bool:
        """Whether directory ``path`` should be listed; False means nothing below can match.

        Does not look at ``exclude_if_present`` (that needs the listing, see the property).
        """
        path = path.strip("/")
        if not path:
            return True
        if self._files is not None:
            return path in self._dirs
        if not self._dir_rules.include(path + "/"):
            return False
        return self._ignore is None or not self._ignore.ignored(path, is_dir=True)

    def include_path(self, path: str) -> bool:
        """The path rules (or the ``--files-from`` list) alone, ignoring size and age limits.

        For callers that only have a name, e.g. to decide whether a path given on the command
        line is filtered out before any object exists.
        """
        if self._files is not None:
            return path in self._files
        if not self._file_rules.include(path):
            return False
        return self._ignore is None or not self._ignore.ignored(path, is_dir=False)

    def dump(self) -> str:
        """The compiled rules, one per line (for ``--dump filters``-style debugging)."""
        lines = ["--- File filter rules ---"]
        lines += _describe(self._file_rules.rules)
        lines.append("--- Directory filter rules ---")
        lines += _describe(self._dir_rules.rules)
        return "\n".join(lines)


def _describe(rules: Iterable[tuple[bool, re.Pattern[str]]]) -> list[str]:
    return [("+ " if inc else "- ") + pat.pattern for inc, pat in rules]


# ---------------------------------------------------------------------------------------------
# Ignore files
# ---------------------------------------------------------------------------------------------

#: An ignore file larger than this is refused (it is a list of patterns, not data).
MAX_IGNORE_FILE = 1 << 20


def backend_reader(backend: Backend) -> Callable[[str], bytes | None]:
    """``read(path)``: the bytes of file ``path`` of ``backend``, None when there is none."""
    from .errors import DirNotFound, IsDirError, IsFileError, NotFound

    def read(path: str) -> bytes | None:
        try:
            with backend.get(path) as stream:
                return stream.read(MAX_IGNORE_FILE + 1)
        except (NotFound, DirNotFound, IsDirError, IsFileError):
            return None

    return read


class IgnoreFiles:
    """gitignore-syntax files named ``names`` in every folder, each applying to its folder and
    below, as git applies ``.gitignore``: a deeper file's decision overrides a shallower one,
    ``!pattern`` re-includes, and nothing below an ignored folder is looked at.

    Files are read lazily through ``read(path)`` and kept per folder; :meth:`forget` drops
    what was read (an edited ignore file then takes effect on the next question).
    """

    def __init__(self, names: tuple[str, ...], read: Callable[[str], bytes | None]) -> None:
        self.names = names
        self._read = read
        self._lock = threading.Lock()
        self._specs: dict[str, list[Any]] = {}  # folder -> its compiled specs (maybe empty)
        self._warned: set[str] = set()

    def _specs_of(self, folder: str) -> list[Any]:
        specs = self._specs.get(folder)
        if specs is not None:
            return specs
        import pathspec

        specs = []
        for name in self.names:
            path = f"{folder}/{name}" if folder else name
            try:
                data = self._read(path)
            except Exception as err:
                # An unreadable ignore file ignores nothing (everything is backed up) and
                # says so once; guessing what it might have said would be worse.
                if path not in self._warned:
                    self._warned.add(path)
                    log.warning("%s: cannot read ignore file, ignoring nothing from it: %s",
                                path, err)
                continue
            if data is None:
                continue
            if len(data) > MAX_IGNORE_FILE:
                if path not in self._warned:
                    self._warned.add(path)
                    log.warning("%s: ignore file larger than %d bytes, not used", path,
                                MAX_IGNORE_FILE)
                continue
            lines = data.decode("utf-8", errors="surrogateescape").splitlines()
            specs.append(pathspec.GitIgnoreSpec.from_lines(lines))
        with self._lock:
            self._specs[folder] = specs
        return specs

    def ignored(self, path: str, *, is_dir: bool) -> bool:
        """Whether ``path`` (relative to the source root) is ignored by some ignore file."""
        path = path.strip("/")
        if not path:
            return False
        parts = path.split("/")
        if not is_dir and parts[-1] in self.names:
            return False  # the ignore files themselves are kept (as git keeps .gitignore)
        decision: bool | None = None
        for depth in range(len(parts)):
            folder = "/".join(parts[:depth])
            rel = "/".join(parts[depth:]) + ("/" if is_dir else "")
            for spec in self._specs_of(folder):
                result = spec.check_file(rel)
                if result.include is not None:
                    decision = bool(result.include)
        return bool(decision)

    def forget(self, folder: str | None = None) -> None:
        """Drop what was read for ``folder`` (None: everything)."""
        with self._lock:
            if folder is None:
                self._specs.clear()
            else:
                self._specs.pop(folder.strip("/"), None)
