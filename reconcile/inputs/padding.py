"""Recover IDs that Excel *shows* as ``000123`` but stores as the number 123.

Why this exists: HR type staff numbers into cells formatted ``000000``. The file holds 123 and
a number format; calamine (like pandas) returns 123.0 and the zeros are gone, so the roster's
``000123`` would never equal Thrive's ``ref`` "000123". The format lives in ``styles.xml`` and
each cell's style index in the sheet XML, so we read both, safely (defusedxml: no entity
expansion, no DTDs, no external references).

Cost: nothing unless an ID column holds numbers *and* the workbook defines a zero-padding
format (two small XML files are checked first). Only then is the sheet's XML streamed once
(``iterparse``), keeping just the style of cells in the ID columns: about a second per
100,000 rows, memory flat.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np

from reconcile.inputs.reader import Grid, column_letter, sheet_xml_path, split_ref

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_ZEROS = re.compile(r"^0{2,}$")


def zero_pad_styles(archive: zipfile.ZipFile) -> dict[int, int]:
    """Style index -> width, for every cell style whose number format is all zeros."""
    from defusedxml import ElementTree

    try:
        styles = ElementTree.fromstring(archive.read("xl/styles.xml"))
    except KeyError:
        return {}
    formats: dict[int, int] = {}
    for node in styles.iter(f"{_MAIN}numFmt"):
        code = _plain(node.get("formatCode", ""))
        if _ZEROS.match(code):
            formats[int(node.get("numFmtId", "-1"))] = len(code)
    if not formats:
        return {}
    widths: dict[int, int] = {}
    cell_xfs = styles.find(f"{_MAIN}cellXfs")
    if cell_xfs is None:
        return {}
    for index, xf in enumerate(cell_xfs.findall(f"{_MAIN}xf")):
        width = formats.get(int(xf.get("numFmtId", "0")))
        if width:
            widths[index] = width
    return widths


def _plain(code: str) -> str:
    """A format code without quotes, escapes and sections after the first ``;``."""
    first = code.split(";", 1)[0]
    return first.replace('"', "").replace("\\", "")


def zero_padding(path: Path, sheet: str, grid: Grid, columns: list[str]) -> dict[str, np.ndarray]:
    """canonical column -> zero-pad width per grid row (0 = no padding format)."""
    from defusedxml import ElementTree

    with zipfile.ZipFile(path) as archive:
        widths = zero_pad_styles(archive)
        if not widths:
            return {}
        member = sheet_xml_path(archive, sheet)
        if member is None:
            return {}
        letters = {column_letter(grid.match.positions[c]): c for c in columns}
        found: dict[str, dict[int, int]] = {c: {} for c in columns}
        with archive.open(member) as stream:
            for _event, node in ElementTree.iterparse(stream, events=("end",)):
                if node.tag == f"{_MAIN}c":
                    style = node.get("s")
                    if style is not None and int(style) in widths:
                        letter, row = split_ref(node.get("r", ""))
                        if letter in letters:
                            found[letters[letter]][row] = widths[int(style)]
                elif node.tag == f"{_MAIN}row":
                    node.clear()
    result: dict[str, np.ndarray] = {}
    for canonical, by_row in found.items():
        if by_row:
            result[canonical] = np.array([by_row.get(int(r), 0) for r in grid.rows], dtype=int)
    return result
