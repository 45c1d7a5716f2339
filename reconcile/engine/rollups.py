"""Stage 9, roll-ups (the Departments and Categories sheets, §7): by department, manager,
audience and category.

Compliance rate everywhere = Compliant ÷ (people − Exempt − Not required); blank when no one
in the group owes anything.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from reconcile.engine.catalogue import Catalogue
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


def manager_names(people: pd.DataFrame) -> pd.Series:
    """Each person's manager's name, by manager_id (the first person of a repeated id)."""
    names = pd.Series(people["name"].to_numpy(), index=people["employee_id"].to_numpy())
    return people["manager_id"].map(names[~names.index.duplicated()]).astype("str")


def build(
    people: pd.DataFrame,
    belongs: pd.DataFrame,
    per_category: pd.DataFrame,
    unmet: pd.DataFrame,
    catalogue: Catalogue,
    names: pd.Series,
) -> dict[str, pd.DataFrame]:
    """Departments, managers, audiences (``belongs``: person, audience) and categories."""
    # only the columns a roll-up reads: the audience roll-up repeats rows per membership
    wanted = ["department", "manager_id", "manager", "status", *_FIGURES]
    people = people[wanted].assign(
        department=people["department"].fillna("(no department)"),
        manager_id=people["manager_id"].fillna("(no manager)"),
        manager=people["manager"].fillna(""),
    )
    members = people.iloc[belongs["person"].to_numpy()]
    return {
        "departments": by_group(people, ["department"]),
        "managers": by_group(people, ["manager_id", "manager"]),
        "audiences": by_group(
            members.assign(audience=belongs["audience"].to_numpy()), ["audience"]
        ),
        "categories": _categories(per_category, unmet, catalogue, names),
    }


def _categories(
    per_category: pd.DataFrame, unmet: pd.DataFrame, catalogue: Catalogue, names: pd.Series
) -> pd.DataFrame:
    """Per category: people with minutes, counted, structured, capped away, minimum, and the
    people below it."""
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
    by_category = per_category.groupby("category_key", dropna=False)
    out = pd.DataFrame(
        {
            "people": by_category["person"].nunique(),
            "counted": by_category["counted"].sum(),
            "structured": by_category["counted_structured"].sum(),
            "capped": by_category["capped"].sum(),
        }
    )
    below = unmet.groupby("category_key")["person"].nunique()
    out = out.reindex(out.index.union(below.index), fill_value=0)
    out["people_below_minimum"] = below.reindex(out.index, fill_value=0).astype(np.int64)
    out["min_minutes"] = catalogue.categories["min_minutes"].reindex(out.index).to_numpy()
    category = names.reindex(out.index).astype("str").fillna("(no category)")
    out["category"] = category.to_numpy()
    for c in ("people", "counted", "structured", "capped"):
        out[c] = out[c].round().astype(np.int64)
    return out.sort_values("category").reset_index(drop=True)[columns]
