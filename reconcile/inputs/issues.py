"""The issues table: every problem found in HR's spreadsheets, one row each.

Why a table and not exceptions: HR fix a sheet in one sitting, so they need *every* problem at
once, each saying where it is (file, sheet, the row number Excel shows, the column header as
typed), what is wrong and how to fix it. Checks add whole batches (a boolean mask over a
frame), so finding problems stays vectorised on a million rows.

Each problem has a stable ``code``; its severity comes from :data:`SEVERITY`, the one place
that decides what stops a run (``error``) and what only lands in the ``Input issues`` sheet
(``warning``). ``docs/spreadsheets.md`` lists the same split.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

COLUMNS = ("file", "sheet", "row", "column", "value", "problem", "fix", "severity", "code")

ERROR = "error"
WARNING = "warning"

SEVERITY: dict[str, str] = {
    # the file as a whole
    "unreadable_file": ERROR,
    "empty_file": ERROR,
    "file_too_large": ERROR,
    "not_a_spreadsheet": ERROR,
    "encrypted_workbook": ERROR,
    "unrecognised_file": ERROR,
    "missing_sheet": ERROR,
    "missing_column": ERROR,
    "no_rows": ERROR,
    "duplicate_column": WARNING,
    # any table
    "unparseable_date": ERROR,
    "ambiguous_date": ERROR,
    "bad_yes_no": ERROR,
    "not_a_number": ERROR,
    "negative_minutes": ERROR,
    "fractional_minutes": WARNING,
    # roster
    "blank_employee_id": ERROR,
    "duplicate_employee_id": ERROR,
    "duplicate_email": ERROR,
    "malformed_email": ERROR,
    "blank_email": WARNING,
    "blank_name": WARNING,
    "start_after_leave": ERROR,
    "fte_out_of_range": ERROR,
    "unknown_manager": ERROR,
    "manager_loop": WARNING,
    "unknown_audience": WARNING,
    "left_before_period": WARNING,
    # policy
    "blank_audience": ERROR,
    "duplicate_audience": ERROR,
    "structured_above_required": WARNING,
    "blank_category": ERROR,
    "duplicate_category": WARNING,
    "conflicting_category": ERROR,
    "min_above_max": ERROR,
    "unknown_system": ERROR,
    "blank_course_id": ERROR,
    "duplicate_course": ERROR,
    "unknown_category": WARNING,
    # cpd log
    "no_person": ERROR,
    "unknown_person": WARNING,
    "blank_title": WARNING,
    "blank_date": ERROR,
    "blank_minutes": ERROR,
}


def empty() -> pd.DataFrame:
    """An issues frame with no rows but the right columns and dtypes."""
    return _typed(pd.DataFrame({c: pd.Series([], dtype=object) for c in COLUMNS}))


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.loc[:, list(COLUMNS)]
    frame["row"] = frame["row"].astype("Int64")
    for column in COLUMNS:
        if column != "row":
            frame[column] = frame[column].astype(object)
    return frame


@dataclass
class Issues:
    """Collects problems as they are found, in batches; :meth:`frame` returns them all."""

    _parts: list[pd.DataFrame] = field(default_factory=list)

    def add(
        self,
        code: str,
        *,
        file: str,
        sheet: str = "",
        row: object = None,
        column: str = "",
        value: object = "",
        problem: object,
        fix: object,
    ) -> None:
        """Record one problem, or a batch when ``row``/``value``/``problem`` are arrays."""
        severity = SEVERITY[code]
        rows: list[Any] = list(row) if isinstance(row, (pd.Series, np.ndarray, list)) else [row]
        n = len(rows)
        if n == 0:
            return
        part = pd.DataFrame(
            {
                "file": file,
                "sheet": sheet,
                "row": pd.Series([None if r is None else int(r) for r in rows], dtype="Int64"),
                "column": column,
                "value": _texts(value, n),
                "problem": _texts(problem, n),
                "fix": _texts(fix, n),
                "severity": severity,
                "code": code,
            },
            index=range(n),
        )
        self._parts.append(part)

    def extend(self, frame: pd.DataFrame) -> None:
        if len(frame):
            self._parts.append(frame.loc[:, list(COLUMNS)])

    def __len__(self) -> int:
        return sum(len(p) for p in self._parts)

    def frame(self) -> pd.DataFrame:
        """Every problem, grouped by file, errors first, then sheet, row and column order."""
        if not self._parts:
            return empty()
        return order(_typed(pd.concat(self._parts, ignore_index=True)))


def order(frame: pd.DataFrame) -> pd.DataFrame:
    """Sort as HR read it: file by file, most serious first, then top to bottom."""
    if frame.empty:
        return frame.reset_index(drop=True)
    rank = (frame["severity"] != ERROR).astype(int)
    keyed = frame.assign(_rank=rank, _row=frame["row"].fillna(-1))
    keyed = keyed.sort_values(["file", "_rank", "sheet", "_row"], kind="stable")
    return keyed.drop(columns=["_rank", "_row"]).reset_index(drop=True)


def _texts(value: object, n: int) -> list[str] | str:
    if isinstance(value, (pd.Series, np.ndarray, list)):
        return [_text(v) for v in value]
    return _text(value)


def _text(value: object) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float):
        if np.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return value.isoformat()[:10] if getattr(value, "hour", 0) == 0 else value.isoformat()
    return str(value)


def count(frame: pd.DataFrame, severity: str) -> int:
    return int((frame["severity"] == severity).sum()) if len(frame) else 0


def combine(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    parts = [f for f in frames if len(f)]
    if not parts:
        return empty()
    return order(_typed(pd.concat(parts, ignore_index=True)))
