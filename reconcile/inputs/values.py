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


def _all_missing(n: int) -> pd.Series:
    return pd.Series([None] * n, dtype="str")


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
    ok = emails.str.fullmatch(_EMAIL_PATTERN).fillna(False).to_numpy(dtype=bool)
    return present & ~ok


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
    lowered = text.astype("str").str.strip().str.lower()
    mapped = lowered.map(_YES_NO)
    bad = (column.notna() & mapped.isna()).to_numpy(dtype=bool)
    result = mapped.astype("boolean")
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
    if present.any():
        parsed, bad = _parse_text_dates(text[present], date_format)
        dates[present] = parsed
        codes[present] = bad
    return dates, pd.Series(codes, index=column.index)


def _day(values: pd.Series) -> pd.Series:
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_localize(None)
    return values.dt.normalize().astype("datetime64[ns]")


def _parse_text_dates(text: pd.Series, date_format: str) -> tuple[np.ndarray, np.ndarray]:
    text = text.str.strip()
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    # The common case first, in one C-level pass: plain ISO dates.
    quick = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    out[:] = quick.astype("datetime64[ns]")
    left = out.isna()
    if left.any():
        rest = text[left]
        iso = rest.str.extract(f"^{_ISO}$")
        local = rest.str.extract(f"^{_DATE_PART}{_TIME_PART}$")
        year = iso[0].fillna(local[2])
        if date_format == "mm/dd/yyyy":
            month, day = iso[1].fillna(local[0]), iso[2].fillna(local[1])
        else:
            month, day = iso[1].fillna(local[1]), iso[2].fillna(local[0])
        parts = pd.DataFrame(
            {
                "year": pd.to_numeric(year, errors="coerce"),
                "month": pd.to_numeric(month, errors="coerce"),
                "day": pd.to_numeric(day, errors="coerce"),
            }
        )
        has_parts = parts.notna().all(axis=1)
        built = pd.Series(pd.NaT, index=rest.index, dtype="datetime64[ns]")
        if has_parts.any():
            built[has_parts] = pd.to_datetime(parts[has_parts], errors="coerce").astype(
                "datetime64[ns]"
            )
        out[left] = built
    codes = np.where(out.isna().to_numpy(), "unparseable_date", "")
    short = text.str.fullmatch(_SHORT_YEAR).fillna(False).to_numpy(dtype=bool)
    codes = np.where(short, "ambiguous_date", codes).astype(object)
    return out.to_numpy(), codes


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
