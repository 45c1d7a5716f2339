"""The HTTP core, auth and paginators over a real socket, against a scripted loopback server.

The scripted server answers each path from a queue of canned responses, so every fault
(429 + Retry-After, 5xx, timeouts, resets, malformed JSON, 401s, rate-limit headers) is
exercised deterministically. Platform-level behaviour is tested against the sandbox in
test_sources_sandbox.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from reconcile.errors import SourceError
from reconcile.progress import NullProgress
from reconcile.sources.auth import BasicAuth, ClientCredentials, CoursepathJwt
from reconcile.sources.http import HttpClient, HttpPolicy, redact
from reconcile.sources.paging import (
    BookmarkPages,
    EnvelopePages,
    ListRequest,
    NextLinkPages,
    OffsetPages,
    ShortPageEnd,
    fetch_list,
)
from tests.loopback import LoopbackServer

FAST = HttpPolicy(
    concurrency=4,
    timeout_seconds=2.0,
    max_retries=4,
    max_wait_seconds=5.0,
    backoff_base_seconds=0.001,
    backoff_cap_seconds=0.005,
)


class Scripted:
    """A loopback server: ``script(path, *responses)`` queues answers; the last one repeats.

    A response is ``(status, body)`` or ``(status, body, headers)``; body ``bytes`` is sent
    as is, anything else as JSON. ``("sleep", seconds)`` stalls, ``("reset",)`` drops the
    connection. A callable gets (path, query, headers) and returns a response.
    """

    def __init__(self) -> None:
        self.queues: dict[str, deque[Any]] = defaultdict(deque)
        self.seen: list[tuple[str, dict[str, list[str]], dict[str, str]]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = 1 << 16  # headers and body in one segment: no Nagle/delayed-ACK stall

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                outer.handle(self)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                outer.handle(self)

        self.server = LoopbackServer(Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def script(self, path: str, *responses: Any) -> None:
        self.queues[path].extend(responses)

    def count(self, path: str) -> int:
        return sum(1 for p, _, _ in self.seen if p == path)

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        query = parse_qs(parts.query)
        with self.lock:
            self.seen.append((parts.path, query, dict(handler.headers)))
            queue = self.queues[parts.path]
            response = queue.popleft() if len(queue) > 1 else (queue[0] if queue else (404, {}))
        if callable(response):
            response = response(parts.path, query, dict(handler.headers))
        if response[0] == "sleep":
            time.sleep(response[1])
            response = (200, {"late": True})
        if response[0] == "reset":
            handler.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            handler.connection.close()
            handler.close_connection = True
            return
        status, body, *rest = response
        headers = rest[0] if rest else {}
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            handler.send_header(key, str(value))
        handler.end_headers()
        handler.wfile.write(data)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server() -> Iterator[Scripted]:
    scripted = Scripted()
    yield scripted
    scripted.close()


def client_for(server: Scripted, **kw: Any) -> HttpClient:
    policy = kw.pop("policy", FAST)
    return HttpClient("thrive", server.url + "/rest/v1", policy=policy, **kw)


# -- retries ------------------------------------------------------------------------------


def test_429_with_retry_after_then_success(server: Scripted) -> None:
    server.script("/rest/v1/x", (429, {"error": "slow"}, {"Retry-After": "0"}), (200, {"ok": 1}))
    with client_for(server) as client:
        assert client.get_json("/x") == {"ok": 1}
        assert client.stats.requests["/rest/v1/x"] == 2
        assert client.stats.retries["/rest/v1/x"] == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_then_success(server: Scripted, status: int) -> None:
    server.script("/rest/v1/x", (status, {}), (status, {}), (200, [1, 2]))
    with client_for(server) as client:
        assert client.get_json("/x") == [1, 2]
    assert server.count("/rest/v1/x") == 3


def test_5xx_forever_is_one_line_source_error(server: Scripted) -> None:
    server.script("/rest/v1/x", (503, {"status": 503, "error": "down", "message": "down"}))
    with client_for(server) as client, pytest.raises(SourceError) as caught:
        client.get_json("/x", params={"page": 1})
    error = caught.value
    assert error.exit_code == 3
    assert error.status == 503
    assert error.source == "thrive"
    assert error.url == server.url + "/rest/v1/x?page=1"
    assert "\n" not in str(error)
    assert str(error).startswith("thrive: GET http://127.0.0.1")
    assert "gave up after 5 attempts" in str(error)
    assert server.count("/rest/v1/x") == FAST.max_retries + 1


def test_retry_after_longer_than_the_budget_fails_at_once(server: Scripted) -> None:
    server.script("/rest/v1/x", (429, {}, {"Retry-After": "3600"}))
    with client_for(server) as client, pytest.raises(SourceError) as caught:
        client.get_json("/x")
    assert caught.value.status == 429
    assert server.count("/rest/v1/x") == 1


def test_timeout_then_success(server: Scripted) -> None:
    server.script("/rest/v1/x", ("sleep", 0.6), (200, {"ok": 2}))
    policy = HttpPolicy(
        concurrency=1, timeout_seconds=0.2, max_retries=2, backoff_base_seconds=0.001
    )
    with client_for(server, policy=policy) as client:
        assert client.get_json("/x") == {"ok": 2}
        assert client.stats.retries["/rest/v1/x"] == 1


def test_timeout_forever_names_the_timeout(server: Scripted) -> None:
    server.script("/rest/v1/x", ("sleep", 0.4))
    policy = HttpPolicy(
        concurrency=1, timeout_seconds=0.1, max_retries=1, backoff_base_seconds=0.001
    )
    with client_for(server, policy=policy) as client, pytest.raises(SourceError) as caught:
        client.get_json("/x")
    assert "timed out" in str(caught.value)
    assert caught.value.status is None


def test_connection_reset_then_success(server: Scripted) -> None:
    server.script("/rest/v1/x", ("reset",), (200, {"ok": 3}))
    with client_for(server) as client:
        assert client.get_json("/x") == {"ok": 3}


def test_malformed_json_is_retried_then_reported(server: Scripted) -> None:
    server.script("/rest/v1/x", (200, b'{"results": [1, 2'), (200, {"ok": 4}))
    server.script("/rest/v1/y", (200, b"<html>gateway</html>"))
    with client_for(server) as client:
        assert client.get_json("/x") == {"ok": 4}
        with pytest.raises(SourceError) as caught:
            client.get_json("/y")
    assert "malformed JSON" in str(caught.value)


def test_404_is_not_retried_and_says_how_to_fix(server: Scripted) -> None:
    server.script("/rest/v1/x", (404, {"status": 404, "error": "Not Found", "message": "nope"}))
    with client_for(server) as client, pytest.raises(SourceError) as caught:
        client.get_json("/x")
    assert server.count("/rest/v1/x") == 1
    assert caught.value.status == 404
    assert "nope" in str(caught.value)
    assert "base_url" in str(caught.value)


def test_missing_ok_turns_404_into_none(server: Scripted) -> None:
    server.script("/rest/v1/x", (404, {}))
    with client_for(server) as client:
        assert client.get_json("/x", missing_ok=True) is None


def test_urls_in_errors_carry_no_secrets() -> None:
    url = "https://user:pw@host.example/api?access_token=abc123&page=2&api_key=k"
    cleaned = redact(url)
    assert "abc123" not in cleaned
    assert "pw" not in cleaned
    assert "=k" not in cleaned
    assert "page=2" in cleaned


# -- pacing -------------------------------------------------------------------------------


def test_rate_limit_headers_pace_before_a_429(server: Scripted) -> None:
    """The server allows 2 requests per 0.3 s window and answers 429 (with no Retry-After)
    beyond that; paced by its headers, the client never sees a 429."""
    state = {"window": time.monotonic(), "used": 0}

    def limited(path: str, query: Any, headers: Any) -> Any:
        now = time.monotonic()
        if now - state["window"] >= 0.3:
            state["window"], state["used"] = now, 0
        state["used"] += 1
        left = 2 - state["used"]
        reset = round(max(0.0, 0.3 - (now - state["window"])), 3)
        if left < 0:
            return (429, {})
        return (
            200,
            {"n": state["used"]},
            {"X-Rate-Limit-Remaining": left, "X-Rate-Limit-Reset": reset, "X-Request-Cost": 1},
        )

    server.script("/rest/v1/x", limited)
    policy = HttpPolicy(concurrency=1, max_retries=0, backoff_base_seconds=0.001)
    with client_for(server, policy=policy) as client:
        for _ in range(6):
            client.get_json("/x")
        assert client.stats.paced_seconds > 0
        assert client.stats.retries == {}


def test_a_429_from_a_server_without_rate_headers_does_not_pace_the_source(
    server: Scripted,
) -> None:
    """Thrive sends no rate-limit headers: its one 429 is retried after its Retry-After, and
    the source's workers go on together afterwards (the credit pacer is for servers that
    meter credits)."""
    state = {"now": 0, "most": 0}
    lock = threading.Lock()

    def slow(path: str, query: Any, headers: Any) -> Any:
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.1)
        with lock:
            state["now"] -= 1
        return (200, {"ok": 1})

    server.script("/rest/v1/first", (429, {}, {"Retry-After": "0"}), (200, {"ok": 1}))
    server.script("/rest/v1/x", slow)
    with client_for(server) as client:
        assert client.get_json("/first") == {"ok": 1}
        assert client.map(lambda _: client.get_json("/x"), range(8)) == [{"ok": 1}] * 8
        assert client.stats.rate_limited == 1
    assert state["most"] >= 2


# -- auth ---------------------------------------------------------------------------------


def test_basic_auth_sends_tenant_and_secret(server: Scripted) -> None:
    server.script("/rest/v1/x", (200, {}))
    with client_for(server, auth=BasicAuth("tenant_1", "s3cret")) as client:
        client.get_json("/x")
    assert server.seen[0][2]["Authorization"] == "Basic dGVuYW50XzE6czNjcmV0"
    assert "s3cret" not in repr(client.auth)


def test_client_credentials_cached_and_renewed_once_on_401(server: Scripted) -> None:
    tokens = iter(["tok-1", "tok-2", "tok-3"])
    server.script(
        "/oauth2/token/t1",
        lambda *a: (
            200,
            {"access_token": next(tokens), "token_type": "Bearer", "expires_in": 3600},
        ),
    )

    def api(path: str, query: Any, headers: dict[str, str]) -> Any:
        return (200, {"ok": True}) if headers.get("Authorization") == "Bearer tok-2" else (401, {})

    server.script("/rest/v1/x", (200, {"first": True}), api)
    auth = ClientCredentials(server.url + "/oauth2/token/t1", "cid", "csecret", scope="api/read")
    with client_for(server, auth=auth) as client:
        auth.bind(client)
        assert client.get_json("/x") == {"first": True}  # tok-1 accepted
        assert client.get_json("/x") == {"ok": True}  # tok-1 now 401 → tok-2
        assert client.get_json("/x") == {"ok": True}  # tok-2 cached
    assert auth.tokens_fetched == 2
    assert client.stats.reauthentications == 1
    token_call = next(h for p, _, h in server.seen if p == "/oauth2/token/t1")
    assert token_call["Authorization"].startswith("Basic ")


def test_401_after_reauthentication_is_final(server: Scripted) -> None:
    server.script("/oauth2/token/t1", (200, {"access_token": "t", "expires_in": 3600}))
    server.script("/rest/v1/x", (401, {"message": "expired"}))
    auth = ClientCredentials(server.url + "/oauth2/token/t1", "cid", "csecret")
    with client_for(server, auth=auth) as client:
        auth.bind(client)
        with pytest.raises(SourceError) as caught:
            client.get_json("/x")
    assert caught.value.status == 401
    assert server.count("/rest/v1/x") == 2
    assert "csecret" not in str(caught.value)


def test_coursepath_jwt_is_fresh_for_every_request(server: Scripted) -> None:
    server.script("/rest/v1/x", (200, []))
    key = "coursepath-api-key-0123456789abcdef"
    auth = CoursepathJwt("reports@example.org", key)
    with client_for(server, auth=auth) as client:
        for _ in range(3):
            client.get_json("/x")
    tokens = [h["Authorization"].removeprefix("Bearer ") for _, _, h in server.seen]
    claims = [jwt.decode(t, key, algorithms=["HS256"]) for t in tokens]
    assert len({c["jti"] for c in claims}) == 3
    assert {c["email"] for c in claims} == {"reports@example.org"}
    assert all(abs(c["iat"] - time.time()) < 60 for c in claims)
    assert jwt.get_unverified_header(tokens[0])["alg"] == "HS256"


def test_coursepath_jwt_signs_with_a_short_key_without_warnings() -> None:
    """Academies' keys can be short; signing must not trip PyJWT's key-length warning."""
    token = CoursepathJwt("a@b.example", "short").token()
    head, body, signature = token.split(".")
    expected = hmac.new(b"short", f"{head}.{body}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(signature + "==") == expected
    assert jwt.decode(token, options={"verify_signature": False})["email"] == "a@b.example"


# -- paging -------------------------------------------------------------------------------


def envelope(records: list[Any], per_page: int, total: int | None = None) -> Any:
    total = len(records) if total is None else total

    def answer(path: str, query: dict[str, list[str]], headers: Any) -> Any:
        page, size = int(query["page"][0]), int(query["perPage"][0])
        assert size == per_page
        chunk = records[(page - 1) * size : page * size]
        pages = -(-total // size)
        info = {"totalResults": total, "totalPages": pages, "page": page, "perPage": size}
        return (200, {"pagination": info, "results": chunk})

    return answer


def test_envelope_fetches_every_page_in_order(server: Scripted) -> None:
    records = [{"id": f"{i:024x}"} for i in range(2500)]
    server.script("/rest/v1/users", envelope(records, 1000))
    with client_for(server) as client:
        got = fetch_list(client, ListRequest("/users"), partial(EnvelopePages, page_size=1000))
    assert got == records
    assert server.count("/rest/v1/users") == 3


def test_envelope_empty_list_is_one_request(server: Scripted) -> None:
    server.script("/rest/v1/users", envelope([], 1000))
    with client_for(server) as client:
        got = fetch_list(client, ListRequest("/users"), partial(EnvelopePages, page_size=1000))
    assert got == []
    assert server.count("/rest/v1/users") == 1


def test_envelope_total_changing_mid_pull_pulls_again(server: Scripted) -> None:
    records = [{"id": str(i)} for i in range(25)]
    grown = [*records, {"id": "25"}, {"id": "26"}]
    calls = {"n": 0}

    def answer(path: str, query: Any, headers: Any) -> Any:
        calls["n"] += 1
        data = records if calls["n"] == 1 else grown
        return envelope(data, 10)(path, query, headers)

    server.script("/rest/v1/e", answer)
    with client_for(server, policy=HttpPolicy(concurrency=1)) as client:
        got = fetch_list(client, ListRequest("/e"), partial(EnvelopePages, page_size=10))
        assert got == grown
        assert any("changed during the pull" in w for w in client.stats.warnings)


def test_bare_array_exactly_full_last_page_costs_one_empty_page(server: Scripted) -> None:
    records = [{"id": i} for i in range(20)]

    def answer(path: str, query: dict[str, list[str]], headers: Any) -> Any:
        page, size = int(query["page"][0]), int(query["perPage"][0])
        return (200, records[(page - 1) * size : page * size])

    server.script("/rest/v1/learning/completions", answer)
    with client_for(server) as client:
        got = fetch_list(
            client, ListRequest("/learning/completions"), partial(ShortPageEnd, page_size=10)
        )
    assert got == records
    assert server.count("/rest/v1/learning/completions") == 3


@pytest.mark.parametrize(("count", "least"), [(2500, 3), (2000, 3), (700, 1), (0, 1)])
def test_bare_array_costs_at_most_one_request_more(
    server: Scripted, count: int, least: int
) -> None:
    records = [{"id": i} for i in range(count)]

    def answer(path: str, query: dict[str, list[str]], headers: Any) -> Any:
        page, size = int(query["page"][0]), int(query["perPage"][0])
        return (200, records[(page - 1) * size : page * size])

    server.script("/rest/v1/learning/completions", answer)
    with client_for(server) as client:
        got = fetch_list(
            client, ListRequest("/learning/completions"), partial(ShortPageEnd, page_size=1000)
        )
    assert got == records
    made = server.count("/rest/v1/learning/completions")
    assert least <= made <= least + 1
    if count < 1000:
        assert made == 1  # a short first page is the last


def test_bare_array_server_ignoring_paging_is_stopped(server: Scripted) -> None:
    server.script("/rest/v1/a", (200, [{"id": i} for i in range(10)]))
    with client_for(server) as client, pytest.raises(SourceError) as caught:
        fetch_list(client, ListRequest("/a"), partial(OffsetPages, page_size=10))
    assert "same page again" in str(caught.value)
    assert server.count("/rest/v1/a") == 2


def object_pages(server: Scripted, records: list[int], size: int, *, repeat_at: Any = None) -> Any:
    def answer(path: str, query: dict[str, list[str]], headers: Any) -> Any:
        start = int(query.get("recordIdBookmark", ["0"])[0])
        chunk = records[start : start + size]
        nxt = start + size
        if repeat_at is not None and repeat_at(start):
            nxt = start
        more = nxt < len(records)
        url = f"{server.url}/rest/v1/r?limit={size}&recordIdBookmark={nxt}" if more else None
        return (200, {"Next": url, "Objects": [{"RecordId": r} for r in chunk]})

    return answer


def test_object_list_page_follows_next(server: Scripted) -> None:
    server.script("/rest/v1/r", object_pages(server, list(range(250)), 100))
    with client_for(server) as client:
        got = fetch_list(client, ListRequest("/r", {"limit": 100}), NextLinkPages)
    assert [r["RecordId"] for r in got] == list(range(250))
    assert server.count("/rest/v1/r") == 3


def test_object_list_page_repeated_next_once_is_followed(server: Scripted) -> None:
    once = {"done": False}

    def repeat(start: int) -> bool:
        if start == 100 and not once["done"]:
            once["done"] = True
            return True
        return False

    server.script("/rest/v1/r", object_pages(server, list(range(250)), 100, repeat_at=repeat))
    with client_for(server) as client:
        got = fetch_list(client, ListRequest("/r", {"limit": 100}), NextLinkPages)
        assert any("repeated a bookmark" in w for w in client.stats.warnings)
    ids = [r["RecordId"] for r in got]
    assert sorted(set(ids)) == list(range(250))
    assert len(ids) == 350  # page 2 twice; the loader's dedupe drops the copies


def test_object_list_page_stuck_bookmark_is_an_error(server: Scripted) -> None:
    server.script(
        "/rest/v1/r", object_pages(server, list(range(250)), 100, repeat_at=lambda s: s == 100)
    )
    with client_for(server) as client, pytest.raises(SourceError) as caught:
        fetch_list(client, ListRequest("/r", {"limit": 100}), NextLinkPages)
    assert "stuck" in str(caught.value)
    assert server.count("/rest/v1/r") == 3


def test_paged_result_set_uses_bookmark(server: Scripted) -> None:
    users = list(range(1, 251))

    def answer(path: str, query: dict[str, list[str]], headers: Any) -> Any:
        after = int(query.get("bookmark", ["0"])[0])
        chunk = [u for u in users if u > after][:100]
        more = bool(chunk) and chunk[-1] < users[-1]
        info = {"Bookmark": str(chunk[-1]) if chunk else None, "HasMoreItems": more}
        return (200, {"PagingInfo": info, "Items": [{"UserId": u} for u in chunk]})

    server.script("/rest/v1/users/", answer)
    pages = PageSizes()
    with client_for(server) as client:
        got = fetch_list(client, ListRequest("/users/"), BookmarkPages, progress=pages)
    assert [u["UserId"] for u in got] == users
    assert pages.sizes == [100, 100, 50]


class PageSizes(NullProgress):
    """Progress that remembers how many records each page brought."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def advance(self, task: str, *, pages: int = 0, records: int = 0) -> None:
        self.sizes.append(records)


def test_next_url_to_another_host_is_refused(server: Scripted) -> None:
    server.script("/rest/v1/r", (200, {"Next": "https://evil.example/r?x=1", "Objects": [1]}))
    with client_for(server) as client, pytest.raises(SourceError) as caught:
        fetch_list(client, ListRequest("/r"), NextLinkPages)
    assert "another host" in str(caught.value)


def test_concurrent_map_keeps_input_order(server: Scripted) -> None:
    server.script("/rest/v1/echo", lambda p, q, h: (200, {"i": int(q["i"][0])}))
    with client_for(server, policy=HttpPolicy(concurrency=8)) as client:
        got = client.map(lambda i: client.get_json("/echo", params={"i": i})["i"], range(40))
    assert got == list(range(40))


# -- transport ----------------------------------------------------------------------------


def test_a_cookie_the_server_sets_is_sent_back(server: Scripted) -> None:
    """The session's cookie jar keeps what a server sets (e.g. a load balancer's affinity)."""
    server.script("/rest/v1/login", (200, {"ok": 1}, {"Set-Cookie": "affinity=node-7; Path=/"}))
    server.script("/rest/v1/x", (200, {"ok": 2}))
    with client_for(server) as client:
        assert client.get_json("/login") == {"ok": 1}
        assert client.get_json("/x") == {"ok": 2}
    assert "Cookie" not in server.seen[0][2]
    assert server.seen[1][2]["Cookie"] == "affinity=node-7"


def test_a_redirect_is_not_followed(server: Scripted) -> None:
    server.script("/rest/v1/x", (302, {}, {"Location": "/rest/v1/elsewhere"}))
    with client_for(server) as client, pytest.raises(SourceError) as caught:
        client.get_json("/x")
    assert "HTTP 302" in str(caught.value)
    assert server.count("/rest/v1/elsewhere") == 0


def test_proxy_from_the_environment_is_resolved_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "")
    client = HttpClient("thrive", "https://thrive.example/rest/v1", policy=FAST)
    monkeypatch.delenv("HTTPS_PROXY")
    assert client.session.proxies["https"] == "http://proxy.example:3128"
    assert client.session.trust_env is False
    client.close()
