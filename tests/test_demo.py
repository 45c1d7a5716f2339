"""`reconcile demo` as a new user runs it: one command, no network, no credentials.

The demo runs last month (``reports/2026-10``, from ``inputs/previous/``) and then this month
(``reports/2026-11``) compared with it, so the same folder also serves the ``--compare``
command-line checks below.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from reconcile.cli import cli

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    tmp_path = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_SECRET", "_TOKEN", "_KEY"))}
    env["PYTHONPATH"] = str(ROOT)
    env["THRIVE_API_SECRET"] = "a-real-tenant-secret-that-must-not-reach-the-sandbox"
    proc = subprocess.run(
        [sys.executable, "-m", "reconcile", "demo", "--out", str(tmp_path), "--people", "60"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    return tmp_path, proc


def test_demo_runs_the_pipeline_and_leaves_a_usable_folder(demo: tuple[Path, Any]) -> None:
    tmp_path, proc = demo
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    run_folder = tmp_path / "reports" / "2026-11"
    summary = json.loads((run_folder / "summary.json").read_text())
    assert summary["people"] == 60
    assert summary["as_of"] == "2026-11-15"
    assert sum(summary["status"].values()) == 60
    assert (run_folder / "snapshot" / "manifest.json").is_file()
    workbook = openpyxl.load_workbook(run_folder / "compliance.xlsx", read_only=True)
    people = list(workbook["People"].iter_rows(values_only=True))
    assert people[0][0] == "Employee ID"
    assert len(people) == 61
    assert sorted(str(row[13]) for row in people[1:]) == sorted(
        status for status, n in summary["status"].items() for _ in range(n)
    )
    assert (tmp_path / "reconcile.toml").is_file()
    assert {p.name for p in (tmp_path / "inputs").iterdir()} >= {"roster.xlsx", "policy.xlsx"}
    report = PdfReader(run_folder / "compliance-report.pdf")
    assert len(report.pages) >= 3
    assert "Acme Health" in report.pages[0].extract_text()
    statements = sorted((run_folder / "statements").glob("*.pdf"))
    assert statements
    assert "CPD STATEMENT" in PdfReader(statements[0]).pages[0].extract_text().upper()
    assert f"run folder: {run_folder}" in proc.stdout
    assert "a-real-tenant-secret" not in (tmp_path / "reconcile.toml").read_text()
    manifest = (run_folder / "snapshot" / "manifest.json").read_text()
    assert "sandbox-thrive-secret" not in manifest


def test_demo_runs_the_previous_month_from_its_own_roster(demo: tuple[Path, Any]) -> None:
    tmp_path, proc = demo
    assert proc.returncode == 0, proc.stderr
    previous = json.loads((tmp_path / "reports" / "2026-10" / "summary.json").read_text())
    assert previous["as_of"] == "2026-10-15"
    assert "changes" not in previous
    assert (tmp_path / "inputs" / "previous" / "roster.xlsx").is_file()
    config = (tmp_path / "reconcile-previous.toml").read_text()
    assert "as_of = 2026-10-15" in config and "inputs/previous/roster.xlsx" in config
    roster = openpyxl.load_workbook(tmp_path / "inputs" / "previous" / "roster.xlsx")
    ids = {str(r[0]) for r in roster.active.iter_rows(min_row=2, values_only=True) if r[0]}
    assert {"990001", "990002", "990003"} <= ids  # the people who have left since


def test_demo_compares_the_months_in_workbook_pdf_summary_and_output(
    demo: tuple[Path, Any],
) -> None:
    tmp_path, proc = demo
    assert proc.returncode == 0, proc.stderr
    run_folder = tmp_path / "reports" / "2026-11"
    changes = json.loads((run_folder / "summary.json").read_text())["changes"]
    assert changes["previous"]["as_of"] == "2026-10-15"
    counts = changes["counts"]
    assert counts["left"] == 3 and counts["department_changed"] == 3
    assert counts["manager_changed"] >= 3
    sheet = openpyxl.load_workbook(run_folder / "compliance.xlsx", read_only=True)["Changes"]
    rows = list(sheet.iter_rows(values_only=True))[1:]
    assert len(rows) == sum(counts.values()) > 0
    assert sum(1 for r in rows if r[0] == "Left") == 3
    text = "\n".join(
        p.extract_text() for p in PdfReader(run_folder / "compliance-report.pdf").pages
    )
    assert "Changes since 15 Oct 2026" in text
    assert "changes since 2026-10-15: compliance" in proc.stdout
    assert f"left {counts['left']}" in proc.stdout


def test_compare_with_a_missing_folder_exits_2_naming_it(
    demo: tuple[Path, Any], tmp_path: Path
) -> None:
    folder, _proc = demo
    missing = tmp_path / "no-such-run"
    result = invoke(folder, tmp_path / "out", "--compare", missing)
    assert result.exit_code == 2, result.output
    assert str(missing) in result.output and "previous run" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_compare_with_a_folder_that_is_not_a_run_exits_2(
    demo: tuple[Path, Any], tmp_path: Path
) -> None:
    folder, _proc = demo
    result = invoke(folder, tmp_path / "out", "--compare", folder / "inputs")
    assert result.exit_code == 2, result.output
    assert "--compare" in result.output and "not a run folder" in result.output
    assert not (tmp_path / "out").exists()


def invoke(folder: Path, out: Path, *args: Any) -> Any:
    """`reconcile report` on the demo's current snapshot, writing to ``out``."""
    command = [
        "report",
        "-c",
        folder / "reconcile.toml",
        "--snapshot",
        folder / "reports" / "2026-11",
        "--out",
        out,
        *args,
    ]
    return CliRunner().invoke(cli, [str(a) for a in command])


def test_comparing_across_periods_or_organisations_is_warned(demo: tuple[Path, Any]) -> None:
    import dataclasses
    import datetime as dt

    from reconcile import config as config_module
    from reconcile import runs
    from reconcile.result_store import read_result

    folder, _proc = demo
    current = read_result(folder / "reports" / "2026-11")
    old = read_result(folder / "reports" / "2026-10")
    old = dataclasses.replace(
        old, rules=dataclasses.replace(old.rules, period_start=dt.date(2025, 1, 1))
    )
    previous = runs.PreviousRun(folder=folder / "x", result=old, organisation="Other Trust")
    config = config_module.load(folder / "reconcile.toml")
    warnings = runs._compare_warnings(previous, current, config)
    assert len(warnings) == 2
    assert "2025-01-01" in warnings[0] and "differs" in warnings[0]
    assert "'Other Trust'" in warnings[1]
    same = runs.PreviousRun(folder=folder, result=current, organisation=None)
    assert runs._compare_warnings(same, current, config) == ()


def test_demo_lists_the_write_back_without_sending_it(demo: tuple[Path, Any]) -> None:
    tmp_path, proc = demo
    run_folder = tmp_path / "reports" / "2026-11"
    with (run_folder / "writeback-plan.csv").open(encoding="utf-8") as handle:
        plan = list(csv.DictReader(handle))
    unlogged = json.loads((run_folder / "summary.json").read_text())["exceptions"]
    assert len(plan) == unlogged["unlogged_completion"]
    assert {row["outcome"] for row in plan} <= {"would create", "skipped"}
    would = sum(row["outcome"] == "would create" for row in plan)
    assert f"write-back (dry run):    {would} completion(s) would be created" in proc.stdout
    assert not (run_folder / "writeback.csv").exists()


def test_demo_writes_each_managers_email_without_sending(demo: tuple[Path, Any]) -> None:
    tmp_path, proc = demo
    run_folder = tmp_path / "reports" / "2026-11"
    statements = sorted(p.stem for p in (run_folder / "statements").glob("*.pdf"))
    messages = sorted(p.stem for p in (run_folder / "outbox").glob("*.eml"))
    assert messages == statements
    assert f"manager e-mails (.eml):  {len(messages)} in {run_folder / 'outbox'}" in proc.stdout
    assert not (run_folder / "sent.csv").exists()


def test_demo_reads_the_policy_categories_beside_thrives_own_list(demo: tuple[Path, Any]) -> None:
    """Thrive lists the same categories as the policy sheet: the sheet's rules are still used
    (every Categories row is used) and structured minutes are counted."""
    tmp_path, proc = demo
    assert proc.returncode == 0, proc.stderr
    workbook = openpyxl.load_workbook(
        tmp_path / "reports" / "2026-11" / "compliance.xlsx", read_only=True
    )
    rows = list(workbook["Sources"].iter_rows(values_only=True))
    header = [str(h).casefold() for h in rows[0]]
    by_table = {(r[0], r[1]): dict(zip(header, r, strict=True)) for r in rows[1:]}
    categories = by_table[("policy", "Categories")]
    assert categories["pulled"] > 0
    assert categories["used"] == categories["pulled"]
    assert by_table[("thrive", "cpd_categories")]["used"] > 0
    people = list(workbook["People"].iter_rows(values_only=True))
    structured = people[0].index("Structured (min)")
    assert sum(row[structured] or 0 for row in people[1:]) > 0
