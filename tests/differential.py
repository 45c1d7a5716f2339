"""The engine's result and the reference's, put side by side field by field.

Both are reduced to the same plain shape (per person figures, per record dispositions, the
multiset of exceptions, control totals), so a disagreement reads as one line naming the person
or record and both values.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict
from typing import Any

import pandas as pd

from reconcile.engine import CanonicalTables, Rules, reconcile
from reconcile.engine.canonical import SCHEMAS
from reconcile.engine.result import Result
from tests.organisations import Organisation, as_canonical
from tests.reference import ReferenceResult, RefRules, reference_reconcile

PERSON_FIGURES = (
    "required",
    "structured_required",
    "counted",
    "structured",
    "pending",
    "shortfall",
    "progress",
    "status",
)


def ref_rules(rules: Rules) -> RefRules:
    return RefRules(
        period_start=rules.period_start,
        period_end=rules.period_end,
        as_of=rules.as_of,
        timezone=rules.timezone,
        multiple_audiences=rules.multiple_audiences,
        prorate=rules.prorate,
        count_unlogged_completions=rules.count_unlogged_completions,
        duplicate_window_days=rules.duplicate_window_days,
        completion_match_days=rules.completion_match_days,
        max_activity_minutes=rules.max_activity_minutes,
    )


def _plain(value: Any) -> Any:
    """A frame cell as a Python value: missing → None, whole floats → int."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return int(value) if value.is_integer() else value
    if hasattr(value, "item"):
        return _plain(value.item())
    return value


def engine_view(result: Result) -> dict[str, Any]:
    """The engine's result in the comparison shape."""
    people = {
        str(row["employee_id"]): {f: _plain(row[f]) for f in PERSON_FIGURES}
        for row in result.people.to_dict("records")
    }
    for figures in people.values():
        figures["status"] = str(figures["status"])
    activities = _ledger(result.activities, "duplicate_of")
    completions = _ledger(result.completions, "matched_record_id")
    exceptions = Counter(
        (r["type"], _plain(r["employee_id"]), _plain(r["system"]), _plain(r["record_id"]))
        for r in result.exceptions.to_dict("records")
    )
    totals: dict[tuple[str, str], int] = {}
    dispositions = [
        c
        for c in result.control_totals.columns
        if c not in ("source", "table", "canonical", "pulled")
    ]
    for row in result.control_totals.to_dict("records"):
        for d in dispositions:
            count = _plain(row[d])
            if count:
                totals[(f"{row['source']}/{row['table']}", d)] = count
    return {
        "people": people,
        "activities": activities,
        "completions": completions,
        "exceptions": exceptions,
        "control_totals": totals,
    }


def _ledger(frame: pd.DataFrame, link: str) -> list[dict[str, Any]]:
    """Per record: person, disposition, and the record it is linked to (``link``)."""
    return [
        {
            "employee_id": _plain(r["employee_id"]),
            "disposition": str(r["disposition"]),
            link: _plain(r[link]),
        }
        for r in frame[["employee_id", "disposition", link]].to_dict("records")
    ]


def reference_view(ref: ReferenceResult) -> dict[str, Any]:
    people = {}
    for employee_id, figures in ref.people.items():
        plain = asdict(figures)
        people[employee_id] = {f: _plain(plain[f]) for f in PERSON_FIGURES}
    return {
        "people": people,
        "activities": [asdict(a) for a in ref.activities],
        "completions": [asdict(c) for c in ref.completions],
        "exceptions": Counter(tuple(e) for e in ref.exceptions),
        "control_totals": {k: v for k, v in ref.control_totals.items() if v},
    }


def canonical_rows(tables: CanonicalTables) -> dict[str, list[dict[str, Any]]]:
    """The engine's input frames as the reference reads them: plain Python values per row."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for name, frame in tables.as_dict().items():
        spec = SCHEMAS[name]
        rows[name] = [
            {column: _python(value, spec[column].dtype) for column, value in record.items()}
            for record in frame.to_dict("records")
        ]
    return rows


def _python(value: Any, family: str) -> Any:
    """One cell as the reference's Python value (missing → None, dates as dates)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime() if family == "utc" else value.date()
    return value.item() if hasattr(value, "item") else value


def both(org: Organisation) -> tuple[dict[str, Any], dict[str, Any]]:
    """(engine, reference) views of one organisation."""
    engine = engine_view(reconcile(as_canonical(org.rows), org.rules))
    ref = reference_view(reference_reconcile(org.rows, ref_rules(org.rules)))
    return engine, ref


def differences(org: Organisation, limit: int = 40) -> list[str]:
    """Every field where engine and reference disagree, one line each (engine first)."""
    engine, ref = both(org)
    out: list[str] = []
    for employee_id in sorted(set(engine["people"]) | set(ref["people"])):
        e = engine["people"].get(employee_id)
        r = ref["people"].get(employee_id)
        if e is None or r is None:
            out.append(f"person {employee_id}: engine {e} reference {r}")
            continue
        for f in PERSON_FIGURES:
            if e[f] != r[f]:
                out.append(f"person {employee_id} {f}: engine {e[f]!r} reference {r[f]!r}")
    for kind, key in (("activities", "activities"), ("completions", "completions")):
        rows = org.rows.get(kind) or []
        if len(engine[key]) != len(ref[key]):
            out.append(f"{kind}: engine {len(engine[key])} rows, reference {len(ref[key])}")
            continue
        for i, (e, r) in enumerate(zip(engine[key], ref[key], strict=True)):
            if e != r:
                rec = rows[i] if i < len(rows) else {}
                out.append(
                    f"{kind}[{i}] {rec.get('system')}:{rec.get('record_id')}: "
                    f"engine {e} reference {r}"
                )
    extra = engine["exceptions"] - ref["exceptions"]
    missing = ref["exceptions"] - engine["exceptions"]
    out += [f"exception only in engine: {k} x{n}" for k, n in sorted(extra.items(), key=str)]
    out += [f"exception only in reference: {k} x{n}" for k, n in sorted(missing.items(), key=str)]
    for key in sorted(set(engine["control_totals"]) | set(ref["control_totals"])):
        e = engine["control_totals"].get(key)
        r = ref["control_totals"].get(key)
        if e != r:
            out.append(f"control total {key}: engine {e} reference {r}")
    return out[:limit]
