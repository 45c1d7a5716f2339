"""Rule 4: one disposition per activity, duplicates within and across systems.

Precedence (first that applies wins): unmatched, out_of_period, future_dated, draft,
implausible, duplicate, counted. Duplicates are looked for only among records that reached
that step, so a draft never makes a published record a duplicate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from reconcile.engine.canonical import SYSTEM_ORDER
from reconcile.engine.period import DAY, as_datetime
from reconcile.engine.rules import Rules
from reconcile.engine.text import is_draft

DISPOSITIONS = (
    "unmatched",
    "out_of_period",
    "future_dated",
    "draft",
    "implausible",
    "duplicate",
    "counted",
)
UNMATCHED, OUT, FUTURE, DRAFT, IMPLAUSIBLE, DUPLICATE, COUNTED = range(7)
_OPEN = -1


def system_rank(systems: pd.Series) -> np.ndarray:
    """Tie order of systems: platforms before spreadsheets (see docs/engine.md)."""
    codes, uniques = pd.factorize(systems)
    ranks = {name: i for i, name in enumerate(SYSTEM_ORDER)}
    of_unique = np.array([ranks.get(u, len(ranks)) for u in uniques] + [len(ranks)])
    return of_unique[codes]


def dispositions(
    person: np.ndarray,
    local_date: pd.Series,
    state: pd.Series,
    minutes: pd.Series,
    rules: Rules,
) -> np.ndarray:
    """Disposition codes before duplicates (``_OPEN`` = still a candidate)."""
    code = np.full(len(person), _OPEN, dtype=np.int8)
    date = local_date.to_numpy()
    start, end = as_datetime(rules.period_start), as_datetime(rules.period_end)
    as_of = as_datetime(rules.as_of)
    mins = minutes.to_numpy(dtype="float64")
    checks = (
        (UNMATCHED, person < 0),
        (OUT, np.isnat(date) | (date < start) | (date > end)),
        (FUTURE, date > as_of),
        (DRAFT, is_draft(state)),
        (IMPLAUSIBLE, ~(mins > 0) | (mins > rules.max_activity_minutes)),
    )
    for value, applies in checks:
        code[(code == _OPEN) & applies] = value
    return code


def find_duplicates(
    candidates: pd.DataFrame, record_ids: pd.Series, window_days: int
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy duplicate search among ``candidates``.

    ``candidates``: person, title_key, minutes, local_date, instant (int64, NaT as max),
    rank (system), row (position in the ledger); ``record_ids`` is the ledger's record_id.
    Within a group of the same person, normalised title and minutes, records are taken
    earliest first (then system order, then
    record id); a record within ``window_days`` of the last record that counted is a duplicate
    of it, otherwise it counts and becomes the reference. Returns (duplicate rows, the row
    each duplicates).
    """
    keys = ["person", "title_key", "minutes"]
    if candidates.empty:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    minute_codes, minute_values = pd.factorize(candidates["minutes"])
    combined = (
        candidates["person"].to_numpy(dtype=np.int64) * (int(candidates["title_key"].max()) + 2)
        + candidates["title_key"].to_numpy(dtype=np.int64)
        + 1
    ) * (len(minute_values) + 1) + minute_codes
    multi = candidates[pd.Series(combined).duplicated(keep=False).to_numpy()]
    if multi.empty:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    multi = multi.assign(record_id=record_ids.iloc[multi["row"].to_numpy()].to_numpy())
    multi = multi.sort_values([*keys, "local_date", "instant", "rank", "record_id", "row"])
    group = multi.groupby(keys, sort=False).ngroup().to_numpy()
    position = multi.groupby(keys, sort=False).cumcount().to_numpy()
    days = (multi["local_date"].to_numpy() - np.datetime64("1970-01-01", "us")) // DAY
    days = days.astype(np.int64)
    rows = multi["row"].to_numpy()
    first = position == 0
    kept_day = np.zeros(group.max() + 1, dtype=np.int64)
    kept_row = np.zeros(group.max() + 1, dtype=np.int64)
    kept_day[group[first]] = days[first]
    kept_row[group[first]] = rows[first]
    dup_rows: list[np.ndarray] = []
    dup_of: list[np.ndarray] = []
    order = np.argsort(position, kind="stable")
    bounds = np.searchsorted(position[order], np.arange(1, position.max() + 2))
    for k in range(1, position.max() + 1):
        at = order[bounds[k - 1] : bounds[k]]
        g = group[at]
        is_dup = days[at] - kept_day[g] <= window_days
        dup_rows.append(rows[at[is_dup]])
        dup_of.append(kept_row[g[is_dup]])
        fresh = at[~is_dup]
        kept_day[group[fresh]] = days[fresh]
        kept_row[group[fresh]] = rows[fresh]
    return np.concatenate(dup_rows), np.concatenate(dup_of)


def resolve_structured(
    given: pd.Series, from_course: pd.Series, from_category: pd.Series
) -> np.ndarray:
    """The record's own flag, else the Courses sheet, else the Categories sheet, else False."""
    out = given.astype("boolean").fillna(from_course.astype("boolean"))
    return out.fillna(from_category.astype("boolean")).fillna(False).to_numpy(dtype=bool)
