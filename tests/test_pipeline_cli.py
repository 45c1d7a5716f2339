"""`reconcile run` and `reconcile report` through the CLI, against the real sandbox server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reconcile.cli import cli
from reconcile.sandbox import Sandbox
from reconcile.sandbox.generate import generate
from reconcile.sandbox.spreadsheets import write_spreadsheets

PEOPLE = 120


@pytest.fixture(scope="module")
def org() -> Any:
    return generate(people=PEOPLE, seed=7)


@pytest.fixture(scope="module")
def sandbox(org: Any) -> Iterator[Sandbox]:
    with Sandbox(org) as running:
        yield running


@pytest.fixture(scope="module")
def folder(org: Any, sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pipeline")
    spreadsheets = write_spreadsheets(org, folder / "inputs")
    sandbox.write_config(folder, spreadsheets)
    return folder


@pytest.fixture(scope="module")
def first_run(sandbox: Sandbox, folder: Path) -> tuple[Any, Path]:
    out = folder / "run-1"
    result = invoke(sandbox, "run", "-c", folder / "reconcile.toml", "--out", out)
    return result, out


def invoke(sandbox: Sandbox | None, *args: Any) -> Any:
    env = sandbox.env() if sandbox else {}
    return CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def test_run_exits_0_and_writes_summary_and_snapshot(first_run: Any) -> None:
    result, out = first_run
    assert result.exit_code == 0, result.output
    assert (out / "snapshot" / "manifest.json").is_file()
    assert f"run folder: {out}" in result.output
    content = load(out / "summary.json")
    assert content["people"] == PEOPLE
    assert sum(content["status"].values()) == PEOPLE
    assert content["as_of"] == "2026-11-15"  # [period] as_of in the sandbox config
    assert content["period"] == {"start": "2026-01-01", "end": "2026-12-31"}
    assert content["timezone"] == "America/New_York"
    for status, count in content["status"].items():
        assert f"{status}" in result.output and f"{count:,}" in result.output
    assert not list(out.glob(".*tmp*")), "no temporary files left behind"


def test_control_totals_balance_and_cover_every_pulled_table(first_run: Any) -> None:
    _, out = first_run
    content = load(out / "summary.json")
    manifest = load(out / "snapshot" / "manifest.json")
    rows = {(r["source"], r["table"]): r for r in content["control_totals"]}
    for row in rows.values():
        assert row["pulled"] == sum(row["dispositions"].values()), row
    for source, info in manifest["sources"].items():
        for table, entry in info["tables"].items():
            if entry["rows"]:
                assert rows[(source, table)]["pulled"] == entry["rows"], (source, table)
                assert rows[(source, table)]["pulled_at"] == entry["pulled_at"]
    exceptions = sum(content["exceptions"].values())
    assert exceptions == sum(content["exceptions_by_severity"].values())
    assert exceptions > 0  # the sandbox plants anomalies


def test_report_is_byte_identical_to_run_and_to_itself(
    folder: Path, first_run: Any, tmp_path: Path
) -> None:
    _, out = first_run
    config = folder / "reconcile.toml"
    for name in ("a", "b"):
        result = invoke(None, "report", "-c", config, "--snapshot", out, "--out", tmp_path / name)
        assert result.exit_code == 0, result.output
    first = (tmp_path / "a" / "summary.json").read_bytes()
    assert first == (tmp_path / "b" / "summary.json").read_bytes()
    assert first == (out / "summary.json").read_bytes()


def test_report_needs_no_network(folder: Path, first_run: Any, tmp_path: Path) -> None:
    _, out = first_run
    text = (folder / "reconcile.toml").read_text(encoding="utf-8")
    port = text.split("http://127.0.0.1:")[1].split("/")[0]
    dead = folder / "dead.toml"  # same folder, so the spreadsheet paths still resolve
    dead.write_text(text.replace(f"127.0.0.1:{port}", "127.0.0.1:9"), encoding="utf-8")
    result = invoke(None, "report", "-c", dead, "--snapshot", out / "snapshot", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert load(tmp_path / "summary.json")["status"] == load(out / "summary.json")["status"]


def test_report_as_of_changes_the_judgement_date(
    folder: Path, first_run: Any, tmp_path: Path
) -> None:
    _, out = first_run
    args = ("report", "-c", folder / "reconcile.toml", "--snapshot", out, "--out", tmp_path)
    result = invoke(None, *args, "--as-of", "2027-01-31")
    assert result.exit_code == 0, result.output
    content = load(tmp_path / "summary.json")
    assert content["as_of"] == "2027-01-31"
    assert content["status"]["On track"] == 0 and content["status"]["At risk"] == 0
    assert content["exceptions"]["future_dated"] == 0


def test_report_default_folder_is_output_dir_and_period_end(folder: Path, first_run: Any) -> None:
    _, out = first_run
    result = invoke(None, "report", "-c", folder / "reconcile.toml", "--snapshot", out)
    assert result.exit_code == 0, result.output
    assert (folder / "reports" / "2026-12" / "summary.json").is_file()


def test_tampered_snapshot_is_refused_with_exit_2(first_run: Any, folder: Path, tmp_path: Path):
    _, out = first_run
    copy = tmp_path / "snapshot"
    copy.mkdir()
    for path in (out / "snapshot").iterdir():
        copy.joinpath(path.name).write_bytes(path.read_bytes())
    victim = next(copy.glob("thrive__users.parquet"))
    victim.write_bytes(victim.read_bytes() + b"\0")
    result = invoke(None, "report", "-c", folder / "reconcile.toml", "--snapshot", copy)
    assert result.exit_code == 2
    assert "SHA-256" in result.output
    assert not (tmp_path / "summary.json").exists()


def test_spreadsheet_error_exits_2_before_any_pull(
    sandbox: Sandbox, folder: Path, tmp_path: Path
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "Employee ID,Name,Email\n001,Ann Lee,ann@x.example\n001,Bob Ray,bob@x.example\n",
        encoding="utf-8",
    )
    text = (folder / "reconcile.toml").read_text(encoding="utf-8")
    text = text.replace('path = "inputs/roster.xlsx"', f'path = "{roster.as_posix()}"')
    config = tmp_path / "bad.toml"
    config.write_text(text.replace('"inputs/', f'"{folder.as_posix()}/inputs/'), encoding="utf-8")
    before = sandbox.stats.total_requests()
    result = invoke(sandbox, "run", "-c", config, "--out", tmp_path / "run")
    assert result.exit_code == 2, result.output
    assert "roster.csv, row 2, column Employee ID: the same employee ID" in result.output
    assert sandbox.stats.total_requests() == before
    assert not (tmp_path / "run").exists()


def test_missing_secret_exits_2(folder: Path, tmp_path: Path) -> None:
    env = {"THRIVE_API_SECRET": None, "BRIGHTSPACE_TOKEN": None, "COURSEPATH_API_KEY": None}
    result = CliRunner().invoke(
        cli, ["run", "-c", str(folder / "reconcile.toml"), "--out", str(tmp_path / "r")], env=env
    )
    assert result.exit_code == 2
    assert "environment variable" in result.output
    assert not (tmp_path / "r").exists()


def test_failing_source_exits_3_and_writes_nothing(
    sandbox: Sandbox, folder: Path, tmp_path: Path
) -> None:
    text = (folder / "reconcile.toml").read_text(encoding="utf-8")
    text = text.replace('"inputs/', f'"{folder.as_posix()}/inputs/')
    text += "\n[http]\nmax_retries = 1\nmax_wait_seconds = 1\n"
    config = tmp_path / "flaky.toml"
    config.write_text(text, encoding="utf-8")
    sandbox.faults.inject(r"/coursepath/api/v1/courses", "503", times=None)
    try:
        result = invoke(sandbox, "run", "-c", config, "--out", tmp_path / "run")
    finally:
        sandbox.faults.clear()
    assert result.exit_code == 3, result.output
    assert "coursepath" in result.output
    assert not (tmp_path / "run" / "summary.json").exists()
    assert not (tmp_path / "run" / "snapshot").exists()


def test_unreadable_roster_exits_2_with_the_file_named(
    folder: Path, first_run: Any, tmp_path: Path
) -> None:
    roster = tmp_path / "roster.xlsx"
    roster.write_bytes(b"")
    text = (folder / "reconcile.toml").read_text(encoding="utf-8")
    text = text.replace('path = "inputs/roster.xlsx"', f'path = "{roster.as_posix()}"')
    config = tmp_path / "empty.toml"
    config.write_text(text.replace('"inputs/', f'"{folder.as_posix()}/inputs/'), encoding="utf-8")
    _, out = first_run
    result = invoke(None, "report", "-c", config, "--snapshot", out, "--out", tmp_path / "r")
    assert result.exit_code == 2, result.output
    assert "  roster.xlsx: " in result.output  # the whole-file problem, no row or column
    assert not (tmp_path / "r").exists()


def test_one_platform_alone_runs_and_balances(org: Any, sandbox: Sandbox, tmp_path: Path) -> None:
    spreadsheets = write_spreadsheets(org, tmp_path / "inputs")
    config = sandbox.write_config(tmp_path, spreadsheets, sources=("coursepath",))
    result = invoke(sandbox, "run", "-c", config, "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    content = load(tmp_path / "run" / "summary.json")
    assert sum(content["status"].values()) == PEOPLE
    sources = {row["source"] for row in content["control_totals"]}
    assert sources == {"coursepath", "roster", "policy", "spreadsheet"}
    for row in content["control_totals"]:
        assert row["pulled"] == sum(row["dispositions"].values()), row
