"""Pull every configured platform into typed tables (DESIGN.md §1, §2, §9).

``pull_all(config, progress=...)`` is the one entry point: it builds one HTTP client per
configured source (one session, one worker pool), runs that platform's loader for the
config's period and returns the tables keyed by ``(source, table)`` with request statistics.
Column names and dtypes of every table are in docs/sources.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from reconcile.config import BrightspaceSource, Config, CoursepathSource, ThriveSource
from reconcile.progress import NullProgress, Progress
from reconcile.sources import brightspace, coursepath, thrive
from reconcile.sources.base import SourcePull, Window
from reconcile.sources.http import HttpClient, HttpPolicy, RequestStats, redact
from reconcile.sources.saved import PullProgress, SavedAnswers

__all__ = [
    "TABLES",
    "HttpPolicy",
    "PullResult",
    "RequestStats",
    "SourcePull",
    "Window",
    "make_client",
    "pull_all",
    "pull_source",
]

TABLES: dict[str, tuple[str, ...]] = {
    "thrive": (
        "users",
        "audiences",
        "audience_members",
        "cpd_categories",
        "requirements",
        "cpd_entries",
        "user_log_summaries",
        "contents",
        "completions",
    ),
    "brightspace": ("users", "records", "targets", "target_categories"),
    "coursepath": ("members", "courses", "course_members", "results", "groups", "group_members"),
}


@dataclass
class PullResult:
    """All sources' tables keyed by ``(source, table)``, plus per-source pulls and stats."""

    sources: dict[str, SourcePull] = field(default_factory=dict)

    @property
    def tables(self) -> dict[tuple[str, str], pd.DataFrame]:
        return {(s, t): df for s, pull in self.sources.items() for t, df in pull.tables.items()}

    @property
    def stats(self) -> dict[str, dict[str, Any]]:
        return {name: pull.stats.as_dict() for name, pull in self.sources.items()}


def make_client(source: Any, policy: HttpPolicy) -> HttpClient:
    """The HTTP client (auth from the environment) for one configured source."""
    if isinstance(source, ThriveSource):
        return thrive.make_client(source, policy)
    if isinstance(source, BrightspaceSource):
        return brightspace.make_client(source, policy)
    if isinstance(source, CoursepathSource):
        return coursepath.make_client(source, policy)
    raise TypeError(f"not a source config: {source!r}")


def pull_source(
    source: Any,
    window: Window,
    *,
    policy: HttpPolicy,
    progress: Progress | None = None,
    saved: SavedAnswers | None = None,
) -> SourcePull:
    """Pull one platform's tables with its own client, closed afterwards.

    ``saved``: the source's answers of an earlier, interrupted run of this pull (they are
    handed back instead of asked for again) and where this run's answers are kept.
    """
    with make_client(source, policy) as client:
        client.saved = saved
        if isinstance(source, ThriveSource):
            pulled = thrive.pull(client, window, progress=progress)
        elif isinstance(source, BrightspaceSource):
            pulled = brightspace.pull(client, window, source, progress=progress)
        else:
            pulled = coursepath.pull(client, window, progress=progress)
    pulled.base_url = redact(source.base_url)
    order = TABLES.get(pulled.source, ())
    pulled.tables = dict(sorted(pulled.tables.items(), key=lambda kv: _rank(order, kv[0])))
    return pulled


def _rank(order: tuple[str, ...], table: str) -> int:
    """Tables in the documented order, whatever order the loader finished them in."""
    return order.index(table) if table in order else len(order)


def pull_all(
    config: Config,
    *,
    progress: Progress | None = None,
    policy: HttpPolicy | None = None,
    saved: PullProgress | None = None,
) -> PullResult:
    """Pull every configured source for the config's period; raises SourceError on failure.

    ``policy`` overrides ``[http]`` (tests use tiny backoffs); a source's own ``concurrency``
    still applies. ``saved`` keeps the pull's progress so that ``--resume`` can continue it
    (``saved.py``).
    """
    progress = progress or NullProgress()
    window = Window.of(config.period, config.organisation.timezone)
    result = PullResult()
    for name, source in config.sources.items():
        source_policy = policy or HttpPolicy.from_config(
            config.http, concurrency=source.concurrency
        )
        result.sources[name] = pull_source(
            source,
            window,
            policy=source_policy,
            progress=progress,
            saved=saved.answers(name) if saved is not None else None,
        )
    return result
