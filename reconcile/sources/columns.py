"""Turning JSON records into typed frames from a declared column mapping.

Each loader declares its mapping once, as ``Column(name, json_path, kind)`` tuples at the top
of its module; this module only knows how to apply one. Kinds and the dtypes they give:

- ``id``: ``string`` (numbers become their decimal text: Brightspace ids are integers)
- ``str``: ``string``
- ``int``: ``Int64`` (minutes: fractional values are rounded half up)
- ``bool``: ``boolean``
- ``float``: ``Float64``
- ``datetime``: ``datetime64[ns, UTC]``
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from reconcile.sources.http import RequestStats

DTYPES = {
    "id": "string",
    "str": "string",
    "int": "Int64",
    "bool": "boolean",
    "float": "Float64",
    "datetime": "datetime64[ns, UTC]",
}


@dataclass(frozen=True)
class Column:
    """One output column: its snake_case name, the dotted JSON path, and its kind."""

    name: str
    path: str
    kind: str


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


def _convert(values: list[Any], kind: str) -> Any:
    """Typed array for one column; pandas' own converters first, per-value fallbacks after."""
    if kind in ("id", "str"):
        try:  # the fast path: Arrow converts a list of str/None in C
            return pd.array(pa.array(values, type=pa.large_string()), dtype="string")
        except (pa.ArrowException, TypeError, ValueError):
            pass
        try:  # ints (Brightspace ids) become their decimal text here
            return pd.array(values, dtype="string")
        except (TypeError, ValueError):
            return pd.array([None if v is None else _as_text(v) for v in values], dtype="string")
    if kind == "int":
        try:
            return pd.array(values, dtype="Int64")
        except (TypeError, ValueError):
            return pd.array([_as_int(v) for v in values], dtype="Int64")
    if kind == "float":
        try:
            return pd.array(values, dtype="Float64")
        except (TypeError, ValueError):
            return pd.array([_as_float(v) for v in values], dtype="Float64")
    if kind == "bool":
        try:
            return pd.array(values, dtype="boolean")
        except (TypeError, ValueError):
            return pd.array([v if isinstance(v, bool) else None for v in values], dtype="boolean")
    if kind == "datetime":
        series = pd.to_datetime(
            pd.Series(values, dtype="object"), utc=True, format="ISO8601", errors="coerce"
        )
        return series.astype("datetime64[ns, UTC]").array
    raise ValueError(f"unknown column kind {kind!r}")


def _as_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _as_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if math.isnan(number):
        return None
    return math.floor(number + 0.5)


def _as_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def frame(
    records: Sequence[Any],
    columns: Sequence[Column],
    *,
    extra: dict[str, tuple[str, Iterable[Any]]] | None = None,
) -> pd.DataFrame:
    """Build a typed frame; ``extra`` adds columns (name → (kind, values)) before the mapped ones.

    An empty list gives an empty frame with the same columns and dtypes.
    """
    data: dict[str, Any] = {}
    for name, (kind, values) in (extra or {}).items():
        data[name] = _convert(list(values), kind)
    for column in columns:
        data[column.name] = _convert(extract(records, column.path), column.kind)
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
