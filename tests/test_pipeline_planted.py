"""End to end: generated organisation → spreadsheets → sandbox → pull → canonical → engine.

The generator plants anomalies and records them in ``org.planted`` (docs/sandbox-data.md);
the engine, reading the pulled data and the spreadsheets through the adapters, must find
exactly those: every planted kind on the planted record, and nothing else.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from reconcile import config as config_module
from reconcile import runs
from reconcile.sandbox import Sandbox
from reconcile.sandbox.generate import generate
from reconcile.sandbox.spreadsheets import write_spreadsheets

SEEDS = (3, 11)

#: planted kind → the engine exception type it must raise (None: a disposition only).
EXCEPTION_OF = {
    "duplicate_activity": "duplicate_activity",
    "unlogged_completion": "unlogged_completion",
    "unmatched_account": "unmatched_account",
    "implausible": "implausible_minutes",
    "future_dated": "future_dated",
    "platform_total_mismatch": "platform_total_mismatch",
    "unverified_claim": "unverified_claim",
    "failed_course_logged": "failed_course_logged",
}
#: planted kind → the activity disposition the planted record must get.
ACTIVITY_DISPOSITION = {
    "duplicate_activity": "duplicate",
    "draft": "draft",
    "out_of_period": "out_of_period",
    "future_dated": "future_dated",
    "implausible": "implausible",
}


def _system(values: pd.Series) -> pd.Series:
    """The generator calls spreadsheet CPD logs ``cpd_log``; the engine ``spreadsheet``."""
    return values.astype(str).replace({"cpd_log": "spreadsheet"})


@pytest.fixture(scope="module", params=SEEDS)
def outcome(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    org = generate(people=300, seed=request.param)
    folder = tmp_path_factory.mktemp(f"planted{request.param}")
    spreadsheets = write_spreadsheets(org, folder / "inputs")
    saved = dict(os.environ)
    try:
        with Sandbox(org) as sandbox:
            os.environ.update(sandbox.env())
            config = config_module.load(sandbox.write_config(folder, spreadsheets))
            result = runs.run(config, out=folder / "run")
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return org, result


@pytest.fixture
def planted(outcome: Any) -> pd.DataFrame:
    org, _ = outcome
    frame = org.planted.copy()
    frame["system"] = _system(frame["system"])
    frame["record_id"] = frame["record_id"].astype(str)
    return frame


def _keys(frame: pd.DataFrame, *columns: str) -> set[tuple[str, ...]]:
    return set(frame[list(columns)].astype(str).itertuples(index=False, name=None))


def test_every_planted_exception_is_found_and_nothing_else(outcome: Any, planted: Any) -> None:
    _, run = outcome
    found = run.result.exceptions
    found = found[found["type"] != "input_issue"]
    expected = planted[planted["kind"].isin(EXCEPTION_OF)].assign(
        type=lambda f: f["kind"].map(EXCEPTION_OF)
    )
    assert _keys(found, "type", "system", "record_id") == _keys(
        expected, "type", "system", "record_id"
    )
    assert len(found) == len(expected)
    # on the planted person, and with the planted minutes (account-level unmatched aside:
    # see test_unmatched_account_minutes_include_completions)
    merged = expected.merge(found, on=["type", "system", "record_id"], suffixes=("", "_found"))
    person = merged[merged["employee_id"].notna()]
    assert (person["employee_id"].astype(str) == person["employee_id_found"].astype(str)).all()
    assert (
        merged["employee_id_found"].isna().sum() == (expected["kind"] == "unmatched_account").sum()
    )
    valued = merged[merged["type"] != "unmatched_account"]
    assert valued["minutes"].astype(int).tolist() == valued["minutes_found"].astype(int).tolist()


def test_no_input_issues_from_clean_sandbox_spreadsheets(outcome: Any) -> None:
    _, run = outcome
    assert run.summary["exceptions"]["input_issue"] == 0


def test_planted_activities_get_their_disposition_and_the_rest_count(
    outcome: Any, planted: Any
) -> None:
    _, run = outcome
    acts = run.result.activities
    unmatched_accounts = _keys(
        planted[planted["kind"] == "unmatched_account"], "system", "account_id"
    )
    for kind, disposition in ACTIVITY_DISPOSITION.items():
        want = planted[(planted["kind"] == kind) & (planted["system"] != "coursepath")]
        got = acts[acts["disposition"] == disposition]
        assert _keys(got, "system", "record_id") == _keys(want, "system", "record_id"), kind
    unmatched = acts[acts["disposition"] == "unmatched"]
    assert len(unmatched) > 0
    assert _keys(unmatched, "system", "account_id") <= unmatched_accounts
    known = set(ACTIVITY_DISPOSITION.values()) | {"unmatched", "counted"}
    assert set(acts["disposition"].astype(str)) <= known


def test_planted_completions_get_their_disposition(outcome: Any, planted: Any) -> None:
    _, run = outcome
    comps = run.result.completions
    credited = comps[comps["disposition"] == "credited"]
    want = planted[planted["kind"] == "unlogged_completion"]
    assert _keys(credited, "system", "record_id") == _keys(want, "system", "record_id")
    dated = comps[comps["completed_at"].notna()]
    out = dated[dated["disposition"] == "out_of_period"]
    want = planted[(planted["kind"] == "out_of_period") & (planted["system"] == "coursepath")]
    assert _keys(out, "system", "record_id") == _keys(want, "system", "record_id")
    assert (comps.loc[comps["completed_at"].isna(), "disposition"] != "credited").all()
    unmatched_accounts = _keys(
        planted[planted["kind"] == "unmatched_account"], "system", "account_id"
    )
    unmatched = comps[comps["disposition"] == "unmatched"]
    assert _keys(unmatched, "system", "account_id") <= unmatched_accounts
    assert set(dated["disposition"].astype(str)) <= {
        "matched",
        "credited",
        "not_credited",
        "out_of_period",
        "unmatched",
    }


def test_case_different_email_matches_and_is_not_flagged(outcome: Any, planted: Any) -> None:
    _, run = outcome
    benign = planted[planted["kind"] == "case_different_email"]
    assert len(benign) > 0
    accounts = run.result.accounts
    rows = accounts.merge(benign, on=["system", "account_id"], suffixes=("", "_planted"))
    assert len(rows) == len(benign)
    assert (rows["match"] == "matched").all()
    assert (rows["employee_id"].astype(str) == rows["employee_id_planted"].astype(str)).all()
    flagged = run.result.exceptions
    assert not set(benign["account_id"].astype(str)) & set(flagged["record_id"].astype(str))
    assert not set(benign["employee_id"].astype(str)) & set(
        flagged["employee_id"].dropna().astype(str)
    )


def test_control_totals_balance_for_every_pulled_table(outcome: Any) -> None:
    _, run = outcome
    pulled = {(s, t): len(f) for (s, t), f in _snapshot_tables(run.snapshot).items()}
    rows = {(r["source"], r["table"]): r for r in run.summary["control_totals"]}
    for row in rows.values():
        assert row["pulled"] == sum(row["dispositions"].values()), row
    for key, n in pulled.items():
        if n:
            assert rows[key]["pulled"] == n, key


def test_unmatched_account_minutes_include_completions(outcome: Any, planted: Any) -> None:
    _, run = outcome
    want = planted[planted["kind"] == "unmatched_account"]
    found = run.result.exceptions
    found = found[found["type"] == "unmatched_account"]
    merged = want.merge(found, on=["system", "record_id"], suffixes=("", "_found"))
    assert merged["minutes"].astype(int).tolist() == merged["minutes_found"].astype(int).tolist()


def _snapshot_tables(folder: Path) -> dict[tuple[str, str], pd.DataFrame]:
    from reconcile.snapshot import read_snapshot

    return read_snapshot(folder)[0]


def test_duplicates_point_at_the_planted_original_which_counts(outcome: Any, planted: Any) -> None:
    _, run = outcome
    acts = run.result.activities
    dups = planted[planted["kind"] == "duplicate_activity"]
    original = dups["detail"].str.extract(r"duplicate of (\w+) record (\S+)$")
    want = dict(zip(dups["record_id"], original[0] + ":" + original[1], strict=True))
    found = acts[acts["disposition"] == "duplicate"]
    got = dict(zip(found["record_id"].astype(str), found["duplicate_of"].astype(str), strict=True))
    assert got == want
    keys = acts["system"].astype(str) + ":" + acts["record_id"].astype(str)
    assert (acts.loc[keys.isin(list(want.values())), "disposition"] == "counted").sum() == len(want)
