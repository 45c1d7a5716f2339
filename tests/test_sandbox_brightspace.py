"""The sandbox's Brightspace API over real sockets: paging, target progress, rate limits."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import jwt
import pytest
import requests

from reconcile.sandbox import (
    BRIGHTSPACE_CLIENT_ID,
    BRIGHTSPACE_CLIENT_SECRET,
    BRIGHTSPACE_TOKEN,
    Sandbox,
)
from reconcile.sandbox.cli import budget_report
from reconcile.sandbox.platform import brightspace_app_jwks
from tests.sandbox_org import BS_USER, BS_USERS, tiny_org

BEARER = {"Authorization": f"Bearer {BRIGHTSPACE_TOKEN}"}
LE = "/d2l/api/le/1.84/cpd"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(tiny_org()) as running:
        yield running


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[tuple[requests.Session, str]]:
    sandbox.faults.clear()
    with requests.Session() as session:
        session.headers.update(BEARER)
        yield session, sandbox.base_urls["brightspace"]


def test_users_paged_result_set(api: tuple[requests.Session, str]) -> None:
    session, base = api
    first = session.get(f"{base}/d2l/api/lp/1.46/users/").json()
    assert len(first["Items"]) == 100
    assert first["PagingInfo"] == {"Bookmark": str(BS_USER + 99), "HasMoreItems": True}
    assert first["Items"][0] == {
        "UserId": BS_USER,
        "OrgDefinedId": "000000",
        "ExternalEmail": "user0@example.org",
        "UserName": "user0",
        "FirstName": "First",
        "MiddleName": None,
        "LastName": "Last0",
        "Activation": {"IsActive": True},
    }
    second = session.get(
        f"{base}/d2l/api/lp/1.46/users/", params={"bookmark": first["PagingInfo"]["Bookmark"]}
    ).json()
    assert len(second["Items"]) == BS_USERS - 100
    assert second["PagingInfo"]["HasMoreItems"] is False
    ids = [u["UserId"] for u in first["Items"] + second["Items"]]
    assert ids == list(range(BS_USER, BS_USER + BS_USERS))


def test_users_lookup_filters(api: tuple[requests.Session, str]) -> None:
    session, base = api
    url = f"{base}/d2l/api/lp/1.46/users/"
    assert [u["UserId"] for u in session.get(url, params={"orgDefinedId": "000003"}).json()] == [
        BS_USER + 3
    ]
    assert session.get(url, params={"userName": "user4"}).json()["UserId"] == BS_USER + 4
    assert session.get(url, params={"userName": "nobody"}).status_code == 404


def _walk(session: requests.Session, url: str, params: dict) -> list[list[dict]]:
    pages = []
    page = session.get(url, params=params).json()
    pages.append(page["Objects"])
    while page["Next"]:
        page = session.get(page["Next"]).json()
        pages.append(page["Objects"])
        assert len(pages) < 20
    return pages


def test_records_walk_next_urls_newest_first(api: tuple[requests.Session, str]) -> None:
    session, base = api
    pages = _walk(session, f"{base}{LE}/record/user/{BS_USER}", {"limit": 2})
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [r["RecordId"] for p in pages for r in p] == [505, 504, 503, 502, 501]
    assert pages[0][0] == {
        "RecordId": 505,
        "RecordName": "Webinar E",
        "CategoryName": "Mandatory",
        "MethodName": "Course",
        "IsStructured": True,
        "RecordStateId": 1,
        "CreditMinutes": 15,
        "DateCompleted": "2027-01-01T04:00:00.000Z",
    }


def test_records_exactly_full_last_page_has_no_next(api: tuple[requests.Session, str]) -> None:
    session, base = api
    body = session.get(f"{base}{LE}/record/user/{BS_USER}", params={"limit": 5}).json()
    assert len(body["Objects"]) == 5 and body["Next"] is None


def test_records_next_keeps_the_query(api: tuple[requests.Session, str]) -> None:
    session, base = api
    params = {"limit": 1, "startDate": "2026-01-01T05:00:00.000Z", "recordStateId": 1}
    body = session.get(f"{base}{LE}/record/user/{BS_USER}", params=params).json()
    assert body["Next"].startswith(f"{base}{LE}/record/user/{BS_USER}?")
    assert "startDate=2026-01-01T05%3A00%3A00.000Z" in body["Next"]
    assert body["Next"].endswith("recordIdBookmark=505")


def test_records_filters_and_ascending(api: tuple[requests.Session, str]) -> None:
    session, base = api
    url = f"{base}{LE}/record/user/{BS_USER}"
    ranged = session.get(
        url,
        params={"startDate": "2026-02-01T12:00:00.000Z", "endDate": "2026-03-01T12:00:00.000Z"},
    ).json()
    assert [r["RecordId"] for r in ranged["Objects"]] == [504, 503, 502]
    drafts = session.get(url, params={"recordStateId": 2}).json()
    assert [r["RecordId"] for r in drafts["Objects"]] == [504]
    ascending = _walk(session, url, {"sortDateAscending": "true", "limit": 3})
    assert [r["RecordId"] for p in ascending for r in p] == [501, 502, 503, 504, 505]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 101},
        {"limit": 0},
        {"startDate": "2026-01-01"},
        {"recordStateId": 3},
        {"recordIdBookmark": "999"},
        {"sortDateAscending": "yes"},
    ],
)
def test_records_bad_params_are_400(api: tuple[requests.Session, str], params: dict) -> None:
    session, base = api
    response = session.get(f"{base}{LE}/record/user/{BS_USER}", params=params)
    assert response.status_code == 400
    assert response.json()["status"] == 400


def test_user_without_records_and_unknown_user(api: tuple[requests.Session, str]) -> None:
    session, base = api
    assert session.get(f"{base}{LE}/record/user/{BS_USER + 1}").json() == {
        "Next": None,
        "Objects": [],
    }
    assert session.get(f"{base}{LE}/record/user/99").status_code == 404


@pytest.mark.parametrize("version", ["1.83", "2.0", "latest"])
def test_unknown_le_version_is_404(api: tuple[requests.Session, str], version: str) -> None:
    session, base = api
    response = session.get(f"{base}/d2l/api/le/{version}/cpd/record/user/{BS_USER}")
    assert response.status_code == 404


def test_newer_le_version_is_served(api: tuple[requests.Session, str]) -> None:
    session, base = api
    assert session.get(f"{base}/d2l/api/le/1.90/cpd/record/user/{BS_USER}").status_code == 200


def test_target_progress_sums_published_records_plus_offset(
    api: tuple[requests.Session, str],
) -> None:
    session, base = api
    params = {"startDate": "2026-01-01T05:00:00.000Z", "endDate": "2027-01-01T04:59:59.999Z"}
    body = session.get(f"{base}{LE}/target/progress/user/{BS_USER}", params=params).json()
    records = session.get(
        f"{base}{LE}/record/user/{BS_USER}", params={**params, "limit": 100}
    ).json()["Objects"]
    published = [r for r in records if r["RecordStateId"] == 1]
    structured = sum(r["CreditMinutes"] for r in published if r["IsStructured"])
    unstructured = sum(r["CreditMinutes"] for r in published if not r["IsStructured"])
    assert (structured, unstructured) == (60 + 15, 30 + 45)
    assert body["Structured"] == {"Numerator": structured, "Denominator": 600}
    assert body["Unstructured"] == {"Numerator": unstructured + 15, "Denominator": 900}
    assert body["StartDate"] == params["startDate"] and body["EndDate"] == params["endDate"]
    by_category = {c["Category"]["Id"]: c for c in body["CategoryProgress"]}
    assert by_category[1]["Category"] == {
        "Id": 1,
        "Name": "Mandatory",
        "SortOrder": 1,
        "InUse": True,
    }
    assert by_category[1]["Structured"]["Numerator"] == 75
    assert by_category[2]["Unstructured"]["Numerator"] == 75


def test_target_progress_range_excludes_outside(api: tuple[requests.Session, str]) -> None:
    session, base = api
    params = {"startDate": "2026-01-13T00:00:00.000Z"}
    body = session.get(f"{base}{LE}/target/progress/user/{BS_USER}", params=params).json()
    assert body["Structured"]["Numerator"] == 15  # 501 (Jan 12) is out, 504 is a draft
    assert body["EndDate"] is None


def test_category_and_method_lookups(api: tuple[requests.Session, str]) -> None:
    session, base = api
    assert session.get(f"{base}{LE}/category/2").json() == {
        "Id": 2,
        "Name": "Reading",
        "SortOrder": 2,
        "InUse": True,
    }
    assert session.get(f"{base}{LE}/method/1").json()["Name"] == "Course"
    assert session.get(f"{base}{LE}/method/77").status_code == 404


def test_rate_limit_headers_on_every_response(api: tuple[requests.Session, str]) -> None:
    session, base = api
    for url in (f"{base}{LE}/category/1", f"{base}{LE}/category/77"):
        response = session.get(url)
        assert int(response.headers["X-Rate-Limit-Remaining"]) >= 0
        assert 1 <= int(response.headers["X-Rate-Limit-Reset"]) <= 60
        assert response.headers["X-Request-Cost"] == "10"


def test_bearer_refusals(sandbox: Sandbox) -> None:
    url = f"{sandbox.base_urls['brightspace']}{LE}/category/1"
    assert requests.get(url).status_code == 401
    assert requests.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_client_secret_grant_is_refused_as_d2l_does(sandbox: Sandbox) -> None:
    refused = requests.post(
        sandbox.brightspace_token_url,
        data={"grant_type": "client_credentials", "scope": "cpd:records:read"},
        auth=(BRIGHTSPACE_CLIENT_ID, BRIGHTSPACE_CLIENT_SECRET),
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == "unauthorized_client" and "access_token" not in refused.json()


def _assertion(audience: str, **overrides: object) -> str:
    claims = {
        "iss": BRIGHTSPACE_CLIENT_ID,
        "sub": BRIGHTSPACE_CLIENT_ID,
        "aud": audience,
        "jti": uuid.uuid4().hex,
        "exp": int(time.time()) + 120,
        **overrides,
    }
    kid = overrides.pop("kid", None) or brightspace_app_jwks()["keys"][0]["kid"]
    claims.pop("kid", None)
    return jwt.encode(
        claims, Sandbox.brightspace_private_key_pem(), algorithm="RS256", headers={"kid": kid}
    )


def _assert_with(sandbox: Sandbox, assertion: str) -> requests.Response:
    return requests.post(
        sandbox.brightspace_token_url,
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        },
    )


def test_private_key_jwt_assertion_is_verified(sandbox: Sandbox) -> None:
    url = sandbox.brightspace_token_url
    good = _assertion(url)
    minted = _assert_with(sandbox, good)
    assert minted.status_code == 200
    token = minted.json()["access_token"]
    api = f"{sandbox.base_urls['brightspace']}{LE}/category/1"
    assert requests.get(api, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert _assert_with(sandbox, good).json()["error"] == "invalid_client"  # jti reused
    for bad in (
        _assertion("https://auth.brightspace.com/core/connect/token"),  # another audience
        _assertion(url, iss="someone-else"),
        _assertion(url, exp=int(time.time()) - 5),
        _assertion(url, kid="not-the-apps-key"),
    ):
        refused = _assert_with(sandbox, bad)
        assert refused.status_code == 400 and "access_token" not in refused.json()


def test_refresh_tokens_rotate_and_refuse_reuse(sandbox: Sandbox) -> None:
    first = sandbox.issue_refresh_token()

    def redeem(token: str) -> requests.Response:
        return requests.post(
            sandbox.brightspace_token_url,
            data={
                "grant_type": "refresh_token",
                "refresh_token": token,
                "client_id": BRIGHTSPACE_CLIENT_ID,
                "client_secret": BRIGHTSPACE_CLIENT_SECRET,
            },
        )

    answer = redeem(first).json()
    assert answer["token_type"] == "Bearer" and answer["refresh_token"] != first
    again = redeem(first)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert redeem(answer["refresh_token"]).status_code == 200


def test_tokens_expire_after_their_lifetime() -> None:
    with Sandbox(tiny_org(), token_lifetime_s=0.2) as short:
        url = f"{short.base_urls['brightspace']}{LE}/category/1"
        bearer = {"Authorization": f"Bearer {BRIGHTSPACE_TOKEN}"}
        assert requests.get(url, headers=bearer).status_code == 200
        time.sleep(0.3)
        expired = requests.get(url, headers=bearer)
        assert expired.status_code == 401 and "expired" in expired.json()["detail"]


def test_rate_limit_exhausted_gives_429_with_retry_after() -> None:
    with Sandbox(tiny_org(), rate_limit_credits=30) as sandbox:
        url = f"{sandbox.base_urls['brightspace']}{LE}/category/1"
        with requests.Session() as session:
            session.headers.update(BEARER)
            allowed = [session.get(url) for _ in range(3)]
            assert [r.status_code for r in allowed] == [200, 200, 200]
            assert [r.headers["X-Rate-Limit-Remaining"] for r in allowed] == ["20", "10", "0"]
            refused = session.get(url)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert "X-Rate-Limit-Remaining" not in refused.headers
        assert "X-Rate-Limit-Reset" not in refused.headers


def test_the_bucket_is_credits_a_minute_from_the_first_call() -> None:
    """D2L: a bucket of credits per minute, 10 a call, refilled every minute. A shortened
    minute (1.2 s) reports its reset in its own seconds (a sixtieth of it, 0.02 s), never
    before the refill; the first window opens with the first call; what each window spent
    and every refusal are counted."""
    with Sandbox(tiny_org(), rate_limit_credits=25, rate_limit_window_s=1.2) as sandbox:
        time.sleep(0.3)  # idle time before the first call is not part of any window
        url = f"{sandbox.base_urls['brightspace']}{LE}/category/1"
        with requests.Session() as session:
            session.headers.update(BEARER)
            first, second, refused = (session.get(url) for _ in range(3))
            refused_at = time.monotonic()
            reset = float(first.headers["X-Rate-Limit-Reset"])
            assert (first.status_code, second.status_code, refused.status_code) == (200, 200, 429)
            assert [first.headers["X-Rate-Limit-Remaining"]] == ["15"]
            assert second.headers["X-Rate-Limit-Remaining"] == "5"  # 5 credits pay no call
            assert 1.0 < reset <= 1.2 and round(reset / 0.02, 6) == round(reset / 0.02)
            refill = float(refused.headers["Retry-After"])
            time.sleep(max(0.0, refused_at + refill - time.monotonic()) + 0.05)
            again = session.get(url)
        assert again.status_code == 200 and again.headers["X-Rate-Limit-Remaining"] == "15"
        assert sandbox.credits.charged == [20, 10]
        assert sandbox.credits.refused == 1
        assert budget_report(sandbox) == [
            "Brightspace credits: 25 a window of 1.2s; spent per window: 20, 10; "
            "calls refused (429): 1"
        ]


def test_repeat_bookmark_points_back_at_the_same_page(
    sandbox: Sandbox, api: tuple[requests.Session, str]
) -> None:
    session, base = api
    url = f"{base}{LE}/record/user/{BS_USER}"
    sandbox.faults.repeat_bookmark(r"/cpd/record/user/")
    first = session.get(url, params={"limit": 2}).json()
    second = session.get(first["Next"]).json()
    assert first["Next"] == second["Next"]
    assert first["Objects"] == second["Objects"]
    page = session.get(url, params={"limit": 2, "recordIdBookmark": 504}).json()
    assert page["Next"].endswith("recordIdBookmark=504")
    sandbox.faults.repeat_bookmark(r"/lp/1\.46/users/")
    users = session.get(f"{base}/d2l/api/lp/1.46/users/", params={"bookmark": BS_USER + 99})
    assert users.json()["PagingInfo"] == {"Bookmark": str(BS_USER + 99), "HasMoreItems": True}
    sandbox.faults.clear()
    assert session.get(url, params={"limit": 5}).json()["Next"] is None
