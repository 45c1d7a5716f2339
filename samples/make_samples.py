"""Write the sample HR spreadsheets in this folder: a roster, a policy workbook, a CPD log.

They look like what HR really send: a title row above the header, staff numbers shown with a
``000000`` number format, real Excel dates, a cover sheet in front of the CPD log. They pass
``reconcile check -c samples/reconcile.toml`` with no errors. Deterministic: re-running
rewrites identical data.

    python samples/make_samples.py
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import xlsxwriter

HERE = Path(__file__).resolve().parent

FIRST = [
    "Amelia", "Oliver", "Zoë", "Jack", "Isla", "Harry", "Ava", "George", "Mia", "Noah",
    "Sofia", "Leo", "Grace", "Arthur", "Freya", "Muhammad", "Lily", "Oscar", "Chloé", "Jacob",
    "Ella", "Charlie", "Aoife", "Thomas", "Emily", "Henry", "Ruby", "Alfie", "Evie", "Joshua",
    "Priya", "Tomasz", "Siobhán", "Kwame", "Mei", "Lars", "Fatima", "Diego", "Hana", "Ravi",
]  # fmt: skip
LAST = [
    "Smith", "Jones", "Müller", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
    "O'Brien", "Evans", "Thomas", "Roberts", "Patel", "Nowak", "Khan", "Walker", "Wright",
    "Robinson", "Thompson", "White", "Hughes", "Edwards", "Green", "Hall", "Wood", "Harris",
    "Lewis", "Martin", "Jackson", "Clarke", "Okafor", "Kowalski", "García", "Nakamura",
    "Eriksen", "Ahmed", "Murphy", "Singh", "Chen",
]  # fmt: skip
DEPARTMENTS = ["Emergency", "Surgery", "Pharmacy", "Radiology", "Administration"]
AUDIENCES = {
    "Emergency": "Registered Nurses; Clinical Staff",
    "Surgery": "Doctors; Clinical Staff",
    "Pharmacy": "Pharmacists; Clinical Staff",
    "Radiology": "Allied Health",
    "Administration": "Administrative Staff",
}
REQUIREMENTS = [
    ("Registered Nurses", 2100, 900),
    ("Doctors", 3000, 1500),
    ("Pharmacists", 1800, 900),
    ("Allied Health", 1500, 600),
    ("Clinical Staff", 600, 0),
    ("Administrative Staff", 300, 0),
]
CATEGORIES = [
    ("Clinical skills", "Yes", 300, None),
    ("Mandatory training", "Yes", 120, None),
    ("Reflective practice", "No", None, 600),
    ("Conferences", "Yes", None, None),
    ("Reading", "No", None, 300),
]
COURSES = [
    ("thrive", "64a1f0c2e4b0a1b2c3d4e5f6", "Infection prevention and control", 60,
     "Mandatory training", "Yes", "64a1f0c2e4b0a1b2c3d4e5f6"),
    ("thrive", "64a1f0c2e4b0a1b2c3d4e5f7", "Safeguarding adults level 2", 90,
     "Mandatory training", "Yes", "64a1f0c2e4b0a1b2c3d4e5f7"),
    ("thrive", "64a1f0c2e4b0a1b2c3d4e5f8", "Medicines management refresher", 120,
     "Clinical skills", "Yes", "64a1f0c2e4b0a1b2c3d4e5f8"),
    ("coursepath", "CP-1001", "Basic life support", 180, "Clinical skills", "Yes", None),
    ("coursepath", "CP-1002", "Information governance", 45, "Mandatory training", "Yes", None),
    ("coursepath", "CP-1003", "Reflective writing workshop", 60, "Reflective practice", "No",
     None),
]  # fmt: skip
ACTIVITIES = [
    ("Journal club: sepsis pathways", 60, "Reading", "No"),
    ("Regional emergency medicine conference", 360, "Conferences", "Yes"),
    ("Reflective account: difficult conversation", 45, "Reflective practice", "No"),
    ("Ultrasound-guided cannulation workshop", 180, "Clinical skills", "Yes"),
    ("Peer review of medication errors", 90, "Reflective practice", "No"),
    ("Reading: NICE guideline update", 30, "Reading", "No"),
]


def people(rng: random.Random) -> list[dict[str, object]]:
    rows = []
    for index in range(40):
        department = DEPARTMENTS[index % len(DEPARTMENTS)]
        number = 1000 + index * 7
        first, last = FIRST[index], LAST[index]
        head = index < len(DEPARTMENTS)
        start = dt.date(2015, 1, 5) + dt.timedelta(days=rng.randrange(0, 4000))
        rows.append(
            {
                "id": number,
                "first": first,
                "last": last,
                "email": f"{first.lower()}.{last.lower()}@acme-health.example".replace("'", ""),
                "department": department,
                "manager": None if head else 1000 + (index % len(DEPARTMENTS)) * 7,
                "audiences": AUDIENCES[department],
                "start": start if index != 7 else dt.date(2026, 4, 1),
                "leave": dt.date(2026, 9, 30) if index == 11 else None,
                "fte": 0.6 if index % 9 == 4 else 1,
                "exempt": "Yes" if index == 23 else "",
                "reason": "Long-term leave" if index == 23 else "",
            }
        )
    return rows


def write_roster(path: Path, staff: list[dict[str, object]]) -> None:
    book = xlsxwriter.Workbook(path)
    book.set_properties({"created": dt.datetime(2026, 11, 1, 9, 0)})
    sheet = book.add_worksheet("Staff")
    title = book.add_format({"bold": True, "font_size": 14})
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    padded = book.add_format({"num_format": "000000"})
    date = book.add_format({"num_format": "dd/mm/yyyy"})
    sheet.merge_range("A1:L1", "Acme Health: staff list for CPD (HR, exported 2026-11-01)", title)
    headers = [
        "Staff number", "First name", "Surname", "Work Email", "Department",
        "Line manager ID", "CPD audiences", "Start date", "Leave date", "FTE", "Exempt",
        "Exemption reason",
    ]  # fmt: skip
    sheet.write_row(2, 0, headers, head)
    for offset, person in enumerate(staff, start=3):
        sheet.write_number(offset, 0, person["id"], padded)
        sheet.write(offset, 1, person["first"])
        sheet.write(offset, 2, person["last"])
        sheet.write(offset, 3, person["email"])
        sheet.write(offset, 4, person["department"])
        if person["manager"] is not None:
            sheet.write_number(offset, 5, person["manager"], padded)
        sheet.write(offset, 6, person["audiences"])
        sheet.write_datetime(offset, 7, person["start"], date)
        if person["leave"]:
            sheet.write_datetime(offset, 8, person["leave"], date)
        sheet.write_number(offset, 9, person["fte"])
        sheet.write(offset, 10, person["exempt"])
        sheet.write(offset, 11, person["reason"])
    sheet.freeze_panes(3, 0)
    sheet.autofilter(2, 0, 2 + len(staff), len(headers) - 1)
    sheet.set_column(0, 11, 16)
    book.close()


def write_policy(path: Path) -> None:
    book = xlsxwriter.Workbook(path)
    book.set_properties({"created": dt.datetime(2026, 11, 1, 9, 0)})
    head = book.add_format({"bold": True, "bg_color": "#E2EFDA", "border": 1})
    sheets = {
        "Requirements": (["Audience", "Required minutes", "Structured minutes"], REQUIREMENTS),
        "Categories": (["Category", "Structured", "Min minutes", "Max minutes"], CATEGORIES),
        "Courses": (
            [
                "System",
                "Course ID",
                "Title",
                "CPD minutes",
                "Category",
                "Structured",
                "Thrive content ID",
            ],
            COURSES,
        ),
    }
    for name, (headers, rows) in sheets.items():
        sheet = book.add_worksheet(name)
        sheet.write_row(0, 0, headers, head)
        for offset, row in enumerate(rows, start=1):
            for column, value in enumerate(row):
                if value is not None:
                    sheet.write(offset, column, value)
        sheet.set_column(0, len(headers) - 1, 22)
    book.close()


def write_cpd_log(path: Path, staff: list[dict[str, object]], rng: random.Random) -> None:
    book = xlsxwriter.Workbook(path)
    book.set_properties({"created": dt.datetime(2026, 11, 1, 9, 0)})
    cover = book.add_worksheet("Read me")
    cover.write(
        0, 0, "External CPD log: activity not recorded in Thrive, Brightspace or Coursepath"
    )
    cover.write(1, 0, "One row per activity. Minutes are whole minutes. Dates are dd/mm/yyyy.")
    sheet = book.add_worksheet("Log")
    head = book.add_format({"bold": True, "bg_color": "#FFF2CC", "border": 1})
    date = book.add_format({"num_format": "dd/mm/yyyy"})
    headers = ["Emp No", "Email", "Activity", "Date", "Minutes", "Category", "Structured"]
    sheet.write_row(0, 0, headers, head)
    for offset in range(1, 61):
        person = staff[rng.randrange(len(staff))]
        title, minutes, category, structured = ACTIVITIES[rng.randrange(len(ACTIVITIES))]
        when = dt.date(2026, 1, 6) + dt.timedelta(days=rng.randrange(0, 300))
        sheet.write_string(offset, 0, f"{person['id']:06d}")
        sheet.write(offset, 1, person["email"])
        sheet.write(offset, 2, title)
        sheet.write_datetime(offset, 3, when, date)
        sheet.write_number(offset, 4, minutes)
        sheet.write(offset, 5, category)
        sheet.write(offset, 6, structured)
    sheet.set_column(0, 6, 20)
    book.close()


def main(folder: Path = HERE) -> None:
    rng = random.Random(20260101)
    staff = people(rng)
    write_roster(folder / "roster.xlsx", staff)
    write_policy(folder / "policy.xlsx")
    write_cpd_log(folder / "external_cpd.xlsx", staff, rng)


if __name__ == "__main__":
    main()
