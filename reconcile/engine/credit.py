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
    s_min = np.where(items["structured"].to_numpy(), items["minutes"].to_numpy(), 0.0)
    frame = pd.DataFrame(
        {
            "person": items["person"].to_numpy(),
            "category": items["category"].to_numpy(),
            "minutes": items["minutes"].to_numpy(dtype="float64"),
            "structured": s_min,
        }
    )
    per = frame.groupby(["person", "category"], sort=True)[["minutes", "structured"]].sum()
    per = per.reset_index()
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
