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
from reconcile.engine.catalogue import Catalogue, category_names
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
    catalogue = Catalogue.build(tables.catalogue, tables.categories)

    # 1. identity: the person of every account, and through it of every record
    roster = identity.Roster(people)
    accounts = identity.match_accounts(roster, tables.accounts)
    owners = identity.Owners(roster, accounts)
    activities, completions, platform_totals, targets = (
        owners.attach(records)
        for records in (
            tables.activities,
            tables.completions,
            tables.platform_totals,
            tables.targets,
        )
    )

    # 2. period: each record's local date, each person's window
    activities, completions = period.dated(activities, rules), period.dated(completions, rules)
    people = period.windows(people, rules)

    # 3. requirement: what each person owes, pro-rated
    memberships = requirements.members(tables.memberships, tables.audiences, people, owners)
    deciding = requirements.deciding_rows(tables.requirements, tables.audiences)
    people = requirements.owed(people, memberships, deciding, targets, rules)

    # 4. ledger: one disposition per activity
    activities = ledger.dispose(ledger.describe(activities, catalogue), rules)
    people["pending"] = ledger.pending_minutes(activities, rules, len(people))

    # 5. completions: one disposition per completion; activities that claim a course
    completions = completions_stage.describe(completions, catalogue)
    completions = completions_stage.dispose(completions, activities, rules)
    activities["claim"] = completions_stage.claims(activities, completions)

    # credit: counted minutes per person and category, caps and minimums
    per_category = credit.per_category(activities, completions, catalogue)
    people = credit.person_totals(people, per_category)
    unmet = credit.unmet_minimums(people, per_category, catalogue)
    names = category_names(tables.categories["category"], activities["category"], catalogue)

    # 6. platform totals
    mismatches = totals.mismatches(platform_totals, targets, activities, people, rules)

    # 7. status and Reason
    people = status.assess(people, credit.minimum_notes(unmet, names, len(people)), rules)
    activities = ledger.shown(activities, names)
    completions = completions_stage.shown(completions, activities, names)

    # exceptions: each stage words its own
    found = _exceptions(tables, people, accounts, activities, completions, mismatches, rules)

    # 8. control totals
    used = control.usage(
        tables, memberships, deciding, activities, completions, platform_totals, targets
    )
    sources = control.control_totals(tables, accounts, activities, completions, used)

    # 9. roll-ups
    people["manager"] = rollups.manager_names(people)
    belongs = requirements.person_audiences(memberships)
    return Result(
        rules=rules,
        people=people[list(PEOPLE_COLUMNS)],
        activities=activities[list(ACTIVITY_COLUMNS)],
        completions=completions[list(COMPLETION_COLUMNS)],
        accounts=accounts[[*tables.accounts.columns, *ACCOUNT_COLUMNS]],
        exceptions=found,
        control_totals=sources,
        **rollups.build(people, belongs, per_category, unmet, catalogue, names),
    )


def _exceptions(
    tables: CanonicalTables,
    people: pd.DataFrame,
    accounts: pd.DataFrame,
    activities: pd.DataFrame,
    completions: pd.DataFrame,
    mismatches: pd.DataFrame,
    rules: Rules,
) -> pd.DataFrame:
    """Every stage's exceptions, in the order of §6, as one sorted table."""
    return exceptions.combine(
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
