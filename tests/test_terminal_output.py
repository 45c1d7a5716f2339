"""What `reconcile check` prints about hostile cells is inert on a real terminal."""

from __future__ import annotations

import re
from pathlib import Path

from reconcile.safe_text import inert
from tests.processes import run

#: Only colour codes (SGR: ESC [ digits m) may reach the terminal; nothing from a cell.
_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def test_check_shows_escape_sequences_in_cells_as_text(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "Employee ID,Name,Email\n"
        "0\x1b]0;pwned\x071,Ann,ann@x.example\n"
        "0\x1b]0;pwned\x071,Bob,\x1b[31mbob-at-x.example\n"
        "0\u202e3,Cat,[link=https://x.example]c[/link]\n"
        "0\u202e3,Dan,dan@x.example\n",
        encoding="utf-8",
    )
    result = run("check", roster, env={"FORCE_COLOR": "1", "COLUMNS": "200"})
    assert result.returncode == 2, result.stderr
    output = result.stdout + result.stderr
    assert _COLOUR.sub("", output).count("\x1b") == 0
    assert "\x07" not in output and "\u202e" not in output
    assert "\\x1b[31mbob-at-x.example" in output  # the malformed e-mail, shown as typed
    assert "0\\x1b]0;pwned\\x071" in output and "0\\u202e3" in output
    assert "[link=https://x.example]c[/link]" in output  # as typed, not made a link
    assert "\x1b]8;" not in output  # no hyperlink made from a cell


def test_inert_escapes_controls_and_direction_marks_and_keeps_the_rest() -> None:
    assert inert("a\x1b[2Jb\x07c\r\nd\te") == "a\\x1b[2Jb\\x07c\\r\\nd\\te"
    assert inert("Zoë Ångström – 北京") == "Zoë Ångström – 北京"
    assert inert("x\u202ey\x9bz") == "x\\u202ey\\x9bz"
