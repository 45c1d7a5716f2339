"""The pull against hostile or broken servers: none may hang it, exhaust its memory, stall it
on rate-limit headers, learn a credential from it, or slip an unusable value past it.

Each server here is a small loopback server of the test's own, misbehaving on purpose; the
one-line error each case must end in (exit 3, naming the URL or the record) is asserted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import gzip
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from test_sources_core import Scripted

from reconcile.config import BrightspaceSource, ThriveSource
from reconcile.errors import SourceError
from reconcile.sources import Window, brightspace, thrive
from reconcile.sources.auth import BasicAuth, ClientCredentials, StaticBearer
from reconcile.sources.http import HttpClient, HttpPolicy
from tests.loopback import LoopbackServer

FAST = HttpPolicy(
    concurrency=2,
    timeout_seconds=2.0,
    max_retries=2,
    max_wait_seconds=1.0,
    backoff_base_seconds=0.001,
    backoff_cap_seconds=0.005,
    deadline_seconds=0.6,
    max_body_bytes=1 << 20,
    max_decoded_bytes=4 << 20,
    max_pacing_seconds=0.5,
)
WINDOW = Window(dt.date(2026, 1, 1), dt.date(2026, 12, 31), "UTC")


class Raw:
    """A loopback server whose one handler writes whatever it likes to the socket."""

    def __init__(self, handler: Callable[[BaseHTTPRequestHandler], None]) -> None:
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                outer.requests.append(self.path)
                try:
                    handler(self)
                except OSError:  # the client hung up on a body it refused: the point
                    self.close_connection = True

            def finish(self) -> None:
                with contextlib.suppress(OSError):
                    super().finish()

        self.server = LoopbackServer(Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def raw() -> Iterator[Callable[[Callable[[BaseHTTPRequestHandler], None]], Raw]]:
    servers: list[Raw] = []

    def start(handler: Callable[[BaseHTTPRequestHandler], None]) -> Raw:
        servers.append(Raw(handler))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def server() -> Iterator[Scripted]:
    scripted = Scripted()
    yield scripted
    scripted.close()


def fails(client: HttpClient, path: str = "/x") -> SourceError:
    with pytest.raises(SourceError) as caught:
        client.get_json(path)
    assert caught.value.exit_code == 3
    assert "\n" not in str(caught.value)
    return caught.value


# -- item 10: a deadline and size caps --------------------------------------------------------


def test_a_body_trickling_a_byte_at_a_time_ends_at_the_deadline(raw: Any) -> None:
    def trickle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "1000")
        h.end_headers()
        for _ in range(1000):
            h.wfile.write(b" ")
            h.wfile.flush()
            time.sleep(0.05)  # every read arrives well within the per-read timeout

    slow = raw(trickle)
    with HttpClient("thrive", slow.url, policy=FAST) as client:
        error = fails(client)
    assert "no complete answer within 0.6s" in str(error)
    assert error.url == f"{slow.url}/x"
    assert len(slow.requests) == 1  # a deadline is final: a trickling server trickles again


def test_an_endless_chunked_body_stops_at_the_size_cap(raw: Any) -> None:
    def endless(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        chunk = b"[" + b"1," * 32_000
        while True:
            h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))

    endless_server = raw(endless)
    with HttpClient("thrive", endless_server.url, policy=FAST) as client:
        error = fails(client)
    assert "too large (more than 1048576 bytes" in str(error)
    assert f"{endless_server.url}/x" in str(error)


def test_a_declared_huge_body_is_refused_before_it_is_read(raw: Any) -> None:
    def huge(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(1 << 30))
        h.end_headers()
        h.wfile.write(b"[")

    with HttpClient("thrive", raw(huge).url, policy=FAST) as client:
        error = fails(client)
    assert "1073741824 bytes declared" in str(error)


def test_a_gzip_bomb_stops_at_the_inflated_cap(raw: Any) -> None:
    bomb = gzip.compress(b"[" + b"0" * (64 << 20) + b"]")  # 64 MiB of JSON in ~64 KiB
    assert len(bomb) < FAST.max_body_bytes

    def inflating(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Encoding", "gzip")
        h.send_header("Content-Length", str(len(bomb)))
        h.end_headers()
        h.wfile.write(bomb)

    with HttpClient("thrive", raw(inflating).url, policy=FAST) as client:
        error = fails(client)
    assert "inflates past 4194304 bytes" in str(error)


# -- item 11: rate-limit headers cannot stall the pull ----------------------------------------


@pytest.mark.parametrize("reset", ["86000", "1893456000000"])  # a day; an epoch in ms
def test_resets_d2l_does_not_send_are_ignored_not_waited_for(server: Scripted, reset: str) -> None:
    """D2L documents X-Rate-Limit-Reset as the seconds until its per-minute bucket refills;
    a day, or an epoch in milliseconds, is not that, and must not pause every request."""
    headers = {"X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": reset}
    server.script("/x", (200, {"ok": 1}, headers))
    with HttpClient("brightspace", server.url, policy=FAST) as client:
        for _ in range(5):
            assert client.get_json("/x") == {"ok": 1}
        assert client.stats.paced_seconds == 0
        assert any("ignored X-Rate-Limit-Reset" in w for w in client.stats.warnings)
    assert server.count("/x") == 5


def test_pacing_waits_are_counted_against_the_source_budget(server: Scripted) -> None:
    """A server forever at 'Remaining: 0, Reset: 1' would pause every request; once the
    source's pacing budget cannot pay the next pause, the pull stops with the reason."""
    headers = {"X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": "1"}
    server.script("/x", (200, {"ok": 1}, headers))
    with HttpClient("brightspace", server.url, policy=FAST) as client:
        assert client.get_json("/x") == {"ok": 1}
        error = fails(client)
    assert "max_pacing_seconds" in str(error) and "budget" in str(error)
    assert server.count("/x") == 1  # the budget is checked before sleeping


def test_retry_after_given_as_an_http_date_is_honoured(server: Scripted) -> None:
    """An hour away as an HTTP date is an hour, past the wait budget: stop at once."""
    later = email.utils.formatdate(time.time() + 3600, usegmt=True)
    server.script("/x", (429, {}, {"Retry-After": later}), (200, {"ok": 1}))
    with HttpClient("thrive", server.url, policy=FAST) as client:
        error = fails(client)
    assert error.status == 429
    assert server.count("/x") == 1


# -- item 12: credentials -----------------------------------------------------------------


def test_a_401_echoing_the_token_is_scrubbed_from_the_error(server: Scripted) -> None:
    token = "d2l-access-token-7f3a9c"
    server.script("/x", (401, {"detail": f"Bearer {token} is not valid here"}))
    auth = StaticBearer(token, env="BS_TOKEN")
    with HttpClient("brightspace", server.url, policy=FAST, auth=auth) as client:
        auth.bind(client)
        error = fails(client)
    assert token not in str(error) and "Bearer *** is not valid here" in str(error)


def test_an_echoed_basic_header_and_secret_are_scrubbed(server: Scripted) -> None:
    def echo(path: str, query: Any, headers: dict[str, str]) -> Any:
        return (403, {"message": f"{headers['Authorization']} (secret api-secret-99) refused"})

    server.script("/x", echo)
    auth = BasicAuth("tenant_1", "api-secret-99")
    with HttpClient("thrive", server.url, policy=FAST, auth=auth) as client:
        auth.bind(client)
        error = fails(client)
    assert "api-secret-99" not in str(error) and "dGVuYW50" not in str(error)
    assert "Basic *** (secret ***) refused" in str(error)


def test_brightspace_user_ids_cannot_add_path_segments(
    server: Scripted, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user id of '../../..' must stay one path segment: the token is sent only below
    the base URL."""
    monkeypatch.setenv("BS_TOKEN", "tok")
    users = {
        "PagingInfo": {"Bookmark": None, "HasMoreItems": False},
        "Items": [{"UserId": "../../../../evil?x=", "FirstName": "E"}],
    }
    server.script("/bs/d2l/api/lp/1.46/users/", (200, users))
    source = BrightspaceSource(base_url=server.url + "/bs", auth="token", token_env="BS_TOKEN")
    with brightspace.make_client(source, FAST) as client, pytest.raises(SourceError):
        brightspace.pull(client, WINDOW, source)
    paths = [path for path, _, _ in server.seen]
    assert all(path.startswith("/bs/d2l/api/") for path in paths), paths
    assert "/bs/d2l/api/le/1.84/cpd/record/user/..%2F..%2F..%2F..%2Fevil%3Fx%3D" in paths


# -- item 7: the server's own words reach the error line -------------------------------------


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        (
            {"status": 400, "error": "Bad Request", "message": {"perPage": "must be 1..1000"}},
            "must be 1..1000",
        ),
        ({"Errors": [{"Message": "Invalid OrgUnitId"}, {"Message": "x"}]}, "Invalid OrgUnitId"),
        ({"type": "about:blank", "title": "Forbidden", "detail": "Missing scope"}, "Missing scope"),
    ],
)
def test_error_text_of_each_platform_is_shown(server: Scripted, body: Any, shown: str) -> None:
    server.script("/x", (400, body))
    with HttpClient("thrive", server.url, policy=FAST) as client:
        assert shown in str(fails(client))


# -- item 13: unusable values are the source's fault ------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        b"[" * 5000 + b"]" * 5000,  # nesting no parser should follow
        b'{"results": [{"durationMinutes": Infinity}]}',
        b'{"results": [{"durationMinutes": 1e400}]}',
    ],
)
def test_bodies_no_json_parser_should_accept_are_malformed(server: Scripted, text: bytes) -> None:
    server.script("/x", (200, text))
    with HttpClient("thrive", server.url, policy=FAST) as client:
        error = fails(client)
    assert "malformed JSON" in str(error)


def entries_page(minutes: Any) -> Any:
    record = {
        "logEntryId": "e1",
        "userId": "u1",
        "entryDate": "2026-05-01T10:00:00Z",
        "durationMinutes": minutes,
    }
    return (200, {"pagination": {"totalResults": 1, "totalPages": 1}, "results": [record]})


def empty_page() -> Any:
    return (200, {"pagination": {"totalResults": 0, "totalPages": 0}, "results": []})


@pytest.mark.parametrize("minutes", [2**63 - 1, -(2**63), 1e300, "ninety"])
def test_an_impossible_number_names_the_source_table_and_record(
    server: Scripted, monkeypatch: pytest.MonkeyPatch, minutes: Any
) -> None:
    monkeypatch.setenv("T_SECRET", "s3cret")
    p = "/t/rest/v1"
    for path in ("users", "audiences", "cpdCategories", "cpdRequirementSummaries", "contents"):
        server.script(f"{p}/{path}", empty_page())
    server.script(f"{p}/cpdUserLogSummaries", empty_page())
    server.script(f"{p}/learning/completions", (200, []))
    server.script(f"{p}/cpdEntries", entries_page(minutes))
    source = ThriveSource(base_url=server.url + p, tenant_id="t1", secret_env="T_SECRET")
    with thrive.make_client(source, FAST) as client, pytest.raises(SourceError) as caught:
        thrive.pull(client, WINDOW)
    message = str(caught.value)
    assert caught.value.exit_code == 3
    assert "thrive: /cpdEntries" in message and "table cpd_entries" in message
    assert "logEntryId=e1" in message and "durationMinutes = " in message


@pytest.mark.parametrize("lifetime", ["abc", "1e999", -5, None])
def test_an_unusable_token_lifetime_is_a_source_error(server: Scripted, lifetime: Any) -> None:
    body: dict[str, Any] = {"access_token": "tok-1", "token_type": "Bearer"}
    body["expires_in"] = lifetime
    if lifetime is None:
        body["expires_in"] = {"seconds": 3600}
    server.script("/oauth2/token/t1", (200, json.dumps(body).replace('"1e999"', "1e999").encode()))
    server.script("/x", (200, {"ok": 1}))
    auth = ClientCredentials(server.url + "/oauth2/token/t1", "cid", "csecret")
    with HttpClient("thrive", server.url, policy=FAST, auth=auth) as client:
        auth.bind(client)
        with pytest.raises(SourceError) as caught:
            client.get_json("/x")
    message = str(caught.value)
    assert caught.value.exit_code == 3
    assert "/oauth2/token/t1" in message
    assert "expires_in" in message or "malformed JSON" in message
    assert server.count("/x") == 0


def test_dates_no_timestamp_can_hold_become_missing_not_a_crash() -> None:
    """A 'never' date (9999-12-31), a year of eleven digits, a number or an object where a
    date belongs are read as no date, as an unparseable text already is."""
    from reconcile.sources.columns import Column, frame

    values = ["9999-12-31T00:00:00Z", "-292277022657-01-27T08:29:52Z", 1e20, {"x": 1}, "x"]
    table = frame(
        [{"at": v} for v in [*values, "2026-02-03T04:05:06Z"]], [Column("at", "at", "datetime")]
    )
    assert table["at"].isna().tolist() == [True] * len(values) + [False]
    assert str(table["at"].dtype) == "datetime64[ns, UTC]"
