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
from reconcile.engine.text import factorize, is_draft

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
    codes, uniques = factorize(systems)
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
        (IMPLAUSIBLE, ~plausible(mins, rules)),
    )
    for value, applies in checks:
        code[(code == _OPEN) & applies] = value
    return code


def plausible(minutes: np.ndarray, rules: Rules) -> np.ndarray:
    """Minutes over 0 and at most ``max_activity_minutes`` (missing minutes are not)."""
    return (minutes > 0) & (minutes <= rules.max_activity_minutes)


def pending_minutes(minutes: np.ndarray, rules: Rules) -> np.ndarray:
    """What each draft adds to Pending: its minutes if they would count once approved, else 0.

    A draft is ``draft`` before it is checked for plausibility (§6.4's order), so a draft of
    -15 or 2,000 minutes, or none, is still a draft; it is not shown as minutes on their way.
    """
    minutes = np.asarray(minutes, dtype="float64")
    return np.where(plausible(minutes, rules), minutes, 0.0)


def find_duplicates(
    rows: np.ndarray,
    person: np.ndarray,
    title_key: np.ndarray,
    minutes: np.ndarray,
    local_date: np.ndarray,
    records: pd.DataFrame,
    window_days: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy duplicate search among the ledger ``rows`` that reached the duplicate step.

    ``person``, ``title_key`` (normalised title code), ``minutes`` and ``local_date`` are
    ledger-aligned arrays; ``records`` is the ledger (system, record_id, completed_at: the
    tie-breaks, read only for rows that share a key with another row). Within a group of the
    same person, normalised title and minutes, records are taken earliest first (then instant,
    system order, record id); a record within ``window_days`` of the last record that counted
    is a duplicate of it, otherwise it counts and becomes the reference. Returns (duplicate
    rows, the row each duplicates).
    """
    none = np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    if not len(rows):
        return none
    titles = title_key[rows]
    pair = person[rows].astype(np.int64)
    pair *= int(titles.max()) + 2
    pair += titles
    pair += 1
    del titles
    shared = rows[_repeated(pair, np.asarray(minutes[rows], dtype="float64"))]
    if not len(shared):
        return none
    keys = ["person", "title_key", "minutes"]
    at = shared
    multi = pd.DataFrame(
        {
            "person": person[at],
            "title_key": title_key[at],
            "minutes": minutes[at],
            "local_date": local_date[at],
            "instant": _instants(records["completed_at"].iloc[at]),
            "rank": system_rank(records["system"].iloc[at]),
            "record_id": records["record_id"].iloc[at].to_numpy(),
            "row": at,
        }
    )
    multi = multi.sort_values([*keys, "local_date", "instant", "rank", "record_id", "row"])
    group = multi.groupby(keys, sort=False).ngroup().to_numpy()
    position = multi.groupby(keys, sort=False).cumcount().to_numpy()
    days = (multi["local_date"].to_numpy() - np.datetime64("1970-01-01", "us")) // DAY
    days = days.astype(np.int64)
    rows_sorted = multi["row"].to_numpy()
    first = position == 0
    kept_day = np.zeros(group.max() + 1, dtype=np.int64)
    kept_row = np.zeros(group.max() + 1, dtype=np.int64)
    kept_day[group[first]] = days[first]
    kept_row[group[first]] = rows_sorted[first]
    dup_rows: list[np.ndarray] = []
    dup_of: list[np.ndarray] = []
    order = np.argsort(position, kind="stable")
    bounds = np.searchsorted(position[order], np.arange(1, position.max() + 2))
    for k in range(1, position.max() + 1):
        step = order[bounds[k - 1] : bounds[k]]
        g = group[step]
        is_dup = days[step] - kept_day[g] <= window_days
        dup_rows.append(rows_sorted[step[is_dup]])
        dup_of.append(kept_row[g[is_dup]])
        fresh = step[~is_dup]
        kept_day[group[fresh]] = days[fresh]
        kept_row[group[fresh]] = rows_sorted[fresh]
    if not dup_rows:
        return none
    return np.concatenate(dup_rows), np.concatenate(dup_of)


_MIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F))


def _repeated(pair: np.ndarray, minutes: np.ndarray) -> np.ndarray:
    """True where (pair, minutes) occurs more than once.

    Why not ``duplicated`` over everything: almost every ledger row is unique, and hashing two
    million keys exactly is slow. Rows are first spread over ~2 buckets per row by a hash of
    the key; a row alone in its bucket is certainly unique. A few rounds on the survivors
    (fresh buckets each time) leave only real repeats and rare collisions for the exact check.
    """
    out = np.zeros(len(pair), dtype=bool)
    minutes = minutes + 0.0  # -0.0 becomes 0.0: one bit pattern per value
    minutes[np.isnan(minutes)] = np.nan
    # built in place: every temporary of the ledger's length is fresh memory to fault in
    mixed = pair.astype(np.uint64)
    with np.errstate(over="ignore"):
        mixed *= _MIX[0]
        mixed ^= minutes.view(np.uint64)
        mixed *= _MIX[1]
    maybe: np.ndarray | None = None  # None: every row
    for shift in (29, 31, 33):
        h = mixed if maybe is None else mixed[maybe]
        if len(h) < 1024:
            break
        bits = int(np.ceil(np.log2(2 * len(h))))
        bucket = h >> np.uint64(shift)
        with np.errstate(over="ignore"):
            bucket ^= h
            bucket *= _MIX[0]
        bucket >>= np.uint64(64 - bits)
        slots = bucket.view(np.int64)
        crowded = np.flatnonzero(np.bincount(slots, minlength=1 << bits)[slots] > 1)
        maybe = crowded if maybe is None else maybe[crowded]
    if maybe is None:
        maybe = np.arange(len(pair))
    if len(maybe):
        exact = pd.DataFrame({"pair": pair[maybe], "minutes": minutes[maybe]})
        out[maybe] = exact.duplicated(keep=False).to_numpy()
    return out


def _instants(series: pd.Series) -> np.ndarray:
    """UTC instants as int64 for sorting; missing ones sort last."""
    values = series.astype("datetime64[us, UTC]").dt.tz_localize(None).to_numpy()
    out = values.astype("datetime64[us]").astype(np.int64)
    out[np.isnat(values)] = np.iinfo(np.int64).max
    return out


def resolve_structured(
    given: pd.Series, from_course: pd.Series, from_category: pd.Series
) -> np.ndarray:
    """The record's own flag, else the Courses sheet, else the Categories sheet, else False."""
    out = given.astype("boolean").fillna(from_course.astype("boolean"))
    return out.fillna(from_category.astype("boolean")).fillna(False).to_numpy(dtype=bool)


def structured_flags(
    given: pd.Series,
    course_flags: pd.Series,
    course: np.ndarray,
    category_flags: pd.Series,
    category: np.ndarray,
) -> np.ndarray:
    """:func:`resolve_structured` on codes: the record's flag, else its course's (``course``
    indexes ``course_flags``, -1 none), else its category's, else False.

    Works on int8 (-1 unknown, 0, 1) with one gather per source, instead of building two
    nullable-boolean columns of the ledger's length.
    """
    out = _maybe(given)
    for flags, codes in ((course_flags, course), (category_flags, category)):
        fallback = np.append(_maybe(flags), np.int8(-1))[codes]
        out = np.where(out >= 0, out, fallback)
    return out == 1


def _maybe(flags: pd.Series) -> np.ndarray:
    """A nullable flag as int8: 1 true, 0 false, -1 unknown."""
    known = flags.notna().to_numpy()
    values = flags.fillna(False).to_numpy(dtype=bool).astype(np.int8)
    return np.where(known, values, np.int8(-1)).astype(np.int8)
