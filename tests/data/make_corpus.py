"""Write the corpus of broken (and awkward-but-fine) HR spreadsheets in ``spreadsheets/``.

Each file carries one kind of problem, so a test can assert the exact row, column and code
``reconcile`` finds. The files are committed; re-run this after changing a case:

    python tests/data/make_corpus.py

Deterministic: workbook timestamps are fixed, so re-running rewrites identical files.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Sequence
from pathlib import Path

import xlsxwriter

OUT = Path(__file__).resolve().parent / "spreadsheets"
CREATED = dt.datetime(2026, 11, 1, 9, 0)

ROSTER_HEADERS = ["Employee ID", "Name", "Email", "Manager ID", "Audiences", "Start date", "FTE"]


def person(number: int, **changes: object) -> list[object]:
    row: dict[str, object] = {
        "id": f"{number:06d}",
        "name": f"Person {number}",
        "email": f"person{number}@acme.example",
        "manager": "",
        "audiences": "Nurses",
        "start": "2020-01-06",
        "fte": 1,
    }
    row.update(changes)
    return list(row.values())


def write_csv(name: str, rows: Sequence[Sequence[object]], *, sep: str = ",", enc: str = "utf-8"):
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=sep, lineterminator="\r\n").writerows(rows)
    (OUT / name).write_bytes(buffer.getvalue().encode(enc))


def write_xlsx(name: str, sheets: dict[str, Sequence[Sequence[object]]], **options: object):
    book = xlsxwriter.Workbook(OUT / name, options)
    book.set_properties({"created": CREATED})
    for sheet_name, rows in sheets.items():
        sheet = book.add_worksheet(sheet_name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None or value == "":
                    continue
                sheet.write(r, c, value)
    book.close()


def roster(*rows: list[object]) -> list[list[object]]:
    return [ROSTER_HEADERS, *rows]


def policy(requirements=None, categories=None, courses=None, name="policy.xlsx") -> None:
    sheets = {}
    if requirements is not None:
        sheets["Requirements"] = [["Audience", "Required minutes", "Structured minutes"]]
        sheets["Requirements"] += requirements
    if categories is not None:
        sheets["Categories"] = [["Category", "Structured", "Min minutes", "Max minutes"]]
        sheets["Categories"] += categories
    if courses is not None:
        sheets["Courses"] = [["System", "Course ID", "Title", "CPD minutes", "Category"]]
        sheets["Courses"] += courses
    write_xlsx(name, sheets)


CPD_HEADERS = ["Employee ID", "Title", "Date", "Minutes", "Category"]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    # --- roster problems (one per file) -----------------------------------------------
    write_csv(
        "roster_missing_email.csv",
        [["Employee ID", "Full Name", "Emial"], ["000001", "Ann", "ann@acme.example"]],
    )
    write_xlsx("roster_blank_id.xlsx", {"Staff": roster(person(1), person(2, id=""))})
    # a required column missing AND row problems: every one is reported in the same pass
    write_xlsx(
        "roster_no_email_duplicate_id.xlsx",
        {
            "Staff": [
                ["Employee ID", "Name", "Start date"],
                ["000001", "Ann", "2020-01-06"],
                ["000001", "Bob", "2020-01-06"],
                ["", "Cy", "next week"],
            ]
        },
    )
    write_xlsx("roster_duplicate_id.xlsx", {"Staff": roster(person(1), person(2), person(1))})
    write_csv(
        "roster_duplicate_email.csv",
        roster(
            person(1, email="Ann@Acme.example"), person(2), person(3, email=" ann@acme.example")
        ),
    )
    write_csv("roster_malformed_email.csv", roster(person(1), person(2, email="person2 at acme")))
    write_csv(
        "roster_bad_dates.csv",
        roster(
            person(1, start="31/02/2026"),
            person(2, start="next week"),
            person(3, start="2026-13-01"),
            person(4, start="03/04/26"),
            person(5, start="12/31/2026"),
        ),
    )
    write_csv(
        "roster_start_after_leave.csv",
        [[*ROSTER_HEADERS, "Leave date"], [*person(1, start="2026-05-01"), "2026-04-30"]],
    )
    write_csv(
        "roster_fte.csv",
        roster(person(1, fte="1.5"), person(2, fte="80"), person(3, fte="full"), person(4, fte=0)),
    )
    write_csv(
        "roster_unknown_manager.csv",
        roster(person(1), person(2, manager="000001"), person(3, manager="000099")),
    )
    write_csv(
        "roster_manager_loop.csv",
        roster(
            person(1, manager="000002"),
            person(2, manager="000003"),
            person(3, manager="000001"),
            person(4, manager="000001"),
            person(5, manager="000005"),
        ),
    )
    write_csv(
        "roster_unknown_audience.csv",
        roster(person(1, audiences="Nurses; Doctors"), person(2, audiences="Nurzes, Doctors")),
    )
    write_csv("roster_no_people.csv", [ROSTER_HEADERS, ["", "", "", "", "", "", ""]])
    write_csv(
        "roster_bad_exempt.csv",
        [[*ROSTER_HEADERS, "Exempt"], [*person(1), "maybe"], [*person(2), "Y"]],
    )
    write_csv("roster_blank_email.csv", roster(person(1), person(2, email="")))
    write_csv(
        "roster_duplicate_column.csv",
        [[*ROSTER_HEADERS, "Staff number"], [*person(1), "999"]],
    )
    # --- policy problems ----------------------------------------------------------------
    policy(
        requirements=[["Nurses", 1200, 600], ["nurses ", 900, 0], ["Doctors", -30, 0]],
        categories=[
            ["Clinical", "Yes", 60, 600],
            ["Reading", "No", 300, 120],
            ["Clinical", "No", None, None],
            ["Reflection", "No", None, None],
            ["reflection", "No", None, None],
            ["Ethics", "sometimes", None, None],
        ],
        courses=[
            ["thrive", "C-1", "Infection control", 60, "Clinical"],
            ["coursepath", "C-2", "Life support", "two hours", "Clinical"],
            ["moodle", "C-3", "Excel basics", 30, "Clinical"],
            ["thrive", "C-1", "Infection control (copy)", 60, "Clinical"],
            ["coursepath", "C-4", "Leadership", 30, "Management"],
        ],
        name="policy_problems.xlsx",
    )
    policy(requirements=[["Nurses", 600, 900]], name="policy_structured_above.xlsx")
    write_xlsx("policy_no_sheets.xlsx", {"Sheet1": [["Audience", "Minutes"], ["Nurses", 10]]})
    # --- CPD log problems ---------------------------------------------------------------
    write_csv(
        "cpd_problems.csv",
        [
            CPD_HEADERS,
            ["000001", "Journal club", "2026-02-03", "60", "Reading"],
            ["000001", "Conference", "2026-03-04", "-30", "Conferences"],
            ["000002", "Workshop", "2026-03-05", "1h", "Clinical"],
            ["", "Webinar", "2026-03-06", "45", "Clinical"],
            ["000002", "", "2026-03-07", "30", "Reading"],
            ["000002", "Course", "", "30", "Reading"],
            ["000002", "Course", "2026-03-09", "", "Reading"],
            ["000002", "Reading", "2026-03-10", "22.5", "Reading"],
            ["000777", "Reading", "2026-03-11", "20", "Reading"],
        ],
    )
    write_csv(
        "cpd_missing_minutes.csv",
        [["Employee ID", "Title", "Date", "Hours"], ["000001", "Course", "2026-01-01", "2"]],
    )
    write_csv("cpd_roster.csv", roster(person(1), person(2)))
    # --- whole files that are not what they claim ---------------------------------------
    (OUT / "pdf_renamed.xlsx").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
    (OUT / "html_saved_as.xlsx").write_bytes(
        b"<!DOCTYPE html><html><head><title>Report</title></head><body><table><tr><td>"
        b"Employee ID</td></tr></table></body></html>"
    )
    (OUT / "empty.csv").write_bytes(b"")
    (OUT / "encrypted.xlsx").write_bytes(
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\x00" * 504
        + "EncryptionInfo".encode("utf-16-le")
        + b"\x00" * 512
    )
    (OUT / "corrupt.xlsx").write_bytes(b"PK\x03\x04" + b"\x14\x00\x00\x00" + b"garbage" * 40)
    with zipfile.ZipFile(OUT / "zip_not_workbook.xlsx", "w") as archive:
        archive.writestr(zipfile.ZipInfo("readme.txt", (2026, 11, 1, 9, 0, 0)), "not a workbook")
    write_csv("unrecognised.csv", [["Colour", "Size"], ["red", "L"]])
    _billion_laughs(OUT / "entity_bomb.xlsx")
    # --- awkward but valid ----------------------------------------------------------------
    _awkward_workbook(OUT / "awkward_ok.xlsx")
    write_csv(
        "cp1252_semicolon.csv",
        [
            ["Staff number", "Full name", "E-mail address", "Start date", "FTE"],
            ["000123", "Zoë Müller", "zoe.muller@acme.example", "04/03/2026", "0,5"],
            ["000124", "François Œuvre", "f.oeuvre@acme.example", "2026-03-05", "1"],
        ],
        sep=";",
        enc="cp1252",
    )
    (OUT / "bom_utf8.csv").write_bytes(
        b"\xef\xbb\xbfPayroll ID,Work Email,First name,Last name\r\n"
        + "007,søren@acme.example,Søren,Kierkegaard\r\n".encode()
    )


def _awkward_workbook(path: Path) -> None:
    """A title row, a two-row merged header, zero-padded numbers, a formula, the 1904 system,
    blank rows in the middle and trailing blank rows/columns: everything valid."""
    book = xlsxwriter.Workbook(path, {"date_1904": True})
    book.set_properties({"created": CREATED})
    cover = book.add_worksheet("Cover")
    cover.write(0, 0, "Staff list: see the next sheet")
    sheet = book.add_worksheet("People")
    padded = book.add_format({"num_format": "000000"})
    date = book.add_format({"num_format": "dd/mm/yyyy"})
    sheet.merge_range("A1:F1", "Acme: staff for CPD")
    sheet.merge_range("A3:A4", "Emp No")
    sheet.merge_range("B3:B4", "Full Name")
    sheet.merge_range("C3:C4", "Work Email")
    sheet.merge_range("D3:E3", "Employment")
    sheet.write(3, 3, "Start date")
    sheet.write(3, 4, "FTE")
    sheet.merge_range("F3:F4", "Line manager ID")
    sheet.write_number(4, 0, 123, padded)
    sheet.write(4, 1, "Ann Example")
    sheet.write(4, 2, "  Ann.Example@Acme.example ")
    sheet.write_datetime(4, 3, dt.datetime(2026, 2, 1), date)
    sheet.write_formula(4, 4, "=1/2", None, 0.5)
    sheet.write_number(6, 0, 124, padded)
    sheet.write(6, 1, "Ben Example")
    sheet.write(6, 2, "ben@acme.example")
    sheet.write(6, 3, "2026-02-02")
    sheet.write_number(6, 4, 1)
    sheet.write_number(6, 5, 123, padded)
    sheet.write(9, 8, "")  # a touched-but-blank cell far to the right and below
    book.close()


def _billion_laughs(path: Path) -> None:
    """An xlsx whose styles.xml declares nested entities (XML bomb) and uses a padded format."""
    write_xlsx(path.name, {"Staff": roster(person(1))})
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<numFmts count="1"><numFmt numFmtId="164" formatCode="&lol3;"/></numFmts>'
        "</styleSheet>"
    )
    source = path.read_bytes()
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(source)
    with zipfile.ZipFile(temporary) as old, zipfile.ZipFile(path, "w") as new:
        for item in old.infolist():
            data = old.read(item.filename)
            if item.filename == "xl/styles.xml":
                data = bomb.encode()
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b'<c r="A2" t="s">', b'<c r="A2" s="1" t="n">')
            new.writestr(item, data)
    temporary.unlink()


if __name__ == "__main__":
    main()
