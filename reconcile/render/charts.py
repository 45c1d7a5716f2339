"""SVG charts drawn as strings: WeasyPrint runs no JavaScript and needs no matplotlib for bars.

Every label is XML-escaped here, because the result is inserted into the page unescaped
(``|safe``): department names come from HR's spreadsheets.
"""

from __future__ import annotations

from html import escape
from typing import Any

STATUS_COLOURS = {
    "Compliant": "#2f7d4f",
    "On track": "#5b8fc7",
    "At risk": "#d99a1e",
    "Non-compliant": "#b83a3a",
    "Not required": "#a7adb5",
    "Exempt": "#cfd4da",
}
_FONT = "font-family='DejaVu Sans, sans-serif'"


def status_bar(counts: dict[str, int], width: int = 640) -> str:
    """One stacked bar of people by status, with a legend underneath."""
    total = sum(counts.values())
    bar_h, legend_y = 26, 52
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} 80' "
        f"width='{width}' height='80' role='img' aria-label='People by status'>"
    ]
    x = 0.0
    for status, count in counts.items():
        if not count or not total:
            continue
        w = width * count / total
        parts.append(
            f"<rect x='{x:.2f}' y='0' width='{w:.2f}' height='{bar_h}' "
            f"fill='{STATUS_COLOURS.get(status, '#888')}'/>"
        )
        x += w
    if not total:
        parts.append(f"<rect x='0' y='0' width='{width}' height='{bar_h}' fill='#eceff2'/>")
    lx, ly = 0, legend_y
    for status, count in counts.items():
        colour = STATUS_COLOURS.get(status, "#888")
        text = f"{status} {count:,}"
        step = 14 + round(6.4 * len(text)) + 16
        if lx and lx + step > width:
            lx, ly = 0, ly + 16
        parts.append(f"<rect x='{lx}' y='{ly - 9}' width='10' height='10' fill='{colour}'/>")
        parts.append(
            f"<text x='{lx + 14}' y='{ly}' font-size='11' {_FONT} fill='#333'>{escape(text)}</text>"
        )
        lx += step
    parts.append("</svg>")
    return "".join(parts)


def department_bars(rows: list[dict[str, Any]], width: int = 640, limit: int = 12) -> str:
    """Compliance rate per department (lowest first), 0–100 %, one bar each."""
    shown = rows[:limit]
    label_w, row_h, top = 170, 20, 4
    height = top + row_h * max(1, len(shown)) + 18
    plot_w = width - label_w - 50
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' "
        f"width='{width}' height='{height}' role='img' "
        "aria-label='Compliance rate by department'>"
    ]
    for tick in (0, 25, 50, 75, 100):
        tx = label_w + plot_w * tick / 100
        parts.append(
            f"<line x1='{tx:.1f}' y1='{top}' x2='{tx:.1f}' y2='{height - 16}' "
            "stroke='#dde1e6' stroke-width='1'/>"
            f"<text x='{tx:.1f}' y='{height - 4}' font-size='9' {_FONT} fill='#6b7280' "
            f"text-anchor='middle'>{tick}%</text>"
        )
    for i, row in enumerate(shown):
        y = top + i * row_h
        name = str(row["department"])
        name = name if len(name) <= 26 else name[:25] + "…"
        rate = row.get("rate")
        parts.append(
            f"<text x='{label_w - 8}' y='{y + 14}' font-size='10' {_FONT} fill='#333' "
            f"text-anchor='end'>{escape(name)}</text>"
        )
        if rate is None:
            parts.append(
                f"<text x='{label_w + 4}' y='{y + 14}' font-size='10' {_FONT} "
                "fill='#6b7280'>no one owes CPD</text>"
            )
            continue
        w = plot_w * max(0.0, min(100.0, rate)) / 100
        colour = "#2f7d4f" if rate >= 90 else "#d99a1e" if rate >= 60 else "#b83a3a"
        parts.append(
            f"<rect x='{label_w}' y='{y + 4}' width='{w:.1f}' height='{row_h - 8}' "
            f"fill='{colour}'/>"
            f"<text x='{label_w + w + 4:.1f}' y='{y + 14}' font-size='10' {_FONT} "
            f"fill='#333'>{rate:.0f}%</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
