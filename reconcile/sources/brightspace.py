"""D2L Brightspace (Valence) loader: users, CPD records and target progress (DESIGN.md §9).

THE FIELD MAPPING for every Brightspace table is ``USERS``/``RECORDS``/``TARGETS``/
``TARGET_CATEGORIES`` below: correct it here if your tenant differs.

Category and method lookups (``GET cpd/category/{id}``, ``cpd/method/{id}``) are not made:
a RecordSummary already carries ``CategoryName`` and ``MethodName`` (and no ids to look up),
and target progress carries each category's ``{Id, Name}``. Asking again would only cost
requests against the rate limit.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from reconcile.config import BrightspaceSource
from reconcile.progress import NullProgress, Progress
from reconcile.sources.auth import authenticated_client, brightspace_auth
from reconcile.sources.base import SourcePull, Window, add_table, utc_text
from reconcile.sources.canonical_map import Derived, Fixed, ToCanonical, as_text, full_name
from reconcile.sources.columns import Column
from reconcile.sources.http import HttpClient, HttpPolicy
from reconcile.sources.paging import BookmarkPages, ListRequest, NextLinkPages, fetch_list

RECORDS_LIMIT = 100  # the largest CPD records page Brightspace allows

C = Column
USERS = (
    C("user_id", "UserId", "id"),
    C("org_defined_id", "OrgDefinedId", "str"),
    C("external_email", "ExternalEmail", "str"),
    C("user_name", "UserName", "str"),
    C("first_name", "FirstName", "str"),
    C("last_name", "LastName", "str"),
    C("is_active", "Activation.IsActive", "bool"),
)
RECORDS = (  # Cpd.RecordSummary
    C("record_id", "RecordId", "id"),
    C("record_name", "RecordName", "str"),
    C("category_name", "CategoryName", "str"),
    C("method_name", "MethodName", "str"),
    C("is_structured", "IsStructured", "bool"),
    C("record_state_id", "RecordStateId", "int"),
    C("credit_minutes", "CreditMinutes", "int"),
    C("date_completed", "DateCompleted", "datetime"),
)
TARGETS = (  # Cpd.TargetProgress
    C("start_date", "StartDate", "datetime"),
    C("end_date", "EndDate", "datetime"),
    C("structured_numerator", "Structured.Numerator", "int"),
    C("structured_denominator", "Structured.Denominator", "int"),
    C("unstructured_numerator", "Unstructured.Numerator", "int"),
    C("unstructured_denominator", "Unstructured.Denominator", "int"),
)
TARGET_CATEGORIES = (  # TargetProgress.CategoryProgress[]
    C("category_id", "Category.Id", "id"),
    C("category_name", "Category.Name", "str"),
    C("structured_numerator", "Structured.Numerator", "int"),
    C("structured_denominator", "Structured.Denominator", "int"),
    C("unstructured_numerator", "Unstructured.Numerator", "int"),
    C("unstructured_denominator", "Unstructured.Denominator", "int"),
)


#: Each pulled Brightspace table → the canonical table it feeds (applied by canonical_build.py).
CANONICAL = (
    ToCanonical(
        "users",
        "accounts",
        {
            "system": Fixed("brightspace"),
            "account_id": "user_id",
            "email": "external_email",
            "external_ref": "org_defined_id",
            "name": full_name("first_name", "last_name"),
        },
    ),
    ToCanonical(
        "records",
        "activities",
        {
            "system": Fixed("brightspace"),
            "record_id": as_text("record_id"),
            "account_id": "user_id",
            "title": "record_name",
            "category": "category_name",
            "structured": "is_structured",
            "minutes": "credit_minutes",
            "completed_at": "date_completed",
            "state": Derived(  # RecordStateId 2 is a draft: pending, not counted
                lambda records: (
                    records["record_state_id"]
                    .eq(2)
                    .fillna(False)
                    .map({True: "draft", False: "published"})
                )
            ),
        },
    ),
    ToCanonical(
        "targets",
        "targets",
        {
            "system": Fixed("brightspace"),
            "account_id": "user_id",
            "structured_required": "structured_denominator",
            "unstructured_required": "unstructured_denominator",
            "structured_done": "structured_numerator",
            "unstructured_done": "unstructured_numerator",
        },
    ),
)


def routes(source: BrightspaceSource) -> dict[str, str]:
    le, lp = source.le_version, source.lp_version
    return {
        "users": f"/d2l/api/lp/{lp}/users/",
        "records": f"/d2l/api/le/{le}/cpd/record/user/{{userId}}",
        "targets": f"/d2l/api/le/{le}/cpd/target/progress/user/{{userId}}",
    }


def query_params(window: Window) -> tuple[dict[str, Any], dict[str, Any]]:
    """The query of a user's records (the period with a day's margin each side: the engine
    keeps each record by its local date) and of their target progress (exactly the period,
    since its figures are compared with the detail)."""
    records = {
        "limit": RECORDS_LIMIT,
        "startDate": utc_text(window.detail_from_instant),
        "endDate": utc_text(window.detail_to_instant),
    }
    targets = {"startDate": utc_text(window.exact_from), "endDate": utc_text(window.exact_to)}
    return records, targets


def make_client(source: BrightspaceSource, policy: HttpPolicy) -> HttpClient:
    """The client with the auth the config chooses: refresh token, private-key JWT or token."""
    return authenticated_client(source, brightspace_auth(source), policy)


def pull(
    client: HttpClient,
    window: Window,
    source: BrightspaceSource,
    *,
    progress: Progress | None = None,
) -> SourcePull:
    """Users, then per user their CPD records and target progress."""
    progress = progress or NullProgress()
    task = f"{client.source} users+records"
    progress.start(task)
    paths = routes(source)
    result = SourcePull(client.source, client.base_url, stats=client.stats)
    records_params, target_params = query_params(window)

    def per_user(item: tuple[str, str]) -> Any:
        kind, user_id = item
        path = paths[kind].format(userId=quote(user_id, safe=""))
        if kind == "records":
            request = ListRequest(path, records_params, endpoint=paths["records"])
            return fetch_list(client, request, NextLinkPages, progress=progress, task=task)
        body = client.get_json(
            path, params=target_params, endpoint=paths["targets"], missing_ok=True
        )
        progress.advance(task, pages=1, records=1 if body else 0)
        return body

    users = fetch_list(
        client,
        ListRequest(paths["users"], endpoint=paths["users"], key="UserId"),
        BookmarkPages,
        progress=progress,
        task=task,
    )
    user_ids = list(dict.fromkeys(uid for uid in map(_user_id, users) if uid is not None))
    answers = client.map(per_user, [(kind, uid) for uid in user_ids for kind in KINDS])
    per_user_records = [(uid, answers[2 * i]) for i, uid in enumerate(user_ids)]
    per_user_targets = [(uid, answers[2 * i + 1]) for i, uid in enumerate(user_ids)]

    add_table(client, result, "users", users, USERS, paths["users"], ("user_id",))
    _add_records(client, result, paths, per_user_records)
    _add_targets(client, result, paths, window, per_user_targets)
    progress.finish(task)
    return result


def _add_records(
    client: HttpClient,
    result: SourcePull,
    paths: dict[str, str],
    per_user_records: list[tuple[str, Any]],
) -> None:
    """Every user's CPD records as one table, each row with the user it was asked for."""
    owners = [uid for uid, group in per_user_records for _ in group]
    records = [r for _, group in per_user_records for r in group]
    add_table(
        client,
        result,
        "records",
        records,
        RECORDS,
        paths["records"],
        ("user_id", "record_id"),
        extra={"user_id": ("id", owners)},
    )


def _add_targets(
    client: HttpClient,
    result: SourcePull,
    paths: dict[str, str],
    window: Window,
    per_user_targets: list[tuple[str, Any]],
) -> None:
    """Each user's target progress (a user with none has no row) and its categories."""
    present = [(uid, body) for uid, body in per_user_targets if isinstance(body, dict)]
    n = len(present)
    add_table(
        client,
        result,
        "targets",
        [body for _, body in present],
        TARGETS,
        paths["targets"],
        ("user_id",),
        extra={
            "user_id": ("id", [uid for uid, _ in present]),
            "requested_start": ("datetime", [utc_text(window.exact_from)] * n),
            "requested_end": ("datetime", [utc_text(window.exact_to)] * n),
        },
    )
    categories = [
        (uid, c)
        for uid, body in present
        for c in (body.get("CategoryProgress") or [])
        if isinstance(c, dict)
    ]
    add_table(
        client,
        result,
        "target_categories",
        [c for _, c in categories],
        TARGET_CATEGORIES,
        paths["targets"],
        ("user_id", "category_id"),
        extra={"user_id": ("id", [uid for uid, _ in categories])},
    )


KINDS = ("records", "targets")


def _user_id(item: Any) -> str | None:
    value = item.get("UserId") if isinstance(item, dict) else None
    return None if value is None else str(value)
