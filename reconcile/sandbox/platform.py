"""What the server needs from each platform, plus the credentials and tokens they share."""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections.abc import Iterable
from typing import ClassVar

from reconcile.sandbox.wire import Request, Response, Route, Table

THRIVE_TENANT_ID = "sandbox_Tenant01"
THRIVE_API_SECRET = "sandbox-thrive-secret"  # noqa: S105 - a public sandbox credential
THRIVE_CLIENT_ID = "sandbox-thrive-client"
THRIVE_CLIENT_SECRET = "sandbox-thrive-client-secret"  # noqa: S105
BRIGHTSPACE_TOKEN = "sandbox-brightspace-token"  # noqa: S105
BRIGHTSPACE_CLIENT_ID = "sandbox-bs-client"
BRIGHTSPACE_CLIENT_SECRET = "sandbox-bs-client-secret"  # noqa: S105
COURSEPATH_EMAIL = "reports@sandbox.example"
COURSEPATH_API_KEY = "sandbox-coursepath-key"


class TokenStore:
    """Bearer tokens minted by a client-credentials endpoint, each with an expiry and the
    scopes it was granted (so a read-only client cannot write)."""

    def __init__(self, lifetime_s: float) -> None:
        self.lifetime_s = lifetime_s
        self._lock = threading.Lock()
        self._expiry: dict[str, float] = {}
        self._scopes: dict[str, frozenset[str]] = {}

    def mint(self, scopes: frozenset[str] = frozenset()) -> str:
        """A new token; ``scopes`` empty means whatever the client is allowed (all)."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._expiry[token] = time.monotonic() + self.lifetime_s
            self._scopes[token] = scopes
        return token

    def scopes(self, token: str) -> frozenset[str]:
        with self._lock:
            return self._scopes.get(token, frozenset())

    def state(self, token: str) -> str:
        """ "valid", "expired" or "unknown"."""
        with self._lock:
            expiry = self._expiry.get(token)
        if expiry is None:
            return "unknown"
        return "valid" if time.monotonic() < expiry else "expired"

    def expire_all(self) -> None:
        with self._lock:
            for token in self._expiry:
                self._expiry[token] = 0.0


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """(user, password) from an HTTP Basic header, or None."""
    scheme, _, value = request.header("authorization").partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def bearer_token(request: Request) -> str | None:
    scheme, _, value = request.header("authorization").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


class Platform:
    """One platform behind its URL prefix. Subclasses fill ``routes`` and the hooks."""

    name: ClassVar[str]
    prefix: ClassVar[str]
    routes: list[Route]

    def error(self, status: int, message: str) -> Response:
        raise NotImplementedError

    def authenticate(self, request: Request, route: Route) -> Response | None:
        """None when the request may go on, else the 401 to send."""
        raise NotImplementedError

    def admit(self, request: Request) -> tuple[Response | None, list[tuple[str, str]]]:
        """Rate limiting: (a 429 to send or None, headers to add to the response)."""
        return None, []

    def tables(self) -> Iterable[Table]:
        """The tables whose records are served as lists (rendered up front by ``warm``)."""
        return ()

    def warm(self) -> None:
        """Render every list's records now, so no request pays for it (see wire.Table)."""
        for table in self.tables():
            table.prepare()
