"""One SMTP connection for a batch of messages, with retries for what may pass later.

Why its own rules: SMTP says itself which failures are temporary (4xx replies, a dropped
connection) and which are final (5xx). A temporary one is retried with backoff on a fresh
connection; a final refusal of one message is returned as its outcome so the others go on;
a server that cannot be reached or refuses our login stops the batch (``DeliveryError``,
exit 3), because every other message would fail the same way.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage

from reconcile.config import Email, secret
from reconcile.errors import DeliveryError

log = logging.getLogger(__name__)

#: Seconds to wait before each retry of a temporary failure.
RETRY_DELAYS = (2.0, 8.0, 30.0)
#: Every command's reply; the connection itself.
TIMEOUT_SECONDS = 30.0
#: The reply to the end of a message: RFC 5321 §4.5.3.2.6 gives the server ten minutes.
DATA_REPLY_SECONDS = 600.0

SENT, REFUSED, DEFERRED, UNKNOWN = "sent", "refused", "deferred", "unknown"


@dataclass(frozen=True)
class Delivered:
    """What became of one message: ``sent``, ``refused`` (5xx, for good), ``deferred`` (a 4xx
    for this recipient: try again on a later run) or ``unknown`` (the whole message went out
    but no verdict came back: it may have been delivered)."""

    outcome: str
    detail: str = ""

    @property
    def sent(self) -> bool:
        return self.outcome == SENT


class _Verdict:
    """What :class:`smtplib.SMTP` lacks: the reply to a message's end gets its own, long
    timeout, and the connection knows when a message is out but its verdict is not in.

    smtplib sends DATA, reads the 354 go-ahead, sends the message and reads the verdict, all
    with one socket timeout. The two replies after ``DATA`` are told apart here by counting
    them, so no smtplib code is repeated.
    """

    data_reply_timeout: float = DATA_REPLY_SECONDS
    _replies_after_data = -1  # -1: not in a DATA exchange
    awaiting_verdict = False  # the message is out; its reply has not come

    def putcmd(self, cmd: str, args: str = "") -> None:
        self._replies_after_data = 0 if cmd.lower() == "data" else -1
        super().putcmd(cmd, args)  # type: ignore[misc]

    def getreply(self) -> tuple[int, bytes]:
        if self._replies_after_data != 1:
            code, text = super().getreply()  # type: ignore[misc]
            if self._replies_after_data == 0:
                self._replies_after_data = 1 if code == 354 else -1
            return code, text
        self._replies_after_data = -1
        self.awaiting_verdict = True
        sock = self.sock  # type: ignore[attr-defined]
        previous = sock.gettimeout()
        sock.settimeout(self.data_reply_timeout)
        try:
            reply = super().getreply()  # type: ignore[misc]
        finally:
            if self.sock is not None:  # type: ignore[attr-defined]
                sock.settimeout(previous)
        self.awaiting_verdict = False
        return reply


class _Smtp(_Verdict, smtplib.SMTP):
    pass


class _SmtpSsl(_Verdict, smtplib.SMTP_SSL):
    pass


class SmtpSender:
    """Sends messages over one connection (opened lazily, reopened after a drop)."""

    def __init__(
        self,
        settings: Email,
        *,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        timeout: float = TIMEOUT_SECONDS,
        data_reply_timeout: float = DATA_REPLY_SECONDS,
    ) -> None:
        self.settings = settings
        self.retry_delays = tuple(retry_delays)
        self.timeout = timeout
        self.data_reply_timeout = data_reply_timeout
        self._connection: _Smtp | _SmtpSsl | None = None

    def __enter__(self) -> SmtpSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._connection.quit()
            self._connection = None

    def send(self, message: EmailMessage) -> Delivered:
        """Deliver one message and say what became of it (see :class:`Delivered`).

        A 4xx for the recipient defers this message only; a 4xx for the message or a dropped
        connection before the message went out is retried (on the same connection while it
        stands, so the login happens once); a message that went out with no verdict is
        ``unknown`` and never sent again here.
        """
        attempt = 0
        while True:
            connection = None
            try:
                connection = self._connect()
                connection.send_message(message)
                return Delivered(SENT)
            except smtplib.SMTPRecipientsRefused as error:
                code, text = next(iter(error.recipients.values()))
                temporary, detail = _reply(code, text)
                self._reset()
                return Delivered(DEFERRED if temporary else REFUSED, detail)
            except smtplib.SMTPAuthenticationError as error:
                raise self._login_refused(error) from None
            except ssl.SSLError as error:
                raise self._tls_failed(error) from None
            except OSError as error:  # every SMTPException is one too
                problem = self._failure(error, connection)
                if isinstance(problem, Delivered):
                    return problem
            temporary, detail = problem
            if not temporary:
                self._reset()
                return Delivered(REFUSED, detail)
            if attempt >= len(self.retry_delays):
                raise DeliveryError(
                    f"SMTP server {self._where()} kept failing ({detail}) after "
                    f"{attempt + 1} attempts; nothing more was sent. Re-run `reconcile send` "
                    "later: messages already sent are in sent.csv and are not sent again"
                )
            log.info(
                "SMTP %s: %s; retrying in %.1fs", self._where(), detail, self.retry_delays[attempt]
            )
            self._reset()  # a 4xx leaves the connection standing: keep it (and the login)
            time.sleep(self.retry_delays[attempt])
            attempt += 1

    def _failure(self, error: OSError, connection: _Verdict | None) -> Delivered | tuple[bool, str]:
        """What a failed attempt means: the message's fate, or (temporary?, detail)."""
        lost = (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError)
        if isinstance(error, lost) or not isinstance(error, smtplib.SMTPException):
            self._drop()  # refused, reset, dropped, timed out
            if connection is not None and connection.awaiting_verdict:
                return Delivered(UNKNOWN, _no_verdict(error))
            return True, f"connection failed: {error}"
        if isinstance(error, smtplib.SMTPResponseException):
            return _reply(error.smtp_code, error.smtp_error)
        raise DeliveryError(  # e.g. STARTTLS or AUTH not offered
            f"SMTP server {self._where()}: {error}; check [email] starttls / ssl and "
            "smtp_port against what the server offers"
        ) from None

    def _connect(self) -> _Smtp | _SmtpSsl:
        if self._connection is not None:
            return self._connection
        s = self.settings
        context = ssl.create_default_context()
        connection: _Smtp | _SmtpSsl
        if s.ssl:
            connection = _SmtpSsl(s.smtp_host, s.smtp_port, timeout=self.timeout, context=context)
        else:
            connection = _Smtp(s.smtp_host, s.smtp_port, timeout=self.timeout)
            if s.starttls:
                connection.starttls(context=context)
        connection.data_reply_timeout = self.data_reply_timeout
        if s.username_env:
            user = secret(s.username_env, key="[email] username_env")
            password = secret(s.password_env, key="[email] password_env") if s.password_env else ""
            _login(connection, user, password)
        self._connection = connection
        return connection

    def _reset(self) -> None:
        """After a refused message, leave the connection ready for the next one."""
        if self._connection is not None:
            try:
                self._connection.rset()
            except (smtplib.SMTPException, OSError):
                self._drop()

    def _drop(self) -> None:
        """Forget a connection that is broken (closing its socket, never saying QUIT)."""
        if self._connection is not None:
            with contextlib.suppress(OSError):
                self._connection.close()
            self._connection = None

    def _where(self) -> str:
        return f"{self.settings.smtp_host}:{self.settings.smtp_port}"

    def _tls_failed(self, error: ssl.SSLError) -> DeliveryError:
        return DeliveryError(
            f"SMTP server {self._where()}: TLS failed ({error.reason or error}); if the "
            "certificate is not trusted, add its CA to the system's trust store (or point "
            "SSL_CERT_FILE at it); if the port speaks plain SMTP, set ssl = false"
        )

    def _login_refused(self, error: smtplib.SMTPAuthenticationError) -> DeliveryError:
        names = " and ".join(
            n for n in (self.settings.username_env, self.settings.password_env) if n
        )
        return DeliveryError(
            f"SMTP server {self._where()} refused the login ({error.smtp_code}); check the "
            f"credentials in {names or 'the environment'}"
        )


def _login(connection: smtplib.SMTP, user: str, password: str) -> None:
    """Log in once: PLAIN when offered (one attempt, no lock-out from retried mechanisms),
    else whatever smtplib picks among the server's mechanisms."""
    connection.ehlo_or_helo_if_needed()
    offered = connection.esmtp_features.get("auth", "").upper().split()
    if "PLAIN" not in offered:
        connection.login(user, password)
        return
    connection.user, connection.password = user, password
    connection.auth("PLAIN", connection.auth_plain)


def _no_verdict(error: BaseException) -> str:
    return (
        f"the whole message was sent but the server gave no verdict ({error}): it may or may "
        "not have been delivered"
    )


def _reply(code: int, text: bytes | str) -> tuple[bool, str]:
    """(temporary?, what the server said) for an SMTP reply code and text."""
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return 400 <= code < 500, f"{code} {words}".strip()
