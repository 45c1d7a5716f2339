"""The frozen result of a reconciliation, and ``summary(result)``: summary.json's content.

Renderers read only this. Column names are snake_case; :data:`PEOPLE_HEADERS`,
:data:`ACTIVITY_HEADERS`, :data:`COMPLETION_HEADERS`, :data:`EXCEPTION_HEADERS` and
:data:`SOURCES_HEADERS` give the §7 sheet headers in order (the workbook's only list of them).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import pandas as pd

from reconcile.engine.exceptions import TYPES
from reconcile.engine.rules import Rules
from reconcile.engine.status import STATUSES

#: People sheet (§7): result column → header, in sheet order.
PEOPLE_HEADERS = MappingProxyType(
    {
        "employee_id": "Employee ID",
        "name": "Name",
        "email": "Email",
        "department": "Department",
        "manager": "Manager",
        "audiences": "Audiences",
        "required": "Required (min)",
        "structured_required": "Structured required (min)",
        "counted": "Counted (min)",
        "structured": "Structured (min)",
        "pending": "Pending (min)",
        "shortfall": "Shortfall (min)",
        "progress": "Progress %",
        "status": "Status",
        "reason": "Reason",
    }
)
EXCEPTION_HEADERS = MappingProxyType(
    {
        "type": "Type",
        "severity": "Severity",
        "employee_id": "Employee ID",
        "system": "System",
        "record_id": "Record ID",
        "minutes": "Minutes",
        "detail": "Detail",
    }
)
#: ``Result.people``: the People sheet's columns with ``manager_id`` before the manager's
#: name, then what the other sheets, the PDFs and the e-mails read (the full requirement and
#: its basis, the window, minutes over category caps).
_SHEET = tuple(PEOPLE_HEADERS)
PEOPLE_COLUMNS = (
    *_SHEET[: _SHEET.index("manager")],
    "manager_id",
    *_SHEET[_SHEET.index("manager") :],
    "full_required",
    "requirement_basis",
    "window_start",
    "window_end",
    "employed_days",
    "elapsed",
    "capped",
)
#: Activities sheet (§7): ledger column → header, in sheet order.
ACTIVITY_HEADERS = MappingProxyType(
    {
        "system": "System",
        "record_id": "Record ID",
        "account_id": "Account ID",
        "employee_id": "Employee ID",
        "title": "Title",
        "category": "Category",
        "structured": "Structured",
        "minutes": "Minutes",
        "completed_at": "Completed at",
        "local_date": "Local date",
        "state": "State",
        "disposition": "Disposition",
        "duplicate_of": "Duplicate of",
        "claim": "Claim",
        "source_table": "Source table",
    }
)
#: Completions sheet (§7): ledger column → header, in sheet order.
COMPLETION_HEADERS = MappingProxyType(
    {
        "system": "System",
        "record_id": "Record ID",
        "account_id": "Account ID",
        "employee_id": "Employee ID",
        "course_id": "Course ID",
        "title": "Title",
        "completed_at": "Completed at",
        "local_date": "Local date",
        "passed": "Passed",
        "score": "Score",
        "certificate": "Certificate",
        "cpd_minutes": "CPD minutes",
        "category": "Category",
        "structured": "Structured",
        "disposition": "Disposition",
        "matched_record_id": "Matched record ID",
        "source_table": "Source table",
    }
)
#: ``Result.activities``: the activity ledger, one row per input record, in input order.
ACTIVITY_COLUMNS = tuple(ACTIVITY_HEADERS)
#: ``Result.completions``: the completion ledger, one row per input record, in input order;
#: ``thrive_content_id`` (not on the sheet) is what push-completions writes back.
_LEDGER = tuple(COMPLETION_HEADERS)
COMPLETION_COLUMNS = (*_LEDGER[:-1], "thrive_content_id", _LEDGER[-1])
#: ``Result.accounts``: the canonical accounts table, then these.
ACCOUNT_COLUMNS = ("employee_id", "match", "match_rule")
#: Sources sheet: ``Pulled at`` comes from the snapshot manifest, not the engine.
SOURCES_HEADERS = MappingProxyType({"source": "Source", "table": "Table", "pulled": "Pulled"})


@dataclass(frozen=True)
class Result:
    """Everything a renderer needs; frames are the engine's, do not modify them in place."""

    rules: Rules
    people: pd.DataFrame
    activities: pd.DataFrame
    completions: pd.DataFrame
    accounts: pd.DataFrame
    exceptions: pd.DataFrame
    control_totals: pd.DataFrame
    departments: pd.DataFrame
    managers: pd.DataFrame
    audiences: pd.DataFrame
    categories: pd.DataFrame

    @property
    def period_start(self) -> dt.date:
        return self.rules.period_start

    @property
    def period_end(self) -> dt.date:
        return self.rules.period_end

    @property
    def as_of(self) -> dt.date:
        return self.rules.as_of

    def status_counts(self) -> dict[str, int]:
        counts = self.people["status"].astype("str").value_counts()
        return {s: int(counts.get(s, 0)) for s in STATUSES}

    def compliance_rate(self) -> float | None:
        """Compliant ÷ (people − Exempt − Not required); None when nobody owes anything."""
        c = self.status_counts()
        owing = len(self.people) - c["Exempt"] - c["Not required"]
        return c["Compliant"] / owing if owing else None

    def people_sheet(self) -> pd.DataFrame:
        """The People sheet's columns, in §7 order and with §7 headers."""
        return self.people[list(PEOPLE_HEADERS)].rename(columns=dict(PEOPLE_HEADERS))

    def exceptions_sheet(self) -> pd.DataFrame:
        return self.exceptions[list(EXCEPTION_HEADERS)].rename(columns=dict(EXCEPTION_HEADERS))

    def sources_sheet(self) -> pd.DataFrame:
        """Source, Table, Pulled, then the disposition columns any table uses (blank = n/a)."""
        frame = self.control_totals.drop(columns=["canonical"])
        used = [c for c in frame.columns[3:] if frame[c].notna().any()]
        return frame[["source", "table", "pulled", *used]].rename(columns=dict(SOURCES_HEADERS))


def _int(value: Any) -> int | None:
    return None if value is pd.NA or value is None else int(value)


def summary(result: Result) -> dict[str, Any]:
    """summary.json (§7): JSON-serialisable, keys in a fixed order."""
    rate = result.compliance_rate()
    exc = result.exceptions["type"].value_counts()
    per_type = {t: int(exc.get(t, 0)) for t in TYPES}
    per_type.update({t: int(exc[t]) for t in sorted(exc.index) if t not in per_type})
    severity = result.exceptions["severity"].value_counts()
    controls = []
    for row in result.control_totals.to_dict("records"):
        controls.append(
            {
                "source": row["source"],
                "table": row["table"],
                "pulled": int(row["pulled"]),
                "dispositions": {
                    k: _int(v)
                    for k, v in row.items()
                    if k not in ("source", "table", "canonical", "pulled") and _int(v) is not None
                },
            }
        )
    people = result.people
    return {
        "period": {"start": result.period_start.isoformat(), "end": result.period_end.isoformat()},
        "as_of": result.as_of.isoformat(),
        "timezone": result.rules.timezone,
        "people": len(people),
        "status": result.status_counts(),
        "compliance_rate": None if rate is None or math.isnan(rate) else round(rate, 4),
        "minutes": {
            "required": int(people["required"].sum()),
            "counted": int(people["counted"].sum()),
            "shortfall": int(people["shortfall"].sum()),
            "pending": int(people["pending"].sum()),
        },
        "exceptions": per_type,
        "exceptions_by_severity": {
            s: int(severity.get(s, 0)) for s in ("error", "warning", "info")
        },
        "control_totals": controls,
    }
