"""The adapters on hand-made snapshot tables and spreadsheet frames (docs/pipeline.md)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from reconcile.canonical_build import build_canonical, known_audiences, unread_control_totals
from reconcile.engine import Rules, reconcile, summary
from reconcile.errors import IntegrityError
from reconcile.inputs import Inputs


def text(*values: object) -> pd.Series:
    return pd.Series(values, dtype="string")


def ints(*values: object) -> pd.Series:
    return pd.Series(values, dtype="Int64")


def flags(*values: object) -> pd.Series:
    return pd.Series(values, dtype="boolean")


def utc(*values: str | None) -> pd.Series:
    return pd.Series(pd.to_datetime(list(values), utc=True), dtype="datetime64[ns, UTC]")


def snapshot_tables() -> dict[tuple[str, str], pd.DataFrame]:
    """One person (employee 001) with an account on each platform, plus one stranger."""
    return {
        ("thrive", "users"): pd.DataFrame(
            {
                "id": text("t1", "t9"),
                "ref": text("001", None),
                "first_name": text("Ann", "Zed"),
                "last_name": text("Lee", None),
                "email": text("ann@x.example", "zed@agency.example"),
                "status": text("active", "active"),
            }
        ),
        ("thrive", "audiences"): pd.DataFrame(
            {"id": text("a1"), "name": text("Nurses"), "reference": text("AUD-NUR")}
        ),
        ("thrive", "audience_members"): pd.DataFrame(
            {
                "audience_id": text("a1"),
                "user_id": text("t1"),
                "reference": text("001"),
                "email": text("ann@x.example"),
            }
        ),
        ("thrive", "requirements"): pd.DataFrame(
            {
                "audience_requirement_id": text("r1"),
                "audience_id": text("a1"),
                "required_minutes": ints(600),
                "created_at": utc("2026-01-01T00:00:00Z"),
                "updated_at": utc("2026-01-01T00:00:00Z"),
            }
        ),
        ("thrive", "cpd_categories"): pd.DataFrame(
            {"category_id": text("c1"), "name": text("Clinical")}
        ),
        ("thrive", "cpd_entries"): pd.DataFrame(
            {
                "log_entry_id": text("e1", "e2"),
                "user_id": text("t1", "t9"),
                "activity_type": text("Course", "Course"),
                "activity_name": text("Sepsis update", "Agency talk"),
                "category_id": text("c1", "c1"),
                "category_name": text("Clinical", "Clinical"),
                "entry_date": utc("2026-03-02T15:00:00Z", "2026-03-03T15:00:00Z"),
                "duration_minutes": ints(60, 45),
                "description": text(None, None),
                "is_verified": flags(True, False),
            }
        ),
        ("thrive", "user_log_summaries"): pd.DataFrame(
            {
                "entry_date_from": utc("2026-01-01T05:00:00Z"),
                "entry_date_to": utc("2027-01-01T04:59:59.999Z"),
                "user_id": text("t1"),
                "duration_minutes": ints(60),
            }
        ),
        ("thrive", "contents"): pd.DataFrame(
            {
                "id": text("k1"),
                "title": text("Hand hygiene"),
                "type": text("course"),
                "duration_minutes": ints(30),
                "duration_unit": text("minutes"),
            }
        ),
        ("thrive", "completions"): pd.DataFrame(
            {
                "id": text("m1"),
                "user_id": text("t1"),
                "content_id": text("k1"),
                "completed_at": utc("2026-04-01T15:00:00Z"),
                "is_rpl": flags(False),
            }
        ),
        ("brightspace", "users"): pd.DataFrame(
            {
                "user_id": text("501"),
                "org_defined_id": text("001"),
                "external_email": text("ann@x.example"),
                "user_name": text("ann"),
                "first_name": text("Ann"),
                "last_name": text("Lee"),
                "is_active": flags(True),
            }
        ),
        ("brightspace", "records"): pd.DataFrame(
            {
                "user_id": text("501", "501"),
                "record_id": ints(1000001, 1000002),
                "record_name": text("Audit", "Draft reading"),
                "category_name": text("Clinical", "Clinical"),
                "method_name": text("Course", "Reading"),
                "is_structured": flags(True, False),
                "record_state_id": ints(1, 2),
                "credit_minutes": ints(90, 30),
                "date_completed": utc("2026-05-01T15:00:00Z", "2026-05-02T15:00:00Z"),
            }
        ),
        ("brightspace", "targets"): pd.DataFrame(
            {
                "user_id": text("501"),
                "structured_numerator": ints(90),
                "structured_denominator": ints(100),
                "unstructured_numerator": ints(0),
                "unstructured_denominator": ints(200),
            }
        ),
        ("brightspace", "target_categories"): pd.DataFrame(
            {"user_id": text("501"), "category_id": text("9"), "category_name": text("Clinical")}
        ),
        ("coursepath", "members"): pd.DataFrame(
            {
                "member_id": text("7000001"),
                "email": text("ANN@x.example"),
                "name": text("Ann Lee"),
                "external_id": text(None),
            }
        ),
        ("coursepath", "courses"): pd.DataFrame(
            {"course_id": text("48001", "48002"), "name": text("Life support", "Tracheostomy")}
        ),
        ("coursepath", "course_members"): pd.DataFrame(
            {"course_id": text("48001", "48002"), "member_id": text("7000001", "7000001")}
        ),
        ("coursepath", "results"): pd.DataFrame(
            {
                "course_id": text("48001", "48002"),
                "member_id": text("7000001", "7000001"),
                "enrolled_at": utc("2026-02-01T00:00:00Z", "2026-02-01T00:00:00Z"),
                "completed_at": utc("2026-06-01T15:00:00Z", None),
                "completed": flags(True, False),
                "success": flags(True, None),
                "score": pd.Series([88.0, None], dtype="Float64"),
                "certificate_url": text("https://c/1", None),
            }
        ),
        ("coursepath", "groups"): pd.DataFrame({"group_id": text(), "name": text()}),
    }


def inputs(warning: bool = False) -> Inputs:
    people = pd.DataFrame(
        {
            "employee_id": ["001"],
            "name": ["Ann Lee"],
            "email": ["Ann@X.example"],
            "email_key": ["ann@x.example"],
            "department": ["Ward 1"],
            "manager_id": [None],
            "audiences": ["Nurses"],
            "start_date": pd.Series([pd.NaT], dtype="datetime64[ns]"),
            "leave_date": pd.Series([pd.NaT], dtype="datetime64[ns]"),
            "fte": [1.0],
            "exempt": [False],
            "exempt_reason": [None],
            "thrive_id": [None],
            "brightspace_id": [None],
            "coursepath_id": [None],
            "source_row": [2],
        }
    )
    issues = pd.DataFrame(
        {
            "file": ["roster.xlsx"] * warning,
            "sheet": ["Staff"] * warning,
            "row": pd.Series([2] * warning, dtype="Int64"),
            "column": ["Audiences"] * warning,
            "value": ["Nurzes"] * warning,
            "problem": ["audience Nurzes is not known"] * warning,
            "fix": [""] * warning,
            "severity": ["warning"] * warning,
            "code": ["unknown_audience"] * warning,
        }
    )
    return Inputs(
        people=people,
        memberships=pd.DataFrame({"employee_id": ["001"], "audience": ["Nurses"]}),
        requirements=pd.DataFrame(
            {
                "audience": ["nurses"],
                "required_minutes": pd.Series([300], dtype="Int64"),
                "structured_minutes": pd.Series([60], dtype="Int64"),
                "source_row": [2],
            }
        ),
        categories=pd.DataFrame(
            {
                "category": ["Clinical"],
                "structured": [False],
                "min_minutes": pd.Series([pd.NA], dtype="Int64"),
                "max_minutes": pd.Series([pd.NA], dtype="Int64"),
                "source_row": [2],
            }
        ),
        courses=pd.DataFrame(
            {
                "system": ["coursepath"],
                "course_id": ["48001"],
                "title": ["Life support"],
                "cpd_minutes": pd.Series([120], dtype="Int64"),
                "category": ["Clinical"],
                "structured": pd.Series([True], dtype="boolean"),
                "thrive_content_id": [None],
                "source_row": [2],
            }
        ),
        cpd_log=pd.DataFrame(
            {
                "employee_id": [None, "001"],
                "email": ["ann@x.example", None],
                "title": ["Conference", "Workshop"],
                "date": pd.to_datetime(["2026-07-01", "2026-07-02"]),
                "minutes": pd.Series([120, 60], dtype="Int64"),
                "category": ["Clinical", "Clinical"],
                "structured": pd.Series([pd.NA, True], dtype="boolean"),
                "file": pd.Categorical(["external_cpd.xlsx"] * 2),
                "source_row": [4, 5],
            }
        ),
        issues=issues,
        files=(Path("/data/roster.xlsx"), Path("/data/policy.xlsx")),
    )


RULES = Rules(dt.date(2026, 1, 1), dt.date(2026, 12, 31), dt.date(2026, 11, 15), "America/New_York")


def test_activities_carry_each_platform_mapping() -> None:
    acts = build_canonical(snapshot_tables(), inputs()).activities.set_index("record_id")
    assert acts.loc["1000002", "state"] == "draft"
    assert acts.loc["1000001", "state"] == "published"
    assert bool(acts.loc["1000001", "structured"]) is True
    assert acts.loc["e1", "title"] == "Sepsis update"
    assert acts.loc["e1", "minutes"] == 60.0
    assert acts.loc["e1", "completed_at"] == pd.Timestamp("2026-03-02T15:00:00Z")
    sheet = acts[acts["system"] == "spreadsheet"]
    assert sheet.index.tolist() == ["4", "5"]  # the Excel row numbers
    assert sheet["account_id"].tolist() == ["ann@x.example", "001"]
    assert sheet["local_date"].tolist() == [pd.Timestamp("2026-07-01"), pd.Timestamp("2026-07-02")]
    assert set(sheet["source_table"]) == {"spreadsheet/external_cpd.xlsx"}
    assert pd.isna(sheet.loc["4", "structured"]) and bool(sheet.loc["5", "structured"])


def test_completions_requirements_and_source_tables() -> None:
    tables = build_canonical(snapshot_tables(), inputs())
    comps = tables.completions.set_index("record_id")
    assert comps.loc["48001:7000001", "passed"] == True  # noqa: E712 (nullable boolean)
    assert comps.loc["48002:7000001", "passed"] == False  # noqa: E712 in progress: not passed
    assert comps.loc["m1", "passed"] == True  # noqa: E712 Thrive: always passed
    assert comps.loc["48001:7000001", "certificate"] == "https://c/1"
    req = tables.requirements.set_index("origin")
    assert req.loc["thrive", "audience"] == "a1" and req.loc["policy", "audience"] == "nurses"
    assert req.loc["policy", "structured_minutes"] == 60.0
    members = tables.memberships.set_index("source_table")
    assert members.loc["roster/roster.xlsx", "employee_id"] == "001"
    assert members.loc["thrive/audience_members", "account_id"] == "t1"
    catalogue = tables.catalogue.set_index(["system", "course_id"])
    assert catalogue.loc[("thrive", "k1"), "cpd_minutes"] == 30.0
    assert catalogue.loc[("coursepath", "48001"), "origin"].tolist() == ["content", "policy"]
    assert tables.targets["structured_required"].tolist() == [100.0]
    assert tables.accounts["name"].tolist()[:2] == ["Ann Lee", "Zed"]


def test_engine_on_assembled_tables_overrides_by_name_and_balances() -> None:
    tables = snapshot_tables()
    result = reconcile(build_canonical(tables, inputs()), RULES)
    person = result.people.iloc[0]
    assert person["required"] == 300  # policy row "nurses" beats Thrive's 600 for a1 (Nurses)
    # 60 Thrive + 90 Brightspace + 120 + 60 log + 120 unlogged Coursepath + 30 Thrive content
    assert person["counted"] == 480
    assert person["pending"] == 30
    assert person["status"] == "Compliant"
    types = result.exceptions["type"].tolist()
    assert types.count("unmatched_account") == 1 and "unlogged_completion" in types
    content = summary(result)
    counted = [(r["source"], r["table"]) for r in content["control_totals"]]
    extra = unread_control_totals(tables, counted)
    rows = {(r["source"], r["table"]): r for r in content["control_totals"] + extra}
    assert set(rows) >= set(tables)
    for key, frame in tables.items():
        assert rows[key]["pulled"] == len(frame) == sum(rows[key]["dispositions"].values()), key
    assert rows[("coursepath", "course_members")]["dispositions"] == {"used": 2}
    assert rows[("coursepath", "groups")] == {
        "source": "coursepath",
        "table": "groups",
        "pulled": 0,
        "dispositions": {"unused": 0},
    }


def test_spreadsheet_warnings_become_input_issue_exceptions() -> None:
    result = reconcile(build_canonical(snapshot_tables(), inputs(warning=True)), RULES)
    issues = result.exceptions[result.exceptions["type"] == "input_issue"]
    assert len(issues) == 1
    issue = issues.iloc[0]
    assert issue["employee_id"] == "001"  # roster row 2 is Ann's
    assert issue["detail"] == (
        "roster.xlsx / Staff row 2 column Audiences: audience Nurzes is not known"
    )


def test_a_pulled_table_nobody_maps_fails_loudly() -> None:
    tables = {("thrive", "surprise"): pd.DataFrame({"id": text("x")})}
    with pytest.raises(IntegrityError, match="thrive/surprise has 1 records"):
        unread_control_totals(tables, [])


def test_known_audiences_lists_ids_names_and_references() -> None:
    assert known_audiences(snapshot_tables()) == ["AUD-NUR", "Nurses", "a1"]
    assert known_audiences({}) is None
