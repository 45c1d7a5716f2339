"""`reconcile check --sources`: one request per API against the real sandbox on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reconcile import config as config_module
from reconcile.cli import cli
from reconcile.sandbox import Sandbox
from reconcile.sandbox.spreadsheets import write_spreadsheets
from reconcile.sources import HttpPolicy
from reconcile.sources.reach import probe_sources

FAST = HttpPolicy(
    concurrency=1,
    timeout_seconds=2.0,
    max_retries=1,
    max_wait_seconds=0.5,
    backoff_base_seconds=0.001,
    backoff_cap_seconds=0.005,
)


pytestmark = pytest.mark.usefixtures("sandbox_env")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(people=20, seed=5) as running:
        yield running


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rewritten(config_path: Path, tmp_path: Path, old: str, new: str) -> Path:
    """The sandbox config with one piece of text replaced, spreadsheet paths kept absolute."""
    text = config_path.read_text(encoding="utf-8").replace(old, new)
    for line in text.splitlines():
        if line.startswith("path = ") and not line.startswith('path = "/'):
            relative = line.split('"')[1]
            text = text.replace(line, f'path = "{(config_path.parent / relative).as_posix()}"')
    path = tmp_path / "reconcile.toml"
    path.write_text(text, encoding="utf-8")
    return path


def by_source(results: list[Any]) -> dict[str, Any]:
    return {r.source: r for r in results}


def test_every_source_answers_ok_with_one_request_each(sandbox: Sandbox, config_path: Path) -> None:
    sandbox.stats.reset()
    results = probe_sources(config_module.load(config_path), policy=FAST)
    assert [r.source for r in results] == ["thrive", "brightspace", "coursepath"]
    assert [r.outcome for r in results] == ["ok", "ok", "ok"]
    assert all(r.seconds > 0 and r.message == "" for r in results)
    assert results[0].url.endswith("/thrive/rest/v1/users")
    assert sandbox.stats.total_requests() == 3


def test_wrong_secret_is_an_auth_failure_naming_the_variable(
    config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THRIVE_API_SECRET", "not-the-secret-4q2")
    results = by_source(probe_sources(config_module.load(config_path), policy=FAST))
    thrive = results["thrive"]
    assert (thrive.outcome, thrive.status) == ("auth", 401)
    assert "HTTP 401" in thrive.message and "check THRIVE_API_SECRET" in thrive.message
    assert "not-the-secret-4q2" not in thrive.message
    assert results["brightspace"].ok and results["coursepath"].ok


def test_wrong_coursepath_key_is_refused_too(
    config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COURSEPATH_API_KEY", "a-key-that-signs-nothing")
    results = by_source(probe_sources(config_module.load(config_path), policy=FAST))
    assert (results["coursepath"].outcome, results["coursepath"].status) == ("auth", 401)
    assert "check COURSEPATH_API_KEY" in results["coursepath"].message


def test_nothing_listening_is_unreachable_with_the_fix(
    sandbox: Sandbox, config_path: Path, tmp_path: Path
) -> None:
    dead = free_port()
    live = sandbox.base_urls["brightspace"]
    path = rewritten(config_path, tmp_path, live, f"http://127.0.0.1:{dead}/x")
    results = by_source(probe_sources(config_module.load(path), policy=FAST))
    brightspace = results["brightspace"]
    assert brightspace.outcome == "unreachable" and brightspace.status is None
    assert f"could not reach http://127.0.0.1:{dead}/x/d2l/api/lp/" in brightspace.message
    assert "check [sources.brightspace] base_url" in brightspace.message
    assert results["thrive"].ok and results["coursepath"].ok


def test_wrong_base_path_is_a_404_pointing_at_base_url(config_path: Path, tmp_path: Path) -> None:
    path = rewritten(config_path, tmp_path, "/coursepath/api/v1", "/coursepath/api/v9")
    results = by_source(probe_sources(config_module.load(path), policy=FAST))
    coursepath = results["coursepath"]
    assert (coursepath.outcome, coursepath.status) == ("not_found", 404)
    assert "check [sources.coursepath] base_url" in coursepath.message


def test_unset_secret_is_reported_like_run_and_others_still_probed(
    config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BRIGHTSPACE_TOKEN")
    results = by_source(probe_sources(config_module.load(config_path), policy=FAST))
    brightspace = results["brightspace"]
    assert brightspace.outcome == "missing_secret"
    assert "environment variable BRIGHTSPACE_TOKEN is not set" in brightspace.message
    assert results["thrive"].ok and results["coursepath"].ok


def invoke(*args: Any, env: dict[str, str | None] | None = None) -> Any:
    return CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)


def test_cli_all_ok_exits_0_and_lists_each_source(config_path: Path) -> None:
    result = invoke("check", "-c", config_path, "--sources")
    assert result.exit_code == 0, result.output
    for name in ("thrive", "brightspace", "coursepath"):
        assert any(
            line.startswith(name) and " ok " in line for line in result.output.splitlines()
        ), result.output
    assert "not available" not in result.output


def test_cli_wrong_credentials_exit_3_with_one_clear_line(config_path: Path) -> None:
    result = invoke("check", "-c", config_path, "--sources", env={"BRIGHTSPACE_TOKEN": "nope-77"})
    assert result.exit_code == 3, result.output
    failed = [line for line in result.output.splitlines() if "FAILED" in line]
    assert len(failed) == 1 and failed[0].startswith("brightspace")
    assert "HTTP 401" in failed[0] and "check BRIGHTSPACE_TOKEN" in failed[0]
    assert "nope-77" not in result.output


def test_cli_unset_secret_exits_2(config_path: Path) -> None:
    result = invoke("check", "-c", config_path, "--sources", env={"COURSEPATH_API_KEY": None})
    assert result.exit_code == 2, result.output
    assert "environment variable COURSEPATH_API_KEY is not set" in result.output


def test_cli_spreadsheet_errors_win_over_a_failing_source(
    sandbox: Sandbox, config_path: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"")
    path = rewritten(config_path, tmp_path, 'path = "roster.xlsx"', f'path = "{broken.as_posix()}"')
    result = invoke("check", "-c", path, "--sources", env={"THRIVE_API_SECRET": "wrong-1"})
    assert result.exit_code == 2, result.output
    assert any(
        line.startswith("thrive") and "FAILED" in line for line in result.output.splitlines()
    )


def test_sources_without_config_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke("check", "--sources", tmp_path / "roster.csv")
    assert result.exit_code == 2
    assert "--sources needs -c CONFIG" in result.output


def test_thrive_oauth2_fetches_a_token_then_probes(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spreadsheets = write_spreadsheets(sandbox.organisation, tmp_path)
    path = sandbox.write_config(tmp_path, spreadsheets, sources=("thrive",), thrive_auth="oauth2")
    sandbox.stats.reset()
    [thrive] = probe_sources(config_module.load(path), policy=FAST)
    assert (thrive.source, thrive.outcome) == ("thrive", "ok")
    assert sandbox.stats.total_requests() == 2  # the token, then one page of users
    monkeypatch.setenv("THRIVE_CLIENT_SECRET", "wrong-client-secret")
    [refused] = probe_sources(config_module.load(path), policy=FAST)
    assert refused.outcome == "auth" and "wrong-client-secret" not in refused.message
