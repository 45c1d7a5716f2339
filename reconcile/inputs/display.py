"""The issues table as something a person reads: one block per file, errors first.

Builds rich renderables and a CSV; printing stays in the CLI (the library never prints).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from reconcile.inputs.issues import COLUMNS, ERROR, WARNING, count, order
from reconcile.safe_text import inert


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary_line(issues: pd.DataFrame, files: int) -> str:
    """``2 errors and 1 warning in 3 files`` or ``no problems in 3 files``."""
    errors, warnings = count(issues, ERROR), count(issues, WARNING)
    where = _plural(files, "file")
    if not errors and not warnings:
        return f"no problems in {where}"
    return f"{_plural(errors, 'error')} and {_plural(warnings, 'warning')} in {where}"


def blocks(issues: pd.DataFrame) -> Iterator[RenderableType]:
    """One titled table per file: most serious first, then top to bottom."""
    ordered = order(issues)
    for file, part in ordered.groupby("file", sort=False):
        errors, warnings = count(part, ERROR), count(part, WARNING)
        title = Text.assemble(
            (inert(file), "bold"),
            "  ",
            (_plural(errors, "error"), "red" if errors else "dim"),
            ", ",
            (_plural(warnings, "warning"), "yellow" if warnings else "dim"),
        )
        table = Table(title=title, title_justify="left", show_lines=False, expand=False)
        for name, ratio in (
            ("", None),
            ("Sheet", None),
            ("Row", None),
            ("Column", None),
            ("Value", 1),
            ("Problem", 3),
            ("Fix", 3),
        ):
            table.add_column(name, ratio=ratio, overflow="fold", no_wrap=name in ("", "Row"))
        for record in part.itertuples(index=False):
            mark = Text("error", "red") if record.severity == ERROR else Text("warn", "yellow")
            cells = (
                record.sheet or "",
                _row_text(record.row),
                record.column or "",
                _short(record.value),
                record.problem,
                record.fix,
            )
            # Text, not str: a cell is never read as rich markup; inert: never as escapes
            table.add_row(mark, *(Text(inert(cell)) for cell in cells))
        yield Group(table, Text(""))


def _short(value: object, limit: int = 40) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def write_csv(issues: pd.DataFrame, path: Path) -> Path:
    """Write the issues (all columns) as UTF-8 CSV with a BOM, so Excel opens it cleanly."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".part")
    safe = order(issues).loc[:, list(COLUMNS)].copy()
    for column in ("value", "problem", "fix", "column", "sheet", "file"):
        safe[column] = safe[column].map(_defuse)
    safe.to_csv(temporary, index=False, encoding="utf-8-sig")
    temporary.replace(path)
    return path


def _defuse(value: object) -> object:
    """Cells from HR's files could start with = + - @: quote them so Excel shows text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") and not _is_number(value):
        return "'" + value
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _row_text(row: Any) -> str:
    """The Excel row number as text, blank for a whole-file problem."""
    return "" if pd.isna(row) else str(int(row))
