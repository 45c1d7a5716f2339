"""Authentication for the three platforms, as ``requests`` auth objects.

Each object signs one request at a time, so a retry or a fresh Coursepath token needs no help
from the caller. Objects that can recover from a 401 expose ``reauthenticate(rejected)``; the
HTTP core calls it once per request and retries once. Secrets are held only in memory and
never appear in ``repr``.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import requests
from jwt.algorithms import HMACAlgorithm
from jwt.utils import base64url_encode
from requests.auth import AuthBase, HTTPBasicAuth

from reconcile.config import BrightspaceSource, CoursepathSource, ThriveSource, secret
from reconcile.errors import SourceError
from reconcile.sources.http import HttpClient, HttpPolicy

EXPIRY_MARGIN_SECONDS = 60.0
_HS256 = HMACAlgorithm(HMACAlgorithm.SHA256)


class BasicAuth(HTTPBasicAuth):
    """Thrive's HTTP Basic: tenant id as the user name, API secret as the password."""

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r}, password=***)"

    def reauthenticate(self, rejected: requests.PreparedRequest) -> bool:
        return False  # a fixed secret will be refused again


class StaticBearer(AuthBase):
    """A bearer token handed to us (Brightspace token from the environment)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "StaticBearer(***)"

    def reauthenticate(self, rejected: requests.PreparedRequest) -> bool:
        return False


class ClientCredentials(AuthBase):
    """OAuth2 client credentials: one cached token shared by every thread of a source.

    The token is renewed shortly before it expires and, on a 401, renewed once (only by the
    first thread that sees the rejected token; the others reuse the new one).
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str | None = None,
        source: str = "",
    ) -> None:
        self.token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self.scope = scope
        self.source = source
        self._client: HttpClient | None = None
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self.tokens_fetched = 0

    def bind(self, client: HttpClient) -> None:
        """Token requests go through the same core (timeouts, retries) as everything else."""
        self._client = client

    def __repr__(self) -> str:
        return f"ClientCredentials(token_url={self.token_url!r}, client_id=***, secret=***)"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._current()}"
        return request

    def reauthenticate(self, rejected: requests.PreparedRequest) -> bool:
        sent = rejected.headers.get("Authorization", "")
        with self._lock:
            if self._token and sent == f"Bearer {self._token}":
                self._token = None  # this token is dead; the next call fetches another
        return True

    def _current(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at:
                self._token, self._expires_at = self._fetch()
            return self._token

    def _fetch(self) -> tuple[str, float]:
        if self._client is None:
            raise RuntimeError("ClientCredentials.bind(client) was not called")
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        body: Any = self._client.request_json(
            "POST",
            self.token_url,
            data=form,
            auth=HTTPBasicAuth(self._client_id, self._client_secret),
            endpoint="oauth2 token",
        )
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise SourceError(
                f"{self.source}: the token endpoint {self.token_url} answered without an "
                "access_token; check token_url in the config",
                source=self.source,
                url=self.token_url,
            )
        lifetime = float(body.get("expires_in") or 3600)
        margin = min(EXPIRY_MARGIN_SECONDS, lifetime / 10)
        self.tokens_fetched += 1
        return token, time.monotonic() + lifetime - margin


class CoursepathJwt(AuthBase):
    """Coursepath's HS256 JWT (``email``, ``iat``, ``jti``), minted fresh for every request.

    Coursepath accepts each token once and only for a couple of minutes, so a token is never
    cached: every page, every retry and every fan-out request signs its own.
    """

    def __init__(self, email: str, api_key: str) -> None:
        self.email = email
        self._api_key = api_key

    def __repr__(self) -> str:
        return f"CoursepathJwt(email={self.email!r}, api_key=***)"

    def token(self) -> str:
        """Sign with PyJWT's HS256 primitive directly.

        ``jwt.encode`` warns when the key is shorter than 32 bytes; the key is the academy's,
        not ours to lengthen, and a process-wide warnings filter is not thread-safe.
        """
        claims = {"email": self.email, "iat": int(time.time()), "jti": uuid.uuid4().hex}
        header = {"alg": "HS256", "typ": "JWT"}
        signing_input = b".".join(
            base64url_encode(json.dumps(part, separators=(",", ":")).encode())
            for part in (header, claims)
        )
        signature = _HS256.sign(signing_input, _HS256.prepare_key(self._api_key))
        return (signing_input + b"." + base64url_encode(signature)).decode("ascii")

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        return request

    def reauthenticate(self, rejected: requests.PreparedRequest) -> bool:
        return True  # the retry signs a new token anyway (e.g. after a clock step)


def client_credentials(
    source: ThriveSource | BrightspaceSource, token_url: str
) -> ClientCredentials:
    """OAuth2 client credentials from a source's config (Thrive and Brightspace alike).

    One place reads the client id and secret from the environment variables the config
    names, so both platforms report a missing variable the same way.
    """
    section = f"sources.{source.name}"
    return ClientCredentials(
        token_url,
        secret(source.client_id_env or "", key=f"{section}.client_id_env"),
        secret(source.client_secret_env or "", key=f"{section}.client_secret_env"),
        scope=source.scope,
        source=source.name,
    )


def authenticated_client(
    source: ThriveSource | BrightspaceSource | CoursepathSource,
    auth: AuthBase,
    policy: HttpPolicy,
) -> HttpClient:
    """The source's HTTP client signing with ``auth``; an OAuth2 auth fetches its tokens
    through this same client (timeouts, retries), so it is bound to it here."""
    client = HttpClient(
        source.name,
        source.base_url,
        policy=policy,
        auth=auth,
        credentials=" / ".join(source.secret_envs()),
    )
    if isinstance(auth, ClientCredentials):
        auth.bind(client)
    return client
