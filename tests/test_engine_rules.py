"""Hand-computed cases for every rule of DESIGN.md §6, the arithmetic written in each test."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from reconcile.engine import CanonicalTables, Rules, reconcile, summary
from reconcile.engine.canonical import conform, validate_canonical
from reconcile.errors import IntegrityError

YEAR = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))


def rules(as_of=dt.date(2026, 12, 31), tz="UTC", **kw) -> Rules:
    return Rules(YEAR[0], YEAR[1], as_of, tz, **kw)


def person(eid="E1", **kw) -> dict:
    row = {"employee_id": eid, "name": f"Name {eid}", "email": f"{eid.lower()}@acme.example"}
    row.update(kw)
    return row


def account(system, account_id, **kw) -> dict:
    row = {"system": system, "account_id": account_id, "source_table": f"{system}/users"}
    row.update(kw)
    return row


def act(record_id, account_id="t1", minutes=60.0, when="2026-03-01T12:00:00Z", **kw) -> dict:
    row = {
        "system": "thrive",
        "record_id": record_id,
        "account_id": account_id,
        "title": "Fire safety",
        "minutes": minutes,
        "completed_at": when,
        "source_table": f"{kw.get('system', 'thrive')}/records",
    }
    row.update(kw)
    return row


def requirement(audience="Nurses", required=1200.0, structured=0.0, origin="policy") -> dict:
    return {
        "audience": audience,
        "required_minutes": required,
        "structured_minutes": structured,
        "origin": origin,
        "source_table": f"{origin}/requirements",
    }


def member(eid="E1", audience="Nurses") -> dict:
    return {"audience": audience, "employee_id": eid, "source_table": "roster/roster.xlsx"}


def run(
    r=None,
    *,
    people=None,
    accounts=None,
    activities=None,
    requirements=None,
    memberships=None,
    **tables,
):
    """Reconcile; by default one person E1 with Thrive account t1 owing 1,200 min."""
    people = people if people is not None else [person()]
    accounts = (
        accounts if accounts is not None else [account("thrive", "t1", email="e1@acme.example")]
    )
    if requirements is None:
        requirements = [requirement()]
    if memberships is None:
        memberships = [member(p["employee_id"]) for p in people]
    frames = {
        "people": pd.DataFrame(people),
        "accounts": pd.DataFrame(accounts),
        "activities": pd.DataFrame(activities or []),
        "requirements": pd.DataFrame(requirements),
        "memberships": pd.DataFrame(memberships),
    }
    frames.update({k: pd.DataFrame(v) for k, v in tables.items()})
    return reconcile(CanonicalTables.build(**frames), r or rules())


def disp(result) -> dict:
    return dict(
        zip(
            result.activities["record_id"],
            result.activities["disposition"].astype(str),
            strict=True,
        )
    )


def row(result, eid="E1") -> pd.Series:
    return result.people.set_index("employee_id").loc[eid]


def types(result) -> list[str]:
    return result.exceptions["type"].tolist()


# ------------------------------------------------------------------ canonical tables


def test_conform_casts_and_validate_refuses_wrong_dtype():
    frame = conform("activities", pd.DataFrame([act("a1", minutes="60")]))
    assert str(frame["minutes"].dtype) == "float64"
    assert str(frame["completed_at"].dtype).endswith("UTC]")
    tables = CanonicalTables.build(activities=pd.DataFrame([act("a1")])).as_dict()
    validate_canonical(tables)
    tables["activities"] = tables["activities"].assign(minutes=["sixty"])
    with pytest.raises(IntegrityError, match="column minutes"):
        validate_canonical(tables)


def test_missing_required_column_is_an_integrity_error():
    with pytest.raises(IntegrityError, match="no column record_id"):
        conform("activities", pd.DataFrame([{"system": "thrive"}]))


# ------------------------------------------------------------------ 1. identity


def test_identity_precedence_explicit_then_reference_then_email():
    people = [person("E1", thrive_id="T-9"), person("E2"), person("E3", email="Cy@Acme.example")]
    accounts = [
        # explicit id says E1 although the e-mail is E2's: explicit wins
        account("thrive", "T-9", email="e2@acme.example"),
        account("brightspace", "b7", external_ref=" E2 "),
        account("coursepath", "c3", email="  CY@acme.EXAMPLE "),
        account("thrive", "t-x", email="nobody@acme.example", name="Name E2"),
    ]
    result = run(people=people, accounts=accounts)
    acc = result.accounts.set_index("account_id")
    assert acc.loc["T-9", "employee_id"] == "E1"
    assert acc.loc["T-9", "match_rule"] == "explicit id"
    assert acc.loc["b7", "employee_id"] == "E2"
    assert acc.loc["b7", "match_rule"] == "external reference"
    assert acc.loc["c3", "employee_id"] == "E3"
    assert acc.loc["t-x", "match"] == "unmatched"
    exc = result.exceptions[result.exceptions["type"] == "unmatched_account"]
    assert exc["record_id"].tolist() == ["t-x"]
    # a name suggestion in the detail, never a match
    assert "did you mean Name E2 (E2)?" in exc["detail"].iloc[0]


def test_ambiguous_match_counts_nothing():
    people = [person("E1", thrive_id="t1"), person("E2", thrive_id="t1")]
    result = run(people=people, activities=[act("a1")])
    assert result.accounts["match"].tolist() == ["ambiguous"]
    assert disp(result) == {"a1": "unmatched"}
    assert "ambiguous_match" in types(result)
    assert "E1, E2" in result.exceptions.set_index("type").loc["ambiguous_match", "detail"]


def test_spreadsheet_rows_find_people_by_employee_id_or_email():
    activities = [
        act("s1", system="spreadsheet", account_id="E1"),
        act("s2", system="spreadsheet", account_id="E1@ACME.example", title="Ethics"),
        act("s3", system="spreadsheet", account_id="E404", title="Other"),
    ]
    result = run(activities=activities)
    assert disp(result) == {"s1": "counted", "s2": "counted", "s3": "unmatched"}
    assert row(result)["counted"] == 120


# ------------------------------------------------------------------ 2. period & timezone


def test_timezone_decides_the_local_date():
    # 03:00 UTC on 1 January 2026 is 22:00 on 31 December 2025 in New York: out of period.
    # 03:00 UTC on 1 January 2027 is 31 December 2026 in New York: in period.
    activities = [
        act("a1", when="2026-01-01T03:00:00Z"),
        act("a2", when="2027-01-01T03:00:00Z", title="Other"),
    ]
    ny = run(rules(tz="America/New_York", as_of=dt.date(2027, 1, 5)), activities=activities)
    assert disp(ny) == {"a1": "out_of_period", "a2": "counted"}
    assert str(ny.activities.set_index("record_id").loc["a1", "local_date"].date()) == "2025-12-31"
    utc = run(rules(as_of=dt.date(2027, 1, 5)), activities=activities)
    assert disp(utc) == {"a1": "counted", "a2": "out_of_period"}


def test_local_dates_from_spreadsheets_are_taken_as_written():
    activities = [
        act("s1", system="spreadsheet", account_id="E1", completed_at=None, local_date="2026-01-01")
    ]
    result = run(rules(tz="America/New_York"), activities=activities)
    assert disp(result) == {"s1": "counted"}


# ------------------------------------------------------------------ 3. requirement


def test_prorating_by_employed_days_and_fte_rounds_half_up():
    # 2026 has 365 days. Joined 1 Mar: 1 Mar..31 Dec = 306 days.
    # E1: 1,460 × 306/365 × 1   = 1,224.0        → 1,224
    # E2: 1,460 × 306/365 × 0.5 =   612.0        →   612
    # E3: 5 × 365/365 × 0.5     =     2.5        →     3 (banker's rounding would give 2)
    # E4: left 30 Jun: 1 Jan..30 Jun = 181 days; 1,200 × 181/365 = 595.07 → 595
    people = [
        person("E1", start_date="2026-03-01"),
        person("E2", start_date="2026-03-01", fte=0.5),
        person("E3", fte=0.5),
        person("E4", leave_date="2026-06-30"),
    ]
    reqs = [requirement("A", 1460.0), requirement("B", 5.0), requirement("C", 1200.0)]
    mems = [member("E1", "A"), member("E2", "A"), member("E3", "B"), member("E4", "C")]
    result = run(people=people, requirements=reqs, memberships=mems)
    assert row(result, "E1")["required"] == 1224
    assert row(result, "E2")["required"] == 612
    assert row(result, "E3")["required"] == 3
    assert row(result, "E4")["required"] == 595
    assert row(result, "E1")["full_required"] == 1460
    assert "(pro-rated from 1,460: joined 1 Mar)" in row(result, "E1")["reason"]


def test_prorate_off_keeps_full_requirement():
    result = run(rules(prorate=False), people=[person(start_date="2026-07-01", fte=0.5)])
    assert row(result)["required"] == 1200


def test_several_audiences_max_or_sum_separately_and_policy_overrides_thrive():
    reqs = [
        requirement("A", 600.0, 300.0, origin="thrive"),
        requirement("A", 900.0, 100.0, origin="policy"),  # overrides Thrive's A
        requirement("B", 500.0, 200.0, origin="thrive"),
    ]
    mems = [member("E1", "A"), member("E1", "B")]
    mx = run(requirements=reqs, memberships=mems)
    # max: required max(900, 500) = 900; structured max(100, 200) = 200
    assert (row(mx)["required"], row(mx)["structured_required"]) == (900, 200)
    sm = run(rules(multiple_audiences="sum"), requirements=reqs, memberships=mems)
    # sum: 900 + 500 = 1,400; 100 + 200 = 300
    assert (row(sm)["required"], row(sm)["structured_required"]) == (1400, 300)
    sources = sm.control_totals.set_index("canonical").loc["requirements"]
    assert sources["used"].sum() == 2 and sources["unused"].sum() == 1


def test_audiences_match_by_id_reference_or_name_and_thrive_membership():
    audiences = [
        {
            "audience_id": "aud1",
            "name": "Ward Nurses",
            "reference": "WN",
            "source_table": "thrive/audiences",
        }
    ]
    reqs = [requirement("aud1", 700.0, origin="thrive")]
    mems = [
        {
            "audience": "aud1",
            "system": "thrive",
            "account_id": "t1",
            "source_table": "thrive/audience_members",
        }
    ]
    result = run(requirements=reqs, memberships=mems, audiences=audiences)
    assert row(result)["required"] == 700
    assert row(result)["audiences"] == "Ward Nurses"
    by_name = run(
        requirements=[requirement("ward nurses", 800.0)],
        memberships=[member("E1", "WN")],
        audiences=audiences,
    )
    assert row(by_name)["required"] == 800


def test_brightspace_target_is_the_fallback_requirement():
    accounts = [account("brightspace", "b1", email="e1@acme.example")]
    targets = [
        {
            "system": "brightspace",
            "account_id": "b1",
            "structured_required": 300.0,
            "unstructured_required": 900.0,
            "source_table": "brightspace/targets",
        }
    ]
    result = run(accounts=accounts, requirements=[], memberships=[], targets=targets)
    # 300 + 900 = 1,200 required, of which 300 structured
    assert (row(result)["required"], row(result)["structured_required"]) == (1200, 300)
    assert row(result)["requirement_basis"] == "target"


# ------------------------------------------------------------------ 4. ledger


def test_each_disposition_and_the_precedence():
    r = rules(as_of=dt.date(2026, 6, 30), max_activity_minutes=480)
    activities = [
        act("counted"),
        act("unmatched", account_id="nobody"),
        act("out", when="2025-12-31T12:00:00Z", minutes=-5),  # out_of_period beats implausible
        act("future", when="2026-07-01T00:00:00Z"),
        act("draft", state="draft", minutes=0, title="d"),  # draft beats implausible
        act("zero", minutes=0, title="z"),
        act("huge", minutes=481, title="h"),
        act("ok480", minutes=480, title="max is allowed"),
    ]
    result = run(r, activities=activities)
    assert disp(result) == {
        "counted": "counted",
        "unmatched": "unmatched",
        "out": "out_of_period",
        "future": "future_dated",
        "draft": "draft",
        "zero": "implausible",
        "huge": "implausible",
        "ok480": "counted",
    }
    assert row(result)["counted"] == 60 + 480
    t = types(result)
    assert t.count("implausible_minutes") == 2 and "future_dated" in t


def test_draft_minutes_are_pending():
    result = run(activities=[act("d1", state="draft", minutes=45.0)])
    assert row(result)["pending"] == 45
    assert row(result)["counted"] == 0
    assert "45 min pending approval" in row(result)["reason"]


def test_duplicates_within_and_across_systems_earliest_counts():
    accounts = [
        account("thrive", "t1", email="e1@acme.example"),
        account("brightspace", "b1", email="e1@acme.example"),
    ]
    activities = [
        act("late", when="2026-03-02T09:00:00Z", title="Fire  Safety!"),  # 1 day later: dup
        act(
            "b-same-day",
            system="brightspace",
            account_id="b1",
            when="2026-03-01T12:00:00Z",
            title="fire safety",
        ),  # same instant as "first": thrive wins the tie
        act("first", when="2026-03-01T12:00:00Z"),
        act("far", when="2026-03-05T09:00:00Z"),  # 4 days later: counts
        act("other-minutes", minutes=30.0, when="2026-03-01T12:00:00Z"),
    ]
    result = run(accounts=accounts, activities=activities)
    assert disp(result) == {
        "late": "duplicate",
        "b-same-day": "duplicate",
        "first": "counted",
        "far": "counted",
        "other-minutes": "counted",
    }
    assert row(result)["counted"] == 60 + 60 + 30
    dup = result.activities.set_index("record_id")["duplicate_of"].astype(str)
    assert dup["late"] == "thrive:first" and dup["b-same-day"] == "thrive:first"
    assert types(result).count("duplicate_activity") == 2


def test_duplicate_window_is_measured_from_the_record_that_counted():
    # window 1 day: 1 Mar counts, 2 Mar duplicate (1 day), 3 Mar is 2 days from 1 Mar: counts
    activities = [act(f"d{d}", when=f"2026-03-0{d}T10:00:00Z") for d in (1, 2, 3)]
    result = run(activities=activities)
    assert disp(result) == {"d1": "counted", "d2": "duplicate", "d3": "counted"}
    zero = run(rules(duplicate_window_days=0), activities=activities)
    assert set(disp(zero).values()) == {"counted"}


def test_structured_from_record_then_course_then_category():
    catalogue = [
        {
            "system": "thrive",
            "course_id": "K1",
            "title": "Fire safety",
            "cpd_minutes": 60.0,
            "structured": True,
            "origin": "policy",
            "source_table": "policy/Courses",
        }
    ]
    categories = [{"category": "Ethics", "structured": True, "source_table": "policy/Categories"}]
    activities = [
        act("course", when="2026-03-01T10:00:00Z"),  # Courses sheet: structured
        act("cat", title="Reading", category="ethics"),  # Categories sheet: structured
        act("own", title="Webinar", category="Ethics", structured=False),  # record says no
        act("none", title="Chat"),  # nothing says: unstructured
    ]
    result = run(activities=activities, catalogue=catalogue, categories=categories)
    flags = result.activities.set_index("record_id")["structured"].to_dict()
    assert flags == {"course": True, "cat": True, "own": False, "none": False}
    assert row(result)["structured"] == 120


# ------------------------------------------------------------------ 5. completions

CATALOGUE = [
    {
        "system": "coursepath",
        "course_id": "K1",
        "title": "Fire safety",
        "cpd_minutes": 90.0,
        "origin": "policy",
        "source_table": "policy/Courses",
    }
]
CP_ACCOUNT = account("coursepath", "c1", email="e1@acme.example")


def completion(record_id, passed=True, when="2026-03-03T10:00:00Z", course="K1", **kw):
    row = {
        "system": "coursepath",
        "record_id": record_id,
        "account_id": "c1",
        "course_id": course,
        "completed_at": when,
        "passed": passed,
        "source_table": "coursepath/results",
    }
    row.update(kw)
    return row


def test_completion_matches_logged_activity_then_only_the_activity_counts():
    result = run(
        accounts=[account("thrive", "t1", email="e1@acme.example"), CP_ACCOUNT],
        activities=[act("a1", when="2026-03-01T10:00:00Z")],
        completions=[completion("c-1")],
        catalogue=CATALOGUE,
    )
    comp = result.completions.set_index("record_id")
    assert comp.loc["c-1", "disposition"] == "matched"
    assert str(comp.loc["c-1", "matched_record_id"]) == "thrive:a1"
    assert row(result)["counted"] == 60  # the activity's 60, not the course's 90
    assert "unverified_claim" not in types(result)


def test_unlogged_completion_is_credited_when_configured():
    kw = {"accounts": [CP_ACCOUNT], "completions": [completion("c-1")], "catalogue": CATALOGUE}
    on = run(**kw)
    assert on.completions["disposition"].tolist() == ["credited"]
    assert row(on)["counted"] == 90
    off = run(rules(count_unlogged_completions=False), **kw)
    assert off.completions["disposition"].tolist() == ["not_credited"]
    assert row(off)["counted"] == 0
    assert types(on).count("unlogged_completion") == 1
    assert types(off).count("unlogged_completion") == 1


def test_completion_outside_match_window_is_unlogged():
    # activity 1 Mar, completion 20 Mar: 19 days > completion_match_days 14
    result = run(
        accounts=[account("thrive", "t1", email="e1@acme.example"), CP_ACCOUNT],
        activities=[act("a1", when="2026-03-01T10:00:00Z")],
        completions=[completion("c-1", when="2026-03-20T10:00:00Z")],
        catalogue=CATALOGUE,
    )
    assert result.completions["disposition"].tolist() == ["credited"]
    assert row(result)["counted"] == 60 + 90


def test_completion_dispositions_failed_no_value_duplicate_period():
    completions = [
        completion("failed", passed=False),
        completion("novalue", course="K2"),
        completion("first"),
        completion("again", when="2026-05-01T10:00:00Z"),
        completion("old", when="2025-06-01T10:00:00Z"),
        completion("ghost", account_id="c404"),
    ]
    result = run(accounts=[CP_ACCOUNT], completions=completions, catalogue=CATALOGUE)
    got = dict(
        zip(
            result.completions["record_id"],
            result.completions["disposition"].astype(str),
            strict=True,
        )
    )
    assert got == {
        "failed": "duplicate",
        "novalue": "not_credited",
        "first": "credited",
        "again": "duplicate",
        "old": "out_of_period",
        "ghost": "unmatched",
    }


def test_thrive_completion_counts_as_passed_with_content_duration():
    content = [
        {
            "system": "thrive",
            "course_id": "C9",
            "title": "Hand hygiene",
            "cpd_minutes": 25.0,
            "origin": "content",
            "source_table": "thrive/contents",
        }
    ]
    comps = [
        {
            "system": "thrive",
            "record_id": "x1",
            "account_id": "t1",
            "course_id": "C9",
            "completed_at": "2026-02-01T10:00:00Z",
            "source_table": "thrive/completions",
        }
    ]
    result = run(completions=comps, catalogue=content)
    assert result.completions["disposition"].tolist() == ["credited"]
    assert row(result)["counted"] == 25


def test_unverified_claim_and_failed_course_logged_still_count():
    accounts = [account("thrive", "t1", email="e1@acme.example"), CP_ACCOUNT]
    unverified = run(accounts=accounts, activities=[act("a1")], catalogue=CATALOGUE)
    assert "unverified_claim" in types(unverified)
    assert row(unverified)["counted"] == 60
    failed = run(
        accounts=accounts,
        activities=[act("a1")],
        catalogue=CATALOGUE,
        completions=[completion("c-1", passed=False)],
    )
    assert "failed_course_logged" in types(failed)
    assert row(failed)["counted"] == 60


def test_several_audiences_and_unmet_minimums_are_listed_in_text_order_per_person():
    reqs = [requirement("Ward B", 600.0), requirement("ward a", 500.0), requirement("C", 0.0)]
    mems = [member("E1", "Ward B"), member("E2", "C"), member("E1", "ward a")]
    categories = [
        {"category": "Law", "min_minutes": 60.0, "source_table": "policy/Categories"},
        {"category": "Ethics", "min_minutes": 30.0, "source_table": "policy/Categories"},
    ]
    activities = [act("l1", category="Law", minutes=10.0)]
    result = run(
        people=[person("E1"), person("E2"), person("E3")],
        accounts=[account("thrive", "t1", email="e1@acme.example")],
        requirements=reqs,
        memberships=mems,
        categories=categories,
        activities=activities,
    )
    assert row(result, "E1")["audiences"] == "Ward B; ward a"  # code-point order: "W" < "w"
    assert row(result, "E2")["audiences"] == "C"
    assert row(result, "E3")["audiences"] == ""
    reason = row(result, "E1")["reason"]
    assert "category minimum not met: Ethics 0 of 30 min, Law 10 of 60 min" in reason


# ------------------------------------------------------------------ categories


def test_category_cap_and_minimum():
    categories = [
        {"category": "Reading", "max_minutes": 100.0, "source_table": "policy/Categories"},
        {"category": "Ethics", "min_minutes": 60.0, "source_table": "policy/Categories"},
    ]
    activities = [
        act("r1", title="Book 1", category="Reading", minutes=80.0),
        act("r2", title="Book 2", category="Reading", minutes=80.0),
        act("e1", title="Ethics talk", category="Ethics", minutes=30.0),
        act("x", title="Course", minutes=1200.0),
    ]
    result = run(activities=activities, categories=categories)
    # Reading 160 capped to 100; total 100 + 30 + 1,200 = 1,330 ≥ 1,200, but Ethics 30 < 60
    assert row(result)["counted"] == 1330
    assert row(result)["capped"] == 60
    assert row(result)["status"] == "Non-compliant"
    assert "category minimum not met: Ethics 30 of 60 min" in row(result)["reason"]
    cats = result.categories.set_index("category")
    assert cats.loc["Reading", "capped"] == 60
    assert cats.loc["Ethics", "people_below_minimum"] == 1


def test_cap_keeps_structured_minutes_first():
    categories = [{"category": "Mixed", "max_minutes": 100.0, "source_table": "p/Categories"}]
    activities = [
        act("u", title="U", category="Mixed", minutes=80.0, structured=False),
        act("s", title="S", category="Mixed", minutes=70.0, structured=True),
    ]
    result = run(activities=activities, categories=categories)
    # cap 100: structured 70 kept, unstructured min(80, 100 − 70) = 30
    assert (row(result)["counted"], row(result)["structured"]) == (100, 70)


# ------------------------------------------------------------------ 6. platform totals


def test_platform_total_mismatch_thrive_and_brightspace():
    accounts = [
        account("thrive", "t1", email="e1@acme.example"),
        account("brightspace", "b1", email="e1@acme.example"),
    ]
    activities = [
        act("a1", minutes=60.0),
        act("a2", minutes=60.0, when="2026-03-01T13:00:00Z"),  # a duplicate: still in detail
        act("old", minutes=500.0, when="2025-12-01T10:00:00Z"),  # out of period: not in detail
        act("b1r", system="brightspace", account_id="b1", title="X", minutes=30.0),
        act(
            "b1d", system="brightspace", account_id="b1", title="Y", minutes=30.0, state="draft"
        ),  # drafts are not published
    ]
    totals = [
        {
            "system": "thrive",
            "account_id": "t1",
            "minutes": 120.0,
            "source_table": "thrive/user_log_summaries",
        }
    ]
    targets = [
        {
            "system": "brightspace",
            "account_id": "b1",
            "structured_required": 0.0,
            "unstructured_required": 0.0,
            "structured_done": 20.0,
            "unstructured_done": 20.0,
            "source_table": "brightspace/targets",
        }
    ]
    result = run(accounts=accounts, activities=activities, platform_totals=totals, targets=targets)
    mism = result.exceptions[result.exceptions["type"] == "platform_total_mismatch"]
    # Thrive: 120 reported = 60 + 60 detail → fine. Brightspace: 20 + 20 = 40 vs 30 → mismatch
    assert mism["system"].tolist() == ["brightspace"]
    assert mism["minutes"].tolist() == [10]
    assert "reports 40 min" in mism["detail"].iloc[0]


# ------------------------------------------------------------------ 7. status


def test_every_status_with_elapsed_fraction():
    # as_of 30 Jun 2026: elapsed = (30 Jun − 1 Jan + 1) ÷ 365 = 181/365 = 0.4959
    # requirement 1,000: on-track line = 1,000 × 181/365 = 495.9 min
    r = rules(as_of=dt.date(2026, 6, 30))
    people = [
        person("C"),  # 1,000 counted → Compliant
        person("T"),  # 496 ≥ 495.9 → On track
        person("R"),  # 495 < 495.9 → At risk
        person("N", leave_date="2026-05-31"),  # window ended 31 May ≤ as_of → Non-compliant
        person("Z"),  # no audience → Not required
        person("X", exempt=True, exempt_reason="Maternity leave"),
    ]
    accounts = [
        account("thrive", p["employee_id"].lower(), external_ref=p["employee_id"]) for p in people
    ]
    mins = {"c": 1000.0, "t": 496.0, "r": 495.0, "n": 100.0, "z": 50.0, "x": 10.0}
    activities = [act(f"a{k}", account_id=k, minutes=m, title=f"T{k}") for k, m in mins.items()]
    mems = [member(e, "Staff") for e in ("C", "T", "R", "N", "X")]
    result = run(
        r,
        people=people,
        accounts=accounts,
        activities=activities,
        requirements=[requirement("Staff", 1000.0)],
        memberships=mems,
    )
    status = result.people.set_index("employee_id")["status"].astype(str).to_dict()
    assert status == {
        "C": "Compliant",
        "N": "Non-compliant",
        "R": "At risk",
        "T": "On track",
        "X": "Exempt",
        "Z": "Not required",
    }
    n = row(result, "N")
    # N: left 31 May: 151 days; 1,000 × 151/365 = 413.7 → 414; 100 counted, 314 short
    assert (n["required"], n["counted"], n["shortfall"]) == (414, 100, 314)
    # progress 100 / 414 × 100 = 24.154… → 24.2
    assert n["progress"] == 24.2
    for eid in ("X", "Z"):
        assert row(result, eid)["required"] == 0 and row(result, eid)["shortfall"] == 0
        assert pd.isna(row(result, eid)["progress"])
    assert row(result, "X")["reason"] == "Exempt: Maternity leave"
    assert row(result, "Z")["reason"].startswith("No requirement: no audience")
    assert row(result, "R")["reason"] == "495 of 1,000 min; 505 min short"
    s = summary(result)
    # compliance rate = Compliant ÷ (6 − Exempt − Not required) = 1/4
    assert s["compliance_rate"] == 0.25
    assert s["status"]["On track"] == 1
    json.dumps(s)


def test_structured_shortfall_blocks_compliance_and_progress_rounds_half_up():
    # 1,000 required, 300 structured. 1,000 counted, none structured: not compliant.
    # Period over at as_of 31 Dec → Non-compliant. Progress 1,000/1,000 = 100.0
    result = run(
        requirements=[requirement("Nurses", 1000.0, 300.0)], activities=[act("a1", minutes=1000.0)]
    )
    assert row(result)["status"] == "Non-compliant"
    assert row(result)["progress"] == 100.0
    assert "structured 0 of 300 min" in row(result)["reason"]
    # 1 of 8 = 12.5 % exactly; 1 of 16 = 6.25 → 6.3 (half up, banker's gives 6.2)
    half = run(requirements=[requirement("Nurses", 16.0)], activities=[act("a1", minutes=1.0)])
    assert row(half)["progress"] == 6.3


# ------------------------------------------------------------------ 8. control totals


def test_control_totals_balance_and_sources_sheet():
    result = run(activities=[act("a1"), act("a2", account_id="zz")])
    sheet = result.sources_sheet()
    assert list(sheet.columns[:3]) == ["Source", "Table", "Pulled"]
    for _, r in result.control_totals.iterrows():
        values = [v for v in r.iloc[4:] if not pd.isna(v)]
        assert r["pulled"] == sum(values)
    acts = result.control_totals.set_index("canonical").loc["activities"]
    assert (acts["counted"], acts["unmatched"]) == (1, 1)


def test_people_sheet_has_the_section_7_columns():
    result = run()
    assert list(result.people_sheet().columns) == [
        "Employee ID",
        "Name",
        "Email",
        "Department",
        "Manager",
        "Audiences",
        "Required (min)",
        "Structured required (min)",
        "Counted (min)",
        "Structured (min)",
        "Pending (min)",
        "Shortfall (min)",
        "Progress %",
        "Status",
        "Reason",
    ]
    assert list(result.exceptions_sheet().columns) == [
        "Type",
        "Severity",
        "Employee ID",
        "System",
        "Record ID",
        "Minutes",
        "Detail",
    ]


def test_input_issues_become_exceptions_and_rollups_exist():
    issues = [
        {
            "file": "roster.xlsx",
            "sheet": "Staff",
            "row": 7.0,
            "column": "audiences",
            "problem": "unknown audience Nursez",
            "fix": "check the spelling",
        }
    ]
    result = run(
        input_issues=issues,
        people=[person("E1", department="Ward", manager_id="E2"), person("E2", department="Ward")],
    )
    exc = result.exceptions.set_index("type").loc["input_issue"]
    assert exc["detail"] == (
        "roster.xlsx / Staff row 7 column audiences: unknown audience Nursez; check the spelling"
    )
    dep = result.departments.set_index("department").loc["Ward"]
    assert dep["people"] == 2
    mgr = result.managers.set_index("manager_id").loc["E2"]
    assert mgr["manager"] == "Name E2" and mgr["people"] == 1
    assert result.audiences.set_index("audience").loc["Nurses", "people"] == 2


def test_unmatched_account_shows_only_in_period_minutes():
    accounts = [
        account("thrive", "t1", email="e1@acme.example"),
        account("thrive", "t9", email="stranger@elsewhere.example"),
    ]
    activities = [
        act("a1", account_id="t9", minutes=40.0),
        act("a2", account_id="t9", minutes=500.0, when="2025-06-01T10:00:00Z"),
    ]
    result = run(accounts=accounts, activities=activities)
    exc = result.exceptions.set_index("record_id").loc["t9"]
    assert exc["type"] == "unmatched_account" and exc["minutes"] == 40
    assert "its 40 min in the period are not counted" in exc["detail"]


def test_rules_from_config(tmp_path):
    from reconcile import config as config_module

    (tmp_path / "roster.csv").write_text("employee_id,email,name\nE1,e1@x.example,A\n")
    (tmp_path / "reconcile.toml").write_text(
        '[organisation]\nname = "Acme"\ntimezone = "America/New_York"\n'
        "[period]\nstart = 2026-01-01\nend = 2026-12-31\nas_of = 2026-06-30\n"
        '[roster]\npath = "roster.csv"\n'
        '[policy]\nmultiple_audiences = "sum"\nprorate = false\nduplicate_window_days = 3\n'
    )
    cfg = config_module.load(tmp_path / "reconcile.toml")
    r = Rules.from_config(cfg)
    assert (r.as_of, r.timezone, r.multiple_audiences, r.prorate) == (
        dt.date(2026, 6, 30),
        "America/New_York",
        "sum",
        False,
    )
    assert r.duplicate_window_days == 3 and r.period_days == 365
    assert Rules.from_config(cfg, as_of=dt.date(2026, 3, 1)).as_of == dt.date(2026, 3, 1)


def test_a_lost_record_fails_the_run_loudly():
    from reconcile.engine import control

    tables = CanonicalTables.build(
        people=pd.DataFrame([person()]), activities=pd.DataFrame([act("a1"), act("a2")])
    )
    result = reconcile(tables, rules())
    usage = {
        name: ["used"] * len(getattr(tables, name))
        for name in (
            "audiences",
            "memberships",
            "requirements",
            "catalogue",
            "categories",
            "platform_totals",
            "targets",
        )
    }
    with pytest.raises(IntegrityError, match="bug in reconcile"):
        control.control_totals(
            tables, result.accounts, result.activities.iloc[:1], result.completions, usage
        )


def test_a_control_totals_failure_reaches_the_caller(monkeypatch):
    """An imbalance found by the control totals is raised by reconcile() itself."""

    from reconcile.engine import control

    def unbalanced(*args, **kwargs):
        raise IntegrityError("control totals: bug in reconcile (test)")

    monkeypatch.setattr(control, "control_totals", unbalanced)
    tables = CanonicalTables.build(people=pd.DataFrame([person()]))
    with pytest.raises(IntegrityError, match=r"bug in reconcile \(test\)"):
        reconcile(tables, rules())
