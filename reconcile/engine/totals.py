"""Rule 6: a platform's own totals against its detail records.

Detail = that platform's published records for the account with local dates in the period,
before duplicate and implausible filtering (drafts excluded: they are not published). Thrive
totals are cpdUserLogSummaries; a Brightspace target's figure is Structured.Numerator +
Unstructured.Numerator. Both sides are compared in whole minutes (rounded half up), so a
platform that stores hours as decimals does not raise noise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from reconcile.engine import exceptions
from reconcile.engine.period import as_datetime
from reconcile.engine.rules import Rules
from reconcile.engine.text import is_draft, normalise_ids, positions, round_half_up, text_array

_LABEL = {"thrive": "Thrive", "brightspace": "Brightspace", "coursepath": "Coursepath"}


def reported(
    tables, totals_person: np.ndarray | None = None, targets_person: np.ndarray | None = None
) -> pd.DataFrame:
    """(system, account_id, reported) from summaries and targets, one row per account.

    With each summary's and target's person row given (as the engine looked them up already),
    a ``person`` column comes along (-1: nobody), so no second lookup is needed.
    """
    summaries = tables.platform_totals[["system", "account_id", "minutes"]].rename(
        columns={"minutes": "reported"}
    )
    t = tables.targets
    done = t[["structured_done", "unstructured_done"]]
    has_done = done.notna().any(axis=1).to_numpy()
    targets = pd.DataFrame(
        {
            "system": t["system"],
            "account_id": t["account_id"],
            "reported": done.sum(axis=1, min_count=1),
        }
    )[has_done]
    with_person = totals_person is not None and targets_person is not None
    if with_person:
        summaries = summaries.assign(person=totals_person)
        targets = targets.assign(person=np.asarray(targets_person)[has_done])
    both = pd.concat([summaries, targets], ignore_index=True)
    groups = both.groupby(["system", "account_id"], sort=True, as_index=False)
    if not with_person:
        return groups["reported"].sum()
    # a person is a function of (system, account_id): any row of the group gives it
    return groups.agg(reported=("reported", "sum"), person=("person", "first"))


def mismatches(
    tables,
    index,
    act_out: pd.DataFrame,
    act_pair: np.ndarray,
    act_pairs: pd.DataFrame,
    rules: Rules,
    *,
    totals_person: np.ndarray | None = None,
    targets_person: np.ndarray | None = None,
) -> pd.DataFrame:
    """One ``platform_total_mismatch`` per account whose figures differ.

    ``act_pair`` / ``act_pairs``: each activity's (system, account) pair code and the pairs.
    ``totals_person`` / ``targets_person``: person row per platform total / target, if known.
    """
    rep = reported(tables, totals_person, targets_person)
    if "person" not in rep:
        rep = rep.assign(person=index.lookup(rep["system"], rep["account_id"]))
    # §6.6 compares the platform's figure with the detail "for the same person": an account
    # that matches nobody is already an unmatched_account, with no person to compare for
    rep = rep[rep["person"].to_numpy() >= 0].reset_index(drop=True)
    if not len(rep):
        return pd.DataFrame()
    date = act_out["local_date"].to_numpy()
    in_period = (date >= as_datetime(rules.period_start)) & (date <= as_datetime(rules.period_end))
    published = ~is_draft(act_out["state"])
    mask = in_period & published
    sums = np.bincount(
        act_pair[mask],
        weights=np.nan_to_num(act_out["minutes"].to_numpy(dtype="float64")[mask]),  # none = 0
        minlength=len(act_pairs),
    )
    # the first pair of each (system, normalised key) holds the detail, as a left merge on
    # the de-duplicated pairs would; looked up through one hashed text key (Arrow's hash
    # lookup: pandas' get_indexer would first turn both sides into Python strings)
    pair_key = _joined_key(act_pairs["system"], act_pairs["key"])
    first = ~pair_key.duplicated().to_numpy()
    detail_of = text_array(pair_key[first])
    at = positions(_joined_key(rep["system"], normalise_ids(rep["account_id"])), detail_of)
    pair_sums = np.append(sums[: len(act_pairs)][first], 0.0)  # index -1: no detail
    detail = pair_sums[at]
    platform = round_half_up(rep["reported"].fillna(0).to_numpy())
    ours = round_half_up(detail)
    bad = platform != ours
    rep = rep[bad].reset_index(drop=True)
    if not len(rep):
        return pd.DataFrame()
    platform, ours = platform[bad], ours[bad]
    person = rep["person"].to_numpy(dtype=np.int64)
    emp = index.people["employee_id"].to_numpy(dtype=object)[person]
    diff = platform - ours
    name = rep["system"].map(_LABEL).fillna(rep["system"])
    fmt = "{:,.0f}".format
    detail_text = (
        name + " reports " + pd.Series(platform).map(fmt) + " min for the period; its records "
        "add up to "
        + pd.Series(ours).map(fmt)
        + " min ("
        + pd.Series(np.abs(diff)).map(fmt)
        + np.where(diff > 0, " min more)", " min less)")
        + "; check the platform's summary or pull again"
    )
    return exceptions.rows(
        "platform_total_mismatch",
        employee_id=emp,
        system=rep["system"],
        record_id=rep["account_id"],
        minutes=diff,
        detail=detail_text,
    )


def _joined_key(system: pd.Series, key: pd.Series) -> pd.Series:
    """'system␟key' as one text value per row; missing parts get a marker of their own."""
    missing = "\x1e"
    return (
        system.astype("str").fillna(missing).reset_index(drop=True)
        + "\x1f"
        + key.astype("str").fillna(missing).reset_index(drop=True)
    )
