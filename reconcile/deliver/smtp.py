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
TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Delivered:
    """What the server said about one message."""

    sent: bool
    detail: str = ""


class SmtpSender:
    """Sends messages over one connection (opened lazily, reopened after a drop)."""

    def __init__(
        self,
        settings: Email,
        *,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.settings = settings
        self.retry_delays = tuple(retry_delays)
        self.timeout = timeout
        self._connection: smtplib.SMTP | None = None

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
        """Deliver one message: sent, or refused for good (with the server's words)."""
        attempt = 0
        while True:
            try:
                connection = self._connect()
                connection.send_message(message)
                return Delivered(True, "")
            except smtplib.SMTPRecipientsRefused as error:
                code, text = next(iter(error.recipients.values()))
                problem = _reply(code, text)
            except smtplib.SMTPAuthenticationError as error:
                raise self._login_refused(error) from None
            except ssl.SSLError as error:
                raise self._tls_failed(error) from None
            except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError) as error:
                self._connection = None
                problem = (True, f"connection failed: {error}")
            except smtplib.SMTPResponseException as error:
                problem = _reply(error.smtp_code, error.smtp_error)
            except smtplib.SMTPException as error:  # e.g. STARTTLS or AUTH not offered
                raise DeliveryError(
                    f"SMTP server {self._where()}: {error}; check [email] starttls / ssl and "
                    "smtp_port against what the server offers"
                ) from None
            except OSError as error:  # refused, reset, timed out (SMTPException is one too)
                self._connection = None
                problem = (True, f"connection failed: {error}")
            temporary, detail = problem
            if not temporary:
                self._reset()
                return Delivered(False, detail)
            if attempt >= len(self.retry_delays):
                raise DeliveryError(
                    f"SMTP server {self._where()} kept failing ({detail}) after "
                    f"{attempt + 1} attempts; nothing more was sent. Re-run `reconcile send` "
                    "later: messages already sent are in sent.csv and are not sent again"
                )
            log.info(
                "SMTP %s: %s; retrying in %.1fs", self._where(), detail, self.retry_delays[attempt]
            )
            self.close()
            time.sleep(self.retry_delays[attempt])
            attempt += 1

    def _connect(self) -> smtplib.SMTP:
        if self._connection is not None:
            return self._connection
        s = self.settings
        context = ssl.create_default_context()
        if s.ssl:
            connection: smtplib.SMTP = smtplib.SMTP_SSL(
                s.smtp_host, s.smtp_port, timeout=self.timeout, context=context
            )
        else:
            connection = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=self.timeout)
            if s.starttls:
                connection.starttls(context=context)
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


def _reply(code: int, text: bytes | str) -> tuple[bool, str]:
    """(temporary?, what the server said) for an SMTP reply code and text."""
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return 400 <= code < 500, f"{code} {words}".strip()
