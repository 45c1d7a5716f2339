"""How text is compared (§6 rules 1, 3 and 4), how records are keyed, and how figures are
rounded.

Titles, names, ids and e-mails are normalised once per *distinct* value, and the keys are
categoricals: two million activity rows carry a few thousand distinct titles, so the string
work follows the vocabulary, not the number of records.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, overload

import numpy as np
import pandas as pd

Normaliser = Callable[[pd.Series], pd.Series]


def normalise_titles(values: pd.Series) -> pd.Series:
    """Case-folded, punctuation removed, runs of white space as one space, trimmed (§6.4).

    Punctuation is removed, not replaced: "fire-safety" is "firesafety".
    """
    text = values.astype("str").str.casefold()
    text = text.str.replace(r"[^\w\s]|_", "", regex=True)
    return text.str.replace(r"\s+", " ", regex=True).str.strip()


def normalise_names(values: pd.Series) -> pd.Series:
    """Audience and category names as compared: trimmed, case-folded, runs of white space as
    one space ("CLINICAL  SKILLS" is "Clinical Skills")."""
    text = values.astype("str").str.strip().str.casefold()
    return text.str.replace(r"\s+", " ", regex=True)


def normalise_ids(values: pd.Series) -> pd.Series:
    """Ids compare as the text the user sees, without surrounding spaces."""
    return values.astype("str").str.strip()


def normalise_emails(values: pd.Series) -> pd.Series:
    """Trimmed and case-folded (§6.1)."""
    return values.astype("str").str.strip().str.casefold()


def normalised_keys(values: pd.Series, normalise: Normaliser) -> pd.Series:
    """The key each value is compared by, ``normalise(values)``, as a categorical worked out
    once per distinct value; missing where the value is missing or normalises to nothing (a
    title of punctuation only has no key)."""
    codes, uniques = pd.factorize(values)
    keys = normalise(pd.Series(uniques, dtype="str"))
    key_codes, vocabulary = pd.factorize(keys.where(keys.str.len() > 0))
    # the extra last slot answers a missing value (code -1) with a missing key
    codes = np.append(key_codes, -1)[codes]
    return pd.Series(pd.Categorical.from_codes(codes, categories=vocabulary), index=values.index)


def distinct_pairs(first: pd.Series, second: pd.Series) -> tuple[np.ndarray, pd.DataFrame]:
    """Per row, the number of its (first, second) pair, and the distinct pairs (columns
    named after the two Series): a lookup on two text columns then runs once per distinct
    pair, not once per row. Missing values pair like any other."""
    a, a_values = pd.factorize(first, use_na_sentinel=False)
    b, b_values = pd.factorize(second, use_na_sentinel=False)
    width = max(len(b_values), 1)
    pair, distinct = pd.factorize(a.astype(np.int64) * width + b)
    pairs = pd.DataFrame(
        {first.name: a_values.take(distinct // width), second.name: b_values.take(distinct % width)}
    )
    return pair, pairs


def on_shared_categories(*keys: pd.Series) -> list[pd.Series]:
    """The categoricals ``keys`` recoded onto one list of categories, so that they can be
    compared, merged, filled from one another and concatenated as codes."""
    categories = pd.Index(pd.unique(np.concatenate([k.cat.categories.to_numpy() for k in keys])))
    return [k.cat.set_categories(categories) for k in keys]


def first_known(*keys: pd.Series) -> pd.Series:
    """Per row, the first of ``keys`` (categoricals) that is not missing."""
    first, *others = on_shared_categories(*keys)
    for other in others:
        first = first.fillna(other)
    return first


def join_per_person(person: pd.Series, texts: pd.Series, n_people: int, sep: str) -> pd.Series:
    """Each person's texts in alphabetical order joined by ``sep``; "" for a person with none
    (``person``: row in people per text)."""
    per_person: dict[int, list[str]] = {}
    written = texts.notna().to_numpy()
    for row, text in zip(person[written].tolist(), texts[written].tolist(), strict=True):
        per_person.setdefault(row, []).append(text)
    joined = [sep.join(sorted(per_person.get(row, []))) for row in range(n_people)]
    return pd.Series(joined, dtype="str")


def iso_days(dates: pd.Series) -> list[str]:
    """Each date as "2026-03-01" ("" for none), formatted once per distinct date."""
    codes, days = pd.factorize(dates)
    text = [f"{day:%Y-%m-%d}" for day in days] + [""]
    return [text[code] for code in codes]


def given(value: Any) -> bool:
    """False for a missing cell (None, NaN, NaT, NA) and for an empty text."""
    return not pd.isna(value) and value != ""


def is_draft(state: pd.Series) -> np.ndarray:
    """True where a record's state says draft (Brightspace RecordStateId 2), any case."""
    return (normalised_keys(state, lambda s: s.str.casefold()) == "draft").to_numpy(
        dtype=bool, na_value=False
    )


@overload
def round_half_up(values: float, decimals: int = 0) -> float: ...
@overload
def round_half_up(values: np.ndarray | pd.Series | Any, decimals: int = 0) -> np.ndarray: ...
def round_half_up(values: Any, decimals: int = 0) -> Any:
    """Round halves away from zero (never banker's rounding), as a reader expects.

    A tiny epsilon absorbs binary noise such as 1200 × 59 / 365 landing a hair under .5.
    """
    scale = 10.0**decimals
    scaled = np.asarray(values, dtype="float64") * scale
    out = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5 + 1e-9) / scale
    return float(out) if np.ndim(values) == 0 else out


def whole_minutes(values: Any) -> np.ndarray:
    """Minutes rounded half up to whole int64 minutes."""
    return round_half_up(values).astype(np.int64)
