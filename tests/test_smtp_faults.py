"""`reconcile send` against a real SMTP server on 127.0.0.1 that is slow to give its verdict,
hangs up after taking a message, or greylists one recipient."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from reconcile.cli import cli
from reconcile.deliver import send_statements
from tests.smtp_server import Mailbox, configure, managers, run_folder, sent_log, smtp_server

NO_WAIT = (0.0, 0.0)


def test_a_verdict_slower_than_the_command_timeout_is_waited_for_and_sent_once(
    workspace: Path,
) -> None:
    """The server takes 2 s to accept the message; commands time out after 0.5 s."""
    first = managers(workspace).iloc[0]
    mailbox = Mailbox(data_delay=2.0)
    with smtp_server(mailbox) as port:
        config = configure(workspace, port)
        outcome = send_statements(
            config,
            run_folder(workspace),
            only=first["manager_id"],
            retry_delays=NO_WAIT,
            timeouts=(0.5, 600.0),
        )
    assert outcome.sent == 1
    assert [rcpt for rcpt, _ in mailbox.messages] == [[first["email"]]]
    assert [row["outcome"] for row in sent_log(workspace)] == ["sent"]


def test_a_message_with_no_verdict_is_recorded_unknown_and_sent_again_only_when_asked(
    workspace: Path,
) -> None:
    expected = managers(workspace)
    mailbox = Mailbox(vanish_after_data=1)
    with smtp_server(mailbox) as port:
        config = configure(workspace, port)
        first = send_statements(config, run_folder(workspace), retry_delays=NO_WAIT)
        assert first.unknown == 1 and first.sent == len(expected) - 1
        assert len(mailbox.messages) == len(expected)  # nothing was sent twice
        [unknown] = [r for r in sent_log(workspace) if r["outcome"] == "unknown"]
        assert "may or may not have been delivered" in unknown["detail"]

        again = send_statements(config, run_folder(workspace), retry_delays=NO_WAIT)
        assert again.sent == 0 and again.unknown_earlier == 1
        assert len(mailbox.messages) == len(expected)

        cli_run = CliRunner().invoke(
            cli, ["send", "-c", str(workspace / "reconcile.toml"), "-r", str(run_folder(workspace))]
        )
        assert cli_run.exit_code == 0, cli_run.output
        assert f"{unknown['manager_id']}" in cli_run.output and "--resend-unknown" in cli_run.output

        resent = send_statements(
            config, run_folder(workspace), retry_delays=NO_WAIT, resend_unknown=True
        )
    assert resent.sent == 1
    assert [rcpt for rcpt, _ in mailbox.messages].count([unknown["recipient"]]) == 2
    outcomes = [(r["manager_id"], r["outcome"]) for r in sent_log(workspace)]
    assert outcomes.count((unknown["manager_id"], "sent")) == 1


def test_the_cli_exits_3_and_says_what_to_do_about_a_message_with_no_verdict(
    workspace: Path,
) -> None:
    mailbox = Mailbox(vanish_after_data=1)
    with smtp_server(mailbox) as port:
        configure(workspace, port)
        result = CliRunner().invoke(
            cli, ["send", "-c", str(workspace / "reconcile.toml"), "-r", str(run_folder(workspace))]
        )
    assert result.exit_code == 3, result.output
    assert "may have been delivered" in result.output and "--resend-unknown" in result.output


def test_a_greylisted_recipient_is_deferred_the_others_go_on_and_the_login_happens_once(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_SMTP_USER", "officer")
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret-pass")
    expected = managers(workspace)
    greylisted = expected["email"].iloc[2]
    mailbox = Mailbox(defer={greylisted})
    options = {"authenticator": mailbox.authenticator, "auth_require_tls": False}
    with smtp_server(mailbox, **options) as port:
        config = configure(
            workspace, port, username_env="TEST_SMTP_USER", password_env="TEST_SMTP_PASSWORD"
        )
        first = send_statements(config, run_folder(workspace), retry_delays=(60.0,))
        assert first.deferred == 1 and first.sent == len(expected) - 1
        assert mailbox.logins == 1
        mailbox.defer.clear()
        second = send_statements(config, run_folder(workspace), retry_delays=(60.0,))
    assert second.sent == 1 and second.already_sent == len(expected) - 1
    assert sorted(rcpt[0] for rcpt, _ in mailbox.messages) == sorted(expected["email"])
    outcomes = [(r["recipient"], r["outcome"]) for r in sent_log(workspace)]
    assert (greylisted, "deferred") in outcomes and (greylisted, "sent") in outcomes
