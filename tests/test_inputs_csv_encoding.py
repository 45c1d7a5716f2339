"""A CSV's encoding is decided by the whole file, and its cells are trimmed, wherever the
telling byte or space is.

The separator and header come from the first 256 KiB; one byte that is not UTF-8 anywhere
after it (in a column reconcile reads or not) still makes the file Windows-1252.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from reconcile.inputs import read_roster
from reconcile.inputs.issues import Issues
from reconcile.inputs.reader import csv_dialect

HEADER = "Employee ID,Full Name,Work Email,Department\n"
FILLER_ROWS = 12_000  # ~600 KiB: well past the 256 KiB head


def roster_csv(path: Path, late_row: str, *, header: str = HEADER) -> Path:
    lines = [header.encode("ascii")]
    lines += [
        f"{i:06d},Person {i},p{i}@acme.example,Ward\n".encode("ascii") for i in range(FILLER_ROWS)
    ]
    lines.append(late_row.encode("cp1252"))
    path.write_bytes(b"".join(lines))
    return path


def test_a_late_windows_1252_byte_in_a_read_column_makes_the_file_1252(tmp_path: Path) -> None:
    path = roster_csv(tmp_path / "late.csv", "999999,Zoë Brontë,zoe@acme.example,Ward\n")
    assert csv_dialect(path).encoding == "cp1252"
    people = read_roster(path, Issues())
    assert people["name"].iloc[-1] == "Zoë Brontë"
    assert len(people) == FILLER_ROWS + 1


def test_a_late_windows_1252_byte_in_an_unread_column_still_decides(tmp_path: Path) -> None:
    header = "Employee ID,Full Name,Work Email,Department,Notes\n"
    path = roster_csv(
        tmp_path / "notes.csv", "999999,Ann Lee,ann@acme.example,Ward,café\n", header=header
    )
    assert csv_dialect(path).encoding == "cp1252"
    people = read_roster(path, Issues())
    assert people["name"].iloc[-1] == "Ann Lee"
    assert len(people) == FILLER_ROWS + 1


def test_utf8_throughout_is_read_as_utf8(tmp_path: Path) -> None:
    path = tmp_path / "utf8.csv"
    body = HEADER + "".join(
        f"{i:06d},Person {i},p{i}@acme.example,Ward\n" for i in range(FILLER_ROWS)
    )
    path.write_text(body + "999999,Zoë Brontë,zoe@acme.example,Ward\n", encoding="utf-8")
    people = read_roster(path, Issues())
    assert people["name"].iloc[-1] == "Zoë Brontë"


def test_edge_spaces_and_unicode_spaces_are_still_trimmed(tmp_path: Path) -> None:
    path = tmp_path / "spaces.csv"
    rows = [
        "000001,Ann Lee,ann@acme.example,Ward",
        "000002,  Bob Roe ,bob@acme.example,\u00a0Theatre\u00a0",
        "000003,Cy Poe,cy@acme.example,   ",
        "000004,Di Moe,di@acme.example,\tPharmacy",
    ]
    path.write_text(HEADER + "\n".join(rows * 2000) + "\n", encoding="utf-8")
    people = read_roster(path, Issues())
    assert people["name"].iloc[1] == "Bob Roe"
    assert people["department"].iloc[1] == "Theatre"
    assert pd.isna(people["department"].iloc[2])
    assert people["department"].iloc[3] == "Pharmacy"
    assert people["department"].iloc[0] == "Ward"
