"""Thrive Learning public API loader (DESIGN.md §1, §9; seeds 000, 001, 003).

THE FIELD MAPPING for every Thrive table is ``TABLES`` below: correct it here if your tenant
spells a field differently. Everything else in this module only decides what to ask for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import quote, urlsplit

import numpy as np
import pandas as pd
from requests.auth import AuthBase

from reconcile.config import ThriveSource, secret
from reconcile.progress import NullProgress, Progress
from reconcile.sources.auth import BasicAuth, authenticated_client, client_credentials
from reconcile.sources.base import SourcePull, Window, add_table
from reconcile.sources.canonical_map import Fixed, ToCanonical, full_name
from reconcile.sources.columns import Column
from reconcile.sources.http import HttpClient, HttpPolicy
from reconcile.sources.paging import (
    EnvelopePages,
    ListRequest,
    Paging,
    ShortPageEnd,
    fetch_list,
)

PER_PAGE = 1000  # the largest page Thrive allows
AUDIENCES_PAGE = 100  # /audiences also documents `limit` (at most 100): both are sent as 100
USER_STATUSES = "active,inactive,expired,new"  # every status, so leavers' CPD is matched


@dataclass(frozen=True)
class Table:
    endpoint: str
    columns: tuple[Column, ...]
    keys: tuple[str, ...]

    @property
    def wire_key(self) -> str:
        """The wire field that identifies one record of the list (for the paging guards)."""
        paths = {column.name: column.path for column in self.columns}
        return paths.get(self.keys[-1], "id")


C = Column
TABLES: dict[str, Table] = {
    "users": Table(
        "/users",
        (
            C("id", "id", "id"),
            C("ref", "ref", "str", optional=True),
            C("first_name", "firstName", "str"),
            C("last_name", "lastName", "str"),
            C("email", "email", "str"),
            C("status", "status", "str"),
        ),
        ("id",),
    ),
    "audiences": Table(
        "/audiences",
        (C("id", "id", "id"), C("name", "name", "str"), C("reference", "reference", "str")),
        ("id",),
    ),
    "audience_members": Table(
        "/audiences/{audienceId}/members",
        (
            C("user_id", "userId", "id"),
            C("reference", "reference", "str"),
            C("email", "email", "str"),
        ),
        ("audience_id", "user_id"),
    ),
    "cpd_categories": Table(
        "/cpdCategories",
        (C("category_id", "categoryId", "id"), C("name", "name", "str")),
        ("category_id",),
    ),
    "requirements": Table(
        "/cpdRequirementSummaries",
        (
            C("audience_requirement_id", "audienceRequirementId", "id"),
            C("audience_id", "audienceId", "id"),
            C("required_minutes", "requiredMinutes", "int"),
            C("created_at", "createdAt", "datetime"),
            C("updated_at", "updatedAt", "datetime", optional=True),
        ),
        ("audience_requirement_id",),
    ),
    "cpd_entries": Table(
        "/cpdEntries",
        (
            C("log_entry_id", "logEntryId", "id"),
            C("user_id", "userId", "id"),
            C("activity_type", "activity.type", "str"),
            C("activity_name", "activity.name", "str"),
            C("category_id", "category.categoryId", "id"),
            C("category_name", "category.name", "str"),
            C("entry_date", "entryDate", "datetime"),
            C("duration_minutes", "durationMinutes", "int"),
            C("description", "description", "str", optional=True),
            C("is_verified", "isVerified", "bool"),
        ),
        ("log_entry_id",),
    ),
    "user_log_summaries": Table(
        "/cpdUserLogSummaries",
        (C("user_id", "userId", "id"), C("duration_minutes", "durationMinutes", "int")),
        ("user_id",),
    ),
    "contents": Table(
        "/contents",
        (
            C("id", "id", "id"),
            C("title", "title", "str"),
            C("type", "type", "str"),
            C("duration_minutes", "duration.value", "float"),
            C("duration_unit", "duration.unit", "str"),
        ),
        ("id",),
    ),
    "completions": Table(
        "/learning/completions",
        (
            C("id", "id", "id"),
            C("user_id", "userId", "id"),
            C("content_id", "contentId", "id"),
            C("completed_at", "completedAt", "datetime"),
            C("is_rpl", "isRPL", "bool"),
        ),
        ("id",),
    ),
}


#: Each pulled Thrive table → the canonical table it feeds (applied by canonical_build.py).
CANONICAL = (
    ToCanonical(
        "users",
        "accounts",
        {
            "system": Fixed("thrive"),
            "account_id": "id",
            "email": "email",
            "external_ref": "ref",
            "name": full_name("first_name", "last_name"),
        },
    ),
    ToCanonical(
        "audiences", "audiences", {"audience_id": "id", "name": "name", "reference": "reference"}
    ),
    ToCanonical(
        "audience_members",
        "memberships",
        {"audience": "audience_id", "system": Fixed("thrive"), "account_id": "user_id"},
    ),
    ToCanonical(
        "requirements",
        "requirements",
        {
            "audience": "audience_id",
            "required_minutes": "required_minutes",
            "origin": Fixed("thrive"),
        },
    ),
    ToCanonical("cpd_categories", "categories", {"category": "name"}),
    ToCanonical(
        "cpd_entries",
        "activities",
        {
            "system": Fixed("thrive"),
            "record_id": "log_entry_id",
            "account_id": "user_id",
            "title": "activity_name",
            "category": "category_name",
            "minutes": "duration_minutes",
            "completed_at": "entry_date",
            "state": Fixed("published"),
        },
    ),
    ToCanonical(
        "user_log_summaries",
        "platform_totals",
        {"system": Fixed("thrive"), "account_id": "user_id", "minutes": "duration_minutes"},
    ),
    ToCanonical(  # a content's duration is the CPD value when the Courses sheet gives none
        "contents",
        "catalogue",
        {
            "system": Fixed("thrive"),
            "course_id": "id",
            "title": "title",
            "cpd_minutes": "duration_minutes",
            "origin": Fixed("content"),
        },
    ),
    ToCanonical(  # DESIGN §6.5: Thrive completions count as passed
        "completions",
        "completions",
        {
            "system": Fixed("thrive"),
            "record_id": "id",
            "account_id": "user_id",
            "course_id": "content_id",
            "completed_at": "completed_at",
            "passed": Fixed(True),
        },
    ),
)


UNIT_MINUTES = {"minutes": 1.0, "minute": 1.0, "hours": 60.0, "hour": 60.0, "seconds": 1 / 60}


def default_token_url(base_url: str, tenant_id: str) -> str:
    """``…/rest/v1`` → ``…/oauth2/token/{tenantId}`` (Thrive's documented token endpoint)."""
    if "/rest/" in base_url:
        return base_url.split("/rest/", 1)[0] + f"/oauth2/token/{tenant_id}"
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}/oauth2/token/{tenant_id}"


def make_client(source: ThriveSource, policy: HttpPolicy) -> HttpClient:
    """The HTTP client for one Thrive tenant, with Basic or OAuth2 auth from the environment."""
    if source.auth == "basic":
        auth: AuthBase = BasicAuth(
            source.tenant_id, secret(source.secret_env or "", key="sources.thrive.secret_env")
        )
    else:
        token_url = source.token_url or default_token_url(source.base_url, source.tenant_id)
        auth = client_credentials(source, token_url)
    return authenticated_client(source, auth, policy)


def thrive_datetime(moment: dt.datetime) -> str:
    """``2026-01-31 23:59:59``: the form Thrive documents for ``cpdEntries`` date filters."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def summary_datetime(moment: dt.datetime) -> str:
    """``2026-01-31T23:59:59``: the form Thrive documents for ``cpdUserLogSummaries`` (read
    as UTC: the vendor names no zone)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def query_windows(window: Window) -> dict[str, dict[str, str]]:
    """The date filters of each dated list, in the forms the vendor documents.

    Detail lists are over-fetched by a day on each side, with bounds no reading can shrink:
    ``cpdEntries`` ends at 23:59:59 of the day after the period (explicit, so a date-only
    bound read as midnight cannot cut off the period's last local evening west of UTC);
    completions take dates only, so their end is two days after the period (whole day or
    midnight, either reading covers the day after). The engine then keeps each record by
    its local date. Summaries are asked for exactly the period, as UTC instants.
    """
    start = dt.datetime.combine(window.detail_from, dt.time(0), tzinfo=dt.UTC)
    end = dt.datetime.combine(window.detail_to, dt.time(23, 59, 59), tzinfo=dt.UTC)
    return {
        "cpd_entries": {
            "entryDateFrom": thrive_datetime(start),
            "entryDateTo": thrive_datetime(end),
        },
        "completions": {
            "completedDateRangeStart": window.detail_from.isoformat(),
            "completedDateRangeEnd": (window.detail_to + dt.timedelta(days=1)).isoformat(),
        },
        "user_log_summaries": {
            "entryDateFrom": summary_datetime(window.exact_from),
            "entryDateTo": summary_datetime(window.exact_to),
        },
        "users": {"statuses": USER_STATUSES},
    }


@dataclass(frozen=True)
class _List:
    """One list to pull, the table it fills, and how it pages."""

    table: str
    request: ListRequest
    paging: Callable[[HttpClient, ListRequest], Paging]


def _list(name: str, params: dict[str, Any] | None = None) -> _List:
    table = TABLES[name]
    request = ListRequest(table.endpoint, params or {}, endpoint=table.endpoint, key=table.wire_key)
    if name == "completions":
        return _List(name, request, partial(ShortPageEnd, page_size=PER_PAGE))
    if name == "audiences":
        request = ListRequest(
            table.endpoint, {"limit": AUDIENCES_PAGE}, endpoint=table.endpoint, key="id"
        )
        return _List(name, request, partial(EnvelopePages, page_size=AUDIENCES_PAGE))
    return _List(name, request, partial(EnvelopePages, page_size=PER_PAGE))


def pull(client: HttpClient, window: Window, *, progress: Progress | None = None) -> SourcePull:
    """Every Thrive table for the period; see docs/sources.md for columns and dtypes."""
    progress = progress or NullProgress()
    task = f"{client.source} lists"
    progress.start(task)
    result = SourcePull(client.source, client.base_url, stats=client.stats)

    def fetch(item: _List) -> list[dict[str, Any]]:
        return fetch_list(client, item.request, item.paging, progress=progress, task=task)

    # The audiences come first (they are few): their members lists then go out together
    # with every other list. Completions, paged one after another, go first in the queue.
    audiences = fetch(_list("audiences"))
    add_table(client, result, "audiences", audiences, *_shape("audiences"))
    dates = query_windows(window)
    names = ("completions", "cpd_entries", "users", "user_log_summaries", "contents")
    lists = [_list(name, dates.get(name)) for name in (*names, "cpd_categories", "requirements")]
    members = _member_lists(result)
    pulled = client.map(fetch, lists + members)
    for item, records in zip(lists, pulled, strict=False):
        extra = None
        if item.table == "user_log_summaries":
            asked = dates["user_log_summaries"]
            n = len(records)
            extra = {
                "entry_date_from": ("datetime", [asked["entryDateFrom"] + "Z"] * n),
                "entry_date_to": ("datetime", [asked["entryDateTo"] + "Z"] * n),
            }
        add_table(client, result, item.table, records, *_shape(item.table), extra=extra)
    _add_members(client, result, members, pulled[len(lists) :])
    _contents_in_minutes(result)
    progress.finish(task)
    return result


def _shape(name: str) -> tuple[Any, ...]:
    table = TABLES[name]
    return table.columns, table.endpoint, table.keys


def _member_lists(result: SourcePull) -> list[_List]:
    """One members list per audience, tagged with the audience id asked about."""
    table = TABLES["audience_members"]
    audience_ids = result.tables["audiences"]["id"].dropna().tolist()
    return [
        _List(
            "audience_members",
            ListRequest(
                f"/audiences/{quote(str(audience_id), safe='')}/members",
                endpoint=table.endpoint,
                tag=audience_id,
                key=table.wire_key,
            ),
            partial(EnvelopePages, page_size=PER_PAGE),
        )
        for audience_id in audience_ids
    ]


def _add_members(
    client: HttpClient, result: SourcePull, lists: list[_List], members: list[Any]
) -> None:
    flat = [record for group in members for record in group]
    owners = [item.request.tag for item, group in zip(lists, members, strict=True) for _ in group]
    add_table(
        client,
        result,
        "audience_members",
        flat,
        *_shape("audience_members"),
        extra={"audience_id": ("id", owners)},
    )


def _contents_in_minutes(result: SourcePull) -> None:
    """Content durations as whole minutes (half up), whatever unit the tenant reports."""
    contents = result.tables["contents"]
    unit = contents["duration_unit"].str.lower().fillna("minutes")
    factor = unit.map(UNIT_MINUTES).to_numpy(dtype="float64", na_value=np.nan)
    values = contents["duration_minutes"].to_numpy(dtype="float64", na_value=np.nan)
    minutes = pd.Series(np.floor(values * factor + 0.5), index=contents.index)
    contents["duration_minutes"] = minutes.astype("Int64")
