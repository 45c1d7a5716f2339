"""Stage 1, identity (§6.1): which roster person each platform account, and through it each
record, belongs to.

Per account, the first step with any candidate decides: the roster's explicit id column for
that system (``thrive_id``...) equal to the account id → the platform's external reference
equal to ``employee_id`` → the e-mail, trimmed and case-folded. One candidate is a match; two
or more is ``ambiguous``; none is ``unmatched``. Ids compare trimmed, case kept. A name that
looks alike is only ever a *suggestion* in the exception's detail.

A CPD-log row (``system="spreadsheet"``) names its person by employee id or e-mail: the same
steps without the explicit-id step. A record naming an account the users list lacks belongs to
nobody.

Exceptions: ``unmatched_account`` (with the account's in-period minutes, which are not
counted), ``ambiguous_match`` (listing the candidates), and one ``unmatched_account`` per
account that only records name.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator

import numpy as np
import pandas as pd

from reconcile.engine import exceptions
from reconcile.engine.canonical import PLATFORMS
from reconcile.engine.period import in_period
from reconcile.engine.rules import Rules
from reconcile.engine.text import (
    Normaliser,
    distinct_pairs,
    given,
    normalise_emails,
    normalise_ids,
)

MATCHED, UNMATCHED, AMBIGUOUS = "matched", "unmatched", "ambiguous"
EXPLICIT, REFERENCE, EMAIL = "explicit id", "external reference", "email"
#: Fuzzy suggestions are a courtesy: difflib compares each unmatched name with every roster
#: name, so beyond this many comparisons only exact (normalised) names are suggested.
SUGGESTION_BUDGET = 200_000


class Roster:
    """The roster's side of each identity step: who holds each id, reference and e-mail."""

    def __init__(self, people: pd.DataFrame) -> None:
        self.people = people
        #: Employee ids as a categorical: cheap on millions of records, in roster order.
        self.employee_ids = pd.CategoricalDtype(people["employee_id"])
        self.explicit_ids = {
            system: _holders(people[f"{system}_id"], normalise_ids) for system in PLATFORMS
        }
        self.references = _holders(people["employee_id"], normalise_ids)
        self.emails = _holders(people["email"], normalise_emails)

    def match(self, accounts: pd.DataFrame, *, explicit: bool = True) -> pd.DataFrame:
        """``person`` (row in people, -1: none), ``match``, ``match_rule`` (the step that
        decided, "" for none) and ``candidates`` (people rows, ambiguous accounts only), one
        row per account."""
        n = len(accounts)
        person = np.full(n, -1, dtype=np.int64)
        match = np.full(n, UNMATCHED, dtype=object)
        rule = np.full(n, "", dtype=object)
        candidates = np.full(n, None, dtype=object)
        undecided = np.ones(n, dtype=bool)
        for step, holders, keys in self._steps(accounts, explicit):
            asking = np.flatnonzero(undecided & keys.notna().to_numpy())
            found = holders.reindex(keys.iloc[asking].to_numpy())
            count = found["count"].fillna(0).to_numpy()
            one, several = asking[count == 1], asking[count > 1]
            person[one] = found["person"].to_numpy()[count == 1]
            match[one], match[several] = MATCHED, AMBIGUOUS
            candidates[several] = found["candidates"].to_numpy()[count > 1]
            rule[one], rule[several] = step, step
            undecided[one], undecided[several] = False, False
        return pd.DataFrame(
            {
                "person": person,
                "match": pd.Series(match, dtype="str"),
                "match_rule": pd.Series(rule, dtype="str"),
                "candidates": candidates,
            }
        )

    def _steps(
        self, accounts: pd.DataFrame, explicit: bool
    ) -> Iterator[tuple[str, pd.DataFrame, pd.Series]]:
        """(step, the roster's holders, each account's key: missing where the step does not
        apply), in precedence order. An account only meets its own system's id column."""
        if explicit:
            ids = normalise_ids(accounts["account_id"])
            for system, holders in self.explicit_ids.items():
                if len(holders):  # most rosters have no explicit id column
                    yield EXPLICIT, holders, ids.where((accounts["system"] == system).to_numpy())
        yield REFERENCE, self.references, _keys(accounts["external_ref"], normalise_ids)
        yield EMAIL, self.emails, _keys(accounts["email"], normalise_emails)


def _keys(values: pd.Series, normalise: Normaliser) -> pd.Series:
    """Normalised keys; a missing value stays missing (an empty one is still a key)."""
    return normalise(values).where(values.notna().to_numpy()).reset_index(drop=True)


def _holders(values: pd.Series, normalise: Normaliser) -> pd.DataFrame:
    """Per distinct key: how many people hold it, the first of them, and all of them when
    there are several (each roster row is one person with one key per step)."""
    held = pd.DataFrame({"key": _keys(values, normalise), "person": np.arange(len(values))})
    held = held.dropna(subset=["key"])
    by_key = held.groupby("key", sort=False)["person"]
    out = pd.DataFrame({"count": by_key.size(), "person": by_key.min()})
    shared = held[held.duplicated("key", keep=False)]
    out["candidates"] = shared.groupby("key", sort=False)["person"].agg(list)  # rows ascending
    return out


def match_accounts(roster: Roster, accounts: pd.DataFrame) -> pd.DataFrame:
    """``accounts`` with ``person``, ``employee_id``, ``match``, ``match_rule`` and
    ``candidates`` (see :meth:`Roster.match`)."""
    matched = accounts.reset_index(drop=True).join(roster.match(accounts))
    employee_id = pd.Categorical.from_codes(matched["person"], dtype=roster.employee_ids)
    return matched.assign(employee_id=employee_id)


class Owners:
    """Which listed account, and through it which person, each record names."""

    def __init__(self, roster: Roster, accounts: pd.DataFrame) -> None:
        self.roster = roster
        self.person = np.append(accounts["person"].to_numpy(dtype=np.int64), -1)
        listed = pd.DataFrame(
            {
                "system": accounts["system"],
                "key": normalise_ids(accounts["account_id"]),
                "account": np.arange(len(accounts)),
            }
        )
        # two accounts whose ids differ only in spaces: the first one listed decides
        self.listed = listed.dropna(subset=["key"]).drop_duplicates(["system", "key"])

    def attach(self, records: pd.DataFrame) -> pd.DataFrame:
        """``records`` with the ``account`` they name (row in accounts, -1: not listed), its
        ``person`` (row in people, -1: nobody) and their ``employee_id``."""
        owner = self.of(records)
        return records.reset_index(drop=True).assign(
            account=owner["account"].to_numpy(),
            person=owner["person"].to_numpy(),
            employee_id=pd.Categorical.from_codes(owner["person"], dtype=self.roster.employee_ids),
        )

    def of(self, records: pd.DataFrame) -> pd.DataFrame:
        """Per record: ``account`` (its row in the accounts table, -1: not listed) and
        ``person`` (-1: nobody). Worked out once per distinct (system, account id): millions
        of records name a few hundred thousand accounts."""
        pair, named = distinct_pairs(records["system"], records["account_id"])
        named["key"] = normalise_ids(named["account_id"])
        listed = named.merge(self.listed, on=["system", "key"], how="left")["account"]
        account = listed.fillna(-1).to_numpy(dtype=np.int64)
        person = self.person[account]  # the extra last slot: -1 for an account not listed
        from_log = (named["system"] == "spreadsheet").to_numpy()
        person[from_log] = self._log_people(named.loc[from_log, "key"])
        return pd.DataFrame({"account": account[pair], "person": person[pair]})

    def _log_people(self, ids: pd.Series) -> np.ndarray:
        """CPD-log rows name a person by employee id or e-mail (no explicit-id step)."""
        named = pd.DataFrame({"account_id": ids, "email": ids, "external_ref": ids})
        return self.roster.match(named.assign(system="spreadsheet"), explicit=False)[
            "person"
        ].to_numpy()


# ------------------------------------------------------------------------------ exceptions


def unmatched_accounts(
    people: pd.DataFrame,
    accounts: pd.DataFrame,
    activities: pd.DataFrame,
    completions: pd.DataFrame,
    rules: Rules,
) -> pd.DataFrame:
    """``unmatched_account`` per listed account matching nobody: its in-period minutes are
    shown (not counted) with a "did you mean" hint, and what to fix."""
    unmatched = accounts[(accounts["match"] == UNMATCHED).to_numpy()]
    earned = _minutes_per_account(activities, completions, rules)
    minutes = earned.reindex(unmatched.index, fill_value=0.0)
    who = unmatched["email"].fillna(unmatched["name"]).fillna("no e-mail")
    hints = suggest_names(people, unmatched["name"])
    detail = [
        f"account {ident} matches no roster person (no id, reference or e-mail match); "
        f"its {spent:,.0f} min in the period are not counted"
        + (f"; did you mean {hint}?" if given(hint) else "")
        + "; add the account id to the roster or fix the e-mail"
        for ident, spent, hint in zip(who.tolist(), minutes.tolist(), hints.tolist(), strict=True)
    ]
    return exceptions.rows(
        "unmatched_account",
        system=unmatched["system"],
        record_id=unmatched["account_id"],
        minutes=minutes,
        detail=detail,
    )


def ambiguous_matches(people: pd.DataFrame, accounts: pd.DataFrame) -> pd.DataFrame:
    """``ambiguous_match`` per account that several roster people could be."""
    ambiguous = accounts[(accounts["match"] == AMBIGUOUS).to_numpy()]
    employee_id = people["employee_id"].to_numpy(dtype=object)
    detail = [
        f"account matches several roster people by {rule}: "
        + ", ".join(str(employee_id[row]) for row in candidates)
        + "; keep the id on one roster row only"
        for rule, candidates in zip(
            ambiguous["match_rule"].tolist(), ambiguous["candidates"].tolist(), strict=True
        )
    ]
    return exceptions.rows(
        "ambiguous_match",
        system=ambiguous["system"],
        record_id=ambiguous["account_id"],
        detail=detail,
    )


def unlisted_accounts(activities: pd.DataFrame, completions: pd.DataFrame) -> pd.DataFrame:
    """One ``unmatched_account`` per account that records name but the users list lacks (or
    per person a CPD log names who is not on the roster), with its records' minutes."""
    unowned = pd.concat(
        [_unmatched_records(activities, "minutes"), _unmatched_records(completions, "cpd_minutes")]
    )
    unowned = unowned[(unowned["account"] < 0).to_numpy()]
    per_account = unowned.groupby(["system", "account_id"], sort=True)["minutes"].agg(
        ["sum", "size"]
    )
    per_account = per_account.reset_index()
    detail = [
        (
            f"CPD log names {account}, who is not on the roster; "
            "fix the employee id or e-mail in the log"
            if system == "spreadsheet"
            else f"records name account {account}, which is not in the platform's user list; "
            "check the account or pull again"
        )
        + f"; {size} record(s) not counted"
        for system, account, size in zip(
            per_account["system"].tolist(),
            per_account["account_id"].tolist(),
            per_account["size"].tolist(),
            strict=True,
        )
    ]
    return exceptions.rows(
        "unmatched_account",
        system=per_account["system"],
        record_id=per_account["account_id"],
        minutes=per_account["sum"],
        detail=detail,
    )


def _unmatched_records(ledger: pd.DataFrame, minutes: str) -> pd.DataFrame:
    """system, account_id, account (-1: not listed), local_date and minutes (none or
    negative: 0) of a ledger's records that belong to nobody."""
    columns = ["system", "account_id", "account", "local_date", minutes]
    unmatched = exceptions.disposed(ledger, UNMATCHED, columns)
    return unmatched.rename(columns={minutes: "minutes"}).assign(
        minutes=lambda records: records["minutes"].clip(lower=0).fillna(0.0)
    )


def _minutes_per_account(
    activities: pd.DataFrame, completions: pd.DataFrame, rules: Rules
) -> pd.Series:
    """Minutes an unmatched account would have earned in the period, by account (row in
    accounts): its logged activities' minutes and its passed completions' CPD value. A
    Coursepath account only has completions: leaving them out would show 0 min for an account
    that really holds hours."""
    passed = completions[completions["passed"].to_numpy(dtype=bool)]
    earned = pd.concat(
        [_unmatched_records(activities, "minutes"), _unmatched_records(passed, "cpd_minutes")]
    )
    earned = earned[in_period(earned["local_date"], rules) & (earned["account"] >= 0).to_numpy()]
    return earned.groupby("account")["minutes"].sum()


def suggest_names(people: pd.DataFrame, names: pd.Series) -> pd.Series:
    """A "did you mean" hint per name: the roster person with the same name (case and
    spacing ignored), else one spelled closely (difflib ≥ 0.85). Only for the few unmatched
    accounts; never used to make a match. Of two roster people with one name, the later."""
    roster = _folded_names(people["name"]).reset_index(drop=True)
    label = people["name"].astype("str") + " (" + people["employee_id"].astype("str") + ")"
    by_name = pd.Series(label.to_numpy(), index=roster.to_numpy())[roster.notna().to_numpy()]
    by_name = by_name[~by_name.index.duplicated(keep="last")]
    wanted = _folded_names(names).reset_index(drop=True)
    hints = wanted.map(by_name)
    missing = np.flatnonzero(hints.isna().to_numpy() & wanted.notna().to_numpy())
    if 0 < len(missing) * len(by_name) <= SUGGESTION_BUDGET:
        vocabulary = roster.dropna().drop_duplicates().tolist()
        for i in missing.tolist():
            near = difflib.get_close_matches(wanted.iloc[i], vocabulary, n=1, cutoff=0.85)
            if near:
                hints.iloc[i] = by_name[near[0]]
    return hints


def _folded_names(names: pd.Series) -> pd.Series:
    """Case-folded, runs of white space as one space, trimmed."""
    folded = names.astype("str").str.casefold().str.replace(r"\s+", " ", regex=True)
    return folded.str.strip()
