"""Pages read straight into Arrow give exactly the frames the JSON path gives.

The Arrow route (``columns.ArrowPages``) is only a faster way to the same table: every body
it cannot read exactly as declared must come back as None (so the HTTP core decodes it with
``Response.json()``), and a frame built from Arrow records must equal, value for value and
dtype for dtype, the frame built from the same records as dicts.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import pytest

from reconcile import config as config_module
from reconcile.sandbox import Sandbox
from reconcile.sandbox.spreadsheets import write_spreadsheets
from reconcile.sources import HttpPolicy, pull_all, thrive
from reconcile.sources.columns import (
    ArrowEnvelope,
    ArrowPages,
    ArrowRecords,
    Column,
    frame,
    join_records,
)
from reconcile.sources.http import HttpClient
from reconcile.sources.paging import ListRequest, envelope_lists, sequential_array

C = Column
COLUMNS = (
    C("id", "id", "id"),
    C("n", "n", "int"),
    C("f", "f", "float"),
    C("b", "b", "bool"),
    C("when", "when", "datetime"),
    C("kind", "a.type", "str"),
    C("label", "a.name", "str"),
)
RECORDS: list[Any] = [
    {"id": "1", "n": 30, "f": 2, "b": True, "when": "2026-01-01T03:00:00.000Z", "a": None},
    {"id": "2", "n": None, "f": 1.5, "when": "2026-03-29T01:30:00+02:00", "a": {"type": "x"}},
    {"id": "3", "extra": [1, {"k": 2}], "a": {"type": 'é\n"q"', "name": "ü", "more": 1}},
    {},
    None,
]
ENVELOPE = ArrowPages(COLUMNS, envelope=True)
ARRAY = ArrowPages(COLUMNS, envelope=False)


def envelope_body(records: list[Any], total: int | None = None) -> bytes:
    pagination = {"totalResults": len(records) if total is None else total, "totalPages": 1}
    return json.dumps({"pagination": pagination, "results": records}).encode()


def assert_same_frame(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    assert list(got.dtypes) == list(want.dtypes)
    assert got.equals(want)
    for name in got.columns:  # the same tz object, so Parquet files are byte-identical
        if isinstance(got[name].dtype, pd.DatetimeTZDtype):
            assert got[name].dtype.tz is want[name].dtype.tz
    assert parquet(got) == parquet(want)


def parquet(table: pd.DataFrame) -> bytes:
    out = io.BytesIO()
    table.to_parquet(out, index=False)
    return out.getvalue()


def test_envelope_page_read_by_arrow_gives_the_json_frame() -> None:
    page = ENVELOPE(envelope_body(RECORDS, total=12))
    assert isinstance(page, ArrowEnvelope)
    assert page.pagination == {"totalResults": 12, "totalPages": 1}
    assert len(page.records) == 5
    assert_same_frame(frame(page.records, COLUMNS), frame(RECORDS, COLUMNS))
    got = frame(page.records, COLUMNS)
    assert got["kind"].tolist()[:3] == [pd.NA, "x", 'é\n"q"']
    assert got["when"][1] == pd.Timestamp("2026-03-28T23:30:00Z")


def test_bare_array_read_by_arrow_gives_the_json_frame() -> None:
    page = ARRAY(json.dumps(RECORDS).encode() + b"\r\n")
    assert isinstance(page, ArrowRecords)
    assert page.field("id").to_pylist() == ["1", "2", "3", None, None]
    assert_same_frame(frame(page, COLUMNS), frame(RECORDS, COLUMNS))
    empty = ARRAY(b"[]")
    assert isinstance(empty, ArrowRecords) and len(empty) == 0
    assert_same_frame(frame(empty, COLUMNS), frame([], COLUMNS))


@pytest.mark.parametrize(
    "body",
    [
        b'[{"id": 5}]',  # a number where text is declared: pandas makes "5", Arrow would not
        b'[{"n": 30.5}]',  # a fraction in a whole-number field: rounded half up by pandas
        b'[{"n": 30.0}]',
        b'[{"b": 1}]',
        b'[{"n": NaN}]',
        b'[{"n": 99999999999999999999}]',
        b'[{"id": "a", "id": "b"}]',  # duplicate keys: json keeps the last
        b'[{"a": "text"}]',  # a parent that is not an object
        b'[{"id": "\\ud800"}]',  # a lone surrogate
        b'[{"id": "a\xff"}]',  # not UTF-8
        b'\xef\xbb\xbf[{"id": "a"}]',  # a BOM (Response.json() refuses it)
        b'[\n  {"id": "a"}\n]',  # pretty-printed
        b'[{"id": "a"}] , "x": [1]',  # text after the array
        b'[{"id": "a"}], [{"id": "b"}]',
        b'{"id": "a"}',  # not an array
        b"null",
        b'[{"id": "a"}',  # truncated
        b"",
    ],
)
def test_bodies_arrow_cannot_read_exactly_go_to_json(body: bytes) -> None:
    assert ARRAY(body) is None


@pytest.mark.parametrize(
    "body",
    [
        b'{"pagination": {"totalResults": "3"}, "results": []}',  # pandas path reads "3"
        b'{"pagination": {}, "results": null}',
        b'{"pagination": {}}',
        b'{"results": []} {"results": []}',
        b"[]",
    ],
)
def test_envelopes_arrow_cannot_read_exactly_go_to_json(body: bytes) -> None:
    assert ENVELOPE(body) is None


def test_datetimes_arrow_refuses_are_parsed_by_pandas_as_before() -> None:
    values = ["2026-01-05", "2026-01-05T10:00:00", "2026-01-05T10:00Z", None, "nonsense"]
    records = [{"when": v} for v in values]
    page = ARRAY(json.dumps(records).encode())
    assert isinstance(page, ArrowRecords)
    got = frame(page, COLUMNS)
    assert_same_frame(got, frame(records, COLUMNS))
    assert got["when"].tolist()[:3] == [
        pd.Timestamp("2026-01-05T00:00Z"),
        pd.Timestamp("2026-01-05T10:00Z"),
        pd.Timestamp("2026-01-05T10:00Z"),
    ]
    assert got["when"].dtype.tz is dt.UTC


def test_pages_cast_to_instants_one_by_one_give_the_whole_column_cast() -> None:
    good = [{"id": "1", "when": "2026-01-05T10:00:00.000Z"}, {"id": "2", "when": None}]
    refused = [{"id": "3", "when": "2026-01-05"}]  # Arrow refuses a date without a time
    pages = [ARRAY(json.dumps(page).encode()) for page in (good, good, refused)]
    assert all(isinstance(page, ArrowRecords) for page in pages)
    assert "when" in pages[0].instants[0] and "when" not in pages[2].instants[0]
    cast = join_records(pages[:2])
    assert cast.instants_of("when") is not None
    assert_same_frame(frame(cast, COLUMNS), frame(good + good, COLUMNS))
    mixed = join_records(pages)  # one refused page: the whole column goes to pandas
    assert mixed.instants_of("when") is None
    assert_same_frame(frame(mixed, COLUMNS), frame(good + good + refused, COLUMNS))


def test_keys_distinct_only_when_no_key_repeats_and_none_is_missing() -> None:
    keyed = ArrowPages(COLUMNS, envelope=False, key_path="id")

    def pages(*ids: list[str | None]) -> ArrowRecords:
        return join_records([keyed(json.dumps([{"id": i} for i in page]).encode()) for page in ids])

    assert pages(["1", "2"], ["3"], []).keys_distinct()
    assert not pages(["1", "2"], ["2"]).keys_distinct()  # across pages
    assert not pages(["1", "1"]).keys_distinct()  # within a page
    assert not pages(["1", None]).keys_distinct()  # a missing id is never certain
    assert not join_records([ARRAY(b'[{"id": "1"}]')]).keys_distinct()  # no key collected


def test_thrive_frames_skip_dedupe_only_when_keys_are_distinct() -> None:
    from reconcile.sources.base import SourcePull
    from reconcile.sources.http import RequestStats

    decode = thrive.DECODERS["completions"]
    page = [{"id": "a", "userId": "u"}, {"id": "b", "userId": "u"}]
    for ids, kept in ((["a", "b"], 2), (["a", "a"], 1)):
        records = decode(
            json.dumps([{**r, "id": i} for r, i in zip(page, ids, strict=True)]).encode()
        )
        result = SourcePull("thrive", "http://x", stats=RequestStats())
        thrive._add(result, "completions", records)
        assert len(result.tables["completions"]) == kept
        assert result.tables["completions"]["id"].tolist() == ids[:kept]


def test_a_list_with_one_json_page_is_built_the_json_way() -> None:
    arrow = ARRAY(json.dumps(RECORDS[:2]).encode())
    joined = join_records([arrow, [{"id": 7, "n": 2.5}]])
    assert isinstance(joined, list)
    assert_same_frame(frame(joined, COLUMNS), frame([*RECORDS[:2], {"id": 7, "n": 2.5}], COLUMNS))
    assert frame(joined, COLUMNS)["id"].tolist()[2] == "7"


def test_conflicting_paths_switch_arrow_off() -> None:
    pages = ArrowPages((C("a", "a", "str"), C("b", "a.b", "str")), envelope=False)
    assert pages(b'[{"a": "x"}]') is None


# -- through the HTTP core and the pagers -------------------------------------------------


class _Pages(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 1 << 16
    bodies: ClassVar[dict[str, bytes]] = {}

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        data = self.bodies.get(self.path.split("?")[0] + "?" + self.path.split("?")[1], b"")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def pages_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_envelope_list_mixing_routes_equals_the_json_pull(pages_server: str) -> None:
    records = [{"id": str(i), "n": i, "when": "2026-01-01T00:00:00Z"} for i in range(5)]
    odd = dict(records[4], n=4.5)  # page 3 needs the JSON path
    pages = [records[0:2], records[2:4], [odd]]
    _Pages.bodies = {
        f"/e?page={i + 1}&perPage=2": json.dumps(
            {"pagination": {"totalResults": 5, "totalPages": 3}, "results": page}
        ).encode()
        for i, page in enumerate(pages)
    }
    with HttpClient("thrive", pages_server, policy=HttpPolicy(concurrency=4)) as client:
        [fast] = envelope_lists(client, [ListRequest("/e", decode=ENVELOPE)], per_page=2)
        [slow] = envelope_lists(client, [ListRequest("/e")], per_page=2)
    assert isinstance(fast, list) and fast[4]["n"] == 4.5
    assert_same_frame(frame(fast, COLUMNS), frame(slow, COLUMNS))
    assert frame(fast, COLUMNS)["n"].tolist() == [0, 1, 2, 3, 5]


def test_bare_array_pages_by_arrow_keep_the_short_page_rule(pages_server: str) -> None:
    records = [{"id": str(i), "when": "2026-01-01T00:00:00Z"} for i in range(4)]
    _Pages.bodies = {
        "/c?page=1&perPage=2": json.dumps(records[:2]).encode(),
        "/c?page=2&perPage=2": json.dumps(records[2:]).encode(),
        "/c?page=3&perPage=2": b"[]",
    }
    with HttpClient("thrive", pages_server, policy=HttpPolicy(concurrency=1)) as client:
        got = sequential_array(
            client,
            ListRequest("/c", decode=ARRAY),
            page_size=2,
            params_for=lambda index, _: {"page": index + 1, "perPage": 2},
            id_of=lambda r: r["id"],
            id_path="id",
        )
        assert client.stats.requests["/c"] == 3
    assert isinstance(got, ArrowRecords)
    assert_same_frame(frame(got, COLUMNS), frame(records, COLUMNS))


# -- the whole Thrive pull against the sandbox ----------------------------------------------


def test_thrive_pull_by_arrow_equals_the_json_pull(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Sandbox(people=120, seed=5) as sandbox:
        spreadsheets = write_spreadsheets(sandbox.organisation, tmp_path)
        config_path = sandbox.write_config(tmp_path, spreadsheets, sources=("thrive",))
        for key, value in sandbox.env().items():
            monkeypatch.setenv(key, value)
        config = config_module.load(config_path)
        policy = HttpPolicy(concurrency=4, timeout_seconds=10)
        arrow_pages = {"n": 0}
        for name, decoder in list(thrive.DECODERS.items()):

            def counting(body: bytes, decoder: ArrowPages = decoder) -> Any:
                page = decoder(body)
                arrow_pages["n"] += page is not None
                return page

            monkeypatch.setitem(thrive.DECODERS, name, counting)
        fast = pull_all(config, policy=policy)
        for name in list(thrive.DECODERS):
            monkeypatch.setitem(thrive.DECODERS, name, None)
        slow = pull_all(config, policy=policy)
    assert arrow_pages["n"] == sum(fast.stats["thrive"]["requests"].values())
    assert fast.tables.keys() == slow.tables.keys()
    for key, table in fast.tables.items():
        assert len(table) == len(slow.tables[key])
        assert_same_frame(table, slow.tables[key])
    assert len(fast.tables[("thrive", "cpd_entries")]) > 100
