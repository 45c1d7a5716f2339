"""Plumbing shared by the three sandbox platforms: requests, responses and fast JSON pages.

Why pre-rendered fragments: a loader benchmark pulls millions of records, so a 1,000-record
page must cost a few milliseconds whatever the data size. At startup every column is turned,
vectorised, into an array of ready JSON fragments (``"abc"``, ``42``, ``null``); a page is then
one ``template % row`` per record over a slice of those arrays. No frame is filtered or
serialised per request.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

NS_PER_MS = 1_000_000
NS_PER_DAY = 86_400 * 1_000_000_000


@dataclass
class Request:
    """One HTTP request as the platforms see it (the server has already read the body)."""

    method: str
    path: str  # below the platform prefix, e.g. "/rest/v1/users"
    raw_path: str  # as received, with the prefix and the query string
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    host: str  # "http://127.0.0.1:8765": where this sandbox was reached

    def arg(self, name: str) -> str | None:
        """The last value of a query parameter, or None when absent."""
        values = self.query.get(name)
        return values[-1] if values else None

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = "application/json; charset=utf-8"
    records: int = 0  # records served, for the stats


def json_response(status: int, payload: Any, *, records: int = 0, **kw: Any) -> Response:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(status, body, records=records, **kw)


def text_json_response(status: int, text: str, *, records: int = 0) -> Response:
    return Response(status, text.encode(), records=records)


class BadRequest(Exception):
    """A query parameter the real API would refuse (each platform renders it its own way)."""


class NotFound(Exception):
    """An id or route the platform does not know."""


# --- query parameters ---------------------------------------------------------------------


def int_arg(request: Request, name: str, default: int, *, low: int, high: int | None = None) -> int:
    """A bounded integer parameter: anything else is a 400, never silently clamped."""
    raw = request.arg(name)
    if raw is None:
        return default
    if not re.fullmatch(r"-?\d{1,18}", raw.strip()):
        raise BadRequest(f"{name} must be a whole number (got {raw!r})")
    value = int(raw)
    if value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f"{low} or more"
        raise BadRequest(f"{name} must be {bound} (got {value})")
    return value


def bool_arg(request: Request, name: str, default: bool) -> bool:
    raw = request.arg(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered not in ("true", "false"):
        raise BadRequest(f"{name} must be true or false (got {raw!r})")
    return lowered == "true"


_THRIVE_INSTANT = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}:\d{2})(\.\d{1,6})?(Z)?)?")
_UTC_DATETIME = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d{1,3})?Z")


def _to_ns(day: str, clock: str | None, fraction: str | None) -> int:
    text = day + ("T" + clock if clock else "T00:00:00") + (fraction or "")
    try:
        stamp = dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
    except ValueError:
        raise BadRequest(f"{text!r} is not a valid date") from None
    return int(pd.Timestamp(stamp).value)


def thrive_instant(request: Request, name: str, *, end_of_day: bool) -> int | None:
    """Thrive's date filters: a date, or a date and time (UTC). A date-only `To` is inclusive."""
    raw = request.arg(name)
    if raw is None:
        return None
    match = _THRIVE_INSTANT.fullmatch(raw.strip())
    if not match:
        raise BadRequest(
            f"{name} must look like 2026-01-31, '2026-01-31 13:00:00' or 2026-01-31T13:00:00Z "
            f"(got {raw!r})"
        )
    day, clock, fraction, _ = match.groups()
    value = _to_ns(day, clock, fraction)
    if clock is None and end_of_day:
        value += NS_PER_DAY - 1
    return value


def utc_datetime(request: Request, name: str) -> int | None:
    """Brightspace's UtcDateTime (``2026-01-12T05:00:00.000Z``), strictly."""
    raw = request.arg(name)
    if raw is None:
        return None
    match = _UTC_DATETIME.fullmatch(raw.strip())
    if not match:
        raise BadRequest(f"{name} must be a UtcDateTime like 2026-01-12T05:00:00.000Z")
    day, clock, fraction = match.groups()
    return _to_ns(day, clock, fraction)


def format_instant_ms(ns: int) -> str:
    """``2026-01-12T05:00:00.000Z`` for an instant in UTC nanoseconds."""
    text = np.datetime_as_string(np.datetime64(ns, "ns").astype("datetime64[ms]"), unit="ms")
    return f"{text}Z"


# --- JSON fragments -----------------------------------------------------------------------

_NEEDS_ESCAPE = r'["\\\x00-\x1f\x7f\u2028\u2029]'


def str_fragments(values: pd.Series) -> np.ndarray:
    """JSON string literals (or ``null``) for a text column, escaped correctly and fast."""
    text = values.astype("string")
    missing = text.isna().to_numpy()
    filled = text.fillna("")
    if filled.str.contains(_NEEDS_ESCAPE, regex=True).any():
        codes, uniques = pd.factorize(filled)
        rendered = np.array(
            [json.dumps(u, ensure_ascii=False) for u in uniques] or [""], dtype=object
        )
        out = rendered[codes] if len(codes) else np.empty(0, dtype=object)
    else:
        out = ('"' + filled + '"').to_numpy(dtype=object)
    out = np.asarray(out, dtype=object)
    out[missing] = "null"
    return out


def int_fragments(values: pd.Series | np.ndarray) -> np.ndarray:
    series = pd.Series(values)
    if series.isna().any():
        return np.array(["null" if pd.isna(v) else str(int(v)) for v in series], dtype=object)
    return np.asarray(series.to_numpy(dtype=np.int64).astype(str), dtype=object)


def float_fragments(values: pd.Series) -> np.ndarray:
    return np.array(["null" if pd.isna(v) else json.dumps(float(v)) for v in values], dtype=object)


def bool_fragments(values: pd.Series | np.ndarray) -> np.ndarray:
    return np.where(np.asarray(values, dtype=bool), "true", "false").astype(object)


def instant_ns(values: pd.Series) -> np.ndarray:
    """UTC nanoseconds as int64 (NaT becomes the int64 minimum, which sorts first)."""
    series = pd.Series(values)
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    return series.astype("datetime64[ns]").to_numpy().astype(np.int64)


def date_fragments(values: pd.Series, *, millis: bool = True) -> np.ndarray:
    """Quoted UTC timestamps, ``"2026-01-12T05:00:00.000Z"`` (or without ms), ``null`` for NaT."""
    ns = instant_ns(values)
    missing = pd.Series(values).isna().to_numpy()
    unit = "ms" if millis else "s"
    text = np.datetime_as_string(
        ns.astype("datetime64[ns]").astype(f"datetime64[{unit}]"), unit=unit
    )
    quoted = ('"' + pd.Series(text, dtype="string") + 'Z"').to_numpy(dtype=object)
    quoted = np.asarray(quoted, dtype=object)
    quoted[missing] = "null"
    return quoted


# --- tables of pre-rendered records ---------------------------------------------------------


class Table:
    """Records of one kind, kept as JSON fragment columns in serving order.

    ``template`` is the record's JSON with ``%s`` where each column's fragment goes, in the
    order of ``columns``. ``keys`` (int64, ascending) are the instants a range filter searches.
    ``ids`` are the raw ids, for lookups by id.
    """

    def __init__(
        self,
        template: str,
        columns: dict[str, np.ndarray],
        *,
        ids: Sequence[Any] | np.ndarray | None = None,
        keys: np.ndarray | None = None,
    ) -> None:
        self.template = template
        self.names = list(columns)
        self.columns = [np.asarray(columns[n], dtype=object) for n in self.names]
        self.ids = np.asarray(
            ids if ids is not None else np.arange(self.size_of(columns)), dtype=object
        )
        self.keys = keys
        self._index: dict[Any, int] | None = None

    @staticmethod
    def size_of(columns: dict[str, np.ndarray]) -> int:
        return len(next(iter(columns.values()))) if columns else 0

    def __len__(self) -> int:
        return len(self.ids)

    def render(self, start: int, stop: int) -> list[str]:
        """The JSON objects of rows [start, stop)."""
        template = self.template
        return [template % row for row in zip(*(c[start:stop] for c in self.columns), strict=True)]

    def render_at(self, positions: np.ndarray) -> list[str]:
        template = self.template
        return [template % row for row in zip(*(c[positions] for c in self.columns), strict=True)]

    def position(self, record_id: Any) -> int | None:
        if self._index is None:
            self._index = {v: i for i, v in enumerate(self.ids.tolist())}
        return self._index.get(record_id)

    def key_range(self, low: int | None, high: int | None) -> tuple[int, int]:
        """Rows whose key lies in [low, high], inclusive; the whole table when both are None."""
        assert self.keys is not None
        start = 0 if low is None else int(np.searchsorted(self.keys, low, side="left"))
        stop = len(self) if high is None else int(np.searchsorted(self.keys, high, side="right"))
        return start, max(start, stop)

    def insert(
        self, at: int, fragments: dict[str, list[str]], ids: list[Any], keys: list[int] | None
    ) -> None:
        """Insert rows before position ``at`` (records created or grown while serving)."""
        self.columns = [
            np.insert(col, at, np.asarray(fragments[name], dtype=object))
            for name, col in zip(self.names, self.columns, strict=True)
        ]
        self.ids = np.insert(self.ids, at, np.asarray(ids, dtype=object))
        if self.keys is not None and keys is not None:
            self.keys = np.insert(self.keys, at, np.asarray(keys, dtype=np.int64))
        self._index = None

    def row_fragments(self, position: int) -> dict[str, str]:
        return {name: col[position] for name, col in zip(self.names, self.columns, strict=True)}


def join_objects(objects: list[str]) -> str:
    return "[" + ",".join(objects) + "]"


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    template: str  # e.g. "/rest/v1/audiences/{id}/members", the key of the stats
    handler: Callable[..., Response]


def route(method: str, template: str, handler: Callable[..., Response]) -> Route:
    """A route from a template whose ``{name}`` parts match one path segment each."""
    regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return Route(method, re.compile(regex), template, handler)


def match(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for a path. A path that matches with another method gives that route too,
    so the caller can answer 405 rather than 404."""
    fallback = None
    for candidate in routes:
        found = candidate.pattern.fullmatch(path)
        if found:
            if candidate.method == method:
                return candidate, found.groupdict()
            fallback = fallback or (candidate, found.groupdict())
    return fallback
