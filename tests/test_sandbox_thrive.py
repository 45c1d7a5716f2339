"""The sandbox's Thrive API over real sockets: paging, filters, auth, write-back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from reconcile.sandbox import (
    THRIVE_API_SECRET,
    THRIVE_CLIENT_ID,
    THRIVE_CLIENT_SECRET,
    THRIVE_TENANT_ID,
    Sandbox,
)
from tests.sandbox_org import A1, C1, C2, U1, U2, U3, tiny_org

AUTH = (THRIVE_TENANT_ID, THRIVE_API_SECRET)
EVERY_STATUS = {"statuses": "active,inactive,expired,new"}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(tiny_org()) as running:
        yield running


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[tuple[requests.Session, str]]:
    sandbox.faults.clear()
    with requests.Session() as session:
        session.auth = AUTH
        yield session, sandbox.base_urls["thrive"]


def test_envelope_pages_walk_the_whole_list(api: tuple[requests.Session, str]) -> None:
    session, base = api
    pages = [
        session.get(f"{base}/users", params={**EVERY_STATUS, "page": p, "perPage": 2}).json()
        for p in (1, 2)
    ]
    assert pages[0]["pagination"] == {"totalResults": 3, "totalPages": 2, "page": 1, "perPage": 2}
    assert [u["id"] for page in pages for u in page["results"]] == [U1, U2, U3]
    first = pages[0]["results"][0]
    assert first == {
        "id": U1,
        "ref": "000001",
        "firstName": "Ann",
        "lastName": "One",
        "email": "ann@example.org",
        "status": "active",
    }
    assert pages[1]["results"][0]["ref"] is None
    assert pages[1]["results"][0]["firstName"] == "Zoë"


def test_page_past_the_end_is_empty_with_totals(api: tuple[requests.Session, str]) -> None:
    session, base = api
    body = session.get(f"{base}/users", params={**EVERY_STATUS, "page": 9, "perPage": 2}).json()
    assert body == {
        "pagination": {"totalResults": 3, "totalPages": 2, "page": 9, "perPage": 2},
        "results": [],
    }


def test_users_serve_active_ones_unless_statuses_are_named(
    api: tuple[requests.Session, str],
) -> None:
    """The vendor does not document the default; the sandbox takes the reading that loses
    leavers, so a client must name every status to get them."""
    session, base = api
    default = session.get(f"{base}/users").json()["results"]
    assert [u["id"] for u in default] == [U1, U2]
    leavers = session.get(f"{base}/users", params={"statuses": "inactive"}).json()["results"]
    assert [u["id"] for u in leavers] == [U3]
    rest = session.get(f"{base}/users", params={**EVERY_STATUS, "omitStatuses": "active"})
    assert [u["id"] for u in rest.json()["results"]] == [U3]
    assert session.get(f"{base}/users", params={"statuses": "gone"}).status_code == 400


def test_lists_without_pagination_block_on_request(
    sandbox: Sandbox, api: tuple[requests.Session, str]
) -> None:
    session, base = api
    sandbox.faults.omit_pagination(r"/users")
    body = session.get(f"{base}/users", params={**EVERY_STATUS, "perPage": 2}).json()
    assert body == {"results": body["results"]} and len(body["results"]) == 2


def test_audiences_page_by_limit(api: tuple[requests.Session, str]) -> None:
    session, base = api
    body = session.get(f"{base}/audiences", params={"perPage": 1000, "limit": 1}).json()
    assert body["pagination"]["perPage"] == 1 and len(body["results"]) == 1
    assert session.get(f"{base}/audiences", params={"limit": 101}).status_code == 400


@pytest.mark.parametrize(
    "params", [{"perPage": 1001}, {"perPage": 0}, {"page": 0}, {"page": "two"}]
)
def test_bad_paging_is_a_400(api: tuple[requests.Session, str], params: dict) -> None:
    session, base = api
    response = session.get(f"{base}/users", params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 400 and body["error"] == "Bad Request" and body["message"]


def test_per_page_1000_is_allowed(api: tuple[requests.Session, str]) -> None:
    session, base = api
    body = session.get(f"{base}/cpdEntries", params={"perPage": 1000}).json()
    assert body["pagination"]["totalResults"] == 6 and len(body["results"]) == 6


def test_cpd_entries_shape_and_order(api: tuple[requests.Session, str]) -> None:
    session, base = api
    results = session.get(f"{base}/cpdEntries").json()["results"]
    assert [r["entryDate"] for r in results] == sorted(r["entryDate"] for r in results)
    second = results[1]
    assert second == {
        "logEntryId": "6601a1b20000000000000002",
        "userId": U1,
        "activity": {"type": "Course", "name": 'Quote "me"'},
        "category": {"categoryId": "5c89361500000000000000a1", "name": "Clinical practice"},
        "entryDate": "2026-01-15T10:00:00.000Z",
        "durationMinutes": 30,
        "description": None,
        "isVerified": False,
    }


@pytest.mark.parametrize(
    ("low", "high", "reading", "expected"),
    [
        ("2026-03-01", "2026-03-01", "end_of_day", 2),  # a date-only To read as the whole day
        ("2026-03-01", "2026-03-01", "midnight", 1),  # ... or as its first instant (00:00 only)
        ("2026-03-01 00:00:01", "2026-03-01 23:59:59", "midnight", 1),
        ("2026-01-01 03:00:00", "2026-01-01", "end_of_day", 1),
        ("2025-12-31", "2025-12-31", "end_of_day", 0),
    ],
)
def test_cpd_entries_date_filters_are_inclusive_utc(
    sandbox: Sandbox,
    api: tuple[requests.Session, str],
    low: str,
    high: str,
    reading: str,
    expected: int,
) -> None:
    session, base = api
    sandbox.modes.thrive_date_only_to = reading
    body = session.get(f"{base}/cpdEntries", params={"entryDateFrom": low, "entryDateTo": high})
    assert body.json()["pagination"]["totalResults"] == expected


@pytest.mark.parametrize(
    ("route", "name", "value"),
    [
        ("cpdEntries", "entryDateTo", "2026-03-01T23:59:59Z"),
        ("cpdEntries", "entryDateFrom", "2026-01-01T03:00:00.000Z"),
        ("cpdUserLogSummaries", "entryDateFrom", "2026-01-01T05:00:00.000Z"),
        ("cpdUserLogSummaries", "entryDateFrom", "2026-01-01"),
    ],
)
def test_only_the_documented_date_forms_are_accepted(
    api: tuple[requests.Session, str], route: str, name: str, value: str
) -> None:
    """cpdEntries documents YYYY-MM-DD hh:mm:ss (and date-only examples);
    cpdUserLogSummaries YYYY-MM-DDThh:mm:ss."""
    session, base = api
    params = {"entryDateFrom": "2026-01-01T00:00:00", "entryDateTo": "2026-12-31T23:59:59"}
    if route == "cpdEntries":
        params = {}
    response = session.get(f"{base}/{route}", params={**params, name: value})
    assert response.status_code == 400
    assert name in response.json()["message"]


def test_bad_date_is_a_400(api: tuple[requests.Session, str]) -> None:
    session, base = api
    response = session.get(f"{base}/cpdEntries", params={"entryDateFrom": "01/03/2026"})
    assert response.status_code == 400


def test_user_log_summaries_need_both_dates(api: tuple[requests.Session, str]) -> None:
    session, base = api
    response = session.get(f"{base}/cpdUserLogSummaries", params={"entryDateFrom": "2026-01-01"})
    assert response.status_code == 400
    assert "entryDateTo" in response.json()["message"]


def test_user_log_summaries_are_detail_sums_plus_offset(api: tuple[requests.Session, str]) -> None:
    session, base = api
    params = {"entryDateFrom": "2026-01-01T05:00:00", "entryDateTo": "2027-01-01T04:59:59"}
    body = session.get(f"{base}/cpdUserLogSummaries", params=params).json()
    totals = {r["userId"]: r["durationMinutes"] for r in body["results"]}
    # U1's 03:00Z entry is outside (local 2025-12-31); U2 gets the planted +30.
    assert totals == {U1: 30 + 20, U2: 45 + 90 + 30, U3: 15}
    detail = {k: v.replace("T", " ") for k, v in params.items()}
    entries = session.get(f"{base}/cpdEntries", params={**detail, "perPage": 1000}).json()[
        "results"
    ]
    assert sum(e["durationMinutes"] for e in entries) + 30 == sum(totals.values())


def test_user_log_summaries_filter_by_user_ids(api: tuple[requests.Session, str]) -> None:
    session, base = api
    params = {
        "entryDateFrom": "2026-01-01T00:00:00",
        "entryDateTo": "2026-12-31T23:59:59",
        "userIds": f"{U3},nobody",
    }
    body = session.get(f"{base}/cpdUserLogSummaries", params=params).json()
    assert body["results"] == [{"userId": U3, "durationMinutes": 15}]
    assert body["pagination"]["totalResults"] == 1


def test_audience_members_by_id_and_reference(api: tuple[requests.Session, str]) -> None:
    session, base = api
    by_id = session.get(f"{base}/audiences/{A1}/members").json()
    by_ref = session.get(f"{base}/audiences/AUD-N/members").json()
    assert by_id == by_ref
    assert [m["userId"] for m in by_id["results"]] == [U1, U2]
    assert by_id["results"][0] == {"userId": U1, "reference": "000001", "email": "ann@example.org"}
    missing = session.get(f"{base}/audiences/nope/members")
    assert missing.status_code == 404 and missing.json()["error"] == "Not Found"


def test_lookups_by_id(api: tuple[requests.Session, str]) -> None:
    session, base = api
    assert session.get(f"{base}/audiences/AUD-D").json()["name"] == "Doctors"
    assert session.get(f"{base}/contents/{C2}").json() == {
        "id": C2,
        "title": "Infection control",
        "type": "Video",
        "duration": {"value": 45, "unit": "minutes"},
    }
    requirement = session.get(f"{base}/cpdRequirementSummaries").json()["results"][0]
    assert requirement["requiredMinutes"] == 1800 and requirement["updatedAt"] is None
    assert session.get(f"{base}/users/ref/000002").json()["id"] == U2
    assert session.get(f"{base}/contents/ffff").status_code == 404


def test_unknown_route_is_a_404_in_thrive_shape(api: tuple[requests.Session, str]) -> None:
    session, base = api
    response = session.get(f"{base}/nothing/here")
    assert response.status_code == 404
    assert set(response.json()) == {"status", "error", "message"}


# --- completions: bare array -----------------------------------------------------------------


def test_completions_exactly_full_last_page_then_empty(api: tuple[requests.Session, str]) -> None:
    session, base = api
    url = f"{base}/learning/completions"
    pages = [session.get(url, params={"page": p, "perPage": 2}).json() for p in (1, 2, 3)]
    assert [len(p) for p in pages] == [2, 2, 0]
    assert [c["id"][-1] for c in pages[0] + pages[1]] == ["1", "2", "3", "4"]
    assert pages[0][0] == {
        "id": "63d4e6f70000000000000001",
        "userId": U1,
        "contentId": C1,
        "completedAt": "2026-02-01T09:00:00.000Z",
        "isRPL": False,
    }


def test_completions_filters(sandbox: Sandbox, api: tuple[requests.Session, str]) -> None:
    session, base = api
    url = f"{base}/learning/completions"
    dates = {"completedDateRangeStart": "2026-02-02", "completedDateRangeEnd": "2026-05-05"}
    ranged = session.get(url, params=dates).json()
    assert [c["id"][-1] for c in ranged] == ["2"]  # the end date read as its first instant
    sandbox.modes.thrive_date_only_to = "end_of_day"
    ranged = session.get(url, params=dates).json()
    assert [c["id"][-1] for c in ranged] == ["2", "3"]
    mine = session.get(url, params={"userId": U1}).json()
    assert [c["id"][-1] for c in mine] == ["1", "4"]
    assert session.get(url, params={"perPage": 1001}).status_code == 400


def test_post_completion_201_then_200_then_listed(sandbox: Sandbox) -> None:
    url = f"{sandbox.base_urls['thrive']}/learning/completions"
    body = {"userId": U3, "contentId": C1, "completedAt": "2026-10-10T10:00:00Z"}
    created = requests.post(url, json=body, auth=AUTH)
    assert created.status_code == 201
    statement = created.json()["statementId"]
    again = requests.post(url, json=body, auth=AUTH)
    assert again.status_code == 200 and again.json() == {"statementId": statement}
    listed = requests.get(url, params={"userId": U3, "perPage": 10}, auth=AUTH).json()
    assert [c["id"] for c in listed][-1] == statement
    assert listed[-1]["completedAt"] == "2026-10-10T10:00:00.000Z"
    existing = {"userId": U1, "contentId": C1, "completedAt": "2026-02-01T09:00:00.000Z"}
    assert requests.post(url, json=existing, auth=AUTH).json() == {
        "statementId": "63d4e6f70000000000000001"
    }


@pytest.mark.parametrize(
    "body",
    [
        {"userId": "nobody", "contentId": C1, "completedAt": "2026-10-10T10:00:00Z"},
        {"userId": U1, "contentId": "nothing", "completedAt": "2026-10-10T10:00:00Z"},
        {"userId": U1, "contentId": C1},
        {"userId": U1, "contentId": C1, "completedAt": "yesterday"},
    ],
)
def test_post_completion_422(sandbox: Sandbox, body: dict) -> None:
    url = f"{sandbox.base_urls['thrive']}/learning/completions"
    response = requests.post(url, json=body, auth=AUTH)
    assert response.status_code == 422
    assert response.json()["status"] == 422


# --- auth ----------------------------------------------------------------------------------


def test_wrong_basic_secret_and_missing_credentials_are_401(sandbox: Sandbox) -> None:
    url = f"{sandbox.base_urls['thrive']}/users"
    wrong = requests.get(url, auth=(THRIVE_TENANT_ID, "nope"))
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "Unauthorized"
    assert requests.get(url, auth=("other_tenant", THRIVE_API_SECRET)).status_code == 401
    assert requests.get(url).status_code == 401
    assert requests.get(url, headers={"Authorization": "Bearer made-up"}).status_code == 401


def _token(sandbox: Sandbox) -> requests.Response:
    return requests.post(
        sandbox.thrive_token_url,
        data={"grant_type": "client_credentials", "scope": "api/read"},
        auth=(THRIVE_CLIENT_ID, THRIVE_CLIENT_SECRET),
    )


def test_oauth_token_works_until_expired_then_reauth(sandbox: Sandbox) -> None:
    minted = _token(sandbox)
    assert minted.status_code == 200
    body = minted.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    url = f"{sandbox.base_urls['thrive']}/users"
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    assert requests.get(url, headers=bearer).status_code == 200
    sandbox.expire_tokens()
    expired = requests.get(url, headers=bearer)
    assert expired.status_code == 401 and "expired" in expired.json()["message"]
    fresh = {"Authorization": f"Bearer {_token(sandbox).json()['access_token']}"}
    assert requests.get(url, headers=fresh).status_code == 200


@pytest.mark.parametrize(
    ("scope", "get_status", "post_status"),
    [
        ("api/read", 200, 403),
        ("api/write", 403, 422),
        ("api/read api/write", 200, 422),
        ("api/all", 200, 422),
    ],
)
def test_a_token_may_do_only_what_its_scope_allows(
    sandbox: Sandbox, scope: str, get_status: int, post_status: int
) -> None:
    token = requests.post(
        sandbox.thrive_token_url,
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(THRIVE_CLIENT_ID, THRIVE_CLIENT_SECRET),
    ).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    base = sandbox.base_urls["thrive"]
    assert requests.get(f"{base}/users", headers=bearer).status_code == get_status
    # An empty body: a token allowed to write gets as far as the 422 about the body.
    posted = requests.post(f"{base}/learning/completions", json={}, headers=bearer)
    assert posted.status_code == post_status
    if post_status == 403:
        assert posted.json() == {
            "status": 403,
            "error": "Forbidden",
            "message": "the access token's scope (api/read) does not include api/write",
        }


def test_token_lifetime_is_enforced() -> None:
    with Sandbox(tiny_org(), token_lifetime_s=0) as sandbox:
        token = _token(sandbox).json()["access_token"]
        response = requests.get(
            f"{sandbox.base_urls['thrive']}/users", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401


@pytest.mark.parametrize(
    ("data", "auth", "status"),
    [
        ({"grant_type": "client_credentials"}, (THRIVE_CLIENT_ID, "wrong"), 401),
        ({"grant_type": "password"}, (THRIVE_CLIENT_ID, THRIVE_CLIENT_SECRET), 400),
        (
            {"grant_type": "client_credentials", "scope": "api/everything"},
            (THRIVE_CLIENT_ID, THRIVE_CLIENT_SECRET),
            400,
        ),
    ],
)
def test_token_endpoint_refusals(sandbox: Sandbox, data: dict, auth: tuple, status: int) -> None:
    response = requests.post(sandbox.thrive_token_url, data=data, auth=auth)
    assert response.status_code == status
    assert "access_token" not in response.json()
