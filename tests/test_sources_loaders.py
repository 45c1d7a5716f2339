"""Each loader against a tiny scripted API: columns, dtypes, values and the query it sends.

These pin the loaders' own reading of DESIGN.md §9 on hand-written JSON; the sandbox tests
check the same loaders against the independently written sandbox.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from test_sources_core import Scripted

from reconcile.config import BrightspaceSource, CoursepathSource, ThriveSource
from reconcile.sources import brightspace, coursepath, thrive
from reconcile.sources.base import Window
from reconcile.sources.http import HttpPolicy

POLICY = HttpPolicy(concurrency=4, backoff_base_seconds=0.001, backoff_cap_seconds=0.002)
WINDOW = Window(dt.date(2026, 1, 1), dt.date(2026, 12, 31), "America/New_York")


@pytest.fixture
def server() -> Iterator[Scripted]:
    scripted = Scripted()
    yield scripted
    scripted.close()


def offsets(records: list[Any]) -> Any:
    """A Coursepath list answering ``offset``/``limit`` (the end is an empty page, §9)."""

    def answer(path: str, query: dict[str, list[str]], headers: Any) -> Any:
        start, size = int(query["offset"][0]), int(query["limit"][0])
        return (200, records[start : start + size])

    return answer


def env(records: list[Any]) -> Any:
    info = {"totalResults": len(records), "totalPages": 1 if records else 0, "page": 1}
    return (200, {"pagination": {**info, "perPage": 1000}, "results": records})


def test_thrive_tables(server: Scripted, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_SECRET", "s")
    p = "/t/rest/v1"
    server.script(
        f"{p}/users",
        env(
            [
                {
                    "id": "a" * 24,
                    "ref": "007",
                    "firstName": "Ann",
                    "lastName": "Lee",
                    "email": "A@x.org",
                    "status": "active",
                }
            ]
        ),
    )
    server.script(f"{p}/audiences", env([{"id": "b" * 24, "name": "Nurses", "reference": "N"}]))
    server.script(
        f"{p}/audiences/{'b' * 24}/members",
        env([{"userId": "a" * 24, "reference": "007", "email": "A@x.org"}]),
    )
    server.script(f"{p}/cpdCategories", env([{"categoryId": "c" * 24, "name": "Reading"}]))
    server.script(
        f"{p}/cpdRequirementSummaries",
        env(
            [
                {
                    "audienceRequirementId": "d" * 24,
                    "audienceId": "b" * 24,
                    "requiredMinutes": 660,
                    "createdAt": "2020-05-27T10:44:05.687Z",
                    "updatedAt": None,
                }
            ]
        ),
    )
    server.script(
        f"{p}/cpdEntries",
        env(
            [
                {
                    "logEntryId": "e" * 24,
                    "userId": "a" * 24,
                    "activity": {"type": "course", "name": "CPR"},
                    "category": {"categoryId": "c" * 24, "name": "Reading"},
                    "entryDate": "2026-01-01T03:00:00.000Z",
                    "durationMinutes": 90,
                    "description": None,
                    "isVerified": True,
                }
            ]
        ),
    )
    server.script(f"{p}/cpdUserLogSummaries", env([{"userId": "a" * 24, "durationMinutes": 90}]))
    server.script(
        f"{p}/contents",
        env(
            [
                {
                    "id": "f" * 24,
                    "title": "CPR",
                    "type": "course",
                    "duration": {"value": 1.5, "unit": "hours"},
                },
                {"id": "9" * 24, "title": "Quiz", "type": "quiz", "duration": None},
            ]
        ),
    )
    server.script(
        f"{p}/learning/completions",
        (
            200,
            [
                {
                    "id": "1" * 24,
                    "userId": "a" * 24,
                    "contentId": "f" * 24,
                    "completedAt": "2026-02-03T04:05:06Z",
                    "isRPL": False,
                }
            ],
        ),
    )
    source = ThriveSource(base_url=server.url + p, tenant_id="t1", secret_env="T_SECRET")
    with thrive.make_client(source, POLICY) as client:
        pulled = thrive.pull(client, WINDOW)
    t = pulled.tables
    assert set(t) == {
        "users",
        "audiences",
        "audience_members",
        "cpd_categories",
        "requirements",
        "cpd_entries",
        "user_log_summaries",
        "contents",
        "completions",
    }
    entry = t["cpd_entries"].iloc[0]
    assert entry["activity_name"] == "CPR"
    assert entry["category_id"] == "c" * 24
    assert entry["entry_date"] == pd.Timestamp("2026-01-01T03:00:00Z")
    assert entry["duration_minutes"] == 90
    assert pd.isna(entry["description"])
    assert bool(entry["is_verified"]) is True
    assert t["cpd_entries"]["entry_date"].dtype == "datetime64[ns, UTC]"
    assert t["users"]["ref"].iloc[0] == "007"
    assert t["audience_members"][["audience_id", "user_id"]].iloc[0].tolist() == [
        "b" * 24,
        "a" * 24,
    ]
    assert t["requirements"]["required_minutes"].dtype == "Int64"
    assert pd.isna(t["requirements"]["updated_at"].iloc[0])
    assert t["contents"]["duration_minutes"].tolist()[0] == 90
    assert pd.isna(t["contents"]["duration_minutes"].iloc[1])
    assert t["completions"]["completed_at"].iloc[0] == pd.Timestamp("2026-02-03T04:05:06Z")
    summary = t["user_log_summaries"].iloc[0]
    assert summary["entry_date_from"] == pd.Timestamp("2026-01-01T05:00:00Z")
    assert summary["entry_date_to"] == pd.Timestamp("2027-01-01T04:59:59Z")

    # The documented forms (DESIGN.md §9): cpdEntries "YYYY-MM-DD hh:mm:ss" with a day's
    # margin and an explicit end of day; summaries "YYYY-MM-DDThh:mm:ss" (UTC, no zone);
    # completions by date, ending two days after the period so no reading loses a record.
    sent = {path: q for path, q, _ in server.seen}
    assert sent[f"{p}/cpdEntries"]["entryDateFrom"] == ["2025-12-31 00:00:00"]
    assert sent[f"{p}/cpdEntries"]["entryDateTo"] == ["2027-01-01 23:59:59"]
    assert sent[f"{p}/cpdEntries"]["perPage"] == ["1000"]
    assert sent[f"{p}/cpdUserLogSummaries"]["entryDateFrom"] == ["2026-01-01T05:00:00"]
    assert sent[f"{p}/cpdUserLogSummaries"]["entryDateTo"] == ["2027-01-01T04:59:59"]
    assert sent[f"{p}/learning/completions"]["completedDateRangeStart"] == ["2025-12-31"]
    assert sent[f"{p}/learning/completions"]["completedDateRangeEnd"] == ["2027-01-02"]
    assert sent[f"{p}/users"]["statuses"] == ["active,inactive,expired,new"]
    assert sent[f"{p}/audiences"]["limit"] == ["100"]


def test_thrive_oauth_token_url_default() -> None:
    assert (
        thrive.default_token_url("https://public.api.learn.link/rest/v1", "eu-west-2_X")
        == "https://public.api.learn.link/oauth2/token/eu-west-2_X"
    )


def test_brightspace_tables(server: Scripted, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BS_TOKEN", "tok")
    base = "/bs"
    server.script(
        f"{base}/d2l/api/lp/1.46/users/",
        (
            200,
            {
                "PagingInfo": {"Bookmark": "12", "HasMoreItems": False},
                "Items": [
                    {
                        "UserId": 11,
                        "OrgDefinedId": "0042",
                        "ExternalEmail": "a@x.org",
                        "UserName": "a",
                        "FirstName": "A",
                        "LastName": "B",
                        "Activation": {"IsActive": True},
                    },
                    {
                        "UserId": 12,
                        "OrgDefinedId": None,
                        "ExternalEmail": None,
                        "UserName": "c",
                        "FirstName": "C",
                        "LastName": "D",
                        "Activation": {"IsActive": False},
                    },
                ],
            },
        ),
    )
    server.script(
        f"{base}/d2l/api/le/1.84/cpd/record/user/11",
        (
            200,
            {
                "Next": None,
                "Objects": [
                    {
                        "RecordId": 501,
                        "RecordName": "Ethics",
                        "CategoryName": "Law",
                        "MethodName": "Online",
                        "IsStructured": True,
                        "RecordStateId": 2,
                        "CreditMinutes": 45.5,
                        "DateCompleted": "2026-01-12T05:00:00.000Z",
                    }
                ],
            },
        ),
    )
    server.script(
        f"{base}/d2l/api/le/1.84/cpd/record/user/12", (200, {"Next": None, "Objects": []})
    )
    server.script(
        f"{base}/d2l/api/le/1.84/cpd/target/progress/user/11",
        (
            200,
            {
                "StartDate": None,
                "EndDate": None,
                "Structured": {"Numerator": 0, "Denominator": 600},
                "Unstructured": {"Numerator": 30, "Denominator": 300},
                "CategoryProgress": [
                    {
                        "Category": {"Id": 7, "Name": "Law", "SortOrder": 1, "InUse": True},
                        "Structured": {"Numerator": 0, "Denominator": 60},
                        "Unstructured": {"Numerator": 0, "Denominator": 0},
                    }
                ],
            },
        ),
    )
    server.script(f"{base}/d2l/api/le/1.84/cpd/target/progress/user/12", (404, {}))
    source = BrightspaceSource(base_url=server.url + base, token_env="BS_TOKEN")
    with brightspace.make_client(source, POLICY) as client:
        pulled = brightspace.pull(client, WINDOW, source)
    t = pulled.tables
    assert t["users"]["user_id"].tolist() == ["11", "12"]
    assert t["users"]["org_defined_id"].iloc[0] == "0042"
    assert t["users"]["is_active"].tolist() == [True, False]
    record = t["records"].iloc[0]
    assert (record["user_id"], record["record_id"]) == ("11", "501")
    assert record["credit_minutes"] == 46  # 45.5 rounded half up
    assert record["record_state_id"] == 2
    assert len(t["records"]) == 1
    assert t["targets"]["user_id"].tolist() == ["11"]  # user 12 has no target (404)
    target = t["targets"].iloc[0]
    assert target["structured_denominator"] == 600
    assert target["unstructured_numerator"] == 30
    assert pd.isna(target["start_date"])
    assert target["requested_start"] == pd.Timestamp("2026-01-01T05:00:00Z")
    assert t["target_categories"]["category_name"].tolist() == ["Law"]
    sent = {path: (q, h) for path, q, h in server.seen}
    query, headers = sent[f"{base}/d2l/api/le/1.84/cpd/record/user/11"]
    assert query["limit"] == ["100"]
    assert query["startDate"] == ["2025-12-31T00:00:00.000Z"]
    assert query["endDate"] == ["2027-01-01T23:59:59.999Z"]
    assert headers["Authorization"] == "Bearer tok"
    query, _ = sent[f"{base}/d2l/api/le/1.84/cpd/target/progress/user/11"]
    assert query["startDate"] == ["2026-01-01T05:00:00.000Z"]
    assert query["endDate"] == ["2027-01-01T04:59:59.999Z"]


def test_coursepath_tables(server: Scripted, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CP_KEY", "k" * 32)
    p = "/cp/api/v1"
    member = {
        "id": "m1",
        "email": "a@x.org",
        "name": "A",
        "externalId": "007",
        "company": "Acme",
        "department": "Ward",
        "country": "UK",
    }
    server.script(f"{p}/members", offsets([member]))
    server.script(f"{p}/courses", offsets([{"id": "c1", "name": "CPR"}, {"id": "c2", "name": "X"}]))
    server.script(f"{p}/groups", offsets([{"id": "g1", "name": "Nights"}]))
    server.script(f"{p}/courses/c1/members", offsets([member]))
    server.script(f"{p}/courses/c2/members", offsets([]))
    server.script(f"{p}/groups/g1/members", offsets([member]))
    server.script(
        f"{p}/courses/c1/members/m1/coursemember",
        (
            200,
            {
                "courseId": "c1",
                "memberId": "m1",
                "enrolledAt": "2026-01-05T10:00:00Z",
                "completed": True,
                "completedAt": "2026-02-01T12:00:00Z",
                "score": 87.5,
                "success": True,
                "certificateUrl": "https://x/cert",
            },
        ),
    )
    source = CoursepathSource(base_url=server.url + p, email="r@x.org", api_key_env="CP_KEY")
    with coursepath.make_client(source, POLICY) as client:
        pulled = coursepath.pull(client, WINDOW)
    t = pulled.tables
    assert t["members"]["external_id"].tolist() == ["007"]
    assert t["course_members"][["course_id", "member_id"]].values.tolist() == [["c1", "m1"]]
    assert t["group_members"][["group_id", "member_id"]].values.tolist() == [["g1", "m1"]]
    result = t["results"].iloc[0]
    assert result["score"] == 87.5
    assert bool(result["success"]) is True
    assert result["completed_at"] == pd.Timestamp("2026-02-01T12:00:00Z")
    sent = [q for path, q, _ in server.seen if path == f"{p}/members"]
    assert sent[0]["limit"] == ["500"]
    assert sent[0]["offset"] == ["0"]
    assert [q["offset"] for q in sent] == [["0"], ["1"]]  # on to an empty page


def coursepath_config(tmp_path: Any, url: str) -> Any:
    (tmp_path / "roster.csv").write_text("employee_id,email,name\n001,a@x.org,A\n")
    path = tmp_path / "reconcile.toml"
    path.write_text(
        f"""
[organisation]
name = "Acme"
[period]
start = 2026-01-01
end = 2026-12-31
[roster]
path = "roster.csv"
[http]
max_retries = 1
max_wait_seconds = 0.5
[sources.coursepath]
base_url = "{url}/cp/api/v1"
email = "r@x.org"
api_key_env = "CP_KEY"
[output]
dir = "reports"
"""
    )
    return path


def script_small_academy(server: Scripted) -> None:
    p = "/cp/api/v1"
    server.script(f"{p}/members", offsets([{"id": "m1", "email": "a@x.org"}]))
    server.script(f"{p}/courses", offsets([{"id": "c1", "name": "CPR"}]))
    server.script(f"{p}/groups", offsets([]))
    server.script(f"{p}/courses/c1/members", offsets([{"id": "m1", "email": "a@x.org"}]))
    server.script(f"{p}/courses/c1/members/m1/coursemember", (200, {"completed": False}))


def test_cli_pull_writes_the_snapshot_and_prints_counts(
    server: Scripted, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from reconcile.cli import cli
    from reconcile.snapshot import read_snapshot

    monkeypatch.setenv("CP_KEY", "k" * 32)
    script_small_academy(server)
    config = coursepath_config(tmp_path, server.url)
    result = CliRunner().invoke(cli, ["pull", "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert "coursepath   results                      1 rows" in result.output
    tables, manifest = read_snapshot(tmp_path / "reports" / "2026-12")
    assert len(tables[("coursepath", "course_members")]) == 1
    # the end of a Coursepath list is an empty page (DESIGN.md §9): one member, two requests
    assert manifest["sources"]["coursepath"]["requests"]["/members"] == 2
    assert (
        "k" * 32
        not in (tmp_path / "reports" / "2026-12" / "snapshot" / "manifest.json").read_text()
    )


def test_cli_pull_5xx_forever_exits_3_and_keeps_no_snapshot(
    server: Scripted, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from reconcile.cli import cli

    monkeypatch.setenv("CP_KEY", "k" * 32)
    script_small_academy(server)
    server.queues["/cp/api/v1/groups"].clear()
    server.script("/cp/api/v1/groups", (503, {"error": "maintenance"}))
    config = coursepath_config(tmp_path, server.url)
    result = CliRunner().invoke(cli, ["pull", "-c", str(config), "--out", str(tmp_path / "run")])
    assert result.exit_code == 3
    assert "coursepath: GET" in result.output
    assert "/cp/api/v1/groups" in result.output
    assert "HTTP 503" in result.output
    assert not (tmp_path / "run").exists()


def test_cli_pull_without_the_secret_exits_2(
    server: Scripted, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from reconcile.cli import cli

    monkeypatch.delenv("CP_KEY", raising=False)
    config = coursepath_config(tmp_path, server.url)
    result = CliRunner().invoke(cli, ["pull", "-c", str(config)])
    assert result.exit_code == 2
    assert "CP_KEY" in result.output
    assert server.seen == []


def test_progress_counts_pages_and_records(
    server: Scripted, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconcile.progress import RecordingProgress

    monkeypatch.setenv("CP_KEY", "k" * 32)
    script_small_academy(server)
    source = CoursepathSource(base_url=server.url + "/cp/api/v1", email="r@x", api_key_env="CP_KEY")
    progress = RecordingProgress()
    with coursepath.make_client(source, POLICY) as client:
        coursepath.pull(client, WINDOW, progress=progress)
    task = "coursepath members+results"
    # members, courses and course c1's members each end on an empty page (DESIGN.md §9)
    assert progress.pages[task] == 8
    assert progress.records[task] == 4
    assert task in progress.finished
