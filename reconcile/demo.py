"""``reconcile demo``: the whole story on the built-in sandbox, with no network or credentials.

It generates an organisation, writes HR's spreadsheets and a config the way a new user would
have them, serves the three platforms' APIs from the same organisation on 127.0.0.1, and runs
the pipeline against them. The demo folder is left behind on purpose: it is a working example
of a config and its spreadsheets that a user can copy and edit.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reconcile import config as config_module
from reconcile import runs
from reconcile.engine import Rules
from reconcile.progress import NullProgress, Progress
from reconcile.runs import RunOutcome

Echo = Callable[[str], None]


#: People the demo's previous-month roster has that the current one no longer has (leavers),
#: and people it shows in another department / under another manager (moves since then).
PREVIOUS_LEAVERS = 3
PREVIOUS_DEPARTMENT_MOVES = 3
PREVIOUS_MANAGER_MOVES = 3


@dataclass(frozen=True)
class DemoResult:
    """Where the demo put things, for the CLI to print and for tests to check."""

    folder: Path
    config: Path
    outcome: RunOutcome
    previous_config: Path | None = None
    previous: RunOutcome | None = None


def default_folder() -> Path:
    """``reports/demo`` under the current folder: ignored by git, easy to find after make demo."""
    return Path.cwd() / "reports" / "demo"


def run_demo(
    *,
    out: Path | None = None,
    people: int = 200,
    seed: int = 1,
    echo: Echo = lambda _message: None,
    progress: Progress | None = None,
) -> DemoResult:
    """Generate an organisation, serve it, and run last month's and this month's job on it.

    Run folders are named after the as-of month: ``reports/2026-10`` (previous month, its
    own roster in ``inputs/previous/`` and config ``reconcile-previous.toml``) and
    ``reports/2026-11`` (current month, compared with the previous one).
    """
    from reconcile.sandbox import Sandbox
    from reconcile.sandbox.generate import generate
    from reconcile.sandbox.spreadsheets import write_spreadsheets

    folder = (out or default_folder()).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    organisation = generate(people=people, seed=seed)
    previous_as_of = month_before(organisation.as_of)
    spreadsheets = write_spreadsheets(organisation, folder / "inputs")
    previous_sheets = write_previous_inputs(organisation, previous_as_of, folder, seed)
    echo(f"generated a sample organisation of {people:,} people (seed {seed})")
    with Sandbox(organisation) as sandbox:
        config_path = sandbox.write_config(folder, spreadsheets)
        previous_config = write_previous_config(sandbox, folder, previous_sheets, previous_as_of)
        _export_sandbox_credentials(sandbox.env())
        echo(f"sandbox serving Thrive, Brightspace and Coursepath at {sandbox.url}")
        previous = run_previous_month(previous_config, folder, echo, progress)
        outcome = run_current_month(config_path, folder, previous.folder, progress)
    writeback = plan_write_back(config_path, outcome.folder)
    emails = write_manager_emails(config_path, outcome.folder)
    _print_paths(folder, outcome, echo)
    echo(f"manager e-mails (.eml):  {len(emails.written)} in {emails.outbox}")
    echo(
        f"write-back (dry run):    {writeback.planned} completion(s) would be created in "
        f"Thrive, {writeback.skipped} skipped: {writeback.csv_path}"
    )
    echo(f"pipeline done in {time.perf_counter() - started:.1f} s")
    return DemoResult(folder, config_path, outcome, previous_config, previous)


def month_before(day: dt.date) -> dt.date:
    """The same day one month earlier (the month's last day when it has fewer days)."""
    year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(day.day, last))


def run_folder_for(folder: Path, as_of: dt.date) -> Path:
    """``<demo>/reports/<as-of month>``: a monthly run named after the month it reports on."""
    return folder / "reports" / as_of.strftime("%Y-%m")


def run_previous_month(
    config_path: Path, folder: Path, echo: Echo, progress: Progress | None
) -> RunOutcome:
    """Last month's job, from last month's roster, into ``reports/<previous month>``."""
    config = config_module.load(config_path)
    as_of = Rules.from_config(config, None).as_of
    outcome = runs.run(
        config, out=run_folder_for(folder, as_of), progress=progress or NullProgress()
    )
    echo(f"previous month (as of {as_of}): {outcome.folder}")
    return outcome


def run_current_month(
    config_path: Path, folder: Path, previous: Path, progress: Progress | None
) -> RunOutcome:
    """This month's job, compared with last month's run folder (``run --compare``)."""
    config = config_module.load(config_path)
    return runs.run(
        config,
        out=run_folder_for(folder, Rules.from_config(config, None).as_of),
        progress=progress or NullProgress(),
        compare=previous,
    )


def write_manager_emails(config_path: Path, run_folder: Path) -> Any:
    """``send --dry-run``: each manager's e-mail written as an .eml file, nothing sent."""
    from reconcile.deliver import send_statements

    return send_statements(config_module.load(config_path), run_folder, dry_run=True)


def plan_write_back(config_path: Path, run_folder: Path) -> Any:
    """``push-completions`` without ``--apply``: what would be written back to Thrive."""
    from reconcile.writeback import push_completions

    return push_completions(config_module.load(config_path), run_folder, apply=False)


def write_previous_config(
    sandbox: Any, folder: Path, spreadsheets: dict[str, Path], as_of: dt.date
) -> Path:
    """``reconcile-previous.toml``: the sandbox config with last month's roster and as-of."""
    from reconcile.sandbox.config_writer import config_text

    text = config_text(
        sandbox,
        folder,
        spreadsheets,
        sources=("thrive", "brightspace", "coursepath"),
        thrive_auth="basic",
    )
    current = f"as_of = {sandbox.organisation.as_of.isoformat()}"
    if current not in text:
        raise RuntimeError(f"sandbox config has no line {current!r} to move a month back")
    path = folder / "reconcile-previous.toml"
    path.write_text(text.replace(current, f"as_of = {as_of.isoformat()}"), encoding="utf-8")
    return path


def write_previous_inputs(
    organisation: Any, as_of: dt.date, folder: Path, seed: int
) -> dict[str, Path]:
    """Last month's spreadsheets in ``inputs/previous/``: the roster as HR had it then."""
    from reconcile.sandbox.spreadsheets import write_spreadsheets

    roster = previous_roster(organisation.roster, as_of, seed)
    then = dataclasses.replace(organisation, roster=roster)
    return write_spreadsheets(then, folder / "inputs" / "previous")


def previous_roster(roster: pd.DataFrame, as_of: dt.date, seed: int) -> pd.DataFrame:
    """The roster one month earlier: without later joiners, with a few since-departed people,
    and a few people in another department or under another manager than today."""
    rng = np.random.default_rng(seed + 1)
    joiners = roster["start_date"] > pd.Timestamp(as_of)
    then = _without_joiners(roster, joiners)
    managers = set(then["manager_id"].dropna())
    movable = then.index[~then["employee_id"].isin(managers)].to_numpy()
    chosen = rng.permutation(movable)
    departments = chosen[:PREVIOUS_DEPARTMENT_MOVES]
    reassigned = chosen[
        PREVIOUS_DEPARTMENT_MOVES : PREVIOUS_DEPARTMENT_MOVES + PREVIOUS_MANAGER_MOVES
    ]
    then.loc[departments, "department"] = _shifted(then["department"], departments)
    then.loc[reassigned, "manager_id"] = _shifted(
        pd.Series(sorted(managers), dtype="object"), reassigned, then["manager_id"]
    )
    return pd.concat([then, _leavers(then, chosen, as_of, rng)], ignore_index=True)


def _without_joiners(roster: pd.DataFrame, joiners: pd.Series) -> pd.DataFrame:
    """Drop joiners; whoever reported to one reported to the joiner's own manager then."""
    then = roster[~joiners].copy()
    up = dict(zip(roster["employee_id"][joiners], roster["manager_id"][joiners], strict=True))
    while then["manager_id"].isin(list(up)).any():
        then["manager_id"] = then["manager_id"].replace(up)
    return then


def _shifted(pool: pd.Series, rows: np.ndarray, current: pd.Series | None = None) -> list[str]:
    """For each chosen row, the next value of ``pool`` (sorted, distinct) after its own."""
    values = sorted(set(pool.dropna().astype(str)))
    own = (current if current is not None else pool).loc[rows].astype(str)
    after = {v: values[(i + 1) % len(values)] for i, v in enumerate(values)}
    return [after.get(v, values[0]) for v in own]


def _leavers(then: pd.DataFrame, chosen: np.ndarray, as_of: dt.date, rng: Any) -> pd.DataFrame:
    """People on last month's roster who have left since: new ids, names and e-mails, leaving
    before the current month; no platform accounts (the platforms have closed them)."""
    count = min(PREVIOUS_LEAVERS, len(chosen))
    base = then.loc[chosen[len(chosen) - count :]].copy().reset_index(drop=True)
    numbers = [f"9{n:05d}" for n in range(90_001, 90_001 + count)]
    first = then["first_name"].to_numpy()[rng.permutation(len(then))[:count]]
    base["employee_id"] = numbers
    base["first_name"] = first
    base["email"] = [
        f"{f.lower()}.{last.lower()}.{n}@leavers.example"
        for f, last, n in zip(first, base["last_name"], numbers, strict=True)
    ]
    base["leave_date"] = pd.Timestamp(as_of + dt.timedelta(days=10))
    for column in ("thrive_id", "brightspace_id", "coursepath_id"):
        base[column] = pd.NA
    return base


def _print_paths(folder: Path, outcome: RunOutcome, echo: Echo) -> None:
    """Rows pulled, where every output is, and the changes since last month."""
    echo(_row_table(outcome.manifest))
    echo("")
    echo(f"config and spreadsheets: {folder}")
    echo(f"snapshot:                {outcome.snapshot}")
    echo(f"summary:                 {outcome.summary_path}")
    echo(f"workbook:                {outcome.workbook}")
    echo(f"organisation report:     {outcome.report_pdf}")
    statements = outcome.folder / "statements"
    echo(f"manager statements:      {len(outcome.statements)} PDFs in {statements}")


def _export_sandbox_credentials(env: dict[str, str]) -> None:
    """Set the sandbox's credentials (public constants, not secrets) in this process only.

    Overwriting is deliberate: a real tenant's secret in the user's shell must never be sent
    to the sandbox, and the demo's process ends with the demo.
    """
    for name, value in env.items():
        os.environ[name] = value


def _row_table(manifest: dict[str, Any]) -> str:
    """Rows pulled per source table, from the snapshot manifest."""
    lines = [f"{'source':<12} {'table':<20} {'rows':>9}"]
    for source, entry in manifest.get("sources", {}).items():
        for table, info in entry.get("tables", {}).items():
            lines.append(f"{source:<12} {table:<20} {info['rows']:>9,}")
    return "\n".join(lines)
