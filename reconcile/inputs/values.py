"""Turn raw cells into typed columns, vectorised, saying which cells could not be read.

Each parser takes a raw column (object cells from a workbook, or text from a CSV; blanks are
already missing) and returns the typed column plus a mask or codes of the bad cells, so the
caller turns problems into issue rows in one batch. No parser guesses: a date that could be
read two ways, or a number with a thousands separator, is reported, not interpreted.
"""

from __future__ import annotations

import datetime as dt

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
    return emails.str.strip().str.casefold()


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
    lowered = text.astype("str").str.lower()  # cells arrive trimmed
    yes = lowered.isin([k for k, v in _YES_NO.items() if v]).to_numpy(dtype=bool)
    no = lowered.isin([k for k, v in _YES_NO.items() if not v]).to_numpy(dtype=bool)
    bad = column.notna().to_numpy(dtype=bool) & ~yes & ~no
    result = pd.Series(pd.array(yes, dtype="boolean"), index=column.index)
    result[~yes & ~no] = pd.NA
    if blank is not None:
        result = result.fillna(blank).astype(bool)
    return result, bad


# --------------------------------------------------------------------------- dates

_DATE_PART = r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})"
_TIME_PART = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_ISO = r"(\d{4})-(\d{1,2})-(\d{1,2})" + _TIME_PART + r"(?:Z|[+-]\d{2}:?\d{2})?"
_SHORT_YEAR = r"\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2}" + _TIME_PART


def as_date(column: pd.Series, date_format: str) -> tuple[pd.Series, pd.Series]:
    """``datetime64[ns]`` dates (time dropped) and, per cell, ``""`` or the problem code.

    Real Excel dates come through as dates (calamine and openpyxl apply the 1900 or 1904
    system). Text is read as ISO ``yyyy-mm-dd`` or in ``date_format`` (``dd/mm/yyyy`` or
    ``mm/dd/yyyy``, with ``/``, ``-`` or ``.``); a two-digit year is ``ambiguous_date`` and
    anything else ``unparseable_date``. A bare number is refused: Excel shows it as a number,
    so nobody checked it as a date.
    """
    n = len(column)
    dates = pd.Series(pd.NaT, index=column.index, dtype="datetime64[ns]")
    codes = np.full(n, "", dtype=object)
    kind = _kind(column)
    if kind == "empty":
        return dates, pd.Series(codes, index=column.index)
    if kind in ("date", "datetime", "datetime64"):
        parsed = pd.to_datetime(column, errors="coerce")
        return _day(parsed), pd.Series(codes, index=column.index)
    if kind == "string":
        text = column
    else:
        is_date = column.map(
            lambda v: isinstance(v, (dt.date, pd.Timestamp)), na_action="ignore"
        ).fillna(False)
        is_date = is_date.to_numpy(dtype=bool)
        if is_date.any():
            dates[is_date] = _day(pd.to_datetime(column[is_date], errors="coerce"))
        text = column.where(~is_date).map(_cell_text, na_action="ignore").astype("str")
    present = text.notna().to_numpy() & dates.isna().to_numpy()
    if present.all():
        parsed, bad = _parse_text_dates(text, date_format)
        dates[:] = parsed
        codes[:] = bad
    elif present.any():
        parsed, bad = _parse_text_dates(text[present], date_format)
        dates[present] = parsed
        codes[present] = bad
    return dates, pd.Series(codes, index=column.index)


def _day(values: pd.Series) -> pd.Series:
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_localize(None)
    return values.dt.normalize().astype("datetime64[ns]")


def _parse_text_dates(text: pd.Series, date_format: str) -> tuple[np.ndarray, np.ndarray]:
    """Text cells (already trimmed by the reader) to dates, with a problem code per cell."""
    text = text.astype("str")
    out = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[ns]")
    # The common case first, with no Python per cell: fixed-width dd/mm/yyyy or yyyy-mm-dd.
    fast = _fixed_width_dates(text, date_format)
    done = ~np.isnat(fast)
    out[done] = fast[done]
    left = ~done & text.notna().to_numpy()
    if left.any():
        out[left] = _regex_dates(text[left], date_format)
    codes = np.where(np.isnat(out), "unparseable_date", "").astype(object)
    if left.any():
        short = full_match(text[left], _SHORT_YEAR)
        positions = np.flatnonzero(left)[short]
        codes[positions] = "ambiguous_date"
    return out, codes


def _fixed_width_dates(text: pd.Series, date_format: str) -> np.ndarray:
    """Parse every 10-character cell shaped like dd/mm/yyyy (or the configured order) or
    yyyy-mm-dd straight from the Arrow string buffer; NaT where the shape or date is wrong."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(text)
    out = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    array = _arrow_strings(text)
    ten = pc.fill_null(pc.equal(pc.utf8_length(array), 10), False)
    if not pc.any(ten).as_py():
        return out
    picked = pc.filter(array, ten)
    offsets_type = np.int64 if pa.types.is_large_string(picked.type) else np.int32
    offsets = np.frombuffer(picked.buffers()[1], dtype=offsets_type)
    offsets = offsets[picked.offset : picked.offset + len(picked) + 1]
    raw = np.frombuffer(picked.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    cells = raw.reshape(-1, 10)
    digits = cells.astype(np.int16) - 48
    is_digit = (digits >= 0) & (digits <= 9)

    def number(columns: list[int]) -> np.ndarray:
        value = np.zeros(len(cells), dtype=np.int32)
        for c in columns:
            value = value * 10 + digits[:, c]
        return value

    seps = cells[:, [2, 5]]
    separators = ((seps == 47) | (seps == 45) | (seps == 46)).all(axis=1)  # / - .
    local = separators & is_digit[:, [0, 1, 3, 4, 6, 7, 8, 9]].all(axis=1)
    iso = (cells[:, 4] == 45) & (cells[:, 7] == 45)
    iso &= is_digit[:, [0, 1, 2, 3, 5, 6, 8, 9]].all(axis=1)
    first, second = number([0, 1]), number([3, 4])
    day = np.where(iso, number([8, 9]), first if date_format != "mm/dd/yyyy" else second)
    month = np.where(iso, number([5, 6]), second if date_format != "mm/dd/yyyy" else first)
    year = np.where(iso, number([0, 1, 2, 3]), number([6, 7, 8, 9]))
    dates = _valid_dates(year, month, day, local | iso)
    out[np.flatnonzero(ten.to_numpy(zero_copy_only=False))] = dates
    return out


def _arrow_strings(text: pd.Series) -> object:
    """The column as one Arrow string array, without a round trip through Python objects."""
    import pyarrow as pa

    backing = getattr(text.array, "_pa_array", None)  # pandas' Arrow-backed "str" dtype
    if isinstance(backing, pa.ChunkedArray):
        return backing.combine_chunks()
    return pa.array(text.to_numpy(dtype=object), type=pa.string(), from_pandas=True)


def _valid_dates(
    year: np.ndarray, month: np.ndarray, day: np.ndarray, shaped: np.ndarray
) -> np.ndarray:
    """datetime64[ns] from parts, NaT where the parts are not a real calendar day."""
    ok = shaped & (year >= 1900) & (year <= 2199) & (month >= 1) & (month <= 12) & (day >= 1)
    safe_month = np.where(ok, month, 1)
    months = (np.where(ok, year, 1970) - 1970) * 12 + (safe_month - 1)
    start = months.astype("datetime64[M]")
    length = ((start + 1).astype("datetime64[D]") - start.astype("datetime64[D]")).astype(int)
    ok &= day <= length
    result = start.astype("datetime64[D]") + (np.where(ok, day, 1) - 1)
    result = result.astype("datetime64[ns]")
    result[~ok] = np.datetime64("NaT")
    return result


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
