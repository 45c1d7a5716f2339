"""Small generated organisations for the differential tests (hypothesis).

Written from DESIGN.md §4-§6 and the canonical tables' documented columns, not from the
engine: each draw is a situation a real organisation produces, chosen so that every rule of §6
meets its edge cases — platform categories and Categories-sheet rows spelled differently, the
Courses sheet, Brightspace ``IsStructured`` disagreeing with the sheet, several audiences,
policy requirements overriding Thrive's, the Brightspace-target fallback, joiners, leavers,
FTE < 1, exempt people, drafts, records at 23:30 and 00:30 local on the period's edges in
timezones east and west of UTC and across DST changes, future-dated and implausible minutes,
duplicates within and across systems at the edge of ``duplicate_window_days``, completions at
the edge of ``completion_match_days``, failed courses, unlogged completions, content without
a duration, unmatched and ambiguous accounts, category minimums and caps, platform totals that
agree and disagree.

An organisation is plain rows (``dict`` per row, Python values), the shape the reference
implementation reads; :func:`as_canonical` turns the same rows into the engine's frames.

Choices list their plainest value first: hypothesis shrinks a failing example towards it.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from hypothesis import strategies as st

from reconcile.engine import CanonicalTables, Rules
from reconcile.engine.canonical import SCHEMAS

UTC = dt.UTC
Rows = dict[str, list[dict[str, Any]]]

TIMEZONES = (
    "UTC",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "Pacific/Auckland",
)
#: Periods, some holding a DST change in the zones above (London 29 Mar / 25 Oct 2026,
#: New York 8 Mar / 1 Nov, Auckland 5 Apr / 27 Sep), one starting and ending on one.
PERIODS = (
    (dt.date(2026, 3, 1), dt.date(2026, 3, 31)),
    (dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
    (dt.date(2026, 10, 1), dt.date(2026, 10, 31)),
    (dt.date(2026, 3, 29), dt.date(2026, 10, 25)),
    (dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
    (dt.date(2026, 4, 1), dt.date(2027, 3, 31)),
)
DST_DAYS = (
    dt.date(2026, 3, 8),
    dt.date(2026, 3, 29),
    dt.date(2026, 4, 5),
    dt.date(2026, 9, 27),
    dt.date(2026, 10, 25),
    dt.date(2026, 11, 1),
)
LOCAL_TIMES = (dt.time(12, 0), dt.time(23, 30), dt.time(0, 30))

PLATFORM_CATEGORIES = ("Clinical Skills", "Safeguarding", "Ethics", "Leadership")
#: How HR spells the same categories on the policy sheet (case, spacing), and one of its own.
SHEET_SPELLINGS = {
    "Clinical Skills": (
        "Clinical Skills",
        "clinical skills",
        "CLINICAL  SKILLS",
        " Clinical skills ",
    ),
    "Safeguarding": ("Safeguarding", "SAFEGUARDING", "safeguarding "),
    "Ethics": ("Ethics", "ethics"),
    "Leadership": ("Leadership", "leadership"),
    "Reflective practice": ("Reflective practice", "reflective  practice"),
}
AUDIENCES = (
    ("5f0a00000000000000000a01", "Nurses", "NUR"),
    ("5f0a00000000000000000a02", "Doctors", "DOC"),
    ("5f0a00000000000000000a03", "Pharmacists", "PHA"),
    ("5f0a00000000000000000a04", "Allied Health", "AHP"),
)
#: Courses: (system, course_id, title). Thrive content ids double as course ids.
COURSES = (
    ("thrive", "c0ffee000000000000000001", "Fire Safety"),
    ("thrive", "c0ffee000000000000000002", "Infection Control"),
    ("thrive", "c0ffee000000000000000003", "Dementia Awareness"),
    ("coursepath", "101", "Manual Handling"),
    ("coursepath", "102", "Basic Life Support"),
)
ACCOUNT_PREFIX = {"thrive": "60d0f", "brightspace": "10", "coursepath": "m"}
USERS_TABLE = {
    "thrive": "thrive/users",
    "brightspace": "brightspace/users",
    "coursepath": "coursepath/members",
}
OTHER_TITLES = ("Journal club", "Ward teaching", "Conference: cardiology", "Reading")
#: Minutes as records carry them: plausible, zero, negative, over a day, fractional, missing.
#: Plausible minutes come up about three times as often as the others.
MINUTES = (
    *(60.0, 30.0, 90.0, 45.0, 120.0) * 2,
    7.5,
    1440.0,
    0.0,
    -15.0,
    1441.0,
    2000.0,
    None,
)


@dataclass
class Organisation:
    """Rows per canonical table plus the rules of the run."""

    rows: Rows
    rules: Rules
    notes: list[str] = field(default_factory=list)

    def table(self, name: str) -> list[dict[str, Any]]:
        return self.rows.setdefault(name, [])


def blank_row(table: str, **values: Any) -> dict[str, Any]:
    """A row of ``table`` with every canonical column, unset ones None (``exempt`` False)."""
    row: dict[str, Any] = dict.fromkeys(SCHEMAS[table])
    if table == "people":
        row["exempt"] = False
    unknown = set(values) - set(row)
    if unknown:
        raise KeyError(f"{table} has no column(s) {sorted(unknown)}")
    row.update(values)
    return row


def as_canonical(rows: Rows) -> CanonicalTables:
    """The engine's input built from the same rows the reference reads."""
    frames = {}
    for name in SCHEMAS:
        table = rows.get(name) or []
        if table:
            frames[name] = pd.DataFrame(table, columns=list(SCHEMAS[name]))
    return CanonicalTables.build(**frames)


def local_instant(day: dt.date, at: dt.time, timezone: str) -> dt.datetime:
    """The UTC instant of a local wall-clock time (a real record's ``completed_at``)."""
    return dt.datetime.combine(day, at, tzinfo=zoneinfo.ZoneInfo(timezone)).astimezone(UTC)


def local_day(instant: dt.datetime, timezone: str) -> dt.date:
    return instant.astimezone(zoneinfo.ZoneInfo(timezone)).date()


def _variant(draw: Any, text: str) -> str:
    """The same text as people type it: as is, another case, stray spaces."""
    how = draw(st.sampled_from(("same", "upper", "lower", "spaces")))
    if how == "upper":
        return text.upper()
    if how == "lower":
        return text.lower()
    if how == "spaces":
        return "  " + text.replace(" ", "  ") + " "
    return text


def _title_variant(draw: Any, title: str) -> str:
    """A title as another system or person writes it: normalises to the same key, mostly."""
    how = draw(st.sampled_from(("same", "case", "punct", "spaces")))
    if how == "case":
        return title.upper()
    if how == "punct":
        return title.replace(" ", "-") + "!"
    if how == "spaces":
        return title.replace(" ", "  ") + " "
    return title


@dataclass
class _Day:
    """Key days of the run: edges of the period, as_of, DST changes."""

    rules: Rules

    def choices(self) -> tuple[dt.date, ...]:
        """About half the days fall well inside the period (up to as_of), the rest on edges."""
        r = self.rules
        one = dt.timedelta(days=1)
        last = min(r.as_of, r.period_end)
        inside = tuple(
            r.period_start + (last - r.period_start) * k / 8 for k in (1, 2, 3, 4, 5, 6, 7)
        )
        dst = tuple(d for d in DST_DAYS if r.period_start - one <= d <= r.period_end + one)
        return (
            *inside,
            r.period_start,
            r.period_end,
            r.period_start - one,
            r.period_end + one,
            r.as_of,
            r.as_of + one,
            r.period_start + one,
            r.period_end - one,
            *dst,
        )


@st.composite
def rules_strategy(draw: Any) -> Rules:
    start, end = draw(st.sampled_from(PERIODS))
    length = (end - start).days
    as_of = draw(
        st.sampled_from(
            (
                end,
                start + dt.timedelta(days=length // 2),
                end + dt.timedelta(days=5),
                end - dt.timedelta(days=1),
                start,
                start + dt.timedelta(days=6),
            )
        )
    )
    return Rules(
        period_start=start,
        period_end=end,
        as_of=as_of,
        timezone=draw(st.sampled_from(TIMEZONES)),
        multiple_audiences=draw(st.sampled_from(("max", "sum"))),
        prorate=draw(st.booleans().map(lambda b: not b)),
        count_unlogged_completions=draw(st.booleans().map(lambda b: not b)),
        duplicate_window_days=draw(st.sampled_from((1, 0, 2, 3))),
        completion_match_days=draw(st.sampled_from((14, 0, 3, 7))),
        max_activity_minutes=draw(st.sampled_from((1440, 600))),
    )


class _Builder:
    """Draws one organisation table by table; each method is one input of §6."""

    def __init__(self, draw: Any, rules: Rules, people: int) -> None:
        self.draw = draw
        self.rules = rules
        self.days = _Day(rules).choices()
        self.org = Organisation(rows={}, rules=rules)
        self.n_people = people
        self.systems = draw(
            st.lists(
                st.sampled_from(("thrive", "brightspace", "coursepath")), unique=True, max_size=3
            ).map(sorted)
        )
        # (system, account_id) -> employee_id the account belongs to in the story (None: nobody)
        self.owner: dict[tuple[str, str], str | None] = {}
        self.accounts_of: dict[str, list[tuple[str, str]]] = {}
        self.serial = 0

    def next_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.serial}"

    def day(self) -> dt.date:
        return self.draw(st.sampled_from(self.days))

    def instant(self) -> dt.datetime:
        return local_instant(
            self.day(), self.draw(st.sampled_from(LOCAL_TIMES)), self.rules.timezone
        )

    # ------------------------------------------------------------------ roster

    def people(self) -> None:
        draw, r = self.draw, self.rules
        one = dt.timedelta(days=1)
        mid = r.period_start + (r.period_end - r.period_start) / 2
        starts = (
            None,
            r.period_start,
            r.period_start + one,
            mid,
            r.period_end,
            r.period_start - 30 * one,
        )
        leaves = (
            None,
            r.period_end,
            mid,
            r.period_start,
            r.period_start - one,
            r.as_of,
            r.period_end + one,
        )
        for i in range(self.n_people):
            employee_id = draw(st.sampled_from((f"E{i:03d}", f"{i:05d}")))
            start = draw(st.sampled_from(starts))
            leave = draw(st.sampled_from(leaves))
            if start is not None and leave is not None and leave < start:
                leave = None
            exempt = draw(st.sampled_from((False, False, False, True)))
            manager = None
            if i and draw(st.booleans()):
                manager = self.org.table("people")[draw(st.integers(0, i - 1))]["employee_id"]
            self.org.table("people").append(
                blank_row(
                    "people",
                    employee_id=employee_id,
                    name=f"Person {i}",
                    email=f"person{i}@acme.example",
                    department=draw(st.sampled_from(("Wards", "Theatre", None))),
                    manager_id=manager,
                    start_date=start,
                    leave_date=leave,
                    fte=draw(st.sampled_from((None, 1.0, 0.5, 0.8, 0.6))),
                    exempt=exempt,
                    exempt_reason="Long-term leave" if exempt and draw(st.booleans()) else None,
                )
            )

    # ------------------------------------------------------------------ accounts

    def accounts(self) -> None:
        draw = self.draw
        for person in self.org.table("people"):
            for system in self.systems:
                for _ in range(draw(st.sampled_from((1, 0, 2)))):
                    self._account_for(person, system)
        for system in self.systems:
            for k in range(draw(st.integers(0, 2))):
                # nobody's: a stranger, sometimes named like a roster person
                name = draw(st.sampled_from((f"Stranger {k}", "Person 0", "person 1")))
                self._add_account(system, f"stranger{k}@elsewhere.example", None, name, None)
        if self.systems and self.n_people >= 2 and draw(st.integers(0, 3)) == 0:
            self._ambiguous(draw(st.sampled_from(self.systems)))

    def _account_for(self, person: dict[str, Any], system: str) -> None:
        draw = self.draw
        route = draw(st.sampled_from(("email", "ref", "explicit", "none")))
        email = _variant(draw, person["email"]) if route != "none" else "old." + person["email"]
        ref = None
        if route == "ref":
            ref = (
                _variant(draw, person["employee_id"])
                if draw(st.booleans())
                else person["employee_id"]
            )
        account_id = self._add_account(system, email, ref, person["name"], person["employee_id"])
        if route == "explicit" and person[f"{system}_id"] is None:
            person[f"{system}_id"] = account_id

    def _add_account(
        self, system: str, email: str | None, ref: str | None, name: str | None, owner: str | None
    ) -> str:
        account_id = self.next_id(ACCOUNT_PREFIX[system])
        self.org.table("accounts").append(
            blank_row(
                "accounts",
                system=system,
                account_id=account_id,
                email=email,
                external_ref=ref,
                name=name,
                source_table=USERS_TABLE[system],
            )
        )
        self.owner[(system, account_id)] = owner
        if owner is not None:
            self.accounts_of.setdefault(owner, []).append((system, account_id))
        return account_id

    def _ambiguous(self, system: str) -> None:
        """Two roster rows name the same account id: the account matches both."""
        free = [p for p in self.org.table("people") if p[f"{system}_id"] is None]
        if len(free) < 2:
            return
        account_id = self._add_account(system, "shared@acme.example", None, "Shared", None)
        for person in free[:2]:
            person[f"{system}_id"] = account_id

    # ------------------------------------------------------------------ audiences and requirements

    def audiences(self) -> None:
        draw = self.draw
        chosen = AUDIENCES[: draw(st.integers(0, len(AUDIENCES)))]
        thrive = "thrive" in self.systems
        if thrive:
            for audience_id, name, reference in chosen:
                self.org.table("audiences").append(
                    blank_row(
                        "audiences",
                        audience_id=audience_id,
                        name=name,
                        reference=reference,
                        source_table="thrive/audiences",
                    )
                )
            for (system, account_id), _ in self.owner.items():
                if system != "thrive" or not chosen:
                    continue
                for audience in draw(st.lists(st.sampled_from(chosen), max_size=2, unique=True)):
                    self.org.table("memberships").append(
                        blank_row(
                            "memberships",
                            audience=audience[0],
                            system="thrive",
                            account_id=account_id,
                            source_table="thrive/audience_members",
                        )
                    )
            for audience_id, _, _ in chosen:
                if draw(st.booleans()):
                    for _ in range(draw(st.sampled_from((1, 2)))):
                        self._requirement(audience_id, "thrive", structured=False)
        # the roster's audiences column: by name, reference or id, as HR types them
        roster_names = [
            *chosen,
            ("Locums", "Locums", "LOC"),
            ("Unknown team", "Unknown team", "UNK"),
        ]
        for person in self.org.table("people"):
            for audience in draw(st.lists(st.sampled_from(roster_names), max_size=2, unique=True)):
                spelled = draw(st.sampled_from(audience))
                if not thrive and spelled == audience[0] and audience in chosen:
                    spelled = audience[1]
                self.org.table("memberships").append(
                    blank_row(
                        "memberships",
                        audience=_variant(draw, spelled),
                        employee_id=person["employee_id"],
                        source_table="roster/roster.xlsx",
                    )
                )
        # the policy sheet: overrides some of Thrive's, adds its own
        for audience in [*chosen, roster_names[-2]]:
            if draw(st.booleans()):
                spelled = _variant(draw, draw(st.sampled_from(audience[1:])))
                self._requirement(spelled, "policy", structured=True)

    def _requirement(self, audience: str, origin: str, *, structured: bool) -> None:
        draw = self.draw
        self.org.table("requirements").append(
            blank_row(
                "requirements",
                audience=audience,
                required_minutes=draw(
                    st.sampled_from((1200.0, 600.0, 0.0, 900.0, 120.0, 90.0, 1000.0))
                ),
                structured_minutes=draw(st.sampled_from((None, 300.0, 0.0, 600.0)))
                if structured
                else None,
                origin=origin,
                source_table="thrive/requirements" if origin == "thrive" else "policy/Requirements",
            )
        )

    def targets(self) -> None:
        draw = self.draw
        for (system, account_id), _ in list(self.owner.items()):
            if system != "brightspace" or not draw(st.booleans()):
                continue
            done = draw(st.sampled_from(("agree", "none", "off")))
            self.org.table("targets").append(
                blank_row(
                    "targets",
                    system="brightspace",
                    account_id=account_id,
                    structured_required=draw(st.sampled_from((300.0, 0.0, 600.0))),
                    unstructured_required=draw(st.sampled_from((600.0, 0.0, 900.0, 60.0))),
                    structured_done=None if done == "none" else 0.0,
                    unstructured_done=None if done == "none" else 0.0,
                    source_table="brightspace/targets",
                )
            )
            self.org.table("targets")[-1]["_totals"] = done

    # ------------------------------------------------------------------ categories and catalogue

    def categories(self) -> None:
        draw = self.draw
        if "thrive" in self.systems:
            for name in draw(st.lists(st.sampled_from(PLATFORM_CATEGORIES), unique=True)):
                self.org.table("categories").append(
                    blank_row("categories", category=name, source_table="thrive/cpd_categories")
                )
        for name in draw(st.lists(st.sampled_from(sorted(SHEET_SPELLINGS)), unique=True)):
            self.org.table("categories").append(
                blank_row(
                    "categories",
                    category=draw(st.sampled_from(SHEET_SPELLINGS[name])),
                    structured=draw(st.sampled_from((True, None, False))),
                    min_minutes=draw(st.sampled_from((None, 60.0, 120.0))),
                    max_minutes=draw(st.sampled_from((None, 120.0, 300.0))),
                    source_table="policy/Categories",
                )
            )

    def catalogue(self) -> None:
        draw = self.draw
        categories = (None, *PLATFORM_CATEGORIES, "Reflective practice")
        for system, course_id, title in COURSES:
            if draw(st.booleans()):
                self.org.table("catalogue").append(
                    blank_row(
                        "catalogue",
                        system=system,
                        course_id=course_id,
                        title=_variant(draw, title) if draw(st.booleans()) else title,
                        cpd_minutes=draw(st.sampled_from((60.0, None, 90.0, 0.0, 30.0))),
                        category=draw(st.sampled_from(categories)),
                        structured=draw(st.sampled_from((None, True, False))),
                        thrive_content_id=course_id if system == "thrive" else None,
                        origin="policy",
                        source_table="policy/Courses",
                    )
                )
        if "thrive" in self.systems:
            for system, course_id, title in COURSES:
                if system == "thrive" and draw(st.booleans()):
                    self.org.table("catalogue").append(
                        blank_row(
                            "catalogue",
                            system="thrive",
                            course_id=course_id,
                            title=title,
                            cpd_minutes=draw(st.sampled_from((45.0, None, 60.0))),
                            origin="content",
                            source_table="thrive/contents",
                        )
                    )
        if "coursepath" in self.systems:
            for system, course_id, title in COURSES:
                if system == "coursepath":
                    self.org.table("catalogue").append(
                        blank_row(
                            "catalogue",
                            system="coursepath",
                            course_id=course_id,
                            title=title,
                            origin="content",
                            source_table="coursepath/courses",
                        )
                    )

    # ------------------------------------------------------------------ activities

    def activities(self) -> None:
        draw = self.draw
        titles = (*(c[2] for c in COURSES), *OTHER_TITLES)
        categories = (None, *PLATFORM_CATEGORIES, "clinical skills", "Reflective practice")
        for (system, account_id), _ in list(self.owner.items()):
            if system == "coursepath":
                continue  # Coursepath holds course results, not logged CPD
            for _ in range(draw(st.integers(0, 3))):
                self._activity(
                    system,
                    account_id,
                    title=_title_variant(draw, draw(st.sampled_from(titles))),
                    category=draw(st.sampled_from(categories)),
                    minutes=draw(st.sampled_from(MINUTES)),
                    when=self.instant(),
                )
        # CPD logs kept in a spreadsheet, by employee id or e-mail
        for person in self.org.table("people"):
            for _ in range(draw(st.sampled_from((0, 0, 1, 2)))):
                by = draw(st.sampled_from(("employee_id", "email", "nobody")))
                who = {
                    "employee_id": person["employee_id"],
                    "email": _variant(draw, person["email"]),
                    "nobody": "E999",
                }[by]
                self._activity(
                    "spreadsheet",
                    who,
                    title=_title_variant(draw, draw(st.sampled_from(titles))),
                    category=draw(st.sampled_from(categories)),
                    minutes=draw(st.sampled_from(MINUTES)),
                    when=self.day(),
                )
        # records naming an account the users list lacks
        for system in self.systems:
            if system != "coursepath" and draw(st.integers(0, 3)) == 0:
                self._activity(
                    system,
                    "ghost1",
                    title="Reading",
                    category=None,
                    minutes=60.0,
                    when=self.instant(),
                )
        for _ in range(draw(st.integers(0, 6))):
            self._plant_duplicate()

    def _activity(
        self,
        system: str,
        account_id: str,
        *,
        title: str,
        category: str | None,
        minutes: float | None,
        when: dt.datetime | dt.date,
        structured: bool | None = None,
    ) -> None:
        draw = self.draw
        values: dict[str, Any] = {
            "system": system,
            "account_id": account_id,
            "title": title,
            "category": category,
            "minutes": minutes,
            "state": "published",
        }
        if system == "thrive":
            values |= {
                "record_id": self.next_id("le"),
                "completed_at": when,
                "source_table": "thrive/cpd_entries",
            }
        elif system == "brightspace":
            values |= {
                "record_id": str(5000 + self.serial),
                "completed_at": when,
                "structured": structured if structured is not None else draw(st.booleans()),
                "state": draw(st.sampled_from(("published", "published", "draft"))),
                "source_table": "brightspace/records",
            }
            self.serial += 1
        else:
            values |= {
                "record_id": str(2 + len(self.org.table("activities"))),
                "local_date": when,
                "structured": draw(st.sampled_from((None, True, False))),
                "source_table": "spreadsheet/external_cpd.xlsx",
            }
        self.org.table("activities").append(blank_row("activities", **values))

    def _plant_duplicate(self) -> None:
        """The same CPD logged again: same person, title and minutes, a few days apart."""
        draw = self.draw
        candidates = [
            (a, owner)
            for a in self.org.table("activities")
            if (owner := self._owner_of(a)) is not None
            and a["minutes"] is not None
            and 0 < a["minutes"] <= self.rules.max_activity_minutes
        ]
        if not candidates:
            return
        original, owner = draw(st.sampled_from(candidates))
        shift = dt.timedelta(
            days=draw(st.sampled_from((0, 1, 2, 3, 4))) * draw(st.sampled_from((1, -1)))
        )
        when = original["completed_at"] or original["local_date"]
        places = [a for a in self.accounts_of.get(owner, []) if a[0] != "coursepath"]
        system, account_id = draw(st.sampled_from([*places, ("spreadsheet", owner)]))
        if system == "spreadsheet":
            day = (
                when
                if isinstance(when, dt.date) and not isinstance(when, dt.datetime)
                else local_day(when, self.rules.timezone)
            )
            when = day + shift
        elif isinstance(when, dt.datetime):
            when = when + shift
        else:
            when = local_instant(when + shift, dt.time(9, 0), self.rules.timezone)
        self._activity(
            system,
            account_id,
            title=_title_variant(draw, original["title"]),
            category=original["category"],
            minutes=original["minutes"],
            when=when,
            structured=original["structured"],
        )

    def _owner_of(self, activity: dict[str, Any]) -> str | None:
        """Whose record this is in the story (a CPD-log row: the employee id or e-mail typed)."""
        owner = self.owner.get((activity["system"], activity["account_id"]))
        if owner is None and activity["system"] == "spreadsheet":
            typed = activity["account_id"].strip().casefold()
            owner = next(
                (
                    p["employee_id"]
                    for p in self.org.table("people")
                    if typed in (p["employee_id"].casefold(), p["email"])
                ),
                None,
            )
        return owner

    # ------------------------------------------------------------------ completions

    def completions(self) -> None:
        draw = self.draw
        for (system, account_id), _ in list(self.owner.items()):
            if system not in ("thrive", "coursepath"):
                continue
            mine = [c for c in COURSES if c[0] == system]
            for _ in range(draw(st.integers(0, 2))):
                course = draw(st.sampled_from(mine))
                self._completion(system, account_id, course[1], self.instant())
        for _ in range(draw(st.integers(0, 6))):
            self._plant_completion_of_logged_activity()
        if "thrive" in self.systems and draw(st.integers(0, 3)) == 0:
            self._completion("thrive", "ghost2", COURSES[0][1], self.instant())
        if "thrive" in self.systems and draw(st.integers(0, 3)) == 0:
            accounts = [k for k in self.owner if k[0] == "thrive"]
            if accounts:
                # a content id no catalogue knows: no CPD value
                self._completion(
                    "thrive",
                    draw(st.sampled_from(accounts))[1],
                    "c0ffee00000000000000dead",
                    self.instant(),
                )

    def _completion(self, system: str, account_id: str, course_id: str, when: dt.datetime) -> None:
        draw = self.draw
        if system == "thrive":
            values = {
                "record_id": self.next_id("lc"),
                "passed": True,
                "source_table": "thrive/completions",
            }
        else:
            passed = draw(st.sampled_from((True, False)))
            values = {
                "record_id": f"{course_id}:{account_id}:{self.next_id('')}",
                "passed": passed,
                "score": 80.0 if passed else 40.0,
                "source_table": "coursepath/results",
            }
        self.org.table("completions").append(
            blank_row(
                "completions",
                system=system,
                account_id=account_id,
                course_id=course_id,
                completed_at=when,
                **values,
            )
        )

    def _plant_completion_of_logged_activity(self) -> None:
        """A course completed near the day the person logged it: at the matching window's edge."""
        draw = self.draw
        course_titles = {c[2].casefold(): c for c in COURSES}
        logged = []
        for a in self.org.table("activities"):
            owner = self._owner_of(a)
            key = " ".join(
                "".join(ch for ch in a["title"].casefold() if ch.isalnum() or ch == " ").split()
            )
            if owner and key in course_titles:
                logged.append((a, owner, course_titles[key]))
        if not logged:
            return
        activity, owner, course = draw(st.sampled_from(logged))
        accounts = [a for a in self.accounts_of.get(owner, []) if a[0] == course[0]]
        if not accounts:
            return
        m = self.rules.completion_match_days
        offset = draw(st.sampled_from((0, m, m + 1, -m, -(m + 1))))
        when = activity["completed_at"] or local_instant(
            activity["local_date"], dt.time(10, 0), self.rules.timezone
        )
        self._completion(
            course[0],
            draw(st.sampled_from(accounts))[1],
            course[1],
            when + dt.timedelta(days=offset),
        )

    # ---------------------------------------------------------- platform totals, input issues

    def platform_totals(self) -> None:
        """Thrive's own total per user, and Brightspace target numerators: agreeing or not."""
        draw, r = self.draw, self.rules

        def in_period(a: dict[str, Any]) -> bool:
            day = local_day(a["completed_at"], r.timezone) if a["completed_at"] else None
            return (
                day is not None and r.period_start <= day <= r.period_end and a["state"] != "draft"
            )

        for (system, account_id), _ in list(self.owner.items()):
            if system != "thrive" or not draw(st.booleans()):
                continue
            detail = sum(
                a["minutes"] or 0.0
                for a in self.org.table("activities")
                if (a["system"], a["account_id"]) == (system, account_id) and in_period(a)
            )
            self.org.table("platform_totals").append(
                blank_row(
                    "platform_totals",
                    system="thrive",
                    account_id=account_id,
                    minutes=draw(st.sampled_from((detail, detail + 30.0, 0.0))),
                    source_table="thrive/user_log_summaries",
                )
            )
        for target in self.org.table("targets"):
            how = target.pop("_totals")
            if how == "none":
                continue
            mine = [
                a
                for a in self.org.table("activities")
                if (a["system"], a["account_id"]) == ("brightspace", target["account_id"])
                and in_period(a)
            ]
            target["structured_done"] = sum(a["minutes"] or 0.0 for a in mine if a["structured"])
            target["unstructured_done"] = sum(
                a["minutes"] or 0.0 for a in mine if not a["structured"]
            )
            if how == "off":
                target["unstructured_done"] += 15.0

    def input_issues(self) -> None:
        draw = self.draw
        for k in range(draw(st.sampled_from((0, 0, 1, 2)))):
            people = self.org.table("people")
            who = people[k % len(people)]["employee_id"] if draw(st.booleans()) else None
            self.org.table("input_issues").append(
                blank_row(
                    "input_issues",
                    file="roster.xlsx",
                    sheet="Staff",
                    row=float(k + 2),
                    column="Audiences",
                    value="Unknown team",
                    problem="unknown audience",
                    fix="check the audience name",
                    employee_id=who,
                )
            )


@st.composite
def organisations(draw: Any, max_people: int = 40) -> Organisation:
    """A small organisation with every rule's inputs (1 to ``max_people`` people)."""
    rules = draw(rules_strategy())
    people = draw(st.integers(1, 8) | st.integers(1, max_people))
    build = _Builder(draw, rules, people)
    build.people()
    build.accounts()
    build.audiences()
    build.targets()
    build.categories()
    build.catalogue()
    build.activities()
    build.completions()
    build.platform_totals()
    build.input_issues()
    return build.org
