"""Run orchestration: the one path from a config to a run folder (DESIGN §3, §7).

``run`` (pull → snapshot → reconcile → write) and ``report`` (the same from a saved snapshot,
no network) share every step after the snapshot, so the same snapshot and config always give
the same figures, and the demo and the renderers plug into one place. The library never prints
or exits: errors are :mod:`reconcile.errors` exceptions; progress goes through ``progress``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import logging
import os
import shutil
import time
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconcile.canonical_build import build_canonical, known_audiences, unread_control_totals
from reconcile.config import Config, require_secrets, resolved
from reconcile.engine import Result, Rules, reconcile, summary
from reconcile.engine.changes import Changes, compare, summary_changes
from reconcile.errors import ConfigError, InputError
from reconcile.files import write_text_atomic
from reconcile.progress import NullProgress, Progress
from reconcile.render import write_report_pdf, write_statements, write_workbook
from reconcile.render.statement_files import RECORD_FILE as STATEMENT_RECORD
from reconcile.result_store import write_result
from reconcile.runfolder import rebuilt
from reconcile.sources.saved import PullProgress

log = logging.getLogger(__name__)

SUMMARY_FILE = "summary.json"
WORKBOOK_FILE = "compliance.xlsx"
REPORT_FILE = "compliance-report.pdf"
STATEMENTS_FOLDER = "statements"


@dataclass(frozen=True)
class RunOutcome:
    """What a run produced: where, and the figures, for the CLI, the demo and renderers."""

    folder: Path
    snapshot: Path
    summary_path: Path
    workbook: Path
    report_pdf: Path
    statements: tuple[Path, ...]
    summary: dict[str, Any]
    result: Result
    manifest: dict[str, Any]
    warnings: tuple[str, ...] = ()
    changes: Changes | None = None


def run(
    config: Config,
    *,
    as_of: dt.date | None = None,
    out: Path | None = None,
    progress: Progress | None = None,
    compare: Path | None = None,
    resume: bool = False,
) -> RunOutcome:
    """Pull every source, write the snapshot, reconcile and write ``summary.json``.

    Spreadsheet errors (``ValidationFailed``) and missing secrets stop the run before any
    request is made; a failing source (``SourceError``) before anything is written.
    ``compare`` is a previous run folder: its ``result/`` is read first (a bad folder stops
    the run before any request) and the changes since it go into the outputs. The pull's
    progress is kept beside the run folder until the run folder is in place; ``resume``
    continues the pull an earlier, stopped run left there (``sources/saved.py``).
    """
    from reconcile.inputs import read_inputs
    from reconcile.snapshot import run_folder, write_snapshot
    from reconcile.sources import pull_all

    require_pullable(config)
    rules = Rules.from_config(config, as_of)
    previous = read_previous(compare) if compare is not None else None
    inputs = read_inputs(config)  # fail fast (exit 2) before any network traffic
    folder = run_folder(config, out)
    saved = PullProgress(folder, config)
    with (
        saved.explained("run"),
        rebuilt(folder, "run", swapped=saved.discard) as staging,  # unwritable: fails here
    ):
        with timed("pull"), saved.opened(resume=resume):
            pulled = pull_all(config, progress=progress or NullProgress(), saved=saved)
        with timed("snapshot"):
            snapshot = write_snapshot(staging, pulled, config)
        warnings = tuple(w for stats in pulled.stats.values() for w in stats.get("warnings", ()))
        # Without Thrive there are no pulled audiences to check the roster's against, so the
        # inputs read above are final; with Thrive they are read again knowing its audiences.
        final = None if "thrive" in config.sources else inputs
        built = _reconcile_snapshot(
            config, snapshot, staging, rules, warnings, final, previous, progress=progress
        )
    return _moved(built, staging, folder)


def require_pullable(config: Config) -> None:
    """Fail before any request when there is nothing to pull or a secret is missing."""
    if not config.sources:
        raise ConfigError(
            f"{config.path.name}: no [sources.*] section, so there is nothing to pull; add "
            "[sources.thrive], [sources.brightspace] or [sources.coursepath], or use "
            "`reconcile report --snapshot DIR`"
        )
    require_secrets(config)


def pull(
    config: Config,
    *,
    out: Path | None = None,
    progress: Progress | None = None,
    resume: bool = False,
) -> tuple[Path, Any]:
    """``reconcile pull``: every configured source into ``<run folder>/snapshot/``.

    Returns the snapshot folder and the :class:`~reconcile.sources.PullResult` (row counts,
    warnings) for the caller to report. ``resume`` as for :func:`run`.
    """
    from reconcile.snapshot import run_folder, write_snapshot
    from reconcile.sources import pull_all

    require_pullable(config)
    folder = run_folder(config, out)
    saved = PullProgress(folder, config)
    with saved.explained("pull"), rebuilt(folder, "pull", swapped=saved.discard) as staging:
        with saved.opened(resume=resume):
            pulled = pull_all(config, progress=progress or NullProgress(), saved=saved)
        snapshot = write_snapshot(staging, pulled, config)
    return folder / snapshot.name, pulled


def report(
    config: Config,
    snapshot: Path,
    *,
    as_of: dt.date | None = None,
    out: Path | None = None,
    compare: Path | None = None,
    progress: Progress | None = None,
) -> RunOutcome:
    """Reconcile a saved snapshot (hashes verified) and write ``summary.json``; no network.

    The run folder is ``out``, else ``<[output] dir>/<period end as YYYY-MM>``. ``compare``
    is a previous run folder, as for :func:`run`.
    """
    from reconcile.snapshot import run_folder

    rules = Rules.from_config(config, as_of)
    previous = read_previous(compare) if compare is not None else None
    folder = run_folder(config, out)
    snapshot = resolved(Path(snapshot), what="--snapshot")
    with rebuilt(folder, "report") as staging:
        if snapshot == folder or folder in snapshot.parents:
            # reconciling the folder's own snapshot: it moves into the new folder with it
            snapshot = _copy_snapshot(snapshot, staging)
        built = _reconcile_snapshot(
            config, snapshot, staging, rules, (), None, previous, progress=progress
        )
    return _moved(built, staging, folder)


def _copy_snapshot(source: Path, staging: Path) -> Path:
    """``source`` (a snapshot folder, or the run folder holding one) into ``staging/snapshot``;
    hard links where the disk allows (same bytes, no copy), else copies."""
    from reconcile.snapshot import MANIFEST, SNAPSHOT

    if not (source / MANIFEST).is_file() and (source / SNAPSHOT / MANIFEST).is_file():
        source = source / SNAPSHOT
    target = staging / SNAPSHOT
    shutil.copytree(source, target, copy_function=_link_or_copy)
    return target


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _moved(built: RunOutcome, staging: Path, folder: Path) -> RunOutcome:
    """The outcome with every path in the swapped-in folder instead of the staging one."""

    def there(path: Path) -> Path:
        return folder / path.relative_to(staging) if staging in path.parents else path

    return dataclasses.replace(
        built,
        folder=folder,
        snapshot=there(built.snapshot),
        summary_path=there(built.summary_path),
        workbook=there(built.workbook),
        report_pdf=there(built.report_pdf),
        statements=tuple(there(p) for p in built.statements),
    )


@dataclass(frozen=True)
class PreviousRun:
    """A past run read back for ``--compare``: its frozen result and who it was for."""

    folder: Path
    result: Result
    organisation: str | None


def read_previous(folder: Path) -> PreviousRun:
    """Read ``folder/result/`` (and the organisation from its summary.json) for ``--compare``.

    Raises ``InputError`` (exit 2) naming the folder and the fix when it is not a run folder.
    """
    from reconcile.result_store import read_result

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(
            f"--compare {folder}: no such folder; pass the folder of a previous run "
            "(e.g. reports/2026-10) or leave --compare out"
        )
    try:
        result = read_result(folder)
    except InputError as error:
        raise InputError(f"--compare {error}") from None
    organisation = None
    try:
        saved = json.loads((folder / SUMMARY_FILE).read_text(encoding="utf-8"))
        organisation = saved.get("organisation") if isinstance(saved, dict) else None
    except (OSError, ValueError):
        log.info("%s: no readable %s; organisation not checked", folder, SUMMARY_FILE)
    return PreviousRun(folder=folder, result=result, organisation=organisation)


def _compare_warnings(previous: PreviousRun, current: Result, config: Config) -> tuple[str, ...]:
    """Comparing across periods or organisations is allowed, but the officer must know."""
    found: list[str] = []
    old = previous.result
    if (old.period_start, old.period_end) != (current.period_start, current.period_end):
        found.append(
            f"--compare {previous.folder}: its period {old.period_start} – {old.period_end} "
            f"differs from this run's {current.period_start} – {current.period_end}; "
            "changes of status are across periods"
        )
    name = config.organisation.name
    if previous.organisation is not None and previous.organisation != name:
        found.append(
            f"--compare {previous.folder}: it is for {previous.organisation!r}, this run is "
            f"for {name!r}; joiners and leavers may just be different rosters"
        )
    for warning in found:
        log.warning("%s", warning)
    return tuple(found)


def _reconcile_snapshot(
    config: Config,
    snapshot: Path,
    folder: Path,
    rules: Rules,
    warnings: tuple[str, ...],
    inputs: Any = None,
    previous: PreviousRun | None = None,
    *,
    progress: Progress | None = None,
) -> RunOutcome:
    """The shared second half: read the snapshot back, reconcile, write the outputs.

    The snapshot is read back from disk even right after a pull, so ``run`` and ``report``
    reconcile the very same frames (and the hashes are checked once more).
    """
    from reconcile.inputs import read_inputs
    from reconcile.snapshot import read_snapshot

    with timed("read"):
        tables, manifest = read_snapshot(snapshot)
        if inputs is None:
            inputs = read_inputs(config, known_audiences=known_audiences(tables))
        canonical = build_canonical(tables, inputs)
    with timed("engine"):
        result = reconcile(canonical, rules)
    with timed("summary"):
        content = summary_content(result, tables, manifest, config)
        changes = None
        if previous is not None:
            changes = compare(previous.result, result)
            content["changes"] = summary_changes(changes)
            warnings = (*warnings, *_compare_warnings(previous, result, config))
        folder.mkdir(parents=True, exist_ok=True)
        path = write_json_atomic(folder / SUMMARY_FILE, content)
        write_result(folder, result)
    with timed("workbook"):
        workbook = write_workbook(
            result,
            folder / WORKBOOK_FILE,
            issues=inputs.issues,
            pulled_at=manifest,
            changes=changes,
            detail_rows=config.output.workbook_detail_rows,
        )
    organisation = config.organisation.name
    templates = config.output.templates
    with timed("report"):
        report_pdf = write_report_pdf(
            result,
            folder / REPORT_FILE,
            organisation=organisation,
            pulled_at=_snapshot_taken(manifest, config),
            templates=templates,
            changes=changes,
        )
    statements: list[Path] = []
    with timed("statements"):
        if config.output.statements != "none":
            statements = write_statements(
                result,
                folder / STATEMENTS_FOLDER,
                organisation=organisation,
                by=config.output.statements,
                templates=templates,
                record=folder / STATEMENT_RECORD,
                progress=progress,
                renderer=config.output.statement_renderer,
            )
    log.info("wrote %s, %s and %d statements", workbook, report_pdf, len(statements))
    snapshot_dir = snapshot if (snapshot / "manifest.json").is_file() else snapshot / "snapshot"
    return RunOutcome(
        folder=folder,
        snapshot=snapshot_dir,
        summary_path=path,
        workbook=workbook,
        report_pdf=report_pdf,
        statements=tuple(statements),
        summary=content,
        result=result,
        manifest=manifest,
        warnings=warnings,
        changes=changes,
    )


#: How each step's time is logged (``reconcile -v run`` shows it; bench/run.py reads it).
STEP_LOG = "step %s took %.2f s"


@contextlib.contextmanager
def timed(step: str) -> Iterator[None]:
    """Log the seconds ``step`` took, at INFO: where a long monthly run spends its time."""
    started = time.perf_counter()
    yield
    log.info(STEP_LOG, step, time.perf_counter() - started)


def _snapshot_taken(manifest: dict[str, Any], config: Config) -> dt.datetime | None:
    """When the snapshot was taken, in the organisation's local time, for the report cover."""
    created = manifest.get("created_at")
    if not created:
        return None
    moment = dt.datetime.fromisoformat(created)
    return moment.astimezone(zoneinfo.ZoneInfo(config.organisation.timezone))


def summary_content(
    result: Result, tables: Any, manifest: dict[str, Any], config: Config
) -> dict[str, Any]:
    """summary.json (§7): the engine's summary, every pulled table in the control totals,
    and each table's ``pulled_at`` from the manifest. Nothing in it depends on the clock, so
    the same snapshot and config give the same bytes."""
    content = summary(result)
    counted = [(row["source"], row["table"]) for row in content["control_totals"]]
    controls = content["control_totals"] + unread_control_totals(tables, counted)
    for row in controls:
        entry = manifest.get("sources", {}).get(row["source"], {}).get("tables", {})
        row["pulled_at"] = entry.get(row["table"], {}).get("pulled_at")
    return {
        "organisation": config.organisation.name,
        **content,
        "control_totals": controls,
        "snapshot": {"created_at": manifest.get("created_at")},
    }


def write_json_atomic(path: Path, content: Any) -> Path:
    """Write JSON to a temporary name beside ``path`` and rename it (§7: never half-written)."""
    text = json.dumps(content, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    return write_text_atomic(path, text)
