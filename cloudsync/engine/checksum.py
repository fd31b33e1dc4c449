"""checksum: check a destination against a SUM file (rclone's ``checksum`` and ``md5sum -C``).

The SUM file stands in for the source of a ``check``: its lines are ``HASH  path`` (or
``HASH *path``, the binary marker of md5sum), hashes compared case-insensitively.  What differs
from ``check``: a destination file with no line is "sum not found" (the source-missing case,
counted as "N hashes missing"), a SUM line with no file is an error but not one of the
"differences found" (as rclone 1.75 counts them), and sizes are never compared (a SUM file
has none).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..errors import CloudsyncError, DirNotFound
from ..log import notice
from .act import Run
from .checker import _Counters, _Reports, log_summary
from .listing import walk_tree
from .options import CheckOptions
from .result import RunResult
from .retry import call_with_retries

if TYPE_CHECKING:
    from ..backend import Backend
    from ..types import Entry

__all__ = ["parse_sum_lines", "run_checksum"]

log = logging.getLogger("cloudsync.engine.check")

#: ``HASH`` one space, then a second space (text) or ``*`` (binary), then the path
_LINE = re.compile(r"^(\S+) [ *](.+)$")


def parse_sum_lines(lines: Iterable[str], name: str) -> dict[str, str]:
    """path → lower-case hash from the lines of a SUM file called ``name``.

    Blank lines are skipped; any other line not in the format gets rclone's NOTICE
    (``NAME: improperly formatted checksum line N``, counted from 0) and is ignored.
    """
    sums: dict[str, str] = {}
    for number, raw in enumerate(lines):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        m = _LINE.match(line)
        if m is None:
            notice(log, "%s: improperly formatted checksum line %d", name, number)
            continue
        sums[m.group(2).lstrip("/")] = m.group(1).lower()
    return sums


def run_checksum(sums: dict[str, str], hash_type: str, dst: Backend, opts: CheckOptions, *,
                 download: bool = False) -> RunResult:
    """Check every file of ``dst`` the filters admit against ``sums`` (path → hash).

    ``download`` hashes the destination's bytes locally instead of asking the backend.
    """
    from ..filters import Filter

    filt = Filter.from_options(opts.filters).bind_source(dst)
    run = Run(checkers=opts.checkers, transfers=1, backlog=opts.max_backlog)
    dst.set_concurrency(opts.checkers + 1)
    retries = opts.low_level_retries
    dst.set_low_level_retries(retries)
    reports = _Reports(opts)
    counts = _Counters()
    # the SUM file's paths are filtered as a listed source would be: by name and depth
    wanted = {p: h for p, h in sums.items()
              if filt.include_path(p) and (filt.max_depth < 0 or p.count("/") < filt.max_depth)}
    root_missing = False

    def difference(path: str, why: str, sigil: str, category: str, *, counted: bool = True) -> None:
        if counted:
            counts.add(differences=1)
        log.error("%s: %s", path, why, extra={"object": path})
        # rclone counts every difference as an error of its stats, as check does
        run.stats.error(CloudsyncError(why), retryable=True)
        reports.write(sigil, category, path)

    def compare(d: Entry, expected: str) -> None:
        try:
            if download:
                from ..hashing import hash_stream

                run.stats.add(transfers=1, total_transfers=1)
                stream = call_with_retries(lambda: dst.open_entry(d), retries)
                with stream:
                    digests, _ = hash_stream(stream, (hash_type,))
                got = digests[hash_type]
            else:
                got = d.hashes.get(hash_type) or call_with_retries(
                    lambda: dst.hash(d.path, hash_type), retries)
        except Exception as err:
            counts.add(errors=1)
            run.count_error(err, d.path)
            reports.write("!", "error", d.path)
            return
        if not got:
            counts.add(no_hash=1, matches=1)
            log.debug("%s: OK - could not check hash", d.path, extra={"object": d.path})
            reports.write("=", "match", d.path)
        elif got.lower() != expected:
            difference(d.path, "files differ", "*", "differ")
        else:
            counts.add(matches=1)
            log.debug("%s: OK", d.path, extra={"object": d.path})
            reports.write("=", "match", d.path)

    try:
        try:
            for d in walk_tree(dst, "", filter=filt, files_only=True, low_level_retries=retries):
                run.stats.add(listed=1)
                expected = wanted.pop(d.path, None)
                if expected is None:
                    if not opts.one_way:
                        counts.add(src_missing=1)
                        difference(d.path, "sum not found", "-", "missing_on_src")
                    continue
                run.stats.add(checks=1, total_checks=1)
                if download or hash_type not in d.hashes:
                    run.checkers.submit(compare, d, expected)
                else:
                    compare(d, expected)
        except DirNotFound as err:
            root_missing = True
            counts.add(errors=1)
            run.count_error(err)
        except Exception as err:
            counts.add(errors=1)
            run.count_error(err)
        run.join()
        for path in sorted(wanted):
            counts.add(dst_missing=1)
            # an error, but not one of the "N differences found" (rclone 1.75 counts them apart)
            difference(path, f"file not in {dst}", "+", "missing_on_dst", counted=False)
    finally:
        run.close()
        reports.close()

    log_summary(counts, dst, run.stats.errors,
                src_missing=(f"{counts.src_missing} hashes missing", None))

    result = run.result(differences=counts.differences, matches=counts.matches)
    if root_missing:
        result.final_error = next((e for e in run.errors if isinstance(e, DirNotFound)), None)
    elif counts.differences or counts.dst_missing:
        result.final_error = (CloudsyncError(f"{counts.differences} differences found")
                              if counts.differences else CloudsyncError(f"file not in {dst}"))
    return result
