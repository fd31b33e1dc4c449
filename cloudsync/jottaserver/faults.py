"""Fault injection for the fake server: per-route failures by count or by rate.

A fault matches a request when its ``route`` regular expression is found (``re.search``) in the
request target – the path plus ``?`` and the raw query string, e.g. ``/jfs/u/Jotta/Archive/a?mode=bin``
– and, if given, the method equals ``method``.  Kinds:

``status``    answer ``status`` (default 500) with the route's normal error document.
``429``       answer 429 Too Many Requests with ``Retry-After: <retry_after>``.
``reset``     reset the TCP connection mid-body: for a request with a body (an upload) the server
              reads about half of it, keeps what it read (the revision stays INCOMPLETE) and
              resets; otherwise it sends the headers and half the response body, then resets.
``truncate``  send the full ``Content-Length`` header but only half the body, then close.
``slow``      sleep ``delay`` seconds before handling the request normally.

``count=N`` fires on the next N matching requests; ``rate=p`` fires with probability ``p`` on each
(optionally still capped by ``count``); neither means ``count=1``.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field

__all__ = ["FAULT_KINDS", "Fault", "FaultSet"]

FAULT_KINDS = ("status", "429", "reset", "truncate", "slow")


@dataclass
class Fault:
    route: str
    kind: str
    count: int | None = None
    rate: float | None = None
    status: int = 500
    retry_after: int = 1
    delay: float = 1.0
    method: str | None = None
    fired: int = 0
    _regex: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")
        if self.count is None and self.rate is None:
            self.count = 1
        if self.rate is not None and not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate must be within [0, 1]")
        if self.kind == "429":
            self.status = 429
        self._regex = re.compile(self.route)

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.fired >= self.count


class FaultSet:
    """Thread-safe list of active faults; the first matching, firing fault wins."""

    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._rng = random.Random(seed)

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pick(self, method: str, target: str) -> Fault | None:
        with self._lock:
            for f in self._faults:
                if f.exhausted:
                    continue
                if f.method is not None and f.method.upper() != method.upper():
                    continue
                if not f._regex.search(target):
                    continue
                if f.rate is not None and self._rng.random() >= f.rate:
                    continue
                f.fired += 1
                return f
            return None
