"""The sandbox's Brightspace paging, checked by a client nobody here wrote.

``brightspace-api`` (module ``bsapi``, PyPI) is a Brightspace wrapper written against real
tenants. It only speaks HTTPS to a host's root, so the sandbox serves TLS (``tls=True``)
and D2L's routes at ``/d2l/``. Its generic paging helpers, ``_get_paged_set``
(PagedResultSet: ``bookmark`` while ``HasMoreItems``) and ``_get_paged`` (ObjectListPage:
follow ``Next``, re-based onto its own host), are the only way it reads lists of routes it
has no wrapper for (the LP users list and CPD records). If it and ``reconcile`` disagree
about what the sandbox serves, the sandbox is wrong about D2L's paging.
"""

from __future__ import annotations

from collections.abc import Iterator

import bsapi
import pytest

from reconcile.config import BrightspaceSource
from reconcile.sandbox import BRIGHTSPACE_TOKEN, Sandbox
from reconcile.sources import HttpPolicy, Window, brightspace, pull_source
from tests.sandbox_org import BS_USER, tiny_org, with_records

POLICY = HttpPolicy(concurrency=4, timeout_seconds=5.0, backoff_base_seconds=0.001)


def org_with_pages() -> object:
    """The tiny organisation (150 users: two pages of 100) with 45 more records for one
    user."""
    return with_records(tiny_org(), 45, first_id=20_001, freq="D")


@pytest.fixture(scope="module")
def secure() -> Iterator[Sandbox]:
    with Sandbox(org_with_pages(), tls=True) as running:  # type: ignore[arg-type]
        yield running


def test_bsapi_pages_the_sandbox_as_reconcile_does(
    secure: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = secure.organisation
    window = Window(org.period_start, org.period_end, org.timezone)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", secure.ca_file)  # both clients trust the sandbox
    monkeypatch.setenv("BRIGHTSPACE_TOKEN", BRIGHTSPACE_TOKEN)
    client = bsapi.BSAPI(
        BRIGHTSPACE_TOKEN, f"127.0.0.1:{secure.port}", le_version="1.84", lp_version="1.46"
    )
    users = client._get_paged_set("/d2l/api/lp/1.46/users/")
    records_query, _ = brightspace.query_params(window)
    records = client._get_paged(
        f"/d2l/api/le/1.84/cpd/record/user/{BS_USER}", {**records_query, "limit": 7}
    )

    source = BrightspaceSource(base_url=secure.url, auth="token", token_env="BRIGHTSPACE_TOKEN")
    pulled = pull_source(source, window, policy=POLICY)

    assert len(users) == len(org.bs_users) == 150  # two PagedResultSet pages
    assert [u["UserId"] for u in users] == pulled.tables["users"]["user_id"].astype(int).tolist()
    assert len(records) == 50  # eight ObjectListPages of 7 (the last one short)
    theirs = sorted(r["RecordId"] for r in records)
    ours = pulled.tables["records"]
    mine = ours[ours["user_id"] == str(BS_USER)]["record_id"].astype(int)
    assert theirs == sorted(mine.tolist())
    assert len(set(theirs)) == len(theirs)
