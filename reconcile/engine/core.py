"""``reconcile(tables, rules)``: canonical frames in, a frozen :class:`Result` out.

Pure: no I/O, no printing, no clock (``rules.as_of`` is the only "today"). The stages follow
DESIGN.md §6 in order: identity → period → requirement → ledger → completions → credit →
status → exceptions → control totals → roll-ups. Stages that do not depend on each other run
side by side on two threads (``_SecondThread``), with the same result as one after another.
"""

from __future__ import annotations

import logging
import time
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from reconcile.engine import completions as comp
from reconcile.engine import control, credit, exceptions, identity, ledger, rollups, totals
from reconcile.engine.canonical import CanonicalTables, validate_canonical
from reconcile.engine.period import as_datetime, local_dates, windows
from reconcile.engine.requirements import (
    audience_keys,
    effective_requirements,
    person_requirements,
    prorate,
)
from reconcile.engine.result import Result
from reconcile.engine.rules import Rules
from reconcile.engine.status import STATUSES, progress, reasons, statuses
from reconcile.engine.text import (
    factorize,
    fill_text,
    normalise_ids,
    normalise_names,
    pair_codes,
    round_half_up,
    shared_codes,
    text_array,
)

log = logging.getLogger(__name__)


class _Clock:
    """Logs each stage's seconds at DEBUG: how bench/engine.py --stages finds the slow part."""

    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.stage = "validate"

    def tick(self, next_stage: str) -> None:
        now = time.perf_counter()
        log.debug("engine stage %-40s %6.2f s", self.stage, now - self.last)
        self.last, self.stage = now, next_stage


class _AccountIndex:
    """(system, account_id) → person row, for every table that names an account.

    Platform accounts come from the accounts table; spreadsheet "accounts" (an employee_id or
    an e-mail typed in a CPD log) are resolved on the fly without the explicit-id step.
    """

    def __init__(
        self,
        people: pd.DataFrame,
        accounts: pd.DataFrame,
        matches: pd.DataFrame,
        matcher: identity.Matcher | None = None,
    ):
        self.people = people
        self.matcher = matcher if matcher is not None else identity.Matcher(people)
        self.by_system = identity.account_keys(accounts, matches["person"].to_numpy())

    def lookup(self, system: pd.Series, account_id: pd.Series) -> np.ndarray:
        """Person row per record (-1: unknown account, unmatched or ambiguous)."""
        return self.lookup_pairs(system, account_id)[0]

    def lookup_pairs(
        self, system: pd.Series, account_id: pd.Series
    ) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
        """(person per row, pair code per row, distinct (system, key, person) pairs)."""
        inverse, pairs = pair_codes(system, account_id)
        keys = pd.DataFrame({"system": pairs["first"], "key": normalise_ids(pairs["second"])})
        person = identity.find_accounts(self.by_system, keys["system"], keys["key"])
        sheet = (keys["system"] == "spreadsheet").to_numpy() & keys["key"].notna().to_numpy()
        if sheet.any():
            ids = keys.loc[sheet, "key"].reset_index(drop=True)
            pseudo = pd.DataFrame(
                {"system": "spreadsheet", "account_id": ids, "email": ids, "external_ref": ids}
            )
            person[sheet] = self.matcher.resolve(pseudo, explicit=False)["person"]
        keys["person"] = person
        return person[inverse], inverse, keys


def reconcile(tables: CanonicalTables, rules: Rules) -> Result:
    """Reconcile canonical tables under ``rules``; raise IntegrityError if figures don't add up."""
    return _reconcile(tables, rules)


def _reconcile(tables: CanonicalTables, rules: Rules) -> Result:
    clock = _Clock()
    validate_canonical(tables)
    people = tables.people.sort_values("employee_id", kind="stable").reset_index(drop=True)
    n_people = len(people)
    employee = people["employee_id"].to_numpy(dtype=object)

    clock.tick("1. identity")
    # 1. identity
    matcher = identity.Matcher(people)
    matches = matcher.resolve(tables.accounts)
    index = _AccountIndex(people, tables.accounts, matches, matcher)

    clock.tick("2. period")
    # 2. period
    win = windows(people, rules)

    # Who each record belongs to and on which local day, what each person owes (3) and who
    # their manager is need only the roster, the accounts and the windows: the second thread
    # works them out, in the order this one will want them, while this one builds the shared
    # vocabularies and then the ledger.
    acts = tables.activities
    comps = tables.completions
    act_people_later = index.lookup_pairs(acts["system"], acts["account_id"])
    comp_people_later = index.lookup(comps["system"], comps["account_id"])
    comp_dates_later = local_dates(comps["completed_at"], None, rules.timezone)
    owed_later = _requirements(tables, people, index, win, rules)
    managers_later = _manager_names(people)

    clock.tick("shared vocabularies: titles and categories")
    # shared vocabularies: titles and categories
    cat = tables.catalogue.reset_index(drop=True)
    policy = cat[cat["origin"] == "policy"].drop_duplicates(["system", "course_id"])
    content = cat[cat["origin"] != "policy"].drop_duplicates(["system", "course_id"])
    comp_course = _course_lookup(comps, policy, content)
    comp_title = fill_text(comps["title"], comp_course["title"])
    (act_title, comp_tkey, pol_tkey), _ = shared_codes([acts["title"], comp_title, policy["title"]])
    act_course = _activity_course(acts, act_title, policy, pol_tkey)
    cats = tables.categories
    (own_ckey, pol_ckey, comp_ckey, sheet_ckey), cat_vocab, spellings = shared_codes(
        [acts["category"], policy["category"], comp_course["category"], cats["category"]],
        normalise=normalise_names,
        spellings=True,
    )
    # a record without a category takes the category of the catalogue course it names
    from_course = (
        np.where(act_course >= 0, pol_ckey[np.maximum(act_course, 0)], -1)
        if len(pol_ckey)
        else np.full(len(acts), -1)
    )
    act_ckey = np.where(own_ckey >= 0, own_ckey, from_course)
    cat_structured, caps, mins = _category_rules(cats, sheet_ckey, len(cat_vocab))
    # display name: the Categories sheet's spelling, else the first seen (records, Courses
    # sheet, completions' courses)
    own_names, pol_names, comp_names, sheet_names = spellings
    cat_names = _category_names([sheet_names, own_names, pol_names, comp_names])

    clock.tick("4. ledger")
    # 4. ledger
    # dates and structured flags need no person: worked out while the second thread finishes
    # the activities' people
    act_date = local_dates(acts["completed_at"], acts["local_date"], rules.timezone)
    course_struct = pd.Series(policy["structured"].to_numpy(), dtype="boolean")
    act_structured = ledger.structured_flags(
        acts["structured"], course_struct, act_course, cat_structured, act_ckey
    )
    act_person, act_pair, act_pairs = act_people_later
    codes = ledger.dispositions(act_person, act_date, acts["state"], acts["minutes"], rules)
    dup_rows, dup_of = ledger.find_duplicates(
        np.flatnonzero(codes == -1),
        act_person,
        act_title,
        acts["minutes"].to_numpy(),
        act_date.to_numpy(),
        acts,
        rules.duplicate_window_days,
    )
    codes[dup_rows] = ledger.DUPLICATE
    codes[codes == -1] = ledger.COUNTED

    clock.tick("5. completions")
    # 5. completions
    comp_person = comp_people_later
    comp_date = comp_dates_later
    passed = (
        comps["passed"].fillna(False).to_numpy(dtype=bool)
        | (comps["system"] == "thrive").to_numpy()
    )
    counted_rows = np.flatnonzero(codes == ledger.COUNTED)
    comp_frame = pd.DataFrame(
        {
            "person": comp_person,
            "local_date": comp_date.to_numpy(),
            "title_key": comp_tkey,
            "course_key": pair_codes(comps["system"], comps["course_id"])[0],
            "passed": passed,
            "value": comp_course["cpd_minutes"].to_numpy(dtype="float64"),
            "rank": ledger.system_rank(comps["system"]),
            "instant": _instants(comps["completed_at"]),
            "record_id": comps["record_id"],
        }
    )
    counted_frame = pd.DataFrame(
        {
            "person": act_person[counted_rows],
            "title_key": act_title[counted_rows],
            "local_date": act_date.to_numpy()[counted_rows],
            "instant": _instants(acts["completed_at"].take(counted_rows)),
            "rank": ledger.system_rank(acts["system"].take(counted_rows)),
            "record_id": acts["record_id"].take(counted_rows).to_numpy(),
            "row": counted_rows,
        }
    )
    comp_disp = comp.dispositions(comp_frame, counted_frame, rules)
    # the record id each completion matched, for the ledger, is looked up on the second thread
    matched_ids_later = _matched_ids(acts, comp_disp["matched_row"].to_numpy())
    comp_codes = comp_disp["code"].to_numpy()
    comp_structured = ledger.resolve_structured(
        pd.Series(pd.NA, index=range(len(comps)), dtype="boolean"),
        comp_course["structured"],
        _take(cat_structured, comp_ckey),
    )

    clock.tick("activities naming a catalogue course: verified, failed, or unverified")
    # activities naming a catalogue course: verified, failed, or unverified
    claims = _claims(codes, act_course, act_person, act_title, comp_frame, comp_codes)

    clock.tick("credit")
    # credit
    credited = np.flatnonzero(comp_codes == comp.CREDITED)
    items = pd.DataFrame(
        {
            "person": np.concatenate([act_person[counted_rows], comp_person[credited]]),
            "category": np.concatenate([act_ckey[counted_rows], comp_ckey[credited]]),
            "structured": np.concatenate([act_structured[counted_rows], comp_structured[credited]]),
            "minutes": np.concatenate(
                [acts["minutes"].to_numpy()[counted_rows], comp_frame["value"].to_numpy()[credited]]
            ),
        }
    )
    per_category = credit.category_totals(items, caps)
    sums = credit.person_sums(per_category, n_people)
    draft_rows = np.flatnonzero(codes == ledger.DRAFT)
    pending = (
        np.bincount(
            act_person[draft_rows],
            weights=ledger.pending_minutes(acts["minutes"].to_numpy()[draft_rows], rules),
            minlength=n_people,
        )
        if n_people
        else np.zeros(0)
    )

    clock.tick("3. requirements (waiting for the second thread)")
    owed = owed_later
    required, s_required, exempt, req = owed.required, owed.s_required, owed.exempt, owed.req
    person_aud, mem_person, tgt_person = owed.person_aud, owed.mem_person, owed.tgt_person

    clock.tick("category minimums (only for people who owe something)")
    # category minimums (only for people who owe something)
    owing = np.flatnonzero(required > 0)
    minimums = pd.Series(mins).dropna()
    unmet = credit.unmet_minimums(per_category, minimums, owing)
    minimums_met = np.ones(n_people, dtype=bool)
    minimums_met[unmet["person"].to_numpy(dtype=np.int64)] = False

    clock.tick("7. status")
    # 7. status
    counted = round_half_up(sums["counted"].to_numpy()).astype(np.int64)
    structured = round_half_up(sums["structured"].to_numpy()).astype(np.int64)
    status = statuses(
        exempt,
        required,
        s_required,
        counted,
        structured,
        minimums_met,
        win["window_ended"].to_numpy(),
        win["elapsed"].to_numpy(),
    )
    no_figure = np.isin(status, ["Exempt", "Not required"])
    required = np.where(no_figure, 0, required)
    s_required = np.where(no_figure, 0, s_required)
    shortfall = np.maximum(required - counted, 0)
    pct = progress(counted.astype(float), required.astype(float), no_figure)
    period_start = as_datetime(rules.period_start)
    period_end = as_datetime(rules.period_end)
    start_d = people["start_date"].astype("datetime64[us]")
    leave_d = people["leave_date"].astype("datetime64[us]")
    reason_frame = pd.DataFrame(
        {
            "status": status,
            "exempt_reason": people["exempt_reason"],
            "basis": req["basis"],
            "employed_days": win["employed_days"],
            "required": required,
            "full_required": round_half_up(req["full_required"].to_numpy()).astype(np.int64),
            "structured_required": s_required,
            "counted": counted,
            "structured": structured,
            "shortfall": shortfall,
            "pending": round_half_up(pending).astype(np.int64),
            "capped": round_half_up(sums["capped"].to_numpy()).astype(np.int64),
            "prorated": np.full(n_people, rules.prorate),
            "joined": start_d.where(start_d > period_start),
            "left": leave_d.where(leave_d < period_end),
            "fte": people["fte"],
        }
    )
    # each person's Reason is written on the second thread while this one builds the ledgers
    reason_later = _reasons(reason_frame, unmet, cat_names)

    clock.tick("ledgers")
    # ledgers
    roster = pd.CategoricalDtype(pd.Index(employee, dtype="str"))
    act_out = pd.DataFrame(
        {
            "system": acts["system"],
            "record_id": acts["record_id"],
            "account_id": acts["account_id"],
            "employee_id": _employee(roster, act_person),
            "title": acts["title"],
            "category": _named(act_ckey, cat_names),
            "structured": act_structured,
            "minutes": acts["minutes"],
            "completed_at": acts["completed_at"],
            "local_date": act_date,
            "state": acts["state"].fillna("published") if acts["state"].hasnans else acts["state"],
            "disposition": pd.Categorical.from_codes(codes, categories=ledger.DISPOSITIONS),
            "duplicate_of": _duplicate_of(acts, dup_rows, dup_of),
            "claim": claims,
            "source_table": acts["source_table"],
        }
    )
    comp_out = pd.DataFrame(
        {
            "system": comps["system"],
            "record_id": comps["record_id"],
            "account_id": comps["account_id"],
            "employee_id": _employee(roster, comp_person),
            "course_id": comps["course_id"],
            "title": comp_title,
            "completed_at": comps["completed_at"],
            "local_date": comp_date,
            "passed": passed,
            "score": comps["score"],
            "certificate": comps["certificate"],
            "cpd_minutes": comp_frame["value"],
            "category": _named(comp_ckey, cat_names),
            "structured": comp_structured,
            "disposition": pd.Categorical.from_codes(comp_codes, categories=comp.DISPOSITIONS),
            "matched_record_id": matched_ids_later,
            "thrive_content_id": comp_course["thrive_content_id"],  # for push-completions
            "source_table": comps["source_table"],
        }
    )
    accounts_out = tables.accounts.assign(
        employee_id=_employee(roster, matches["person"].to_numpy()),
        match=matches["match"].to_numpy(),
        match_rule=matches["rule"].to_numpy(),
    )

    clock.tick("6. platform totals and control totals (second thread), exceptions")
    # The platform totals (6) and the control totals read the ledgers and not each other or
    # the exceptions: they run on the second thread (after the Reasons) while this one lists
    # the exceptions, then builds the people table and the roll-ups.
    totals_person = index.lookup(
        tables.platform_totals["system"], tables.platform_totals["account_id"]
    )
    keys = control.UsageKeys(
        index=index,
        mem_person=mem_person,
        aud_key=owed.aud_key,
        effective=owed.effective,
        policy=policy,
        act_course=act_course,
        act_ckey=act_ckey,
        comp_ckey=comp_ckey,
        sheet_ckey=sheet_ckey,
        codes=codes,
        comp_codes=comp_codes,
        targets_person=tgt_person,
        totals_person=totals_person,
    )
    mismatches_later = totals.mismatches(
        tables,
        index,
        act_out,
        act_pair,
        act_pairs,
        rules,
        totals_person=totals_person,
        targets_person=tgt_person,
    )
    sources_later = _control_totals(tables, keys, accounts_out, act_out, comp_out)
    found = [
        _account_exceptions(people, accounts_out, matches, act_out, comp_out, employee, rules),
        _orphan_exceptions(tables.accounts, act_out, comp_out),
        _activity_exceptions(act_out, acts, dup_rows, dup_of, rules),
        _completion_exceptions(comp_out, rules),
    ]

    clock.tick("people")
    people_out = pd.DataFrame(
        {
            "employee_id": people["employee_id"],
            "name": people["name"],
            "email": people["email"],
            "department": people["department"],
            "manager_id": people["manager_id"],
            "manager": managers_later,
            "audiences": owed.audiences,
            "required": required,
            "structured_required": s_required,
            "counted": counted,
            "structured": structured,
            "pending": reason_frame["pending"],
            "shortfall": shortfall,
            "progress": pct,
            "status": pd.Categorical(status, categories=STATUSES),
            "reason": reason_later,
            "full_required": reason_frame["full_required"],
            "requirement_basis": req["basis"],
            "window_start": win["window_start"],
            "window_end": win["window_end"],
            "employed_days": win["employed_days"],
            "elapsed": win["elapsed"],
            "capped": reason_frame["capped"],
        }
    )
    exc = exceptions.combine([*found, mismatches_later, _input_exceptions(tables.input_issues)])

    clock.tick("roll-ups")
    rolled = rollups.build(people_out, person_aud, per_category, cat_names, unmet, mins)
    sources = sources_later
    clock.tick("done")
    return Result(
        rules=rules,
        people=people_out,
        activities=act_out,
        completions=comp_out,
        accounts=accounts_out,
        exceptions=exc,
        control_totals=sources,
        departments=rolled["departments"],
        managers=rolled["managers"],
        audiences=rolled["audiences"],
        categories=rolled["categories"],
    )


# ---------------------------------------------------------------------------- helpers


class _Owed(NamedTuple):
    """Stage 3: what each person owes, and the keys later stages reuse."""

    person_aud: pd.DataFrame  #: distinct (person, audience_key, audience) memberships
    audiences: pd.Series  #: "A; B" per person
    mem_person: np.ndarray  #: person row per membership row (-1: nobody)
    aud_key: pd.Series  #: audience key per membership row
    effective: pd.DataFrame  #: requirement per audience key
    tgt_person: np.ndarray  #: person row per Brightspace target row
    req: pd.DataFrame  #: full requirement and its basis per person
    required: np.ndarray  #: pro-rated minutes per person (0 when exempt)
    s_required: np.ndarray  #: pro-rated structured minutes per person (0 when exempt)
    exempt: np.ndarray  #: True where the roster marks the person exempt


def _requirements(
    tables: CanonicalTables,
    people: pd.DataFrame,
    index: _AccountIndex,
    win: pd.DataFrame,
    rules: Rules,
) -> _Owed:
    """DESIGN.md §6 step 3: each person's requirement from audiences and targets, pro-rated."""
    aud_key, aud_name = audience_keys(tables.audiences, tables.memberships["audience"])
    mem_person = _membership_people(tables.memberships, people, index)
    person_aud = (
        pd.DataFrame(
            {
                "person": mem_person,
                "audience_key": aud_key.to_numpy(),
                "audience": aud_name.to_numpy(),
            }
        )
        .query("person >= 0 and audience_key == audience_key")
        .drop_duplicates(["person", "audience_key"])
    )
    req_key, _ = audience_keys(tables.audiences, tables.requirements["audience"])
    effective = effective_requirements(tables.requirements, req_key)
    tgt_person = index.lookup(tables.targets["system"], tables.targets["account_id"])
    targets = tables.targets.assign(person=tgt_person)[lambda t: t["person"] >= 0]
    req = person_requirements(len(people), person_aud, effective, targets, rules)
    fte = people["fte"].to_numpy(dtype="float64")
    required, s_required, _factor = prorate(
        req["full_required"].to_numpy(),
        req["full_structured"].to_numpy(),
        win["employed_days"].to_numpy(),
        fte,
        rules,
    )
    exempt = people["exempt"].to_numpy(dtype=bool)
    required = np.where(exempt, 0, required)
    s_required = np.where(exempt, 0, s_required)
    return _Owed(
        person_aud,
        _audience_text(person_aud, len(people)),
        mem_person,
        aud_key,
        effective,
        tgt_person,
        req,
        required,
        s_required,
        exempt,
    )


def _take(values: pd.Series, codes: np.ndarray) -> pd.Series:
    """values[codes] with NA where code is -1, as a fresh positional Series."""
    if not len(values):
        return pd.Series(pd.NA, index=range(len(codes)), dtype=values.dtype)
    safe = np.where(codes >= 0, codes, 0)
    out = values.iloc[safe].reset_index(drop=True)
    return (
        out.where(pd.Series(codes >= 0), pd.NA)
        if values.dtype == "boolean"
        else out.where(pd.Series(codes >= 0))
    )


def _iso(dates: pd.Series) -> np.ndarray:
    """ISO dates as text, formatted once per distinct date ('' for none)."""
    codes, uniques = pd.factorize(dates)
    labels = np.array([f"{d:%Y-%m-%d}" for d in uniques] + [""], dtype=object)
    return labels[codes]


def _named(codes: np.ndarray, names: np.ndarray) -> pd.Categorical:
    """Category display names per record as a categorical (no per-row strings)."""
    return pd.Categorical.from_codes(codes, categories=pd.Index(names, dtype="str"))


def _instants(series: pd.Series) -> np.ndarray:
    """UTC instants as int64 for sorting; missing ones sort last."""
    values = series.astype("datetime64[us, UTC]").dt.tz_localize(None).to_numpy()
    out = values.astype("datetime64[us]").astype(np.int64)
    out[np.isnat(values)] = np.iinfo(np.int64).max
    return out


def _employee(roster: pd.CategoricalDtype, person: np.ndarray) -> pd.Categorical:
    """Employee id per record as a categorical over the roster (cheap for millions of rows).

    ``roster`` is built once: each ``from_codes(categories=...)`` would re-check that 100,000
    employee ids are distinct.
    """
    return pd.Categorical.from_codes(person, dtype=roster)


def _course_lookup(
    comps: pd.DataFrame, policy: pd.DataFrame, content: pd.DataFrame
) -> pd.DataFrame:
    """Per completion: title, cpd_minutes, category, structured, thrive_content_id.

    The Courses sheet (policy) wins; Thrive content (its duration) is the fallback for
    Thrive completions. Merged once per distinct (system, course_id).
    """
    inverse, pairs = pair_codes(comps["system"], comps["course_id"])
    keys = pairs.rename(columns={"first": "system", "second": "course_id"})
    cols = ["title", "cpd_minutes", "category", "structured", "thrive_content_id"]
    on = ["system", "course_id"]
    left = keys.merge(policy[[*on, *cols]], on=on, how="left")
    right = keys.merge(content[[*on, *cols]], on=on, how="left")
    out = pd.DataFrame({c: left[c].fillna(right[c]) for c in cols if c != "cpd_minutes"})
    thrive = (keys["system"] == "thrive").to_numpy()
    out["cpd_minutes"] = left["cpd_minutes"].where(
        left["cpd_minutes"].notna().to_numpy() | ~thrive, right["cpd_minutes"]
    )
    out["structured"] = out["structured"].astype("boolean")
    return out.iloc[inverse].reset_index(drop=True)[cols]


def _activity_course(
    acts: pd.DataFrame, title_key: np.ndarray, policy: pd.DataFrame, pol_tkey: np.ndarray
) -> np.ndarray:
    """Row in ``policy`` of the catalogue course each activity names (-1 for none).

    The record's own course_id (same system) first, then the normalised title.
    """
    out = np.full(len(acts), -1, dtype=np.int64)
    if not len(policy) or not len(acts):
        return out
    # first Courses-sheet row per title key, then one gather per activity (slot -1: none)
    keyed = np.flatnonzero(pol_tkey >= 0)
    keys, first = np.unique(pol_tkey[keyed], return_index=True)
    size = max(int(title_key.max(initial=-1)), int(keys.max(initial=-1))) + 2
    by_title = np.full(size, -1, dtype=np.int64)
    by_title[keys] = keyed[first]
    out = by_title[title_key]
    given = acts["course_id"].notna().to_numpy()
    if given.any():
        ids = pd.DataFrame(
            {
                "system": policy["system"].to_numpy(),
                "course_id": policy["course_id"].to_numpy(),
                "at": np.arange(len(policy)),
            }
        )
        found = acts.loc[given, ["system", "course_id"]].merge(
            ids, on=["system", "course_id"], how="left"
        )["at"]
        sel = np.flatnonzero(given)
        got = found.to_numpy(dtype="float64")
        out[sel[~np.isnan(got)]] = got[~np.isnan(got)].astype(np.int64)
    return out


def _category_rules(
    cats: pd.DataFrame, keys: np.ndarray, n_cat: int
) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Per category key: structured flag, cap (max_minutes) and minimum (min_minutes).

    The policy Categories sheet decides (DESIGN §6.4). A platform's category list names the
    same categories, spelled in its own case and spacing, and usually carries no rules: its
    rows only fill a value the sheet leaves blank, and never blank out the sheet's.
    """
    from_sheet = cats["source_table"].str.startswith("policy/").to_numpy(dtype=bool)
    order = np.argsort(~from_sheet, kind="stable")  # the sheet's rows first
    order = order[keys[order] >= 0]

    def first_given(column: str) -> pd.Series:
        """Per key, the first value given, the sheet's before the platform's."""
        values = cats[column].take(order)
        given = values.notna().to_numpy()
        chosen = pd.Series(values.to_numpy()[given], index=keys[order][given])
        return chosen[~chosen.index.duplicated()]

    structured = pd.Series(pd.NA, index=range(n_cat), dtype="boolean")
    flags = first_given("structured")
    structured.iloc[flags.index.to_numpy()] = flags.to_numpy(dtype=bool)
    caps = np.full(n_cat, np.nan)
    mins = np.full(n_cat, np.nan)
    for column, target in (("max_minutes", caps), ("min_minutes", mins)):
        chosen = first_given(column)
        target[chosen.index.to_numpy()] = chosen.to_numpy(dtype="float64")
    return structured, caps, mins


def _category_names(spellings: list[np.ndarray]) -> np.ndarray:
    """Display name per category key: the first source (in order) that spells it."""
    names = spellings[0].copy()
    for more in spellings[1:]:
        empty = pd.isna(names)
        names[empty] = more[empty]
    return names


def _claims(codes, act_course, act_person, act_title, comp_frame, comp_codes) -> pd.Categorical:
    """For counted activities naming a catalogue course: verified / failed / unverified."""
    verdicts = ["verified", "failed", "unverified"]
    out = np.full(len(codes), -1, dtype=np.int8)
    rows = np.flatnonzero((codes == ledger.COUNTED) & (act_course >= 0))
    if not len(rows):
        return pd.Categorical.from_codes(out, categories=verdicts)
    claim_person, claim_title = act_person[rows], act_title[rows]
    # only completions of people who claim something can verify a claim
    person = comp_frame["person"].to_numpy()
    claimant = np.zeros(max(person.max(initial=-1), claim_person.max()) + 2, dtype=bool)
    claimant[claim_person + 1] = True
    usable = ~np.isin(comp_codes, [comp.UNMATCHED, comp.FUTURE]) & claimant[person + 1]
    seen_person = person[usable]
    seen_title = comp_frame["title_key"].to_numpy()[usable]
    passed = comp_frame["passed"].to_numpy(dtype=bool)[usable]
    # one int64 key per (person, title): sort + searchsorted instead of a groupby and a merge
    low = min(seen_title.min(initial=0), claim_title.min())
    width = max(seen_title.max(initial=0), claim_title.max()) - low + 1
    seen_key = seen_person.astype(np.int64) * width + (seen_title - low)
    claim_key = claim_person.astype(np.int64) * width + (claim_title - low)
    order = np.argsort(seen_key, kind="stable")
    keys, starts = np.unique(seen_key[order], return_index=True)
    any_passed = (
        np.maximum.reduceat(passed[order], starts) if len(keys) else np.zeros(0, dtype=bool)
    )
    at = np.minimum(np.searchsorted(keys, claim_key), max(len(keys) - 1, 0))
    found = (keys[at] == claim_key) if len(keys) else np.zeros(len(rows), dtype=bool)
    out[rows] = np.where(~found, 2, np.where(any_passed[at] if len(keys) else False, 0, 1))
    return pd.Categorical.from_codes(out, categories=verdicts)


def _membership_people(mem: pd.DataFrame, people: pd.DataFrame, index: _AccountIndex):
    """Person row per membership: by employee_id, else by (system, account_id)."""
    by_id = pd.Series(np.arange(len(people)), index=normalise_ids(people["employee_id"]))
    by_id = by_id.groupby(level=0).first()
    person = normalise_ids(mem["employee_id"]).map(by_id).fillna(-1).to_numpy(dtype=np.int64)
    via_account = (person < 0) & mem["account_id"].notna().to_numpy()
    if via_account.any():
        person[via_account] = index.lookup(
            mem.loc[via_account, "system"].reset_index(drop=True),
            mem.loc[via_account, "account_id"].reset_index(drop=True),
        )
    return person


def _reasons(reason_frame: pd.DataFrame, unmet: pd.DataFrame, cat_names: np.ndarray) -> pd.Series:
    """Each person's one-line Reason, with the category minimums they have not met."""
    return reasons(reason_frame, _minimum_notes(unmet, cat_names, len(reason_frame)))


def _control_totals(
    tables: CanonicalTables,
    keys: control.UsageKeys,
    accounts_out: pd.DataFrame,
    act_out: pd.DataFrame,
    comp_out: pd.DataFrame,
) -> pd.DataFrame:
    """Control totals per source table (raises IntegrityError when they do not balance)."""
    usage = control.usage(tables, keys)
    return control.control_totals(tables, accounts_out, act_out, comp_out, usage)


def _manager_names(people: pd.DataFrame) -> pd.Series:
    """Each person's manager's name, by manager_id (the first person of a repeated id)."""
    names = pd.Series(people["name"].to_numpy(), index=people["employee_id"].to_numpy())
    return people["manager_id"].map(names.groupby(level=0).first()).astype("str")


def _audience_text(person_aud: pd.DataFrame, n: int) -> pd.Series:
    """'A; B; C' per person, built one rank at a time (a few passes, no per-person loop)."""
    return _join_per_person(person_aud["person"].to_numpy(), person_aud["audience"], n, "; ")


def _join_per_person(person: np.ndarray, text: pd.Series, n: int, sep: str) -> pd.Series:
    """Each person's texts in text order, joined by ``sep``; "" for a person with none.

    Joined by Arrow (a list per person, then ``binary_join``): building the strings as
    Python objects made one per person and rank, hundreds of thousands at 100,000 people.
    """
    values = text_array(text.astype("str"))
    table = pa.table({"person": pa.array(person, type=pa.int64()), "text": values})
    table = table.filter(values.is_valid())  # a missing text adds nothing to the person's line
    if not table.num_rows:
        return pd.Series([""] * n, dtype="str")
    table = table.sort_by([("person", "ascending"), ("text", "ascending")])
    who = table.column("person").to_numpy()
    starts = np.flatnonzero(np.r_[True, who[1:] != who[:-1]])
    lists = pa.LargeListArray.from_arrays(
        pa.array(np.r_[starts, len(who)], type=pa.int64()), table.column("text").combine_chunks()
    )
    joined = pc.binary_join(lists, pa.scalar(sep, type=pa.large_string()))
    slot = np.full(n, -1, dtype=np.int64)
    slot[who[starts]] = np.arange(len(starts))
    picked = pc.take(joined, pa.array(slot, mask=slot < 0))
    return pd.Series(pd.arrays.ArrowStringArray(pc.fill_null(picked, "")), dtype="str")


def _minimum_notes(unmet: pd.DataFrame, cat_names: np.ndarray, n: int) -> pd.Series:
    out = pd.Series([""] * n, dtype="str")
    if len(unmet):
        text = (
            pd.Series(cat_names[unmet["category"].to_numpy(dtype=np.int64)], dtype="str")
            + " "
            + pd.Series(round_half_up(unmet["counted"].to_numpy()).astype(np.int64)).map(
                "{:,}".format
            )
            + " of "
            + pd.Series(round_half_up(unmet["minimum"].to_numpy()).astype(np.int64)).map(
                "{:,}".format
            )
            + " min"
        )
        person = unmet["person"].to_numpy(dtype=np.int64)
        joined = _join_per_person(person, text, n, ", ")
        out = ("category minimum not met: " + joined).where(joined != "", "")
    return out


def _labels(acts: pd.DataFrame, rows: np.ndarray) -> pd.Series:
    """'system:record_id' for the given ledger rows."""
    # take the two columns only: acts.iloc[rows] would copy every column of the ledger
    system = acts["system"].take(rows).reset_index(drop=True)
    record = acts["record_id"].take(rows).reset_index(drop=True)
    return system + ":" + record


def _sparse_labels(n: int, at: np.ndarray, rows: np.ndarray, acts: pd.DataFrame) -> pd.Categorical:
    """A mostly-empty text column as a categorical: 'system:record_id' of ledger row
    ``rows[i]`` at position ``at[i]``, empty elsewhere.

    Labels are built once per distinct ledger row, and the categories (distinct by
    construction, in order of first appearance) skip pandas' uniqueness re-check, which alone
    cost more than building them for a few hundred thousand matched completions.
    """
    codes = np.full(n, -1, dtype=np.int64)
    if not len(at):
        return pd.Categorical.from_codes(codes, categories=pd.Index([], dtype="str"))
    row_codes, unique_rows = pd.factorize(rows)
    # Arrow's dictionary encoding: pd.factorize on Arrow text is several times slower
    label_codes, uniques = factorize(_labels(acts, np.asarray(unique_rows, dtype=np.int64)))
    codes[at] = label_codes[row_codes]
    categories = pd.Index(uniques, dtype="str")
    maker = getattr(pd.CategoricalDtype, "_from_fastpath", None)
    try:  # a private pandas shortcut; any other pandas takes the public, checked path
        dtype = maker(categories, False) if maker is not None else None
    except TypeError:  # pragma: no cover - a pandas whose shortcut changed shape
        dtype = None
    if dtype is None:  # pragma: no cover - other pandas versions
        return pd.Categorical.from_codes(codes, categories=categories)
    return pd.Categorical.from_codes(codes, dtype=dtype, validate=False)


def _duplicate_of(acts: pd.DataFrame, dup_rows: np.ndarray, dup_of: np.ndarray) -> pd.Categorical:
    """'system:record_id' of the record each duplicate repeats."""
    return _sparse_labels(len(acts), dup_rows, dup_of, acts)


def _matched_ids(acts: pd.DataFrame, rows: np.ndarray) -> pd.Categorical:
    hit = np.flatnonzero(rows >= 0)
    return _sparse_labels(len(rows), hit, rows[hit], acts)


def _account_exceptions(
    people, accounts_out, matches, act_out, comp_out, employee, rules
) -> pd.DataFrame:
    """unmatched_account (with in-period minutes and a name hint) and ambiguous_match."""
    blocks = []
    unmatched = accounts_out[(matches["match"] == identity.UNMATCHED).to_numpy()]
    if len(unmatched):
        minutes = _minutes_per_account(act_out, comp_out, rules)
        key = unmatched["system"] + "\x1f" + unmatched["account_id"]
        mins = key.map(minutes).fillna(0.0).to_numpy()
        hint = identity.suggest_names(people, unmatched["name"].reset_index(drop=True))
        ident = (
            unmatched["email"].fillna(unmatched["name"]).fillna("no e-mail").reset_index(drop=True)
        )
        detail = (
            "account "
            + ident
            + " matches no roster person (no id, reference or e-mail match); "
            + "its "
            + pd.Series(mins).map("{:,.0f}".format)
            + " min in the period are not counted"
        )
        detail = detail + np.where(hint.notna(), "; did you mean " + hint.fillna("") + "?", "")
        detail = detail + "; add the account id to the roster or fix the e-mail"
        blocks.append(
            exceptions.rows(
                "unmatched_account",
                employee_id=None,
                system=unmatched["system"],
                record_id=unmatched["account_id"],
                minutes=mins,
                detail=detail,
            )
        )
    amb_mask = (matches["match"] == identity.AMBIGUOUS).to_numpy()
    if amb_mask.any():
        amb = accounts_out[amb_mask]
        cands = matches.loc[amb_mask, "candidates"].map(
            lambda rows: ", ".join(str(employee[r]) for r in rows)
        )
        detail = (
            "account matches several roster people by "
            + amb["match_rule"].astype("str")
            + ": "
            + cands.to_numpy()
            + "; keep the id on one roster row only"
        )
        blocks.append(
            exceptions.rows(
                "ambiguous_match",
                employee_id=None,
                system=amb["system"],
                record_id=amb["account_id"],
                minutes=None,
                detail=detail.to_numpy(),
            )
        )
    return pd.concat(blocks, ignore_index=True) if blocks else pd.DataFrame()


def _minutes_per_account(act_out: pd.DataFrame, comp_out: pd.DataFrame, rules: Rules) -> pd.Series:
    """Minutes an unmatched account would have earned in the period, per (system, account).

    Logged activities count their minutes; passed completions count their CPD value. A
    Coursepath account only ever has completions, so leaving them out would show 0 min for an
    account that really holds hours (DESIGN §6.1: "its minutes are shown").
    """
    parts = []
    for frame, minutes, wanted in (
        (act_out, "minutes", None),
        (comp_out, "cpd_minutes", "passed"),
    ):
        date = frame["local_date"].to_numpy()
        keep = (frame["disposition"] == "unmatched").to_numpy(copy=True)
        keep &= (date >= as_datetime(rules.period_start)) & (date <= as_datetime(rules.period_end))
        if wanted is not None:
            keep &= frame[wanted].to_numpy(dtype=bool)
        rows = frame[keep]
        if len(rows):
            key = (rows["system"] + "\x1f" + rows["account_id"]).to_numpy()
            parts.append(rows[minutes].fillna(0).clip(lower=0).groupby(key).sum())
    if not parts:
        return pd.Series(dtype="float64")
    return pd.concat(parts).groupby(level=0).sum()


def _orphan_exceptions(accounts, act_out, comp_out) -> pd.DataFrame:
    """Records naming an account the users list lacks (and CPD-log rows naming nobody)."""
    frames = []
    for frame in (act_out, comp_out):
        value = "minutes" if "minutes" in frame else "cpd_minutes"
        rows = np.flatnonzero((frame["disposition"] == "unmatched").to_numpy())
        un = frame[["system", "account_id", value]].take(rows)
        if len(un):
            minutes = un[value]
            frames.append(
                pd.DataFrame(
                    {
                        "system": un["system"],
                        "account_id": un["account_id"],
                        "minutes": minutes.clip(lower=0).fillna(0.0),
                    }
                )
            )
    if not frames:
        return pd.DataFrame()
    both = pd.concat(frames, ignore_index=True)
    per = both.groupby(["system", "account_id"], sort=True)["minutes"].agg(["sum", "size"])
    per = per.reset_index()
    # only accounts whose id some orphan record names can be "known": hash far fewer rows
    named = accounts["account_id"].isin(per["account_id"]).to_numpy()
    known = accounts.loc[named, ["system", "account_id"]].drop_duplicates().assign(known=True)
    flag = per.merge(known, on=["system", "account_id"], how="left")["known"]
    per = per[~flag.fillna(False).to_numpy(dtype=bool)]
    if not len(per):
        return pd.DataFrame()
    sheet = per["system"] == "spreadsheet"
    detail = np.where(
        sheet,
        "CPD log names " + per["account_id"] + ", who is not on the roster; "
        "fix the employee id or e-mail in the log",
        "records name account " + per["account_id"] + ", which is not in the platform's user "
        "list; check the account or pull again",
    )
    detail = detail + "; " + per["size"].astype("str") + " record(s) not counted"
    return exceptions.rows(
        "unmatched_account",
        employee_id=None,
        system=per["system"],
        record_id=per["account_id"],
        minutes=per["sum"],
        detail=detail,
    )


def _activity_exceptions(act_out, acts, dup_rows, dup_of, rules) -> pd.DataFrame:
    blocks = []
    if len(dup_rows):
        d = act_out.iloc[dup_rows]
        kept = act_out.iloc[dup_of]
        detail = (
            "same as "
            + kept["system"].to_numpy()
            + " record "
            + kept["record_id"].to_numpy()
            + " ("
            + d["title"].to_numpy()
            + ", "
            + d["minutes"].map("{:,.0f}".format).to_numpy()
            + " min, "
            + _iso(kept["local_date"])
            + "); only that one counts"
        )
        blocks.append(
            _of_records(
                "duplicate_activity",
                d,
                minutes=d["minutes"],
                detail=detail,
            )
        )
    imp = act_out[act_out["disposition"] == "implausible"]
    if len(imp):
        detail = (
            imp["minutes"].map("{:,.0f}".format) + " min is not plausible (must be over 0 "
            f"and at most {rules.max_activity_minutes:,}); not counted, correct the record"
        )
        blocks.append(
            _of_records(
                "implausible_minutes",
                imp,
                minutes=imp["minutes"].fillna(0),
                detail=detail,
            )
        )
    fut = act_out[act_out["disposition"] == "future_dated"]
    if len(fut):
        detail = "dated " + _iso(fut["local_date"]) + f", after {rules.as_of}; not counted yet"
        blocks.append(
            _of_records(
                "future_dated",
                fut,
                minutes=fut["minutes"].fillna(0),
                detail=detail,
            )
        )
    for verdict, kind, text in (
        (
            "unverified",
            "unverified_claim",
            "names a catalogue course but no completion of it was found; still counted",
        ),
        (
            "failed",
            "failed_course_logged",
            "names a catalogue course the person did not pass; still counted, check it",
        ),
    ):
        c = act_out[act_out["claim"] == verdict]
        if len(c):
            blocks.append(
                _of_records(
                    kind,
                    c,
                    minutes=c["minutes"],
                    detail=(c["title"] + ": " + text).to_numpy(),
                )
            )
    return pd.concat(blocks, ignore_index=True) if blocks else pd.DataFrame()


def _completion_exceptions(comp_out: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """unlogged_completion (passed, with CPD value, no logged activity within the window) and
    future_dated (completed after as_of: not counted yet, like a future-dated activity)."""
    blocks = []
    disp = comp_out["disposition"]
    unlogged = (disp == "credited") | (
        (disp == "not_credited") & comp_out["passed"] & (comp_out["cpd_minutes"].fillna(0) > 0)
    )
    cols = ["employee_id", "system", "record_id", "course_id", "title", "local_date"]
    u = comp_out[[*cols, "disposition", "cpd_minutes"]].take(np.flatnonzero(unlogged.to_numpy()))
    if len(u):
        tail = np.where(
            u["disposition"] == "credited", "; credited", "; not credited (crediting off)"
        )
        detail = (
            u["title"].fillna(u["course_id"])
            + " completed "
            + _iso(u["local_date"])
            + f" with no matching CPD entry within {rules.completion_match_days} days"
            + tail
        )
        blocks.append(
            _of_records(
                "unlogged_completion",
                u,
                minutes=u["cpd_minutes"],
                detail=detail,
            )
        )
    fut = comp_out[(disp == "future_dated").to_numpy()]
    if len(fut):
        detail = (
            fut["title"].fillna(fut["course_id"])
            + " completed "
            + _iso(fut["local_date"])
            + f", after {rules.as_of}; not counted yet"
        )
        blocks.append(
            _of_records(
                "future_dated",
                fut,
                minutes=fut["cpd_minutes"].fillna(0),
                detail=detail,
            )
        )
    return pd.concat(blocks, ignore_index=True) if blocks else pd.DataFrame()


def _of_records(kind: str, records: pd.DataFrame, *, minutes: Any, detail: Any) -> pd.DataFrame:
    """One exception of ``kind`` per ledger row of ``records``: its person, system, record."""
    return exceptions.rows(
        kind,
        employee_id=records["employee_id"],
        system=records["system"],
        record_id=records["record_id"],
        minutes=minutes,
        detail=detail,
    )


def _input_exceptions(issues: pd.DataFrame) -> pd.DataFrame:
    if not len(issues):
        return pd.DataFrame()
    where = issues["file"] + np.where(
        issues["sheet"].notna(), " / " + issues["sheet"].fillna(""), ""
    )
    where = where + np.where(
        issues["row"].notna(), " row " + issues["row"].fillna(0).astype(int).astype(str), ""
    )
    where = where + np.where(issues["column"].notna(), " column " + issues["column"].fillna(""), "")
    detail = (
        where
        + ": "
        + issues["problem"]
        + np.where(issues["fix"].notna(), "; " + issues["fix"].fillna(""), "")
    )
    return exceptions.rows(
        "input_issue",
        employee_id=issues["employee_id"],
        system="spreadsheet",
        record_id=None,
        minutes=None,
        detail=detail,
    )
