"""A pull stopped part way continues with ``--resume`` (issue 21; docs/sources.md).

The pull keeps every answer it receives in a hidden folder beside the run folder; a real
``reconcile pull`` process killed outright (SIGKILL) mid-pull is continued by
``reconcile pull --resume``, which asks the sandbox only for what was never answered and
writes a snapshot whose every table equals an uninterrupted pull's. A half snapshot never
passes for a whole one: nothing is written until every list is complete, the progress is
used only for the pull it was made for, and it is gone once the run folder is in place.
"""

from __future__ import annotations

import os
import signal
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from reconcile.cli import cli
from reconcile.sandbox import Sandbox
from reconcile.snapshot import read_snapshot
from reconcile.sources.saved import progress_path, saved_count
from tests.processes import error_lines, run, sandbox_config, start, wait_for
from tests.test_sources_sandbox import with_fast_http


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(people=60, seed=3) as running:
        yield running


@pytest.fixture(scope="module")
def config(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sandbox's config, giving up on a failing request within a second."""
    path = sandbox_config(sandbox, tmp_path_factory.mktemp("resume"))
    path.write_text(with_fast_http(path.read_text(encoding="utf-8")), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def baseline(sandbox: Sandbox, config: Path) -> tuple[Path, int]:
    """An uninterrupted pull's run folder, and how many requests it made."""
    sandbox.faults.clear()
    sandbox.stats.reset()
    out = config.parent / "uninterrupted"
    result = pull(sandbox, config, out)
    assert result.exit_code == 0, result.output
    return out, sandbox.stats.total_requests()


@pytest.fixture(autouse=True)
def _clean(sandbox: Sandbox) -> Iterator[None]:
    sandbox.faults.clear()
    sandbox.latency_ms = 0
    yield
    sandbox.faults.clear()
    sandbox.latency_ms = 0


def pull(sandbox: Sandbox, config: Path, out: Path, *more: str) -> Any:
    args = ["pull", "-c", str(config), "--out", str(out), *more]
    return CliRunner().invoke(cli, args, env=sandbox.env())


def assert_same_tables(expected: Path, got: Path) -> dict[str, Any]:
    """Every Parquet table of two snapshots equal; the second's manifest."""
    want, _ = read_snapshot(expected)
    have, manifest = read_snapshot(got)
    assert list(have) == list(want)
    for key, frame in want.items():
        pd.testing.assert_frame_equal(have[key], frame, obj=str(key))
    return manifest


def settled(sandbox: Sandbox) -> bool:
    """No request arrived at the sandbox for a while (a killed client's last ones are
    still held there for the latency when it dies)."""
    seen = sandbox.stats.total_requests()
    time.sleep(0.3)
    return sandbox.stats.total_requests() == seen


def resumed(manifest: dict[str, Any]) -> int:
    return sum(s.get("requests_resumed", 0) for s in manifest["sources"].values())


def test_a_pull_killed_mid_way_resumes_to_the_same_snapshot(
    sandbox: Sandbox, config: Path, baseline: tuple[Path, int], tmp_path: Path
) -> None:
    uninterrupted, requests = baseline
    out = tmp_path / "2026-11"
    kept = progress_path(out)
    sandbox.latency_ms = 40  # slow enough to kill it half way
    process = start("pull", "-c", config, "--out", out, env=sandbox.env())
    try:
        wait_for(
            lambda: kept.is_dir() and saved_count(kept) >= requests // 2,
            timeout=120,
            what="half the answers saved",
        )
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    wait_for(lambda: settled(sandbox), what="the killed pull's last requests to reach the sandbox")
    before = saved_count(kept)
    assert requests // 2 <= before < requests
    assert not out.exists()  # no snapshot, whole or half
    assert stat.S_IMODE(kept.stat().st_mode) == 0o700
    for file in kept.iterdir():
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file

    sandbox.latency_ms = 0
    sandbox.stats.reset()
    again = run("pull", "-c", config, "--out", out, "--resume", env=sandbox.env())
    assert again.returncode == 0, again.stderr
    manifest = assert_same_tables(uninterrupted, out)
    asked = sandbox.stats.total_requests()
    assert resumed(manifest) >= before
    assert asked + resumed(manifest) == requests  # nothing asked twice, nothing skipped
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026-11"]  # progress removed


def test_a_run_stopped_by_sigterm_says_so_and_resumes(
    sandbox: Sandbox, config: Path, baseline: tuple[Path, int], tmp_path: Path
) -> None:
    """``reconcile run`` keeps its pull's progress too: SIGTERM mid-pull is exit 4 with the
    way to continue, and ``run --resume`` finishes the run from the same answers."""
    uninterrupted, requests = baseline
    out = tmp_path / "2026-11"
    kept = progress_path(out)
    sandbox.latency_ms = 40
    process = start("run", "-c", config, "--out", out, env=sandbox.env())
    try:
        wait_for(lambda: kept.is_dir() and saved_count(kept) >= requests // 3, timeout=120)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 4, stderr
    [line] = error_lines(stderr)
    assert line.startswith("error: interrupted (SIGTERM)"), line
    assert f"kept in {kept}: `reconcile run --resume` continues from there" in line
    sandbox.latency_ms = 0
    again = CliRunner().invoke(
        cli, ["run", "-c", str(config), "--out", str(out), "--resume"], env=sandbox.env()
    )
    assert again.exit_code == 0, again.output
    manifest = assert_same_tables(uninterrupted, out / "snapshot")
    assert resumed(manifest) >= requests // 3
    assert (out / "summary.json").is_file() and not kept.exists()


def test_a_failed_pull_says_resume_continues_it(
    sandbox: Sandbox, config: Path, baseline: tuple[Path, int], tmp_path: Path
) -> None:
    """503 forever on Coursepath's results: exit 3, and the line says how to continue; once
    the service is back, ``--resume`` asks only for what was never answered."""
    uninterrupted, requests = baseline
    out = tmp_path / "run"
    sandbox.faults.inject(r"/coursemember", "503", times=None)
    failed = pull(sandbox, config, out)
    assert failed.exit_code == 3, failed.output
    kept = progress_path(out)
    assert f"kept in {kept}: `reconcile pull --resume` continues from there" in failed.output
    assert not out.exists()
    sandbox.faults.clear()
    sandbox.stats.reset()
    again = pull(sandbox, config, out, "--resume")
    assert again.exit_code == 0, again.output
    manifest = assert_same_tables(uninterrupted, out)
    assert sandbox.stats.total_requests() + resumed(manifest) == requests
    assert sandbox.stats.total_requests() < requests / 2
    assert not kept.exists()


def test_a_torn_last_answer_is_asked_again(
    sandbox: Sandbox, config: Path, baseline: tuple[Path, int], tmp_path: Path
) -> None:
    """A kill in the middle of writing an answer leaves it cut short: it is dropped and the
    request asked again; the answers before it are used."""
    uninterrupted, requests = baseline
    out = tmp_path / "run"
    sandbox.faults.inject(r"/coursemember", "503", times=None)
    assert pull(sandbox, config, out).exit_code == 3
    answers = progress_path(out) / "thrive.answers"
    whole = saved_count(progress_path(out))
    data = answers.read_bytes()
    answers.write_bytes(data[:-25])  # the last answer, torn
    assert saved_count(progress_path(out)) == whole - 1
    sandbox.faults.clear()
    sandbox.stats.reset()
    again = pull(sandbox, config, out, "--resume")
    assert again.exit_code == 0, again.output
    manifest = assert_same_tables(uninterrupted, out)
    assert resumed(manifest) == whole - 1
    assert sandbox.stats.total_requests() == requests - (whole - 1)


def test_resume_refuses_another_period_and_a_plain_pull_replaces_the_progress(
    sandbox: Sandbox, config: Path, baseline: tuple[Path, int], tmp_path: Path
) -> None:
    uninterrupted, _ = baseline
    out = tmp_path / "run"
    sandbox.faults.inject(r"/coursemember", "503", times=None)
    assert pull(sandbox, config, out).exit_code == 3
    sandbox.faults.clear()
    kept = progress_path(out)
    before = {p.name: p.read_bytes() for p in kept.iterdir()}

    text = config.read_text(encoding="utf-8")
    other = config.with_name(f"{tmp_path.name}.toml")  # beside it: same spreadsheets
    other.write_text(text.replace("start = 2026-01-01", "start = 2026-02-01"), encoding="utf-8")
    refused = pull(sandbox, other, out, "--resume")
    assert refused.exit_code == 2, refused.output
    assert "for another period than this config asks for" in refused.output
    assert "run without --resume" in refused.output
    assert {p.name: p.read_bytes() for p in kept.iterdir()} == before  # left as it was
    assert not out.exists()

    fresh = pull(sandbox, config, out)
    assert fresh.exit_code == 0, fresh.output
    assert "an earlier pull was stopped there" in fresh.output
    assert "starts from the beginning and replaces them" in fresh.output
    manifest = assert_same_tables(uninterrupted, out)
    assert resumed(manifest) == 0
    assert not kept.exists()


def test_another_source_setting_is_refused_too(
    sandbox: Sandbox, config: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    sandbox.faults.inject(r"/coursemember", "503", times=None)
    assert pull(sandbox, config, out).exit_code == 3
    text = config.read_text(encoding="utf-8")
    other = config.with_name(f"{tmp_path.name}.toml")
    other.write_text(text.replace('le_version = "1.84"', 'le_version = "1.85"'), "utf-8")
    refused = pull(sandbox, other, out, "--resume")
    assert refused.exit_code == 2, refused.output
    assert "for another sources than" in refused.output


def test_an_unusable_answer_is_not_kept_for_a_resume(
    sandbox: Sandbox, config: Path, tmp_path: Path
) -> None:
    """A value no record can hold stops the pull (exit 3); replaying that answer would stop
    the next pull the same way, so the progress goes and no --resume is offered."""
    out = tmp_path / "run"
    body = (
        b'{"pagination":{"totalResults":1,"totalPages":1},"results":[{"logEntryId":"x1",'
        b'"userId":"u","entryDate":"2026-03-01T10:00:00Z",'
        b'"durationMinutes":9223372036854775807}]}'
    )
    sandbox.faults.inject(r"/thrive/rest/v1/cpdEntries\?", "body", times=None, body=body)
    failed = pull(sandbox, config, out)
    assert failed.exit_code == 3, failed.output
    assert "table cpd_entries" in failed.output and "--resume" not in failed.output
    assert not progress_path(out).exists() and not out.exists()


def test_a_list_read_twice_is_replayed_twice(tmp_path: Path) -> None:
    """Thrive's CPD entries (two pages) grow while they are read, so the pull reads them
    again: the saved answers hold both readings, and a resumed pull gets them back in that
    order (the first reading twice would be a list whose totals 'kept changing')."""
    with Sandbox(people=100, seed=4) as grown:
        config = sandbox_config(grown, tmp_path)
        config.write_text(with_fast_http(config.read_text(encoding="utf-8")), "utf-8")
        grown.faults.grow_during_pull(r"/thrive/rest/v1/cpdEntries\?", extra=5, times=1)
        grown.faults.inject(r"/coursemember", "503", times=None)  # Coursepath is pulled last
        out = tmp_path / "run"
        failed = pull(grown, config, out)
        assert failed.exit_code == 3, failed.output
        grown.faults.clear()
        again = pull(grown, config, out, "--resume")
        assert again.exit_code == 0, again.output
        fresh = pull(grown, config, tmp_path / "fresh")  # the grown list, read once
        assert fresh.exit_code == 0, fresh.output
    manifest = assert_same_tables(tmp_path / "fresh", out)
    assert manifest["sources"]["thrive"]["warnings"] == [
        "thrive: totals of /cpdEntries changed during the pull; pulling again"
    ]
    assert manifest["sources"]["thrive"]["requests_resumed"] > 0
    assert manifest["sources"]["thrive"]["requests"] == {}  # every answer was saved
