"""`reconcile send` against a real SMTP server on 127.0.0.1 (aiosmtpd), never a mock."""

from __future__ import annotations

import email
import email.policy
import ssl
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from click.testing import CliRunner

from reconcile import config as config_module
from reconcile.cli import cli
from reconcile.deliver import LOG_FILE, send_statements
from reconcile.errors import ConfigError, DeliveryError, UsageError
from reconcile.result_store import RESULT_FOLDER
from tests.smtp_server import (
    Mailbox,
    configure,
    free_port,
    managers,
    run_folder,
    sent_log,
    smtp_server,
)

NO_WAIT = (0.0, 0.0)


def test_each_manager_gets_their_statement_with_text_and_html(workspace: Path) -> None:
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        config = configure(workspace, port)
        outcome = send_statements(config, run_folder(workspace), retry_delays=NO_WAIT)
    expected = managers(workspace)
    assert outcome.sent == len(expected) == len(mailbox.messages)
    assert sorted(rcpt[0] for rcpt, _ in mailbox.messages) == sorted(expected["email"])
    first_id = expected["manager_id"].iloc[0]
    _, message = next(m for m in mailbox.messages if m[0] == [expected["email"].iloc[0]])
    assert message["Subject"] == "CPD compliance for your team, as of 15 November 2026"
    assert message["From"].addresses[0].addr_spec == "compliance@acme-health.example"
    assert "15 November 2026" in message.get_body(("plain",)).get_content()
    assert "<p>Dear " in message.get_body(("html",)).get_content()
    attachment = next(message.iter_attachments())
    pdf = run_folder(workspace) / "statements" / f"{first_id}.pdf"
    assert attachment.get_content() == pdf.read_bytes()
    log = sent_log(workspace)
    assert {row["outcome"] for row in log} == {"sent"}
    assert {row["message_id"] for row in log} == {m["Message-ID"] for _, m in mailbox.messages}


def test_a_refused_recipient_is_recorded_and_a_rerun_sends_only_what_is_left(
    workspace: Path,
) -> None:
    expected = managers(workspace)
    refused = expected["email"].iloc[1]
    mailbox = Mailbox(refuse={refused})
    with smtp_server(mailbox) as port:
        config = configure(workspace, port)
        first = send_statements(config, run_folder(workspace), retry_delays=NO_WAIT)
        assert first.refused == 1
        assert first.sent == len(expected) - 1
        assert next(r.detail for r in first.rows if r.outcome == "refused").startswith("550")
        mailbox.refuse.clear()
        second = send_statements(config, run_folder(workspace), retry_delays=NO_WAIT)
    assert second.sent == 1
    assert second.already_sent == len(expected) - 1
    assert [rcpt for rcpt, _ in mailbox.messages].count([refused]) == 1
    outcomes = [(row["recipient"], row["outcome"]) for row in sent_log(workspace)]
    assert outcomes.count((refused, "refused")) == 1
    assert outcomes.count((refused, "sent")) == 1
    assert len(outcomes) == len(expected) + 1


def test_a_temporary_refusal_is_retried(workspace: Path) -> None:
    mailbox = Mailbox(busy=1)
    with smtp_server(mailbox) as port:
        config = configure(workspace, port)
        only = managers(workspace)["manager_id"].iloc[0]
        outcome = send_statements(config, run_folder(workspace), only=only, retry_delays=NO_WAIT)
    assert outcome.sent == 1
    assert len(mailbox.messages) == 1


def test_an_unreachable_server_stops_with_exit_3_and_nothing_logged_as_sent(
    workspace: Path,
) -> None:
    config = configure(workspace, free_port())
    with pytest.raises(DeliveryError, match="kept failing"):
        send_statements(config, run_folder(workspace), retry_delays=NO_WAIT)
    assert sent_log(workspace) == []


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ssl.SSLContext]:
    """A throwaway self-signed certificate for 127.0.0.1, and a server context using it."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    return cert, server_tls


def test_starttls_with_a_throwaway_certificate_and_login(
    workspace: Path, certificate: tuple[Path, ssl.SSLContext], monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, server_tls = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts only this certificate
    monkeypatch.setenv("TEST_SMTP_USER", "officer")
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret-pass")
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        logins.append((data.login, data.password))
        return AuthResult(success=data.password == b"s3cret-pass", handled=False)

    mailbox = Mailbox()
    options = {"tls_context": server_tls, "require_starttls": True, "authenticator": authenticator,
               "auth_required": True}  # fmt: skip
    with smtp_server(mailbox, **options) as port:
        config = configure(
            workspace, port, starttls=True,
            username_env="TEST_SMTP_USER", password_env="TEST_SMTP_PASSWORD",
        )  # fmt: skip
        only = managers(workspace)["manager_id"].iloc[0]
        outcome = send_statements(config, run_folder(workspace), only=only, retry_delays=NO_WAIT)
        assert outcome.sent == 1
        assert logins == [(b"officer", b"s3cret-pass")]
        monkeypatch.setenv("TEST_SMTP_PASSWORD", "wrong")
        with pytest.raises(DeliveryError, match="refused the login") as refused:
            send_statements(config, run_folder(workspace), retry_delays=NO_WAIT)
    assert "wrong" not in str(refused.value)
    assert len(mailbox.messages) == 1


def test_dry_run_writes_eml_files_that_parse_back(workspace: Path) -> None:
    config = configure(workspace, free_port())  # nothing listens: a dry run must not connect
    outcome = send_statements(config, run_folder(workspace), dry_run=True)
    expected = managers(workspace)
    assert len(outcome.written) == len(expected)
    first = expected.iloc[0]
    path = run_folder(workspace) / "outbox" / f"{first['manager_id']}.eml"
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["To"].addresses[0].addr_spec == first["email"]
    pdf = run_folder(workspace) / "statements" / f"{first['manager_id']}.pdf"
    assert next(message.iter_attachments()).get_content() == pdf.read_bytes()
    assert not (run_folder(workspace) / LOG_FILE).exists()


def test_redirect_sends_everything_to_one_address_and_does_not_count_as_sent(
    workspace: Path,
) -> None:
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        config = configure(workspace, port)
        outcome = send_statements(
            config, run_folder(workspace), redirect_to="trial@example.org", retry_delays=NO_WAIT
        )
        assert outcome.sent == len(managers(workspace))
        assert {tuple(rcpt) for rcpt, _ in mailbox.messages} == {("trial@example.org",)}
        original = managers(workspace)["email"].iloc[0]
        assert original in {m["X-Original-To"] for _, m in mailbox.messages}
        again = send_statements(config, run_folder(workspace), retry_delays=NO_WAIT)
    assert again.already_sent == 0
    assert again.sent == len(managers(workspace))


def test_header_injection_through_a_name_is_impossible_and_bad_addresses_are_listed(
    workspace: Path,
) -> None:
    people_path = run_folder(workspace) / RESULT_FOLDER / "people.parquet"
    people = pd.read_parquet(people_path)
    target, blank = managers(workspace)["manager_id"].iloc[:2]
    evil = "Mallory\r\nBcc: evil@example.org"
    people.loc[people["employee_id"] == target, "name"] = evil
    people.loc[people["manager_id"] == target, "manager"] = evil
    people.loc[people["employee_id"] == blank, "email"] = "not-an-address\r\nBcc: x@y.org"
    people.to_parquet(people_path, index=False)
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        config = configure(workspace, port)
        outcome = send_statements(config, run_folder(workspace), retry_delays=NO_WAIT)
    everyone = [address for rcpt, _ in mailbox.messages for address in rcpt]
    assert "evil@example.org" not in everyone
    assert "x@y.org" not in everyone
    for _, message in mailbox.messages:
        assert message["Bcc"] is None
    [row] = outcome.no_address
    assert row.manager_id == blank
    assert {r["manager_id"]: r["outcome"] for r in sent_log(workspace)}[blank] == "no address"


def test_usage_errors_name_the_fix(workspace: Path) -> None:
    config = configure(workspace, free_port())
    with pytest.raises(UsageError, match="--only nobody"):
        send_statements(config, run_folder(workspace), only="nobody", dry_run=True)
    with pytest.raises(UsageError, match="not an e-mail address"):
        send_statements(config, run_folder(workspace), redirect_to="nope", dry_run=True)
    path = workspace / "reconcile.toml"
    path.write_text(path.read_text().partition("[email]")[0], encoding="utf-8")
    with pytest.raises(ConfigError, match=r"no \[email\] section"):
        send_statements(config_module.load(path), run_folder(workspace), dry_run=True)
    path.write_text(
        path.read_text() + '[email]\nsender = "Ops <ops@acme.example>"\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="not a plain e-mail address"):
        send_statements(config_module.load(path), run_folder(workspace), dry_run=True)


def test_cli_exits_3_when_a_message_is_refused_and_prints_who(workspace: Path) -> None:
    refused = managers(workspace)["email"].iloc[0]
    mailbox = Mailbox(refuse={refused})
    with smtp_server(mailbox) as port:
        configure(workspace, port)
        result = CliRunner().invoke(
            cli,
            ["send", "-c", str(workspace / "reconcile.toml"), "-r", str(run_folder(workspace))],
        )
    assert result.exit_code == 3, result.output
    assert f"<{refused}>: refused: 550" in result.output
    assert "refused 1 message(s)" in result.output


def test_implicit_tls(
    workspace: Path, certificate: tuple[Path, ssl.SSLContext], monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, server_tls = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    mailbox = Mailbox()
    with smtp_server(mailbox, ssl_context=server_tls) as port:
        config = configure(workspace, port, ssl=True)
        only = managers(workspace)["manager_id"].iloc[0]
        outcome = send_statements(config, run_folder(workspace), only=only, retry_delays=NO_WAIT)
    assert outcome.sent == 1
    assert len(mailbox.messages) == 1


def test_tls_problems_stop_at_once_with_the_fix(
    workspace: Path, certificate: tuple[Path, ssl.SSLContext], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, server_tls = certificate
    monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent/ca.pem")  # trusts nothing
    with smtp_server(Mailbox(), tls_context=server_tls) as port:
        config = configure(workspace, port, starttls=True)
        with pytest.raises(DeliveryError, match=r"TLS failed.*trust store"):
            send_statements(config, run_folder(workspace), retry_delays=(60.0,))
    with smtp_server(Mailbox()) as port:  # no STARTTLS on offer
        config = configure(workspace, port, starttls=True)
        with pytest.raises(DeliveryError, match="STARTTLS"):
            send_statements(config, run_folder(workspace), retry_delays=(60.0,))
    assert sent_log(workspace) == []


def test_a_permanent_refusal_of_the_message_is_recorded_not_retried(workspace: Path) -> None:
    mailbox = Mailbox(reject_data=True)
    with smtp_server(mailbox) as port:
        config = configure(workspace, port)
        outcome = send_statements(config, run_folder(workspace), retry_delays=(60.0,))
    assert outcome.refused == len(managers(workspace))
    assert {row["detail"][:3] for row in sent_log(workspace)} == {"554"}
