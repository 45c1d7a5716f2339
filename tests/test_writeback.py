"""`push-completions` against the real sandbox on 127.0.0.1: plan, create, re-run, refusals, faults.

One monthly run (120 people) is made once per module; each test gets a fresh sandbox serving
the same organisation (so what one test creates in Thrive does not leak into another) and a
copy of the run's ``result/``, which some tests extend with crafted candidates.
"""

from __future__ import annotations

import csv
import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests
from click.testing import CliRunner

from reconcile import config as config_module
from reconcile import runs
from reconcile.cli import cli
from reconcile.csvlog import csv_cell as _cell
from reconcile.errors import ConfigError, InputError, SourceError
from reconcile.result_store import read_result, write_result
from reconcile.sandbox import Sandbox
from reconcile.sandbox.generate import generate
from reconcile.sandbox.platform import THRIVE_API_SECRET, THRIVE_TENANT_ID
from reconcile.sandbox.spreadsheets import write_spreadsheets
from reconcile.sources.http import HttpClient, HttpPolicy
from reconcile.writeback import LOG_COLUMNS, PLAN_COLUMNS, push_completions, read_done

PEOPLE = 120
SEED = 7
FAST = HttpPolicy(
    concurrency=4,
    timeout_seconds=5.0,
    max_retries=2,
    max_wait_seconds=2.0,
    backoff_base_seconds=0.001,
    backoff_cap_seconds=0.005,
)
AUTH = (THRIVE_TENANT_ID, THRIVE_API_SECRET)
UNKNOWN_CONTENT = "62c3d5e6ffffffffffffffff"
POST_ONLY = r"learning/completions$"  # the POST has no query; the GETs below always do


@dataclasses.dataclass
class Case:
    sandbox: Sandbox
    config_path: Path
    run_dir: Path

    @property
    def config(self) -> Any:
        return config_module.load(self.config_path)

    def completions(self, user: str) -> list[dict[str, Any]]:
        """What Thrive lists for one user (GET, as a re-pull would see it)."""
        url = f"{self.sandbox.base_urls['thrive']}/learning/completions"
        response = requests.get(url, params={"userId": user, "perPage": 1000}, auth=AUTH)
        assert response.status_code == 200
        return response.json()

    def thrive_requests(self) -> int:
        return self.sandbox.stats.total_requests("thrive")


@pytest.fixture(scope="module")
def org() -> Any:
    return generate(people=PEOPLE, seed=SEED)


@pytest.fixture(scope="module")
def base(org: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Path], Path]:
    """Spreadsheets and one real run folder (pulled from a sandbox that is then stopped)."""
    folder = tmp_path_factory.mktemp("writeback")
    sheets = write_spreadsheets(org, folder / "inputs")
    with Sandbox(org) as sandbox, pytest.MonkeyPatch.context() as env:
        for name, value in sandbox.env().items():
            env.setenv(name, value)
        path = _config(sandbox, folder, sheets)
        runs.run(config_module.load(path), out=folder / "run")
    return sheets, folder / "run"


@pytest.fixture
def case(
    org: Any, base: tuple[dict[str, Path], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Case]:
    sheets, run = base
    run_dir = tmp_path / "run"
    shutil.copytree(run / "result", run_dir / "result")
    with Sandbox(org) as sandbox:
        for name, value in sandbox.env().items():
            monkeypatch.setenv(name, value)
        yield Case(sandbox, _config(sandbox, tmp_path, sheets), run_dir)


def _config(sandbox: Sandbox, folder: Path, sheets: dict[str, Path], **kw: Any) -> Path:
    path = sandbox.write_config(folder, sheets, **kw)
    text = path.read_text(encoding="utf-8").replace('statements = "manager"', 'statements = "none"')
    path.write_text(text, encoding="utf-8")
    return path


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _craft(run_dir: Path, org: Any, *, valid: int, unknown: int = 0, no_account: int = 0) -> Any:
    """Make more Coursepath completions unlogged and mapped to Thrive, in the run's result.

    ``valid`` get a content id Thrive knows, ``unknown`` one it does not (a 422), and
    ``no_account`` belong to people whose Thrive account is taken out of the result.
    Returns the chosen completion rows (in that order).
    """
    result = read_result(run_dir)
    comps = result.completions.copy()
    exc = result.exceptions
    already = set(exc.loc[exc["type"] == "unlogged_completion", "record_id"].astype(str))
    accounts = result.accounts
    thrive = accounts[(accounts["system"] == "thrive") & (accounts["match"] == "matched")]
    with_account = set(thrive["employee_id"].astype(str))
    pool = comps[
        (comps["system"] == "coursepath")
        & comps["employee_id"].astype(str).isin(with_account)
        & ~comps["record_id"].astype(str).isin(already)
        & comps["completed_at"].notna()
    ].drop_duplicates("employee_id")
    wanted = valid + unknown + no_account
    assert len(pool) >= wanted, "the sample organisation has too few Coursepath completions"
    chosen = pool.head(wanted)
    contents = org.thrive_contents["id"].astype(str).tolist()
    ids = contents[:valid] + [UNKNOWN_CONTENT] * unknown + contents[:no_account]
    comps["thrive_content_id"] = comps["thrive_content_id"].astype(object)
    comps.loc[chosen.index, "thrive_content_id"] = ids
    added = pd.DataFrame(
        {
            "type": "unlogged_completion",
            "severity": "warning",
            "employee_id": chosen["employee_id"].astype(str).to_numpy(),
            "system": "coursepath",
            "record_id": chosen["record_id"].astype(str).to_numpy(),
            "minutes": pd.array([60] * wanted, dtype="Int64"),
            "detail": "crafted for the write-back test",
        }
    )
    exceptions = pd.concat([exc.astype(object), added.astype(object)], ignore_index=True)
    orphans = set(chosen["employee_id"].astype(str).tail(no_account)) if no_account else set()
    gone = (accounts["system"] == "thrive") & accounts["employee_id"].astype(str).isin(orphans)
    accounts = accounts.astype({"match": object}).copy()
    accounts.loc[gone, "match"] = "unmatched"
    write_result(
        run_dir,
        dataclasses.replace(result, completions=comps, exceptions=exceptions, accounts=accounts),
    )
    return chosen


# --- listing ----------------------------------------------------------------------------------


def test_listing_sends_nothing_and_writes_the_plan(case: Case) -> None:
    outcome = push_completions(case.config, case.run_dir)
    assert not outcome.applied
    assert outcome.planned == 1  # the generator plants one Coursepath course mapped to Thrive
    assert outcome.created == outcome.existed == outcome.refused == outcome.failed == 0
    create = [r for r in outcome.rows if r.outcome == "would create"]
    assert len(create) == 1
    row = create[0]
    assert row.source_system == "coursepath" and row.content_id and row.thrive_user_id
    assert row.completed_at.endswith("Z") and "T" in row.completed_at
    reasons = {r.message for r in outcome.rows if r.outcome == "skipped"}
    assert "already in Thrive (a Thrive completion)" in reasons
    assert outcome.skipped == len(outcome.rows) - 1
    assert outcome.csv_path == case.run_dir / "writeback-plan.csv"
    plan = _csv(outcome.csv_path)
    assert list(plan[0]) == list(PLAN_COLUMNS)
    assert [p["outcome"] for p in plan].count("would create") == 1
    assert not (case.run_dir / "writeback.csv").exists()
    assert case.thrive_requests() == 0
    assert all(c["contentId"] != row.content_id for c in case.completions(row.thrive_user_id))


# --- apply, then again --------------------------------------------------------------------------


def test_apply_creates_then_a_rerun_posts_nothing(case: Case) -> None:
    first = push_completions(case.config, case.run_dir, apply=True, policy=FAST)
    assert (first.planned, first.created, first.existed, first.refused) == (1, 1, 0, 0)
    (row,) = [r for r in first.rows if r.outcome == "created"]
    assert row.http_status == 201 and row.statement_id
    listed = case.completions(row.thrive_user_id)
    mine = [c for c in listed if c["id"] == row.statement_id]
    assert mine == [
        {
            "id": row.statement_id,
            "userId": row.thrive_user_id,
            "contentId": row.content_id,
            "completedAt": row.completed_at,
            "isRPL": False,
        }
    ]
    log = _csv(case.run_dir / "writeback.csv")
    assert list(log[0]) == list(LOG_COLUMNS)
    assert [(r["record_id"], r["outcome"], r["http_status"]) for r in log] == [
        (row.record_id, "created", "201")
    ]
    assert log[0]["statement_id"] == row.statement_id and log[0]["time"].endswith("Z")

    before = case.thrive_requests()
    second = push_completions(case.config, case.run_dir, apply=True, policy=FAST)
    assert (second.planned, second.created, second.existed) == (0, 0, 0)
    assert case.thrive_requests() == before, "nothing is posted again"
    again = [r for r in second.rows if r.record_id == row.record_id]
    assert again[0].outcome == "skipped" and again[0].message.startswith("done in an earlier push")
    assert len(_csv(case.run_dir / "writeback.csv")) == 1
    listing = push_completions(case.config, case.run_dir)
    assert listing.planned == 0


def test_existed_refused_skipped_and_a_503_then_success(case: Case, org: Any) -> None:
    chosen = _craft(case.run_dir, org, valid=3, unknown=1, no_account=1)
    plan = {r.record_id: r for r in push_completions(case.config, case.run_dir).rows}
    pre = plan[str(chosen["record_id"].iloc[0])]
    url = f"{case.sandbox.base_urls['thrive']}/learning/completions"
    body = {"userId": pre.thrive_user_id, "contentId": pre.content_id}
    existing = requests.post(url, json={**body, "completedAt": pre.completed_at}, auth=AUTH)
    assert existing.status_code == 201  # someone logged it in Thrive before we push
    case.sandbox.faults.inject(POST_ONLY, "503", times=1)
    before = case.thrive_requests()

    outcome = push_completions(case.config, case.run_dir, apply=True, policy=FAST)

    assert (outcome.planned, outcome.created, outcome.existed) == (5, 3, 1)
    assert (outcome.refused, outcome.failed) == (1, 0)
    assert case.thrive_requests() - before == 5 + 1, "five posts and one retry of the 503"
    rows = {r.record_id: r for r in outcome.rows}
    assert rows[pre.record_id].outcome == "existed"
    assert rows[pre.record_id].http_status == 200
    assert rows[pre.record_id].statement_id == existing.json()["statementId"]
    refused = rows[str(chosen["record_id"].iloc[3])]
    assert (refused.outcome, refused.http_status) == ("refused", 422)
    assert refused.message == f"unknown content {UNKNOWN_CONTENT}"
    orphan = rows[str(chosen["record_id"].iloc[4])]
    assert (orphan.outcome, orphan.message) == (
        "skipped",
        "the person has no matched Thrive account",
    )
    log = {r["record_id"]: r for r in _csv(case.run_dir / "writeback.csv")}
    assert len(log) == 5 and orphan.record_id not in log
    assert log[refused.record_id]["message"] == f"unknown content {UNKNOWN_CONTENT}"
    assert log[refused.record_id]["http_status"] == "422"
    assert log[pre.record_id]["outcome"] == "existed"
    for created in (r for r in outcome.rows if r.outcome == "created"):
        ids = [c["id"] for c in case.completions(created.thrive_user_id)]
        assert created.statement_id in ids

    rerun = push_completions(case.config, case.run_dir, apply=True, policy=FAST)
    assert (rerun.planned, rerun.refused, rerun.created) == (1, 1, 0), "only the refusal again"


def test_thrive_down_fails_items_stops_early_and_a_rerun_finishes(case: Case, org: Any) -> None:
    _craft(case.run_dir, org, valid=5)
    case.sandbox.faults.inject(POST_ONLY, "503", times=None)
    serial = dataclasses.replace(FAST, concurrency=1)
    down = push_completions(case.config, case.run_dir, apply=True, policy=serial)
    assert (down.planned, down.failed, down.created) == (6, 6, 0)
    assert down.stopped_early
    tried = [r for r in down.rows if r.http_status == 503]
    assert len(tried) == 3 and all("gave up after 3 attempts" in r.message for r in tried)
    assert sum(r.message.startswith("not attempted") for r in down.rows) == 3
    assert case.thrive_requests() == 3 * 3, "three items, each tried three times, then none"
    assert [r["outcome"] for r in _csv(case.run_dir / "writeback.csv")] == ["failed"] * 6

    case.sandbox.faults.clear()
    back = push_completions(case.config, case.run_dir, apply=True, policy=FAST)
    assert (back.planned, back.created, back.failed) == (6, 6, 0)
    assert not back.stopped_early


def test_next_run_pulls_the_written_completion_and_counts_it_once(
    case: Case, base: tuple[dict[str, Path], Path], tmp_path: Path
) -> None:
    pushed = push_completions(case.config, case.run_dir, apply=True, policy=FAST)
    (row,) = [r for r in pushed.rows if r.outcome == "created"]
    runs.run(case.config, out=tmp_path / "next")
    before, after = read_result(base[1]), read_result(tmp_path / "next")
    comps = after.completions.set_index(after.completions["record_id"].astype(str))
    assert comps.loc[row.statement_id, "system"] == "thrive"
    assert comps.loc[row.statement_id, "disposition"] == "credited"
    assert comps.loc[row.record_id, "disposition"] == "duplicate"

    def counted(result: Any) -> int:
        people = result.people
        return int(people.loc[people["employee_id"] == row.employee_id, "counted"].iloc[0])

    assert counted(after) == counted(before), "written back, but not counted twice"
    again = push_completions(case.config, tmp_path / "next")
    assert again.planned == 0


def test_apply_with_oauth2_client_credentials(
    case: Case, base: tuple[dict[str, Path], Path], tmp_path: Path
) -> None:
    path = _config(case.sandbox, tmp_path / "oauth", base[0], thrive_auth="oauth2")
    assert 'auth = "oauth2"' in path.read_text(encoding="utf-8")
    outcome = push_completions(config_module.load(path), case.run_dir, apply=True, policy=FAST)
    assert (outcome.created, outcome.refused, outcome.failed) == (1, 0, 0)
    (row,) = [r for r in outcome.rows if r.outcome == "created"]
    assert row.statement_id in [c["id"] for c in case.completions(row.thrive_user_id)]


def test_a_read_only_oauth2_client_stops_at_once_with_exit_3_and_the_scope(
    case: Case, base: tuple[dict[str, Path], Path], tmp_path: Path
) -> None:
    path = _config(case.sandbox, tmp_path / "readonly", base[0], thrive_auth="oauth2")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('auth = "oauth2"', 'auth = "oauth2"\nscope = "api/read"'))
    with pytest.raises(SourceError) as caught:
        push_completions(config_module.load(path), case.run_dir, apply=True, policy=FAST)
    assert caught.value.status == 403
    assert "does not include api/write" in str(caught.value)
    assert "scope" in str(caught.value)


# --- the core's POST ---------------------------------------------------------------------------


def test_core_request_returns_status_body_and_refusal_message(case: Case) -> None:
    content = case.sandbox.organisation.thrive_contents["id"].iloc[0]
    user = case.sandbox.organisation.thrive_users["id"].iloc[0]
    body = {"userId": user, "contentId": content, "completedAt": "2026-03-03T10:00:00.000Z"}
    with HttpClient("thrive", case.sandbox.base_urls["thrive"], policy=FAST, auth=AUTH) as client:
        created = client.request("POST", "/learning/completions", json_body=body)
        again = client.request("POST", "/learning/completions", json_body=body)
        assert (created.status, again.status) == (201, 200)
        assert created.body == again.body and created.ok
        bad = {**body, "userId": "nobody"}
        refused = client.request("POST", "/learning/completions", json_body=bad, refusals={422})
        assert (refused.status, refused.ok, refused.message) == (422, False, "unknown user nobody")
        with pytest.raises(SourceError, match="HTTP 422: unknown user nobody"):
            client.request("POST", "/learning/completions", json_body=bad)


# --- CLI and errors ----------------------------------------------------------------------------


def _invoke(*args: Any) -> Any:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_cli_lists_then_applies_with_exit_3_on_a_refusal(case: Case, org: Any) -> None:
    _craft(case.run_dir, org, valid=1, unknown=1)
    listed = _invoke("push-completions", "-c", case.config_path, "-r", case.run_dir)
    assert listed.exit_code == 0, listed.output
    assert "would create 3, skipped" in listed.output
    assert "nothing was sent; plan written to" in listed.output
    assert case.thrive_requests() == 0

    applied = _invoke("push-completions", "-c", case.config_path, "-r", case.run_dir, "--apply")
    assert applied.exit_code == 3
    assert "created 2, already existed 0, refused 1, failed 0" in applied.output
    assert f"unknown content {UNKNOWN_CONTENT}" in applied.output
    assert "1 of 3 completions were not written to Thrive (1 refused, 0 failed)" in applied.output
    assert THRIVE_API_SECRET not in applied.output
    log = (case.run_dir / "writeback.csv").read_text(encoding="utf-8")
    assert THRIVE_API_SECRET not in log and "Basic " not in log

    case.sandbox.faults.clear()
    rerun = _invoke("push-completions", "-c", case.config_path, "-r", case.run_dir, "--apply")
    assert rerun.exit_code == 3 and "created 0, already existed 0, refused 1" in rerun.output
    assert "2 done in an earlier push" in rerun.output


def test_cli_all_done_exits_0(case: Case) -> None:
    result = _invoke("push-completions", "-c", case.config_path, "-r", case.run_dir, "--apply")
    assert result.exit_code == 0, result.output
    assert "created 1, already existed 0, refused 0, failed 0" in result.output
    assert f"log: {case.run_dir / 'writeback.csv'}" in result.output


def test_without_thrive_source_is_a_config_error(
    case: Case, base: tuple[dict[str, Path], Path], tmp_path: Path
) -> None:
    folder = tmp_path / "no-thrive"
    path = _config(case.sandbox, folder, base[0], sources=("coursepath",))
    with pytest.raises(ConfigError, match=r"no \[sources\.thrive\] section"):
        push_completions(config_module.load(path), case.run_dir)
    result = _invoke("push-completions", "-c", path, "-r", case.run_dir)
    assert result.exit_code == 2 and "[sources.thrive]" in result.output


def test_rejected_secret_stops_with_exit_3_and_nothing_done(
    case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THRIVE_API_SECRET", "wrong-secret")
    result = _invoke("push-completions", "-c", case.config_path, "-r", case.run_dir, "--apply")
    assert result.exit_code == 3
    assert "401" in result.output and "THRIVE_API_SECRET" in result.output
    assert "wrong-secret" not in result.output
    log = case.run_dir / "writeback.csv"
    assert not log.exists() or all(r["outcome"] not in ("created", "existed") for r in _csv(log))


def test_not_a_run_folder_is_an_input_error(case: Case, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a run folder"):
        push_completions(case.config, tmp_path / "empty")
    result = _invoke("push-completions", "-c", case.config_path, "-r", tmp_path / "empty")
    assert result.exit_code == 2


def test_log_cells_never_run_as_formulas_and_read_back_unchanged(tmp_path: Path) -> None:
    assert [_cell(v) for v in ("=1+1", "+x", "-3", "@a", "ok", None, 201)] == [
        "'=1+1",
        "'+x",
        "'-3",
        "'@a",
        "ok",
        "",
        "201",
    ]
    path = tmp_path / "writeback.csv"
    row = dict.fromkeys(LOG_COLUMNS, "")
    row.update(thrive_user_id="'=HYPERLINK(1)", content_id="c", completed_at="t", outcome="created")
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, LOG_COLUMNS)
        writer.writeheader()
        writer.writerow(row)
        writer.writerow({**row, "content_id": "d", "outcome": "refused"})
    done = read_done(path)
    assert done[["thrive_user_id", "content_id"]].values.tolist() == [["=HYPERLINK(1)", "c"]]
