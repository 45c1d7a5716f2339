"""Stage 5, completions (§6.5): course completions against the logged activities.

A completion's CPD minutes come from the Courses sheet (system + course_id), else, for Thrive,
the content's duration; its title is its own, else the catalogue's. Thrive completions count
as passed.

One disposition per completion, the first that applies: ``unmatched`` → ``out_of_period`` →
``future_dated`` → ``duplicate`` (the same person and normalised title — else the same course
— twice: the best one stays, passed first, then the earliest, then system order, then record
id) → ``matched`` (passed, worth CPD minutes, and a *counted* activity of the person with the
same normalised title within ``completion_match_days``: then only the activity counts) →
``credited`` (passed, worth minutes, not logged, crediting on) → ``not_credited`` (failed, no
CPD value, or crediting off). Of several activities, the nearest in date is matched; equally
near, the earlier day; on one day, the first in the ledger's order.

Claims: a counted activity naming a Courses-sheet course with no completion of that title by
the person (other than unmatched or future-dated ones) is an ``unverified_claim``; with only
failed ones, ``failed_course_logged``. Both still count.

Exceptions: ``unlogged_completion`` (every passed, valued completion no activity matched,
saying whether it was credited), ``future_dated``, ``unverified_claim``,
``failed_course_logged``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from reconcile.engine import exceptions
from reconcile.engine.catalogue import Catalogue, display_categories
from reconcile.engine.ledger import ORDER_COLUMNS, in_ledger_order, labels
from reconcile.engine.period import as_datetime, in_period
from reconcile.engine.rules import Rules
from reconcile.engine.text import (
    iso_days,
    normalise_names,
    normalise_titles,
    normalised_keys,
    on_shared_categories,
)

DISPOSITIONS = (
    "unmatched",
    "out_of_period",
    "future_dated",
    "duplicate",
    "matched",
    "credited",
    "not_credited",
)
#: A disposition column: few labels, millions of records.
DISPOSITION = pd.CategoricalDtype(list(DISPOSITIONS))
UNMATCHED, OUT_OF_PERIOD, FUTURE_DATED, DUPLICATE, MATCHED, CREDITED, NOT_CREDITED = range(7)
CLAIMS = ("verified", "failed", "unverified")
#: A claim column: a verdict for the activities that name a catalogue course, blank elsewhere.
CLAIM = pd.CategoricalDtype(list(CLAIMS))


def describe(completions: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """``completions`` with the course's facts (title filled in, ``cpd_minutes``,
    ``thrive_content_id``), ``title_key``, ``category_key``, ``structured`` (the course's, else
    its category's) and ``passed`` (always for Thrive)."""
    course = catalogue.course_facts(completions).set_axis(completions.index)
    title = completions["title"].fillna(course["title"])
    category_key = normalised_keys(course["category"], normalise_names)
    structured = course["structured"].fillna(catalogue.category_structured(category_key))
    passed = completions["passed"].fillna(False).astype(bool) | (completions["system"] == "thrive")
    return completions.assign(
        title=title,
        title_key=normalised_keys(title, normalise_titles),
        cpd_minutes=course["cpd_minutes"].astype("float64"),
        category_key=category_key,
        structured=structured.fillna(False).astype(bool),
        passed=passed.to_numpy(dtype=bool),
        thrive_content_id=course["thrive_content_id"].astype("str"),
    )


def dispose(completions: pd.DataFrame, activities: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """``completions`` with ``disposition`` and ``matched_row`` (the ledger row of the
    activity it matched, -1 for none)."""
    local_date = completions["local_date"]
    code = np.select(
        [
            completions["person"].to_numpy() < 0,
            ~in_period(local_date, rules),
            (local_date > as_datetime(rules.as_of)).to_numpy(),
        ],
        [UNMATCHED, OUT_OF_PERIOD, FUTURE_DATED],
        default=NOT_CREDITED,
    )
    same_course = ["person", "title_key", "course_id", "passed", *ORDER_COLUMNS]
    code[_duplicates(completions.loc[code == NOT_CREDITED, same_course])] = DUPLICATE
    valued = completions["passed"].to_numpy() & (completions["cpd_minutes"] > 0).to_numpy()
    eligible = completions.loc[
        (code == NOT_CREDITED) & valued, ["person", "title_key", "local_date"]
    ]
    matched_row = nearest_activity(eligible, activities, rules.completion_match_days)
    code[matched_row.index.to_numpy()] = MATCHED
    if rules.count_unlogged_completions:
        code[(code == NOT_CREDITED) & valued] = CREDITED
    return completions.assign(
        disposition=pd.Categorical.from_codes(code, dtype=DISPOSITION),
        matched_row=matched_row.reindex(completions.index, fill_value=-1).to_numpy(),
    )


def _duplicates(candidates: pd.DataFrame) -> np.ndarray:
    """Rows of the completions that repeat a better one of the same person and course (the
    same normalised title, else the same system and course_id)."""
    titled = candidates["title_key"].notna()
    same_course = ["person", "title_key", "untitled_system", "untitled_course"]
    keyed = candidates.assign(
        untitled_system=candidates["system"].where(~titled),
        untitled_course=candidates["course_id"].where(~titled),
        failed=~candidates["passed"],
    )
    keyed = keyed[keyed.duplicated(same_course, keep=False).to_numpy()]
    best_first = in_ledger_order(keyed, [*same_course, "failed"])
    return best_first.index[best_first.duplicated(same_course).to_numpy()].to_numpy()


def nearest_activity(completions: pd.DataFrame, activities: pd.DataFrame, days: int) -> pd.Series:
    """The counted activity each completion matches (its ledger row), indexed by completion:
    same person and normalised title, within ``days``; nearest first, then the earlier day,
    then the first in the ledger's order."""
    on = ["person", "title_key"]
    counted = (activities["disposition"] == "counted").to_numpy()
    completed = completions[[*on, "local_date"]].dropna(subset=["title_key"])
    # only activities whose title some completion carries can match: far fewer to pair
    carried = activities["title_key"].isin(completed["title_key"].unique()).to_numpy()
    logged = activities.loc[counted & carried, [*on, "local_date"]]
    completed["title_key"], logged["title_key"] = on_shared_categories(
        completed["title_key"], logged["title_key"]
    )
    pairs = completed.reset_index(names="completion").merge(
        logged.reset_index(names="activity"), on=on, suffixes=("", "_activity")
    )
    apart = (pairs["local_date_activity"] - pairs["local_date"]).abs()
    pairs = pairs[(apart <= pd.Timedelta(days=days)).to_numpy()]
    # most completions have one candidate; only the others need the order that decides
    several = pairs["completion"].duplicated(keep=False).to_numpy()
    near = activities.loc[pairs.loc[several, "activity"], ORDER_COLUMNS].assign(
        completion=pairs.loc[several, "completion"].to_numpy(),
        apart=apart[pairs.index[several]].to_numpy(),
    )
    nearest = in_ledger_order(near, ["completion", "apart"]).drop_duplicates("completion")
    only = pairs[~several]
    return pd.Series(
        np.concatenate([only["activity"].to_numpy(), nearest.index.to_numpy()]),
        index=pd.Index(np.concatenate([only["completion"], nearest["completion"]])),
    )


def shown(
    completions: pd.DataFrame, activities: pd.DataFrame, category_names: pd.Series
) -> pd.DataFrame:
    """``completions`` with the columns the Result shows: ``category`` by its display name
    and ``matched_record_id`` ('system:record_id' of the activity it matched)."""
    return completions.assign(
        category=display_categories(completions["category_key"], category_names),
        matched_record_id=labels(activities, completions["matched_row"].to_numpy()),
    )


def claims(activities: pd.DataFrame, completions: pd.DataFrame) -> pd.Categorical:
    """For counted activities naming a Courses-sheet course: verified / failed / unverified."""
    claimed = (activities["disposition"] == "counted").to_numpy() & (
        activities["course"] >= 0
    ).to_numpy()
    usable = ~completions["disposition"].isin(["unmatched", "future_dated"]).to_numpy()
    claim = activities.loc[claimed, ["person", "title_key"]]
    seen = completions.loc[usable, ["person", "title_key", "passed"]].dropna(subset=["title_key"])
    claim["title_key"], seen["title_key"] = on_shared_categories(
        claim["title_key"], seen["title_key"]
    )
    outcome = seen.groupby(["person", "title_key"], observed=True, as_index=False)["passed"].any()
    found = claim.merge(outcome, on=["person", "title_key"], how="left")["passed"]
    verdict = np.full(len(activities), -1, dtype=np.int8)  # -1: not a claim
    verdict[claimed] = np.select(
        [found.isna().to_numpy(), found.fillna(False).to_numpy(dtype=bool)],
        [CLAIMS.index("unverified"), CLAIMS.index("verified")],
        default=CLAIMS.index("failed"),
    )
    return pd.Categorical.from_codes(verdict, dtype=CLAIM)


# ------------------------------------------------------------------------------ exceptions

#: What an exception about a completion reads of it.
RECORD_COLUMNS = [
    "employee_id",
    "system",
    "record_id",
    "course_id",
    "title",
    "local_date",
    "cpd_minutes",
    "disposition",
]


def future_dated(completions: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """``future_dated``: completed after as_of, not counted yet (as a future-dated activity)."""
    future = exceptions.disposed(completions, "future_dated", RECORD_COLUMNS)
    detail = [
        f"{title} completed {day}, after {rules.as_of}; not counted yet"
        for title, day in zip(_called(future), iso_days(future["local_date"]), strict=True)
    ]
    return exceptions.of_records("future_dated", future, future["cpd_minutes"].fillna(0), detail)


def unlogged_completions(completions: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """``unlogged_completion``: passed, worth CPD minutes, and no activity logs it."""
    disposition = completions["disposition"]
    unlogged = (disposition == "credited") | (
        (disposition == "not_credited")
        & completions["passed"]
        & (completions["cpd_minutes"].fillna(0) > 0)
    )
    found = completions.loc[unlogged.to_numpy(), RECORD_COLUMNS]
    detail = [
        f"{title} completed {day} with no matching CPD entry within "
        f"{rules.completion_match_days} days; "
        + ("credited" if outcome == "credited" else "not credited (crediting off)")
        for title, day, outcome in zip(
            _called(found),
            iso_days(found["local_date"]),
            found["disposition"].tolist(),
            strict=True,
        )
    ]
    return exceptions.of_records("unlogged_completion", found, found["cpd_minutes"], detail)


def _called(completions: pd.DataFrame) -> list[str]:
    """What a completion is called in an exception: its title, else its course id."""
    return completions["title"].fillna(completions["course_id"]).tolist()


def unproven_claims(activities: pd.DataFrame) -> pd.DataFrame:
    """``unverified_claim`` and ``failed_course_logged``: still counted, worth a look."""
    columns = ["employee_id", "system", "record_id", "title", "minutes"]
    unverified = activities.loc[(activities["claim"] == "unverified").to_numpy(), columns]
    failed = activities.loc[(activities["claim"] == "failed").to_numpy(), columns]
    return pd.concat(
        [
            exceptions.of_records(
                "unverified_claim",
                unverified,
                unverified["minutes"],
                [
                    f"{title}: names a catalogue course but no completion of it was found; "
                    "still counted"
                    for title in unverified["title"].tolist()
                ],
            ),
            exceptions.of_records(
                "failed_course_logged",
                failed,
                failed["minutes"],
                [
                    f"{title}: names a catalogue course the person did not pass; "
                    "still counted, check it"
                    for title in failed["title"].tolist()
                ],
            ),
        ],
        ignore_index=True,
    )
