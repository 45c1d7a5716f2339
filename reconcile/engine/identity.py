"""Rule 1: which roster person each platform account (and CPD-log row) belongs to.

Precedence, first step with any candidate decides: the roster's explicit id column for that
system → the platform's external reference equal to ``employee_id`` → normalised e-mail.
One candidate is a match; two or more is ``ambiguous``; none is ``unmatched``. A name that
looks alike is only ever a *suggestion* in the exception's detail.
"""

from __future__ import annotations

import difflib

import numpy as np
import pandas as pd

from reconcile.engine.canonical import PLATFORMS
from reconcile.engine.text import normalise_emails, normalise_ids

MATCHED, UNMATCHED, AMBIGUOUS = "matched", "unmatched", "ambiguous"
#: Fuzzy suggestions are a courtesy: difflib compares each unmatched name with every roster
#: name, so beyond this many comparisons only exact (normalised) names are suggested.
_SUGGEST_BUDGET = 200_000


def _candidates(people: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """(system?, key) → person index, for each identity step."""
    person = np.arange(len(people))
    explicit = []
    for system in PLATFORMS:
        ids = normalise_ids(people[f"{system}_id"])
        frame = pd.DataFrame({"system": system, "key": ids, "person": person})
        explicit.append(frame[people[f"{system}_id"].notna().to_numpy()])
    ref = pd.DataFrame({"key": normalise_ids(people["employee_id"]), "person": person})
    email = pd.DataFrame({"key": normalise_emails(people["email"]), "person": person})
    return {
        "explicit id": pd.concat(explicit, ignore_index=True),
        "external reference": ref[people["employee_id"].notna().to_numpy()],
        "email": email[people["email"].notna().to_numpy()],
    }


def _step(
    keys: pd.DataFrame, candidates: pd.DataFrame, on: list[str]
) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    """For each row of ``keys``: candidate count, the single person, and all candidates."""
    unique = candidates.drop_duplicates([*on, "person"])
    grouped = unique.groupby(on, sort=False)["person"]
    stats = pd.DataFrame({"n": grouped.size(), "first": grouped.min()})
    merged = keys[on].merge(stats, left_on=on, right_index=True, how="left")
    n = merged["n"].fillna(0).to_numpy(dtype=np.int64)
    first = merged["first"].fillna(-1).to_numpy(dtype=np.int64)
    all_lists = pd.Series([None] * len(keys), dtype=object)
    if (n > 1).any():
        several = stats[stats["n"] > 1].index
        subset = unique.set_index(on).loc[several].reset_index()
        lists = subset.groupby(on, sort=False)["person"].agg(lambda s: sorted(s.tolist()))
        amb = keys[on][n > 1].merge(lists.rename("all"), left_on=on, right_index=True, how="left")
        all_lists.iloc[np.flatnonzero(n > 1)] = amb["all"].to_numpy()
    return n, first, all_lists


def resolve(
    people: pd.DataFrame,
    accounts: pd.DataFrame,
    *,
    explicit: bool = True,
) -> pd.DataFrame:
    """Match ``accounts`` (system, account_id, email, external_ref) to people.

    Returns a frame aligned with ``accounts``: ``person`` (row in people, -1 for none),
    ``match`` (matched / unmatched / ambiguous), ``rule`` (the step that decided) and
    ``candidates`` (sorted people rows, only for ambiguous accounts).
    """
    n = len(accounts)
    person = np.full(n, -1, dtype=np.int64)
    match = np.full(n, UNMATCHED, dtype=object)
    rule = np.full(n, "", dtype=object)
    candidates = pd.Series([None] * n, dtype=object)
    open_rows = np.ones(n, dtype=bool)
    keys = {
        "explicit id": pd.DataFrame(
            {"system": accounts["system"].to_numpy(), "key": normalise_ids(accounts["account_id"])}
        ),
        "external reference": pd.DataFrame({"key": normalise_ids(accounts["external_ref"])}),
        "email": pd.DataFrame({"key": normalise_emails(accounts["email"])}),
    }
    present = {
        "explicit id": accounts["account_id"].notna().to_numpy(),
        "external reference": accounts["external_ref"].notna().to_numpy(),
        "email": accounts["email"].notna().to_numpy(),
    }
    for step, cands in _candidates(people).items():
        if step == "explicit id" and not explicit:
            continue
        rows = np.flatnonzero(open_rows & present[step])
        if not len(rows) or not len(cands):
            continue
        on = ["system", "key"] if step == "explicit id" else ["key"]
        count, first, lists = _step(keys[step].iloc[rows].reset_index(drop=True), cands, on)
        decided = rows[count >= 1]
        single = rows[count == 1]
        several = rows[count > 1]
        person[single] = first[count == 1]
        match[single] = MATCHED
        match[several] = AMBIGUOUS
        candidates.iloc[several] = lists[count > 1].to_numpy()
        rule[decided] = step
        open_rows[decided] = False
    return pd.DataFrame(
        {"person": person, "match": match, "rule": rule, "candidates": candidates.to_numpy()}
    )


def suggest_names(people: pd.DataFrame, names: pd.Series) -> pd.Series:
    """A "did you mean" hint per name: exact normalised name first, then close spelling.

    Only for the few unmatched accounts; never used to make a match.
    """
    roster = _fold_name(people["name"])
    label = people["name"].astype("str") + " (" + people["employee_id"].astype("str") + ")"
    by_name = dict(zip(roster[roster.notna()], label[roster.notna()], strict=False))
    wanted = _fold_name(names)
    out = wanted.map(by_name)
    missing = np.flatnonzero(out.isna().to_numpy() & wanted.notna().to_numpy())
    vocabulary = list(by_name)
    if len(missing) > 0 and len(missing) * len(vocabulary) <= _SUGGEST_BUDGET:
        for i in missing:
            near = difflib.get_close_matches(wanted.iloc[i], vocabulary, n=1, cutoff=0.85)
            if near:
                out.iloc[i] = by_name[near[0]]
    return out


def _fold_name(names: pd.Series) -> pd.Series:
    return names.astype("str").str.casefold().str.replace(r"\s+", " ", regex=True).str.strip()
