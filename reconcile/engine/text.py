"""How text is compared (§6 rules 1, 3 and 4), and how figures are rounded.

Titles, names, ids and e-mails are normalised once per *distinct* value: two million activity
rows carry a few thousand distinct titles, so the string work follows the vocabulary, not the
number of records.
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


def per_distinct(values: pd.Series, normalise: Normaliser) -> pd.Series:
    """``normalise(values)``, worked out once per distinct value; missing where the value is
    missing or normalises to nothing (a title of punctuation only has no key)."""
    codes, uniques = pd.factorize(values)
    normalised = normalise(pd.Series(uniques, dtype="str"))
    normalised = normalised.where(normalised.str.len() > 0)
    return pd.Series(normalised.array.take(codes, allow_fill=True), index=values.index)


def given(value: Any) -> bool:
    """False for a missing cell (None, NaN, NaT, NA) and for an empty text."""
    return not pd.isna(value) and value != ""


def is_draft(state: pd.Series) -> np.ndarray:
    """True where a record's state says draft (Brightspace RecordStateId 2), any case."""
    return (per_distinct(state, lambda s: s.str.casefold()) == "draft").to_numpy(
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
