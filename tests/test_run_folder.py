"""The run folder as a whole: never mixed, never a user's folder, one job at a time.

Real ``reconcile`` processes are stopped with real signals while they render statements;
the previous run folder must be byte-for-byte what it was, with nothing left beside it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconcile.cli import cli
from reconcile.runfolder import lock_path
from tests.processes import error_lines, group_gone, run, start, tree, wait_for
from tests.smtp_server import Mailbox, configure, managers, run_folder, sent_log, smtp_server


def by_person(workspace: Path) -> Path:
    """The demo config with one statement per person (40 PDFs: the pool renders them)."""
    path = workspace / "reconcile.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('statements = "manager"', 'statements = "person"'), "utf-8")
    return path


def report_args(workspace: Path) -> list[object]:
    folder = run_folder(workspace)
    return ["report", "-c", workspace / "reconcile.toml", "--snapshot", folder, "--out", folder]


def rendering_statements(workspace: Path, started: float) -> bool:
    """Has the job begun writing statement PDFs (beside the folder or in it)?"""
    reports = workspace / "reports"
    return any(
        p.stat().st_mtime >= started for p in reports.glob(".2026-11*/statements/*.pdf")
    ) or any(p.stat().st_mtime >= started for p in reports.glob("2026-11/statements/*.pdf"))


def leftovers(workspace: Path) -> list[str]:
    return sorted(p.name for p in (workspace / "reports").iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("how", ["SIGTERM to the process", "Ctrl-C to the process group"])
def test_a_signal_while_rendering_leaves_the_previous_folder_exactly_as_it_was(
    workspace: Path, how: str
) -> None:
    by_person(workspace)
    before = tree(run_folder(workspace))
    started = time.time()
    process = start(*report_args(workspace))
    try:
        wait_for(lambda: rendering_statements(workspace, started), what="statements rendering")
        if how.startswith("SIGTERM"):
            process.send_signal(signal.SIGTERM)
        else:
            os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 4, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    [line] = error_lines(stderr) or [stderr]
    assert len(error_lines(stderr)) == 1, stderr
    name = "SIGTERM" if how.startswith("SIGTERM") else "SIGINT"
    assert line.startswith(f"error: interrupted ({name})"), line
    assert f"{run_folder(workspace)} is exactly as it was before this run" in line
    assert tree(run_folder(workspace)) == before
    assert leftovers(workspace) == []
    wait_for(lambda: group_gone(process), timeout=20, what="the pool workers to end")


def test_a_failure_while_rendering_leaves_the_previous_folder_and_no_temporary_one(
    workspace: Path,
) -> None:
    mine = workspace / "my-templates"
    mine.mkdir()
    (mine / "statement.html").write_text("{{ no_such_variable }}", encoding="utf-8")
    config = workspace / "reconcile.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[output]\n", '[output]\ntemplates = "my-templates"\n'), "utf-8")
    before = tree(run_folder(workspace))
    result = CliRunner().invoke(cli, [str(a) for a in report_args(workspace)])
    assert result.exit_code == 2, result.output
    assert "no_such_variable" in result.output
    assert tree(run_folder(workspace)) == before
    assert leftovers(workspace) == []


def test_a_new_run_holds_only_its_own_statements_and_keeps_the_send_log(
    workspace: Path,
) -> None:
    folder = run_folder(workspace)
    (folder / "sent.csv").write_text("manager_id,recipient\n", encoding="utf-8")
    (folder / "statements" / "999999.pdf").write_bytes(b"%PDF- a statement of nobody now")
    result = CliRunner().invoke(cli, [str(a) for a in report_args(workspace)])
    assert result.exit_code == 0, result.output
    expected = {f"{m}.pdf" for m in managers(workspace)["manager_id"]}
    assert {p.name for p in (folder / "statements").iterdir()} == expected
    assert (folder / "sent.csv").read_text(encoding="utf-8") == "manager_id,recipient\n"
    assert (folder / "snapshot" / "manifest.json").is_file()  # its own snapshot moved along
    assert not (folder / "outbox").exists()  # the previous run's .eml files are gone
    assert leftovers(workspace) == []


def test_out_refuses_a_folder_that_is_not_a_run_folder(workspace: Path, tmp_path: Path) -> None:
    mine = tmp_path / "my documents"
    (mine / "result").mkdir(parents=True)
    (mine / "snapshot").mkdir()
    (mine / "notes.txt").write_text("mine", encoding="utf-8")
    (mine / "result" / "budget.xlsx").write_bytes(b"precious")
    (mine / "snapshot" / "holiday.jpg").write_bytes(b"precious too")
    before = tree(mine)
    args = ["report", "-c", workspace / "reconcile.toml", "--snapshot", run_folder(workspace)]
    result = CliRunner().invoke(cli, [str(a) for a in [*args, "--out", mine]])
    assert result.exit_code == 2, result.output
    assert "not a reconcile run" in result.output and "notes.txt" in result.output
    assert tree(mine) == before
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(cli, [str(a) for a in [*args, "--out", empty]])
    assert result.exit_code == 0, result.output
    assert (empty / "summary.json").is_file()


def test_a_second_run_on_the_same_folder_is_refused_while_the_first_works(
    workspace: Path,
) -> None:
    by_person(workspace)
    first = start(*report_args(workspace))
    try:
        wait_for(lambda: lock_path(run_folder(workspace)).is_file(), what="the first run's lock")
        second = run(*report_args(workspace))
        _, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
    assert second.returncode == 4, second.stderr
    [line] = error_lines(second.stderr)
    assert "another run is using this folder since" in line
    assert f"process {first.pid}" in line and "`reconcile report`" in line
    assert first.returncode == 0, err
    assert leftovers(workspace) == []
    record = (run_folder(workspace) / "statements.csv").read_text(encoding="utf-8")
    assert len(record.splitlines()) == 1 + len(
        list((run_folder(workspace) / "statements").iterdir())
    )


def test_a_stale_lock_of_a_process_that_is_gone_is_taken_over(workspace: Path) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    lock = lock_path(run_folder(workspace))
    lock.write_text(
        f'{{"pid": {int(gone.stdout)}, "host": "{os.uname().nodename}", '
        '"command": "run", "since": "2026-11-30 09:00:00 UTC"}\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, [str(a) for a in report_args(workspace)])
    assert result.exit_code == 0, result.output
    assert not lock.exists()


def test_two_sends_at_once_send_each_message_once(workspace: Path) -> None:
    mailbox = Mailbox(data_delay=0.4)  # a slow server: the first send takes seconds
    expected = managers(workspace)
    with smtp_server(mailbox) as port:
        configure(workspace, port)
        args = ["send", "-c", workspace / "reconcile.toml", "-r", run_folder(workspace)]
        first = start(*args)
        try:
            wait_for(lambda: mailbox.messages, what="the first message")
            second = run(*args)
            _, err = first.communicate(timeout=60)
        finally:
            if first.poll() is None:
                first.kill()
    assert second.returncode == 4, second.stderr
    assert "another run is using this folder since" in second.stderr
    assert "`reconcile send`" in second.stderr
    assert first.returncode == 0, err
    assert sorted(r[0] for r, _ in mailbox.messages) == sorted(expected["email"])
    assert [row["outcome"] for row in sent_log(workspace)] == ["sent"] * len(expected)


def test_a_lock_holder_is_alive_by_its_process_id() -> None:
    """Where flock is missing, the process id in the lock file decides whether it is stale."""
    from reconcile.runfolder import Holder

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    here = os.uname().nodename
    assert not Holder(int(gone.stdout), here, "run", "").alive()
    assert Holder(os.getpid(), here, "run", "").alive()
    assert Holder(int(gone.stdout), "another-host", "run", "").alive()  # cannot tell: held
