"""Roster names that try to add a recipient, or to make a header line too long, sent through
a real SMTP server on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from reconcile.deliver import send_statements
from reconcile.result_store import RESULT_FOLDER
from tests.smtp_server import Mailbox, configure, managers, run_folder, smtp_server

NO_WAIT = (0.0, 0.0)
#: Long enough that the To: line is folded, which is where the quotes used to go missing.
INJECTING = "Eve <attacker@evil.example>, Bob Smith " + "x" * 60


def name_managers(workspace: Path, names: dict[str, str]) -> None:
    path = run_folder(workspace) / RESULT_FOLDER / "people.parquet"
    people = pd.read_parquet(path)
    for manager, name in names.items():
        people.loc[people["employee_id"] == manager, "name"] = name
        people.loc[people["manager_id"] == manager, "manager"] = name
    people.to_parquet(path, index=False)


def test_a_display_name_cannot_add_a_recipient_or_outgrow_a_header_line(
    workspace: Path,
) -> None:
    expected = managers(workspace)
    injector, huge, comma = expected["manager_id"].iloc[:3]
    name_managers(
        workspace, {injector: INJECTING, huge: "A" * 100_000, comma: "Smith, John (Ward 3)"}
    )
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        config = configure(workspace, port)
        outcome = send_statements(config, run_folder(workspace), retry_delays=NO_WAIT)
    assert outcome.sent == len(expected)
    address_of = dict(zip(expected["manager_id"], expected["email"], strict=True))
    for (recipients, message), raw in zip(mailbox.messages, mailbox.raw, strict=True):
        assert [a.addr_spec for a in message["To"].addresses] == recipients
        assert "evil.example" not in str(message["To"])
        assert [a.addr_spec for a in message["From"].addresses] == [
            "compliance@acme-health.example"
        ]
        assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    by_recipient = {rcpt[0]: message for rcpt, message in mailbox.messages}
    assert by_recipient[address_of[injector]]["To"].addresses[0].display_name == ""
    assert by_recipient[address_of[huge]]["To"].addresses[0].display_name == "A" * 64
    assert by_recipient[address_of[comma]]["To"].addresses[0].display_name == ("Smith John Ward 3")
