"""Open an HR file as it really is and hand back one table of raw cells with Excel row numbers.

Why so careful: these files are typed by hand and passed around by e-mail. A ``.xlsx`` may be
an HTML page a web app exported, a PDF someone renamed, a password-protected workbook or a
zero-byte attachment. Each of those must become one clear sentence (an :class:`InputError`),
never a traceback. What *is* a spreadsheet is read with calamine (fast, values only, formulas
by their cached value, both date systems), falling back to openpyxl when calamine is missing
or refuses the file. CSV is UTF-8 (BOM or not) or Windows-1252, separated by ``,`` ``;`` or
tab, all detected.

The header row is found, not assumed: the first 30 rows are scored against the alias table
and the best row wins, so a title row, blank rows or a two-row header with merged cells above
the real header are all fine. Row numbers are the ones Excel shows.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
import warnings
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from reconcile.errors import InputError
from reconcile.inputs.aliases import HeaderMatch, match_headers
from reconcile.inputs.extent import DAMAGED_ZIP

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 512 * 1024 * 1024  # a roster or CPD log bigger than this is a mistake
# A zip bomb guard for workbooks: a million-row CPD log unpacks to well under 1 GiB.
MAX_UNZIPPED_BYTES = 1024 * 1024 * 1024
HEADER_SCAN_ROWS = 30
# Columns read from CSV as numbers when they look like numbers (everything else is text).
NUMERIC_COLUMNS = frozenset(
    {
        "fte",
        "minutes",
        "cpd_minutes",
        "required_minutes",
        "structured_minutes",
        "min_minutes",
        "max_minutes",
    }
)

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_MARK = "EncryptionInfo".encode("utf-16-le")


@dataclass
class Grid:
    """The cells of one sheet below its header, with the header match and Excel row numbers."""

    file: str
    sheet: str
    match: HeaderMatch
    columns: dict[str, pd.Series]  # canonical -> raw cells (blank -> missing), index 0..n-1
    rows: np.ndarray  # the Excel row number of each cell position
    header_row: int
    decimal_comma: bool = False
    padded: dict[str, np.ndarray] = field(default_factory=dict)  # canonical -> zero-pad width

    def __len__(self) -> int:
        return len(self.rows)


# --------------------------------------------------------------------------- file kinds


def sniff(path: Path) -> str:
    """Say what the file really is (``"xlsx"``, ``"ods"``, ``"xls"`` or ``"csv"``) or refuse it."""
    name = path.name
    if not path.exists():
        raise InputError(f"{name}: file not found ({path}); check the path")
    if path.is_dir():
        raise InputError(f"{name}: is a folder, not a spreadsheet; give the file inside it")
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"{name}: the file is empty (0 bytes); export the sheet again")
    if size > MAX_FILE_BYTES:
        raise InputError(
            f"{name}: {size / 2**20:,.0f} MiB is too large for an HR spreadsheet "
            f"(limit {MAX_FILE_BYTES / 2**20:,.0f} MiB); remove unused rows or split the file"
        )
    with path.open("rb") as handle:
        head = handle.read(8192)
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(path)
    if head.startswith(_OLE2):
        return _ole_kind(path)
    if head.startswith(b"%PDF"):
        raise InputError(
            f"{name}: is a PDF, not a spreadsheet; ask for the original .xlsx or a .csv export"
        )
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<table", b"<?xml", b"<head")):
        raise InputError(
            f"{name}: is an HTML/XML page saved with a spreadsheet name, not a workbook; "
            "open it in Excel and use Save As > Excel Workbook (.xlsx)"
        )
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(
            f"{name}: is a binary file that is not a spreadsheet; save the data as .xlsx or .csv"
        )
    return "csv"


def _zip_kind(path: Path) -> str:
    name = path.name
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            unzipped = sum(info.file_size for info in archive.infolist())
    except (*DAMAGED_ZIP, ValueError):
        raise InputError(
            f"{name}: the workbook is damaged (not a readable zip); open it in Excel, "
            "Save As a new .xlsx and try again"
        ) from None
    if unzipped > MAX_UNZIPPED_BYTES:
        raise InputError(
            f"{name}: unpacks to {unzipped / 2**30:,.1f} GiB, far too large for an HR "
            "spreadsheet; remove unused rows or split the file"
        )
    if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
        return "xlsx"
    if "content.xml" in names and "mimetype" in names:
        return "ods"
    raise InputError(
        f"{name}: is a zip archive but not an Excel workbook; save the data as .xlsx or .csv"
    )


def _ole_kind(path: Path) -> str:
    with path.open("rb") as handle:
        blob = handle.read(4 * 1024 * 1024)
    if _ENCRYPTED_MARK in blob:
        raise InputError(
            f"{path.name}: the workbook is password-protected (encrypted); open it in Excel, "
            "remove the password (File > Info > Protect Workbook) and save again"
        )
    return "xls"


# --------------------------------------------------------------------------- workbooks


class Workbook:
    """A workbook opened once; sheets are read on demand by name."""

    def __init__(self, path: Path, kind: str) -> None:
        self.path = path
        self.kind = kind
        self._calamine: Any = None
        self._openpyxl: Any = None
        self._cache: dict[str, tuple[list[list[object]], int]] = {}
        self.sheet_names: list[str] = self._open()

    def _open(self) -> list[str]:
        try:
            from python_calamine import CalamineWorkbook

            self._calamine = CalamineWorkbook.from_path(str(self.path))
            return list(self._calamine.sheet_names)
        except ImportError:
            log.info("python-calamine is not installed; reading %s with openpyxl", self.path)
        except Exception as exc:  # calamine raises its own zoo of errors
            log.info("calamine could not open %s (%s); trying openpyxl", self.path, exc)
            if self.kind != "xlsx":
                raise self._damaged(exc) from None
        return self._open_openpyxl()

    def _open_openpyxl(self) -> list[str]:
        if self.kind != "xlsx":
            raise InputError(
                f"{self.path.name}: .{self.kind} workbooks need python-calamine; install it "
                "or save the file as .xlsx"
            )
        import openpyxl

        try:
            self._openpyxl = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
        except Exception as exc:
            raise self._damaged(exc) from None
        return list(self._openpyxl.sheetnames)

    def _damaged(self, exc: Exception) -> InputError:
        text = str(exc).lower()
        if "password" in text or "encrypt" in text:
            return InputError(
                f"{self.path.name}: the workbook is password-protected; remove the password "
                "in Excel and save again"
            )
        return InputError(
            f"{self.path.name}: the workbook is damaged and cannot be read "
            f"({type(exc).__name__}); open it in Excel, Save As a new .xlsx and try again"
        )

    def cells(self, sheet: str) -> tuple[list[list[object]], int]:
        """Rows of cell values (blank = ``""``) and the Excel row number of the first one.

        Read once per sheet and kept: calamine parses a whole sheet whatever is asked of it.
        """
        if sheet not in self._cache:
            if self.kind == "xlsx":
                self._check_extent(sheet)  # before any reader builds its grid
            self._cache[sheet] = self._read(sheet)
        return self._cache[sheet]

    def _check_extent(self, sheet: str) -> None:
        from reconcile.inputs.extent import check_sheet_extent

        try:
            with zipfile.ZipFile(self.path) as archive:
                member = sheet_xml_path(archive, sheet)
        except Exception as exc:  # damaged parts: the reader below says so in its words
            log.info("could not locate %s!%s to measure it (%s)", self.path, sheet, exc)
            return
        if member is not None:
            check_sheet_extent(self.path, member, self.path.name, sheet)

    def _read(self, sheet: str) -> tuple[list[list[object]], int]:
        if self._calamine is not None:
            try:
                data = self._calamine.get_sheet_by_name(sheet)
                rows = data.to_python()
                return rows, (data.start[0] + 1) if data.start else 1
            except Exception as exc:
                if self.kind != "xlsx":
                    raise self._damaged(exc) from None
                log.info("calamine failed on %s!%s (%s); trying openpyxl", self.path, sheet, exc)
                if self._openpyxl is None:
                    self._open_openpyxl()
        return self._openpyxl_cells(sheet), 1

    def _openpyxl_cells(self, sheet: str) -> list[list[object]]:
        assert self._openpyxl is not None
        worksheet = self._openpyxl[sheet]
        rows: list[list[object]] = []
        try:
            for values in worksheet.iter_rows(min_row=1, values_only=True):
                rows.append(["" if v is None else v for v in values])
        except Exception as exc:
            raise self._damaged(exc) from None
        return rows

    def close(self) -> None:
        self._cache.clear()
        if self._openpyxl is not None:
            self._openpyxl.close()
        if self._calamine is not None:
            self._calamine.close()


# --------------------------------------------------------------------------- header rows


@dataclass
class HeaderChoice:
    match: HeaderMatch
    index: int  # position in the rows list of the (last) header row


def find_header(
    rows: Sequence[Sequence[object]], kind: str, overrides: Mapping[str, str] | None = None
) -> HeaderChoice | None:
    """The row (maybe merged with the group row above it) that best matches ``kind``'s aliases.

    Merged header cells leave the value in the top-left cell only, so a column whose header was
    merged down over two rows is blank in the lower row: blanks are filled from the row above.
    """
    best: HeaderChoice | None = None
    previous: Sequence[object] = ()
    for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        candidates = [list(row)]
        if previous:
            filled = [
                cell if _filled(cell) else (previous[i] if i < len(previous) else "")
                for i, cell in enumerate(row)
            ]
            candidates.append(filled)
        for headers in candidates:
            match = match_headers(kind, headers, overrides)
            if match.score and (best is None or match.score > best.match.score):
                best = HeaderChoice(match=match, index=index)
        previous = row
    return best


def _filled(cell: object) -> bool:
    return not (cell is None or (isinstance(cell, str) and not cell.strip()))


# --------------------------------------------------------------------------- CSV


@dataclass
class CsvText:
    encoding: str
    delimiter: str
    head: list[list[str]]


def csv_dialect(path: Path) -> CsvText:
    """Detect the encoding (UTF-8 with or without BOM, UTF-16, else Windows-1252) and separator.

    The encoding is decided by the whole file (one byte that is not UTF-8 anywhere makes it
    Windows-1252), but the file is streamed in blocks rather than held in memory; the
    separator and the header rows come from the first 256 KiB.
    """
    with path.open("rb") as handle:
        head_bytes = handle.read(_HEAD_BYTES)
    encoding = _encoding(path, head_bytes)
    text = head_bytes.decode(encoding, errors="replace")
    lines = text.splitlines()[:HEADER_SCAN_ROWS]
    counts = {d: sum(line.count(d) for line in lines) for d in (",", ";", "\t")}
    delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    head = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))
    return CsvText(encoding=encoding, delimiter=delimiter, head=head)


_HEAD_BYTES = 256 * 1024
_BLOCK_BYTES = 4 * 1024 * 1024


def _encoding(path: Path, head: bytes) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if _decodes(path, "ascii"):
        return "utf-8"
    if _decodes(path, "utf-8"):
        return "utf-8"
    if _decodes(path, "cp1252"):
        return "cp1252"
    return "latin-1"


def _decodes(path: Path, encoding: str) -> bool:
    """Does the whole file decode as ``encoding``? Streamed block by block (a multi-byte
    character split across two blocks is carried over by the incremental decoder)."""
    with path.open("rb") as handle:
        if encoding == "ascii":
            return all(block.isascii() for block in iter(lambda: handle.read(_BLOCK_BYTES), b""))
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            for block in iter(lambda: handle.read(_BLOCK_BYTES), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def read_csv_grid(
    path: Path,
    kind: str,
    overrides: Mapping[str, str] | None,
    label: str,
    *,
    partial: bool = False,
) -> Grid | HeaderMatch | None:
    """Read a CSV table of ``kind``: a :class:`Grid`, or the best (incomplete) header match.

    With ``partial`` a file missing required columns is still read, as the columns it has.
    """
    dialect = csv_dialect(path)
    choice = find_header(dialect.head, kind, overrides)
    if choice is None:
        return None
    choice.match.row = choice.index + 1
    if choice.match.missing() and not partial:
        return choice.match
    frame = _pandas_csv(path, dialect, choice.index + 1, choice.match, label)
    positions = choice.match.positions
    columns = {canonical: _blank_to_na(frame[pos]) for canonical, pos in positions.items()}
    first = choice.index + 2  # header line number (1-based) + 1
    rows = np.arange(first, first + len(frame), dtype=np.int64)
    return _drop_blank(
        Grid(
            file=label,
            sheet="",
            match=choice.match,
            columns=columns,
            rows=rows,
            header_row=choice.index + 1,
            decimal_comma=dialect.delimiter == ";",
        )
    )


def _text_columns(match: HeaderMatch) -> list[int]:
    return [p for c, p in match.positions.items() if c not in NUMERIC_COLUMNS]


def _pandas_csv(
    path: Path, dialect: CsvText, skip: int, match: HeaderMatch, label: str
) -> pd.DataFrame:
    """The file read by pandas: line breaks inside quoted cells are fine, and ragged rows
    (cells beyond the last header) are read as a column nobody named, as Excel shows them."""
    width = len(match.headers)
    try:
        return _read_pandas(path, dialect, skip, match, width)
    except pd.errors.ParserError as exc:
        if "Expected" not in str(exc):
            raise _unparseable(label, exc) from None
    except pd.errors.ParserWarning:
        pass  # the first row is the ragged one: read again as wide as the widest row
    except (ValueError, UnicodeError) as exc:
        raise _unparseable(label, exc) from None
    with path.open(encoding=dialect.encoding, newline="") as handle:
        widest = max((len(r) for r in csv.reader(handle, delimiter=dialect.delimiter)), default=0)
    try:
        return _read_pandas(path, dialect, skip, match, max(width, widest))
    except (pd.errors.ParserError, pd.errors.ParserWarning, ValueError, UnicodeError) as exc:
        raise _unparseable(label, exc) from None


def _read_pandas(
    path: Path, dialect: CsvText, skip: int, match: HeaderMatch, width: int
) -> pd.DataFrame:
    """The rows as ``width`` columns. pandas only warns (ParserWarning) when a first data row
    is wider than that, and drops its extra cells; that warning is raised here instead, so
    the caller reads the file again as wide as its widest row, as when a later row is."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        return pd.read_csv(
            path,
            sep=dialect.delimiter,
            encoding=dialect.encoding,
            header=None,
            names=list(range(width)),
            index_col=False,
            skiprows=skip,
            dtype=dict.fromkeys(_text_columns(match), str),  # text keeps leading zeros
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
        )


def _unparseable(label: str, exc: Exception) -> InputError:
    return InputError(
        f"{label}: the CSV cannot be parsed ({str(exc).strip().splitlines()[-1]}); check "
        "for unbalanced quotes, or save it again from Excel as CSV UTF-8"
    )


def _blank_to_na(column: pd.Series) -> pd.Series:
    if column.dtype != "str" and not isinstance(column.dtype, pd.StringDtype):
        return column  # inferred numbers: blanks are already NaN
    stripped = column.str.strip()
    return stripped.mask(stripped == "")


# --------------------------------------------------------------------------- sheets


def sheet_grid(
    book: Workbook,
    sheet: str,
    kind: str,
    overrides: Mapping[str, str] | None,
    label: str,
    want_padding: Callable[[str], bool] = lambda _c: False,
    *,
    partial: bool = False,
) -> Grid | HeaderMatch | None:
    """Read one sheet as ``kind``: a :class:`Grid`, the incomplete match, or None (no headers).

    With ``partial`` a sheet missing required columns is still read, as the columns it has.
    """
    rows, first_row = book.cells(sheet)
    choice = find_header(rows, kind, overrides)
    if choice is None:
        return None
    choice.match.row = first_row + choice.index
    if choice.match.missing() and not partial:
        return choice.match
    body = rows[choice.index + 1 :]
    width = len(choice.match.headers)
    columns: dict[str, pd.Series] = {}
    if body:
        transposed = list(zip(*(_pad(r, width) for r in body), strict=True))
        for canonical, position in choice.match.positions.items():
            columns[canonical] = _object_column(transposed[position])
    else:
        for canonical in choice.match.positions:
            columns[canonical] = pd.Series([], dtype=object)
    start = first_row + choice.index + 1
    grid = Grid(
        file=label,
        sheet=sheet,
        match=choice.match,
        columns=columns,
        rows=np.arange(start, start + len(body), dtype=np.int64),
        header_row=first_row + choice.index,
    )
    padding_columns = [c for c in columns if want_padding(c) and _has_numbers(columns[c])]
    if padding_columns and book.kind == "xlsx":
        from reconcile.inputs.padding import zero_padding

        grid.padded = zero_padding(book.path, sheet, grid, padding_columns)
    return _drop_blank(grid)


def _pad(row: Sequence[object], width: int) -> Sequence[object]:
    if len(row) >= width:
        return row[:width] if len(row) > width else row
    return list(row) + [""] * (width - len(row))


def _object_column(values: tuple[object, ...]) -> pd.Series:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    series = pd.Series(array, dtype=object)
    blank = series == ""
    if blank.any():
        series = series.mask(blank, None)
    kind = pd.api.types.infer_dtype(series, skipna=True)
    if kind == "string":
        stripped = series.str.strip()
        series = stripped.mask(stripped == "", None)
    elif kind in ("mixed", "mixed-integer"):
        # Text among numbers or dates: trim the text cells only. A cell of spaces is blank
        # whatever wrote it (LibreOffice keeps the spaces of an ID cell; openpyxl drops them).
        stripped = series.str.strip()  # NaN for the cells that are not text
        text = stripped.notna()
        series = series.where(~text, stripped).mask(text & (stripped == ""), None)
    return series


def _has_numbers(column: pd.Series) -> bool:
    return pd.api.types.infer_dtype(column, skipna=True) not in ("string", "empty")


def _drop_blank(grid: Grid) -> Grid:
    """Forget rows with nothing in any recognised column (blank and trailing rows)."""
    if not grid.columns or not len(grid.rows):
        return grid
    if any(_has_no_missing(column) for column in grid.columns.values()):
        return grid  # one full column: no row is blank in every recognised column
    present = np.zeros(len(grid.rows), dtype=bool)
    for column in grid.columns.values():
        present |= column.notna().to_numpy()
    if present.all():
        return grid
    keep = np.flatnonzero(present)
    grid.columns = {k: v.iloc[keep].reset_index(drop=True) for k, v in grid.columns.items()}
    grid.padded = {k: v[keep] for k, v in grid.padded.items()}
    grid.rows = grid.rows[keep]
    return grid


def _has_no_missing(column: pd.Series) -> bool:
    """No missing cell, answered from Arrow's null count without a pass when Arrow-backed."""
    backing = getattr(column.array, "_pa_array", None)
    if backing is not None:
        return backing.null_count == 0
    return False  # object columns: let the caller's one pass decide


def column_letter(position: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: how Excel names a column."""
    letters = ""
    position += 1
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


_CELL_REF = re.compile(r"([A-Z]+)(\d+)")


def split_ref(ref: str) -> tuple[str, int]:
    found = _CELL_REF.match(ref)
    if not found:
        return "", 0
    return found.group(1), int(found.group(2))


def sheet_xml_path(archive: zipfile.ZipFile, sheet: str) -> str | None:
    """Where a named sheet's XML lives inside an .xlsx, read safely (defusedxml)."""
    from defusedxml import ElementTree

    ns_main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    ns_rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    ns_pkg = "{http://schemas.openxmlformats.org/package/2006/relationships}"
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rel_id = None
    for node in workbook.iter(f"{ns_main}sheet"):
        if node.get("name") == sheet:
            rel_id = node.get(f"{ns_rel}id")
    if rel_id is None:
        return None
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    for node in rels.iter(f"{ns_pkg}Relationship"):
        if node.get("Id") == rel_id:
            target = node.get("Target", "")
            if target.startswith("/"):
                return target.lstrip("/")
            return str(PurePosixPath("xl") / target)
    return None
