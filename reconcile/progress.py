"""How long-running library code reports progress without printing.

The library only calls a :class:`Progress`; the CLI decides whether that draws bars on a
terminal or does nothing (not a TTY, ``--quiet``). Tests pass a :class:`RecordingProgress`.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Protocol


class Progress(Protocol):
    """Counts work per task (e.g. ``"thrive /cpdEntries"``): pages and records so far.

    ``unit`` names what ``pages`` counts for a task that is not a pull (``"statements"``):
    such a task has no records.
    """

    def start(self, task: str, *, total_pages: int | None = None, unit: str = "pages") -> None: ...

    def advance(self, task: str, *, pages: int = 0, records: int = 0) -> None: ...

    def finish(self, task: str) -> None: ...


class NullProgress:
    """Reports nowhere: the default for library calls."""

    def start(self, task: str, *, total_pages: int | None = None, unit: str = "pages") -> None:
        pass

    def advance(self, task: str, *, pages: int = 0, records: int = 0) -> None:
        pass

    def finish(self, task: str) -> None:
        pass


class RecordingProgress:
    """Keeps the totals per task, thread-safely; for tests and for summaries."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.pages: dict[str, int] = defaultdict(int)
        self.records: dict[str, int] = defaultdict(int)
        self.finished: set[str] = set()

    def start(self, task: str, *, total_pages: int | None = None, unit: str = "pages") -> None:
        with self._lock:
            self.pages.setdefault(task, 0)
            self.records.setdefault(task, 0)

    def advance(self, task: str, *, pages: int = 0, records: int = 0) -> None:
        with self._lock:
            self.pages[task] += pages
            self.records[task] += records

    def finish(self, task: str) -> None:
        with self._lock:
            self.finished.add(task)
