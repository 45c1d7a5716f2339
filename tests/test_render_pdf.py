"""PDF reports: real PDFs written by WeasyPrint and parsed back with pypdf."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from reconcile.errors import ConfigError
from reconcile.render.pdf import write_report_pdf, write_statements
from reconcile.render.pdf_assets import SafeFetcher, our_templates, write_html_pdf
from reconcile.render.pdf_sample import sample_result
from reconcile.render.statement_files import statement_filename

HOSTILE = '<img src="file:///etc/passwd">'
ORG = "Acme Health"


def text_of(path: Path) -> str:
    reader = PdfReader(path)
    return "\n".join(page.extract_text() for page in reader.pages)


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.fixture(scope="module")
def result():
    return sample_result(40, team_size=8)


@pytest.fixture(scope="module")
def report(result, tmp_path_factory) -> Path:
    return write_report_pdf(
        result, tmp_path_factory.mktemp("r") / "compliance-report.pdf", organisation=ORG
    )


def test_report_has_figures_names_metadata_and_page_numbers(result, report):
    reader = PdfReader(report)
    pages = len(reader.pages)
    assert 3 <= pages <= 8
    text = flat(text_of(report))
    counts = result.status_counts()
    rate = f"{result.compliance_rate() * 100:.1f}%"
    assert ORG in text and rate in text
    assert f"{int(result.people['shortfall'].sum()):,} min" in text
    assert f"{counts['Compliant']} Compliant" in text or f"Compliant {counts['Compliant']}" in text
    for dept in result.departments["department"]:
        assert dept in text
    worst = result.people.sort_values("shortfall", ascending=False).iloc[0]
    assert worst["name"] in text
    assert f"Page 1 of {pages}" in text and f"Page {pages} of {pages}" in text
    assert reader.metadata.title == f"CPD compliance report — {ORG}"
    assert reader.metadata.author == ORG
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root and root["/MarkInfo"]["/Marked"]


def test_report_explains_exceptions_and_balances_sources(report):
    text = flat(text_of(report))
    assert "Duplicate activity" in text and "Only one copy counts" in text
    assert "Unmatched account" in text
    assert "counted" in text and "Method" in text and "Europe/London" in text
    assert "NO" not in re.findall(r"\b(?:yes|NO)\b", text)


@pytest.mark.parametrize("renderer", ["typst", "weasyprint"])
def test_manager_statement_holds_only_their_people(result, tmp_path, renderer):
    paths = write_statements(
        result, tmp_path / "statements", organisation=ORG, processes=1, renderer=renderer
    )
    people = result.people
    managed = people[people["manager_id"].notna()]
    assert sorted(p.stem for p in paths) == sorted(managed["manager_id"].unique())
    assert people["name"].is_unique and people["employee_id"].is_unique
    for path in paths:
        text = flat(text_of(path))
        mine = people[people["manager_id"] == path.stem]
        others = people[people["manager_id"] != path.stem]
        for name, eid in zip(mine["name"], mine["employee_id"], strict=True):
            assert name in text and eid in text
        owner = mine["manager"].iloc[0]
        assert f"Team of {owner}" in text
        assert not [n for n in others["name"] if n != owner and n in text]
        assert not [e for e in others["employee_id"] if e in text]
        first = mine.iloc[0]
        assert first["reason"] in text and first["status"] in text
        assert len(PdfReader(path).pages) == 1


@pytest.mark.parametrize("renderer", ["typst", "weasyprint"])
def test_person_statements_in_a_pool(result, tmp_path, renderer):
    small = sample_result(30, team_size=6, seed=3)
    paths = write_statements(
        small, tmp_path, organisation=ORG, by="person", processes=2, renderer=renderer
    )
    assert len(paths) == 30 and all(p.stat().st_size > 1000 for p in paths)
    one = small.people.iloc[7]
    text = flat(text_of(tmp_path / f"{one['employee_id']}.pdf"))
    assert one["name"] in text and one["reason"] in text
    assert small.people.iloc[8]["employee_id"] not in text
    assert not list(tmp_path.glob(".*.tmp"))


def test_hostile_course_title_is_text_and_loads_nothing(tmp_path):
    hostile = sample_result(16, titles=[HOSTILE, "Fire safety"])
    path = write_report_pdf(hostile, tmp_path / "r.pdf", organisation=f"{ORG} {HOSTILE}")
    text = flat(text_of(path))
    assert HOSTILE in text  # shown as the characters typed
    assert not images_in(path)


def images_in(path: Path) -> list[str]:
    """Every image XObject in the PDF, however deeply nested in form XObjects."""
    found: list[str] = []

    def walk(resources) -> None:
        xobjects = (resources or {}).get("/XObject") or {}
        for name, ref in xobjects.items():
            obj = ref.get_object()
            if obj.get("/Subtype") == "/Image":
                found.append(name)
            else:
                walk(obj.get("/Resources"))

    for page in PdfReader(path).pages:
        walk(page.get("/Resources"))
    return found


def test_fetcher_refuses_everything_but_template_assets(tmp_path):
    fetcher = SafeFetcher([our_templates()])
    for url in (
        "file:///etc/passwd",
        "http://127.0.0.1:9/x.css",
        "data:text/css,body{}",
        (our_templates() / "report.html").as_uri(),  # not an asset type
        (our_templates() / ".." / "pyproject.toml").resolve().as_uri(),
    ):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert fetcher.refused and not fetcher.served
    css = fetcher.fetch((our_templates() / "base.css").as_uri())
    assert b"@page" in css.read()
    # Markup that tries to load a local file and the network gets nothing.
    html = '<img src="file:///etc/passwd"><link rel="stylesheet" href="http://127.0.0.1:9/a.css">'
    used = write_html_pdf(html, tmp_path / "x.pdf", [our_templates()])
    assert not used.served and "file:///etc/passwd" in used.refused
    assert not images_in(tmp_path / "x.pdf")
    # The same markup through the stock fetcher would have loaded an image: the check bites.
    png = tmp_path / "dot.png"
    png.write_bytes(
        bytes.fromhex(
            "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
            "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
        )
    )
    allowed = write_html_pdf(f'<img src="{png.name}">', tmp_path / "y.pdf", [tmp_path])
    assert allowed.served and images_in(tmp_path / "y.pdf")


def test_user_templates_override_ours_file_by_file(result, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "statement.css").write_text("h1 { color: #123456; } .kicker::after { content: ' X' }")
    (mine / "report.html").write_text(
        "<html><head><title>{{ title }}</title></head>"
        "<body><p>Custom {{ organisation }}</p></body></html>"
    )
    path = write_report_pdf(result, tmp_path / "r.pdf", organisation=ORG, templates=mine)
    assert flat(text_of(path)).strip() == f"Custom {ORG}"
    paths = write_statements(result, tmp_path / "s", organisation=ORG, templates=mine, processes=1)
    assert "STATEMENT X" in text_of(paths[0]).upper()


def test_template_mistakes_are_one_line_config_errors(result, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "report.html").write_text("<p>{{ organisaton }}</p>")
    with pytest.raises(ConfigError, match="organisaton"):
        write_report_pdf(result, tmp_path / "r.pdf", organisation=ORG, templates=mine)
    assert not (tmp_path / "r.pdf").exists() and not list(tmp_path.glob(".*"))
    with pytest.raises(ConfigError, match="not a folder"):
        write_report_pdf(result, tmp_path / "r.pdf", organisation=ORG, templates=tmp_path / "x")
    with pytest.raises(ConfigError, match="person"):
        write_statements(result, tmp_path, organisation=ORG, by="team")  # type: ignore[arg-type]


def test_statement_file_names_cannot_escape_the_folder():
    escaping = statement_filename("../../etc/passwd")
    assert escaping.startswith("etc_passwd~") and escaping.endswith(".pdf")
    assert "/" not in escaping and ".." not in escaping
    assert escaping != statement_filename("etc_passwd") == "etc_passwd.pdf"
    assert statement_filename("000123") == "000123.pdf"
    assert statement_filename("").startswith("unnamed~")
    assert statement_filename("") != statement_filename("unnamed")


def test_long_tables_are_summarised(tmp_path):
    big = sample_result(400, team_size=10)
    path = write_report_pdf(big, tmp_path / "r.pdf", organisation=ORG)
    text = flat(text_of(path))
    assert len(PdfReader(path).pages) <= 8
    short = int((big.people["shortfall"] > 0).sum())
    assert f"{short:,} people are short" in text and "the 20 largest are listed" in text


@pytest.mark.parametrize("renderer", ["typst", "weasyprint"])
def test_statements_are_the_same_with_one_or_two_workers(result, tmp_path, monkeypatch, renderer):
    import reconcile.render.pdf as pdf

    monkeypatch.setattr(pdf, "POOL_THRESHOLD", 1)  # checked in this process: force the pool
    one = write_statements(
        result, tmp_path / "one", organisation=ORG, processes=1, renderer=renderer
    )
    two = write_statements(
        result, tmp_path / "two", organisation=ORG, processes=2, renderer=renderer
    )
    assert [p.name for p in one] == [p.name for p in two] and len(one) == 5
    for a, b in zip(one, two, strict=True):
        assert text_of(a) == text_of(b)
        assert len(PdfReader(a).pages) == len(PdfReader(b).pages) == 1
    assert "Page 1 of 1" in text_of(one[0])


def test_statements_use_the_shared_styles(result, tmp_path):
    """The statement styles are parsed once and passed to WeasyPrint, not inlined per page."""
    import reconcile.render.pdf as pdf

    pdf._worker_init(None, "weasyprint")
    html = pdf._render(
        pdf._ENV, "statement.html", {**next(iter_jobs(result)), "shared_styles": True}
    )
    assert "border-collapse" not in html and "@top-left" in html
    assert pdf._STATEMENT_CSS is not None


def iter_jobs(result):
    from reconcile.render import pdf_context

    return iter(pdf_context.statements(result, organisation=ORG, by="manager"))


FREEZE_PROBE = """
import gc, sys, tempfile
from reconcile.render import pdf, pdf_context
from reconcile.render.pdf_sample import sample_result
jobs = list(pdf_context.statements(sample_result(24, team_size=8), organisation="A", by="manager"))
pdf._worker_init(None, "weasyprint")
job_of = pdf._pool_statement_job if sys.argv[1] == "pool" else pdf._statement_job
tmp = tempfile.mkdtemp()
counts = []
for job in jobs[:2]:
    job_of((job, tmp, None))
    counts.append(gc.get_freeze_count())
print(counts[0], counts[1], int(gc.isenabled()), gc.get_count()[0])
"""


@pytest.mark.parametrize("kind", ["pool", "in-process"])
def test_only_pool_workers_collect_between_statements(kind):
    """A pool worker freezes what it keeps after its first statement (so full collections no
    longer walk WeasyPrint's ~100,000 long-lived objects), only once, and then collects
    after each statement instead of during it. The calling process, which may hold a
    user's result, keeps the collector as it was and freezes nothing."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-c", FREEZE_PROBE, kind],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
    )
    first, second, enabled, young = map(int, out.stdout.split())
    if kind == "pool":
        # not frozen again (a few frozen objects may be freed by reference counting)
        assert first > 50_000 and 0.9 * first < second <= first
        # automatic collection off, and the second statement's objects already collected
        assert enabled == 0 and young < 100
    else:
        assert first == second == 0 and enabled == 1
