"""Plan: pure decisions from paired entries to actions (rclone-semantics.md §B.1).

Nothing here does I/O.  :func:`decide_file` turns one (src, dst) pair into one
:class:`Action`; when the decision needs hashes the listing did not provide it returns a
``hash`` action, and the executor calls :func:`decide_file` again with the fetched hashes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..backend import Features
from ..errors import CloudsyncError, NameNotSupported, NoRetryError
from ..types import HASH_ORDER, MODTIME_UNSUPPORTED, Entry, parent_of
from .options import SyncOptions

__all__ = ["Action", "Context", "DirTime", "common_hash", "decide_file", "dirs_equal",
           "modify_window"]

SECOND = 1_000_000_000

Kind = Literal[
    "copy", "move", "update_modtime", "skip", "hash", "error", "delete", "backup", "delete_src",
    "mkdir", "rmdir", "dir_modtime",
]


@dataclass(slots=True)
class Action:
    """One thing to do, with a readable ``str`` for plan tests and debugging.

    ``copy(a.txt)``, ``update_modtime(b.txt)``, ``delete(c.txt)``, ``skip(d.txt: reason)``,
    ``mkdir(e/)``, ``rmdir(f/)``, ``backup(g.txt)``, ``error(h.txt: message)``.
    ``backup`` on a copy means "move the existing destination into the backup first";
    ``then_delete_src`` on an update/skip means "then delete the source" (move).
    """

    kind: Kind
    path: str
    src: Entry | None = None
    dst: Entry | None = None
    reason: str = ""
    error: BaseException | None = None
    backup: bool = False
    then_delete_src: bool = False
    notices: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        name = self.path + ("/" if self.kind in ("mkdir", "rmdir") else "")
        if self.kind in ("skip", "error") and self.reason:
            text = f"{self.kind}({name}: {self.reason})"
        else:
            text = f"{self.kind}({name})"
        if self.backup:
            text += "+backup"
        if self.then_delete_src:
            text += "+delete_src"
        return text


def modify_window(opts_window_ns: int, src: Features, dst: Features) -> int:
    """``max(--modify-window, src precision, dst precision)``; the sentinel if either lacks mtimes."""
    if not src.modtime_supported or not dst.modtime_supported:
        return MODTIME_UNSUPPORTED
    return max(opts_window_ns, src.precision_ns, dst.precision_ns)


def common_hash(src: Features, dst: Features) -> str | None:
    """The first hash type (in rclone's registration order) both sides support."""
    shared = src.hashes & dst.hashes
    for name in HASH_ORDER:
        if name in shared:
            return name
    return min(shared) if shared else None


@dataclass(frozen=True)
class Context:
    """Everything a decision depends on besides the two entries."""

    opts: SyncOptions
    src_features: Features
    dst_features: Features
    #: optional capabilities of the destination (``set_modtime`` matters here)
    dst_caps: frozenset[str] = frozenset({"set_modtime"})
    window: int = 1
    hash_type: str | None = None
    #: copy directory modtimes (rclone: the source can have empty dirs, the destination has
    #: DirSetModTime, and --no-update-dir-modtime is off)
    dir_modtimes: bool = False

    @classmethod
    def build(cls, opts: SyncOptions, src: Features, dst: Features,
              dst_caps: frozenset[str] = frozenset({"set_modtime"})) -> Context:
        dir_modtimes = ("set_dir_modtime" in dst_caps and src.can_have_empty_dirs
                        and not opts.no_update_dir_modtime)
        return cls(opts, src, dst, dst_caps, modify_window(opts.modify_window_ns, src, dst),
                   common_hash(src, dst), dir_modtimes)

    @property
    def checksum_fallback(self) -> bool:
        """``--checksum`` with no common hash: rclone silently degrades to size-only."""
        return self.opts.checksum and self.hash_type is None


CHECKSUM_FALLBACK_NOTICE = ("--checksum is in use but the source and destination have no hashes "
                            "in common; falling back to --size-only")
FORCED_UPLOAD_NOTICE = "Forced to upload files to set modification times on this backend."
IMMUTABLE_MESSAGE = "Source and destination exist but do not match: immutable file modified"


def _size_differs(opts: SyncOptions, src: Entry, dst: Entry) -> bool:
    if opts.ignore_size or src.size < 0 or dst.size < 0:
        return False
    return src.size != dst.size


def _hash_compare(ctx: Context, src: Entry, dst: Entry) -> bool | None:
    """True same, False different, None unknown (no common type or one side empty/absent)."""
    ht = ctx.hash_type
    if ht is None:
        return None
    a = src.hashes.get(ht, "")
    b = dst.hashes.get(ht, "")
    if not a or not b:
        return None
    return a.lower() == b.lower()


def _needs_hash(ctx: Context, src: Entry, dst: Entry) -> bool:
    ht = ctx.hash_type
    return ht is not None and (ht not in src.hashes or ht not in dst.hashes)


def decide_file(src: Entry, dst: Entry | None, ctx: Context, *, hashed: bool = False) -> Action:
    """rclone's ``NeedTransfer`` for one file pair.

    Returns ``copy`` (transfer), ``skip`` (equal), ``update_modtime`` (same content, fix the
    modtime in place), ``hash`` (fetch the missing hashes and decide again with
    ``hashed=True``) or ``error`` (``--immutable``).
    """
    opts = ctx.opts
    path = src.path
    if dst is None:
        return Action("copy", path, src, None, reason="new")
    if opts.ignore_existing:
        return Action("skip", path, src, dst, reason="destination exists")
    if opts.ignore_times:
        return _transfer(ctx, src, dst, "--ignore-times")
    window = ctx.window
    force_modtime = False
    size_only = opts.size_only
    checksum = opts.checksum
    if opts.update:
        w = SECOND if window == MODTIME_UNSUPPORTED else window
        if src.mtime_ns is not None and dst.mtime_ns is not None:
            dt = dst.mtime_ns - src.mtime_ns
            if dt >= w:
                return Action("skip", path, src, dst, reason="destination is newer than source")
            if dt <= -w:
                checksum = True
                force_modtime = True
            else:
                size_only = not opts.checksum
    # equal(): a.
    if _size_differs(opts, src, dst):
        return _transfer(ctx, src, dst, "sizes differ")
    # b.
    if size_only:
        return Action("skip", path, src, dst, reason="same size")
    # c.
    if checksum and not force_modtime:
        same = _hash_compare(ctx, src, dst)
        if same is None and not hashed and _needs_hash(ctx, src, dst):
            return Action("hash", path, src, dst)
        if same is False:
            return _transfer(ctx, src, dst, f"{ctx.hash_type} differ")
        notices = (CHECKSUM_FALLBACK_NOTICE,) if ctx.hash_type is None else ()
        reason = f"{ctx.hash_type} same" if same else "size same (no hash to compare)"
        return Action("skip", path, src, dst, reason=reason, notices=notices)
    # d.
    if window == MODTIME_UNSUPPORTED or src.mtime_ns is None or dst.mtime_ns is None:
        return Action("skip", path, src, dst, reason="same size (modtimes not comparable)")
    # e.
    dt = dst.mtime_ns - src.mtime_ns
    if -window < dt < window:
        return Action("skip", path, src, dst, reason="same size and modtime")
    # f.
    same = _hash_compare(ctx, src, dst)
    if same is None and not hashed and _needs_hash(ctx, src, dst):
        return Action("hash", path, src, dst)
    if same is False:
        return _transfer(ctx, src, dst, f"{ctx.hash_type} differ")
    if same is None and not opts.refresh_times:
        # No hash can prove the contents equal: re-upload, the safe choice.
        return _transfer(ctx, src, dst, "modtimes differ and no hash to compare")
    if opts.no_update_modtime:
        return Action("skip", path, src, dst, reason="same content, modtime not updated")
    if opts.immutable:
        return Action("error", path, src, dst, reason="Timestamp mismatch between immutable objects",
                      error=NoRetryError(IMMUTABLE_MESSAGE, path=path))
    if "set_modtime" not in ctx.dst_caps:
        return Action("copy", path, src, dst, reason="can't set modtime in place",
                      notices=(FORCED_UPLOAD_NOTICE,))
    return Action("update_modtime", path, src, dst)


def _transfer(ctx: Context, src: Entry, dst: Entry, reason: str) -> Action:
    if ctx.opts.immutable:
        return Action("error", src.path, src, dst, reason=IMMUTABLE_MESSAGE,
                      error=NoRetryError(IMMUTABLE_MESSAGE, path=src.path))
    return Action("copy", src.path, src, dst, reason=reason)


def dirs_equal(src: Entry, dst: Entry, ctx: Context) -> bool:
    """rclone's ``DirsEqual``: True when the destination dir's modtime needs no change now."""
    opts = ctx.opts
    if opts.size_only or opts.immutable or opts.ignore_existing or ctx.window == MODTIME_UNSUPPORTED:
        return True
    if opts.ignore_times:
        return False
    if src.mtime_ns is None or dst.mtime_ns is None:
        return False
    dt = dst.mtime_ns - src.mtime_ns
    if -ctx.window < dt < ctx.window:
        return True
    return opts.update and dt >= ctx.window


@dataclass(slots=True)
class DirTime:
    """A destination directory whose modtime is copied from the source at the end of a run."""

    path: str  # destination spelling
    mtime_ns: int
    size: int = -1  # of the existing destination dir (dry-run notices), -1 for a new one
    #: made by this run (rclone then says it used DirSetModTime, else SetModTime;
    #: -M gives it all the source folder's metadata)
    created: bool = False


def name_problem(path: str, dst: Features) -> CloudsyncError | None:
    """Why ``dst`` cannot hold ``path`` (restricted characters, name too long), or None.

    Called once per new file: the common cases (no restriction hit) stay in C string code.
    """
    restricted = dst.restricted_chars
    if restricted and (restricted in path if len(restricted) == 1
                       else any(c in path for c in restricted)):
        bad = sorted({c for c in path if c in restricted})
        return NameNotSupported(
            f"the destination can't store the character(s) {''.join(bad)!r}", path=path)
    limit = dst.max_name_length
    if limit is not None and len(path) > limit:
        for part in path.split("/"):
            if len(part) > limit:
                return NameNotSupported(
                    f"name too long for the destination ({len(part)} > {limit} characters)",
                    path=path)
    return None


# ---------------------------------------------------------------------------------------------
# Whole-run planning (per pair, then the end-of-run deletions and directory work)
# ---------------------------------------------------------------------------------------------

Mode = Literal["copy", "sync", "move"]
Phase = Literal["all", "delete", "copy"]


class Planner:
    """Turns march pairs into actions for one copy/sync/move run.

    Pure bookkeeping: it remembers what the end of the run needs (delete candidates for
    ``--delete-after``, destination-only directories to prune, source-only directories for
    ``--create-empty-src-dirs``) and hands those out from :meth:`deletions` and
    :meth:`dir_actions`.  The executor decides whether they may run (no errors counted).
    """

    def __init__(self, ctx: Context, mode: Mode, *, backup: bool = False,
                 phase: Phase = "all") -> None:
        self.ctx = ctx
        self.mode = mode
        self.backup = backup
        self.phase = phase
        self.delete_candidates: list[Entry] = []
        #: --delete-during: destination-only files met before the first source file, held
        #: back until one shows up (then :meth:`release_held_deletes`), so that a source with
        #: no files at all is announced before anything goes, as with the other delete modes
        self.held_deletes: list[Entry] = []
        #: files the source side had (0 with candidates: "sync from an empty source")
        self.src_files = 0
        self.dst_only_dirs: list[str] = []
        self.src_only_dirs: list[str] = []
        #: directories whose modtime is copied at the end of the run (every dir the source has)
        self.dir_times: list[DirTime] = []
        #: destination dirs that directly hold a source file (the rest are "empty")
        self.dirs_with_files: set[str] = set()
        self._last_dir: str | None = None
        self._dir_times = ctx.dir_modtimes and phase != "delete"
        #: sync --track-renames: new files are held here (not dispatched) until the march is
        #: done and they were matched against the destination-only files; None: not tracking
        self.held_new: list[Action] | None = None

    @property
    def deletes(self) -> bool:
        return self.mode == "sync" and self.phase in ("all", "delete")

    def pair(self, src: Entry | None, dst: Entry | None, dst_path: str | None = None,
             dst_dir: str | None = None) -> Action | None:
        """The action for one pair, or None when there is nothing to do now.

        ``dst_path``: where a new file goes on the destination (its parent directory may be
        spelled differently there); defaults to the source path.  ``dst_dir``: the
        destination's spelling of the pair's parent directory (dir modtime bookkeeping).
        """
        if (src is not None and src.is_dir) or (dst is not None and dst.is_dir):
            if src is None:
                assert dst is not None
                if self.deletes:
                    self.dst_only_dirs.append(dst.path)
                return None
            path = dst.path if dst is not None else dst_path if dst_path is not None else src.path
            if dst is None:
                self.src_only_dirs.append(path)
            if self._dir_times and src.mtime_ns is not None:
                self.dir_times.append(DirTime(path, src.mtime_ns,
                                              dst.size if dst is not None else -1,
                                              created=dst is None))
                if dst is not None and not dirs_equal(src, dst, self.ctx):
                    # like rclone, right away: a dir nothing is written into keeps this
                    return Action("dir_modtime", path, src, dst)
            return None
        if src is not None:
            self.src_files += 1
        if src is not None and dst_dir is not None and dst_dir != self._last_dir:
            # pairs come directory by directory: one set insert per directory, not per file
            self._last_dir = dst_dir
            self.dirs_with_files.add(dst_dir)
        if src is None:
            assert dst is not None
            if not self.deletes:
                return None
            if self.phase == "delete" or (self.ctx.opts.delete_mode == "after"
                                          and self.phase == "all"):
                # after the transfers, or (--delete-before) after the whole delete-pass listing
                # succeeded: never on the strength of a half-finished listing
                self.delete_candidates.append(dst)
                return None
            if not self.src_files:
                self.held_deletes.append(dst)
                return None
            return self.delete_action(dst)
        if self.phase == "delete":
            return None
        action = decide_file(src, dst, self.ctx)
        if dst is None and dst_path is not None:
            action.path = dst_path
        action = self.adjust(action)
        if dst is None and self.held_new is not None and action.kind == "copy":
            self.held_new.append(action)
            return None
        return action

    def adjust(self, action: Action) -> Action:
        """Mode-specific touches on a decided action (move, backup)."""
        if action.kind == "copy":
            if self.mode == "move":
                action.kind = "move"
            if action.dst is not None and self.backup:
                action.backup = True
        elif (self.mode == "move" and action.kind in ("skip", "update_modtime")
              and not self.ctx.opts.ignore_existing):
            # rclone deletes an equal source, except with --ignore-existing.
            action.then_delete_src = True
        return action

    def delete_action(self, dst: Entry) -> Action:
        return Action("backup" if self.backup else "delete", dst.path, None, dst)

    def release_held_deletes(self) -> list[Action]:
        """--delete-during: the held deletions, once the source has shown a file."""
        held, self.held_deletes = self.held_deletes, []
        return [self.delete_action(d) for d in held]

    def deletions(self) -> list[Action]:
        """``--delete-after`` candidates, in listing order."""
        return [self.delete_action(d) for d in self.delete_candidates]

    def prune_actions(self) -> list[Action]:
        """Destination-only directories to remove, longest path first (sync only)."""
        if self.mode != "sync" or not self.ctx.dst_features.can_have_empty_dirs:
            return []
        return [Action("rmdir", p) for p in sorted(self.dst_only_dirs, key=lambda p: (-p.count("/"), -len(p), p))]

    def dir_modtime_levels(self, modified: set[str] | frozenset[str]) -> list[list[DirTime]]:
        """The end-of-run directory modtimes, one batch per depth, deepest first (rclone's
        ``setDelayedDirModTimes``).

        Only directories whose contents changed get one (``modified``: new dirs and parents of
        transferred files; a dir whose child dir gets one counts as changed too, since that
        write changes its modtime).  Without ``--create-empty-src-dirs`` a source dir with no
        file anywhere below it was never created, so it is left out.  The root never gets one.
        """
        if not self.dir_times:
            return []
        changed = set(modified)
        keep_empty = self.ctx.opts.create_empty_src_dirs
        nonempty: set[str] = set()
        if not keep_empty:
            for d in self.dirs_with_files:
                while d and d not in nonempty:
                    nonempty.add(d)
                    d = parent_of(d)
        levels: dict[int, list[DirTime]] = {}
        for item in self.dir_times:
            levels.setdefault(item.path.count("/"), []).append(item)
        out: list[list[DirTime]] = []
        for level in sorted(levels, reverse=True):
            batch = []
            for item in levels[level]:
                if item.path not in changed or not (keep_empty or item.path in nonempty):
                    continue
                changed.add(parent_of(item.path))
                batch.append(item)
            if batch:
                out.append(batch)
        return out

    def mkdir_actions(self, filled: set[str] | frozenset[str] = frozenset()) -> list[Action]:
        """``--create-empty-src-dirs``: source-only dirs that received no file."""
        if not self.ctx.opts.create_empty_src_dirs or not self.ctx.dst_features.can_have_empty_dirs:
            return []
        if self.phase == "delete":
            return []
        return [Action("mkdir", p) for p in sorted(self.src_only_dirs) if p not in filled]
