"""Rule 1: which roster person each platform account (and CPD-log row) belongs to.

Precedence, first step with any candidate decides: the roster's explicit id column for that
system → the platform's external reference equal to ``employee_id`` → normalised e-mail.
One candidate is a match; two or more is ``ambiguous``; none is ``unmatched``. A name that
looks alike is only ever a *suggestion* in the exception's detail.

How it stays fast: the roster side of every step is indexed once (:class:`Matcher`): each
distinct normalised key gets its number of distinct people and its lowest person row. An
account then costs one hash lookup per step, with no merge and no per-row Python; only the
(rare) ambiguous keys carry a Python list of their candidates.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from reconcile.engine.canonical import PLATFORMS
from reconcile.engine.text import (
    casefold,
    factorize,
    normalise_emails,
    normalise_ids,
    positions,
    text_array,
)

MATCHED, UNMATCHED, AMBIGUOUS = "matched", "unmatched", "ambiguous"
EXPLICIT, REFERENCE, EMAIL = "explicit id", "external reference", "email"
#: Fuzzy suggestions are a courtesy: difflib compares each unmatched name with every roster
#: name, so beyond this many comparisons only exact (normalised) names are suggested.
_SUGGEST_BUDGET = 200_000


@dataclass(frozen=True)
class _Keys:
    """The roster side of one identity step: distinct keys and who holds each."""

    keys: pa.Array  #: distinct normalised keys
    count: np.ndarray  #: distinct people per key
    first: np.ndarray  #: lowest person row per key
    several: dict[int, list[int]]  #: key position → sorted people rows, where count > 1

    @classmethod
    def build(cls, keys: pd.Series, person: np.ndarray, n_people: int) -> _Keys:
        """``keys``: normalised key per roster row (NA = the person has none)."""
        codes, uniques = factorize(keys)
        held = codes >= 0
        if held.sum() == len(uniques):  # every key held by one row: the usual roster
            first = np.full(len(uniques), -1, dtype=np.int64)
            first[codes[held]] = person[held]
            count = np.ones(len(uniques), dtype=np.int64)
            return cls(text_array(uniques), count, first, {})
        # distinct (key, person) pairs, sorted by key then person: a person listed twice
        # under one key is one candidate, and the first of each run is the lowest row
        pairs = np.unique(codes[held] * np.int64(max(n_people, 1)) + person[held])
        key_of, person_of = np.divmod(pairs, max(n_people, 1))
        count = np.bincount(key_of, minlength=len(uniques))
        first = np.full(len(uniques), -1, dtype=np.int64)
        starts = np.flatnonzero(np.r_[True, key_of[1:] != key_of[:-1]]) if len(pairs) else pairs
        first[key_of[starts]] = person_of[starts]
        several: dict[int, list[int]] = {}
        multi = count[key_of] > 1
        if multi.any():
            k, p = key_of[multi], person_of[multi]
            cut = np.flatnonzero(k[1:] != k[:-1]) + 1
            for key, people in zip(k[np.r_[0, cut]], np.split(p, cut), strict=True):
                several[int(key)] = people.tolist()
        return cls(text_array(uniques), count, first, several)

    def find(self, keys: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per key: position in the index (-1 none), candidate count, lowest person row."""
        at = positions(keys, self.keys)
        found = at >= 0
        safe = np.maximum(at, 0)
        count = np.where(found, self.count[safe] if len(self.count) else 0, 0)
        first = np.where(found, self.first[safe] if len(self.first) else -1, -1)
        return at, count, first


class Matcher:
    """The roster indexed once for every identity step; resolves any number of accounts.

    Built once per run: the same roster answers the platform accounts and the CPD-log rows
    (which skip the explicit-id step).
    """

    def __init__(self, people: pd.DataFrame) -> None:
        n = len(people)
        person = np.arange(n, dtype=np.int64)
        self.explicit = {
            system: _Keys.build(_present(people[f"{system}_id"], normalise_ids), person, n)
            for system in PLATFORMS
        }
        self.reference = _Keys.build(_present(people["employee_id"], normalise_ids), person, n)
        self.email = _Keys.build(_present(people["email"], normalise_emails), person, n)

    def resolve(self, accounts: pd.DataFrame, *, explicit: bool = True) -> pd.DataFrame:
        """Match ``accounts`` (system, account_id, email, external_ref) to people.

        Returns a frame aligned with ``accounts``: ``person`` (row in people, -1 for none),
        ``match`` (matched / unmatched / ambiguous), ``rule`` (the step that decided) and
        ``candidates`` (sorted people rows, only for ambiguous accounts).
        """
        n = len(accounts)
        person = np.full(n, -1, dtype=np.int64)
        match = np.zeros(n, dtype=np.int8)  # positions in _MATCHES
        rule = np.zeros(n, dtype=np.int8)  # positions in _RULES
        candidates = np.full(n, None, dtype=object)
        open_rows = np.ones(n, dtype=bool)
        for step, index, step_rows, step_keys in self._steps(accounts, explicit):
            keep = open_rows[step_rows] & step_keys.notna().to_numpy()
            rows, keys = step_rows[keep], step_keys[keep]
            if not len(rows):
                continue
            at, count, first = index.find(keys)
            single, several = count == 1, count > 1
            person[rows[single]] = first[single]
            match[rows[single]] = _MATCHES.index(MATCHED)
            match[rows[several]] = _MATCHES.index(AMBIGUOUS)
            for row, key in zip(rows[several], at[several], strict=True):
                candidates[row] = list(index.several[int(key)])
            decided = rows[count >= 1]
            rule[decided] = _RULES.index(step)
            open_rows[decided] = False
        return pd.DataFrame(
            {
                "person": person,
                "match": _labels(_MATCHES, match),
                "rule": _labels(_RULES, rule),
                "candidates": candidates,
            }
        )

    def _steps(self, accounts: pd.DataFrame, explicit: bool):
        """(step name, roster keys, account rows, their normalised keys), in precedence order.

        The explicit-id step is split by system: an account only meets its own system's column.
        """
        # a roster without any explicit ids (the usual case) skips the step outright
        if explicit and any(len(index.keys) for index in self.explicit.values()):
            ids = normalise_ids(accounts["account_id"])
            for name, index in self.explicit.items():
                same = (accounts["system"] == name).to_numpy(dtype=bool, na_value=False)
                rows = np.flatnonzero(same)
                yield EXPLICIT, index, rows, ids.iloc[rows].reset_index(drop=True)
        every = np.arange(len(accounts))
        yield REFERENCE, self.reference, every, normalise_ids(accounts["external_ref"])
        yield EMAIL, self.email, every, normalise_emails(accounts["email"])


_MATCHES = (UNMATCHED, MATCHED, AMBIGUOUS)
_RULES = ("", EXPLICIT, REFERENCE, EMAIL)


def _labels(names: tuple[str, ...], codes: np.ndarray) -> pd.Series:
    """Text column from small codes, taken in Arrow (no Python string per row)."""
    taken = pa.array(names, type=pa.large_string()).take(pa.array(codes))
    return pd.Series(pd.array(taken, dtype="str"))


def _present(values: pd.Series, normalise) -> pd.Series:
    """Normalised keys; a missing raw value stays missing (an empty one is still a key)."""
    return normalise(values).where(values.notna().to_numpy())


def resolve(
    people: pd.DataFrame,
    accounts: pd.DataFrame,
    *,
    explicit: bool = True,
) -> pd.DataFrame:
    """One-off :meth:`Matcher.resolve` (indexes the roster for this call only)."""
    return Matcher(people).resolve(accounts, explicit=explicit)


def account_keys(
    accounts: pd.DataFrame, person: np.ndarray
) -> dict[str, tuple[pd.Index, np.ndarray]]:
    """Per system: the distinct normalised account ids and the person row each resolved to.

    The first account wins when two normalise to the same id. Lets every table that names an
    account (activities, completions, memberships, totals) find its person by hash lookup.
    """
    ids = normalise_ids(accounts["account_id"])
    codes, systems = factorize(accounts["system"])
    out = {}
    for code, system in enumerate(systems):
        rows = np.flatnonzero(codes == code)
        keys = ids.iloc[rows]
        first = ~keys.duplicated(keep="first").to_numpy()
        out[system] = (text_array(keys[first]), person[rows[first]])
    return out


def find_accounts(
    by_system: dict[str, tuple[pa.Array, np.ndarray]], system: pd.Series, key: pd.Series
) -> np.ndarray:
    """Person row per (system, normalised account id) pair; -1 for an account not listed."""
    out = np.full(len(key), -1, dtype=np.int64)
    for name, (keys, person) in by_system.items():
        rows = np.flatnonzero((system == name).to_numpy(dtype=bool, na_value=False))
        if not len(rows) or not len(keys):
            continue
        at = positions(key.iloc[rows], keys)
        out[rows] = np.where(at >= 0, person[np.maximum(at, 0)], -1)
    return out


def suggest_names(people: pd.DataFrame, names: pd.Series) -> pd.Series:
    """A "did you mean" hint per name: exact normalised name first, then close spelling.

    Only for the few unmatched accounts; never used to make a match. When two roster people
    share a normalised name, the later one is named.
    """
    roster = _fold_name(people["name"])
    label = people["name"].astype("str") + " (" + people["employee_id"].astype("str") + ")"
    named = roster.notna().to_numpy()
    roster, label = roster[named], label[named]
    last = ~roster.duplicated(keep="last").to_numpy()
    by_name = pd.Series(label.to_numpy()[last], index=pd.Index(roster.to_numpy()[last]))
    wanted = _fold_name(names)
    out = wanted.map(by_name)
    missing = np.flatnonzero(out.isna().to_numpy() & wanted.notna().to_numpy())
    if len(missing) > 0 and len(missing) * len(by_name) <= _SUGGEST_BUDGET:
        # first-seen order of the distinct roster names, as difflib has always been given
        vocabulary = roster[~roster.duplicated(keep="first").to_numpy()].tolist()
        for i in missing:
            near = difflib.get_close_matches(wanted.iloc[i], vocabulary, n=1, cutoff=0.85)
            if near:
                out.iloc[i] = by_name[near[0]]
    return out


#: Characters Python's ``\s`` / ``str.strip`` treat as space in ASCII text, other than " ".
_ODD_SPACE = r"[\t\n\x0b\x0c\r\x1c-\x1f]|  |^ | $"


def _fold_name(names: pd.Series) -> pd.Series:
    """Case-folded, runs of white space as one space, trimmed.

    The regular expression runs in Python per value, so it is applied only to names that
    need it: an ASCII name with single inner spaces and nothing to trim is already folded
    once case-folded.
    """
    folded = casefold(names.astype("str"))
    arr = getattr(folded.array, "_pa_array", None)
    if arr is None:
        return folded.str.replace(r"\s+", " ", regex=True).str.strip()
    odd = pc.or_(pc.invert(pc.string_is_ascii(arr)), pc.match_substring_regex(arr, _ODD_SPACE))
    odd = pc.fill_null(odd, False).to_numpy(zero_copy_only=False)
    if odd.any():
        fixed = folded[odd].str.replace(r"\s+", " ", regex=True).str.strip()
        folded = folded.copy()
        folded[odd] = fixed
    return folded
