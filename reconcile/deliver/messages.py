"""Who gets which statement, and the e-mail that carries it.

Recipients come from the run's result (``result/``), never from a fresh reconciliation: a
manager is e-mailed about exactly the team the statement PDF shows. A manager's address is
the roster e-mail of the person whose employee id is the manager id.

Header injection is impossible by construction: every value that reaches a header (names,
subjects, addresses) has its control characters folded to spaces, addresses are checked
against a strict shape, and :mod:`email.policy` refuses any header that still holds a line
break.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd

from reconcile.engine import Result
from reconcile.engine.status import STATUSES
from reconcile.render.pdf_assets import template_dirs
from reconcile.render.statement_files import StatementFile, read_record

SUBJECT_TEMPLATE = "email_subject.txt"
TEXT_TEMPLATE = "email.txt"
HTML_TEMPLATE = "email.html"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
#: A display name holding one of these could pass for an address: it is left out.
_ADDRESS_LIKE = re.compile(r"[<>@\uff1c\uff1e\uff20]")
#: RFC 5322 specials (other than ``.``) that would need quoting in a display name.
_SPECIALS = re.compile(r'[(),:;\[\]"\\]')
DISPLAY_NAME_CHARS = 64
#: Deliberately strict: one @, no spaces, quotes, angle brackets or control characters, and
#: a dot in the domain. An address that fails is reported, never "fixed".
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


@dataclass(frozen=True)
class Recipient:
    """One statement's owner: who they are, where their PDF is, and their team's counts."""

    key: str  # the manager's (or person's) employee id
    name: str
    email: str | None  # None when the roster has none or it is not a usable address
    statement: StatementFile | None  # None when the run's record names no statement
    counts: dict[str, int] = field(default_factory=dict)
    people: int = 0


def clean_header_text(value: object) -> str:
    """A header-safe one-line text: control characters (CR, LF, tabs...) become one space."""
    return _CONTROL.sub(" ", str(value)).strip()


def mailbox(name: object, address: str) -> Address:
    """``Name <address>`` built by :mod:`email.headerregistry`, with a name that cannot
    smuggle in another address.

    Python drops the quotes around a display name when it folds a long header line, so a
    roster name such as ``Eve <eve@evil.example>, Bob`` would become two recipients in
    ``To:`` (and "Reply all" would reach Eve). A name holding ``<``, ``>`` or ``@`` is
    therefore left out (the address alone is sent), the other characters that mean
    something in an address header become spaces, and the name is cut to
    :data:`DISPLAY_NAME_CHARS`, so no header line comes near RFC 5322's 998.
    """
    text = clean_header_text(name)
    if _ADDRESS_LIKE.search(text):
        return Address(addr_spec=address)
    text = " ".join(_SPECIALS.sub(" ", text).split())[:DISPLAY_NAME_CHARS].strip()
    return Address(display_name=text, addr_spec=address)


def usable_address(value: object) -> str | None:
    """The address if it has a plain, strict shape; None for blank or anything odd."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    text = str(value).strip()
    return text if _ADDRESS.fullmatch(text) else None


def recipients(result: Result, run_dir: Path, by: str) -> list[Recipient]:
    """One recipient per statement the run wrote: per manager (their direct reports) or
    per person (themselves), sorted by key. ``by`` is ``[output] statements``."""
    people = result.people
    status = people["status"].astype(str)
    key = people["employee_id"] if by == "person" else people["manager_id"]
    has = key.notna().to_numpy()
    team = pd.DataFrame({"key": key[has].astype(str).to_numpy(), "status": status[has]})
    counts = team.groupby(["key", "status"]).size().unstack(fill_value=0)
    emails = pd.Series(people["email"].to_numpy(), index=people["employee_id"].astype(str))
    emails = emails[~emails.index.duplicated()]
    names = pd.Series(people["name"].to_numpy(), index=people["employee_id"].astype(str))
    names = names[~names.index.duplicated()]
    if by != "person":
        managers = people.loc[has, ["manager_id", "manager"]].dropna(subset=["manager"])
        names = pd.concat(
            [
                pd.Series(managers["manager"].to_numpy(), index=managers["manager_id"].astype(str)),
                names,
            ]
        )
        names = names[~names.index.duplicated()]
    written = read_record(run_dir)
    out = []
    for owner in sorted(counts.index):
        row = counts.loc[owner]
        out.append(
            Recipient(
                key=owner,
                name=clean_header_text(names.get(owner, owner)),
                email=usable_address(emails.get(owner)),
                statement=written.get(owner),
                counts={s: int(row.get(s, 0)) for s in STATUSES if int(row.get(s, 0))},
                people=int(row.sum()),
            )
        )
    return out


def environment(user_templates: Path | None) -> jinja2.Environment:
    """The user's templates folder first, then ours; HTML autoescaped, text left as text."""
    dirs = template_dirs(user_templates)
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(d)) for d in dirs]),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@dataclass(frozen=True)
class Letterhead:
    """What every message of one run shares."""

    organisation: str
    sender: str
    reply_to: str | None
    period_start: dt.date
    period_end: dt.date
    as_of: dt.date


def build_message(
    env: jinja2.Environment,
    head: Letterhead,
    recipient: Recipient,
    *,
    redirect_to: str | None = None,
) -> EmailMessage:
    """The e-mail for one recipient: text + HTML alternative, their statement PDF attached.

    With ``redirect_to`` (a trial run) the message goes there instead; the intended
    recipient is kept in ``X-Original-To``, the subject and the first line of the body.
    """
    to_address = redirect_to or recipient.email
    if to_address is None:
        raise ValueError(f"{recipient.key} has no address to send to")
    context = _context(head, recipient, redirect_to)
    subject = clean_header_text(env.get_template(SUBJECT_TEMPLATE).render(context))
    if redirect_to:
        subject = f"[trial for {recipient.email or 'no address'}] {subject}"
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = mailbox(head.organisation, head.sender)
    message["To"] = mailbox(recipient.name, to_address)
    if redirect_to:
        message["X-Original-To"] = recipient.email or "(no address)"
    if head.reply_to:
        message["Reply-To"] = head.reply_to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=head.sender.rpartition("@")[2] or None)
    message.set_content(env.get_template(TEXT_TEMPLATE).render(context))
    message.add_alternative(env.get_template(HTML_TEMPLATE).render(context), subtype="html")
    statement = recipient.statement.read() if recipient.statement else None
    if statement is None:
        raise ValueError(f"{recipient.key} has no statement of this run to attach")
    message.add_attachment(
        statement,
        maintype="application",
        subtype="pdf",
        filename=attachment_name(head),
    )
    return message


def attachment_name(head: Letterhead) -> str:
    """``CPD statement 2026-11-15.pdf``: the same clean name for everyone, never an id."""
    return f"CPD statement {head.as_of.isoformat()}.pdf"


def _context(head: Letterhead, recipient: Recipient, redirect_to: str | None) -> dict[str, Any]:
    return {
        "organisation": head.organisation,
        "name": recipient.name,
        "key": recipient.key,
        "people": recipient.people,
        "counts": recipient.counts,
        "attention": recipient.counts.get("Non-compliant", 0) + recipient.counts.get("At risk", 0),
        "period_start": _long_date(head.period_start),
        "period_end": _long_date(head.period_end),
        "as_of": _long_date(head.as_of),
        "sender": head.sender,
        "intended": recipient.email or "(no address)",
        "trial": bool(redirect_to),
    }


def _long_date(day: dt.date) -> str:
    """``15 November 2026``: unambiguous in every country the e-mail may reach."""
    return f"{day.day} {day:%B %Y}"
