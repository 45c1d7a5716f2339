"""Exceptions (§6.7): one table of everything a reader must look at.

Each stage writes its own exceptions (identity.py, ledger.py, completions.py, totals.py);
this module holds their shape, their severities, the input issues' wording, and the order
they are listed in: by severity, type, employee, system, record (missing last).

Severity says what a reader must do: ``error`` — minutes are wrong or missing until someone
fixes data; ``warning`` — counted, but worth a look; ``info`` — for the record.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from reconcile.engine.text import given, whole_minutes

SEVERITY = MappingProxyType(
    {
        "unmatched_account": "error",
        "ambiguous_match": "error",
        "failed_course_logged": "error",
        "platform_total_mismatch": "error",
        "implausible_minutes": "warning",
        "duplicate_activity": "warning",
        "unverified_claim": "warning",
        "unlogged_completion": "warning",
        "future_dated": "info",
        "input_issue": "warning",
    }
)
TYPES = tuple(SEVERITY)
SEVERITIES = ("error", "warning", "info")
COLUMNS = ("type", "severity", "employee_id", "system", "record_id", "minutes", "detail")


def rows(
    kind: str,
    *,
    detail: Sequence[str] | pd.Series,
    employee_id: Any = None,
    system: Any = None,
    record_id: Any = None,
    minutes: Any = None,
) -> pd.DataFrame:
    """Exceptions of one type, one per detail; the other columns aligned with it, a single
    value for all, or None (blank). Minutes are whole (half up)."""
    n = len(detail)

    def text(values: Any) -> pd.Series:
        if values is None or isinstance(values, str):
            return pd.Series([values] * n, dtype="str")
        if isinstance(values, pd.Series):
            return values.astype("str").reset_index(drop=True)
        return pd.Series(values, dtype="str")

    whole = [pd.NA] * n if minutes is None else whole_minutes(np.asarray(minutes, dtype="float64"))
    return pd.DataFrame(
        {
            "type": text(kind),
            "severity": text(SEVERITY.get(kind, "warning")),
            "employee_id": text(employee_id),
            "system": text(system),
            "record_id": text(record_id),
            "minutes": pd.array(whole, dtype="Int64"),
            "detail": text(detail),
        }
    )


def disposed(ledger: pd.DataFrame, disposition: str, columns: list[str]) -> pd.DataFrame:
    """The ``columns`` of a ledger's records with ``disposition``."""
    return ledger.loc[(ledger["disposition"] == disposition).to_numpy(), columns]


def of_records(
    kind: str, records: pd.DataFrame, minutes: Any, detail: Sequence[str]
) -> pd.DataFrame:
    """One exception of ``kind`` per ledger record: its person, system and record id."""
    return rows(
        kind,
        employee_id=records["employee_id"],
        system=records["system"],
        record_id=records["record_id"],
        minutes=minutes,
        detail=detail,
    )


def input_issues(issues: pd.DataFrame) -> pd.DataFrame:
    """``input_issue`` per warning the spreadsheets raised ("file / sheet row 4 column
    Email: problem; fix")."""
    detail = [
        _place(file, sheet, row, column) + f": {problem}" + (f"; {fix}" if given(fix) else "")
        for file, sheet, row, column, problem, fix in zip(
            issues["file"],
            issues["sheet"],
            issues["row"],
            issues["column"],
            issues["problem"],
            issues["fix"],
            strict=True,
        )
    ]
    return rows(
        "input_issue", employee_id=issues["employee_id"], system="spreadsheet", detail=detail
    )


def _place(file: str, sheet: Any, row: Any, column: Any) -> str:
    where = str(file)
    if given(sheet):
        where += f" / {sheet}"
    if given(row):
        where += f" row {int(row)}"
    if given(column):
        where += f" column {column}"
    return where


def combine(blocks: list[pd.DataFrame]) -> pd.DataFrame:
    """All exceptions in one frame, ordered by severity, type, person, system, record."""
    listed = pd.concat([rows("input_issue", detail=[]), *blocks], ignore_index=True)
    ranked = listed.assign(  # severities and types in the order of their lists
        severity=pd.Categorical(listed["severity"], categories=SEVERITIES),
        type=pd.Categorical(listed["type"], categories=TYPES),
    )
    order = ranked.sort_values(["severity", "type", "employee_id", "system", "record_id"]).index
    return listed.loc[order].reset_index(drop=True)
