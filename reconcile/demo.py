"""``reconcile demo``: the whole story on the built-in sandbox, with no network or credentials.

It generates an organisation, writes HR's spreadsheets and a config the way a new user would
have them, serves the three platforms' APIs from the same organisation on 127.0.0.1, and runs
the pipeline against them. The demo folder is left behind on purpose: it is a working example
of a config and its spreadsheets that a user can copy and edit.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconcile import config as config_module
from reconcile import runs
from reconcile.progress import NullProgress, Progress
from reconcile.runs import RunOutcome

Echo = Callable[[str], None]


@dataclass(frozen=True)
class DemoResult:
    """Where the demo put things, for the CLI to print and for tests to check."""

    folder: Path
    config: Path
    outcome: RunOutcome


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
    """Generate an organisation, serve it, and run the monthly job against it."""
    from reconcile.sandbox import Sandbox
    from reconcile.sandbox.generate import generate
    from reconcile.sandbox.spreadsheets import write_spreadsheets

    folder = (out or default_folder()).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    organisation = generate(people=people, seed=seed)
    spreadsheets = write_spreadsheets(organisation, folder / "inputs")
    echo(f"generated a sample organisation of {people:,} people (seed {seed})")
    with Sandbox(organisation) as sandbox:
        config_path = sandbox.write_config(folder, spreadsheets)
        _export_sandbox_credentials(sandbox.env())
        echo(f"sandbox serving Thrive, Brightspace and Coursepath at {sandbox.url}")
        config = config_module.load(config_path)
        outcome = runs.run(config, progress=progress or NullProgress())
    echo(_row_table(outcome.manifest))
    echo("")
    echo(f"config and spreadsheets: {folder}")
    echo(f"snapshot:                {outcome.snapshot}")
    echo(f"summary:                 {outcome.summary_path}")
    echo(f"workbook:                {outcome.workbook}")
    echo(f"organisation report:     {outcome.report_pdf}")
    statements = outcome.folder / "statements"
    echo(f"manager statements:      {len(outcome.statements)} PDFs in {statements}")
    echo(f"pipeline done in {time.perf_counter() - started:.1f} s")
    return DemoResult(folder=folder, config=config_path, outcome=outcome)


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
