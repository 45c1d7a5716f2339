"""Properties of the engine on random small data (hypothesis, modest example counts)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile.engine import CanonicalTables, Rules, reconcile

RULES = Rules(dt.date(2026, 1, 1), dt.date(2026, 12, 31), dt.date(2026, 9, 30), "Europe/London")
SETTINGS = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TITLES = ["Fire safety", "fire-safety", "Ethics", "Reading", "Course A"]


@st.composite
def datasets(draw):
    n_people = draw(st.integers(1, 6))
    people = pd.DataFrame(
        {
            "employee_id": [f"E{i}" for i in range(n_people)],
            "name": [f"P {i}" for i in range(n_people)],
            "email": [f"e{i}@x.example" for i in range(n_people)],
            "exempt": draw(st.lists(st.booleans(), min_size=n_people, max_size=n_people)),
            "start_date": draw(
                st.lists(
                    st.sampled_from([None, "2026-04-01"]), min_size=n_people, max_size=n_people
                )
            ),
        }
    )
    accounts = pd.DataFrame(
        {
            "system": ["thrive"] * (n_people + 1) + ["brightspace"] * n_people,
            "account_id": [f"t{i}" for i in range(n_people + 1)]
            + [f"b{i}" for i in range(n_people)],
            "email": [f"E{i}@X.example" for i in range(n_people + 1)]
            + [f"e{i}@x.example" for i in range(n_people)],
            "source_table": ["thrive/users"] * (n_people + 1) + ["brightspace/users"] * n_people,
        }
    )
    n_act = draw(st.integers(0, 25))
    sys_pick = draw(st.lists(st.booleans(), min_size=n_act, max_size=n_act))
    who = draw(st.lists(st.integers(0, n_people), min_size=n_act, max_size=n_act))
    days = draw(st.lists(st.integers(-20, 380), min_size=n_act, max_size=n_act))
    activities = pd.DataFrame(
        {
            "system": [
                "brightspace" if b and w < n_people else "thrive"
                for b, w in zip(sys_pick, who, strict=True)
            ],
            "record_id": [f"R{i}" for i in range(n_act)],
            "account_id": [
                ("b" if b and w < n_people else "t") + str(w)
                for b, w in zip(sys_pick, who, strict=True)
            ],
            "title": draw(st.lists(st.sampled_from(TITLES), min_size=n_act, max_size=n_act)),
            "category": draw(
                st.lists(
                    st.sampled_from(["Ethics", "Reading", None]), min_size=n_act, max_size=n_act
                )
            ),
            "minutes": draw(
                st.lists(st.sampled_from([0.0, 30.0, 60.0, 2000.0]), min_size=n_act, max_size=n_act)
            ),
            "completed_at": [
                pd.Timestamp("2026-01-01", tz="UTC") + pd.Timedelta(days=d, hours=2) for d in days
            ],
            "state": draw(
                st.lists(st.sampled_from(["published", "draft"]), min_size=n_act, max_size=n_act)
            ),
            "source_table": ["x/activities"] * n_act,
        }
    )
    activities["source_table"] = [f"{s}/records" for s in activities["system"]]
    n_comp = draw(st.integers(0, 6))
    completions = pd.DataFrame(
        {
            "system": ["thrive"] * n_comp,
            "record_id": [f"C{i}" for i in range(n_comp)],
            "account_id": [
                f"t{w}"
                for w in draw(st.lists(st.integers(0, n_people), min_size=n_comp, max_size=n_comp))
            ],
            "course_id": draw(
                st.lists(st.sampled_from(["K1", "K2"]), min_size=n_comp, max_size=n_comp)
            ),
            "completed_at": [
                pd.Timestamp("2026-03-01", tz="UTC") + pd.Timedelta(days=d)
                for d in draw(st.lists(st.integers(-5, 300), min_size=n_comp, max_size=n_comp))
            ],
            "source_table": ["thrive/completions"] * n_comp,
        }
    )
    frames = {
        "people": people,
        "accounts": accounts,
        "activities": activities,
        "completions": completions,
        "requirements": pd.DataFrame(
            [
                {
                    "audience": "All",
                    "required_minutes": 600.0,
                    "structured_minutes": 60.0,
                    "origin": "policy",
                    "source_table": "policy/Requirements",
                }
            ]
        ),
        "memberships": pd.DataFrame(
            {
                "audience": "All",
                "employee_id": people["employee_id"],
                "source_table": "roster/roster.xlsx",
            }
        ),
        "catalogue": pd.DataFrame(
            [
                {
                    "system": "thrive",
                    "course_id": "K1",
                    "title": "Course A",
                    "cpd_minutes": 45.0,
                    "origin": "policy",
                    "source_table": "policy/Courses",
                }
            ]
        ),
        "categories": pd.DataFrame(
            [
                {"category": "Reading", "max_minutes": 60.0, "source_table": "policy/Categories"},
                {
                    "category": "Ethics",
                    "min_minutes": 30.0,
                    "structured": True,
                    "source_table": "policy/Categories",
                },
            ]
        ),
    }
    return frames


FIGURES = [
    "employee_id",
    "required",
    "structured_required",
    "counted",
    "structured",
    "pending",
    "shortfall",
    "status",
    "reason",
]


def _people(result) -> pd.DataFrame:
    return result.people[FIGURES].astype(str).reset_index(drop=True)


def _dispositions(result) -> dict:
    return dict(
        zip(
            result.activities["record_id"],
            result.activities["disposition"].astype(str),
            strict=True,
        )
    )


@SETTINGS
@given(datasets())
def test_control_totals_balance_and_everyone_appears_once(frames):
    result = reconcile(CanonicalTables.build(**frames), RULES)
    totals = result.control_totals
    disposition_columns = totals.columns[4:]
    sums = totals[disposition_columns].fillna(0).sum(axis=1)
    assert (sums.to_numpy() == totals["pulled"].to_numpy()).all()
    assert len(result.activities) == len(frames["activities"])
    assert sorted(result.people["employee_id"]) == sorted(frames["people"]["employee_id"])
    assert result.people["employee_id"].is_unique


@SETTINGS
@given(datasets(), st.randoms(use_true_random=False))
def test_row_order_changes_nothing(frames, rnd):
    shuffled = {}
    for name, frame in frames.items():
        order = list(range(len(frame)))
        rnd.shuffle(order)
        shuffled[name] = frame.iloc[order].reset_index(drop=True)
    a = reconcile(CanonicalTables.build(**frames), RULES)
    b = reconcile(CanonicalTables.build(**shuffled), RULES)
    pd.testing.assert_frame_equal(_people(a), _people(b))
    assert _dispositions(a) == _dispositions(b)
    pd.testing.assert_frame_equal(a.exceptions, b.exceptions)


@SETTINGS
@given(datasets(), st.integers(1, 400), st.sampled_from(TITLES), st.integers(0, 5))
def test_an_out_of_period_record_changes_nothing_counted(frames, days_before, title, who):
    base = reconcile(CanonicalTables.build(**frames), RULES)
    extra = frames["activities"].iloc[:0].copy()
    extra = pd.DataFrame(
        {
            "system": ["thrive"],
            "record_id": ["OUT"],
            "account_id": [f"t{who}"],
            "title": [title],
            "minutes": [60.0],
            "completed_at": [pd.Timestamp("2026-01-01", tz="UTC") - pd.Timedelta(days=days_before)],
            "source_table": ["thrive/records"],
        }
    )
    more = dict(frames, activities=pd.concat([frames["activities"], extra], ignore_index=True))
    after = reconcile(CanonicalTables.build(**more), RULES)
    pd.testing.assert_frame_equal(_people(base), _people(after))
    got = _dispositions(after)
    assert got.pop("OUT") in ("out_of_period", "unmatched")
    assert got == _dispositions(base)
    assert np.array_equal(base.people["counted"], after.people["counted"])
