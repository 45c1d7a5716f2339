"""Engine against the independent reference (tests/reference/) on generated organisations.

``make test`` runs 300 examples (two shards, one per test worker);
``REFERENCE_EXAMPLES=5000 make test`` runs a long search. A failing example is shrunk by
hypothesis; keep it as a named test in tests/test_engine_regressions.py with its arithmetic.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings

from tests.differential import differences
from tests.organisations import organisations

EXAMPLES = int(os.environ.get("REFERENCE_EXAMPLES", "300"))
SHARDS = 2


@pytest.mark.parametrize("shard", range(SHARDS))
@settings(
    max_examples=max(1, EXAMPLES // SHARDS),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(org=organisations())
def test_engine_agrees_with_the_reference(shard: int, org) -> None:
    found = differences(org)
    assert not found, "engine and reference disagree:\n" + "\n".join(found)
