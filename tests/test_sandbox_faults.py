"""Injected faults, scenario switches and stats, over real sockets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from reconcile.sandbox import BRIGHTSPACE_TOKEN, THRIVE_API_SECRET, THRIVE_TENANT_ID, Sandbox
from tests.sandbox_org import U1, coursepath_token, tiny_org

AUTH = (THRIVE_TENANT_ID, THRIVE_API_SECRET)


@pytest.fixture(scope="module")
def running() -> Iterator[Sandbox]:
    with Sandbox(tiny_org()) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(running: Sandbox) -> Sandbox:
    running.faults.clear()
    running.stats.reset()
    return running


def _users(sandbox: Sandbox, params: dict | None = None, **kw: Any) -> requests.Response:
    """Every user, leavers included (the default serves active users only)."""
    every = {"statuses": "active,inactive,expired,new", **(params or {})}
    return requests.get(f"{sandbox.base_urls['thrive']}/users", auth=AUTH, params=every, **kw)


def test_429_with_retry_after_then_success(sandbox: Sandbox) -> None:
    sandbox.faults.inject(r"/thrive/rest/v1/users", "429", retry_after=2)
    refused = _users(sandbox)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "2"
    assert refused.json()["status"] == 429
    assert _users(sandbox).status_code == 200


@pytest.mark.parametrize("kind", ["500", "502", "503"])
def test_5xx_then_success(sandbox: Sandbox, kind: str) -> None:
    sandbox.faults.inject("users", kind, times=2)
    assert [_users(sandbox).status_code for _ in range(3)] == [int(kind), int(kind), 200]


def test_fault_forever_until_cleared(sandbox: Sandbox) -> None:
    sandbox.faults.inject("users", "503", times=None)
    assert {_users(sandbox).status_code for _ in range(4)} == {503}
    sandbox.faults.clear()
    assert _users(sandbox).status_code == 200


def test_fault_matches_path_and_query(sandbox: Sandbox) -> None:
    sandbox.faults.inject(r"users\?.*page=2", "500")
    assert _users(sandbox, params={"page": 1}).status_code == 200
    assert _users(sandbox, params={"page": 2}).status_code == 500
    assert _users(sandbox, params={"page": 2}).status_code == 200


def test_timeout_holds_the_response(sandbox: Sandbox) -> None:
    sandbox.faults.inject("users", "timeout", hold_s=1.0)
    with pytest.raises(requests.Timeout):
        _users(sandbox, timeout=0.2)
    assert _users(sandbox, timeout=5).status_code == 200


def test_malformed_json(sandbox: Sandbox) -> None:
    sandbox.faults.inject("cpdEntries", "malformed")
    response = requests.get(f"{sandbox.base_urls['thrive']}/cpdEntries", auth=AUTH)
    assert response.status_code == 200
    with pytest.raises(requests.JSONDecodeError):
        response.json()
    assert requests.get(f"{sandbox.base_urls['thrive']}/cpdEntries", auth=AUTH).json()["results"]


def test_reset_drops_the_connection(sandbox: Sandbox) -> None:
    sandbox.faults.inject("users", "reset")
    with pytest.raises(requests.ConnectionError):
        _users(sandbox)
    assert _users(sandbox).status_code == 200


def test_faults_apply_to_every_platform(sandbox: Sandbox) -> None:
    sandbox.faults.inject("brightspace", "503", retry_after=1)
    sandbox.faults.inject("coursepath", "500")
    bs = requests.get(
        f"{sandbox.base_urls['brightspace']}/d2l/api/le/1.84/cpd/category/1",
        headers={"Authorization": f"Bearer {BRIGHTSPACE_TOKEN}"},
    )
    assert bs.status_code == 503 and bs.headers["Retry-After"] == "1"
    assert "X-Rate-Limit-Remaining" in bs.headers
    cp = requests.get(f"{sandbox.base_urls['coursepath']}/courses", headers=coursepath_token())
    assert cp.status_code == 500 and set(cp.json()) == {"error"}


def test_injected_429_on_brightspace_has_no_rate_headers(sandbox: Sandbox) -> None:
    sandbox.faults.inject("brightspace", "429", retry_after=3)
    response = requests.get(
        f"{sandbox.base_urls['brightspace']}/d2l/api/le/1.84/cpd/category/1",
        headers={"Authorization": f"Bearer {BRIGHTSPACE_TOKEN}"},
    )
    assert response.status_code == 429 and response.headers["Retry-After"] == "3"
    assert "X-Rate-Limit-Remaining" not in response.headers


def test_unknown_fault_kind_is_refused(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        sandbox.faults.inject("users", "418")


def test_grow_during_pull(sandbox: Sandbox) -> None:
    url = f"{sandbox.base_urls['thrive']}/cpdEntries"
    params = {"entryDateFrom": "2026-01-01", "perPage": 2}
    before = requests.get(url, params=params, auth=AUTH).json()["pagination"]["totalResults"]
    sandbox.faults.grow_during_pull(r"/cpdEntries", extra=3)
    page1 = requests.get(url, params={**params, "page": 1}, auth=AUTH).json()
    page2 = requests.get(url, params={**params, "page": 2}, auth=AUTH).json()
    assert page1["pagination"]["totalResults"] == before
    assert page2["pagination"]["totalResults"] == before + 3
    # The new records went in front: page 2 now starts with records page 1 already had.
    first_ids = {e["logEntryId"] for e in page1["results"]}
    assert first_ids & {e["logEntryId"] for e in page2["results"]}
    all_ids = [
        e["logEntryId"]
        for e in requests.get(url, params={"perPage": 1000}, auth=AUTH).json()["results"]
    ]
    assert len(all_ids) == len(set(all_ids)) == before + 3
    # Summaries include the grown entries (same users and minutes as the records cloned).
    summary = requests.get(
        f"{sandbox.base_urls['thrive']}/cpdUserLogSummaries",
        params={
            "entryDateFrom": "2026-01-01T00:00:00",
            "entryDateTo": "2026-12-31T23:59:59",
            "userIds": U1,
        },
        auth=AUTH,
    ).json()["results"][0]
    entries = requests.get(url, params={"perPage": 1000}, auth=AUTH).json()["results"]
    assert summary["durationMinutes"] == sum(
        e["durationMinutes"] for e in entries if e["userId"] == U1
    )


def test_stats_count_requests_and_records(sandbox: Sandbox) -> None:
    _users(sandbox, params={"perPage": 2})
    _users(sandbox, params={"perPage": 2, "page": 2})
    requests.get(f"{sandbox.base_urls['coursepath']}/courses", headers=coursepath_token())
    requests.get(f"{sandbox.url}/elsewhere")
    assert sandbox.stats.requests[("thrive", "/rest/v1/users")] == 2
    assert sandbox.stats.records[("thrive", "/rest/v1/users")] == 3
    assert sandbox.stats.requests[("coursepath", "/api/v1/courses")] == 1
    assert sandbox.stats.records[("coursepath", "/api/v1/courses")] == 2
    assert sandbox.stats.total_requests() == 4
    sandbox.stats.reset()
    assert sandbox.stats.requests == {}


def test_latency_still_answers() -> None:
    with Sandbox(tiny_org(), latency_ms=20) as sandbox:
        assert _users(sandbox).json()["pagination"]["totalResults"] == 3


def test_unknown_prefix_is_404(sandbox: Sandbox) -> None:
    response = requests.get(f"{sandbox.url}/moodle/api")
    assert response.status_code == 404 and "error" in response.json()


def test_keep_alive_serves_several_requests_on_one_connection(sandbox: Sandbox) -> None:
    import base64
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=5)
    token = base64.b64encode(f"{THRIVE_TENANT_ID}:{THRIVE_API_SECRET}".encode()).decode()
    sockets = []
    try:
        for page in (1, 2, 3):
            connection.request(
                "GET",
                f"/thrive/rest/v1/users?perPage=1&page={page}",
                headers={"Authorization": f"Basic {token}"},
            )
            response = connection.getresponse()
            body = response.read()
            assert response.status == 200
            assert int(response.headers["Content-Length"]) == len(body)
            sockets.append(connection.sock)
        assert sockets[0] is not None
        assert all(s is sockets[0] for s in sockets)  # one connection served all three
    finally:
        connection.close()


def test_wrong_method_is_405(sandbox: Sandbox) -> None:
    response = requests.delete(f"{sandbox.base_urls['thrive']}/users", auth=AUTH)
    assert response.status_code == 405 and response.json()["status"] == 405
