"""What the server needs from each platform, plus the credentials and tokens they share."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterable
from typing import Any, ClassVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from reconcile.sandbox.wire import Request, Response, Route, Table

THRIVE_TENANT_ID = "sandbox_Tenant01"
THRIVE_API_SECRET = "sandbox-thrive-secret"  # noqa: S105 - a public sandbox credential
THRIVE_CLIENT_ID = "sandbox-thrive-client"
THRIVE_CLIENT_SECRET = "sandbox-thrive-client-secret"  # noqa: S105
BRIGHTSPACE_TOKEN = "sandbox-brightspace-token"  # noqa: S105
BRIGHTSPACE_CLIENT_ID = "sandbox-bs-client"
BRIGHTSPACE_CLIENT_SECRET = "sandbox-bs-client-secret"  # noqa: S105
BRIGHTSPACE_REFRESH_TOKEN = "sandbox-bs-refresh-0"  # noqa: S105 - valid once, then rotated
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

    def register(self, token: str) -> None:
        """Accept a token minted elsewhere (a trial token pasted into the environment) for
        the same lifetime as a minted one, from now."""
        with self._lock:
            self._expiry[token] = time.monotonic() + self.lifetime_s
            self._scopes[token] = frozenset()


class RefreshTokens:
    """D2L's refresh tokens: each works once and is answered with a new one."""

    def __init__(self, first: str) -> None:
        self._lock = threading.Lock()
        self._valid = {first}
        self.used = 0

    def issue(self) -> str:
        token = f"sandbox-bs-refresh-{secrets.token_urlsafe(18)}"
        with self._lock:
            self._valid.add(token)
        return token

    def redeem(self, token: str) -> str | None:
        """The replacement for a valid token (which stops working), or None if not valid."""
        with self._lock:
            if token not in self._valid:
                return None
            self._valid.discard(token)
            self.used += 1
        return self.issue()


@functools.cache
def brightspace_app_key() -> rsa.RSAPrivateKey:
    """The sandbox app's RSA key pair (one per process): the private half is what a user's
    config names for ``private_key_jwt``; the sandbox checks assertions with the public half."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def brightspace_app_private_pem() -> str:
    return (
        brightspace_app_key()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode("ascii")
    )


def brightspace_app_jwks() -> dict[str, Any]:
    """The JWKS the sandbox app is registered with: one RSA key, ``kid`` its RFC 7638
    thumbprint (SHA-256 of the canonical ``{"e","kty","n"}`` JSON, base64url)."""
    numbers = brightspace_app_key().public_key().public_numbers()

    def b64(number: int) -> str:
        raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    members = {"e": b64(numbers.e), "kty": "RSA", "n": b64(numbers.n)}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    kid = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()
    return {"keys": [{**members, "kid": kid, "use": "sig", "alg": "RS256"}]}


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
