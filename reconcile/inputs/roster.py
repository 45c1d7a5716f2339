"""The roster: one row per person, checked rule by rule, into the canonical ``people`` frame.

Every rule looks at whole columns at once (masks, ``duplicated``, index lookups), so a
100,000-person roster validates in well under a second. The manager-loop check walks the
manager chain by pointer doubling (log2(n) vectorised steps) instead of following each
person's chain in Python.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from reconcile.inputs.tables import Checked

COLUMNS = (
    "employee_id",
    "name",
    "first_name",
    "last_name",
    "email",
    "email_key",
    "department",
    "manager_id",
    "audiences",
    "start_date",
    "leave_date",
    "fte",
    "exempt",
    "exempt_reason",
    "thrive_id",
    "brightspace_id",
    "coursepath_id",
    "source_row",
)


def audience_key(names: pd.Series) -> pd.Series:
    """How audience names, references and ids are compared: trimmed, case-folded, runs of
    white space as one (as the engine does)."""
    return names.astype("str").str.strip().str.casefold().str.replace(r"\s+", " ", regex=True)


def validate(
    t: Checked,
    *,
    known_audiences: set[str] | None = None,
    period_start: dt.date | None = None,
) -> pd.DataFrame:
    """Check the roster and return the ``people`` frame (see docs/spreadsheets.md)."""
    if t.n == 0:
        t.issues.add(
            "no_rows",
            file=t.grid.file,
            sheet=t.grid.sheet,
            row=t.grid.header_row,
            problem="the roster has headers but no people",
            fix="add one row per person below the header row",
        )
    employee_id = _employee_ids(t)
    name, first, last = _names(t)
    email, key = _emails(t)
    manager_id = _managers(t, employee_id)
    audiences = _audiences(t, known_audiences)
    start, leave = _dates(t, period_start)
    columns = {
        "employee_id": employee_id,
        "name": name,
        "first_name": first,
        "last_name": last,
        "email": email,
        "email_key": key,
        "department": t.text("department"),
        "manager_id": manager_id,
        "audiences": audiences,
        "start_date": start,
        "leave_date": leave,
        "fte": _fte(t),
        "exempt": t.yes_no("exempt", blank=False),
        "exempt_reason": t.text("exempt_reason"),
        "thrive_id": t.text("thrive_id"),
        "brightspace_id": t.text("brightspace_id"),
        "coursepath_id": t.text("coursepath_id"),
        "source_row": t.grid.rows.astype("int64"),
    }
    # copy=False: the columns are fresh already, and copying them into blocks costs time
    return pd.DataFrame({name: columns[name] for name in COLUMNS}, copy=False)


def _employee_ids(t: Checked) -> pd.Series:
    ids = t.text("employee_id")
    t.flag(
        "blank_employee_id",
        ids.isna().to_numpy(),
        "employee_id",
        problem="no employee ID on this row",
        fix="type the person's employee ID, or delete the row if it is not a person",
    )
    t.duplicates(
        ids,
        "duplicate_employee_id",
        "employee_id",
        what="the same employee ID is",
        value=ids,
        fix="give each person their own ID; merge the rows if they are the same person",
    )
    return ids


def _names(t: Checked) -> tuple[pd.Series, pd.Series, pd.Series]:
    first, last = t.text("first_name"), t.text("last_name")
    if t.has("name"):
        name = t.text("name")
    else:
        joined = first.fillna("") + " " + last.fillna("")
        name = joined.str.strip()
        name = name.mask(name == "")
    column = "name" if t.has("name") else "last_name" if t.has("last_name") else "first_name"
    t.flag(
        "blank_name",
        name.isna().to_numpy(),
        column,
        problem="no name on this row",
        fix="type the person's name (it appears on reports and statements)",
    )
    return name, first, last


def _emails(t: Checked) -> tuple[pd.Series, pd.Series]:
    from reconcile.inputs.values import email_key, malformed_emails

    email = t.text("email")
    key = email_key(email)
    blank = email.isna().to_numpy()
    t.flag(
        "blank_email",
        blank,
        "email",
        problem="no e-mail address: this person can only be matched by ID",
        fix="type the person's work e-mail address",
    )
    bad = malformed_emails(email)
    t.flag(
        "malformed_email",
        bad,
        "email",
        problem="not a single e-mail address like name@example.org",
        fix="correct the address (one address per cell, no spaces or names)",
    )
    t.duplicates(
        key,
        "duplicate_email",
        "email",
        what="the same e-mail address (ignoring case and spaces) is",
        fix="each person needs their own e-mail address; fix the copy-paste",
        only=~bad,
    )
    return email, key


def _managers(t: Checked, employee_id: pd.Series) -> pd.Series:
    manager = t.text("manager_id")
    if not t.has("manager_id"):
        return manager
    position = _first_position(manager, employee_id)
    unknown = manager.notna().to_numpy() & (position < 0)
    t.flag(
        "unknown_manager",
        unknown,
        "manager_id",
        value=manager,
        problem="no one in the roster has this employee ID",
        fix="use the manager's employee ID from this roster, or leave it blank",
    )
    _manager_loops(t, employee_id, manager, position)
    return manager


def _first_position(keys: pd.Series, ids: pd.Series) -> np.ndarray:
    """For each key, the row position of the first equal id, or -1 (a hash lookup)."""
    key_arrow = getattr(keys.array, "_pa_array", None)
    id_arrow = getattr(ids.array, "_pa_array", None)
    if key_arrow is not None and id_arrow is not None:
        import pyarrow.compute as pc

        found = pc.index_in(key_arrow, value_set=id_arrow.combine_chunks(), skip_nulls=True)
        return pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    lookup = pd.Series(np.arange(len(ids)), index=pd.Index(ids))
    lookup = lookup[~lookup.index.duplicated(keep="first") & lookup.index.notna()]
    return lookup.reindex(keys.to_numpy()).fillna(-1).to_numpy().astype(np.int64)


def _manager_loops(
    t: Checked, employee_id: pd.Series, manager: pd.Series, position: np.ndarray
) -> None:
    """Warn on every person whose manager chain comes back to them."""
    valid_id = employee_id.notna().to_numpy()
    # person position -> their manager's position (first row holding that id), -1 for none
    nxt = np.array(position, dtype=np.int64)
    nxt[~valid_id] = -1
    jump = nxt.copy()
    steps = 1
    while steps < max(t.n, 1):
        safe = np.where(jump >= 0, jump, 0)
        jump = np.where(jump >= 0, jump[safe], -1)
        steps *= 2
    on_cycle_targets = np.unique(jump[jump >= 0])
    if not len(on_cycle_targets):
        return
    ids = employee_id.to_numpy(dtype=object)  # Python objects only when a loop is reported
    mask = np.zeros(t.n, dtype=bool)
    mask[on_cycle_targets] = True
    problem = pd.Series("", index=manager.index, dtype=object)
    for start in on_cycle_targets:
        chain, node = [str(ids[start])], int(nxt[start])
        while node != start and len(chain) <= t.n:
            chain.append(str(ids[node]))
            node = int(nxt[node])
        chain.append(str(ids[start]))
        problem.iloc[start] = "manager chain loops back: " + " → ".join(chain)
    t.flag(
        "manager_loop",
        mask,
        "manager_id",
        value=manager,
        problem=problem,
        fix="correct one manager ID in the loop; the top of a team has no manager",
    )


def _audiences(t: Checked, known: set[str] | None) -> pd.Series:
    raw = t.text("audiences")
    if not t.has("audiences"):
        return raw
    from reconcile.inputs.values import per_distinct

    joined = per_distinct(raw, _audience_list)
    if known:
        exploded = joined.str.split("; ").explode()
        exploded = exploded[exploded.notna() & (exploded.astype("str").str.strip() != "")]
        unknown = ~audience_key(exploded).isin(known)  # small: one row per audience named
        if unknown.any():
            bad = exploded[unknown]
            positions = bad.index.to_numpy()
            t.issues.add(
                "unknown_audience",
                file=t.grid.file,
                sheet=t.grid.sheet,
                row=t.grid.rows[positions],
                column=t.header("audiences"),
                value=bad.to_numpy(dtype=object),
                problem=[f'audience "{a}" is not in the policy or in Thrive' for a in bad],
                fix="check the spelling against the Requirements sheet or Thrive's audiences",
            )
    return joined


def _audience_list(raw: pd.Series) -> pd.Series:
    """Audience names separated by ``;`` or ``,`` as one ``"a; b"`` list; blank -> NA."""
    from reconcile.inputs.values import replace

    joined = replace(raw, r"\s*[;,]\s*", "; ")
    joined = replace(joined, r"^(?:; )+|(?:; )+$", "")
    joined = replace(joined, r"(?:; ){2,}", "; ")
    return joined.mask(joined == "")


def _dates(t: Checked, period_start: dt.date | None) -> tuple[pd.Series, pd.Series]:
    start, leave = t.date("start_date"), t.date("leave_date")
    after = (start > leave).to_numpy(dtype=bool)
    if after.any():
        t.flag(
            "start_after_leave",
            after,
            "leave_date",
            value=leave.dt.strftime("%Y-%m-%d"),
            problem=start.dt.strftime("start date %Y-%m-%d is after the leave date"),
            fix="swap or correct the two dates",
        )
    if period_start is not None:
        early = (leave < pd.Timestamp(period_start)).to_numpy(dtype=bool) & ~after
        if not early.any():
            return start, leave
        t.flag(
            "left_before_period",
            early,
            "leave_date",
            value=leave.dt.strftime("%Y-%m-%d"),
            problem=f"left before the period starts ({period_start.isoformat()}); nothing is owed",
            fix="remove the row if the person should not be on this roster",
        )
    return start, leave


def _fte(t: Checked) -> pd.Series:
    fte = t.number("fte", what="FTE")
    out = ((fte <= 0) | (fte > 1)).to_numpy(dtype=bool)
    if out.any():
        fix = pd.Series("type a fraction above 0 and at most 1 (1 = full time)", index=fte.index)
        percent = (fte > 1) & (fte <= 100)
        fix[percent] = (fte[percent] / 100).map(
            lambda v: f"type {v:g} for {v * 100:g}% (0 < FTE ≤ 1)"
        )
        t.flag("fte_out_of_range", out, "fte", problem="FTE must be above 0 and at most 1", fix=fix)
    return fte.mask(pd.Series(out, index=fte.index)).fillna(1.0).astype("float64")
