"""What every table reader shares: finding the sheet, reporting missing columns, typed columns.

A :class:`Checked` wraps one :class:`Grid` and the :class:`Issues` it reports into. Its helpers
parse a column once (text, number, date, yes/no), flag the cells that failed in one batch, and
hand back the typed column, so each table module reads as a list of rules.
"""

from __future__ import annotations

import csv
import logging
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reconcile.errors import InputError
from reconcile.inputs import values
from reconcile.inputs.aliases import (
    ALIASES,
    HeaderMatch,
    closest_header,
    preferred_header,
)
from reconcile.inputs.issues import Issues
from reconcile.inputs.reader import Grid, Workbook, read_csv_grid, sheet_grid, sniff

log = logging.getLogger(__name__)

ID_COLUMNS = frozenset(
    {
        "employee_id",
        "manager_id",
        "thrive_id",
        "brightspace_id",
        "coursepath_id",
        "course_id",
        "thrive_content_id",
    }
)


@dataclass
class Checked:
    """One table being validated: its grid, where its issues go, and the date format."""

    grid: Grid
    issues: Issues
    date_format: str = "dd/mm/yyyy"

    @property
    def n(self) -> int:
        return len(self.grid)

    def has(self, canonical: str) -> bool:
        return canonical in self.grid.columns

    def raw(self, canonical: str) -> pd.Series:
        column = self.grid.columns.get(canonical)
        if column is None:
            return values.missing(self.n)
        return column

    def header(self, canonical: str) -> str:
        return self.grid.match.header(canonical)

    def flag(
        self,
        code: str,
        mask: np.ndarray,
        canonical: str,
        *,
        value: pd.Series | None = None,
        problem: str | pd.Series | np.ndarray,
        fix: str | pd.Series,
    ) -> None:
        """Report every row where ``mask`` is true, in one batch.

        Nothing is reported against a column the sheet does not have: its absence is one
        ``missing_column`` error already, not a problem on every row.
        """
        mask = np.asarray(mask, dtype=bool)
        if not mask.any() or (canonical and not self.has(canonical)):
            return
        shown = self.raw(canonical) if value is None else value
        self.issues.add(
            code,
            file=self.grid.file,
            sheet=self.grid.sheet,
            row=self.grid.rows[mask],
            column=self.header(canonical) if canonical else "",
            value=_pick(shown, mask),
            problem=_pick(problem, mask),
            fix=_pick(fix, mask),
        )

    def text(self, canonical: str) -> pd.Series:
        """The column as text the user sees (IDs keep zero padding); blank -> NA."""
        raw = self.raw(canonical)
        return values.as_text(raw, self.grid.padded.get(canonical))

    def number(self, canonical: str, *, what: str) -> pd.Series:
        """Float column; non-numbers are ``not_a_number`` errors and become NA."""
        numbers, bad = values.as_number(self.raw(canonical), decimal_comma=self.grid.decimal_comma)
        self.flag(
            "not_a_number",
            bad,
            canonical,
            problem=f"{what} is not a number",
            fix="type a plain number (no units, no thousands separator)",
        )
        return numbers

    def minutes(self, canonical: str) -> pd.Series:
        """Whole minutes (Int64): negative and non-numeric are errors, fractions rounded."""
        numbers = self.number(canonical, what="minutes")
        negative = (numbers < 0).to_numpy(dtype=bool)
        self.flag(
            "negative_minutes",
            negative,
            canonical,
            problem="minutes are negative",
            fix="type the number of minutes as 0 or more",
        )
        rounded = np.floor(numbers + 0.5)
        fractional = (numbers.notna() & (rounded != numbers)).to_numpy(dtype=bool)
        if fractional.any():
            self.flag(
                "fractional_minutes",
                fractional,
                canonical,
                problem="minutes are not a whole number",
                fix=rounded.map(lambda v: f"counted as {v:.0f} minutes", na_action="ignore"),
            )
        return rounded.mask(negative).astype("Int64")

    def date(self, canonical: str) -> pd.Series:
        """``datetime64[ns]`` column; unreadable or ambiguous dates are errors and become NaT."""
        raw = self.raw(canonical)
        nanos, codes = values.date_cells(raw, self.date_format)
        for number, code in ((1, "unparseable_date"), (2, "ambiguous_date")):
            mask = codes == number
            if not mask.any():
                continue
            if code == "ambiguous_date":
                problem: str | pd.Series = (
                    "the year has two digits, so the date could mean more than one day"
                )
            else:
                swapped = raw[mask].map(
                    lambda v: isinstance(v, str) and values.swapped_parse(v, self.date_format)
                )
                problem = pd.Series("not a date reconcile can read", index=raw.index)
                problem[swapped[swapped].index] = (
                    f"not a valid date as {self.date_format} (organisation.date_format)"
                )
            self.flag(
                code,
                mask,
                canonical,
                problem=problem,
                fix=(
                    f"type the date as 2026-03-31 or {self.date_format}, "
                    "or format the cell as a date"
                ),
            )
        return pd.Series(nanos.view("datetime64[ns]"), index=raw.index)

    def yes_no(self, canonical: str, *, blank: bool | None) -> pd.Series:
        result, bad = values.as_yes_no(self.raw(canonical), blank=blank)
        self.flag(
            "bad_yes_no",
            bad,
            canonical,
            problem="not a yes/no value",
            fix="use yes or no (also accepted: y/n, true/false, 1/0, x/blank)",
        )
        return result

    def duplicates(
        self,
        key: pd.Series,
        code: str,
        canonical: str,
        *,
        what: str,
        fix: str,
        only: np.ndarray | None = None,
        value: pd.Series | None = None,
    ) -> np.ndarray:
        """Flag every row whose ``key`` repeats another's; the problem names the group's rows.

        A group's message lists its first :data:`ROWS_LISTED` rows and how many more there
        are, and is built once per group: a column filled down by mistake (a million equal
        e-mails) gives a report that grows with the rows, not with their square.
        """
        present = key.notna().to_numpy(dtype=bool, copy=True)
        if only is not None:
            present &= np.asarray(only, dtype=bool)
        if not _any_repeated(key, present):
            return np.zeros(self.n, dtype=bool)
        keyed = key[present]
        repeated = keyed.duplicated(keep=False).to_numpy()
        positions = np.flatnonzero(present)[repeated]
        group, _ = pd.factorize(keyed[repeated])
        messages = _group_messages(group, self.grid.rows[positions], what)
        mask = np.zeros(self.n, dtype=bool)
        mask[positions] = True
        problem = np.full(self.n, "", dtype=object)
        problem[positions] = messages[group]
        self.flag(code, mask, canonical, value=value, problem=problem, fix=fix)
        return mask


#: Rows a duplicate's message lists before saying how many more there are.
ROWS_LISTED = 5


def _group_messages(group: np.ndarray, rows: np.ndarray, what: str) -> np.ndarray:
    """One message per group, indexed by group number (``pd.factorize`` codes 0..k-1, so
    after a stable sort the k-th run of equal codes is group k, rows in sheet order)."""
    order = np.argsort(group, kind="stable")
    starts = np.flatnonzero(np.r_[True, group[order][1:] != group[order][:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    messages = np.empty(len(starts), dtype=object)
    for number, (start, size) in enumerate(zip(starts, sizes, strict=True)):
        listed = ", ".join(str(r) for r in rows[order[start : start + ROWS_LISTED]])
        more = f" and {size - ROWS_LISTED:,} more" if size > ROWS_LISTED else ""
        messages[number] = f"{what} on rows {listed}{more}"
    return messages


def _any_repeated(key: pd.Series, present: np.ndarray) -> bool:
    """Does any present key occur twice? Answered in Arrow (hash each key once, count) when
    the column is Arrow-backed: pandas' ``duplicated`` on Arrow strings goes through Python
    objects, and most tables have no duplicates at all, so the slow path runs only to list
    the rows of the few that do."""
    backing = getattr(key.array, "_pa_array", None)
    if backing is None:
        return bool(key[present].duplicated().any())
    import pyarrow.compute as pc

    indices = pc.fill_null(pc.dictionary_encode(backing).combine_chunks().indices, -1)
    codes = indices.to_numpy(zero_copy_only=False)[present]
    if not len(codes):
        return False
    return bool((np.bincount(codes) > 1).any())


def _pick(value: object, mask: np.ndarray) -> object:
    if isinstance(value, pd.Series):
        return value.to_numpy(dtype=object)[mask]
    if isinstance(value, np.ndarray):
        return value[mask]
    return value


# --------------------------------------------------------------------------- finding tables


def report_missing(
    issues: Issues, label: str, sheet: str, match: HeaderMatch, kind_name: str
) -> None:
    """One ``missing_column`` error per absent required column, naming what was found."""
    found = [h for h in match.headers if h]
    listed = ", ".join(f'"{h}"' for h in found) or "no headers"
    for need in match.missing():
        options = need if isinstance(need, tuple) else (need,)
        wanted = " or ".join(f'"{preferred_header(match.kind, o)}"' for o in options)
        near = None
        for option in options:
            near = closest_header(match.kind, option, found)
            if near:
                break
        fix = f"add a column headed {wanted}"
        if near:
            fix = f'rename "{near}" to {wanted.split(" or ")[0]}' + _mapping_hint(
                kind_name, options[0], near
            )
        issues.add(
            "missing_column",
            file=label,
            sheet=sheet,
            row=match_header_row(match),
            column=" / ".join(options),
            value="",
            problem=f"no {wanted} column; headers found: {listed}",
            fix=fix,
        )


def _mapping_hint(section: str, canonical: str, header: str) -> str:
    """How to map a header in the config instead of renaming it, where the config can."""
    if section == "roster":
        return f', or map it in the config: [roster.columns] {canonical} = "{header}"'
    if section == "cpd_logs":
        mapping = f'columns = {{ {canonical} = "{header}" }}'
        return f", or map it in the config: {mapping} under [[cpd_logs]]"
    return ""


def match_header_row(match: HeaderMatch) -> int | None:
    return match.row


def report_duplicate_columns(issues: Issues, grid: Grid) -> None:
    for canonical, position in grid.match.duplicates:
        issues.add(
            "duplicate_column",
            file=grid.file,
            sheet=grid.sheet,
            row=grid.header_row,
            column=grid.match.headers[position],
            value=grid.match.headers[position],
            problem=(
                f'a second {canonical} column; "{grid.match.header(canonical)}" is used '
                "and this one ignored"
            ),
            fix="delete or rename one of the two columns",
        )


def open_table(
    path: Path,
    kind: str,
    issues: Issues,
    *,
    sheet: str | None = None,
    overrides: Mapping[str, str] | None = None,
    config_section: str = "roster",
    book: Workbook | None = None,
) -> Grid | None:
    """Read ``kind`` from a file, choosing the sheet; problems go to ``issues``, None returned.

    The sheet is the configured one, else the only one, else the first with the required
    headers. A file that cannot be read at all raises :class:`InputError`.
    """
    label = path.name
    want = _padding_wanted
    file_kind = sniff(path) if book is None else book.kind
    if file_kind == "csv":
        return _whole_or_partial(
            lambda partial: read_csv_grid(path, kind, overrides, label, partial=partial),
            issues,
            label,
            "",
            config_section,
        )
    owned = book is None
    book = book or Workbook(path, file_kind)
    try:
        names = book.sheet_names
        if sheet is not None and sheet not in names:
            issues.add(
                "missing_sheet",
                file=label,
                sheet=sheet,
                problem=f'no sheet named "{sheet}"; sheets: {", ".join(names)}',
                fix=f"rename the sheet, or set [{config_section}] sheet to one of them",
            )
            return None
        chosen = sheet or _sheet_holding(book, names, kind, overrides, label)
        if chosen is None:
            issues.add(
                "missing_column",
                file=label,
                sheet=names[0] if names else "",
                problem=f"no {_KIND_NAMES[kind]} headers found (looked for {_wanted(kind)}...)",
                fix="put one header row above the data, using the column names in "
                "docs/spreadsheets.md",
            )
            return None
        return _whole_or_partial(
            lambda partial: sheet_grid(book, chosen, kind, overrides, label, want, partial=partial),
            issues,
            label,
            chosen,
            config_section,
        )
    finally:
        if owned:
            book.close()


def _sheet_holding(
    book: Workbook, names: list[str], kind: str, overrides: Mapping[str, str] | None, label: str
) -> str | None:
    """The first sheet with every required header, else the one matching most headers."""
    best: tuple[str, int] | None = None
    for name in names:
        result = sheet_grid(book, name, kind, overrides, label)
        if isinstance(result, Grid):
            return name
        if isinstance(result, HeaderMatch) and (best is None or result.score > best[1]):
            best = (name, result.score)
    return best[0] if best else None


def _whole_or_partial(
    read: Callable[[bool], Grid | HeaderMatch | None],
    issues: Issues,
    label: str,
    sheet: str,
    config_section: str,
) -> Grid | None:
    """The table ``read`` gives. When required columns are missing they are reported, and the
    columns that are there are still read and checked, so every problem of the file is listed
    in one pass (DESIGN §5)."""
    result = read(False)
    if isinstance(result, HeaderMatch):
        report_missing(issues, label, sheet, result, config_section)
        result = read(True)
    if isinstance(result, Grid):
        report_duplicate_columns(issues, result)
        return result
    return None


def _padding_wanted(canonical: str) -> bool:
    return canonical in ID_COLUMNS


_KIND_NAMES = {
    "roster": "roster",
    "cpd_log": "CPD log",
    "requirements": "Requirements sheet",
    "categories": "Categories sheet",
    "courses": "Courses sheet",
}


def _wanted(kind: str) -> str:
    return ", ".join(f'"{preferred_header(kind, c)}"' for c in list(ALIASES[kind])[:4])


#: What reading a file may raise that says the file (or the disk), not our code, is at fault.
UNREADABLE = (OSError, EOFError, UnicodeError, csv.Error, zipfile.BadZipFile)


def guard(label: str, issues: Issues, action: Callable[[], Any]) -> Any:
    """Run ``action``; a whole-file :class:`InputError` becomes one issue row instead.

    The readers turn what a parser raises on a damaged file into an :class:`InputError`
    (``reader.py``); what the file system or the standard library's decoders raise while a
    file is read (a file locked or vanished mid-read, a CSV field past the csv module's
    limit, a torn zip) is reported here as ``unreadable_file``. Anything else is a bug in
    our own checks and is raised, so it reaches the CLI as one, not as advice to HR to save
    a good file again.
    """
    try:
        return action()
    except InputError as exc:
        message = str(exc)
        problem, _, fix = message.partition("; ")
        if problem.startswith(f"{label}: "):
            problem = problem[len(label) + 2 :]
        issues.add(
            _file_code(problem),
            file=label,
            problem=problem,
            fix=fix or "save the data again as .xlsx or .csv",
        )
        return None
    except UNREADABLE as exc:
        log.debug("reading %s failed", label, exc_info=True)
        issues.add(
            "unreadable_file",
            file=label,
            problem=f"the file could not be read ({type(exc).__name__}: {exc})"[:300],
            fix="open it in Excel, Save As a new .xlsx (or CSV UTF-8) and try again",
        )
        return None


def _file_code(problem: str) -> str:
    lowered = problem.lower()
    if "empty" in lowered:
        return "empty_file"
    if "too large" in lowered or "unpacks to" in lowered:
        return "file_too_large"
    if "password" in lowered:
        return "encrypted_workbook"
    if "pdf" in lowered or "html" in lowered or "binary" in lowered or "zip archive" in lowered:
        return "not_a_spreadsheet"
    return "unreadable_file"
