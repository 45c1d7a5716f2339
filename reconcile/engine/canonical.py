"""The canonical tables: the only shape the engine accepts (DESIGN.md §6).

Why a schema of its own: loaders and spreadsheet readers each speak their platform's dialect;
the engine speaks one. Every adapter builds these frames, :func:`conform` casts a frame to the
documented dtypes (adding optional columns it lacks), and :func:`validate_canonical` refuses
anything else with one line naming the table, the column and the fix. The engine never guesses
a dtype.

Dtype families (exact pandas dtypes after :func:`conform`):

- ``TEXT``: ``str`` (pandas' string dtype); missing values are NaN.
- ``MINUTES`` / ``NUMBER``: ``float64`` (NaN where unknown).
- ``FLAG``: ``bool`` (never missing). ``MAYBE``: nullable ``boolean`` (NA = "not said").
- ``DATE``: naive ``datetime64`` at midnight: a *local* calendar date (roster dates, dates
  typed in a spreadsheet).
- ``UTC``: ``datetime64[.., UTC]``: an instant from an API.

Every record table carries ``source_table`` (``"thrive/cpd_entries"``, ``"brightspace/records"``,
``"spreadsheet/external_cpd.xlsx"``...): the control totals (§8) are counted per source table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionDtype

from reconcile.errors import IntegrityError

TEXT = "str"
MINUTES = "float64"
NUMBER = "float64"
FLAG = "bool"
MAYBE = "boolean"
DATE = "date"
UTC = "utc"

#: Systems in the order that decides ties (the first counts when duplicates tie on date).
SYSTEM_ORDER: tuple[str, ...] = ("thrive", "brightspace", "coursepath", "spreadsheet")
PLATFORMS: tuple[str, ...] = ("thrive", "brightspace", "coursepath")


#: What a column's ``dtype`` is: numpy's or a pandas extension dtype.
DtypeObj = np.dtype | ExtensionDtype


@dataclass(frozen=True)
class Column:
    """One column of a canonical table: its dtype family and whether an adapter must give it."""

    dtype: str
    required: bool = True
    doc: str = ""


def _cols(**columns: Column) -> Mapping[str, Column]:
    return MappingProxyType(columns)


#: One row per roster person. ``employee_id`` is the person's key everywhere in the result.
PEOPLE = _cols(
    employee_id=Column(TEXT, doc="roster key, text as the user sees it (leading zeros kept)"),
    name=Column(TEXT),
    email=Column(TEXT),
    department=Column(TEXT, False),
    manager_id=Column(TEXT, False, "another person's employee_id"),
    start_date=Column(DATE, False, "local date; NaT = employed before the period"),
    leave_date=Column(DATE, False, "local date, last day employed; NaT = still employed"),
    fte=Column(NUMBER, False, "0 < fte <= 1; NaN read as 1"),
    exempt=Column(FLAG, False),
    exempt_reason=Column(TEXT, False),
    thrive_id=Column(TEXT, False, "explicit Thrive user id"),
    brightspace_id=Column(TEXT, False, "explicit Brightspace UserId"),
    coursepath_id=Column(TEXT, False, "explicit Coursepath member id"),
)

#: One row per platform user account (thrive/users, brightspace/users, coursepath/members).
ACCOUNTS = _cols(
    system=Column(TEXT),
    account_id=Column(TEXT),
    email=Column(TEXT, False),
    external_ref=Column(TEXT, False, "Thrive ref, Brightspace OrgDefinedId, Coursepath externalId"),
    name=Column(TEXT, False),
    source_table=Column(TEXT),
)

#: Audiences known by id, reference and name, so that memberships and requirements can name
#: an audience any of the three ways (DESIGN §5).
AUDIENCES = _cols(
    audience_id=Column(TEXT),
    name=Column(TEXT, False),
    reference=Column(TEXT, False),
    source_table=Column(TEXT),
)

#: Person ↔ audience. Either ``employee_id`` (roster's audiences column) or
#: ``system`` + ``account_id`` (Thrive audience members) identifies the person.
MEMBERSHIPS = _cols(
    audience=Column(TEXT, doc="audience id, reference or name"),
    employee_id=Column(TEXT, False),
    system=Column(TEXT, False),
    account_id=Column(TEXT, False),
    source_table=Column(TEXT),
)

#: Minutes an audience owes for the period. ``origin`` "policy" rows override "thrive" rows.
REQUIREMENTS = _cols(
    audience=Column(TEXT, doc="audience id, reference or name"),
    required_minutes=Column(MINUTES),
    structured_minutes=Column(MINUTES, False, "NaN read as 0"),
    origin=Column(TEXT, doc='"thrive" (requirement summaries) or "policy" (policy sheet)'),
    source_table=Column(TEXT),
)

#: What names a record: its system, its id there, and the account it belongs to.
_RECORD = {
    "system": Column(TEXT, doc='"thrive", "brightspace", "coursepath" or "spreadsheet"'),
    "record_id": Column(TEXT, doc="the record's id in its system"),
    "account_id": Column(TEXT, doc="a platform account; in a CPD log, the employee id or e-mail"),
}

#: Logged CPD: Thrive CPD entries, Brightspace records, spreadsheet CPD logs (system
#: ``spreadsheet``, ``account_id`` = the row's employee_id, else its email).
ACTIVITIES = _cols(
    **_RECORD,
    title=Column(TEXT),
    category=Column(TEXT, False),
    structured=Column(MAYBE, False, "NA = not said: Courses sheet, then Categories sheet decide"),
    minutes=Column(MINUTES),
    completed_at=Column(UTC, False, "instant from an API"),
    local_date=Column(DATE, False, "a date already local (spreadsheets); wins over completed_at"),
    state=Column(TEXT, False, '"published" (default) or "draft" (Brightspace RecordStateId 2)'),
    course_id=Column(TEXT, False, "catalogue course the record names, if the source says"),
    source_table=Column(TEXT),
)

#: Course completions: Thrive learning completions, Coursepath course-member results.
COMPLETIONS = _cols(
    **_RECORD,
    course_id=Column(TEXT),
    title=Column(TEXT, False, "NaN: the catalogue's title"),
    completed_at=Column(UTC),
    passed=Column(MAYBE, False, "Thrive completions always count as passed"),
    score=Column(NUMBER, False),
    certificate=Column(TEXT, False),
    source_table=Column(TEXT),
)

#: Courses with a CPD value. ``origin`` "policy" (Courses sheet: the catalogue proper) wins
#: over "content" (Thrive contents: their duration is the fallback value).
CATALOGUE = _cols(
    system=Column(TEXT),
    course_id=Column(TEXT),
    title=Column(TEXT, False, "an activity with this title (normalised) names the course"),
    cpd_minutes=Column(MINUTES, False, "Courses sheet's CPD minutes; a Thrive content's duration"),
    category=Column(TEXT, False, "a category name, as on the Categories sheet"),
    structured=Column(MAYBE, False, "NA = not said: the Categories sheet decides"),
    thrive_content_id=Column(TEXT, False, "the Thrive content a completion is written back to"),
    origin=Column(TEXT, doc='"policy" or "content"'),
    source_table=Column(TEXT),
)

#: The Categories policy sheet (and platform category lists, which carry no rules).
CATEGORIES = _cols(
    category=Column(TEXT, doc="compared trimmed, case-folded, runs of spaces as one"),
    structured=Column(MAYBE, False),
    min_minutes=Column(MINUTES, False, "a person who owes minutes must count this many here"),
    max_minutes=Column(MINUTES, False, "minutes above this do not count"),
    source_table=Column(TEXT),
)

#: A platform's own total for an account over the period (Thrive cpdUserLogSummaries).
PLATFORM_TOTALS = _cols(
    system=Column(TEXT),
    account_id=Column(TEXT),
    minutes=Column(MINUTES),
    source_table=Column(TEXT),
)

#: Brightspace target progress per user, requested for the period's dates.
TARGETS = _cols(
    system=Column(TEXT),
    account_id=Column(TEXT),
    structured_required=Column(MINUTES, doc="Structured.Denominator"),
    unstructured_required=Column(MINUTES, doc="Unstructured.Denominator"),
    structured_done=Column(MINUTES, False, "Structured.Numerator"),
    unstructured_done=Column(MINUTES, False, "Unstructured.Numerator"),
    source_table=Column(TEXT),
)

#: Warnings from reading the spreadsheets; each becomes an ``input_issue`` exception.
INPUT_ISSUES = _cols(
    file=Column(TEXT),
    sheet=Column(TEXT, False),
    row=Column(NUMBER, False),
    column=Column(TEXT, False),
    value=Column(TEXT, False),
    problem=Column(TEXT),
    fix=Column(TEXT, False),
    employee_id=Column(TEXT, False),
)

SCHEMAS: Mapping[str, Mapping[str, Column]] = MappingProxyType(
    {
        "people": PEOPLE,
        "accounts": ACCOUNTS,
        "audiences": AUDIENCES,
        "memberships": MEMBERSHIPS,
        "requirements": REQUIREMENTS,
        "activities": ACTIVITIES,
        "completions": COMPLETIONS,
        "catalogue": CATALOGUE,
        "categories": CATEGORIES,
        "platform_totals": PLATFORM_TOTALS,
        "targets": TARGETS,
        "input_issues": INPUT_ISSUES,
    }
)

#: Tables whose rows are counted in the control totals (all but people and input issues).
CONTROLLED = (
    "accounts",
    "audiences",
    "memberships",
    "requirements",
    "activities",
    "completions",
    "catalogue",
    "categories",
    "platform_totals",
    "targets",
)


def _default(col: Column, n: int) -> pd.Series:
    if col.dtype == FLAG:
        return pd.Series(False, index=range(n), dtype="bool")
    if col.dtype == MAYBE:
        return pd.Series(pd.NA, index=range(n), dtype="boolean")
    if col.dtype == DATE:
        return pd.Series(pd.NaT, index=range(n), dtype="datetime64[us]")
    if col.dtype == UTC:
        return pd.Series(pd.NaT, index=range(n), dtype="datetime64[us, UTC]")
    return pd.Series(float("nan"), index=range(n), dtype="str" if col.dtype == TEXT else "float64")


def _cast(series: pd.Series, col: Column) -> pd.Series:
    if col.dtype == FLAG:
        return series.fillna(False).astype("bool")
    if col.dtype == MAYBE:
        return series.astype("boolean")
    if col.dtype == DATE:
        out = pd.to_datetime(series)
        if isinstance(out.dtype, pd.DatetimeTZDtype):
            out = out.dt.tz_localize(None)
        return out.dt.normalize()
    if col.dtype == UTC:
        return pd.to_datetime(series, utc=True)
    if col.dtype == TEXT:
        return series if isinstance(series.dtype, pd.StringDtype) else series.astype("str")
    return pd.to_numeric(series).astype("float64")  # MINUTES and NUMBER


def conform(name: str, frame: pd.DataFrame | None) -> pd.DataFrame:
    """Cast ``frame`` to table ``name``'s schema: columns in schema order, extras dropped.

    Missing optional columns are added empty; a missing required column is an
    :class:`IntegrityError` (an adapter bug, not a user mistake).
    """
    schema = SCHEMAS[name]
    frame = pd.DataFrame() if frame is None else frame.reset_index(drop=True)
    n = len(frame)
    out: dict[str, pd.Series] = {}
    for column, spec in schema.items():
        if column in frame.columns:
            out[column] = _cast(frame[column], spec)
        elif spec.required and n:
            raise IntegrityError(
                f"canonical table {name} has no column {column}; the adapter that builds it "
                f"must add it (see reconcile/engine/canonical.py)"
            )
        else:
            out[column] = _default(spec, n)
    return pd.DataFrame(out, index=pd.RangeIndex(n))


def _is_text(dtype: DtypeObj) -> bool:
    return isinstance(dtype, pd.StringDtype) or pd.api.types.is_object_dtype(dtype)


def _dtype_ok(dtype: DtypeObj, spec: Column) -> bool:
    if spec.dtype == TEXT:
        return _is_text(dtype)
    if spec.dtype == DATE:
        return pd.api.types.is_datetime64_dtype(dtype) and not isinstance(dtype, pd.DatetimeTZDtype)
    if spec.dtype == UTC:
        return isinstance(dtype, pd.DatetimeTZDtype) and str(dtype.tz) == "UTC"
    if spec.dtype == MAYBE:
        return isinstance(dtype, pd.BooleanDtype)
    return str(dtype) == spec.dtype


def validate_canonical(tables: CanonicalTables | Mapping[str, pd.DataFrame]) -> None:
    """Check every table has every schema column with the documented dtype, or raise."""
    frames = tables.as_dict() if isinstance(tables, CanonicalTables) else tables
    for name, schema in SCHEMAS.items():
        frame = frames.get(name)
        if frame is None:
            raise IntegrityError(f"canonical table {name} is missing; pass an empty frame")
        for column, spec in schema.items():
            if column not in frame.columns:
                raise IntegrityError(
                    f"canonical table {name} has no column {column}; build it with "
                    f"reconcile.engine.canonical.conform"
                )
            if not _dtype_ok(frame[column].dtype, spec):
                raise IntegrityError(
                    f"canonical table {name}: column {column} has dtype {frame[column].dtype}, "
                    f"expected {spec.dtype}; cast it with reconcile.engine.canonical.conform"
                )
        if "source_table" in schema and frame["source_table"].isna().any():
            raise IntegrityError(
                f"canonical table {name}: blank source_table; every record needs one for the "
                f"control totals"
            )


@dataclass(frozen=True)
class CanonicalTables:
    """The engine's whole input. Build with :meth:`build`, which conforms every frame."""

    people: pd.DataFrame
    accounts: pd.DataFrame
    audiences: pd.DataFrame
    memberships: pd.DataFrame
    requirements: pd.DataFrame
    activities: pd.DataFrame
    completions: pd.DataFrame
    catalogue: pd.DataFrame
    categories: pd.DataFrame
    platform_totals: pd.DataFrame
    targets: pd.DataFrame
    input_issues: pd.DataFrame

    @classmethod
    def build(cls, **frames: pd.DataFrame | None) -> CanonicalTables:
        """Conform each given frame; tables not given are empty."""
        unknown = set(frames) - set(SCHEMAS)
        if unknown:
            raise IntegrityError(f"unknown canonical tables {sorted(unknown)}; see SCHEMAS")
        return cls(**{name: conform(name, frames.get(name)) for name in SCHEMAS})

    def as_dict(self) -> dict[str, pd.DataFrame]:
        return {f.name: getattr(self, f.name) for f in fields(self)}
