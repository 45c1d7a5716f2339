"""Month-on-month changes: the pure compare, and its Changes sheet and PDF page read back."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from pypdf import PdfReader

from reconcile.engine import Result, Rules
from reconcile.engine.changes import CHANGE_TYPES, CHANGES_HEADERS, compare, summary_changes
from reconcile.render import write_report_pdf, write_workbook
from reconcile.render.pdf_sample import sample_result

YEAR = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))


def person(eid: str, status: str, **extra: object) -> dict[str, object]:
    row: dict[str, object] = {
        "employee_id": eid,
        "name": f"Person {eid}",
        "department": "Wards",
        "manager_id": "M1",
        "manager": "Mona Manager",
        "status": status,
        "counted": 600,
        "shortfall": 0 if status == "Compliant" else 300,
    }
    row.update(extra)
    return row


def result(rows: list[dict[str, object]], as_of: dt.date) -> Result:
    """A Result holding only what compare reads: people and rules (other frames empty)."""
    empty = pd.DataFrame()
    people = pd.DataFrame(rows)
    people["status"] = people["status"].astype("category")
    return Result(
        rules=Rules(*YEAR, as_of=as_of),
        people=people,
        activities=empty,
        completions=empty,
        accounts=empty,
        exceptions=empty,
        control_totals=empty,
        departments=empty,
        managers=empty,
        audiences=empty,
        categories=empty,
    )


OCT, NOV = dt.date(2026, 10, 15), dt.date(2026, 11, 15)


@pytest.fixture(scope="module")
def month() -> object:
    previous = result(
        [
            person("01", "On track"),  # → Non-compliant
            person("02", "Compliant"),  # → At risk
            person("03", "At risk"),  # → Compliant (resolved)
            person("04", "Non-compliant"),  # → Exempt (resolved)
            person("05", "Compliant"),  # left
            person("06", "Compliant", department="Pharmacy"),  # moved department
            person("07", "Compliant", manager_id="M2", manager="Max Other"),  # new manager
            person("08", "At risk"),  # unchanged
        ],
        OCT,
    )
    current = result(
        [
            person("01", "Non-compliant"),
            person("02", "At risk"),
            person("03", "Compliant"),
            person("04", "Exempt"),
            person("06", "Compliant"),
            person("07", "Compliant"),
            person("08", "At risk"),
            person("09", "On track"),  # joined
        ],
        NOV,
    )
    return previous, current, compare(previous, current)


def test_each_change_type_finds_its_person(month: object) -> None:
    _previous, _current, changes = month
    rows = changes.rows
    found = {t: sorted(rows.loc[rows["change_type"] == t, "employee_id"]) for t in CHANGE_TYPES}
    assert found == {
        "newly_non_compliant": ["01"],
        "newly_at_risk": ["02"],
        "resolved": ["03", "04"],
        "joined": ["09"],
        "left": ["05"],
        "department_changed": ["06"],
        "manager_changed": ["07"],
    }
    assert changes.counts() == {t: len(ids) for t, ids in found.items()}


def test_rows_carry_previous_and_current_values(month: object) -> None:
    _previous, _current, changes = month
    rows = changes.rows.set_index("change_type")
    moved = rows.loc["department_changed"]
    assert (moved["previous_department"], moved["department"]) == ("Pharmacy", "Wards")
    boss = rows.loc["manager_changed"]
    assert (boss["previous_manager"], boss["manager"]) == ("Max Other", "Mona Manager")
    gone = rows.loc["left"]
    assert gone["name"] == "Person 05" and gone["department"] == "Wards"
    assert pd.isna(gone["status"]) and gone["previous_status"] == "Compliant"
    assert pd.isna(gone["counted"]) and gone["previous_counted"] == 600
    worse = rows.loc["newly_non_compliant"]
    assert (worse["previous_status"], worse["status"], worse["shortfall"]) == (
        "On track",
        "Non-compliant",
        300,
    )
    assert list(changes.rows["change_type"]) == [
        t for t in CHANGE_TYPES for _ in range(changes.counts()[t])
    ]


def test_rate_before_after_and_points(month: object) -> None:
    _previous, _current, changes = month
    # Before: 4 compliant of 8 owing; after: 3 compliant of 7 owing (04 is Exempt).
    assert changes.rate_before == pytest.approx(4 / 8)
    assert changes.rate_after == pytest.approx(3 / 7)
    assert changes.rate_change_points == pytest.approx((3 / 7 - 4 / 8) * 100)
    content = summary_changes(changes)
    assert content["previous"]["as_of"] == "2026-10-15"
    assert content["compliance_rate_before"] == 0.5
    assert content["compliance_rate_change_points"] == pytest.approx(-7.14, abs=0.01)
    assert content["counts"]["resolved"] == 2


def test_nobody_changed_gives_no_rows_and_zero_points() -> None:
    same = result([person("01", "Compliant"), person("02", "At risk")], NOV)
    changes = compare(same, same)
    assert changes.rows.empty
    assert set(changes.counts().values()) == {0}
    assert changes.rate_change_points == 0
    assert list(changes.sheet().columns) == list(CHANGES_HEADERS.values())


def test_a_blank_department_becoming_filled_is_a_move_but_blank_to_blank_is_not() -> None:
    before = result(
        [person("01", "Compliant", department=None), person("02", "Compliant", department=None)],
        OCT,
    )
    after = result(
        [person("01", "Compliant", department="Wards"), person("02", "Compliant", department=None)],
        NOV,
    )
    rows = compare(before, after).rows
    assert list(rows["employee_id"]) == ["01"]
    assert list(rows["change_type"]) == ["department_changed"]


# ------------------------------------------------------------------ rendered


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, object]:
    """A real engine result for two months; this month plants a formula-looking name and a
    person who newly needs attention."""
    previous = sample_result(40, as_of=dt.date(2026, 8, 31))
    current = sample_result(40, as_of=dt.date(2026, 9, 30))
    people = current.people.copy()
    people["status"] = people["status"].astype(str)
    first = people.index[0]
    people.loc[first, "name"] = '=HYPERLINK("http://x","y")'
    planted = people.index[people["status"] != "Non-compliant"][1]
    people.loc[planted, ["name", "status"]] = ["Zara Plantedperson", "Non-compliant"]
    people["status"] = people["status"].astype("category")
    current = dataclasses.replace(current, people=people)
    previous_people = previous.people.copy()
    previous_people.loc[
        previous_people["employee_id"] == people.loc[first, "employee_id"], "department"
    ] = "Old Dept"
    previous = dataclasses.replace(previous, people=previous_people)
    changes = compare(previous, current)
    folder = tmp_path_factory.mktemp("changes")
    book = write_workbook(current, folder / "compliance.xlsx", changes=changes)
    pdf = write_report_pdf(current, folder / "report.pdf", organisation="Acme", changes=changes)
    return book, pdf, changes


def test_changes_sheet_follows_summary_with_headers_values_and_text_names(rendered: object) -> None:
    book, _pdf, changes = rendered
    workbook = openpyxl.load_workbook(book)
    assert workbook.sheetnames[:3] == ["Summary", "Changes", "People"]
    sheet = workbook["Changes"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == tuple(CHANGES_HEADERS.values())
    assert len(rows) == len(changes.rows) + 1
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref.startswith("A1:M")
    planted = [r for r in rows if r[2] == "Zara Plantedperson"]
    assert planted and planted[0][0] == "Newly non-compliant" and planted[0][6] == "Non-compliant"
    cells = [c for c in sheet["C"] if isinstance(c.value, str) and c.value.startswith("=HYPER")]
    assert cells and all(c.data_type == "s" for c in cells)
    moved = [r for r in rows if r[0] == "Changed department"]
    assert moved and moved[0][7] == "Old Dept"
    assert all(isinstance(r[10], int) for r in rows[1:] if r[10] is not None)


def test_pdf_has_the_changes_page_with_headline_and_planted_person(rendered: object) -> None:
    _book, pdf, changes = rendered
    text = "\n".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "Changes since 31 Aug 2026" in text
    assert "Zara Plantedperson" in text
    assert "Newly non-compliant" in text
    before = f"{changes.rate_before * 100:.1f}%"
    assert before in text


def test_long_lists_are_capped_with_a_pointer_to_the_sheet() -> None:
    from reconcile.render import pdf_context

    before = result([person(f"{i:03d}", "Compliant") for i in range(40)], OCT)
    after = result([person(f"{i:03d}", "At risk") for i in range(40)], NOV)
    context = pdf_context.changes(compare(before, after))
    group = context["groups"][0]
    assert group["label"] == "Newly at risk" and group["count"] == 40
    assert len(group["rows"]) == pdf_context.MAX_CHANGES_PER_TYPE
    assert group["more"] == 40 - pdf_context.MAX_CHANGES_PER_TYPE
