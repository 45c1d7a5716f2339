"""The manager e-mail's words, for a team of one and a team of several."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from reconcile.deliver.messages import Letterhead, Recipient, build_message, environment

HEAD = Letterhead(
    organisation="Acme Health",
    sender="compliance@acme.example",
    reply_to=None,
    period_start=dt.date(2026, 1, 1),
    period_end=dt.date(2026, 12, 31),
    as_of=dt.date(2026, 11, 15),
)


@pytest.mark.parametrize(
    ("people", "words"),
    [
        (1, "the CPD statement for the person who reports to you, for the CPD period"),
        (3, "the CPD statement for the 3 people who report to you, for the CPD period"),
    ],
)
def test_the_letter_agrees_with_the_size_of_the_team(
    tmp_path: Path, people: int, words: str
) -> None:
    statement = tmp_path / "M1.pdf"
    statement.write_bytes(b"%PDF-1.7\n")
    recipient = Recipient(
        key="M1",
        name="Mo Manager",
        email="mo@acme.example",
        statement=statement,
        counts={"Compliant": people},
        people=people,
    )
    message = build_message(environment(None), HEAD, recipient)
    text = " ".join(message.get_body(("plain",)).get_content().split())
    html = " ".join(message.get_body(("html",)).get_content().split())
    assert words in text
    assert words in html
