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


def _n(values: np.ndarray) -> pd.Series:
    """Whole minutes with thousands separators: 1,020."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=np.int64))
    labels = np.array([f"{v:,}" for v in uniques], dtype=object)
    return pd.Series(labels[codes], dtype="str")


def _day(dates: pd.Series) -> pd.Series:
    """'1 Mar' (the period is at most a year or so; the year would be noise)."""
    return dates.dt.day.astype("Int64").astype("str") + " " + dates.dt.strftime("%b")


def reasons(frame: pd.DataFrame, category_notes: pd.Series) -> pd.Series:
    """One line per person explaining the figure.

    ``frame`` columns: status, exempt_reason, basis, employed_days, required, full_required,
    structured_required, counted, structured, shortfall, pending, capped, prorated,
    joined (date or NaT: start inside the period), left (leave inside the period), fte.
    ``category_notes``: per person, text about unmet category minimums (may be empty).
    """
    n = len(frame)
    status = frame["status"].to_numpy()
    empty = pd.Series([""] * n, dtype="str")
    why: list[pd.Series] = []
    joined = frame["joined"]
    left = frame["left"]
    fte = frame["fte"].fillna(1.0)
    basis_parts = [
        ("joined " + _day(joined)).where(joined.notna(), ""),
        ("left " + _day(left)).where(left.notna(), ""),
        (fte.map("{:g}".format) + " FTE").where(fte < 1, ""),
    ]
    basis = basis_parts[0]
    for part in basis_parts[1:]:
        basis = (basis + np.where((basis != "") & (part != ""), ", ", "") + part).astype("str")
    prorated = frame["prorated"].to_numpy() & (frame["full_required"] != frame["required"])
    head = _n(frame["counted"]) + " of " + _n(frame["required"]) + " min"
    head = head + np.where(
        prorated,
        " (pro-rated from "
        + _n(frame["full_required"])
        + np.where(basis != "", ": ", "")
        + basis
        + ")",
        "",
    )
    short = frame["shortfall"].to_numpy()
    head = head + np.where(short > 0, "; " + _n(short) + " min short", "; requirement met")
    s_req = frame["structured_required"].to_numpy()
    s_got = frame["structured"].to_numpy()
    head = head + np.where(
        s_req > 0,
        "; structured " + _n(s_got) + " of " + _n(s_req) + " min",
        "",
    )
    head = head + np.where(category_notes != "", "; " + category_notes, "")
    capped = frame["capped"].to_numpy()
    head = head + np.where(capped > 0, "; " + _n(capped) + " min over category caps", "")
    pending = frame["pending"].to_numpy()
    head = head + np.where(pending > 0, "; " + _n(pending) + " min pending approval", "")
    why.append(head)
    exempt_text = ("Exempt: " + frame["exempt_reason"].astype("str")).where(
        frame["exempt_reason"].notna() & (frame["exempt_reason"].astype("str") != ""),
        "Exempt (roster)",
    )
    none_text = np.select(
        [frame["employed_days"].to_numpy() == 0, frame["basis"].to_numpy() == "none"],
        [
            "No requirement: not employed during the period",
            "No requirement: no audience with a CPD requirement and no Brightspace target",
        ],
        default="No requirement: the requirement pro-rates to 0 min",
    )
    none_text = pd.Series(none_text, dtype="str") + np.where(
        frame["counted"].to_numpy() > 0, "; " + _n(frame["counted"]) + " min logged", ""
    )
    out = np.where(
        status == "Exempt", exempt_text, np.where(status == "Not required", none_text, head)
    )
    del empty
    return pd.Series(out, dtype="str")
