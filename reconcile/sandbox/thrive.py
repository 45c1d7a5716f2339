"""Thrive Learning's public API (``/thrive/rest/v1``) served from an Organisation.

Wire shapes: DESIGN.md §9 and docs/sandbox.md. Envelope lists page with ``page``/``perPage``
(1..1000, larger is a 400); ``/learning/completions`` is a bare array whose end is the first
short page. Auth is HTTP Basic (tenant id : API secret) or a Bearer token minted at
``/thrive/oauth2/token/{tenantId}`` by client credentials.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import parse_qs

import numpy as np
import pandas as pd

from reconcile.sandbox.faults import Faults
from reconcile.sandbox.model import Organisation
from reconcile.sandbox.platform import (
    THRIVE_API_SECRET,
    THRIVE_CLIENT_ID,
    THRIVE_CLIENT_SECRET,
    THRIVE_TENANT_ID,
    Platform,
    TokenStore,
    basic_credentials,
    bearer_token,
)
from reconcile.sandbox.wire import (
    BadRequest,
    BoolColumn,
    InstantColumn,
    IntColumn,
    NotFound,
    Request,
    Response,
    Route,
    Table,
    TextColumn,
    bytes_json_response,
    instant_ns,
    int_arg,
    join_objects,
    json_response,
    route,
    thrive_instant,
)

MAX_PER_PAGE = 1000
DEFAULT_PER_PAGE = 100
AUDIENCES_LIMIT = 100  # /audiences documents `limit`, 1..100, default 100
USER_STATUSES = ("active", "inactive", "expired", "new")
_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
_SCOPES = ("api/all", "api/read", "api/write")


@dataclass
class Listing:
    """A Table plus what growing it needs: which column holds the id, and the key's column."""

    table: Table
    id_column: str
    key_column: str | None = None


def _users(org: Organisation) -> Listing:
    f = org.thrive_users
    table = Table(
        '{"id":%s,"ref":%s,"firstName":%s,"lastName":%s,"email":%s,"status":%s}',
        {c: TextColumn(f[c]) for c in ("id", "ref", "firstName", "lastName", "email", "status")},
        id_column="id",
    )
    return Listing(table, "id")


def _audiences(org: Organisation) -> Listing:
    f = org.thrive_audiences
    table = Table(
        '{"id":%s,"name":%s,"reference":%s}',
        {c: TextColumn(f[c]) for c in ("id", "name", "reference")},
        id_column="id",
    )
    return Listing(table, "id")


def _members(frame: pd.DataFrame) -> Listing:
    table = Table(
        '{"userId":%s,"reference":%s,"email":%s}',
        {c: TextColumn(frame[c]) for c in ("userId", "reference", "email")},
        id_column="userId",
    )
    return Listing(table, "userId")


def _categories(org: Organisation) -> Listing:
    f = org.thrive_categories
    table = Table(
        '{"categoryId":%s,"name":%s}',
        {c: TextColumn(f[c]) for c in ("categoryId", "name")},
        id_column="categoryId",
    )
    return Listing(table, "categoryId")


def _requirements(org: Organisation) -> Listing:
    f = org.thrive_requirements
    table = Table(
        '{"audienceRequirementId":%s,"audienceId":%s,"requiredMinutes":%s,'
        '"createdAt":%s,"updatedAt":%s}',
        {
            "audienceRequirementId": TextColumn(f["audienceRequirementId"]),
            "audienceId": TextColumn(f["audienceId"]),
            "requiredMinutes": IntColumn(f["requiredMinutes"]),
            "createdAt": InstantColumn(f["createdAt"]),
            "updatedAt": InstantColumn(f["updatedAt"]),
        },
        id_column="audienceRequirementId",
    )
    return Listing(table, "audienceRequirementId")


def _sorted_by(frame: pd.DataFrame, when: str) -> pd.DataFrame:
    """Oldest first; equal instants keep the frame's order (a stable sort, no string sort)."""
    keys = instant_ns(frame[when])
    if len(keys) < 2 or bool(np.all(keys[1:] >= keys[:-1])):
        return frame.reset_index(drop=True).assign(_key=keys)
    order = np.argsort(keys, kind="stable")
    return frame.take(order).reset_index(drop=True).assign(_key=keys[order])


def _entries(org: Organisation) -> tuple[Listing, pd.DataFrame]:
    f = _sorted_by(org.thrive_entries, "entryDate")
    table = Table(
        '{"logEntryId":%s,"userId":%s,"activity":{"type":%s,"name":%s},'
        '"category":{"categoryId":%s,"name":%s},"entryDate":%s,"durationMinutes":%s,'
        '"description":%s,"isVerified":%s}',
        {
            "logEntryId": TextColumn(f["logEntryId"]),
            "userId": TextColumn(f["userId"]),
            "activityType": TextColumn(f["activityType"]),
            "activityName": TextColumn(f["activityName"]),
            "categoryId": TextColumn(f["categoryId"]),
            "categoryName": TextColumn(f["categoryName"]),
            "entryDate": InstantColumn(f["entryDate"]),
            "durationMinutes": IntColumn(f["durationMinutes"]),
            "description": TextColumn(f["description"]),
            "isVerified": BoolColumn(f["isVerified"]),
        },
        id_column="logEntryId",
        keys=f["_key"].to_numpy(),
    )
    return Listing(table, "logEntryId", "entryDate"), f


def _contents(org: Organisation) -> Listing:
    f = org.thrive_contents
    table = Table(
        '{"id":%s,"title":%s,"type":%s,"duration":{"value":%s,"unit":"minutes"}}',
        {
            "id": TextColumn(f["id"]),
            "title": TextColumn(f["title"]),
            "type": TextColumn(f["type"]),
            "durationMinutes": IntColumn(f["durationMinutes"]),
        },
        id_column="id",
    )
    return Listing(table, "id")


def _completions(org: Organisation) -> tuple[Table, pd.DataFrame]:
    f = _sorted_by(org.thrive_completions, "completedAt")
    table = Table(
        '{"id":%s,"userId":%s,"contentId":%s,"completedAt":%s,"isRPL":%s}',
        {
            "id": TextColumn(f["id"]),
            "userId": TextColumn(f["userId"]),
            "contentId": TextColumn(f["contentId"]),
            "completedAt": InstantColumn(f["completedAt"]),
            "isRPL": BoolColumn(f["isRPL"]),
        },
        id_column="id",
        keys=f["_key"].to_numpy(),
    )
    return table, f


class Thrive(Platform):
    name = "thrive"
    prefix = "/thrive"

    def __init__(self, org: Organisation, tokens: TokenStore, faults: Faults) -> None:
        self.tokens = tokens
        self.faults = faults
        self._lock = threading.Lock()
        self._new_ids = itertools.count(1)

        self.users = _users(org)
        self.audiences = _audiences(org)
        self.categories = _categories(org)
        self.requirements = _requirements(org)
        self.contents = _contents(org)
        self.entries, entries = _entries(org)
        self.completions, completions = _completions(org)
        self.members = self._members_by_audience(org)

        user_ids = org.thrive_users["id"].astype(str)
        self._user_codes = pd.Index(user_ids)
        self._entry_users = self._user_codes.get_indexer(pd.Index(entries["userId"].astype(str)))
        self._entry_minutes = entries["durationMinutes"].to_numpy(dtype=np.int64)
        offsets = org.thrive_summary_offsets
        self._offsets = np.zeros(len(user_ids), dtype=np.int64)
        codes = self._user_codes.get_indexer(pd.Index(offsets["userId"].astype(str)))
        known = codes >= 0
        np.add.at(self._offsets, codes[known], offsets["offsetMinutes"].to_numpy()[known])
        self._summary_cache: dict[tuple[int, int], np.ndarray] = {}
        self._user_id_column = TextColumn(user_ids)

        self._completion_frame = completions
        self._completion_keys: dict[tuple[str, str, int], str] | None = None
        self._completion_users = set(user_ids)
        self._content_ids = set(org.thrive_contents["id"].astype(str))

        self.routes = self._routes()

    def _members_by_audience(self, org: Organisation) -> dict[str, Listing]:
        members = org.thrive_audience_members
        by_audience = {str(a): frame for a, frame in members.groupby("audienceId", sort=False)}
        self._audience_by_reference = dict(
            zip(
                org.thrive_audiences["reference"].astype(str),
                org.thrive_audiences["id"].astype(str),
                strict=True,
            )
        )
        return {
            str(a): _members(by_audience.get(str(a), members.iloc[0:0]))
            for a in org.thrive_audiences["id"].astype(str)
        }

    def _routes(self) -> list[Route]:
        v1 = "/rest/v1"

        def listing(get: Callable[[], Listing]) -> Callable[..., Response]:
            return lambda request: self._envelope(request, get())

        def single(get: Callable[[], Listing], what: str) -> Callable[..., Response]:
            return lambda request, id: self._single(get().table, id, what)

        return [
            route("POST", "/oauth2/token/{tenantId}", self._token),
            route("GET", f"{v1}/users", self._users),
            route("GET", f"{v1}/users/ref/{{ref}}", self._user_by_ref),
            route("GET", f"{v1}/user/{{id}}", single(lambda: self.users, "user")),
            route("GET", f"{v1}/audiences", self._audiences),
            route("GET", f"{v1}/audiences/{{id}}", self._audience),
            route("GET", f"{v1}/audiences/{{id}}/members", self._audience_members),
            route("GET", f"{v1}/cpdCategories", listing(lambda: self.categories)),
            route("GET", f"{v1}/cpdCategories/{{id}}", single(lambda: self.categories, "category")),
            route("GET", f"{v1}/cpdRequirementSummaries", listing(lambda: self.requirements)),
            route(
                "GET",
                f"{v1}/cpdRequirementSummaries/{{id}}",
                single(lambda: self.requirements, "requirement"),
            ),
            route("GET", f"{v1}/cpdEntries", self._cpd_entries),
            route("GET", f"{v1}/cpdEntries/{{id}}", single(lambda: self.entries, "CPD entry")),
            route("GET", f"{v1}/cpdUserLogSummaries", self._summaries),
            route("GET", f"{v1}/contents", listing(lambda: self.contents)),
            route("GET", f"{v1}/contents/{{id}}", single(lambda: self.contents, "content")),
            route("GET", f"{v1}/learning/completions", self._list_completions),
            route("POST", f"{v1}/learning/completions", self._create_completion),
            route("GET", f"{v1}/learning/completions/{{id}}", self._completion),
        ]

    # --- platform hooks -------------------------------------------------------------------

    def tables(self) -> Iterable[Table]:
        listings = [self.users, self.audiences, self.categories, self.requirements]
        listings += [self.contents, self.entries, *self.members.values()]
        return [listing.table for listing in listings] + [self.completions]

    def error(self, status: int, message: str) -> Response:
        reason = _REASONS.get(status, "Error")
        return json_response(status, {"status": status, "error": reason, "message": message})

    def authenticate(self, request: Request, route: Route) -> Response | None:
        if route.template.startswith("/oauth2/"):
            return None  # the token endpoint checks client credentials itself
        basic = basic_credentials(request)
        if basic is not None:
            if basic == (THRIVE_TENANT_ID, THRIVE_API_SECRET):
                return None
            return self._unauthorized("the tenant id or API secret is wrong")
        token = bearer_token(request)
        if token is None:
            return self._unauthorized("no credentials: send HTTP Basic or a Bearer token")
        state = self.tokens.state(token)
        if state == "valid":
            return self._scope_refusal(route, self.tokens.scopes(token))
        return self._unauthorized(
            "the access token has expired" if state == "expired" else "the access token is invalid"
        )

    def _scope_refusal(self, route: Route, scopes: frozenset[str]) -> Response | None:
        """403 when the token's scopes do not cover the request: writes need api/write or
        api/all, reads api/read or api/all (a token asked for with no scope gets them all)."""
        if not scopes or "api/all" in scopes:
            return None
        needed = "api/read" if route.method == "GET" else "api/write"
        if needed in scopes:
            return None
        granted = " ".join(sorted(scopes))
        return self.error(403, f"the access token's scope ({granted}) does not include {needed}")

    def _unauthorized(self, message: str) -> Response:
        response = self.error(401, message)
        response.headers.append(("WWW-Authenticate", 'Basic realm="thrive", Bearer'))
        return response

    # --- OAuth2 ---------------------------------------------------------------------------

    def _token(self, request: Request, tenantId: str) -> Response:
        def oauth_error(status: int, code: str) -> Response:
            return json_response(status, {"error": code})

        if tenantId != THRIVE_TENANT_ID:
            return oauth_error(400, "invalid_request")
        if "application/x-www-form-urlencoded" not in request.header("content-type"):
            return oauth_error(400, "invalid_request")
        form = parse_qs(request.body.decode("utf-8", "replace"))
        if form.get("grant_type", [""])[-1] != "client_credentials":
            return oauth_error(400, "unsupported_grant_type")
        scope = form.get("scope", [""])[-1]
        if scope and any(s not in _SCOPES for s in scope.split()):
            return oauth_error(400, "invalid_scope")
        credentials = basic_credentials(request) or (
            form.get("client_id", [""])[-1],
            form.get("client_secret", [""])[-1],
        )
        if credentials != (THRIVE_CLIENT_ID, THRIVE_CLIENT_SECRET):
            return oauth_error(401, "invalid_client")
        lifetime = int(self.tokens.lifetime_s)
        return json_response(
            200,
            {
                "access_token": self.tokens.mint(frozenset(scope.split())),
                "token_type": "Bearer",
                "expires_in": lifetime,
            },
        )

    # --- envelope lists -------------------------------------------------------------------

    def _paging(self, request: Request) -> tuple[int, int]:
        page = int_arg(request, "page", 1, low=1)
        per_page = int_arg(request, "perPage", DEFAULT_PER_PAGE, low=1, high=MAX_PER_PAGE)
        return page, per_page

    def _envelope(
        self,
        request: Request,
        listing: Listing,
        bounds: Callable[[], tuple[int, int]] | None = None,
        *,
        positions: np.ndarray | None = None,
        page_size: int | None = None,
    ) -> Response:
        """One page of a list: rows ``bounds()`` of the table, or the rows at ``positions``.

        ``page_size`` replaces ``perPage`` (``/audiences`` pages by its ``limit``).
        """
        page, per_page = self._paging(request)
        per_page = page_size or per_page
        table = listing.table
        if positions is None:
            start, stop = bounds() if bounds else (0, len(table))
            positions = np.arange(start, stop, dtype=np.int64)
            contiguous = True
        else:
            start, contiguous = 0, False
        total = len(positions)
        chosen = self._arriving(request, positions[(page - 1) * per_page : page * per_page])
        if contiguous and len(chosen):
            results = table.json_array(int(chosen[0]), int(chosen[-1]) + 1)
        else:
            results = table.json_array_at(chosen)
        body = self._wrapped(request, total, page, per_page, results)
        if page == 1:
            switch = self.faults.switch("grow_during_pull", request.raw_path)
            if switch is not None:
                self._grow(listing, start, switch.extra)
        return bytes_json_response(200, body, records=len(chosen))

    def _arriving(self, request: Request, chosen: np.ndarray) -> np.ndarray:
        """The rows of a page that reach the client (a ``truncate`` switch drops the rest)."""
        switch = self.faults.switch("truncate", request.raw_path, consume=True)
        if switch is None:
            return chosen
        return chosen[: math.floor(len(chosen) * switch.keep)]

    def _wrapped(
        self, request: Request, total: int, page: int, per_page: int, results: bytes
    ) -> bytes:
        """The envelope around a page's records, without ``pagination`` when switched off."""
        if self.faults.switch("omit_pagination", request.raw_path):
            return b"".join((b'{"results":', results, b"}"))
        return _envelope_bytes(total, page, per_page, results)

    def _users(self, request: Request) -> Response:
        """``/users``: the statuses asked for (``statuses``, comma-separated, or ``status``),
        less ``omitStatuses``; with none named, the mode's default statuses."""
        wanted = _names(request, "statuses") or _names(request, "status")
        unknown = [s for s in wanted if s not in USER_STATUSES]
        if unknown:
            raise BadRequest(f"unknown status {unknown[0]!r}; use {', '.join(USER_STATUSES)}")
        chosen = set(wanted or self.faults.modes.thrive_default_statuses)
        chosen -= set(_names(request, "omitStatuses"))
        table = self.users.table
        statuses = np.array(table.column("status").raw(np.arange(len(table))), dtype=object)
        positions = np.flatnonzero(np.isin(statuses, list(chosen))).astype(np.int64)
        return self._envelope(request, self.users, positions=positions)

    def _audiences(self, request: Request) -> Response:
        """``/audiences`` pages by ``limit`` (1..100, default 100), as its page documents."""
        limit = int_arg(request, "limit", AUDIENCES_LIMIT, low=1, high=AUDIENCES_LIMIT)
        return self._envelope(request, self.audiences, page_size=limit)

    def _grow(self, listing: Listing, at: int, extra: int) -> None:
        """New records appear at the front of the list: totals grow, later pages shift."""
        with self._lock:
            table = listing.table
            if len(table) == 0:
                return
            at = min(at, len(table) - 1)
            sources = [(at + i) % len(table) for i in range(extra)]
            values = table.raw_rows(sources)
            values[listing.id_column] = [
                f"{0xFEED << 72 | next(self._new_ids):024x}" for _ in sources
            ]
            keys = None
            if listing.key_column and table.keys is not None:
                keys = [int(table.keys[at])] * extra
                values[listing.key_column] = keys
            table.insert(at, values, keys)
            if listing is self.entries:
                self._entry_users = np.insert(self._entry_users, at, self._entry_users[sources])
                self._entry_minutes = np.insert(
                    self._entry_minutes, at, self._entry_minutes[sources]
                )
                self._summary_cache.clear()

    def _single(self, table: Table, record_id: str, what: str) -> Response:
        position = table.position(record_id)
        if position is None:
            raise NotFound(f"no {what} with id {record_id}")
        return bytes_json_response(200, table.json_object(position), records=1)

    def _user_by_ref(self, request: Request, ref: str) -> Response:
        table = self.users.table
        found = np.flatnonzero(table.column("ref").equals(ref, 0, len(table)))
        if not len(found):
            raise NotFound(f"no user with ref {ref}")
        return bytes_json_response(200, table.json_object(int(found[0])), records=1)

    def _audience_id(self, key: str) -> str:
        if key in self.members:
            return key
        if key in self._audience_by_reference:
            return self._audience_by_reference[key]
        raise NotFound(f"no audience with id or reference {key}")

    def _audience(self, request: Request, id: str) -> Response:
        return self._single(self.audiences.table, self._audience_id(id), "audience")

    def _audience_members(self, request: Request, id: str) -> Response:
        return self._envelope(request, self.members[self._audience_id(id)])

    def _whole_day(self) -> bool:
        return self.faults.modes.thrive_date_only_to == "end_of_day"

    def _cpd_entries(self, request: Request) -> Response:
        low = thrive_instant(request, "entryDateFrom", forms="entries")
        high = thrive_instant(request, "entryDateTo", forms="entries", whole_day=self._whole_day())
        _check_order(low, high, "entryDateFrom", "entryDateTo")
        return self._envelope(
            request, self.entries, lambda: self.entries.table.key_range(low, high)
        )

    def _summaries(self, request: Request) -> Response:
        for name in ("entryDateFrom", "entryDateTo"):
            if request.arg(name) is None:
                raise BadRequest(f"{name} is required")
        low = thrive_instant(request, "entryDateFrom", forms="summaries")
        high = thrive_instant(request, "entryDateTo", forms="summaries")
        _check_order(low, high, "entryDateFrom", "entryDateTo")
        page, per_page = self._paging(request)
        with self._lock:
            start, stop = self.entries.table.key_range(low, high)
            totals = self._summary_cache.get((start, stop))
            if totals is None:
                totals = np.bincount(
                    self._entry_users[start:stop],
                    weights=self._entry_minutes[start:stop],
                    minlength=len(self._user_codes),
                ).astype(np.int64)
                self._summary_cache[start, stop] = totals
        users = np.arange(len(self._user_codes))
        wanted = request.arg("userIds")
        if wanted:
            codes = self._user_codes.get_indexer(
                pd.Index([u.strip() for u in wanted.split(",") if u.strip()])
            )
            users = np.unique(codes[codes >= 0])
        total = len(users)
        chosen = self._arriving(request, users[(page - 1) * per_page : page * per_page])
        minutes = totals[chosen] + self._offsets[chosen]
        objects = [
            f'{{"userId":{uid},"durationMinutes":{m}}}'
            for uid, m in zip(self._user_id_column.take(chosen), minutes.tolist(), strict=True)
        ]
        body = self._wrapped(request, total, page, per_page, join_objects(objects).encode())
        return bytes_json_response(200, body, records=len(objects))

    # --- completions (bare array) ---------------------------------------------------------

    def _list_completions(self, request: Request) -> Response:
        page, per_page = self._paging(request)
        low = thrive_instant(request, "completedDateRangeStart", forms="completions")
        high = thrive_instant(
            request, "completedDateRangeEnd", forms="completions", whole_day=self._whole_day()
        )
        _check_order(low, high, "completedDateRangeStart", "completedDateRangeEnd")
        table = self.completions
        start, stop = table.key_range(low, high)
        filters = {
            name: request.arg(name)
            for name in ("userId", "contentId", "isRPL")
            if request.arg(name)
        }
        first = (page - 1) * per_page
        if not filters:
            lo = min(stop, start + first)
            hi = min(stop, lo + per_page)
            return bytes_json_response(200, table.json_array(lo, hi), records=hi - lo)
        mask = np.ones(stop - start, dtype=bool)
        for name, value in filters.items():
            if name == "isRPL":
                if value not in ("true", "false"):
                    raise BadRequest(f"isRPL must be true or false (got {value!r})")
                mask &= table.column(name).equals(value == "true", start, stop)
            else:
                mask &= table.column(name).equals(value, start, stop)
        positions = (start + np.flatnonzero(mask))[first : first + per_page]
        return bytes_json_response(200, table.json_array_at(positions), records=len(positions))

    def _completion(self, request: Request, id: str) -> Response:
        return self._single(self.completions, id, "completion")

    def _create_completion(self, request: Request) -> Response:
        try:
            body = json.loads(request.body or b"null")
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("the body is not valid JSON") from None
        if not isinstance(body, dict):
            return self.error(
                422, "the body must be a JSON object with userId, contentId, completedAt"
            )
        missing = [
            k
            for k in ("userId", "contentId", "completedAt")
            if not isinstance(body.get(k), str) or not body.get(k)
        ]
        if missing:
            return self.error(422, f"missing or empty: {', '.join(missing)}")
        user, content, when = body["userId"], body["contentId"], body["completedAt"]
        try:
            stamp = pd.Timestamp(dt.datetime.fromisoformat(when.replace("Z", "+00:00")))
        except ValueError:
            return self.error(422, f"completedAt {when!r} is not an ISO 8601 timestamp")
        if stamp.tzinfo is None:
            stamp = stamp.tz_localize("UTC")
        instant = int(stamp.tz_convert("UTC").as_unit("ns").value)
        if user not in self._completion_users:
            return self.error(422, f"unknown user {user}")
        if content not in self._content_ids:
            return self.error(422, f"unknown content {content}")
        with self._lock:
            keys = self._existing_completions()
            existing = keys.get((user, content, instant))
            if existing is not None:
                return json_response(200, {"statementId": existing}, records=1)
            new_id = f"{0xC0FFEE << 64 | next(self._new_ids):024x}"
            table = self.completions
            assert table.keys is not None
            at = int(np.searchsorted(table.keys, instant, side="right"))
            values = {
                "id": [new_id],
                "userId": [user],
                "contentId": [content],
                "completedAt": [instant],
                "isRPL": [False],
            }
            table.insert(at, values, [instant])
            keys[user, content, instant] = new_id
        return json_response(201, {"statementId": new_id}, records=1)

    def _existing_completions(self) -> dict[tuple[str, str, int], str]:
        if self._completion_keys is None:
            f = self._completion_frame
            self._completion_keys = dict(
                zip(
                    zip(
                        f["userId"].astype(str).tolist(),
                        f["contentId"].astype(str).tolist(),
                        f["_key"].tolist(),
                        strict=True,
                    ),
                    f["id"].astype(str).tolist(),
                    strict=True,
                )
            )
        return self._completion_keys


def _pagination(total: int, page: int, per_page: int) -> str:
    return (
        f'{{"totalResults":{total},"totalPages":{math.ceil(total / per_page)},'
        f'"page":{page},"perPage":{per_page}}}'
    )


def _names(request: Request, name: str) -> list[str]:
    """A list parameter, comma-separated or repeated."""
    values = request.query.get(name) or []
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _envelope_bytes(total: int, page: int, per_page: int, results: bytes) -> bytes:
    """The envelope around a page's records already rendered as a JSON array."""
    head = f'{{"pagination":{_pagination(total, page, per_page)},"results":'.encode()
    return b"".join((head, results, b"}"))


def _check_order(low: int | None, high: int | None, low_name: str, high_name: str) -> None:
    if low is not None and high is not None and low > high:
        raise BadRequest(f"{low_name} is after {high_name}")
