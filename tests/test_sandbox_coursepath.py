"""The sandbox's Coursepath API over real sockets: one-use JWTs, offset/limit, results."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from reconcile.sandbox import Sandbox
from tests.sandbox_org import coursepath_token, tiny_org


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(tiny_org()) as running:
        yield running


@pytest.fixture
def get(sandbox: Sandbox):
    base = sandbox.base_urls["coursepath"]
    session = requests.Session()

    def fetch(path: str, **params: object) -> requests.Response:
        return session.get(f"{base}{path}", params=params, headers=coursepath_token())

    yield fetch
    session.close()
    sandbox.faults.clear()


def test_members_offset_and_limit(get) -> None:
    pages = [get("/members", offset=o, limit=2).json() for o in (0, 2, 4, 6)]
    assert [len(p) for p in pages] == [2, 2, 1, 0]
    assert [m["id"] for p in pages for m in p] == [f"70000{i}" for i in range(5)]
    assert pages[0][0] == {
        "id": "700000",
        "email": "Member0@Example.org",
        "name": "Member 0",
        "externalId": "E0",
        "company": "Acme",
        "department": "Ward A",
        "country": "US",
    }
    assert pages[0][1]["externalId"] is None


def test_each_list_caps_its_pages_silently(sandbox: Sandbox, get) -> None:
    """100, 250 or 500 per page depending on the endpoint, whatever limit asks (api.md)."""
    assert len(get("/members").json()) == 5
    assert get("/members", limit=5000).status_code == 200
    sandbox.modes.coursepath_caps["/api/v1/members"] = 2
    assert len(get("/members", limit=500).json()) == 2
    assert len(get("/members", offset=2, limit=500).json()) == 2
    assert [m["id"] for m in get("/members", offset=4, limit=3).json()] == ["700004"]
    assert get("/members", offset=5, limit=500).json() == []
    for params in ({"limit": 0}, {"offset": -1}, {"limit": "x"}):
        response = get("/members", **params)
        assert response.status_code == 400
        assert set(response.json()) == {"error"}


def test_member_filters(get) -> None:
    assert [m["id"] for m in get("/members", email="member2@example.ORG").json()] == ["700002"]
    assert [m["id"] for m in get("/members", externalId="E4").json()] == ["700004"]
    assert [m["id"] for m in get("/members", department="Ward B").json()] == ["700001", "700003"]
    assert get("/members", email="nobody@example.org").json() == []


def test_courses_groups_and_their_members(get) -> None:
    assert get("/courses").json() == [
        {"id": "48200", "name": "ALS"},
        {"id": "48201", "name": "ILS"},
    ]
    assert get("/groups").json() == [{"id": "7100", "name": "Ward A"}]
    assert [m["id"] for m in get("/courses/48200/members").json()] == ["700000", "700002"]
    assert [m["id"] for m in get("/courses/48200/members", offset=1, limit=1).json()] == ["700002"]
    assert [m["id"] for m in get("/groups/7100/members").json()] == ["700000", "700004"]
    assert get("/courses/999/members").status_code == 404
    assert get("/courses/48201").json() == {"id": "48201", "name": "ILS"}


def test_coursemember_results(get) -> None:
    passed = get("/courses/48200/members/700000/coursemember").json()
    assert passed == {
        "courseId": "48200",
        "memberId": "700000",
        "enrolledAt": "2026-01-01T10:00:00Z",
        "completed": True,
        "completedAt": "2026-02-01T15:15:00Z",
        "score": 88.0,
        "success": True,
        "certificateUrl": "https://cert.example/1.pdf",
    }
    open_ = get("/courses/48200/members/700002/coursemember").json()
    assert open_["completed"] is False and open_["completedAt"] is None and open_["score"] is None
    failed = get("/courses/48201/members/700000/coursemember").json()
    assert failed["success"] is False and failed["score"] == 40.0
    not_enrolled = get("/courses/48201/members/700002/coursemember")
    assert not_enrolled.status_code == 404 and "not enrolled" in not_enrolled.json()["error"]


def test_member_courses_and_groups(get) -> None:
    assert [c["id"] for c in get("/members/700000/courses").json()] == ["48200", "48201"]
    assert [g["id"] for g in get("/members/700004/groups").json()] == ["7100"]
    assert get("/members/nobody").status_code == 404


# --- auth ----------------------------------------------------------------------------------


def _status(sandbox: Sandbox, headers: dict[str, str]) -> tuple[int, dict]:
    response = requests.get(f"{sandbox.base_urls['coursepath']}/courses", headers=headers)
    return response.status_code, response.json()


def test_each_token_works_once(sandbox: Sandbox) -> None:
    headers = coursepath_token()
    assert _status(sandbox, headers)[0] == 200
    status, body = _status(sandbox, headers)
    assert status == 401 and "used before" in body["error"]


def test_same_jti_in_a_new_token_is_refused(sandbox: Sandbox) -> None:
    assert _status(sandbox, coursepath_token(jti="fixed-jti"))[0] == 200
    assert _status(sandbox, coursepath_token(jti="fixed-jti"))[0] == 401


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda: coursepath_token(iat=time.time() - 180), "too old"),
        (lambda: coursepath_token(iat=time.time() + 300), "future"),
        (lambda: coursepath_token(algorithm="HS512"), "HS256"),
        (lambda: coursepath_token(key="another-key"), "signature"),
        (lambda: coursepath_token(email="someone@else.example"), "email"),
        (lambda: {}, "Bearer"),
        (lambda: {"Authorization": "Bearer not.a.jwt"}, ""),
    ],
)
def test_token_refusals(sandbox: Sandbox, make, fragment: str) -> None:
    status, body = _status(sandbox, make())
    assert status == 401
    assert fragment in body["error"]


def test_unsigned_token_is_refused(sandbox: Sandbox) -> None:
    import base64
    import json

    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    claims = {"email": "reports@sandbox.example", "iat": int(time.time()), "jti": "unsigned"}
    token = f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."
    status, _ = _status(sandbox, {"Authorization": f"Bearer {token}"})
    assert status == 401
