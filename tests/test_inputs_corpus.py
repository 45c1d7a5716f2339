"""The broken-spreadsheet corpus: each file's problems found exactly (row, column, code).

The files are in tests/data/spreadsheets/, written by tests/data/make_corpus.py. Each row
number is the one Excel shows; each column is the header as typed in the file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from reconcile.inputs import check_files

CORPUS = Path(__file__).parent / "data" / "spreadsheets"
POLICY = CORPUS / "policy_problems.xlsx"
#: Files saved by LibreOffice Calc (``soffice --headless --convert-to xlsx``); see its README
SAVED_BY_LIBREOFFICE = Path(__file__).parent / "data" / "saved_by_libreoffice"

# file -> {(row, column, code)}; row None = the whole file
EXPECTED: dict[str, set[tuple[int | None, str, str]]] = {
    "roster_missing_email.csv": {(1, "email", "missing_column")},
    "roster_blank_id.xlsx": {(3, "Employee ID", "blank_employee_id")},
    "roster_no_email_duplicate_id.xlsx": {
        (1, "email", "missing_column"),
        (2, "Employee ID", "duplicate_employee_id"),
        (3, "Employee ID", "duplicate_employee_id"),
        (4, "Employee ID", "blank_employee_id"),
        (4, "Start date", "unparseable_date"),
    },
    "roster_duplicate_id.xlsx": {
        (2, "Employee ID", "duplicate_employee_id"),
        (4, "Employee ID", "duplicate_employee_id"),
        (2, "Email", "duplicate_email"),
        (4, "Email", "duplicate_email"),
    },
    "roster_duplicate_email.csv": {
        (2, "Email", "duplicate_email"),
        (4, "Email", "duplicate_email"),
    },
    "roster_malformed_email.csv": {(3, "Email", "malformed_email")},
    "roster_bad_dates.csv": {
        (2, "Start date", "unparseable_date"),
        (3, "Start date", "unparseable_date"),
        (4, "Start date", "unparseable_date"),
        (5, "Start date", "ambiguous_date"),
        (6, "Start date", "unparseable_date"),
    },
    "roster_start_after_leave.csv": {(2, "Leave date", "start_after_leave")},
    "roster_fte.csv": {
        (2, "FTE", "fte_out_of_range"),
        (3, "FTE", "fte_out_of_range"),
        (4, "FTE", "not_a_number"),
        (5, "FTE", "fte_out_of_range"),
    },
    "roster_unknown_manager.csv": {(4, "Manager ID", "unknown_manager")},
    "roster_manager_loop.csv": {
        (2, "Manager ID", "manager_loop"),
        (3, "Manager ID", "manager_loop"),
        (4, "Manager ID", "manager_loop"),
        (6, "Manager ID", "manager_loop"),
    },
    "roster_no_people.csv": {(1, "", "no_rows")},
    "roster_bad_exempt.csv": {(2, "Exempt", "bad_yes_no")},
    "roster_blank_email.csv": {(3, "Email", "blank_email")},
    "roster_duplicate_column.csv": {(1, "Staff number", "duplicate_column")},
    "policy_structured_above.xlsx": {(2, "Structured minutes", "structured_above_required")},
    "policy_no_sheets.xlsx": {(None, "", "unrecognised_file")},
    "cpd_missing_minutes.csv": {(1, "minutes", "missing_column")},
    "pdf_renamed.xlsx": {(None, "", "not_a_spreadsheet")},
    "html_saved_as.xlsx": {(None, "", "not_a_spreadsheet")},
    "zip_not_workbook.xlsx": {(None, "", "not_a_spreadsheet")},
    "empty.csv": {(None, "", "empty_file")},
    "encrypted.xlsx": {(None, "", "encrypted_workbook")},
    "corrupt.xlsx": {(None, "", "unreadable_file")},
    "entity_bomb.xlsx": {(None, "", "unreadable_file")},
    "unrecognised.csv": {(None, "", "unrecognised_file")},
    "awkward_ok.xlsx": set(),
    "cp1252_semicolon.csv": set(),
    "bom_utf8.csv": set(),
}


def found(frame: pd.DataFrame) -> set[tuple[int | None, str, str]]:
    return {
        (None if pd.isna(r.row) else int(r.row), r.column, r.code)
        for r in frame.itertuples(index=False)
    }


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_broken_file_reports_exactly_its_problems(name: str) -> None:
    issues = check_files([CORPUS / name])
    assert set(issues["file"]) <= {name}
    assert found(issues) == EXPECTED[name]


def test_corpus_covers_at_least_25_distinct_problems() -> None:
    every = check_files(sorted(CORPUS.iterdir()))
    assert every["code"].nunique() >= 25
    assert not every["problem"].str.contains("Traceback").any()


def test_policy_workbook_problems_on_every_sheet() -> None:
    issues = check_files([POLICY])
    by_sheet = {(r.sheet, r.row, r.column, r.code) for r in issues.itertuples(index=False)}
    assert by_sheet == {
        ("Requirements", 2, "Audience", "duplicate_audience"),
        ("Requirements", 3, "Audience", "duplicate_audience"),
        ("Requirements", 4, "Required minutes", "negative_minutes"),
        ("Categories", 2, "Structured", "conflicting_category"),
        ("Categories", 4, "Structured", "conflicting_category"),
        ("Categories", 3, "Min minutes", "min_above_max"),
        ("Categories", 5, "Category", "duplicate_category"),
        ("Categories", 6, "Category", "duplicate_category"),
        ("Categories", 7, "Structured", "bad_yes_no"),
        ("Courses", 2, "Course ID", "duplicate_course"),
        ("Courses", 5, "Course ID", "duplicate_course"),
        ("Courses", 3, "CPD minutes", "not_a_number"),
        ("Courses", 4, "System", "unknown_system"),
        ("Courses", 6, "Category", "unknown_category"),
    }
    conflict = issues[issues["code"] == "conflicting_category"].iloc[0]
    assert conflict["problem"] == "the category is marked both structured and not on rows 2, 4"
    assert conflict["severity"] == "error"
    assert issues[issues["code"] == "unknown_category"].iloc[0]["severity"] == "warning"


def test_cpd_log_checked_against_a_roster_given_alongside() -> None:
    issues = check_files([CORPUS / "cpd_problems.csv", CORPUS / "cpd_roster.csv"])
    assert found(issues) == {
        (3, "Minutes", "negative_minutes"),
        (4, "Minutes", "not_a_number"),
        (5, "Employee ID", "no_person"),
        (6, "Title", "blank_title"),
        (7, "Date", "blank_date"),
        (8, "Minutes", "blank_minutes"),
        (9, "Minutes", "fractional_minutes"),
        (10, "Employee ID", "unknown_person"),
    }
    rounded = issues[issues["code"] == "fractional_minutes"].iloc[0]
    assert (rounded["value"], rounded["fix"]) == ("22.5", "counted as 23 minutes")


def test_unknown_audience_only_against_a_policy() -> None:
    alone = check_files([CORPUS / "roster_unknown_audience.csv"])
    assert alone.empty
    with_policy = check_files([CORPUS / "roster_unknown_audience.csv", POLICY])
    audience = with_policy[with_policy["code"] == "unknown_audience"]
    assert found(audience) == {(3, "Audiences", "unknown_audience")}
    assert audience.iloc[0]["value"] == "Nurzes"
    assert audience.iloc[0]["severity"] == "warning"


def test_known_audiences_from_thrive_extend_the_policy() -> None:
    issues = check_files([CORPUS / "roster_unknown_audience.csv"], known_audiences=["nurses"])
    assert {(r.row, r.value) for r in issues.itertuples()} == {
        (2, "Doctors"),
        (3, "Nurzes"),
        (3, "Doctors"),
    }


def test_a_missing_column_does_not_hide_the_other_problems_of_a_csv(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("Employee ID,Name\n7,Ann\n7,Bob\n,Cy\n", encoding="utf-8")
    assert found(check_files([roster])) == {
        (1, "email", "missing_column"),
        (2, "Employee ID", "duplicate_employee_id"),
        (3, "Employee ID", "duplicate_employee_id"),
        (4, "Employee ID", "blank_employee_id"),
    }


def test_a_missing_column_is_not_also_blank_on_every_row() -> None:
    issues = check_files([CORPUS / "roster_missing_email.csv"])
    assert list(issues["code"]) == ["missing_column"]


def test_an_id_of_spaces_is_blank_in_a_workbook_saved_by_libreoffice() -> None:
    """LibreOffice keeps the spaces of a text cell (openpyxl and xlsxwriter drop them), and
    the other IDs of the column are numbers: the spaces are still no ID."""
    issues = check_files([SAVED_BY_LIBREOFFICE / "roster_blank_id.xlsx"])
    assert found(issues) == {
        (3, "Employee ID", "blank_employee_id"),
        (5, "Employee ID", "blank_employee_id"),
    }


def test_missing_column_names_headers_found_and_closest_alias() -> None:
    issue = check_files([CORPUS / "roster_missing_email.csv"]).iloc[0]
    assert (
        issue["problem"] == 'no "Email" column; headers found: "Employee ID", "Full Name", "Emial"'
    )
    assert issue["fix"].startswith('rename "Emial" to "Email"')
    assert '[roster.columns] email = "Emial"' in issue["fix"]


def test_date_problems_say_why() -> None:
    issues = check_files([CORPUS / "roster_bad_dates.csv"]).set_index("row")
    assert issues.loc[5, "problem"].startswith("the year has two digits")
    assert issues.loc[6, "problem"] == "not a valid date as dd/mm/yyyy (organisation.date_format)"
    assert issues.loc[3, "value"] == "next week"


def test_mm_dd_yyyy_reads_american_dates() -> None:
    issues = check_files([CORPUS / "roster_bad_dates.csv"], date_format="mm/dd/yyyy")
    codes = dict(zip(issues["row"], issues["code"], strict=True))
    # 12/31/2026 is fine now; 31/02/2026 is still no date; 2026-13-01 and "next week" neither
    assert codes == {
        2: "unparseable_date",
        3: "unparseable_date",
        4: "unparseable_date",
        5: "ambiguous_date",
    }


def test_whole_file_problems_are_one_line_with_a_fix() -> None:
    issues = check_files([CORPUS / n for n in ("encrypted.xlsx", "html_saved_as.xlsx")])
    lines = dict(zip(issues["file"], issues["problem"] + "; " + issues["fix"], strict=True))
    assert "password-protected" in lines["encrypted.xlsx"]
    assert "remove the password" in lines["encrypted.xlsx"]
    assert "HTML" in lines["html_saved_as.xlsx"]
    assert all("\n" not in line for line in lines.values())


def test_huge_file_is_refused_before_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    from reconcile.inputs import reader

    monkeypatch.setattr(reader, "MAX_FILE_BYTES", 100)
    issues = check_files([CORPUS / "awkward_ok.xlsx"])
    assert found(issues) == {(None, "", "file_too_large")}
    assert "too large" in issues.iloc[0]["problem"]
