"""Faults, scenario switches, rate limiting and request statistics for the sandbox.

Why these exist: DESIGN.md §8 asks every loader to be proven against 429s, 5xx, timeouts,
malformed JSON, dropped connections, repeated bookmarks and totals that change mid-pull. The
sandbox serves real data, and these knobs make it misbehave on demand, exactly where a test
asks (a regular expression over the request's path and query).

Everything here is shared by the server's handler threads, so every method takes a lock.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

FAULT_KINDS = ("429", "500", "502", "503", "timeout", "malformed", "reset", "body")

#: Coursepath: "By default we limit the results to 100, 250 or 500 objects, depending on the
#: API endpoint" (developer.coursepath.com/docs/api.md). Which endpoint has which cap is not
#: published; these spread the three caps over the list routes. ``limit`` above a cap is
#: clamped silently, as the vendor's sentence implies.
COURSEPATH_CAPS = {
    "/api/v1/members": 100,
    "/api/v1/courses": 250,
    "/api/v1/groups": 500,
    "/api/v1/courses/{courseId}/members": 250,
    "/api/v1/groups/{groupId}/members": 100,
    "/api/v1/members/{memberId}/courses": 250,
    "/api/v1/members/{memberId}/groups": 500,
}
NEXT_FORMS = ("as_requested", "explicit_port", "upper_case_host", "other_scheme", "foreign_host")


@dataclass
class Modes:
    """How strictly (or how awkwardly) each platform behaves where the vendors leave room.

    The defaults are the strict readings (api-fidelity.md): the ones that lose records if a
    client assumes otherwise. Tests turn them; ``Faults.clear()`` puts the defaults back.

    - ``coursepath_caps``: route template → the most records a page holds, whatever ``limit``
      asks (a route not listed has no cap but ``limit``'s).
    - ``thrive_date_only_to``: how a date-only *To* is read, ``"midnight"`` (00:00 of that
      day, the reading that loses the day) or ``"end_of_day"``.
    - ``thrive_default_statuses``: the user statuses ``/users`` serves when the request
      names none (the vendor does not document its default).
    - ``brightspace_next``: how a ``Next`` link names the host: ``"as_requested"`` (the Host
      header), ``"explicit_port"`` (the scheme's default port written out when the Host has
      none), ``"upper_case_host"``, ``"other_scheme"`` (http ↔ https: a downgrade to test)
      or ``"foreign_host"`` (another host: a hostile server to test).
    """

    coursepath_caps: dict[str, int] = field(default_factory=lambda: dict(COURSEPATH_CAPS))
    thrive_date_only_to: str = "midnight"
    thrive_default_statuses: tuple[str, ...] = ("active",)
    brightspace_next: str = "as_requested"


@dataclass
class Fault:
    pattern: re.Pattern[str]
    kind: str
    remaining: int | None  # None: forever
    retry_after: float
    hold_s: float
    body: bytes = b""


@dataclass
class Switch:
    """A scenario switch: ``repeat_bookmark``, ``grow_during_pull``, ``omit_pagination`` or
    ``truncate``."""

    pattern: re.Pattern[str]
    kind: str
    remaining: int | None
    extra: int = 0
    keep: float = 1.0


class Faults:
    """Injected failures, matched against ``path?query`` as the client sent it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._switches: list[Switch] = []
        self.modes = Modes()

    def inject(
        self,
        path_regex: str,
        kind: str,
        times: int | None = 1,
        retry_after: float = 0.0,
        hold_s: float = 5.0,
        body: bytes = b"",
    ) -> None:
        """Make the next ``times`` matching requests fail with ``kind`` (None: forever).

        ``retry_after`` (seconds) is sent as ``Retry-After`` on 429 and 503; ``hold_s`` is how
        long a ``timeout`` holds the response before answering normally; ``body`` is what a
        ``"body"`` fault answers with status 200 instead of the real page (a hostile value).
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {', '.join(FAULT_KINDS)}")
        if times is not None and times < 1:
            raise ValueError("times must be 1 or more, or None for forever")
        with self._lock:
            self._faults.append(
                Fault(re.compile(path_regex), kind, times, retry_after, hold_s, body)
            )

    def repeat_bookmark(self, path_regex: str, times: int | None = None) -> None:
        """Brightspace lists matching the regex hand back a bookmark/Next to the same page."""
        with self._lock:
            self._switches.append(Switch(re.compile(path_regex), "repeat_bookmark", times))

    def grow_during_pull(self, path_regex: str, extra: int = 10, times: int | None = 1) -> None:
        """After page 1 of a matching Thrive envelope list is served, ``extra`` new records
        appear at the front of that list (so totals grow and later pages shift)."""
        if extra < 1:
            raise ValueError("extra must be 1 or more")
        with self._lock:
            self._switches.append(Switch(re.compile(path_regex), "grow_during_pull", times, extra))

    def omit_pagination(self, path_regex: str, times: int | None = None) -> None:
        """Matching Thrive envelope lists answer ``{"results": [...]}`` with no ``pagination``
        block, as the vendor's ``/users`` and ``/audiences`` pages show them."""
        with self._lock:
            self._switches.append(Switch(re.compile(path_regex), "omit_pagination", times))

    def truncate(self, path_regex: str, keep: float = 0.5, times: int | None = None) -> None:
        """Matching Thrive envelope pages lose their last records on the way (a truncating
        gateway): only the first ``keep`` share of ``results`` arrives, ``pagination`` as is."""
        if not 0 <= keep < 1:
            raise ValueError("keep must be from 0 to below 1")
        with self._lock:
            self._switches.append(Switch(re.compile(path_regex), "truncate", times, keep=keep))

    def clear(self) -> None:
        """Disarm every fault and switch and put the strict modes back to their defaults."""
        with self._lock:
            self._faults.clear()
            self._switches.clear()
            self.modes = Modes()

    def take(self, target: str) -> Fault | None:
        """The first live fault matching ``target``, consuming one use of it."""
        with self._lock:
            for fault in self._faults:
                if fault.pattern.search(target):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def switch(self, kind: str, target: str, *, consume: bool = True) -> Switch | None:
        with self._lock:
            for switch in self._switches:
                if switch.kind == kind and switch.pattern.search(target):
                    if consume and switch.remaining is not None:
                        switch.remaining -= 1
                        if switch.remaining <= 0:
                            self._switches.remove(switch)
                    return switch
        return None

    @property
    def pending(self) -> int:
        """How many faults and switches are still armed."""
        with self._lock:
            return len(self._faults) + len(self._switches)


class Stats:
    """Requests and records served per (platform, route template)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, str]] = Counter()
        self._records: Counter[tuple[str, str]] = Counter()
        self._hosts: Counter[str] = Counter()

    def host(self, host: str) -> None:
        """Count a request by the Host it named (through a proxy, any host can arrive)."""
        with self._lock:
            self._hosts[host.lower()] += 1

    @property
    def hosts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._hosts)

    def count(self, platform: str, route: str, records: int = 0) -> None:
        with self._lock:
            self._requests[platform, route] += 1
            if records:
                self._records[platform, route] += records

    def add_records(self, platform: str, route: str, records: int) -> None:
        if records:
            with self._lock:
                self._records[platform, route] += records

    @property
    def requests(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self._requests)

    @property
    def records(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self._records)

    def total_requests(self, platform: str | None = None) -> int:
        with self._lock:
            return sum(n for (p, _), n in self._requests.items() if platform in (None, p))

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._records.clear()
            self._hosts.clear()


class CreditBucket:
    """Brightspace's credit bucket, as D2L documents it: a bucket of ``credits`` refilled
    every minute, every call costing ``cost`` (10) credits.

    ``credits`` is the bucket's size per minute (None: no limit; the bucket shows D2L's
    published 50,000 credits and never empties). A window of ``window_s`` seconds stands for
    the minute, so tests can shorten it; the reset it reports is rounded up to a sixtieth of
    the window (whole seconds for a real minute, as D2L sends them). The first window opens
    with the first call. ``charged`` (credits spent per window, oldest first) and ``refused``
    (calls answered 429) say how fully a client used the budget and whether it tripped it.
    """

    DEFAULT_CREDITS = 50_000

    def __init__(self, credits: int | None, *, cost: int = 10, window_s: float = 60.0) -> None:
        self.cost = cost
        self.window_s = window_s
        self.limited = credits is not None and credits > 0
        self.capacity = credits if self.limited and credits else self.DEFAULT_CREDITS
        self.refused = 0
        self.charged: list[int] = []
        self._lock = threading.Lock()
        self._window_start: float | None = None
        self._remaining = self.capacity

    def spend(self) -> tuple[bool, int, str]:
        """Charge one call: (allowed, credits remaining, seconds until the bucket refills)."""
        with self._lock:
            now = time.monotonic()
            if self._window_start is None:
                self._window_start = now
                self.charged.append(0)
            if now - self._window_start >= self.window_s:
                elapsed = math.floor((now - self._window_start) / self.window_s)
                self._window_start += elapsed * self.window_s
                self.charged.extend([0] * elapsed)
                self._remaining = self.capacity
            reset = self._seconds(self._window_start + self.window_s - now)
            if not self.limited:
                return True, self.capacity, reset
            if self._remaining < self.cost:
                self.refused += 1
                return False, 0, reset
            self._remaining -= self.cost
            self.charged[-1] += self.cost
            return True, self._remaining, reset

    def _seconds(self, left: float) -> str:
        """``left`` rounded up to the window's second (a sixtieth of it), as header text."""
        unit = self.window_s / 60
        ticks = max(1, math.ceil(left / unit - 1e-9))
        if unit == 1:
            return str(ticks)
        milliseconds = math.ceil(ticks * unit * 1000 - 1e-6)  # never earlier than the refill
        return f"{milliseconds / 1000:.3f}".rstrip("0").rstrip(".")
