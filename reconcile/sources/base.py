"""What every loader shares that is not HTTP: the period's date windows and the pull result."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from reconcile.config import Period
from reconcile.sources.columns import Column, UnusableValue, dedupe, frame
from reconcile.sources.http import HttpClient, RequestStats

MARGIN = dt.timedelta(days=1)


@dataclass(frozen=True)
class Window:
    """The period, as the APIs need to be asked for it.

    Detail lists are asked for whole UTC days with a day's margin each side, so that the
    organisation's timezone (not UTC) decides later which records fall in the period.
    Platform totals (Thrive user log summaries, Brightspace target progress) are asked for
    exactly the period: local midnight of the first day to local 23:59:59.999 of the last,
    as UTC instants, because those totals are compared figure for figure with the detail.
    """

    start: dt.date
    end: dt.date
    timezone: str = "UTC"

    @classmethod
    def of(cls, period: Period, timezone: str) -> Window:
        return cls(start=period.start, end=period.end, timezone=timezone)

    @property
    def detail_from(self) -> dt.date:
        return self.start - MARGIN

    @property
    def detail_to(self) -> dt.date:
        return self.end + MARGIN

    @property
    def detail_from_instant(self) -> dt.datetime:
        return dt.datetime.combine(self.detail_from, dt.time(0), tzinfo=dt.UTC)

    @property
    def detail_to_instant(self) -> dt.datetime:
        return dt.datetime.combine(self.detail_to, dt.time(23, 59, 59, 999000), tzinfo=dt.UTC)

    @property
    def exact_from(self) -> dt.datetime:
        zone = zoneinfo.ZoneInfo(self.timezone)
        return dt.datetime.combine(self.start, dt.time(0), tzinfo=zone).astimezone(dt.UTC)

    @property
    def exact_to(self) -> dt.datetime:
        zone = zoneinfo.ZoneInfo(self.timezone)
        local = dt.datetime.combine(self.end, dt.time(23, 59, 59, 999000), tzinfo=zone)
        return local.astimezone(dt.UTC)


def utc_text(moment: dt.datetime) -> str:
    """``2026-01-12T05:00:00.000Z``: the UtcDateTime form Brightspace documents."""
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class SourcePull:
    """Everything one source returned: typed tables and where each came from."""

    source: str
    base_url: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    endpoints: dict[str, str] = field(default_factory=dict)
    pulled_at: dict[str, dt.datetime] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)
    stats: RequestStats = field(default_factory=RequestStats)

    def add(self, table: str, frame: pd.DataFrame, endpoint: str, duplicates: int = 0) -> None:
        self.tables[table] = frame
        self.endpoints[table] = endpoint
        self.pulled_at[table] = dt.datetime.now(dt.UTC)
        self.duplicates[table] = duplicates


def add_table(
    client: HttpClient,
    result: SourcePull,
    name: str,
    records: Sequence[Any],
    columns: Sequence[Column],
    endpoint: str,
    keys: tuple[str, ...],
    *,
    extra: Mapping[str, tuple[str, Iterable[Any]]] | None = None,
) -> None:
    """Type ``records`` into the table ``name``, drop repeated keys, and add it to ``result``.

    A value no platform can mean (see ``columns.UnusableValue``) stops the pull here, naming
    the source, the table and the record, before anything is written anywhere.
    """
    listed = {key: (kind, list(values)) for key, (kind, values) in (extra or {}).items()}
    try:
        table = frame(records, columns, extra=listed)
    except UnusableValue as bad:
        raise client.fail(
            f"{client.source}: {endpoint} answered a value no {client.source} record can hold "
            f"in table {name}, record {_record_label(records, bad.position, columns, listed)}: "
            f"{bad}; the service returned something unusable, so nothing was written: report "
            "the record to the vendor",
            url=client.url(endpoint),
            resumable=False,
        ) from None
    table, dropped = dedupe(table, keys, stats=result.stats, label=f"{result.source} {endpoint}")
    result.add(name, table, endpoint, dropped)


def _record_label(
    records: Sequence[Any],
    position: int,
    columns: Sequence[Column],
    extra: dict[str, tuple[str, list[Any]]],
) -> str:
    """``#12 (logEntryId=abc)``: where a bad value sits, by position and its id fields."""
    ids = []
    for name, (kind, values) in extra.items():
        if kind == "id" and position < len(values):
            ids.append(f"{name}={values[position]}")
    record = records[position] if position < len(records) else None
    for column in columns:
        if column.kind == "id" and isinstance(record, dict):
            value = record.get(column.path.split(".")[0]) if "." not in column.path else None
            if value is not None:
                ids.append(f"{column.path}={value}")
    label = f"#{position + 1}"
    return f"{label} ({', '.join(ids[:3])})" if ids else label
