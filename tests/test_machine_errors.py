"""The environment is not a bug: a full disk, a read-only folder, odd paths and settings each
end in one line and exit 2 (config) or 4 (machine), never exit 1 or a traceback.

A full or read-only disk is a real small file system (tmpfs) where the machine allows a
mount (root); elsewhere the closest real thing: a file-size limit on the process (the writes
fail with EFBIG) and a folder without write permission.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconcile.sandbox import Sandbox
from tests.processes import error_lines, run, sandbox_config, tree
from tests.smtp_server import run_folder

ONE_LINE_AND_NO_TRACEBACK = ("Traceback", "Exception ignored", "panicked")


@contextlib.contextmanager
def small_disk(folder: Path, kilobytes: int, *, read_only: bool = False) -> Iterator[bool]:
    """Mount a tmpfs of ``kilobytes`` at ``folder``; yields whether it could be mounted."""
    folder.mkdir(parents=True, exist_ok=True)
    options = f"size={kilobytes}k,mode=0755" + (",ro" if read_only else "")
    mounted = (
        os.geteuid() == 0
        and shutil.which("mount") is not None
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True
        ).returncode
        == 0
    )
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def one_clean_line(result: subprocess.CompletedProcess) -> str:
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    for marker in ONE_LINE_AND_NO_TRACEBACK:
        assert marker not in result.stderr, result.stderr
    return lines[0]


def report_args(workspace: Path, folder: Path) -> list[object]:
    return ["report", "-c", workspace / "reconcile.toml", "--snapshot", folder, "--out", folder]


def test_a_full_disk_while_writing_leaves_the_previous_run_and_exits_4(
    workspace: Path, tmp_path: Path
) -> None:
    previous = run_folder(workspace)
    shutil.rmtree(previous / "outbox")  # the demo's .eml files: not needed here
    size = sum(p.stat().st_size for p in previous.rglob("*") if p.is_file()) // 1024
    with small_disk(tmp_path / "small", size + size // 3) as mounted:
        if mounted:
            folder = tmp_path / "small" / "2026-11"
            shutil.copytree(previous, folder)
            before = tree(folder)
            result = run(*report_args(workspace, folder))
            left = sorted(p.name for p in (tmp_path / "small").iterdir())
        else:  # closest real thing: every file this process writes stops at 16 KiB
            folder = previous
            before = tree(folder)
            result = _run_with_file_limit(report_args(workspace, folder), 16 * 1024)
            left = sorted(p.name for p in folder.parent.iterdir() if p.name.startswith("."))
            left = [*left, "2026-11"] if folder.exists() else left
        assert result.returncode == 4, result.stderr
        line = one_clean_line(result)
        problem = "no space left on the disk" if mounted else "larger than this system allows"
        assert problem in line and f"{folder} is exactly as it was before this run" in line
        assert tree(folder) == before
        assert left == ["2026-11"]


def _run_with_file_limit(args: list[object], limit: int) -> subprocess.CompletedProcess:
    return run(*args, limits={resource.RLIMIT_FSIZE: limit})


@pytest.fixture(scope="module")
def sandbox(small_sandbox: Sandbox) -> Sandbox:
    return small_sandbox


@pytest.fixture(scope="module")
def live_config(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sandbox_config(sandbox, tmp_path_factory.mktemp("machine"))


def test_a_read_only_output_folder_is_found_before_any_request(
    sandbox: Sandbox, live_config: Path, tmp_path: Path
) -> None:
    with small_disk(tmp_path / "ro", 64, read_only=True) as mounted:
        if not mounted:
            (tmp_path / "ro").chmod(0o555)
        before = sandbox.stats.total_requests()
        out = tmp_path / "ro" / "2026-12"
        result = run("run", "-c", live_config, "--out", out, env=sandbox.env())
        csv = run("check", "-c", live_config, "--csv", tmp_path / "ro" / "check.csv")
        if not mounted:
            (tmp_path / "ro").chmod(0o755)
    assert result.returncode == 4, result.stderr
    line = one_clean_line(result)
    assert str(tmp_path / "ro") in line
    assert ("read-only" in line) if mounted else ("permission denied" in line)
    assert sandbox.stats.total_requests() == before
    assert csv.returncode == 4, csv.stderr
    one_clean_line(csv)


def test_statements_being_a_file_in_the_run_folder_is_replaced_with_the_run(
    workspace: Path,
) -> None:
    folder = run_folder(workspace)
    shutil.rmtree(folder / "statements")
    (folder / "statements").write_text("not a folder", encoding="utf-8")
    result = run(*report_args(workspace, folder))
    assert result.returncode == 0, result.stderr
    assert (folder / "statements").is_dir() and list((folder / "statements").glob("*.pdf"))


def test_paths_and_settings_that_cannot_work_are_config_errors(
    live_config: Path, tmp_path: Path
) -> None:
    loop = tmp_path / "loop.toml"
    loop.symlink_to(loop)
    looping = run("run", "-c", loop)
    assert looping.returncode == 2, looping.stderr
    assert "loop of symbolic links" in one_clean_line(looping)

    text = live_config.read_text(encoding="utf-8")
    roster_loop = tmp_path / "roster.xlsx"
    roster_loop.symlink_to(roster_loop)
    bad_roster = live_config.parent / "bad-roster.toml"
    bad_roster.write_text(
        text.replace('path = "inputs/roster.xlsx"', f'path = "{roster_loop}"'), encoding="utf-8"
    )
    assert bad_roster.read_text(encoding="utf-8") != text
    for config, expected in (
        (bad_roster, "loop of symbolic links"),
        (_with(live_config, "[http]\ntimeout_seconds = 0\n"), "http.timeout_seconds is 0"),
        (_with(live_config, "[http]\ntimeout_seconds = -5\n"), "http.timeout_seconds is -5"),
        (_output_dir_is_a_file(live_config, tmp_path), "output.dir"),
    ):
        result = run("check", "-c", config)
        assert result.returncode == 2, (config, result.stdout, result.stderr)
        assert expected in one_clean_line(result)


def test_debug_adds_the_traceback_and_keeps_the_exit_code(tmp_path: Path) -> None:
    loop = tmp_path / "loop.toml"
    loop.symlink_to(loop)
    result = run("--debug", "run", "-c", loop)
    assert result.returncode == 2
    assert "Traceback" in result.stderr and "loop of symbolic links" in result.stderr


def _with(config: Path, extra: str) -> Path:
    path = config.parent / f"extra-{abs(hash(extra))}.toml"
    path.write_text(config.read_text(encoding="utf-8") + "\n" + extra, encoding="utf-8")
    return path


def _output_dir_is_a_file(config: Path, tmp_path: Path) -> Path:
    blocker = tmp_path / "reports-file"
    blocker.write_text("a file where the reports folder should be", encoding="utf-8")
    text = config.read_text(encoding="utf-8").replace('dir = "reports"', f'dir = "{blocker}"')
    path = config.parent / "output-file.toml"
    path.write_text(text, encoding="utf-8")
    return path


_WRITE_WORKBOOK = """
import sys
from reconcile.render.pdf_sample import sample_result
from reconcile.render.xlsx import write_workbook
try:
    write_workbook(sample_result(400), sys.argv[1])
except OSError as error:
    print("errno", error.errno)
"""


def test_a_workbook_cut_short_by_a_full_disk_leaves_no_file_and_no_zip_warning(
    tmp_path: Path,
) -> None:
    with small_disk(tmp_path / "small", 48) as mounted:
        target = tmp_path / "small" / "compliance.xlsx"
        limits = {} if mounted else {resource.RLIMIT_FSIZE: 16 * 1024}
        result = run(target, python=_WRITE_WORKBOOK, limits=limits, timeout=120)
        left = list((tmp_path / "small").iterdir())
    assert result.stdout.strip() == f"errno {28 if mounted else 27}", result.stderr
    assert "Exception ignored" not in result.stderr and "Traceback" not in result.stderr
    assert left == []
