"""The one table of header aliases, and how a row of headers is matched against it.

Why one table: HR's sheets come from payroll exports, hand-made lists and LMS downloads, each
naming the same thing differently ("Emp No", "Staff number", "Payroll ID"). Keeping every
spelling in one place means a user who meets a new one adds a line here (or a
``[roster.columns]`` override) instead of hunting through parsers.

Headers are compared after :func:`normalise`: case-folded, with every space and punctuation
mark removed, so "E-mail address", "E-Mail Address" and "email_address" are the same header.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# canonical column -> the headers HR actually type (normalised before comparing).
# Order matters only for documentation: the first spelling is the one we suggest.
_PERSON_ID = (
    "Employee ID",
    "Employee number",
    "Employee no",
    "Emp ID",
    "Emp No",
    "Emp number",
    "EE ID",
    "Staff ID",
    "Staff number",
    "Staff no",
    "Payroll ID",
    "Payroll number",
    "Payroll no",
    "Personnel number",
    "Person ID",
    "Worker ID",
    "Employee code",
)
_EMAIL = (
    "Email",
    "E-mail",
    "Email address",
    "E-mail address",
    "Work email",
    "Work e-mail",
    "Work email address",
    "Business email",
    "Office email",
    "Mail",
)

ALIASES: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "roster": {
        "employee_id": _PERSON_ID,
        "name": ("Name", "Full name", "Employee name", "Staff name", "Display name"),
        "first_name": ("First name", "Forename", "Given name", "Firstname"),
        "last_name": ("Last name", "Surname", "Family name", "Lastname"),
        "email": _EMAIL,
        "department": ("Department", "Dept", "Team", "Division", "Directorate", "Business unit"),
        "manager_id": (
            "Manager ID",
            "Line manager ID",
            "Manager employee ID",
            "Manager emp no",
            "Manager staff number",
            "Manager number",
            "Manager payroll ID",
            "Reports to",
            "Reports to ID",
            "Supervisor ID",
        ),
        "audiences": ("Audiences", "Audience", "CPD audiences", "CPD audience", "CPD groups"),
        "start_date": (
            "Start date",
            "Hire date",
            "Date of hire",
            "Date joined",
            "Joining date",
            "Employment start date",
            "Start",
        ),
        "leave_date": (
            "Leave date",
            "Leaving date",
            "Date left",
            "End date",
            "Termination date",
            "Employment end date",
            "Leaver date",
        ),
        "fte": ("FTE", "Full time equivalent", "FTE ratio", "Working pattern FTE"),
        "exempt": ("Exempt", "CPD exempt", "Exemption", "Exempt from CPD"),
        "exempt_reason": ("Exempt reason", "Exemption reason", "Reason for exemption"),
        "thrive_id": ("Thrive ID", "Thrive user ID", "Learn Amp ID"),
        "brightspace_id": ("Brightspace ID", "Brightspace user ID", "D2L ID", "D2L user ID"),
        "coursepath_id": ("Coursepath ID", "Coursepath member ID"),
    },
    "requirements": {
        "audience": ("Audience", "Audience name", "Audience reference", "Audience ID", "Group"),
        "required_minutes": (
            "Required minutes",
            "Minutes required",
            "Required",
            "Required CPD minutes",
            "Requirement minutes",
            "Total minutes",
        ),
        "structured_minutes": (
            "Structured minutes",
            "Structured required",
            "Structured minutes required",
            "Required structured minutes",
            "Structured",
        ),
    },
    "categories": {
        "category": ("Category", "Category name", "CPD category"),
        "structured": ("Structured", "Is structured", "Structured?"),
        "min_minutes": ("Min minutes", "Minimum minutes", "Minimum", "Min"),
        "max_minutes": ("Max minutes", "Maximum minutes", "Maximum", "Max", "Cap minutes", "Cap"),
    },
    "courses": {
        "system": ("System", "Platform", "LMS", "Source"),
        "course_id": ("Course ID", "Content ID", "Course code", "ID"),
        "title": ("Title", "Course title", "Course name", "Name"),
        "cpd_minutes": ("CPD minutes", "Minutes", "CPD mins", "Duration minutes", "Duration"),
        "category": ("Category", "CPD category"),
        "structured": ("Structured", "Is structured", "Structured?"),
        "thrive_content_id": ("Thrive content ID", "Thrive content", "Write back content ID"),
    },
    "cpd_log": {
        "employee_id": _PERSON_ID,
        "email": _EMAIL,
        "title": ("Title", "Activity", "Activity title", "Activity name", "Course", "Event"),
        "date": (
            "Date",
            "Activity date",
            "Date completed",
            "Completion date",
            "Completed",
            "Entry date",
            "Completed on",
        ),
        "minutes": ("Minutes", "CPD minutes", "Duration minutes", "Mins", "Duration"),
        "category": ("Category", "CPD category"),
        "structured": ("Structured", "Is structured", "Structured?"),
    },
}

# What each table cannot do without. A tuple inside the tuple means "one of these".
REQUIRED: Mapping[str, tuple[str | tuple[str, ...], ...]] = {
    "roster": ("employee_id", "email", ("name", "first_name")),
    "requirements": ("audience", "required_minutes"),
    "categories": ("category",),
    "courses": ("system", "course_id"),
    "cpd_log": (("employee_id", "email"), "title", "date", "minutes"),
}

_NOT_ALNUM = re.compile(r"[\W_]+", re.UNICODE)


def normalise(header: object) -> str:
    """Case-fold and drop spaces and punctuation: how two headers are compared."""
    if header is None:
        return ""
    text = header if isinstance(header, str) else str(header)
    return _NOT_ALNUM.sub("", text.casefold())


@dataclass
class HeaderMatch:
    """Which column position holds each canonical column of one table."""

    kind: str
    positions: dict[str, int] = field(default_factory=dict)  # canonical -> column index
    headers: list[str] = field(default_factory=list)  # every header as typed, by position
    duplicates: list[tuple[str, int]] = field(default_factory=list)  # (canonical, ignored pos)
    row: int | None = None  # the Excel row of the header, once known

    @property
    def score(self) -> int:
        return len(self.positions)

    def header(self, canonical: str) -> str:
        """The header as the user typed it, for messages."""
        position = self.positions.get(canonical)
        return self.headers[position] if position is not None else canonical

    def missing(self) -> list[str | tuple[str, ...]]:
        """Required columns (or groups of alternatives) that no header matched."""
        absent: list[str | tuple[str, ...]] = []
        for need in REQUIRED[self.kind]:
            options = need if isinstance(need, tuple) else (need,)
            if not any(o in self.positions for o in options):
                absent.append(need)
        return absent


def lookup(kind: str, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """normalised header -> canonical column for one table kind, overrides winning."""
    return _lookup(kind, tuple(sorted((overrides or {}).items())))


@functools.lru_cache(maxsize=64)
def _lookup(kind: str, overrides: tuple[tuple[str, str], ...]) -> dict[str, str]:
    table: dict[str, str] = {}
    for canonical, spellings in ALIASES[kind].items():
        table[normalise(canonical)] = canonical
        for spelling in spellings:
            table.setdefault(normalise(spelling), canonical)
    for canonical, header in overrides:
        table[normalise(header)] = canonical
    return table


def match_headers(
    kind: str, headers: Sequence[object], overrides: Mapping[str, str] | None = None
) -> HeaderMatch:
    """Map a row of headers to canonical columns; the first column wins a tie."""
    table = lookup(kind, overrides)
    typed = ["" if h is None else str(h).strip() for h in headers]
    match = HeaderMatch(kind=kind, headers=typed)
    for position, header in enumerate(typed):
        canonical = table.get(normalise(header))
        if canonical is None:
            continue
        if canonical in match.positions:
            match.duplicates.append((canonical, position))
        else:
            match.positions[canonical] = position
    return match


def closest_header(kind: str, canonical: str, headers: Sequence[str]) -> str | None:
    """The found header most like any spelling of ``canonical``, to suggest a rename."""
    wanted = [normalise(canonical), *(normalise(s) for s in ALIASES[kind].get(canonical, ()))]
    best: tuple[float, str] | None = None
    for header in headers:
        key = normalise(header)
        if not key:
            continue
        ratio = max(difflib.SequenceMatcher(None, key, w).ratio() for w in wanted)
        if ratio >= 0.6 and (best is None or ratio > best[0]):
            best = (ratio, header)
    return best[1] if best else None


def preferred_header(kind: str, canonical: str) -> str:
    """The spelling we suggest when a column is missing."""
    spellings = ALIASES[kind].get(canonical, ())
    return spellings[0] if spellings else canonical
