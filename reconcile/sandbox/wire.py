"""Plumbing shared by the three sandbox platforms: requests, responses and fast JSON pages.

Why pre-rendered records: the sandbox stands in for a remote API served by other machines,
but in the tests and benchmarks it shares the client's cores. A loader benchmark pulls a
million records, so serving a 1,000-record page must cost next to nothing whatever the data
size. Each Table therefore renders every record to JSON once, vectorised with Arrow (on
first use, or up front with :meth:`Table.prepare`), into one buffer of ``record,`` texts;
a page of consecutive rows is then one slice of that buffer, and a page of chosen rows one
Arrow ``take``. The data are immutable while served, except where a platform inserts rows
(a POSTed completion, ``grow_during_pull``): :meth:`Table.insert` drops the rendered
records and the next page renders them again. ``render``/``render_at`` (one ``template %
row`` per record) remain the reference the fast path is tested against.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
    prefix: str = ""  # the platform prefix the path came under ("" when served at the root)

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


_UTC_DATETIME = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d{1,3})?Z")
#: The date forms each Thrive filter accepts. ``entries``: cpdEntries' documented
#: "YYYY-MM-DD hh:mm:ss" (its examples are date-only too); ``summaries``:
#: cpdUserLogSummaries' documented "YYYY-MM-DDThh:mm:ss" (no zone, read as UTC);
#: ``completions``: "date/date-time" (no format published), so any ISO 8601 form.
THRIVE_DATE_FORMS = {
    "entries": (
        re.compile(r"(\d{4}-\d{2}-\d{2})()()"),
        re.compile(r"(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})()"),
    ),
    "summaries": (re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})()"),),
    "completions": (re.compile(r"(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}:\d{2})(\.\d{1,6})?Z?)?"),),
}
_FORM_EXAMPLES = {
    "entries": "2026-01-31 or '2026-01-31 13:00:00'",
    "summaries": "2026-01-31T13:00:00",
    "completions": "2026-01-31 or 2026-01-31T13:00:00Z",
}


def _to_ns(day: str, clock: str | None, fraction: str | None) -> int:
    text = day + ("T" + clock if clock else "T00:00:00") + (fraction or "")
    try:
        stamp = dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
    except ValueError:
        raise BadRequest(f"{text!r} is not a valid date") from None
    return int(pd.Timestamp(stamp).value)


def thrive_instant(
    request: Request, name: str, *, forms: str, whole_day: bool = False
) -> int | None:
    """A Thrive date filter in one of the forms ``THRIVE_DATE_FORMS[forms]`` allows (UTC).

    ``whole_day``: a date-only value covers the whole day (an inclusive *To* read
    generously); otherwise it is 00:00:00 of that day.
    """
    raw = request.arg(name)
    if raw is None:
        return None
    for pattern in THRIVE_DATE_FORMS[forms]:
        match = pattern.fullmatch(raw.strip())
        if match:
            break
    else:
        raise BadRequest(f"{name} must look like {_FORM_EXAMPLES[forms]} (got {raw!r})")
    day, clock, fraction = match.groups()
    value = _to_ns(day, clock or None, fraction or None)
    if not clock and whole_day:
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


# --- columns: raw values that render themselves as JSON fragments --------------------------

# What JSON must escape: a quote, a backslash or a control character (RE2 syntax, for Arrow).
_NEEDS_ESCAPE = r'["\\\x00-\x1f]'


def _text_scalar(text: str) -> pa.Scalar:
    return pa.scalar(text, type=pa.large_string())


_QUOTE, _ZULU_QUOTE, _EMPTY = _text_scalar('"'), _text_scalar('Z"'), _text_scalar("")
_NULL, _TRUE, _FALSE = _text_scalar("null"), _text_scalar("true"), _text_scalar("false")


def _large_text(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values.cast(pa.large_string())


class Column:
    """One column of a Table. Values stay in compact arrays (Arrow strings, int64, bool);
    only the rows of the page being served become JSON text."""

    def slice(self, start: int, stop: int) -> list[str]:
        raise NotImplementedError

    def take(self, positions: np.ndarray) -> list[str]:
        raise NotImplementedError

    def raw(self, positions: Sequence[int] | np.ndarray) -> list[Any]:
        raise NotImplementedError

    def inserted(self, at: int, values: Sequence[Any]) -> Column:
        raise NotImplementedError

    def equals(self, value: Any, start: int, stop: int) -> np.ndarray:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def fragments(self) -> pa.Array:
        """Every value's JSON fragment, as Arrow text (what ``slice`` gives, all at once).
        Subclasses vectorise it; this reference version goes through ``slice``."""
        return pa.array(self.slice(0, len(self)), type=pa.large_string())


class TextColumn(Column):
    """Text (or null). Escaping is decided once per column, vectorised: almost every column
    needs none, and then a value is rendered by wrapping it in quotes."""

    def __init__(self, values: pd.Series | pd.api.extensions.ExtensionArray) -> None:
        series = pd.Series(values).astype("string[pyarrow]")
        self.values = series.array
        flagged = pc.match_substring_regex(pa.array(self.values), _NEEDS_ESCAPE)
        self.plain = not pc.any(flagged).as_py()

    def __len__(self) -> int:
        return len(self.values)

    def _render(self, values: list[Any]) -> list[str]:
        if self.plain:
            return ["null" if v is None else f'"{v}"' for v in values]
        return ["null" if v is None else json.dumps(v, ensure_ascii=False) for v in values]

    def _python(self, array: Any) -> list[Any]:
        return array.to_numpy(dtype=object, na_value=None).tolist()

    def slice(self, start: int, stop: int) -> list[str]:
        return self._render(self._python(self.values[start:stop]))

    def take(self, positions: np.ndarray) -> list[str]:
        return self._render(self._python(self.values.take(np.asarray(positions, dtype=np.int64))))

    def raw(self, positions: Sequence[int] | np.ndarray) -> list[Any]:
        return self._python(self.values.take(np.asarray(positions, dtype=np.int64)))

    def inserted(self, at: int, values: Sequence[Any]) -> TextColumn:
        extra = pd.array(list(values), dtype="string[pyarrow]")
        joined = pd.concat(
            [pd.Series(self.values[:at]), pd.Series(extra), pd.Series(self.values[at:])],
            ignore_index=True,
        )
        return TextColumn(joined)

    def equals(self, value: Any, start: int, stop: int) -> np.ndarray:
        found = self.values[start:stop] == value
        return np.asarray(pd.array(found).fillna(False), dtype=bool)

    def all_values(self) -> list[Any]:
        return self._python(self.values)

    def fragments(self) -> pa.Array:
        values = _large_text(pa.array(self.values))
        quoted = pc.binary_join_element_wise(_QUOTE, values, _QUOTE, _EMPTY)
        if not self.plain:  # only the values that need escaping go through json.dumps
            flagged = pc.fill_null(pc.match_substring_regex(values, _NEEDS_ESCAPE), False)
            escaped = [
                json.dumps(v, ensure_ascii=False) for v in values.filter(flagged).to_pylist()
            ]
            quoted = pc.replace_with_mask(quoted, flagged, pa.array(escaped, pa.large_string()))
        return pc.fill_null(quoted, _NULL)


class IntColumn(Column):
    def __init__(self, values: pd.Series | np.ndarray) -> None:
        self.values = np.asarray(pd.Series(values).to_numpy(dtype=np.int64))

    def __len__(self) -> int:
        return len(self.values)

    def slice(self, start: int, stop: int) -> list[str]:
        return list(map(str, self.values[start:stop].tolist()))

    def take(self, positions: np.ndarray) -> list[str]:
        return list(map(str, self.values[positions].tolist()))

    def raw(self, positions: Sequence[int] | np.ndarray) -> list[Any]:
        return self.values[np.asarray(positions, dtype=np.int64)].tolist()

    def inserted(self, at: int, values: Sequence[Any]) -> IntColumn:
        return IntColumn(np.insert(self.values, at, np.asarray(values, dtype=np.int64)))

    def equals(self, value: Any, start: int, stop: int) -> np.ndarray:
        return self.values[start:stop] == value

    def fragments(self) -> pa.Array:
        return pa.array(self.values, type=pa.int64()).cast(pa.large_string())


class BoolColumn(IntColumn):
    def __init__(self, values: pd.Series | np.ndarray) -> None:
        self.values = np.asarray(values, dtype=bool)

    def slice(self, start: int, stop: int) -> list[str]:
        return ["true" if v else "false" for v in self.values[start:stop].tolist()]

    def take(self, positions: np.ndarray) -> list[str]:
        return ["true" if v else "false" for v in self.values[positions].tolist()]

    def inserted(self, at: int, values: Sequence[Any]) -> BoolColumn:
        return BoolColumn(np.insert(self.values, at, np.asarray(values, dtype=bool)))

    def fragments(self) -> pa.Array:
        return pc.if_else(pa.array(self.values, type=pa.bool_()), _TRUE, _FALSE)


_NAT = np.iinfo(np.int64).min


class InstantColumn(IntColumn):
    """UTC instants kept as int64 nanoseconds; rendered ``"2026-01-12T05:00:00.000Z"``
    (or without milliseconds), ``null`` for NaT."""

    def __init__(self, values: pd.Series | np.ndarray, *, millis: bool = True) -> None:
        self.values = (
            instant_ns(values) if isinstance(values, pd.Series) else np.asarray(values, np.int64)
        )
        self.millis = millis

    def _text(self, ns: np.ndarray) -> np.ndarray:
        unit: Literal["ms", "s"] = "ms" if self.millis else "s"
        return np.datetime_as_string(
            ns.astype("datetime64[ns]").astype(f"datetime64[{unit}]"), unit=unit
        )

    def _render(self, ns: np.ndarray) -> list[str]:
        text = self._text(ns)
        return [
            "null" if n == _NAT else f'"{t}Z"'
            for n, t in zip(ns.tolist(), text.tolist(), strict=True)
        ]

    def fragments(self) -> pa.Array:
        text = pa.array(self._text(self.values), type=pa.large_string())
        quoted = pc.binary_join_element_wise(_QUOTE, text, _ZULU_QUOTE, _EMPTY)
        return pc.if_else(pa.array(self.values == _NAT), _NULL, quoted)

    def slice(self, start: int, stop: int) -> list[str]:
        return self._render(self.values[start:stop])

    def take(self, positions: np.ndarray) -> list[str]:
        return self._render(self.values[positions])

    def inserted(self, at: int, values: Sequence[Any]) -> InstantColumn:
        return InstantColumn(
            np.insert(self.values, at, np.asarray(values, dtype=np.int64)), millis=self.millis
        )


class FragmentColumn(Column):
    """Ready JSON fragments, for small tables (and floats, whose rendering varies)."""

    def __init__(self, fragments: Sequence[str] | np.ndarray) -> None:
        self.values = np.asarray(list(fragments), dtype=object)

    def __len__(self) -> int:
        return len(self.values)

    def slice(self, start: int, stop: int) -> list[str]:
        return self.values[start:stop].tolist()

    def take(self, positions: np.ndarray) -> list[str]:
        return self.values[positions].tolist()

    def raw(self, positions: Sequence[int] | np.ndarray) -> list[Any]:
        return self.values[np.asarray(positions, dtype=np.int64)].tolist()

    def inserted(self, at: int, values: Sequence[Any]) -> FragmentColumn:
        return FragmentColumn(np.insert(self.values, at, np.asarray(values, dtype=object)))

    def equals(self, value: Any, start: int, stop: int) -> np.ndarray:
        return self.values[start:stop] == value

    def fragments(self) -> pa.Array:
        return pa.array(self.values.tolist(), type=pa.large_string())


def float_column(values: pd.Series) -> FragmentColumn:
    return FragmentColumn(["null" if pd.isna(v) else json.dumps(float(v)) for v in values])


def instant_ns(values: pd.Series) -> np.ndarray:
    """UTC nanoseconds as int64 (NaT becomes the int64 minimum, which sorts first)."""
    series = pd.Series(values)
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    return series.astype("datetime64[ns]").to_numpy().astype(np.int64)


# --- tables ----------------------------------------------------------------------------------


class _Rendered:
    """Every record of a Table as JSON followed by a comma, in one Arrow buffer: the records
    of rows [a, b) are the bytes between two offsets, ready to send."""

    def __init__(self, records: pa.LargeStringArray) -> None:
        self.records = records
        self._data, self._offsets = _text_buffers(records)

    def array(self, start: int, stop: int) -> bytes:
        return _json_array(self._data, self._offsets[start], self._offsets[stop])

    def array_at(self, positions: np.ndarray) -> bytes:
        chosen = self.records.take(pa.array(positions, type=pa.int64()))
        data, offsets = _text_buffers(chosen)
        return _json_array(data, offsets[0], offsets[-1])

    def one(self, position: int) -> bytes:
        return bytes(self._data[self._offsets[position] : self._offsets[position + 1] - 1])


def _text_buffers(records: pa.LargeStringArray) -> tuple[memoryview, np.ndarray]:
    _, offsets, data = records.buffers()
    positions = np.frombuffer(offsets, dtype=np.int64)[
        records.offset : records.offset + len(records) + 1
    ]
    return memoryview(data) if data is not None else memoryview(b""), positions


def _json_array(data: memoryview, start: int, stop: int) -> bytes:
    """``[`` + the records between two offsets without their last comma + ``]``."""
    if stop <= start:
        return b"[]"
    return b"".join((b"[", data[start : stop - 1], b"]"))


def _render_all(template: str, columns: list[Column]) -> _Rendered:
    """Every record at once: the template's literal pieces and each column's fragments
    joined element-wise by Arrow (C++), each record followed by a comma."""
    pieces = [""]
    for part in re.split(r"(%%|%s)", template):
        if part == "%s":
            pieces.append("")
        else:
            pieces[-1] += "%" if part == "%%" else part
    if len(pieces) != len(columns) + 1 or any(
        "%" in piece for piece in re.split(r"%%|%s", template)
    ):
        raise ValueError(f"template {template!r} does not match its {len(columns)} columns")
    parts: list[Any] = []
    for piece, column in zip(pieces, columns, strict=False):
        if piece:
            parts.append(_text_scalar(piece))
        parts.append(column.fragments())
    parts.append(_text_scalar(pieces[-1] + ","))
    records = pc.binary_join_element_wise(*parts, _EMPTY)
    if records.null_count:
        raise ValueError("a column rendered a null fragment")
    return _Rendered(records)


class Table:
    """Records of one kind in serving order, rendered page by page.

    ``template`` is the record's JSON with ``%s`` where each column's fragment goes, in the
    order of ``columns``. ``keys`` (int64, ascending) are the instants a range filter searches.
    ``id_column`` (or explicit ``ids``) serves lookups by id.

    Pages are served from the records rendered once (``json_array``, ``json_array_at``,
    ``json_object``: UTF-8 bytes); ``render``/``render_at`` build the same text per record.
    """

    def __init__(
        self,
        template: str,
        columns: dict[str, Column],
        *,
        id_column: str | None = None,
        ids: Sequence[Any] | None = None,
        keys: np.ndarray | None = None,
    ) -> None:
        self.template = template
        self.columns = dict(columns)
        self.id_column = id_column
        self._ids = list(ids) if ids is not None else None
        self.keys = keys
        self._index: dict[Any, int] | None = None
        self._lock = threading.Lock()
        self._rendered: _Rendered | None = None

    @property
    def names(self) -> list[str]:
        return list(self.columns)

    def column(self, name: str) -> Column:
        return self.columns[name]

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def render(self, start: int, stop: int) -> list[str]:
        """The JSON objects of rows [start, stop)."""
        template = self.template
        parts = [c.slice(start, stop) for c in self.columns.values()]
        return [template % row for row in zip(*parts, strict=True)]

    def render_at(self, positions: np.ndarray) -> list[str]:
        positions = np.asarray(positions, dtype=np.int64)
        template = self.template
        parts = [c.take(positions) for c in self.columns.values()]
        return [template % row for row in zip(*parts, strict=True)]

    def prepare(self) -> None:
        """Render every record now, so that no request pays for it later."""
        self._records()

    def _records(self) -> _Rendered:
        rendered = self._rendered
        if rendered is None:
            with self._lock:
                if self._rendered is None:
                    self._rendered = _render_all(self.template, list(self.columns.values()))
                rendered = self._rendered
        return rendered

    def json_array(self, start: int, stop: int) -> bytes:
        """``[...]`` of the records of rows [start, stop), as sent."""
        if stop <= start:
            return b"[]"
        return self._records().array(start, stop)

    def json_array_at(self, positions: np.ndarray) -> bytes:
        """``[...]`` of the records at these positions, in their order."""
        positions = np.asarray(positions, dtype=np.int64)
        if not len(positions):
            return b"[]"
        return self._records().array_at(positions)

    def json_object(self, position: int) -> bytes:
        """The one record at ``position``."""
        return self._records().one(position)

    def position(self, record_id: Any) -> int | None:
        if self._index is None:
            if self._ids is not None:
                ids = self._ids
            else:
                assert self.id_column is not None
                ids = self.columns[self.id_column].raw(np.arange(len(self)))
            self._index = {v: i for i, v in enumerate(ids)}
        return self._index.get(record_id)

    def key_range(self, low: int | None, high: int | None) -> tuple[int, int]:
        """Rows whose key lies in [low, high], inclusive; the whole table when both are None."""
        assert self.keys is not None
        start = 0 if low is None else int(np.searchsorted(self.keys, low, side="left"))
        stop = len(self) if high is None else int(np.searchsorted(self.keys, high, side="right"))
        return start, max(start, stop)

    def raw_rows(self, positions: Sequence[int] | np.ndarray) -> dict[str, list[Any]]:
        return {name: col.raw(positions) for name, col in self.columns.items()}

    def insert(self, at: int, values: dict[str, list[Any]], keys: list[int] | None) -> None:
        """Insert rows before position ``at`` (records created or grown while serving); the
        rendered records are dropped, and the next page renders them again."""
        with self._lock:
            self.columns = {
                name: col.inserted(at, values[name]) for name, col in self.columns.items()
            }
            if self.keys is not None and keys is not None:
                self.keys = np.insert(self.keys, at, np.asarray(keys, dtype=np.int64))
            self._index = None
            self._rendered = None


def join_objects(objects: list[str]) -> str:
    return "[" + ",".join(objects) + "]"


def bytes_json_response(status: int, body: bytes, *, records: int = 0) -> Response:
    """A response whose JSON is already UTF-8 bytes (pages cut from rendered records)."""
    return Response(status, body, records=records)


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
