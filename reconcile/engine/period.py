"""Rule 2: local dates, and each person's window within the period.

Timestamps are UTC instants; the organisation's timezone turns each into the calendar date a
person would write down, and that date decides the period (inclusive at both ends).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from reconcile.engine.rules import Rules

DAY = np.timedelta64(1, "D")


def local_dates(instants: pd.Series, given: pd.Series | None, timezone: str) -> pd.Series:
    """Local calendar date (naive midnight, datetime64[us]) of each UTC instant.

    ``given`` holds dates that are already local (typed in a spreadsheet); they win.
    """
    local = instants.dt.tz_convert(timezone).dt.tz_localize(None).dt.normalize()
    local = local.astype("datetime64[us]")
    if given is not None:
        local = given.astype("datetime64[us]").fillna(local)
    return local


def as_datetime(day: dt.date) -> np.datetime64:
    return np.datetime64(day, "us")


def windows(people: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """Each person's window: the period cut to start and leave dates.

    ``employed_days`` is 0 when the window is empty (left before, or joined after, the period).
    ``elapsed`` = (as_of − window start + 1 day) ÷ window days, clipped to [0, 1].
    """
    start = as_datetime(rules.period_start)
    end = as_datetime(rules.period_end)
    w_start = people["start_date"].astype("datetime64[us]").fillna(start).clip(lower=start)
    w_end = people["leave_date"].astype("datetime64[us]").fillna(end).clip(upper=end)
    days = ((w_end - w_start) / DAY).to_numpy(dtype="float64") + 1
    days = np.maximum(days, 0)
    as_of = as_datetime(rules.as_of)
    elapsed_days = ((as_of - w_start) / DAY).to_numpy(dtype="float64") + 1
    with np.errstate(divide="ignore", invalid="ignore"):
        elapsed = np.where(days > 0, np.clip(elapsed_days / np.maximum(days, 1), 0, 1), 1.0)
    return pd.DataFrame(
        {
            "window_start": w_start.to_numpy(),
            "window_end": w_end.to_numpy(),
            "employed_days": days.astype(np.int64),
            "elapsed": elapsed,
            "window_ended": (w_end <= as_of).to_numpy(),
        }
    )
