"""The run folder's ``result/``: what `send`, `push-completions` and `--compare` read back."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from reconcile.engine import Result, Rules
from reconcile.errors import InputError
from reconcile.result_store import FRAMES, RESULT_FOLDER, read_result, write_result


def _result() -> Result:
    rules = Rules(
        period_start=dt.date(2026, 1, 1),
        period_end=dt.date(2026, 12, 31),
        as_of=dt.date(2026, 11, 15),
        timezone="Europe/London",
        multiple_audiences="sum",
        completion_match_days=7,
    )
    people = pd.DataFrame(
        {
            "employee_id": pd.array(["000123", "=cmd"], dtype="string"),
            "status": pd.Categorical(["Compliant", "At risk"]),
            "counted": [600, 30],
            "audiences": pd.Series([["Nurses"], None], dtype=object),
        }
    )
    frames = {name: pd.DataFrame({"x": [1, 2]}) for name in FRAMES}
    frames["people"] = people
    return Result(rules=rules, **frames)


def test_round_trip_keeps_rules_values_and_leading_zeros(tmp_path: Path) -> None:
    written = write_result(tmp_path, _result())
    assert written == tmp_path / RESULT_FOLDER
    back = read_result(tmp_path)
    assert back.rules == _result().rules
    assert back.people["employee_id"].tolist() == ["000123", "=cmd"]
    assert back.people["status"].astype(str).tolist() == ["Compliant", "At risk"]
    assert back.people["counted"].tolist() == [600, 30]
    assert back.people["audiences"].iloc[0] == "['Nurses']"
    assert back.people["audiences"].isna().iloc[1]
    assert back.activities["x"].tolist() == [1, 2]


def test_rewrite_replaces_and_leaves_no_temporary_folder(tmp_path: Path) -> None:
    write_result(tmp_path, _result())
    write_result(tmp_path, _result())
    assert sorted(p.name for p in tmp_path.iterdir()) == [RESULT_FOLDER]


def test_a_folder_without_result_is_a_clear_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a run folder"):
        read_result(tmp_path)
