"""Brightspace's credit budget used fully and never tripped (DESIGN.md §9, issue 21).

D2L meters credits per minute, 10 a call, and tells every response how many credits are left
and when the bucket refills. A large tenant's pull is bound by that budget, so the pull must
spend each minute's bucket (all of it, across the client's concurrent workers) and then wait
for the refill, never provoking a 429. The sandbox's minute is shortened so that several
windows pass in a few seconds; the sandbox itself counts what each window spent and every
429 it sent, as D2L would see them.
"""

from __future__ import annotations

import math
import os
import signal
import time
from pathlib import Path

import pytest

from reconcile import config as config_module
from reconcile.sandbox import Sandbox
from reconcile.sandbox.spreadsheets import write_spreadsheets
from reconcile.sources import HttpPolicy, Window, pull_source
from tests.processes import start, wait_for

CALLS_A_WINDOW = 20  # 200 credits a (shortened) minute, 10 a call
WINDOW_S = 1.0


def pull_brightspace(sandbox: Sandbox, folder: Path, policy: HttpPolicy) -> object:
    spreadsheets = write_spreadsheets(sandbox.organisation, folder)
    path = Path(sandbox.write_config(folder, spreadsheets, sources=("brightspace",)))
    config = config_module.load(path)
    window = Window.of(config.period, config.organisation.timezone)
    return pull_source(config.sources["brightspace"], window, policy=policy)


@pytest.mark.parametrize("concurrency", [1, 8])
def test_each_minute_of_credits_is_spent_and_none_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, concurrency: int
) -> None:
    """About 130 calls against 20 a window: every window but the last spends at least 90%
    of its credits, so the pull takes as few windows as the budget allows, and the sandbox
    never answers 429. The source's pacing budget counts the time the source waited, once,
    however many workers waited together: 7 windows fit in a budget of 12 s."""
    credits = CALLS_A_WINDOW * 10
    with Sandbox(
        people=100, seed=3, rate_limit_credits=credits, rate_limit_window_s=WINDOW_S
    ) as limited:
        for key, value in limited.env().items():
            monkeypatch.setenv(key, value)
        policy = HttpPolicy(
            concurrency=concurrency, max_retries=2, max_wait_seconds=10, max_pacing_seconds=12
        )
        started = time.monotonic()
        pulled = pull_brightspace(limited, tmp_path, policy)
        elapsed = time.monotonic() - started
        charged = list(limited.credits.charged)
        refused = limited.credits.refused
    calls = sum(pulled.stats.requests.values())
    assert calls >= 5 * CALLS_A_WINDOW  # enough calls to span several windows
    assert refused == 0 and pulled.stats.retries == {}
    assert sum(charged) == calls * 10
    assert len(charged) == math.ceil(calls / CALLS_A_WINDOW), charged
    assert min(charged[:-1]) >= 0.9 * credits, charged
    assert 0 < pulled.stats.paced_seconds < elapsed


def test_a_429_holds_every_worker_until_its_retry_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another program of the same app spends the bucket: the one 429 it causes empties the
    bucket for every worker until its Retry-After, instead of each worker meeting its own."""
    with Sandbox(people=60, seed=3) as sandbox:
        for key, value in sandbox.env().items():
            monkeypatch.setenv(key, value)
        sandbox.faults.inject(r"/cpd/record/user/", "429", times=1, retry_after=0.5)
        pulled = pull_brightspace(sandbox, tmp_path, HttpPolicy(concurrency=8))
    assert pulled.stats.rate_limited == 1
    assert sum(pulled.stats.retries.values()) == 1
    assert pulled.stats.paced_seconds >= 0.4  # the other workers were held


def test_ctrl_c_while_every_worker_waits_for_the_refill_stops_at_once(tmp_path: Path) -> None:
    """The bucket (10 calls a minute) is spent and the workers wait for a refill a minute
    away: Ctrl-C stops the pull now (exit 4, saying `--resume` continues it), not then."""
    with Sandbox(people=60, seed=3, rate_limit_credits=100) as limited:
        spreadsheets = write_spreadsheets(limited.organisation, tmp_path)
        config = limited.write_config(tmp_path, spreadsheets, sources=("brightspace",))
        process = start("pull", "-c", config, "--out", tmp_path / "run", env=limited.env())
        try:
            wait_for(lambda: limited.credits.charged == [100], what="the bucket spent")
            time.sleep(0.5)  # every worker is now held for the refill
            os.killpg(process.pid, signal.SIGINT)
            _, stderr = process.communicate(timeout=20)
        finally:
            if process.poll() is None:
                process.kill()
        assert limited.credits.charged == [100] and limited.credits.refused == 0
    assert process.returncode == 4, stderr
    assert "interrupted (SIGINT)" in stderr and "`reconcile pull --resume`" in stderr
