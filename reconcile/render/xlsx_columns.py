"""Turn engine frames into Excel-ready columns: plain Python values, one kind per column.

Why a separate step: XlsxWriter is fastest when it is handed plain ``str``/``int``/``float``
values, and every conversion Excel needs (UTC instants to local wall-clock time, dates to
serial numbers, float minutes to whole minutes, missing values to blanks) is done here once
per column with pandas/numpy instead of once per cell.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

Kind = Literal["text", "int", "float", "pct", "progress", "date", "datetime", "bool"]

#: Excel's day zero for the 1900 date system (serials from 61 on, i.e. all real dates).
_EXCEL_EPOCH = np.datetime64("1899-12-30T00:00:00", "us")
_DAY_US = 86_400_000_000
#: Rows looked at to fit a text column's width on very large sheets.
_WIDTH_SAMPLE = 50_000


@dataclass(frozen=True)
class Column:
    """One sheet column: its header, what kind of value it holds, and the source series.

    Values are converted block by block (:meth:`values`) so that millions of rows never exist
    as Python objects all at once.
    """

    header: str
    kind: Kind
    series: pd.Series
    timezone: str = "UTC"

    def __len__(self) -> int:
        return len(self.series)

    def values(self, start: int = 0, stop: int | None = None) -> list:
        """Rows ``start:stop`` as plain Python values, ``None`` for a blank cell."""
        return convert(self.kind, self.series.iloc[start:stop], self.timezone)


def _blank_where_missing(values: np.ndarray, missing: np.ndarray) -> list:
    if not missing.any():
        return values.tolist()
    out = values.astype(object)
    out[missing] = None
    return out.tolist()


def text(series: pd.Series) -> list:
    """Strings as written (never formulas: the workbook is opened with strings_to_formulas off)."""
    obj = series.astype(object)
    missing = pd.isna(obj).to_numpy()
    return _blank_where_missing(obj.astype(str).to_numpy(dtype=object), missing)


def integers(series: pd.Series) -> list:
    """Whole numbers, halves rounded up (minutes are shown as integers, §7)."""
    num = pd.to_numeric(series.astype(object), errors="coerce").to_numpy(dtype="float64")
    missing = np.isnan(num)
    return _blank_where_missing(np.floor(np.where(missing, 0, num) + 0.5).astype(np.int64), missing)


def floats(series: pd.Series, scale: float = 1.0) -> list:
    num = pd.to_numeric(series.astype(object), errors="coerce").to_numpy(dtype="float64") * scale
    missing = ~np.isfinite(num)
    return _blank_where_missing(num, missing)


def local_naive(series: pd.Series, timezone: str) -> pd.Series:
    """UTC (or any aware) instants as the organisation's wall-clock time, without a timezone.

    Excel cannot hold a timezone; a naive value in local time is what a reader expects.
    Naive input is taken as already local.
    """
    s = pd.to_datetime(series)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_convert(timezone).dt.tz_localize(None)
    return s


def serials(series: pd.Series, timezone: str, *, date_only: bool) -> list:
    """Excel serial day numbers (a real Excel date once the column's date format applies)."""
    s = local_naive(series, timezone)
    us = s.to_numpy(dtype="datetime64[us]")
    missing = np.isnat(us)
    if date_only:
        us = us.astype("datetime64[D]").astype("datetime64[us]")
    days = (us - _EXCEL_EPOCH).astype(np.int64) / _DAY_US
    return _blank_where_missing(days, missing)


def booleans(series: pd.Series) -> list:
    """Excel TRUE/FALSE: a native boolean is cheaper to write than a "Yes"/"No" string."""
    obj = series.astype(object)
    missing = pd.isna(obj).to_numpy()
    values = obj.where(~missing, False).astype(bool).to_numpy()
    return _blank_where_missing(values, missing)


def column(header: str, kind: Kind, series: pd.Series, timezone: str = "UTC") -> Column:
    """One column of the given kind over a frame column (converted lazily)."""
    return Column(header, kind, series.reset_index(drop=True), timezone)


def convert(kind: Kind, series: pd.Series, timezone: str) -> list:
    """A block of a frame column as the Python values XlsxWriter writes fastest."""
    if kind == "text":
        values = text(series)
    elif kind == "int":
        values = integers(series)
    elif kind in ("float", "progress", "pct"):
        values = floats(series)
    elif kind in ("date", "datetime"):
        values = serials(series, timezone, date_only=kind == "date")
    elif kind == "bool":
        values = booleans(series)
    else:  # pragma: no cover - Kind is closed
        raise ValueError(kind)
    return values


_FIXED_WIDTH = {"int": 10, "float": 10, "pct": 9, "progress": 9, "date": 11, "datetime": 17}


def fitted_width(col: Column) -> float:
    """Width in characters: the longest value (of a sample on huge sheets), 8 to 60."""
    longest = len(col.header)
    if col.kind in _FIXED_WIDTH:
        longest = max(longest, _FIXED_WIDTH[col.kind])
    else:
        sample = pd.Series(col.values(0, _WIDTH_SAMPLE), dtype=object).dropna()
        if len(sample):
            longest = max(longest, int(sample.astype(str).str.len().max()))
    return float(min(60, max(8, longest + 2)))


def to_local(value: dt.datetime | str | None, timezone: str) -> dt.datetime | None:
    """One instant as a naive local datetime (for ``Pulled at``)."""
    if value is None or value == "":
        return None
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert(timezone).tz_localize(None)
    return ts.to_pydatetime()
