"""``reconcile(tables, rules)``: DESIGN.md §6, stage by stage.

Pure: canonical frames in, a frozen :class:`Result` out; no I/O, no printing, no clock
(``rules.as_of`` is the only "today"). The state is a few frames, one row per person, account,
activity and completion; each stage adds the columns it decides. Each stage's module holds
its rule and the wording of its exceptions.
"""

from __future__ import annotations

import pandas as pd

from reconcile.engine import completions as completions_stage
from reconcile.engine import (
    control,
    credit,
    exceptions,
    identity,
    ledger,
    period,
    requirements,
    rollups,
    status,
    totals,
)
from reconcile.engine.canonical import CanonicalTables, validate_canonical
from reconcile.engine.catalogue import Catalogue, category_names, display_categories
from reconcile.engine.result import (
    ACCOUNT_COLUMNS,
    ACTIVITY_COLUMNS,
    COMPLETION_COLUMNS,
    PEOPLE_COLUMNS,
    Result,
)
from reconcile.engine.rules import Rules


def reconcile(tables: CanonicalTables, rules: Rules) -> Result:
    """Reconcile canonical tables under ``rules``; raise IntegrityError if figures don't add up."""
    validate_canonical(tables)
    people = tables.people.sort_values("employee_id", kind="stable").reset_index(drop=True)
    roster = pd.CategoricalDtype(people["employee_id"])
    catalogue = Catalogue.build(tables.catalogue, tables.categories)

    # 1. identity: the person of every account, and through it of every record
    matcher = identity.Roster(people)
    accounts = tables.accounts.reset_index(drop=True)
    accounts = accounts.join(matcher.match(accounts))
    owners = identity.Owners(matcher, accounts)
    activities = _with_owner(tables.activities, owners)
    completions = _with_owner(tables.completions, owners)
    platform_totals = _with_owner(tables.platform_totals, owners)
    targets = _with_owner(tables.targets, owners)
    for frame in (accounts, activities, completions):
        frame["employee_id"] = pd.Categorical.from_codes(frame["person"], dtype=roster)

    # 2. period: local dates, and each person's window
    people = period.windows(people, rules)
    activities["local_date"] = period.local_dates(
        activities["completed_at"], activities["local_date"], rules.timezone
    )
    completions["local_date"] = period.local_dates(
        completions["completed_at"], None, rules.timezone
    )

    # 3. requirement
    memberships = requirements.members(tables.memberships, tables.audiences, people, owners)
    deciding = requirements.deciding_rows(tables.requirements, tables.audiences)
    people = requirements.owed(people, memberships, deciding, targets, rules)

    # 4. ledger
    activities = ledger.dispose(ledger.describe(activities, catalogue), rules)
    people["pending"] = ledger.pending_minutes(activities, rules, len(people))

    # 5. completions
    completions = completions_stage.describe(completions, catalogue)
    completions = completions_stage.dispose(completions, activities, rules)
    activities["claim"] = completions_stage.claims(activities, completions)

    # credit: counted minutes per person and category, caps and minimums
    per_category = credit.per_category(activities, completions, catalogue)
    people = credit.person_totals(people, per_category)
    unmet = credit.unmet_minimums(people, per_category, catalogue)
    names = category_names(
        tables.categories["category"],
        activities["category"],
        catalogue.courses["category"],
        catalogue.contents["category"],
    )

    # 6. platform totals
    mismatches = totals.mismatches(platform_totals, targets, activities, people, rules)

    # 7. status
    people = status.assess(people, credit.minimum_notes(unmet, names, len(people)), rules)

    # the ledgers as the Result shows them
    activities = activities.assign(
        category=display_categories(activities["category_key"], names),
        state=activities["state"].fillna("published"),
        duplicate_of=ledger.labels(activities, activities["duplicate_row"].to_numpy()),
    )
    completions = completions.assign(
        category=display_categories(completions["category_key"], names),
        matched_record_id=ledger.labels(activities, completions["matched_row"].to_numpy()),
    )

    # exceptions
    found = exceptions.combine(
        [
            identity.unmatched_accounts(people, accounts, activities, completions, rules),
            identity.ambiguous_matches(people, accounts),
            identity.unlisted_accounts(activities, completions),
            ledger.duplicate_activities(activities),
            ledger.implausible_minutes(activities, rules),
            ledger.future_dated(activities, rules),
            completions_stage.unproven_claims(activities),
            completions_stage.unlogged_completions(completions, rules),
            completions_stage.future_dated(completions, rules),
            mismatches,
            exceptions.input_issues(tables.input_issues),
        ]
    )

    # 8. control totals
    used = control.usage(
        tables,
        memberships,
        deciding,
        activities,
        completions,
        {"platform_totals": platform_totals, "targets": targets},
    )
    sources = control.control_totals(tables, accounts, activities, completions, used)

    # 9. roll-ups
    people["manager"] = rollups.manager_names(people)
    belongs = requirements.person_audiences(memberships)
    rolled = rollups.build(people, belongs, per_category, unmet, catalogue, names)
    return Result(
        rules=rules,
        people=people[list(PEOPLE_COLUMNS)],
        activities=activities[list(ACTIVITY_COLUMNS)],
        completions=completions[list(COMPLETION_COLUMNS)],
        accounts=accounts[[*tables.accounts.columns, *ACCOUNT_COLUMNS]],
        exceptions=found,
        control_totals=sources,
        **rolled,
    )


def _with_owner(records: pd.DataFrame, owners: identity.Owners) -> pd.DataFrame:
    """``records`` with the ``account`` they name (row in accounts, -1: not listed) and its
    ``person`` (row in people, -1: nobody)."""
    return records.reset_index(drop=True).join(owners.of(records))
