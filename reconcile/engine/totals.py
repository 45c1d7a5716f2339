"""Stage 6, platform totals (§6.6): a platform's own totals against its detail records.

Reported: Thrive's user log summary minutes, or a Brightspace target's Structured.Numerator +
Unstructured.Numerator (none when both are blank); several rows for one account add up.
Detail: the same account's records of that system with local dates in the period, drafts
excluded (they are not published), before duplicate, implausible and future-dated filtering;
a record without minutes adds 0. Both sides are compared in whole minutes, rounded half up,
so a platform that stores hours as decimals does not raise noise.

Only accounts matched to a person are compared (§6.6: "for the same person"): an account that
matches nobody is an ``unmatched_account`` already.

Exception: ``platform_total_mismatch``, minutes = reported − detail.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from reconcile.engine import exceptions
from reconcile.engine.period import in_period
from reconcile.engine.rules import Rules
from reconcile.engine.text import is_draft, normalise_ids, whole_minutes

PLATFORM_NAMES = {"thrive": "Thrive", "brightspace": "Brightspace", "coursepath": "Coursepath"}


def reported(platform_totals: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """(system, account_id, reported, person) per account a platform reports a total for."""
    done = targets[["structured_done", "unstructured_done"]]
    reports = pd.concat(
        [
            platform_totals[["system", "account_id", "person"]].assign(
                reported=platform_totals["minutes"]
            ),
            targets[["system", "account_id", "person"]]
            .assign(reported=done.sum(axis=1, min_count=1))
            .dropna(subset=["reported"]),
        ],
        ignore_index=True,
    )
    per_account = reports.groupby(["system", "account_id"], as_index=False)
    return per_account.agg(reported=("reported", "sum"), person=("person", "first"))


def detail(activities: pd.DataFrame, rules: Rules) -> pd.Series:
    """Minutes of each account's published in-period records, by (system, account key)."""
    published = in_period(activities["local_date"], rules) & ~is_draft(activities["state"])
    records = activities[published]
    key = normalise_ids(records["account_id"])
    return records["minutes"].fillna(0).groupby([records["system"], key]).sum()


def mismatches(
    platform_totals: pd.DataFrame,
    targets: pd.DataFrame,
    activities: pd.DataFrame,
    people: pd.DataFrame,
    rules: Rules,
) -> pd.DataFrame:
    """One ``platform_total_mismatch`` per matched account whose figures differ."""
    accounts = reported(platform_totals, targets)
    accounts = accounts[(accounts["person"] >= 0).to_numpy()].reset_index(drop=True)
    ours = detail(activities, rules)
    keys = pd.MultiIndex.from_arrays([accounts["system"], normalise_ids(accounts["account_id"])])
    accounts["platform"] = whole_minutes(accounts["reported"].fillna(0))
    accounts["detail"] = whole_minutes(ours.reindex(keys, fill_value=0.0))
    differ = accounts[(accounts["platform"] != accounts["detail"]).to_numpy()]
    difference = differ["platform"] - differ["detail"]
    detail_text = [
        f"{PLATFORM_NAMES.get(system, system)} reports {platform:,} min for the period; its "
        f"records add up to {found:,} min ({abs(diff):,} min {'more' if diff > 0 else 'less'})"
        "; check the platform's summary or pull again"
        for system, platform, found, diff in zip(
            differ["system"], differ["platform"], differ["detail"], difference, strict=True
        )
    ]
    employee_id = people["employee_id"].to_numpy(dtype=object)
    return exceptions.rows(
        "platform_total_mismatch",
        employee_id=employee_id[differ["person"].to_numpy(dtype=np.int64)],
        system=differ["system"],
        record_id=differ["account_id"],
        minutes=difference,
        detail=detail_text,
    )
