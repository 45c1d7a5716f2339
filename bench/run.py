"""The monthly job end to end, as the user waits for it: ``reconcile run`` at 10k and 100k people.

    .venv/bin/python bench/run.py                        # 10,000 and 100,000 people
    .venv/bin/python bench/run.py --people 10000         # one size
    .venv/bin/python bench/run.py --people 2000 --no-results   # a quick look, RESULTS.md untouched
    .venv/bin/python bench/run.py --statement-renderer weasyprint   # statement.html instead

For each size the sandbox organisation (seed 1) is served from its own process, as a remote
API is, and ``reconcile -v run`` runs as its own process against it: pull, snapshot, engine,
workbook, organisation PDF and manager statements, exactly the command a compliance officer
runs. Each step's seconds come from the run's own log (``step … took … s``, reconcile/runs.py);
peak memory is the largest resident size of the run's whole process tree (the statement
workers included), sampled from /proc every 0.2 s.

Baselines, measured in the same session on the run's own data, so the ratios hold on a busy
machine:
- engine: the bare-pandas floor of bench/engine.py on the run's canonical tables;
- workbook: plain XlsxWriter (constant memory, no formats) writing the rows the workbook
  wrote, plus ``DataFrame.to_csv`` for a ledger that went to CSV;
- statements: a plain one-page WeasyPrint render in one process (bench/reports_pdf.py),
  as pages per second, against the run's statements per second.

The workbook's size, and the seconds LibreOffice takes to open it and save it as CSV
(``soffice --headless --convert-to csv``, a warm second start), say whether people can open it.

The figures replace this benchmark's section of bench/RESULTS.md (date, machine, command);
with ``--statement-renderer weasyprint`` (``[output] statement_renderer``; Typst is the
default) their own section.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import pandas as pd  # noqa: E402 - after the sys.path lines
import xlsxwriter  # noqa: E402
from engine import floor  # noqa: E402
from pull import remote_sandbox  # noqa: E402
from reports_pdf import baseline as one_page_pages_per_second  # noqa: E402
from reports_xlsx import _sheets  # noqa: E402
from results import replace_section  # noqa: E402

from reconcile import config as config_module  # noqa: E402
from reconcile.canonical_build import build_canonical, known_audiences  # noqa: E402
from reconcile.inputs import read_inputs  # noqa: E402
from reconcile.render import xlsx as render  # noqa: E402
from reconcile.render.xlsx_columns import local_naive  # noqa: E402
from reconcile.result_store import read_result  # noqa: E402
from reconcile.runs import STEP_LOG, WORKBOOK_FILE  # noqa: E402
from reconcile.sandbox import Sandbox  # noqa: E402
from reconcile.sandbox.generate import generate  # noqa: E402
from reconcile.sandbox.spreadsheets import write_spreadsheets  # noqa: E402
from reconcile.snapshot import read_snapshot  # noqa: E402

SECTION = "## End to end: `bench/run.py`"
LEDGERS = ("activities", "completions")  # spilled to CSV past [output] workbook_detail_rows
STEPS = ("pull", "snapshot", "read", "engine", "summary", "workbook", "report", "statements")
_STEP = re.compile(re.escape(STEP_LOG).replace("%s", r"(\w+)").replace("%\\.2f", r"([\d.]+)"))


# ------------------------------------------------------------------ the run itself


def tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and every process below it (Linux /proc)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            status = (entry / "status").read_text()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(stat[1])
        found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        rss[pid] = int(found.group(1)) * 1024 if found else 0
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack += [child for child, parent in parents.items() if parent == pid]
    return total


class PeakTreeRss:
    """The largest :func:`tree_rss` of a process while the ``with`` block runs (sampled from a
    thread every ``every`` seconds): the peak memory of a run and every process it starts."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        self.pid, self.bytes, self.every = pid, 0, every
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.wait(self.every):
            self.bytes = max(self.bytes, tree_rss(self.pid))

    def __enter__(self) -> PeakTreeRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


def run_reconcile(config: Path, out: Path, env: dict[str, str]) -> tuple[float, dict, int]:
    """``reconcile -v run`` in its own process: wall seconds, step seconds, peak tree RSS."""
    command = [sys.executable, "-m", "reconcile", "-v", "run", "-c", str(config), "--out", str(out)]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    with PeakTreeRss(process.pid) as peak:
        output, _ = process.communicate()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"reconcile run failed ({process.returncode}):\n{output[-3000:]}")
    steps = {m.group(1): float(m.group(2)) for m in _STEP.finditer(output)}
    return seconds, steps, peak.bytes


# ------------------------------------------------------------------ baselines


def engine_floor(config_path: Path, run_folder: Path) -> float:
    """bench/engine.py's bare-pandas floor on the run's own canonical tables."""
    config = config_module.load(config_path)
    tables, _manifest = read_snapshot(run_folder / "snapshot")
    canonical = build_canonical(
        tables, read_inputs(config, known_audiences=known_audiences(tables))
    )
    started = time.perf_counter()
    floor(canonical)
    return time.perf_counter() - started


def plain_workbook(result, folder: Path, detail_rows: int) -> float:
    """Plain XlsxWriter writing the rows the workbook wrote (and to_csv for a long ledger)."""
    started = time.perf_counter()
    book = xlsxwriter.Workbook(
        str(folder / "plain.xlsx"), {"constant_memory": True, "strings_to_formulas": False}
    )
    tz = result.rules.timezone
    ledgers = {"Activities": result.activities, "Completions": result.completions}
    for name, cols in _sheets(result):
        frame = pd.DataFrame(
            {
                c.header: local_naive(c.series, tz) if c.kind in ("date", "datetime") else c.series
                for c in cols
            }
        )
        records = ledgers.get(name)
        if records is not None and len(records) > detail_rows:
            frame.to_csv(folder / f"{name}.csv", index=False, encoding="utf-8-sig")
            frame = frame[render._carries_exception(records, result.exceptions)]
        ws = book.add_worksheet(name)
        ws.write_row(0, 0, list(frame.columns))
        values = frame.astype(object).where(frame.notna(), None).itertuples(index=False)
        for r, row in enumerate(values, start=1):
            ws.write_row(r, 0, row)
    book.close()
    return time.perf_counter() - started


def libreoffice_load(workbook: Path, folder: Path) -> float | None:
    """Seconds for LibreOffice to open the run's workbook and save its first sheet as CSV
    (``soffice --headless --convert-to csv``), or None where LibreOffice is not installed."""
    soffice = shutil.which("soffice")
    if soffice is None:
        return None
    profile = folder / "lo-profile"  # a fresh profile: no first-start state of another user
    command = [
        soffice,
        f"-env:UserInstallation={profile.as_uri()}",
        "--headless",
        "--convert-to",
        "csv",
        "--outdir",
        str(folder / "lo-out"),
        str(workbook),
    ]
    subprocess.run(command, capture_output=True, timeout=600, check=True)  # profile set-up
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, timeout=600, check=True)
    seconds = time.perf_counter() - started
    if not (folder / "lo-out" / f"{workbook.stem}.csv").is_file():
        raise SystemExit(f"LibreOffice did not convert {workbook}")
    return seconds


# ------------------------------------------------------------------ one size


def prepare(people: int, folder: Path, renderer: str) -> tuple[Path, dict[str, str]]:
    """Spreadsheets and a config for the seed-1 organisation of ``people`` (not timed)."""
    organisation = generate(people=people, seed=1)
    sheets = write_spreadsheets(organisation, folder / "inputs")
    with Sandbox(organisation) as sandbox:
        config = sandbox.write_config(folder, sheets)
        text = config.read_text(encoding="utf-8")
        config.write_text(
            text.replace("[output]\n", f'[output]\nstatement_renderer = "{renderer}"\n')
        )
        env = {**os.environ, **sandbox.env()}
        local = sandbox.url
    return config, env | {"_LOCAL_SANDBOX_URL": local}


def measure(people: int, renderer: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config, env = prepare(people, folder, renderer)
        assert config_module.load(config).output.statement_renderer == renderer
        local = env.pop("_LOCAL_SANDBOX_URL")
        with remote_sandbox(people, 0) as (url, _pid):
            config.write_text(config.read_text().replace(local, url))
            wall, steps, peak = run_reconcile(config, folder / "run", env)
        run_folder = folder / "run"
        result = read_result(run_folder)
        statements = len(list((run_folder / "statements").glob("*.pdf")))
        detail_rows = config_module.load(config).output.workbook_detail_rows
        workbook = run_folder / WORKBOOK_FILE
        return {
            "workbook_mib": workbook.stat().st_size / 2**20,
            "csv_ledgers": sorted(p.name for p in run_folder.glob("*.csv") if p.stem in LEDGERS),
            "libreoffice": libreoffice_load(workbook, folder),
            "people": people,
            "renderer": renderer,
            "wall": wall,
            "steps": steps,
            "peak": peak,
            "statements": statements,
            "activities": len(result.activities),
            "completions": len(result.completions),
            "floor": engine_floor(config, run_folder),
            "plain_workbook": plain_workbook(result, folder, detail_rows),
            "one_page_per_s": one_page_pages_per_second(),
        }


# ------------------------------------------------------------------ reporting


def table(m: dict) -> list[str]:
    steps, wall = m["steps"], m["wall"]
    baseline = {
        "engine": f"bare-pandas floor {m['floor']:.2f} s: "
        f"{steps.get('engine', 0) / m['floor']:.1f}x",
        "workbook": f"plain XlsxWriter {m['plain_workbook']:.1f} s: "
        f"{steps.get('workbook', 0) / m['plain_workbook']:.2f}x; file {m['workbook_mib']:.1f} MiB"
        + (f", ledgers in {' and '.join(m['csv_ledgers'])}" if m["csv_ledgers"] else "")
        + (
            f"; LibreOffice opens it in {m['libreoffice']:.1f} s"
            if m["libreoffice"] is not None
            else "; LibreOffice not installed"
        ),
    }
    if m["statements"] and steps.get("statements"):
        per_s = m["statements"] / steps["statements"]
        baseline["statements"] = (
            f"{m['statements']:,} statements, {per_s:.1f}/s; plain one-page render "
            f"{m['one_page_per_s']:.1f}/s in one process: {per_s / m['one_page_per_s']:.2f}x"
        )
    lines = [
        f"### {m['people']:,} people ({m['activities']:,} activities, "
        f"{m['completions']:,} completions; statements by {m['renderer']})",
        "",
        "| step | seconds | share | against |",
        "| --- | ---: | ---: | --- |",
    ]
    for step in STEPS:
        if step in steps:
            share = steps[step] / wall * 100
            lines.append(
                f"| {step} | {steps[step]:.1f} | {share:.0f}% | {baseline.get(step, '')} |"
            )
    other = wall - sum(steps.values())
    lines.append(f"| start-up and the rest | {other:.1f} | {other / wall * 100:.0f}% | |")
    lines.append(
        f"| **whole run** | **{wall:.1f}** ({wall / 60:.1f} min) | 100% | "
        f"peak memory of the process tree {m['peak'] / 2**30:.2f} GiB |"
    )
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--no-results", action="store_true", help="leave RESULTS.md alone")
    parser.add_argument("--statement-renderer", choices=("typst", "weasyprint"), default="typst")
    args = parser.parse_args()
    lines: list[str] = []
    for people in args.people:
        measured = measure(people, args.statement_renderer)
        block = table(measured)
        print("\n".join(block), flush=True)
        lines += block
    if not args.no_results:
        section = SECTION + (
            " with WeasyPrint statements" if args.statement_renderer == "weasyprint" else ""
        )
        replace_section(section, lines, "python bench/run.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
