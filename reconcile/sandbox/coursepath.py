"""Coursepath's ``/api/v1`` served from an Organisation, with its one-use HS256 JWTs.

Every request needs ``Authorization: Bearer <JWT>`` signed (HS256 only) with the academy API
key, claims ``email`` (the acting member), ``iat`` (at most 120 s old, at most 30 s ahead) and
``jti`` (never seen before: a token works once). Lists are bare arrays paged by ``offset`` and
``limit``; each list route silently caps a page at 100, 250 or 500 records whatever ``limit``
asks (``Modes.coursepath_caps``), so a short page is not the end. Errors are ``{"error"}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections.abc import Iterable

import jwt
import numpy as np
import pandas as pd

from reconcile.sandbox.faults import Faults
from reconcile.sandbox.model import Organisation
from reconcile.sandbox.platform import COURSEPATH_API_KEY, COURSEPATH_EMAIL, Platform, bearer_token
from reconcile.sandbox.wire import (
    BoolColumn,
    InstantColumn,
    NotFound,
    Request,
    Response,
    Route,
    Table,
    TextColumn,
    bytes_json_response,
    float_column,
    int_arg,
    json_response,
    route,
)

V1 = "/api/v1"
MAX_AGE_S = 120
MAX_SKEW_S = 30
_MEMBER_FIELDS = ("id", "email", "name", "externalId", "company", "department", "country")


def _grouped(links: pd.DataFrame, owner: str, member_positions: pd.Index) -> dict[str, np.ndarray]:
    """Owner id → positions (into the members table) of its members, in link order."""
    positions = member_positions.get_indexer(pd.Index(links["memberId"].astype(str)))
    owners = links[owner].astype(str).to_numpy()
    keep = positions >= 0
    frame = pd.DataFrame({"owner": owners[keep], "position": positions[keep]})
    return {str(k): g["position"].to_numpy() for k, g in frame.groupby("owner", sort=False)}


def _verified_claims(token: str) -> dict | str:
    """The claims of an HS256 token signed with the API key, or why it is refused.

    The signature is checked with ``hmac`` rather than ``jwt.decode`` because PyJWT warns
    (InsecureKeyLengthWarning) on every call with a key shorter than 32 bytes, and the
    sandbox's fixed key is 22 bytes; PyJWT still parses the token.
    """
    signing_input, _, signature = token.rpartition(".")
    try:
        expected = hmac.new(COURSEPATH_API_KEY.encode(), signing_input.encode(), hashlib.sha256)
        given = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    except (ValueError, UnicodeEncodeError):
        return "the token's signature is not base64url"
    if not hmac.compare_digest(expected.digest(), given):
        return "the token's signature does not match the API key"
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        return f"invalid token: {exc}"
    missing = [c for c in ("email", "iat", "jti") if c not in claims]
    if missing:
        return f"the token lacks the claims {', '.join(missing)}"
    exp = claims.get("exp")
    if isinstance(exp, int | float) and exp < time.time():
        return "the token has expired (exp)"
    return claims


def _owners_of(links: tuple[TextColumn, pd.Series], member_id: str) -> list[str]:
    members, owners = links
    found = members.equals(member_id, 0, len(members))
    return owners.to_numpy(dtype=object)[found].tolist()


class Coursepath(Platform):
    name = "coursepath"
    prefix = "/coursepath"

    def __init__(self, org: Organisation, faults: Faults) -> None:
        self.faults = faults
        self._lock = threading.Lock()
        self._seen_jti: set[str] = set()
        members = org.cp_members
        self.members = Table(
            "{" + ",".join(f'"{c}":%s' for c in _MEMBER_FIELDS) + "}",
            {c: TextColumn(members[c]) for c in _MEMBER_FIELDS},
            id_column="id",
        )
        self._member_index = pd.Index(members["id"].astype(str))
        self._member_filters = {
            "email": members["email"].astype("string").str.strip().str.lower(),
            "externalId": members["externalId"].astype("string"),
            "company": members["company"].astype("string"),
            "department": members["department"].astype("string"),
            "country": members["country"].astype("string"),
        }
        self.courses = Table(
            '{"id":%s,"name":%s}',
            {c: TextColumn(org.cp_courses[c]) for c in ("id", "name")},
            id_column="id",
        )
        self.groups = Table(
            '{"id":%s,"name":%s}',
            {c: TextColumn(org.cp_groups[c]) for c in ("id", "name")},
            id_column="id",
        )
        links = org.cp_course_members
        self.course_members = _grouped(links, "courseId", self._member_index)
        self.group_members = _grouped(org.cp_group_members, "groupId", self._member_index)
        self.results = Table(
            '{"courseId":%s,"memberId":%s,"enrolledAt":%s,"completed":%s,"completedAt":%s,'
            '"score":%s,"success":%s,"certificateUrl":%s}',
            {
                "courseId": TextColumn(links["courseId"]),
                "memberId": TextColumn(links["memberId"]),
                "enrolledAt": InstantColumn(links["enrolledAt"], millis=False),
                "completed": BoolColumn(links["completed"]),
                "completedAt": InstantColumn(links["completedAt"], millis=False),
                "score": float_column(links["score"]),
                "success": BoolColumn(links["success"]),
                "certificateUrl": TextColumn(links["certificateUrl"]),
            },
            ids=(links["courseId"].astype(str) + "/" + links["memberId"].astype(str)).tolist(),
        )
        # Per-member lookups scan the link tables on request (a rarely used route), which
        # keeps startup fast for large academies.
        self._course_links = (TextColumn(links["memberId"]), links["courseId"].astype(str))
        self._group_links = (
            TextColumn(org.cp_group_members["memberId"]),
            org.cp_group_members["groupId"].astype(str),
        )
        self.routes = self._routes()

    def tables(self) -> Iterable[Table]:
        return [self.members, self.courses, self.groups, self.results]

    def _routes(self) -> list[Route]:
        v1 = "/api/v1"
        return [
            route("GET", f"{v1}/members", self._members),
            route("GET", f"{v1}/members/me", self._me),
            route("GET", f"{v1}/members/{{memberId}}", self._member),
            route("GET", f"{v1}/members/{{memberId}}/courses", self._member_courses),
            route("GET", f"{v1}/members/{{memberId}}/groups", self._member_groups),
            route("GET", f"{v1}/courses", self._courses),
            route("GET", f"{v1}/courses/{{courseId}}", self._course),
            route("GET", f"{v1}/courses/{{courseId}}/members", self._members_of_course),
            route(
                "GET",
                f"{v1}/courses/{{courseId}}/members/{{memberId}}/coursemember",
                self._course_member,
            ),
            route("GET", f"{v1}/groups", self._groups),
            route("GET", f"{v1}/groups/{{groupId}}/members", self._members_of_group),
        ]

    # --- platform hooks -------------------------------------------------------------------

    def error(self, status: int, message: str) -> Response:
        return json_response(status, {"error": message})

    def authenticate(self, request: Request, route: Route) -> Response | None:
        token = bearer_token(request)
        if token is None:
            return self.error(401, "missing Authorization: Bearer <JWT>")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return self.error(401, "the token is not a JWT")
        if header.get("alg") != "HS256":
            return self.error(401, "only HS256 tokens are accepted")
        claims = _verified_claims(token)
        if isinstance(claims, str):
            return self.error(401, claims)
        now = time.time()
        iat = claims["iat"]
        if not isinstance(iat, int | float) or isinstance(iat, bool):
            return self.error(401, "iat must be a number of seconds")
        if iat < now - MAX_AGE_S:
            return self.error(401, "the token is too old (iat); make a fresh one per request")
        if iat > now + MAX_SKEW_S:
            return self.error(401, "the token is issued in the future (iat); check the clock")
        if str(claims["email"]).strip().lower() != COURSEPATH_EMAIL:
            return self.error(401, f"no member with email {claims['email']} may use the API")
        jti = str(claims["jti"])
        with self._lock:
            if jti in self._seen_jti:
                return self.error(401, "this token was used before (jti); each token works once")
            self._seen_jti.add(jti)
        return None

    # --- helpers --------------------------------------------------------------------------

    def _window(self, request: Request, route: str) -> tuple[int, int]:
        """``offset`` and the page size: ``limit``, silently cut to the route's cap."""
        cap = self.faults.modes.coursepath_caps.get(route)
        offset = int_arg(request, "offset", 0, low=0)
        limit = int_arg(request, "limit", cap or 100, low=1)
        return offset, min(limit, cap) if cap else limit

    def _page(
        self, request: Request, route: str, table: Table, positions: np.ndarray | None = None
    ) -> Response:
        offset, limit = self._window(request, route)
        if positions is None:
            stop = min(len(table), offset + limit)
            start = min(offset, stop)
            return bytes_json_response(200, table.json_array(start, stop), records=stop - start)
        chosen = positions[offset : offset + limit]
        return bytes_json_response(200, table.json_array_at(chosen), records=len(chosen))

    def _one(self, table: Table, key: object, what: str) -> Response:
        position = table.position(key)
        if position is None:
            raise NotFound(f"{what} not found")
        return bytes_json_response(200, table.json_object(position), records=1)

    # --- routes ---------------------------------------------------------------------------

    def _members(self, request: Request) -> Response:
        mask = None
        for name, column in self._member_filters.items():
            value = request.arg(name)
            if value is None:
                continue
            wanted = value.strip().lower() if name == "email" else value
            found = (column == wanted).fillna(False).to_numpy(dtype=bool)
            mask = found if mask is None else mask & found
        positions = None if mask is None else np.flatnonzero(mask)
        return self._page(request, f"{V1}/members", self.members, positions)

    def _me(self, request: Request) -> Response:
        emails = self._member_filters["email"]
        found = np.flatnonzero((emails == COURSEPATH_EMAIL).fillna(False).to_numpy(dtype=bool))
        if not len(found):
            return json_response(200, {"id": "0", "email": COURSEPATH_EMAIL, "name": "Reports"})
        return bytes_json_response(200, self.members.json_object(int(found[0])), records=1)

    def _member(self, request: Request, memberId: str) -> Response:
        return self._one(self.members, memberId, f"member {memberId}")

    def _member_courses(self, request: Request, memberId: str) -> Response:
        if self.members.position(memberId) is None:
            raise NotFound(f"member {memberId} not found")
        ids = _owners_of(self._course_links, memberId)
        positions = np.array([self.courses.position(i) for i in ids], dtype=np.int64)
        return self._page(request, f"{V1}/members/{{memberId}}/courses", self.courses, positions)

    def _member_groups(self, request: Request, memberId: str) -> Response:
        if self.members.position(memberId) is None:
            raise NotFound(f"member {memberId} not found")
        ids = _owners_of(self._group_links, memberId)
        positions = np.array([self.groups.position(i) for i in ids], dtype=np.int64)
        return self._page(request, f"{V1}/members/{{memberId}}/groups", self.groups, positions)

    def _courses(self, request: Request) -> Response:
        return self._page(request, f"{V1}/courses", self.courses)

    def _course(self, request: Request, courseId: str) -> Response:
        return self._one(self.courses, courseId, f"course {courseId}")

    def _members_of_course(self, request: Request, courseId: str) -> Response:
        if self.courses.position(courseId) is None:
            raise NotFound(f"course {courseId} not found")
        positions = self.course_members.get(courseId, np.empty(0, dtype=np.int64))
        return self._page(request, f"{V1}/courses/{{courseId}}/members", self.members, positions)

    def _groups(self, request: Request) -> Response:
        return self._page(request, f"{V1}/groups", self.groups)

    def _members_of_group(self, request: Request, groupId: str) -> Response:
        if self.groups.position(groupId) is None:
            raise NotFound(f"group {groupId} not found")
        positions = self.group_members.get(groupId, np.empty(0, dtype=np.int64))
        return self._page(request, f"{V1}/groups/{{groupId}}/members", self.members, positions)

    def _course_member(self, request: Request, courseId: str, memberId: str) -> Response:
        if self.courses.position(courseId) is None:
            raise NotFound(f"course {courseId} not found")
        if self.members.position(memberId) is None:
            raise NotFound(f"member {memberId} not found")
        return self._one(
            self.results,
            f"{courseId}/{memberId}",
            f"member {memberId} is not enrolled in {courseId}",
        )
