"""A column filled down by mistake: every duplicate row is reported, each message naming the
first few rows of its group and how many more, so the report grows with the rows, not with
their square."""

from __future__ import annotations

from pathlib import Path

from reconcile.inputs import read_roster
from reconcile.inputs.issues import Issues

ROWS = 3_000


def test_one_email_filled_down_a_column_is_reported_in_linear_size(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    lines = ["Employee ID,Name,Email"]
    lines += [f"{i:05d},Person {i},same@x.example" for i in range(ROWS)]
    lines += ["99998,Ann Lee,ann@x.example", "99998,Bob Ray,bob@x.example"]
    roster.write_text("\n".join(lines) + "\n", encoding="utf-8")
    issues = Issues()
    read_roster(roster, issues)
    frame = issues.frame()
    emails = frame[frame["code"] == "duplicate_email"]
    assert len(emails) == ROWS  # every row of the group is still reported
    assert sorted(emails["row"]) == list(range(2, ROWS + 2))
    expected = (
        "the same e-mail address (ignoring case and spaces) is on rows 2, 3, 4, 5, 6 "
        f"and {ROWS - 5:,} more"
    )
    assert set(emails["problem"]) == {expected}
    assert emails["problem"].str.len().sum() < ROWS * 200  # linear, not ROWS * ROWS
    ids = frame[frame["code"] == "duplicate_employee_id"]
    assert set(ids["problem"]) == {"the same employee ID is on rows 3002, 3003"}
