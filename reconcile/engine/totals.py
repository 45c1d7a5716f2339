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
from reconcile.engine.text import whole_minutes

PLATFORM_NAMES = {"thrive": "Thrive", "brightspace": "Brightspace", "coursepath": "Coursepath"}


def reported(platform_totals: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """Per listed account a platform reports a total for: ``reported`` minutes, with its
    ``system``, ``account_id`` and ``person``; indexed by account (row in accounts)."""
    done = targets[["structured_done", "unstructured_done"]]
    columns = ["system", "account_id", "account", "person"]
    reports = pd.concat(
        [
            platform_totals[columns].assign(reported=platform_totals["minutes"]),
            targets[columns]
            .assign(reported=done.sum(axis=1, min_count=1))
            .dropna(subset=["reported"]),
        ],
        ignore_index=True,
    )
    listed = reports[(reports["account"] >= 0).to_numpy()]
    return listed.groupby("account").agg(
        system=("system", "first"),
        account_id=("account_id", "first"),
        person=("person", "first"),
        reported=("reported", "sum"),
    )


def detail(activities: pd.DataFrame, rules: Rules) -> pd.Series:
    """Minutes of each account's published records with local dates in the period, by
    account (row in accounts)."""
    published = in_period(activities["local_date"], rules) & ~activities["draft"].to_numpy()
    records = activities.loc[
        published & (activities["account"] >= 0).to_numpy(), ["account", "minutes"]
    ]
    return records["minutes"].fillna(0).groupby(records["account"]).sum()


def mismatches(
    platform_totals: pd.DataFrame,
    targets: pd.DataFrame,
    activities: pd.DataFrame,
    people: pd.DataFrame,
    rules: Rules,
) -> pd.DataFrame:
    """One ``platform_total_mismatch`` per matched account whose figures differ."""
    accounts = reported(platform_totals, targets)
    accounts = accounts[(accounts["person"] >= 0).to_numpy()]
    accounts["platform"] = whole_minutes(accounts["reported"].fillna(0))
    accounts["detail"] = whole_minutes(
        detail(activities, rules).reindex(accounts.index, fill_value=0.0)
    )
    differ = accounts[(accounts["platform"] != accounts["detail"]).to_numpy()]
    difference = differ["platform"] - differ["detail"]
    detail_text = [
        f"{PLATFORM_NAMES.get(system, system)} reports {platform:,} min for the period; its "
        f"records add up to {found:,} min ({abs(diff):,} min {'more' if diff > 0 else 'less'})"
        "; check the platform's summary or pull again"
        for system, platform, found, diff in zip(
            differ["system"].tolist(),
            differ["platform"].tolist(),
            differ["detail"].tolist(),
            difference.tolist(),
            strict=True,
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
