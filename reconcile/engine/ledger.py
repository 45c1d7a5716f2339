"""Stage 4, ledger (§6.4): one disposition per activity.

The first that applies wins: ``unmatched`` (no person, or an ambiguous account) →
``out_of_period`` (or no date) → ``future_dated`` (local date after as_of) → ``draft`` →
``implausible`` (minutes missing, ≤ 0 or > max_activity_minutes) → ``duplicate`` →
``counted``. Employment dates change the requirement, never whether an activity counts.

Duplicates are looked for only among the records that reached that step, so a draft never
makes a published record a duplicate. A group is the same person, the same normalised title
and the same minutes, in any system. Within a group records are taken by local date, then
instant, then system (platform records before hand-typed ones, ``SYSTEM_ORDER``), then record
id: the first counts, and a later record is a duplicate when its date is within
``duplicate_window_days`` of the *last record that counted* (so a weekly meeting of the same
length is not collapsed into one).

Each activity is also described: the catalogue course it names (by course_id, else by
title), its category (its own, else its course's) and whether it is structured (its own flag
→ its course's → its category's → no).

Pending minutes are those of drafts that would count once approved (over 0 and at most
``max_activity_minutes``): a draft of -15 or 2,000 minutes is still a ``draft``, but it is not
shown as minutes on their way.

Exceptions: ``duplicate_activity`` (naming the record it repeats), ``implausible_minutes``,
``future_dated``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from reconcile.engine import exceptions
from reconcile.engine.canonical import SYSTEM_ORDER
from reconcile.engine.catalogue import Catalogue, display_categories
from reconcile.engine.period import as_datetime, in_period
from reconcile.engine.rules import Rules
from reconcile.engine.text import (
    first_known,
    is_draft,
    iso_days,
    normalise_names,
    normalise_titles,
    normalised_keys,
)

DISPOSITIONS = (
    "unmatched",
    "out_of_period",
    "future_dated",
    "draft",
    "implausible",
    "duplicate",
    "counted",
)
#: A disposition column: few labels, millions of records.
DISPOSITION = pd.CategoricalDtype(list(DISPOSITIONS))
UNMATCHED, OUT_OF_PERIOD, FUTURE_DATED, DRAFT, IMPLAUSIBLE, DUPLICATE, COUNTED = range(7)


def describe(activities: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """``activities`` with ``title_key``, ``course`` (the Courses-sheet row it names, -1:
    none), ``category_key``, ``structured`` resolved, and ``draft`` (not published yet)."""
    activities = activities.assign(title_key=normalised_keys(activities["title"], normalise_titles))
    course = catalogue.course_named(activities)
    courses = catalogue.courses
    category_key = first_known(
        normalised_keys(activities["category"], normalise_names),
        _of_course(courses["category_key"], course),
    )
    structured = activities["structured"].astype("boolean")
    structured = structured.fillna(_of_course(courses["structured"], course).astype("boolean"))
    structured = structured.fillna(catalogue.category_structured(category_key))
    return activities.assign(
        course=course,
        category_key=category_key,
        structured=structured.fillna(False).astype(bool),
        draft=is_draft(activities["state"]),
    )


def _of_course(values: pd.Series, course: pd.Series) -> pd.Series:
    """``values`` of each record's course (missing where it names none)."""
    return values.reindex(course.to_numpy()).set_axis(course.index)


def dispose(activities: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """``activities`` with ``disposition`` and ``duplicate_row`` (the ledger row a duplicate
    repeats, -1 for any other record)."""
    local_date = activities["local_date"]
    code = np.select(
        [
            activities["person"].to_numpy() < 0,
            ~in_period(local_date, rules),
            (local_date > as_datetime(rules.as_of)).to_numpy(),
            activities["draft"].to_numpy(),
            ~plausible(activities["minutes"], rules),
        ],
        [UNMATCHED, OUT_OF_PERIOD, FUTURE_DATED, DRAFT, IMPLAUSIBLE],
        default=COUNTED,
    )
    duplicate_row = find_duplicates(activities, code == COUNTED, rules.duplicate_window_days)
    code[duplicate_row.index.to_numpy()] = DUPLICATE
    return activities.assign(
        disposition=pd.Categorical.from_codes(code, dtype=DISPOSITION),
        duplicate_row=duplicate_row.reindex(activities.index, fill_value=-1).to_numpy(),
    )


def plausible(minutes: pd.Series, rules: Rules) -> np.ndarray:
    """Minutes over 0 and at most ``max_activity_minutes`` (missing minutes are not)."""
    values = minutes.to_numpy(dtype="float64", na_value=np.nan)
    return (values > 0) & (values <= rules.max_activity_minutes)


#: What makes two activities the same one logged twice (§6.4).
SAME_RECORD = ["person", "title_key", "minutes"]
#: What the ledger's order reads.
ORDER_COLUMNS = ["local_date", "completed_at", "system", "record_id"]


def in_ledger_order(records: pd.DataFrame, first_by: list[str]) -> pd.DataFrame:
    """``records`` sorted by ``first_by``, then in the ledger's order: local date, instant (a
    CPD-log row has none: last), system (platforms before spreadsheets), record id."""
    systems, names = pd.factorize(records["system"])
    rank = [SYSTEM_ORDER.index(s) if s in SYSTEM_ORDER else len(SYSTEM_ORDER) for s in names]
    ranked = records.assign(system_rank=np.append(rank, len(SYSTEM_ORDER))[systems])
    return ranked.sort_values([*first_by, "local_date", "completed_at", "system_rank", "record_id"])


def find_duplicates(activities: pd.DataFrame, candidate: np.ndarray, window_days: int) -> pd.Series:
    """The ledger row each duplicate repeats, indexed by the duplicate's ledger row, among the
    ``candidate`` records (those that reached the duplicate step).

    Only records that share person, title and minutes with another can be duplicates: their
    groups are put in the ledger's order and walked all at once, one step per rank.
    """
    same = activities.loc[candidate, SAME_RECORD]
    shared = same.index[same.duplicated(keep=False).to_numpy()]
    ordered = in_ledger_order(activities.loc[shared, [*SAME_RECORD, *ORDER_COLUMNS]], SAME_RECORD)
    grouped = ordered.groupby(SAME_RECORD, sort=False, dropna=False, observed=True)
    group = grouped.ngroup().to_numpy()
    rank = grouped.cumcount().to_numpy()
    day = ordered["local_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    row = ordered.index.to_numpy()
    # per group, the day and row of the last record that counted: at first, the group's first
    last_day = np.zeros(group.max(initial=-1) + 1, dtype=np.int64)
    last_row = np.zeros_like(last_day)
    first = rank == 0
    last_day[group[first]], last_row[group[first]] = day[first], row[first]
    repeats, originals = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for step in range(1, rank.max(initial=0) + 1):
        at = np.flatnonzero(rank == step)
        repeat = day[at] - last_day[group[at]] <= window_days
        repeats.append(row[at[repeat]])
        originals.append(last_row[group[at[repeat]]])
        counts = at[~repeat]
        last_day[group[counts]], last_row[group[counts]] = day[counts], row[counts]
    return pd.Series(np.concatenate(originals), index=pd.Index(np.concatenate(repeats)))


def pending_minutes(activities: pd.DataFrame, rules: Rules, n_people: int) -> pd.Series:
    """Per person: the minutes of drafts that would count once approved."""
    drafts = activities.loc[
        (activities["disposition"] == "draft").to_numpy(), ["person", "minutes"]
    ]
    waiting = drafts["minutes"].where(plausible(drafts["minutes"], rules), 0.0)
    per_person = waiting.groupby(drafts["person"].to_numpy()).sum()
    return per_person.reindex(range(n_people), fill_value=0.0)


def shown(activities: pd.DataFrame, category_names: pd.Series) -> pd.DataFrame:
    """``activities`` with the columns the Result shows: ``category`` by its display name,
    ``state`` (published unless said), ``duplicate_of`` ('system:record_id')."""
    return activities.assign(
        category=display_categories(activities["category_key"], category_names),
        state=activities["state"].fillna("published"),
        duplicate_of=labels(activities, activities["duplicate_row"].to_numpy()),
    )


def labels(records: pd.DataFrame, rows: np.ndarray) -> pd.Categorical:
    """'system:record_id' of ledger row ``rows[i]`` for each i (-1: blank)."""
    named = np.flatnonzero(rows >= 0)
    named_records = records[["system", "record_id"]].iloc[rows[named]]
    codes, distinct = pd.factorize(named_records["system"] + ":" + named_records["record_id"])
    every = np.full(len(rows), -1, dtype=np.int64)
    every[named] = codes
    return pd.Categorical.from_codes(every, categories=distinct)


# ------------------------------------------------------------------------------ exceptions

#: What an exception about a record reads of it.
RECORD_COLUMNS = ["employee_id", "system", "record_id", "title", "minutes", "local_date"]


def duplicate_activities(activities: pd.DataFrame) -> pd.DataFrame:
    """``duplicate_activity`` per duplicate, naming the record that counts instead."""
    is_duplicate = (activities["duplicate_row"] >= 0).to_numpy()
    duplicates = activities.loc[is_duplicate, RECORD_COLUMNS]
    kept = activities[RECORD_COLUMNS].iloc[activities.loc[is_duplicate, "duplicate_row"]]
    detail = [
        f"same as {system} record {record} ({title}, {minutes:,.0f} min, {day}); "
        "only that one counts"
        for system, record, title, minutes, day in zip(
            kept["system"].tolist(),
            kept["record_id"].tolist(),
            duplicates["title"].tolist(),
            duplicates["minutes"].tolist(),
            iso_days(kept["local_date"]),
            strict=True,
        )
    ]
    return exceptions.of_records("duplicate_activity", duplicates, duplicates["minutes"], detail)


def implausible_minutes(activities: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """``implausible_minutes``: not counted until the record is corrected."""
    implausible = exceptions.disposed(activities, "implausible", RECORD_COLUMNS)
    detail = [
        f"{minutes:,.0f} min is not plausible (must be over 0 and at most "
        f"{rules.max_activity_minutes:,}); not counted, correct the record"
        for minutes in implausible["minutes"].tolist()
    ]
    minutes = implausible["minutes"].fillna(0)
    return exceptions.of_records("implausible_minutes", implausible, minutes, detail)


def future_dated(activities: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """``future_dated``: counts once its date has passed."""
    future = exceptions.disposed(activities, "future_dated", RECORD_COLUMNS)
    detail = [
        f"dated {day}, after {rules.as_of}; not counted yet"
        for day in iso_days(future["local_date"])
    ]
    return exceptions.of_records("future_dated", future, future["minutes"].fillna(0), detail)
