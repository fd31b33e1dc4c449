"""-i/--interactive: rclone's question before each change, on standard output.

The engine asks through the ``confirm(action, path)`` hook of its options
(:class:`cloudsync.engine.act.Run` serialises the questions across worker threads); this module
is the hook.  Wording and answers are rclone 1.75's, with our name where rclone prints its own::

    cloudsync: copy "a.txt"?
    y) Yes, this is OK (default)
    n) No, skip this
    s) Skip all copy operations with no more questions
    !) Do all copy operations with no more questions
    q) Exit cloudsync now.

An empty line is "y"; "s" and "!" answer every later question about the same action; "q"
ends the run at once with exit code 0; no answer to read (standard input closed or at its
end) ends it with ``Failed to read line: EOF`` and exit code 1 -- as rclone does.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import click

from ..engine.act import StopRun
from ..log import notice

__all__ = ["Asker", "current_asker"]

log = logging.getLogger("cloudsync.cli")

_CHOICES = "y, n, s, !, q"
_META_KEY = "cloudsync.interactive"


class Asker:
    """The -i confirm hook of one command run; remembers "s"/"!" answers per action."""

    def __init__(self, stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
        self._stdin = stdin
        self._stdout = stdout
        self._all: dict[str, bool] = {}
        #: set when the user ended the run ("q": 0) or nothing could be read (1)
        self.exit_code: int | None = None

    def __call__(self, action: str, path: str) -> bool:
        if self.exit_code is not None:
            raise StopRun()
        if action in self._all:
            return self._all[action]
        out = self._stdout or sys.stdout
        out.write(f'\ncloudsync: {action} "{path}"?\n'
                  "y) Yes, this is OK (default)\n"
                  "n) No, skip this\n"
                  f"s) Skip all {action} operations with no more questions\n"
                  f"!) Do all {action} operations with no more questions\n"
                  "q) Exit cloudsync now.\n")
        out.flush()
        while True:
            line = (self._stdin or sys.stdin).readline()
            if not line:
                log.critical("Failed to read line: EOF")
                self.exit_code = 1
                raise StopRun()
            answer = line.strip() or "y"
            if len(answer) != 1:
                out.write(f"This value must be a single character, one of the following: {_CHOICES}.\n")
            elif answer.lower() not in "ynsq!":
                out.write(f"This value must be one of the following characters: {_CHOICES}.\n")
            else:
                break
            out.flush()
        answer = answer.lower()
        if answer == "s":
            notice(log, "Skipping all %s operations from now on without asking", action)
            self._all[action] = False
        elif answer == "!":
            notice(log, "Doing all %s operations from now on without asking", action)
            self._all[action] = True
        elif answer == "q":
            notice(log, "Quitting cloudsync now")
            self.exit_code = 0
            raise StopRun()
        return answer in ("y", "!")


def current_asker(create: bool = False) -> Asker | None:
    """The hook of the running command (one per invocation), made on first use with ``create``."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return Asker() if create else None
    meta = ctx.find_root().meta
    asker = meta.get(_META_KEY)
    if asker is None and create:
        asker = meta[_META_KEY] = Asker()
    return asker if isinstance(asker, Asker) else None
