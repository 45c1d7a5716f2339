"""Benchmark compliance.xlsx against XlsxWriter writing the same cells with no styling.

    .venv/bin/python bench/reports_xlsx.py                  # 100,000 people, 2M activities
    .venv/bin/python bench/reports_xlsx.py --people 10000   # a quick look

The Result comes from the engine on bench/engine.py's synthetic organisation (20 activities
and 5 completions per person), built once and not timed. Each writer then runs in its own
forked child, so both start from the same memory: seconds, and peak memory as the rise of
the child's peak RSS (VmHWM) over its RSS just before writing.

Baseline: XlsxWriter in ``constant_memory`` mode, the same sheets, columns and rows, values
made plain (timezone dropped, blanks for missing) block by block and written with
``write_row`` and no formats at all: no header style, widths, filters, freeze, status fills,
number formats or charts. The ratio workbook ÷ baseline is the figure to watch (target ≤ 1.3).
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import xlsxwriter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine import RULES, generate

from reconcile.engine import reconcile
from reconcile.render import xlsx as render
from reconcile.render.xlsx_columns import local_naive

BLOCK = 65_536


def _rss(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _sheets(result) -> list[tuple[str, list]]:
    """The data sheets with the renderer's own column choice (header, kind, series)."""
    tz = result.rules.timezone
    return [
        ("People", render._people_columns(result, tz)),
        ("Activities", render._activity_columns(result, tz)),
        ("Completions", render._completion_columns(result, tz)),
        ("Exceptions", render._exception_columns(result, tz)),
        ("Categories", render._category_columns(result, tz)),
        ("Departments", render._department_columns(result, tz)),
        ("Sources", render._source_columns(result, tz, {})),
        ("Input issues", render._issue_columns(None, tz)),
    ]


def baseline(result, path: Path) -> None:
    """Plain constant-memory XlsxWriter: same cells, no styling."""
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False})
    book.add_worksheet("Summary").write_string(0, 0, "CPD compliance summary")
    tz = result.rules.timezone
    for name, cols in _sheets(result):
        ws = book.add_worksheet(name)
        ws.write_row(0, 0, [c.header for c in cols])
        n = len(cols[0])
        for start in range(0, n, BLOCK):
            frame = pd.DataFrame(
                {
                    c.header: (
                        local_naive(c.series.iloc[start : start + BLOCK], tz)
                        if c.kind in ("date", "datetime")
                        else c.series.iloc[start : start + BLOCK]
                    )
                    for c in cols
                }
            ).astype(object)
            frame = frame.where(frame.notna(), None)
            for r, row in enumerate(frame.itertuples(index=False, name=None), start=start + 1):
                ws.write_row(r, 0, row)
    book.close()


def openpyxl_plain(result, path: Path) -> None:
    """openpyxl write-only mode (the design card's writer), same cells, no styling."""
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    book.create_sheet("Summary").append(["CPD compliance summary"])
    for name, cols in _sheets(result):
        ws = book.create_sheet(name)
        ws.append([c.header for c in cols])
        for start in range(0, len(cols[0]), BLOCK):
            for row in zip(*(c.values(start, start + BLOCK) for c in cols), strict=True):
                ws.append(row)
    book.save(path)


def workbook(result, path: Path) -> None:
    render.write_workbook(result, path)


def _child(fn, result, queue) -> None:
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "out.xlsx"
            with contextlib.suppress(OSError):
                Path("/proc/self/clear_refs").write_text("5")
            before = _rss("VmRSS")
            started = time.perf_counter()
            fn(result, path)
            seconds = time.perf_counter() - started
            queue.put((seconds, max(_rss("VmHWM") - before, 0), path.stat().st_size))
    except BaseException as exc:
        queue.put(exc)
        raise


def _measure(ctx, fn, result) -> tuple[float, int, int]:
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(fn, result, queue))
    proc.start()
    row = queue.get()
    proc.join()
    if isinstance(row, BaseException):
        raise SystemExit(f"{fn.__name__} failed: {row!r}")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument(
        "--openpyxl", action="store_true", help="also time openpyxl write-only on the same cells"
    )
    args = parser.parse_args()
    ctx = mp.get_context("fork")
    result = reconcile(generate(args.people), RULES)
    print(
        f"people {len(result.people):,}, activities {len(result.activities):,}, "
        f"completions {len(result.completions):,}, exceptions {len(result.exceptions):,}",
        flush=True,
    )
    base_s, base_mem, base_size = _measure(ctx, baseline, result)
    print(
        f"baseline (xlsxwriter constant_memory, no styling): {base_s:8.1f} s "
        f"{base_mem / 2**20:7.0f} MiB  file {base_size / 2**20:.0f} MiB",
        flush=True,
    )
    ours_s, ours_mem, ours_size = _measure(ctx, workbook, result)
    print(
        f"compliance.xlsx (write_workbook):                  {ours_s:8.1f} s "
        f"{ours_mem / 2**20:7.0f} MiB  file {ours_size / 2**20:.0f} MiB",
        flush=True,
    )
    print(f"ratio workbook / baseline: {ours_s / base_s:.2f}x (target <= 1.3x)", flush=True)
    if args.openpyxl:
        op_s, op_mem, _ = _measure(ctx, openpyxl_plain, result)
        print(
            f"openpyxl write_only, no styling: {op_s:8.1f} s {op_mem / 2**20:7.0f} MiB; "
            f"{op_s / base_s:.2f}x baseline, {op_s / ours_s:.2f}x compliance.xlsx"
        )


if __name__ == "__main__":
    main()
