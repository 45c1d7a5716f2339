"""D2L Brightspace (Valence) CPD and user routes served from an Organisation.

Served below ``/brightspace``: ``/d2l/api/lp/{v}/users/`` (PagedResultSet, fixed pages of 100),
``/d2l/api/le/{v}/cpd/record/user/{userId}`` (ObjectListPage, ``limit`` 1..100 and
``recordIdBookmark``), target progress, category and method lookups, and a client-credentials
token endpoint at ``/core/connect/token``. Every API response carries D2L's rate-limit headers;
with a configured limit the credit bucket empties and calls get 429 + ``Retry-After``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import numpy as np
import pandas as pd

from reconcile.sandbox.faults import CreditBucket, Faults
from reconcile.sandbox.model import Organisation
from reconcile.sandbox.platform import (
    BRIGHTSPACE_CLIENT_ID,
    BRIGHTSPACE_CLIENT_SECRET,
    BRIGHTSPACE_TOKEN,
    Platform,
    RefreshTokens,
    TokenStore,
    basic_credentials,
    bearer_token,
    brightspace_app_jwks,
    brightspace_app_key,
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
    bool_arg,
    bytes_json_response,
    format_instant_ms,
    instant_ns,
    int_arg,
    json_response,
    route,
    utc_datetime,
)

USERS_PAGE = 100
MAX_LIMIT = 100
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_LIFETIME_S = 600
DEFAULT_PORTS = {"http": "80", "https": "443"}
DEFAULT_LIMIT = 20
REQUEST_COST = 10
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def _version_ok(version: str, *, minimum: int) -> bool:
    found = re.fullmatch(r"1\.(\d{1,2})", version)
    return found is not None and int(found.group(1)) >= minimum


class Brightspace(Platform):
    name = "brightspace"
    prefix = "/brightspace"

    def __init__(
        self,
        org: Organisation,
        tokens: TokenStore,
        faults: Faults,
        bucket: CreditBucket,
        refresh: RefreshTokens,
    ) -> None:
        self.tokens = tokens
        self.faults = faults
        self.bucket = bucket
        self.refresh = refresh
        self._jtis: set[str] = set()
        self._jti_lock = threading.Lock()
        tokens.register(BRIGHTSPACE_TOKEN)  # the trial token expires like any other
        self._build_users(org.bs_users)
        self._build_records(org.bs_records)
        self._targets = org.bs_targets.set_index("UserId")
        self._categories = org.bs_categories.sort_values(["SortOrder", "Id"]).reset_index(drop=True)
        self._lookups = {
            "category": {int(r["Id"]): _field(r) for r in org.bs_categories.to_dict("records")},
            "method": {int(r["Id"]): _field(r) for r in org.bs_methods.to_dict("records")},
        }
        self.routes = self._routes()

    def _build_users(self, users: pd.DataFrame) -> None:
        f = users.sort_values("UserId").reset_index(drop=True)
        self.user_ids = f["UserId"].to_numpy(dtype=np.int64)
        self.users = Table(
            '{"UserId":%s,"OrgDefinedId":%s,"ExternalEmail":%s,"UserName":%s,'
            '"FirstName":%s,"MiddleName":null,"LastName":%s,"Activation":{"IsActive":%s}}',
            {
                "UserId": IntColumn(f["UserId"]),
                "OrgDefinedId": TextColumn(f["OrgDefinedId"]),
                "ExternalEmail": TextColumn(f["ExternalEmail"]),
                "UserName": TextColumn(f["UserName"]),
                "FirstName": TextColumn(f["FirstName"]),
                "LastName": TextColumn(f["LastName"]),
                "IsActive": BoolColumn(f["IsActive"]),
            },
            id_column="UserId",
        )
        self._user_text = {
            c: f[c].astype("string").str.lower().fillna("").to_numpy(dtype=object)
            for c in ("OrgDefinedId", "UserName", "ExternalEmail")
        }

    def _build_records(self, records: pd.DataFrame) -> None:
        """Records sorted by user, then newest first: one user's list is one slice."""
        f = records.assign(_when=instant_ns(records["DateCompleted"]))
        f = f.sort_values(
            ["UserId", "_when", "RecordId"], ascending=[True, False, False], kind="stable"
        ).reset_index(drop=True)
        self._records = f
        self.rec_user = f["UserId"].to_numpy(dtype=np.int64)
        self.rec_when = f["_when"].to_numpy(dtype=np.int64)
        self.rec_id = f["RecordId"].to_numpy(dtype=np.int64)
        self.rec_state = f["RecordStateId"].to_numpy(dtype=np.int64)
        self.rec_structured = f["IsStructured"].to_numpy(dtype=bool)
        self.rec_minutes = f["CreditMinutes"].to_numpy(dtype=np.int64)
        self.rec_category = f["CategoryId"].to_numpy(dtype=np.int64)
        self.rec_method = f["MethodId"].to_numpy(dtype=np.int64)
        self.rec_name = f["RecordName"].astype("string").str.lower().fillna("").to_numpy(object)
        self.summaries = Table(
            '{"RecordId":%s,"RecordName":%s,"CategoryName":%s,"MethodName":%s,'
            '"IsStructured":%s,"RecordStateId":%s,"CreditMinutes":%s,"DateCompleted":%s}',
            {
                "RecordId": IntColumn(f["RecordId"]),
                "RecordName": TextColumn(f["RecordName"]),
                "CategoryName": TextColumn(f["CategoryName"]),
                "MethodName": TextColumn(f["MethodName"]),
                "IsStructured": BoolColumn(f["IsStructured"]),
                "RecordStateId": IntColumn(f["RecordStateId"]),
                "CreditMinutes": IntColumn(f["CreditMinutes"]),
                "DateCompleted": InstantColumn(f["DateCompleted"]),
            },
            id_column="RecordId",
        )

    def tables(self) -> Iterable[Table]:
        return [self.users, self.summaries]

    def _routes(self) -> list[Route]:
        le = "/d2l/api/le/{version}/cpd"
        return [
            route("POST", "/core/connect/token", self._token),
            route("GET", "/d2l/api/lp/{version}/users/", self._users),
            route("GET", "/d2l/api/lp/{version}/users", self._users),
            route("GET", "/d2l/api/lp/{version}/users/{userId}", self._user),
            route("GET", f"{le}/record/user/{{userId}}", self._records_of_user),
            route("GET", f"{le}/record/{{recordId}}", self._record),
            route("GET", f"{le}/target/progress/user/{{userId}}", self._progress),
            route("GET", f"{le}/category/{{fieldId}}", self._field_lookup("category")),
            route("GET", f"{le}/method/{{fieldId}}", self._field_lookup("method")),
        ]

    # --- platform hooks -------------------------------------------------------------------

    def error(self, status: int, message: str) -> Response:
        response = json_response(
            status,
            {
                "type": "about:blank",
                "title": _TITLES.get(status, "Error"),
                "status": status,
                "detail": message,
            },
        )
        response.content_type = "application/problem+json; charset=utf-8"
        return response

    def authenticate(self, request: Request, route: Route) -> Response | None:
        if route.template == "/core/connect/token":
            return None
        token = bearer_token(request)
        if token is None:
            return self.error(401, "no bearer token: send Authorization: Bearer <token>")
        state = self.tokens.state(token)
        if state == "valid":
            return None
        if state == "expired":
            return self.error(401, "the bearer token has expired")
        return self.error(401, "the bearer token is invalid")

    def admit(self, request: Request) -> tuple[Response | None, list[tuple[str, str]]]:
        if not request.path.startswith("/d2l/"):
            return None, []
        allowed, remaining, reset = self.bucket.spend()
        if not allowed:
            response = self.error(429, "the rate limit for this minute is used up")
            response.headers.append(("Retry-After", reset))
            return response, []
        return None, [
            ("X-Rate-Limit-Remaining", str(remaining)),
            ("X-Rate-Limit-Reset", reset),
            ("X-Request-Cost", str(self.bucket.cost)),
        ]

    # --- token ----------------------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        """D2L's token endpoint: the refresh-token grant (the refresh token is replaced on
        every use and the old one refused from then on) and client credentials with a
        private-key JWT assertion. Client credentials with a client secret are refused, as
        D2L offers them for no unattended use."""
        form = parse_qs(request.body.decode("utf-8", "replace"))

        def field(name: str) -> str:
            return form.get(name, [""])[-1]

        grant = field("grant_type")
        if grant == "refresh_token":
            client = basic_credentials(request) or (field("client_id"), field("client_secret"))
            if client != (BRIGHTSPACE_CLIENT_ID, BRIGHTSPACE_CLIENT_SECRET):
                return _oauth_error(401, "invalid_client", "unknown client or wrong secret")
            renewed = self.refresh.redeem(field("refresh_token"))
            if renewed is None:
                return _oauth_error(
                    400, "invalid_grant", "the refresh token is unknown, used or revoked"
                )
            return self._issued(field("scope"), refresh_token=renewed)
        if grant == "client_credentials":
            if field("client_assertion_type") != ASSERTION_TYPE or not field("client_assertion"):
                return _oauth_error(
                    400,
                    "unauthorized_client",
                    "client credentials need a private-key JWT client assertion; a client "
                    "secret is not accepted",
                )
            audience = f"{request.host}{request.prefix}/core/connect/token"
            problem = self._assertion_problem(field("client_assertion"), audience)
            if problem:
                return _oauth_error(400, "invalid_client", problem)
            return self._issued(field("scope"))
        return _oauth_error(400, "unsupported_grant_type", f"grant_type {grant!r}")

    def _issued(self, scope: str, **extra: str) -> Response:
        return json_response(
            200,
            {
                "access_token": self.tokens.mint(),
                "token_type": "Bearer",
                "expires_in": int(self.tokens.lifetime_s),
                "scope": scope or "cpd:records:read cpd:targets:read users:userdata:read",
                **extra,
            },
        )

    def _assertion_problem(self, assertion: str, audience: str) -> str:
        """Why a client assertion is refused ("" when it is good): RS256 with the key the app
        registered (its JWKS ``kid``), ``iss`` = ``sub`` = the client id, ``aud`` = this token
        endpoint, an unexpired ``exp`` at most ten minutes ahead, and a ``jti`` never seen."""
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            return "the client assertion is not a JWT"
        key = brightspace_app_jwks()["keys"][0]
        if header.get("alg") != "RS256":
            return "the client assertion must be signed RS256"
        if header.get("kid") != key["kid"]:
            return "the client assertion's kid names no key of the app's JWKS"
        try:
            claims = jwt.decode(
                assertion,
                brightspace_app_key().public_key(),
                algorithms=["RS256"],
                audience=audience,
                options={"require": ["iss", "sub", "aud", "exp", "jti"]},
            )
        except jwt.PyJWTError as exc:
            return f"the client assertion was refused: {exc}"
        if claims["iss"] != BRIGHTSPACE_CLIENT_ID or claims["sub"] != BRIGHTSPACE_CLIENT_ID:
            return "iss and sub must both be the client id"
        if claims["exp"] > time.time() + MAX_ASSERTION_LIFETIME_S:
            return "the client assertion lives too long (exp)"
        with self._jti_lock:
            if claims["jti"] in self._jtis:
                return "this client assertion was used before (jti)"
            self._jtis.add(str(claims["jti"]))
        return ""

    # --- users ----------------------------------------------------------------------------

    def _check_lp(self, version: str) -> None:
        if not _version_ok(version, minimum=0):
            raise NotFound(f"unknown LP API version {version}")

    def _check_le(self, version: str) -> None:
        if not _version_ok(version, minimum=84):
            raise NotFound(f"unknown or too old LE API version {version} (CPD needs 1.84+)")

    def _users(self, request: Request, version: str) -> Response:
        self._check_lp(version)
        for column, param in (
            ("OrgDefinedId", "orgDefinedId"),
            ("ExternalEmail", "externalEmail"),
            ("UserName", "userName"),
        ):
            value = request.arg(param)
            if value is not None:
                found = np.flatnonzero(self._user_text[column] == value.strip().lower())
                if param == "userName":
                    if not len(found):
                        raise NotFound(f"no user with userName {value}")
                    return bytes_json_response(200, self.users.json_object(found[0]), records=1)
                return bytes_json_response(200, self.users.json_array_at(found), records=len(found))
        bookmark_text = request.arg("bookmark")
        start = 0
        if bookmark_text:
            if not re.fullmatch(r"\d{1,18}", bookmark_text):
                raise BadRequest(f"bookmark {bookmark_text!r} is not a user id")
            start = int(np.searchsorted(self.user_ids, int(bookmark_text), side="right"))
        stop = min(len(self.user_ids), start + USERS_PAGE)
        items = self.users.json_array(start, stop)
        more = stop < len(self.user_ids)
        bookmark = str(self.user_ids[stop - 1]) if stop > start else (bookmark_text or "")
        if self.faults.switch("repeat_bookmark", request.raw_path):
            bookmark, more = bookmark_text or "", True
        paging = (
            f'{{"Bookmark":{json.dumps(bookmark)},"HasMoreItems":{"true" if more else "false"}}}'
        )
        head = f'{{"PagingInfo":{paging},"Items":'.encode()
        return bytes_json_response(200, b"".join((head, items, b"}")), records=stop - start)

    def _user_position(self, user_text: str) -> int:
        if not re.fullmatch(r"\d{1,18}", user_text):
            raise NotFound(f"no user {user_text}")
        user = int(user_text)
        position = int(np.searchsorted(self.user_ids, user))
        if position >= len(self.user_ids) or self.user_ids[position] != user:
            raise NotFound(f"no user {user}")
        return position

    def _user(self, request: Request, version: str, userId: str) -> Response:
        self._check_lp(version)
        position = self._user_position(userId)
        return bytes_json_response(200, self.users.json_object(position), records=1)

    # --- records --------------------------------------------------------------------------

    def _user_slice(self, user_text: str) -> tuple[int, int, int]:
        self._user_position(user_text)
        user = int(user_text)
        start = int(np.searchsorted(self.rec_user, user, side="left"))
        stop = int(np.searchsorted(self.rec_user, user, side="right"))
        return user, start, stop

    def _filtered(self, request: Request, start: int, stop: int) -> np.ndarray:
        """Positions of the user's records that pass the query's filters (newest first)."""
        mask = np.ones(stop - start, dtype=bool)
        low = utc_datetime(request, "startDate")
        high = utc_datetime(request, "endDate")
        if low is not None:
            mask &= self.rec_when[start:stop] >= low
        if high is not None:
            mask &= self.rec_when[start:stop] <= high
        for param, column in (("methodId", self.rec_method), ("categoryId", self.rec_category)):
            if request.arg(param) is not None:
                mask &= column[start:stop] == int_arg(request, param, 0, low=0)
        name = request.arg("recordName")
        if name:
            needle = name.lower()
            mask &= np.array([needle in n for n in self.rec_name[start:stop]], dtype=bool)
        return start + np.flatnonzero(mask)

    def _records_of_user(self, request: Request, version: str, userId: str) -> Response:
        self._check_le(version)
        _, start, stop = self._user_slice(userId)
        limit = int_arg(request, "limit", DEFAULT_LIMIT, low=1, high=MAX_LIMIT)
        ascending = bool_arg(request, "sortDateAscending", False)
        positions = self._filtered(request, start, stop)
        if request.arg("recordStateId") is not None:
            state = int_arg(request, "recordStateId", 1, low=1, high=2)
            positions = positions[self.rec_state[positions] == state]
        if ascending:
            positions = positions[::-1]
        bookmark_text = request.arg("recordIdBookmark")
        first = 0
        if bookmark_text:
            if not re.fullmatch(r"\d{1,18}", bookmark_text):
                raise BadRequest(f"recordIdBookmark {bookmark_text!r} is not a record id")
            at = np.flatnonzero(self.rec_id[positions] == int(bookmark_text))
            if not len(at):
                raise BadRequest(f"recordIdBookmark {bookmark_text} is not a record of this list")
            first = int(at[0]) + 1
        page = positions[first : first + limit]
        objects = self.summaries.json_array_at(page)
        next_url = None
        if first + limit < len(positions):
            next_url = self._next_url(request, str(self.rec_id[page[-1]]))
        if self.faults.switch("repeat_bookmark", request.raw_path):
            next_url = self._next_url(request, bookmark_text)
        head = f'{{"Next":{json.dumps(next_url)},"Objects":'.encode()
        return bytes_json_response(200, b"".join((head, objects, b"}")), records=len(page))

    def _next_url(self, request: Request, bookmark: str | None) -> str:
        params = [
            (k, v) for k, values in request.query.items() for v in values if k != "recordIdBookmark"
        ]
        if bookmark:
            params.append(("recordIdBookmark", bookmark))
        query = urlencode(params)
        origin = _next_origin(request.host, self.faults.modes.brightspace_next)
        return f"{origin}{request.prefix}{request.path}" + (f"?{query}" if query else "")

    def _record(self, request: Request, version: str, recordId: str) -> Response:
        self._check_le(version)
        found = np.flatnonzero(self.rec_id == int(recordId)) if recordId.isdigit() else np.array([])
        if not len(found):
            raise NotFound(f"no CPD record {recordId}")
        r = self._records.iloc[int(found[0])]
        return json_response(
            200,
            {
                "RecordId": int(r.RecordId),
                "Name": str(r.RecordName),
                "UserId": int(r.UserId),
                "Category": self._lookups["category"].get(int(r.CategoryId)),
                "Method": self._lookups["method"].get(int(r.MethodId)),
                "IsStructured": bool(r.IsStructured),
                "IssuedId": None,
                "DateCompleted": format_instant_ms(int(r._when)),
                "Grade": None,
                "GradeObjectId": None,
                "CreditMinutes": int(r.CreditMinutes),
                "Attachments": None,
                "Answers": [],
                "RecordStateId": int(r.RecordStateId),
            },
            records=1,
        )

    def _progress(self, request: Request, version: str, userId: str) -> Response:
        """Numerators from PUBLISHED records in range; the planted offset goes to Unstructured."""
        self._check_le(version)
        user, start, stop = self._user_slice(userId)
        positions = self._filtered(request, start, stop)
        positions = positions[self.rec_state[positions] == 1]
        structured = self.rec_structured[positions]
        minutes = self.rec_minutes[positions]
        target: Any = self._targets.loc[user] if user in self._targets.index else None
        offset = int(target["OffsetMinutes"]) if target is not None else 0
        categories = []
        for category in self._categories.to_dict("records"):
            in_category = self.rec_category[positions] == int(category["Id"])
            categories.append(
                {
                    "Category": _field(category),
                    "Structured": {
                        "Numerator": int(minutes[in_category & structured].sum()),
                        "Denominator": 0,
                    },
                    "Unstructured": {
                        "Numerator": int(minutes[in_category & ~structured].sum()),
                        "Denominator": 0,
                    },
                }
            )
        low, high = request.arg("startDate"), request.arg("endDate")
        body = {
            "StartDate": low,
            "EndDate": high,
            "Structured": {
                "Numerator": int(minutes[structured].sum()),
                "Denominator": int(target["StructuredDenominator"]) if target is not None else 0,
            },
            "Unstructured": {
                "Numerator": int(minutes[~structured].sum()) + offset,
                "Denominator": int(target["UnstructuredDenominator"]) if target is not None else 0,
            },
            "CategoryProgress": categories,
        }
        return json_response(200, body, records=1)

    def _field_lookup(self, kind: str):
        def handler(request: Request, version: str, fieldId: str) -> Response:
            self._check_le(version)
            found = self._lookups[kind].get(int(fieldId)) if fieldId.isdigit() else None
            if found is None:
                raise NotFound(f"no CPD {kind} {fieldId}")
            return json_response(200, found, records=1)

        return handler


def _oauth_error(status: int, code: str, description: str) -> Response:
    return json_response(status, {"error": code, "error_description": description})


def _next_origin(host: str, form: str) -> str:
    """The scheme and host a ``Next`` link names (``Modes.brightspace_next``)."""
    parts = urlsplit(host)
    scheme, netloc = parts.scheme, parts.netloc
    if form == "explicit_port" and parts.port is None:
        netloc = f"{netloc}:{DEFAULT_PORTS[scheme]}"
    elif form == "upper_case_host":
        netloc = netloc.upper()
    elif form == "other_scheme":
        scheme = "http" if scheme == "https" else "https"
    elif form == "foreign_host":
        netloc = "elsewhere.invalid" + (f":{parts.port}" if parts.port else "")
    return f"{scheme}://{netloc}"


def _field(row: Mapping[Any, Any]) -> dict[str, object]:
    """A category or method as D2L's CPD lookups show it."""
    return {
        "Id": int(row["Id"]),
        "Name": str(row["Name"]),
        "SortOrder": int(row["SortOrder"]),
        "InUse": bool(row["InUse"]),
    }
