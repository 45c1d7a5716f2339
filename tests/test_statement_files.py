"""Each manager gets their own team's statement, whatever their employee ids look like.

Manager ids that a plain "replace odd characters, cut at 80" rule maps to one file name are
put on a real roster; the run is reconciled again from its snapshot and then sent through a
real SMTP server on 127.0.0.1.
"""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pandas as pd
from pypdf import PdfReader

from reconcile import config as config_module
from reconcile import runs
from reconcile.deliver import send_statements
from reconcile.render.statement_files import (
    RECORD_FILE,
    read_record,
    statement_filename,
    statement_filenames,
)
from reconcile.result_store import RESULT_FOLDER
from tests.smtp_server import Mailbox, configure, run_folder, smtp_server

NO_WAIT = (0.0, 0.0)
#: Nine manager ids that the old naming turned into five files.
COLLIDING = (
    "A/B 1",
    "A_B_1",
    "A B 1",
    "X" * 80 + "1",
    "X" * 80 + "2",
    "../../etc/passwd",
    "etc_passwd",
    "ab12",
    "AB12",
)


def rename_managers(workspace: Path) -> dict[str, str]:
    """Give the roster's managers the colliding ids (their reports follow them)."""
    path = workspace / "inputs" / "roster.xlsx"
    book = openpyxl.load_workbook(path)
    sheet = book["Staff"]
    headers = [cell.value for cell in sheet[1]]
    columns = (headers.index("Employee ID"), headers.index("Line Manager ID"))
    managers = sorted({row[columns[1]].value for row in sheet.iter_rows(min_row=2)} - {None})
    mapping = dict(zip(managers, COLLIDING, strict=True))
    for row in sheet.iter_rows(min_row=2):
        for column in columns:
            if row[column].value in mapping:
                row[column].value = mapping[row[column].value]
    book.save(path)
    return mapping


def text_of(data: bytes | Path) -> str:
    import io

    source = io.BytesIO(data) if isinstance(data, bytes) else data
    return re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(source).pages))


def test_file_names_are_distinct_plain_when_they_can_be_and_never_a_path() -> None:
    names = statement_filenames(COLLIDING)
    assert len(set(names.values())) == len(COLLIDING)
    assert len({n.casefold() for n in names.values()}) == len(COLLIDING)
    for name in names.values():
        assert "/" not in name and "\\" not in name and not name.startswith(".")
        assert len(name) <= 60, name
        assert name.endswith(".pdf")
    plain = {i for i, n in names.items() if "~" not in n}
    assert plain == {"A_B_1", "etc_passwd"}  # ab12 / AB12 would meet on a case-blind disk
    assert names["A_B_1"] == "A_B_1.pdf" and names["A/B 1"].startswith("A_B_1~")
    assert statement_filenames(["031361", "E00012"]) == {
        "031361": "031361.pdf",
        "E00012": "E00012.pdf",
    }
    assert statement_filename("CON") != "CON.pdf"  # a name Windows refuses


def test_every_manager_is_sent_only_their_own_teams_statement(workspace: Path) -> None:
    rename_managers(workspace)
    folder = run_folder(workspace)
    config = config_module.load(workspace / "reconcile.toml")
    outcome = runs.report(config, folder, out=folder)
    people = pd.read_parquet(folder / RESULT_FOLDER / "people.parquet")
    assert sorted(people["manager_id"].dropna().unique()) == sorted(COLLIDING)
    record = read_record(folder)
    assert sorted(record) == sorted(COLLIDING)
    files = {s.path for s in record.values()}
    assert len(files) == len(COLLIDING) == len(outcome.statements)
    assert files == set(outcome.statements) and all(f.is_file() for f in files)
    assert (folder / RECORD_FILE).is_file()

    teams = {m: set(people.loc[people["manager_id"] == m, "employee_id"]) for m in COLLIDING}
    for manager, statement in record.items():
        text = text_of(statement.path)
        assert all(eid in text for eid in teams[manager]), manager
        others = set().union(*(t for m, t in teams.items() if m != manager))
        assert not [eid for eid in others if eid in text], manager

    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        config = configure(workspace, port)
        sent = send_statements(config, folder, retry_delays=NO_WAIT)
    assert sent.sent == len(COLLIDING) == len(mailbox.messages)
    manager_of = dict(zip(people["email"], people["employee_id"], strict=True))
    for recipients, message in mailbox.messages:
        manager = manager_of[recipients[0]]
        [attachment] = list(message.iter_attachments())
        assert attachment.get_content() == record[manager].path.read_bytes()
        assert attachment.get_filename() == "CPD statement 2026-11-15.pdf"
        text = text_of(attachment.get_content())
        assert all(eid in text for eid in teams[manager]), manager


def test_send_attaches_nothing_the_record_does_not_vouch_for(workspace: Path) -> None:
    folder = run_folder(workspace)
    record = read_record(folder)
    swapped, other = sorted(record)[:2]
    record[swapped].path.write_bytes(record[other].path.read_bytes())  # another team's PDF
    (folder / "statements" / "stray.pdf").write_bytes(record[other].path.read_bytes())
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        config = configure(workspace, port)
        outcome = send_statements(config, folder, retry_delays=NO_WAIT)
    [missing] = outcome.no_address
    assert missing.manager_id == swapped and missing.outcome == "no statement file"
    assert "SHA-256" in missing.detail
    assert len(mailbox.messages) == len(record) - 1
