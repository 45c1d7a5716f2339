"""The one HTTP core every loader uses: session, timeouts, retries, pacing, errors, fan-out.

Why hand-written rather than urllib3's ``Retry``: the retry budget must also cover a body that
is not JSON (a proxy's HTML error page, a truncated response), a 401 must trigger exactly one
re-authentication, Brightspace's rate-limit headers must slow *every* thread down before a 429
happens, a hostile or broken server must not hang the run or exhaust memory (a deadline and
size caps per request), and the final failure must be one :class:`SourceError` line naming the
source, the URL and the status, with every configured secret scrubbed from whatever the server
said. A loader calls :meth:`HttpClient.get_json` and :meth:`HttpClient.map`; it has no retry,
auth or paging code of its own. A writer that must handle a refusal per item
(``push-completions``: a 422 for one completion must not stop the others) calls
:meth:`HttpClient.request` with ``refusals`` and gets a :class:`Reply`.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import math
import os
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Container, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter

from reconcile import __version__
from reconcile.config import Http
from reconcile.errors import SourceError
from reconcile.redaction import SECRETS

if TYPE_CHECKING:
    from reconcile.sources.saved import SavedAnswers

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
SECRET_PARAMS = ("token", "key", "secret", "password", "signature", "auth", "jwt", "code")
DEFAULT_REQUEST_COST = 10.0  # D2L: "10 credits per call" unless X-Request-Cost says otherwise
RESET_WINDOW_SECONDS = 60.0  # D2L: the credit bucket refills every minute
READ_SIZE = 1 << 16
USER_AGENT = f"reconcile/{__version__} (+https://github.com/reconcile)"
_TRANSPORT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    urllib3.exceptions.HTTPError,
    OSError,
)


@dataclass(frozen=True)
class HttpPolicy:
    """How hard the core tries, and how much a server may cost us.

    ``timeout_seconds`` bounds each socket read; ``deadline_seconds`` the whole request (a
    server trickling a byte at a time never trips a per-read timeout). ``max_body_bytes``
    caps what comes over the wire, ``max_decoded_bytes`` what a compressed body inflates to.
    ``max_pacing_seconds`` is the source's budget for waiting on rate-limit headers.
    Tests pass tiny values so fault cases take milliseconds.
    """

    concurrency: int = 8
    timeout_seconds: float = 30.0
    max_retries: int = 6
    max_wait_seconds: float = 120.0
    backoff_base_seconds: float = 0.5
    backoff_cap_seconds: float = 30.0
    deadline_seconds: float = 300.0
    max_body_bytes: int = 64 << 20
    max_decoded_bytes: int = 256 << 20
    max_pacing_seconds: float = 900.0

    @classmethod
    def from_config(cls, http: Http, *, concurrency: int | None = None) -> HttpPolicy:
        body = int(http.max_body_mb * (1 << 20))
        return cls(
            concurrency=concurrency or http.concurrency,
            timeout_seconds=http.timeout_seconds,
            max_retries=http.max_retries,
            max_wait_seconds=http.max_wait_seconds,
            deadline_seconds=http.deadline_seconds,
            max_body_bytes=body,
            max_decoded_bytes=4 * body,
            max_pacing_seconds=http.max_pacing_seconds,
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

    Credentials come from our auth objects, never from ~/.netrc.
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
    """Requests per endpoint (every attempt counts), retries, and what the guards caught.

    ``rate_limited``: answers that were a 429 (the pacer exists so that there are none).
    ``resumed``: answers an earlier, interrupted run of the pull received (saved.py), handed
    back instead of asked for again; they are not in ``requests``.
    """

    requests: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    retries: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    reauthentications: int = 0
    rate_limited: int = 0
    resumed: int = 0
    paced_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, endpoint: str, *, retry: bool) -> None:
        with self._lock:
            self.requests[endpoint] += 1
            if retry:
                self.retries[endpoint] += 1

    def paced(self, seconds: float) -> float:
        """Add a pacing wait; the total so far."""
        with self._lock:
            self.paced_seconds += seconds
            return self.paced_seconds

    def reauthenticated(self) -> None:
        with self._lock:
            self.reauthentications += 1

    def refused_for_rate(self) -> None:
        with self._lock:
            self.rate_limited += 1

    def count_resumed(self) -> None:
        with self._lock:
            self.resumed += 1

    def warn(self, message: str) -> None:
        with self._lock:
            if message in self.warnings:
                return
            self.warnings.append(message)
        log.warning(message)

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": dict(sorted(self.requests.items())),
                "retries": dict(sorted(self.retries.items())),
                "reauthentications": self.reauthentications,
                "rate_limited": self.rate_limited,
                "resumed": self.resumed,
                "paced_seconds": round(self.paced_seconds, 3),
                "warnings": list(self.warnings),
            }


class RateLimitPacer:
    """One source's share of a credit budget, shared by all its worker threads.

    D2L documents ``X-Rate-Limit-Remaining`` as the credits left in the current minute,
    ``X-Rate-Limit-Reset`` as the seconds until the bucket refills, and ``X-Request-Cost`` as
    what a call costs (10). A large tenant's pull is bound by that budget, so the pacer lets
    every worker send while the bucket can pay for it and holds them all, together, until
    the refill: the whole budget is spent each minute and no request provokes a 429.

    - What the server said is kept as the *least* credits and the *earliest* refill any
      answer of the current window reported: answers overtake one another, and a late
      answer must not make the bucket look fuller than it is.
    - Requests sent but not yet answered are counted in flight: a request goes out only if
      the credits left pay for it and for every one in flight. So the bucket is spent to its
      last call, whatever the number of workers.
    - At the refill the bucket is taken to be as full as it was ever seen; an answer whose
      refill is more than half a window from the current one belongs to another window (an
      answer of the previous one arriving late is ignored; one of the next is adopted).
    - A 429 with ``Retry-After`` from a server that sends these headers holds every worker
      until then (from any other server, only that request waits). The hold is kept apart
      from the bucket: answers to requests sent before the 429 still report the credits
      they saw, and must not lift it.
    - A reset that is not seconds within a minute (an epoch timestamp, milliseconds, a day)
      is not a form D2L sends: it is ignored (``refused_reset`` says so, for a warning)
      rather than trusted to stall every request.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._cost = DEFAULT_REQUEST_COST
        self._remaining: float | None = None  # None: the server never said
        self._refill_at: float | None = None  # monotonic; None: not known this window
        self._previous_refill: float | None = None
        self._capacity = 0.0  # the fullest the bucket was seen
        self._span = 0.0  # the longest reset seen: about one window
        self._in_flight = 0
        self._stalled_until = 0.0
        self._held_until = 0.0  # monotonic; a 429's Retry-After
        self._stopped = False
        self.refused_reset: str | None = None

    def acquire(self, on_stall: Callable[[float], None]) -> None:
        """Wait until the bucket can pay for one more request, and count it in flight.

        ``on_stall(seconds)`` is told, once for each stretch of time, how long the source
        is held for a refill (it may raise to stop the pull: the pacing budget).
        """
        with self._changed:
            while True:
                if self._stopped:
                    raise PacerStopped("the pull stopped while this request waited for credits")
                now = time.monotonic()
                if self._refill_at is not None and now >= self._refill_at:
                    self._refilled()
                held = now < self._held_until
                if not held and self._fits():
                    self._in_flight += 1
                    return
                until = self._held_until if held else self._refill_at
                if until is None:  # refilled: wait for the answers in flight
                    self._changed.wait(1.0)
                    continue
                unaccounted = until - max(now, self._stalled_until)
                if unaccounted > 0:
                    on_stall(unaccounted)
                    self._stalled_until = until
                self._changed.wait(until - now)

    def stop(self) -> None:
        """The client is closing (the pull ended or failed): no request waits any longer."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()

    def release(self, headers: Mapping[str, str] | None, status: int | None = None) -> None:
        """One request in flight was answered (``headers``) or failed (None)."""
        with self._changed:
            self._in_flight -= 1
            if headers is not None:
                self._observe(headers, status)
            self._changed.notify_all()

    def _fits(self) -> bool:
        if self._remaining is None:
            return True
        return self._remaining - (self._in_flight + 1) * self._cost >= 0

    def _refilled(self) -> None:
        self._remaining = self._capacity
        self._previous_refill = self._refill_at
        self._refill_at = None

    def _observe(self, headers: Mapping[str, str], status: int | None) -> None:
        if status == 429:
            self._emptied(_number(headers.get("Retry-After")))
            return
        remaining = _number(headers.get("X-Rate-Limit-Remaining"))
        raw_reset = headers.get("X-Rate-Limit-Reset")
        reset = _number(raw_reset)
        if remaining is None or reset is None:
            return
        if not 0 <= reset <= RESET_WINDOW_SECONDS:
            self.refused_reset = str(raw_reset)[:40]
            return
        cost = _number(headers.get("X-Request-Cost"))
        if cost and cost > 0:
            self._cost = cost
        refill = time.monotonic() + reset
        self._span = max(self._span, reset)
        self._capacity = max(self._capacity, remaining + self._cost)
        half = self._span / 2
        current = self._refill_at
        if current is None:
            if self._previous_refill is not None and refill <= self._previous_refill + half:
                return  # an answer from the window that just ended
            self._remaining, self._refill_at = remaining, refill
        elif refill > current + half:  # the next window has begun
            self._previous_refill = current
            self._remaining, self._refill_at = remaining, refill
        elif refill >= current - half:  # this window
            assert self._remaining is not None
            self._remaining = min(self._remaining, remaining)
            self._refill_at = min(current, refill)

    def _emptied(self, retry_after: float | None) -> None:
        """A 429: every worker is held until ``Retry-After``. From a server that meters no
        credits (no headers seen), only the request itself waits."""
        if not self._capacity or retry_after is None:
            return
        if 0 <= retry_after <= RESET_WINDOW_SECONDS:
            self._held_until = max(self._held_until, time.monotonic() + retry_after)


class PacerStopped(Exception):
    """Raised in a worker still waiting for credits when its client closes; the pull has
    already ended (its outcome was decided elsewhere), so nobody reports it."""


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


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
        self.scrubber = SECRETS  # the process's one list: the CLI hides the same tokens
        self.pacer = RateLimitPacer()
        self.saved: SavedAnswers | None = None
        self.session = _session_for(self.base_url)
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(10, policy.concurrency * 2))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update(
            {
                "Accept": "application/json",
                "Accept-Encoding": "gzip, deflate",
                "User-Agent": USER_AGENT,
            }
        )
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------------------
    def close(self) -> None:
        self.pacer.stop()  # workers held for a refill give up now, not at the refill
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

        The calling thread works too: an item no worker has started yet is taken back and
        run here. So a worker may call ``map`` itself (a list fanned out, then its pages)
        and can never deadlock waiting for a queue that only it could empty. Order is kept
        so a concurrent pull gives exactly the frames a sequential one would.
        """
        items = list(items)
        if self.policy.concurrency <= 1 or len(items) <= 1:
            return [fn(item) for item in items]
        pool = self._executor()
        futures = [pool.submit(fn, item) for item in items]
        results: list[R] = []
        try:
            for item, future in zip(items, futures, strict=True):
                results.append(fn(item) if future.cancel() else future.result())
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        return results

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self.policy.concurrency,
                    thread_name_prefix=f"reconcile-{self.source}",
                )
            return self._pool

    # -- errors ---------------------------------------------------------------------------
    def fail(
        self, message: str, *, url: str = "", status: int | None = None, resumable: bool = True
    ) -> SourceError:
        """A SourceError for this source, every secret scrubbed from its text.

        ``resumable=False``: an answer the pull received is what cannot be used.
        """
        return SourceError(
            self.scrubber.clean(message),
            source=self.source,
            url=self.scrubber.clean(url),
            status=status,
            resumable=resumable,
        )

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
    ) -> Any:
        """GET and decode JSON, retrying what is worth retrying; anything else is a SourceError.

        ``missing_ok``: a 404 returns None (a per-user resource the user simply does not have).
        With ``saved`` answers (a pull that can be resumed, ``saved.py``), an answer an
        earlier run received is handed back instead of asking again, and each new answer is
        saved.
        """
        saved = self.saved
        if saved is None:
            return self.request_json(
                "GET", path_or_url, params=params, endpoint=endpoint, missing_ok=missing_ok
            )
        url = self.url(path_or_url)
        key = saved.key("GET", url, params)
        earlier = saved.take(key)
        if earlier is not None:
            self.stats.count_resumed()
            return earlier.body if 200 <= earlier.status < 300 else None
        reply = self.request(
            "GET",
            url,
            params=params,
            endpoint=endpoint,
            refusals=(404,) if missing_ok else (),
        )
        saved.put(key, reply.status, reply.raw)
        return reply.body if reply.ok else None

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
    ) -> Reply:
        """Send one request with the core's retries and re-authentication; the final answer.

        A 2xx comes back as a :class:`Reply` with its status (a writer needs 201 vs 200). A
        final refusal whose status is in ``refusals`` (e.g. ``range(400, 500)``) also comes back
        as a Reply, with the server's own message, instead of raising: the caller records it
        and goes on. 401 (after one re-authentication) and retryable statuses are never
        refusals: the first raises, the others are retried, then raise a SourceError.
        """
        outgoing = _Outgoing(method.upper(), self.url(path_or_url), params, data, json_body, auth)
        endpoint = endpoint or urlsplit(outgoing.url).path
        attempt = 0
        waited = 0.0
        reauthenticated = False
        while True:
            self.stats.count(endpoint, retry=attempt > 0)
            outcome = self._send(outgoing)
            if isinstance(outcome, _Answer) and outcome.status == 401:
                if not reauthenticated and self._reauthenticate(outcome, auth):
                    reauthenticated = True
                    continue
                raise self._rejected(method, outcome)
            problem, body = self._judge(outcome)
            if problem is None:
                assert isinstance(outcome, _Answer)
                return Reply(outcome.status, body, raw=outcome.body)
            if not problem.retryable and problem.status in refusals:
                assert isinstance(outcome, _Answer)
                return Reply(outcome.status, None, self.scrubber.clean(_server_text(outcome)))
            if not problem.retryable:
                raise self._error(method, problem, outcome, outgoing)
            retry_after = _retry_after(outcome) if isinstance(outcome, _Answer) else None
            delay = retry_after if retry_after is not None else self.policy.backoff(attempt)
            if attempt >= self.policy.max_retries or waited + delay > self.policy.max_wait_seconds:
                raise self._error(
                    method, problem, outcome, outgoing, attempts=attempt + 1, waited=waited
                )
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

    def _stalled(self, wait: float) -> None:
        """The source waits ``wait`` seconds for its credits to refill: within the budget."""
        spent = self.stats.paced(0.0)
        if spent + wait > self.policy.max_pacing_seconds:
            raise self.fail(
                f"{self.source}: the server's rate-limit headers asked for more waiting than "
                f"the budget allows ({spent:.0f}s waited, {wait:.0f}s more asked, budget "
                f"{self.policy.max_pacing_seconds:.0f}s); the API's rate limit is used up by "
                "other clients or the server misreports it: try later, or raise [http] "
                "max_pacing_seconds",
                url=self.base_url,
            )
        log.info("%s: rate limit spent; all requests wait %.2fs for the refill", self.source, wait)
        self.stats.paced(wait)

    def _warn_of_odd_resets(self) -> None:
        refused = self.pacer.refused_reset
        if refused is not None:
            self.stats.warn(
                f"{self.source}: ignored X-Rate-Limit-Reset {refused!r}, which is not the "
                "seconds-until-reset D2L documents"
            )

    def _send(self, outgoing: _Outgoing) -> _Answer | Exception:
        """One attempt: the answer with its whole body, or the transport error it met.

        The attempt waits for the rate-limit pacer first and tells it what came back.
        """
        self.pacer.acquire(self._stalled)
        outcome: _Answer | Exception | None = None
        try:
            outcome = self._attempt(outgoing)
        finally:
            if isinstance(outcome, _Answer):
                self.pacer.release(outcome.response.headers, outcome.status)
                if outcome.status == 429:
                    self.stats.refused_for_rate()
            else:
                self.pacer.release(None)
        self._warn_of_odd_resets()
        return outcome

    def _attempt(self, outgoing: _Outgoing) -> _Answer | Exception:
        started = time.monotonic()
        try:
            response = self.session.request(
                outgoing.method,
                outgoing.url,
                params=outgoing.params,
                data=outgoing.data,
                json=outgoing.json_body,
                auth=outgoing.auth or self.auth,
                timeout=self.policy.timeout_seconds,
                allow_redirects=False,
                stream=True,
            )
        except _TRANSPORT_ERRORS as exc:
            return exc
        try:
            body = _read_body(response, self.policy, started)
        except _Overrun as exc:
            return exc
        except _TRANSPORT_ERRORS as exc:
            return exc
        finally:
            response.close()
        return _Answer(response, body)

    def _reauthenticate(self, answer: _Answer, auth: requests.auth.AuthBase | None) -> bool:
        current = auth or self.auth
        retry = getattr(current, "reauthenticate", None)
        if retry is None or not retry(answer.response.request):
            return False
        self.stats.reauthenticated()
        return True

    def _judge(self, outcome: _Answer | Exception) -> tuple[_Problem | None, Any]:
        """Decide whether an answer is usable (and decode it), worth retrying, or final."""
        if isinstance(outcome, _Overrun):
            return _Problem(outcome.reason, False, None), None
        if isinstance(outcome, requests.Timeout | urllib3.exceptions.TimeoutError | TimeoutError):
            return _Problem("timed out", True, None), None
        if isinstance(outcome, Exception):
            return _Problem(f"connection failed ({type(outcome).__name__})", True, None), None
        status = outcome.status
        if status in RETRY_STATUSES:
            return _Problem(f"HTTP {status}", True, status), None
        if status >= 300:
            return _Problem(f"HTTP {status}{_server_message(outcome)}", False, status), None
        if not outcome.body:
            return None, None
        try:
            return None, orjson.loads(outcome.body)
        except orjson.JSONDecodeError as exc:
            why = str(exc).split(":", 1)[0]
            return _Problem(f"malformed JSON in a 2xx response ({why})", True, status), None

    def _rejected(self, method: str, answer: _Answer) -> SourceError:
        auth = getattr(self.auth, "rejected_hint", None)
        hint = auth() if callable(auth) else None
        fix = hint or (f"check {self.credentials} and that the API client is still enabled")
        url = redact(answer.response.url)
        return self.fail(
            f"{self.source}: {method} {url} was refused with HTTP 401 "
            f"(credentials rejected{_server_message(answer)}); {fix}",
            url=url,
            status=401,
        )

    def _error(
        self,
        method: str,
        problem: _Problem,
        outcome: _Answer | Exception,
        outgoing: _Outgoing,
        *,
        attempts: int = 1,
        waited: float = 0.0,
    ) -> SourceError:
        url = outcome.response.url if isinstance(outcome, _Answer) else outgoing.url
        where = redact(url)
        if isinstance(outcome, _Overrun):
            fix = outcome.fix
        elif problem.retryable:
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
        return self.fail(
            f"{self.source}: {method} {where} failed: {problem.text}; {fix}",
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
class _Answer:
    """A response and its whole body, read within the policy's deadline and caps."""

    response: requests.Response
    body: bytes

    @property
    def status(self) -> int:
        return self.response.status_code


class _Overrun(Exception):
    """A body that broke the deadline or a size cap: final, never retried."""

    def __init__(self, reason: str, fix: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fix = fix


@dataclass(frozen=True)
class Reply:
    """A server's final answer: a 2xx and its decoded body, or a refusal the caller asked for.

    ``message`` is the server's own explanation of a refusal (Thrive's ``message``), "" if none.
    """

    status: int
    body: Any = None
    message: str = ""
    raw: bytes = field(default=b"", repr=False)  # the body as it came over the wire

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class _Problem:
    text: str
    retryable: bool
    status: int | None


def _read_body(response: requests.Response, policy: HttpPolicy, started: float) -> bytes:
    """The whole body, read in pieces as they arrive, within the deadline and both caps.

    ``read1`` returns whatever one socket read brings, so a server trickling a byte at a
    time is noticed at the deadline rather than never; ``tell()`` counts the bytes taken off
    the wire, the pieces' lengths what they inflate to.
    """
    deadline = started + policy.deadline_seconds
    declared = _number(response.headers.get("Content-Length"))
    if declared is not None and declared > policy.max_body_bytes:
        raise _too_big(f"{declared:.0f} bytes declared", policy)
    raw = response.raw
    pieces: list[bytes] = []
    inflated = 0
    while True:
        if time.monotonic() > deadline:
            raise _Overrun(
                f"no complete answer within {policy.deadline_seconds:g}s",
                "the server sends its answer too slowly or never ends it; try again later",
            )
        piece = raw.read1(READ_SIZE, decode_content=True)
        if not piece:
            return b"".join(pieces)
        inflated += len(piece)
        if raw.tell() > policy.max_body_bytes:
            raise _too_big(f"more than {policy.max_body_bytes} bytes", policy)
        if inflated > policy.max_decoded_bytes:
            raise _Overrun(
                f"the compressed answer inflates past {policy.max_decoded_bytes} bytes",
                "no page of these APIs is that large; the server's answer is broken or hostile",
            )
        pieces.append(piece)


def _too_big(size: str, policy: HttpPolicy) -> _Overrun:
    return _Overrun(
        f"the answer is too large ({size}; the cap is {policy.max_body_bytes})",
        "no page of these APIs is that large; the server's answer is broken or hostile",
    )


def _retry_after(answer: _Answer) -> float | None:
    """Seconds from ``Retry-After``: a number of seconds, or an HTTP date (RFC 9110)."""
    value = answer.response.headers.get("Retry-After")
    if value is None:
        return None
    seconds = _number(value)
    if seconds is not None:
        return max(0.0, seconds)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _server_message(answer: _Answer) -> str:
    """``": <the server's explanation>"`` for an error line, or "" when it gave none."""
    text = _server_text(answer)
    return f": {text}" if text else ""


def _server_text(answer: _Answer) -> str:
    """The server's own short explanation, from any of the platforms' error bodies.

    Thrive ``{"message"}`` (a string or an object), Coursepath ``{"error"}``, D2L's RFC 7807
    ``{"title", "detail"}`` or ``{"Errors": [{"Message"}]}``, OAuth ``{"error",
    "error_description"}``. Secrets are scrubbed by the caller.
    """
    try:
        body = orjson.loads(answer.body) if answer.body else None
    except orjson.JSONDecodeError:
        return ""
    if not isinstance(body, dict):
        return ""
    specific: list[str] = []
    for key in ("detail", "message", "Message", "error_description"):
        specific.extend(_texts(body.get(key)))
    errors = body.get("Errors")
    if isinstance(errors, list):
        for item in errors[:5]:
            specific.extend(_texts(item.get("Message") if isinstance(item, dict) else item))
    generic = [t for key in ("title", "error") for t in _texts(body.get(key))]
    parts = list(dict.fromkeys(specific or generic))
    return " ".join(" — ".join(parts[:3]).split())[:240]


def _texts(value: Any) -> list[str]:
    """Readable strings in an error field: a string, or the strings inside an object."""
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)][:3]
    if isinstance(value, list):
        return [t for v in value[:3] for t in _texts(v)]
    return []
