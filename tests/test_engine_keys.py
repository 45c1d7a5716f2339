"""The engine's fast key machinery gives exactly what the plain pandas spelling gives.

Identity, vocabularies and the ledger key millions of rows on integer codes (packed short
strings, Arrow hash lookups, hash-bucket duplicate search). Each shortcut is checked here
against the obvious, slow formulation on random data, and the whole engine is run with and
without the packed-string path on the benchmark's generator.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from reconcile.engine import identity, ledger, reconcile, text

ALPHABET = ["a", "B", "é", "ß", "", " ", "\x00", "7", "€", "\t"]


def _random_texts(rng: np.random.Generator, n: int, longest: int = 4) -> list[str | None]:
    return [
        "".join(rng.choice(ALPHABET, rng.integers(0, longest + 1))) if rng.random() > 0.2 else None
        for _ in range(n)
    ]


def test_packed_factorize_matches_arrow_dictionary_encoding(monkeypatch) -> None:
    monkeypatch.setattr(text, "_PACK_FROM", 0)
    rng = np.random.default_rng(11)
    packed_used = 0
    for trial in range(100):
        n = int(rng.integers(0, 120))
        typ = pa.large_string() if trial % 2 else pa.string()
        arr = pa.array(_random_texts(rng, n, longest=2 + trial % 4), type=typ)
        if trial % 3 == 0 and n > 3:
            arr = arr.slice(2, n - 3)  # an offset into the buffers
        if trial % 5 == 0:
            arr = pa.chunked_array([arr, arr.slice(0, len(arr) // 2)], type=typ)
        flat = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
        packed_used += text._packed(flat) is not None
        codes, uniques = text.factorize(pd.Series(pd.array(arr, dtype="str")))
        expected = pc.dictionary_encode(flat)
        assert codes.tolist() == pc.fill_null(expected.indices, -1).to_pylist()
        assert list(uniques) == expected.dictionary.to_pylist()
    assert packed_used > 50  # the packed path really ran


def test_memoised_codes_are_shared_and_read_only() -> None:
    values = pd.Series(["x", "y", "x", None], dtype="str")
    with text.encoding_memo():
        first, _ = text.factorize(values)
        again, _ = text.factorize(values)
        assert again is first
        assert first.tolist() == [0, 1, 0, -1]
        with pytest.raises(ValueError):
            first[0] = 5


def test_casefold_matches_python() -> None:
    rng = np.random.default_rng(5)
    for _ in range(100):
        values = pd.Series(_random_texts(rng, int(rng.integers(0, 30))), dtype="str", name="n")
        pd.testing.assert_series_equal(text.casefold(values), values.str.casefold())
    assert text.casefold(pd.Series(["Straße", "MAIL@X.EXAMPLE"], dtype="str")).tolist() == [
        "strasse",
        "mail@x.example",
    ]


def test_name_folding_matches_the_regex_spelling() -> None:
    rng = np.random.default_rng(3)
    alphabet = [*"aB ", "\t", "\n", "\x0b", "\x0c", "\r", "\x1c", "\x1f", "\xa0", "É", "\u2003"]
    for _ in range(60):
        names = [
            "".join(rng.choice(alphabet, rng.integers(0, 6))) if rng.random() > 0.1 else None
            for _ in range(int(rng.integers(0, 25)))
        ]
        values = pd.Series(names, dtype="str")
        expected = values.str.casefold().str.replace(r"\s+", " ", regex=True).str.strip()
        pd.testing.assert_series_equal(identity._fold_name(values), expected)


def test_sorted_unique_matches_numpy() -> None:
    rng = np.random.default_rng(2)
    for n, bound in ((1000, 50), (0, 10), (5, 50_000), (20_000, 60_000)):
        values = rng.integers(0, bound, n).astype(np.int64)
        pairs, inverse = text._sorted_unique(values, bound)
        expected_pairs, expected_inverse = np.unique(values, return_inverse=True)
        assert pairs.tolist() == expected_pairs.tolist()
        assert inverse.tolist() == expected_inverse.tolist()


def test_repeated_keys_match_duplicated() -> None:
    rng = np.random.default_rng(8)
    for n in (0, 10, 5_000, 60_000):
        pair = rng.integers(0, max(n // 3, 1), n).astype(np.int64)
        minutes = rng.choice([15.0, 30.0, 60.0, np.nan], n)
        expected = pd.DataFrame({"p": pair, "m": minutes}).duplicated(keep=False).to_numpy()
        got = ledger._repeated(pair, minutes)
        assert got.tolist() == expected.tolist()
        assert got.sum() > 0 or n < 20


def test_structured_flags_match_nullable_fill() -> None:
    rng = np.random.default_rng(4)
    choice = np.array([True, False, None], dtype=object)
    n = 500
    given = pd.Series(rng.choice(choice, n), dtype="boolean")
    course_flags = pd.Series(rng.choice(choice, 7), dtype="boolean")
    category_flags = pd.Series(rng.choice(choice, 4), dtype="boolean")
    course = rng.integers(-1, 7, n)
    category = rng.integers(-1, 4, n)
    expected = (
        given.fillna(pd.Series(course_flags.to_numpy()[course], dtype="boolean").where(course >= 0))
        .fillna(
            pd.Series(category_flags.to_numpy()[category], dtype="boolean").where(category >= 0)
        )
        .fillna(False)
        .to_numpy(dtype=bool)
    )
    got = ledger.structured_flags(given, course_flags, course, category_flags, category)
    assert got.tolist() == expected.tolist()


def test_shared_codes_spell_each_key_as_first_seen() -> None:
    column = pd.Series(["ethics", "Ethics ", None, "ETHICS", "Safety", "safety"], dtype="str")
    sheet = pd.Series(["Safety "], dtype="str")
    (codes, sheet_codes), vocab, (first, sheet_first) = text.shared_codes(
        [column, sheet], normalise=lambda s: s.str.strip().str.casefold(), spellings=True
    )
    assert list(vocab) == ["ethics", "safety"]
    assert codes.tolist() == [0, 0, -1, 0, 1, 1]
    assert sheet_codes.tolist() == [1]
    assert first.tolist() == ["ethics", "Safety"]
    assert sheet_first.tolist() == [None, "Safety "]


def _reference_resolve(people: pd.DataFrame, accounts: pd.DataFrame) -> pd.DataFrame:
    """The rule as a plain loop over accounts (fine for a few dozen rows)."""
    out = []
    for _, acc in accounts.iterrows():
        found = None
        steps = [
            ("explicit id", f"{acc['system']}_id", acc["account_id"], str.strip),
            ("external reference", "employee_id", acc["external_ref"], str.strip),
            ("email", "email", acc["email"], lambda v: v.strip().casefold()),
        ]
        for step, column, value, norm in steps:
            if column not in people or pd.isna(value):
                continue
            keys = people[column].map(lambda v, norm=norm: None if pd.isna(v) else norm(v))
            hits = sorted(set(np.flatnonzero((keys == norm(value)).to_numpy())))
            if hits:
                found = (step, hits)
                break
        if found is None:
            out.append((-1, "unmatched", "", None))
        elif len(found[1]) == 1:
            out.append((found[1][0], "matched", found[0], None))
        else:
            out.append((-1, "ambiguous", found[0], found[1]))
    return pd.DataFrame(out, columns=["person", "match", "rule", "candidates"])


def test_matcher_agrees_with_the_rule_written_as_a_loop() -> None:
    rng = np.random.default_rng(9)
    for _ in range(15):
        n = int(rng.integers(1, 8))
        ids = [f"E{i}" for i in rng.integers(0, 5, n)]  # repeated ids: ambiguity
        people = pd.DataFrame(
            {
                "employee_id": pd.Series(ids, dtype="str"),
                "email": pd.Series(
                    [rng.choice([f"a{i}@x.example", f" A{i}@X.example ", None]) for i in range(n)],
                    dtype="str",
                ),
                "thrive_id": pd.Series(
                    [rng.choice(["t1", " t1", "t2", None]) for _ in range(n)], dtype="str"
                ),
                "brightspace_id": pd.Series([None] * n, dtype="str"),
                "coursepath_id": pd.Series([None] * n, dtype="str"),
            }
        )
        m = int(rng.integers(1, 12))
        accounts = pd.DataFrame(
            {
                "system": pd.Series(rng.choice(["thrive", "coursepath"], m), dtype="str"),
                "account_id": pd.Series(rng.choice(["t1", "t2 ", "c9"], m), dtype="str"),
                "email": pd.Series(
                    [rng.choice(["a0@x.example", "a1@X.EXAMPLE", None]) for _ in range(m)],
                    dtype="str",
                ),
                "external_ref": pd.Series(
                    [rng.choice(["E1", " E2", "Z", None]) for _ in range(m)], dtype="str"
                ),
            }
        )
        got = identity.resolve(people, accounts)
        expected = _reference_resolve(people, accounts)
        assert got["person"].tolist() == expected["person"].tolist()
        assert got["match"].tolist() == expected["match"].tolist()
        assert got["rule"].tolist() == expected["rule"].tolist()
        assert got["candidates"].tolist() == expected["candidates"].tolist()


def _bench_generator():
    path = Path(__file__).resolve().parent.parent / "bench" / "engine.py"
    spec = importlib.util.spec_from_file_location("bench_engine_for_tests", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_engine_result_is_the_same_with_and_without_packed_keys(monkeypatch) -> None:
    bench = _bench_generator()
    tables = bench.generate(400)
    plain = reconcile(tables, bench.RULES)
    monkeypatch.setattr(text, "_PACK_FROM", 0)
    packed = reconcile(tables, bench.RULES)
    for field in dataclasses.fields(plain):
        left, right = getattr(plain, field.name), getattr(packed, field.name)
        if isinstance(left, pd.DataFrame):
            pd.testing.assert_frame_equal(left, right, check_exact=True)
    assert len(plain.people) == 400
    assert len(plain.activities) == 400 * bench.ACTIVITIES_PER_PERSON
    assert (plain.activities["disposition"] == "counted").sum() > 0
