"""How big a worksheet says it is and really is, found by streaming its XML before reading it.

Why: the workbook reader (calamine, or openpyxl as fallback) builds a dense grid from the
first to the last cell of a sheet. A 5 KB file with one value at ``XFD1048576`` therefore asks
for 17 billion cells (the process aborts), and one at ``XFD8000`` for 131 million (5 GB). No
HR file is that big, so a sheet whose declared range (``<dimension ref=...>``, which openpyxl
sizes its rows by) or whose real cell positions span more than :data:`MAX_SHEET_CELLS` is
refused (exit 2) before any grid exists, naming the cell that makes it so.

Streaming is cheap because a sheet at most 26 columns wide (``A``..``Z``) cannot exceed the
limit within Excel's 1,048,576 rows: for most HR files one pass looks only for the rare cell
references with two or three column letters or seven row digits, written as every program
writes them (`` r="AB12"``). A sheet that is wider, writes its references some other legal
way (spaces around ``=``, a namespace prefix) or has cells without a position gets a second,
slower pass that reads every cell's row, or counts the cells of each row.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from reconcile.errors import InputError

EXCEL_ROWS = 1_048_576
EXCEL_COLUMNS = 16_384
#: 32 Mi cells: a sheet of Excel's full 1,048,576 rows by 32 columns, and more than any HR
#: roster or CPD log holds; a dense grid this size is about 1 GB in the reader.
MAX_SHEET_CELLS = 1 << 25
_CHUNK = 4 << 20
_OVERLAP = 256  # bytes carried into the next chunk, so no reference is cut in two

_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\b[^>]*?\bref\s*=\s*[\"']([^\"']*)[\"']")
#: The end of a cell's start tag when the cell has content (an empty or merely styled cell,
#: ``<c r="Z9" s="1"/>`` or ``<c r="Z9"></c>``, takes no room in the reader's grid).
_FILLED = rb"[\"'][^>]*(?<!/)>(?!\s*</(?:\w+:)?c>)"
# The usual spelling: found fast because each pattern starts with fixed bytes.
_FAST_FAR = re.compile(rb" r=[\"']([A-Z]{2,3}\d+|[A-Z]{0,3}\d{7,})" + _FILLED)
_FAST_ROW = re.compile(rb" r=[\"'][A-Z]{1,3}(\d+)" + _FILLED)
#: Other legal spellings: spaces around ``=``, a tab or line break between attributes, a
#: namespace prefix on the cell. Separate patterns that each start with fixed bytes, so each
#: is a fast search (one alternation of them would not be).
_SPACED = (re.compile(rb"r[\t\n\r ]+="), re.compile(rb"r=[\t\n\r ]"), re.compile(rb":c[\s/>]"))
_BREAKS = re.compile(rb"[\t\n\r](?:r=|\S*:c[\s/>])|<c[\t\n\r]")
_NO_POSITION = re.compile(rb"<c(?:>|/>| (?!(?:[^>]* )?r=))")
# Any legal spelling: slower, used only when the usual one is not all there is.
_ANY_REF = re.compile(rb"<(?:\w+:)?c\b[^>]*?\br\s*=\s*[\"']([A-Z]{1,3})(\d+)" + _FILLED)
_ANY_NO_POSITION = re.compile(rb"<(?:\w+:)?c(?=[\s/>])(?![^>]*\br\s*=)")
_ROW_START = re.compile(rb"<(?:\w+:)?row(?=[\s/>])")
_CELL_START = re.compile(rb"<(?:\w+:)?c(?=[\s/>])")
_REF = re.compile(r"([A-Z]{1,3})?(\d+)?")


@dataclass
class Extent:
    """The furthest row and column a sheet reaches (1-based), and a cell that is there."""

    rows: int = 0
    columns: int = 0
    where: str = ""

    @property
    def cells(self) -> int:
        return self.rows * self.columns

    def reach(self, column: int, row: int) -> None:
        if column > self.columns or (column == self.columns and row > self.rows):
            self.where = f"{_letters(column)}{row}"
        self.columns = max(self.columns, column)
        self.rows = max(self.rows, row)


#: What the zipfile module raises on a damaged archive: a bad directory, a torn or altered
#: deflate stream (zlib), an unknown compression method or zip version, a missing member.
DAMAGED_ZIP = (zipfile.BadZipFile, zlib.error, NotImplementedError, KeyError, OSError, EOFError)


def check_sheet_extent(path: Path, sheet_member: str, label: str, sheet: str) -> None:
    """Refuse (InputError, exit 2) a sheet whose declared or real range is beyond any HR file."""
    try:
        with zipfile.ZipFile(path) as archive:
            declared, real = scan(lambda: archive.open(sheet_member))
    except DAMAGED_ZIP:
        raise InputError(
            f"{label}: sheet {sheet} is damaged (its XML cannot be unpacked); open the file in "
            "Excel, Save As a new .xlsx and try again"
        ) from None
    for extent, what in ((declared, "declares a range"), (real, "has a value")):
        if extent.cells > MAX_SHEET_CELLS or extent.rows > EXCEL_ROWS:
            raise InputError(
                f"{label}: sheet {sheet} is too large for an HR spreadsheet: it {what} "
                f"reaching {extent.where} ({extent.rows:,} rows x {extent.columns:,} columns; "
                f"at most {MAX_SHEET_CELLS:,} cells); delete the rows and columns after your "
                "data (select them, Delete, then save) and try again"
            )


def scan(open_sheet: Callable[[], IO[bytes]]) -> tuple[Extent, Extent]:
    """(declared, real) extents of one worksheet's XML; ``open_sheet()`` opens it (maybe twice)."""
    declared = Extent()
    far = Extent()
    unusual = False
    with open_sheet() as stream:
        for index, (window, last) in enumerate(_windows(stream)):
            if index == 0:
                found = _DIMENSION.search(window)
                declared = _range_extent(found.group(1).decode("ascii", "replace") if found else "")
            for ref in set(_FAST_FAR.findall(window)):
                letters, digits = _split(ref.decode("ascii"))
                far.reach(_column_number(letters), int(digits))
            unusual = unusual or _unusual(window)
            unusual = unusual or _found_before_tail(_NO_POSITION, window, last)
    if far.columns <= 26 and far.rows <= EXCEL_ROWS and not unusual:
        return declared, far  # at most 26 columns x Excel's rows: within the limit
    with open_sheet() as stream:
        return declared, _every_cell(stream, far, unusual)


def _every_cell(stream: IO[bytes], far: Extent, unusual: bool) -> Extent:
    """The real extent from every cell's position (or, without one, the cells of each row)."""
    real = Extent(far.rows, max(far.columns, 26), far.where)
    rows_seen = 0
    for window, last in _windows(stream):
        if unusual:
            for letters, digits in set(_ANY_REF.findall(window)):
                real.reach(_column_number(letters.decode()), int(digits))
            if _found_before_tail(_ANY_NO_POSITION, window, last):
                pieces = _ROW_START.split(window)
                rows_seen += len(pieces) - 1
                widest = max(len(_CELL_START.findall(piece)) for piece in pieces)
                real.reach(widest, max(real.rows, rows_seen))
        else:
            rows = {int(d) for d in set(_FAST_ROW.findall(window))}
            if rows:
                real.reach(real.columns, max(rows))
    if not real.where:
        real.where = f"{_letters(real.columns)}{real.rows}"
    return real


def _windows(stream: IO[bytes]) -> Iterator[tuple[bytes, bool]]:
    """Chunks of the stream, each with the last bytes of the one before it; ``True`` with the
    last one. A pattern cut at a chunk's end is found whole in the next window."""
    tail = b""
    chunk = stream.read(_CHUNK)
    while chunk:
        following = stream.read(_CHUNK)
        window = tail + chunk
        yield window, not following
        tail = window[-_OVERLAP:]
        chunk = following


def _unusual(window: bytes) -> bool:
    """Is any reference or cell written other than `` r="..."`` / ``<c ``?

    Tabs, carriage returns and more than the XML declaration's line break are rare in a
    sheet's XML, so the pattern that looks for them runs only when they are there.
    """
    if any(p.search(window) for p in _SPACED):
        return True
    breaks = b"\t" in window or b"\r" in window or window.count(b"\n") > 1
    return breaks and _BREAKS.search(window) is not None


def _found_before_tail(pattern: re.Pattern[bytes], window: bytes, last: bool) -> bool:
    """Does ``pattern`` match in ``window``, not counting a match in the bytes the next
    window repeats (there the tag may be cut short, and the next window sees it whole)?"""
    limit = len(window) if last else len(window) - _OVERLAP
    return any(m.start() < limit for m in pattern.finditer(window))


def _split(ref: str) -> tuple[str, str]:
    found = _REF.fullmatch(ref)
    assert found is not None
    return found.group(1) or "A", found.group(2) or "1"


def _range_extent(ref: str) -> Extent:
    """``A1:XFD1048576`` (or ``A:XFD``, ``1:5``, ``B2``) as rows x columns to its far corner."""
    corner = ref.rsplit(":", maxsplit=1)[-1].strip().upper()
    found = _REF.fullmatch(corner) if corner else None
    if not found:
        return Extent()
    letters, digits = found.groups()
    columns = _column_number(letters) if letters else EXCEL_COLUMNS
    rows = int(digits) if digits else EXCEL_ROWS
    return Extent(rows, columns, corner)


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + (ord(letter) - 64)
    return number


def _letters(number: int) -> str:
    out = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        out = chr(65 + rest) + out
    return out or "A"
