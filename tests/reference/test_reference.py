"""Hand-computed tests of the reference implementation itself (rules.py), one or more per rule
of DESIGN §6. The arithmetic of every expected figure is written out beside it.

Unless a test says otherwise: the period is calendar 2026 (365 days), as_of is 31 Dec 2026, the
timezone is UTC, and person E1 owns Thrive account t1 (explicit thrive_id)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter

import pytest

from tests.reference import RefRules, reference_reconcile
from tests.reference.rules import check_control_totals, normalise_title

D = dt.date
YEAR = RefRules(period_start=D(2026, 1, 1), period_end=D(2026, 12, 31), as_of=D(2026, 12, 31))


def at(y, m, d, hour=12, minute=0):
    return dt.datetime(y, m, d, hour, minute, tzinfo=dt.UTC)


def person(eid, **kw):
    row = dict(employee_id=eid, name=f"Person {eid}", email=f"{eid.lower()}@acme.example")
    row.update(department=None, manager_id=None, start_date=None, leave_date=None, fte=None)
    row.update(exempt=False, exempt_reason=None, thrive_id=None, brightspace_id=None)
    row.update(coursepath_id=None)
    return row | kw


def account(system, account_id, **kw):
    table = "coursepath/members" if system == "coursepath" else f"{system}/users"
    return (
        dict(system=system, account_id=account_id, source_table=table, email=None)
        | dict(external_ref=None, name=None)
        | kw
    )


ACTIVITY_TABLE = {
    "thrive": "thrive/cpd_entries",
    "brightspace": "brightspace/records",
    "spreadsheet": "spreadsheet/external_cpd.xlsx",
}


def activity(
    record_id, minutes, when=None, *, system="thrive", acct="t1", title="Wound care", **kw
):
    row = dict(system=system, record_id=record_id, account_id=acct, title=title, minutes=minutes)
    row.update(source_table=ACTIVITY_TABLE[system], category=None, structured=None)
    row.update(completed_at=when, local_date=None, state=None, course_id=None)
    return row | kw


def log(record_id, minutes, day, *, who="E1", **kw):
    """A CPD-log (spreadsheet) row: typed local date, no instant."""
    return activity(record_id, minutes, None, system="spreadsheet", acct=who, local_date=day, **kw)


def completion(record_id, course_id, when, *, system="thrive", acct="t1", **kw):
    table = "thrive/completions" if system == "thrive" else "coursepath/results"
    row = dict(system=system, record_id=record_id, account_id=acct, course_id=course_id)
    row.update(completed_at=when, source_table=table, title=None, passed=None, score=None)
    return row | dict(certificate=None) | kw


def audience(aid, name, reference=None):
    return dict(audience_id=aid, source_table="thrive/audiences", name=name, reference=reference)


def member(audience_text, employee_id=None, *, system=None, acct=None):
    table = "roster/Staff" if employee_id else "thrive/audience_members"
    return dict(
        audience=audience_text,
        source_table=table,
        employee_id=employee_id,
        system=system,
        account_id=acct,
    )


def requirement(audience_text, required, structured=None, origin="thrive"):
    table = "policy/Requirements" if origin == "policy" else "thrive/requirements"
    return dict(
        audience=audience_text,
        required_minutes=required,
        origin=origin,
        source_table=table,
        structured_minutes=structured,
    )


def course(system, course_id, title, minutes, *, origin="policy", **kw):
    table = "policy/Courses" if origin == "policy" else "thrive/contents"
    row = dict(system=system, course_id=course_id, origin=origin, source_table=table, title=title)
    return (
        row | dict(cpd_minutes=minutes, category=None, structured=None, thrive_content_id=None) | kw
    )


def category(name, source_table="policy/Categories", **kw):
    row = dict(category=name, source_table=source_table, structured=None)
    return row | dict(min_minutes=None, max_minutes=None) | kw


def summary(acct, minutes, system="thrive"):
    return dict(
        system=system, account_id=acct, minutes=minutes, source_table="thrive/user_log_summaries"
    )


def target(acct, s_req, u_req, s_done=None, u_done=None):
    row = dict(system="brightspace", account_id=acct, source_table="brightspace/targets")
    row.update(structured_required=s_req, unstructured_required=u_req)
    return row | dict(structured_done=s_done, unstructured_done=u_done)


def one_person(*activities, **tables):
    """E1 with Thrive account t1, in audience a1 'Nurses' which owes 1200 min (300 structured)."""
    base = {
        "people": [person("E1", thrive_id="t1")],
        "accounts": [account("thrive", "t1")],
        "audiences": [audience("a1", "Nurses")],
        "memberships": [member("a1", system="thrive", acct="t1")],
        "requirements": [requirement("a1", 1200.0, 300.0)],
        "activities": list(activities),
    }
    return base | tables


def run(tables, **changes):
    return reference_reconcile(tables, dataclasses.replace(YEAR, **changes))


def dispositions(items):
    return [item.disposition for item in items]


def of_type(result, kind):
    return Counter(e for e in result.exceptions if e[0] == kind)


# ---------------------------------------------------------------------------------------------
# 1. Identity


def test_identity_order_explicit_id_then_external_ref_then_email():
    people = [person("E1", thrive_id="t-100"), person("E2"), person("E3")]
    accounts = [
        # explicit thrive_id wins over the external ref (E2) and the e-mail (E3)
        account("thrive", "t-100", external_ref="E2", email="e3@acme.example"),
        # external ref, trimmed, beats the e-mail
        account("thrive", "t-200", external_ref=" E2 ", email="e3@acme.example"),
        # external ref keeps its case ('e2' is nobody); e-mail is trimmed and case-folded
        account("thrive", "t-300", external_ref="e2", email="  E3@ACME.Example "),
        account("thrive", "t-400"),  # nothing to go on
    ]
    acts = [
        activity(f"r{i}", 30, at(2026, 3, i + 1), acct=a["account_id"], title=f"T{i}")
        for i, a in enumerate(accounts)
    ]
    result = run({"people": people, "accounts": accounts, "activities": acts})
    assert [a.employee_id for a in result.activities] == ["E1", "E2", "E3", None]
    assert dispositions(result.activities) == ["counted", "counted", "counted", "unmatched"]
    assert of_type(result, "unmatched_account") == Counter(
        {("unmatched_account", None, "thrive", "t-400"): 1}
    )
    assert result.control_totals[("thrive/users", "matched")] == 3
    assert result.control_totals[("thrive/users", "unmatched")] == 1
    assert result.people["E1"].counted == 30


def test_identity_first_step_with_a_candidate_decides_and_two_candidates_are_ambiguous():
    people = [person("E1", thrive_id="t-9"), person("E2", thrive_id="t-9")]
    # Both have thrive_id t-9: ambiguous, although the e-mail names E1 alone.
    accounts = [
        account("thrive", "t-9", email="e1@acme.example"),
        account("brightspace", "b-2", email="E2@acme.example"),
    ]
    acts = [
        activity("r1", 30, at(2026, 3, 1), acct="t-9"),
        activity("r2", 40, at(2026, 3, 1), system="brightspace", acct="b-2"),
    ]
    result = run({"people": people, "accounts": accounts, "activities": acts})
    assert [(a.employee_id, a.disposition) for a in result.activities] == [
        (None, "unmatched"),
        ("E2", "counted"),
    ]
    assert of_type(result, "ambiguous_match") == Counter(
        {("ambiguous_match", None, "thrive", "t-9"): 1}
    )
    assert result.control_totals[("thrive/users", "ambiguous")] == 1
    assert result.control_totals[("brightspace/users", "matched")] == 1
    assert result.people["E1"].counted == 0 and result.people["E2"].counted == 40


def test_cpd_log_rows_and_records_naming_unknown_accounts():
    acts = [
        log("s1", 30, D(2026, 2, 1), who="E1"),  # employee id
        # e-mail, trimmed and case-folded
        log("s2", 40, D(2026, 2, 2), who=" E1@ACME.EXAMPLE", title="Other"),
        log("s3", 50, D(2026, 2, 3), who="E9"),  # nobody ...
        log("s4", 60, D(2026, 2, 4), who="E9", title="Again"),  # ... twice: one exception
        activity("t1r", 70, at(2026, 2, 5), acct="ghost"),  # Thrive account not in the users list
        activity("t2r", 80, at(2026, 2, 6), acct="ghost", title="Again"),
    ]
    result = run(one_person(*acts))
    assert dispositions(result.activities) == [
        "counted",
        "counted",
        "unmatched",
        "unmatched",
        "unmatched",
        "unmatched",
    ]
    assert of_type(result, "unmatched_account") == Counter(
        {
            ("unmatched_account", None, "spreadsheet", "E9"): 1,
            ("unmatched_account", None, "thrive", "ghost"): 1,
        }
    )
    assert result.people["E1"].counted == 70  # 30 + 40; unmatched minutes are shown, not counted
    assert result.control_totals[("spreadsheet/external_cpd.xlsx", "unmatched")] == 2


# ---------------------------------------------------------------------------------------------
# 2. Period (local dates, inclusive)


@pytest.mark.parametrize(
    ("timezone", "instants"),
    [
        # Tokyo is UTC+9: 14:30Z is 23:30 local, 15:30Z is 00:30 local the next day.
        (
            "Asia/Tokyo",
            [
                at(2025, 12, 31, 14, 30),
                at(2025, 12, 31, 15, 30),
                at(2026, 12, 31, 14, 30),
                at(2026, 12, 31, 15, 30),
            ],
        ),
        # Los Angeles is UTC-8 in winter: 07:30Z is 23:30 the day before, 08:30Z is 00:30.
        (
            "America/Los_Angeles",
            [
                at(2026, 1, 1, 7, 30),
                at(2026, 1, 1, 8, 30),
                at(2027, 1, 1, 7, 30),
                at(2027, 1, 1, 8, 30),
            ],
        ),
    ],
)
def test_period_edges_are_local_dates(timezone, instants):
    # local: 23:30 on 31 Dec 2025 | 00:30 on 1 Jan 2026 | 23:30 on 31 Dec 2026 | 00:30 on 1 Jan 2027
    acts = [activity(f"r{i}", 30, when, title=f"T{i}") for i, when in enumerate(instants)]
    result = run(one_person(*acts), timezone=timezone, as_of=D(2027, 6, 30))
    assert dispositions(result.activities) == [
        "out_of_period",
        "counted",
        "counted",
        "out_of_period",
    ]


def test_period_edge_across_a_dst_change():
    # London moves to BST (UTC+1) on 29 Mar 2026. Period Jan-Mar 2026.
    acts = [
        activity("a", 30, at(2025, 12, 31, 23, 30), title="A"),  # 23:30 GMT 31 Dec 2025: out
        activity("b", 30, at(2026, 1, 1, 0, 30), title="B"),  # 00:30 GMT 1 Jan: in
        activity("c", 30, at(2026, 3, 31, 22, 30), title="C"),  # 23:30 BST 31 Mar: in
        # 00:30 BST 1 Apr: out, although it is still 31 Mar in UTC
        activity("d", 30, at(2026, 3, 31, 23, 30), title="D"),
    ]
    rules = dict(period_end=D(2026, 3, 31), as_of=D(2026, 3, 31), timezone="Europe/London")
    result = run(one_person(*acts), **rules)
    assert dispositions(result.activities) == [
        "out_of_period",
        "counted",
        "counted",
        "out_of_period",
    ]


def test_cpd_log_dates_are_already_local():
    acts = [
        log("s1", 30, D(2026, 1, 1), title="A"),
        log("s2", 30, D(2025, 12, 31), title="B"),
        log("s3", 30, None, title="C"),
    ]
    result = run(one_person(*acts), timezone="Pacific/Auckland")
    # a row with no date cannot be placed in the period: out_of_period
    assert dispositions(result.activities) == ["counted", "out_of_period", "out_of_period"]


# ---------------------------------------------------------------------------------------------
# 3. Requirement


@pytest.mark.parametrize(
    ("how", "required", "structured"), [("max", 1200, 400), ("sum", 2100, 700)]
)
def test_several_audiences_max_or_sum_separately(how, required, structured):
    tables = one_person(
        audiences=[audience("a1", "Nurses"), audience("a2", "Managers", reference="MGR")],
        # a1 twice (Thrive membership and the roster's 'nurses'): counted once.
        memberships=[
            member("a1", system="thrive", acct="t1"),
            member(" nurses", "E1"),
            member("mgr", "E1"),
        ],
        requirements=[requirement("a1", 1200.0, 300.0), requirement("a2", 900.0, 400.0)],
    )
    # max: required max(1200, 900) = 1200, structured max(300, 400) = 400
    # sum: required 1200 + 900 = 2100, structured 300 + 400 = 700
    figures = run(tables, multiple_audiences=how).people["E1"]
    assert (figures.required, figures.structured_required) == (required, structured)


def test_policy_sheet_overrides_thrive_requirement():
    tables = one_person(
        audiences=[audience("a1", "Nurses"), audience("a3", "Porters")],
        requirements=[
            requirement("a1", 1200.0, 300.0),  # Thrive's: replaced by the policy rows
            requirement("NURSES", 600.0, 100.0, origin="policy"),
            requirement("Nurses ", 800.0, 50.0, origin="policy"),  # the larger policy row decides
            requirement("a3", 999.0, 0.0),  # nobody is a Porter
        ],
    )
    result = run(tables)
    assert (result.people["E1"].required, result.people["E1"].structured_required) == (800, 50)
    assert result.control_totals[("policy/Requirements", "used")] == 1
    assert result.control_totals[("policy/Requirements", "unused")] == 1
    assert result.control_totals[("thrive/requirements", "unused")] == 2
    assert result.control_totals[("thrive/audiences", "used")] == 1  # Nurses has a member
    assert result.control_totals[("thrive/audiences", "unused")] == 1


def test_roster_audience_meets_policy_row_by_name_without_any_audience_table():
    tables = one_person(
        audiences=[],
        memberships=[member("Porters", "E1")],
        requirements=[requirement(" porters ", 500.0, 0.0, origin="policy")],
    )
    result = run(tables)
    assert result.people["E1"].required == 500
    assert result.control_totals[("roster/Staff", "used")] == 1


def test_brightspace_target_when_no_audience_requirement():
    people = [person("E1", brightspace_id="b1"), person("E2", brightspace_id="b3")]
    accounts = [
        account("brightspace", "b1"),
        account("brightspace", "b2", email="e1@acme.example"),
        account("brightspace", "b3"),
    ]
    targets = [
        target("b1", 200.0, 600.0),  # 800
        target("b2", 300.0, 900.0),  # 1200: E1's larger target decides
        target("b3", 1000.0, 1000.0),  # E2 has an audience requirement: the target is not used
        target("b9", 10.0, 10.0),  # nobody's account
    ]
    tables = {
        "people": people,
        "accounts": accounts,
        "targets": targets,
        "memberships": [member("Nurses", "E2")],
        "requirements": [requirement("nurses", 500.0, 0.0, origin="policy")],
    }
    result = run(tables)
    assert (result.people["E1"].required, result.people["E1"].structured_required) == (1200, 300)
    assert (result.people["E2"].required, result.people["E2"].structured_required) == (500, 0)
    assert (
        result.control_totals[("brightspace/targets", "used")] == 3
    )  # targets of matched accounts
    assert result.control_totals[("brightspace/targets", "unused")] == 1


def test_no_audience_and_no_target_is_not_required():
    tables = one_person(log("s1", 45, D(2026, 4, 1)), memberships=[])
    figures = run(tables).people["E1"]
    assert figures == dataclasses.replace(
        figures,
        required=0,
        structured_required=0,
        counted=45,
        shortfall=0,
        progress=None,
        status="Not required",
    )


def test_prorating_joiners_leavers_and_fte():
    # Audience a1 owes 1460 (4 a day over 365 days) and 365 structured (1 a day).
    people = [
        person("J", start_date=D(2026, 3, 1)),  # 1 Mar - 31 Dec = 306 days
        person("L", leave_date=D(2026, 3, 31)),  # 1 Jan - 31 Mar = 90 days
        person("F", fte=0.5),
        person("JF", start_date=D(2026, 7, 1), fte=0.7),  # 1 Jul - 31 Dec = 184 days
        person("G", leave_date=D(2025, 12, 31)),  # left before the period
    ]
    tables = {
        "people": people,
        "memberships": [member("a1", p["employee_id"]) for p in people],
        "requirements": [requirement("a1", 1460.0, 365.0)],
    }
    figures = run(tables).people
    # 4 × 306 = 1224, 1 × 306 = 306
    assert (figures["J"].required, figures["J"].structured_required) == (1224, 306)
    assert (figures["L"].required, figures["L"].structured_required) == (360, 90)  # 4 × 90, 1 × 90
    assert (figures["F"].required, figures["F"].structured_required) == (730, 183)  # 182.5 → 183
    # 4 × 184 × 0.7 = 515.2 → 515; 1 × 184 × 0.7 = 128.8 → 129
    assert (figures["JF"].required, figures["JF"].structured_required) == (515, 129)
    assert (figures["G"].required, figures["G"].status) == (0, "Not required")
    unprorated = run(tables, prorate=False).people
    required = [unprorated[p].required for p in ("J", "L", "F", "JF", "G")]
    assert required == [1460, 1460, 1460, 1460, 0]  # G is still not employed at all


def test_prorating_rounds_half_up_exactly():
    # Period 1-10 Jan (10 days), requirement 25 (15 structured).
    people = [person("H", start_date=D(2026, 1, 6)), person("P", fte=0.7)]
    tables = {
        "people": people,
        "memberships": [member("a1", "H"), member("a1", "P")],
        "requirements": [requirement("a1", 25.0, 15.0)],
    }
    figures = run(tables, period_end=D(2026, 1, 10), as_of=D(2026, 1, 10)).people
    # H: 6-10 Jan = 5 days: 25 × 5/10 = 12.5 → 13 (not 12); 15 × 5/10 = 7.5 → 8
    assert (figures["H"].required, figures["H"].structured_required) == (13, 8)
    # P: 25 × 0.7 = 17.5 → 18; 15 × 0.7 = 10.5 → 11 (0.7 is 7/10, not 0.6999…)
    assert (figures["P"].required, figures["P"].structured_required) == (18, 11)


# ---------------------------------------------------------------------------------------------
# 4. Ledger


def test_each_activity_disposition():
    tables = one_person(
        activity("count", 60.0, at(2026, 2, 1)),
        activity("draft", 45.0, at(2026, 2, 2), system="brightspace", acct="b1", state="draft"),
        activity("old", 60.0, at(2025, 6, 1), title="Old"),
        activity("future", 20.0, at(2026, 8, 1), title="Future"),
        activity("zero", 0.0, at(2026, 2, 3), title="Zero"),
        activity("huge", 1441.0, at(2026, 2, 4), title="Huge"),
        activity("blank", None, at(2026, 2, 5), title="Blank"),
        activity("max", 1440.0, at(2026, 2, 6), title="Max"),  # exactly the maximum: plausible
        activity("dup", 60.0, at(2026, 2, 1, 15)),
        activity("ghost", 60.0, at(2026, 2, 1), acct="ghost", title="Ghost"),
        people=[person("E1", thrive_id="t1", brightspace_id="b1")],
        accounts=[account("thrive", "t1"), account("brightspace", "b1")],
    )
    result = run(tables, as_of=D(2026, 6, 30))
    assert dispositions(result.activities) == [
        "counted", "draft", "out_of_period", "future_dated", "implausible",
        "implausible", "implausible", "counted", "duplicate", "unmatched",
    ]  # fmt: skip
    assert result.activities[8].duplicate_of == "thrive:count"
    figures = result.people["E1"]
    assert (figures.counted, figures.pending) == (1500, 45)  # 60 + 1440; the draft's 45 pending
    assert Counter(e[0] for e in result.exceptions) == Counter(
        {
            "future_dated": 1,
            "implausible_minutes": 3,
            "duplicate_activity": 1,
            "unmatched_account": 1,
        }
    )
    assert ("future_dated", "E1", "thrive", "future") in result.exceptions


def test_disposition_precedence():
    tables = one_person(
        # unmatched > out_of_period > implausible
        activity("a", 0.0, at(2025, 1, 1), acct="ghost", title="A"),
        activity("b", 30.0, at(2027, 2, 1), title="B"),  # out_of_period > future_dated
        # future_dated > draft > implausible
        activity("c", 0.0, at(2026, 9, 1), state="draft", title="C"),
        activity("d", 0.0, at(2026, 3, 1), state="draft", title="D"),  # draft > implausible
        activity("e1", 0.0, at(2026, 3, 2), title="E"),  # implausible twice: never duplicates
        activity("e2", 0.0, at(2026, 3, 2), title="E"),
        # out of period, so never the original of a duplicate
        activity("f1", 30.0, at(2025, 12, 31), title="F"),
        activity("f2", 30.0, at(2026, 1, 1), title="F"),
    )
    result = run(tables, as_of=D(2026, 6, 30))
    assert dispositions(result.activities) == [
        "unmatched", "out_of_period", "future_dated", "draft",
        "implausible", "implausible", "out_of_period", "counted",
    ]  # fmt: skip


def test_normalised_title():
    assert normalise_title("  Fire   Safety!  ") == "fire safety"
    assert normalise_title("fire-safety") == "firesafety"  # punctuation removed, not spaced
    assert normalise_title("FIRE  SAFETY") == normalise_title("Fire, safety.")


def test_duplicates_within_and_across_systems_and_the_window():
    tables = one_person(
        # same day as t-a but hand-typed (no instant): sorts after it and repeats it
        log("s1", 30.0, D(2026, 3, 1), title="FIRE  SAFETY"),
        activity("t-a", 30.0, at(2026, 3, 1, 9), title="Fire safety!"),
        activity(
            "b-a", 30.0, at(2026, 3, 2, 9), system="brightspace", acct="b1", title="fire safety"
        ),
        activity("t-b", 30.0, at(2026, 3, 3, 9), title="Fire safety"),
        activity("t-c", 30.0, at(2026, 3, 4, 9), title="Fire safety"),
        # 'firesafety': another title
        activity("t-d", 30.0, at(2026, 3, 1, 9), title="Fire-safety"),
        activity("t-e", 45.0, at(2026, 3, 1, 9), title="Fire safety"),  # other minutes
        people=[person("E1", thrive_id="t1", brightspace_id="b1")],
        accounts=[account("thrive", "t1"), account("brightspace", "b1")],
    )
    # Window 1 day, measured from the last record that counted:
    #   t-a 1 Mar counts; s1 1 Mar (0 days) dup of t-a; b-a 2 Mar (1 day) dup of t-a;
    #   t-b 3 Mar (2 days after t-a) counts; t-c 4 Mar (1 day after t-b) dup of t-b.
    result = run(tables)
    assert [(a.disposition, a.duplicate_of) for a in result.activities] == [
        ("duplicate", "thrive:t-a"), ("counted", None), ("duplicate", "thrive:t-a"),
        ("counted", None), ("duplicate", "thrive:t-b"), ("counted", None), ("counted", None),
    ]  # fmt: skip
    assert result.people["E1"].counted == 135  # t-a 30 + t-b 30 + t-d 30 + t-e 45
    # Window 0 days: only s1 (same day as t-a) repeats; 30 × 5 + 45 = 195
    result = run(tables, duplicate_window_days=0)
    assert dispositions(result.activities).count("duplicate") == 1
    assert result.people["E1"].counted == 195


def test_same_instant_platform_order_decides_which_counts():
    tables = one_person(
        activity("b-x", 30.0, at(2026, 5, 1, 9), system="brightspace", acct="b1"),
        activity("t-x", 30.0, at(2026, 5, 1, 9)),
        people=[person("E1", thrive_id="t1", brightspace_id="b1")],
        accounts=[account("thrive", "t1"), account("brightspace", "b1")],
    )
    result = run(tables)
    assert [(a.disposition, a.duplicate_of) for a in result.activities] == [
        ("duplicate", "thrive:t-x"),
        ("counted", None),
    ]


def test_weekly_meeting_is_not_collapsed():
    # Window 7 days: 9 Mar is 7 days after 2 Mar (dup); 16 Mar is 14 days after 2 Mar, the last
    # record that counted, so it counts; 23 Mar is 7 days after 16 Mar (dup).
    days = [D(2026, 3, 2), D(2026, 3, 9), D(2026, 3, 16), D(2026, 3, 23)]
    tables = one_person(
        *[log(f"s{i}", 30.0, day, title="Team huddle") for i, day in enumerate(days)]
    )
    result = run(tables, duplicate_window_days=7)
    assert dispositions(result.activities) == ["counted", "duplicate", "counted", "duplicate"]
    assert result.activities[3].duplicate_of == "spreadsheet:s2"


# ---------------------------------------------------------------------------------------------
# 5. Completions


def test_completion_matches_a_counted_activity_within_the_window():
    people = [
        person("E1", thrive_id="t1"),
        person("E2", thrive_id="t2"),
        person("E3", thrive_id="t3"),
    ]
    accounts = [account("thrive", a) for a in ("t1", "t2", "t3")]
    acts = [
        activity("a1", 90.0, at(2026, 5, 1), acct="t1", title="Infection control"),
        activity("a2", 90.0, at(2026, 5, 1), acct="t2", title="Infection control"),
        activity("a3", 90.0, at(2026, 5, 1), acct="t3", title="Infection control"),
        activity("a4", 90.0, at(2026, 5, 25), acct="t3", title="Infection control"),
    ]
    comps = [
        completion("k1", "C1", at(2026, 5, 15), acct="t1"),  # 14 days after a1: matched
        completion("k2", "C1", at(2026, 5, 16), acct="t2"),  # 15 days after a2: unlogged
        completion("k3", "C1", at(2026, 5, 15), acct="t3"),  # a3 14 days, a4 10 days: a4 nearest
    ]
    catalogue = [course("thrive", "C1", "Infection Control", 90.0)]
    result = run(
        {
            "people": people,
            "accounts": accounts,
            "activities": acts,
            "completions": comps,
            "catalogue": catalogue,
        }
    )
    assert [(c.disposition, c.matched_record_id) for c in result.completions] == [
        ("matched", "thrive:a1"), ("credited", None), ("matched", "thrive:a4"),
    ]  # fmt: skip
    assert result.people["E1"].counted == 90  # the activity only
    assert result.people["E2"].counted == 180  # activity 90 + credited completion 90
    assert of_type(result, "unlogged_completion") == Counter(
        {("unlogged_completion", "E2", "thrive", "k2"): 1}
    )
    assert of_type(result, "unverified_claim") == Counter()  # every claim has a completion


@pytest.mark.parametrize(
    ("crediting", "disposition", "counted", "structured"),
    [(True, "credited", 90, 90), (False, "not_credited", 0, 0)],
)
def test_unlogged_completion_crediting_on_and_off(crediting, disposition, counted, structured):
    catalogue = [course("thrive", "C1", "Infection control", 90.0, structured=True)]
    tables = one_person(completions=[completion("k1", "C1", at(2026, 5, 15))], catalogue=catalogue)
    result = run(tables, count_unlogged_completions=crediting)
    assert dispositions(result.completions) == [disposition]
    assert (result.people["E1"].counted, result.people["E1"].structured) == (counted, structured)
    # flagged either way; only credited when crediting is on
    assert of_type(result, "unlogged_completion") == Counter(
        {("unlogged_completion", "E1", "thrive", "k1"): 1}
    )


def test_completion_minutes_from_courses_sheet_else_content_duration():
    catalogue = [
        course("thrive", "X", "Course X", 60.0),  # the sheet's 60 beats the content's 30
        course("thrive", "X", "Course X", 30.0, origin="content"),
        course("thrive", "Y", "Course Y", 45.0, origin="content"),
        course("thrive", "Z", "Course Z", None, origin="content"),  # no duration: no CPD value
        course("thrive", "W", "Course W", 0.0, origin="content"),
        course("thrive", "V", "Course V", 10.0),  # nobody completed or logged it
    ]
    comps = [completion(f"k{c}", c, at(2026, 6, 1)) for c in "XYZW"]
    result = run(one_person(completions=comps, catalogue=catalogue))
    assert dispositions(result.completions) == [
        "credited",
        "credited",
        "not_credited",
        "not_credited",
    ]
    assert result.people["E1"].counted == 105  # 60 + 45
    assert len(of_type(result, "unlogged_completion")) == 2
    assert result.control_totals[("policy/Courses", "used")] == 1
    assert result.control_totals[("policy/Courses", "unused")] == 1
    assert result.control_totals[("thrive/contents", "used")] == 4


def test_failed_courses_and_unverified_claims():
    catalogue = [
        course("coursepath", "P1", "Manual handling", 60.0),
        course("coursepath", "P2", "Basic life support", 120.0),
        course("coursepath", "P3", "Ethics module", 30.0),
        course("coursepath", "P4", "Dementia awareness", 45.0),
    ]
    acts = [
        log("s1", 60.0, D(2026, 4, 1), title="Manual handling"),  # only a failed completion
        log("s2", 120.0, D(2026, 4, 2), title="Basic life support"),  # no completion at all
        log("s3", 30.0, D(2026, 4, 3), title="ethics module"),  # passed completion: verified
    ]
    comps = [  # titles come from the catalogue
        completion("r1", "P1", at(2026, 4, 1), system="coursepath", acct="c1", passed=False),
        completion("r3", "P3", at(2026, 4, 4), system="coursepath", acct="c1", passed=True),
        # pass unknown: not a pass
        completion("r4", "P4", at(2026, 4, 5), system="coursepath", acct="c1", passed=None),
    ]
    tables = one_person(
        *acts,
        completions=comps,
        catalogue=catalogue,
        people=[person("E1", coursepath_id="c1")],
        accounts=[account("coursepath", "c1")],
    )
    result = run(tables)
    assert dispositions(result.activities) == ["counted"] * 3  # flagged claims still count
    assert result.people["E1"].counted == 210  # 60 + 120 + 30
    assert [(c.disposition, c.matched_record_id) for c in result.completions] == [
        ("not_credited", None), ("matched", "spreadsheet:s3"), ("not_credited", None),
    ]  # fmt: skip
    assert Counter(e for e in result.exceptions if e[0] not in ("unlogged_completion",)) == Counter(
        {
            ("failed_course_logged", "E1", "spreadsheet", "s1"): 1,
            ("unverified_claim", "E1", "spreadsheet", "s2"): 1,
        }
    )
    assert of_type(result, "unlogged_completion") == Counter()


def test_duplicate_completions_keep_the_passed_then_the_earliest():
    catalogue = [
        course("thrive", "C1", "Infection control", 90.0),
        course("coursepath", "P1", "Manual handling", 60.0),
    ]
    comps = [
        completion("k2", "C1", at(2026, 3, 1)),
        completion("k1", "C1", at(2026, 2, 1)),  # earliest: kept
        completion("r1", "P1", at(2026, 1, 10), system="coursepath", acct="c1", passed=False),
        # passed: kept before the earlier failed one
        completion("r2", "P1", at(2026, 1, 20), system="coursepath", acct="c1", passed=True),
    ]
    tables = one_person(
        completions=comps, catalogue=catalogue,
        people=[person("E1", thrive_id="t1", coursepath_id="c1")],
        accounts=[account("thrive", "t1"), account("coursepath", "c1")],
    )  # fmt: skip
    result = run(tables)
    assert dispositions(result.completions) == ["duplicate", "credited", "duplicate", "credited"]
    assert result.people["E1"].counted == 150  # 90 + 60


def test_out_of_period_future_and_unmatched_completions():
    catalogue = [
        course("thrive", "C1", "Manual handling", 60.0),
        course("thrive", "C2", "Fire safety", 30.0),
    ]
    acts = [
        log("s1", 60.0, D(2026, 3, 1), title="Manual handling"),
        log("s2", 30.0, D(2026, 3, 1), title="Fire safety"),
    ]
    comps = [
        completion("k1", "C1", at(2025, 11, 1)),  # last year: out of period, still verifies s1
        completion("k2", "C2", at(2026, 8, 1)),  # after as_of: future-dated, does not verify s2
        completion("k3", "C1", at(2026, 3, 1), acct="ghost"),
    ]
    result = run(one_person(*acts, completions=comps, catalogue=catalogue), as_of=D(2026, 6, 30))
    assert dispositions(result.completions) == ["out_of_period", "future_dated", "unmatched"]
    assert Counter(result.exceptions) == Counter(
        {
            ("future_dated", "E1", "thrive", "k2"): 1,
            ("unverified_claim", "E1", "spreadsheet", "s2"): 1,
            ("unmatched_account", None, "thrive", "ghost"): 1,
        }
    )


# ---------------------------------------------------------------------------------------------
# Categories: flags from the sheet, caps, minimums


def test_categories_sheet_decides_structured_when_the_platform_lists_the_same_name():
    categories = [
        category("Clinical Skills", "thrive/cpd_categories"),  # the platform's row: no flag
        category("Safeguarding", "thrive/cpd_categories"),
        category("Leadership", "thrive/cpd_categories"),
        category("  clinical   SKILLS", structured=True, min_minutes=0.0),  # the sheet's row
    ]
    # Brightspace's own IsStructured = False wins over the sheet
    bloods = activity("r3", 30.0, at(2026, 2, 3), system="brightspace", acct="b1", title="Bloods")
    bloods.update(category="Clinical Skills", structured=False)
    acts = [
        # no flag of its own: the Categories sheet says structured
        activity("r1", 120.0, at(2026, 2, 1), title="Suturing", category="Clinical skills"),
        # no sheet row for Safeguarding: unstructured
        activity("r2", 60.0, at(2026, 2, 2), title="Child protection", category="Safeguarding"),
        bloods,
        # names the Courses-sheet course 'Hand Hygiene' (structured = no): before the category
        activity("r4", 15.0, at(2026, 2, 4), title="Hand hygiene", category="Clinical Skills"),
    ]
    tables = one_person(
        *acts, categories=categories,
        catalogue=[course("thrive", "H1", "Hand Hygiene", 15.0, structured=False)],
        people=[person("E1", thrive_id="t1", brightspace_id="b1")],
        accounts=[account("thrive", "t1"), account("brightspace", "b1")],
    )  # fmt: skip
    result = run(tables)
    assert (result.people["E1"].counted, result.people["E1"].structured) == (225, 120)
    assert result.control_totals[("policy/Categories", "used")] == 1
    assert result.control_totals[("thrive/cpd_categories", "used")] == 2
    assert result.control_totals[("thrive/cpd_categories", "unused")] == 1  # Leadership


def test_category_caps_keep_structured_minutes_first():
    categories = [category("Ethics", max_minutes=60.0), category("Reading", max_minutes=100.0)]
    acts = [
        log("s1", 50.0, D(2026, 2, 1), title="E-s", category="Ethics", structured=True),
        log("s2", 30.0, D(2026, 2, 2), title="E-u", category="Ethics", structured=False),
        log("s3", 120.0, D(2026, 2, 3), title="R-s", category="reading", structured=True),
        log("s4", 40.0, D(2026, 2, 4), title="R-u", category="Reading", structured=False),
    ]
    # Ethics cap 60: structured min(50, 60) = 50, unstructured min(30, 60 − 50) = 10 → 60
    # Reading cap 100: structured min(120, 100) = 100, unstructured min(40, 0) = 0 → 100
    figures = run(one_person(*acts, categories=categories)).people["E1"]
    assert (figures.counted, figures.structured) == (160, 150)


def test_category_minimums_block_compliant_and_are_not_prorated():
    people = [person("E1"), person("E2"), person("E4", start_date=D(2026, 12, 1)), person("E5")]
    acts = [
        log("s1", 200.0, D(2026, 2, 1), who="E1", title="Clinical", category="Clinical"),
        log("s2", 30.0, D(2026, 2, 1), who="E1", title="Ethics", category="Ethics"),
        log("s3", 60.0, D(2026, 2, 1), who="E2", title="Ethics", category="ethics"),
        log("s4", 50.0, D(2026, 2, 1), who="E2", title="Clinical", category="Clinical"),
        log("s5", 40.0, D(2026, 2, 1), who="E4", title="Ethics", category="Ethics"),
    ]
    tables = {
        "people": people,
        "activities": acts,
        "memberships": [member("All", p) for p in ("E1", "E2", "E4")],
        "requirements": [requirement("all", 100.0, 0.0, origin="policy")],
        "categories": [category("Ethics", min_minutes=60.0)],
    }
    figures = run(tables).people
    assert figures["E1"].status == "Non-compliant"  # 230 ≥ 100, but Ethics 30 < 60
    assert figures["E2"].status == "Compliant"  # Ethics 60 ≥ 60
    # E4: 1-31 Dec = 31 days, 100 × 31/365 = 8.49 → 8 owed, 40 counted, Ethics still needs 60
    assert (figures["E4"].required, figures["E4"].status) == (8, "Non-compliant")
    assert figures["E5"].status == "Not required"  # owes nothing: minimums do not apply


# ---------------------------------------------------------------------------------------------
# 6. Platform totals


def test_platform_totals_against_detail():
    people = [
        person("E1", thrive_id="t1", brightspace_id="b1"),
        person("E2", thrive_id="t2", brightspace_id="b2"),
    ]
    accounts = [
        account("thrive", "t1"),
        account("thrive", "t2"),
        account("brightspace", "b1"),
        account("brightspace", "b2"),
    ]
    acts = [
        activity("a", 60.0, at(2026, 3, 1)),
        activity("b", 60.0, at(2026, 3, 1, 15)),  # duplicate: still in the detail
        activity("c", 2000.0, at(2026, 3, 2), title="Huge"),  # implausible: still in the detail
        activity("d", 20.0, at(2026, 8, 1), title="Future"),  # future-dated, in the period: in
        activity("e", 30.0, at(2026, 3, 3), state="draft", title="Draft"),  # draft: out
        activity("f", 50.0, at(2025, 3, 3), title="Old"),  # out of period: out
        log("s", 70.0, D(2026, 3, 4)),  # another system: out
        activity("g", 90.0, at(2026, 3, 1), acct="t2"),
        activity("h", 45.0, at(2026, 3, 1), system="brightspace", acct="b1"),
    ]
    totals = [summary("t1", 2140.0), summary("t2", 100.0), summary("t9", 5.0)]
    targets = [
        target("b1", 0.0, 0.0, 20.0, 24.5),  # 44.5 → 45 = 45: agree in whole minutes
        target("b2", 0.0, 0.0, 10.0, None),  # 10 vs 0: mismatch
        target("b1", 0.0, 0.0, None, None),  # nothing reported: skipped
    ]
    tables = {
        "people": people,
        "accounts": accounts,
        "activities": acts,
        "platform_totals": totals,
        "targets": targets,
    }
    result = run(tables, as_of=D(2026, 6, 30))
    # t1 detail: 60 + 60 + 2000 + 20 = 2140 = reported; t2: 90 ≠ 100
    assert of_type(result, "platform_total_mismatch") == Counter(
        {
            ("platform_total_mismatch", "E2", "thrive", "t2"): 1,
            ("platform_total_mismatch", "E2", "brightspace", "b2"): 1,
        }
    )
    assert result.control_totals[("thrive/user_log_summaries", "used")] == 2
    assert result.control_totals[("thrive/user_log_summaries", "unused")] == 1  # t9 is nobody's


# ---------------------------------------------------------------------------------------------
# 7. Status


def test_each_status():
    # Requirement 730 (2 a day), structured 365 (1 a day). as_of 30 Jun 2026 = day 181 of 365.
    people = [
        person("X", exempt=True, exempt_reason="Long-term leave"),
        person("N"),
        person("C"),
        person("T"),
        person("R"),
        person("L", leave_date=D(2026, 5, 31)),  # 151 days: owes 302, 151 structured
        # J: 1 Jun - 31 Dec = 214 days: owes 428, 214 structured
        person("J", start_date=D(2026, 6, 1)),
        person("S"),
    ]

    def logged(who, total, structured):
        """CPD-log rows dated 1 Mar: `structured` minutes flagged structured, the rest not."""
        rows = []
        if structured:
            rows.append(
                log(f"{who}-s", structured, D(2026, 3, 1), who=who, title="S", structured=True)
            )
        if total > structured:
            rows.append(log(f"{who}-u", total - structured, D(2026, 3, 1), who=who, title="U"))
        return rows

    acts = [
        *logged("X", 10, 0), *logged("C", 730, 365), *logged("T", 362, 181), *logged("R", 361, 181),
        *logged("L", 300, 151), *logged("J", 60, 30), *logged("S", 800, 100),
    ]  # fmt: skip
    tables = {
        "people": people,
        "activities": acts,
        "memberships": [member("All", p["employee_id"]) for p in people if p["employee_id"] != "N"],
        "requirements": [requirement("all", 730.0, 365.0, origin="policy")],
    }
    figures = run(tables, as_of=D(2026, 6, 30)).people
    assert {p: f.status for p, f in figures.items()} == {
        "X": "Exempt",
        "N": "Not required",
        "C": "Compliant",  # 730 ≥ 730 and 365 ≥ 365
        "T": "On track",  # 362 ≥ 730 × 181/365 = 362 and 181 ≥ 365 × 181/365 = 181
        "R": "At risk",  # 361 < 362
        "L": "Non-compliant",  # window ended 31 May ≤ 30 Jun, 300 < 302
        # window from 1 Jun: elapsed 30/214; 60 ≥ 428 × 30/214 = 60 and 30 ≥ 214 × 30/214 = 30
        # (the March minutes, before he joined, still count)
        "J": "On track",
        "S": "At risk",  # structured 100 < 181
    }
    exempt = figures["X"]
    assert (exempt.required, exempt.shortfall, exempt.progress, exempt.counted) == (0, 0, None, 10)
    assert (figures["C"].progress, figures["C"].shortfall) == (100.0, 0)
    assert (figures["T"].progress, figures["T"].shortfall) == (49.6, 368)  # 362/730 = 49.589…%
    assert (figures["L"].required, figures["L"].shortfall) == (302, 2)
    assert figures["S"].progress == 109.6  # 800/730 = 109.589…%


def test_progress_rounds_half_up():
    # 1 of 16 minutes = 6.25 % → 6.3 (binary float rounding would give 6.2)
    tables = one_person(log("s1", 1.0, D(2026, 2, 1)), requirements=[requirement("a1", 16.0, 0.0)])
    assert run(tables).people["E1"].progress == 6.3


# ---------------------------------------------------------------------------------------------
# Exceptions and 8. Control totals


def test_input_issues_become_exceptions():
    issue = dict(
        file="roster.xlsx",
        problem="unknown audience",
        sheet="Staff",
        row=4,
        column="audiences",
        value="Portres",
        fix="",
        employee_id="E1",
    )
    result = run(one_person(input_issues=[issue]))
    assert result.exceptions == [("input_issue", "E1", "spreadsheet", None)]


def test_control_totals_balance_per_source_table():
    tables = one_person(
        activity("a", 60.0, at(2026, 2, 1)),
        activity("b", 60.0, at(2026, 2, 1, 13)),
        log("s", 60.0, D(2025, 1, 1), who="E7"),
        completions=[completion("k", "C1", at(2026, 2, 2))],
        catalogue=[
            course("thrive", "C1", "Wound care", 60.0),
            course("thrive", "C9", "Unused", 10.0),
        ],
    )
    result = run(tables)
    assert result.control_totals == {
        ("thrive/users", "matched"): 1,
        ("thrive/audiences", "used"): 1,
        ("thrive/audience_members", "used"): 1,
        ("thrive/requirements", "used"): 1,
        ("thrive/cpd_entries", "counted"): 1,
        ("thrive/cpd_entries", "duplicate"): 1,
        ("spreadsheet/external_cpd.xlsx", "unmatched"): 1,
        ("thrive/completions", "matched"): 1,
        ("policy/Courses", "used"): 1,
        ("policy/Courses", "unused"): 1,
    }
    # Two thrive/cpd_entries rows but only one disposition: the run fails loudly.
    with pytest.raises(AssertionError, match="thrive/cpd_entries: 2 pulled, 1 accounted for"):
        check_control_totals(
            Counter({("thrive/cpd_entries", "counted"): 1}),
            {"activities": tables["activities"][:2]},
        )
