"""Rule 5: course completions against logged activities.

A passed completion of a course with a CPD value *matches* a counted activity of the same
person with the same normalised title within ``completion_match_days``; then only the activity
counts. Unmatched ones are ``unlogged_completion`` and count when crediting is on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from reconcile.engine.period import as_datetime
from reconcile.engine.rules import Rules

DISPOSITIONS = (
    "unmatched",
    "out_of_period",
    "future_dated",
    "duplicate",
    "matched",
    "credited",
    "not_credited",
)
UNMATCHED, OUT, FUTURE, DUPLICATE, MATCHED, CREDITED, NOT_CREDITED = range(7)


def dispositions(frame: pd.DataFrame, counted: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """Disposition per completion and the ledger row of the activity it matched.

    ``frame``: person, local_date, title_key, course_key, passed, value (CPD minutes, NaN for
    none), rank, instant, record_id, row. ``counted``: person, title_key, local_date, instant,
    rank, record_id, row of the counted activities. Returns columns ``code`` and
    ``matched_row`` (-1 where none).
    """
    n = len(frame)
    code = np.full(n, -1, dtype=np.int8)
    date = frame["local_date"].to_numpy()
    start, end = as_datetime(rules.period_start), as_datetime(rules.period_end)
    checks = (
        (UNMATCHED, frame["person"].to_numpy() < 0),
        (OUT, np.isnat(date) | (date < start) | (date > end)),
        (FUTURE, date > as_datetime(rules.as_of)),
    )
    for value, applies in checks:
        code[(code == -1) & applies] = value
    code[_duplicates(frame, code == -1)] = DUPLICATE
    matched_row = np.full(n, -1, dtype=np.int64)
    passed = frame["passed"].to_numpy(dtype=bool)
    valued = np.nan_to_num(frame["value"].to_numpy(dtype="float64"), nan=0.0) > 0
    eligible = np.flatnonzero((code == -1) & passed & valued)
    if len(eligible) and len(counted):
        found = _match(frame.iloc[eligible], counted, rules.completion_match_days)
        matched_row[eligible] = found
        code[eligible[found >= 0]] = MATCHED
    open_rows = code == -1
    credit = open_rows & passed & valued & rules.count_unlogged_completions
    code[credit] = CREDITED
    code[code == -1] = NOT_CREDITED
    return pd.DataFrame({"code": code, "matched_row": matched_row})


def _duplicates(frame: pd.DataFrame, candidate: np.ndarray) -> np.ndarray:
    """Same person and course (normalised title, else course): the best one stays.

    Best = passed first, then earliest, then system order, then record id.
    """
    idx = np.flatnonzero(candidate)
    if not len(idx):
        return idx
    sub = frame.iloc[idx].assign(
        key=np.where(
            frame["title_key"].to_numpy()[idx] >= 0,
            frame["title_key"].to_numpy()[idx],
            -2 - frame["course_key"].to_numpy()[idx],
        ),
        failed=~frame["passed"].to_numpy(dtype=bool)[idx],
        at=idx,
    )
    sub = sub[sub.duplicated(["person", "key"], keep=False).to_numpy()]
    sub = sub.sort_values(["person", "key", "failed", "local_date", "instant", "rank", "record_id"])
    dup = sub.duplicated(["person", "key"], keep="first").to_numpy()
    return sub["at"].to_numpy()[dup]


def _match(eligible: pd.DataFrame, counted: pd.DataFrame, days: int) -> np.ndarray:
    """Ledger row of the nearest counted activity with the same person and title, or -1.

    Equally near: the earlier day, and on one day the activity that comes first in the
    ledger's order (instant, system, record id), as duplicates are ordered.
    """
    left_title = eligible["title_key"].to_numpy()
    right_title = counted["title_key"].to_numpy()
    # only activities whose title some completion carries can match: sort far fewer rows
    carried = np.zeros(max(left_title.max(initial=-1), right_title.max(initial=-1)) + 2, bool)
    carried[left_title + 1] = True
    wanted = np.flatnonzero(carried[right_title + 1])
    # (person, title) as one int64 key: merge_asof's "by" is far cheaper on a single integer
    width = len(carried)
    left = pd.DataFrame(
        {
            "key": eligible["person"].to_numpy().astype(np.int64) * width + (left_title + 1),
            "date": eligible["local_date"].to_numpy(),
            "at": np.arange(len(eligible)),
        }
    ).sort_values("date", kind="stable")
    right_person = counted["person"].to_numpy()[wanted].astype(np.int64)
    right = pd.DataFrame(
        {
            "key": right_person * width + (right_title[wanted] + 1),
            "date": counted["local_date"].to_numpy()[wanted],
            "instant": counted["instant"].to_numpy()[wanted],
            "rank": counted["rank"].to_numpy()[wanted],
            "record_id": counted["record_id"].to_numpy()[wanted],
            "activity_row": counted["row"].to_numpy()[wanted],
        }
    )
    # one candidate per (person, title, day): the first in ledger order
    right = right.sort_values(["key", "date", "instant", "rank", "record_id"], kind="stable")
    right = right.drop_duplicates(["key", "date"])[["key", "date", "activity_row"]]
    right = right.sort_values("date", kind="stable")
    joined = pd.merge_asof(
        left,
        right,
        on="date",
        by="key",
        direction="nearest",
        tolerance=pd.Timedelta(days=days),
    )
    out = np.full(len(eligible), -1, dtype=np.int64)
    hit = joined["activity_row"].notna().to_numpy()
    out[joined["at"].to_numpy()[hit]] = joined["activity_row"].to_numpy()[hit].astype(np.int64)
    out[left_title < 0] = -1
    return out
