"""Reading HR files as they really are: real workbooks and CSVs written, then read back."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from reconcile.cli import cli
from reconcile.config import load
from reconcile.errors import ValidationFailed
from reconcile.inputs import check_config, check_files, read_inputs
from reconcile.inputs.issues import Issues
from reconcile.inputs.roster import COLUMNS as PEOPLE_COLUMNS
from reconcile.inputs.values import as_date, as_text, as_yes_no

from reconcile.inputs import read_roster  # isort: skip

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "spreadsheets"
SAMPLES = ROOT / "samples"


def roster_of(path: Path, **kwargs: object) -> tuple[pd.DataFrame, pd.DataFrame]:
    issues = Issues()
    people = read_roster(path, issues, **kwargs)
    return people, issues.frame()


def test_awkward_workbook_title_merged_header_padding_formula_1904() -> None:
    people, issues = roster_of(CORPUS / "awkward_ok.xlsx")
    assert issues.empty
    assert list(people.columns) == list(PEOPLE_COLUMNS)
    assert people["employee_id"].tolist() == ["000123", "000124"]
    assert people["source_row"].tolist() == [5, 7]
    assert people["email"].tolist() == ["Ann.Example@Acme.example", "ben@acme.example"]
    assert people["email_key"].tolist() == ["ann.example@acme.example", "ben@acme.example"]
    assert people["start_date"].tolist() == [pd.Timestamp("2026-02-01"), pd.Timestamp("2026-02-02")]
    assert people["fte"].tolist() == [0.5, 1.0]  # the formula =1/2, read by its value
    assert people["manager_id"].tolist()[1] == "000123"
    assert str(people["start_date"].dtype) == "datetime64[ns]"


def test_openpyxl_fallback_reads_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    fast, _ = roster_of(CORPUS / "awkward_ok.xlsx")
    monkeypatch.setitem(sys.modules, "python_calamine", None)  # as if not installed
    slow, issues = roster_of(CORPUS / "awkward_ok.xlsx")
    assert issues.empty
    pd.testing.assert_frame_equal(fast, slow)


def test_windows_1252_semicolon_csv_with_decimal_comma() -> None:
    people, issues = roster_of(CORPUS / "cp1252_semicolon.csv")
    assert issues.empty
    assert people["name"].tolist() == ["Zoë Müller", "François Œuvre"]
    assert people["fte"].tolist() == [0.5, 1.0]
    assert people["start_date"].tolist() == [pd.Timestamp("2026-03-04"), pd.Timestamp("2026-03-05")]
    assert people["source_row"].tolist() == [2, 3]


def test_utf8_bom_csv_keeps_leading_zeros_and_joins_names() -> None:
    people, issues = roster_of(CORPUS / "bom_utf8.csv")
    assert issues.empty
    row = people.iloc[0]
    assert (row["employee_id"], row["name"], row["email"]) == (
        "007",
        "Søren Kierkegaard",
        "søren@acme.example",
    )


def test_zero_padded_numbers_in_the_sample_roster() -> None:
    people, issues = roster_of(SAMPLES / "roster.xlsx", sheet="Staff")
    assert issues.empty
    assert people["employee_id"].str.fullmatch(r"\d{6}").all()
    assert people.loc[0, "employee_id"] == "001000"
    assert set(people["manager_id"].dropna()) <= set(people["employee_id"])
    assert people["source_row"].iloc[0] == 4  # a title row and a blank row above the header


def test_samples_config_reads_clean() -> None:
    inputs = read_inputs(load(SAMPLES / "reconcile.toml"))
    assert inputs.issues.empty
    assert len(inputs.people) == 40
    assert len(inputs.requirements) == 6 and len(inputs.courses) == 6
    assert len(inputs.cpd_log) == 60
    assert inputs.cpd_log["minutes"].dtype == "Int64"
    assert set(inputs.memberships["audience"]) <= set(inputs.requirements["audience"])
    assert inputs.people["exempt"].sum() == 1


def _config(folder: Path, roster: str, extra: str = "") -> Path:
    path = folder / "reconcile.toml"
    path.write_text(
        "[organisation]\nname = 'T'\n[period]\nstart = 2026-01-01\nend = 2026-12-31\n"
        f"[roster]\npath = '{roster}'\n{extra}",
        encoding="utf-8",
    )
    return path


def test_config_column_overrides_and_warnings_do_not_stop(tmp_path: Path) -> None:
    (tmp_path / "staff.csv").write_text(
        "Personal ref,Mail,Name,Leaving\n"
        "A1,a@acme.example,Ann,2025-06-30\n"
        "B2,b@acme.example,Ben,\n",
        encoding="utf-8",
    )
    extra = (
        "[roster.columns]\nemployee_id = 'Personal ref'\nemail = 'Mail'\nleave_date = 'Leaving'\n"
    )
    inputs = read_inputs(load(_config(tmp_path, "staff.csv", extra)))
    assert inputs.people["employee_id"].tolist() == ["A1", "B2"]
    assert inputs.issues["code"].tolist() == ["left_before_period"]
    assert inputs.issues.iloc[0]["row"] == 2
    assert inputs.issues.iloc[0]["column"] == "Leaving"


def test_errors_raise_validation_failed_with_every_issue(tmp_path: Path) -> None:
    shutil.copy(CORPUS / "roster_fte.csv", tmp_path / "roster.csv")
    with pytest.raises(ValidationFailed) as failed:
        read_inputs(load(_config(tmp_path, "roster.csv")))
    message = str(failed.value)
    assert message.startswith("4 errors in the HR spreadsheets, first: roster.csv row 2 column FTE")
    assert "\n" not in message
    assert failed.value.issues["code"].tolist() == [
        "fte_out_of_range",
        "fte_out_of_range",
        "not_a_number",
        "fte_out_of_range",
    ]


def test_configured_sheet_missing(tmp_path: Path) -> None:
    shutil.copy(SAMPLES / "roster.xlsx", tmp_path / "roster.xlsx")
    issues = check_config(load(_config(tmp_path, "roster.xlsx", "sheet = 'People'\n")))
    assert issues["code"].tolist() == ["missing_sheet"]
    assert issues.iloc[0]["problem"] == 'no sheet named "People"; sheets: Staff'


def test_unreadable_roster_in_config_is_one_issue(tmp_path: Path) -> None:
    shutil.copy(CORPUS / "pdf_renamed.xlsx", tmp_path / "roster.xlsx")
    with pytest.raises(ValidationFailed) as failed:
        read_inputs(load(_config(tmp_path, "roster.xlsx")))
    assert failed.value.issues["code"].tolist() == ["not_a_spreadsheet"]
    assert "is a PDF" in str(failed.value)


def _torn_sheet(source: Path, target: Path) -> None:
    """``source`` with its first worksheet's deflate stream overwritten by bytes that are no
    deflate block (0xff: a reserved block type), its zip directory intact."""
    import zipfile

    data = bytearray(source.read_bytes())
    with zipfile.ZipFile(source) as archive:
        sheet = next(i for i in archive.infolist() if i.filename.startswith("xl/worksheets/"))
    assert sheet.compress_type == zipfile.ZIP_DEFLATED
    name_and_extra = int.from_bytes(
        data[sheet.header_offset + 26 : sheet.header_offset + 28], "little"
    )
    name_and_extra += int.from_bytes(
        data[sheet.header_offset + 28 : sheet.header_offset + 30], "little"
    )
    start = sheet.header_offset + 30 + name_and_extra
    data[start : start + 16] = b"\xff" * 16
    target.write_bytes(bytes(data))


def test_a_workbook_whose_sheet_cannot_be_inflated_is_one_issue_for_hr(tmp_path: Path) -> None:
    """zlib's own error on a torn sheet says the file is damaged, with the fix (it once
    reached the CLI as an internal error)."""
    _torn_sheet(SAMPLES / "roster.xlsx", tmp_path / "roster.xlsx")
    with pytest.raises(ValidationFailed) as failed:
        read_inputs(load(_config(tmp_path, "roster.xlsx")))
    [issue] = failed.value.issues.to_dict("records")
    assert issue["file"] == "roster.xlsx"
    assert "damaged" in issue["problem"] and "Save As" in issue["fix"]


# --------------------------------------------------------------------------- values


def test_dates_from_every_kind_of_cell() -> None:
    cells = pd.Series(
        [
            dt.date(2026, 1, 2),
            dt.datetime(2026, 1, 3, 14, 30),
            "2026-01-04",
            "05/01/2026",
            "6.1.2026",
            "2026-01-07T09:00:00Z",
            "07/01/2026 00:00",
            None,
            45000.0,
            "31/02/2026",
            "1/2/26",
        ],
        dtype=object,
    )
    dates, codes = as_date(cells, "dd/mm/yyyy")
    assert [d.date().isoformat() if not pd.isna(d) else None for d in dates] == [
        "2026-01-02",
        "2026-01-03",
        "2026-01-04",
        "2026-01-05",
        "2026-01-06",
        "2026-01-07",
        "2026-01-07",
        None,
        None,
        None,
        None,
    ]
    assert codes.tolist()[7:] == ["", "unparseable_date", "unparseable_date", "ambiguous_date"]


def test_yes_no_spellings() -> None:
    cells = pd.Series(["Yes", "y", "TRUE", 1.0, "x", True, "No", "n", "false", 0.0, None, "?"])
    flags, bad = as_yes_no(cells.astype(object), blank=False)
    assert flags.tolist() == [True] * 6 + [False] * 6
    assert bad.tolist() == [False] * 11 + [True]


def test_ids_as_text() -> None:
    cells = pd.Series([123.0, "000124", 125, None, 12.5], dtype=object)
    assert as_text(cells).tolist()[:3] == ["123", "000124", "125"]
    assert pd.isna(as_text(cells).tolist()[3])
    assert as_text(cells).tolist()[4] == "12.5"


# --------------------------------------------------------------------------- command


def test_check_command_clean_samples_exit_0() -> None:
    result = CliRunner().invoke(cli, ["check", "-c", str(SAMPLES / "reconcile.toml")])
    assert result.exit_code == 0, result.output
    assert "no problems in 3 files" in result.output


def test_check_command_errors_exit_2_and_write_csv(tmp_path: Path) -> None:
    out = tmp_path / "check.csv"
    result = CliRunner().invoke(cli, ["check", str(CORPUS / "roster_fte.csv"), "--csv", str(out)])
    assert result.exit_code == 2
    assert "4 errors and 0 warnings in 1 file" in result.output
    written = pd.read_csv(out, dtype=str, encoding="utf-8-sig")
    assert list(written.columns) == [
        "file",
        "sheet",
        "row",
        "column",
        "value",
        "problem",
        "fix",
        "severity",
        "code",
    ]
    assert written["row"].tolist() == ["2", "3", "4", "5"]


def test_check_warnings_only_exit_0() -> None:
    result = CliRunner().invoke(cli, ["check", str(CORPUS / "roster_manager_loop.csv")])
    assert result.exit_code == 0
    assert "0 errors and 4 warnings" in result.output


def test_check_whole_corpus_never_prints_a_traceback() -> None:
    files = sorted(str(p) for p in CORPUS.iterdir())
    proc = subprocess.run(
        [sys.executable, "-m", "reconcile", "check", *files],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "is a PDF, not a spreadsheet" in proc.stdout
    assert proc.stderr == ""


def test_text_dates_agree_with_the_calendar_for_any_day() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=60, deadline=None)
    @given(
        st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2199, 12, 31)),
        st.sampled_from(["dd/mm/yyyy", "mm/dd/yyyy"]),
        st.booleans(),
    )
    def check(day: dt.date, date_format: str, padded: bool) -> None:
        d, m = (f"{day.day:02d}", f"{day.month:02d}") if padded else (str(day.day), str(day.month))
        local = f"{d}/{m}/{day.year}" if date_format == "dd/mm/yyyy" else f"{m}/{d}/{day.year}"
        cells = pd.Series([local, day.isoformat()], dtype="str")
        dates, codes = as_date(cells, date_format)
        assert [x.date() for x in dates] == [day, day]
        assert codes.tolist() == ["", ""]

    check()


def test_impossible_days_are_refused_in_both_parsers() -> None:
    cells = pd.Series(["29/02/2025", "29/02/2024", "31/04/2026", "2025-02-29", "1/13/2026"])
    dates, codes = as_date(cells.astype("str"), "dd/mm/yyyy")
    assert codes.tolist() == [
        "unparseable_date",
        "",
        "unparseable_date",
        "unparseable_date",
        "unparseable_date",
    ]
    assert dates[1] == pd.Timestamp("2024-02-29")


def test_a_ten_character_date_cell_with_a_letter_outside_ascii_is_a_bad_date() -> None:
    """Ten characters, eleven bytes: such a cell is an unparseable date, not a crash (it once
    broke the fixed-width parser, and the whole file was reported as unreadable)."""
    cells = pd.Series(["05/01/2026", "05/01/202é", "é5/01/2026", "2026-01-0€"], dtype="str")
    dates, codes = as_date(cells, "dd/mm/yyyy")
    assert dates[0] == pd.Timestamp("2026-01-05")
    assert codes.tolist() == ["", "unparseable_date", "unparseable_date", "unparseable_date"]


def test_a_first_row_wider_than_the_header_is_read_like_any_ragged_row(tmp_path: Path) -> None:
    """pandas only warns when the first data row has a cell past the last header (and drops
    it); that file reads as one whose later row is the wide one, with no warning printed."""
    first = tmp_path / "first.csv"
    first.write_text("Employee ID,Email,Name\n001,a@x.org,Ann,extra\n002,b@x.org,Ben\n")
    later = tmp_path / "later.csv"
    later.write_text("Employee ID,Email,Name\n001,a@x.org,Ann\n002,b@x.org,Ben,extra\n")
    for path in (first, later):  # the suite turns any warning into an error
        people, issues = roster_of(path)
        assert people[["employee_id", "name"]].values.tolist() == [["001", "Ann"], ["002", "Ben"]]
        assert issues.empty


def test_blank_lines_in_a_csv_keep_excel_row_numbers(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text(
        "Staff list\n\nEmployee ID,Email,Name\n001,a@x.org,Ann\n\n002,b@x.org,Ben\n"
        '003,"not an email",Cat\n\n\n',
        encoding="utf-8",
    )
    people, issues = roster_of(path)
    assert people["source_row"].tolist() == [4, 6, 7]
    assert issues[["row", "code"]].values.tolist() == [[7, "malformed_email"]]


def test_check_date_format_option_reads_american_dates() -> None:
    path = str(CORPUS / "roster_bad_dates.csv")
    day_first = CliRunner().invoke(cli, ["check", path])
    month_first = CliRunner().invoke(cli, ["check", path, "--date-format", "mm/dd/yyyy"])
    assert "5 errors" in day_first.output
    assert "4 errors" in month_first.output


def test_check_with_a_config_lists_roster_problems(tmp_path: Path) -> None:
    shutil.copy(CORPUS / "roster_unknown_manager.csv", tmp_path / "roster.csv")
    result = CliRunner().invoke(cli, ["check", "-c", str(_config(tmp_path, "roster.csv"))])
    assert result.exit_code == 2
    assert "no one in the roster has this employee ID" in result.output
    assert "1 error and 0 warnings in 1 file" in result.output


def test_ragged_rows_are_read_and_unbalanced_quotes_are_one_issue(tmp_path: Path) -> None:
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("Employee ID,Email,Name\n1,a@x.org,Ann\n2,b@x.org,Ben,note,\n")
    people, issues = roster_of(ragged)
    assert issues.empty
    assert people[["employee_id", "source_row"]].values.tolist() == [["1", 2], ["2", 3]]
    broken = tmp_path / "broken.csv"
    broken.write_text('Employee ID,Email,Name\n1,a@x.org,Ann\n2,"b@x.org,Ben\n')
    found = check_files([broken])
    assert found["code"].tolist() == ["unreadable_file"]
    assert "EOF inside string" in found.iloc[0]["problem"]


def test_a_policy_sheet_saved_as_csv_is_recognised(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.csv"
    requirements.write_text("Audience,Required Minutes\nNurses,600\nnurses,300\n")
    found = check_files([requirements])
    assert found[["row", "column", "code"]].values.tolist() == [
        [2, "Audience", "duplicate_audience"],
        [3, "Audience", "duplicate_audience"],
    ]


def test_audiences_are_not_judged_when_thrive_has_not_been_pulled(tmp_path: Path) -> None:
    (tmp_path / "roster.csv").write_text(
        "Employee ID,Email,Name,Audiences\n1,a@x.org,Ann,Nurses; Porters\n"
    )
    (tmp_path / "requirements.csv").write_text("Audience,Required Minutes\nNurses,600\n")
    extra = (
        "[policy]\npath = 'requirements.csv'\n"
        "[sources.thrive]\nbase_url = 'https://example.org/rest/v1'\ntenant_id = 't'\n"
        "secret_env = 'THRIVE_SECRET'\n"
    )
    config = load(_config(tmp_path, "roster.csv", extra))
    assert read_inputs(config).issues.empty
    pulled = read_inputs(config, known_audiences=["Doctors"]).issues
    assert pulled[["value", "code"]].values.tolist() == [["Porters", "unknown_audience"]]
    assert read_inputs(config).requirements["required_minutes"].tolist() == [600]


def test_a_courses_csv_is_not_mistaken_for_categories(tmp_path: Path) -> None:
    courses = tmp_path / "courses.csv"
    courses.write_text(
        "System,Course ID,Title,CPD Minutes,Category\n"
        "thrive,C1,Infection control,60,Mandatory\n"
        "thrive,C2,Hand hygiene,30,Mandatory\n"
        "thrive,C1,Infection control,60,Mandatory\n"
    )
    found = check_files([courses])
    assert found[["row", "code"]].values.tolist() == [
        [2, "duplicate_course"],
        [4, "duplicate_course"],
    ]


def _pattern_roster(rows: int, start: int) -> pd.DataFrame:
    """Unique people; dates, yes/no, audiences and e-mail case drawn from a short list."""
    dates = ["01/02/2020", "2020-03-04", "31/02/2020", "1/2/2020", "01/02/20", "", "soon"]
    flags = ["Yes", "no", "Y", "x", "", "maybe", "TRUE", "0"]
    audiences = ["Nurses", ";Nurses,,Admin ;", "", "nurses , Doctors", "Ghosts"]
    n = range(start, start + rows)
    return pd.DataFrame(
        {
            "Employee ID": [f"{i:06d}" for i in n],
            "Full Name": [f"Person {i}" for i in n],
            "Work Email": [f"P{i}@Acme.Example" if i % 9 else "" for i in n],
            "Audiences": [audiences[i % len(audiences)] for i in n],
            "Start date": [dates[i % len(dates)] for i in n],
            "Exempt": [flags[i % len(flags)] for i in n],
        }
    )


def test_long_csv_columns_read_the_same_as_short_ones(tmp_path: Path) -> None:
    """Long columns take the parse-each-distinct-value path, short ones the per-cell path:
    the same cells must give the same values and the same problems either way."""
    short, long = tmp_path / "short" / "roster.csv", tmp_path / "long" / "roster.csv"
    short.parent.mkdir()
    long.parent.mkdir()
    _pattern_roster(280, 0).to_csv(short, index=False)
    _pattern_roster(280 * 20, 0).to_csv(long, index=False)
    known = {"nurses", "admin", "doctors"}
    small, small_issues = roster_of(short, known_audiences=known)
    big, big_issues = roster_of(long, known_audiences=known)
    assert len(big) == 5600
    pd.testing.assert_frame_equal(big.head(280), small, check_exact=True)
    first = big_issues[big_issues["row"] <= 281].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, small_issues, check_exact=True)
    counts = big_issues["code"].value_counts()
    assert counts["unparseable_date"] == 5600 // 7 * 2  # 31/02/2020 and "soon"
    assert counts["ambiguous_date"] == 5600 // 7
    assert counts["bad_yes_no"] == 5600 // 8
    assert counts["unknown_audience"] == 5600 // 5
    assert big.loc[1, "start_date"] == pd.Timestamp("2020-03-04")
    assert big.loc[3, "start_date"] == pd.Timestamp("2020-02-01")
    assert big.loc[1, "audiences"] == "Nurses; Admin"
    assert big.loc[3, "exempt"] and not big.loc[4, "exempt"]
    assert big.loc[1, "email_key"] == "p1@acme.example"
