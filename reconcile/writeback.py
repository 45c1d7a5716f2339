"""Write completions earned elsewhere back to Thrive (DESIGN.md §3, §7 Write-back, §9).

Why: a learner who passed a Coursepath course that the catalogue maps to a Thrive content
should see it in Thrive, and the next month's run should find it there. ``push_completions``
reads the run folder's ``result/`` (never re-reconciles), picks every ``unlogged_completion``
whose course has a ``thrive_content_id`` and whose person has a matched Thrive account, and
creates each one with ``POST /learning/completions`` through the shared HTTP core (its
session, auth, retries and worker pool).

Without ``apply`` nothing is sent: the plan is returned and written to
``writeback-plan.csv``. With ``apply`` every attempt is appended to ``writeback.csv`` as it
happens, so a re-run (after a failure, or by a monthly cron job) skips what is already done:
Thrive's answer 201 (created) and 200 (already existed) both count as done. Decisions where
DESIGN.md is silent are in docs/writeback.md.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reconcile.config import Config, ThriveSource
from reconcile.csvlog import AppendLog, read_log, write_csv_atomic
from reconcile.engine import Result
from reconcile.errors import ConfigError, InputError, SourceError
from reconcile.progress import NullProgress, Progress
from reconcile.result_store import read_result
from reconcile.runfolder import locked
from reconcile.sources import make_client
from reconcile.sources.http import RETRY_STATUSES, HttpClient, HttpPolicy, Reply

log = logging.getLogger(__name__)

LOG_FILE = "writeback.csv"
PLAN_FILE = "writeback-plan.csv"
ENDPOINT = "/learning/completions"
#: writeback.csv, one row per attempt, in this order.
LOG_COLUMNS = (
    "employee_id",
    "thrive_user_id",
    "content_id",
    "completed_at",
    "source_system",
    "record_id",
    "outcome",
    "http_status",
    "statement_id",
    "message",
    "time",
)
#: writeback-plan.csv (listing mode), one row per unlogged completion.
PLAN_COLUMNS = (
    "employee_id",
    "thrive_user_id",
    "content_id",
    "completed_at",
    "source_system",
    "record_id",
    "title",
    "outcome",
    "message",
)
WOULD_CREATE = "would create"
CREATED, EXISTED, REFUSED, FAILED, SKIPPED = "created", "existed", "refused", "failed", "skipped"
DONE = frozenset({CREATED, EXISTED})
#: Answers about one completion only, recorded so the others go on. 401, 403 and 404 say the
#: credentials, the API client's scope or the base URL are wrong for every completion alike:
#: they stop the push with one SourceError line (exit 3) instead of being repeated N times.
REFUSALS = frozenset(range(400, 500)) - {401, 403, 404, 407, 429}
#: After this many completions in a row failed even after the core's retries, Thrive is
#: taken to be down and the rest are not attempted (each would wait out the whole budget).
GIVE_UP_AFTER = 3


@dataclass(frozen=True)
class WritebackRow:
    """One unlogged completion and what happened to it (or would happen, when listing)."""

    employee_id: str
    thrive_user_id: str
    content_id: str
    completed_at: str  # UTC, ISO 8601 with Z, as sent to Thrive
    source_system: str
    record_id: str
    title: str
    outcome: str  # would create | created | existed | refused | failed | skipped
    message: str = ""  # why skipped, or the server's message for a refusal or failure
    http_status: int | None = None
    statement_id: str = ""


@dataclass(frozen=True)
class WritebackOutcome:
    """What ``push_completions`` did: counts, every row, and the CSV it wrote.

    ``planned``: completions to create this time (in listing mode, what would be sent).
    ``skipped`` includes those done in an earlier push; ``failed``: gave up after retries.
    """

    applied: bool
    planned: int
    created: int
    existed: int
    refused: int
    failed: int
    skipped: int
    rows: tuple[WritebackRow, ...]
    csv_path: Path
    stopped_early: bool = False

    @property
    def done(self) -> int:
        return self.created + self.existed

    @property
    def not_done(self) -> int:
        """Completions this push should have written and did not (refused or failed)."""
        return self.refused + self.failed


def push_completions(
    config: Config,
    run_dir: Path,
    *,
    apply: bool = False,
    progress: Progress | None = None,
    policy: HttpPolicy | None = None,
) -> WritebackOutcome:
    """List (default) or create in Thrive the run's unlogged completions that map to Thrive.

    ``policy`` overrides ``[http]`` (tests pass tiny backoffs). Raises ConfigError (exit 2)
    without ``[sources.thrive]`` or its secret, InputError (exit 2) for a folder that is not a
    run folder, SourceError (exit 3) when Thrive rejects the credentials, the API client's
    scope or the URL. A refusal of one completion is recorded, not raised.
    """
    source = thrive_source(config)
    run_dir = Path(run_dir)
    result = read_result(run_dir)
    with locked(run_dir, "push-completions"):
        return _push(config, source, run_dir, result, apply, progress, policy)


def _push(
    config: Config,
    source: ThriveSource,
    run_dir: Path,
    result: Result,
    apply: bool,
    progress: Progress | None,
    policy: HttpPolicy | None,
) -> WritebackOutcome:
    """:func:`push_completions` once the run folder is ours."""
    log_path = run_dir / LOG_FILE
    done = read_done(log_path)
    rows = plan(result, done)
    if not apply:
        path = _write_plan(run_dir / PLAN_FILE, rows)
        return _outcome(rows, path, applied=False)
    todo = [r for r in rows if r.outcome == WOULD_CREATE]
    skipped = [r for r in rows if r.outcome == SKIPPED]
    if not todo:
        return _outcome(skipped, log_path, applied=True)
    http = policy or HttpPolicy.from_config(config.http, concurrency=source.concurrency)
    breaker = _Breaker()
    progress = progress or NullProgress()
    task = f"{source.name} completions written back"
    progress.start(task)
    try:
        with make_client(source, http) as client, AppendLog(log_path, LOG_COLUMNS) as writer:

            def post(row: WritebackRow) -> WritebackRow:
                outcome = breaker.skip(row) or _post(client, row, breaker)
                writer.append(_log_values(outcome))
                progress.advance(task, records=1)
                return outcome

            sent = client.map(post, todo)
    finally:
        progress.finish(task)
    return _outcome([*sent, *skipped], log_path, applied=True, stopped=breaker.tripped)


def thrive_source(config: Config) -> ThriveSource:
    """The config's Thrive source; write-back has nowhere to write without one."""
    for source in config.sources.values():
        if isinstance(source, ThriveSource):
            return source
    raise ConfigError(
        f"{config.path.name}: no [sources.thrive] section, so there is no Thrive to write "
        "completions back to; add [sources.thrive] (base_url, tenant_id, auth, secret_env)"
    )


# -- the plan --------------------------------------------------------------------------------


def plan(result: Result, done: pd.DataFrame | None = None) -> list[WritebackRow]:
    """Every unlogged completion, each either to create (``would create``) or skipped with why.

    ``done``: rows of an earlier writeback.csv that succeeded (columns thrive_user_id,
    content_id, completed_at, outcome, time); those completions are skipped.
    """
    table = _candidates(result)
    if not len(table):
        return []
    reason = _skip_reasons(table)
    table["message"] = reason
    table = _skip_repeats(table)
    table = _skip_done(table, done)
    table["outcome"] = np.where(table["message"] == "", WOULD_CREATE, SKIPPED)
    table = table.sort_values(
        ["employee_id", "completed_at", "source_system", "record_id"], kind="stable"
    )
    columns = [f.name for f in fields(WritebackRow) if f.name in table.columns]
    records: list[dict[str, Any]] = table[columns].to_dict("records")  # type: ignore[assignment]
    return [WritebackRow(**record) for record in records]


def _candidates(result: Result) -> pd.DataFrame:
    """Unlogged completions joined to their completion row and the person's Thrive account."""
    comps = result.completions
    if "thrive_content_id" not in comps.columns:
        raise InputError(
            "the run folder's result/ was written by an older reconcile without Thrive content "
            "ids; run `reconcile report -c CONFIG --snapshot RUN_DIR/snapshot --out RUN_DIR` "
            "to rewrite it, then push again"
        )
    exc = result.exceptions
    unlogged = exc.loc[exc["type"] == "unlogged_completion", ["system", "record_id"]]
    keys = pd.DataFrame({c: _text(unlogged[c]) for c in ("system", "record_id")})
    wanted = ["employee_id", "course_id", "title", "completed_at", "thrive_content_id"]
    detail = pd.DataFrame({c: _text(comps[c]) for c in ("system", "record_id")})
    for column in wanted:
        detail[column] = comps[column] if column == "completed_at" else _text(comps[column])
    detail = detail.drop_duplicates(["system", "record_id"])
    table = keys.merge(detail, on=["system", "record_id"], how="left")
    accounts = _thrive_accounts(result.accounts)
    table = table.merge(accounts, left_on="employee_id", right_index=True, how="left")
    table["thrive_accounts"] = table["thrive_accounts"].fillna(0).astype("int64")
    return pd.DataFrame(
        {
            "employee_id": table["employee_id"].fillna(""),
            "thrive_user_id": table["thrive_user_id"].fillna(""),
            "content_id": table["thrive_content_id"].fillna("").str.strip(),
            "completed_at": _utc_text(table["completed_at"]),
            "source_system": table["system"].fillna(""),
            "record_id": table["record_id"].fillna(""),
            "title": table["title"].fillna(table["course_id"]).fillna(""),
            "thrive_accounts": table["thrive_accounts"],
        }
    ).reset_index(drop=True)


def _thrive_accounts(accounts: pd.DataFrame) -> pd.DataFrame:
    """Per employee id: how many matched Thrive accounts, and the (first) account id."""
    thrive = accounts[(accounts["system"] == "thrive") & (accounts["match"] == "matched")]
    frame = pd.DataFrame(
        {"employee_id": _text(thrive["employee_id"]), "account_id": _text(thrive["account_id"])}
    ).dropna()
    grouped = frame.groupby("employee_id", sort=False)["account_id"]
    return pd.DataFrame(
        {"thrive_accounts": grouped.size(), "thrive_user_id": grouped.first()}
    ).rename_axis("employee_id")


def _skip_reasons(table: pd.DataFrame) -> pd.Series:
    """Why a completion cannot be written back ("" when it can), first reason that applies."""
    several = (
        "the person has "
        + table["thrive_accounts"].astype(str)
        + " matched Thrive accounts; give the roster a thrive_id to choose one"
    ).to_numpy(dtype=object)
    conditions = [
        table["source_system"] == "thrive",
        table["content_id"] == "",
        table["employee_id"] == "",
        table["thrive_accounts"] == 0,
        table["thrive_accounts"] > 1,
        table["completed_at"] == "",
    ]
    choices: list[Any] = [
        "already in Thrive (a Thrive completion)",
        "the Courses sheet gives this course no thrive_content_id",
        "the completion's account matches nobody on the roster",
        "the person has no matched Thrive account",
        several,
        "the completion has no date",
    ]
    reasons = np.select(conditions, choices, default="")
    return pd.Series(reasons, index=table.index, dtype=object)


def _skip_repeats(table: pd.DataFrame) -> pd.DataFrame:
    """Two completions that would create the same Thrive completion: only the first is sent."""
    key = ["thrive_user_id", "content_id", "completed_at"]
    open_rows = table["message"] == ""
    ranked = table[open_rows]
    repeat = ranked.duplicated(key, keep="first")
    if repeat.any():
        first = ranked.groupby(key, sort=False)[["source_system", "record_id"]].transform("first")
        text = "the same Thrive completion as " + first["source_system"] + " " + first["record_id"]
        table.loc[repeat[repeat].index, "message"] = text[repeat]
    return table


def _skip_done(table: pd.DataFrame, done: pd.DataFrame | None) -> pd.DataFrame:
    """Completions a previous push already created (or found existing) are not sent again."""
    if done is None or not len(done):
        return table
    key = ["thrive_user_id", "content_id", "completed_at"]
    latest = done.drop_duplicates(key, keep="last")[[*key, "outcome", "time"]]
    flagged = table.merge(latest, on=key, how="left", suffixes=("", "_done"))
    hit = (flagged["message"] == "").to_numpy() & flagged["outcome"].notna().to_numpy()
    note = (
        "done in an earlier push ("
        + flagged["outcome"].fillna("")
        + " at "
        + flagged["time"].fillna("")
        + ")"
    )
    table = table.copy()
    table.loc[hit, "message"] = note[hit].to_numpy()
    return table


def _text(series: pd.Series) -> pd.Series:
    """Plain strings (NA stays NA), whatever the dtype: categorical, string, object."""
    text = series.astype("string").str.strip()
    return text.mask(text == "")


def _utc_text(series: pd.Series) -> pd.Series:
    """``2026-06-21T14:30:00.000Z``: UTC, milliseconds, Z (Thrive's own format); "" if none."""
    instants = pd.to_datetime(series, utc=True)
    text = instants.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"
    return text.where(instants.notna(), "").astype(object)


# -- posting ---------------------------------------------------------------------------------


def _post(client: HttpClient, row: WritebackRow, breaker: _Breaker) -> WritebackRow:
    """One completion; refusals and give-ups become the row's outcome, credentials raise."""
    body = {"userId": row.thrive_user_id, "contentId": row.content_id}
    body["completedAt"] = row.completed_at
    try:
        reply = client.request(
            "POST", ENDPOINT, json_body=body, endpoint=ENDPOINT, refusals=REFUSALS
        )
    except SourceError as error:
        if not _gave_up(error):
            raise
        breaker.failed()
        return _with(row, FAILED, str(error), error.status)
    breaker.answered()
    return _answered(row, reply)


def _gave_up(error: SourceError) -> bool:
    """A failure after the core's retries (down, overloaded, timing out), not a refusal."""
    status = error.status
    return status is None or status in RETRY_STATUSES or 200 <= status < 300


def _answered(row: WritebackRow, reply: Reply) -> WritebackRow:
    if not reply.ok:
        message = reply.message or f"HTTP {reply.status} without a message"
        return _with(row, REFUSED, message, reply.status)
    statement = reply.body.get("statementId") if isinstance(reply.body, dict) else None
    outcome = EXISTED if reply.status == 200 else CREATED
    return _with(row, outcome, "", reply.status, str(statement or ""))


def _with(
    row: WritebackRow, outcome: str, message: str, status: int | None, statement: str = ""
) -> WritebackRow:
    return WritebackRow(
        **{
            **{f.name: getattr(row, f.name) for f in fields(WritebackRow)},
            "outcome": outcome,
            "message": message,
            "http_status": status,
            "statement_id": statement,
        }
    )


class _Breaker:
    """Stops starting new requests once several in a row failed after all their retries."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_a_row = 0
        self.tripped = False

    def failed(self) -> None:
        with self._lock:
            self._in_a_row += 1
            self.tripped = self.tripped or self._in_a_row >= GIVE_UP_AFTER

    def answered(self) -> None:
        with self._lock:
            self._in_a_row = 0

    def skip(self, row: WritebackRow) -> WritebackRow | None:
        """The row as not attempted, once tripped; None while Thrive still answers."""
        if not self.tripped:
            return None
        message = (
            f"not attempted: {GIVE_UP_AFTER} completions in a row failed after retries, so "
            "Thrive looks down; re-run later (what is done is skipped)"
        )
        return _with(row, FAILED, message, None)


# -- the CSV files ---------------------------------------------------------------------------


def read_done(path: Path) -> pd.DataFrame:
    """Rows of writeback.csv that succeeded (created or existed); empty when there is none."""
    frame = read_log(path, LOG_COLUMNS, what="write-back log")
    return frame[frame["outcome"].isin(DONE)].reset_index(drop=True)


def _log_values(row: WritebackRow) -> dict[str, Any]:
    return {f.name: getattr(row, f.name) for f in fields(WritebackRow)}


def _write_plan(path: Path, rows: list[WritebackRow]) -> Path:
    """writeback-plan.csv, written to a temporary name and renamed."""
    table = ([getattr(row, column) for column in PLAN_COLUMNS] for row in rows)
    return write_csv_atomic(path, PLAN_COLUMNS, table)


def _outcome(
    rows: list[WritebackRow], path: Path, *, applied: bool, stopped: bool = False
) -> WritebackOutcome:
    counts = Counter(r.outcome for r in rows)
    return WritebackOutcome(
        applied=applied,
        planned=int(counts.get(WOULD_CREATE, 0))
        + sum(int(counts.get(o, 0)) for o in (CREATED, EXISTED, REFUSED, FAILED)),
        created=int(counts.get(CREATED, 0)),
        existed=int(counts.get(EXISTED, 0)),
        refused=int(counts.get(REFUSED, 0)),
        failed=int(counts.get(FAILED, 0)),
        skipped=int(counts.get(SKIPPED, 0)),
        rows=tuple(sorted(rows, key=_order)),
        csv_path=path,
        stopped_early=stopped,
    )


def _order(row: WritebackRow) -> tuple[str, ...]:
    return (row.employee_id, row.completed_at, row.source_system, row.record_id)
