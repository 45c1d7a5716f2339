"""Benchmark the sandbox generator against a bare numpy/pandas baseline of the same size.

Run from the repository root:

    .venv/bin/python bench/generate.py            # 10k and 100k people
    .venv/bin/python bench/generate.py 10000      # one size

Each measurement runs in a fresh child process, so its peak memory (``ru_maxrss``) is its own.
For each size the script prints generate()'s wall time and peak RSS, and the same for a
baseline measured in the same run: drawing as many random numbers as the generated activities
and completions hold, and building DataFrames of the same rows and columns from them (numbers
only, plus one string column by Arrow ``take``). The ratio says how much more the generator
costs than the least any generator of that size could.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_generate(people: int) -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    from reconcile.sandbox.generate import generate

    start = time.perf_counter()
    org = generate(people=people, seed=1, activities_per_person=20, completions_per_person=5)
    seconds = time.perf_counter() - start
    activities = len(org.thrive_entries) + len(org.bs_records) + len(org.cpd_log)
    completions = len(org.thrive_completions) + len(org.cp_course_members)
    return {
        "seconds": seconds,
        "peak_mib": _peak_mib(),
        "activities": activities,
        "completions": completions,
        "planted": len(org.planted),
    }


def child_baseline(activities: int, completions: int) -> dict[str, float]:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    start = time.perf_counter()
    rng = np.random.default_rng(1)
    vocab = pa.array([f"Journal club: topic {i}" for i in range(1000)])
    frames = []
    for rows, width in ((activities, 10), (completions, 6)):
        columns = {f"n{i}": rng.integers(0, 1_000_000, rows) for i in range(width - 1)}
        title = vocab.take(pa.array(rng.integers(0, 1000, rows)))
        columns["title"] = pd.arrays.ArrowStringArray(pa.chunked_array([title]))
        frames.append(pd.DataFrame(columns))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_mib": _peak_mib(), "rows": sum(len(f) for f in frames)}


def _run_child(*args: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(sizes: list[int]) -> None:
    print(
        f"{'people':>8} {'activities':>11} {'completions':>11} {'gen s':>7} {'gen MiB':>8} "
        f"{'base s':>7} {'base MiB':>8} {'time x':>7} {'mem x':>6}"
    )
    for people in sizes:
        gen = _run_child("generate", str(people))
        base = _run_child("baseline", str(int(gen["activities"])), str(int(gen["completions"])))
        print(
            f"{people:>8} {int(gen['activities']):>11} {int(gen['completions']):>11} "
            f"{gen['seconds']:>7.2f} {gen['peak_mib']:>8.0f} {base['seconds']:>7.2f} "
            f"{base['peak_mib']:>8.0f} {gen['seconds'] / base['seconds']:>7.1f} "
            f"{gen['peak_mib'] / base['peak_mib']:>6.1f}"
        )


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        what, *numbers = sys.argv[2:]
        if what == "generate":
            result = child_generate(int(numbers[0]))
        else:
            result = child_baseline(int(numbers[0]), int(numbers[1]))
        print(json.dumps(result))
    else:
        main([int(a) for a in sys.argv[1:]] or [10_000, 100_000])
