"""How a pulled table becomes rows of one of the engine's canonical tables.

Each loader declares, next to its field mapping (wire field → pulled column), a ``CANONICAL``
tuple of :class:`ToCanonical` (pulled column → canonical column), so the whole path of a
platform's field, from its JSON to the rule that reads it, is in one module a user can
correct against their tenant. ``reconcile/canonical_build.py`` applies them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Fixed:
    """The same value on every row (the system's name, a record state, an origin)."""

    value: object


@dataclass(frozen=True)
class Derived:
    """A value computed from the pulled table: a full name, a flag from a code."""

    make: Callable[[pd.DataFrame], pd.Series]


#: A pulled column's name, a fixed value, or a derived one.
Source = str | Fixed | Derived


@dataclass(frozen=True)
class ToCanonical:
    """The pulled ``table`` feeds the canonical table ``canonical``, column by column."""

    table: str
    canonical: str
    columns: Mapping[str, Source]

    def apply(self, pulled: pd.DataFrame, source: str) -> pd.DataFrame:
        """The canonical rows of ``pulled``, each tagged ``source_table`` = source/table."""
        index = pd.RangeIndex(len(pulled))
        data: dict[str, object] = {}
        for column, origin in self.columns.items():
            if isinstance(origin, Fixed):
                data[column] = origin.value
            elif isinstance(origin, Derived):
                data[column] = origin.make(pulled).reset_index(drop=True)
            else:
                data[column] = pulled[origin].reset_index(drop=True)
        data["source_table"] = f"{source}/{self.table}"
        return pd.DataFrame(data, index=index)


def full_name(first: str, last: str) -> Derived:
    """First and last name as one, blank when both are."""

    def make(pulled: pd.DataFrame) -> pd.Series:
        joined = (
            pulled[first].fillna("").astype("str") + " " + pulled[last].fillna("").astype("str")
        )
        joined = joined.str.strip()
        return joined.where(joined != "", None)

    return Derived(make)


def as_text(column: str) -> Derived:
    """A pulled id as the text the engine compares (Brightspace ids are integers)."""
    return Derived(lambda pulled: pulled[column].astype("str"))
