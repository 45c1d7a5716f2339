"""Stage 3, requirement (§6.3): what each person owes for the period.

A person's audiences are their Thrive audience memberships and the roster's ``audiences``
column. Audiences are matched by id, then reference, then name (trimmed, case-folded, runs of
white space as one space); an audience no table knows keeps its own text as its key, so a
roster audience can still meet a policy row by name.

Each audience's minutes: the policy sheet's rows replace Thrive's requirement summaries; of
two rows of the same origin the larger decides, whole (the larger required minutes, then the
larger structured minutes, then the first row). Several audiences combine by ``max`` or
``sum``, separately for required and structured minutes. A person with no audience
requirement owes their Brightspace target (structured + unstructured denominators; of several
targets the larger total decides, whole).

Pro-rating (on by default): full × employed days ÷ period days × fte (blank fte = 1), rounded
half up, the same factor for the structured requirement. With pro-rating off, a person not
employed at all in the period still owes nothing. Exempt people owe nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from reconcile.engine.identity import Owners
from reconcile.engine.rules import Rules
from reconcile.engine.text import join_per_person, normalise_ids, normalise_names, whole_minutes


def audience_keys(audiences: pd.DataFrame, values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Each value's audience key (the audience's id, or ``~name`` for an audience no table
    knows) and its display name. Id beats reference beats name."""
    lookup: dict[str, str] = {}
    ids = audiences["audience_id"].astype("str")
    for column in ("name", "reference", "audience_id"):  # later wins
        folded = normalise_names(audiences[column])
        known = folded.notna().to_numpy()
        lookup.update(zip(folded[known], ids[known], strict=True))
    names = dict(
        zip(ids, audiences["name"].fillna(audiences["audience_id"]).astype("str"), strict=True)
    )
    distinct = pd.Series(values.dropna().unique(), dtype="str")
    key_of: dict[str, str] = {}
    display: dict[str, str] = {}
    for raw, folded in zip(distinct, normalise_names(distinct), strict=True):
        key = lookup.get(folded, f"~{folded}")
        key_of[raw] = key
        display[key] = names.get(key, str(raw).strip())
    keys = values.map(key_of)
    return keys, keys.map(display)


def members(
    memberships: pd.DataFrame, audiences: pd.DataFrame, people: pd.DataFrame, owners: Owners
) -> pd.DataFrame:
    """``memberships`` with ``person`` (by employee id, else by platform account; -1: nobody),
    ``audience_key`` and ``audience`` (display name)."""
    first_row = pd.Series(np.arange(len(people)), index=normalise_ids(people["employee_id"]))
    first_row = first_row[~first_row.index.duplicated()]
    person = normalise_ids(memberships["employee_id"]).map(first_row)
    by_account = person.isna().to_numpy() & memberships["account_id"].notna().to_numpy()
    person[by_account] = owners.of(memberships[by_account])["person"].to_numpy()
    key, name = audience_keys(audiences, memberships["audience"])
    return memberships.assign(
        person=person.fillna(-1).to_numpy(dtype=np.int64), audience_key=key, audience=name
    )


def deciding_rows(requirements: pd.DataFrame, audiences: pd.DataFrame) -> pd.DataFrame:
    """``requirements`` with ``audience_key`` and ``decides``: True on the one row in force for
    its audience (policy over Thrive; then the larger required, the larger structured, the
    first)."""
    key, _ = audience_keys(audiences, requirements["audience"])
    ranked = pd.DataFrame(
        {
            "audience_key": key.to_numpy(),
            "policy": (requirements["origin"] == "policy").to_numpy(),
            "required": requirements["required_minutes"].fillna(0).to_numpy(),
            "structured": requirements["structured_minutes"].fillna(0).to_numpy(),
            "row": np.arange(len(requirements)),
        }
    ).dropna(subset=["audience_key"])
    ranked = ranked.sort_values(
        ["policy", "required", "structured", "row"],
        ascending=[False, False, False, True],
        kind="stable",
    )
    decides = np.zeros(len(requirements), dtype=bool)
    decides[ranked.drop_duplicates("audience_key")["row"].to_numpy()] = True
    return requirements.assign(audience_key=key.to_numpy(), decides=decides)


def owed(
    people: pd.DataFrame,
    memberships: pd.DataFrame,
    requirements: pd.DataFrame,
    targets: pd.DataFrame,
    rules: Rules,
) -> pd.DataFrame:
    """``people`` with ``audiences`` ("A; B"), ``full_required`` and ``full_structured`` (the
    whole period's), ``requirement_basis`` (audience / target / none), and the pro-rated
    ``required`` and ``structured_required`` (0 when exempt)."""
    belongs = person_audiences(memberships)
    full = _full_requirements(len(people), belongs, requirements, targets, rules)
    if rules.prorate:
        factor = people["employed_days"] / rules.period_days * people["fte"].fillna(1.0)
    else:  # no pro-rating, but someone not employed at all in the period owes nothing
        factor = (people["employed_days"] > 0).astype("float64")
    exempt = people["exempt"].to_numpy(dtype=bool)
    return people.assign(
        audiences=_audience_text(belongs, len(people)),
        full_required=full["required"],
        full_structured=full["structured"],
        requirement_basis=full["basis"],
        required=np.where(exempt, 0, whole_minutes(full["required"] * factor)),
        structured_required=np.where(exempt, 0, whole_minutes(full["structured"] * factor)),
    )


def person_audiences(memberships: pd.DataFrame) -> pd.DataFrame:
    """Distinct (person, audience_key, audience) of the memberships that found a person."""
    found = memberships[(memberships["person"] >= 0).to_numpy()].dropna(subset=["audience_key"])
    belongs = found[["person", "audience_key", "audience"]].drop_duplicates(
        ["person", "audience_key"]
    )
    return belongs.reset_index(drop=True)


def _full_requirements(
    n_people: int,
    belongs: pd.DataFrame,
    requirements: pd.DataFrame,
    targets: pd.DataFrame,
    rules: Rules,
) -> pd.DataFrame:
    """Whole-period required and structured minutes per person, and what they came from."""
    out = pd.DataFrame({"required": 0.0, "structured": 0.0, "basis": "none"}, index=range(n_people))
    deciding = requirements[requirements["decides"].to_numpy()]
    owed = belongs.merge(
        pd.DataFrame(
            {
                "audience_key": deciding["audience_key"].to_numpy(),
                "required": deciding["required_minutes"].fillna(0).to_numpy(),
                "structured": deciding["structured_minutes"].fillna(0).to_numpy(),
            }
        ),
        on="audience_key",
    )
    per_person = owed.groupby("person")[["required", "structured"]].agg(rules.multiple_audiences)
    out.loc[per_person.index, ["required", "structured"]] = per_person.to_numpy()
    out.loc[per_person.index, "basis"] = "audience"
    # several Brightspace accounts: the larger target decides, whole (its structured
    # denominator with its own total), then the larger structured figure, then the first
    found = targets[(targets["person"] >= 0).to_numpy()]
    structured = found["structured_required"].fillna(0)
    larger = pd.DataFrame(
        {
            "person": found["person"].to_numpy(),
            "total": (structured + found["unstructured_required"].fillna(0)).to_numpy(),
            "structured": structured.to_numpy(),
            "row": np.arange(len(found)),
        }
    ).sort_values(["total", "structured", "row"], ascending=[False, False, True], kind="stable")
    larger = larger.drop_duplicates("person").set_index("person")
    fallback = larger.index[(out.loc[larger.index, "basis"] == "none").to_numpy()]
    out.loc[fallback, "required"] = larger.loc[fallback, "total"]
    out.loc[fallback, "structured"] = larger.loc[fallback, "structured"]
    out.loc[fallback, "basis"] = "target"
    return out


def _audience_text(belongs: pd.DataFrame, n_people: int) -> pd.Series:
    """Each person's audiences in alphabetical order, "A; B"; "" for none."""
    return join_per_person(belongs["person"], belongs["audience"], n_people, "; ")
