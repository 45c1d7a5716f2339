"""The same statements drawn by both renderers: Typst (statement.typ), WeasyPrint (.html).

    .venv/bin/python bench/statements_typst.py                   # 9,000 people: ~1,000 statements
    .venv/bin/python bench/statements_typst.py --people 100000 --no-weasyprint

Why: WeasyPrint lays out each statement in pure Python, and at 100,000 people its 11,000
statements were most of the month's run on two cores (bench/statements.py finds where its
time goes). Typst, a compiled typesetter, is the default statement renderer since it draws
the same statement, tagged, several times faster; this measures by how much.

Both renderers write the statements of the synthetic organisation of
``reconcile.render.pdf_sample`` (each manager has 3-15 people, a structured requirement) as
``reconcile run`` does (``write_statements``, ``renderer=``), with one process and with one
per core. Printed: statements per second, the minutes 11,000 statements would take, pages per
statement, and whether every PDF sampled is tagged (``/MarkInfo /Marked true`` and a
structure tree) and holds each of its people's names as text.
"""

from __future__ import annotations

import argparse
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
from reconcile.render.pdf_sample import sample_result  # noqa: E402

SECTION = "## Statements by renderer: `bench/statements_typst.py`"
NAMES = {"typst": "Typst", "weasyprint": "WeasyPrint"}
MONTH_OF_STATEMENTS = 11_000


def statements(result: Any, folder: Path, renderer: str, processes: int) -> float:
    """Seconds to write every statement with ``renderer`` and ``processes`` processes."""
    started = time.perf_counter()
    pdf.write_statements(
        result,
        folder,
        organisation="Org",
        renderer=renderer,
        processes=processes,
    )
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
    renderers = ["typst"] if args.no_weasyprint else ["typst", "weasyprint"]
    with tempfile.TemporaryDirectory() as tmp:
        for processes in sorted({1, cores}):
            for renderer in renderers:
                folder = Path(tmp, f"{renderer}-{processes}")
                seconds = statements(result, folder, renderer, processes)
                paths = sorted(folder.glob("*.pdf"))
                rows.append((NAMES[renderer], processes, seconds, *check(paths, contexts)))
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
