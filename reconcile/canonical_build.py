"""Adapters: pulled snapshot tables + HR's spreadsheets → the engine's canonical tables.

Why one module: the loaders speak each platform's dialect (docs/sources.md) and the
spreadsheet reader speaks HR's (docs/spreadsheets.md); the engine speaks only the canonical
schema (reconcile/engine/canonical.py). Every field mapping from a platform table to a
canonical column lives in exactly one function per platform below (``_thrive``,
``_brightspace``, ``_coursepath``), so a user correcting a mapping for their tenant reads one
place. Everything is column-wise pandas: no per-row Python.

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

Tables = Mapping[tuple[str, str], pd.DataFrame]
Parts = dict[str, list[pd.DataFrame]]

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
    _thrive(tables, parts)
    _brightspace(tables, parts)
    _coursepath(tables, parts)
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


def _thrive(tables: Tables, parts: Parts) -> None:
    """Thrive's snapshot tables (docs/sources.md, "thrive") → canonical rows."""
    get = _getter(tables, "thrive")
    if (users := get("users")) is not None:
        parts["accounts"].append(
            _frame(
                users,
                "thrive/users",
                system="thrive",
                account_id=users["id"],
                email=users["email"],
                external_ref=users["ref"],
                name=_full_name(users["first_name"], users["last_name"]),
            )
        )
    if (audiences := get("audiences")) is not None:
        parts["audiences"].append(
            _frame(
                audiences,
                "thrive/audiences",
                audience_id=audiences["id"],
                name=audiences["name"],
                reference=audiences["reference"],
            )
        )
    if (members := get("audience_members")) is not None:
        parts["memberships"].append(
            _frame(
                members,
                "thrive/audience_members",
                audience=members["audience_id"],
                system="thrive",
                account_id=members["user_id"],
            )
        )
    if (summaries := get("requirements")) is not None:
        parts["requirements"].append(
            _frame(
                summaries,
                "thrive/requirements",
                audience=summaries["audience_id"],
                required_minutes=summaries["required_minutes"],
                origin="thrive",
            )
        )
    if (categories := get("cpd_categories")) is not None:
        parts["categories"].append(
            _frame(categories, "thrive/cpd_categories", category=categories["name"])
        )
    if (entries := get("cpd_entries")) is not None:
        parts["activities"].append(
            _frame(
                entries,
                "thrive/cpd_entries",
                system="thrive",
                record_id=entries["log_entry_id"],
                account_id=entries["user_id"],
                title=entries["activity_name"],
                category=entries["category_name"],
                minutes=entries["duration_minutes"],
                completed_at=entries["entry_date"],
                state="published",
            )
        )
    if (totals := get("user_log_summaries")) is not None:
        parts["platform_totals"].append(
            _frame(
                totals,
                "thrive/user_log_summaries",
                system="thrive",
                account_id=totals["user_id"],
                minutes=totals["duration_minutes"],
            )
        )
    if (contents := get("contents")) is not None:
        parts["catalogue"].append(
            _frame(
                contents,
                "thrive/contents",
                system="thrive",
                course_id=contents["id"],
                title=contents["title"],
                cpd_minutes=contents["duration_minutes"],
                origin="content",
            )
        )
    if (completions := get("completions")) is not None:
        parts["completions"].append(
            _frame(
                completions,
                "thrive/completions",
                system="thrive",
                record_id=completions["id"],
                account_id=completions["user_id"],
                course_id=completions["content_id"],
                completed_at=completions["completed_at"],
                passed=True,  # DESIGN §6.5: Thrive completions count as passed
            )
        )


def _brightspace(tables: Tables, parts: Parts) -> None:
    """Brightspace's snapshot tables (docs/sources.md, "brightspace") → canonical rows."""
    get = _getter(tables, "brightspace")
    if (users := get("users")) is not None:
        parts["accounts"].append(
            _frame(
                users,
                "brightspace/users",
                system="brightspace",
                account_id=users["user_id"],
                email=users["external_email"],
                external_ref=users["org_defined_id"],
                name=_full_name(users["first_name"], users["last_name"]),
            )
        )
    if (records := get("records")) is not None:
        draft = records["record_state_id"].eq(2).fillna(False).to_numpy(dtype=bool)
        parts["activities"].append(
            _frame(
                records,
                "brightspace/records",
                system="brightspace",
                record_id=records["record_id"].astype("str"),
                account_id=records["user_id"],
                title=records["record_name"],
                category=records["category_name"],
                structured=records["is_structured"],
                minutes=records["credit_minutes"],
                completed_at=records["date_completed"],
                state=pd.Series(draft, index=records.index).map(
                    {True: "draft", False: "published"}
                ),
            )
        )
    if (targets := get("targets")) is not None:
        parts["targets"].append(
            _frame(
                targets,
                "brightspace/targets",
                system="brightspace",
                account_id=targets["user_id"],
                structured_required=targets["structured_denominator"],
                unstructured_required=targets["unstructured_denominator"],
                structured_done=targets["structured_numerator"],
                unstructured_done=targets["unstructured_numerator"],
            )
        )


def _coursepath(tables: Tables, parts: Parts) -> None:
    """Coursepath's snapshot tables (docs/sources.md, "coursepath") → canonical rows."""
    get = _getter(tables, "coursepath")
    if (members := get("members")) is not None:
        parts["accounts"].append(
            _frame(
                members,
                "coursepath/members",
                system="coursepath",
                account_id=members["member_id"],
                email=members["email"],
                external_ref=members["external_id"],
                name=members["name"],
            )
        )
    if (courses := get("courses")) is not None:
        parts["catalogue"].append(
            _frame(
                courses,
                "coursepath/courses",
                system="coursepath",
                course_id=courses["course_id"],
                title=courses["name"],
                origin="content",  # a title only: CPD minutes come from the Courses sheet
            )
        )
    if (results := get("results")) is not None:
        course_id = results["course_id"].astype("str")
        passed = results["completed"].fillna(False) & results["success"].fillna(False)
        parts["completions"].append(
            _frame(
                results,
                "coursepath/results",
                system="coursepath",
                record_id=course_id + ":" + results["member_id"].astype("str"),
                account_id=results["member_id"],
                course_id=course_id,
                completed_at=results["completed_at"],
                passed=passed.astype("boolean"),
                score=results["score"],
                certificate=results["certificate_url"],
            )
        )


# --------------------------------------------------------------------------- spreadsheets


def _spreadsheets(inputs: Any, parts: Parts) -> None:
    """Roster audiences, the policy workbook's three sheets and the CPD logs → canonical rows."""
    roster_file = _roster_file(inputs)
    mem = inputs.memberships
    if len(mem):
        parts["memberships"].append(
            _frame(
                mem,
                f"roster/{roster_file}",
                audience=mem["audience"],
                employee_id=mem["employee_id"],
            )
        )
    req = inputs.requirements
    if len(req):
        parts["requirements"].append(
            _frame(
                req,
                "policy/Requirements",
                audience=req["audience"],
                required_minutes=req["required_minutes"],
                structured_minutes=req["structured_minutes"],
                origin="policy",
            )
        )
    cat = inputs.categories
    if len(cat):
        parts["categories"].append(
            _frame(
                cat,
                "policy/Categories",
                category=cat["category"],
                structured=cat["structured"],
                min_minutes=cat["min_minutes"],
                max_minutes=cat["max_minutes"],
            )
        )
    courses = inputs.courses
    if len(courses):
        parts["catalogue"].append(
            _frame(
                courses,
                "policy/Courses",
                system=courses["system"],
                course_id=courses["course_id"],
                title=courses["title"],
                cpd_minutes=courses["cpd_minutes"],
                category=courses["category"],
                structured=courses["structured"],
                thrive_content_id=courses["thrive_content_id"],
                origin="policy",
            )
        )
    log = inputs.cpd_log
    if len(log):
        parts["activities"].append(
            pd.DataFrame(
                {
                    "system": "spreadsheet",
                    "record_id": log["source_row"].astype("int64").astype("str"),
                    "account_id": log["employee_id"].fillna(log["email"]),
                    "title": log["title"],
                    "category": log["category"],
                    "structured": log["structured"],
                    "minutes": log["minutes"],
                    "local_date": log["date"],
                    "state": "published",
                    "source_table": "spreadsheet/" + log["file"].astype("str"),
                }
            )
        )


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


def _getter(tables: Tables, source: str):
    def get(table: str) -> pd.DataFrame | None:
        return tables.get((source, table))

    return get


def _frame(like: pd.DataFrame, source_table: str, **columns: Any) -> pd.DataFrame:
    """A frame of ``columns`` (Series or scalars) with ``like``'s length and a source_table."""
    data = {
        name: (value.reset_index(drop=True) if isinstance(value, pd.Series) else value)
        for name, value in columns.items()
    }
    data["source_table"] = source_table
    return pd.DataFrame(data, index=pd.RangeIndex(len(like)))


def _full_name(first: pd.Series, last: pd.Series) -> pd.Series:
    joined = first.fillna("").astype("str") + " " + last.fillna("").astype("str")
    joined = joined.str.strip()
    return joined.where(joined != "", None)


def _concat(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame()
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True)
