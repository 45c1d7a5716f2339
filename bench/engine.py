"""Benchmark the reconciliation engine against a floor of bare pandas work on the same frames.

    .venv/bin/python bench/engine.py                   # 10k, 100k and 1M people
    .venv/bin/python bench/engine.py --people 10000 100000
    .venv/bin/python bench/engine.py --before /tmp/old-checkout   # and an older engine beside

Per size: 20 activities and 5 completions per person (100,000 people → 2,000,000 activities,
500,000 completions). Each size runs in a process of its own so peaks do not leak between
sizes; ``--before DIR`` measures, after each size, the engine of another checkout (``git
worktree add DIR REV``) on the same generated tables against the same floor;
peak memory is the rise of the child's peak RSS (VmHWM, reset through /proc/self/clear_refs)
over its RSS just before the measured step; "process MiB" is the child's whole peak RSS during the
engine step (the input tables included), the figure that does not depend on how much freed
memory the process kept from the steps before. Generation is vectorised and not timed.

The floor: one groupby-sum of minutes per (person, category), one ``duplicated`` over
(person, title, minutes, date), one merge of the totals onto people. Any engine must do at
least that much; the ratio engine ÷ floor is the figure to watch.

The table replaces this benchmark's section of bench/RESULTS.md (``--no-results``: not).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
#: The checkout whose engine is measured: this one, or --before's (set for its process).
CODE = Path(os.environ.get("BENCH_ENGINE_CODE", HERE.parent))
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(CODE))

from results import replace_section  # noqa: E402

from reconcile.engine import CanonicalTables, Rules, reconcile  # noqa: E402

SECTION = "## Engine against the bare-pandas floor: `bench/engine.py`"

ACTIVITIES_PER_PERSON = 20
COMPLETIONS_PER_PERSON = 5
N_TITLES = 3000
N_COURSES = 400
CATEGORIES = ["Clinical", "Ethics", "Leadership", "Safety", "Research", "Teaching"]


def _ids(prefix: str, n: int) -> pd.Series:
    return pd.Series(prefix + pd.Series(np.arange(n)).astype("str"), dtype="str")


def generate(n_people: int, seed: int = 7) -> CanonicalTables:
    """Synthetic canonical tables with realistic mixes of every disposition."""
    rng = np.random.default_rng(seed)
    emp = _ids("E", n_people)
    emails = emp.str.lower() + "@acme.example"
    start = pd.Series(pd.NaT, index=range(n_people), dtype="datetime64[us]")
    joiners = rng.random(n_people) < 0.1
    start[joiners] = pd.Timestamp("2026-01-01") + pd.to_timedelta(
        rng.integers(0, 300, joiners.sum()), unit="D"
    )
    people = pd.DataFrame(
        {
            "employee_id": emp,
            "name": "Person " + emp,
            "email": emails,
            "department": pd.Series(rng.integers(0, 40, n_people)).map("Dept {}".format),
            "manager_id": emp.iloc[(np.arange(n_people) // 10) * 10].to_numpy(),
            "start_date": start,
            "fte": np.where(rng.random(n_people) < 0.2, 0.5, 1.0),
            "exempt": rng.random(n_people) < 0.02,
        }
    )
    # accounts: thrive (by e-mail), brightspace (by OrgDefinedId), coursepath; 1% strangers
    systems = []
    for system, key in (("thrive", "email"), ("brightspace", "ref"), ("coursepath", "email")):
        acc = pd.DataFrame(
            {
                "system": system,
                "account_id": _ids(system[0], n_people),
                "email": emails if key == "email" else None,
                "external_ref": emp if key == "ref" else None,
                "name": people["name"],
                "source_table": f"{system}/users",
            }
        )
        stranger = rng.random(n_people) < 0.01
        acc.loc[stranger, ["email", "external_ref"]] = ["x@nowhere.example", None]
        systems.append(acc)
    accounts = pd.concat(systems, ignore_index=True)
    audiences = pd.DataFrame(
        {
            "audience_id": [f"A{i}" for i in range(20)],
            "name": [f"Aud {i}" for i in range(20)],
            "source_table": "thrive/audiences",
        }
    )
    mem_person = rng.integers(0, n_people, int(n_people * 1.3))
    memberships = pd.DataFrame(
        {
            "audience": [f"A{i}" for i in range(20)] * 0
            + pd.Series(rng.integers(0, 20, len(mem_person))).map("A{}".format).tolist(),
            "system": "thrive",
            "account_id": _ids("t", n_people).iloc[mem_person].to_numpy(),
            "source_table": "thrive/audience_members",
        }
    )
    requirements = pd.DataFrame(
        {
            "audience": [f"A{i}" for i in range(20)],
            "required_minutes": rng.integers(6, 30, 20) * 60.0,
            "structured_minutes": rng.integers(0, 6, 20) * 60.0,
            "origin": "thrive",
            "source_table": "thrive/requirements",
        }
    )
    n_act = n_people * ACTIVITIES_PER_PERSON
    owner = rng.integers(0, n_people, n_act)
    system_pick = rng.choice(3, n_act, p=[0.6, 0.3, 0.1])
    sys_names = np.array(["thrive", "brightspace", "spreadsheet"], dtype=object)[system_pick]
    account = np.where(
        system_pick == 0,
        "t" + owner.astype(str),
        np.where(system_pick == 1, "b" + owner.astype(str), emp.to_numpy()[owner]),
    )
    titles = pd.Series([f"Course topic {i}: part {i % 7}" for i in range(N_TITLES)], dtype="str")
    title_pick = rng.integers(N_COURSES, N_TITLES, n_act)
    seconds = rng.integers(0, 400 * 86400, n_act)
    when = pd.Series(pd.Timestamp("2025-12-15", tz="UTC") + pd.to_timedelta(seconds, unit="s"))
    activities = pd.DataFrame(
        {
            "system": pd.Series(sys_names, dtype="str"),
            "record_id": _ids("R", n_act),
            "account_id": pd.Series(account, dtype="str"),
            "title": titles.iloc[title_pick].to_numpy(),
            "category": pd.Series(CATEGORIES, dtype="str")
            .iloc[rng.integers(0, len(CATEGORIES), n_act)]
            .to_numpy(),
            "structured": pd.array(
                np.where(system_pick == 1, rng.random(n_act) < 0.5, pd.NA), dtype="boolean"
            ),
            "minutes": rng.choice(
                [15, 30, 45, 60, 90, 120, 2000, 0],
                n_act,
                p=[0.2, 0.3, 0.1, 0.2, 0.1, 0.08, 0.01, 0.01],
            ).astype(float),
            "completed_at": when,
            "state": np.where(
                (system_pick == 1) & (rng.random(n_act) < 0.05), "draft", "published"
            ),
            "source_table": np.array(
                ["thrive/cpd_entries", "brightspace/records", "spreadsheet/external_cpd.xlsx"]
            )[system_pick],
        }
    )
    n_comp = n_people * COMPLETIONS_PER_PERSON
    c_owner = rng.integers(0, n_people, n_comp)
    c_sys = rng.random(n_comp) < 0.7
    course = rng.integers(0, N_COURSES, n_comp)
    completions = pd.DataFrame(
        {
            "system": np.where(c_sys, "thrive", "coursepath"),
            "record_id": _ids("C", n_comp),
            "account_id": np.where(c_sys, "t", "c") + c_owner.astype(str),
            "course_id": "K" + course.astype(str),
            "completed_at": pd.Timestamp("2026-01-01", tz="UTC")
            + pd.to_timedelta(rng.integers(0, 365 * 86400, n_comp), unit="s"),
            "passed": rng.random(n_comp) < 0.9,
            "source_table": np.where(c_sys, "thrive/completions", "coursepath/results"),
        }
    )
    # 60% of completions are also logged by hand a few days later (matched), replacing
    # random activities so that the total stays n_act
    logged = np.flatnonzero(rng.random(n_comp) < 0.6)
    slots = rng.choice(n_act, len(logged), replace=False)
    c_person = c_owner[logged]
    activities.loc[slots, "system"] = "thrive"
    activities.loc[slots, "account_id"] = "t" + pd.Series(c_person).astype(str).to_numpy()
    activities.loc[slots, "title"] = titles.iloc[course[logged]].to_numpy()
    activities.loc[slots, "completed_at"] = (
        completions["completed_at"].iloc[logged]
        + pd.to_timedelta(rng.integers(0, 5, len(logged)), unit="D")
    ).to_numpy()
    activities.loc[slots, "source_table"] = "thrive/cpd_entries"
    activities.loc[slots, "state"] = "published"
    activities.loc[slots, "structured"] = pd.NA
    activities.loc[slots, "minutes"] = 60.0
    catalogue = pd.concat(
        [
            pd.DataFrame(
                {
                    "system": system,
                    "course_id": [f"K{i}" for i in range(N_COURSES)],
                    "title": titles.iloc[:N_COURSES].to_numpy(),
                    "cpd_minutes": rng.integers(1, 8, N_COURSES) * 30.0,
                    "category": pd.Series(CATEGORIES)
                    .iloc[rng.integers(0, len(CATEGORIES), N_COURSES)]
                    .to_numpy(),
                    "origin": "policy",
                    "source_table": "policy/Courses",
                }
            )
            for system in ("thrive", "coursepath")
        ],
        ignore_index=True,
    )
    categories = pd.DataFrame(
        {
            "category": CATEGORIES,
            "structured": pd.array([True, True, False, True, False, False], dtype="boolean"),
            "min_minutes": [np.nan, 60.0, np.nan, np.nan, np.nan, np.nan],
            "max_minutes": [np.nan, np.nan, 600.0, np.nan, np.nan, 300.0],
            "source_table": "policy/Categories",
        }
    )
    # platform totals agree with the detail, except for 2% of accounts
    when = activities["completed_at"]
    in_year = (when >= pd.Timestamp("2026-01-01", tz="UTC")) & (
        when < pd.Timestamp("2027-01-01", tz="UTC")
    )
    published = activities["state"] != "draft"
    sums = activities[in_year & published].groupby("account_id")["minutes"].sum()
    t_ids = _ids("t", n_people)
    b_ids = _ids("b", n_people)
    noise = np.where(rng.random(n_people) < 0.02, 30.0, 0.0)
    totals = pd.DataFrame(
        {
            "system": "thrive",
            "account_id": t_ids,
            "minutes": t_ids.map(sums).fillna(0).to_numpy() + noise,
            "source_table": "thrive/user_log_summaries",
        }
    )
    targets = pd.DataFrame(
        {
            "system": "brightspace",
            "account_id": b_ids,
            "structured_required": 300.0,
            "unstructured_required": 900.0,
            "structured_done": 0.0,
            "unstructured_done": b_ids.map(sums).fillna(0).to_numpy() + noise[::-1],
            "source_table": "brightspace/targets",
        }
    )
    return CanonicalTables.build(
        people=people,
        accounts=accounts,
        audiences=audiences,
        memberships=memberships,
        requirements=requirements,
        activities=activities,
        completions=completions,
        catalogue=catalogue,
        categories=categories,
        platform_totals=totals,
        targets=targets,
    )


# as_of = period end: the monthly run after the year closes (records after as_of are rare)
RULES = Rules(dt.date(2026, 1, 1), dt.date(2026, 12, 31), dt.date(2026, 12, 31), "Europe/London")


def floor(tables: CanonicalTables) -> pd.DataFrame:
    """The bare pandas work any engine needs on these frames."""
    acts = tables.activities
    per = acts.groupby(["account_id", "category"], sort=False, observed=True)["minutes"].sum()
    dup = acts.duplicated(["account_id", "title", "minutes", "completed_at"])
    totals = per.groupby(level=0).sum().rename("counted")
    people = tables.people.merge(totals, left_on="employee_id", right_index=True, how="left")
    assert len(dup) == len(acts)
    return people


def _rss(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _measure(fn, *args) -> tuple[float, int]:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    before = _rss("VmRSS")
    started = time.perf_counter()
    fn(*args)
    seconds = time.perf_counter() - started
    return seconds, max(_rss("VmHWM") - before, 0)


def measure_one_size(n_people: int) -> dict:
    """Generate ``n_people``'s tables, then time the floor and the engine on them."""
    tables = generate(n_people)
    floor_s, _ = _measure(floor, tables)
    engine_s, engine_mem = _measure(reconcile, tables, RULES)
    return {
        "people": n_people,
        "activities": len(tables.activities),
        "completions": len(tables.completions),
        "floor_s": floor_s,
        "engine_s": engine_s,
        "engine_mib": engine_mem / 2**20,
        "process_mib": _rss("VmHWM") / 2**20,
    }


def in_own_process(n_people: int, code: Path | None = None) -> dict:
    """:func:`measure_one_size` in a fresh process (``code``: another checkout's engine)."""
    env = dict(os.environ)
    if code is not None:
        env["BENCH_ENGINE_CODE"] = str(code.resolve())
    done = subprocess.run(
        [sys.executable, __file__, "--one-size", str(n_people)],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"size {n_people:,} failed ({code or 'this checkout'}):\n{done.stderr}")
    return json.loads(done.stdout.splitlines()[-1])


HEADER = (
    "| engine | people | activities | completions | floor s | engine s | × floor | "
    "engine MiB | process MiB |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
)


def row(label: str, m: dict) -> str:
    return (
        f"| {label} | {m['people']:,} | {m['activities']:,} | {m['completions']:,} | "
        f"{m['floor_s']:.2f} | {m['engine_s']:.2f} | {m['engine_s'] / m['floor_s']:.1f} | "
        f"{m['engine_mib']:.0f} | {m['process_mib']:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--before", type=Path, help="another checkout, its engine measured too")
    parser.add_argument("--no-results", action="store_true", help="leave RESULTS.md alone")
    parser.add_argument("--one-size", type=int, help=argparse.SUPPRESS)  # the child's job
    args = parser.parse_args()
    if args.one_size:
        print(json.dumps(measure_one_size(args.one_size)))
        return
    lines = list(HEADER)
    print("\n".join(HEADER), flush=True)
    for n in args.people:
        measured = [row("this checkout", in_own_process(n))]
        if args.before:
            measured.append(row(f"`{args.before}`", in_own_process(n, args.before)))
        print("\n".join(measured), flush=True)
        lines += measured
    limits = (
        "Limits at 100,000 people: engine under 10 s and within 5× the floor; grows like the floor."
    )
    lines += ["", limits]
    print(limits)
    if not args.no_results:
        replace_section(SECTION, lines, "python bench/engine.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
