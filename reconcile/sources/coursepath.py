"""Coursepath API loader: members, courses, course members and their results, groups (seed 004).

THE FIELD MAPPING for every Coursepath table is ``MEMBER``/``COURSE``/``GROUP``/``RESULT``
below. No public source confirms Coursepath's JSON field names (research/api-contracts.md §4):
these follow DESIGN.md §9, so check them against your academy first.
"""

from __future__ import annotations

from functools import partial
from typing import Any
from urllib.parse import quote

from reconcile.config import CoursepathSource, secret
from reconcile.progress import NullProgress, Progress
from reconcile.sources.auth import CoursepathJwt, authenticated_client
from reconcile.sources.base import SourcePull, Window, add_table
from reconcile.sources.canonical_map import Derived, Fixed, ToCanonical, as_text
from reconcile.sources.columns import Column
from reconcile.sources.http import HttpClient, HttpPolicy
from reconcile.sources.paging import ListRequest, OffsetPages, fetch_list

LIMIT = 500  # the largest page any Coursepath endpoint serves; most serve fewer, silently

C = Column
MEMBER = (
    C("member_id", "id", "id"),
    C("email", "email", "str"),
    C("name", "name", "str"),
    C("external_id", "externalId", "str"),
    C("company", "company", "str", optional=True),
    C("department", "department", "str", optional=True),
    C("country", "country", "str", optional=True),
)
COURSE = (C("course_id", "id", "id"), C("name", "name", "str"))
GROUP = (C("group_id", "id", "id"), C("name", "name", "str"))
RESULT = (  # GET /courses/{courseId}/members/{memberId}/coursemember
    C("enrolled_at", "enrolledAt", "datetime"),
    C("completed", "completed", "bool"),
    C("completed_at", "completedAt", "datetime"),
    C("score", "score", "float", optional=True),
    C("success", "success", "bool"),
    C("certificate_url", "certificateUrl", "str", optional=True),
)
#: Each pulled Coursepath table → the canonical table it feeds (applied by canonical_build.py).
CANONICAL = (
    ToCanonical(
        "members",
        "accounts",
        {
            "system": Fixed("coursepath"),
            "account_id": "member_id",
            "email": "email",
            "external_ref": "external_id",
            "name": "name",
        },
    ),
    ToCanonical(  # a title only: CPD minutes come from the Courses sheet
        "courses",
        "catalogue",
        {
            "system": Fixed("coursepath"),
            "course_id": "course_id",
            "title": "name",
            "origin": Fixed("content"),
        },
    ),
    ToCanonical(
        "results",
        "completions",
        {
            "system": Fixed("coursepath"),
            "record_id": Derived(  # one result per course and member
                lambda r: r["course_id"].astype("str") + ":" + r["member_id"].astype("str")
            ),
            "account_id": "member_id",
            "course_id": as_text("course_id"),
            "completed_at": "completed_at",
            "passed": Derived(  # completed and successful
                lambda r: (r["completed"].fillna(False) & r["success"].fillna(False)).astype(
                    "boolean"
                )
            ),
            "score": "score",
            "certificate": "certificate_url",
        },
    ),
)
ENDPOINTS = {
    "members": "/members",
    "courses": "/courses",
    "groups": "/groups",
    "course_members": "/courses/{courseId}/members",
    "group_members": "/groups/{groupId}/members",
    "results": "/courses/{courseId}/members/{memberId}/coursemember",
}


def make_client(source: CoursepathSource, policy: HttpPolicy) -> HttpClient:
    """Every request signs a fresh HS256 JWT with the academy's API key."""
    auth = CoursepathJwt(source.email, secret(source.api_key_env, key="sources.coursepath"))
    return authenticated_client(source, auth, policy)


def pull(client: HttpClient, window: Window, *, progress: Progress | None = None) -> SourcePull:
    """Coursepath has no date filters: everything is pulled and the engine picks the period."""
    progress = progress or NullProgress()
    task = f"{client.source} members+results"
    progress.start(task)
    result = SourcePull(client.source, client.base_url, stats=client.stats)
    paging = partial(OffsetPages, page_size=LIMIT)

    def array(item: tuple[str, str]) -> list[dict[str, Any]]:
        path, endpoint = item
        request = ListRequest(path, endpoint=endpoint, key="id")
        return fetch_list(client, request, paging, progress=progress, task=task)

    tops = ("members", "courses", "groups")
    members, courses, groups = client.map(array, [(ENDPOINTS[n], ENDPOINTS[n]) for n in tops])
    add(client, result, "members", members, MEMBER, ("member_id",))
    add(client, result, "courses", courses, COURSE, ("course_id",))
    add(client, result, "groups", groups, GROUP, ("group_id",))

    course_ids = result.tables["courses"]["course_id"].dropna().tolist()
    group_ids = result.tables["groups"]["group_id"].dropna().tolist()
    lists = [("course_members", "courseId", c) for c in course_ids] + [
        ("group_members", "groupId", g) for g in group_ids
    ]
    pulled = client.map(
        array,
        [
            (ENDPOINTS[table].replace("{" + key + "}", _segment(owner)), ENDPOINTS[table])
            for table, key, owner in lists
        ],
    )
    _add_memberships(client, result, lists, pulled)

    pairs = list(
        result.tables["course_members"][["course_id", "member_id"]]
        .dropna()
        .itertuples(index=False, name=None)
    )

    def result_of(pair: tuple[str, str]) -> Any:
        course_id, member_id = pair
        body = client.get_json(
            ENDPOINTS["results"].format(courseId=_segment(course_id), memberId=_segment(member_id)),
            endpoint=ENDPOINTS["results"],
            missing_ok=True,
        )
        progress.advance(task, pages=1, records=1 if body else 0)
        return body

    _add_results(client, result, pairs, client.map(result_of, pairs))
    progress.finish(task)
    return result


def _add_memberships(
    client: HttpClient,
    result: SourcePull,
    lists: list[tuple[str, str, Any]],
    pulled: list[list[dict[str, Any]]],
) -> None:
    """The members of every course and every group, each row with the list it came from."""
    for table, owner_column in (("course_members", "course_id"), ("group_members", "group_id")):
        groups_of = [
            (owner, rows)
            for (name, _, owner), rows in zip(lists, pulled, strict=True)
            if name == table
        ]
        rows = [r for _, group in groups_of for r in group]
        owners = [o for o, group in groups_of for _ in group]
        add(
            client,
            result,
            table,
            rows,
            MEMBER,
            (owner_column, "member_id"),
            extra={owner_column: ("id", owners)},
        )


def _add_results(
    client: HttpClient, result: SourcePull, pairs: list[tuple[str, str]], bodies: list[Any]
) -> None:
    """Each course member's result (a member with none has no row), keyed by the pair asked."""
    found = [
        (pair, body) for pair, body in zip(pairs, bodies, strict=True) if isinstance(body, dict)
    ]
    add(
        client,
        result,
        "results",
        [body for _, body in found],
        RESULT,
        ("course_id", "member_id"),
        extra={
            "course_id": ("id", [p[0] for p, _ in found]),
            "member_id": ("id", [p[1] for p, _ in found]),
        },
    )


def _segment(value: Any) -> str:
    """An id as one URL path segment (ids are opaque: never let one add a path)."""
    return quote(str(value), safe="")


def add(
    client: HttpClient,
    result: SourcePull,
    name: str,
    records: list[Any],
    columns: tuple[Column, ...],
    keys: tuple[str, ...],
    *,
    extra: dict[str, tuple[str, Any]] | None = None,
) -> None:
    add_table(client, result, name, records, columns, ENDPOINTS[name], keys, extra=extra)
