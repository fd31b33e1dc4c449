"""``--compare-dest`` and ``--copy-dest``: other folders of the destination's remote that are
checked for a file before it is transferred (rclone's CompareOrCopyDest).

A source file the destination lacks (or holds in another version) is looked up in each folder
in turn; the first one holding a file equal to the source by the usual comparison (size and
modtime, hashes where those differ) settles it: with ``--compare-dest`` the file is not
transferred at all, with ``--copy-dest`` it is copied server-side from that folder into the
destination (no upload) and given the source's modtime.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

from ..errors import FatalError, IsFileError, NotFound
from .plan import decide_file
from .retry import call_with_retries

if TYPE_CHECKING:
    from ..backend import Backend
    from ..types import Entry
    from .plan import Context

__all__ = ["ExtraDests"]

log = logging.getLogger("cloudsync.engine")


class ExtraDests:
    """The ``--compare-dest`` or ``--copy-dest`` folders of one run."""

    def __init__(self, dests: list[Backend], *, copy: bool, src: Backend, dst: Backend,
                 ctx: Context, retries: int) -> None:
        self.dests = dests
        self.copy = copy
        self.src = src
        self.dst = dst
        self.ctx = ctx
        self.retries = retries
        flag = "--copy-dest" if copy else "--compare-dest"
        for d in dests:
            if not dst.same_remote(d):
                raise FatalError(f"can't use {flag} with a remote other than the destination's")
            if copy and not dst.has("copy"):
                raise FatalError("can't use --copy-dest on a remote which doesn't support server side copy")

    def find_equal(self, src: Entry) -> tuple[Backend, Entry, bool] | None:
        """The first folder holding a file equal to ``src``: (folder, file, same modtime too),
        or None."""
        for backend in self.dests:
            try:
                other = call_with_retries(lambda b=backend: b.stat(src.path), self.retries)  # type: ignore[misc]
            except (NotFound, IsFileError):
                continue
            if other.is_dir:
                continue
            kind = self._compare(src, other, backend)
            if kind in ("skip", "update_modtime"):
                return backend, other, kind == "skip"
        return None

    def _compare(self, src: Entry, other: Entry, backend: Backend) -> str:
        decided = decide_file(src, other, self.ctx)
        if decided.kind == "hash":
            ht = self.ctx.hash_type
            assert ht is not None
            if ht not in src.hashes:
                h = call_with_retries(lambda: self.src.hash(src.path, ht), self.retries)
                src = dataclasses.replace(src, hashes={**src.hashes, ht: h})
            if ht not in other.hashes:
                h = call_with_retries(lambda: backend.hash(other.path, ht), self.retries)
                other = dataclasses.replace(other, hashes={**other.hashes, ht: h})
            decided = decide_file(src, other, self.ctx, hashed=True)
        # "update_modtime": same content, another modtime -- equal for this purpose (rclone)
        return decided.kind
