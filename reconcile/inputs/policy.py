"""The policy workbook (sheets ``Requirements``, ``Categories``, ``Courses``) and CPD logs.

Both are small-to-huge tables of the same shape problem: a key that must be present and
unique, minutes that must be whole and not negative, yes/no flags, and names that must agree
with another table. Each ``validate_*`` returns the canonical frame documented in
docs/spreadsheets.md and reports into the table's :class:`Issues`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from reconcile.inputs.tables import Checked
from reconcile.inputs.values import is_in

REQUIREMENT_COLUMNS = ("audience", "required_minutes", "structured_minutes", "source_row")
CATEGORY_COLUMNS = ("category", "structured", "min_minutes", "max_minutes", "source_row")
COURSE_COLUMNS = (
    "system",
    "course_id",
    "title",
    "cpd_minutes",
    "category",
    "structured",
    "thrive_content_id",
    "source_row",
)
CPD_LOG_COLUMNS = (
    "employee_id",
    "email",
    "title",
    "date",
    "minutes",
    "category",
    "structured",
    "file",
    "source_row",
)
SYSTEMS = ("thrive", "coursepath")
SHEETS = {"requirements": "Requirements", "categories": "Categories", "courses": "Courses"}


def key(text: pd.Series) -> pd.Series:
    """Names compared trimmed, case-folded, runs of white space as one (as the engine does)."""
    return text.str.strip().str.casefold().str.replace(r"\s+", " ", regex=True)


def _blank(t: Checked, column: pd.Series, canonical: str, code: str, what: str, fix: str) -> None:
    raw_blank = t.raw(canonical).isna().to_numpy()
    t.flag(code, raw_blank & column.isna().to_numpy(), canonical, problem=what, fix=fix)


def validate_requirements(t: Checked) -> pd.DataFrame:
    audience = t.text("audience")
    t.flag(
        "blank_audience",
        audience.isna().to_numpy(),
        "audience",
        problem="a requirement with no audience",
        fix="type the audience name, reference or id (as in Thrive or the roster)",
    )
    t.duplicates(
        key(audience),
        "duplicate_audience",
        "audience",
        what="the same audience is listed",
        fix="keep one row per audience",
    )
    required = t.minutes("required_minutes")
    _blank(
        t,
        required,
        "required_minutes",
        "blank_minutes",
        "no required minutes",
        "type the minutes this audience owes per period (0 if none)",
    )
    structured = t.minutes("structured_minutes").fillna(0)
    t.flag(
        "structured_above_required",
        (structured > required).fillna(False).to_numpy(dtype=bool),
        "structured_minutes",
        problem="more structured minutes than required minutes",
        fix="structured minutes are part of the required minutes; lower them",
    )
    return pd.DataFrame(
        {
            "audience": audience,
            "required_minutes": required,
            "structured_minutes": structured.astype("Int64"),
            "source_row": t.grid.rows,
        }
    ).loc[:, list(REQUIREMENT_COLUMNS)]


def validate_categories(t: Checked) -> pd.DataFrame:
    category = t.text("category")
    t.flag(
        "blank_category",
        category.isna().to_numpy(),
        "category",
        problem="a row with no category name",
        fix="type the category name as the platforms spell it",
    )
    structured = t.yes_no("structured", blank=False)
    low, high = t.minutes("min_minutes"), t.minutes("max_minutes")
    t.flag(
        "min_above_max",
        (low > high).fillna(False).to_numpy(dtype=bool),
        "min_minutes",
        problem="the minimum is above the maximum",
        fix="swap or correct the two numbers",
    )
    names = key(category)
    repeated = names.notna() & names.duplicated(keep=False)
    if repeated.any():
        flags = pd.DataFrame({"name": names[repeated], "s": structured[repeated]})
        conflicting = flags.groupby("name")["s"].transform("nunique") > 1
        conflict_mask = np.zeros(t.n, dtype=bool)
        conflict_mask[flags.index[conflicting.to_numpy()]] = True
        t.duplicates(
            names,
            "conflicting_category",
            "structured",
            what="the category is marked both structured and not",
            fix="decide whether the category is structured and keep one row",
            only=conflict_mask,
        )
        t.duplicates(
            names,
            "duplicate_category",
            "category",
            what="the same category is listed",
            fix="keep one row per category",
            only=repeated.to_numpy() & ~conflict_mask,
        )
    return pd.DataFrame(
        {
            "category": category,
            "structured": structured,
            "min_minutes": low,
            "max_minutes": high,
            "source_row": t.grid.rows,
        }
    ).loc[:, list(CATEGORY_COLUMNS)]


def validate_courses(t: Checked, categories: pd.Series | None = None) -> pd.DataFrame:
    system = t.text("system").str.strip().str.lower()
    unknown = system.notna().to_numpy() & ~is_in(system, SYSTEMS)
    t.flag(
        "unknown_system",
        unknown | system.isna().to_numpy(),
        "system",
        problem="the system must be thrive or coursepath",
        fix="type thrive or coursepath",
    )
    course_id = t.text("course_id")
    t.flag(
        "blank_course_id",
        course_id.isna().to_numpy(),
        "course_id",
        problem="a course with no id",
        fix="type the course's id in its platform (Thrive content id, Coursepath course id)",
    )
    pair = system.fillna("") + "\x00" + course_id
    t.duplicates(
        pair,
        "duplicate_course",
        "course_id",
        what="the same system and course id are listed",
        fix="keep one row per course",
    )
    category = t.text("category")
    if categories is not None and t.has("category"):
        known = set(key(categories.dropna()))
        unlisted = category.notna().to_numpy() & ~is_in(key(category), known)
        t.flag(
            "unknown_category",
            unlisted,
            "category",
            problem="this category is not on the Categories sheet",
            fix="add it to the Categories sheet or correct the spelling",
        )
    return pd.DataFrame(
        {
            "system": system,
            "course_id": course_id,
            "title": t.text("title"),
            "cpd_minutes": t.minutes("cpd_minutes"),
            "category": category,
            "structured": t.yes_no("structured", blank=None),
            "thrive_content_id": t.text("thrive_content_id"),
            "source_row": t.grid.rows,
        }
    ).loc[:, list(COURSE_COLUMNS)]


def validate_cpd_log(
    t: Checked,
    *,
    roster_ids: pd.Index | None = None,
    roster_emails: pd.Index | None = None,
) -> pd.DataFrame:
    """External CPD: who, what, when, how long. Vectorised for million-row logs."""
    employee_id = t.text("employee_id")
    email = t.text("email")
    nobody = employee_id.isna().to_numpy() & email.isna().to_numpy()
    t.flag(
        "no_person",
        nobody,
        "employee_id" if t.has("employee_id") else "email",
        problem="no employee ID or e-mail, so the activity belongs to nobody",
        fix="type the person's employee ID (or e-mail address)",
    )
    if roster_ids is not None and roster_emails is not None:
        by_id = is_in(employee_id, roster_ids)
        by_email = np.zeros(t.n, dtype=bool)
        if t.has("email"):
            by_email = is_in(email.str.casefold(), roster_emails)
        stranger = ~nobody & ~by_id & ~by_email
        t.flag(
            "unknown_person",
            stranger,
            "employee_id" if t.has("employee_id") else "email",
            problem="no one in the roster has this employee ID or e-mail",
            fix="correct the ID/e-mail, or add the person to the roster",
        )
    title = t.text("title")
    t.flag(
        "blank_title",
        title.isna().to_numpy(),
        "title",
        problem="the activity has no title",
        fix="type what the activity was (titles are used to spot duplicates)",
    )
    date = t.date("date")
    _blank(t, date, "date", "blank_date", "the activity has no date", "type the date it happened")
    minutes = t.minutes("minutes")
    _blank(
        t, minutes, "minutes", "blank_minutes", "the activity has no minutes", "type its minutes"
    )
    columns = {
        "employee_id": employee_id,
        "email": email,
        "title": title,
        "date": date,
        "minutes": minutes,
        "category": t.text("category"),
        "structured": t.yes_no("structured", blank=None),
        "file": pd.Categorical.from_codes(
            np.zeros(t.n, dtype=np.int8), categories=pd.Index([t.grid.file])
        ),
        "source_row": t.grid.rows,
    }
    # copy=False: a million-row log's columns are fresh already; copying them costs time
    return pd.DataFrame({name: columns[name] for name in CPD_LOG_COLUMNS}, copy=False)
