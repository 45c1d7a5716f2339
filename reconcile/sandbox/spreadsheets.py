"""Write the generated organisation's HR spreadsheets the way HR would keep them.

``write_spreadsheets(org, folder)`` writes ``roster.xlsx`` (sheet ``Staff``), ``policy.xlsx``
(sheets ``Requirements``, ``Categories``, ``Courses``) and ``external_cpd.xlsx`` (the CPD log),
or CSV files with ``fmt="csv"``. Headers are the ones people type ("Employee ID", "Work
Email"...), ids are text cells so leading zeros survive, dates are real Excel dates, yes/no
columns say "Yes"/"No". Every file is written to a temporary name in the same folder and
renamed, so a reader never sees half a file.

XlsxWriter writes cell by cell (that is what the format is), so the sheets are written one row
at a time in ``constant_memory`` mode: memory stays flat however many people there are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xlsxwriter

from reconcile.errors import ConfigError, InputError
from reconcile.files import atomic_path
from reconcile.sandbox.model import Organisation

ROSTER_SHEET = "Staff"
CPD_LOG_SHEET = "External CPD"


@dataclass(frozen=True)
class Column:
    """One output column: header as HR types it, source column, and how cells are written."""

    header: str
    source: str
    kind: str = "text"  # text | number | date | yesno | yesblank
    width: int = 14


ROSTER_COLUMNS = (
    Column("Employee ID", "employee_id", width=12),
    Column("First Name", "first_name"),
    Column("Last Name", "last_name"),
    Column("Work Email", "email", width=36),
    Column("Department", "department", width=26),
    Column("Line Manager ID", "manager_id", width=15),
    Column("Audiences", "audiences", width=28),
    Column("Start Date", "start_date", "date", 12),
    Column("Leave Date", "leave_date", "date", 12),
    Column("FTE", "fte", "number", 6),
    Column("Exempt", "exempt", "yesblank", 8),
    Column("Exempt Reason", "exempt_reason", width=22),
    Column("Thrive ID", "thrive_id", width=26),
    Column("Brightspace ID", "brightspace_id"),
    Column("Coursepath ID", "coursepath_id"),
)
REQUIREMENT_COLUMNS = (
    Column("Audience", "audience", width=24),
    Column("Required Minutes", "required_minutes", "number", 17),
    Column("Structured Minutes", "structured_minutes", "number", 19),
)
CATEGORY_COLUMNS = (
    Column("Category", "category", width=26),
    Column("Structured", "structured", "yesno", 11),
    Column("Min Minutes", "min_minutes", "number", 12),
    Column("Max Minutes", "max_minutes", "number", 12),
)
COURSE_COLUMNS = (
    Column("System", "system", width=12),
    Column("Course ID", "course_id", width=26),
    Column("Title", "title", width=44),
    Column("CPD Minutes", "cpd_minutes", "number", 12),
    Column("Category", "category", width=26),
    Column("Structured", "structured", "yesno", 11),
    Column("Thrive Content ID", "thrive_content_id", width=26),
)
CPD_LOG_COLUMNS = (
    Column("Employee ID", "employee_id", width=12),
    Column("Email", "email", width=36),
    Column("Title", "title", width=44),
    Column("Date", "date", "date", 12),
    Column("Minutes", "minutes", "number", 9),
    Column("Category", "category", width=26),
    Column("Structured", "structured", "yesno", 11),
)

POLICY_SHEETS = (
    ("Requirements", "policy_requirements", REQUIREMENT_COLUMNS),
    ("Categories", "policy_categories", CATEGORY_COLUMNS),
    ("Courses", "policy_courses", COURSE_COLUMNS),
)


def write_spreadsheets(
    org: Organisation, folder: str | Path, *, fmt: str = "xlsx"
) -> dict[str, Path]:
    """Write roster, policy and CPD log into ``folder``; return their paths by role.

    ``fmt="xlsx"``: {"roster", "policy", "cpd_log"} → roster.xlsx, policy.xlsx,
    external_cpd.xlsx. ``fmt="csv"``: roster.csv, external_cpd.csv and the policy as three
    CSVs (policy-requirements.csv is returned as "policy", the other two as
    "policy_categories" and "policy_courses").
    """
    out = Path(folder)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"cannot create the folder {out}: {exc.strerror}; choose a writable folder"
        ) from exc
    if fmt == "xlsx":
        return _write_xlsx(org, out)
    if fmt == "csv":
        return _write_csv(org, out)
    raise ConfigError(f"unknown spreadsheet format {fmt!r}; use 'xlsx' or 'csv'")


# ---------------------------------------------------------------------------------------
# Cell values
# ---------------------------------------------------------------------------------------


def _cells(frame: pd.DataFrame, column: Column) -> list[object]:
    """A column as Python values ready for a cell: None where blank."""
    series = frame[column.source]
    missing = series.isna().to_numpy()
    if column.kind == "date":
        values = [
            None if gone else d
            for d, gone in zip(
                pd.to_datetime(series).dt.date.to_numpy(dtype=object), missing, strict=True
            )
        ]
        return values
    if column.kind in ("yesno", "yesblank"):
        no = "No" if column.kind == "yesno" else None
        flags = series.fillna(False).to_numpy(dtype=bool)
        return np.where(flags, "Yes", no).tolist() if no else ["Yes" if f else None for f in flags]
    if column.kind == "number":
        values = series.astype(object).where(series.notna(), None).tolist()
        return [
            None if v is None else (int(v) if float(v).is_integer() else float(v)) for v in values
        ]
    text = series.astype("string")
    return text.astype(object).where(text.notna(), None).tolist()


def _csv_column(frame: pd.DataFrame, column: Column) -> pd.Series:
    series = frame[column.source]
    if column.kind == "date":
        return pd.to_datetime(series).dt.strftime("%Y-%m-%d").astype("string")
    if column.kind == "yesno":
        return pd.Series(np.where(series.to_numpy(dtype=bool), "Yes", "No"))
    if column.kind == "yesblank":
        return pd.Series(np.where(series.to_numpy(dtype=bool), "Yes", ""))
    return series


# ---------------------------------------------------------------------------------------
# XLSX
# ---------------------------------------------------------------------------------------


def _write_xlsx(org: Organisation, out: Path) -> dict[str, Path]:
    paths = {
        "roster": out / "roster.xlsx",
        "policy": out / "policy.xlsx",
        "cpd_log": out / "external_cpd.xlsx",
    }
    _workbook(paths["roster"], [(ROSTER_SHEET, org.roster, ROSTER_COLUMNS)])
    _workbook(
        paths["policy"],
        [(sheet, getattr(org, attr), columns) for sheet, attr, columns in POLICY_SHEETS],
    )
    _workbook(paths["cpd_log"], [(CPD_LOG_SHEET, org.cpd_log, CPD_LOG_COLUMNS)])
    return paths


def _workbook(path: Path, sheets: list[tuple[str, pd.DataFrame, tuple[Column, ...]]]) -> None:
    with atomic_path(path) as tmp:
        book = xlsxwriter.Workbook(
            str(tmp),
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
            },
        )
        try:
            header = book.add_format({"bold": True, "bg_color": "#E7ECF2", "bottom": 1})
            date = book.add_format({"num_format": "yyyy-mm-dd"})
            for name, frame, columns in sheets:
                _sheet(book.add_worksheet(name), frame, columns, header, date)
        finally:
            book.close()


def _sheet(sheet, frame: pd.DataFrame, columns: tuple[Column, ...], header, date) -> None:
    for index, column in enumerate(columns):
        sheet.set_column(index, index, column.width)
        sheet.write_string(0, index, column.header, header)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(frame), 1), len(columns) - 1)
    values = [_cells(frame, column) for column in columns]
    writers = [_writer(sheet, column, date) for column in columns]
    for row_number, row in enumerate(zip(*values, strict=True), start=1):
        for col, (value, write) in enumerate(zip(row, writers, strict=True)):
            if value is not None:
                write(row_number, col, value)


def _writer(sheet, column: Column, date) -> Callable[[int, int, object], object]:
    if column.kind == "date":
        return lambda r, c, v: sheet.write_datetime(r, c, _midnight(v), date)
    if column.kind == "number":
        return sheet.write_number
    return sheet.write_string


# ---------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------


def _write_csv(org: Organisation, out: Path) -> dict[str, Path]:
    paths = {
        "roster": out / "roster.csv",
        "policy": out / "policy-requirements.csv",
        "policy_categories": out / "policy-categories.csv",
        "policy_courses": out / "policy-courses.csv",
        "cpd_log": out / "external_cpd.csv",
    }
    _csv(paths["roster"], org.roster, ROSTER_COLUMNS)
    _csv(paths["policy"], org.policy_requirements, REQUIREMENT_COLUMNS)
    _csv(paths["policy_categories"], org.policy_categories, CATEGORY_COLUMNS)
    _csv(paths["policy_courses"], org.policy_courses, COURSE_COLUMNS)
    _csv(paths["cpd_log"], org.cpd_log, CPD_LOG_COLUMNS)
    return paths


def _csv(path: Path, frame: pd.DataFrame, columns: tuple[Column, ...]) -> None:
    table = pd.DataFrame(
        {column.header: _csv_column(frame, column).reset_index(drop=True) for column in columns}
    )
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n")


def _midnight(day: Any) -> dt.datetime:
    """A date cell's value as the datetime XlsxWriter writes (midnight of that day)."""
    return dt.datetime.combine(day, dt.time())
