"""Renderers: the Excel workbook and the PDF reports (DESIGN.md §7)."""

from reconcile.render.pdf import write_report_pdf, write_statements
from reconcile.render.xlsx import write_workbook

__all__ = ["write_report_pdf", "write_statements", "write_workbook"]
