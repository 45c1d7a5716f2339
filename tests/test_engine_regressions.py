"""Rules the differential tests found broken, each as a small hand-computed case.

Every test is named after the rule (DESIGN §6 and docs/engine.md) and writes its arithmetic out.
The engine once got each of these wrong; the reference (tests/reference/) got them right, or
DESIGN was silent and the decision is now in docs/engine.md and both implement it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from reconcile.engine import Rules, reconcile
from reconcile.engine.result import Result
from tests.organisations import as_canonical, blank_row

YEAR = Rules(dt.date(2026, 1, 1), dt.date(2026, 12, 31), dt.date(2026, 12, 31), "Europe/London")


def at(day: str, time: str = "12:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{time}+00:00")


def person(employee_id: str = "E1", **values: Any) -> dict[str, Any]:
    return (
        blank_row(
            "people", employee_id=employee_id, name=employee_id, email=f"{employee_id}@acme.example"
        )
        | values
    )


def thrive_user(account_id: str = "t1", email: str = "E1@acme.example") -> dict[str, Any]:
    return blank_row(
        "accounts", system="thrive", account_id=account_id, email=email, source_table="thrive/users"
    )


def entry(record_id: str, minutes: float, day: str, **values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "system": "thrive",
        "record_id": record_id,
        "account_id": "t1",
        "title": "Reading",
        "minutes": minutes,
        "completed_at": at(day),
        "state": "published",
        "source_table": "thrive/cpd_entries",
    }
    return blank_row("activities", **(base | values))


def requirement(audience: str, minutes: float, **values: Any) -> dict[str, Any]:
    base = {
        "audience": audience,
        "required_minutes": minutes,
        "origin": "policy",
        "source_table": "policy/Requirements",
    }
    return blank_row("requirements", **(base | values))


def run(rules: Rules = YEAR, **rows: list[dict[str, Any]]) -> Result:
    return reconcile(as_canonical(rows), rules)


def sources(result: Result, source: str, table: str) -> dict[str, int]:
    row = result.control_totals.query("source == @source and table == @table").iloc[0]
    return {c: int(row[c]) for c in ("used", "unused") if not pd.isna(row[c])}


def test_categories_sheet_decides_structured_when_the_platform_lists_the_same_category() -> None:
    """Thrive lists "Clinical Skills" with no rules; the policy sheet marks it structured with
    a 60-minute minimum and a 100-minute cap. 120 min logged in it: structured, capped at
    100, minimum met. Both category rows are used (the Sources sheet)."""
    result = run(
        people=[person()],
        accounts=[thrive_user()],
        memberships=[blank_row("memberships", audience="Nurses", employee_id="E1",
                               source_table="roster/roster.xlsx")],
        requirements=[requirement("Nurses", 100.0, structured_minutes=100.0)],
        categories=[
            blank_row("categories", category="Clinical Skills",
                      source_table="thrive/cpd_categories"),
            blank_row("categories", category="Clinical Skills", structured=True,
                      min_minutes=60.0, max_minutes=100.0, source_table="policy/Categories"),
        ],
        activities=[entry("1", 120.0, "2026-05-01", category="Clinical Skills")],
    )  # fmt: skip
    figures = result.people.iloc[0]
    # counted = min(120, cap 100) = 100, all structured; 100 >= 100 and 100 >= 100: Compliant
    assert (figures["counted"], figures["structured"], figures["capped"]) == (100, 100, 20)
    assert figures["status"] == "Compliant"
    assert bool(result.activities.iloc[0]["structured"]) is True
    assert sources(result, "policy", "Categories") == {"used": 1, "unused": 0}
    assert sources(result, "thrive", "cpd_categories") == {"used": 1, "unused": 0}


def test_category_names_match_ignoring_case_and_runs_of_spaces() -> None:
    """The sheet's "CLINICAL  SKILLS" (two spaces) caps the records' "clinical skills" at 90:
    counted 60 + 60 = 120 → 90."""
    result = run(
        people=[person()],
        accounts=[thrive_user()],
        categories=[blank_row("categories", category="CLINICAL  SKILLS", max_minutes=90.0,
                              source_table="policy/Categories")],
        activities=[
            entry("1", 60.0, "2026-05-01", category="clinical skills"),
            entry("2", 60.0, "2026-06-01", category="Clinical Skills", title="Audit"),
        ],
    )  # fmt: skip
    assert result.people.iloc[0]["counted"] == 90


def test_nobody_owes_minutes_for_a_period_they_were_not_employed_in_even_without_prorating() -> (
    None
):
    """prorate = false drops the days and FTE factors, but a leaver before the period is not
    employed in it at all: required 0, Not required (not 1,200 min and Non-compliant)."""
    rules = Rules(
        dt.date(2026, 4, 1), dt.date(2027, 3, 31), dt.date(2027, 3, 31), "UTC", prorate=False
    )
    result = run(
        rules,
        people=[person(leave_date=dt.date(2026, 3, 31)), person("E2")],
        memberships=[
            blank_row("memberships", audience="Nurses", employee_id=e,
                      source_table="roster/roster.xlsx")
            for e in ("E1", "E2")
        ],
        requirements=[requirement("Nurses", 1200.0)],
    )  # fmt: skip
    people = result.people.set_index("employee_id")
    assert (people.loc["E1", "required"], people.loc["E1", "status"]) == (0, "Not required")
    assert people.loc["E2", "required"] == 1200  # employed all period: the full 1,200


def test_a_draft_adds_to_pending_only_minutes_that_would_count_once_approved() -> None:
    """Drafts of 45, -15, 2,000 (over max_activity_minutes 1,440) and no minutes: pending 45."""
    drafts = [
        entry(str(i), minutes, "2026-05-01", state="draft")
        for i, minutes in enumerate([45.0, -15.0, 2000.0, None])
    ]
    result = run(people=[person()], accounts=[thrive_user()], activities=drafts)
    assert result.people.iloc[0]["pending"] == 45
    assert list(result.activities["disposition"].astype(str)) == ["draft"] * 4


def test_a_future_dated_completion_is_flagged_like_a_future_dated_activity() -> None:
    """as_of 30 Jun; a course completed 2 Jul is future_dated, with its exception."""
    rules = Rules(dt.date(2026, 1, 1), dt.date(2026, 12, 31), dt.date(2026, 6, 30), "UTC")
    result = run(
        rules,
        people=[person()],
        accounts=[thrive_user()],
        completions=[blank_row("completions", system="thrive", record_id="c1", account_id="t1",
                               course_id="k1", completed_at=at("2026-07-02"), passed=True,
                               source_table="thrive/completions")],
    )  # fmt: skip
    assert str(result.completions.iloc[0]["disposition"]) == "future_dated"
    flagged = result.exceptions[["type", "employee_id", "system", "record_id"]]
    assert flagged.values.tolist() == [["future_dated", "E1", "thrive", "c1"]]


def test_platform_totals_are_compared_only_for_accounts_that_match_a_person() -> None:
    """A stranger's account reports 500 min against 0 in its records: it is one
    unmatched_account, not also a platform_total_mismatch (§6.6: "for the same person")."""
    result = run(
        people=[person()],
        accounts=[thrive_user("t9", "stranger@elsewhere.example")],
        platform_totals=[blank_row("platform_totals", system="thrive", account_id="t9",
                                   minutes=500.0, source_table="thrive/user_log_summaries")],
    )  # fmt: skip
    assert list(result.exceptions["type"]) == ["unmatched_account"]
    assert sources(result, "thrive", "user_log_summaries") == {"used": 0, "unused": 1}


def test_a_record_without_minutes_adds_nothing_to_the_platform_total_detail() -> None:
    """Records of 60 and (no minutes) against Thrive's own 60: detail 60 + 0 = 60, no mismatch."""
    result = run(
        people=[person()],
        accounts=[thrive_user()],
        activities=[entry("1", 60.0, "2026-05-01"), entry("2", None, "2026-05-02")],
        platform_totals=[blank_row("platform_totals", system="thrive", account_id="t1",
                                   minutes=60.0, source_table="thrive/user_log_summaries")],
    )  # fmt: skip
    assert "platform_total_mismatch" not in set(result.exceptions["type"])


def test_the_requirement_row_that_decided_is_the_one_used() -> None:
    """Two Thrive summaries for one audience, 600 and 1,200: the larger decides (1,200) and
    only its row is used."""
    summaries = [
        requirement("a1", minutes, origin="thrive", source_table="thrive/requirements")
        for minutes in (600.0, 1200.0)
    ]
    result = run(
        people=[person()],
        accounts=[thrive_user()],
        memberships=[blank_row("memberships", audience="a1", system="thrive", account_id="t1",
                               source_table="thrive/audience_members")],
        requirements=summaries,
    )  # fmt: skip
    assert result.people.iloc[0]["required"] == 1200
    assert sources(result, "thrive", "requirements") == {"used": 1, "unused": 1}


def test_the_larger_brightspace_target_decides_whole() -> None:
    """No audience; two Brightspace accounts with targets 0 + 900 and 600 + 0. The larger
    (900) decides with its own structured denominator (0), not 900 with 600 structured."""
    accounts = [
        blank_row(
            "accounts",
            system="brightspace",
            account_id=a,
            email="E1@acme.example",
            source_table="brightspace/users",
        )
        for a in ("b1", "b2")
    ]
    targets = [
        blank_row("targets", system="brightspace", account_id=a, structured_required=s,
                  unstructured_required=u, source_table="brightspace/targets")
        for a, s, u in (("b1", 0.0, 900.0), ("b2", 600.0, 0.0))
    ]  # fmt: skip
    result = run(people=[person()], accounts=accounts, targets=targets)
    figures = result.people.iloc[0]
    assert (figures["required"], figures["structured_required"]) == (900, 0)


def test_a_course_named_by_any_record_is_used_even_an_unmatched_one() -> None:
    """A CPD-log row names "Fire Safety" (a Courses-sheet course) for nobody on the roster: the
    record is unmatched, the course row was still read to describe it, so it is used — as it
    is for an unmatched completion."""
    result = run(
        people=[person()],
        catalogue=[blank_row("catalogue", system="thrive", course_id="k1", title="Fire Safety",
                             cpd_minutes=60.0, origin="policy", source_table="policy/Courses")],
        activities=[blank_row("activities", system="spreadsheet", record_id="2",
                              account_id="E999", title="Fire Safety", minutes=60.0,
                              local_date=dt.date(2026, 5, 1),
                              source_table="spreadsheet/cpd.xlsx")],
    )  # fmt: skip
    assert str(result.activities.iloc[0]["disposition"]) == "unmatched"
    assert sources(result, "policy", "Courses") == {"used": 1, "unused": 0}


def test_of_two_activities_equally_near_a_completion_the_first_in_ledger_order_is_matched() -> None:
    """CPD-log rows 56 and 57 log "Infection Control" on 1 Mar (90 and 60 min: not duplicates);
    the course is completed 3 Mar. Both are 2 days away: record "56" comes first (same day,
    same system, record ids as text), so the completion matches it."""
    rows = [
        blank_row(
            "activities",
            system="spreadsheet",
            record_id=r,
            account_id="E1",
            title="Infection Control",
            minutes=m,
            local_date=dt.date(2026, 3, 1),
            source_table="spreadsheet/cpd.xlsx",
        )
        for r, m in (("56", 90.0), ("57", 60.0))
    ]
    result = run(
        people=[person()],
        accounts=[thrive_user()],
        catalogue=[blank_row("catalogue", system="thrive", course_id="k2",
                             title="Infection Control", cpd_minutes=30.0, origin="policy",
                             source_table="policy/Courses")],
        activities=rows,
        completions=[blank_row("completions", system="thrive", record_id="c1", account_id="t1",
                               course_id="k2", completed_at=at("2026-03-03"), passed=True,
                               source_table="thrive/completions")],
    )  # fmt: skip
    completion = result.completions.iloc[0]
    assert (str(completion["disposition"]), completion["matched_record_id"]) == (
        "matched",
        "spreadsheet:56",
    )
