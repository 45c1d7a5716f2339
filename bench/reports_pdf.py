"""Benchmark the PDF half of bench/reports.py: organisation report and manager statements.

    .venv/bin/python bench/reports_pdf.py [--statements 1000] [--people 5000]

Prints ratios against a plain single-process WeasyPrint render of a one-page table measured
in the same run (the baseline), never absolute pass/fail. Each measured job runs in a fresh
process so peak memory (parent and workers) belongs to that job alone.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TEAM = 8


def baseline(pages: int = 12) -> float:
    """Pages per second of a bare one-page, 25-row table through WeasyPrint, one process."""
    wall, _cpu = baseline_pages(pages)
    return pages / wall


def baseline_pages(pages: int) -> tuple[float, float]:
    """Wall and CPU seconds of ``pages`` renders of the bare one-page table, after one to warm
    up (fonts, imports)."""
    from weasyprint import HTML

    rows = "".join(
        f"<tr><td>Person {i}</td><td>E{i:05d}</td><td>1,200 min</td><td>At risk</td></tr>"
        for i in range(25)
    )
    html = (
        "<html><head><style>@page{size:A4} body{font-family:'DejaVu Sans'}</style></head>"
        f"<body><h1>Team</h1><table>{rows}</table></body></html>"
    )
    with tempfile.TemporaryDirectory() as tmp:
        HTML(string=html).write_pdf(Path(tmp) / "warm.pdf")
        start, cpu = time.perf_counter(), time.process_time()
        for i in range(pages):
            HTML(string=html).write_pdf(Path(tmp) / f"{i}.pdf")
        return time.perf_counter() - start, time.process_time() - cpu


def peak_mib() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, kids


def job_report(people: int) -> dict:
    from reconcile.render.pdf import write_report_pdf
    from reconcile.render.pdf_sample import sample_result

    result = sample_result(people, team_size=TEAM)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        path = write_report_pdf(result, Path(tmp) / "r.pdf", organisation="Acme Health")
        seconds = time.perf_counter() - start
        from pypdf import PdfReader

        pages = len(PdfReader(path).pages)
    return {"seconds": seconds, "pages": pages, "peak_mib": peak_mib()}


def job_statements(count: int, processes: int) -> dict:
    from reconcile.render.pdf import write_statements
    from reconcile.render.pdf_sample import sample_result

    result = sample_result(count * TEAM, team_size=TEAM)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        paths = write_statements(result, Path(tmp), organisation="Acme Health", processes=processes)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "files": len(paths), "peak_mib": peak_mib()}


def run_child(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--statements", type=int, default=1000)
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--child", nargs="*")
    args = parser.parse_args()
    if args.child:
        kind, n, *rest = args.child
        data = job_report(int(n)) if kind == "report" else job_statements(int(n), int(rest[0]))
        print(json.dumps(data))
        return
    cores = os.cpu_count() or 1
    base = baseline()
    print(f"baseline: plain WeasyPrint one-page table, 1 process: {base:.2f} pages/s")
    for people in (500, args.people):
        r = run_child("report", str(people))
        print(
            f"organisation report, {people:,} people: {r['seconds']:.2f} s, {r['pages']} pages, "
            f"peak {r['peak_mib'][0]:.0f} MiB (target < 10 s)"
        )
    small = max(50, args.statements // 4)
    for count in (small, args.statements):
        s = run_child("statements", str(count), str(cores))
        rate = s["files"] / s["seconds"]
        print(
            f"{s['files']:,} manager statements, {cores} processes: {s['seconds']:.1f} s, "
            f"{rate:.2f} pages/s = {rate / base:.2f}x baseline (target >= 1.7x on 2 cores), "
            f"peak parent {s['peak_mib'][0]:.0f} MiB, largest worker {s['peak_mib'][1]:.0f} MiB"
        )


if __name__ == "__main__":
    main()
