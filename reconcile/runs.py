"""Run orchestration: the one path from a config to a run folder (DESIGN §3, §7).

``run`` (pull → snapshot → reconcile → write) and ``report`` (the same from a saved snapshot,
no network) share every step after the snapshot, so the same snapshot and config always give
the same figures, and the demo and the renderers plug into one place. The library never prints
or exits: errors are :mod:`reconcile.errors` exceptions; progress goes through ``progress``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconcile.canonical_build import build_canonical, known_audiences, unread_control_totals
from reconcile.config import Config, require_secrets
from reconcile.engine import Result, Rules, reconcile, summary
from reconcile.errors import ConfigError
from reconcile.progress import NullProgress, Progress
from reconcile.render import write_report_pdf, write_statements, write_workbook
from reconcile.result_store import write_result

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


def run(
    config: Config,
    *,
    as_of: dt.date | None = None,
    out: Path | None = None,
    progress: Progress | None = None,
) -> RunOutcome:
    """Pull every source, write the snapshot, reconcile and write ``summary.json``.

    Spreadsheet errors (``ValidationFailed``) and missing secrets stop the run before any
    request is made; a failing source (``SourceError``) before anything is written.
    """
    from reconcile.inputs import read_inputs
    from reconcile.snapshot import run_folder, write_snapshot
    from reconcile.sources import pull_all

    require_secrets(config)
    if not config.sources:
        raise ConfigError(
            f"{config.path.name}: no [sources.*] section, so there is nothing to pull; add "
            "[sources.thrive], [sources.brightspace] or [sources.coursepath], or use "
            "`reconcile report --snapshot DIR`"
        )
    rules = Rules.from_config(config, as_of)
    inputs = read_inputs(config)  # fail fast (exit 2) before any network traffic
    pulled = pull_all(config, progress=progress or NullProgress())
    folder = run_folder(config, out)
    snapshot = write_snapshot(folder, pulled, config)
    warnings = tuple(w for stats in pulled.stats.values() for w in stats.get("warnings", ()))
    # Without Thrive there are no pulled audiences to check the roster's against, so the
    # inputs read above are final; with Thrive they are read again knowing its audiences.
    final = None if "thrive" in config.sources else inputs
    return _reconcile_snapshot(config, snapshot, folder, rules, warnings, final)


def report(
    config: Config,
    snapshot: Path,
    *,
    as_of: dt.date | None = None,
    out: Path | None = None,
) -> RunOutcome:
    """Reconcile a saved snapshot (hashes verified) and write ``summary.json``; no network.

    The run folder is ``out``, else ``<[output] dir>/<period end as YYYY-MM>``.
    """
    from reconcile.snapshot import run_folder

    rules = Rules.from_config(config, as_of)
    return _reconcile_snapshot(config, Path(snapshot), run_folder(config, out), rules, ())


def _reconcile_snapshot(
    config: Config,
    snapshot: Path,
    folder: Path,
    rules: Rules,
    warnings: tuple[str, ...],
    inputs: Any = None,
) -> RunOutcome:
    """The shared second half: read the snapshot back, reconcile, write the outputs.

    The snapshot is read back from disk even right after a pull, so ``run`` and ``report``
    reconcile the very same frames (and the hashes are checked once more).
    """
    from reconcile.inputs import read_inputs
    from reconcile.snapshot import read_snapshot

    tables, manifest = read_snapshot(snapshot)
    if inputs is None:
        inputs = read_inputs(config, known_audiences=known_audiences(tables))
    result = reconcile(build_canonical(tables, inputs), rules)
    content = summary_content(result, tables, manifest, config)
    folder.mkdir(parents=True, exist_ok=True)
    path = write_json_atomic(folder / SUMMARY_FILE, content)
    log.info("wrote %s", path)
    write_result(folder, result)
    workbook = write_workbook(
        result, folder / WORKBOOK_FILE, issues=inputs.issues, pulled_at=manifest
    )
    log.info("wrote %s", workbook)
    organisation = config.organisation.name
    templates = config.output.templates
    report_pdf = write_report_pdf(
        result,
        folder / REPORT_FILE,
        organisation=organisation,
        pulled_at=_snapshot_taken(manifest, config),
        templates=templates,
    )
    statements: list[Path] = []
    if config.output.statements != "none":
        statements = write_statements(
            result,
            folder / STATEMENTS_FOLDER,
            organisation=organisation,
            by=config.output.statements,
            templates=templates,
        )
    log.info("wrote %s and %d statements", report_pdf, len(statements))
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
    )


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
    temporary = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path
