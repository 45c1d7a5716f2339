"""Workbooks that are tiny on disk but claim or use an enormous grid: refused (exit 2) before
any reader builds it. Each runs in a real `reconcile check` process with its address space
capped at 2 GiB, so a regression fails fast instead of eating the machine."""

from __future__ import annotations

import resource
import struct
import subprocess
import zipfile
from pathlib import Path

import pytest
import xlsxwriter

from reconcile.inputs.extent import MAX_SHEET_CELLS, scan
from tests.processes import run

_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="rels" ContentType="application/'
    'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
    '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName='
    '"/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
    'spreadsheetml.worksheet+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
    '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
    'openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target='
    '"xl/workbook.xml"/></Relationships>'
)
_BOOK = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
    'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships"><sheets><sheet name="Staff" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_BOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
    '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
    'openxmlformats.org/officeDocument/2006/relationships/worksheet" Target='
    '"worksheets/sheet1.xml"/></Relationships>'
)
_HEADER = "".join(
    f'<c r="{col}{row}" t="inlineStr"><is><t>{text}</t></is></c>'
    for col, row, text in (("A", 1, "Employee ID"), ("B", 1, "Name"), ("C", 1, "Email"))
)
_ANN = "".join(
    f'<c r="{col}2" t="inlineStr"><is><t>{text}</t></is></c>'
    for col, text in (("A", "001"), ("B", "Ann Lee"), ("C", "ann@x.example"))
)


def workbook(path: Path, extra_rows: str = "", dimension: str = "") -> Path:
    """A roster of one person, by hand, with ``extra_rows`` of sheet XML after it."""
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats'
        '.org/spreadsheetml/2006/main">'
        + (f'<dimension ref="{dimension}"/>' if dimension else "")
        + f'<sheetData><row r="1">{_HEADER}</row><row r="2">{_ANN}</row>{extra_rows}'
        + "</sheetData></worksheet>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (
            ("[Content_Types].xml", _TYPES),
            ("_rels/.rels", _RELS),
            ("xl/workbook.xml", _BOOK),
            ("xl/_rels/workbook.xml.rels", _BOOK_RELS),
            ("xl/worksheets/sheet1.xml", sheet),
        ):
            archive.writestr(name, text)
    return path


def check(path: Path) -> subprocess.CompletedProcess:
    """``reconcile check PATH`` with at most 2 GiB of address space."""
    return run("check", path, env={"COLUMNS": "300"}, limits={resource.RLIMIT_AS: 2 << 30})


HOSTILE = {
    "one value at XFD1048576": ('<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>', ""),
    "one value at XFD8000": ('<row r="8000"><c r="XFD8000"><v>1</v></c></row>', ""),
    "a declared range of the whole sheet": ("", "A1:XFD1048576"),
    "a reference spelt with spaces": ('<row r="9"><c t="n" r = "XFD9000"><v>1</v></c></row>', ""),
    "a wide row of cells without positions": (
        '<row r="3">' + "<c><v>1</v></c>" * 16_384 + "</row>"
        '<row r="1048576"><c r="A1048576"><v>1</v></c></row>',
        "",
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_an_enormous_grid_is_refused_with_exit_2_and_the_cell_named(
    tmp_path: Path, case: str
) -> None:
    rows, dimension = HOSTILE[case]
    path = workbook(tmp_path / "roster.xlsx", rows, dimension)
    assert path.stat().st_size < 6_000
    result = check(path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "too large for an HR spreadsheet" in result.stdout
    assert "panicked" not in result.stderr and "Traceback" not in result.stderr
    assert "XFD" in result.stdout or "1,048,576 rows" in result.stdout


def test_a_real_wide_sheet_and_styled_far_cells_pass(tmp_path: Path) -> None:
    path = tmp_path / "roster.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("Staff")
    headers = ["Employee ID", "Name", "Email", *(f"Extra {i}" for i in range(37))]
    sheet.write_row(0, 0, headers)
    for row in range(1, 301):
        sheet.write_row(row, 0, [f"{row:05d}", f"Person {row}", f"p{row}@x.example"])
        sheet.write_row(row, 3, [f"x{row}"] * 37)
    sheet.write_blank(900, 16_000, None, book.add_format({"bold": True}))  # styled, empty
    book.close()
    result = check(path)
    assert result.returncode == 0, result.stdout + result.stderr
    with zipfile.ZipFile(path) as archive:
        declared, real = scan(lambda: archive.open("xl/worksheets/sheet1.xml"))
    assert (real.rows, real.columns) == (301, 40)
    assert real.cells < declared.cells < MAX_SHEET_CELLS  # the styled cell is declared


def test_a_workbook_claiming_to_unpack_to_gigabytes_is_refused(tmp_path: Path) -> None:
    """The sheet's sizes in the zip directory say 3 GiB: under the old 4 GiB guard."""
    path = workbook(tmp_path / "roster.xlsx")
    data = bytearray(path.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    for signature, size_at in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            name_at = start + (46 if signature == b"PK\x01\x02" else 30)
            if data[name_at : name_at + len(name)] == name:
                data[start + size_at : start + size_at + 4] = struct.pack("<I", 3 << 30)
            start += 4
    path.write_bytes(bytes(data))
    result = check(path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "unpacks to 3.0 GiB" in result.stdout
