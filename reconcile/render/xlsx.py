"""``compliance.xlsx`` (DESIGN.md §7): the compliance officer's workbook.

Written with XlsxWriter in ``constant_memory`` mode: it was the fastest writer measured
(research/perf-baselines.md §1, bench/reports_xlsx.py) and keeps memory flat for millions of
activity rows. Every input string is written as a string (``strings_to_formulas`` off), so
``=cmd()`` in a title can never become a formula. Instants are shown in the organisation's
local time as real Excel dates (serial numbers with a date format, no timezone).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xlsxwriter

from reconcile.config import EXCEL_DATA_ROWS, WORKBOOK_DETAIL_ROWS
from reconcile.engine.changes import CHANGES_HEADERS, Changes
from reconcile.engine.exceptions import TYPES
from reconcile.engine.result import (
    ACTIVITY_HEADERS,
    COMPLETION_HEADERS,
    EXCEPTION_HEADERS,
    PEOPLE_HEADERS,
    Result,
)
from reconcile.engine.status import STATUSES
from reconcile.files import atomic_path, remove
from reconcile.render.ledger_csv import write_ledger_csv
from reconcile.render.xlsx_columns import Column, Kind, column, fitted_width, to_local

log = logging.getLogger(__name__)

#: Exception types about an account or a file, not one ledger record.
_NOT_OF_A_RECORD = frozenset(
    {"unmatched_account", "ambiguous_match", "platform_total_mismatch", "input_issue"}
)

SHEETS = (
    "Summary",
    "People",
    "Activities",
    "Completions",
    "Exceptions",
    "Categories",
    "Departments",
    "Sources",
    "Input issues",
)

#: Status → (fill, font colour): green, blue, amber, red, grey (research/aesthetics.md spirit).
STATUS_COLOURS = {
    "Compliant": ("#C6EFCE", "#006100"),
    "On track": ("#DDEBF7", "#1F4E79"),
    "At risk": ("#FFE699", "#7F6000"),
    "Non-compliant": ("#FFC7CE", "#9C0006"),
    "Exempt": ("#E7E6E6", "#3A3838"),
    "Not required": ("#E7E6E6", "#3A3838"),
}

_NUMBER_FORMATS = {
    "int": "#,##0",
    "float": "#,##0.0",
    "pct": "0.0%",
    "progress": '0.0"%"',
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm",
}

ISSUE_COLUMNS = ("file", "sheet", "row", "column", "value", "problem", "fix", "severity", "code")

PulledAt = Mapping[Any, Any]
#: Rows converted to Python values at a time: bounds memory on 2M-row sheets.
_BLOCK_ROWS = 65_536


def write_workbook(
    result: Result,
    path: str | os.PathLike[str],
    *,
    issues: pd.DataFrame | None = None,
    pulled_at: PulledAt | None = None,
    row_limit: int = EXCEL_DATA_ROWS,
    changes: Changes | None = None,
    detail_rows: int = WORKBOOK_DETAIL_ROWS,
) -> Path:
    """Write ``compliance.xlsx`` to ``path`` atomically and return the path.

    ``issues`` is the spreadsheet validation frame (file, sheet, row, column, value, problem,
    fix, severity, code) for the ``Input issues`` sheet. ``pulled_at`` maps
    ``(source, table)`` (or ``"source/table"``, or ``source`` alone) to the instant the table
    was pulled, or is a snapshot manifest dict (see :func:`pulled_at_from_manifest`).
    ``row_limit`` is the data rows per sheet before a sheet continues on ``Name (2)``; it is
    only lowered by tests. ``changes`` (from ``run --compare``) adds the ``Changes`` sheet
    right after ``Summary``. A ledger longer than ``detail_rows`` (``[output]
    workbook_detail_rows``) is written whole to ``activities.csv`` / ``completions.csv``
    beside the workbook, and its sheet keeps the records that carry an exception.
    """
    if row_limit < 1 or row_limit > EXCEL_DATA_ROWS:
        raise ValueError(f"row_limit must be 1..{EXCEL_DATA_ROWS}, got {row_limit}")
    target = Path(path)
    with atomic_path(target, mode=0o600) as temporary, _Sink(temporary) as sink:
        parts = temporary.with_suffix(".parts")  # XlsxWriter's own temporary files
        parts.mkdir()
        try:
            writer = _Writer(result, sink, issues, _pulled_lookup(pulled_at), row_limit, parts)
            writer.changes = changes
            writer.input_files = _input_files(pulled_at)
            writer.ledgers = _Ledgers(target.parent, detail_rows)
            writer.write()
        finally:
            remove(parts)
    return target


class _Sink:
    """The workbook's file, which turns into a bin after the first failed write.

    Why: XlsxWriter zips the workbook at ``close()``; when the disk fills up, its ZipFile is
    left open and, when garbage-collected, tries to write its directory again and prints
    "Exception ignored in ZipFile.__del__". The first error is the one that matters (it is
    raised as the OSError it is); after it, further writes are dropped.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: Any = None
        self.failed = False

    def __enter__(self) -> _Sink:
        self._handle = self.path.open("wb")
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._handle.close()
        except OSError:
            if not self.failed and exc[0] is None:
                raise

    def _guard(self, action: Any, *args: Any) -> Any:
        if self.failed:
            return None
        try:
            return action(*args)
        except OSError:
            self.failed = True
            raise

    def write(self, data: bytes) -> int:
        return len(data) if self.failed else self._guard(self._handle.write, data)

    def flush(self) -> None:
        self._guard(self._handle.flush)

    def tell(self) -> int:
        return self._handle.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0 if self.failed else self._guard(self._handle.seek, offset, whence)

    def seekable(self) -> bool:
        return True


# --------------------------------------------------------------------------- pulled at


def pulled_at_from_manifest(manifest: Mapping[str, Any]) -> dict[tuple[str, str], Any]:
    """``(source, table) → pulled at`` from a snapshot manifest, tolerant of its shape.

    Accepts ``{"tables": [{"source", "table", "pulled_at"}, ...]}`` and
    ``{"sources": {name: {"pulled_at", "tables": {table: {...}}}}}``.
    """
    out: dict[tuple[str, str], Any] = {}
    tables = manifest.get("tables")
    if isinstance(tables, list):
        for t in tables:
            if isinstance(t, Mapping) and t.get("pulled_at"):
                out[(str(t.get("source", "")), str(t.get("table", "")))] = t["pulled_at"]
    sources = manifest.get("sources")
    if isinstance(sources, Mapping):
        for name, info in sources.items():
            if not isinstance(info, Mapping):
                continue
            if info.get("pulled_at"):
                out.setdefault((str(name), ""), info["pulled_at"])
            for table, tinfo in (info.get("tables") or {}).items():
                when = tinfo.get("pulled_at") if isinstance(tinfo, Mapping) else None
                if when or info.get("pulled_at"):
                    out[(str(name), str(table))] = when or info["pulled_at"]
    return out


def _input_files(manifest: PulledAt | None) -> list[Mapping[str, Any]]:
    """The HR spreadsheets a snapshot manifest lists under ``inputs`` (name, size, sha256)."""
    files = manifest.get("inputs") if isinstance(manifest, Mapping) else None
    if not isinstance(files, list):
        return []
    return [f for f in files if isinstance(f, Mapping) and f.get("name")]


def _input_file_line(info: Mapping[str, Any]) -> str:
    size, digest = info.get("size"), info.get("sha256")
    parts = [
        f"{int(size):,} bytes" if isinstance(size, int) else "",
        f"SHA-256 {digest}" if digest else "",
    ]
    return " · ".join(p for p in parts if p) or "read at run time"


def _pulled_lookup(pulled_at: PulledAt | None) -> dict[tuple[str, str], Any]:
    if not pulled_at:
        return {}
    if "tables" in pulled_at or "sources" in pulled_at:
        return pulled_at_from_manifest(pulled_at)
    out: dict[tuple[str, str], Any] = {}
    for key, when in pulled_at.items():
        if isinstance(key, tuple):
            out[(str(key[0]), str(key[1]))] = when
        elif "/" in str(key):
            source, table = str(key).split("/", 1)
            out[(source, table)] = when
        else:
            out[(str(key), "")] = when
    return out


# --------------------------------------------------------------------------- sheets


#: How a sheet column is written, where it is not text (the headers are the Result's).
PEOPLE_KINDS: Mapping[str, Kind] = {
    "required": "int",
    "structured_required": "int",
    "counted": "int",
    "structured": "int",
    "pending": "int",
    "shortfall": "int",
    "progress": "progress",
}
ACTIVITY_KINDS: Mapping[str, Kind] = {
    "structured": "bool",
    "minutes": "int",
    "completed_at": "datetime",
    "local_date": "date",
}
COMPLETION_KINDS: Mapping[str, Kind] = {
    "completed_at": "datetime",
    "local_date": "date",
    "passed": "bool",
    "score": "float",
    "cpd_minutes": "int",
    "structured": "bool",
}
EXCEPTION_KINDS: Mapping[str, Kind] = {"minutes": "int"}


def _sheet_columns(
    frame: pd.DataFrame, headers: Mapping[str, str], kinds: Mapping[str, Kind], tz: str
) -> list[Column]:
    """The columns of ``frame`` that ``headers`` names, in its order, under its headers."""
    return [
        column(header, kinds.get(name, "text"), frame[name], tz)
        for name, header in headers.items()
        if name in frame.columns
    ]


def _people_columns(result: Result, tz: str) -> list[Column]:
    return _sheet_columns(result.people, PEOPLE_HEADERS, PEOPLE_KINDS, tz)


def _activity_columns(result: Result, tz: str) -> list[Column]:
    return _sheet_columns(result.activities, ACTIVITY_HEADERS, ACTIVITY_KINDS, tz)


def _completion_columns(result: Result, tz: str) -> list[Column]:
    return _sheet_columns(result.completions, COMPLETION_HEADERS, COMPLETION_KINDS, tz)


def _exception_columns(result: Result, tz: str) -> list[Column]:
    return _sheet_columns(result.exceptions, EXCEPTION_HEADERS, EXCEPTION_KINDS, tz)


def _category_columns(result: Result, tz: str) -> list[Column]:
    c = result.categories
    spec: list[tuple[str, Kind, str]] = [
        ("Category", "text", "category"),
        ("People", "int", "people"),
        ("Counted (min)", "int", "counted"),
        ("Structured (min)", "int", "structured"),
        ("Capped (min)", "int", "capped"),
        ("Minimum (min)", "int", "min_minutes"),
        ("People below minimum", "int", "people_below_minimum"),
    ]
    return [column(h, k, c[n], tz) for h, k, n in spec if n in c.columns]


def _department_columns(result: Result, tz: str) -> list[Column]:
    d = result.departments
    spec: list[tuple[str, Kind, str]] = [
        ("Department", "text", "department"),
        ("People", "int", "people"),
    ]
    spec += [(s, "int", s) for s in STATUSES]
    spec += [
        ("Required (min)", "int", "required"),
        ("Counted (min)", "int", "counted"),
        ("Shortfall (min)", "int", "shortfall"),
        ("Compliance rate", "pct", "compliance_rate"),
    ]
    return [column(h, k, d[n], tz) for h, k, n in spec if n in d.columns]


def _source_columns(result: Result, tz: str, pulled: dict[tuple[str, str], Any]) -> list[Column]:
    sheet = result.sources_sheet()
    cols = [column("Source", "text", sheet["Source"]), column("Table", "text", sheet["Table"])]
    cols += [column(name, "int", sheet[name]) for name in sheet.columns[2:]]
    whens = [
        to_local(pulled.get((s, t), pulled.get((s, ""))), tz)
        for s, t in zip(sheet["Source"].astype(str), sheet["Table"].astype(str), strict=True)
    ]
    cols.append(column("Pulled at", "datetime", pd.Series(whens, dtype="datetime64[us]"), tz))
    return cols


def _change_columns(changes: Changes, tz: str) -> list[Column]:
    """The Changes sheet (``run --compare``): one row per person and change type."""
    kinds = {"counted": "int", "shortfall": "int", "previous_counted": "int"}
    kinds["previous_shortfall"] = "int"
    rows = changes.rows
    return [
        column(header, kinds.get(name, "text"), rows[name], tz)  # type: ignore[arg-type]
        for name, header in CHANGES_HEADERS.items()
    ]


def _issue_columns(issues: pd.DataFrame | None, tz: str) -> list[Column]:
    frame = issues if issues is not None else pd.DataFrame(columns=list(ISSUE_COLUMNS))
    frame = frame.reindex(columns=list(ISSUE_COLUMNS))
    kinds = {"row": "int"}
    return [
        column(name[:1].upper() + name[1:], kinds.get(name, "text"), frame[name], tz)  # type: ignore[arg-type]
        for name in ISSUE_COLUMNS
    ]


# --------------------------------------------------------------------------- writer


class _Writer:
    """One workbook write; holds the formats so each is created once."""

    def __init__(
        self,
        result: Result,
        path: Any,
        issues: pd.DataFrame | None,
        pulled: dict[tuple[str, str], Any],
        row_limit: int,
        parts: Path | None = None,
    ) -> None:
        self.result = result
        self.tz = result.rules.timezone
        self.issues = issues
        self.pulled = pulled
        self.input_files: list[Mapping[str, Any]] = []
        self.row_limit = row_limit
        self.book = xlsxwriter.Workbook(
            path,
            {
                # the sheets' temporary files go beside the workbook and are removed with it,
                # not left in a system temp folder when the disk fills up
                "tmpdir": str(parts) if parts else None,
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
            },
        )
        self.book.set_properties({"title": "CPD compliance", "created": dt.datetime(2000, 1, 1)})
        self.header = self.book.add_format(
            {
                "bold": True,
                "font_color": "#FFFFFF",
                "bg_color": "#1F3864",
                "border": 1,
                "border_color": "#BFBFBF",
                "text_wrap": True,
                "valign": "top",
            }
        )
        self.number = {
            k: self.book.add_format({"num_format": f}) for k, f in _NUMBER_FORMATS.items()
        }
        self.status = {
            s: self.book.add_format({"bg_color": bg, "font_color": fg})
            for s, (bg, fg) in STATUS_COLOURS.items()
        }
        self.title = self.book.add_format({"bold": True, "font_size": 14})
        self.label = self.book.add_format({"bold": True})
        self.department_sheet: tuple[str, int, int, int] | None = None
        self.changes: Changes | None = None
        self.ledgers: _Ledgers | None = None  # where long ledgers go; None: all on the sheets

    def write(self) -> None:
        tz, r = self.tz, self.result
        summary_sheet = self.book.add_worksheet("Summary")
        if self.changes is not None:
            self._table("Changes", _change_columns(self.changes, tz), status_col="Status")
        self._table("People", _people_columns(r, tz), status_col="Status")
        self._ledger("Activities", _activity_columns(r, tz), r.activities)
        self._ledger("Completions", _completion_columns(r, tz), r.completions)
        self._table("Exceptions", _exception_columns(r, tz))
        self._table("Categories", _category_columns(r, tz))
        dept_cols = _department_columns(r, tz)
        self._table("Departments", dept_cols)
        self.department_sheet = ("Departments", len(dept_cols[0]), 0, len(dept_cols) - 1)
        self._table("Sources", _source_columns(r, tz, self.pulled))
        self._table("Input issues", _issue_columns(self.issues, tz))
        self._summary(summary_sheet)
        try:
            self.book.close()
        except xlsxwriter.exceptions.FileCreateError as error:  # wraps the OSError
            cause = error.args[0] if error.args else None
            if isinstance(cause, OSError):
                raise cause from None
            raise

    # ---- data sheets

    def _ledger(self, name: str, cols: list[Column], records: pd.DataFrame) -> None:
        """A record-level sheet: every record, or past ``detail_rows`` the full ledger in a
        CSV file beside the workbook and, on the sheet, the records with an exception."""
        if self.ledgers is None or len(records) <= self.ledgers.detail_rows:
            self._table(name, cols)
            return
        csv_path = self.ledgers.folder / f"{name.lower()}.csv"
        with atomic_path(csv_path, mode=0o600) as temporary:
            write_ledger_csv(cols, temporary)
        self.ledgers.written.append(csv_path)
        keep = np.flatnonzero(_carries_exception(records, self.result.exceptions))
        kept = [column(c.header, c.kind, c.series.take(keep), c.timezone) for c in cols]
        note = (
            f"All {len(records):,} {name.lower()} are in {csv_path.name}, beside this "
            f"workbook. This sheet lists the {len(keep):,} that carry an exception."
        )
        self._table(name, kept, note=note)

    def _table(
        self,
        name: str,
        cols: list[Column],
        status_col: str | None = None,
        note: str | None = None,
    ) -> None:
        """Write a sheet, continuing on ``Name (2)``... past ``row_limit`` data rows."""
        n = len(cols[0]) if cols else 0
        starts = range(0, max(n, 1), self.row_limit)
        for part, start in enumerate(starts, start=1):
            sheet_name = name if part == 1 else f"{name} ({part})"
            stop = min(n, start + self.row_limit)
            self._sheet(sheet_name, cols, start, stop, status_col, note)

    def _sheet(
        self,
        name: str,
        cols: list[Column],
        start: int,
        stop: int,
        status_col: str | None,
        note: str | None,
    ) -> None:
        """One sheet: an optional note line, the header (frozen, filtered), then the rows."""
        ws = self.book.add_worksheet(name)
        for i, col in enumerate(cols):
            ws.set_column(i, i, fitted_width(col), self.number.get(col.kind))
        top = 0
        if note:
            ws.write_string(0, 0, note, self.label)
            top = 1
        ws.write_row(top, 0, [c.header for c in cols], self.header)
        ws.freeze_panes(top + 1, 0)
        ws.autofilter(top, 0, top + max(stop - start, 1), len(cols) - 1)
        s = [c.header for c in cols].index(status_col) if status_col else -1
        for block in range(start, stop, _BLOCK_ROWS):
            end = min(stop, block + _BLOCK_ROWS)
            rows = zip(*(c.values(block, end) for c in cols), strict=True)
            self._rows(ws, rows, top + block - start + 1, s)

    def _rows(self, ws: Any, rows: Any, first: int, status: int) -> None:
        write_row = ws.write_row
        if status < 0:
            for r, row in enumerate(rows, start=first):
                write_row(r, 0, row)
            return
        formats = self.status
        for r, row in enumerate(rows, start=first):
            write_row(r, 0, row)
            if row[status] is not None:
                ws.write_string(r, status, row[status], formats.get(row[status]))

    # ---- summary

    def _summary(self, ws: Any) -> None:
        rows = self._summary_rows()
        ws.set_column(0, 0, 34)
        ws.set_column(1, 1, 22)
        ws.write_string(0, 0, "CPD compliance summary", self.title)
        ws.write_row(2, 0, ["Figure", "Value"], self.header)
        status_rows: list[int] = []
        r = 3
        for label, value, kind in rows:
            if label == "" and value is None:
                r += 1
                continue
            ws.write_string(r, 0, label, self.label if kind == "section" else None)
            if kind == "status":
                status_rows.append(r)
                ws.write_number(r, 1, value)
                ws.write_string(r, 0, label, self.status[label])
            elif kind in _NUMBER_FORMATS and value is not None:
                ws.write_number(r, 1, value, self.number[kind])
            elif isinstance(value, str):
                ws.write_string(r, 1, value)
            elif value is not None:
                ws.write_number(r, 1, value)
            r += 1
        ws.freeze_panes(3, 0)
        self._charts(ws, status_rows)

    def _summary_rows(self) -> list[tuple[str, Any, str]]:
        r = self.result
        serial = _serial
        rate = r.compliance_rate()
        people = r.people
        rows: list[tuple[str, Any, str]] = [
            ("Period start", serial(r.period_start), "date"),
            ("Period end", serial(r.period_end), "date"),
            ("As of", serial(r.as_of), "date"),
            ("Timezone", r.rules.timezone, "text"),
            ("People", len(people), "int"),
            ("Compliance rate", None if rate is None else float(rate), "pct"),
            ("Required (min)", int(people["required"].sum()), "int"),
            ("Counted (min)", int(people["counted"].sum()), "int"),
            ("Shortfall (min)", int(people["shortfall"].sum()), "int"),
            ("Pending (min)", int(people["pending"].sum()), "int"),
            ("", None, "gap"),
            ("People per status", None, "section"),
        ]
        rows += [(s, n, "status") for s, n in r.status_counts().items()]
        rows += [("", None, "gap"), ("Exceptions per type", None, "section")]
        counts = r.exceptions["type"].astype(str).value_counts()
        types = [*TYPES, *sorted(t for t in counts.index if t not in TYPES)]
        rows += [(t, int(counts.get(t, 0)), "int") for t in types]
        rows += [("", None, "gap"), ("Sources pulled at", None, "section")]
        sheet = r.sources_sheet()
        for source in sorted(set(sheet["Source"].astype(str))):
            whens = [
                when
                for (s, _t), w in self.pulled.items()
                if s == source and (when := to_local(w, self.tz)) is not None
            ]
            if whens:
                rows.append((source, _serial(max(whens)), "datetime"))
            else:  # HR spreadsheets (roster, policy, external CPD) are read, not pulled
                rows.append((source, "read from the input files at run time", "text"))
        if self.input_files:
            rows += [("", None, "gap"), ("Input files", None, "section")]
            rows += [(str(f["name"]), _input_file_line(f), "text") for f in self.input_files]
        return rows

    def _charts(self, ws: Any, status_rows: Sequence[int]) -> None:
        if status_rows:
            pie = self.book.add_chart({"type": "pie"})
            first, last = status_rows[0], status_rows[-1]
            pie.add_series(
                {
                    "name": "People per status",
                    "categories": ["Summary", first, 0, last, 0],
                    "values": ["Summary", first, 1, last, 1],
                    "points": [
                        {"fill": {"color": STATUS_COLOURS[s][0]}, "border": {"color": "#7F7F7F"}}
                        for s in STATUSES
                    ],
                    "data_labels": {"value": True},
                }
            )
            pie.set_title({"name": "Status distribution"})
            ws.insert_chart(2, 3, pie, {"x_scale": 1.2, "y_scale": 1.2})
        if self.department_sheet and self.department_sheet[1]:
            name, n, _first, last_col = self.department_sheet
            n = min(n, self.row_limit)
            bar = self.book.add_chart({"type": "bar"})
            bar.add_series(
                {
                    "name": "Compliance rate",
                    "categories": [name, 1, 0, n, 0],
                    "values": [name, 1, last_col, n, last_col],
                    "fill": {"color": "#2F5597"},
                    "data_labels": {"value": True, "num_format": "0%"},
                }
            )
            bar.set_title({"name": "Compliance rate by department"})
            bar.set_x_axis({"num_format": "0%", "min": 0, "max": 1})
            bar.set_y_axis({"reverse": True})
            bar.set_legend({"none": True})
            ws.insert_chart(22, 3, bar, {"x_scale": 1.2, "y_scale": max(1.0, min(4.0, n / 12))})


@dataclass
class _Ledgers:
    """Where a large organisation's full ledgers go, and from what size (DESIGN §7)."""

    folder: Path
    detail_rows: int
    written: list[Path] = field(default_factory=list)


def _carries_exception(records: pd.DataFrame, found: pd.DataFrame) -> np.ndarray:
    """Which ledger records an exception names (or that match nobody on the roster)."""
    of_records = found[~found["type"].isin(_NOT_OF_A_RECORD)]
    named = pd.MultiIndex.from_arrays(
        [of_records["system"].astype(str), of_records["record_id"].astype(str)]
    )
    keys = pd.MultiIndex.from_arrays(
        [records["system"].astype(str), records["record_id"].astype(str)]
    )
    unmatched = (records["disposition"].astype(str) == "unmatched").to_numpy()
    return keys.isin(named) | unmatched


def _serial(value: dt.date | dt.datetime) -> float:
    """Excel serial number of a naive local date or datetime."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    delta = value - dt.datetime(1899, 12, 30)
    return delta.days + delta.seconds / 86_400 + delta.microseconds / 86_400_000_000
