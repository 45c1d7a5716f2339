"""Terminal side of the CLI: logging levels and progress bars. Only ``cli.py`` imports this."""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Iterator

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichBars

from reconcile.progress import NullProgress, Progress

stderr = Console(stderr=True, highlight=False)


def configure_logging(*, quiet: bool, verbose: bool, debug: bool) -> None:
    """Warnings by default, info with --verbose, everything with --debug, errors with --quiet."""
    level = logging.WARNING
    if verbose:
        level = logging.INFO
    if debug:
        level = logging.DEBUG
    if quiet:
        level = logging.ERROR
    handler = RichHandler(console=stderr, show_path=debug, show_time=debug, markup=False)
    logger = logging.getLogger("reconcile")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False


class TerminalProgress:
    """Rich bars, one per task, showing pages and records; used only on a terminal."""

    def __init__(self) -> None:
        self._bars = RichBars(
            TextColumn("{task.description:<34}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=stderr,
            transient=False,
        )
        self._ids: dict[str, TaskID] = {}
        self._records: dict[str, int] = {}
        self._units: dict[str, str] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> TerminalProgress:
        self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bars.stop()

    def _task(self, task: str, total: int | None = None) -> TaskID:
        if task not in self._ids:
            self._ids[task] = self._bars.add_task(task, total=total, detail=self._detail(task))
            self._records[task] = 0
        return self._ids[task]

    def _detail(self, task: str) -> str:
        """What the count is: a pull's pages and the records in them, or the task's unit."""
        unit = self._units.get(task, "pages")
        if unit != "pages":
            return unit
        return f"pages  {self._records.get(task, 0):>9,} records"

    def start(self, task: str, *, total_pages: int | None = None, unit: str = "pages") -> None:
        with self._lock:
            self._units[task] = unit
            self._records[task] = 0  # a task run again (the demo's second month) starts over
            task_id = self._task(task, total_pages)
            self._bars.reset(task_id, total=total_pages, detail=self._detail(task))

    def advance(self, task: str, *, pages: int = 0, records: int = 0) -> None:
        with self._lock:
            task_id = self._task(task)
            self._records[task] += records
            self._bars.update(task_id, advance=pages, detail=self._detail(task))

    def finish(self, task: str) -> None:
        with self._lock:
            task_id = self._task(task)
            done = self._bars.tasks[[t.id for t in self._bars.tasks].index(task_id)].completed
            self._bars.update(task_id, total=done)


@contextlib.contextmanager
def progress_bars(*, quiet: bool) -> Iterator[Progress]:
    """Bars on an interactive terminal while the block runs; silence when piped, redirected
    or --quiet."""
    if quiet or not sys.stderr.isatty():
        yield NullProgress()
        return
    with TerminalProgress() as bars:
        yield bars
