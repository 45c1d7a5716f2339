"""What the PDF templates see: plain dicts and lists built from the engine's Result.

Templates get small, already-formatted structures so that a user restyling them never needs
pandas, and so that the row caps (how long a table may run) live in one place.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

from reconcile.engine import Result
from reconcile.engine.changes import CHANGE_LABELS, CHANGE_TYPES, Changes

STATUS_ORDER = ("Compliant", "On track", "At risk", "Non-compliant", "Not required", "Exempt")
STATUS_CLASS = {s: s.lower().replace(" ", "-") for s in STATUS_ORDER}
MAX_DEPARTMENTS = 40
MAX_SHORTFALLS = 20
MAX_SOURCES = 40
EXAMPLES_PER_TYPE = 2
MAX_CHANGES_PER_TYPE = 15

#: What to do about each exception type: the sentence a compliance officer needs.
EXCEPTION_ADVICE = {
    "unmatched_account": "A platform account matches nobody on the roster. Add the person's "
    "platform id or email to the roster, or close the account; its minutes are not counted.",
    "ambiguous_match": "One account matches two roster rows. Give each person an explicit "
    "platform id column in the roster.",
    "duplicate_activity": "The same activity was logged more than once. Only one copy counts; "
    "ask the person to delete the extra entries.",
    "unlogged_completion": "A course was completed but never logged as CPD. Credited when "
    "count_unlogged_completions is on; push-completions can write it back to Thrive.",
    "unverified_claim": "CPD logged for a catalogue course with no completion record. Still "
    "counted: check the certificate or the course platform.",
    "failed_course_logged": "CPD logged for a course the person did not pass. Still counted: "
    "review with the person and their manager.",
    "implausible_minutes": "Minutes of zero, negative or over the daily maximum. Not counted: "
    "correct the entry on the platform.",
    "future_dated": "Dated after the as-of date. Not counted yet: fix the date if it is wrong.",
    "platform_total_mismatch": "The platform's own total differs from its detail records. "
    "Check for entries edited or deleted during the pull, then re-run.",
    "input_issue": "A problem in the HR spreadsheets. Run `reconcile check` and fix the rows "
    "it lists.",
}
_DEFAULT_ADVICE = "See the Exceptions sheet of the workbook for the records involved."


def fmt_date(value: Any) -> str:
    """Dates as users read them in reports: 30 Sep 2026."""
    if value is None or pd.isna(value):
        return "–"
    if isinstance(value, str):
        return value
    if isinstance(value, dt.datetime):
        return value.strftime("%d %b %Y %H:%M").lstrip("0")
    return value.strftime("%d %b %Y").lstrip("0")


def _rate(value: float | None) -> float | None:
    return None if value is None or pd.isna(value) else float(value) * 100


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts with NA turned into None (Jinja tests ``is none`` on them)."""
    clean = frame.astype(object).where(frame.notna(), None)
    return cast(list[dict[str, Any]], clean.to_dict("records"))


def period_context(result: Result, organisation: str) -> dict[str, Any]:
    rules = result.rules
    return {
        "organisation": organisation,
        "period_start": fmt_date(rules.period_start),
        "period_end": fmt_date(rules.period_end),
        "as_of": fmt_date(rules.as_of),
        "timezone": rules.timezone,
        "generated": fmt_date(dt.datetime.now(dt.UTC).replace(microsecond=0)) + " UTC",
    }


def report(result: Result, *, organisation: str, pulled_at: Any = None) -> dict[str, Any]:
    """Context for ``report.html``."""
    people = result.people
    counts = result.status_counts()
    owing = len(people) - counts.get("Exempt", 0) - counts.get("Not required", 0)
    context = period_context(result, organisation)
    context.update(
        title=f"CPD compliance report — {organisation}",
        pulled_at=fmt_date(pulled_at) if pulled_at is not None else None,
        statuses=[
            {"name": s, "css": STATUS_CLASS[s], "count": counts.get(s, 0)} for s in STATUS_ORDER
        ],
        status_counts={s: counts.get(s, 0) for s in STATUS_ORDER},
        headline={
            "people": len(people),
            "owing": owing,
            "compliant": counts.get("Compliant", 0),
            "on_track": counts.get("On track", 0),
            "at_risk": counts.get("At risk", 0),
            "non_compliant": counts.get("Non-compliant", 0),
            "rate": _rate(result.compliance_rate()),
            "required": int(people["required"].sum()),
            "counted": int(people["counted"].sum()),
            "shortfall": int(people["shortfall"].sum()),
            "pending": int(people["pending"].sum()),
            "exceptions": len(result.exceptions),
        },
        departments=_departments(result.departments),
        shortfalls=_shortfalls(people),
        exceptions=_exceptions(result.exceptions),
        sources=_sources(result.control_totals),
        rules=_rules(result),
    )
    return context


def _departments(frame: pd.DataFrame) -> dict[str, Any]:
    frame = frame.assign(rate=frame["compliance_rate"].astype(float) * 100)
    ordered = frame.sort_values(["rate", "department"], na_position="last")
    shown = ordered.head(MAX_DEPARTMENTS)
    rest = ordered.iloc[MAX_DEPARTMENTS:]
    rows = _records(
        shown[
            ["department", "people", *STATUS_ORDER, "required", "counted", "shortfall", "rate"]
        ].rename(columns={s: STATUS_CLASS[s] for s in STATUS_ORDER})
    )
    return {
        "rows": rows,
        "more": len(rest),
        "more_people": int(rest["people"].sum()) if len(rest) else 0,
    }


def _shortfalls(people: pd.DataFrame) -> dict[str, Any]:
    short = people[people["shortfall"] > 0]
    top = short.nlargest(MAX_SHORTFALLS, ["shortfall"], keep="first")
    cols = [
        "employee_id",
        "name",
        "department",
        "manager",
        "required",
        "counted",
        "shortfall",
        "progress",
        "status",
    ]
    rows = _records(top[cols].assign(status=top["status"].astype(str)))
    for row in rows:
        row["css"] = STATUS_CLASS.get(row["status"], "")
    return {"rows": rows, "total": len(short), "minutes": int(short["shortfall"].sum())}


def _exceptions(frame: pd.DataFrame) -> list[dict[str, Any]]:
    if not len(frame):
        return []
    grouped = frame.groupby(frame["type"].astype(str), sort=False).agg(
        count=("type", "size"),
        minutes=("minutes", "sum"),
        people=("employee_id", "nunique"),
        severity=("severity", "first"),
    )
    grouped = grouped.sort_values("count", ascending=False)
    rows = _records(grouped.reset_index())
    heads = frame.assign(type=frame["type"].astype(str)).groupby("type").head(EXAMPLES_PER_TYPE)
    examples = heads.groupby("type")["detail"].agg(list).to_dict()
    owners = heads.groupby("type")["employee_id"].agg(list).to_dict()
    for row in rows:
        row["examples"] = [
            {"employee_id": e, "detail": d}
            for e, d in zip(owners.get(row["type"], []), examples.get(row["type"], []), strict=True)
        ]
        row["advice"] = EXCEPTION_ADVICE.get(row["type"], _DEFAULT_ADVICE)
        row["label"] = row["type"].replace("_", " ").capitalize()
    return rows


def _sources(frame: pd.DataFrame) -> dict[str, Any]:
    fixed = {"source", "table", "canonical", "pulled"}
    disp_cols = [c for c in frame.columns if c not in fixed]
    rows = []
    for row in _records(frame.head(MAX_SOURCES)):
        parts = [(c, int(row[c])) for c in disp_cols if row.get(c) is not None]
        accounted = sum(v for _, v in parts)
        rows.append(
            {
                "source": row["source"],
                "table": row["table"],
                "pulled": int(row["pulled"]),
                "dispositions": ", ".join(f"{c.replace('_', ' ')} {v:,}" for c, v in parts if v),
                "balanced": accounted == int(row["pulled"]),
            }
        )
    return {"rows": rows, "more": max(0, len(frame) - MAX_SOURCES)}


def _rules(result: Result) -> dict[str, Any]:
    r = result.rules
    return {
        "timezone": r.timezone,
        "prorate": r.prorate,
        "multiple_audiences": r.multiple_audiences,
        "duplicate_window_days": r.duplicate_window_days,
        "completion_match_days": r.completion_match_days,
        "count_unlogged_completions": r.count_unlogged_completions,
        "max_activity_minutes": r.max_activity_minutes,
        "period_days": r.period_days,
    }


# ------------------------------------------------------------------ statements

#: Shown in the statement's name cell, which keeps line breaks (see :func:`_one_line`).
_ONE_LINE_COLUMNS = ("employee_id", "name", "department")
_STATEMENT_COLUMNS = [
    "employee_id",
    "name",
    "department",
    "required",
    "structured_required",
    "counted",
    "structured",
    "pending",
    "shortfall",
    "progress",
    "status",
    "reason",
]


#: Statements whose rows are turned into dicts at a time: enough to spread pandas' cost per
#: call, few enough that memory does not grow with the number of statements.
STATEMENT_BLOCK = 256


@dataclass(frozen=True)
class StatementGroups:
    """Who gets a statement and which rows are theirs, before any row becomes a dict.

    ``table`` holds the statement columns of every person who is in a statement, ordered by
    statement; statement ``i`` (id ``ids[i]``, for ``names[i]``) is rows
    ``starts[i]:ends[i]``.
    """

    by: str
    table: pd.DataFrame
    ids: list[str]
    names: list[str]
    starts: np.ndarray
    ends: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


def statement_groups(result: Result, *, by: str) -> StatementGroups:
    """One group per statement: per manager (their direct reports) or per person."""
    people = result.people
    table = people[_STATEMENT_COLUMNS].assign(status=people["status"].astype(str))
    for column in _ONE_LINE_COLUMNS:
        table[column] = _one_line(table[column])
    table["css"] = table["status"].map(STATUS_CLASS).fillna("")
    table["bar"] = np.clip(table["progress"].fillna(0).to_numpy(), 0, 100).round(1)
    if by == "person":
        keys = people["employee_id"].astype(str)
        owner_names = people["name"].astype(str)
    else:
        has = people["manager_id"].notna().to_numpy()
        table = table[has]
        keys = people["manager_id"][has].astype(str)
        owner_names = people["manager"][has].fillna(keys).astype(str)
    order = np.argsort(keys.to_numpy(), kind="stable")
    keys_sorted = keys.to_numpy()[order]
    names_sorted = owner_names.to_numpy()[order]
    first_of_group = np.r_[True, keys_sorted[1:] != keys_sorted[:-1]][: len(keys_sorted)]
    starts = np.flatnonzero(first_of_group)
    ends = np.append(starts[1:], len(keys_sorted)) if len(starts) else starts
    return StatementGroups(
        by=by,
        table=table.iloc[order],
        ids=[str(k) for k in keys_sorted[starts]],
        names=[str(n) for n in names_sorted[starts]],
        starts=starts,
        ends=ends,
    )


def statements(result: Result, *, organisation: str, by: str) -> Iterator[dict[str, Any]]:
    """One context per statement: its owner and only the people it is about."""
    return statement_contexts(statement_groups(result, by=by), period_context(result, organisation))


def statement_contexts(groups: StatementGroups, base: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The contexts of ``groups`` in order, built as they are taken (``STATEMENT_BLOCK`` at a
    time), so a run holds a few hundred statements' rows as dicts, never all of them."""
    for first in range(0, len(groups), STATEMENT_BLOCK):
        last = min(first + STATEMENT_BLOCK, len(groups))
        offset = int(groups.starts[first])
        records = _records(groups.table.iloc[offset : int(groups.ends[last - 1])])
        for i in range(first, last):
            rows = records[int(groups.starts[i]) - offset : int(groups.ends[i]) - offset]
            yield _statement_context(groups, i, rows, base)


def _statement_context(
    groups: StatementGroups, i: int, rows: list[dict[str, Any]], base: dict[str, Any]
) -> dict[str, Any]:
    rows.sort(key=lambda r: r["name"])
    counts = {st: 0 for st in STATUS_ORDER}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    context = dict(base)
    context.update(
        statement_id=groups.ids[i],
        by=groups.by,
        owner_name=groups.names[i],
        title=f"CPD statement — {groups.names[i]}",
        people=rows,
        counts=[{"name": k, "css": STATUS_CLASS[k], "count": v} for k, v in counts.items() if v],
    )
    return context


def _one_line(text: pd.Series) -> pd.Series:
    """``text`` with each line break as a space. The statement's name cell keeps line breaks
    (``white-space: pre-line``: its id line follows a newline, not a ``<br>``), so a name
    typed over two lines must arrive as one line, as the cell used to show it."""
    return text.str.replace(r"[\r\n]", " ", regex=True)


def changes(found: Changes) -> dict[str, Any]:
    """Context for ``_changes.html``: headline rates, counts per type and capped lists.

    Lists come in :data:`CHANGE_TYPES` order (newly non-compliant and at risk first); each is
    cut to :data:`MAX_CHANGES_PER_TYPE` rows with the number left over.
    """
    counts = found.counts()
    rows = found.rows.assign(
        status=found.rows["status"].astype(object),
        previous_status=found.rows["previous_status"].astype(object),
    )
    groups = []
    for kind in CHANGE_TYPES:
        subset = rows[rows["change_type"] == kind]
        if not len(subset):
            continue
        shown = _records(subset.head(MAX_CHANGES_PER_TYPE))
        for row in shown:
            row["css"] = STATUS_CLASS.get(row["status"] or "", "")
            row["previous_css"] = STATUS_CLASS.get(row["previous_status"] or "", "")
        groups.append(
            {
                "type": kind,
                "label": CHANGE_LABELS[kind],
                "count": counts[kind],
                "rows": shown,
                "more": max(0, len(subset) - MAX_CHANGES_PER_TYPE),
            }
        )
    return {
        "previous_as_of": fmt_date(found.previous_as_of),
        "same_period": found.same_period,
        "previous_period": f"{fmt_date(found.previous_period[0])} – "
        f"{fmt_date(found.previous_period[1])}",
        "rate_before": _rate(found.rate_before),
        "rate_after": _rate(found.rate_after),
        "points": found.rate_change_points,
        "counts": [
            {"type": t, "label": CHANGE_LABELS[t], "count": counts[t]} for t in CHANGE_TYPES
        ],
        "groups": groups,
        "total": len(found.rows),
    }
