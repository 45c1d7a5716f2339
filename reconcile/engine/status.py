"""Rule 7: status at ``as_of`` and the one-line Reason a manager can read."""

from __future__ import annotations

import numpy as np
import pandas as pd

from reconcile.engine.text import round_half_up

STATUSES = ("Compliant", "On track", "At risk", "Non-compliant", "Not required", "Exempt")


def statuses(
    exempt: np.ndarray,
    required: np.ndarray,
    structured_required: np.ndarray,
    counted: np.ndarray,
    structured: np.ndarray,
    minimums_met: np.ndarray,
    window_ended: np.ndarray,
    elapsed: np.ndarray,
) -> np.ndarray:
    """The status of each person; the first rule that applies wins (Exempt first)."""
    compliant = (counted >= required) & (structured >= structured_required) & minimums_met
    on_track = (counted >= required * elapsed - 1e-9) & (
        structured >= structured_required * elapsed - 1e-9
    )
    return np.select(
        [exempt, required <= 0, compliant, window_ended, on_track],
        ["Exempt", "Not required", "Compliant", "Non-compliant", "On track"],
        default="At risk",
    )


def progress(counted: np.ndarray, required: np.ndarray, blank: np.ndarray) -> np.ndarray:
    """counted ÷ required × 100, one decimal, half up; NaN (blank) where it means nothing."""
    with np.errstate(divide="ignore", invalid="ignore"):
        value = round_half_up(counted / np.where(required > 0, required, np.nan) * 100, 1)
    return np.where(blank, np.nan, value)


def _n(values) -> np.ndarray:
    """Whole minutes with thousands separators (1,020), formatted once per distinct value."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=np.int64))
    labels = np.array([f"{v:,}" for v in uniques], dtype=object)
    return labels[codes]


def _text(values) -> np.ndarray:
    """Plain Python strings in an object array ('' for missing): cheap to concatenate."""
    return pd.Series(values, dtype=object).fillna("").astype(object).to_numpy()


def _when(condition, text, otherwise="") -> np.ndarray:
    return np.where(condition, text, otherwise).astype(object)


def _day(dates: pd.Series) -> np.ndarray:
    """'1 Mar' (the period is at most a year or so; the year would be noise)."""
    codes, uniques = pd.factorize(dates)
    labels = np.array([f"{d.day} {d:%b}" for d in uniques] + [""], dtype=object)
    return labels[codes]


def reasons(frame: pd.DataFrame, category_notes: pd.Series) -> pd.Series:
    """One line per person explaining the figure.

    ``frame`` columns: status, exempt_reason, basis, employed_days, required, full_required,
    structured_required, counted, structured, shortfall, pending, capped, prorated,
    joined (date or NaT: start inside the period), left (leave inside the period), fte.
    ``category_notes``: per person, text about unmet category minimums (may be empty).
    Built on object arrays of Python strings: ten concatenations over 100,000 people.
    """
    status = frame["status"].to_numpy()
    joined, left = frame["joined"], frame["left"]
    fte = frame["fte"].fillna(1.0).to_numpy()
    fte_labels = np.array([f"{f:g} FTE" for f in fte], dtype=object) if len(fte) else fte
    parts = [
        _when(joined.notna().to_numpy(), "joined " + _day(joined)),
        _when(left.notna().to_numpy(), "left " + _day(left)),
        _when(fte < 1, fte_labels),
    ]
    basis = parts[0]
    for part in parts[1:]:
        basis = basis + _when((basis != "") & (part != ""), ", ") + part
    prorated = frame["prorated"].to_numpy() & (
        frame["full_required"].to_numpy() != frame["required"].to_numpy()
    )
    head = _n(frame["counted"]) + " of " + _n(frame["required"]) + " min"
    head = head + _when(
        prorated,
        " (pro-rated from " + _n(frame["full_required"]) + _when(basis != "", ": ") + basis + ")",
    )
    short = frame["shortfall"].to_numpy()
    head = head + _when(short > 0, "; " + _n(short) + " min short", "; requirement met")
    s_req = frame["structured_required"].to_numpy()
    head = head + _when(
        s_req > 0, "; structured " + _n(frame["structured"]) + " of " + _n(s_req) + " min"
    )
    notes = _text(category_notes)
    head = head + _when(notes != "", "; " + notes)
    capped = frame["capped"].to_numpy()
    head = head + _when(capped > 0, "; " + _n(capped) + " min over category caps")
    pending = frame["pending"].to_numpy()
    head = head + _when(pending > 0, "; " + _n(pending) + " min pending approval")
    exempt_reason = _text(frame["exempt_reason"])
    exempt_text = _when(exempt_reason != "", "Exempt: " + exempt_reason, "Exempt (roster)")
    none_text = np.select(
        [frame["employed_days"].to_numpy() == 0, frame["basis"].to_numpy() == "none"],
        [
            "No requirement: not employed during the period",
            "No requirement: no audience with a CPD requirement and no Brightspace target",
        ],
        default="No requirement: the requirement pro-rates to 0 min",
    ).astype(object)
    counted = frame["counted"].to_numpy()
    none_text = none_text + _when(counted > 0, "; " + _n(counted) + " min logged")
    out = np.where(
        status == "Exempt", exempt_text, np.where(status == "Not required", none_text, head)
    )
    return pd.Series(out, dtype="str")
