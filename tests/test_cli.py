"""The CLI skeleton: help for every command, errors as one line and the right exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconcile.cli import cli

COMMANDS = ["demo", "run", "pull", "report", "check", "send", "push-completions", "sandbox"]


def test_every_design_command_exists() -> None:
    assert set(COMMANDS) <= set(cli.commands)


@pytest.mark.parametrize("command", COMMANDS)
def test_commands_have_help(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output
    assert len(cli.commands[command].help or "") > 10


def test_bad_config_exits_2_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "reconcile.toml"
    bad.write_text("[organisation]\nname = 'x'\n[period]\nstart = 2026-01-01\nend = 2026-12-31\n")
    proc = subprocess.run(
        [sys.executable, "-m", "reconcile", "pull", "-c", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "[roster] is missing" in proc.stderr
    assert proc.stderr.strip().count("\n") == 0


def test_unknown_option_is_usage_error() -> None:
    result = CliRunner().invoke(cli, ["pull", "--bogus"])
    assert result.exit_code == 2
