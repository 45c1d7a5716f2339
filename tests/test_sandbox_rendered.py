"""Pages cut from records rendered once (wire.Table) are byte for byte what per-record
rendering gives, and anything that changes the data (a POSTed completion, grow_during_pull)
shows in the very next page."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import requests

from reconcile.sandbox import THRIVE_API_SECRET, THRIVE_TENANT_ID, Sandbox
from reconcile.sandbox.wire import (
    BoolColumn,
    FragmentColumn,
    InstantColumn,
    IntColumn,
    Table,
    TextColumn,
    float_column,
    join_objects,
)
from tests.sandbox_org import C2, U2, tiny_org

AUTH = (THRIVE_TENANT_ID, THRIVE_API_SECRET)
AWKWARD_TEXT = ["plain", 'a "quote"', "back\\slash", "tab\there", "new\nline", None, "Zoë ✓", ""]


def awkward_table() -> Table:
    """Every column kind, with what JSON must escape, nulls, NaT and a literal percent."""
    n = len(AWKWARD_TEXT)
    instants = pd.Series(
        pd.to_datetime(["2026-01-12T05:00:00.123Z", None] * (n // 2), utc=True),
        dtype="datetime64[ns, UTC]",
    )
    return Table(
        '{"text":%s,"n":%s,"ok":%s,"at":%s,"day":%s,"score":%s,"pct":"100%%","raw":%s}',
        {
            "text": TextColumn(pd.Series(AWKWARD_TEXT, dtype="string")),
            "n": IntColumn(np.array([0, -1, 2**62, 7, 8, 9, 10, 11])),
            "ok": BoolColumn(np.array([True, False] * (n // 2))),
            "at": InstantColumn(instants),
            "day": InstantColumn(instants, millis=False),
            "score": float_column(pd.Series([0.1, None, 1e20, 2.5, -0.0, 3.0, None, 1 / 3])),
            "raw": FragmentColumn(['{"a":1}', "null", "[]", '"x"', "1", "2", "3", "4"]),
        },
        id_column="n",
    )


def reference(table: Table, start: int, stop: int) -> bytes:
    return join_objects(table.render(start, stop)).encode()


def test_rendered_pages_equal_per_record_rendering() -> None:
    table = awkward_table()
    n = len(table)
    for start, stop in [(0, n), (0, 1), (2, 5), (n - 1, n), (3, 3), (n, n)]:
        assert table.json_array(start, stop) == reference(table, start, stop)
    for positions in ([], [5], [7, 0, 3], [1, 1, 6]):
        chosen = np.array(positions, dtype=np.int64)
        expected = join_objects(table.render_at(chosen)).encode()
        assert table.json_array_at(chosen) == expected
    for position in range(n):
        assert table.json_object(position) == table.render(position, position + 1)[0].encode()
    records = json.loads(table.json_array(0, n))
    assert [r["text"] for r in records] == AWKWARD_TEXT
    assert records[0]["pct"] == "100%" and records[1]["at"] is None
    assert (
        records[0]["at"] == "2026-01-12T05:00:00.123Z"
        and records[0]["day"] == "2026-01-12T05:00:00Z"
    )


def test_an_insert_is_in_the_next_page() -> None:
    table = awkward_table()
    before = table.json_array(0, len(table))
    values = {name: column.raw([4]) for name, column in table.columns.items()}
    values["text"] = ['new "one"']
    table.insert(1, values, None)
    assert len(table) == len(AWKWARD_TEXT) + 1
    assert table.json_array(0, len(table)) == reference(table, 0, len(table)) != before
    assert json.loads(table.json_object(1))["text"] == 'new "one"'


def test_a_template_that_does_not_fit_its_columns_is_refused() -> None:
    table = Table('{"a":%s,"b":%s}', {"a": IntColumn(np.array([1]))})
    with pytest.raises(ValueError, match="does not match"):
        table.prepare()


def test_every_list_of_a_generated_organisation_renders_identically() -> None:
    sandbox = Sandbox(people=120, seed=3)
    for platform in sandbox.platforms.values():
        for table in platform.tables():
            n = len(table)
            assert table.json_array(0, n) == reference(table, 0, n)
            chosen = np.arange(n)[::-3]
            assert table.json_array_at(chosen) == join_objects(table.render_at(chosen)).encode()


@pytest.fixture
def sandbox() -> Sandbox:
    with Sandbox(tiny_org()) as running:  # start() renders every list up front
        yield running


def test_a_posted_completion_is_in_the_next_unfiltered_page(sandbox: Sandbox) -> None:
    url = f"{sandbox.base_urls['thrive']}/learning/completions"
    before = requests.get(url, params={"perPage": 1000}, auth=AUTH).json()
    body = {"userId": U2, "contentId": C2, "completedAt": "2026-12-30T23:00:00Z"}
    created = requests.post(url, json=body, auth=AUTH)
    assert created.status_code == 201
    after = requests.get(url, params={"perPage": 1000}, auth=AUTH).json()
    assert after[:-1] == before  # served oldest first: the new one is the latest
    assert after[-1] == {
        "id": created.json()["statementId"],
        "userId": U2,
        "contentId": C2,
        "completedAt": "2026-12-30T23:00:00.000Z",
        "isRPL": False,
    }


def test_grow_during_pull_still_grows_a_rendered_list(sandbox: Sandbox) -> None:
    url = f"{sandbox.base_urls['thrive']}/users"
    first = requests.get(url, params={"perPage": 1000}, auth=AUTH).json()
    sandbox.faults.grow_during_pull(r"/users", extra=2)
    served = requests.get(url, params={"perPage": 1000}, auth=AUTH).json()
    assert served == first  # the page that triggers the growth is cut before it
    grown = requests.get(url, params={"perPage": 1000}, auth=AUTH).json()
    assert grown["pagination"]["totalResults"] == first["pagination"]["totalResults"] + 2
    assert len(grown["results"]) == len(first["results"]) + 2
    new = [u for u in grown["results"] if u["id"] not in {v["id"] for v in first["results"]}]
    assert len(new) == 2 and all("feed" in u["id"] for u in new)
