"""The loaders against the sandbox in its strict modes: each platform as its vendor documents it.

The sandbox's strict behaviours are written from research/api-fidelity.md, not from the
loaders: Coursepath's per-endpoint page caps, Thrive lists without a pagination block, a
date-only "to" read as midnight, ``/users`` serving active users unless asked for every
status, D2L's rotating refresh tokens, private-key JWT assertions, expiring tokens and
``Next`` links naming the host in another form.
"""

from __future__ import annotations

import dataclasses
import math
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from reconcile.config import BrightspaceSource, CoursepathSource, ThriveSource
from reconcile.errors import SourceError
from reconcile.sandbox import COURSEPATH_EMAIL, THRIVE_TENANT_ID, Sandbox
from reconcile.sandbox.generate import generate
from reconcile.sources import HttpPolicy, Window, brightspace, pull_source
from tests.sandbox_org import BS_USER, U1, U2, U3, tiny_org, with_records

FAST = HttpPolicy(
    concurrency=4,
    timeout_seconds=5.0,
    max_retries=2,
    max_wait_seconds=1.0,
    backoff_base_seconds=0.001,
    backoff_cap_seconds=0.005,
)

pytestmark = pytest.mark.usefixtures("sandbox_env")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """Over a thousand Thrive users and over 250 Coursepath members: more than one page of
    each, whatever the page size."""
    with Sandbox(generate(1100, seed=7)) as running:
        yield running


def window_of(sandbox: Sandbox) -> Window:
    org = sandbox.organisation
    return Window(org.period_start, org.period_end, org.timezone)


def thrive_source(sandbox: Sandbox) -> ThriveSource:
    return ThriveSource(
        base_url=sandbox.base_urls["thrive"],
        tenant_id=THRIVE_TENANT_ID,
        secret_env="THRIVE_API_SECRET",
    )


def coursepath_source(sandbox: Sandbox) -> CoursepathSource:
    return CoursepathSource(
        base_url=sandbox.base_urls["coursepath"],
        email=COURSEPATH_EMAIL,
        api_key_env="COURSEPATH_API_KEY",
    )


@pytest.fixture(scope="module")
def thrive_pull(sandbox: Sandbox) -> Any:
    """One clean Thrive pull that the mode tests compare with."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in sandbox.env().items():
            patch.setenv(key, value)
        return pull_source(thrive_source(sandbox), window_of(sandbox), policy=FAST)


# -- Coursepath -----------------------------------------------------------------------------


def test_coursepath_lists_capped_per_endpoint_come_back_whole(sandbox: Sandbox) -> None:
    """Issue 19 item 1: each endpoint caps a page at 100, 250 or 500 whatever limit asks."""
    org = sandbox.organisation
    assert len(org.cp_members) > 250
    sandbox.stats.reset()
    pulled = pull_source(coursepath_source(sandbox), window_of(sandbox), policy=FAST)
    assert len(pulled.tables["members"]) == len(org.cp_members)
    assert len(pulled.tables["course_members"]) == len(org.cp_course_members)
    assert len(pulled.tables["group_members"]) == len(org.cp_group_members)
    assert len(pulled.tables["results"]) == len(org.cp_course_members)
    assert pulled.stats.warnings == []
    # /members is capped at 100: every page of records, then the empty page that ends it
    pages = math.ceil(len(org.cp_members) / 100) + 1
    assert sandbox.stats.requests[("coursepath", "/api/v1/members")] == pages


def test_coursepath_smaller_caps_still_come_back_whole(sandbox: Sandbox) -> None:
    sandbox.modes.coursepath_caps = dict.fromkeys(sandbox.modes.coursepath_caps, 7)
    org = sandbox.organisation
    pulled = pull_source(coursepath_source(sandbox), window_of(sandbox), policy=FAST)
    assert len(pulled.tables["members"]) == len(org.cp_members)
    assert len(pulled.tables["courses"]) == len(org.cp_courses)
    assert len(pulled.tables["course_members"]) == len(org.cp_course_members)


# -- Thrive -----------------------------------------------------------------------------------


def test_thrive_users_of_every_status_are_pulled(sandbox: Sandbox, thrive_pull: Any) -> None:
    """Issue 19 item 5: leavers (inactive, expired) are asked for, so their CPD matches them."""
    org = sandbox.organisation
    users = thrive_pull.tables["users"]
    assert len(users) == len(org.thrive_users) > 1000
    assert set(users["status"]) == set(org.thrive_users["status"]) >= {"active", "inactive"}


def test_thrive_lists_without_pagination_are_paged_to_an_empty_page(
    sandbox: Sandbox, thrive_pull: Any
) -> None:
    """Issue 19 item 2: a list without a pagination block is not cut at page 1."""
    sandbox.faults.omit_pagination(r"/rest/v1/(users|cpdEntries|contents)\?")
    pulled = pull_source(thrive_source(sandbox), window_of(sandbox), policy=FAST)
    for table in ("users", "cpd_entries", "contents"):
        assert len(pulled.tables[table]) == len(thrive_pull.tables[table]), table
    assert len(pulled.tables["cpd_entries"]) > 1000
    warned = [w for w in pulled.stats.warnings if "without a usable pagination block" in w]
    assert sorted(w.split(": ")[1].split(" ")[0] for w in warned) == [
        "/contents",
        "/cpdEntries",
        "/users",
    ]


def test_thrive_list_short_of_a_stable_total_stops_the_pull(sandbox: Sandbox) -> None:
    """Issue 19 item 9: records short of a total that never changed are an error, not a
    warning that totals 'kept changing'."""
    sandbox.faults.truncate(r"/rest/v1/cpdEntries\?", keep=0.5)
    with pytest.raises(SourceError) as caught:
        pull_source(thrive_source(sandbox), window_of(sandbox), policy=FAST)
    message = str(caught.value)
    assert caught.value.exit_code == 3
    assert "/cpdEntries" in message and "promised" in message and "kept changing" not in message


def last_evening_org() -> Any:
    """The tiny organisation (New York) with a CPD entry and a completion in the evening of
    the period's last local day: 2027-01-01 03:00 and 04:00 UTC."""
    org = tiny_org()
    entries = org.thrive_entries
    extra_entry = entries.iloc[[5]].assign(
        logEntryId="6601a1b20000000000000009",
        userId=U1,
        entryDate=pd.to_datetime(["2027-01-01T03:00:00Z"], utc=True).astype("datetime64[ns, UTC]"),
        durationMinutes=25,
    )
    completions = org.thrive_completions
    extra_completion = completions.iloc[[0]].assign(
        id="63d4e6f70000000000000009",
        completedAt=pd.to_datetime(["2027-01-01T04:00:00Z"], utc=True).astype(
            "datetime64[ns, UTC]"
        ),
    )
    return dataclasses.replace(
        org,
        thrive_entries=pd.concat([entries, extra_entry], ignore_index=True),
        thrive_completions=pd.concat([completions, extra_completion], ignore_index=True),
    )


def test_thrive_dates_lose_no_record_whatever_reading_of_a_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 19 item 4: with Thrive reading a date-only 'to' as 00:00, the last local evening
    of the period (west of UTC) still comes back, and the user summaries (asked in their
    documented form) still equal the detail by local date."""
    with Sandbox(last_evening_org()) as sandbox:
        for key, value in sandbox.env().items():
            monkeypatch.setenv(key, value)
        assert sandbox.modes.thrive_date_only_to == "midnight"
        window = window_of(sandbox)
        pulled = pull_source(thrive_source(sandbox), window, policy=FAST)
    entries = pulled.tables["cpd_entries"]
    assert "6601a1b20000000000000009" in set(entries["log_entry_id"])
    assert "63d4e6f70000000000000009" in set(pulled.tables["completions"]["id"])
    local = entries["entry_date"].dt.tz_convert(window.timezone).dt.date
    in_period = entries[(local >= window.start) & (local <= window.end)]
    detail = in_period.groupby("user_id")["duration_minutes"].sum().to_dict()
    summaries = pulled.tables["user_log_summaries"].set_index("user_id")["duration_minutes"]
    offsets = {U2: 30}  # the planted difference (tiny_org)
    for user, minutes in summaries.items():
        assert minutes - offsets.get(user, 0) == detail.get(user, 0), user
    assert detail[U1] == 30 + 20 + 25 and U3 in detail


# -- Brightspace auth ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def small() -> Iterator[Sandbox]:
    with Sandbox(tiny_org()) as running:
        yield running


def environment_of(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """The sandbox's credentials in the environment, its faults and modes reset around."""
    for key, value in sandbox.env().items():
        monkeypatch.setenv(key, value)
    sandbox.faults.clear()
    yield sandbox
    sandbox.faults.clear()


@pytest.fixture
def small_env(small: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    yield from environment_of(small, monkeypatch)


def bs_source(sandbox: Sandbox, **auth: Any) -> BrightspaceSource:
    return BrightspaceSource(
        base_url=sandbox.base_urls["brightspace"],
        token_url=sandbox.brightspace_token_url,
        **auth,
    )


def refresh_source(sandbox: Sandbox, folder: Path) -> BrightspaceSource:
    token_file = folder / "refresh-token"
    token_file.write_text(sandbox.issue_refresh_token() + "\n")
    return bs_source(
        sandbox,
        auth="refresh_token",
        client_id_env="BRIGHTSPACE_CLIENT_ID",
        client_secret_env="BRIGHTSPACE_CLIENT_SECRET",
        refresh_token_file=token_file,
    )


def test_brightspace_refresh_token_is_rotated_and_kept(small_env: Sandbox, tmp_path: Path) -> None:
    """Issue 19 item 3: each use of the refresh token returns a new one and retires the old
    one; the new one is written back (0600), so the next run works."""
    source = refresh_source(small_env, tmp_path)
    assert source.refresh_token_file is not None
    first_token = source.refresh_token_file.read_text().strip()
    pulled = pull_source(source, window_of(small_env), policy=FAST)
    assert len(pulled.tables["users"]) == len(small_env.organisation.bs_users)
    second_token = source.refresh_token_file.read_text().strip()
    assert second_token != first_token
    assert stat.S_IMODE(source.refresh_token_file.stat().st_mode) == 0o600
    assert small_env.refresh_tokens.redeem(first_token) is None  # retired by D2L
    again = pull_source(source, window_of(small_env), policy=FAST)
    assert len(again.tables["records"]) == len(pulled.tables["records"])
    assert source.refresh_token_file.read_text().strip() not in (first_token, second_token)


def test_brightspace_new_refresh_token_is_saved_before_the_pull_goes_on(
    small_env: Sandbox, tmp_path: Path
) -> None:
    source = refresh_source(small_env, tmp_path)
    assert source.refresh_token_file is not None
    given = source.refresh_token_file.read_text().strip()
    small_env.faults.inject(r"/d2l/api/lp/", "503", times=None)
    with pytest.raises(SourceError):
        pull_source(source, window_of(small_env), policy=FAST)
    saved = source.refresh_token_file.read_text().strip()
    assert saved != given
    assert small_env.refresh_tokens.redeem(saved) is not None  # the one that still works


def test_brightspace_expired_token_mid_pull_is_refreshed_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with Sandbox(tiny_org()) as own:  # its tokens are expired below
        for key, value in own.env().items():
            monkeypatch.setenv(key, value)
        source = refresh_source(own, tmp_path)
        window = window_of(own)
        with brightspace.make_client(source, FAST) as client:
            first = brightspace.pull(client, window, source)
            own.expire_tokens("brightspace")
            second = brightspace.pull(client, window, source)
            assert client.stats.reauthentications >= 1
            assert client.auth.tokens_fetched == 2  # type: ignore[union-attr]
            assert client.stats.requests["oauth2 token (refresh)"] == 2
    assert len(second.tables["records"]) == len(first.tables["records"]) > 0


def test_brightspace_private_key_jwt(small_env: Sandbox, tmp_path: Path) -> None:
    key_file = tmp_path / "app.pem"
    key_file.write_text(small_env.brightspace_private_key_pem())
    source = bs_source(
        small_env,
        auth="private_key_jwt",
        client_id_env="BRIGHTSPACE_CLIENT_ID",
        private_key_file=key_file,
    )
    small_env.stats.reset()
    pulled = pull_source(source, window_of(small_env), policy=FAST)
    assert set(pulled.tables["records"]["record_id"]) == {"501", "502", "503", "504", "505"}
    assert small_env.stats.requests[("brightspace", "/core/connect/token")] == 1


def test_brightspace_expired_trial_token_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    with Sandbox(tiny_org(), token_lifetime_s=0.05) as own:
        for key, value in own.env().items():
            monkeypatch.setenv(key, value)
        own.expire_tokens("brightspace")
        source = bs_source(own, auth="token", token_env="BRIGHTSPACE_TOKEN")
        with pytest.raises(SourceError) as caught:
            pull_source(source, window_of(own), policy=FAST)
    message = str(caught.value)
    assert caught.value.status == 401
    assert "check BRIGHTSPACE_TOKEN" in message and "refresh_token" in message
    assert own.env()["BRIGHTSPACE_TOKEN"] not in message


# -- Brightspace Next links -----------------------------------------------------------------


def many_records_org() -> Any:
    """250 CPD records for one Brightspace user: three pages of the loader's 100, so its
    records are read by following `Next` (only records of the period's detail window)."""
    org = with_records(tiny_org(), 250, first_id=10_001, freq="h")
    return dataclasses.replace(org, bs_records=org.bs_records.iloc[5:])


@pytest.fixture(scope="module")
def paged() -> Iterator[Sandbox]:
    with Sandbox(many_records_org()) as running:
        yield running


@pytest.fixture
def paged_env(paged: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    yield from environment_of(paged, monkeypatch)


def proxied_source(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> BrightspaceSource:
    """A tenant host, ``acme.brightspace.test``, reached through the sandbox as an HTTP proxy:
    the sandbox sees the Host the client named, and every host a client sends to."""
    monkeypatch.setenv("HTTP_PROXY", sandbox.url)
    monkeypatch.setenv("NO_PROXY", "")
    return BrightspaceSource(
        base_url="http://acme.brightspace.test/brightspace",
        auth="token",
        token_env="BRIGHTSPACE_TOKEN",
    )


@pytest.mark.parametrize(
    ("form", "named"),
    [("explicit_port", "http://acme.brightspace.test:80/"), ("upper_case_host", "http://ACME.")],
)
def test_brightspace_next_naming_the_host_otherwise_is_rebased(
    paged_env: Sandbox, monkeypatch: pytest.MonkeyPatch, form: str, named: str
) -> None:
    """Issue 19 item 6: `Next` with an explicit default port or another case is followed on
    the configured host."""
    paged_env.modes.brightspace_next = form
    source = proxied_source(paged_env, monkeypatch)
    with brightspace.make_client(source, FAST) as client:
        page = client.get_json(f"/d2l/api/le/1.84/cpd/record/user/{BS_USER}")
        assert str(page["Next"]).startswith(named)
    paged_env.stats.reset()
    pulled = pull_source(source, window_of(paged_env), policy=FAST)
    assert len(pulled.tables["records"]) == 250
    route = ("brightspace", "/d2l/api/le/{version}/cpd/record/user/{userId}")
    assert paged_env.stats.requests[route] == len(paged_env.organisation.bs_users) + 2
    assert set(paged_env.stats.hosts) == {"acme.brightspace.test"}


def test_brightspace_next_to_a_foreign_host_is_refused(
    paged_env: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    paged_env.modes.brightspace_next = "foreign_host"
    source = proxied_source(paged_env, monkeypatch)
    paged_env.stats.reset()
    with pytest.raises(SourceError) as caught:
        pull_source(source, window_of(paged_env), policy=FAST)
    assert "another host (http://elsewhere.invalid)" in str(caught.value)
    assert "elsewhere.invalid" not in paged_env.stats.hosts  # the token never went there


def test_brightspace_next_downgrading_to_http_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 19 item 12: the same host and port over http:// when the base is https://."""
    with Sandbox(many_records_org(), tls=True) as secure:
        for key, value in secure.env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", secure.ca_file)
        secure.modes.brightspace_next = "other_scheme"
        source = bs_source(secure, auth="token", token_env="BRIGHTSPACE_TOKEN")
        assert source.base_url.startswith("https://")
        with pytest.raises(SourceError) as caught:
            pull_source(source, window_of(secure), policy=FAST)
    assert f"another scheme (http://127.0.0.1:{secure.port})" in str(caught.value)


def test_d2l_problem_detail_reaches_the_error_line(small_env: Sandbox) -> None:
    """Issue 19 item 7: D2L's RFC 7807 `detail` says what is wrong."""
    source = bs_source(small_env, auth="token", token_env="BRIGHTSPACE_TOKEN", le_version="1.70")
    with pytest.raises(SourceError) as caught:
        pull_source(source, window_of(small_env), policy=FAST)
    assert "CPD needs 1.84+" in str(caught.value)


def test_brightspace_used_up_refresh_token_says_to_get_a_new_one(
    small_env: Sandbox, tmp_path: Path
) -> None:
    source = refresh_source(small_env, tmp_path)
    assert source.refresh_token_file is not None
    used = source.refresh_token_file.read_text().strip()
    assert small_env.refresh_tokens.redeem(used) is not None  # another program used it
    with pytest.raises(SourceError) as caught:
        pull_source(source, window_of(small_env), policy=FAST)
    message = str(caught.value)
    assert caught.value.status == 400 and "used up" in message
    assert str(source.refresh_token_file) in message and used not in message
