"""`reconcile demo` as a new user runs it: one command, no network, no credentials."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parents[1]


def test_demo_runs_the_pipeline_and_leaves_a_usable_folder(tmp_path: Path) -> None:
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
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    run_folder = tmp_path / "reports" / "2026-12"
    summary = json.loads((run_folder / "summary.json").read_text())
    assert summary["people"] == 60
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
