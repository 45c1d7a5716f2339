"""``activities.csv`` and ``completions.csv``: a large organisation's full ledgers (DESIGN §7).

A workbook with millions of ledger rows takes a spreadsheet program minutes and gigabytes to
open. Past ``[output] workbook_detail_rows`` the record-level sheets keep only the records
that carry an exception, and every record goes here instead: the sheet's own columns and
values, UTF-8 with a byte-order mark and CRLF line ends so that Excel opens it with the right
characters by double-click. Dates are ISO (``2026-03-31``, ``2026-03-31 14:05`` local time),
flags ``TRUE``/``FALSE``, minutes whole numbers.

A CSV cell has no type, so a text value that a spreadsheet would take for a formula (it
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is written with a leading
apostrophe, the mark Excel and LibreOffice read as "this is text".
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from reconcile.render.xlsx_columns import Column, integers, local_naive

#: Rows converted to text at a time: memory stays flat for millions of rows.
_BLOCK_ROWS = 65_536
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def write_ledger_csv(columns: list[Column], path: Path) -> Path:
    """Write every row of ``columns`` to ``path`` (the caller makes it atomic)."""
    n = len(columns[0]) if columns else 0
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow([c.header for c in columns])
        for start in range(0, n, _BLOCK_ROWS):
            stop = min(n, start + _BLOCK_ROWS)
            cells = [_cells(c, start, stop) for c in columns]
            writer.writerows(zip(*cells, strict=True))
    return path


def _cells(col: Column, start: int, stop: int) -> list[str]:
    """Rows ``start:stop`` of one column as CSV text, '' for a blank cell."""
    series = col.series.iloc[start:stop]
    if col.kind == "text":
        return [_text(v) for v in series.astype(object).tolist()]
    if col.kind == "int":
        return ["" if v is None else str(v) for v in integers(series)]
    if col.kind in ("date", "datetime"):
        form = "%Y-%m-%d" if col.kind == "date" else "%Y-%m-%d %H:%M"
        return local_naive(series, col.timezone).dt.strftime(form).fillna("").tolist()
    if col.kind == "bool":
        flags = series.astype(object)
        return ["" if pd.isna(v) else ("TRUE" if v else "FALSE") for v in flags.tolist()]
    numbers = pd.to_numeric(series.astype(object), errors="coerce").to_numpy(dtype="float64")
    return ["" if not np.isfinite(v) else repr(float(v)) for v in numbers]


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text
