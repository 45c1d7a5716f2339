"""Renderers: the Excel workbook and the PDF reports (DESIGN.md §7)."""

from reconcile.render.xlsx import write_workbook

__all__ = ["write_workbook"]
