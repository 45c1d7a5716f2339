"""Exception rows (type, severity, person, system, record, minutes, detail) and severities.

Severity says what a reader must do: ``error`` — minutes are wrong or missing until someone
fixes data; ``warning`` — counted, but worth a look; ``info`` — for the record.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from reconcile.engine.text import round_half_up

SEVERITY = MappingProxyType(
    {
        "unmatched_account": "error",
        "ambiguous_match": "error",
        "failed_course_logged": "error",
        "platform_total_mismatch": "error",
        "implausible_minutes": "warning",
        "duplicate_activity": "warning",
        "unverified_claim": "warning",
        "unlogged_completion": "warning",
        "future_dated": "info",
        "input_issue": "warning",
    }
)
TYPES = tuple(SEVERITY)
COLUMNS = ("type", "severity", "employee_id", "system", "record_id", "minutes", "detail")
_SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}


def rows(
    kind: str,
    *,
    employee_id: pd.Series | np.ndarray | None,
    system: pd.Series | np.ndarray | str | None,
    record_id: pd.Series | np.ndarray | None,
    minutes: pd.Series | np.ndarray | None,
    detail: pd.Series | np.ndarray,
) -> pd.DataFrame:
    """A block of exceptions of one type; every argument aligned (or a scalar)."""
    n = len(detail)

    def col(values, dtype="str"):
        if values is None:
            return pd.Series([np.nan] * n, dtype=dtype)
        if isinstance(values, str):
            return pd.Series([values] * n, dtype=dtype)
        if isinstance(values, pd.Series | pd.Categorical):
            return pd.Series(values).astype(dtype).reset_index(drop=True)
        return pd.Series(np.asarray(values, dtype=object), dtype=dtype)

    mins = None if minutes is None else round_half_up(np.asarray(minutes, dtype="float64"))
    return pd.DataFrame(
        {
            "type": pd.Series([kind] * n, dtype="str"),
            "severity": pd.Series([SEVERITY.get(kind, "warning")] * n, dtype="str"),
            "employee_id": col(employee_id),
            "system": col(system),
            "record_id": col(record_id),
            "minutes": pd.array(mins, dtype="Int64")
            if mins is not None
            else pd.array([pd.NA] * n, dtype="Int64"),
            "detail": col(detail),
        }
    )


def combine(blocks: list[pd.DataFrame]) -> pd.DataFrame:
    """All exceptions, ordered by severity, type, person, system, record: deterministic."""
    blocks = [b for b in blocks if len(b)]
    if not blocks:
        return rows(
            "input_issue",
            employee_id=None,
            system=None,
            record_id=None,
            minutes=None,
            detail=np.array([], dtype=object),
        )
    out = pd.concat(blocks, ignore_index=True)
    order = np.lexsort(
        [
            _codes(out["record_id"]),
            _codes(out["system"]),
            _codes(out["employee_id"]),
            _looked_up(out["type"], {t: i for i, t in enumerate(TYPES)}, len(TYPES)),
            _looked_up(out["severity"], _SEVERITY_RANK, len(_SEVERITY_RANK)),
        ]
    )
    return pd.DataFrame({c: _taken(out[c], order) for c in out.columns})


def _taken(values: pd.Series, order: np.ndarray) -> pd.Series:
    """values in ``order`` as a fresh positional Series.

    Arrow strings are gathered from one contiguous array: after the concat of several blocks
    the column is chunked, and Arrow's take over chunks is about three times slower.
    """
    arr = getattr(values.array, "_pa_array", None)
    if isinstance(arr, pa.ChunkedArray) and values.dtype == "str":
        return pd.Series(arr.combine_chunks().take(order), dtype=values.dtype)
    return values.iloc[order].reset_index(drop=True)


def _codes(values: pd.Series) -> np.ndarray:
    """Sort rank of each value (missing last), cheaper than sorting strings row by row.

    Arrow strings are ranked by Arrow itself (several times faster than a sorted factorize);
    both orders are by code point, so the result is the same.
    """
    arr = getattr(values.array, "_pa_array", None)
    if arr is not None and (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        rank = pc.rank(arr, sort_keys="ascending", tiebreaker="dense")  # nulls last
        return rank.to_numpy().astype(np.int64)
    codes, _ = pd.factorize(values, sort=True)
    return np.where(codes < 0, np.iinfo(np.int64).max, codes)


def _looked_up(values: pd.Series, order: dict[str, int], missing: int) -> np.ndarray:
    """order[value] per row (``missing`` for unknown values), looked up once per distinct value."""
    codes, uniques = pd.factorize(values)
    ranks = np.array([order.get(u, missing) for u in uniques] + [missing], dtype=np.int64)
    return ranks[codes]
