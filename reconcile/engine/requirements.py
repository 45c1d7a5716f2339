"""Rule 3: what each person owes for the period.

Audiences = Thrive membership ∪ the roster's audiences column. Each audience's minutes come
from Thrive requirement summaries, overridden by the policy sheet. Several audiences combine
by ``max`` or ``sum``, separately for required and structured minutes. Without any audience
requirement a Brightspace target's denominators stand in. Pro-rating multiplies by employed
days ÷ period days × fte and rounds half up; the same factor applies to structured minutes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from reconcile.engine.rules import Rules
from reconcile.engine.text import normalise_names, round_half_up


def audience_keys(audiences: pd.DataFrame, values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Resolve audience ids, references or names to one key (and a display name).

    Tries id, then reference, then name, each compared as :func:`normalise_names` does; an
    audience no table knows keeps its own text as key, so a roster audience can still meet a
    policy row by name. Works on distinct values only.
    """
    fold = normalise_names
    lookup: dict[str, str] = {}
    names: dict[str, str] = {}
    ids = audiences["audience_id"].astype("str")
    for column in ("name", "reference", "audience_id"):  # later wins: id beats ref beats name
        folded = fold(audiences[column])
        ok = folded.notna().to_numpy()
        lookup.update(zip(folded[ok], ids[ok], strict=True))
    names.update(
        zip(ids, audiences["name"].fillna(audiences["audience_id"]).astype("str"), strict=True)
    )
    uniques = pd.Series(values.dropna().unique(), dtype="str")
    keyed = {}
    display = {}
    for raw, folded in zip(uniques, fold(uniques), strict=True):
        key = lookup.get(folded, f"~{folded}")
        keyed[raw] = key
        display[key] = names.get(key, str(raw).strip())
    key_series = values.map(keyed)
    return key_series, key_series.map(display)


def effective_requirements(requirements: pd.DataFrame, keys: pd.Series) -> pd.DataFrame:
    """One row per audience key, the requirement row in force (``row``: its position).

    Policy rows override Thrive's. Of several rows of the same origin the larger decides:
    the larger required minutes, then the larger structured minutes, then the first.
    """
    frame = pd.DataFrame(
        {
            "audience_key": keys.to_numpy(),
            "required": requirements["required_minutes"].fillna(0).to_numpy(),
            "structured": requirements["structured_minutes"].fillna(0).to_numpy(),
            "policy": (requirements["origin"] == "policy").to_numpy(),
            "row": np.arange(len(requirements)),
        }
    )
    frame = frame[frame["audience_key"].notna()]
    frame = frame.sort_values(
        ["policy", "required", "structured", "row"],
        ascending=[False, False, False, True],
        kind="stable",
    )
    chosen = frame.drop_duplicates("audience_key", keep="first")
    return chosen.set_index("audience_key")[["required", "structured", "row"]]


def person_requirements(
    n_people: int,
    person_audiences: pd.DataFrame,
    effective: pd.DataFrame,
    targets: pd.DataFrame,
    rules: Rules,
) -> pd.DataFrame:
    """Full-period required and structured minutes per person, and where they came from.

    ``person_audiences``: (person, audience_key). ``targets``: (person, structured_required,
    unstructured_required) already matched to people.
    """
    required = np.zeros(n_people)
    structured = np.zeros(n_people)
    basis = np.full(n_people, "none", dtype=object)
    joined = person_audiences.merge(effective, left_on="audience_key", right_index=True)
    if len(joined):
        how = rules.multiple_audiences
        per = joined.groupby("person")[["required", "structured"]].agg(how)
        idx = per.index.to_numpy()
        required[idx] = per["required"].to_numpy()
        structured[idx] = per["structured"].to_numpy()
        basis[idx] = "audience"
    if len(targets):
        # several Brightspace accounts: the larger target decides, whole (its structured
        # denominator with its own total), then the larger structured figure, then the first
        t = targets.assign(
            total=targets["structured_required"].fillna(0)
            + targets["unstructured_required"].fillna(0),
            s=targets["structured_required"].fillna(0),
            row=np.arange(len(targets)),
        )
        t = t.sort_values(
            ["total", "s", "row"], ascending=[False, False, True], kind="stable"
        ).drop_duplicates("person")
        per_t = t.set_index("person")[["total", "s"]].sort_index()
        idx = per_t.index.to_numpy()
        use = basis[idx] == "none"
        idx = idx[use]
        required[idx] = per_t["total"].to_numpy()[use]
        structured[idx] = per_t["s"].to_numpy()[use]
        basis[idx] = "target"
    return pd.DataFrame({"full_required": required, "full_structured": structured, "basis": basis})


def prorate(
    full_required: np.ndarray,
    full_structured: np.ndarray,
    employed_days: np.ndarray,
    fte: np.ndarray,
    rules: Rules,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pro-rated (required, structured, factor), rounded half up to whole minutes."""
    if rules.prorate:
        factor = employed_days / rules.period_days * np.nan_to_num(fte, nan=1.0)
    else:  # no pro-rating, but someone not employed at all in the period owes nothing
        factor = (employed_days > 0).astype("float64")
    req = round_half_up(full_required * factor).astype(np.int64)
    struct = round_half_up(full_structured * factor).astype(np.int64)
    return req, struct, factor
