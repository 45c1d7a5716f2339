"""What another renderer would cost: the same statements through WeasyPrint and through Typst.

    .venv/bin/pip install typst                    # not a dependency of reconcile
    .venv/bin/python bench/statements_typst.py     # 9,000 people: about 1,000 statements
    .venv/bin/python bench/statements_typst.py --people 100000 --no-weasyprint

Why: on two cores the statements of a 100,000-person month take about nine minutes through
WeasyPrint, at its floor (bench/statements.py), more than the whole run's target of issue 21.
A faster renderer is a design decision (users' HTML statement templates would not carry
over), so this measures one before anyone makes it. Typst (https://typst.app, the ``typst``
wheel) writes tagged PDF by default, as DESIGN §7 asks of a statement.

Both renderers get the same contexts (``pdf_context.statement_contexts``) of the synthetic
organisation of ``reconcile.render.pdf_sample`` (each manager has 3-15 people, a structured
requirement). WeasyPrint is measured as ``reconcile run`` writes statements
(``write_statements``); Typst draws ``bench/typst/statement.typ`` (the content of
``templates/statement.html``: header, counts, one row and one reason line per person, page X
of Y) with one compiler per process. Each is run with one process and with one per core.

Printed: statements per second, the minutes 11,000 statements would take, pages per
statement, whether every PDF sampled is tagged (``/MarkInfo /Marked true`` and a structure
tree) and holds each of its people's names as text.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from results import replace_section  # noqa: E402

from reconcile.render import pdf, pdf_context  # noqa: E402
from reconcile.render.pdf_assets import format_minutes, format_number, format_percent  # noqa: E402
from reconcile.render.pdf_sample import sample_result  # noqa: E402

SECTION = "## Statements through another renderer: `bench/statements_typst.py`"
TEMPLATE = HERE / "typst" / "statement.typ"
MONTH_OF_STATEMENTS = 11_000


def typst_data(context: dict[str, Any]) -> str:
    """The statement's context as the Typst template reads it: figures already formatted,
    as the Jinja filters format them for the HTML template."""
    people = [
        {
            **p,
            "department": p.get("department") or "",
            "progress_text": format_percent(p["progress"]),
            "counted_text": format_minutes(p["counted"]),
            "pending_text": format_number(p["pending"]),
            "required_text": format_minutes(p["required"]),
            "structured_text": format_number(p["structured"]),
            "structured_required_text": format_number(p["structured_required"]),
            "shortfall_text": format_minutes(p["shortfall"]),
            "pending": p["pending"] or 0,
            "structured_required": p["structured_required"] or 0,
        }
        for p in context["people"]
    ]
    return json.dumps({**context, "people": people}, default=str)


_COMPILER: Any = None


def _typst_init() -> None:
    global _COMPILER  # noqa: PLW0603 - one compiler per process, its caches shared
    import typst

    _COMPILER = typst.Compiler(input=str(TEMPLATE), root=str(TEMPLATE.parent))


def _typst_one(job: tuple[str, str]) -> str:
    data, target = job
    _COMPILER.compile(output=target, sys_inputs={"data": data})
    return target


def typst_statements(jobs: list[tuple[str, str]], processes: int) -> float:
    """Seconds to write every job's PDF with ``processes`` processes."""
    started = time.perf_counter()
    if processes == 1:
        _typst_init()
        for job in jobs:
            _typst_one(job)
    else:
        context = multiprocessing.get_context("forkserver")
        with context.Pool(processes, initializer=_typst_init) as pool:
            list(pool.imap(_typst_one, jobs, chunksize=16))
    return time.perf_counter() - started


def weasyprint_statements(result: Any, folder: Path, processes: int) -> float:
    started = time.perf_counter()
    pdf.write_statements(result, folder, organisation="Org", processes=processes)
    return time.perf_counter() - started


def check(paths: list[Path], contexts: dict[str, dict[str, Any]]) -> tuple[float, bool, bool]:
    """Mean pages, and whether every sampled PDF is tagged and holds its people's names."""
    from pypdf import PdfReader

    pages, tagged, named = 0, True, True
    sample = random.Random(1).sample(paths, min(200, len(paths)))
    for path in sample:
        reader = PdfReader(path)
        pages += len(reader.pages)
        root = reader.trailer["/Root"]
        marked = root.get("/MarkInfo", {}).get("/Marked")
        tagged = tagged and bool(marked) and "/StructTreeRoot" in root
        text = " ".join(page.extract_text() for page in reader.pages)
        people = contexts[path.stem]["people"]
        named = named and all(p["name"] in text for p in people)
    return pages / max(1, len(sample)), tagged, named


def main() -> None:
    try:
        import typst  # noqa: F401
    except ImportError:
        raise SystemExit("this benchmark needs Typst: .venv/bin/pip install typst") from None
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=9_000)
    parser.add_argument("--no-weasyprint", action="store_true", help="Typst alone")
    parser.add_argument("--no-results", action="store_true", help="leave bench/RESULTS.md")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    result = sample_result(args.people, team_size=(3, 15), structured_minutes=600)
    groups = pdf_context.statement_groups(result, by="manager")
    base = pdf_context.period_context(result, "Org")
    contexts = {c["statement_id"]: c for c in pdf_context.statement_contexts(groups, base)}
    rows: list[tuple[str, int, float, float, bool, bool]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for processes in sorted({1, cores}):
            folder = Path(tmp, f"typst-{processes}")
            folder.mkdir()
            jobs = [(typst_data(c), str(folder / f"{i}.pdf")) for i, c in contexts.items()]
            seconds = typst_statements(jobs, processes)
            paths = sorted(folder.glob("*.pdf"))
            rows.append(("Typst", processes, seconds, *check(paths, contexts)))
            print(rows[-1], flush=True)
            if args.no_weasyprint:
                continue
            folder = Path(tmp, f"weasyprint-{processes}")
            seconds = weasyprint_statements(result, folder, processes)
            paths = sorted(folder.glob("*.pdf"))
            rows.append(("WeasyPrint", processes, seconds, *check(paths, contexts)))
            print(rows[-1], flush=True)
    lines = report(rows, len(contexts), args.people)
    print("\n".join(lines))
    if not args.no_results:
        replace_section(
            SECTION, lines, "python bench/statements_typst.py " + " ".join(sys.argv[1:])
        )


def report(
    rows: list[tuple[str, int, float, float, bool, bool]], count: int, people: int
) -> list[str]:
    lines = [
        f"{people:,} people, {count:,} statements (pdf_sample's organisation).",
        "",
        "| renderer | processes | seconds | statements/s | minutes for 11,000 | pages each "
        "| tagged | names as text |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for name, processes, seconds, pages, tagged, named in rows:
        rate = count / seconds
        lines.append(
            f"| {name} | {processes} | {seconds:.1f} | {rate:.1f} | "
            f"{MONTH_OF_STATEMENTS / rate / 60:.1f} | {pages:.2f} | {'yes' if tagged else 'NO'} | "
            f"{'yes' if named else 'NO'} |"
        )
    return lines


if __name__ == "__main__":
    main()
