"""A real SMTP server on 127.0.0.1 (aiosmtpd) whose answers a test can choose, and helpers
for the demo run folder the ``workspace`` fixture (conftest.py) copies for each test."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import email
import email.policy
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from aiosmtpd.controller import Controller

from reconcile import config as config_module
from reconcile.deliver import LOG_FILE
from reconcile.result_store import RESULT_FOLDER


@dataclass
class Mailbox:
    """What the test server received, and what it should refuse."""

    messages: list[tuple[list[str], email.message.EmailMessage]] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)  # each message's bytes as received
    refuse: set[str] = field(default_factory=set)  # 550 for these recipients
    busy: int = 0  # answer 451 to this many DATA commands first
    reject_data: bool = False  # answer 554 to every DATA command
    data_delay: float = 0.0  # seconds between taking a message and saying so
    defer: set[str] = field(default_factory=set)  # 450 (greylisting) for these recipients
    vanish_after_data: int = 0  # take this many messages, then hang up without a verdict
    logins: int = 0  # AUTH commands that succeeded

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox here"
        if address in self.defer:
            return "450 4.2.0 greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reject_data:
            return "554 5.6.0 message content rejected"
        if self.busy:
            self.busy -= 1
            return "451 4.3.0 try again later"
        self.raw.append(envelope.content)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        if self.data_delay:  # the message is here; the verdict is slow to come
            await asyncio.sleep(self.data_delay)
        if self.vanish_after_data:
            self.vanish_after_data -= 1
            server.transport.close()  # the message is here, but the client never hears so
        return "250 accepted"

    def authenticator(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> Any:
        """Accept user "officer" with password "s3cret-pass", counting each login."""
        from aiosmtpd.smtp import AuthResult

        ok = (data.login, data.password) == (b"officer", b"s3cret-pass")
        self.logins += ok
        return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def smtp_server(mailbox: Mailbox, **options: Any) -> Iterator[int]:
    """A real SMTP server on 127.0.0.1 for the duration of the block; yields its port."""
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def configure(folder: Path, port: int, **email: Any) -> Any:
    """The demo's config with [email] pointing at the test server."""
    path = folder / "reconcile.toml"
    text = path.read_text(encoding="utf-8")
    head, _, _ = text.partition("[email]")
    lines = ["[email]", 'sender = "compliance@acme-health.example"', 'smtp_host = "127.0.0.1"']
    lines.append(f"smtp_port = {port}")
    settings = {"starttls": False, **email}
    for key, value in settings.items():
        lines.append(f"{key} = {_toml(value)}")
    path.write_text(head + "\n".join(lines) + "\n", encoding="utf-8")
    return config_module.load(path)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f'"{value}"' if isinstance(value, str) else str(value)


def run_folder(folder: Path) -> Path:
    return folder / "reports" / "2026-11"


def managers(folder: Path) -> pd.DataFrame:
    """Each statement's manager with their roster e-mail (the expected recipients)."""
    people = pd.read_parquet(run_folder(folder) / RESULT_FOLDER / "people.parquet")
    ids = sorted(set(people["manager_id"].dropna()))
    by_id = people.set_index("employee_id")
    return pd.DataFrame({"manager_id": ids, "email": [by_id.loc[i, "email"] for i in ids]})


def sent_log(folder: Path) -> list[dict[str, str]]:
    with (run_folder(folder) / LOG_FILE).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))
