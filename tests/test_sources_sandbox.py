"""The three loaders against the sandbox over real sockets: counts, values, faults, CLI.

The sandbox and the loaders were written independently from DESIGN.md §9 and the pinned
facts, sharing no paging, auth or wire code, so a misreading on either side fails here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests
from click.testing import CliRunner

from reconcile import config as config_module
from reconcile.cli import cli
from reconcile.errors import SourceError
from reconcile.sandbox import Sandbox
from reconcile.sandbox.generate import generate
from reconcile.sandbox.spreadsheets import write_spreadsheets
from reconcile.sources import HttpPolicy, Window, pull_all, pull_source, thrive
from reconcile.sources.auth import CoursepathJwt

FAST = HttpPolicy(
    concurrency=8,
    timeout_seconds=5.0,
    max_retries=3,
    max_wait_seconds=2.0,
    backoff_base_seconds=0.001,
    backoff_cap_seconds=0.005,
)
SEQUENTIAL = HttpPolicy(concurrency=1, timeout_seconds=5.0, backoff_base_seconds=0.001)


pytestmark = pytest.mark.usefixtures("sandbox_env")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(people=60, seed=3) as running:
        yield running


@pytest.fixture(scope="module")
def baseline(sandbox: Sandbox, config_path: Path) -> Any:
    """One clean sequential pull that the fault tests compare against."""
    saved = dict(os.environ)
    os.environ.update(sandbox.env())
    try:
        return pull_all(config_module.load(config_path), policy=SEQUENTIAL)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def window_of(org: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
    start = pd.Timestamp(org.period_start - dt.timedelta(days=1), tz="UTC")
    end = pd.Timestamp(org.period_end + dt.timedelta(days=2), tz="UTC") - pd.Timedelta("1ms")
    return start, end


# -- counts and values --------------------------------------------------------------------


def test_every_table_has_what_the_sandbox_holds(sandbox: Sandbox, baseline: Any) -> None:
    org = sandbox.organisation
    t = baseline.tables
    lo, hi = window_of(org)
    in_window = lambda s: int(((s >= lo) & (s <= hi)).sum())  # noqa: E731
    expected = {
        ("thrive", "users"): len(org.thrive_users),
        ("thrive", "audiences"): len(org.thrive_audiences),
        ("thrive", "audience_members"): len(org.thrive_audience_members),
        ("thrive", "cpd_categories"): len(org.thrive_categories),
        ("thrive", "requirements"): len(org.thrive_requirements),
        ("thrive", "cpd_entries"): in_window(org.thrive_entries["entryDate"]),
        ("thrive", "contents"): len(org.thrive_contents),
        ("thrive", "completions"): in_window(org.thrive_completions["completedAt"]),
        ("brightspace", "users"): len(org.bs_users),
        ("brightspace", "records"): in_window(org.bs_records["DateCompleted"]),
        ("coursepath", "members"): len(org.cp_members),
        ("coursepath", "courses"): len(org.cp_courses),
        ("coursepath", "course_members"): len(org.cp_course_members),
        ("coursepath", "results"): len(org.cp_course_members),
        ("coursepath", "groups"): len(org.cp_groups),
        ("coursepath", "group_members"): len(org.cp_group_members),
    }
    got = {key: len(t[key]) for key in expected}
    assert got == expected
    assert len(t[("brightspace", "targets")]) == org.bs_targets["UserId"].nunique()
    assert all(n == 0 for pull in baseline.sources.values() for n in pull.duplicates.values())


def test_thrive_entries_values_and_dtypes(sandbox: Sandbox, baseline: Any) -> None:
    entries = baseline.tables[("thrive", "cpd_entries")]
    assert entries["entry_date"].dtype == "datetime64[ns, UTC]"
    assert entries["duration_minutes"].dtype == "Int64"
    assert entries["log_entry_id"].dtype == "string"
    source = sandbox.organisation.thrive_entries.set_index("logEntryId")
    row = entries.iloc[len(entries) // 2]
    original = source.loc[row["log_entry_id"]]
    assert row["user_id"] == original["userId"]
    assert row["duration_minutes"] == original["durationMinutes"]
    assert row["entry_date"] == original["entryDate"]
    assert row["category_name"] == original["categoryName"]
    assert row["activity_name"] == original["activityName"]


def test_thrive_user_summaries_cover_exactly_the_period(sandbox: Sandbox, baseline: Any) -> None:
    """Summaries are asked for local-midnight-to-local-midnight instants (New York)."""
    org = sandbox.organisation
    summaries = baseline.tables[("thrive", "user_log_summaries")]
    window = Window(org.period_start, org.period_end, org.timezone)
    assert (summaries["entry_date_from"] == pd.Timestamp(window.exact_from)).all()
    entries = org.thrive_entries
    inside = entries[
        (entries["entryDate"] >= pd.Timestamp(window.exact_from))
        & (entries["entryDate"] <= pd.Timestamp(window.exact_to))
    ]
    detail = inside.groupby("userId")["durationMinutes"].sum()
    offsets = org.thrive_summary_offsets.set_index("userId")["offsetMinutes"]
    for _, row in summaries.head(20).iterrows():
        expected = int(detail.get(row["user_id"], 0)) + int(offsets.get(row["user_id"], 0))
        assert row["duration_minutes"] == expected


def test_brightspace_records_and_targets(sandbox: Sandbox, baseline: Any) -> None:
    org = sandbox.organisation
    records = baseline.tables[("brightspace", "records")]
    assert records["user_id"].dtype == "string"
    first = org.bs_records.iloc[0]
    lo, hi = window_of(org)
    if lo <= first["DateCompleted"] <= hi:
        row = records[records["record_id"] == str(first["RecordId"])].iloc[0]
        assert row["user_id"] == str(first["UserId"])
        assert row["credit_minutes"] == first["CreditMinutes"]
        assert row["is_structured"] == bool(first["IsStructured"])
    targets = baseline.tables[("brightspace", "targets")].set_index("user_id")
    window = Window(org.period_start, org.period_end, org.timezone)
    published = org.bs_records[
        (org.bs_records["RecordStateId"] == 1)
        & (org.bs_records["DateCompleted"] >= pd.Timestamp(window.exact_from))
        & (org.bs_records["DateCompleted"] <= pd.Timestamp(window.exact_to))
    ]
    for _, target in org.bs_targets.head(10).iterrows():
        uid = str(target["UserId"])
        mine = published[published["UserId"] == target["UserId"]]
        structured = int(mine.loc[mine["IsStructured"], "CreditMinutes"].sum())
        unstructured = int(mine.loc[~mine["IsStructured"], "CreditMinutes"].sum())
        got = targets.loc[uid]
        assert got["structured_numerator"] == structured
        assert got["unstructured_numerator"] == unstructured + int(target["OffsetMinutes"])
        assert got["structured_denominator"] == target["StructuredDenominator"]


def test_coursepath_results_values(sandbox: Sandbox, baseline: Any) -> None:
    results = baseline.tables[("coursepath", "results")]
    source = sandbox.organisation.cp_course_members
    merged = results.merge(
        source.astype({"courseId": "string", "memberId": "string"}),
        left_on=["course_id", "member_id"],
        right_on=["courseId", "memberId"],
    )
    assert len(merged) == len(source)
    assert (merged["completed_x"].astype(bool) == merged["completed_y"].astype(bool)).all()
    done = merged[merged["completed_y"].astype(bool)]
    assert (done["completed_at"] == done["completedAt"]).all()


def test_concurrent_pull_equals_sequential(config_path: Path, baseline: Any) -> None:
    concurrent = pull_all(config_module.load(config_path), policy=HttpPolicy(concurrency=8))
    assert concurrent.tables.keys() == baseline.tables.keys()
    for key, frame in baseline.tables.items():
        pd.testing.assert_frame_equal(concurrent.tables[key], frame, obj=str(key))


def with_fast_http(text: str) -> str:
    """The sandbox's config with an [http] section that gives up within a second."""
    fast = "[http]\nmax_retries = 1\nmax_wait_seconds = 1.0\ntimeout_seconds = 2.0\n"
    if "[http]" in text:
        head, _, tail = text.partition("[http]")
        rest = tail.split("\n[", 1)
        return head + fast + ("\n[" + rest[1] if len(rest) > 1 else "")
    return text + "\n" + fast


# -- faults -------------------------------------------------------------------------------


def pull_one(config_path: Path, name: str, policy: HttpPolicy = FAST) -> Any:
    config = config_module.load(config_path)
    window = Window.of(config.period, config.organisation.timezone)
    return pull_source(config.sources[name], window, policy=policy)


@pytest.mark.parametrize("kind", ["429", "500", "502", "503", "timeout", "malformed", "reset"])
def test_transient_fault_then_success(
    sandbox: Sandbox, config_path: Path, baseline: Any, kind: str
) -> None:
    sandbox.faults.inject(r"/thrive/rest/v1/cpdEntries", kind, times=1, retry_after=0.0, hold_s=2.0)
    policy = dataclasses.replace(FAST, timeout_seconds=1.0) if kind == "timeout" else FAST
    pulled = pull_one(config_path, "thrive", policy)
    pd.testing.assert_frame_equal(
        pulled.tables["cpd_entries"], baseline.tables[("thrive", "cpd_entries")]
    )
    retries = pulled.stats.retries["/cpdEntries"]
    assert retries == 1 if kind != "timeout" else retries >= 1


def test_429_retry_after_on_brightspace_records(
    sandbox: Sandbox, config_path: Path, baseline: Any
) -> None:
    sandbox.faults.inject(r"/cpd/record/user/", "429", times=2, retry_after=0.0)
    pulled = pull_one(config_path, "brightspace")
    assert len(pulled.tables["records"]) == len(baseline.tables[("brightspace", "records")])
    assert sum(pulled.stats.retries.values()) == 2


def test_5xx_forever_exits_3_and_writes_no_snapshot(
    sandbox: Sandbox, config_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox.faults.inject(r"/coursepath/api/v1/groups", "503", times=None)
    fast = config_path.parent / "fast-retries.toml"
    fast.write_text(with_fast_http(config_path.read_text()))
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["pull", "-c", str(fast), "--out", str(out)])
    assert result.exit_code == 3, result.output
    assert "coursepath: GET http://127.0.0.1" in result.output
    assert "/groups" in result.output
    assert "HTTP 503" in result.output
    assert not (out / "snapshot").exists()


def test_malformed_forever_is_a_clear_source_error(sandbox: Sandbox, config_path: Path) -> None:
    sandbox.faults.inject(r"/brightspace/d2l/api/lp/.*/users", "malformed", times=None)
    with pytest.raises(SourceError) as caught:
        pull_one(config_path, "brightspace")
    assert "malformed JSON" in str(caught.value)
    assert caught.value.exit_code == 3


def test_token_expiring_mid_pull_is_renewed_once(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spreadsheets = write_spreadsheets(sandbox.organisation, tmp_path)
    path = Path(sandbox.write_config(tmp_path, spreadsheets, thrive_auth="oauth2"))
    for key, value in sandbox.env().items():
        monkeypatch.setenv(key, value)
    config = config_module.load(path)
    window = Window.of(config.period, config.organisation.timezone)
    with thrive.make_client(config.sources["thrive"], FAST) as client:
        first = thrive.pull(client, window)
        sandbox.expire_tokens("thrive")
        second = thrive.pull(client, window)
        # every in-flight request that saw the 401 retries once, but only one new token
        # is fetched: the threads share it
        assert client.stats.reauthentications >= 1
        assert client.auth.tokens_fetched == 2  # type: ignore[union-attr]
        assert client.stats.requests["oauth2 token"] == 2
    for name, frame in first.tables.items():
        assert len(second.tables[name]) == len(frame)


def test_reused_coursepath_jwt_is_rejected_by_the_sandbox(
    sandbox: Sandbox, config_path: Path
) -> None:
    config = config_module.load(config_path)
    source = config.sources["coursepath"]
    auth = CoursepathJwt(source.email, os.environ[source.api_key_env])
    token = auth.token()
    url = f"{source.base_url}/courses"
    headers = {"Authorization": f"Bearer {token}"}
    assert requests.get(url, headers=headers, timeout=5).status_code == 200
    assert requests.get(url, headers=headers, timeout=5).status_code == 401
    assert (
        requests.get(
            url, headers={"Authorization": f"Bearer {auth.token()}"}, timeout=5
        ).status_code
        == 200
    )


ROUTES = {  # our (source, table) → the sandbox's stats route
    ("thrive", "users"): "/rest/v1/users",
    ("thrive", "audiences"): "/rest/v1/audiences",
    ("thrive", "audience_members"): "/rest/v1/audiences/{id}/members",
    ("thrive", "cpd_categories"): "/rest/v1/cpdCategories",
    ("thrive", "requirements"): "/rest/v1/cpdRequirementSummaries",
    ("thrive", "cpd_entries"): "/rest/v1/cpdEntries",
    ("thrive", "user_log_summaries"): "/rest/v1/cpdUserLogSummaries",
    ("thrive", "contents"): "/rest/v1/contents",
    ("thrive", "completions"): "/rest/v1/learning/completions",
    ("brightspace", "users"): "/d2l/api/lp/{version}/users/",
    ("brightspace", "records"): "/d2l/api/le/{version}/cpd/record/user/{userId}",
    ("brightspace", "targets"): "/d2l/api/le/{version}/cpd/target/progress/user/{userId}",
    ("coursepath", "members"): "/api/v1/members",
    ("coursepath", "courses"): "/api/v1/courses",
    ("coursepath", "course_members"): "/api/v1/courses/{courseId}/members",
    ("coursepath", "results"): "/api/v1/courses/{courseId}/members/{memberId}/coursemember",
    ("coursepath", "groups"): "/api/v1/groups",
    ("coursepath", "group_members"): "/api/v1/groups/{groupId}/members",
}


@pytest.fixture(scope="module")
def edges() -> Iterator[Sandbox]:
    """An organisation cut to edge cases: exactly 1,000 Thrive completions and 2,000 CPD
    entries in the pulled window (full last pages), no Thrive contents, no Coursepath groups,
    and more than one page of Brightspace users."""
    org = generate(people=300, seed=2)
    lo, hi = window_of(org)
    completions = org.thrive_completions
    completions = completions[completions["completedAt"].between(lo, hi)].head(1000)
    entries = org.thrive_entries[org.thrive_entries["entryDate"].between(lo, hi)].head(2000)
    org = dataclasses.replace(
        org,
        thrive_completions=completions.reset_index(drop=True),
        thrive_entries=entries.reset_index(drop=True),
        thrive_contents=org.thrive_contents.iloc[0:0],
        cp_groups=org.cp_groups.iloc[0:0],
        cp_group_members=org.cp_group_members.iloc[0:0],
    )
    assert len(org.thrive_completions) == 1000
    assert len(org.thrive_entries) == 2000
    assert len(org.bs_users) > 100
    with Sandbox(org) as running:
        yield running


@pytest.fixture
def edges_config(edges: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    path = Path(edges.write_config(tmp_path, write_spreadsheets(edges.organisation, tmp_path)))
    for key, value in edges.env().items():
        monkeypatch.setenv(key, value)
    edges.faults.clear()
    yield path
    edges.faults.clear()


def test_full_last_pages_and_empty_lists(edges: Sandbox, edges_config: Path) -> None:
    edges.stats.reset()
    pulled = pull_all(config_module.load(edges_config), policy=FAST)
    t = pulled.tables
    assert len(t[("thrive", "completions")]) == 1000
    assert len(t[("thrive", "cpd_entries")]) == 2000
    contents, groups = t[("thrive", "contents")], t[("coursepath", "groups")]
    assert contents.empty and list(contents.columns) == [
        "id",
        "title",
        "type",
        "duration_minutes",
        "duration_unit",
    ]
    assert contents["duration_minutes"].dtype == "Int64"
    assert groups.empty and t[("coursepath", "group_members")].empty

    def first_tries(source: str) -> dict[str, int]:
        """Requests per endpoint, not counting retries (a slow machine may time one out)."""
        stats = pulled.sources[source].stats
        return {k: n - stats.retries.get(k, 0) for k, n in stats.requests.items()}

    requests_made = first_tries("thrive")
    # a full page, then an empty one; reading ahead may cost one more, never two
    assert requests_made["/learning/completions"] in (2, 3)
    assert requests_made["/cpdEntries"] == 2  # totalPages says 2: no empty page needed
    assert requests_made["/contents"] == 1
    assert first_tries("coursepath")["/groups"] == 1
    assert first_tries("brightspace")["/d2l/api/lp/1.46/users/"] == 2


def test_pulled_rows_equal_records_served(edges: Sandbox, edges_config: Path) -> None:
    edges.stats.reset()
    pulled = pull_all(config_module.load(edges_config), policy=FAST)
    served = edges.stats.records
    for (source, table), route in ROUTES.items():
        assert len(pulled.tables[(source, table)]) == served.get((source, route), 0), (
            source,
            table,
        )


def test_repeated_bookmark_once_is_followed_and_deduplicated(
    edges: Sandbox, edges_config: Path
) -> None:
    clean = pull_one(edges_config, "brightspace")
    edges.faults.repeat_bookmark(r"/brightspace/d2l/api/lp/.*/users", times=1)
    pulled = pull_one(edges_config, "brightspace")
    for name, frame in clean.tables.items():
        pd.testing.assert_frame_equal(pulled.tables[name], frame, obj=name)
    assert pulled.duplicates["users"] > 0
    assert any("repeated a bookmark" in w for w in pulled.stats.warnings)


def test_bookmark_repeated_forever_stops_with_an_error(edges: Sandbox, edges_config: Path) -> None:
    edges.faults.repeat_bookmark(r"/brightspace/d2l/api/lp/.*/users", times=None)
    with pytest.raises(SourceError) as caught:
        pull_one(edges_config, "brightspace")
    assert "stuck" in str(caught.value)
    assert caught.value.exit_code == 3


def test_total_growing_mid_pull_is_pulled_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Sandbox(people=150, seed=4) as grown:
        path = Path(grown.write_config(tmp_path, write_spreadsheets(grown.organisation, tmp_path)))
        for key, value in grown.env().items():
            monkeypatch.setenv(key, value)
        before = pull_one(path, "thrive").tables["cpd_entries"]
        assert len(before) > 1000  # more than one page, so later pages shift
        grown.faults.grow_during_pull(r"/thrive/rest/v1/cpdEntries", extra=7, times=1)
        pulled = pull_one(path, "thrive", HttpPolicy(concurrency=1, backoff_base_seconds=0.001))
        grown.faults.clear()
        after = pull_one(path, "thrive").tables["cpd_entries"]
    entries = pulled.tables["cpd_entries"]
    assert entries["log_entry_id"].is_unique
    assert len(entries) == len(before) + 7 == len(after)
    assert set(entries["log_entry_id"]) == set(after["log_entry_id"])
    assert any("changed during the pull" in w for w in pulled.stats.warnings)


# -- CLI ----------------------------------------------------------------------------------


def test_cli_pull_writes_snapshot_matching_the_pull(
    config_path: Path, tmp_path: Path, baseline: Any
) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["pull", "-c", str(config_path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "snapshot written to" in result.output
    manifest = json.loads((out / "snapshot" / "manifest.json").read_text())
    for (source, table), frame in baseline.tables.items():
        entry = manifest["sources"][source]["tables"][table]
        assert entry["rows"] == len(frame), (source, table)
        assert (out / "snapshot" / entry["file"]).is_file()
    text = (out / "snapshot" / "manifest.json").read_text()
    for value in (
        os.environ.get("THRIVE_API_SECRET"),
        os.environ.get("BRIGHTSPACE_TOKEN"),
        os.environ.get("COURSEPATH_API_KEY"),
    ):
        assert value and value not in text


# -- issue 19: what reaches the user from a strict or hostile server ------------------------


def fast_config(config_path: Path) -> Path:
    fast = config_path.parent / "fast-retries.toml"
    fast.write_text(with_fast_http(config_path.read_text()))
    return fast


def test_cli_pull_short_of_a_stable_total_exits_3_and_writes_nothing(
    sandbox: Sandbox, config_path: Path, tmp_path: Path
) -> None:
    """A gateway truncating every page of cpdEntries: stop, rather than report from half."""
    sandbox.faults.truncate(r"/thrive/rest/v1/cpdEntries\?", keep=0.5)
    out = tmp_path / "run"
    result = CliRunner().invoke(
        cli, ["pull", "-c", str(fast_config(config_path)), "--out", str(out)]
    )
    assert result.exit_code == 3, result.output
    assert "/cpdEntries" in result.output and "promised" in result.output
    assert not out.exists()


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (
            b'{"pagination":{"totalResults":1,"totalPages":1},"results":[{"logEntryId":"x1",'
            b'"userId":"u","entryDate":"2026-03-01T10:00:00Z",'
            b'"durationMinutes":9223372036854775807}]}',
            "table cpd_entries, record #1 (logEntryId=x1",
        ),
        (b'{"results":' + b"[" * 3000 + b"]" * 3000 + b"}", "malformed JSON"),
    ],
)
def test_cli_pull_unusable_value_exits_3_and_writes_nothing(
    sandbox: Sandbox, config_path: Path, tmp_path: Path, body: bytes, said: str
) -> None:
    sandbox.faults.inject(r"/thrive/rest/v1/cpdEntries\?", "body", times=None, body=body)
    out = tmp_path / "run"
    config = fast_config(config_path)
    result = CliRunner().invoke(cli, ["pull", "-c", str(config), "--out", str(out)])
    assert result.exit_code == 3, result.output
    assert said in result.output and "thrive" in result.output
    assert not out.exists()
    sandbox.faults.clear()
    again = CliRunner().invoke(cli, ["pull", "-c", str(config), "--out", str(out)])
    assert again.exit_code == 0, again.output


def test_cli_pull_with_a_refresh_token_keeps_every_secret_out_of_sight(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    spreadsheets = write_spreadsheets(sandbox.organisation, tmp_path)
    path = Path(
        sandbox.write_config(
            tmp_path, spreadsheets, sources=("brightspace",), brightspace_auth="refresh_token"
        )
    )
    token_file = tmp_path / "brightspace-refresh-token"
    given = token_file.read_text().strip()
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["pull", "-c", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rotated = token_file.read_text().strip()
    assert rotated != given
    written = "".join(p.read_text(errors="replace") for p in out.rglob("*.json"))
    for secret in (given, rotated, os.environ["BRIGHTSPACE_CLIENT_SECRET"]):
        assert secret not in result.output and secret not in written


def test_cli_check_sources_warns_of_mapped_fields_no_record_fills(
    sandbox: Sandbox, config_path: Path
) -> None:
    """Issue 19 item 8: a tenant without `duration` on contents, or with every `completedAt`
    null, is told at first contact, with where the mapping lives."""
    contents = (
        b'{"pagination":{"totalResults":1,"totalPages":1},'
        b'"results":[{"id":"c","title":"T","type":"x"}]}'
    )
    sandbox.faults.inject(r"/thrive/rest/v1/contents\?", "body", times=None, body=contents)
    result_body = (
        b'{"courseId":"c","memberId":"m","completed":false,"completedAt":null,"score":null,'
        b'"success":false,"enrolledAt":"2026-01-01T00:00:00Z"}'
    )
    sandbox.faults.inject(r"/coursemember", "body", times=None, body=result_body)
    result = CliRunner().invoke(cli, ["check", "-c", str(config_path), "--sources"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert any(
        "thrive: contents:" in line
        and "duration.value" in line
        and "reconcile/sources/thrive.py TABLES['contents']" in line
        for line in lines
    ), lines
    assert any(
        "coursepath: results:" in line and "completedAt" in line and "RESULT" in line
        for line in lines
    ), lines
    assert not any("description" in line for line in lines)  # optional fields stay quiet
