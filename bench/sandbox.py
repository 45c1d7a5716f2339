"""How fast the sandbox serves a 1,000-record page with millions of records loaded.

Prints milliseconds per 1,000-record page (in process and over HTTP) next to a baseline
measured in the same run: ``json.dumps`` of 1,000 equivalent dicts. Also prints how long the
server takes to start (index and pre-render) for the loaded data.

    python bench/sandbox.py [--entries 2000000] [--people 0]

``--people N`` also times generate(N) and starting a Sandbox on it (startup beyond generation).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time

import numpy as np
import pandas as pd
import requests

from reconcile.sandbox import THRIVE_API_SECRET, THRIVE_TENANT_ID, Sandbox
from reconcile.sandbox.generate import generate


def big_entries(template: pd.DataFrame, n: int) -> pd.DataFrame:
    """``n`` Thrive CPD entries made by tiling a generated frame, with fresh ids and dates."""
    reps = -(-n // len(template))
    frame = pd.concat([template] * reps, ignore_index=True).iloc[:n].copy()
    frame["logEntryId"] = pd.Series([f"{i:024x}" for i in range(n)], dtype="string")
    start = pd.Timestamp("2026-01-01", tz="UTC").value
    span = 365 * 86_400 * 10**9
    rng = np.random.default_rng(1)
    stamps = start + rng.integers(0, span // 60_000_000_000, n) * 60_000_000_000
    frame["entryDate"] = pd.to_datetime(stamps, utc=True).astype("datetime64[ns, UTC]")
    return frame


def timed(fn, repeat: int) -> float:
    """Median milliseconds of ``repeat`` calls."""
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=2_000_000)
    parser.add_argument("--people", type=int, default=0)
    args = parser.parse_args()

    small = generate(200, seed=1)
    entries = big_entries(small.thrive_entries, args.entries)
    org = dataclasses.replace(small, thrive_entries=entries)
    t0 = time.perf_counter()
    sandbox = Sandbox(org)
    startup = time.perf_counter() - t0
    print(f"startup with {len(entries):,} Thrive entries: {startup:.2f} s")

    thrive = sandbox.platforms["thrive"]
    table = thrive.entries.table  # type: ignore[attr-defined]
    middle = len(table) // 2
    render_ms = timed(lambda: "[" + ",".join(table.render(middle, middle + 1000)) + "]", 50)

    rows = entries.iloc[middle : middle + 1000]
    dicts = [
        {
            "logEntryId": r.logEntryId,
            "userId": r.userId,
            "activity": {"type": r.activityType, "name": r.activityName},
            "category": {"categoryId": r.categoryId, "name": r.categoryName},
            "entryDate": r.entryDate.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "durationMinutes": int(r.durationMinutes),
            "description": None if pd.isna(r.description) else r.description,
            "isVerified": bool(r.isVerified),
        }
        for r in rows.itertuples()
    ]
    baseline_ms = timed(lambda: json.dumps(dicts, separators=(",", ":")), 50)

    with sandbox, requests.Session() as session:
        session.auth = (THRIVE_TENANT_ID, THRIVE_API_SECRET)
        url = f"{sandbox.base_urls['thrive']}/cpdEntries"
        params = {"entryDateFrom": "2026-03-01", "entryDateTo": "2026-09-30", "perPage": 1000}
        page = {"n": 1}

        def fetch() -> None:
            page["n"] += 1
            body = session.get(url, params={**params, "page": page["n"]}).content
            assert body.startswith(b'{"pagination"')

        fetch()
        http_ms = timed(fetch, 50)

    print(f"baseline json.dumps of 1000 equivalent dicts: {baseline_ms:.2f} ms")
    print(
        f"render 1000-record page in process:           {render_ms:.2f} ms "
        f"({render_ms / baseline_ms:.2f}x baseline)"
    )
    print(
        f"GET 1000-record page over HTTP (date range):  {http_ms:.2f} ms "
        f"({http_ms / baseline_ms:.2f}x baseline)"
    )

    if args.people:
        t0 = time.perf_counter()
        big = generate(args.people, seed=1)
        generation = time.perf_counter() - t0
        t0 = time.perf_counter()
        Sandbox(big)
        serving = time.perf_counter() - t0
        print(
            f"{args.people:,} people: generate {generation:.1f} s, sandbox startup {serving:.1f} s "
            f"({len(big.thrive_entries):,} Thrive entries, {len(big.bs_records):,} BS records)"
        )


if __name__ == "__main__":
    main()
