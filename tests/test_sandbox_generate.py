"""The sandbox generator: determinism, the model.py contract, and plants that are exactly found.

The checks below re-derive DESIGN.md §6 from the generated frames on their own (identity,
period, ledger dispositions, duplicates, completions, platform totals) and assert that what
they find is exactly what ``planted`` lists: nothing missing, nothing extra.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from reconcile.errors import ConfigError
from reconcile.sandbox import catalogue as cat
from reconcile.sandbox.generate import KINDS, generate, normalise_title, plant_count
from reconcile.sandbox.model import Organisation
from reconcile.sandbox.spreadsheets import write_spreadsheets

S, TS, NAIVE, I64, F64, B, NI = (
    "string",
    "datetime64[ns, UTC]",
    "datetime64[ns]",
    "int64",
    "float64",
    "bool",
    "Int64",
)

SCHEMA: dict[str, dict[str, str]] = {
    "roster": {
        "employee_id": S,
        "first_name": S,
        "last_name": S,
        "email": S,
        "department": S,
        "manager_id": S,
        "audiences": S,
        "start_date": NAIVE,
        "leave_date": NAIVE,
        "fte": F64,
        "exempt": B,
        "exempt_reason": S,
        "thrive_id": S,
        "brightspace_id": S,
        "coursepath_id": S,
    },
    "policy_requirements": {"audience": S, "required_minutes": I64, "structured_minutes": I64},
    "policy_categories": {"category": S, "structured": B, "min_minutes": NI, "max_minutes": NI},
    "policy_courses": {
        "system": S,
        "course_id": S,
        "title": S,
        "cpd_minutes": I64,
        "category": S,
        "structured": B,
        "thrive_content_id": S,
    },
    "cpd_log": {
        "employee_id": S,
        "email": S,
        "title": S,
        "date": NAIVE,
        "minutes": I64,
        "category": S,
        "structured": B,
    },
    "thrive_users": {
        "id": S,
        "ref": S,
        "firstName": S,
        "lastName": S,
        "email": S,
        "status": S,
    },
    "thrive_audiences": {"id": S, "name": S, "reference": S},
    "thrive_audience_members": {"audienceId": S, "userId": S, "reference": S, "email": S},
    "thrive_categories": {"categoryId": S, "name": S},
    "thrive_requirements": {
        "audienceRequirementId": S,
        "audienceId": S,
        "requiredMinutes": I64,
        "createdAt": TS,
        "updatedAt": TS,
    },
    "thrive_entries": {
        "logEntryId": S,
        "userId": S,
        "activityType": S,
        "activityName": S,
        "categoryId": S,
        "categoryName": S,
        "entryDate": TS,
        "durationMinutes": I64,
        "description": S,
        "isVerified": B,
    },
    "thrive_summary_offsets": {"userId": S, "offsetMinutes": I64},
    "thrive_contents": {"id": S, "title": S, "type": S, "durationMinutes": I64},
    "thrive_completions": {
        "id": S,
        "userId": S,
        "contentId": S,
        "completedAt": TS,
        "isRPL": B,
    },
    "bs_users": {
        "UserId": I64,
        "OrgDefinedId": S,
        "ExternalEmail": S,
        "UserName": S,
        "FirstName": S,
        "LastName": S,
        "IsActive": B,
    },
    "bs_records": {
        "RecordId": I64,
        "UserId": I64,
        "RecordName": S,
        "CategoryId": I64,
        "CategoryName": S,
        "MethodId": I64,
        "MethodName": S,
        "IsStructured": B,
        "RecordStateId": I64,
        "CreditMinutes": I64,
        "DateCompleted": TS,
    },
    "bs_targets": {
        "UserId": I64,
        "StructuredDenominator": I64,
        "UnstructuredDenominator": I64,
        "OffsetMinutes": I64,
    },
    "bs_categories": {"Id": I64, "Name": S, "SortOrder": I64, "InUse": B},
    "bs_methods": {"Id": I64, "Name": S, "SortOrder": I64, "InUse": B},
    "cp_members": {
        "id": S,
        "email": S,
        "name": S,
        "externalId": S,
        "company": S,
        "department": S,
        "country": S,
    },
    "cp_courses": {"id": S, "name": S},
    "cp_course_members": {
        "courseId": S,
        "memberId": S,
        "enrolledAt": TS,
        "completed": B,
        "completedAt": TS,
        "score": F64,
        "success": B,
        "certificateUrl": S,
    },
    "cp_groups": {"id": S, "name": S},
    "cp_group_members": {"groupId": S, "memberId": S},
    "planted": {
        "kind": S,
        "system": S,
        "record_id": S,
        "account_id": S,
        "employee_id": S,
        "minutes": I64,
        "detail": S,
    },
}

START, END, AS_OF = dt.date(2026, 1, 1), dt.date(2026, 12, 31), dt.date(2026, 11, 15)
TZ = "America/New_York"


@pytest.fixture(scope="module", params=[(600, 7), (2000, 2)], ids=["600p", "2000p"])
def org(request: pytest.FixtureRequest) -> Organisation:
    people, seed = request.param
    return generate(people=people, seed=seed)


@pytest.fixture(scope="module", params=[1, 2, 3])
def small_org(request: pytest.FixtureRequest) -> Organisation:
    return generate(people=200, seed=request.param)


# ---------------------------------------------------------------------------------------
# An independent reading of DESIGN §6 over the generated frames
# ---------------------------------------------------------------------------------------


def norm(titles: pd.Series) -> pd.Series:
    s = titles.astype(str).str.casefold().str.replace(r"[^\w\s]", "", regex=True)
    return s.str.replace(r"\s+", " ", regex=True).str.strip()


def local_date(ts: pd.Series, tz: str = TZ) -> pd.Series:
    return ts.dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()


def period(org: Organisation) -> tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp]:
    return tuple(pd.Timestamp(d) for d in (org.period_start, org.period_end, org.as_of))


def identity(org: Organisation) -> dict[str, pd.Series]:
    """system → Series(account id → employee_id or <NA>), by the §6.1 cascade."""
    roster = org.roster
    by_email = pd.Series(roster["employee_id"].to_numpy(), index=roster["email"].str.lower())
    ids = set(roster["employee_id"])
    out = {}
    for system, frame, id_col, ref_col, email_col, explicit_col in (
        ("thrive", org.thrive_users, "id", "ref", "email", "thrive_id"),
        ("brightspace", org.bs_users, "UserId", "OrgDefinedId", "ExternalEmail", "brightspace_id"),
        ("coursepath", org.cp_members, "id", "externalId", "email", "coursepath_id"),
    ):
        acc = frame[id_col].astype(str).to_numpy()
        explicit = roster.dropna(subset=[explicit_col])
        explicit_map = dict(zip(explicit[explicit_col], explicit["employee_id"], strict=True))
        by_explicit = pd.Series([explicit_map.get(a) for a in acc], dtype=object)
        refs = frame[ref_col].to_numpy(dtype=object, na_value=None)
        by_ref = pd.Series([r if r in ids else None for r in refs], dtype=object)
        emails = frame[email_col].str.lower().to_numpy(dtype=object)
        by_mail = pd.Series([by_email.get(e) for e in emails], dtype=object)
        # never ambiguous: the rules that fire agree with each other
        for a, b in ((by_explicit, by_ref), (by_explicit, by_mail), (by_ref, by_mail)):
            both = a.notna() & b.notna()
            assert (a[both] == b[both]).all(), f"{system}: identity rules disagree"
        person = by_explicit.fillna(by_ref).fillna(by_mail)
        out[system] = pd.Series(person.to_numpy(), index=acc)
    return out


def activities(org: Organisation) -> pd.DataFrame:
    ident = identity(org)
    t = org.thrive_entries
    b = org.bs_records
    log = org.cpd_log
    email_to_id = dict(zip(org.roster["email"], org.roster["employee_id"], strict=True))
    log_person = (
        log["employee_id"]
        .astype(object)
        .where(log["employee_id"].notna(), log["email"].map(email_to_id))
    )
    frames = [
        pd.DataFrame(
            {
                "system": "thrive",
                "record_id": t["logEntryId"].astype(str),
                "account": t["userId"].astype(str),
                "person": t["userId"].map(ident["thrive"]).to_numpy(),
                "title": t["activityName"].astype(str),
                "minutes": t["durationMinutes"],
                "ts": t["entryDate"],
                "state": 1,
            }
        ),
        pd.DataFrame(
            {
                "system": "brightspace",
                "record_id": b["RecordId"].astype(str),
                "account": b["UserId"].astype(str),
                "person": b["UserId"].astype(str).map(ident["brightspace"]).to_numpy(),
                "title": b["RecordName"].astype(str),
                "minutes": b["CreditMinutes"],
                "ts": b["DateCompleted"],
                "state": b["RecordStateId"],
            }
        ),
        pd.DataFrame(
            {
                "system": "cpd_log",
                "record_id": (pd.RangeIndex(len(log)) + 2).astype(str),
                "account": None,
                "person": log_person.to_numpy(),
                "title": log["title"].astype(str),
                "minutes": log["minutes"],
                "ts": log["date"].dt.tz_localize(org.timezone).dt.tz_convert("UTC")
                + pd.Timedelta(hours=12),
                "state": 1,
            }
        ),
    ]
    acts = pd.concat(frames, ignore_index=True)
    acts["date"] = local_date(acts["ts"], org.timezone)
    acts["key"] = norm(acts["title"])
    return acts


def dispositions(org: Organisation, acts: pd.DataFrame) -> pd.Series:
    start, end, as_of = period(org)
    out = pd.Series("counted", index=acts.index)
    rules = [
        ("unmatched", acts["person"].isna()),
        ("out_of_period", (acts["date"] < start) | (acts["date"] > end)),
        ("future_dated", acts["date"] > as_of),
        ("draft", acts["state"] == 2),
        ("implausible", (acts["minutes"] <= 0) | (acts["minutes"] > 1440)),
    ]
    decided = pd.Series(False, index=acts.index)
    for name, mask in rules:
        out[mask & ~decided] = name
        decided |= mask
    return out


def find_duplicates(acts: pd.DataFrame, window_days: int = 1) -> set[tuple[str, str]]:
    """(system, record_id) of every counted activity that duplicates an earlier one."""
    c = acts[acts["disposition"] == "counted"].sort_values(["person", "key", "minutes", "ts"])
    same = (
        (c["person"] == c["person"].shift())
        & (c["key"] == c["key"].shift())
        & (c["minutes"] == c["minutes"].shift())
    )
    close = (c["date"] - c["date"].shift()).dt.days.abs() <= window_days
    dup = c[same & close]
    return set(zip(dup["system"], dup["record_id"], strict=True))


def completions(org: Organisation) -> pd.DataFrame:
    ident = identity(org)
    courses = org.policy_courses
    contents = org.thrive_contents
    sheet_minutes = dict(zip(courses["course_id"], courses["cpd_minutes"], strict=True))
    t = org.thrive_completions
    titles = dict(zip(contents["id"], contents["title"], strict=True))
    duration = dict(zip(contents["id"], contents["durationMinutes"], strict=True))
    c = org.cp_course_members
    cp_titles = dict(zip(org.cp_courses["id"], org.cp_courses["name"], strict=True))
    frames = [
        pd.DataFrame(
            {
                "system": "thrive",
                "record_id": t["id"].astype(str),
                "person": t["userId"].map(ident["thrive"]).to_numpy(),
                "title": t["contentId"].map(titles),
                "value": t["contentId"].map(lambda x: sheet_minutes.get(x, duration[x])),
                "ts": t["completedAt"],
                "completed": True,
                "passed": True,
            }
        ),
        pd.DataFrame(
            {
                "system": "coursepath",
                "record_id": (c["courseId"] + ":" + c["memberId"]).astype(str),
                "person": c["memberId"].map(ident["coursepath"]).to_numpy(),
                "title": c["courseId"].map(cp_titles),
                "value": c["courseId"].map(lambda x: sheet_minutes.get(x, 0)),
                "ts": c["completedAt"],
                "completed": c["completed"],
                "passed": c["success"],
            }
        ),
    ]
    comps = pd.concat(frames, ignore_index=True)
    comps = comps[comps["completed"]].copy()
    comps["date"] = local_date(comps["ts"], org.timezone)
    comps["key"] = norm(comps["title"])
    return comps


def planted_set(org: Organisation, kind: str) -> set[tuple[str, str]]:
    p = org.planted[org.planted["kind"] == kind]
    return set(zip(p["system"], p["record_id"], strict=True))


@pytest.fixture(scope="module")
def ledger(org: Organisation) -> pd.DataFrame:
    acts = activities(org)
    acts["disposition"] = dispositions(org, acts)
    return acts


# ---------------------------------------------------------------------------------------
# Determinism and contract
# ---------------------------------------------------------------------------------------


def test_same_arguments_give_identical_frames() -> None:
    a = generate(people=300, seed=11)
    b = generate(people=300, seed=11)
    for name, frame in a.frames().items():
        pd.testing.assert_frame_equal(frame, b.frames()[name], obj=name)


def test_different_seeds_give_different_data() -> None:
    a = generate(people=300, seed=1)
    b = generate(people=300, seed=2)
    assert not a.roster["employee_id"].equals(b.roster["employee_id"])
    assert not a.thrive_entries["activityName"].equals(b.thrive_entries["activityName"])
    assert set(a.planted["record_id"]) != set(b.planted["record_id"])


def test_every_frame_has_exactly_the_model_columns_and_dtypes(small_org: Organisation) -> None:
    frames = small_org.frames()
    assert set(frames) == set(SCHEMA)
    for name, expected in SCHEMA.items():
        frame = frames[name]
        assert list(frame.columns) == list(expected), name
        actual = {col: str(frame[col].dtype) for col in frame.columns}
        assert actual == expected, name
        assert isinstance(frame.index, pd.RangeIndex), name


def test_sizes_follow_the_arguments() -> None:
    org = generate(people=1000, seed=3, activities_per_person=10, completions_per_person=2)
    n_acts = len(org.thrive_entries) + len(org.bs_records) + len(org.cpd_log)
    n_comps = len(org.thrive_completions) + len(org.cp_course_members)
    assert len(org.roster) == 1000
    assert 8_500 < n_acts < 11_500
    assert 1_500 < n_comps < 2_500


def test_bad_arguments_raise_config_error() -> None:
    with pytest.raises(ConfigError, match="people"):
        generate(people=0)
    with pytest.raises(ConfigError, match="timezone"):
        generate(people=10, timezone="Mars/Olympus")
    with pytest.raises(ConfigError, match="later as_of"):
        generate(people=10, as_of=dt.date(2026, 1, 5))
    with pytest.raises(ConfigError, match="before its start"):
        generate(people=10, period_start=dt.date(2026, 5, 1), period_end=dt.date(2026, 4, 1))


@pytest.mark.parametrize("people", [1, 2, 9, 30])
def test_tiny_organisations_still_generate(people: int) -> None:
    org = generate(people=people, seed=5)
    assert len(org.roster) == people
    assert org.roster["employee_id"].is_unique


# ---------------------------------------------------------------------------------------
# Realism
# ---------------------------------------------------------------------------------------


def test_roster_is_valid_hr_data(org: Organisation) -> None:
    r = org.roster
    assert r["employee_id"].str.fullmatch(r"\d{6}").all()
    assert r["employee_id"].is_unique
    assert r["email"].str.lower().is_unique
    assert 10 <= r["department"].nunique() <= 40
    assert set(r["manager_id"].dropna()) <= set(r["employee_id"])
    assert (r["fte"] > 0).all() and (r["fte"] <= 1).all() and (r["fte"] < 1).any()
    assert r["exempt"].any() and r.loc[r["exempt"], "exempt_reason"].notna().all()
    has_leave = r["leave_date"].notna()
    assert has_leave.any()
    assert (r.loc[has_leave, "start_date"] < r.loc[has_leave, "leave_date"]).all()
    assert (r.loc[has_leave, "leave_date"] >= pd.Timestamp(START)).all()
    assert (r["start_date"] > pd.Timestamp(START)).any(), "some joiners in the period"
    names = set(org.thrive_audiences["name"])
    listed = r["audiences"].dropna().str.split("; ").explode()
    assert set(listed) <= names


def test_manager_hierarchy_has_no_loops_and_sensible_spans(org: Organisation) -> None:
    r = org.roster
    boss = dict(zip(r["employee_id"], r["manager_id"], strict=True))
    for employee in r["employee_id"]:
        seen = set()
        current = employee
        while not pd.isna(current):
            assert current not in seen, "manager loop"
            seen.add(current)
            current = boss[current]
    spans = r["manager_id"].value_counts()
    chief = r.loc[r["manager_id"].isna(), "employee_id"]
    assert len(chief) == 1
    assert spans.drop(chief.iloc[0]).max() <= 15
    assert spans.median() >= 3


def test_titles_minutes_and_accounts_look_real(org: Organisation) -> None:
    titles = pd.concat([org.thrive_entries["activityName"], org.bs_records["RecordName"]])
    assert titles.str.startswith("Journal club: ").any()
    assert titles.str.startswith("Conference: ").any()
    minutes = org.thrive_entries["durationMinutes"]
    assert minutes.between(15, 480).mean() > 0.99
    assert (minutes % 5 == 0).all()
    assert org.thrive_users["id"].str.fullmatch(r"[0-9a-f]{24}").all()
    assert org.thrive_users["id"].is_unique and org.bs_users["UserId"].is_unique
    assert org.bs_records["RecordId"].is_unique
    assert org.thrive_entries["logEntryId"].is_unique
    n = len(org.roster)
    assert len(org.thrive_users) > 0.85 * n
    assert 0.4 * n < len(org.bs_users) < 0.8 * n
    assert 0.15 * n < len(org.cp_members) < 0.45 * n
    ref_share = org.thrive_users["ref"].notna().mean()
    assert 0.75 < ref_share < 0.98
    assert org.roster["thrive_id"].notna().sum() >= 1


def test_vocabulary_normal_forms_are_distinct() -> None:
    """Titles differ by letters, so both readings of 'strip punctuation' agree."""
    titles = [f"{t[0]}: {topic}" for t in cat.TEMPLATES for topic in cat.TOPICS]
    titles += list(cat.STANDALONE_TITLES)
    courses = [c[0] for c in cat.THRIVE_CONTENTS] + [c[0] for c in cat.COURSEPATH_COURSES]
    for reading in (r"", r" "):
        keys = [
            re.sub(r"\s+", " ", re.sub(r"[^\w\s]", reading, t.casefold())).strip()
            for t in titles + courses
        ]
        assert len(set(keys)) == len(keys)


# ---------------------------------------------------------------------------------------
# Plants: present, real, and the only anomalies
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("people", [50, 77])
def test_every_kind_is_planted_from_fifty_people(people: int) -> None:
    for seed in (1, 2):
        org = generate(people=people, seed=seed)
        assert set(org.planted["kind"]) == set(KINDS) | {"case_different_email"} - {""}


def test_plant_counts_scale_with_people() -> None:
    small = generate(people=200, seed=4).planted["kind"].value_counts()
    big = generate(people=2000, seed=4).planted["kind"].value_counts()
    assert (big.sort_index() >= small.reindex(big.sort_index().index, fill_value=0)).all()
    assert big.sum() > 2.5 * small.sum()
    assert plant_count(2000, 0.003) == 6 and plant_count(50, 0.001) == 1


def test_identity_unmatched_and_case_different(org: Organisation) -> None:
    ident = identity(org)
    p = org.planted
    unmatched = p[p["kind"] == "unmatched_account"]
    found = {(s, a) for s, m in ident.items() for a, person in m.items() if pd.isna(person)}
    assert found == set(zip(unmatched["system"], unmatched["account_id"], strict=True))
    assert unmatched["minutes"].gt(0).any(), "some unmatched accounts have activity"
    assert set(unmatched["system"]) == {"thrive", "brightspace", "coursepath"}
    case = p[p["kind"] == "case_different_email"]
    assert "thrive" in set(case["system"])
    accounts = {
        "thrive": org.thrive_users.set_index("id")[["email", "ref"]],
        "brightspace": org.bs_users.assign(UserId=org.bs_users["UserId"].astype(str))
        .set_index("UserId")[["ExternalEmail", "OrgDefinedId"]]
        .set_axis(["email", "ref"], axis=1),
        "coursepath": org.cp_members.set_index("id")[["email", "externalId"]].set_axis(
            ["email", "ref"], axis=1
        ),
    }
    roster = org.roster.set_index("employee_id")
    for _, row in case.iterrows():
        account = accounts[row["system"]].loc[row["account_id"]]
        roster_email = roster.loc[row["employee_id"], "email"]
        assert account["email"] != roster_email and account["email"] == roster_email.lower()
        assert pd.isna(account["ref"])
        assert ident[row["system"]][row["account_id"]] == row["employee_id"]


def test_dispositions_before_duplicates_are_exactly_the_planted(ledger: pd.DataFrame, org) -> None:
    for disposition, kind in (
        ("out_of_period", "out_of_period"),
        ("future_dated", "future_dated"),
        ("draft", "draft"),
        ("implausible", "implausible"),
    ):
        got = ledger[ledger["disposition"] == disposition]
        found = set(zip(got["system"], got["record_id"], strict=True))
        planted = {x for x in planted_set(org, kind) if x[0] != "coursepath"}
        assert found == planted, disposition
    drafts = org.bs_records[org.bs_records["RecordStateId"] == 2]
    assert set(drafts["RecordId"].astype(str)) == {r for _, r in planted_set(org, "draft")}


def test_out_of_period_includes_the_utc_local_boundary(ledger: pd.DataFrame, org) -> None:
    oop = ledger[ledger["disposition"] == "out_of_period"]
    thrive = oop[oop["system"] == "thrive"]
    assert (thrive["ts"].dt.tz_convert("UTC").dt.date == START).all()
    assert (thrive["date"].dt.date == START - dt.timedelta(days=1)).all()
    assert (thrive["ts"] == pd.Timestamp("2026-01-01T03:00Z")).all()
    # everything out of period is still within a day of it, so loaders fetch it
    margin = pd.Timedelta(days=1)
    assert (
        oop["ts"]
        .between(pd.Timestamp(START, tz="UTC") - margin, pd.Timestamp(END, tz="UTC") + 2 * margin)
        .all()
    )


def test_implausible_and_future_are_what_they_say(ledger: pd.DataFrame, org) -> None:
    start, end, as_of = period(org)
    bad = ledger[ledger["disposition"] == "implausible"]
    assert ((bad["minutes"] <= 0) | (bad["minutes"] > 1440)).all()
    future = ledger[ledger["disposition"] == "future_dated"]
    assert (future["date"] > as_of).all()
    assert (future["date"] <= end).all()
    counted = ledger[ledger["disposition"] == "counted"]
    assert counted["date"].between(start, min(as_of, end)).all()
    assert counted["minutes"].between(1, 1440).all()


def test_duplicates_are_exactly_the_planted(ledger: pd.DataFrame, org: Organisation) -> None:
    found = find_duplicates(ledger, window_days=1)
    planted = planted_set(org, "duplicate_activity")
    assert found == planted
    assert {s for s, _ in planted} == {"thrive", "brightspace"}
    dups = org.planted[org.planted["kind"] == "duplicate_activity"]
    assert dups["detail"].str.contains("duplicate of thrive").any()
    assert (dups.loc[dups["system"] == "brightspace", "detail"].str.contains("thrive")).any()
    # a wider window finds nothing more: background keeps three days between look-alikes
    assert find_duplicates(ledger, window_days=2) == planted


def test_planted_duplicate_pairs_share_title_minutes_and_day(ledger: pd.DataFrame, org) -> None:
    dups = org.planted[org.planted["kind"] == "duplicate_activity"]
    by_id = ledger.set_index(["system", "record_id"])
    for _, row in dups.iterrows():
        copy = by_id.loc[(row["system"], row["record_id"])]
        orig_system, orig_id = row["detail"].removeprefix("duplicate of ").split(" record ")
        orig = by_id.loc[(orig_system, orig_id)]
        assert copy["person"] == orig["person"] == row["employee_id"]
        assert copy["key"] == orig["key"] and copy["title"] != orig["title"]
        assert copy["minutes"] == orig["minutes"] == row["minutes"]
        assert pd.Timedelta(0) < copy["ts"] - orig["ts"] < pd.Timedelta(hours=24)


def test_completion_matching_is_exactly_the_planted(ledger: pd.DataFrame, org) -> None:
    comps = completions(org)
    start, end, as_of = period(org)
    in_scope = comps["person"].notna() & comps["date"].between(start, min(end, as_of))
    out = comps[comps["person"].notna() & ~comps["date"].between(start, end)]
    assert set(zip(out["system"], out["record_id"], strict=True)) == planted_set(
        org, "out_of_period"
    ) & {(s, r) for s, r in planted_set(org, "out_of_period") if s == "coursepath"}
    valued = comps[in_scope & comps["passed"] & (comps["value"] > 0)]
    counted = ledger[ledger["disposition"] == "counted"]
    pairs = valued.merge(counted, on=["person", "key"], suffixes=("", "_a"))
    near = pairs[(pairs["date"] - pairs["date_a"]).dt.days.abs() <= 14]
    matched = set(zip(near["system"], near["record_id"], strict=True))
    unlogged = set(zip(valued["system"], valued["record_id"], strict=True)) - matched
    assert unlogged == planted_set(org, "unlogged_completion")
    assert {s for s, _ in unlogged} == {"thrive", "coursepath"}
    assert len(matched) > 0.3 * len(comps), "most completions are logged and matched"


def test_course_claims_without_a_pass_are_exactly_the_planted(ledger, org) -> None:
    comps = completions(org)
    catalogue = set(norm(org.policy_courses["title"])) | set(norm(org.thrive_contents["title"]))
    counted = ledger[(ledger["disposition"] == "counted") & ledger["key"].isin(catalogue)]
    passed = comps[comps["passed"]]
    pairs = counted.merge(passed, on=["person", "key"], suffixes=("", "_c"))
    near = pairs[(pairs["date"] - pairs["date_c"]).dt.days.abs() <= 14]
    verified = set(zip(near["system"], near["record_id"], strict=True))
    claims = set(zip(counted["system"], counted["record_id"], strict=True)) - verified
    failed = comps[~comps["passed"]]
    with_fail = counted.merge(failed, on=["person", "key"], suffixes=("", "_c"))
    failed_logged = set(zip(with_fail["system"], with_fail["record_id"], strict=True))
    assert failed_logged == planted_set(org, "failed_course_logged")
    assert claims - failed_logged == planted_set(org, "unverified_claim")


def test_platform_totals_disagree_only_where_planted(org: Organisation) -> None:
    tz = org.timezone
    start = pd.Timestamp(org.period_start, tz=tz).tz_convert("UTC")
    end = (pd.Timestamp(org.period_end, tz=tz) + pd.Timedelta(days=1)).tz_convert("UTC")
    lo, hi = pd.Timestamp(org.period_start), pd.Timestamp(org.period_end)
    e = org.thrive_entries
    in_range = e["entryDate"].between(start, end - pd.Timedelta(milliseconds=1))
    summary = e[in_range].groupby("userId")["durationMinutes"].sum()
    offsets = org.thrive_summary_offsets.set_index("userId")["offsetMinutes"]
    summary = summary.add(offsets, fill_value=0)
    detail = e[local_date(e["entryDate"], tz).between(lo, hi)].groupby("userId")["durationMinutes"]
    diff = summary.sub(detail.sum(), fill_value=0)
    thrive_bad = set(diff[diff != 0].index)
    b = org.bs_records
    published = b[b["RecordStateId"] == 1]
    num = published[published["DateCompleted"].between(start, end - pd.Timedelta(milliseconds=1))]
    numerator = num.groupby("UserId")["CreditMinutes"].sum()
    numerator = numerator.add(org.bs_targets.set_index("UserId")["OffsetMinutes"], fill_value=0)
    bs_detail = published[local_date(published["DateCompleted"], tz).between(lo, hi)]
    bs_diff = numerator.sub(bs_detail.groupby("UserId")["CreditMinutes"].sum(), fill_value=0)
    bs_bad = {str(u) for u in bs_diff[bs_diff != 0].index}
    p = org.planted[org.planted["kind"] == "platform_total_mismatch"]
    assert thrive_bad == set(p.loc[p["system"] == "thrive", "account_id"])
    assert bs_bad == set(p.loc[p["system"] == "brightspace", "account_id"])
    assert not thrive_bad & set(identity(org)["thrive"][lambda s: s.isna()].index)


def test_every_planted_record_exists(org: Organisation) -> None:
    p = org.planted
    ids = {
        "thrive": set(org.thrive_entries["logEntryId"])
        | set(org.thrive_completions["id"])
        | set(org.thrive_users["id"]),
        "brightspace": set(org.bs_records["RecordId"].astype(str))
        | set(org.bs_users["UserId"].astype(str)),
        "coursepath": set(
            org.cp_course_members["courseId"] + ":" + org.cp_course_members["memberId"]
        )
        | set(org.cp_members["id"]),
        "cpd_log": {str(i + 2) for i in range(len(org.cpd_log))},
    }
    for _, row in p.iterrows():
        assert row["record_id"] in ids[row["system"]], row.to_dict()
    assert p["employee_id"].dropna().isin(org.roster["employee_id"]).all()
    assert not org.roster.set_index("employee_id").loc[p["employee_id"].dropna(), "exempt"].any()


def test_failed_plant_really_failed(org: Organisation) -> None:
    c = org.cp_course_members
    failed = c[c["completed"] & ~c["success"]]
    assert len(failed) >= 1
    assert failed["certificateUrl"].isna().all()
    assert c.loc[~c["completed"], "completedAt"].isna().all()
    passed = c[c["success"]]
    assert passed["certificateUrl"].str.startswith("https://").all()


def test_write_back_targets_exist(org: Organisation) -> None:
    courses = org.policy_courses
    mapped = courses[(courses["system"] == "coursepath") & courses["thrive_content_id"].notna()]
    assert len(mapped) >= 1
    assert mapped["thrive_content_id"].isin(org.thrive_contents["id"]).all()
    unlogged = org.planted[
        (org.planted["kind"] == "unlogged_completion") & (org.planted["system"] == "coursepath")
    ]
    course_ids = unlogged["record_id"].str.split(":").str[0]
    assert course_ids.isin(mapped["course_id"]).any(), "a write-back candidate is planted"


# ---------------------------------------------------------------------------------------
# Spreadsheets
# ---------------------------------------------------------------------------------------


def test_spreadsheets_round_trip_through_openpyxl(tmp_path: Path, small_org: Organisation) -> None:
    paths = write_spreadsheets(small_org, tmp_path)
    assert set(paths) == {"roster", "policy", "cpd_log"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "external_cpd.xlsx",
        "policy.xlsx",
        "roster.xlsx",
    ]
    book = openpyxl.load_workbook(paths["roster"])
    sheet = book["Staff"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("Employee ID", "First Name", "Last Name", "Work Email")
    assert rows[0][-3:] == ("Thrive ID", "Brightspace ID", "Coursepath ID")
    roster = small_org.roster
    assert [r[0] for r in rows[1:]] == roster["employee_id"].tolist()
    assert all(isinstance(r[0], str) for r in rows[1:])
    assert any(r[0].startswith("0") for r in rows[1:]), "a leading zero to keep"
    assert all(isinstance(r[7], dt.datetime) for r in rows[1:])
    assert sheet.cell(row=2, column=8).is_date
    leave = [r[8] for r in rows[1:]]
    assert sum(v is not None for v in leave) == roster["leave_date"].notna().sum()
    assert [r[3] for r in rows[1:]] == roster["email"].tolist()

    policy = openpyxl.load_workbook(paths["policy"])
    assert policy.sheetnames == ["Requirements", "Categories", "Courses"]
    req = list(policy["Requirements"].iter_rows(values_only=True))
    assert req[0] == ("Audience", "Required Minutes", "Structured Minutes")
    assert len(req) - 1 == len(small_org.policy_requirements)
    courses = list(policy["Courses"].iter_rows(values_only=True))
    assert courses[0][-1] == "Thrive Content ID"
    assert {r[5] for r in courses[1:]} <= {"Yes", "No"}

    log = openpyxl.load_workbook(paths["cpd_log"]).active
    log_rows = list(log.iter_rows(values_only=True))
    assert log_rows[0] == (
        "Employee ID",
        "Email",
        "Title",
        "Date",
        "Minutes",
        "Category",
        "Structured",
    )
    assert len(log_rows) - 1 == len(small_org.cpd_log)
    assert all(isinstance(r[4], int) for r in log_rows[1:])


def test_csv_spreadsheets(tmp_path: Path, small_org: Organisation) -> None:
    paths = write_spreadsheets(small_org, tmp_path, fmt="csv")
    roster = pd.read_csv(paths["roster"], dtype=str)
    assert roster["Employee ID"].tolist() == small_org.roster["employee_id"].tolist()
    assert roster["Start Date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    courses = pd.read_csv(paths["policy_courses"], dtype=str)
    assert set(courses["Structured"]) <= {"Yes", "No"}
    assert not list(tmp_path.glob(".*.tmp"))


def test_unknown_format_is_a_config_error(tmp_path: Path, small_org: Organisation) -> None:
    with pytest.raises(ConfigError, match="xlsx"):
        write_spreadsheets(small_org, tmp_path, fmt="ods")
    assert not list(tmp_path.iterdir())


def test_joiners_and_leavers_do_cpd_while_employed(ledger: pd.DataFrame, org) -> None:
    roster = org.roster.set_index("employee_id")
    acts = ledger[ledger["disposition"] == "counted"].join(
        roster[["start_date", "leave_date"]], on="person"
    )
    movers = acts[(acts["start_date"] > pd.Timestamp(START)) | acts["leave_date"].notna()]
    assert len(movers) > 0
    inside = (movers["date"] >= movers["start_date"] - pd.Timedelta(days=3)) & (
        movers["leave_date"].isna()
        | (movers["date"] <= movers["leave_date"] + pd.Timedelta(days=3))
    )
    assert inside.mean() > 0.95


@pytest.mark.parametrize(
    "options",
    [
        {"timezone": "Asia/Tokyo"},
        {
            "timezone": "Australia/Sydney",
            "period_start": dt.date(2025, 7, 1),
            "period_end": dt.date(2026, 6, 30),
            "as_of": dt.date(2026, 3, 31),
        },
        {"timezone": "Europe/London", "as_of": dt.date(2027, 2, 1)},
    ],
    ids=["tokyo", "sydney-fiscal-year", "london-after-period"],
)
def test_other_timezones_and_periods_find_exactly_the_plants(options: dict) -> None:
    org = generate(people=300, seed=5, **options)
    acts = activities(org)
    acts["disposition"] = dispositions(org, acts)
    test_dispositions_before_duplicates_are_exactly_the_planted(acts, org)
    test_duplicates_are_exactly_the_planted(acts, org)
    test_completion_matching_is_exactly_the_planted(acts, org)
    test_course_claims_without_a_pass_are_exactly_the_planted(acts, org)
    test_implausible_and_future_are_what_they_say(acts, org)
    test_platform_totals_disagree_only_where_planted(org)
    expected = set(KINDS) | {"case_different_email"}
    if org.as_of >= org.period_end - dt.timedelta(days=3):
        expected.discard("future_dated")  # no room after as_of inside the period
    assert set(org.planted["kind"]) == expected


def test_public_normalise_title_matches_design(org: Organisation) -> None:
    titles = pd.concat([org.thrive_entries["activityName"], org.bs_records["RecordName"]])
    titles = pd.concat([titles, pd.Series(["  Journal  club:  Sepsis!! ", "E-learning: X"])])
    ours = normalise_title(titles.reset_index(drop=True))
    assert ours.tolist() == norm(titles.reset_index(drop=True)).tolist()
    assert ours.iloc[-2] == "journal club sepsis"
