"""``reconcile send``: each manager's statement by e-mail (DESIGN.md §3, §4 ``[email]``).

The run folder decides everything: who gets what comes from its ``result/`` and its
``statements/``, and ``sent.csv`` in the same folder records every attempt as it happens, so a
re-run after a failure sends only what is left. ``dry_run`` writes each message as an
``.eml`` file in ``outbox/`` and opens no connection. Decisions are in docs/delivery.md.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from reconcile.config import Config, Email
from reconcile.csvlog import AppendLog, read_log
from reconcile.deliver import smtp as smtp_outcomes
from reconcile.deliver.messages import (
    Letterhead,
    Recipient,
    build_message,
    environment,
    recipients,
    usable_address,
)
from reconcile.deliver.smtp import DATA_REPLY_SECONDS, RETRY_DELAYS, TIMEOUT_SECONDS, SmtpSender
from reconcile.errors import ConfigError, UsageError
from reconcile.files import write_bytes_atomic
from reconcile.progress import NullProgress, Progress
from reconcile.render.statement_files import RECORD_FILE as STATEMENT_RECORD
from reconcile.result_store import read_result
from reconcile.runfolder import locked

__all__ = ["SendOutcome", "SentRow", "send_statements"]

LOG_FILE = "sent.csv"
OUTBOX = "outbox"
LOG_COLUMNS = ("manager_id", "recipient", "file", "message_id", "outcome", "detail", "time")
SENT, REDIRECTED, REFUSED, DEFERRED, UNKNOWN = (
    "sent",
    "sent (redirected)",
    "refused",
    "deferred",
    "unknown",
)
NO_ADDRESS, MISSING_FILE, ALREADY_SENT, UNKNOWN_EARLIER, WRITTEN = (
    "no address",
    "no statement file",
    "already sent",
    "unknown earlier",
    "written",
)
#: Outcomes worth a line in sent.csv; "already sent" and dry-run files are not attempts.
_LOGGED = frozenset({SENT, REDIRECTED, REFUSED, DEFERRED, UNKNOWN, NO_ADDRESS, MISSING_FILE})
_BY_SMTP = {
    smtp_outcomes.SENT: SENT,
    smtp_outcomes.REFUSED: REFUSED,
    smtp_outcomes.DEFERRED: DEFERRED,
    smtp_outcomes.UNKNOWN: UNKNOWN,
}


@dataclass(frozen=True)
class SentRow:
    """One recipient and what happened."""

    manager_id: str
    name: str
    recipient: str
    file: str
    outcome: str
    detail: str = ""
    message_id: str = ""


@dataclass(frozen=True)
class SendOutcome:
    """What ``send_statements`` did, for the CLI and the demo."""

    dry_run: bool
    rows: tuple[SentRow, ...]
    log_path: Path | None
    outbox: Path | None

    def count(self, outcome: str) -> int:
        return sum(row.outcome == outcome for row in self.rows)

    @property
    def sent(self) -> int:
        return self.count(SENT) + self.count(REDIRECTED)

    @property
    def already_sent(self) -> int:
        return self.count(ALREADY_SENT)

    @property
    def refused(self) -> int:
        return self.count(REFUSED)

    @property
    def deferred(self) -> int:
        return self.count(DEFERRED)

    @property
    def unknown(self) -> int:
        """Messages of this send that went out with no verdict from the server."""
        return self.count(UNKNOWN)

    @property
    def unknown_earlier(self) -> int:
        """Messages of an earlier send with no verdict, not sent again this time."""
        return self.count(UNKNOWN_EARLIER)

    @property
    def no_address(self) -> tuple[SentRow, ...]:
        return tuple(r for r in self.rows if r.outcome in (NO_ADDRESS, MISSING_FILE))

    @property
    def written(self) -> tuple[Path, ...]:
        return tuple(Path(r.file) for r in self.rows if r.outcome == WRITTEN)


def send_statements(
    config: Config,
    run_dir: Path,
    *,
    dry_run: bool = False,
    only: str | None = None,
    redirect_to: str | None = None,
    progress: Progress | None = None,
    retry_delays: Sequence[float] = RETRY_DELAYS,
    resend_unknown: bool = False,
    timeouts: tuple[float, float] = (TIMEOUT_SECONDS, DATA_REPLY_SECONDS),
) -> SendOutcome:
    """E-mail (or, with ``dry_run``, write as .eml) each statement of the run in ``run_dir``.

    Raises ConfigError without ``[email]`` or with statements turned off, InputError for a
    folder that is not a run folder, UsageError for an unknown ``only`` or a malformed
    ``redirect_to``, DeliveryError (exit 3) when the server cannot be reached or refuses the
    login. A refused or deferred message is recorded and the others go on. A message that
    went out without a verdict is recorded as ``unknown`` and is not sent again by a later
    call unless ``resend_unknown``. ``timeouts``: seconds for each command's reply and for
    the reply to a whole message (RFC 5321's ten minutes).
    """
    settings = _email_settings(config)
    run_dir = Path(run_dir)
    result = read_result(run_dir)
    if redirect_to is not None and usable_address(redirect_to) is None:
        raise UsageError(f'--redirect-to "{redirect_to}" is not an e-mail address')
    chosen = _chosen(recipients(result, run_dir, config.output.statements), only, run_dir)
    head = Letterhead(
        organisation=config.organisation.name,
        sender=settings.sender,
        reply_to=settings.reply_to,
        period_start=result.period_start,
        period_end=result.period_end,
        as_of=result.as_of,
    )
    task = "statements e-mailed" if not dry_run else "statements written as .eml"
    progress = progress or NullProgress()
    batch = _Batch(environment(config.output.templates), head, redirect_to, progress, task)
    progress.start(task, total_pages=len(chosen))
    with locked(run_dir, "send"), _finishing(progress, task):
        if dry_run:
            rows = batch.write_outbox(chosen, run_dir / OUTBOX)
            return SendOutcome(True, tuple(rows), None, run_dir / OUTBOX)
        log_path = run_dir / LOG_FILE
        done, unknown = _earlier(log_path)
        skipped = {key: ALREADY_SENT for key in done}
        if not resend_unknown:
            skipped.update({key: UNKNOWN_EARLIER for key in unknown})
        command, verdict = timeouts
        with (
            AppendLog(log_path, LOG_COLUMNS) as log,
            SmtpSender(
                settings, retry_delays=retry_delays, timeout=command, data_reply_timeout=verdict
            ) as smtp,
        ):
            rows = batch.send_all(chosen, smtp, log, skipped)
        return SendOutcome(False, tuple(rows), log_path, None)


@contextlib.contextmanager
def _finishing(progress: Progress, task: str) -> Iterator[None]:
    try:
        yield
    finally:
        progress.finish(task)


def _email_settings(config: Config) -> Email:
    if config.email is None:
        raise ConfigError(
            f"{config.path.name}: no [email] section, so there is no mail server to send "
            "with (or to write .eml files from); add [email] with sender = "
            '"compliance@your.org" and smtp_host'
        )
    if config.output.statements == "none":
        raise ConfigError(
            f'{config.path.name}: [output] statements = "none", so the run wrote no '
            'statements to send; set statements = "manager" and run the report again'
        )
    if usable_address(config.email.sender) is None:
        raise ConfigError(
            f'{config.path.name}: [email] sender "{config.email.sender}" is not a plain e-mail '
            'address; use one like "compliance@your.org"'
        )
    return config.email


def _chosen(everyone: list[Recipient], only: str | None, run_dir: Path) -> list[Recipient]:
    if only is None:
        return everyone
    picked = [r for r in everyone if r.key == only]
    if not picked:
        raise UsageError(
            f"--only {only}: no statement for that employee id in {run_dir}; use a "
            f"statement_id listed in {run_dir / STATEMENT_RECORD}"
        )
    return picked


def _unsendable(recipient: Recipient) -> SentRow | None:
    """A row saying why this recipient cannot be sent anything, or None."""
    if recipient.statement is None:
        return _row(recipient, MISSING_FILE, f"the run wrote no statement for {recipient.key}")
    if recipient.statement.read() is None:
        return _row(
            recipient,
            MISSING_FILE,
            f"{recipient.statement.path} is missing or not the file this run wrote (its "
            f"SHA-256 differs from {STATEMENT_RECORD}); run `reconcile report` again",
        )
    if recipient.email is None:
        return _row(
            recipient,
            NO_ADDRESS,
            "no usable e-mail address on the roster; add it and run `reconcile send` again",
        )
    return None


def _row(recipient: Recipient, outcome: str, detail: str = "") -> SentRow:
    return SentRow(
        manager_id=recipient.key,
        name=recipient.name,
        recipient=recipient.email or "",
        file=_file_of(recipient),
        outcome=outcome,
        detail=detail,
    )


@dataclass(frozen=True)
class _Batch:
    """What every message of one ``send`` shares."""

    env: jinja2.Environment
    head: Letterhead
    redirect_to: str | None
    progress: Progress
    task: str

    def problem(self, recipient: Recipient) -> SentRow | None:
        """Why nothing can go to this recipient (a trial run needs no address), or None."""
        if self.redirect_to and recipient.statement and recipient.statement.read():
            return None
        return _unsendable(recipient)

    def write_outbox(self, chosen: list[Recipient], outbox: Path) -> list[SentRow]:
        """Each message as ``outbox/<id>.eml`` (temporary name, then rename)."""
        outbox.mkdir(parents=True, exist_ok=True)
        rows = []
        for recipient in chosen:
            row = self.problem(recipient)
            if row is None:
                message = build_message(
                    self.env, self.head, recipient, redirect_to=self.redirect_to
                )
                path = outbox / Path(_file_of(recipient)).with_suffix(".eml").name
                write_bytes_atomic(path, message.as_bytes())
                row = self.row(recipient, WRITTEN, message, file=str(path))
            rows.append(row)
            self.progress.advance(self.task, records=1)
        return rows

    def send_all(
        self, chosen: list[Recipient], smtp: SmtpSender, log: AppendLog, skipped: dict[str, str]
    ) -> list[SentRow]:
        """Send each message in turn, logging every attempt as it happens. ``skipped``: the
        statements an earlier send settled (sent, or sent with no verdict), and why."""
        rows = []
        for recipient in chosen:
            if recipient.key in skipped and not self.redirect_to:
                row = _row(recipient, skipped[recipient.key])
            else:
                row = self.problem(recipient) or self.deliver(recipient, smtp)
            if row.outcome in _LOGGED:
                log.append(_log_values(row))
            rows.append(row)
            self.progress.advance(self.task, records=1)
        return rows

    def deliver(self, recipient: Recipient, smtp: SmtpSender) -> SentRow:
        message = build_message(self.env, self.head, recipient, redirect_to=self.redirect_to)
        delivered = smtp.send(message)
        outcome = _BY_SMTP[delivered.outcome]
        if outcome == SENT and self.redirect_to:
            outcome = REDIRECTED
        return self.row(recipient, outcome, message, detail=delivered.detail)

    def row(
        self, recipient: Recipient, outcome: str, message: Any, *, detail: str = "", file: str = ""
    ) -> SentRow:
        return SentRow(
            manager_id=recipient.key,
            name=recipient.name,
            recipient=self.redirect_to or recipient.email or "",
            file=file or _file_of(recipient),
            outcome=outcome,
            detail=detail,
            message_id=str(message["Message-ID"]),
        )


def _file_of(recipient: Recipient) -> str:
    return str(recipient.statement.path) if recipient.statement else ""


def _earlier(path: Path) -> tuple[set[str], set[str]]:
    """Statement ids that earlier sends delivered to their real recipient, and those whose
    message went out with no verdict (and was not delivered since)."""
    log = read_log(path, LOG_COLUMNS, what="send log")
    sent = set(log.loc[log["outcome"] == SENT, "manager_id"])
    return sent, set(log.loc[log["outcome"] == UNKNOWN, "manager_id"]) - sent


def _log_values(row: SentRow) -> dict[str, str]:
    return {
        "manager_id": row.manager_id,
        "recipient": row.recipient,
        "file": Path(row.file).name,
        "message_id": row.message_id,
        "outcome": row.outcome,
        "detail": row.detail,
    }
