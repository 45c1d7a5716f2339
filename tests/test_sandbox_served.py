"""A generated organisation served in full: every table comes back whole; configs and CLI."""

from __future__ import annotations

import re
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import requests

from reconcile import config as config_module
from reconcile.sandbox import BRIGHTSPACE_TOKEN, THRIVE_API_SECRET, THRIVE_TENANT_ID, Sandbox
from reconcile.sandbox.cli import serve_until_stopped
from reconcile.sandbox.generate import generate
from reconcile.sandbox.spreadsheets import write_spreadsheets
from tests.sandbox_org import coursepath_token

AUTH = (THRIVE_TENANT_ID, THRIVE_API_SECRET)
BEARER = {"Authorization": f"Bearer {BRIGHTSPACE_TOKEN}"}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(generate(60, seed=5)) as running:
        yield running


def _thrive_all(session: requests.Session, url: str, **params: object) -> list[dict]:
    results, page = [], 1
    while True:
        body = session.get(url, params={**params, "page": page, "perPage": 37}).json()
        results += body["results"]
        if page >= body["pagination"]["totalPages"]:
            return results
        page += 1


def test_thrive_tables_come_back_whole(sandbox: Sandbox) -> None:
    org = sandbox.organisation
    base = sandbox.base_urls["thrive"]
    with requests.Session() as s:
        s.auth = AUTH
        every = {"statuses": "active,inactive,expired,new"}
        assert len(_thrive_all(s, f"{base}/users", **every)) == len(org.thrive_users)
        assert len(_thrive_all(s, f"{base}/cpdCategories")) == len(org.thrive_categories)
        assert len(_thrive_all(s, f"{base}/cpdRequirementSummaries")) == len(
            org.thrive_requirements
        )
        assert len(_thrive_all(s, f"{base}/contents")) == len(org.thrive_contents)
        entries = _thrive_all(s, f"{base}/cpdEntries")
        assert sorted(e["logEntryId"] for e in entries) == sorted(org.thrive_entries["logEntryId"])
        assert (
            sum(e["durationMinutes"] for e in entries)
            == org.thrive_entries["durationMinutes"].sum()
        )
        audiences = _thrive_all(s, f"{base}/audiences")
        members = sum(len(_thrive_all(s, f"{base}/audiences/{a['id']}/members")) for a in audiences)
        assert members == len(org.thrive_audience_members)
        completions, page = [], 1
        while True:
            batch = s.get(f"{base}/learning/completions", params={"page": page, "perPage": 50})
            completions += batch.json()
            if len(batch.json()) < 50:
                break
            page += 1
        assert sorted(c["id"] for c in completions) == sorted(org.thrive_completions["id"])
        summaries = _thrive_all(
            s,
            f"{base}/cpdUserLogSummaries",
            entryDateFrom="2000-01-01T00:00:00",
            entryDateTo="2100-01-01T00:00:00",
        )
        assert sum(r["durationMinutes"] for r in summaries) == (
            org.thrive_entries["durationMinutes"].sum()
            + org.thrive_summary_offsets["offsetMinutes"].sum()
        )


def test_brightspace_tables_come_back_whole(sandbox: Sandbox) -> None:
    org = sandbox.organisation
    base = sandbox.base_urls["brightspace"]
    with requests.Session() as s:
        s.headers.update(BEARER)
        users, bookmark = [], ""
        while True:
            body = s.get(f"{base}/d2l/api/lp/1.46/users/", params={"bookmark": bookmark}).json()
            users += body["Items"]
            if not body["PagingInfo"]["HasMoreItems"]:
                break
            bookmark = body["PagingInfo"]["Bookmark"]
        assert sorted(u["UserId"] for u in users) == sorted(org.bs_users["UserId"])
        records, mismatched = 0, {}
        for user in users:
            uid = user["UserId"]
            url = f"{base}/d2l/api/le/1.84/cpd/record/user/{uid}"
            mine = []
            body = s.get(url, params={"limit": 100}).json()
            mine += body["Objects"]
            while body["Next"]:
                body = s.get(body["Next"]).json()
                mine += body["Objects"]
            records += len(mine)
            progress = s.get(f"{base}/d2l/api/le/1.84/cpd/target/progress/user/{uid}").json()
            detail = sum(r["CreditMinutes"] for r in mine if r["RecordStateId"] == 1)
            served = progress["Structured"]["Numerator"] + progress["Unstructured"]["Numerator"]
            if served != detail:
                mismatched[uid] = served - detail
        assert records == len(org.bs_records)
        offsets = org.bs_targets.loc[org.bs_targets["OffsetMinutes"] != 0]
        assert mismatched == dict(
            zip(offsets["UserId"].tolist(), offsets["OffsetMinutes"].tolist(), strict=True)
        )


def test_coursepath_tables_come_back_whole(sandbox: Sandbox) -> None:
    org = sandbox.organisation
    base = sandbox.base_urls["coursepath"]

    def every(path: str) -> list[dict]:
        out, offset = [], 0
        while True:
            batch = requests.get(
                f"{base}{path}", params={"offset": offset, "limit": 25}, headers=coursepath_token()
            ).json()
            out += batch
            if len(batch) < 25:
                return out
            offset += 25

    assert len(every("/members")) == len(org.cp_members)
    courses = every("/courses")
    assert len(courses) == len(org.cp_courses)
    enrolled = [(c["id"], m["id"]) for c in courses for m in every(f"/courses/{c['id']}/members")]
    assert len(enrolled) == len(org.cp_course_members)
    groups = every("/groups")
    assert sum(len(every(f"/groups/{g['id']}/members")) for g in groups) == len(
        org.cp_group_members
    )
    course, member = enrolled[0]
    result = requests.get(
        f"{base}/courses/{course}/members/{member}/coursemember", headers=coursepath_token()
    ).json()
    row = org.cp_course_members.query("courseId == @course and memberId == @member").iloc[0]
    assert result["completed"] == bool(row["completed"])
    assert result["success"] == bool(row["success"])


@pytest.mark.parametrize(
    ("sources", "auth"),
    [(("thrive", "brightspace", "coursepath"), "basic"), (("thrive",), "oauth2"), ((), "basic")],
)
def test_written_config_loads(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sources: tuple[str, ...],
    auth: str,
) -> None:
    sheets = write_spreadsheets(sandbox.organisation, tmp_path / "inputs")
    path = sandbox.write_config(tmp_path, sheets, sources=sources, thrive_auth=auth)
    for name, value in sandbox.env().items():
        monkeypatch.setenv(name, value)
    config = config_module.load(path)
    config_module.require_secrets(config)
    assert tuple(config.sources) == sources
    assert config.organisation.timezone == "America/New_York"
    assert (config.period.start, config.period.end) == (
        sandbox.organisation.period_start,
        sandbox.organisation.period_end,
    )
    assert config.roster.path == sheets["roster"].resolve()
    assert config.cpd_logs[0].path == sheets["cpd_log"].resolve()
    if "thrive" in sources:
        thrive = config.sources["thrive"]
        assert thrive.base_url == sandbox.base_urls["thrive"]
        assert thrive.auth == auth
        if auth == "oauth2":
            assert thrive.token_url == sandbox.thrive_token_url
    text = path.read_text()
    for secret in sandbox.env().values():
        assert secret not in text


def test_env_names_the_public_sandbox_credentials() -> None:
    env = Sandbox.env()
    assert env["THRIVE_API_SECRET"] == THRIVE_API_SECRET
    assert env["BRIGHTSPACE_TOKEN"] == BRIGHTSPACE_TOKEN
    assert env["COURSEPATH_API_KEY"] == "sandbox-coursepath-key"


def test_cli_serves_until_stopped() -> None:
    lines: list[str] = []
    ready = threading.Event()
    stop = threading.Event()

    def echo(message: str = "") -> None:
        lines.append(message)
        if message.startswith("Press Ctrl-C"):
            ready.set()

    worker = threading.Thread(
        target=serve_until_stopped,
        kwargs={
            "port": 0,
            "people": 20,
            "seed": 1,
            "latency_ms": 0,
            "rate_limit": 0,
            "echo": echo,
            "stop_event": stop,
        },
    )
    worker.start()
    try:
        assert ready.wait(30)
        found = re.search(r"(http://127\.0\.0\.1:\d+)/thrive/rest/v1", "\n".join(lines))
        assert found
        response = requests.get(f"{found.group(1)}/thrive/rest/v1/users", auth=AUTH)
        assert response.json()["pagination"]["totalResults"] > 0
        assert any(
            line.strip() == f"export THRIVE_API_SECRET={THRIVE_API_SECRET}" for line in lines
        )
    finally:
        stop.set()
        worker.join(10)
    assert not worker.is_alive()
    assert lines[-1] == "Sandbox stopped."
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{found.group(1)}/thrive/rest/v1/users", auth=AUTH, timeout=2)


def test_frames_are_not_modified_by_serving(sandbox: Sandbox) -> None:
    fresh = generate(60, seed=5)
    for name, frame in fresh.frames().items():
        pd.testing.assert_frame_equal(frame, sandbox.organisation.frames()[name], obj=name)


def test_a_client_resetting_its_connection_prints_no_traceback(
    sandbox: Sandbox, capfd: pytest.CaptureFixture[str]
) -> None:
    """A keep-alive connection the client resets (a pull stopped mid-way) is ordinary for a
    server: the sandbox goes on serving and writes nothing to the terminal."""
    for _ in range(3):
        client = socket.create_connection((sandbox.host, sandbox.port))
        client.sendall(b"GET /thrive/rest/v1/users HTTP/1.1\r\nHo")  # half a request line
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()  # linger 0: the server's read ends in a reset, not an end of file
    time.sleep(0.3)
    answer = requests.get(f"{sandbox.url}/thrive/rest/v1/users", auth=AUTH, timeout=10)
    assert answer.status_code == 200
    _, stderr = capfd.readouterr()
    assert "Traceback" not in stderr and "ConnectionResetError" not in stderr, stderr
