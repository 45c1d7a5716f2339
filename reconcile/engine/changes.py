"""Month-on-month changes between two reconciliations (``run --compare``, DESIGN §3).

Why a separate pure step: the officer's first question each month is "what changed since last
time?". Both results are already frozen (the previous one read back from its run folder's
``result/``), so comparing them is a join on ``employee_id`` and a few boolean masks: no I/O,
no re-reconciliation, and the same two results always give the same changes.

A person can appear under several change types (newly non-compliant *and* moved department);
each (person, change) pair is one row. ``newly_*`` and ``resolved`` are only for people in
both runs: a joiner is listed once, as ``joined``, with their current status.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import MappingProxyType

import pandas as pd

from reconcile.engine.result import Result

#: Change types in the order they are listed (problems first).
CHANGE_TYPES = (
    "newly_non_compliant",
    "newly_at_risk",
    "resolved",
    "joined",
    "left",
    "department_changed",
    "manager_changed",
)
CHANGE_LABELS = MappingProxyType(
    {
        "newly_non_compliant": "Newly non-compliant",
        "newly_at_risk": "Newly at risk",
        "resolved": "Resolved",
        "joined": "Joined",
        "left": "Left",
        "department_changed": "Changed department",
        "manager_changed": "Changed manager",
    }
)
#: Statuses that need action; leaving them for any other status is ``resolved``.
PROBLEM_STATUSES = ("Non-compliant", "At risk")

#: Changes sheet: column → header, in sheet order.
CHANGES_HEADERS = MappingProxyType(
    {
        "change": "Change",
        "employee_id": "Employee ID",
        "name": "Name",
        "department": "Department",
        "manager": "Manager",
        "previous_status": "Previous status",
        "status": "Status",
        "previous_department": "Previous department",
        "previous_manager": "Previous manager",
        "previous_counted": "Previous counted (min)",
        "counted": "Counted (min)",
        "previous_shortfall": "Previous shortfall (min)",
        "shortfall": "Shortfall (min)",
    }
)
_COMPARED = ("name", "department", "manager_id", "manager", "status", "counted", "shortfall")


@dataclass(frozen=True)
class Changes:
    """What changed between a previous result and the current one.

    ``rows`` has the :data:`CHANGES_HEADERS` columns plus ``change_type`` (a key of
    :data:`CHANGE_LABELS`); ``change`` is the label a reader sees. For a person who left, the
    name, department and manager are the previous run's and status/counted/shortfall are blank.
    """

    previous_as_of: dt.date
    as_of: dt.date
    previous_period: tuple[dt.date, dt.date]
    period: tuple[dt.date, dt.date]
    rate_before: float | None
    rate_after: float | None
    rows: pd.DataFrame

    @property
    def rate_change_points(self) -> float | None:
        """Compliance rate after − before, in percentage points; None when either is None."""
        if self.rate_before is None or self.rate_after is None:
            return None
        return (self.rate_after - self.rate_before) * 100

    @property
    def same_period(self) -> bool:
        return self.previous_period == self.period

    def counts(self) -> dict[str, int]:
        """Rows per change type, every type present, in :data:`CHANGE_TYPES` order."""
        found = self.rows["change_type"].value_counts()
        return {t: int(found.get(t, 0)) for t in CHANGE_TYPES}

    def sheet(self) -> pd.DataFrame:
        """The Changes sheet's columns with their headers."""
        return self.rows[list(CHANGES_HEADERS)].rename(columns=dict(CHANGES_HEADERS))


def compare(previous: Result, current: Result) -> Changes:
    """Per person, what changed from ``previous`` to ``current`` (joined on ``employee_id``)."""
    merged = _merge(previous.people, current.people)
    in_both = merged["_merge"] == "both"
    was, now = merged["previous_status"], merged["status"]
    was_problem = was.isin(PROBLEM_STATUSES)
    now_problem = now.isin(PROBLEM_STATUSES)
    masks = {
        "newly_non_compliant": in_both & (now == "Non-compliant") & (was != "Non-compliant"),
        "newly_at_risk": in_both & (now == "At risk") & ~was_problem,
        "resolved": in_both & was_problem & ~now_problem,
        "joined": merged["_merge"] == "right_only",
        "left": merged["_merge"] == "left_only",
        "department_changed": in_both & _differs(merged, "department"),
        "manager_changed": in_both & _manager_differs(merged),
    }
    parts = [
        merged[mask.fillna(False).astype(bool)].assign(change_type=kind)
        for kind, mask in masks.items()
    ]
    rows = pd.concat(parts, ignore_index=True) if parts else merged.iloc[0:0]
    rows = _finish(rows)
    return Changes(
        previous_as_of=previous.as_of,
        as_of=current.as_of,
        previous_period=(previous.period_start, previous.period_end),
        period=(current.period_start, current.period_end),
        rate_before=_rate(previous),
        rate_after=_rate(current),
        rows=rows,
    )


def _merge(previous: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """Outer join of the compared columns; previous columns get a ``previous_`` prefix."""
    columns = ["employee_id", *(c for c in _COMPARED if c in current.columns)]
    now = _plain(current[columns])
    was = _plain(previous[[c for c in columns if c in previous.columns]])
    was = was.rename(columns={c: f"previous_{c}" for c in was.columns if c != "employee_id"})
    merged = was.merge(now, on="employee_id", how="outer", indicator=True, sort=False)
    for column in _COMPARED:
        for name in (column, f"previous_{column}"):
            if name not in merged.columns:
                merged[name] = pd.NA
    return merged


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical and object text as nullable strings, so comparisons and merges behave."""
    out = frame.copy()
    for column in out.columns:
        if column in ("counted", "shortfall"):
            out[column] = pd.to_numeric(out[column], errors="coerce").astype("Int64")
        else:
            out[column] = out[column].astype("string")
    return out


def _differs(merged: pd.DataFrame, column: str) -> pd.Series:
    """NA-aware inequality: blank → filled and filled → blank are changes, blank → blank not."""
    before = merged[f"previous_{column}"].fillna("")
    after = merged[column].fillna("")
    return before != after


def _manager_differs(merged: pd.DataFrame) -> pd.Series:
    """Compare manager ids where both runs have them (names can repeat), else names."""
    has_ids = merged["previous_manager_id"].notna().any() or merged["manager_id"].notna().any()
    return _differs(merged, "manager_id" if has_ids else "manager")


def _finish(rows: pd.DataFrame) -> pd.DataFrame:
    """Fill a leaver's identity from the previous run, label, order and keep the columns."""
    rows = rows.copy()
    for column in ("name", "department", "manager"):
        rows[column] = rows[column].fillna(rows[f"previous_{column}"])
    rows["change"] = rows["change_type"].map(dict(CHANGE_LABELS)).astype("string")
    order = rows["change_type"].map({t: i for i, t in enumerate(CHANGE_TYPES)})
    rows = rows.assign(_order=order).sort_values(
        ["_order", "name", "employee_id"], kind="stable", na_position="last"
    )
    keep = ["change_type", *CHANGES_HEADERS]
    return rows[keep].reset_index(drop=True)


def _rate(result: Result) -> float | None:
    rate = result.compliance_rate()
    return None if rate is None or pd.isna(rate) else float(rate)


def summary_changes(changes: Changes) -> dict[str, object]:
    """summary.json's ``changes`` object: JSON-serialisable, keys in a fixed order."""
    points = changes.rate_change_points
    return {
        "previous": {
            "as_of": changes.previous_as_of.isoformat(),
            "period": {
                "start": changes.previous_period[0].isoformat(),
                "end": changes.previous_period[1].isoformat(),
            },
        },
        "compliance_rate_before": _round(changes.rate_before, 4),
        "compliance_rate_after": _round(changes.rate_after, 4),
        "compliance_rate_change_points": _round(points, 2),
        "counts": changes.counts(),
    }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
