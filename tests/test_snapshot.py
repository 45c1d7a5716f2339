"""Snapshot folder: Parquet per table + manifest, atomic replace, SHA-256 checked on read."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from reconcile import config as config_module
from reconcile.errors import InputError
from reconcile.snapshot import read_snapshot, run_folder, sha256_of, write_snapshot
from reconcile.sources import PullResult, SourcePull
from reconcile.sources.columns import Column, frame

SECRET = "do-not-leak-4f9a"


def make_config(tmp_path: Path) -> config_module.Config:
    (tmp_path / "roster.csv").write_text("employee_id,email,name\n001,a@x.org,A\n")
    (tmp_path / "log.csv").write_text("employee_id,title,date,minutes\n001,T,2026-02-01,30\n")
    (tmp_path / "reconcile.toml").write_text(
        """
[organisation]
name = "Acme"
timezone = "America/New_York"
[period]
start = 2026-01-01
end = 2026-12-31
[roster]
path = "roster.csv"
[[cpd_logs]]
path = "log.csv"
[sources.coursepath]
base_url = "https://acme.coursepath.example/api/v1"
email = "reports@acme.example"
api_key_env = "CP_KEY_FOR_TEST"
[output]
dir = "out"
"""
    )
    return config_module.load(tmp_path / "reconcile.toml")


def make_pull(rows: int = 3) -> PullResult:
    members = frame(
        [{"id": str(i), "email": f"m{i}@x.org", "at": "2026-03-01T10:00:00Z"} for i in range(rows)],
        [
            Column("member_id", "id", "id"),
            Column("email", "email", "str"),
            Column("at", "at", "datetime"),
        ],
    )
    courses = frame([], [Column("course_id", "id", "id"), Column("minutes", "m", "int")])
    pull = SourcePull("coursepath", "https://acme.coursepath.example/api/v1")
    pull.add("members", members, "/members")
    pull.add("courses", courses, "/courses", duplicates=2)
    pull.stats.count("/members", retry=False)
    return PullResult(sources={"coursepath": pull})


def test_round_trip_keeps_rows_and_dtypes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CP_KEY_FOR_TEST", SECRET)
    config = make_config(tmp_path)
    pulled = make_pull()
    folder = write_snapshot(tmp_path / "run", pulled, config)
    assert folder == tmp_path / "run" / "snapshot"
    assert sorted(p.name for p in folder.iterdir()) == [
        "coursepath__courses.parquet",
        "coursepath__members.parquet",
        "manifest.json",
    ]
    tables, manifest = read_snapshot(tmp_path / "run")
    for key, original in pulled.tables.items():
        pd.testing.assert_frame_equal(tables[key], original)
    assert tables[("coursepath", "members")]["at"].dtype == "datetime64[ns, UTC]"
    entry = manifest["sources"]["coursepath"]["tables"]["members"]
    assert entry["rows"] == 3
    assert entry["endpoint"] == "/members"
    assert entry["sha256"] == sha256_of(folder / "coursepath__members.parquet")
    assert manifest["sources"]["coursepath"]["tables"]["courses"]["duplicates_dropped"] == 2
    assert manifest["sources"]["coursepath"]["requests"] == {"/members": 1}
    assert manifest["period"] == {"start": "2026-01-01", "end": "2026-12-31", "as_of": None}
    inputs = {i["name"]: i for i in manifest["inputs"]}
    assert set(inputs) == {"roster.csv", "log.csv"}
    assert inputs["roster.csv"]["sha256"] == sha256_of(tmp_path / "roster.csv")
    assert inputs["roster.csv"]["size"] == (tmp_path / "roster.csv").stat().st_size
    dt.datetime.fromisoformat(manifest["created_at"])


def test_manifest_never_holds_a_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CP_KEY_FOR_TEST", SECRET)
    config = make_config(tmp_path)
    folder = write_snapshot(tmp_path / "run", make_pull(), config)
    for path in folder.iterdir():
        assert SECRET.encode() not in path.read_bytes()


def test_new_snapshot_replaces_old_only_when_complete(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    write_snapshot(tmp_path / "run", make_pull(3), config)
    broken = make_pull(5)
    broken.sources["coursepath"].tables["members"]["bad"] = [object()] * 5  # not writable
    with pytest.raises(Exception):  # noqa: B017 (pyarrow's own error type)
        write_snapshot(tmp_path / "run", broken, config)
    tables, _ = read_snapshot(tmp_path / "run" / "snapshot")
    assert len(tables[("coursepath", "members")]) == 3
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["snapshot"]

    write_snapshot(tmp_path / "run", make_pull(7), config)
    tables, _ = read_snapshot(tmp_path / "run")
    assert len(tables[("coursepath", "members")]) == 7
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["snapshot"]


def test_changed_table_file_is_refused(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    folder = write_snapshot(tmp_path / "run", make_pull(), config)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["sources"]["coursepath"]["tables"]["members"]["sha256"] = "0" * 64
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InputError, match="does not match its SHA-256"):
        read_snapshot(folder)


def test_not_a_snapshot_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a reconcile snapshot"):
        read_snapshot(tmp_path)


def test_run_folder_defaults_to_period_end_month(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    assert run_folder(config) == tmp_path / "out" / "2026-12"
    assert run_folder(config, tmp_path / "x") == tmp_path / "x"
