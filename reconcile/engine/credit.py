"""Minutes that count, per person and category, after category caps; category minimums.

Caps: minutes above a category's ``max_minutes`` do not count. Inside a capped category the
structured minutes are kept first (a cap never turns structured credit into unstructured), so
structured = min(structured, cap) and unstructured = min(unstructured, cap − structured kept).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def category_totals(items: pd.DataFrame, caps: np.ndarray) -> pd.DataFrame:
    """Per (person, category): raw and capped structured / unstructured minutes.

    ``items``: person, category (code, -1 = none), structured (bool), minutes.
    ``caps``: max minutes per category code (NaN = no cap).
    """
    minutes = np.nan_to_num(items["minutes"].to_numpy(dtype="float64"), nan=0.0)
    s_min = np.where(items["structured"].to_numpy(dtype=bool), minutes, 0.0)
    per = _group_sums(items["person"].to_numpy(), items["category"].to_numpy(), minutes, s_min)
    cat = per["category"].to_numpy()
    cap = np.full(len(per), np.inf)
    has = cat >= 0
    if len(caps):
        cap[has] = np.nan_to_num(caps[cat[has]], nan=np.inf)
    structured = per["structured"].to_numpy()
    unstructured = per["minutes"].to_numpy() - structured
    s_kept = np.minimum(structured, cap)
    u_kept = np.minimum(unstructured, np.maximum(cap - s_kept, 0))
    per["counted"] = s_kept + u_kept
    per["counted_structured"] = s_kept
    per["capped"] = per["minutes"] - per["counted"]
    return per


def _group_sums(
    person: np.ndarray, category: np.ndarray, minutes: np.ndarray, structured: np.ndarray
) -> pd.DataFrame:
    """Sums per (person, category) present, sorted by person then category.

    Why not groupby: with integer keys and a small category list, one ``bincount`` over a
    dense (person × category) grid is several times faster than hashing two million pairs.
    Falls back to a sort when the grid would be much larger than the data.
    """
    person = person.astype(np.int64, copy=False)
    category = category.astype(np.int64, copy=False)
    if not len(person):
        return pd.DataFrame(
            {
                "person": person,
                "category": category,
                "minutes": minutes,
                "structured": structured,
            }
        )
    low = int(category.min())
    width = int(category.max()) - low + 1
    cells = (int(person.max()) + 1) * width
    if person.min() >= 0 and cells <= 4 * len(person) + 1_000_000:
        key = person * width + (category - low)
        count = np.bincount(key, minlength=cells)
        present = np.flatnonzero(count)
        sums = np.bincount(key, weights=minutes, minlength=cells)[present]
        s_sums = np.bincount(key, weights=structured, minlength=cells)[present]
        group_person, group_category = present // width, present % width + low
    else:
        groups, inverse = np.unique(np.stack([person, category]), axis=1, return_inverse=True)
        inverse = inverse.reshape(-1)
        sums = np.bincount(inverse, weights=minutes, minlength=groups.shape[1])
        s_sums = np.bincount(inverse, weights=structured, minlength=groups.shape[1])
        group_person, group_category = groups[0], groups[1]
    return pd.DataFrame(
        {
            "person": group_person.astype(np.int64),
            "category": group_category.astype(np.int64),
            "minutes": sums,
            "structured": s_sums,
        }
    )


def person_sums(per_category: pd.DataFrame, n_people: int) -> pd.DataFrame:
    """Counted, structured and capped-away minutes per person (zeros for no records)."""
    out = pd.DataFrame(
        0.0, index=pd.RangeIndex(n_people), columns=["counted", "structured", "capped"]
    )
    if len(per_category):
        sums = per_category.groupby("person")[["counted", "counted_structured", "capped"]].sum()
        sums.columns = ["counted", "structured", "capped"]
        out.loc[sums.index, :] = sums.to_numpy()
    return out


def unmet_minimums(
    per_category: pd.DataFrame, minimums: pd.Series, people: np.ndarray
) -> pd.DataFrame:
    """(person, category, counted, minimum) for every minimum a person has not met.

    ``minimums``: min_minutes indexed by category code. ``people``: rows the minimums apply to.
    """
    if not len(minimums) or not len(people):
        return pd.DataFrame({"person": [], "category": [], "counted": [], "minimum": []})
    grid = pd.DataFrame(
        {
            "person": np.repeat(people, len(minimums)),
            "category": np.tile(minimums.index.to_numpy(), len(people)),
            "minimum": np.tile(minimums.to_numpy(), len(people)),
        }
    )
    have = per_category[["person", "category", "counted"]]
    grid = grid.merge(have, on=["person", "category"], how="left")
    grid["counted"] = grid["counted"].fillna(0.0)
    return grid[grid["counted"] < grid["minimum"]].reset_index(drop=True)
