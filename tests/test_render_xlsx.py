"""compliance.xlsx written from a small hand-computed organisation and read back with openpyxl."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import os
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from reconcile.engine import CanonicalTables, Rules, reconcile
from reconcile.render import write_workbook
from reconcile.render.xlsx import SHEETS, STATUS_COLOURS

GOLDEN = Path(__file__).parent / "golden" / "compliance_small.json"
TZ = "Europe/London"
AS_OF = dt.date(2026, 7, 1)

PEOPLE_COLUMNS = [
    "Employee ID",
    "Name",
    "Email",
    "Department",
    "Manager",
    "Audiences",
    "Required (min)",
    "Structured required (min)",
    "Counted (min)",
    "Structured (min)",
    "Pending (min)",
    "Shortfall (min)",
    "Progress %",
    "Status",
    "Reason",
]
EXCEPTION_COLUMNS = ["Type", "Severity", "Employee ID", "System", "Record ID", "Minutes", "Detail"]


def _person(eid, name, dept, **kw):
    row = {
        "employee_id": eid,
        "name": name,
        "email": f"{eid.lower()}@acme.example",
        "department": dept,
    }
    row.update(kw)
    return row


def _act(rid, account, minutes, when, title="Fire safety"):
    return {
        "system": "thrive",
        "record_id": rid,
        "account_id": account,
        "title": title,
        "minutes": minutes,
        "completed_at": when,
        "source_table": "thrive/records",
    }


def organisation():
    """Six people, one per status, 1,200 min owed in 2026, as of 1 July (London).

    E1 700 min by 1 July: 700 ≥ 1,200 × 182/365 = 598.4 → On track, shortfall 500, 58.3 %.
    E2 1,300 min → Compliant. E3 nothing → At risk. E4 exempt. E5 left 31 May with 0 min:
    window ended → Non-compliant. E6 in no audience → Not required.
    """
    people = [
        _person("E1", "Ann Able", "Ward", manager_id="E2"),
        _person("E2", '=HYPERLINK("http://x")', "Ward"),
        _person("E3", "+Cy Cole", "ICU"),
        _person("E4", "@Di Dee", "ICU", exempt=True),
        _person("E5", "-Ed Eve", "ICU", leave_date=dt.date(2026, 5, 31)),
        _person("0007", "Fay Fox", "Admin"),
    ]
    accounts = [
        {
            "system": "thrive",
            "account_id": f"t{i}",
            "email": p["email"],
            "source_table": "thrive/users",
        }
        for i, p in enumerate(people, start=1)
    ]
    accounts.append(
        {
            "system": "thrive",
            "account_id": "t99",
            "email": "nobody@x",
            "source_table": "thrive/users",
        }
    )
    activities = [
        _act("a1", "t1", 400.0, "2026-02-01T10:00:00Z"),
        # 23:30 UTC on 30 June is 00:30 on 1 July in London (BST)
        _act("a2", "t1", 300.0, "2026-06-30T23:30:00Z", title="=1+1"),
        _act("a3", "t2", 1300.0 / 2, "2026-03-01T09:00:00Z", title="Course A"),
        _act("a4", "t2", 1300.0 / 2, "2026-04-01T09:00:00Z", title="Course B"),
        _act("a5", "t99", 45.0, "2026-03-03T09:00:00Z"),
    ]
    requirements = [
        {
            "audience": "Nurses",
            "required_minutes": 1200.0,
            "structured_minutes": 0.0,
            "origin": "policy",
            "source_table": "policy/requirements",
        }
    ]
    memberships = [
        {"audience": "Nurses", "employee_id": e, "source_table": "roster/roster.xlsx"}
        for e in ("E1", "E2", "E3", "E4", "E5")
    ]
    tables = CanonicalTables.build(
        people=pd.DataFrame(people),
        accounts=pd.DataFrame(accounts),
        activities=pd.DataFrame(activities),
        requirements=pd.DataFrame(requirements),
        memberships=pd.DataFrame(memberships),
    )
    return reconcile(tables, Rules(dt.date(2026, 1, 1), dt.date(2026, 12, 31), AS_OF, TZ))


ISSUES = pd.DataFrame(
    [
        {
            "file": "roster.xlsx",
            "sheet": "Staff",
            "row": 7,
            "column": "audiences",
            "value": "=Midwives",
            "problem": "unknown audience",
            "fix": "add it to the Requirements sheet",
            "severity": "warning",
            "code": "unknown_audience",
        }
    ]
)
PULLED = {
    ("thrive", "records"): "2026-07-01T08:15:00Z",
    ("thrive", "users"): "2026-07-01T08:14:00Z",
}


@pytest.fixture(scope="module")
def result():
    return organisation()


@pytest.fixture(scope="module")
def book(result, tmp_path_factory):
    path = tmp_path_factory.mktemp("xlsx") / "compliance.xlsx"
    write_workbook(result, path, issues=ISSUES, pulled_at=PULLED)
    return path, openpyxl.load_workbook(path)


def _rows(ws):
    return [list(r) for r in ws.iter_rows(values_only=True) if any(v is not None for v in r)]


def _records(ws) -> list[dict]:
    rows = _rows(ws)
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_sheets_and_pinned_columns(book):
    _, wb = book
    assert wb.sheetnames == list(SHEETS)
    assert _rows(wb["People"])[0] == PEOPLE_COLUMNS
    assert _rows(wb["Exceptions"])[0] == EXCEPTION_COLUMNS
    sources = _rows(wb["Sources"])[0]
    assert sources[:3] == ["Source", "Table", "Pulled"] and sources[-1] == "Pulled at"
    assert _rows(wb["Input issues"])[0] == [
        "File", "Sheet", "Row", "Column", "Value", "Problem", "Fix", "Severity", "Code"
    ]  # fmt: skip


def test_people_values_hand_computed(book):
    _, wb = book
    people = {r["Employee ID"]: r for r in _records(wb["People"])}
    assert list(people) == ["0007", "E1", "E2", "E3", "E4", "E5"]  # engine order: by id
    e1 = people["E1"]
    assert (e1["Required (min)"], e1["Counted (min)"], e1["Shortfall (min)"]) == (1200, 700, 500)
    assert e1["Progress %"] == pytest.approx(58.3)
    assert e1["Manager"] == '=HYPERLINK("http://x")'
    assert {e: r["Status"] for e, r in people.items()} == {
        "E1": "On track",
        "E2": "Compliant",
        "E3": "At risk",
        "E4": "Exempt",
        "E5": "Non-compliant",
        "0007": "Not required",
    }
    assert people["E4"]["Progress %"] is None and people["E4"]["Required (min)"] == 0
    assert all(isinstance(r["Counted (min)"], int) for r in people.values())


def test_summary_headline_figures(book):
    _, wb = book
    figures = {r[0]: r[1] for r in _rows(wb["Summary"])[2:]}
    assert figures["People"] == 6
    # Compliant 1 ÷ (6 − Exempt 1 − Not required 1) = 0.25
    assert figures["Compliance rate"] == pytest.approx(0.25)
    assert figures["Period start"] == dt.datetime(2026, 1, 1)
    assert figures["As of"] == dt.datetime(2026, 7, 1)
    assert [figures[s] for s in STATUS_COLOURS] == [1, 1, 1, 1, 1, 1]
    assert figures["unmatched_account"] == 1
    assert figures["thrive"] == dt.datetime(2026, 7, 1, 9, 15)  # latest pull, BST


def test_summary_has_two_native_charts(book):
    path, _ = book
    with zipfile.ZipFile(path) as z:
        charts = sorted(n for n in z.namelist() if n.startswith("xl/charts/chart"))
        xml = "".join(z.read(n).decode() for n in charts)
    assert len(charts) == 2
    assert "<c:pieChart>" in xml and "<c:barChart>" in xml
    assert "Departments!$L$2:$L$4" in xml  # compliance rate by department


def test_status_cells_coloured(book):
    _, wb = book
    ws = wb["People"]
    col = PEOPLE_COLUMNS.index("Status") + 1
    for r in range(2, ws.max_row + 1):
        cell = ws.cell(r, col)
        if cell.value is None:
            continue
        fill, font = STATUS_COLOURS[cell.value]
        assert cell.fill.fgColor.rgb == "FF" + fill[1:]
        assert cell.font.color.rgb == "FF" + font[1:]


def test_dates_are_local_naive_excel_dates(book):
    _, wb = book
    acts = {r["Record ID"]: r for r in _records(wb["Activities"])}
    assert acts["a2"]["Completed at"] == dt.datetime(2026, 7, 1, 0, 30)
    assert acts["a2"]["Local date"] == dt.datetime(2026, 7, 1)
    assert acts["a2"]["Completed at"].tzinfo is None
    ws = wb["Activities"]
    assert ws["I2"].is_date and ws["J2"].is_date
    assert ws["I2"].number_format == "yyyy-mm-dd hh:mm"
    assert all(isinstance(r["Minutes"], int) for r in acts.values())
    sources = {(r["Source"], r["Table"]): r for r in _records(wb["Sources"])}
    assert sources[("thrive", "records")]["Pulled at"] == dt.datetime(2026, 7, 1, 9, 15)


def test_formula_looking_inputs_are_text(book):
    _, wb = book
    found = {}
    for ws in wb:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value[:1] in "=+-@":
                    found[cell.value] = cell.data_type
    assert {"=1+1", '=HYPERLINK("http://x")', "+Cy Cole", "@Di Dee", "-Ed Eve", "=Midwives"} <= set(
        found
    )
    assert set(found.values()) == {"s"}


def test_sheet_finish(book):
    _, wb = book
    for name in SHEETS[1:]:
        ws = wb[name]
        assert ws.freeze_panes == "A2", name
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:"), name
        assert ws["A1"].font.bold, name
    widths = wb["People"].column_dimensions
    assert widths["O"].width > widths["G"].width  # Reason wider than a number
    assert wb["Departments"]["L3"].number_format == "0.0%"


def test_sources_rows_add_up(book):
    _, wb = book
    for r in _records(wb["Sources"]):
        parts = [v for k, v in r.items() if k not in ("Source", "Table", "Pulled", "Pulled at")]
        assert r["Pulled"] == sum(v for v in parts if v is not None)


def test_overflow_continues_on_numbered_sheets(result, tmp_path):
    path = write_workbook(result, tmp_path / "c.xlsx", row_limit=2)
    wb = openpyxl.load_workbook(path)
    names = [n for n in wb.sheetnames if n.startswith("Activities")]
    assert names == ["Activities", "Activities (2)", "Activities (3)"]
    ids = []
    for n in names:
        rows = _rows(wb[n])
        assert rows[0][:2] == ["System", "Record ID"] and len(rows) <= 3
        ids += [r[1] for r in rows[1:]]
    assert sorted(ids) == ["a1", "a2", "a3", "a4", "a5"]
    assert [n for n in wb.sheetnames if n.startswith("People")] == [
        "People", "People (2)", "People (3)"
    ]  # fmt: skip


def test_a_ledger_past_detail_rows_goes_whole_to_csv_and_the_sheet_keeps_its_exceptions(
    result, book, tmp_path
):
    """5 activities, detail_rows 4: all 5 in activities.csv (UTF-8 with BOM, the sheet's
    columns), the sheet keeps a5 (its account matches nobody) under a line saying so."""
    path = write_workbook(result, tmp_path / "compliance.xlsx", detail_rows=4)
    assert sorted(os.listdir(tmp_path)) == ["activities.csv", "compliance.xlsx"]
    raw = (tmp_path / "activities.csv").read_bytes()
    assert raw.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows[0] == _rows(book[1]["Activities"])[0]
    by_id = {r[1]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert sorted(by_id) == ["a1", "a2", "a3", "a4", "a5"]
    # 23:30 UTC on 30 June is 00:30 on 1 July in London; a formula-like title stays text
    a2 = by_id["a2"]
    assert (a2["Completed at"], a2["Local date"], a2["Title"]) == (
        "2026-07-01 00:30",
        "2026-07-01",
        "'=1+1",
    )
    assert (a2["Minutes"], a2["Disposition"], a2["Structured"]) == ("300", "counted", "FALSE")
    sheet = _rows(openpyxl.load_workbook(path)["Activities"])
    assert sheet[0][0] == (
        "All 5 activities are in activities.csv, beside this workbook. "
        "This sheet lists the 1 that carry an exception."
    )
    assert sheet[1][:2] == ["System", "Record ID"]
    assert [r[1] for r in sheet[2:]] == ["a5"]


def test_written_atomically(result, tmp_path):
    target = tmp_path / "compliance.xlsx"
    target.write_bytes(b"old")
    write_workbook(result, target)
    assert zipfile.is_zipfile(target)
    assert os.listdir(tmp_path) == ["compliance.xlsx"]
    with pytest.raises(ValueError):
        write_workbook(result, tmp_path / "other.xlsx", row_limit=0)
    assert os.listdir(tmp_path) == ["compliance.xlsx"]


def _as_json(path: Path) -> dict:
    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb:
        out[ws.title] = [
            [v.isoformat() if isinstance(v, dt.datetime) else v for v in row] for row in _rows(ws)
        ]
    return out


def test_golden_workbook_values(book):
    path, _ = book
    got = _as_json(path)
    if os.environ.get("RECONCILE_REGEN_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert got == json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_pulled_at_from_either_manifest_shape():
    from reconcile.render.xlsx import _pulled_lookup

    flat = {"tables": [{"source": "thrive", "table": "users", "pulled_at": "2026-07-01T08:00Z"}]}
    nested = {
        "sources": {
            "coursepath": {"pulled_at": "2026-07-01T09:00Z", "tables": {"members": {}}},
        }
    }
    assert _pulled_lookup(flat) == {("thrive", "users"): "2026-07-01T08:00Z"}
    assert _pulled_lookup(nested) == {
        ("coursepath", ""): "2026-07-01T09:00Z",
        ("coursepath", "members"): "2026-07-01T09:00Z",
    }
    assert _pulled_lookup({"thrive/users": 1, "brightspace": 2}) == {
        ("thrive", "users"): 1,
        ("brightspace", ""): 2,
    }


def _section(ws, title: str) -> list[list]:
    """The Figure/Value rows under a Summary section heading, up to the next blank row."""
    rows = [list(r[:2]) for r in ws.iter_rows(values_only=True)]
    start = next(i for i, r in enumerate(rows) if r[0] == title) + 1
    out = []
    for r in rows[start:]:
        if r[0] is None:
            break
        out.append(r)
    return out


def test_sources_pulled_at_has_no_blank_rows(book):
    _, wb = book
    rows = dict(_section(wb["Summary"], "Sources pulled at"))
    assert set(rows) >= {"thrive", "policy", "roster"}
    assert all(v is not None and v != "" for v in rows.values())
    assert isinstance(rows["thrive"], dt.datetime)
    assert rows["policy"] == rows["roster"] == "read from the input files at run time"


def test_summary_lists_the_input_files_of_a_manifest(result, tmp_path):
    digest = "ab" * 32
    manifest = {
        "sources": {"thrive": {"tables": {"users": {"pulled_at": "2026-07-01T08:14:00Z"}}}},
        "inputs": [
            {"path": "/x/roster.xlsx", "name": "roster.xlsx", "size": 17162, "sha256": digest}
        ],
    }
    path = write_workbook(result, tmp_path / "c.xlsx", pulled_at=manifest)
    files = _section(openpyxl.load_workbook(path)["Summary"], "Input files")
    assert files == [["roster.xlsx", f"17,162 bytes · SHA-256 {digest}"]]
