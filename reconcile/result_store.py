"""The engine's result kept in the run folder (``result/``), for the commands that come after.

Why: ``send``, ``push-completions`` and ``run --compare`` act on a run that already happened.
Reading its figures back from ``result/`` (one Parquet file per frame + ``rules.json``) means
they act on exactly what the officer saw in the workbook, not on a fresh reconciliation that
could differ if a spreadsheet was edited since. Written under a temporary name and renamed,
like every other output.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd

from reconcile.engine import Result, Rules
from reconcile.errors import InputError
from reconcile.files import atomic_folder

RESULT_FOLDER = "result"
RULES_FILE = "rules.json"
FORMAT_VERSION = 1
#: The Result fields that are frames, each stored as ``<name>.parquet``.
FRAMES = tuple(f.name for f in dataclasses.fields(Result) if f.name != "rules")


def write_result(folder: Path, result: Result) -> Path:
    """Write ``folder/result/`` atomically (temporary folder, then rename) and return it."""
    final = Path(folder) / RESULT_FOLDER
    final.parent.mkdir(parents=True, exist_ok=True)
    with atomic_folder(final) as temporary:
        for name in FRAMES:
            _storable(getattr(result, name)).to_parquet(temporary / f"{name}.parquet", index=False)
        rules = {"format": FORMAT_VERSION, **_rules_json(result.rules)}
        (temporary / RULES_FILE).write_text(json.dumps(rules, indent=2) + "\n", encoding="utf-8")
    return final


def read_result(run_folder: Path) -> Result:
    """The result a run wrote into ``run_folder``; InputError (exit 2) if it is missing."""
    folder = Path(run_folder) / RESULT_FOLDER
    rules_path = folder / RULES_FILE
    if not rules_path.is_file():
        raise InputError(
            f"{run_folder}: not a run folder (no {RESULT_FOLDER}/{RULES_FILE}); pass the folder "
            "`reconcile run` wrote, e.g. reports/2026-12, or run it again with this version"
        )
    try:
        raw = json.loads(rules_path.read_text(encoding="utf-8"))
        frames = {name: pd.read_parquet(folder / f"{name}.parquet") for name in FRAMES}
    except (OSError, ValueError) as error:
        raise InputError(
            f"{folder}: cannot be read ({error}); run `reconcile report` again to rewrite it"
        ) from None
    return Result(rules=_rules_from_json(raw), **frames)


def _storable(frame: pd.DataFrame) -> pd.DataFrame:
    """Parquet needs string column names and one type per object column."""
    out = frame.copy(deep=False)
    out.columns = [str(c) for c in out.columns]
    for column in out.columns:
        if out[column].dtype == object:
            values = out[column]
            out[column] = values.where(values.isna(), values.astype(str)).astype("string")
    return out


def _rules_json(rules: Rules) -> dict[str, Any]:
    return {
        k: v.isoformat() if isinstance(v, dt.date) else v
        for k, v in dataclasses.asdict(rules).items()
    }


def _rules_from_json(raw: dict[str, Any]) -> Rules:
    dates = ("period_start", "period_end", "as_of")
    known = {f.name for f in dataclasses.fields(Rules)}
    values: dict[str, Any] = {
        k: dt.date.fromisoformat(v) if k in dates else v for k, v in raw.items() if k in known
    }
    return Rules(**values)
