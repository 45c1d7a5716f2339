"""Rule 8: control totals. For every source table, records pulled = sum over dispositions.

The engine counts what came in (rows per ``source_table`` of each canonical input table) and,
separately, what went out (dispositions in the result). A difference means a record was lost
or doubled by a merge: a bug, so :class:`IntegrityError` stops the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from reconcile.engine import completions as comp
from reconcile.engine import ledger
from reconcile.engine.canonical import CONTROLLED
from reconcile.engine.text import factorize, pair_codes
from reconcile.errors import IntegrityError

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
    "completions": comp.DISPOSITIONS,
}


def _label(flags: np.ndarray) -> np.ndarray:
    return np.where(flags, "used", "unused")


@dataclass(frozen=True)
class UsageKeys:
    """The engine's intermediate keys that decide whether a reference row was used.

    Arrays are aligned with the canonical table named in each comment; -1 means "none".
    """

    index: Any  # core._AccountIndex: lookup(system, account_id) -> person row, -1 if none
    mem_person: np.ndarray  # memberships: person row, -1 when nobody on the roster
    aud_key: pd.Series  # memberships: audience key
    effective: pd.DataFrame  # requirement row in force (``row``), indexed by audience key
    policy: pd.DataFrame  # catalogue rows from the policy workbook
    act_course: np.ndarray  # activities: row in ``policy`` of the course each names
    act_ckey: np.ndarray  # activities: category key
    comp_ckey: np.ndarray  # completions: category key
    sheet_ckey: np.ndarray  # categories rows (policy sheet and platform lists): category key
    codes: np.ndarray  # activities: ledger disposition code
    comp_codes: np.ndarray  # completions: disposition code
    targets_person: np.ndarray | None = None  # targets: person row, when already looked up
    totals_person: np.ndarray | None = None  # platform_totals: person row, likewise


def usage(tables: Any, keys: UsageKeys) -> dict[str, np.ndarray]:
    """used / unused per row of every table that is not a ledger."""
    # distinct keys, not a Python set built by iterating every membership row
    member_keys = keys.aud_key[keys.mem_person >= 0].dropna().unique()
    audiences = tables.audiences
    aud_used = audiences["audience_id"].astype("str").isin(member_keys).to_numpy()
    mem_used = (keys.mem_person >= 0) & keys.aud_key.notna().to_numpy()
    # the one row that decided an audience with a member
    decided = keys.effective.loc[keys.effective.index.isin(member_keys), "row"].to_numpy()
    req_used = np.zeros(len(tables.requirements), dtype=bool)
    req_used[decided.astype(np.int64)] = True
    cat = tables.catalogue
    _, done = pair_codes(tables.completions["system"], tables.completions["course_id"])
    done = done.rename(columns={"first": "system", "second": "course_id"}).assign(hit=True)
    referenced = (
        cat[["system", "course_id"]]
        .merge(done, on=["system", "course_id"], how="left")["hit"]
        .fillna(False)
        .to_numpy(dtype=bool)
    )
    first = ~cat.duplicated(["origin", "system", "course_id"]).to_numpy()
    named = np.zeros(len(cat), dtype=bool)
    if len(keys.policy):
        hits = np.unique(keys.act_course[keys.act_course >= 0])
        named[keys.policy.index.to_numpy()[hits]] = True
    cat_used = first & (named | referenced)
    seen = np.union1d(
        keys.act_ckey[keys.codes == ledger.COUNTED],
        keys.comp_ckey[keys.comp_codes == comp.CREDITED],
    )
    # every row naming a category with counted minutes: the sheet's and the platform's
    categories_used = np.isin(keys.sheet_ckey, seen[seen >= 0])
    totals_person = keys.totals_person
    if totals_person is None:
        totals = tables.platform_totals
        totals_person = keys.index.lookup(totals["system"], totals["account_id"])
    totals_used = totals_person >= 0
    targets_person = keys.targets_person
    if targets_person is None:
        targets_person = keys.index.lookup(tables.targets["system"], tables.targets["account_id"])
    targets_used = targets_person >= 0
    return {
        "audiences": _label(aud_used),
        "memberships": _label(mem_used),
        "requirements": _label(req_used),
        "catalogue": _label(cat_used),
        "categories": _label(categories_used),
        "platform_totals": _label(totals_used),
        "targets": _label(targets_used),
    }


def control_totals(tables, accounts_out, act_out, comp_out, usage_labels) -> pd.DataFrame:
    """The Sources sheet's figures; raises IntegrityError if any table does not balance."""
    labelled = {
        "accounts": (accounts_out["source_table"], accounts_out["match"]),
        "activities": (act_out["source_table"], act_out["disposition"]),
        "completions": (comp_out["source_table"], comp_out["disposition"]),
    }
    for name, labels in usage_labels.items():
        labelled[name] = (getattr(tables, name)["source_table"], pd.Series(labels, dtype="str"))
    rows = []
    for name in CONTROLLED:
        pulled = _pulled(getattr(tables, name)["source_table"])
        sources, labels = labelled[name]
        if len(sources) != len(labels):
            raise IntegrityError(
                f"control totals: {name} has {len(sources)} records but {len(labels)} "
                "dispositions; this is a bug in reconcile, please report it"
            )
        counts = _count(sources, labels)
        for source_table in sorted(pulled.index):
            row = {c: pd.NA for c in COLUMNS}
            for c in APPLIES.get(name, ("used", "unused")):
                row[c] = 0
            for c, v in counts.get(source_table, {}).items():
                if c not in row:
                    raise IntegrityError(
                        f"control totals: {source_table} has unknown disposition {c}; "
                        "this is a bug in reconcile, please report it"
                    )
                row[c] = v
            total = sum(v for v in row.values() if v is not pd.NA)
            if total != int(pulled[source_table]):
                raise IntegrityError(
                    f"control totals: {source_table} pulled {int(pulled[source_table])} "
                    f"records but accounts for {total}; this is a bug in reconcile, "
                    "please report it with the snapshot"
                )
            system, _, table = str(source_table).partition("/")
            rows.append(
                {
                    "source": system,
                    "table": table or name,
                    "canonical": name,
                    "pulled": int(pulled[source_table]),
                    **row,
                }
            )
    frame = pd.DataFrame(rows, columns=["source", "table", "canonical", "pulled", *COLUMNS])
    for c in ("pulled", *COLUMNS):
        frame[c] = frame[c].astype("Int64")
    return frame.sort_values(["source", "table", "canonical"]).reset_index(drop=True)


def _count(sources: pd.Series, labels: pd.Series) -> dict[str, dict[str, int]]:
    """{source_table: {label: records}}, counted on integer codes."""
    if not len(sources):
        return {}
    s_codes, s_uniques = factorize(sources)
    l_codes, l_uniques = pd.factorize(labels)
    if (s_codes < 0).any() or (l_codes < 0).any():
        raise IntegrityError(
            "control totals: a record has no source table or no disposition; this is a bug in "
            "reconcile, please report it"
        )
    grid = np.bincount(
        s_codes.astype(np.int64) * len(l_uniques) + l_codes,
        minlength=len(s_uniques) * len(l_uniques),
    ).reshape(len(s_uniques), len(l_uniques))
    return {
        str(src): {str(lab): int(grid[i, j]) for j, lab in enumerate(l_uniques) if grid[i, j]}
        for i, src in enumerate(s_uniques)
    }


def _pulled(sources: pd.Series) -> pd.Series:
    """Records per source table in an input table (what came in)."""
    codes, uniques = factorize(sources)
    return pd.Series(np.bincount(codes[codes >= 0], minlength=len(uniques)), index=uniques)
