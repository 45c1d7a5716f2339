"""Turning JSON records into typed frames from a declared column mapping.

Each loader declares its mapping once, as ``Column(name, json_path, kind)`` tuples at the top
of its module; this module only knows how to apply one. Kinds and the dtypes they give:

- ``id``: ``string`` (numbers become their decimal text: Brightspace ids are integers)
- ``str``: ``string``
- ``int``: ``Int64`` (minutes: fractional values are rounded half up)
- ``bool``: ``boolean``
- ``float``: ``Float64``
- ``datetime``: ``datetime64[ns, UTC]``

Big lists are decoded straight into Arrow columns (:class:`ArrowPages`): Arrow's JSON parser
runs in C++ without the interpreter lock, so the worker threads parse pages in parallel,
and a million records never become a million Python dicts (whose decoding, per-field
extraction and garbage collection used to be most of a large pull's CPU). Arrow is only a
faster route to the same frame: any page it cannot read exactly as declared (a number where
text is expected, a fraction in a whole-number field, duplicate keys, a pretty-printed or
non-UTF-8 body...) is decoded by the JSON path as before, and a list with any such page is
built entirely the old way, so the frames are identical either way.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from reconcile.sources.http import RequestStats

DTYPES = {
    "id": "string",
    "str": "string",
    "int": "Int64",
    "bool": "boolean",
    "float": "Float64",
    "datetime": "datetime64[ns, UTC]",
}


@dataclass(frozen=True)
class Column:
    """One output column: its snake_case name, the dotted JSON path, and its kind."""

    name: str
    path: str
    kind: str


def dig(record: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(record, dict):
            return None
        record = record.get(part)
    return record


def extract(records: Sequence[Any], path: str) -> list[Any]:
    """One field of every record; a fast path for the usual shapes, ``dig`` for odd ones."""
    parts = path.split(".")
    try:
        if len(parts) == 1:
            return [r.get(parts[0]) for r in records]
        if len(parts) == 2:
            first, second = parts
            return [(r.get(first) or {}).get(second) for r in records]
    except AttributeError:
        pass
    return [dig(r, path) for r in records]


def _convert(values: list[Any], kind: str) -> Any:
    """Typed array for one column; pandas' own converters first, per-value fallbacks after."""
    if kind in ("id", "str"):
        try:  # the fast path: Arrow converts a list of str/None in C
            return pd.array(pa.array(values, type=pa.large_string()), dtype="string")
        except (pa.ArrowException, TypeError, ValueError):
            pass
        try:  # ints (Brightspace ids) become their decimal text here
            return pd.array(values, dtype="string")
        except (TypeError, ValueError):
            return pd.array([None if v is None else _as_text(v) for v in values], dtype="string")
    if kind == "int":
        try:
            return pd.array(values, dtype="Int64")
        except (TypeError, ValueError):
            return pd.array([_as_int(v) for v in values], dtype="Int64")
    if kind == "float":
        try:
            return pd.array(values, dtype="Float64")
        except (TypeError, ValueError):
            return pd.array([_as_float(v) for v in values], dtype="Float64")
    if kind == "bool":
        try:
            return pd.array(values, dtype="boolean")
        except (TypeError, ValueError):
            return pd.array([v if isinstance(v, bool) else None for v in values], dtype="boolean")
    if kind == "datetime":
        series = pd.to_datetime(
            pd.Series(values, dtype="object"), utc=True, format="ISO8601", errors="coerce"
        )
        return series.astype("datetime64[ns, UTC]").array
    raise ValueError(f"unknown column kind {kind!r}")


def _as_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _as_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if math.isnan(number):
        return None
    return math.floor(number + 0.5)


def _as_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


ARROW_TYPES = {  # text as large_string: what pandas' "string" dtype holds, so no cast later
    "id": pa.large_string(),
    "str": pa.large_string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "datetime": pa.string(),  # cast to instants per page (``INSTANT``), else parsed by pandas
}
INSTANT = pa.timestamp("ns", tz="UTC")
JSON_WHITESPACE = b" \t\r\n"
_WRAPPER = "page"


class ArrowRecords:
    """Records held as Arrow columns, one flat table per page (a column per dotted path),
    never as Python dicts. Pages are flattened where they are parsed, in the worker threads,
    so joining them at the end costs next to nothing. Timestamp fields are also cast to UTC
    instants there (``instants``: per page, path → array; a page whose text Arrow refuses has
    none for that path, and the whole column then goes the old way)."""

    def __init__(
        self,
        chunks: Sequence[pa.Table],
        instants: Sequence[dict[str, pa.Array]] | None = None,
        keys: Sequence[set[Any] | None] | None = None,
    ) -> None:
        self.chunks = list(chunks)
        self.instants = list(instants) if instants is not None else [{} for _ in self.chunks]
        self.keys = list(keys) if keys is not None else [None for _ in self.chunks]
        self._length = sum(chunk.num_rows for chunk in self.chunks)
        self._joined: pa.Table | None = None

    @classmethod
    def from_structs(
        cls, records: pa.StructArray, instant_paths: Sequence[str] = (), key_path: str = ""
    ) -> ArrowRecords:
        columns = _flatten(records, "")
        instants = {}
        for path in instant_paths:
            # the same cast _convert_arrow makes, done here, outside the main thread
            with contextlib.suppress(pa.ArrowException, ValueError, KeyError):
                instants[path] = pc.cast(columns[path], INSTANT)
        keys = set(columns[key_path].to_pylist()) if key_path in columns else None
        return cls([pa.table(columns)], [instants], [keys])

    def keys_distinct(self) -> bool:
        """True when the key field (``ArrowPages(key_path=...)``) of every record differs from
        every other's and none is null: the table cannot hold a duplicate, so de-duplicating
        it can be skipped. False whenever that is not certain (then it is de-duplicated)."""
        if any(page is None for page in self.keys):
            return False
        seen: set[Any] = set().union(*self.keys)  # type: ignore[arg-type]
        return None not in seen and len(seen) == self._length

    def instants_of(self, path: str) -> pa.ChunkedArray | None:
        """The field as UTC instants when every page could be cast, else None."""
        arrays = [page.get(path) for page in self.instants]
        if any(array is None for array in arrays):
            return None
        return pa.chunked_array(arrays, type=INSTANT)

    def __len__(self) -> int:
        return self._length

    def field(self, path: str) -> pa.ChunkedArray:
        """One dotted field of every record; null where the record or a parent is null."""
        if self._joined is None:
            self._joined = pa.concat_tables(self.chunks)
        return self._joined.column(path)

    def to_pylist(self) -> list[Any]:
        """The records as dicts (only the declared fields): for a list that mixes routes."""
        return [_nest(row) for chunk in self.chunks for row in chunk.to_pylist()]


def _flatten(records: pa.StructArray, prefix: str) -> dict[str, pa.Array]:
    """Leaf arrays by dotted path; ``StructArray.flatten`` carries a null parent down."""
    columns: dict[str, pa.Array] = {}
    for field, child in zip(records.type, records.flatten(), strict=True):
        path = f"{prefix}{field.name}"
        if pa.types.is_struct(field.type):
            columns.update(_flatten(child, f"{path}."))
        else:
            columns[path] = child
    return columns


def _nest(row: dict[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for path, value in row.items():
        *parents, leaf = path.split(".")
        node = record
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return record


@dataclass(frozen=True)
class ArrowEnvelope:
    """A Thrive envelope page read by Arrow: its records and its ``pagination`` object."""

    records: ArrowRecords
    pagination: dict[str, Any]


def join_records(parts: Sequence[Any]) -> Any:
    """The records of several pages as one: Arrow when every page was read by Arrow, else
    a list of dicts (Arrow pages converted), which the JSON path builds exactly as before."""
    if parts and all(isinstance(part, ArrowRecords) for part in parts):
        return ArrowRecords(
            [chunk for part in parts for chunk in part.chunks],
            [page for part in parts for page in part.instants],
            [page for part in parts for page in part.keys],
        )
    joined: list[Any] = []
    for part in parts:
        joined.extend(part.to_pylist() if isinstance(part, ArrowRecords) else part)
    return joined


class ArrowPages:
    """A page decoder for the HTTP core: the body straight into Arrow, or None (use JSON).

    ``envelope``: a Thrive ``{"pagination", "results"}`` page (→ :class:`ArrowEnvelope`);
    otherwise a bare JSON array of records (→ :class:`ArrowRecords`). Only the mapping's
    fields are read, with the types their kinds need; anything else in a record is ignored,
    as the JSON path ignores it.
    """

    def __init__(self, columns: Sequence[Column], *, envelope: bool, key_path: str = "") -> None:
        """``key_path``: the field that identifies a record (a one-column key); each page's
        values are collected as it is read, so ``ArrowRecords.keys_distinct`` can tell at
        the end, cheaply, that a table holds no duplicate."""
        self.envelope = envelope
        self.key_path = key_path
        self.instant_paths = tuple(c.path for c in columns if c.kind == "datetime")
        record = _record_type(columns)
        if record is None:
            self._parse = None
            return
        if envelope:
            paging = pa.struct([("totalResults", pa.int64()), ("totalPages", pa.int64())])
            schema = pa.schema([("pagination", paging), ("results", pa.list_(record))])
        else:  # a bare array is wrapped as {"page": [<array>]}; see __call__
            schema = pa.schema([(_WRAPPER, pa.list_(pa.list_(record)))])
        self._parse = pa_json.ParseOptions(
            explicit_schema=schema, unexpected_field_behavior="ignore"
        )

    def __call__(self, body: bytes) -> ArrowEnvelope | ArrowRecords | None:
        if self._parse is None:
            return None
        body = body.strip(JSON_WHITESPACE)
        # Arrow reads one JSON document per line; a raw line break can only be whitespace
        # between tokens (pretty-printing), which this route does not try to handle.
        if b"\n" in body or b"\r" in body or not _utf8(body):
            return None
        if not self.envelope:
            # Wrapped in a one-element array, anything but a single JSON array is refused
            # below (trailing text after the array cannot form a valid wrapped document).
            body = b'{"' + _WRAPPER.encode() + b'":[' + body + b"]}"
        try:
            table = pa_json.read_json(
                io.BytesIO(body),
                read_options=pa_json.ReadOptions(use_threads=False, block_size=len(body) + 64),
                parse_options=self._parse,
            )
        except (pa.ArrowException, ValueError):  # not exactly our shape: the JSON path decides
            return None
        if table.num_rows != 1:
            return None
        if self.envelope:
            results = table.column("results").combine_chunks()
            if results.null_count:
                return None
            pagination = table.column("pagination")[0].as_py() or {}
            records = ArrowRecords.from_structs(
                results.flatten(), self.instant_paths, self.key_path
            )
            return ArrowEnvelope(records, pagination)
        outer = table.column(_WRAPPER).combine_chunks()
        if outer.null_count or len(outer.flatten()) != 1:
            return None
        inner = outer.flatten()
        if inner.null_count:
            return None
        return ArrowRecords.from_structs(inner.flatten(), self.instant_paths, self.key_path)


def _utf8(body: bytes) -> bool:
    """Valid UTF-8 without a BOM: Arrow does not check, and ``Response.json()`` would replace
    invalid bytes and refuse a BOM, so such bodies are left to it."""
    if body.isascii():
        return True
    if body.startswith(b"\xef\xbb\xbf"):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _record_type(columns: Sequence[Column]) -> pa.StructType | None:
    """The Arrow struct the mapping's dotted paths describe; None if they conflict."""
    tree: dict[str, Any] = {}
    for column in columns:
        *parents, leaf = column.path.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                return None
        wanted = ARROW_TYPES[column.kind]
        if node.get(leaf, wanted) != wanted:
            return None  # one field read as two kinds, or as a leaf and a parent
        node[leaf] = wanted

    def struct(node: dict[str, Any]) -> pa.StructType:
        return pa.struct(
            [(name, struct(v) if isinstance(v, dict) else v) for name, v in node.items()]
        )

    return struct(tree)


def _convert_arrow(
    values: pa.ChunkedArray, kind: str, instants: pa.ChunkedArray | None = None
) -> Any:
    """The typed array ``_convert`` would give for the same values, taken from Arrow.
    ``instants``: a datetime field already cast per page (``ArrowRecords.instants_of``)."""
    if kind in ("id", "str"):
        # Kept in its pages' chunks: joining them would copy every string of a million-row
        # table once more, in the main thread, for an equal array (values, dtype, Parquet).
        return pd.StringDtype("pyarrow").__from_arrow__(values.cast(pa.large_string()))
    if kind == "int":
        return pd.Int64Dtype().__from_arrow__(values)
    if kind == "float":
        return pd.Float64Dtype().__from_arrow__(values)
    if kind == "bool":
        return pd.BooleanDtype().__from_arrow__(values)
    if kind == "datetime":
        try:  # Arrow's ISO 8601 parser, about 20x faster than pandas' ...
            if instants is None:
                instants = pc.cast(values, INSTANT)
        except (pa.ArrowException, ValueError):  # ... but it refuses some forms pandas reads
            return _convert(values.to_numpy(zero_copy_only=False), kind)
        # the same tz object as pandas' own parser gives (datetime.timezone.utc)
        return instants.to_pandas().dt.tz_convert(datetime.UTC).array
    raise ValueError(f"unknown column kind {kind!r}")


def frame(
    records: Sequence[Any] | ArrowRecords,
    columns: Sequence[Column],
    *,
    extra: dict[str, tuple[str, Iterable[Any]]] | None = None,
) -> pd.DataFrame:
    """Build a typed frame; ``extra`` adds columns (name → (kind, values)) before the mapped ones.

    An empty list gives an empty frame with the same columns and dtypes.
    """
    if isinstance(records, ArrowRecords) and not len(records):
        records = []
    data: dict[str, Any] = {}
    for name, (kind, values) in (extra or {}).items():
        data[name] = _convert(list(values), kind)
    for column in columns:
        if isinstance(records, ArrowRecords):
            instants = records.instants_of(column.path) if column.kind == "datetime" else None
            data[column.name] = _convert_arrow(records.field(column.path), column.kind, instants)
        else:
            data[column.name] = _convert(extract(records, column.path), column.kind)
    result = pd.DataFrame(data)
    if result.empty:
        result = pd.DataFrame(
            {name: pd.Series(dtype=DTYPES[kind]) for name, (kind, _) in (extra or {}).items()}
            | {c.name: pd.Series(dtype=DTYPES[c.kind]) for c in columns}
        )
    return result


def dedupe(
    table: pd.DataFrame, keys: Sequence[str], *, stats: RequestStats, label: str
) -> tuple[pd.DataFrame, int]:
    """Drop rows whose key was already seen (the first wins) and report how many went."""
    if table.empty:
        return table, 0
    repeated = table.duplicated(subset=list(keys), keep="first").to_numpy()
    dropped = int(np.count_nonzero(repeated))
    if dropped:
        stats.warn(f"{label}: the same record id came back more than once; dropped {dropped}")
        table = table.loc[~repeated].reset_index(drop=True)
    return table, dropped
