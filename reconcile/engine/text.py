"""Normalising text keys once per *distinct* value, never once per row.

Why: two million activity rows carry perhaps a few thousand distinct titles. Factorising first
and normalising the uniques keeps the string work proportional to the vocabulary, not the data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_PUNCTUATION = r"[^\w\s]|_"


def factorize(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(int64 codes, -1 for missing; uniques) like ``pd.factorize``, faster on Arrow strings.

    pandas' own factorize of an Arrow-backed string column with many distinct values is about
    2.5x slower than Arrow's dictionary encoding, and every key column of millions of
    activities goes through here. Falls back to ``pd.factorize`` for any other storage.
    """
    arr = getattr(values.array, "_pa_array", None)
    if arr is None or (not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type)):
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        return codes.astype(np.int64), np.asarray(uniques, dtype=object)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()
    packed = _packed(arr) if len(arr) >= _PACK_FROM else None
    if packed is not None:
        codes, dictionary = _factorize_packed(*packed)
    else:
        encoded = pc.dictionary_encode(arr)
        codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
        dictionary = encoded.dictionary
    uniques = np.asarray(dictionary.to_pylist(), dtype=object)
    return codes, uniques


#: Below this many rows Arrow's dictionary encoding is as fast as packing; above it, packing
#: short strings into integers pays (ids such as "t12345" across millions of records).
_PACK_FROM = 50_000
#: Bytes of text that fit in one uint64 next to the length byte.
_PACK_WIDTH = 7
#: Mask keeping the first L bytes of a little-endian word, for L = 0..7.
_BYTE_MASKS = np.array([(1 << (8 * size)) - 1 for size in range(8)], dtype=np.uint64)


def _packed(arr: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """Each string as one uint64 (length byte, then up to 7 UTF-8 bytes), and the null mask.

    Why: hashing millions of short strings is the single largest cost of keying a ledger;
    hashing the same values as integers is several times faster and gives the same groups,
    since (length, bytes) identifies a string. None when any value is longer than 7 bytes.
    """
    n = len(arr)
    measured = pc.binary_length(arr)
    longest = pc.max(measured).as_py() or 0
    if longest > _PACK_WIDTH:
        return None
    lengths = pc.fill_null(measured, 0).to_numpy(zero_copy_only=False)
    valid = (
        np.ones(n, dtype=bool)
        if arr.null_count == 0
        else arr.is_valid().to_numpy(zero_copy_only=False)
    )
    _, offsets_buf, data_buf = arr.buffers()
    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    start = np.frombuffer(offsets_buf, dtype=width)[arr.offset : arr.offset + n]
    data = (
        np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    )
    padded = np.concatenate([data, np.zeros(8, dtype=np.uint8)])
    # every byte offset of the text buffer read as a little-endian uint64 (overlapping,
    # unaligned views): one gather loads the first 8 bytes of every string at once
    words = np.ndarray(shape=(len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))
    keys = words[start]
    keys &= _BYTE_MASKS[lengths]
    keys <<= np.uint64(8)
    np.bitwise_or(keys, lengths, out=keys, dtype=np.uint64, casting="unsafe")
    return keys, valid


def _factorize_packed(keys: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, pa.Array]:
    """(codes, -1 for null; distinct strings) in first-seen order, as dictionary encoding."""
    # Arrow's integer hash table: about 3x faster than pd.factorize on two million keys
    encoded = pc.dictionary_encode(pa.array(keys, mask=None if valid.all() else ~valid))
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    uniques = encoded.dictionary.to_numpy()
    raw = np.ascontiguousarray(uniques, dtype="<u8").view(np.uint8).reshape(-1, 8)
    lengths = raw[:, 0].astype(np.int64)
    data = raw[:, 1:][np.arange(1, 8)[None, :] <= lengths[:, None]]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    dictionary = pa.LargeStringArray.from_buffers(
        len(uniques), pa.py_buffer(offsets), pa.py_buffer(data.tobytes())
    )
    return codes, dictionary


def positions(values: pd.Series, vocabulary: pa.Array) -> np.ndarray:
    """Position of each value in ``vocabulary`` (distinct strings); -1 where absent or missing.

    Arrow's hash lookup: ``pd.Index.get_indexer`` on string data first turns both sides into
    Python objects, several times slower for the hundreds of thousands of account keys.
    """
    arr = getattr(values.array, "_pa_array", None)
    if arr is None:
        arr = pa.array(values.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)
    if not len(vocabulary):
        return np.full(len(values), -1, dtype=np.int64)
    if arr.type != vocabulary.type:
        arr = arr.cast(vocabulary.type)
    found = pc.index_in(arr, value_set=vocabulary, skip_nulls=True)
    return pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def text_array(values) -> pa.Array:
    """Strings as an Arrow large_string array (straight from Arrow-backed text; missing as null)."""
    arr = getattr(getattr(values, "array", None), "_pa_array", None)
    if arr is not None:
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        return arr.cast(pa.large_string())
    return pa.array(np.asarray(values, dtype=object), type=pa.large_string(), from_pandas=True)


def fill_text(values: pd.Series, fallback: pd.Series) -> pd.Series:
    """``values.fillna(fallback)`` (positionally aligned) for text, as one Arrow coalesce.

    pandas' fillna on Arrow strings goes through a masked ``__setitem__`` that costs far more
    than the coalesce it amounts to (half a million completion titles per run).
    """
    left = getattr(values.array, "_pa_array", None)
    right = getattr(fallback.array, "_pa_array", None)
    if left is None or right is None or values.dtype != fallback.dtype:
        return values.fillna(pd.Series(fallback.to_numpy(), index=values.index))
    if right.type != left.type:
        right = right.cast(left.type)
    filled = pc.coalesce(left, right)
    return pd.Series(pd.array(filled, dtype=values.dtype), index=values.index, name=values.name)


def normalise_titles(values: pd.Series) -> pd.Series:
    """Case-fold, drop punctuation, collapse repeated spaces (§6 rule 4)."""
    text = values.astype("str").str.casefold()
    text = text.str.replace(_PUNCTUATION, "", regex=True)
    return text.str.replace(r"\s+", " ", regex=True).str.strip()


def normalise_names(values: pd.Series) -> pd.Series:
    """Audience and category names as compared: trimmed, case-folded, runs of white space as
    one space ("CLINICAL  SKILLS" is "Clinical Skills")."""
    text = values.astype("str").str.strip().str.casefold()
    return text.str.replace(r"\s+", " ", regex=True)


def is_draft(state: pd.Series) -> np.ndarray:
    """True where the record's state says draft (compared once per distinct state)."""
    codes, uniques = factorize(state)
    flags = np.append(pd.Series(uniques, dtype="str").str.casefold().eq("draft").to_numpy(), False)
    return flags[codes]


def normalise_emails(values: pd.Series) -> pd.Series:
    """Trim and case-fold (§6 rule 1)."""
    return casefold(values.astype("str").str.strip())


def casefold(values: pd.Series) -> pd.Series:
    """``str.casefold`` per value, with Arrow's lower-casing for pure-ASCII values.

    For ASCII text case-folding *is* ASCII lower-casing, which Arrow does without a Python
    call per value; only the (few) values with other characters take the Python path. Same
    result as ``values.str.casefold()``.
    """
    arr = getattr(values.array, "_pa_array", None)
    if arr is None:
        return values.str.casefold()
    out = pd.Series(pd.array(pc.ascii_lower(arr), dtype=values.dtype), index=values.index)
    other = ~pc.fill_null(pc.string_is_ascii(arr), True).to_numpy(zero_copy_only=False)
    if other.any():
        out[other] = values[other].str.casefold()
    return out.rename(values.name)


def normalise_ids(values: pd.Series) -> pd.Series:
    """IDs compare as the text the user sees, without surrounding spaces."""
    return values.astype("str").str.strip()


def shared_codes(columns: list[pd.Series], normalise=normalise_titles, *, spellings: bool = False):
    """Integer keys for ``columns`` on one shared vocabulary of normalised values.

    Returns one int64 code array per input column (-1 where the value is missing or
    normalises to nothing) and the normalised vocabulary the codes index. With
    ``spellings=True`` also, per column, the first-seen raw value of each vocabulary key
    (None where the column has none): a display name found on the distinct values alone.
    """
    pieces = [factorize(col) for col in columns]
    uniques = pd.Series(
        np.concatenate([np.asarray(u, dtype=object) for _, u in pieces])
        if pieces
        else np.array([], dtype=object),
        dtype="str",
    )
    normalised = normalise(uniques) if len(uniques) else uniques
    normalised = normalised.where(normalised.str.len() > 0)
    key_codes, vocabulary = pd.factorize(normalised, use_na_sentinel=True)
    key_codes = key_codes.astype(np.int64)
    out: list[np.ndarray] = []
    firsts: list[np.ndarray] = []
    offset = 0
    for codes, u in pieces:
        of_unique = key_codes[offset : offset + len(u)]
        # one gather per row: the extra last slot answers code -1 (missing) with -1
        out.append(np.append(of_unique, -1)[codes])
        if spellings:
            firsts.append(_first_spellings(of_unique, u, len(vocabulary)))
        offset += len(u)
    if spellings:
        return out, pd.Index(vocabulary), firsts
    return out, pd.Index(vocabulary)


def _first_spellings(of_unique: np.ndarray, uniques: np.ndarray, size: int) -> np.ndarray:
    """Per key: the earliest of the distinct raw values (first-seen order) that maps to it.

    Uniques come in first-seen order, so the earliest one with a key is the raw value of the
    key's first row.
    """
    out = np.full(size, None, dtype=object)
    keyed = np.flatnonzero(of_unique >= 0)
    keys, first = np.unique(of_unique[keyed], return_index=True)
    out[keys] = np.asarray(uniques, dtype=object)[keyed[first]]
    return out


def round_half_up(values: np.ndarray | pd.Series | float, decimals: int = 0):
    """Round halves away from zero for non-negative figures (never banker's rounding).

    A tiny epsilon absorbs binary noise such as 1200 × 59 / 365 landing a hair under .5.
    """
    scale = 10.0**decimals
    arr = np.asarray(values, dtype="float64") * scale
    out = np.sign(arr) * np.floor(np.abs(arr) + 0.5 + 1e-9) / scale
    if np.ndim(values) == 0:
        return float(out)
    if isinstance(values, pd.Series):
        return pd.Series(out, index=values.index)
    return out


def pair_codes(first: pd.Series, second: pd.Series) -> tuple[np.ndarray, pd.DataFrame]:
    """Integer code per row for the pair (first, second), and the distinct pairs.

    Lets a two-string-column key (system, account_id) be merged once per distinct pair
    rather than once per row. Missing values stay missing in the returned pairs.
    """
    a_codes, a_uniques = factorize(first)
    b_codes, b_uniques = factorize(second)
    width = len(b_uniques) + 1
    # built in one buffer: each temporary of a ledger's length is fresh memory to fault in
    combined = a_codes + 1
    combined *= width
    combined += b_codes
    combined += 1
    pairs, inverse = _sorted_unique(combined, width * (len(a_uniques) + 1))
    a_of, b_of = pairs // width - 1, pairs % width - 1
    a_vals = np.asarray(a_uniques, dtype=object)
    b_vals = np.asarray(b_uniques, dtype=object)
    frame = pd.DataFrame(
        {
            "first": pd.Series(
                np.where(a_of >= 0, a_vals[np.maximum(a_of, 0)] if len(a_vals) else None, None),
                dtype="str",
            ),
            "second": pd.Series(
                np.where(b_of >= 0, b_vals[np.maximum(b_of, 0)] if len(b_vals) else None, None),
                dtype="str",
            ),
        }
    )
    return inverse.astype(np.int64), frame


def _sorted_unique(values: np.ndarray, bound: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` for non-negative ints below ``bound``.

    When the range is not much wider than the data, a presence table replaces the sort:
    linear time instead of n log n on the millions of (system, account) codes of a ledger.
    """
    if bound > 4 * len(values) + 1024:
        return np.unique(values, return_inverse=True)
    seen = np.zeros(bound, dtype=bool)
    seen[values] = True
    rank = np.cumsum(seen) - 1
    return np.flatnonzero(seen), rank[values]
