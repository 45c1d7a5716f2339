"""Statements drawn by Typst (``[output] statement_renderer = "typst"``) say what the HTML
statements say, to the same people only, tagged and paged, and no value can act as markup
or make Typst read a file outside its template folder."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from reconcile.errors import ConfigError
from reconcile.render import pdf_context
from reconcile.render.pdf import write_statements
from reconcile.render.pdf_sample import sample_result

ORG = "Acme Health"


def text_of(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def squeezed(text: str) -> str:
    """Text without any whitespace: the two renderers wrap lines at different places."""
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def result():
    return sample_result(60, team_size=(3, 15), seed=11, structured_minutes=600)


@pytest.fixture(scope="module")
def both(result, tmp_path_factory) -> dict[str, list[Path]]:
    folder = tmp_path_factory.mktemp("both")
    return {
        renderer: write_statements(
            result, folder / renderer, organisation=ORG, renderer=renderer, processes=1
        )
        for renderer in ("weasyprint", "typst")
    }


def fields_shown(context: dict) -> list[str]:
    """What the HTML template shows for each person, as its filters format it."""
    from reconcile.render.pdf_typst import _person

    shown = [context["owner_name"], context["period_start"], context["period_end"]]
    for person in map(_person, context["people"]):
        shown += [person["name"], person["employee_id"], person["status"], person["reason"]]
        shown += [person["counted_text"], person["required_text"], person["shortfall_text"]]
        shown += [person[k] for k in ("progress_text", "structured_text") if person[k]]
    return shown


def test_typst_statements_show_what_the_html_statements_show(result, both):
    assert [p.name for p in both["typst"]] == [p.name for p in both["weasyprint"]]
    groups = pdf_context.statement_groups(result, by="manager")
    contexts = pdf_context.statement_contexts(groups, pdf_context.period_context(result, ORG))
    checked = 0
    for context, html_pdf, typst_pdf in zip(
        contexts, both["weasyprint"], both["typst"], strict=True
    ):
        html, typst = squeezed(text_of(html_pdf)), squeezed(text_of(typst_pdf))
        for value in fields_shown(context):
            assert squeezed(value) in html, (html_pdf.name, value)
            assert squeezed(value) in typst, (typst_pdf.name, value)
            checked += 1
        for count in context["counts"]:
            assert squeezed(f"{count['name']} {count['count']}") in typst
        assert squeezed(f"Team of {context['owner_name']}") in typst
    assert checked > 300


def test_a_typst_statement_holds_only_its_people_tagged_and_paged(result, both):
    people = result.people
    for path in both["typst"]:
        text = text_of(path)
        mine = people[people["manager_id"] == path.stem]
        others = people[(people["manager_id"] != path.stem) & (people["employee_id"] != path.stem)]
        assert all(e in text for e in mine["employee_id"])
        assert not [e for e in others["employee_id"] if re.search(rf"\b{e}\b", text)]
        reader = PdfReader(path)
        pages = len(reader.pages)
        assert f"Page {pages} of {pages}" in squeezed(text).replace("Page", "Page ").replace(
            "of", " of "
        )
        root = reader.trailer["/Root"]
        assert root["/MarkInfo"]["/Marked"] and "/StructTreeRoot" in root
        assert [round(float(x)) for x in reader.pages[0].mediabox[2:]] == [595, 842]  # A4
        assert reader.metadata.author == ORG
        assert reader.metadata.title.startswith("CPD statement")
        assert path.stat().st_mode & 0o077 == 0  # HR data: the job's user alone


def test_a_long_team_runs_over_pages_with_each_person_whole(tmp_path):
    big = sample_result(90, team_size=90, seed=5)
    [path] = write_statements(big, tmp_path, organisation=ORG, renderer="typst", processes=1)
    reader = PdfReader(path)
    assert len(reader.pages) >= 3
    ids = sorted(big.people["employee_id"])[1:]
    for page in reader.pages:
        text = page.extract_text()
        # a person's row and reason line share a page: every id on a page has its reason there
        for eid in [e for e in ids if e in text]:
            reason = big.people.loc[big.people["employee_id"] == eid, "reason"].iloc[0]
            assert squeezed(reason) in squeezed(text), (eid, reason)
        assert "Name" in text and "Shortfall" in text  # the header row on every page


def test_values_are_text_never_typst_markup(tmp_path):
    hostile = sample_result(8, team_size=8, seed=2)
    odd = ['#panic("boom")', "*b* _i_ $x^2$ <l> @r", '#read("/etc/passwd")', "= Heading \\"]
    people = hostile.people
    for position, name in zip(range(1, 5), odd, strict=True):
        people.loc[people.index[position], "name"] = name
    [path] = write_statements(
        hostile, tmp_path, organisation='#link("https://x.example")', renderer="typst"
    )
    text = text_of(path)
    for name in odd:
        assert squeezed(name) in squeezed(text)
    assert "root:" not in text and 'link("https://x.example")' in text


def test_a_users_statement_typ_overrides_ours_and_its_mistakes_are_config_errors(result, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "statement.typ").write_text(
        "#let d = json(bytes(sys.inputs.data))\nCustom statement for #d.owner_name\n"
    )
    paths = write_statements(
        result, tmp_path / "s", organisation=ORG, templates=mine, renderer="typst"
    )
    assert text_of(paths[0]).startswith("Custom statement for ")
    (mine / "statement.typ").write_text("#let d = json(bytes(sys.inputs.data))\n#d.no_such\n")
    with pytest.raises(ConfigError, match=r"statement\.typ: .*no_such.*fix the template"):
        write_statements(result, tmp_path / "t", organisation=ORG, templates=mine, renderer="typst")
    assert not list((tmp_path / "t").glob("*"))
    (mine / "statement.typ").write_text('#read("/etc/passwd")\n')
    with pytest.raises(ConfigError, match=r"statement\.typ") as refused:
        write_statements(result, tmp_path / "u", organisation=ORG, templates=mine, renderer="typst")
    assert "root:" not in str(refused.value)


def test_typst_by_default_unless_the_users_folder_restyles_the_html_statement(tmp_path):
    from reconcile.render.pdf import statement_renderer

    mine = tmp_path / "mine"
    mine.mkdir()
    assert statement_renderer(None, None) == "typst"
    (mine / "report.html").write_text("<p>only the report is theirs</p>")
    assert statement_renderer(None, mine) == "typst"
    for name in ("statement.html", "statement.css", "base.css", "_macros.html"):
        (mine / name).write_text("/* theirs */")
        assert statement_renderer(None, mine) == "weasyprint", name
        assert statement_renderer("typst", mine) == "typst"
        (mine / name).unlink()


def test_an_unknown_renderer_is_a_config_error(result, tmp_path):
    with pytest.raises(ConfigError, match='"typst" or "weasyprint"'):
        write_statements(result, tmp_path, organisation=ORG, renderer="latex")  # type: ignore[arg-type]


def test_report_with_statement_renderer_typst_writes_and_records_typst_statements(
    workspace: Path,
) -> None:
    """The config's key reaches the run: every manager's statement is Typst's, recorded in
    statements.csv with the hash `send` checks."""
    import csv

    from click.testing import CliRunner

    from reconcile.cli import cli
    from reconcile.files import sha256_of
    from tests.smtp_server import managers, run_folder

    config = workspace / "reconcile.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace(
            'statements = "manager"', 'statements = "manager"\nstatement_renderer = "typst"'
        ),
        encoding="utf-8",
    )
    folder = run_folder(workspace)
    args = ["report", "-c", config, "--snapshot", folder, "--out", folder]
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    expected = {f"{m}.pdf" for m in managers(workspace)["manager_id"]}
    statements = sorted((folder / "statements").iterdir())
    assert {p.name for p in statements} == expected
    for path in statements:
        assert PdfReader(path).metadata["/Creator"].startswith("Typst")
    with (folder / "statements.csv").open(encoding="utf-8", newline="") as handle:
        record = {row["file"]: row["sha256"] for row in csv.DictReader(handle)}
    assert {Path(f).name for f in record} == expected
    for file, digest in record.items():
        assert sha256_of(folder / "statements" / Path(file).name) == digest
