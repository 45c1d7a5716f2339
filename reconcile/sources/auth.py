"""Authentication for the three platforms, as ``requests`` auth objects.

Each object signs one request at a time, so a retry or a fresh Coursepath token needs no help
from the caller. Objects that can recover from a 401 expose ``reauthenticate(rejected)``; the
HTTP core calls it once per request and retries once. Secrets are held only in memory, never
appear in ``repr``, and are handed to the client's scrubber (with every token as it is
issued) so that no server can echo one into an error line.

Brightspace as D2L documents it (DESIGN.md §9): a refresh token (D2L issues a new one with
every access token and the old one stops working, so the new one is written back to its file
before the pull goes on), client credentials with a private-key JWT assertion (RS256), or a
bearer token from the environment for a trial.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from jwt.algorithms import HMACAlgorithm
from jwt.utils import base64url_encode
from requests.auth import AuthBase, HTTPBasicAuth

from reconcile.config import (
    BrightspaceSource,
    CoursepathSource,
    ThriveSource,
    clean_secret,
    secret,
)
from reconcile.errors import ConfigError, SourceError
from reconcile.files import atomic_path
from reconcile.sources.http import HttpClient, HttpPolicy

EXPIRY_MARGIN_SECONDS = 60.0
ASSERTION_LIFETIME_SECONDS = 300
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_HS256 = HMACAlgorithm(HMACAlgorithm.SHA256)


class SourceAuth(AuthBase):
    """Auth bound to one source's client: its token requests go through that client (same
    timeouts, retries, deadline), and its secrets feed that client's scrubber."""

    source = ""
    _client: HttpClient | None = None

    def bind(self, client: HttpClient) -> None:
        self._client = client
        self.source = client.source
        client.scrubber.add(*self.secrets())

    def secrets(self) -> tuple[str, ...]:
        return ()

    def reauthenticate(self, rejected: requests.PreparedRequest) -> bool:
        return False

    def rejected_hint(self) -> str | None:
        """What to do when a 401 survives (None: the core's generic advice)."""
        return None

    @property
    def client(self) -> HttpClient:
        if self._client is None:
            raise RuntimeError(f"{type(self).__name__}.bind(client) was not called")
        return self._client


class BasicAuth(HTTPBasicAuth, SourceAuth):
    """Thrive's HTTP Basic: tenant id as the user name, API secret as the password."""

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r}, password=***)"

    def bind(self, client: HttpClient) -> None:
        super().bind(client)
        client.scrubber.add_basic(str(self.username), str(self.password))

    def secrets(self) -> tuple[str, ...]:
        return (str(self.password),)


class StaticBearer(SourceAuth):
    """A bearer token handed to us (Brightspace ``token_env``, for a trial)."""

    def __init__(self, token: str, *, env: str = "") -> None:
        self._token = token
        self._env = env

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "StaticBearer(***)"

    def secrets(self) -> tuple[str, ...]:
        return (self._token,)

    def rejected_hint(self) -> str:
        return (
            f"check {self._env or 'the token variable'}: its token has expired or was revoked "
            "(D2L tokens last about an hour); put a fresh one there, or set auth = "
            '"refresh_token" or "private_key_jwt" for unattended runs (docs/sources.md)'
        )


class OAuthBearer(SourceAuth):
    """An OAuth 2.0 access token, cached and shared by every thread of a source.

    The token is renewed shortly before it expires and, on a 401, renewed once (only by the
    first thread that sees the rejected token; the others reuse the new one). Subclasses say
    how a token is asked for (:meth:`token_form`) and may act on the answer (:meth:`issued`).
    """

    endpoint = "oauth2 token"

    def __init__(self, token_url: str, *, scope: str | None = None, source: str = "") -> None:
        self.token_url = token_url
        self.scope = scope
        self.source = source
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self.tokens_fetched = 0

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

    def token_form(self) -> tuple[dict[str, str], AuthBase | None]:
        """The token request's form and the client authentication to send it with."""
        raise NotImplementedError

    def issued(self, body: dict[str, Any]) -> None:
        """Called with each token answer before its token is used."""

    def _fetch(self) -> tuple[str, float]:
        form, client_auth = self.token_form()
        if self.scope:
            form["scope"] = self.scope
        body: Any = self.client.request_json(
            "POST",
            self.token_url,
            data=form,
            auth=client_auth or _Anonymous(),  # never this object: it is what asks
            endpoint=self.endpoint,
        )
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise self._unusable("answered without an access_token; check token_url")
        self.client.scrubber.add(token)
        lifetime = _lifetime(body.get("expires_in"))
        if lifetime is None:
            raise self._unusable(
                f"gave an expires_in of {str(body.get('expires_in'))[:20]!r}, which is not a "
                "number of seconds"
            )
        self.issued(body)
        self.tokens_fetched += 1
        margin = min(EXPIRY_MARGIN_SECONDS, lifetime / 10)
        return token, time.monotonic() + lifetime - margin

    def _unusable(self, problem: str) -> SourceError:
        return self.client.fail(
            f"{self.source}: the token endpoint {self.token_url} {problem}; nothing was written",
            url=self.token_url,
        )


class _Anonymous(AuthBase):
    """No credentials in the header: a token request whose client proves itself in the form."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


def _lifetime(value: Any) -> float | None:
    """Seconds a token lives: absent means an hour (OAuth's usual); anything unusable is None."""
    if value is None:
        return 3600.0
    if isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if math.isfinite(seconds) and 0 < seconds <= 366 * 86400 else None


class ClientCredentials(OAuthBearer):
    """Thrive's OAuth2 client credentials: client id and secret as HTTP Basic."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str | None = None,
        source: str = "",
    ) -> None:
        super().__init__(token_url, scope=scope, source=source)
        self._client_id = client_id
        self._client_secret = client_secret

    def __repr__(self) -> str:
        return f"ClientCredentials(token_url={self.token_url!r}, client_id=***, secret=***)"

    def secrets(self) -> tuple[str, ...]:
        return (self._client_secret,)

    def bind(self, client: HttpClient) -> None:
        super().bind(client)
        client.scrubber.add_basic(self._client_id, self._client_secret)

    def token_form(self) -> tuple[dict[str, str], AuthBase | None]:
        return {"grant_type": "client_credentials"}, HTTPBasicAuth(
            self._client_id, self._client_secret
        )


class RefreshToken(ClientCredentials):
    """D2L's refresh-token grant, with the rotating refresh token kept in a file (the client
    id and secret go in the form, as D2L's examples send them).

    D2L answers every use of a refresh token with a new one and refuses the old one from
    then on. So the new token is written to the file (atomically, readable by the owner
    only) as soon as it arrives and before any request uses the access token: an
    interrupted run leaves the file holding the one token that still works.
    """

    endpoint = "oauth2 token (refresh)"

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        token_file: Path,
        *,
        scope: str | None = None,
        source: str = "",
    ) -> None:
        super().__init__(token_url, client_id, client_secret, scope=scope, source=source)
        self.token_file = token_file
        self._refresh = read_secret_file(token_file, key=f"sources.{source}.refresh_token_file")

    def __repr__(self) -> str:
        return f"RefreshToken(token_url={self.token_url!r}, file={str(self.token_file)!r}, ***)"

    def secrets(self) -> tuple[str, ...]:
        return (*super().secrets(), self._refresh)

    def token_form(self) -> tuple[dict[str, str], AuthBase | None]:
        return {
            "grant_type": "refresh_token",
            "refresh_token": self._refresh,
            "client_id": self._client_id,
            "client_secret": self._client_secret,
        }, None

    def issued(self, body: dict[str, Any]) -> None:
        new = body.get("refresh_token")
        if not isinstance(new, str) or not new.strip():
            return  # no rotation offered: the file's token stays valid
        new = new.strip()
        self.client.scrubber.add(new)
        try:
            write_secret_file(self.token_file, new)
        except OSError as exc:
            raise self.client.fail(
                f"{self.source}: could not save the new refresh token to {self.token_file} "
                f"({exc.strerror or type(exc).__name__}); D2L has already retired the old one, "
                "so get a new refresh token (docs/sources.md) and make the file writable by "
                "this job's user",
                url=self.token_url,
            ) from None
        self._refresh = new

    def _fetch(self) -> tuple[str, float]:
        try:
            return super()._fetch()
        except SourceError as exc:
            if exc.status == 400:
                raise self.client.fail(
                    f"{exc}; the refresh token in {self.token_file} was refused: it is used up "
                    "(each one works once: was the file restored or used elsewhere?) or "
                    "revoked; get a new one (docs/sources.md)",
                    url=exc.url,
                    status=exc.status,
                ) from None
            if exc.status == 401:
                raise self.client.fail(
                    f"{exc}; the app's client id or secret was refused: check "
                    f"{self.client.credentials}",
                    url=exc.url,
                    status=exc.status,
                ) from None
            raise


class PrivateKeyJwt(OAuthBearer):
    """Client credentials with a private-key JWT client assertion (RS256), as D2L documents
    for service users: ``iss`` = ``sub`` = the client id, ``aud`` = the token URL, a fresh
    ``jti``, and a short ``exp``. The header's ``kid`` is the key's RFC 7638 thumbprint,
    which is how the JWKS the app is registered with names it (docs/sources.md)."""

    endpoint = "oauth2 token (client assertion)"

    def __init__(
        self,
        token_url: str,
        client_id: str,
        private_key_pem: str,
        *,
        scope: str | None = None,
        source: str = "",
        key_origin: str = "",
    ) -> None:
        super().__init__(token_url, scope=scope, source=source)
        self._client_id = client_id
        self._pem = private_key_pem
        try:
            key = jwt.algorithms.RSAAlgorithm(jwt.algorithms.RSAAlgorithm.SHA256).prepare_key(
                private_key_pem
            )
        except (ValueError, TypeError, jwt.exceptions.InvalidKeyError):
            raise ConfigError(
                f"{key_origin or 'the Brightspace private key'} is not an RSA private key in "
                "PEM form (-----BEGIN PRIVATE KEY-----); check the file or variable named in "
                "[sources.brightspace]"
            ) from None
        if not isinstance(key, RSAPrivateKey):
            raise ConfigError(
                f"{key_origin or 'the Brightspace private key'} holds a public key; the config "
                "must name the app's private key"
            )
        self._key: RSAPrivateKey = key
        self.kid = key_thumbprint(key.public_key())

    def __repr__(self) -> str:
        return f"PrivateKeyJwt(token_url={self.token_url!r}, client_id=***, key=***)"

    def secrets(self) -> tuple[str, ...]:
        return (self._pem.strip(),)

    def assertion(self) -> str:
        now = int(time.time())
        claims = {
            "iss": self._client_id,
            "sub": self._client_id,
            "aud": self.token_url,
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECONDS,
        }
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})

    def token_form(self) -> tuple[dict[str, str], AuthBase | None]:
        return {
            "grant_type": "client_credentials",
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": self.assertion(),
        }, None


def key_thumbprint(public_key: Any) -> str:
    """The RFC 7638 SHA-256 thumbprint of an RSA public key, base64url: its JWKS ``kid``."""
    numbers = public_key.public_numbers()

    def b64(number: int) -> str:
        raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
        return base64url_encode(raw).decode("ascii")

    canonical = json.dumps(
        {"e": b64(numbers.e), "kty": "RSA", "n": b64(numbers.n)}, separators=(",", ":")
    )
    return base64url_encode(hashlib.sha256(canonical.encode()).digest()).decode("ascii")


def public_jwks(private_key_pem: str) -> str:
    """The JWKS (JSON) to publish at the URL a D2L app is registered with: the public half of
    ``private_key_pem``, with the ``kid`` :class:`PrivateKeyJwt` puts in its assertions."""
    key = jwt.algorithms.RSAAlgorithm(jwt.algorithms.RSAAlgorithm.SHA256).prepare_key(
        private_key_pem
    )
    public = key.public_key() if hasattr(key, "public_key") else key
    entry = jwt.algorithms.RSAAlgorithm.to_jwk(public, as_dict=True)
    entry.update({"kid": key_thumbprint(public), "use": "sig", "alg": "RS256"})
    return json.dumps({"keys": [entry]}, indent=2)


class CoursepathJwt(SourceAuth):
    """Coursepath's HS256 JWT (``email``, ``iat``, ``jti``), minted fresh for every request.

    Coursepath accepts each token once and only for a couple of minutes, so a token is never
    cached: every page, every retry and every fan-out request signs its own.
    """

    def __init__(self, email: str, api_key: str) -> None:
        self.email = email
        self._api_key = api_key

    def __repr__(self) -> str:
        return f"CoursepathJwt(email={self.email!r}, api_key=***)"

    def secrets(self) -> tuple[str, ...]:
        return (self._api_key,)

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


# -- secret files -------------------------------------------------------------------------


def read_secret_file(path: Path, *, key: str, one_line: bool = True) -> str:
    """A secret kept in a file the config names: its text without surrounding whitespace.

    It goes through :func:`config.clean_secret`, as secrets from the environment do: a file
    saved with Windows line endings just works, the value is kept out of every error line,
    and a line break inside a one-line secret (a refresh token) is refused naming the file.
    A private key (``one_line=False``) has line breaks of its own.
    """
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read {path} (named by {key}): {getattr(exc, 'strerror', None) or exc}; "
            "check the path and that this job's user may read it"
        ) from None
    if not text:
        raise ConfigError(f"{path} (named by {key}) is empty; put the secret in it")
    return clean_secret(text, where=f"{path} (named by {key})", one_line=one_line)


def write_secret_file(path: Path, text: str) -> None:
    """Replace a secret file atomically (``reconcile.files``): a new file readable by its
    owner only (0600), flushed to disk, then renamed over the old one, so a crash leaves
    one whole token."""
    with atomic_path(Path(path), mode=0o600) as temporary, temporary.open("w") as handle:
        handle.write(text + "\n")
        handle.flush()
        os.fsync(handle.fileno())


# -- building auth from a config ----------------------------------------------------------


def client_credentials(source: ThriveSource, token_url: str) -> ClientCredentials:
    """Thrive's OAuth2 client credentials, from the environment variables the config names."""
    section = f"sources.{source.name}"
    return ClientCredentials(
        token_url,
        secret(source.client_id_env or "", key=f"{section}.client_id_env"),
        secret(source.client_secret_env or "", key=f"{section}.client_secret_env"),
        scope=source.scope,
        source=source.name,
    )


def brightspace_auth(source: BrightspaceSource) -> SourceAuth:
    """The auth ``[sources.brightspace] auth`` chooses (see DESIGN.md §4 for the keys)."""
    section = f"sources.{source.name}"
    if source.auth == "token":
        token = secret(source.token_env or "", key=f"{section}.token_env")
        return StaticBearer(token, env=source.token_env or "")
    client_id = secret(source.client_id_env or "", key=f"{section}.client_id_env")
    if source.auth == "refresh_token":
        assert source.refresh_token_file is not None  # the config reader requires it
        return RefreshToken(
            source.token_url,
            client_id,
            secret(source.client_secret_env or "", key=f"{section}.client_secret_env"),
            source.refresh_token_file,
            scope=source.scope,
            source=source.name,
        )
    if source.private_key_file is not None:
        pem = read_secret_file(
            source.private_key_file, key=f"{section}.private_key_file", one_line=False
        )
        origin = str(source.private_key_file)
    else:
        pem = secret(source.private_key_env or "", key=f"{section}.private_key_env", one_line=False)
        if "\n" not in pem and "\\n" in pem:  # a PEM pasted into one line with \n escapes
            pem = pem.replace("\\n", "\n")
        origin = f"the variable {source.private_key_env}"
    return PrivateKeyJwt(
        source.token_url, client_id, pem, scope=source.scope, source=source.name, key_origin=origin
    )


def authenticated_client(
    source: ThriveSource | BrightspaceSource | CoursepathSource,
    auth: AuthBase,
    policy: HttpPolicy,
) -> HttpClient:
    """The source's HTTP client signing with ``auth``, bound to it (token requests go through
    the same client; its secrets feed the client's scrubber)."""
    client = HttpClient(
        source.name,
        source.base_url,
        policy=policy,
        auth=auth,
        credentials=" / ".join(source.secret_envs()),
    )
    if isinstance(auth, SourceAuth):
        auth.bind(client)
    return client
