"""Adapters: pulled snapshot tables + HR's spreadsheets → the engine's canonical tables.

Why one module: the loaders speak each platform's dialect (docs/sources.md) and the
spreadsheet reader speaks HR's (docs/spreadsheets.md); the engine speaks only the canonical
schema (reconcile/engine/canonical.py). Every mapping from a platform's pulled table to a
canonical table is declared as data (``CANONICAL``) in that platform's loader, next to its
field mapping from the wire, so a user correcting a mapping for their tenant reads one place;
the spreadsheets' mappings are the tables below. Everything is column-wise pandas.

Every record keeps the snapshot table it came from in ``source_table``
(``"thrive/cpd_entries"``, ``"policy/Courses"``, ``"spreadsheet/external_cpd.xlsx"``...) so
the control totals (DESIGN §8) are counted per source table and balance.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from reconcile.engine.canonical import CanonicalTables
from reconcile.errors import IntegrityError
from reconcile.sources import brightspace, coursepath, thrive
from reconcile.sources.canonical_map import Derived, Fixed, Source, ToCanonical

Tables = Mapping[tuple[str, str], pd.DataFrame]
Parts = dict[str, list[pd.DataFrame]]

#: Each platform's mapping from pulled tables to canonical ones, declared in its loader next
#: to its field mapping (docs/sources.md): correct a tenant's spelling there.
PLATFORM_MAPPINGS: Mapping[str, tuple[ToCanonical, ...]] = {
    "thrive": thrive.CANONICAL,
    "brightspace": brightspace.CANONICAL,
    "coursepath": coursepath.CANONICAL,
}

#: Snapshot tables that no canonical table reads, with the disposition they get in the
#: control totals (so every pulled table is still accounted for, DESIGN §8). Coursepath course
#: members are "used": each one is the key a result was fetched by.
UNREAD_TABLES: Mapping[tuple[str, str], str] = {
    ("brightspace", "target_categories"): "unused",
    ("coursepath", "course_members"): "used",
    ("coursepath", "groups"): "unused",
    ("coursepath", "group_members"): "unused",
}


def build_canonical(tables: Tables, inputs: Any) -> CanonicalTables:
    """The engine's input from pulled ``tables`` (keyed (source, table)) and read ``inputs``.

    ``inputs`` is a :class:`reconcile.inputs.Inputs`. A platform whose tables are absent (not
    configured) contributes nothing; nothing assumes all three are there.
    """
    parts: Parts = defaultdict(list)
    _platforms(tables, parts)
    _spreadsheets(inputs, parts)
    frames = {name: _concat(frames) for name, frames in parts.items()}
    frames["people"] = _people(inputs.people)
    frames["input_issues"] = _input_issues(inputs)
    return CanonicalTables.build(**frames)


def known_audiences(tables: Tables) -> list[str] | None:
    """Ids, names and references of the pulled Thrive audiences (None without Thrive)."""
    audiences = tables.get(("thrive", "audiences"))
    if audiences is None:
        return None
    values = pd.concat([audiences[c] for c in ("id", "name", "reference")], ignore_index=True)
    return sorted(values.dropna().astype(str).unique())


def unread_control_totals(
    tables: Tables, counted: Iterable[tuple[str, str]]
) -> list[dict[str, Any]]:
    """Control-total rows (summary.json shape) for pulled tables the engine did not count.

    ``counted``: the (source, table) pairs already in the engine's control totals. A table
    the engine does not read gets its :data:`UNREAD_TABLES` disposition, an empty table a row
    of 0; a table with records that nothing accounted for is an :class:`IntegrityError`
    (DESIGN §8: the run fails loudly rather than lose records).
    """
    seen = set(counted)
    rows = []
    for (source, table), frame in sorted(tables.items()):
        if (source, table) in seen:
            continue
        n = len(frame)
        disposition = UNREAD_TABLES.get((source, table))
        if disposition is None and n:
            raise IntegrityError(
                f"snapshot table {source}/{table} has {n:,} records that no canonical table "
                "accounts for; map it in reconcile/canonical_build.py (or list it in "
                "UNREAD_TABLES)"
            )
        dispositions = {disposition: n} if disposition else {}
        rows.append({"source": source, "table": table, "pulled": n, "dispositions": dispositions})
    return rows


# --------------------------------------------------------------------------- platforms


def _platforms(tables: Tables, parts: Parts) -> None:
    """Every pulled table a platform's ``CANONICAL`` mapping names → canonical rows."""
    for source, mappings in PLATFORM_MAPPINGS.items():
        for mapping in mappings:
            pulled = tables.get((source, mapping.table))
            if pulled is not None:
                parts[mapping.canonical].append(mapping.apply(pulled, source))


# --------------------------------------------------------------------------- spreadsheets


#: The policy workbook's sheets → canonical tables (the reader has named their columns).
POLICY = (
    ToCanonical(
        "Requirements",
        "requirements",
        {
            "audience": "audience",
            "required_minutes": "required_minutes",
            "structured_minutes": "structured_minutes",
            "origin": Fixed("policy"),
        },
    ),
    ToCanonical(
        "Categories",
        "categories",
        {
            "category": "category",
            "structured": "structured",
            "min_minutes": "min_minutes",
            "max_minutes": "max_minutes",
        },
    ),
    ToCanonical(
        "Courses",
        "catalogue",
        {
            "system": "system",
            "course_id": "course_id",
            "title": "title",
            "cpd_minutes": "cpd_minutes",
            "category": "category",
            "structured": "structured",
            "thrive_content_id": "thrive_content_id",
            "origin": Fixed("policy"),
        },
    ),
)
#: The roster's audiences column (one row per person and audience named).
ROSTER_AUDIENCES = {"audience": "audience", "employee_id": "employee_id"}
#: A CPD log's rows: the record id is the row number Excel shows; the account the employee
#: id typed, else the e-mail; the date is already local.
CPD_LOG: dict[str, Source] = {
    "system": Fixed("spreadsheet"),
    "record_id": Derived(lambda log: log["source_row"].astype("int64").astype("str")),
    "account_id": Derived(lambda log: log["employee_id"].fillna(log["email"])),
    "title": "title",
    "category": "category",
    "structured": "structured",
    "minutes": "minutes",
    "local_date": "date",
    "state": Fixed("published"),
}


def _spreadsheets(inputs: Any, parts: Parts) -> None:
    """Roster audiences, the policy workbook's three sheets and the CPD logs → canonical rows."""
    sheets = {
        "Requirements": inputs.requirements,
        "Categories": inputs.categories,
        "Courses": inputs.courses,
    }
    for mapping in POLICY:
        if len(sheets[mapping.table]):
            parts[mapping.canonical].append(mapping.apply(sheets[mapping.table], "policy"))
    if len(inputs.memberships):
        audiences = ToCanonical(_roster_file(inputs), "memberships", ROSTER_AUDIENCES)
        parts["memberships"].append(audiences.apply(inputs.memberships, "roster"))
    log = inputs.cpd_log
    if len(log):
        rows = ToCanonical("cpd_logs", "activities", CPD_LOG).apply(log, "spreadsheet")
        rows["source_table"] = ("spreadsheet/" + log["file"].astype("str")).to_numpy()  # its file
        parts["activities"].append(rows)


def _people(people: pd.DataFrame) -> pd.DataFrame:
    """The roster as the engine's people table (extra reader columns are dropped by conform)."""
    return people


def _input_issues(inputs: Any) -> pd.DataFrame:
    """Spreadsheet warnings; the engine turns each into an ``input_issue`` exception.

    A warning on a roster or CPD-log row names that row's employee, so the Exceptions sheet
    can say whose it is. The reader leaves blanks as ``""`` or None; canonical wants NaN.
    """
    issues = inputs.issues
    if issues is None or not len(issues):
        return pd.DataFrame()
    frame = issues.copy()
    for column in ("sheet", "column", "value", "fix"):
        if column in frame.columns:
            text = frame[column].astype("str")
            frame[column] = text.where(frame[column].notna() & (text != ""))
    frame["row"] = pd.to_numeric(frame["row"], errors="coerce").astype("float64")
    rows = pd.concat(
        [
            pd.DataFrame(
                {
                    "file": _roster_file(inputs),
                    "row": inputs.people["source_row"].astype("float64"),
                    "employee_id": inputs.people["employee_id"].astype("str"),
                }
            ),
            pd.DataFrame(
                {
                    "file": inputs.cpd_log["file"].astype("str"),
                    "row": inputs.cpd_log["source_row"].astype("float64"),
                    "employee_id": inputs.cpd_log["employee_id"].astype("str"),
                }
            ),
        ],
        ignore_index=True,
    ).drop_duplicates(["file", "row"])
    keys = frame[["file", "row"]].astype({"file": "str"})
    frame["employee_id"] = keys.merge(rows, on=["file", "row"], how="left")[
        "employee_id"
    ].to_numpy()
    return frame


def _roster_file(inputs: Any) -> str:
    files = getattr(inputs, "files", ())
    return files[0].name if files else "roster"


# --------------------------------------------------------------------------- helpers


def _concat(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame()
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True)
