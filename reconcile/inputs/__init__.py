"""HR's spreadsheets in, clean canonical frames and a table of every problem out (DESIGN §5).

Two entry points:

- :func:`read_inputs` reads what a config names (roster, policy workbook, CPD logs) and returns
  :class:`Inputs`; when any *error* is found it raises :class:`ValidationFailed` carrying the
  whole issues frame, so a run stops with exit 2 and nothing written.
- :func:`check_files` reads any files, telling a roster, a policy workbook and a CPD log apart
  by their headers, and returns the issues frame (for ``reconcile check FILE...``).

A file that cannot be read at all (a PDF named .xlsx, an encrypted workbook, an empty file...)
becomes one issue row with code ``not_a_spreadsheet``/``encrypted_workbook``/... rather than
an exception, so every file's problems are still listed in one pass.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from reconcile.errors import InputError, ValidationFailed
from reconcile.inputs import issues as issues_module
from reconcile.inputs import policy as policy_module
from reconcile.inputs import roster as roster_module
from reconcile.inputs.aliases import HeaderMatch, normalise
from reconcile.inputs.issues import COLUMNS as ISSUE_COLUMNS
from reconcile.inputs.issues import SEVERITY, Issues
from reconcile.inputs.reader import Grid, Workbook, csv_dialect, read_csv_grid, sheet_grid, sniff
from reconcile.inputs.tables import Checked, guard, open_table

__all__ = [
    "ISSUE_COLUMNS",
    "SEVERITY",
    "Inputs",
    "check_config",
    "check_files",
    "read_inputs",
]


@dataclass(frozen=True)
class Inputs:
    """Clean frames from HR's spreadsheets (dtypes in docs/spreadsheets.md) and their issues."""

    people: pd.DataFrame
    memberships: pd.DataFrame  # employee_id, audience: one row per roster audience
    requirements: pd.DataFrame
    categories: pd.DataFrame
    courses: pd.DataFrame
    cpd_log: pd.DataFrame
    issues: pd.DataFrame  # warnings only (errors raise ValidationFailed)
    files: tuple[Path, ...] = field(default=())


def _empty(columns: Iterable[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})


@dataclass
class _Policy:
    requirements: pd.DataFrame
    categories: pd.DataFrame
    courses: pd.DataFrame


def read_inputs(config: Any, *, known_audiences: Iterable[str] | None = None) -> Inputs:
    """Read and validate every spreadsheet ``config`` names; raise if any error is found.

    ``known_audiences``: names, references and ids of audiences pulled from Thrive, so a
    roster audience that exists only there is not reported as unknown.
    """
    issues = Issues()
    date_format = config.organisation.date_format
    policy = _EMPTY_POLICY()
    if config.policy.path is not None:
        read = guard(
            config.policy.path.name,
            issues,
            lambda: read_policy(
                config.policy.path, issues, date_format, config.policy.sheet_overrides
            ),
        )
        policy = read or policy
    known = _known_audiences(policy.requirements, known_audiences)
    if "thrive" in config.sources and known_audiences is None:
        known = None  # Thrive holds audiences we have not pulled: nothing to check against
    people = guard(
        config.roster.path.name,
        issues,
        lambda: read_roster(
            config.roster.path,
            issues,
            date_format,
            sheet=config.roster.sheet,
            columns=config.roster.columns,
            known_audiences=known,
            period_start=config.period.start,
        ),
    )
    if people is None:
        people = _empty(roster_module.COLUMNS)
    logs = []
    for log in config.cpd_logs:
        frame = guard(
            log.path.name,
            issues,
            partial(
                read_cpd_log,
                log.path,
                issues,
                date_format,
                sheet=log.sheet,
                columns=log.columns,
                people=people,
            ),
        )
        if frame is not None:
            logs.append(frame)
    found = issues.frame()
    errors = found[found["severity"] == issues_module.ERROR]
    if len(errors):
        raise ValidationFailed(_summary(errors), found)
    return Inputs(
        people=people,
        memberships=memberships(people),
        requirements=policy.requirements,
        categories=policy.categories,
        courses=policy.courses,
        cpd_log=_concat(logs, policy_module.CPD_LOG_COLUMNS),
        issues=found,
        files=tuple(config.input_files()),
    )


def _EMPTY_POLICY() -> _Policy:
    return _Policy(
        requirements=_empty(policy_module.REQUIREMENT_COLUMNS),
        categories=_empty(policy_module.CATEGORY_COLUMNS),
        courses=_empty(policy_module.COURSE_COLUMNS),
    )


def _summary(errors: pd.DataFrame) -> str:
    first = errors.iloc[0]
    where = first["file"]
    if first["sheet"]:
        where += f" sheet {first['sheet']}"
    if not pd.isna(first["row"]):
        where += f" row {int(first['row'])}"
    if first["column"]:
        where += f" column {first['column']}"
    more = f" and {len(errors) - 1} more" if len(errors) > 1 else ""
    return (
        f"{len(errors)} error{'s' if len(errors) != 1 else ''} in the HR spreadsheets, first: "
        f"{where}: {first['problem']}{more}; run `reconcile check -c CONFIG` to list them all "
        "with fixes"
    )


def _concat(frames: list[pd.DataFrame], columns: Iterable[str]) -> pd.DataFrame:
    if not frames:
        return _empty(columns)
    if len(frames) == 1:
        return frames[0]
    joined = pd.concat(frames, ignore_index=True)
    if "file" in joined.columns:
        joined["file"] = joined["file"].astype(str).astype("category")
    return joined


def _known_audiences(requirements: pd.DataFrame, pulled: Iterable[str] | None) -> set[str] | None:
    names = set()
    if len(requirements):
        names |= set(roster_module.audience_key(requirements["audience"].dropna()))
    if pulled is not None:
        names |= set(roster_module.audience_key(pd.Series([a for a in pulled if a is not None])))
    if not names and pulled is None:
        return None
    return names


def memberships(people: pd.DataFrame) -> pd.DataFrame:
    """employee_id × audience, one row each, from the roster's ``audiences`` column."""
    if not len(people) or people["audiences"].isna().all():
        return pd.DataFrame(
            {"employee_id": pd.Series([], dtype="str"), "audience": pd.Series([], dtype="str")}
        )
    split = people.loc[people["audiences"].notna(), ["employee_id", "audiences"]]
    split = split.assign(audience=split["audiences"].str.split("; ")).explode("audience")
    return split.loc[:, ["employee_id", "audience"]].reset_index(drop=True).astype("str")


# --------------------------------------------------------------------------- per file


def read_roster(
    path: Path,
    issues: Issues,
    date_format: str = "dd/mm/yyyy",
    *,
    sheet: str | None = None,
    columns: Mapping[str, str] | None = None,
    known_audiences: set[str] | None = None,
    period_start: dt.date | None = None,
    book: Workbook | None = None,
) -> pd.DataFrame | None:
    """Read and check one roster into the ``people`` frame (None when it cannot be read)."""
    grid = open_table(path, "roster", issues, sheet=sheet, overrides=columns, book=book)
    if grid is None:
        return None
    return roster_module.validate(
        Checked(grid, issues, date_format),
        known_audiences=known_audiences,
        period_start=period_start,
    )


def read_cpd_log(
    path: Path,
    issues: Issues,
    date_format: str = "dd/mm/yyyy",
    *,
    sheet: str | None = None,
    columns: Mapping[str, str] | None = None,
    people: pd.DataFrame | None = None,
    book: Workbook | None = None,
) -> pd.DataFrame | None:
    """Read and check one CPD log; ``people`` (the roster) lets unknown people be flagged."""
    grid = open_table(
        path,
        "cpd_log",
        issues,
        sheet=sheet,
        overrides=columns,
        config_section="cpd_logs",
        book=book,
    )
    if grid is None:
        return None
    ids = emails = None
    if people is not None and len(people):
        ids = pd.Index(people["employee_id"].dropna())
        emails = pd.Index(people["email_key"].dropna())
    return policy_module.validate_cpd_log(
        Checked(grid, issues, date_format), roster_ids=ids, roster_emails=emails
    )


def policy_sheets(names: Iterable[str], overrides: Mapping[str, str] | None) -> dict[str, str]:
    """kind -> the workbook's sheet holding it (names compared like headers)."""
    by_key = {normalise(n): n for n in names}
    found = {}
    for kind, default in policy_module.SHEETS.items():
        wanted = (overrides or {}).get(kind, default)
        if normalise(wanted) in by_key:
            found[kind] = by_key[normalise(wanted)]
    return found


def read_policy(
    path: Path,
    issues: Issues,
    date_format: str = "dd/mm/yyyy",
    sheet_overrides: Mapping[str, str] | None = None,
    book: Workbook | None = None,
) -> _Policy:
    """The three optional sheets of the policy workbook, each checked."""
    kind = sniff(path) if book is None else book.kind
    if kind == "csv":
        table = _policy_csv_kind(path)
        return _validate_policy({table: open_table(path, table, issues)}, issues, date_format)
    owned = book is None
    book = book or Workbook(path, kind)
    try:
        sheets = policy_sheets(book.sheet_names, sheet_overrides)
        if not sheets:
            issues.add(
                "missing_sheet",
                file=path.name,
                problem=(
                    "no sheet named Requirements, Categories or Courses; sheets: "
                    + ", ".join(book.sheet_names)
                ),
                fix="rename the sheets, or map them in the config ([policy] sheets = {...})",
            )
            return _EMPTY_POLICY()
        grids = {
            k: open_table(path, k, issues, sheet=s, config_section="policy", book=book)
            for k, s in sheets.items()
        }
    finally:
        if owned:
            book.close()
    return _validate_policy(grids, issues, date_format)


def _policy_csv_kind(path: Path) -> str:
    """A CSV can hold one policy sheet: the one whose required headers it has."""
    complete = {}
    for table in policy_module.SHEETS:
        result = read_csv_grid(path, table, None, path.name)
        if isinstance(result, Grid):
            complete[table] = result.match.score
    if complete:  # the Courses sheet also has a Category column: the fullest match wins
        return max(complete, key=lambda t: complete[t])
    raise InputError(
        f"{path.name}: not a policy sheet (no Audience + Required minutes, Category, or "
        "System + Course ID headers); use a workbook with sheets Requirements, Categories and "
        "Courses"
    )


def _validate_policy(grids: Mapping[str, Grid | None], issues: Issues, date_format: str) -> _Policy:
    policy = _EMPTY_POLICY()
    if (requirements := grids.get("requirements")) is not None:
        policy.requirements = policy_module.validate_requirements(
            Checked(requirements, issues, date_format)
        )
    if (categories_grid := grids.get("categories")) is not None:
        policy.categories = policy_module.validate_categories(
            Checked(categories_grid, issues, date_format)
        )
    if (courses := grids.get("courses")) is not None:
        categories = policy.categories["category"] if "categories" in grids else None
        policy.courses = policy_module.validate_courses(
            Checked(courses, issues, date_format), categories
        )
    return policy


# --------------------------------------------------------------------------- check FILE...


def check_files(
    paths: Iterable[str | Path],
    *,
    date_format: str = "dd/mm/yyyy",
    known_audiences: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Every problem in any HR files, each file recognised by its headers; the issues frame."""
    issues = Issues()
    books: dict[Path, Workbook] = {}  # read each workbook once: classified, then checked
    try:
        return _check_files(paths, issues, books, date_format, known_audiences)
    finally:
        for book in books.values():
            book.close()


def _check_files(
    paths: Iterable[str | Path],
    issues: Issues,
    books: dict[Path, Workbook],
    date_format: str,
    known_audiences: Iterable[str] | None,
) -> pd.DataFrame:
    kinds: dict[Path, tuple[str, str | None]] = {}
    for raw in paths:
        path = Path(raw)
        kind = guard(path.name, issues, partial(classify, path, books))
        if kind is None:
            continue
        if kind[0] == "unrecognised":
            issues.add(
                "unrecognised_file",
                file=path.name,
                problem=(
                    "neither a roster (employee ID + e-mail headers), a policy workbook "
                    "(Requirements/Categories/Courses sheets) nor a CPD log (title + date + "
                    f"minutes headers); headers found: {kind[1] or 'none'}"
                ),
                fix="check the header row against docs/spreadsheets.md",
            )
            continue
        kinds[path] = kind
    policies = [
        guard(p.name, issues, partial(read_policy, p, issues, date_format, book=books.get(p)))
        for p, (k, _s) in kinds.items()
        if k == "policy"
    ]
    requirements = [p.requirements for p in policies if p is not None]
    known = _known_audiences(_concat(requirements, policy_module.REQUIREMENT_COLUMNS), None)
    if known_audiences is not None:
        extra = pd.Series([a for a in known_audiences if a is not None], dtype="str")
        known = (known or set()) | set(roster_module.audience_key(extra))
    rosters = []
    for path, (kind, sheet) in kinds.items():
        if kind == "roster":
            frame = guard(
                path.name,
                issues,
                partial(
                    read_roster,
                    path,
                    issues,
                    date_format,
                    sheet=sheet,
                    known_audiences=known,
                    book=books.get(path),
                ),
            )
            if frame is not None:
                rosters.append(frame)
    people = _concat(rosters, roster_module.COLUMNS) if rosters else None
    for path, (kind, sheet) in kinds.items():
        if kind == "cpd_log":
            guard(
                path.name,
                issues,
                partial(
                    read_cpd_log,
                    path,
                    issues,
                    date_format,
                    sheet=sheet,
                    people=people,
                    book=books.get(path),
                ),
            )
    return issues.frame()


def classify(path: Path, books: dict[Path, Workbook] | None = None) -> tuple[str, str | None]:
    """("roster"|"policy"|"cpd_log", sheet) by headers, or ("unrecognised", headers seen).

    A workbook opened here is left open in ``books`` (when given) for the check that follows.
    """
    kind = sniff(path)
    if kind == "csv":
        halfway: dict[str, HeaderMatch] = {}
        complete = {}
        for table in ("roster", "cpd_log", *policy_module.SHEETS):
            result = read_csv_grid(path, table, None, path.name)
            if isinstance(result, Grid):
                complete[table] = result.match.score
            elif result is not None and table in ("roster", "cpd_log"):
                halfway[table] = result
        if complete:
            table = max(complete, key=lambda t: complete[t])
            return ("policy" if table in policy_module.SHEETS else table), None
        found = _best_partial(halfway, None)
        if found[0] == "unrecognised" and found[1] is None:
            head = next((r for r in csv_dialect(path).head if any(c.strip() for c in r)), [])
            return "unrecognised", ", ".join(f'"{c.strip()}"' for c in head if c.strip()) or None
        return found
    book = Workbook(path, kind)
    if books is not None:
        books[path] = book
    try:
        if policy_sheets(book.sheet_names, None):
            return "policy", None
        halfway_sheets: dict[str, tuple[str, HeaderMatch]] = {}
        for sheet in book.sheet_names:
            for table in ("roster", "cpd_log"):
                result = sheet_grid(book, sheet, table, None, path.name)
                if isinstance(result, Grid):
                    return table, sheet
                if result is not None and (
                    table not in halfway_sheets or result.score > halfway_sheets[table][1].score
                ):
                    halfway_sheets[table] = (sheet, result)
        best = {k: v[1] for k, v in halfway_sheets.items()}
        sheet_of = {k: v[0] for k, v in halfway_sheets.items()}
        kind_found, seen = _best_partial(best, None)
        if kind_found != "unrecognised":
            return kind_found, sheet_of[kind_found]
        return kind_found, seen
    finally:
        if books is None:
            book.close()


def _best_partial(partial: dict[str, Any], sheet: str | None) -> tuple[str, str | None]:
    """A file whose headers half-match: treat it as the closest kind (to list what is missing)."""
    if partial:
        table, match = max(partial.items(), key=lambda kv: kv[1].score)
        if match.score >= 2:
            return table, sheet
        headers = ", ".join(f'"{h}"' for h in match.headers if h)
        return "unrecognised", headers
    return "unrecognised", None


def check_config(config: Any, *, known_audiences: Iterable[str] | None = None) -> pd.DataFrame:
    """Every problem in the spreadsheets a config names (``reconcile check -c``); never raises
    for bad spreadsheets, only returns their issues."""
    try:
        return read_inputs(config, known_audiences=known_audiences).issues
    except ValidationFailed as failed:
        return failed.issues


def severity_counts(frame: pd.DataFrame) -> dict[str, int]:
    return {
        "error": issues_module.count(frame, issues_module.ERROR),
        "warning": issues_module.count(frame, issues_module.WARNING),
    }
