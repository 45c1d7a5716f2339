"""The rate-limit pacer on its own: what it does with answers that overtake one another.

The pull's own tests (test_sources_pacing.py) show the budget spent against the sandbox;
these pin the orderings a real network produces but a local server rarely does.
"""

from __future__ import annotations

import time

from reconcile.sources.http import RateLimitPacer

FULL = {"X-Rate-Limit-Remaining": "49990", "X-Rate-Limit-Reset": "59", "X-Request-Cost": "10"}


def test_answers_sent_before_a_429_do_not_lift_its_hold() -> None:
    """Eight requests are in flight; the first is answered 429 (Retry-After 0.4 s), the
    other seven afterwards with the credits they saw when they were sent. The next request
    still waits for the Retry-After, and the wait is reported once."""
    pacer = RateLimitPacer()
    stalls: list[float] = []
    for _ in range(8):
        pacer.acquire(stalls.append)
    pacer.release(FULL)  # an earlier answer: the server meters credits
    pacer.acquire(stalls.append)
    pacer.release({"Retry-After": "0.4"}, 429)
    for _ in range(7):
        pacer.release(FULL)
    started = time.monotonic()
    pacer.acquire(stalls.append)
    waited = time.monotonic() - started
    assert waited >= 0.35
    assert len(stalls) == 1 and 0.3 <= stalls[0] <= 0.4


def test_a_429_from_a_server_without_credit_headers_holds_no_one_else() -> None:
    """A server that never said it meters credits: only the refused request waits (in the
    client's retry), the other workers go on."""
    pacer = RateLimitPacer()
    stalls: list[float] = []
    pacer.acquire(stalls.append)
    pacer.release({"Retry-After": "5"}, 429)
    started = time.monotonic()
    pacer.acquire(stalls.append)
    assert time.monotonic() - started < 0.1 and stalls == []
