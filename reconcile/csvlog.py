"""Append-only CSV logs kept in a run folder (``writeback.csv``, ``sent.csv``).

Why one module: both logs exist so that a re-run after a failure does only what is left, so
both must survive a crash (each row flushed as it happens), be safe to open in Excel (no cell
runs as a formula) and read back exactly what was written.
"""

from __future__ import annotations

import csv
import datetime as dt
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from reconcile.errors import InputError
from reconcile.files import atomic_path

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NEUTRALISED = r"^'(?=[=+\-@\t\r])"  # the quote csv_cell adds, taken off when reading back


def csv_cell(value: Any) -> str:
    """Text for a CSV cell that Excel will not run as a formula."""
    if value is None:
        return ""
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def utc_now_text() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class AppendLog:
    """Appends rows to a CSV log, each flushed at once, from any thread.

    Appending as we go (rather than writing at the end) means an interrupted job still leaves
    a record of what was done, so the re-run does not do it again.
    """

    def __init__(self, path: Path, columns: Sequence[str]) -> None:
        self.path = path
        self.columns = tuple(columns)
        self._lock = threading.Lock()
        self._file: TextIO | None = None
        self._writer: Any = None

    def __enter__(self) -> AppendLog:
        new = not self.path.is_file() or self.path.stat().st_size == 0
        self._file = self.path.open("a", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)
        if new:
            self._writer.writerow(self.columns)
            self._file.flush()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            self._file.close()

    def append(self, values: dict[str, Any]) -> None:
        """One row; missing columns are blank, ``time`` is now unless given."""
        values = {"time": utc_now_text(), **values}
        line = [csv_cell(values.get(column)) for column in self.columns]
        with self._lock:
            assert self._file is not None, "use AppendLog as a context manager"
            self._writer.writerow(line)
            self._file.flush()


def read_log(path: Path, columns: Sequence[str], *, what: str) -> pd.DataFrame:
    """A log written by :class:`AppendLog`, every cell as the text that was given.

    Empty (with ``columns``) when there is none; an :class:`InputError` (exit 2) naming the
    file when it cannot be read or lacks a column. ``what`` names it in that message.
    """
    if not path.is_file():
        return pd.DataFrame(columns=list(columns), dtype="object")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise InputError(
            f"{path}: cannot be read ({error}); move it aside to start a fresh {what}"
        ) from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{path}: not a {what} (no column {', '.join(missing)}); move it aside "
            "to start a fresh one"
        )
    for column in frame.columns:
        frame[column] = frame[column].str.replace(_NEUTRALISED, "", regex=True)
    return frame


def write_csv_atomic(path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    """A whole CSV written to a temporary name and renamed (never half-written)."""
    with (
        atomic_path(path) as temporary,
        temporary.open("w", newline="", encoding="utf-8") as handle,
    ):
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([csv_cell(value) for value in row])
    return path
