"""Credit (§6.4-§6.7): the minutes that count, per person and category.

Counted minutes are the counted activities' and the credited completions' minutes, per person
and category (categories compared by name, see catalogue.py).

Caps: minutes above a category's ``max_minutes`` do not count. Within a capped category the
structured minutes are kept first (structured = min(structured, cap), unstructured =
min(unstructured, cap − structured kept)), so a cap never costs structured credit while
unstructured minutes are there to drop.

Minimums: a person who owes minutes (required > 0) meets each category's ``min_minutes`` with
their capped minutes in it (the policy's number as written, not pro-rated). An unmet minimum
blocks ``Compliant`` and is named in the Reason; minimums do not enter ``On track``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from reconcile.engine.catalogue import Catalogue
from reconcile.engine.text import join_per_person, on_shared_categories, whole_minutes


def per_category(
    activities: pd.DataFrame, completions: pd.DataFrame, catalogue: Catalogue
) -> pd.DataFrame:
    """Per (person, category_key): ``minutes`` and ``structured_minutes`` earned, then
    ``counted``, ``counted_structured`` and ``capped`` (minutes over the cap)."""
    columns = ["person", "category_key", "structured"]
    counted = activities.loc[
        (activities["disposition"] == "counted").to_numpy(), [*columns, "minutes"]
    ]
    credited = completions.loc[
        (completions["disposition"] == "credited").to_numpy(), [*columns, "cpd_minutes"]
    ]
    counted["category_key"], credited["category_key"] = on_shared_categories(
        counted["category_key"], credited["category_key"]
    )
    earned = pd.concat(
        [counted, credited.rename(columns={"cpd_minutes": "minutes"})], ignore_index=True
    )
    earned["structured_minutes"] = earned["minutes"].where(earned["structured"], 0.0)
    per = earned.groupby(["person", "category_key"], dropna=False, observed=True)[
        ["minutes", "structured_minutes"]
    ].sum()
    per = per.reset_index()
    cap = per["category_key"].map(catalogue.categories["max_minutes"]).astype("float64")
    cap = cap.fillna(np.inf)
    structured = per["structured_minutes"].clip(upper=cap)
    unstructured = (per["minutes"] - per["structured_minutes"]).clip(upper=(cap - structured))
    per["counted"] = structured + unstructured.clip(lower=0)
    per["counted_structured"] = structured
    per["capped"] = per["minutes"] - per["counted"]
    return per


def person_totals(people: pd.DataFrame, per_category: pd.DataFrame) -> pd.DataFrame:
    """``people`` with ``counted``, ``structured`` and ``capped`` minutes (0 for none)."""
    sums = per_category.groupby("person")[["counted", "counted_structured", "capped"]].sum()
    sums = sums.reindex(people.index, fill_value=0.0)
    return people.assign(
        counted=sums["counted"], structured=sums["counted_structured"], capped=sums["capped"]
    )


def unmet_minimums(
    people: pd.DataFrame, per_category: pd.DataFrame, catalogue: Catalogue
) -> pd.DataFrame:
    """(person, category_key, counted, minimum) for every category minimum a person who owes
    minutes has not met."""
    minimums = catalogue.categories["min_minutes"].dropna()
    owing = people.index[(people["required"] > 0).to_numpy()]
    every = pd.MultiIndex.from_product([owing, minimums.index], names=["person", "category_key"])
    have = per_category.set_index(["person", "category_key"])["counted"]
    grid = pd.DataFrame(
        {
            "counted": have.reindex(every, fill_value=0.0).to_numpy(),
            "minimum": np.tile(minimums.to_numpy(), len(owing)),
        },
        index=every,
    ).reset_index()
    return grid[(grid["counted"] < grid["minimum"]).to_numpy()].reset_index(drop=True)


def minimum_notes(unmet: pd.DataFrame, names: pd.Series, n_people: int) -> pd.Series:
    """Per person, "category minimum not met: Ethics 30 of 60 min, Law 0 of 60 min" (the
    categories in alphabetical order); "" when every minimum is met."""
    notes = [
        f"{name} {counted:,} of {minimum:,} min"
        for name, counted, minimum in zip(
            unmet["category_key"].map(names).tolist(),
            whole_minutes(unmet["counted"]).tolist(),
            whole_minutes(unmet["minimum"]).tolist(),
            strict=True,
        )
    ]
    joined = join_per_person(unmet["person"], pd.Series(notes, dtype="str"), n_people, ", ")
    return ("category minimum not met: " + joined).where(joined != "", "")
