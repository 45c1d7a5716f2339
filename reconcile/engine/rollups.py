"""Rule 9: roll-ups by department, manager, audience and category.

Compliance rate everywhere = Compliant ÷ (people − Exempt − Not required); blank when no one
in the group owes anything.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from reconcile.engine.status import STATUSES

_FIGURES = ("required", "counted", "shortfall")


def compliance_rate(compliant: np.ndarray, people: np.ndarray, excluded: np.ndarray) -> np.ndarray:
    owing = people - excluded
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(owing > 0, compliant / np.where(owing > 0, owing, 1), np.nan)


def by_group(people: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """People, count per status, minute totals and compliance rate per group."""
    if not len(people):
        return pd.DataFrame(columns=[*keys, "people", *STATUSES, *_FIGURES, "compliance_rate"])
    grouped = people.groupby(keys, sort=True, dropna=False, observed=True)
    counts = (
        people.groupby([*keys, "status"], dropna=False, observed=False)
        .size()
        .unstack("status", fill_value=0)
        .reindex(columns=list(STATUSES), fill_value=0)
    )
    sums = grouped[list(_FIGURES)].sum()
    out = counts.join(sums)
    out.insert(0, "people", counts.sum(axis=1))
    out["compliance_rate"] = compliance_rate(
        out["Compliant"].to_numpy(),
        out["people"].to_numpy(),
        (out["Exempt"] + out["Not required"]).to_numpy(),
    )
    return out.reset_index()


def build(people_out, person_aud, per_category, cat_names, unmet, minimums) -> dict:
    # only the columns a roll-up reads: the audience roll-up repeats rows per membership
    wanted = ["department", "manager_id", "manager", "status", *_FIGURES]
    people = people_out[wanted].assign(
        department=people_out["department"].fillna("(no department)"),
        manager_id=people_out["manager_id"].fillna("(no manager)"),
        manager=people_out["manager"].fillna(""),
    )
    departments = by_group(people, ["department"])
    managers = by_group(people, ["manager_id", "manager"])
    if len(person_aud):
        aud = people.iloc[person_aud["person"].to_numpy()].assign(
            audience=person_aud["audience"].to_numpy()
        )
        audiences = by_group(aud, ["audience"])
    else:
        audiences = by_group(people.iloc[0:0].assign(audience=[]), ["audience"])
    return {
        "departments": departments,
        "managers": managers,
        "audiences": audiences,
        "categories": _categories(per_category, cat_names, unmet, minimums),
    }


def _categories(per_category, cat_names, unmet, minimums) -> pd.DataFrame:
    """Per category: people with minutes, counted, structured, capped away, minimum, below it."""
    columns = [
        "category",
        "people",
        "counted",
        "structured",
        "capped",
        "min_minutes",
        "people_below_minimum",
    ]
    if not len(per_category) and not len(unmet):
        return pd.DataFrame(columns=columns)
    g = per_category.groupby("category")
    out = pd.DataFrame(
        {
            "people": g["person"].nunique(),
            "counted": g["counted"].sum(),
            "structured": g["counted_structured"].sum(),
            "capped": g["capped"].sum(),
        }
    )
    below = unmet.groupby("category")["person"].nunique() if len(unmet) else pd.Series(dtype=int)
    out = out.reindex(out.index.union(below.index))
    out[["people", "counted", "structured", "capped"]] = out[
        ["people", "counted", "structured", "capped"]
    ].fillna(0)
    out["people_below_minimum"] = below.reindex(out.index).fillna(0).astype(np.int64)
    codes = out.index.to_numpy(dtype=np.int64)
    out["min_minutes"] = (
        np.where(codes >= 0, minimums[np.maximum(codes, 0)], np.nan) if len(minimums) else np.nan
    )
    names = np.where(
        codes >= 0, cat_names[np.maximum(codes, 0)] if len(cat_names) else None, "(no category)"
    )
    out.insert(0, "category", pd.Series(names, index=out.index, dtype="str"))
    for c in ("people", "counted", "structured", "capped"):
        out[c] = out[c].round().astype(np.int64)
    return out.rename_axis(None).sort_values("category").reset_index(drop=True)[columns]
