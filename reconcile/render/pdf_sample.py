"""A synthetic reconciliation result of any size, for template previews and benchmarks.

Why here and not in tests: `bench/reports_pdf.py`, the tests and anyone restyling the
templates all need a realistic Result without a sandbox or spreadsheets.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from reconcile.engine import CanonicalTables, Result, Rules, reconcile

_FIRST = np.array(
    ["Ada", "Ben", "Chloe", "Dev", "Esme", "Farid", "Grace", "Hugo", "Iris", "Jon", "Kemi", "Liam"]
)
_LAST = np.array(["Okafor", "Smith", "Nowak", "Patel", "Jones", "Reyes", "Khan", "Brown", "Ito"])
_DEPARTMENTS = np.array(["Cardiology", "Emergency", "Pharmacy", "Radiology", "Surgery", "Wards"])
_TITLES = np.array(["Fire safety", "Infection control", "Safeguarding", "Manual handling"])


def sample_result(
    people: int = 60,
    *,
    team_size: int | tuple[int, int] = 8,
    seed: int = 7,
    as_of: dt.date = dt.date(2026, 9, 30),
    titles: list[str] | None = None,
    structured_minutes: float = 0.0,
) -> Result:
    """Run the real engine on generated tables: ``people`` staff, one manager per team.

    ``team_size`` N: blocks of N people, the first managing the others. A range (low, high):
    one tree in which each person manages between low and high of the next people, as the
    sandbox's organisations do (3-15 gives ~9 people a manager and one statement in nine).
    ``structured_minutes`` adds a structured requirement (a second line in some cells).
    """
    rng = np.random.default_rng(seed)
    idx = np.arange(people)
    eids = np.char.add("E", np.char.zfill(idx.astype(str), 5))
    names = np.char.add(np.char.add(_FIRST[idx % len(_FIRST)], " "), _LAST[idx // 3 % len(_LAST)])
    names = np.char.add(names, np.where(idx >= 108, np.char.add(" ", idx.astype(str)), ""))
    boss = _managers(people, team_size, rng)
    managers = np.where(boss < 0, "", eids[np.maximum(boss, 0)])
    team = np.where(boss < 0, idx, boss)  # the row of the team's manager
    if isinstance(team_size, int):
        team = team // team_size
    frame = pd.DataFrame(
        {
            "employee_id": eids,
            "name": names,
            "email": np.char.add(np.char.lower(eids), "@acme.example"),
            "department": _DEPARTMENTS[team % len(_DEPARTMENTS)],
            "manager_id": [manager or None for manager in managers],
            "exempt": idx % 29 == 5,
        }
    )
    accounts = pd.DataFrame(
        {
            "system": "thrive",
            "account_id": np.char.add("t", idx.astype(str)),
            "email": frame["email"],
            "source_table": "thrive/users",
        }
    )
    per_person = rng.integers(2, 16, size=people)
    owner = np.repeat(idx, per_person)
    n = len(owner)
    title_pool = np.array(titles) if titles else _TITLES
    day = rng.integers(0, 270, size=n)
    activities = pd.DataFrame(
        {
            "system": "thrive",
            "record_id": np.char.add("a", np.arange(n).astype(str)),
            "account_id": np.char.add("t", owner.astype(str)),
            "title": title_pool[np.arange(n) % len(title_pool)],
            "minutes": rng.choice([30.0, 60.0, 90.0, 120.0, 180.0], size=n),
            "completed_at": pd.Timestamp("2026-01-01T12:00:00Z") + pd.to_timedelta(day, "D"),
            "source_table": "thrive/records",
        }
    )
    dupes = activities.iloc[::17].assign(record_id=lambda f: f["record_id"] + "-dup")
    stray = activities.iloc[:3].assign(
        record_id=lambda f: f["record_id"] + "-x", account_id="t-unknown"
    )
    activities = pd.concat([activities, dupes, stray], ignore_index=True)
    accounts = pd.concat(
        [
            accounts,
            pd.DataFrame(
                [
                    {
                        "system": "thrive",
                        "account_id": "t-unknown",
                        "email": "temp.agency@example.org",
                        "source_table": "thrive/users",
                    }
                ]
            ),
        ],
        ignore_index=True,
    )
    tables = CanonicalTables.build(
        people=frame,
        accounts=accounts,
        activities=activities,
        requirements=pd.DataFrame(
            [
                {
                    "audience": "Clinical staff",
                    "required_minutes": 1200.0,
                    "structured_minutes": structured_minutes,
                    "origin": "policy",
                    "source_table": "policy/requirements",
                }
            ]
        ),
        memberships=pd.DataFrame(
            {"audience": "Clinical staff", "employee_id": eids, "source_table": "roster/roster"}
        ),
    )
    rules = Rules(dt.date(2026, 1, 1), dt.date(2026, 12, 31), as_of, "Europe/London")
    return reconcile(tables, rules)


def _managers(
    people: int, team_size: int | tuple[int, int], rng: np.random.Generator
) -> np.ndarray:
    """Each person's manager (a row number), or -1 for none."""
    idx = np.arange(people)
    if isinstance(team_size, int):
        return np.where(idx % team_size == 0, -1, (idx // team_size) * team_size)
    low, high = team_size
    slots = np.cumsum(rng.integers(low, high + 1, size=people))  # person j manages a run
    boss = np.searchsorted(slots, idx, side="left")  # of ``slots[j] - slots[j - 1]`` people
    return np.where(idx == 0, -1, boss)
