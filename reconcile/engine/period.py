"""Stage 2, period (§6.2): local dates, and each person's window within the period.

Timestamps are UTC instants; the organisation's timezone turns each into the calendar date a
person would write down, and that date decides the period (inclusive at both ends). A date
typed in a spreadsheet is already local and is taken as written.

A person's window is the period cut to their start and leave dates: it decides how much of a
requirement they owe (§6.3) and how far through it they should be (§6.7).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from reconcile.engine.rules import Rules

DAY = np.timedelta64(1, "D")


def local_dates(instants: pd.Series, given: pd.Series | None, timezone: str) -> pd.Series:
    """Local calendar date (naive midnight, ``datetime64[us]``) of each UTC instant; a date
    in ``given`` (already local) wins."""
    local = instants.dt.tz_convert(timezone).dt.tz_localize(None).dt.normalize()
    local = local.astype("datetime64[us]")
    if given is not None:
        local = given.astype("datetime64[us]").fillna(local)
    return local


def dated(records: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """``records`` with the ``local_date`` of each (a date already local, typed in a
    spreadsheet, is kept)."""
    given = records.get("local_date")
    return records.assign(local_date=local_dates(records["completed_at"], given, rules.timezone))


def as_datetime(day: dt.date) -> np.datetime64:
    return np.datetime64(day, "us")


def in_period(local_date: pd.Series, rules: Rules) -> np.ndarray:
    """True where the local date is inside the period (a missing date is not)."""
    date = local_date.to_numpy()
    return (date >= as_datetime(rules.period_start)) & (date <= as_datetime(rules.period_end))


def windows(people: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """``people`` with each person's window: ``window_start``, ``window_end``,
    ``employed_days`` (0 when the window is empty: left before, or joined after, the period),
    ``elapsed`` ((as_of − window start + 1 day) ÷ window days, within [0, 1]) and
    ``window_ended`` (window end ≤ as_of)."""
    start, end = pd.Timestamp(rules.period_start), pd.Timestamp(rules.period_end)
    as_of = pd.Timestamp(rules.as_of)
    joined = people["start_date"].astype("datetime64[us]").fillna(start)
    left = people["leave_date"].astype("datetime64[us]").fillna(end)
    window_start = joined.where(joined > start, start)
    window_end = left.where(left < end, end)
    days = np.maximum(((window_end - window_start) / DAY).to_numpy(dtype="float64") + 1, 0)
    days_in = ((as_of - window_start) / DAY).to_numpy(dtype="float64") + 1
    elapsed = np.where(days > 0, np.clip(days_in / np.maximum(days, 1), 0, 1), 1.0)
    return people.assign(
        window_start=window_start.to_numpy(),
        window_end=window_end.to_numpy(),
        employed_days=days.astype(np.int64),
        elapsed=elapsed,
        window_ended=(window_end <= as_of).to_numpy(),
    )
