"""Turning JSON records into typed frames from a declared column mapping.

Each loader declares its mapping once, as ``Column(name, json_path, kind)`` tuples at the top
of its module; this module only knows how to apply one. Kinds and the dtypes they give:

- ``id``: ``string`` (numbers become their decimal text: Brightspace ids are integers)
- ``str``: ``string``
- ``int``: ``Int64`` (minutes: fractional values are rounded half up)
- ``bool``: ``boolean``
- ``float``: ``Float64``
- ``datetime``: ``datetime64[ns, UTC]``

Values are checked as they are converted: a number no platform can mean (beyond
:data:`LARGEST`, or text where a number belongs) raises :class:`UnusableValue`, which the
loader turns into a source error naming the source, table and record, before anything is
written.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from reconcile.sources.http import RequestStats

DTYPES = {
    "id": "string",
    "str": "string",
    "int": "Int64",
    "bool": "boolean",
    "float": "Float64",
    "datetime": "datetime64[ns, UTC]",
}
#: The largest magnitude a number from a platform may have: about two million years in
#: minutes. Anything beyond it (2**63 - 1 minutes, 1e300) is a broken or hostile answer, and
#: summing a few of them would overflow the engine's 64-bit totals.
LARGEST = 10**12
EARLIEST = pd.Timestamp("1678-01-01", tz="UTC")  # within what datetime64[ns] holds
LATEST = pd.Timestamp("2261-12-31", tz="UTC")


@dataclass(frozen=True)
class Column:
    """One output column: its snake_case name, the dotted JSON path, and its kind.

    ``optional``: often empty on a real tenant (a description, a score), so
    ``reconcile check --sources`` does not warn when a probe page never fills it.
    """

    name: str
    path: str
    kind: str
    optional: bool = False


class UnusableValue(ValueError):
    """A record's field holds a value of the wrong kind or an impossible size."""

    def __init__(self, position: int, column: Column, value: Any) -> None:
        super().__init__(f"{column.path} = {_shown(value)}")
        self.position = position
        self.column = column
        self.value = value


def dig(record: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(record, dict):
            return None
        record = record.get(part)
    return record


def extract(records: Sequence[Any], path: str) -> list[Any]:
    """One field of every record; a fast path for the usual shapes, ``dig`` for odd ones."""
    parts = path.split(".")
    try:
        if len(parts) == 1:
            return [r.get(parts[0]) for r in records]
        if len(parts) == 2:
            first, second = parts
            return [(r.get(first) or {}).get(second) for r in records]
    except AttributeError:
        pass
    return [dig(r, path) for r in records]


def _convert(values: list[Any], column: Column) -> Any:
    """Typed array for one column; every value checked (see :class:`UnusableValue`)."""
    kind = column.kind
    if kind in ("id", "str"):
        try:
            return pd.array(values, dtype="string")
        except (TypeError, ValueError):
            return pd.array([None if v is None else _as_text(v) for v in values], dtype="string")
    if kind == "int":
        return pd.array([_as_int(i, v, column) for i, v in enumerate(values)], dtype="Int64")
    if kind == "float":
        return pd.array([_as_float(i, v, column) for i, v in enumerate(values)], dtype="Float64")
    if kind == "bool":
        return pd.array([v if isinstance(v, bool) else None for v in values], dtype="boolean")
    if kind == "datetime":
        texts = [v if isinstance(v, str) else None for v in values]  # a number is no date
        try:
            series = pd.to_datetime(
                pd.Series(texts, dtype="object"), utc=True, format="ISO8601", errors="coerce"
            )
        except (ValueError, OverflowError):  # a year no timestamp holds (-292277022657)
            series = pd.to_datetime(
                pd.Series([_instant(v) for v in texts], dtype="object"), utc=True
            )
        # 9999-12-31 ("never") parses, but lies beyond what nanoseconds hold: no date then
        series = series.where(series.between(EARLIEST, LATEST))
        return series.astype("datetime64[ns, UTC]").array
    raise ValueError(f"unknown column kind {kind!r}")


def _instant(text: str | None) -> pd.Timestamp | None:
    """One ISO 8601 text as an instant; None (NaT) when it is no date pandas can hold."""
    if text is None:
        return None
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, OverflowError):
        return None
    if stamp is pd.NaT:
        return None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _as_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(position: int, value: Any, column: Column) -> float | int | None:
    """A finite number within :data:`LARGEST`, None for a missing one, else UnusableValue."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise UnusableValue(position, column, value)
    if isinstance(value, int):
        number: float | int = value
    else:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise UnusableValue(position, column, value) from None
    if not math.isfinite(number) or abs(number) > LARGEST:
        raise UnusableValue(position, column, value)
    return number


def _as_int(position: int, value: Any, column: Column) -> int | None:
    number = _number(position, value, column)
    if number is None or isinstance(number, int):
        return number
    return math.floor(number + 0.5)


def _as_float(position: int, value: Any, column: Column) -> float | None:
    number = _number(position, value, column)
    return None if number is None else float(number)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def frame(
    records: Sequence[Any],
    columns: Sequence[Column],
    *,
    extra: Mapping[str, tuple[str, Iterable[Any]]] | None = None,
) -> pd.DataFrame:
    """Build a typed frame; ``extra`` adds columns (name → (kind, values)) before the mapped ones.

    An empty list gives an empty frame with the same columns and dtypes. Raises
    :class:`UnusableValue` for the first value no platform can mean.
    """
    data: dict[str, Any] = {}
    for name, (kind, values) in (extra or {}).items():
        data[name] = _convert(list(values), Column(name, name, kind))
    for column in columns:
        data[column.name] = _convert(extract(records, column.path), column)
    result = pd.DataFrame(data)
    if result.empty:
        result = pd.DataFrame(
            {name: pd.Series(dtype=DTYPES[kind]) for name, (kind, _) in (extra or {}).items()}
            | {c.name: pd.Series(dtype=DTYPES[c.kind]) for c in columns}
        )
    return result


def dedupe(
    table: pd.DataFrame, keys: Sequence[str], *, stats: RequestStats, label: str
) -> tuple[pd.DataFrame, int]:
    """Drop rows whose key was already seen (the first wins) and report how many went."""
    if table.empty:
        return table, 0
    repeated = table.duplicated(subset=list(keys), keep="first").to_numpy()
    dropped = int(np.count_nonzero(repeated))
    if dropped:
        stats.warn(f"{label}: the same record id came back more than once; dropped {dropped}")
        table = table.loc[~repeated].reset_index(drop=True)
    return table, dropped
