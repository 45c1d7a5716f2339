"""Stage 7, status (§6.7): each person's status at ``as_of``, and the one-line Reason a
manager can read.

The first that applies: ``Exempt`` (the roster says so) → ``Not required`` (requirement 0) →
``Compliant`` (counted ≥ required, structured ≥ structured required, every category minimum
met) → ``Non-compliant`` (not compliant and the window has ended: window end ≤ as_of) →
``On track`` (counted ≥ required × elapsed and structured ≥ structured required × elapsed)
→ ``At risk``. Elapsed = (as_of − window start + 1 day) ÷ window days, at most 1.

Shortfall = max(0, required − counted); Progress % = counted ÷ required × 100, one decimal,
half up. For Exempt and Not required, required, structured required and shortfall are 0 and
progress is blank. Counted, structured and pending minutes are whole minutes (half up).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from reconcile.engine.rules import Rules
from reconcile.engine.text import given, round_half_up, whole_minutes

STATUSES = ("Compliant", "On track", "At risk", "Non-compliant", "Not required", "Exempt")


def assess(people: pd.DataFrame, minimum_notes: pd.Series, rules: Rules) -> pd.DataFrame:
    """``people`` with their whole-minute figures, ``status``, ``shortfall``, ``progress``
    and ``reason``. ``minimum_notes``: per person, the unmet category minimums ("" for none)."""
    people = people.assign(
        counted=whole_minutes(people["counted"]),
        structured=whole_minutes(people["structured"]),
        pending=whole_minutes(people["pending"]),
        capped=whole_minutes(people["capped"]),
        full_required=whole_minutes(people["full_required"]),
    )
    status = statuses(people, minimums_met=(minimum_notes == "").to_numpy())
    no_figure = np.isin(status, ["Exempt", "Not required"])
    required = np.where(no_figure, 0, people["required"])
    people = people.assign(
        status=pd.Categorical(status, categories=STATUSES),
        required=required,
        structured_required=np.where(no_figure, 0, people["structured_required"]),
        shortfall=np.maximum(required - people["counted"], 0),
        progress=progress(people["counted"].to_numpy(), required, no_figure),
        minimum_notes=minimum_notes.to_numpy(),
    )
    return people.assign(reason=reasons(people, rules))


def statuses(people: pd.DataFrame, minimums_met: np.ndarray) -> np.ndarray:
    """The status of each person; the first rule that applies wins (Exempt first)."""
    required, structured_required = people["required"], people["structured_required"]
    counted, structured, elapsed = people["counted"], people["structured"], people["elapsed"]
    compliant = (counted >= required) & (structured >= structured_required) & minimums_met
    on_track = (counted >= required * elapsed - 1e-9) & (
        structured >= structured_required * elapsed - 1e-9
    )
    return np.select(
        [people["exempt"], required <= 0, compliant, people["window_ended"], on_track],
        ["Exempt", "Not required", "Compliant", "Non-compliant", "On track"],
        default="At risk",
    )


def progress(counted: np.ndarray, required: np.ndarray, blank: np.ndarray) -> np.ndarray:
    """counted ÷ required × 100, one decimal, half up; NaN (blank) where it means nothing."""
    with np.errstate(divide="ignore", invalid="ignore"):
        value = round_half_up(counted / np.where(required > 0, required, np.nan) * 100, 1)
    return np.where(blank, np.nan, value)


class Figures(NamedTuple):
    """What a person's Reason reads (one row of the people frame)."""

    status: str
    exempt_reason: Any  #: text, or missing
    requirement_basis: str  #: audience / target / none
    employed_days: int
    counted: int
    required: int
    full_required: int
    structured: int
    structured_required: int
    shortfall: int
    minimum_notes: str  #: the unmet category minimums, "" for none
    capped: int
    pending: int
    joined: str  #: "1 Mar" when the person joined inside the period, else ""
    left: str  #: "30 Sep" when the person left inside the period, else ""
    fte: float  #: NaN: full time


def reasons(people: pd.DataFrame, rules: Rules) -> pd.Series:
    """Each person's Reason (see :func:`reason`)."""
    start, leave = people["start_date"], people["leave_date"]
    dates = {
        "joined": _days(start.where(start > pd.Timestamp(rules.period_start))),
        "left": _days(leave.where(leave < pd.Timestamp(rules.period_end))),
    }
    columns = [dates[f] if f in dates else people[f].tolist() for f in Figures._fields]
    rows = zip(*columns, strict=True)
    return pd.Series(
        [reason(Figures(*row), rules) for row in rows], index=people.index, dtype="str"
    )


def reason(p: Figures, rules: Rules) -> str:
    """One line explaining a person's figure, e.g. "1,020 of 1,200 min (pro-rated from 1,460:
    joined 1 Mar); 180 min short; structured 200 of 300 min; category minimum not met: Ethics
    30 of 60 min; 60 min over category caps; 45 min pending approval". Each clause only when
    it applies."""
    if p.status == "Exempt":
        return f"Exempt: {p.exempt_reason}" if given(p.exempt_reason) else "Exempt (roster)"
    if p.status == "Not required":
        if p.employed_days == 0:
            line = "No requirement: not employed during the period"
        elif p.requirement_basis == "none":
            line = "No requirement: no audience with a CPD requirement and no Brightspace target"
        else:
            line = "No requirement: the requirement pro-rates to 0 min"
        return line + (f"; {p.counted:,} min logged" if p.counted > 0 else "")
    line = f"{p.counted:,} of {p.required:,} min"
    if rules.prorate and p.full_required != p.required:
        basis = ", ".join(_employment(p))
        line += f" (pro-rated from {p.full_required:,}" + (f": {basis})" if basis else ")")
    line += f"; {p.shortfall:,} min short" if p.shortfall > 0 else "; requirement met"
    if p.structured_required > 0:
        line += f"; structured {p.structured:,} of {p.structured_required:,} min"
    if p.minimum_notes:
        line += f"; {p.minimum_notes}"
    if p.capped > 0:
        line += f"; {p.capped:,} min over category caps"
    if p.pending > 0:
        line += f"; {p.pending:,} min pending approval"
    return line


def _employment(p: Figures) -> list[str]:
    """Why the requirement is pro-rated: joined or left inside the period, part-time."""
    parts = [f"joined {p.joined}"] if p.joined else []
    if p.left:
        parts.append(f"left {p.left}")
    fte = p.fte if given(p.fte) else 1.0
    if fte < 1:
        parts.append(f"{fte:g} FTE")
    return parts


def _days(dates: pd.Series) -> list[str]:
    """Each date as '1 Mar' ("" for none), formatted once per distinct date: the period is at
    most a year or so, the year would be noise."""
    codes, days = pd.factorize(dates)
    text = [f"{day.day} {day:%b}" for day in days] + [""]
    return [text[code] for code in codes]
