"""Thrive Learning public API loader (DESIGN.md §1, §9; seeds 000, 001, 003).

THE FIELD MAPPING for every Thrive table is ``TABLES`` below: correct it here if your tenant
spells a field differently. Everything else in this module only decides what to ask for.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import numpy as np
import pandas as pd
from requests.auth import AuthBase

from reconcile.config import ThriveSource, secret
from reconcile.progress import NullProgress, Progress
from reconcile.sources.auth import BasicAuth, authenticated_client, client_credentials
from reconcile.sources.base import SourcePull, Window, utc_text
from reconcile.sources.columns import ArrowPages, ArrowRecords, Column, dedupe, frame, join_records
from reconcile.sources.http import HttpClient, HttpPolicy
from reconcile.sources.paging import ListRequest, envelope_lists, sequential_array

PER_PAGE = 1000  # the largest page Thrive allows


@dataclass(frozen=True)
class Table:
    endpoint: str
    columns: tuple[Column, ...]
    keys: tuple[str, ...]


C = Column
TABLES: dict[str, Table] = {
    "users": Table(
        "/users",
        (
            C("id", "id", "id"),
            C("ref", "ref", "str"),
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
            C("updated_at", "updatedAt", "datetime"),
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
            C("description", "description", "str"),
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


def _key_path(table: Table) -> str:
    """The wire field of a one-column key ("" for a composite key or one added by us)."""
    paths = {column.name: column.path for column in table.columns}
    return paths.get(table.keys[0], "") if len(table.keys) == 1 else ""


# Pages are read straight into Arrow columns where they can be (see columns.ArrowPages).
DECODERS = {
    name: ArrowPages(table.columns, envelope=name != "completions", key_path=_key_path(table))
    for name, table in TABLES.items()
}
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


def pull(client: HttpClient, window: Window, *, progress: Progress | None = None) -> SourcePull:
    """Every Thrive table for the period; see docs/sources.md for columns and dtypes."""
    progress = progress or NullProgress()
    task = f"{client.source} lists"
    progress.start(task)
    result = SourcePull(client.source, client.base_url, stats=client.stats)

    # Completions are a bare array, paged one after another: run that chain in its own
    # thread from the start so its latency overlaps with the parallel lists.
    completions: dict[str, Any] = {}
    chain = threading.Thread(
        target=_capture, args=(completions, _completions, client, window, progress), daemon=True
    )
    chain.start()

    detail = {
        "entryDateFrom": window.detail_from.isoformat(),
        "entryDateTo": window.detail_to.isoformat(),
    }
    exact = {"entryDateFrom": utc_text(window.exact_from), "entryDateTo": utc_text(window.exact_to)}
    lists = {
        "users": {},
        "cpd_categories": {},
        "requirements": {},
        "cpd_entries": detail,
        "user_log_summaries": exact,
        "contents": {},
    }
    requests = [
        ListRequest(
            TABLES[name].endpoint, params, endpoint=TABLES[name].endpoint, decode=DECODERS[name]
        )
        for name, params in lists.items()
    ]
    try:
        # The audiences come first (one page): their members' requests then go out with the
        # other lists' first pages instead of after every page of every list.
        audiences = envelope_lists(
            client, [_list_request("audiences")], per_page=PER_PAGE, progress=progress, task=task
        )[0]
        _add(result, "audiences", audiences)
        members = _member_requests(result)
        pulled = envelope_lists(
            client, requests + members, per_page=PER_PAGE, progress=progress, task=task
        )
        _add_members(result, members, pulled[len(requests) :])
        for name, records in zip(lists, pulled, strict=False):
            extra = None
            if name == "user_log_summaries":
                n = len(records)
                extra = {
                    "entry_date_from": ("datetime", [exact["entryDateFrom"]] * n),
                    "entry_date_to": ("datetime", [exact["entryDateTo"]] * n),
                }
            _add(result, name, records, extra)
        _contents_in_minutes(result)
    finally:
        chain.join()
    if "error" in completions:
        raise completions["error"]
    _add(result, "completions", completions["records"])
    progress.finish(task)
    return result


def _list_request(name: str) -> ListRequest:
    table = TABLES[name]
    return ListRequest(table.endpoint, endpoint=table.endpoint, decode=DECODERS[name])


def _member_requests(result: SourcePull) -> list[ListRequest]:
    """One members list per audience, tagged with the audience id asked about."""
    audience_ids = result.tables["audiences"]["id"].dropna().tolist()
    return [
        ListRequest(
            f"/audiences/{quote(str(audience_id), safe='')}/members",
            endpoint=TABLES["audience_members"].endpoint,
            tag=audience_id,
            decode=DECODERS["audience_members"],
        )
        for audience_id in audience_ids
    ]


def _add_members(result: SourcePull, requests: list[ListRequest], members: list[Any]) -> None:
    flat = join_records(members)
    owners = [
        req.tag for req, group in zip(requests, members, strict=True) for _ in range(len(group))
    ]
    _add(result, "audience_members", flat, {"audience_id": ("id", owners)})


def _capture(box: dict[str, Any], fn: Any, *args: Any) -> None:
    try:
        box["records"] = fn(*args)
    except BaseException as exc:  # handed to the caller's thread
        box["error"] = exc


def _completions(
    client: HttpClient, window: Window, progress: Progress
) -> list[dict[str, Any]] | ArrowRecords:
    table = TABLES["completions"]
    request = ListRequest(
        table.endpoint,
        {
            "completedDateRangeStart": window.detail_from.isoformat(),
            "completedDateRangeEnd": window.detail_to.isoformat(),
        },
        endpoint=table.endpoint,
        decode=DECODERS["completions"],
    )
    return sequential_array(
        client,
        request,
        page_size=PER_PAGE,
        params_for=lambda index, _fetched: {"page": index + 1, "perPage": PER_PAGE},
        id_of=lambda record: record.get("id") if isinstance(record, dict) else None,
        progress=progress,
        task=f"{client.source} lists",
        read_ahead=client.policy.concurrency > 1,
        id_path="id",
    )


def _add(
    result: SourcePull,
    name: str,
    records: list[dict[str, Any]] | ArrowRecords,
    extra: dict[str, tuple[str, Any]] | None = None,
) -> None:
    table = TABLES[name]
    built = frame(records, table.columns, extra=extra)
    dropped = 0
    if not (isinstance(records, ArrowRecords) and records.keys_distinct()):
        built, dropped = dedupe(
            built, table.keys, stats=result.stats, label=f"{result.source} {table.endpoint}"
        )
    result.add(name, built, table.endpoint, dropped)


def _contents_in_minutes(result: SourcePull) -> None:
    """Content durations as whole minutes (half up), whatever unit the tenant reports."""
    contents = result.tables["contents"]
    unit = contents["duration_unit"].str.lower().fillna("minutes")
    factor = unit.map(UNIT_MINUTES).to_numpy(dtype="float64", na_value=np.nan)
    values = contents["duration_minutes"].to_numpy(dtype="float64", na_value=np.nan)
    minutes = pd.Series(np.floor(values * factor + 0.5), index=contents.index)
    contents["duration_minutes"] = minutes.astype("Int64")
