"""Statements drawn by Typst: the default, or ``[output] statement_renderer = "typst"``.

Why a second renderer: WeasyPrint lays out every statement in pure Python, so the 11,000
statements of a 100,000-person month were most of its run. Typst (a compiled typesetter, the
``typst`` wheel) draws the same statement, tagged, A4, with "Page X of Y", several times
faster (``bench/statements_typst.py``, bench/RESULTS.md). The organisation report stays with
WeasyPrint: one document a run, where the HTML templates' flexibility costs nothing that
matters.

``templates/statement.typ`` shows what ``statement.html`` shows. A user's templates folder
may hold its own ``statement.typ``. The statement's context (``pdf_context``) reaches the
template as one JSON document in ``sys.inputs.data``, its figures already formatted by the
functions the HTML templates' filters use, so a value is always shown as text and never
read as Typst markup. Typst reads files only under the template's own folder (its root).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reconcile.errors import ConfigError
from reconcile.files import atomic_path
from reconcile.render.pdf_assets import (
    format_minutes,
    format_number,
    format_percent,
    template_dirs,
)

TEMPLATE = "statement.typ"


def template_path(templates: Path | None) -> Path:
    """``statement.typ`` from the user's folder when it has one, else ours."""
    for folder in template_dirs(templates):
        candidate = folder / TEMPLATE
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"template {TEMPLATE} not found in {[str(d) for d in template_dirs(templates)]}; "
        "copy it from reconcile's templates folder"
    )


def statement_data(context: dict[str, Any]) -> str:
    """The statement's context as ``statement.typ`` reads it: every figure also as the text
    the HTML template shows (blank where that template shows nothing)."""
    people = [_person(p) for p in context["people"]]
    return json.dumps({**context, "people": people}, default=str)


def _person(p: dict[str, Any]) -> dict[str, Any]:
    structured = ""
    if p.get("structured_required"):
        structured = (
            f"{format_number(p['structured'])} of {format_number(p['structured_required'])}"
        )
    return {
        **p,
        "department": p.get("department") or "",
        "progress_text": format_percent(p["progress"]) if p.get("progress") is not None else "",
        "counted_text": format_minutes(p["counted"]),
        "pending_text": format_number(p["pending"]) if p.get("pending") else "",
        "required_text": format_minutes(p["required"]),
        "structured_text": structured,
        "shortfall_text": format_minutes(p["shortfall"]),
    }


class TypstStatements:
    """One Typst compiler for a process: its fonts and the parsed template are loaded once
    and kept for every statement that process draws."""

    def __init__(self, templates: Path | None) -> None:
        import typst

        self.template = template_path(templates)
        self._error = typst.TypstError
        self._compiler = typst.Compiler(input=str(self.template), root=str(self.template.parent))

    def write(self, context: dict[str, Any], path: Path) -> Path:
        """Draw one statement and write it atomically, readable by the job's user alone."""
        try:
            pdf = self._compiler.compile(sys_inputs={"data": statement_data(context)})
        except self._error as err:
            raise ConfigError(
                f"template {self.template}: {_first_line(err)}; fix the template "
                f"or copy {TEMPLATE} again from reconcile's templates folder"
            ) from None
        assert isinstance(pdf, bytes), "a PDF is one document"
        with atomic_path(path, mode=0o600) as temporary:
            temporary.write_bytes(pdf)
        return path


def _first_line(err: Exception) -> str:
    message = getattr(err, "message", None) or str(err)
    return str(message).strip().splitlines()[0][:300] if str(message).strip() else "it failed"
