"""Damaged spreadsheets, made by cutting and overwriting the bytes of good ones: each is an
issue for HR (a row or the whole file), never an exception out of the readers.

Only what the file system and the parsers raise is the file's fault (``tables.guard``); an
exception from our own checks is raised as the bug it is. These files once found two such
bugs (a torn deflate stream, a ten-character date cell with a letter outside ASCII) that a
catch-all had reported as "the file could not be read".
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from reconcile.inputs import read_cpd_log, read_policy, read_roster
from reconcile.inputs.issues import Issues
from reconcile.inputs.tables import guard

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
VARIANTS = 40
CSV_BYTES = b'",;\n\r\x00\xff\xc3\xa9\t=-+@0123456789/'


def damaged(data: bytes, rng: random.Random, text: bool) -> bytes:
    """``data`` cut short, with bytes overwritten, or with a run of noise spliced in."""
    out = bytearray(data)
    how = rng.randrange(3)
    if how == 0:
        return bytes(out[: rng.randrange(len(out))])
    if how == 1:
        for _ in range(rng.randrange(1, 25)):
            out[rng.randrange(len(out))] = rng.choice(CSV_BYTES) if text else rng.randrange(256)
        return bytes(out)
    at = rng.randrange(len(out))
    out[at : at + rng.randrange(1, 400)] = bytes(rng.randrange(256) for _ in range(40))
    return bytes(out)


def roster_csv(folder: Path) -> Path:
    path = folder / "roster.csv"
    pd.read_excel(SAMPLES / "roster.xlsx", engine="openpyxl", dtype=str).to_csv(path, index=False)
    return path


def readers(folder: Path) -> dict[str, tuple[Path, Callable[[Path, Issues], object]]]:
    people = read_roster(SAMPLES / "roster.xlsx", Issues())
    start = dt.date(2026, 1, 1)
    return {
        "roster.xlsx": (
            SAMPLES / "roster.xlsx",
            lambda p, i: read_roster(p, i, period_start=start),
        ),
        "roster.csv": (roster_csv(folder), lambda p, i: read_roster(p, i, period_start=start)),
        "policy.xlsx": (SAMPLES / "policy.xlsx", read_policy),
        "external_cpd.xlsx": (
            SAMPLES / "external_cpd.xlsx",
            lambda p, i: read_cpd_log(p, i, people=people),
        ),
    }


@pytest.mark.parametrize("name", ["roster.xlsx", "roster.csv", "policy.xlsx", "external_cpd.xlsx"])
def test_a_damaged_file_is_an_issue_never_an_exception(name: str, tmp_path: Path) -> None:
    source, read = readers(tmp_path)[name]
    data, rng = source.read_bytes(), random.Random(name)
    reported = 0
    for n in range(VARIANTS):
        path = tmp_path / f"{n}{source.suffix}"
        path.write_bytes(damaged(data, rng, text=source.suffix == ".csv"))
        issues = Issues()
        guard(path.name, issues, lambda path=path, issues=issues: read(path, issues))
        reported += not issues.frame().empty
    assert reported >= VARIANTS // 4  # most damage is found, as a whole-file or a row issue
