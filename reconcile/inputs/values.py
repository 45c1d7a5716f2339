"""Turn raw cells into typed columns, vectorised, saying which cells could not be read.

Each parser takes a raw column (object cells from a workbook, or text from a CSV; blanks are
already missing) and returns the typed column plus a mask or codes of the bad cells, so the
caller turns problems into issue rows in one batch. No parser guesses: a date that could be
read two ways, or a number with a thousands separator, is reported, not interpreted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

_INFER = pd.api.types.infer_dtype


def _kind(column: pd.Series) -> str:
    if isinstance(column.dtype, pd.StringDtype) or column.dtype == "str":
        return "string"
    return _INFER(column, skipna=True)


# --------------------------------------------------------------------------- text and ids


def as_text(column: pd.Series, padded: np.ndarray | None = None) -> pd.Series:
    """Cells as the text the user sees: 123.0 -> "123", padded 123 -> "000123", blank -> NA."""
    kind = _kind(column)
    if kind in ("string", "empty"):
        return column.astype("str") if kind == "string" else _all_missing(len(column))
    if kind in ("floating", "integer", "mixed-integer-float"):
        numbers = pd.to_numeric(column, errors="coerce")
        text = _number_text(numbers)
    else:
        text = column.map(_cell_text, na_action="ignore").astype("str")
    if padded is not None and len(padded):
        text = _apply_padding(column, text, padded)
    return text


def missing(n: int) -> pd.Series:
    """An absent column: ``n`` missing text cells, built without touching Python objects."""
    return _all_missing(n)


def _all_missing(n: int) -> pd.Series:
    try:
        import pyarrow as pa
    except ImportError:
        return pd.Series([None] * n, dtype="str")
    return pd.Series(pd.array(pa.nulls(n, pa.string()), dtype="str"))


def _number_text(numbers: pd.Series) -> pd.Series:
    values = numbers.to_numpy(dtype=float, na_value=np.nan)
    whole = np.isfinite(values) & (values == np.round(values))
    out = np.empty(len(values), dtype=object)
    out[:] = None
    out[whole] = values[whole].astype(np.int64).astype(str)
    other = np.isfinite(values) & ~whole
    out[other] = [repr(v) for v in values[other]]
    return pd.Series(out, index=numbers.index, dtype="str")


def _cell_text(value: object) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _apply_padding(raw: pd.Series, text: pd.Series, widths: np.ndarray) -> pd.Series:
    is_number = raw.map(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool))
    mask = is_number.to_numpy(dtype=bool) & (widths > 0)
    if not mask.any():
        return text
    padded = text.copy()
    positions = np.flatnonzero(mask)
    padded.iloc[positions] = [
        str(text.iloc[i]).zfill(int(widths[i])) for i in positions if isinstance(text.iloc[i], str)
    ]
    return padded


def email_key(emails: pd.Series) -> pd.Series:
    """Trimmed and case-folded: how e-mails are compared (shown as typed elsewhere)."""
    return casefold(emails.str.strip())


def casefold(text: pd.Series) -> pd.Series:
    """``str.casefold`` per cell; in Arrow when every cell is ASCII (where casefolding is
    plain lower-casing), since pandas casefolds Arrow strings one Python object at a time."""
    backing = getattr(text.array, "_pa_array", None)
    if backing is not None:
        import pyarrow.compute as pc

        if pc.all(pc.string_is_ascii(backing)).as_py() is not False:
            lowered = pc.ascii_lower(backing)
            return pd.Series(pd.array(lowered, dtype="str"), index=text.index, name=text.name)
    return text.str.casefold()


_EMAIL_PATTERN = r"[^@\s,;<>()\[\]]+@[^@\s,;<>()\[\]]+\.[^@\s,;<>()\[\].]{2,}"


def malformed_emails(emails: pd.Series) -> np.ndarray:
    """True where a present e-mail is not one address like name@example.org."""
    present = emails.notna().to_numpy()
    return present & ~full_match(emails, _EMAIL_PATTERN)


def full_match(text: pd.Series, pattern: str) -> np.ndarray:
    """Cells matching ``pattern`` whole, in Arrow's RE2 when the column is Arrow-backed."""
    backing = getattr(text.array, "_pa_array", None)
    if backing is not None:
        import pyarrow.compute as pc

        matched = pc.match_substring_regex(backing, f"^(?:{pattern})$")
        return pc.fill_null(matched, False).to_numpy(zero_copy_only=False).astype(bool)
    return text.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)


def is_in(text: pd.Series, allowed: Iterable[object]) -> np.ndarray:
    """Membership test; Arrow's hash lookup when the column is Arrow-backed (pandas' own
    ``isin`` on Arrow strings walks the allowed values in Python)."""
    backing = getattr(text.array, "_pa_array", None)
    if backing is not None:
        import pyarrow.compute as pc

        found = pc.is_in(backing, value_set=pc.drop_null(_arrow_value_set(allowed)))
        return pc.fill_null(found, False).to_numpy(zero_copy_only=False).astype(bool)
    return text.isin(list(allowed)).to_numpy(dtype=bool)


def _arrow_value_set(allowed: Iterable[object]) -> Any:
    import pyarrow as pa

    series = allowed if isinstance(allowed, (pd.Series, pd.Index)) else pd.Series(list(allowed))
    backing = getattr(series.array, "_pa_array", None)
    if isinstance(backing, pa.ChunkedArray) and (
        pa.types.is_string(backing.type) or pa.types.is_large_string(backing.type)
    ):
        return backing.combine_chunks().cast(pa.string())
    values = [v for v in series.to_numpy(dtype=object) if isinstance(v, str)]
    return pa.array(values, type=pa.string())


_DICTIONARY_MIN_ROWS = 4096


def distinct(text: pd.Series) -> tuple[pd.Series, np.ndarray] | None:
    """The distinct values of a long Arrow-backed text column and, per cell, the position of
    its value among them (-1 for blank); None when that would not save work.

    Why: dates, yes/no flags and categories repeat a handful of values over a million rows, so
    parsing each distinct value once and spreading the result with one numpy take is several
    times cheaper than parsing every cell. A column of mostly different values (timestamps,
    e-mails) is left to the per-cell path.
    """
    backing = getattr(text.array, "_pa_array", None)
    if backing is None or len(text) < _DICTIONARY_MIN_ROWS:
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(backing)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.unify_dictionaries().combine_chunks() if encoded.num_chunks else None
        if encoded is None:
            return None
    dictionary = encoded.dictionary
    if len(dictionary) * 2 > len(text):
        return None
    indices = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    values = pd.Series(pd.array(dictionary.cast(pa.string()), dtype="str"))
    return values, indices.astype(np.int64, copy=False)


def per_distinct(text: pd.Series, transform: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``transform(text)``, computed once per distinct value when the column repeats a few
    values (audience lists, categories) and spread back with one Arrow take."""
    found = distinct(text)
    if found is None:
        return transform(text)
    import pyarrow as pa
    import pyarrow.compute as pc

    values, indices = found
    done = transform(values).astype("str")
    backing = done.array._pa_array.combine_chunks()  # type: ignore[attr-defined]
    taken = pc.take(backing, pa.array(indices, mask=indices < 0))
    return pd.Series(pd.array(taken, dtype="str"), index=text.index)


def spread(per_value: np.ndarray, indices: np.ndarray, blank: object) -> np.ndarray:
    """``per_value[indices]`` with ``blank`` where the index is -1 (a missing cell)."""
    if not len(per_value):
        return np.full(len(indices), blank, dtype=per_value.dtype)
    if not len(indices) or indices.min() >= 0:
        return per_value.take(indices)  # no blank cell: one take, no masking passes
    out = per_value[np.maximum(indices, 0)]
    out[indices < 0] = blank
    return out


def replace(text: pd.Series, pattern: str, replacement: str) -> pd.Series:
    """Regex replace, in Arrow's RE2 when the column is Arrow-backed (no Python per cell)."""
    backing = getattr(text.array, "_pa_array", None)
    if backing is not None:
        import pyarrow.compute as pc

        replaced = pc.replace_substring_regex(backing, pattern, replacement)
        return pd.Series(pd.array(replaced, dtype="str"), index=text.index)
    return text.str.replace(pattern, replacement, regex=True)


# --------------------------------------------------------------------------- numbers


def as_number(column: pd.Series, *, decimal_comma: bool = False) -> tuple[pd.Series, np.ndarray]:
    """Float values and a mask of present cells that are not numbers."""
    kind = _kind(column)
    if kind in ("floating", "integer", "mixed-integer-float", "empty"):
        values = pd.to_numeric(column, errors="coerce").astype("float64")
        return values, np.zeros(len(column), dtype=bool)
    text = column.astype("str") if kind == "string" else as_text(column)
    text = text.str.strip()
    if decimal_comma:
        text = text.str.replace(",", ".", regex=False)
    values = pd.to_numeric(text, errors="coerce").astype("float64")
    bad = (column.notna() & values.isna()).to_numpy(dtype=bool)
    return values, bad


# --------------------------------------------------------------------------- yes / no

_YES_NO = {
    "yes": True,
    "y": True,
    "true": True,
    "1": True,
    "1.0": True,
    "x": True,
    "no": False,
    "n": False,
    "false": False,
    "0": False,
    "0.0": False,
}


def as_yes_no(column: pd.Series, *, blank: bool | None) -> tuple[pd.Series, np.ndarray]:
    """Booleans (nullable when ``blank`` is None) and a mask of cells that are not yes/no."""
    text = column.map(_cell_text, na_action="ignore") if _kind(column) != "string" else column
    text = text.astype("str")
    found = distinct(text)
    if found is not None:
        values, indices = found
        yes_per, no_per = _yes_no_masks(values)
        yes, no = spread(yes_per, indices, False), spread(no_per, indices, False)
    else:
        yes, no = _yes_no_masks(text)
    neither = ~yes & ~no
    bad = column.notna().to_numpy(dtype=bool) & neither
    if blank is not None:
        flags = np.where(neither, blank, yes)
        return pd.Series(flags, index=column.index, dtype=bool), bad
    result = pd.Series(pd.arrays.BooleanArray(yes, neither.copy()), index=column.index)
    return result, bad


def _yes_no_masks(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    lowered = text.str.lower()  # cells arrive trimmed
    yes = is_in(lowered, [k for k, v in _YES_NO.items() if v])
    no = is_in(lowered, [k for k, v in _YES_NO.items() if not v])
    return yes, no


# --------------------------------------------------------------------------- dates

_DATE_PART = r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})"
_TIME_PART = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_ISO = r"(\d{4})-(\d{1,2})-(\d{1,2})" + _TIME_PART + r"(?:Z|[+-]\d{2}:?\d{2})?"
_SHORT_YEAR = r"\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2}" + _TIME_PART


_CODE_NAMES = np.array(["", "unparseable_date", "ambiguous_date"], dtype=object)
_NAT = np.iinfo(np.int64).min


def as_date(column: pd.Series, date_format: str) -> tuple[pd.Series, pd.Series]:
    """``datetime64[ns]`` dates (time dropped) and, per cell, ``""`` or the problem code.

    Real Excel dates come through as dates (calamine and openpyxl apply the 1900 or 1904
    system). Text is read as ISO ``yyyy-mm-dd`` or in ``date_format`` (``dd/mm/yyyy`` or
    ``mm/dd/yyyy``, with ``/``, ``-`` or ``.``); a two-digit year is ``ambiguous_date`` and
    anything else ``unparseable_date``. A bare number is refused: Excel shows it as a number,
    so nobody checked it as a date.
    """
    nanos, codes = date_cells(column, date_format)
    dates = pd.Series(nanos.view("datetime64[ns]"), index=column.index)
    return dates, pd.Series(_CODE_NAMES[codes], index=column.index)


def date_cells(column: pd.Series, date_format: str) -> tuple[np.ndarray, np.ndarray]:
    """int64 nanoseconds since 1970 (NaT's value when none) and int8 codes (0 ok, 1
    unparseable, 2 ambiguous): the array form :func:`as_date` and the validators share."""
    n = len(column)
    nanos = np.full(n, _NAT, dtype=np.int64)
    codes = np.zeros(n, dtype=np.int8)
    kind = _kind(column)
    if kind == "empty":
        return nanos, codes
    if kind in ("date", "datetime", "datetime64"):
        return _day(pd.to_datetime(column, errors="coerce")), codes
    if kind == "string":
        text = column
    else:
        is_date = (
            column.map(lambda v: isinstance(v, (dt.date, pd.Timestamp)), na_action="ignore")
            .fillna(False)
            .to_numpy(dtype=bool)
        )
        if is_date.any():
            nanos[is_date] = _day(pd.to_datetime(column[is_date], errors="coerce"))
        text = column.where(~is_date).map(_cell_text, na_action="ignore").astype("str")
    if kind == "string":
        found = distinct(text)
        if found is not None:
            values, indices = found
            nanos_per, codes_per = _parse_text_dates(values, date_format)
            return spread(nanos_per, indices, _NAT), spread(codes_per, indices, 0)
    present = text.notna().to_numpy() & (nanos == _NAT)
    if present.all():
        nanos, codes = _parse_text_dates(text, date_format)
    elif present.any():
        parsed, bad = _parse_text_dates(text[present], date_format)
        nanos[present] = parsed
        codes[present] = bad
    return nanos, codes


def _day(values: pd.Series) -> np.ndarray:
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_localize(None)
    day = values.dt.normalize().astype("datetime64[ns]").to_numpy()
    return day.view(np.int64).copy()


def _parse_text_dates(text: pd.Series, date_format: str) -> tuple[np.ndarray, np.ndarray]:
    """Text cells (already trimmed by the reader) to int64 nanoseconds and int8 codes."""
    text = text.astype("str")
    # The common case first, with no Python per cell: fixed-width dd/mm/yyyy or yyyy-mm-dd.
    nanos = _fixed_width_dates(text, date_format)
    left = (nanos == _NAT) & text.notna().to_numpy()
    if left.any():
        nanos[left] = _regex_dates(text[left], date_format)
    codes = (nanos == _NAT).astype(np.int8)
    if left.any():
        short = full_match(text[left], _SHORT_YEAR)
        codes[np.flatnonzero(left)[short]] = 2
    return nanos, codes


def _fixed_width_dates(text: pd.Series, date_format: str) -> np.ndarray:
    """Parse every 10-character cell shaped like dd/mm/yyyy (or the configured order) or
    yyyy-mm-dd straight from the Arrow string buffers; NaT where the shape or date is wrong."""
    import pyarrow as pa

    backing = getattr(text.array, "_pa_array", None)
    if not isinstance(backing, pa.ChunkedArray):
        backing = pa.chunked_array(
            [pa.array(text.to_numpy(dtype=object), type=pa.string(), from_pandas=True)]
        )
    parts = [_fixed_width_chunk(chunk, date_format) for chunk in backing.chunks]
    if not parts:
        return np.full(len(text), _NAT, dtype=np.int64)
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def _fixed_width_chunk(chunk: Any, date_format: str) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(chunk)
    out = np.full(n, _NAT, dtype=np.int64)
    ten = pc.fill_null(pc.equal(pc.binary_length(chunk), 10), False)  # bytes: a cell of 10
    # characters, one of them not ASCII, is longer and is left to the regular expressions
    count = pc.sum(ten).as_py() or 0
    if not count:
        return out
    picked = chunk if count == n else pc.filter(chunk, ten)
    offsets_type = np.int64 if pa.types.is_large_string(picked.type) else np.int32
    offsets = np.frombuffer(picked.buffers()[1], dtype=offsets_type)
    offsets = offsets[picked.offset : picked.offset + len(picked) + 1]
    raw = np.frombuffer(picked.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    cells = raw.reshape(-1, 10)
    digits = cells.astype(np.int32) - 48
    is_digit = (digits >= 0) & (digits <= 9)

    def number(columns: list[int]) -> np.ndarray:
        value = digits[:, columns[0]].copy()
        for c in columns[1:]:
            value = value * 10 + digits[:, c]
        return value

    seps = cells[:, [2, 5]]
    local = ((seps == 47) | (seps == 45) | (seps == 46)).all(axis=1)  # / - .
    local &= is_digit[:, [0, 1, 3, 4, 6, 7, 8, 9]].all(axis=1)
    iso = (cells[:, 4] == 45) & (cells[:, 7] == 45)
    iso &= is_digit[:, [0, 1, 2, 3, 5, 6, 8, 9]].all(axis=1)
    first, second = number([0, 1]), number([3, 4])
    american = date_format == "mm/dd/yyyy"
    day = np.where(iso, number([8, 9]), second if american else first)
    month = np.where(iso, number([5, 6]), first if american else second)
    year = np.where(iso, number([0, 1, 2, 3]), number([6, 7, 8, 9]))
    parsed = _valid_dates(year, month, day, local | iso)
    if count == n:
        return parsed
    out[np.flatnonzero(ten.to_numpy(zero_copy_only=False))] = parsed
    return out


_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
_DAY_NANOS = 86_400 * 1_000_000_000


def _valid_dates(
    year: np.ndarray, month: np.ndarray, day: np.ndarray, shaped: np.ndarray
) -> np.ndarray:
    """int64 nanoseconds from parts; NaT's value where the parts are not a real calendar day.

    Pure integer arithmetic (days from the civil calendar, proleptic Gregorian), so a million
    dates cost a few numpy passes.
    """
    year = year.astype(np.int64)
    month = month.astype(np.int64)
    day = day.astype(np.int64)
    ok = shaped & (year >= 1900) & (year <= 2199) & (month >= 1) & (month <= 12) & (day >= 1)
    safe_month = np.where(ok, month, 1)
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    length = _DAYS_IN_MONTH[safe_month] + ((safe_month == 2) & leap)
    ok &= day <= length
    # days since 1970-01-01 (the "days from civil" algorithm)
    y = np.where(safe_month <= 2, year - 1, year)
    era = y // 400
    yoe = y - era * 400
    mp = (safe_month + 9) % 12
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    return np.where(ok, days * _DAY_NANOS, _NAT)


def _regex_dates(text: pd.Series, date_format: str) -> np.ndarray:
    """The rest: d/m/yyyy with one-digit parts, times after the date, ISO with a time."""
    iso = text.str.extract(f"^{_ISO}$")
    local = text.str.extract(f"^{_DATE_PART}{_TIME_PART}$")
    year = iso[0].fillna(local[2])
    if date_format == "mm/dd/yyyy":
        month, day = iso[1].fillna(local[0]), iso[2].fillna(local[1])
    else:
        month, day = iso[1].fillna(local[1]), iso[2].fillna(local[0])
    parts = [
        pd.to_numeric(v, errors="coerce").fillna(0).to_numpy(dtype=np.int64)
        for v in (year, month, day)
    ]
    shaped = (year.notna() & month.notna() & day.notna()).to_numpy(dtype=bool)
    return _valid_dates(parts[0], parts[1], parts[2], shaped)


def swapped_parse(value: str, date_format: str) -> bool:
    """Would ``value`` be a valid date in the *other* day/month order? (for the fix text)."""
    import re

    found = re.fullmatch(_DATE_PART + _TIME_PART, value.strip())
    if not found:
        return False
    a, b, year = (int(g) for g in found.groups()[:3])
    day, month = (a, b) if date_format == "mm/dd/yyyy" else (b, a)
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True
