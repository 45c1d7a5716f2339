"""bench/RESULTS.md: each benchmark owns one section, replaced whole on each run."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def replace_section(section: str, lines: list[str], command: str) -> None:
    """Replace ``section`` (a ``## `` heading) of bench/RESULTS.md with its date, machine,
    load and command, then ``lines``; the other sections are kept as they are."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    head = [
        section,
        "",
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC · {platform.machine()}, "
        f"{os.cpu_count()} cores · load average {load} at the end · `{command}`",
        "",
    ]
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^{re.escape(section)}\n.*?(?=^## |\Z)", re.DOTALL | re.MULTILINE)
    body = "\n".join(head + lines) + "\n"
    text = pattern.sub(lambda _m: body, text) if pattern.search(text) else text + "\n" + body
    RESULTS.write_text(text, encoding="utf-8")
