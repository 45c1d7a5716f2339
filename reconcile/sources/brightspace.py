"""D2L Brightspace (Valence) loader: users, CPD records and target progress (DESIGN.md §9).

THE FIELD MAPPING for every Brightspace table is ``USERS``/``RECORDS``/``TARGETS``/
``TARGET_CATEGORIES`` below: correct it here if your tenant differs.

Category and method lookups (``GET cpd/category/{id}``, ``cpd/method/{id}``) are not made:
a RecordSummary already carries ``CategoryName`` and ``MethodName`` (and no ids to look up),
and target progress carries each category's ``{Id, Name}``. Asking again would only cost
requests against the rate limit.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from requests.auth import AuthBase

from reconcile.config import BrightspaceSource, secret
from reconcile.progress import NullProgress, Progress
from reconcile.sources.auth import StaticBearer, authenticated_client, client_credentials
from reconcile.sources.base import SourcePull, Window, utc_text
from reconcile.sources.columns import Column, dedupe, frame
from reconcile.sources.http import HttpClient, HttpPolicy
from reconcile.sources.paging import ListRequest, object_list_page, paged_result_set

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


def routes(source: BrightspaceSource) -> dict[str, str]:
    le, lp = source.le_version, source.lp_version
    return {
        "users": f"/d2l/api/lp/{lp}/users/",
        "records": f"/d2l/api/le/{le}/cpd/record/user/{{userId}}",
        "targets": f"/d2l/api/le/{le}/cpd/target/progress/user/{{userId}}",
    }


def make_client(source: BrightspaceSource, policy: HttpPolicy) -> HttpClient:
    """A bearer token from the environment, or OAuth2 client credentials."""
    if source.token_env:
        auth: AuthBase = StaticBearer(secret(source.token_env, key="sources.brightspace.token_env"))
    else:
        auth = client_credentials(
            source, source.token_url or f"{source.base_url}/core/connect/token"
        )
    return authenticated_client(source, auth, policy)


def pull(
    client: HttpClient,
    window: Window,
    source: BrightspaceSource,
    *,
    progress: Progress | None = None,
) -> SourcePull:
    """Users, then per user (as soon as each users page arrives) records and target progress."""
    progress = progress or NullProgress()
    task = f"{client.source} users+records"
    progress.start(task)
    paths = routes(source)
    result = SourcePull(client.source, client.base_url, stats=client.stats)
    records_params = {
        "limit": RECORDS_LIMIT,
        "startDate": utc_text(window.detail_from_instant),
        "endDate": utc_text(window.detail_to_instant),
    }
    target_params = {"startDate": utc_text(window.exact_from), "endDate": utc_text(window.exact_to)}

    def records_of(user_id: str) -> list[dict[str, Any]]:
        request = ListRequest(
            paths["records"].format(userId=user_id), records_params, endpoint=paths["records"]
        )
        return object_list_page(client, request, progress=progress, task=task)

    def target_of(user_id: str) -> Any:
        body = client.get_json(
            paths["targets"].format(userId=user_id),
            params=target_params,
            endpoint=paths["targets"],
            missing_ok=True,
        )
        progress.advance(task, pages=1, records=1 if body else 0)
        return body

    record_futures: list[tuple[str, Future[Any]]] = []
    target_futures: list[tuple[str, Future[Any]]] = []

    started: set[str] = set()

    def start_users(items: list[dict[str, Any]]) -> None:
        for item in items:
            user_id = _user_id(item)
            if user_id is None or user_id in started:
                continue  # a user listed twice (repeated bookmark) is asked about once
            started.add(user_id)
            record_futures.append((user_id, client.submit(records_of, user_id)))
            target_futures.append((user_id, client.submit(target_of, user_id)))

    try:
        users = paged_result_set(
            client,
            ListRequest(paths["users"], endpoint=paths["users"]),
            progress=progress,
            task=task,
            on_page=start_users,
        )
        per_user_records = [(uid, f.result()) for uid, f in record_futures]
        per_user_targets = [(uid, f.result()) for uid, f in target_futures]
    except BaseException:
        for _, f in record_futures + target_futures:
            f.cancel()
        raise

    _add(result, "users", frame(users, USERS), paths["users"], ("user_id",))
    owners = [uid for uid, group in per_user_records for _ in group]
    records = [r for _, group in per_user_records for r in group]
    _add(
        result,
        "records",
        frame(records, RECORDS, extra={"user_id": ("id", owners)}),
        paths["records"],
        ("user_id", "record_id"),
    )
    present = [(uid, body) for uid, body in per_user_targets if isinstance(body, dict)]
    n = len(present)
    _add(
        result,
        "targets",
        frame(
            [body for _, body in present],
            TARGETS,
            extra={
                "user_id": ("id", [uid for uid, _ in present]),
                "requested_start": ("datetime", [utc_text(window.exact_from)] * n),
                "requested_end": ("datetime", [utc_text(window.exact_to)] * n),
            },
        ),
        paths["targets"],
        ("user_id",),
    )
    categories = [(uid, c) for uid, body in present for c in body.get("CategoryProgress") or []]
    _add(
        result,
        "target_categories",
        frame(
            [c for _, c in categories],
            TARGET_CATEGORIES,
            extra={"user_id": ("id", [uid for uid, _ in categories])},
        ),
        paths["targets"],
        ("user_id", "category_id"),
    )
    progress.finish(task)
    return result


def _user_id(item: Any) -> str | None:
    value = item.get("UserId") if isinstance(item, dict) else None
    return None if value is None else str(value)


def _add(result: SourcePull, name: str, table: Any, endpoint: str, keys: tuple[str, ...]) -> None:
    table, dropped = dedupe(table, keys, stats=result.stats, label=f"{result.source} {endpoint}")
    result.add(name, table, endpoint, dropped)
