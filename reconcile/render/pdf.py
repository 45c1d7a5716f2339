"""PDF reports (DESIGN.md §7): the organisation report and one statement per manager or person.

Jinja2 templates (ours in ``templates/``, a user's folder overriding them file by file) are
rendered to HTML and laid out by WeasyPrint: the organisation report, and the statements when
the config or the user's folder asks for ``statement.html`` (:func:`statement_renderer`);
otherwise Typst draws the statements from ``statement.typ`` (:mod:`pdf_typst`). Two safety
rules hold whatever the data says: Jinja autoescapes every value (a course title is text,
never markup), and WeasyPrint may only load files from the template folders (see
:func:`pdf_assets.safe_fetcher`), so no value can make it read a local file or reach the
network; Typst gets values as JSON text and reads only its template's folder.

Long tables are cut to a fixed number of rows with a line saying how many more there are and
that the workbook has them all: WeasyPrint's layout cost grows with pages, and a PDF someone
forwards should be read, not scrolled.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

import jinja2

from reconcile.engine import Result
from reconcile.engine.changes import Changes
from reconcile.errors import ConfigError
from reconcile.files import atomic_path
from reconcile.interrupts import signals_deferred
from reconcile.progress import NullProgress, Progress
from reconcile.render import charts, pdf_context
from reconcile.render.pdf_assets import (
    environment,
    parsed_stylesheet,
    template_dirs,
    write_html_pdf,
)
from reconcile.render.pdf_typst import TypstStatements
from reconcile.render.statement_files import (
    statement_filename,
    statement_filenames,
    write_record,
)

log = logging.getLogger(__name__)

REPORT_TEMPLATE = "report.html"
STATEMENT_TEMPLATE = "statement.html"
#: Statement batches at least this large go to a process pool.
POOL_THRESHOLD = 24
#: The progress task of the statements (one count per statement written).
STATEMENTS_TASK = "statements"


def write_report_pdf(
    result: Result,
    path: Path,
    *,
    organisation: str,
    pulled_at: Any = None,
    templates: Path | None = None,
    changes: Changes | None = None,
) -> Path:
    """Write ``compliance-report.pdf`` atomically and return its path.

    ``changes`` (from ``run --compare``) adds the "Changes since" page.
    """
    env = environment(templates)
    context = pdf_context.report(result, organisation=organisation, pulled_at=pulled_at)
    context["changes"] = pdf_context.changes(changes) if changes is not None else None
    context["charts"] = {
        "status": charts.status_bar(context["status_counts"]),
        "departments": charts.department_bars(context["departments"]["rows"]),
    }
    html = _render(env, REPORT_TEMPLATE, context)
    return _atomic_pdf(html, Path(path), template_dirs(templates))


def write_statements(
    result: Result,
    folder: Path,
    *,
    organisation: str,
    by: Literal["manager", "person"] = "manager",
    templates: Path | None = None,
    processes: int | None = None,
    record: Path | None = None,
    progress: Progress | None = None,
    renderer: Literal["weasyprint", "typst"] | None = None,
) -> list[Path]:
    """Write one PDF in ``folder`` for each manager (their direct reports) or each person.

    File names come from :func:`statement_filenames` (distinct for distinct ids). With
    ``record`` (the run folder's ``statements.csv``), which file is whose is written there
    once every PDF is. People without a manager get no statement with ``by="manager"``: they
    appear in the organisation report. Big batches use a process pool (one Jinja environment
    per worker, recycled every few hundred files). Each statement's context is built only
    when a worker is ready for it, so memory does not grow with the number of statements.
    ``progress`` counts them as they are written (the longest step of a large run).
    ``renderer``: ``statement.typ`` through Typst (:mod:`pdf_typst`, several times faster)
    or ``statement.html`` through WeasyPrint; None: :func:`statement_renderer` chooses.
    """
    if by not in ("manager", "person"):
        raise ConfigError(f'statements = "{by}"; use "manager", "person" or "none"')
    drawn_by = statement_renderer(renderer, templates)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    groups = pdf_context.statement_groups(result, by=by)
    names = statement_filenames(groups.ids)
    contexts = pdf_context.statement_contexts(
        groups, pdf_context.period_context(result, organisation)
    )
    jobs = ({**job, "file_name": names[job["statement_id"]]} for job in contexts)
    progress = progress or NullProgress()
    progress.start(STATEMENTS_TASK, total_pages=len(groups), unit="statements")
    paths = []
    for path in _write_all(jobs, len(groups), folder, templates, drawn_by, processes):
        paths.append(path)
        progress.advance(STATEMENTS_TASK, pages=1)
    progress.finish(STATEMENTS_TASK)
    if record is not None:
        write_record(record.parent, zip(groups.ids, groups.names, paths, strict=True))
    return paths


def statement_renderer(chosen: str | None, templates: Path | None) -> str:
    """The renderer ``chosen`` in the config; unset, Typst, unless the user's templates folder
    restyles the HTML statement (one of ``HTML_STATEMENT_FILES``): their design is kept."""
    if chosen is not None:
        if chosen not in RENDERERS:
            raise ConfigError(f'statement_renderer = "{chosen}"; use "typst" or "weasyprint"')
        return chosen
    own = [n for n in HTML_STATEMENT_FILES if templates and (Path(templates) / n).is_file()]
    if own:
        log.info(
            'statements drawn from your %s by WeasyPrint; set statement_renderer = "typst" '
            "for statement.typ, several times faster",
            " and ".join(own),
        )
        return "weasyprint"
    return "typst"


def _write_all(
    jobs: Iterator[dict[str, Any]],
    count: int,
    folder: Path,
    templates: Path | None,
    renderer: str,
    processes: int | None,
) -> Iterator[Path]:
    """The ``count`` statements of ``jobs``, in order, each as it is written: in this
    process, or a pool for many."""
    if not count:
        return
    folder_name = str(templates) if templates else None
    args = ((job, str(folder), folder_name) for job in jobs)
    workers = processes or os.cpu_count() or 1
    if workers <= 1 or count < POOL_THRESHOLD:
        _worker_init(folder_name, renderer)
        yield from (Path(_statement_job(a)) for a in args)
        return
    ctx = multiprocessing.get_context("forkserver" if os.name == "posix" else "spawn")
    if os.name == "posix":  # workers fork from a server that has WeasyPrint imported already
        ctx.set_forkserver_preload([__name__])
        _start_fork_server_deaf_to_ctrl_c()
    chunk = max(1, min(16, count // (workers * 4)))
    with signals_deferred():  # a pool interrupted while it starts leaves workers behind
        pool = ctx.Pool(
            workers,
            initializer=_pool_worker_init,
            initargs=(folder_name, renderer),
            maxtasksperchild=400,
        )
    with pool:
        yield from (Path(p) for p in pool.imap(_pool_statement_job, args, chunksize=chunk))


# ------------------------------------------------------------------ internals

RENDERERS = ("typst", "weasyprint")
#: A user's templates folder holding one of these restyles the HTML statement.
HTML_STATEMENT_FILES = ("statement.html", "statement.css", "base.css", "_macros.html")
_ENV: jinja2.Environment | None = None
#: This process's Typst compiler, when statements are drawn by Typst.
_TYPST: TypstStatements | None = None
#: The statement styles (base.css + statement.css, the user's if they override them), parsed
#: once per process and shared by every statement that process lays out.
_STATEMENT_CSS: Any = None
#: Statements this pool worker has written (see :func:`_collect_after_statement`).
_WORKER_STATEMENTS = 0
FULL_COLLECTION_EVERY = 20
STATEMENT_STYLES = ("base.css", "statement.css")


def _worker_init(templates: str | None, renderer: str) -> None:
    """Build, once per process, what every statement shares: the Jinja environment and the
    parsed statement stylesheet (the font configuration is cached in pdf_assets), or the
    Typst compiler."""
    global _ENV, _STATEMENT_CSS, _TYPST  # noqa: PLW0603 - per worker process, built once
    user = Path(templates) if templates else None
    if renderer == "typst":
        _TYPST, _ENV, _STATEMENT_CSS = TypstStatements(user), None, None
        return
    _TYPST = None
    _ENV = environment(user)
    css = "\n".join(_render(_ENV, name, {}) for name in STATEMENT_STYLES)
    _STATEMENT_CSS = parsed_stylesheet(css, template_dirs(user))


def _start_fork_server_deaf_to_ctrl_c() -> None:
    """Start the fork server with Ctrl-C ignored, so neither it nor its workers print a
    traceback when a terminal's Ctrl-C reaches the whole process group.

    An ignored signal stays ignored across ``exec``: the server starts that way (even while
    it imports WeasyPrint) and hands it on to every worker it forks. Our process ignores
    Ctrl-C only for the few milliseconds of that fork; it stops the pool when interrupted.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    from multiprocessing import forkserver

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, previous)


def _pool_worker_init(templates: str | None, renderer: str) -> None:
    """A pool worker leaves Ctrl-C to the parent, which stops the pool (no traceback)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker_init(templates, renderer)


def _collect_after_statement() -> None:
    """A pool worker's garbage collection: once per statement, never in the middle of one.

    After its first statement a worker holds ~120,000 long-lived objects (WeasyPrint, fonts,
    the stylesheet, caches). With the collector's defaults every full collection walked them
    all again, many times a run, and young collections interrupted the layout many times a
    statement. So the first statement's survivors are frozen (never scanned again) and
    automatic collection is switched off; instead each statement's own garbage, reference
    cycles included, is collected as soon as it is written, and the whole heap every
    ``FULL_COLLECTION_EVERY`` statements. Memory stays flat and collection costs a fraction
    of what it did (docs/reports.md, bench/RESULTS.md).

    Only pool workers do this (:func:`_pool_statement_job`): anything frozen that later
    turns into garbage is freed when the worker exits (every ``maxtasksperchild``
    statements), never kept past it.
    """
    global _WORKER_STATEMENTS  # noqa: PLW0603 - per worker process
    _WORKER_STATEMENTS += 1
    if _WORKER_STATEMENTS == 1:
        gc.collect()
        gc.freeze()
        gc.disable()
    else:
        gc.collect(2 if _WORKER_STATEMENTS % FULL_COLLECTION_EVERY == 0 else 0)


def _statement_job(arg: tuple[dict[str, Any], str, str | None]) -> str:
    context, folder, templates = arg
    path = Path(folder) / (context.get("file_name") or statement_filename(context["statement_id"]))
    if _TYPST is not None:
        return str(_TYPST.write(context, path))
    assert _ENV is not None, "worker not initialised"
    html = _render(_ENV, STATEMENT_TEMPLATE, {**context, "shared_styles": True})
    dirs = template_dirs(Path(templates) if templates else None)
    return str(_atomic_pdf(html, path, dirs, [_STATEMENT_CSS]))


def _pool_statement_job(arg: tuple[dict[str, Any], str, str | None]) -> str:
    """One statement in a pool worker, then that statement's garbage collected."""
    written = _statement_job(arg)
    _collect_after_statement()
    return written


def _render(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateNotFound as err:
        raise ConfigError(
            f"template {err.name} not found in {[str(d) for d in env.loader_dirs]}; "  # type: ignore[attr-defined]
            "copy it from reconcile's templates folder"
        ) from None
    except jinja2.UndefinedError as err:
        raise ConfigError(
            f"template {name}: {err.message}; use only the variables templates/README.md lists"
        ) from None
    except jinja2.TemplateSyntaxError as err:
        raise ConfigError(
            f"template {err.filename or name} line {err.lineno}: {err.message}; fix the template"
        ) from None


def _atomic_pdf(
    html: str, path: Path, dirs: Iterable[Path], stylesheets: list[Any] | None = None
) -> Path:
    """Lay out and write to a temporary file beside ``path``, then rename over it."""
    with atomic_path(path, mode=0o600) as temporary:  # HR data: the job's user alone
        write_html_pdf(html, temporary, list(dirs), stylesheets)
    return path
