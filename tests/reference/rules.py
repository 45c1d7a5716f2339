"""An independent reference implementation of DESIGN.md section 6 (reconciliation rules).

Written from DESIGN.md and the recorded decisions only, never from the engine. It is slow on
purpose: one person and one record at a time, plain loops and dicts, exact fractions for every
sum that is later rounded. Each function is named after the rule it implements and quotes it.
Where the text left a choice open, the choice is listed in tests/reference/README.md.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from zoneinfo import ZoneInfo

# "system (thrive, brightspace, coursepath, spreadsheet: platform records win over hand-typed)"
SYSTEM_ORDER = {"thrive": 0, "brightspace": 1, "coursepath": 2, "spreadsheet": 3}
EXPLICIT_ID_COLUMN = {
    "thrive": "thrive_id",
    "brightspace": "brightspace_id",
    "coursepath": "coursepath_id",
}
NOT_A_CLAIM_CHECK = ("unmatched", "future_dated")  # completions that do not verify a claim
ACCOUNT_EXCEPTION = {"unmatched": "unmatched_account", "ambiguous": "ambiguous_match"}
ACTIVITY_EXCEPTION = {
    "future_dated": "future_dated",
    "implausible": "implausible_minutes",
    "duplicate": "duplicate_activity",
}
# The tables whose rows the control totals account for (§6.8), each counted per source_table.
TABLES = (
    "accounts", "audiences", "memberships", "requirements", "activities",
    "completions", "catalogue", "categories", "platform_totals", "targets",
)  # fmt: skip


@dataclass(frozen=True)
class RefRules:
    period_start: dt.date
    period_end: dt.date  # inclusive
    as_of: dt.date
    timezone: str = "UTC"  # IANA name
    multiple_audiences: str = "max"  # or "sum"
    prorate: bool = True
    count_unlogged_completions: bool = True
    duplicate_window_days: int = 1
    completion_match_days: int = 14
    max_activity_minutes: int = 1440


@dataclass
class PersonFigures:
    required: int
    structured_required: int
    counted: int
    structured: int
    pending: int
    shortfall: int
    progress: float | None
    status: str


@dataclass
class ActivityOutcome:
    employee_id: str | None
    disposition: str
    duplicate_of: str | None = None


@dataclass
class CompletionOutcome:
    employee_id: str | None
    disposition: str
    matched_record_id: str | None = None


@dataclass
class ReferenceResult:
    people: dict[str, PersonFigures]
    activities: list[ActivityOutcome]
    completions: list[CompletionOutcome]
    exceptions: list[tuple[str, str | None, str | None, str | None]]
    control_totals: dict[tuple[str, str], int]


# ----------------------------------------------------------------------------------------------
# Small helpers: text, numbers, dates


def clean(value) -> str:
    """Text as the user sees it, trimmed; a blank cell is ''."""
    return "" if value is None else str(value).strip()


def exact(value) -> Fraction | None:
    """A number as the decimal the user typed (0.7 is 7/10, not the nearest binary float)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float):
        return Fraction(repr(value))
    return Fraction(value)


def half_up(value: Fraction) -> int:
    """'rounded half up to whole minutes': floor(x + 1/2), exactly."""
    return math.floor(value + Fraction(1, 2))


def normalise_title(title) -> str:
    """§6.4: 'same normalised title (case-folded, punctuation and repeated spaces removed)'."""
    folded = clean(title).casefold()
    kept = "".join(ch for ch in folded if not unicodedata.category(ch).startswith("P"))
    return " ".join(kept.split())


def normalise_name(value) -> str:
    """Audience and category names: trimmed, case-folded, runs of spaces collapsed."""
    return " ".join(clean(value).casefold().split())


def normalise_email(value) -> str:
    """§6.1: 'normalised email (trimmed, case-folded)'."""
    return clean(value).casefold()


def system_rank(system) -> tuple[int, str]:
    return (SYSTEM_ORDER.get(system, len(SYSTEM_ORDER)), clean(system))


def record_ref(row) -> str:
    return f"{row['system']}:{row['record_id']}"


def is_policy_row(row) -> bool:
    """A row typed by HR in the policy workbook (source_table 'policy/...' or origin 'policy')."""
    return row.get("origin") == "policy" or clean(row.get("source_table")).startswith("policy/")


# ----------------------------------------------------------------------------------------------
# Rule 1: identity


def match_account(system, account_id, email, external_ref, people, use_explicit_id=True):
    """§6.1 'Each platform account is matched to one roster person: explicit id column in the
    roster -> the platform's external reference equal to employee_id -> normalised email.'
    The first step with any candidate decides: one person 'matched', two 'ambiguous'."""
    steps = []
    column = EXPLICIT_ID_COLUMN.get(system)
    if use_explicit_id and column and clean(account_id):
        steps.append([p for p in people if clean(p.get(column)) == clean(account_id)])
    if clean(external_ref):
        steps.append([p for p in people if clean(p["employee_id"]) == clean(external_ref)])
    if normalise_email(email):
        wanted = normalise_email(email)
        steps.append([p for p in people if normalise_email(p.get("email")) == wanted])
    for candidates in steps:
        ids = list(dict.fromkeys(p["employee_id"] for p in candidates))
        if len(ids) == 1:
            return "matched", ids[0]
        if len(ids) > 1:
            return "ambiguous", None
    return "unmatched", None


def identify_accounts(accounts, people):
    """§6.1 for every row of the accounts table. Returns the per-row outcome and a lookup
    (system, account_id) -> (disposition, employee_id); the first row of an account decides."""
    outcomes, lookup = [], {}
    for row in accounts:
        outcome = match_account(
            row["system"], row["account_id"], row.get("email"), row.get("external_ref"), people
        )
        outcomes.append(outcome)
        lookup.setdefault((row["system"], row["account_id"]), outcome)
    return outcomes, lookup


def person_of_record(row, lookup, people, missing_accounts):
    """The person a record belongs to, through its account. CPD-log rows (system 'spreadsheet')
    name the person by employee_id or e-mail: 'the same steps without the explicit-id step'.
    A record naming an account absent from the accounts table is remembered in
    missing_accounts so that it yields one unmatched_account per account."""
    key = (row["system"], row["account_id"])
    if key in lookup:
        return lookup[key]
    if key not in missing_accounts:
        if row["system"] == "spreadsheet":
            account_id = row["account_id"]
            missing_accounts[key] = match_account(
                "spreadsheet", account_id, account_id, account_id, people, use_explicit_id=False
            )
        else:
            missing_accounts[key] = ("unmatched", None)
    return missing_accounts[key]


# ----------------------------------------------------------------------------------------------
# Rule 2: period


def local_date_of(instant: dt.datetime | None, timezone: str) -> dt.date | None:
    """§6.2 'Timestamps are UTC; each is converted to the organisation's timezone and its local
    date decides the period.'"""
    if instant is None:
        return None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=dt.UTC)
    return instant.astimezone(ZoneInfo(timezone)).date()


def activity_local_date(row, rules: RefRules) -> dt.date | None:
    """An instant when there is one, else the typed local date of a CPD-log row."""
    if row.get("completed_at") is not None:
        return local_date_of(row["completed_at"], rules.timezone)
    return row.get("local_date")


def in_period(day: dt.date | None, rules: RefRules) -> bool:
    """§6.2 'Inclusive on both ends.'"""
    return day is not None and rules.period_start <= day <= rules.period_end


def employment_window(person, rules: RefRules) -> tuple[dt.date, dt.date]:
    """§6.7 'The window is the period cut to the person's start and leave dates' (may be empty:
    start after end)."""
    start = max(rules.period_start, person.get("start_date") or rules.period_start)
    end = min(rules.period_end, person.get("leave_date") or rules.period_end)
    return start, end


def days_inclusive(start: dt.date, end: dt.date) -> int:
    return max(0, (end - start).days + 1)


# ----------------------------------------------------------------------------------------------
# Rule 3: requirement


def audience_key(text, audiences) -> str | None:
    """Audiences 'matched to audiences by id, reference or name' (§5); an audience no table
    knows keeps its own text as a key, so a roster audience can meet a policy row by name."""
    wanted = normalise_name(text)
    if not wanted:
        return None
    for column in ("audience_id", "reference", "name"):
        for row in audiences:
            if normalise_name(row.get(column)) == wanted:
                return "audience:" + normalise_name(row["audience_id"])
    return "text:" + wanted


def audience_members(memberships, audiences, people, lookup):
    """§6.3 'A person's audiences = Thrive audience membership ∪ the roster's audiences'.
    Returns per-row person (None if unresolved) and audience key -> set of members."""
    people_by_id = {clean(p["employee_id"]): p["employee_id"] for p in people}
    row_person, members = [], defaultdict(set)
    for row in memberships:
        person = None
        if clean(row.get("employee_id")):
            person = people_by_id.get(clean(row["employee_id"]))
        elif row.get("system") is not None:
            _disp, person = lookup.get((row["system"], row.get("account_id")), (None, None))
        key = audience_key(row["audience"], audiences)
        row_person.append(person)
        if person is not None and key is not None:
            members[key].add(person)
    return row_person, members


def decide_audience_requirements(requirements, audiences) -> dict[str, int]:
    """§6.3 'each audience's minutes from Thrive requirement summaries, overridden by the policy
    sheet'. Per audience the policy row wins over a Thrive row; of two rows of the same origin
    the larger (required, then structured) decides; a tie keeps the first. Key -> row index."""
    best: dict[str, tuple[tuple, int]] = {}
    for index, row in enumerate(requirements):
        key = audience_key(row["audience"], audiences)
        if key is None:
            continue
        rank = (
            is_policy_row(row),
            exact(row.get("required_minutes")) or 0,
            exact(row.get("structured_minutes")) or 0,
        )
        if key not in best or rank > best[key][0]:
            best[key] = (rank, index)
    return {key: index for key, (rank, index) in best.items()}


def full_requirement(keys, decided, requirements, targets, rules: RefRules):
    """§6.3 'Several audiences: max (default) or sum, each applied to required and structured
    minutes separately. No audience requirement but a Brightspace target: the target's
    structured + unstructured denominators (the structured denominator is then the structured
    requirement).' Several targets: the larger. Returns (required, structured), unrounded."""
    rows = [requirements[decided[key]] for key in sorted(keys) if key in decided]
    if rows:
        required = [exact(r.get("required_minutes")) or Fraction(0) for r in rows]
        structured = [exact(r.get("structured_minutes")) or Fraction(0) for r in rows]
        combine = sum if rules.multiple_audiences == "sum" else max
        return combine(required), combine(structured)
    if targets:
        totals = []
        for t in targets:
            s = exact(t.get("structured_required")) or Fraction(0)
            u = exact(t.get("unstructured_required")) or Fraction(0)
            totals.append((s + u, s))
        return max(totals)
    return Fraction(0), Fraction(0)


def prorate(full: Fraction, person, rules: RefRules) -> int:
    """§6.3 'Pro-rating (default on): required × (days employed within the period ÷ days in the
    period) × fte, rounded half up to whole minutes; days inclusive.' A person not employed at
    all in the period owes nothing; prorate off drops both the days and the fte factor."""
    employed = days_inclusive(*employment_window(person, rules))
    if employed == 0:
        return 0
    if not rules.prorate:
        return half_up(full)
    fte = exact(person.get("fte"))
    factor = Fraction(employed, days_inclusive(rules.period_start, rules.period_end))
    return half_up(full * factor * (Fraction(1) if fte is None else fte))


# ----------------------------------------------------------------------------------------------
# Rule 4: ledger


def category_rules(categories) -> dict[str, dict]:
    """The Categories sheet (structured, min_minutes, max_minutes) by normalised category name.
    Platform category lists name the same categories (case and spacing may differ): for each
    field the policy sheet's value wins, a platform row only fills a field the sheet leaves
    blank."""
    merged: dict[str, dict] = {}
    ordered = [r for r in categories if is_policy_row(r)] + [
        r for r in categories if not is_policy_row(r)
    ]
    for row in ordered:
        key = normalise_name(row["category"])
        entry = merged.setdefault(key, {"structured": None, "min": None, "max": None})
        for field, column in (
            ("structured", "structured"),
            ("min", "min_minutes"),
            ("max", "max_minutes"),
        ):
            if entry[field] is None and row.get(column) is not None:
                value = row[column]
                entry[field] = value if field == "structured" else exact(value)
    return merged


def courses_named_by_activity(row, catalogue) -> list[int]:
    """'An activity names a catalogue course by its course_id (same system) or by normalised
    title equal to a Courses-sheet title.' Returns catalogue row indices, Courses sheet first."""
    course_id, title = clean(row.get("course_id")), normalise_title(row["title"])
    by_id = [
        i
        for i, c in enumerate(catalogue)
        if course_id and c["system"] == row["system"] and clean(c["course_id"]) == course_id
    ]
    by_title = [
        i
        for i, c in enumerate(catalogue)
        if title and is_policy_row(c) and normalise_title(c.get("title")) == title
    ]
    sheet = [i for i in by_id if is_policy_row(catalogue[i])]
    sheet += [i for i in by_title if i not in sheet]
    return sheet + [i for i in by_id if not is_policy_row(catalogue[i])]


def activity_category(row, named, catalogue):
    """'Category: the record's, else its course's.'"""
    if clean(row.get("category")):
        return row["category"]
    for i in named:
        if clean(catalogue[i].get("category")):
            return catalogue[i]["category"]
    return None


def activity_structured(row, named, catalogue, categories) -> bool:
    """§6.4 'Structured: Brightspace's IsStructured for its records; otherwise the CPD log's
    structured column, else the Courses sheet for a course, else the Categories sheet for the
    category, else unstructured.'"""
    if row.get("structured") is not None:
        return bool(row["structured"])
    for i in named:
        if is_policy_row(catalogue[i]) and catalogue[i].get("structured") is not None:
            return bool(catalogue[i]["structured"])
    rule = categories.get(normalise_name(activity_category(row, named, catalogue)))
    if rule is not None and rule["structured"] is not None:
        return bool(rule["structured"])
    return False


def activity_disposition_before_duplicates(row, person, day, rules: RefRules) -> str | None:
    """§6.4 'Where several dispositions apply, the first in this order wins: unmatched,
    out_of_period, future_dated, draft, implausible, duplicate, counted.' None = may count."""
    if person is None:
        return "unmatched"
    if not in_period(day, rules):
        return "out_of_period"
    if day > rules.as_of:
        return "future_dated"
    if row.get("state") == "draft":
        return "draft"
    if not plausible(exact(row.get("minutes")), rules):
        return "implausible"
    return None


def plausible(minutes: Fraction | None, rules: RefRules) -> bool:
    """§6.4 'implausible (minutes <= 0 or > max_activity_minutes)'; missing minutes too."""
    return minutes is not None and 0 < minutes <= rules.max_activity_minutes


def activity_order(row, day):
    """Within a duplicate group: local date, then instant (none last), system, record id."""
    instant = row.get("completed_at")
    return (
        day,
        (0, instant) if instant is not None else (1,),
        system_rank(row["system"]),
        clean(row["record_id"]),
    )


def find_duplicates(candidates, rules: RefRules) -> dict[int, int]:
    """§6.4 'Duplicates: same person, same normalised title, same minutes, dates within
    duplicate_window_days, within or across systems: one counts, the rest are duplicate.'
    A record repeats the last record of its group that counted when its date is within the
    window of that one's date. candidates: (index, person, row, day). Returns index -> index."""
    groups = defaultdict(list)
    for index, person, row, day in candidates:
        groups[(person, normalise_title(row["title"]), exact(row["minutes"]))].append(
            (index, row, day)
        )
    duplicate_of = {}
    for group in groups.values():
        group.sort(key=lambda item: activity_order(item[1], item[2]))
        last_counted = None
        for index, _row, day in group:
            if (
                last_counted is not None
                and (day - last_counted[1]).days <= rules.duplicate_window_days
            ):
                duplicate_of[index] = last_counted[0]
            else:
                last_counted = (index, day)
    return duplicate_of


# ----------------------------------------------------------------------------------------------
# Rule 5: completions


def completion_catalogue_rows(row, catalogue) -> list[int]:
    """Courses-sheet rows (system + course_id), then the platform's own rows for the course
    (Thrive contents, Coursepath courses: where a completion without a title gets one)."""
    same = [
        i
        for i, c in enumerate(catalogue)
        if c["system"] == row["system"] and clean(c["course_id"]) == clean(row["course_id"])
    ]
    policy = [i for i in same if is_policy_row(catalogue[i])]
    return policy + [i for i in same if not is_policy_row(catalogue[i])]


def completion_facts(row, catalogue):
    """§6.5 'minutes come from the Courses sheet (system thrive, course_id = contentId), else the
    content's duration'; title: the completion's, else the catalogue's; 'Thrive completions
    count as passed'. Returns passed, minutes, title, category, structured (None if unset)."""
    rows = [catalogue[i] for i in completion_catalogue_rows(row, catalogue)]

    def first(column, only_policy=False):
        for c in rows:
            if (not only_policy or is_policy_row(c)) and c.get(column) not in (None, ""):
                return c[column]
        return None

    passed = row["system"] == "thrive" or row.get("passed") is True
    title = row.get("title") if clean(row.get("title")) else first("title")
    # minutes: the Courses sheet, else (Thrive only) the content's duration
    minutes = first("cpd_minutes", only_policy=row["system"] != "thrive")
    return passed, exact(minutes), title, first("category"), first("structured", True)


def completion_disposition_before_duplicates(person, day, rules: RefRules) -> str | None:
    """§6.5 'Each completion gets one disposition: unmatched, out_of_period, future_dated,
    duplicate, matched, credited, not_credited' (first that applies)."""
    if person is None:
        return "unmatched"
    if not in_period(day, rules):
        return "out_of_period"
    if day > rules.as_of:
        return "future_dated"
    return None


def find_duplicate_completions(candidates) -> set[int]:
    """Completions of one person with the same normalised title (else the same course): the
    passed one is kept first, then the earliest, then system order, then record id."""
    groups = defaultdict(list)
    for index, person, row, facts in candidates:
        title = normalise_title(facts[2])
        key = (
            (person, "title", title)
            if title
            else (person, "course", row["system"], clean(row["course_id"]))
        )
        groups[key].append((index, row, facts))
    duplicates = set()
    for group in groups.values():
        group.sort(
            key=lambda item: (
                not item[2][0],
                item[1]["completed_at"],
                system_rank(item[1]["system"]),
                clean(item[1]["record_id"]),
            )
        )
        duplicates.update(index for index, _row, _facts in group[1:])
    return duplicates


def match_completion(person, title, day, counted_activities, rules: RefRules):
    """§6.5 'A passed completion ... matches a counted activity of the same person with the same
    normalised title within completion_match_days' (the nearest date; ties go to the earlier
    activity). counted_activities: (index, person, row, day). Returns an index or None."""
    wanted = normalise_title(title)
    best = None
    for index, who, row, activity_day in counted_activities:
        gap = abs((activity_day - day).days)
        same = who == person and wanted and normalise_title(row["title"]) == wanted
        if same and gap <= rules.completion_match_days:
            rank = (gap, activity_order(row, activity_day))
            if best is None or rank < best[0]:
                best = (rank, index)
    return None if best is None else best[1]


def claim_check(activity, person, named, catalogue, outcomes, facts) -> str | None:
    """§6.5 'An activity naming a catalogue course with no completion is unverified_claim (still
    counted, flagged); with a failed completion, failed_course_logged.' The completions that
    verify: the person's, any disposition but unmatched / future-dated, whose title is the
    activity's or the course's."""
    policy = [i for i in named if is_policy_row(catalogue[i])]
    if not policy:
        return None
    titles = {normalise_title(activity["title"])} | {
        normalise_title(catalogue[i].get("title")) for i in policy
    }
    titles.discard("")
    passes = [
        facts[j][0]
        for j in range(len(outcomes))
        if outcomes[j].employee_id == person
        and outcomes[j].disposition not in NOT_A_CLAIM_CHECK
        and normalise_title(facts[j][2]) in titles
    ]
    if not passes:
        return "unverified_claim"
    if not any(passes):
        return "failed_course_logged"
    return None


def completion_structured(catalogue_flag, category_key, categories) -> bool:
    """'Credited completions take the catalogue's category and structured flag (else the
    Categories sheet's)', else unstructured."""
    if catalogue_flag is not None:
        return bool(catalogue_flag)
    rule = categories.get(category_key)
    return bool(rule is not None and rule["structured"])


# ----------------------------------------------------------------------------------------------
# Categories: caps and minimums


def capped_minutes(buckets, categories):
    """Categories: 'minutes above max_minutes do not count; structured minutes are kept first
    (structured = min(s, cap), unstructured = min(u, cap − structured))'. buckets: category key
    -> [structured, unstructured]. Returns (total, structured, per-category capped total)."""
    total, structured, per_category = Fraction(0), Fraction(0), {}
    for key, (logged_s, logged_u) in buckets.items():
        rule = categories.get(key)
        cap = rule["max"] if rule is not None else None
        s, u = logged_s, logged_u
        if cap is not None:
            s = min(logged_s, cap)
            u = max(Fraction(0), min(logged_u, cap - s))
        total += s + u
        structured += s
        per_category[key] = s + u
    return total, structured, per_category


def minimums_met(per_category, categories) -> bool:
    """§6.7 Compliant needs 'every category minimum met' (capped minutes, not pro-rated)."""
    for key, rule in categories.items():
        if rule["min"] is not None and per_category.get(key, Fraction(0)) < rule["min"]:
            return False
    return True


# ----------------------------------------------------------------------------------------------
# Rule 6: platform totals


def platform_detail(system, account_id, activities, rules: RefRules) -> Fraction:
    """§6.6 'The detail is that platform's own published records for the person with local dates
    in the period, before duplicate and implausible filtering.'"""
    detail = Fraction(0)
    for row in activities:
        if (
            row["system"] != system
            or row["account_id"] != account_id
            or row.get("state") == "draft"
        ):
            continue
        if in_period(activity_local_date(row, rules), rules):
            detail += exact(row.get("minutes")) or Fraction(0)
    return detail


def reported_totals(platform_totals, targets):
    """§6.6 What a platform reports: Thrive cpdUserLogSummaries minutes, or 'a Brightspace
    target's figure is Structured.Numerator + Unstructured.Numerator' (none when both blank)."""
    rows = [(row, exact(row.get("minutes"))) for row in platform_totals]
    for row in targets:
        done = [exact(row.get("structured_done")), exact(row.get("unstructured_done"))]
        reported = None if done == [None, None] else sum(v or Fraction(0) for v in done)
        rows.append((row, reported))
    return rows


def platform_totals_disagree(reported: Fraction, detail: Fraction) -> bool:
    """§6.6 'a difference is platform_total_mismatch' (compared in whole minutes, half up)."""
    return half_up(reported) != half_up(detail)


# ----------------------------------------------------------------------------------------------
# Rule 7: status


def person_status(person, required, structured_required, counted, structured, minimums_ok, rules):
    """§6.7 'Exempt · Not required (requirement 0) · Compliant (counted ≥ required, structured ≥
    structured required, every category minimum met) · Non-compliant (the person's window has
    ended: period end or leave date ≤ as_of) · On track (counted ≥ required × elapsed fraction,
    structured ≥ structured required × the same fraction) · otherwise At risk.'"""
    if person.get("exempt") is True:
        return "Exempt"
    if required == 0:
        return "Not required"
    if counted >= required and structured >= structured_required and minimums_ok:
        return "Compliant"
    start, end = employment_window(person, rules)
    if end <= rules.as_of:
        return "Non-compliant"
    elapsed = Fraction((rules.as_of - start).days + 1, days_inclusive(start, end))
    elapsed = min(Fraction(1), max(Fraction(0), elapsed))
    if counted >= required * elapsed and structured >= structured_required * elapsed:
        return "On track"
    return "At risk"


def person_figures(person, full, full_structured, buckets, pending, categories, rules):
    """One person's line: §6.3 pro-rated requirement, capped credit, §6.7 status. 'For Exempt and
    Not required, required and shortfall are 0 and progress is blank.'"""
    required = prorate(full, person, rules)
    structured_required = prorate(full_structured, person, rules)
    total, structured_total, per_category = capped_minutes(buckets, categories)
    counted, structured = half_up(total), half_up(structured_total)
    if person.get("exempt") is True or required == 0:
        required = structured_required = 0
    minimums_ok = minimums_met(per_category, categories)
    return PersonFigures(
        required=required,
        structured_required=structured_required,
        counted=counted,
        structured=structured,
        pending=half_up(pending),
        shortfall=max(0, required - counted),
        progress=progress_percent(counted, required) if required else None,
        status=person_status(
            person, required, structured_required, counted, structured, minimums_ok, rules
        ),
    )


def progress_percent(counted: int, required: int) -> float:
    """§6.7 'Progress % = counted ÷ required × 100, one decimal' (half up)."""
    return float(Fraction(math.floor(Fraction(counted * 1000, required) + Fraction(1, 2)), 10))


# ----------------------------------------------------------------------------------------------
# Rule 8: control totals


def check_control_totals(counts: Counter, tables) -> dict[tuple[str, str], int]:
    """§6.8 'For every source table: records pulled = sum over dispositions ... the run fails
    loudly if any record is unaccounted for.'"""
    pulled = Counter(row["source_table"] for name in TABLES for row in tables.get(name) or [])
    accounted = Counter()
    for (source_table, _disposition), n in counts.items():
        accounted[source_table] += n
    for source_table in set(pulled) | set(accounted):
        if pulled[source_table] != accounted[source_table]:
            raise AssertionError(
                f"{source_table}: {pulled[source_table]} pulled, "
                f"{accounted[source_table]} accounted for"
            )
    return {key: n for key, n in counts.items() if n}


# ----------------------------------------------------------------------------------------------
# The whole reconciliation


def reference_reconcile(tables: Mapping[str, list[dict]], rules: RefRules) -> ReferenceResult:
    """Rules 1-8 of DESIGN §6, in the order of the engine diagram: identity -> ledger ->
    credit -> status -> exceptions -> control totals."""
    t = {name: list(tables.get(name) or []) for name in (*TABLES, "people", "input_issues")}
    people, activities, completions = t["people"], t["activities"], t["completions"]
    catalogue, audiences, requirements = t["catalogue"], t["audiences"], t["requirements"]
    categories = category_rules(t["categories"])
    exceptions, counts = [], Counter()

    def tally(row, disposition):
        counts[(row["source_table"], disposition)] += 1

    def flag(kind, person, row, record_id="record_id"):
        exceptions.append((kind, person, row["system"], row[record_id]))

    # 1. Identity
    account_outcomes, lookup = identify_accounts(t["accounts"], people)
    for row, (disposition, _person) in zip(t["accounts"], account_outcomes, strict=True):
        tally(row, disposition)
        if disposition != "matched":
            flag(ACCOUNT_EXCEPTION[disposition], None, row, "account_id")
    missing_accounts: dict = {}

    # 4. Ledger
    activity_outcomes, candidates, named_of = [], [], []
    for index, row in enumerate(activities):
        _disp, person = person_of_record(row, lookup, people, missing_accounts)
        day = activity_local_date(row, rules)
        named_of.append(courses_named_by_activity(row, catalogue))
        disposition = activity_disposition_before_duplicates(row, person, day, rules)
        activity_outcomes.append(ActivityOutcome(person, disposition or "counted"))
        if disposition is None:
            candidates.append((index, person, row, day))
    for index, original in find_duplicates(candidates, rules).items():
        activity_outcomes[index].disposition = "duplicate"
        activity_outcomes[index].duplicate_of = record_ref(activities[original])
    counted = [c for c in candidates if activity_outcomes[c[0]].disposition == "counted"]

    # 5. Completions
    facts = [completion_facts(row, catalogue) for row in completions]
    completion_outcomes, completion_candidates = [], []
    for index, row in enumerate(completions):
        _disp, person = person_of_record(row, lookup, people, missing_accounts)
        day = local_date_of(row.get("completed_at"), rules.timezone)
        disposition = completion_disposition_before_duplicates(person, day, rules)
        completion_outcomes.append(CompletionOutcome(person, disposition or "not_credited"))
        if disposition is None:
            completion_candidates.append((index, person, row, facts[index]))
    duplicate_completions = find_duplicate_completions(completion_candidates)
    for index, person, row, row_facts in completion_candidates:
        outcome = completion_outcomes[index]
        passed, minutes, title, _category, _structured = row_facts
        valued = passed and minutes is not None and minutes > 0
        day = local_date_of(row["completed_at"], rules.timezone)
        if index in duplicate_completions:
            outcome.disposition = "duplicate"
        elif valued and (match := match_completion(person, title, day, counted, rules)) is not None:
            outcome.disposition = "matched"
            outcome.matched_record_id = record_ref(activities[match])
        elif valued:
            outcome.disposition = "credited" if rules.count_unlogged_completions else "not_credited"
            flag("unlogged_completion", person, row)

    # Record-level exceptions of the ledger
    for index, (row, outcome) in enumerate(zip(activities, activity_outcomes, strict=True)):
        kind = ACTIVITY_EXCEPTION.get(outcome.disposition)
        if outcome.disposition == "counted":
            kind = claim_check(
                row, outcome.employee_id, named_of[index], catalogue, completion_outcomes, facts
            )
        if kind:
            flag(kind, outcome.employee_id, row)
    for row, outcome in zip(completions, completion_outcomes, strict=True):
        if outcome.disposition == "future_dated":
            flag("future_dated", outcome.employee_id, row)
    for (system, account_id), (disposition, _person) in missing_accounts.items():
        if disposition != "matched":
            exceptions.append((ACCOUNT_EXCEPTION[disposition], None, system, account_id))

    # Credit: counted activities + credited completions, per person and category
    buckets = defaultdict(lambda: defaultdict(lambda: [Fraction(0), Fraction(0)]))
    pending = defaultdict(Fraction)
    for index, (row, outcome) in enumerate(zip(activities, activity_outcomes, strict=True)):
        if outcome.disposition == "draft" and plausible(exact(row.get("minutes")), rules):
            # decision: a draft adds to Pending only minutes that would count once approved
            pending[outcome.employee_id] += exact(row["minutes"])
        if outcome.disposition == "counted":
            key = normalise_name(activity_category(row, named_of[index], catalogue))
            is_structured = activity_structured(row, named_of[index], catalogue, categories)
            buckets[outcome.employee_id][key][0 if is_structured else 1] += exact(row["minutes"])
    for outcome, (_passed, minutes, _title, category, structured) in zip(
        completion_outcomes, facts, strict=True
    ):
        if outcome.disposition == "credited":
            key = normalise_name(category)
            is_structured = completion_structured(structured, key, categories)
            buckets[outcome.employee_id][key][0 if is_structured else 1] += minutes
    used_categories = {key for p in buckets.values() for key, (s, u) in p.items() if s + u > 0}

    # 3. Requirement and 7. Status
    membership_people, members = audience_members(t["memberships"], audiences, people, lookup)
    audiences_of = defaultdict(set)
    for key, who in members.items():
        for pid in who:
            audiences_of[pid].add(key)
    decided = decide_audience_requirements(requirements, audiences)
    figures = {}
    for person in people:
        pid = person["employee_id"]
        targets = [
            r
            for r in t["targets"]
            if lookup.get((r["system"], r["account_id"]), (None, None))[1] == pid
        ]
        full, full_structured = full_requirement(
            audiences_of[pid], decided, requirements, targets, rules
        )
        figures[pid] = person_figures(
            person, full, full_structured, buckets.get(pid, {}), pending[pid], categories, rules
        )

    # 6. Platform totals
    for row, reported in reported_totals(t["platform_totals"], t["targets"]):
        disposition, person = lookup.get((row["system"], row["account_id"]), ("unmatched", None))
        tally(row, "used" if disposition == "matched" else "unused")
        if disposition == "matched" and reported is not None:
            detail = platform_detail(row["system"], row["account_id"], activities, rules)
            if platform_totals_disagree(reported, detail):
                flag("platform_total_mismatch", person, row, "account_id")

    for row in t["input_issues"]:
        exceptions.append(("input_issue", row.get("employee_id"), "spreadsheet", None))

    # 8. Control totals (accounts and the platform totals were tallied above)
    for row, outcome in zip(
        activities + completions, activity_outcomes + completion_outcomes, strict=True
    ):
        tally(row, outcome.disposition)
    for row in audiences:
        tally(row, "used" if audience_key(row["audience_id"], audiences) in members else "unused")
    for row, pid in zip(t["memberships"], membership_people, strict=True):
        tally(row, "used" if pid is not None else "unused")
    for index, row in enumerate(requirements):
        key = audience_key(row["audience"], audiences)
        tally(row, "used" if key in members and decided.get(key) == index else "unused")
    named_catalogue = {i for named in named_of for i in named}
    for row in completions:
        named_catalogue.update(completion_catalogue_rows(row, catalogue))
    for index, row in enumerate(catalogue):
        tally(row, "used" if index in named_catalogue else "unused")
    for row in t["categories"]:
        tally(row, "used" if normalise_name(row["category"]) in used_categories else "unused")

    return ReferenceResult(
        people=figures,
        activities=activity_outcomes,
        completions=completion_outcomes,
        exceptions=exceptions,
        control_totals=check_control_totals(counts, t),
    )
