"""Reach each configured API once (``reconcile check --sources``), and say what is wrong.

Why a separate, gentler path than :func:`reconcile.sources.pull_all`: a user checking a new
config wants an answer per platform in seconds, not the pull's patient retries, and wants
every platform's answer even when the first one fails. So every source is probed at the same
time with one cheap authenticated request through the same HTTP core (same auth objects,
same error lines), a short timeout and at most one retry, and each outcome comes back as a
:class:`ProbeResult` instead of an exception. The library only reports; ``cli.py`` prints.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import requests

from reconcile.config import BrightspaceSource, Config, CoursepathSource, ThriveSource
from reconcile.errors import ConfigError, SourceError
from reconcile.sources import brightspace, coursepath, make_client, thrive
from reconcile.sources.base import Window
from reconcile.sources.columns import Column, dig
from reconcile.sources.http import HttpClient, HttpPolicy, redact

__all__ = ["ProbeResult", "field_warnings", "probe_policy", "probe_sources"]

PROBE_PAGE = 20  # records per probe page: enough to see whether a field is ever filled

Outcome = Literal["ok", "missing_secret", "auth", "forbidden", "not_found", "unreachable", "failed"]

PROBE_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class ProbeResult:
    """One source's answer to a probe: ``ok`` with how long it took, or a one-line error.

    ``outcome`` says which kind of failure it was (``missing_secret`` is a config problem,
    exit 2; the others are source failures, exit 3). ``url`` and ``message`` never hold a secret.
    """

    source: str
    outcome: Outcome
    seconds: float
    url: str
    status: int | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def probe_policy(config: Config) -> HttpPolicy:
    """A short total wait: the config's timeout capped at 10 s, one quick retry."""
    return HttpPolicy(
        concurrency=1,
        timeout_seconds=min(config.http.timeout_seconds, PROBE_TIMEOUT_SECONDS),
        max_retries=1,
        max_wait_seconds=2.0,
        backoff_base_seconds=0.25,
        backoff_cap_seconds=1.0,
    )


def probe_sources(config: Config, *, policy: HttpPolicy | None = None) -> list[ProbeResult]:
    """Probe every configured source at once; results in the config's order.

    Never raises for a source's failure: a missing secret, a refused credential, a wrong base
    URL or a host that does not answer each become that source's :class:`ProbeResult`.
    """
    chosen = policy or probe_policy(config)
    sources = list(config.sources.values())
    if not sources:
        return []
    with ThreadPoolExecutor(max_workers=len(sources), thread_name_prefix="probe") as pool:
        return list(pool.map(lambda source: _probe_one(source, chosen), sources))


# What each platform is asked: the cheapest authenticated list, and how to recognise its answer.
def _request_for(source: Any) -> tuple[str, dict[str, Any], Callable[[Any], bool]]:
    if isinstance(source, ThriveSource):
        return "/users", {"page": 1, "perPage": 1}, _has_key("results")
    if isinstance(source, BrightspaceSource):
        return brightspace.routes(source)["users"], {}, _has_key("Items")
    if isinstance(source, CoursepathSource):
        return "/members", {"offset": 0, "limit": 1}, lambda body: isinstance(body, list)
    raise TypeError(f"not a source config: {source!r}")


def _has_key(key: str) -> Callable[[Any], bool]:
    return lambda body: isinstance(body, dict) and key in body


def _probe_one(source: Any, policy: HttpPolicy) -> ProbeResult:
    path, params, looks_right = _request_for(source)
    name = source.name
    url = _shown(f"{source.base_url.rstrip('/')}/{path.lstrip('/')}", name)
    started = time.perf_counter()
    try:
        with make_client(source, policy) as client:
            body = client.get_json(path, params=params, endpoint=path)
    except ConfigError as exc:
        return ProbeResult(name, "missing_secret", 0.0, url, message=str(exc))
    except SourceError as exc:
        return _failure(source, url, exc, time.perf_counter() - started)
    except (requests.RequestException, ValueError) as exc:  # a URL that cannot be sent
        message = (
            f"{name}: cannot send a request to {url} ({type(exc).__name__}); "
            f"check [sources.{name}] base_url"
        )
        return ProbeResult(name, "unreachable", time.perf_counter() - started, url, None, message)
    seconds = time.perf_counter() - started
    if not looks_right(body):
        message = (
            f"{name}: GET {url} answered, but not the way the {name} API does; "
            f"check [sources.{name}] base_url (it should end where the API's routes begin)"
        )
        return ProbeResult(name, "failed", seconds, url, 200, message)
    return ProbeResult(name, "ok", seconds, url, 200)


def _shown(url: str, name: str) -> str:
    """The URL without secrets, or a pointer to the config when it cannot even be parsed."""
    try:
        return redact(url)
    except ValueError:
        return f"the URL in [sources.{name}] base_url"


def _failure(source: Any, url: str, exc: SourceError, seconds: float) -> ProbeResult:
    """Name the kind of failure; keep the core's one line where it already says the fix."""
    name = source.name
    status = exc.status
    text = str(exc)
    if status == 401:
        return ProbeResult(name, "auth", seconds, exc.url or url, status, text)
    if status == 403:
        return ProbeResult(name, "forbidden", seconds, exc.url or url, status, text)
    if status == 404:
        return ProbeResult(name, "not_found", seconds, exc.url or url, status, text)
    if status is None:
        why = "timed out" if "timed out" in text else "connection failed"
        message = (
            f"{name}: could not reach {url} ({why}); check [sources.{name}] base_url "
            "(scheme, host and port), any proxy settings, and that the service is up"
        )
        return ProbeResult(name, "unreachable", seconds, url, None, message)
    if 200 <= status < 300:
        message = (
            f"{name}: GET {url} answered with something that is not JSON; "
            f"check [sources.{name}] base_url (it may point at a web page, not the API)"
        )
        return ProbeResult(name, "failed", seconds, url, status, message)
    if 300 <= status < 400:
        message = (
            f"{name}: GET {url} was redirected (HTTP {status}); check [sources.{name}] base_url "
            "(https rather than http, or the API's exact address)"
        )
        return ProbeResult(name, "failed", seconds, url, status, message)
    return ProbeResult(name, "failed", seconds, exc.url or url, status, text)


# -- mapped fields ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sample:
    """One probe page of a table, the mapping it is read with, and where that mapping is."""

    table: str
    records: list[Any]
    columns: tuple[Column, ...]
    mapping: str


def field_warnings(
    config: Config, sources: list[str], *, policy: HttpPolicy | None = None
) -> list[str]:
    """One line per mapped field that no record of its table's probe page fills.

    A field the tenant names differently (or does not send: ``duration`` on Thrive
    contents, every ``completedAt`` null on Coursepath) would otherwise become a column of
    blanks, and credit would quietly go missing. Each line names the field, the column it
    feeds and where its mapping lives, so it can be corrected against the tenant. Only
    ``sources`` (those that answered their probe) are asked; a probe page that fails is
    reported as such.
    """
    chosen = policy or probe_policy(config)
    window = Window.of(config.period, config.organisation.timezone)
    lines: list[str] = []
    for name in sources:
        source = config.sources[name]
        try:
            with make_client(source, chosen) as client:
                samples = _samples(client, source, window)
        except (SourceError, ConfigError) as exc:
            lines.append(f"{name}: could not read the probe pages for field checks: {exc}")
            continue
        for sample in samples:
            lines.extend(_unfilled(name, sample))
    return lines


def _unfilled(name: str, sample: _Sample) -> list[str]:
    if not sample.records:
        return []
    lines = []
    for column in sample.columns:
        if column.optional:
            continue
        if all(dig(record, column.path) is None for record in sample.records):
            lines.append(
                f"{name}: {sample.table}: none of the {len(sample.records)} records of the "
                f"probe page has {column.path} (read into column {column.name}); if your "
                f"tenant names it differently, correct the mapping in {sample.mapping}"
            )
    return lines


def _samples(client: HttpClient, source: Any, window: Window) -> list[_Sample]:
    if isinstance(source, ThriveSource):
        return _thrive_samples(client, window)
    if isinstance(source, BrightspaceSource):
        return _brightspace_samples(client, source, window)
    return _coursepath_samples(client)


def _thrive_samples(client: HttpClient, window: Window) -> list[_Sample]:
    dates = thrive.query_windows(window)
    small = {"page": 1, "perPage": PROBE_PAGE}
    samples = []

    def sample(name: str, path: str, params: dict[str, Any]) -> list[Any]:
        body = client.get_json(path, params={**small, **params}, endpoint=path)
        records = body.get("results") if isinstance(body, dict) else body
        records = records if isinstance(records, list) else []
        table = thrive.TABLES[name]
        samples.append(
            _Sample(name, records, table.columns, f"reconcile/sources/thrive.py TABLES[{name!r}]")
        )
        return records

    for name, table in thrive.TABLES.items():
        if name == "audience_members":
            continue
        params: dict[str, str | int] = dict(dates.get(name, {}))
        if name == "audiences":
            params["limit"] = PROBE_PAGE
        records = sample(name, table.endpoint, params)
        if name == "audiences" and records and isinstance(records[0], dict):
            audience = str(records[0].get("id", ""))
            path = thrive.TABLES["audience_members"].endpoint.replace(
                "{audienceId}", quote(audience, safe="")
            )
            sample("audience_members", path, {})
    return samples


def _brightspace_samples(
    client: HttpClient, source: BrightspaceSource, window: Window
) -> list[_Sample]:
    paths = brightspace.routes(source)
    records_params, target_params = brightspace.query_params(window)
    body = client.get_json(paths["users"], endpoint=paths["users"])
    users = body.get("Items") if isinstance(body, dict) else None
    users = [u for u in users or [] if isinstance(u, dict)][:PROBE_PAGE]
    where = "reconcile/sources/brightspace.py"
    samples = [_Sample("users", users, brightspace.USERS, f"{where} USERS")]
    records: list[Any] = []
    targets: list[Any] = []
    for user in users[:5]:
        user_id = quote(str(user.get("UserId")), safe="")
        page = client.get_json(
            paths["records"].format(userId=user_id),
            params={**records_params, "limit": PROBE_PAGE},
            endpoint=paths["records"],
        )
        objects = page.get("Objects") if isinstance(page, dict) else None
        records.extend(o for o in objects or [] if isinstance(o, dict))
        target = client.get_json(
            paths["targets"].format(userId=user_id),
            params=target_params,
            endpoint=paths["targets"],
            missing_ok=True,
        )
        if isinstance(target, dict):
            targets.append(target)
        if records and targets:
            break
    samples.append(_Sample("records", records, brightspace.RECORDS, f"{where} RECORDS"))
    samples.append(_Sample("targets", targets, brightspace.TARGETS, f"{where} TARGETS"))
    return samples


def _coursepath_samples(client: HttpClient) -> list[_Sample]:
    where = "reconcile/sources/coursepath.py"
    small = {"offset": 0, "limit": PROBE_PAGE}
    ends = coursepath.ENDPOINTS

    def page(path: str, endpoint: str) -> list[Any]:
        body = client.get_json(path, params=small, endpoint=endpoint)
        return [r for r in body if isinstance(r, dict)] if isinstance(body, list) else []

    members = page(ends["members"], ends["members"])
    courses = page(ends["courses"], ends["courses"])
    samples = [
        _Sample("members", members, coursepath.MEMBER, f"{where} MEMBER"),
        _Sample("courses", courses, coursepath.COURSE, f"{where} COURSE"),
    ]
    results: list[Any] = []
    for course in courses[:3]:
        course_id = quote(str(course.get("id")), safe="")
        enrolled = page(
            ends["course_members"].replace("{courseId}", course_id), ends["course_members"]
        )
        for member in enrolled[:5]:
            result = client.get_json(
                ends["results"].format(
                    courseId=course_id, memberId=quote(str(member.get("id")), safe="")
                ),
                endpoint=ends["results"],
                missing_ok=True,
            )
            if isinstance(result, dict):
                results.append(result)
        if results:
            break
    samples.append(_Sample("results", results, coursepath.RESULT, f"{where} RESULT"))
    return samples
