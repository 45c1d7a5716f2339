"""A tiny hand-made Organisation for exact sandbox assertions, and request helpers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
import uuid
import warnings

import jwt
import pandas as pd

from reconcile.sandbox import COURSEPATH_API_KEY, COURSEPATH_EMAIL
from reconcile.sandbox.model import Organisation

U1, U2, U3 = ("5f3c2e10000000000000000" + c for c in "123")
A1, A2 = "60a7b3c10000000000000001", "60a7b3c10000000000000002"
C1, C2 = "62c3d5e60000000000000001", "62c3d5e60000000000000002"
BS_USER = 1000  # has records; 1001.. have none
BS_USERS = 150  # more than one fixed page of 100


def _utc(values: list[str | None]) -> pd.Series:
    return pd.Series(pd.to_datetime(values, utc=True), dtype="datetime64[ns, UTC]")


def _text(values: list[str | None]) -> pd.Series:
    return pd.Series(values, dtype="string")


def _frame(**columns: object) -> pd.DataFrame:
    return pd.DataFrame(columns)


def tiny_org() -> Organisation:
    """Three Thrive users, 150 Brightspace users (one with records), five Coursepath members."""
    empty = pd.DataFrame()
    thrive_entries = _frame(
        logEntryId=_text([f"6601a1b2000000000000000{i}" for i in range(1, 7)]),
        userId=_text([U1, U1, U2, U1, U2, U3]),
        activityType=_text(["Course"] * 6),
        activityName=_text(["Sepsis", 'Quote "me"', "Audit", "Reading", "Ward round", "Talk"]),
        categoryId=_text(["5c89361500000000000000a1"] * 6),
        categoryName=_text(["Clinical practice"] * 6),
        entryDate=_utc(
            [
                "2026-01-01T03:00:00Z",  # local 2025-12-31 in New York
                "2026-01-15T10:00:00Z",
                "2026-03-01T00:00:00Z",
                "2026-03-01T23:59:59Z",
                "2026-06-30T12:00:00Z",
                "2026-12-31T23:30:00Z",
            ]
        ),
        durationMinutes=pd.Series([60, 30, 45, 20, 90, 15], dtype="int64"),
        description=_text(["Ward", None, "Team", "Book", "Rounds", "Talk"]),
        isVerified=pd.Series([True, False, True, False, True, False]),
    )
    thrive_completions = _frame(
        id=_text([f"63d4e6f7000000000000000{i}" for i in range(1, 5)]),
        userId=_text([U1, U2, U3, U1]),
        contentId=_text([C1, C1, C2, C2]),
        completedAt=_utc(
            [
                "2026-02-01T09:00:00Z",
                "2026-02-02T09:00:00Z",
                "2026-05-05T09:00:00Z",
                "2026-09-09T09:00:00Z",
            ]
        ),
        isRPL=pd.Series([False, False, True, False]),
    )
    bs_ids = pd.Series(range(BS_USER, BS_USER + BS_USERS), dtype="int64")
    bs_users = _frame(
        UserId=bs_ids,
        OrgDefinedId=_text([f"{i:06d}" for i in range(BS_USERS)]),
        ExternalEmail=_text([f"user{i}@example.org" for i in range(BS_USERS)]),
        UserName=_text([f"user{i}" for i in range(BS_USERS)]),
        FirstName=_text(["First"] * BS_USERS),
        LastName=_text([f"Last{i}" for i in range(BS_USERS)]),
        IsActive=pd.Series([True] * BS_USERS),
    )
    bs_records = _frame(
        RecordId=pd.Series([501, 502, 503, 504, 505], dtype="int64"),
        UserId=pd.Series([BS_USER] * 5, dtype="int64"),
        RecordName=_text(["Course A", "Workshop B", "Reading C", "Draft D", "Webinar E"]),
        CategoryId=pd.Series([1, 2, 2, 1, 1], dtype="int64"),
        CategoryName=_text(["Mandatory", "Reading", "Reading", "Mandatory", "Mandatory"]),
        MethodId=pd.Series([1, 2, 2, 1, 1], dtype="int64"),
        MethodName=_text(["Course", "Self", "Self", "Course", "Course"]),
        IsStructured=pd.Series([True, False, False, True, True]),
        RecordStateId=pd.Series([1, 1, 1, 2, 1], dtype="int64"),
        CreditMinutes=pd.Series([60, 30, 45, 90, 15], dtype="int64"),
        DateCompleted=_utc(
            [
                "2026-01-12T05:00:00Z",
                "2026-02-01T12:00:00Z",
                "2026-02-01T12:00:00Z",  # same instant as 502: the RecordId breaks the tie
                "2026-03-01T12:00:00Z",
                "2027-01-01T04:00:00Z",  # UTC next year, local 2026-12-31
            ]
        ),
    )
    fields = _frame(
        Id=pd.Series([1, 2], dtype="int64"),
        Name=_text(["Mandatory", "Reading"]),
        SortOrder=pd.Series([1, 2], dtype="int64"),
        InUse=pd.Series([True, True]),
    )
    members = [f"70000{i}" for i in range(5)]
    return Organisation(
        seed=0,
        people=5,
        timezone="America/New_York",
        period_start=dt.date(2026, 1, 1),
        period_end=dt.date(2026, 12, 31),
        as_of=dt.date(2026, 11, 15),
        roster=empty,
        policy_requirements=empty,
        policy_categories=empty,
        policy_courses=empty,
        cpd_log=empty,
        thrive_users=_frame(
            id=_text([U1, U2, U3]),
            ref=_text(["000001", "000002", None]),
            firstName=_text(["Ann", "Bob", "Zoë"]),
            lastName=_text(["One", "Two", "Three"]),
            email=_text(["ann@example.org", "bob@example.org", "zoe@example.org"]),
            status=_text(["active", "active", "inactive"]),
        ),
        thrive_audiences=_frame(
            id=_text([A1, A2]),
            name=_text(["Nurses", "Doctors"]),
            reference=_text(["AUD-N", "AUD-D"]),
        ),
        thrive_audience_members=_frame(
            audienceId=_text([A1, A1, A2]),
            userId=_text([U1, U2, U3]),
            reference=_text(["000001", "000002", None]),
            email=_text(["ann@example.org", "bob@example.org", "zoe@example.org"]),
        ),
        thrive_categories=_frame(
            categoryId=_text(["5c89361500000000000000a1"]), name=_text(["Clinical practice"])
        ),
        thrive_requirements=_frame(
            audienceRequirementId=_text(["61b2c4d50000000000000001", "61b2c4d50000000000000002"]),
            audienceId=_text([A1, A2]),
            requiredMinutes=pd.Series([1800, 2400], dtype="int64"),
            createdAt=_utc(["2025-03-01T10:00:00Z", "2025-03-02T10:00:00Z"]),
            updatedAt=_utc([None, "2025-12-01T10:00:00Z"]),
        ),
        thrive_entries=thrive_entries,
        thrive_summary_offsets=_frame(
            userId=_text([U2]), offsetMinutes=pd.Series([30], dtype="int64")
        ),
        thrive_contents=_frame(
            id=_text([C1, C2]),
            title=_text(["Basic life support", "Infection control"]),
            type=_text(["eLearning", "Video"]),
            durationMinutes=pd.Series([60, 45], dtype="int64"),
        ),
        thrive_completions=thrive_completions,
        bs_users=bs_users,
        bs_records=bs_records,
        bs_targets=_frame(
            UserId=pd.Series([BS_USER], dtype="int64"),
            StructuredDenominator=pd.Series([600], dtype="int64"),
            UnstructuredDenominator=pd.Series([900], dtype="int64"),
            OffsetMinutes=pd.Series([15], dtype="int64"),
        ),
        bs_categories=fields,
        bs_methods=fields.assign(Name=_text(["Course", "Self"])),
        cp_members=_frame(
            id=_text(members),
            email=_text([f"Member{i}@Example.org" for i in range(5)]),
            name=_text([f"Member {i}" for i in range(5)]),
            externalId=_text(["E0", None, "E2", None, "E4"]),
            company=_text(["Acme"] * 5),
            department=_text(["Ward A", "Ward B", "Ward A", "Ward B", "Ward A"]),
            country=_text(["US"] * 5),
        ),
        cp_courses=_frame(id=_text(["48200", "48201"]), name=_text(["ALS", "ILS"])),
        cp_course_members=_frame(
            courseId=_text(["48200", "48200", "48201"]),
            memberId=_text([members[0], members[2], members[0]]),
            enrolledAt=_utc(
                ["2026-01-01T10:00:00Z", "2026-01-02T10:00:00Z", "2026-01-03T10:00:00Z"]
            ),
            completed=pd.Series([True, False, True]),
            completedAt=_utc(["2026-02-01T15:15:00Z", None, "2026-03-01T15:15:00Z"]),
            score=pd.Series([88.0, float("nan"), 40.0]),
            success=pd.Series([True, False, False]),
            certificateUrl=_text(["https://cert.example/1.pdf", None, None]),
        ),
        cp_groups=_frame(id=_text(["7100"]), name=_text(["Ward A"])),
        cp_group_members=_frame(
            groupId=_text(["7100", "7100"]), memberId=_text([members[0], members[4]])
        ),
        planted=empty,
    )


def coursepath_token(
    *,
    email: str = COURSEPATH_EMAIL,
    iat: float | None = None,
    jti: str | None = None,
    key: str = COURSEPATH_API_KEY,
    algorithm: str = "HS256",
) -> dict[str, str]:
    """An Authorization header with a fresh Coursepath JWT (PyJWT warns on the short key)."""
    claims = {
        "email": email,
        "iat": int(time.time()) if iat is None else int(iat),
        "jti": jti or uuid.uuid4().hex,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        token = jwt.encode(claims, key, algorithm=algorithm)
    return {"Authorization": f"Bearer {token}"}


def with_records(org: Organisation, count: int, *, first_id: int, freq: str) -> Organisation:
    """``org`` with ``count`` more CPD records for Brightspace user ``BS_USER`` (copies of
    its first record, new ids, one every ``freq`` from 2026-02-01): lists that take several
    ObjectListPages."""
    first = org.bs_records.iloc[[0]]
    many = pd.concat([first] * count, ignore_index=True)
    many["RecordId"] = range(first_id, first_id + count)
    many["DateCompleted"] = pd.date_range("2026-02-01", periods=count, freq=freq, tz="UTC").astype(
        "datetime64[ns, UTC]"
    )
    return dataclasses.replace(org, bs_records=pd.concat([org.bs_records, many]))
