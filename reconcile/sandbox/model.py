"""The generated organisation the sandbox serves: the contract between generator and server.

The generator (``generate.py``) builds an :class:`Organisation`; the server (``server.py``)
serves it. Column names here are *our* storage names, not the wire names: each platform's
routes turn rows into the JSON of DESIGN.md §9. Timestamps are ``datetime64[ns, UTC]``, ids of
Thrive and Coursepath and all HR ids are strings, Brightspace ids are int64, minutes are int64.

Frames and columns (every frame has exactly these columns, in this order):

HR spreadsheets
- ``roster``: employee_id (str, zero-padded, e.g. "000123"), first_name, last_name, email
  (as HR typed it), department, manager_id (str or <NA>), audiences (names joined by "; "),
  start_date, leave_date (datetime64[ns], NaT when blank), fte (float), exempt (bool),
  exempt_reason (str or <NA>), thrive_id, brightspace_id, coursepath_id (str or <NA>: explicit
  account ids, set only for a few people).
- ``policy_requirements``: audience (name), required_minutes, structured_minutes.
- ``policy_categories``: category, structured (bool), min_minutes, max_minutes (<NA> = none).
- ``policy_courses``: system ("thrive"|"coursepath"), course_id, title, cpd_minutes, category,
  structured (bool), thrive_content_id (str or <NA>).
- ``cpd_log``: employee_id, email, title, date (datetime64[ns], local date), minutes, category,
  structured (bool).

Thrive
- ``thrive_users``: id (24-hex), ref (str or <NA>), firstName, lastName, email, status.
- ``thrive_audiences``: id, name, reference.
- ``thrive_audience_members``: audienceId, userId, reference, email.
- ``thrive_categories``: categoryId, name.
- ``thrive_requirements``: audienceRequirementId, audienceId, requiredMinutes, createdAt, updatedAt.
- ``thrive_entries``: logEntryId, userId, activityType, activityName, categoryId, categoryName,
  entryDate, durationMinutes, description, isVerified.
- ``thrive_summary_offsets``: userId, offsetMinutes — the server's cpdUserLogSummaries figure is
  the sum of the user's entries in the requested range plus this offset (planted mismatches).
- ``thrive_contents``: id, title, type, durationMinutes.
- ``thrive_completions``: id, userId, contentId, completedAt, isRPL.

Brightspace
- ``bs_users``: UserId, OrgDefinedId, ExternalEmail, UserName, FirstName, LastName, IsActive.
- ``bs_records``: RecordId, UserId, RecordName, CategoryId, CategoryName, MethodId, MethodName,
  IsStructured, RecordStateId (1 published, 2 draft), CreditMinutes, DateCompleted.
- ``bs_targets``: UserId, StructuredDenominator, UnstructuredDenominator, OffsetMinutes — the
  numerators are computed by the server from published records in the requested range, and
  OffsetMinutes is added to the unstructured numerator (planted mismatches).
- ``bs_categories`` / ``bs_methods``: Id, Name, SortOrder, InUse.

Coursepath
- ``cp_members``: id, email, name, externalId, company, department, country.
- ``cp_courses``: id, name.
- ``cp_course_members``: courseId, memberId, enrolledAt, completed (bool), completedAt (NaT when
  not completed), score (float or NaN), success (bool), certificateUrl (str or <NA>).
- ``cp_groups``: id, name.  ``cp_group_members``: groupId, memberId.

What was planted
- ``planted``: kind, system, record_id, account_id, employee_id, minutes, detail. ``kind`` is an
  exception type or disposition of DESIGN.md §6 (``unmatched_account``, ``duplicate_activity``,
  ``unlogged_completion``, ``draft``, ``out_of_period``, ``future_dated``, ``implausible``,
  ``platform_total_mismatch``, ``unverified_claim``, ``failed_course_logged``) or a benign case
  that must *not* be flagged (``case_different_email``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

import pandas as pd


@dataclass(frozen=True)
class Organisation:
    """One generated organisation: HR spreadsheets, three platforms' data, and the plants."""

    seed: int
    people: int
    timezone: str
    period_start: dt.date
    period_end: dt.date
    as_of: dt.date

    roster: pd.DataFrame
    policy_requirements: pd.DataFrame
    policy_categories: pd.DataFrame
    policy_courses: pd.DataFrame
    cpd_log: pd.DataFrame

    thrive_users: pd.DataFrame
    thrive_audiences: pd.DataFrame
    thrive_audience_members: pd.DataFrame
    thrive_categories: pd.DataFrame
    thrive_requirements: pd.DataFrame
    thrive_entries: pd.DataFrame
    thrive_summary_offsets: pd.DataFrame
    thrive_contents: pd.DataFrame
    thrive_completions: pd.DataFrame

    bs_users: pd.DataFrame
    bs_records: pd.DataFrame
    bs_targets: pd.DataFrame
    bs_categories: pd.DataFrame
    bs_methods: pd.DataFrame

    cp_members: pd.DataFrame
    cp_courses: pd.DataFrame
    cp_course_members: pd.DataFrame
    cp_groups: pd.DataFrame
    cp_group_members: pd.DataFrame

    planted: pd.DataFrame

    def frames(self) -> dict[str, pd.DataFrame]:
        """Every frame by field name, for tests and for writing out."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if isinstance(getattr(self, f.name), pd.DataFrame)
        }
