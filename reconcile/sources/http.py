"""The one HTTP core every loader uses: session, timeouts, retries, pacing, errors, fan-out.

Why hand-written rather than urllib3's ``Retry``: the retry budget must also cover a body that
is not JSON (a proxy's HTML error page, a truncated response), a 401 must trigger exactly one
re-authentication, Brightspace's rate-limit headers must slow *every* thread down before a 429
happens, and the final failure must be one :class:`SourceError` line naming the source, the URL
(never a secret) and the status. A loader calls :meth:`HttpClient.get_json` and
:meth:`HttpClient.map`; it has no retry, auth or paging code of its own. A writer that must
handle a refusal per item (``push-completions``: a 422 for one completion must not stop the
others) calls :meth:`HttpClient.request` with ``refusals`` and gets a :class:`Reply`.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Container, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from requests.hooks import default_hooks

from reconcile import __version__
from reconcile.config import Http
from reconcile.errors import SourceError

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

Decoder = Callable[[bytes], Any]
"""Decodes a 2xx body faster than ``json`` where it can, returning None where it cannot (the
core then decodes it with ``Response.json()`` as usual, so a decoder never changes what a
body means, nor which bodies count as malformed). The paging layer passes
:class:`reconcile.sources.columns.ArrowPages`."""

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
SECRET_PARAMS = ("token", "key", "secret", "password", "signature", "auth", "jwt", "code")
DEFAULT_REQUEST_COST = 10.0  # D2L: "10 credits per call" unless X-Request-Cost says otherwise
BODY_READ_SIZE = 1 << 20
USER_AGENT = f"reconcile/{__version__} (+https://github.com/reconcile)"


@dataclass(frozen=True)
class HttpPolicy:
    """How hard the core tries. Tests pass tiny backoffs so fault cases take milliseconds."""

    concurrency: int = 8
    timeout_seconds: float = 30.0
    max_retries: int = 6
    max_wait_seconds: float = 120.0
    backoff_base_seconds: float = 0.5
    backoff_cap_seconds: float = 30.0

    @classmethod
    def from_config(cls, http: Http, *, concurrency: int | None = None) -> HttpPolicy:
        return cls(
            concurrency=concurrency or http.concurrency,
            timeout_seconds=http.timeout_seconds,
            max_retries=http.max_retries,
            max_wait_seconds=http.max_wait_seconds,
        )

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter: spreads retrying threads apart."""
        ceiling = min(self.backoff_cap_seconds, self.backoff_base_seconds * (2**attempt))
        return random.uniform(ceiling / 2, ceiling)


class ReauthenticatingAuth(Protocol):
    """An auth object that may be able to recover from a 401 by fetching new credentials."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest: ...

    def reauthenticate(self, rejected: requests.PreparedRequest) -> bool: ...


def _session_for(base_url: str) -> requests.Session:
    """A session that reads the proxy and CA-bundle environment once, not on every request.

    ``requests`` re-reads proxy variables (and stats ~/.netrc) for each request when
    ``trust_env`` is on: about a millisecond of CPU per call, which adds up to seconds over
    thousands of per-user requests. Credentials come from our auth objects, never ~/.netrc.
    """
    session = requests.Session()
    session.proxies.update(requests.utils.get_environ_proxies(base_url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    session.trust_env = False
    return session


def redact(url: str) -> str:
    """The URL without user info or any query value that could be a credential."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    query = [
        (k, "***" if any(s in k.lower() for s in SECRET_PARAMS) else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, safe=":,"), ""))


@dataclass
class RequestStats:
    """Requests per endpoint (every attempt counts), retries, and what the guards caught."""

    requests: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    retries: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    reauthentications: int = 0
    paced_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, endpoint: str, *, retry: bool) -> None:
        with self._lock:
            self.requests[endpoint] += 1
            if retry:
                self.retries[endpoint] += 1

    def paced(self, seconds: float) -> None:
        with self._lock:
            self.paced_seconds += seconds

    def reauthenticated(self) -> None:
        with self._lock:
            self.reauthentications += 1

    def warn(self, message: str) -> None:
        with self._lock:
            self.warnings.append(message)
        log.warning(message)

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": dict(sorted(self.requests.items())),
                "retries": dict(sorted(self.retries.items())),
                "reauthentications": self.reauthentications,
                "paced_seconds": round(self.paced_seconds, 3),
                "warnings": list(self.warnings),
            }


class RateLimitPacer:
    """Waits for the bucket to refill when Brightspace says it is nearly empty.

    ``X-Rate-Limit-Remaining`` is what is left and ``X-Rate-Limit-Reset`` the seconds until the
    bucket refills. We keep a reserve of one request's cost per worker thread, count our own
    requests down between responses (so eight threads do not all spend the last credit), and
    sleep until the reset instead of provoking a 429.
    """

    def __init__(self, reserve_requests: int) -> None:
        self._lock = threading.Lock()
        self._remaining: float | None = None
        self._reset_at = 0.0
        self._cost = DEFAULT_REQUEST_COST
        self._reserve = max(1, reserve_requests)

    def wait_needed(self) -> float:
        """Seconds to sleep before the next request (0 when there is budget left)."""
        with self._lock:
            now = time.monotonic()
            if self._remaining is None or now >= self._reset_at:
                if now >= self._reset_at:
                    self._remaining = None
                return 0.0
            if self._remaining > self._reserve * self._cost:
                self._remaining -= self._cost
                return 0.0
            wait = self._reset_at - now
            self._remaining = None  # one sleeper per window; the next response tells the truth
            return wait

    def observe(self, headers: Mapping[str, str]) -> None:
        remaining = _number(headers.get("X-Rate-Limit-Remaining"))
        reset = _number(headers.get("X-Rate-Limit-Reset"))
        if remaining is None or reset is None:
            return
        if reset > 86_400:  # an epoch timestamp rather than seconds to go
            reset -= time.time()
        cost = _number(headers.get("X-Request-Cost"))
        with self._lock:
            self._remaining = remaining
            self._reset_at = time.monotonic() + max(0.0, reset)
            if cost and cost > 0:
                self._cost = cost


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


class HttpClient:
    """One session per source, with retries, pacing, re-authentication and a worker pool."""

    def __init__(
        self,
        source: str,
        base_url: str,
        *,
        policy: HttpPolicy,
        auth: requests.auth.AuthBase | None = None,
        stats: RequestStats | None = None,
        credentials: str = "",
    ) -> None:
        self.source = source
        self.credentials = credentials or f"the {source} secret's environment variable"
        self.base_url = base_url.rstrip("/")
        self.policy = policy
        self.auth = auth
        self.stats = stats or RequestStats()
        self.pacer = RateLimitPacer(policy.concurrency)
        self.session = _session_for(self.base_url)
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(10, policy.concurrency * 2))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------------------
    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self.session.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- fan-out --------------------------------------------------------------------------
    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``[fn(x) for x in items]`` on the worker pool, in input order; the first error wins.

        Order is kept so a concurrent pull gives exactly the frame a sequential one would.
        """
        items = list(items)
        if self.policy.concurrency <= 1 or len(items) <= 1:
            return [fn(item) for item in items]
        pool = self._executor()
        futures = [pool.submit(fn, item) for item in items]
        try:
            return [f.result() for f in futures]
        except BaseException:
            for f in futures:
                f.cancel()
            raise

    def submit(self, fn: Callable[..., R], *args: Any) -> Future[R]:
        """Start ``fn(*args)`` on the pool now (inline when concurrency is 1)."""
        if self.policy.concurrency <= 1:
            future: Future[R] = Future()
            try:
                future.set_result(fn(*args))
            except Exception as exc:
                future.set_exception(exc)
            return future
        return self._executor().submit(fn, *args)

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self.policy.concurrency,
                    thread_name_prefix=f"reconcile-{self.source}",
                )
            return self._pool

    # -- requests -------------------------------------------------------------------------
    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return f"{self.base_url}/{path_or_url.lstrip('/')}"

    def get_json(
        self,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        endpoint: str | None = None,
        missing_ok: bool = False,
        decode: Decoder | None = None,
    ) -> Any:
        """GET and decode JSON, retrying what is worth retrying; anything else is a SourceError.

        ``missing_ok``: a 404 returns None (a per-user resource the user simply does not have).
        ``decode``: a faster decoder tried first on a UTF-8 2xx body (see :data:`Decoder`).
        """
        return self.request_json(
            "GET",
            path_or_url,
            params=params,
            endpoint=endpoint,
            missing_ok=missing_ok,
            decode=decode,
        )

    def request_json(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        json_body: Any = None,
        auth: requests.auth.AuthBase | None = None,
        endpoint: str | None = None,
        missing_ok: bool = False,
        decode: Decoder | None = None,
    ) -> Any:
        """The decoded JSON body of a successful answer (None for a 404 when ``missing_ok``)."""
        reply = self.request(
            method,
            path_or_url,
            params=params,
            data=data,
            json_body=json_body,
            auth=auth,
            endpoint=endpoint,
            refusals=(404,) if missing_ok else (),
            decode=decode,
        )
        return reply.body if reply.ok else None

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        json_body: Any = None,
        auth: requests.auth.AuthBase | None = None,
        endpoint: str | None = None,
        refusals: Container[int] = (),
        decode: Decoder | None = None,
    ) -> Reply:
        """Send one request with the core's retries and re-authentication; the final answer.

        A 2xx comes back as a :class:`Reply` with its status (a writer needs 201 vs 200). A
        final refusal whose status is in ``refusals`` (e.g. ``range(400, 500)``) also comes back
        as a Reply, with the server's own message, instead of raising: the caller records it
        and goes on. 401 (after one re-authentication) and retryable statuses are never
        refusals: the first raises, the others are retried, then raise a SourceError.
        ``decode``: a faster decoder tried first on a UTF-8 2xx body (see :data:`Decoder`).
        """
        outgoing = _Outgoing(method.upper(), self.url(path_or_url), params, data, json_body, auth)
        endpoint = endpoint or urlsplit(outgoing.url).path
        attempt = 0
        waited = 0.0
        reauthenticated = False
        while True:
            waited += self._pace()
            self.stats.count(endpoint, retry=attempt > 0)
            outcome = self._send(outgoing)
            if isinstance(outcome, requests.Response) and outcome.status_code == 401:
                if not reauthenticated and self._reauthenticate(outcome, auth):
                    reauthenticated = True
                    continue
                raise self._rejected(method, outcome)
            problem, retry_after, body = self._judge(outcome, decode)
            if problem is None:
                assert isinstance(outcome, requests.Response)
                return Reply(outcome.status_code, body)
            if (
                not problem.retryable
                and problem.status in refusals
                and isinstance(outcome, requests.Response)
            ):
                return Reply(outcome.status_code, None, _server_text(outcome))
            if not problem.retryable:
                raise self._error(method, problem, outcome)
            delay = retry_after if retry_after is not None else self.policy.backoff(attempt)
            if attempt >= self.policy.max_retries or waited + delay > self.policy.max_wait_seconds:
                raise self._error(method, problem, outcome, attempts=attempt + 1, waited=waited)
            log.info(
                "%s: %s %s (%s); retrying in %.2fs",
                self.source,
                method,
                redact(outgoing.url),
                problem.text,
                delay,
            )
            time.sleep(delay)
            waited += delay
            attempt += 1

    def _pace(self) -> float:
        wait = self.pacer.wait_needed()
        if wait > 0:
            wait = min(wait, self.policy.max_wait_seconds)
            log.info("%s: rate limit nearly spent; pausing %.2fs", self.source, wait)
            time.sleep(wait)
            self.stats.paced(wait)
        return wait

    def _send(self, outgoing: _Outgoing) -> requests.Response | Exception:
        try:
            response = self.session.send(
                self._prepare(outgoing),
                timeout=self.policy.timeout_seconds,
                allow_redirects=False,
                stream=True,
            )
            _read_body(response)
        except (
            requests.ConnectionError,
            requests.Timeout,
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
        ) as exc:
            return exc
        self.pacer.observe(response.headers)
        return response

    def _prepare(self, outgoing: _Outgoing) -> requests.PreparedRequest:
        """The request ``Session.request`` would prepare, without its per-call merging.

        ``Session.prepare_request`` copies the session's cookie jar into a new jar and merges
        every setting with the session's, for every request: about a fifth of the CPU
        ``requests`` spends on a call, thousands of times per pull. Here the session's
        headers, its cookie jar (read, not copied: ``Session.send`` still stores the cookies
        a server sets) and our auth go straight into the prepared request, which is what
        the merging produced for this session (no session-level params, auth or hooks).
        """
        prepared = requests.PreparedRequest()
        prepared.prepare(
            method=outgoing.method,
            url=outgoing.url,
            headers=self.session.headers,
            data=outgoing.data or {},
            json=outgoing.json_body,
            params=outgoing.params or {},
            auth=outgoing.auth or self.auth,
            cookies=self.session.cookies,
            hooks=default_hooks(),
        )
        return prepared

    def _reauthenticate(
        self, response: requests.Response, auth: requests.auth.AuthBase | None
    ) -> bool:
        current = auth or self.auth
        retry = getattr(current, "reauthenticate", None)
        if retry is None or not retry(response.request):
            return False
        self.stats.reauthenticated()
        return True

    def _judge(
        self, outcome: requests.Response | Exception, decode: Decoder | None = None
    ) -> tuple[_Problem | None, float | None, Any]:
        """Decide whether a response is usable (and decode it), worth retrying, or final."""
        if isinstance(outcome, requests.Timeout):
            return _Problem("timed out", True, None), None, None
        if isinstance(outcome, Exception):
            return _Problem(f"connection failed ({type(outcome).__name__})", True, None), None, None
        status = outcome.status_code
        if status in RETRY_STATUSES:
            return _Problem(f"HTTP {status}", True, status), _retry_after(outcome), None
        if status >= 300:
            return _Problem(f"HTTP {status}{_server_message(outcome)}", False, status), None, None
        if decode is not None and outcome.content and _utf8(outcome):
            fast = decode(outcome.content)
            if fast is not None:
                return None, None, fast
        try:
            body = outcome.json() if outcome.content else None
        except (ValueError, json.JSONDecodeError):
            return _Problem("malformed JSON in a 2xx response", True, status), None, None
        return None, None, body

    def _rejected(self, method: str, response: requests.Response) -> SourceError:
        return SourceError(
            f"{self.source}: {method} {redact(response.url)} was refused with HTTP 401 "
            f"(credentials rejected{_server_message(response)}); check {self.credentials} "
            "and that the API client is still enabled",
            source=self.source,
            url=redact(response.url),
            status=401,
        )

    def _error(
        self,
        method: str,
        problem: _Problem,
        outcome: requests.Response | Exception,
        *,
        attempts: int = 1,
        waited: float = 0.0,
    ) -> SourceError:
        url = outcome.url if isinstance(outcome, requests.Response) else _exc_url(outcome)
        where = redact(url) if url else self.base_url
        if problem.retryable:
            fix = (
                f"gave up after {attempts} attempts over {waited:.1f}s; the service may be down "
                "or overloaded: try again later, or raise [http] max_retries / max_wait_seconds"
            )
        elif problem.status == 404:
            fix = f"check [sources.{self.source}] base_url and the API version"
        elif problem.status == 403:
            fix = "the API client lacks the permission (scope) this endpoint needs"
        else:
            fix = "the request was refused; check the config for this source"
        return SourceError(
            f"{self.source}: {method} {where} failed: {problem.text}; {fix}",
            source=self.source,
            url=where,
            status=problem.status,
        )


@dataclass(frozen=True)
class _Outgoing:
    """One request as the caller asked for it, sent again unchanged on every retry."""

    method: str
    url: str
    params: Mapping[str, Any] | None
    data: Mapping[str, Any] | None
    json_body: Any
    auth: requests.auth.AuthBase | None


@dataclass(frozen=True)
class Reply:
    """A server's final answer: a 2xx and its decoded body, or a refusal the caller asked for.

    ``message`` is the server's own explanation of a refusal (Thrive's ``message``), "" if none.
    """

    status: int
    body: Any = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class _Problem:
    text: str
    retryable: bool
    status: int | None


def _read_body(response: requests.Response) -> None:
    """Read the whole body now, in 1 MiB reads instead of ``Response.content``'s 10 KiB ones.

    A 300 KB Thrive page took about 30 reads through urllib3's Python layers (a second and
    more of client CPU over a 50,000-person pull). The same ``iter_content`` does the
    reading, so a dropped connection or a timeout raises the same exceptions as before, and
    the connection goes back to the pool as soon as the body is in.
    """
    try:
        body = b"".join(response.iter_content(BODY_READ_SIZE))
    except BaseException:
        response.close()
        raise
    response._content = body  # what Response.content caches; .json() and .text read it
    response._content_consumed = True


def _utf8(response: requests.Response) -> bool:
    """Whether ``Response.json()`` would read the body as UTF-8 (no other charset declared)."""
    encoding = (response.encoding or "utf-8").lower().replace("_", "-")
    return encoding in ("utf-8", "utf8")


def _retry_after(response: requests.Response) -> float | None:
    """Seconds from ``Retry-After`` (numbers only; an HTTP date is treated as absent)."""
    value = _number(response.headers.get("Retry-After"))
    return None if value is None else max(0.0, value)


def _server_message(response: requests.Response) -> str:
    """``": <the server's explanation>"`` for an error line, or "" when it gave none."""
    text = _server_text(response)
    return f": {text}" if text else ""


def _server_text(response: requests.Response) -> str:
    """The server's own short explanation, from Thrive's or Coursepath's error body."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        text = body.get("message") or body.get("error") or body.get("Message")
        if isinstance(text, str) and text:
            return " ".join(text.split())[:160]
    return ""


def _exc_url(exc: Exception) -> str | None:
    request = getattr(exc, "request", None)
    return getattr(request, "url", None) if request is not None else None
