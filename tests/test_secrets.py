"""Secrets with stray whitespace or control characters, read the way the README's cron line
reads them (``. ./secrets.env`` in a shell), against the real sandbox."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reconcile import config as config_module
from reconcile.cli import cli
from reconcile.errors import ConfigError
from reconcile.redaction import redact
from reconcile.sandbox import Sandbox
from tests.processes import ROOT, error_lines, sandbox_config


@pytest.fixture(scope="module")
def sandbox(small_sandbox: Sandbox) -> Sandbox:
    return small_sandbox


@pytest.fixture(scope="module")
def folder(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sandbox_config(sandbox, tmp_path_factory.mktemp("secrets")).parent


def cron_like(folder: Path, secrets: str, *args: Any) -> subprocess.CompletedProcess:
    """``. ./secrets.env && reconcile ARGS`` in bash, as the README's cron line runs it."""
    (folder / "secrets.env").write_bytes(secrets.encode("utf-8"))
    command = '. ./secrets.env && exec "$PYTHON" -m reconcile "$@"'
    return subprocess.run(
        ["bash", "-c", command, "reconcile", *(str(a) for a in args)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=180,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "PYTHON": _python()},
    )


def _python() -> str:
    import sys

    return sys.executable


def test_a_secrets_file_with_windows_line_endings_just_works(
    sandbox: Sandbox, folder: Path
) -> None:
    lines = [f"export {name}={value}" for name, value in sandbox.env().items()]
    result = cron_like(folder, "\r\n".join(lines) + "\r\n", "run", "-c", "reconcile.toml")
    assert result.returncode == 0, result.stderr
    assert (folder / "reports" / "2026-12" / "summary.json").is_file()
    for value in sandbox.env().values():
        assert value not in result.stdout + result.stderr


def test_a_control_character_inside_a_secret_names_the_variable_never_the_value(
    sandbox: Sandbox, folder: Path
) -> None:
    env = dict(sandbox.env())
    name = next(n for n in env if n.endswith("TOKEN"))
    env[name] = env[name][:6] + "\x1b[2J" + env[name][6:]
    lines = [f"export {n}=$'{v}'" for n, v in env.items()]
    secrets = "\n".join(lines).replace("\x1b", "\\x1b") + "\n"
    result = cron_like(folder, secrets, "run", "-c", "reconcile.toml", "--out", "bad")
    assert result.returncode == 2, result.stderr
    [line] = error_lines(result.stderr)
    assert name in line and "control character" in line
    assert env[name][:6] not in line and "\x1b" not in result.stderr
    assert not (folder / "bad").exists()


def test_secrets_are_trimmed_and_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_TOKEN_VALUE", "  s3cr3t-t0ken-value\r\n")
    assert config_module.secret("TEST_TOKEN_VALUE", key="x") == "s3cr3t-t0ken-value"
    monkeypatch.setenv("TEST_TOKEN_VALUE", "s3cr3t\nt0ken")
    with pytest.raises(ConfigError, match="TEST_TOKEN_VALUE") as refused:
        config_module.secret("TEST_TOKEN_VALUE", key="x")
    assert "s3cr3t" not in str(refused.value)
    monkeypatch.setenv("TEST_TOKEN_VALUE", " \r\n")
    with pytest.raises(ConfigError, match="is not set"):
        config_module.secret("TEST_TOKEN_VALUE", key="x")
    assert redact("b'Bearer s3cr3t-t0ken-value'") == "b'Bearer ***'"
    assert redact("token=s3cr3t%2Dt0ken") == "token=s3cr3t%2Dt0ken"  # another value
    monkeypatch.setenv("TEST_TOKEN_VALUE", "s3cr3t/t0ken+value")
    config_module.secret("TEST_TOKEN_VALUE", key="x")
    assert redact("form: token=s3cr3t%2Ft0ken%2Bvalue") == "form: token=***"


def test_no_error_line_quotes_a_header_value(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever path an error takes to the terminal, a secret that was read is not on it."""
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "hunter2-but-longer")
    config_module.secret("TEST_SMTP_PASSWORD", key="[email] password_env")

    @cli.command("explode", hidden=True)
    def explode() -> None:
        raise ValueError("Invalid header value b'Basic aHVudGVyMi1idXQtbG9uZ2Vy\\r'")

    @cli.command("explode-secret", hidden=True)
    def explode_secret() -> None:
        raise RuntimeError("server said: hunter2-but-longer is wrong")

    try:
        header = CliRunner().invoke(cli, ["explode"])
        echoed = CliRunner().invoke(cli, ["explode-secret"])
    finally:
        cli.commands.pop("explode")
        cli.commands.pop("explode-secret")
    assert header.exit_code == 1 and "aHVudGVy" not in header.output
    assert "bug in reconcile" in header.output
    assert echoed.exit_code == 1 and "hunter2" not in echoed.output and "***" in echoed.output


def test_a_token_issued_mid_pull_is_hidden_from_an_error_raised_outside_the_http_core(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """The HTTP core and the CLI clean text with one list of secrets: an access token the
    sandbox's OAuth issued is hidden from an error line even when no source raised it."""
    from reconcile.sandbox.spreadsheets import write_spreadsheets
    from reconcile.sources import thrive
    from reconcile.sources.http import HttpPolicy

    spreadsheets = write_spreadsheets(sandbox.organisation, tmp_path / "inputs")
    config_path = sandbox.write_config(
        tmp_path, spreadsheets, sources=("thrive",), thrive_auth="oauth2"
    )
    with pytest.MonkeyPatch.context() as env:
        for name, value in sandbox.env().items():
            env.setenv(name, value)
        source = config_module.load(config_path).sources["thrive"]
        with thrive.make_client(source, HttpPolicy(concurrency=1)) as client:
            client.get_json("/users", params={"limit": 1})
            token = client.auth._token  # the access token the sandbox issued
    assert isinstance(token, str) and len(token) >= 8

    @cli.command("explode-token", hidden=True)
    def explode_token() -> None:
        raise RuntimeError(f"a report step failed with Authorization: Bearer {token} attached")

    try:
        shown = CliRunner().invoke(cli, ["explode-token"])
    finally:
        cli.commands.pop("explode-token")
    assert shown.exit_code == 1
    assert token not in shown.output
