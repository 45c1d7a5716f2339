"""Stage 8, control totals (§6.8): for every source table, records pulled = the sum over
their dispositions.

What came in is counted from the canonical input tables (rows per ``source_table``); what
went out from the result. Accounts are matched / unmatched / ambiguous; activities and
completions have their seven dispositions; every other table's rows are ``used`` or
``unused``:

- audiences: an audience with a member on the roster;
- memberships: resolved to a person and an audience;
- requirements: the one row that decided an audience with a member;
- catalogue: a course named by any activity or completion, whatever its disposition (the
  first row of each (origin, system, course_id));
- categories: every row, the sheet's and the platform's, of a category with counted minutes;
- platform totals and targets: those of accounts matched to a person.

A difference means a record was lost or doubled on the way: a bug, so
:class:`IntegrityError` stops the run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from reconcile.engine import completions as completions_stage
from reconcile.engine import ledger
from reconcile.engine.canonical import CONTROLLED
from reconcile.engine.text import normalise_names, normalised_keys
from reconcile.errors import IntegrityError

if TYPE_CHECKING:
    from reconcile.engine.canonical import CanonicalTables

#: Union of disposition columns on the Sources sheet, in display order.
COLUMNS = (
    "matched",
    "unmatched",
    "ambiguous",
    "counted",
    "credited",
    "not_credited",
    "draft",
    "out_of_period",
    "future_dated",
    "implausible",
    "duplicate",
    "used",
    "unused",
)
APPLIES = {
    "accounts": ("matched", "unmatched", "ambiguous"),
    "activities": ledger.DISPOSITIONS,
    "completions": completions_stage.DISPOSITIONS,
}


def usage(
    tables: CanonicalTables,
    memberships: pd.DataFrame,
    requirements: pd.DataFrame,
    activities: pd.DataFrame,
    completions: pd.DataFrame,
    platform_totals: pd.DataFrame,
    targets: pd.DataFrame,
) -> dict[str, np.ndarray]:
    """``used`` / ``unused`` per row of every table that is not a ledger."""
    found = memberships["person"].to_numpy() >= 0
    member_keys = memberships.loc[found, "audience_key"].dropna().unique()
    in_use = {
        "audiences": tables.audiences["audience_id"].astype("str").isin(member_keys).to_numpy(),
        "memberships": found & memberships["audience_key"].notna().to_numpy(),
        "requirements": requirements["decides"].to_numpy(dtype=bool)
        & requirements["audience_key"].isin(member_keys).to_numpy(),
        "catalogue": _courses_named(tables.catalogue, activities, completions),
        "categories": _categories_counted(tables.categories, activities, completions),
        "platform_totals": platform_totals["person"].to_numpy() >= 0,
        "targets": targets["person"].to_numpy() >= 0,
    }
    return {name: np.where(used, "used", "unused") for name, used in in_use.items()}


def _courses_named(
    catalogue: pd.DataFrame, activities: pd.DataFrame, completions: pd.DataFrame
) -> np.ndarray:
    """Catalogue rows an activity names (Courses sheet) or a completion is of (any origin)."""
    on = ["system", "course_id"]
    completed = completions[on].drop_duplicates().assign(completed=True)
    of_completion = catalogue[on].merge(completed, on=on, how="left")["completed"]
    named_by_activity = np.zeros(len(catalogue), dtype=bool)
    named = activities["course"].unique()
    named_by_activity[named[named >= 0]] = True
    first = ~catalogue.duplicated(["origin", *on]).to_numpy()
    return first & (named_by_activity | of_completion.notna().to_numpy())


def _categories_counted(
    categories: pd.DataFrame, activities: pd.DataFrame, completions: pd.DataFrame
) -> np.ndarray:
    """Categories rows naming a category with counted activities or credited completions."""
    counted = activities.loc[(activities["disposition"] == "counted").to_numpy(), "category_key"]
    credited = completions.loc[
        (completions["disposition"] == "credited").to_numpy(), "category_key"
    ]
    keys = pd.concat([counted, credited]).dropna().unique()
    return normalised_keys(categories["category"], normalise_names).isin(keys).to_numpy()


def control_totals(
    tables: CanonicalTables,
    accounts: pd.DataFrame,
    activities: pd.DataFrame,
    completions: pd.DataFrame,
    usage_labels: dict[str, np.ndarray] | dict[str, list[str]],
) -> pd.DataFrame:
    """The Sources sheet's figures; raises IntegrityError if any table does not balance."""
    labelled: dict[str, tuple[pd.Series, pd.Series]] = {
        "accounts": (accounts["source_table"], accounts["match"]),
        "activities": (activities["source_table"], activities["disposition"]),
        "completions": (completions["source_table"], completions["disposition"]),
    }
    for name, used in usage_labels.items():
        labelled[name] = (getattr(tables, name)["source_table"], pd.Series(used, dtype="str"))
    rows = []
    for name in CONTROLLED:
        sources, labels = labelled[name]
        if len(sources) != len(labels):
            raise IntegrityError(
                f"control totals: {name} has {len(sources)} records but {len(labels)} "
                "dispositions; this is a bug in reconcile, please report it"
            )
        pulled = getattr(tables, name)["source_table"].value_counts()
        counts = _count(sources, labels)
        for source_table in sorted(pulled.index):
            rows.append(_balanced_row(name, source_table, int(pulled[source_table]), counts))
    frame = pd.DataFrame(rows, columns=["source", "table", "canonical", "pulled", *COLUMNS])
    for c in ("pulled", *COLUMNS):
        frame[c] = frame[c].astype("Int64")
    return frame.sort_values(["source", "table", "canonical"]).reset_index(drop=True)


def _balanced_row(
    name: str, source_table: str, pulled: int, counts: dict[str, dict[str, int]]
) -> dict[str, object]:
    """One Sources row: blank for dispositions that do not apply, 0 for those that do."""
    applies = APPLIES.get(name, ("used", "unused"))
    found = counts.get(source_table, {})
    for label in set(found) - set(applies):
        raise IntegrityError(
            f"control totals: {source_table} has unknown disposition {label}; "
            "this is a bug in reconcile, please report it"
        )
    total = sum(found.values())
    if total != pulled:
        raise IntegrityError(
            f"control totals: {source_table} pulled {pulled} records but accounts for {total}; "
            "this is a bug in reconcile, please report it with the snapshot"
        )
    system, _, table = str(source_table).partition("/")
    row = {c: found.get(c, 0) if c in applies else pd.NA for c in COLUMNS}
    return {"source": system, "table": table or name, "canonical": name, "pulled": pulled, **row}


def _count(sources: pd.Series, labels: pd.Series) -> dict[str, dict[str, int]]:
    """{source_table: {label: records}}."""
    if sources.isna().any() or labels.isna().any():
        raise IntegrityError(
            "control totals: a record has no source table or no disposition; this is a bug in "
            "reconcile, please report it"
        )
    pairs = pd.DataFrame(
        {"source": sources.reset_index(drop=True), "label": labels.reset_index(drop=True)}
    )
    counted = pairs.groupby(["source", "label"], observed=True).size().reset_index(name="n")
    out: dict[str, dict[str, int]] = {}
    for source, label, n in zip(
        counted["source"].tolist(), counted["label"].tolist(), counted["n"].tolist(), strict=True
    ):
        out.setdefault(str(source), {})[str(label)] = int(n)
    return out
