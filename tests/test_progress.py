"""Progress on long work: the statements, the longest step of a large run, are counted as
they are written, and the terminal shows each task in its own unit."""

from __future__ import annotations

from pathlib import Path

from reconcile.console import TerminalProgress
from reconcile.progress import RecordingProgress
from reconcile.render.pdf import STATEMENTS_TASK, write_statements
from reconcile.render.pdf_sample import sample_result


def test_each_statement_written_is_counted_once_through_the_pool(tmp_path: Path) -> None:
    """30 person statements through a pool of two workers: 30 counted, the task finished."""
    progress = RecordingProgress()
    result = sample_result(30, team_size=6, seed=3)
    paths = write_statements(
        result, tmp_path, organisation="Acme", by="person", processes=2, progress=progress
    )
    assert len(paths) == 30
    assert progress.pages[STATEMENTS_TASK] == 30
    assert progress.records[STATEMENTS_TASK] == 0
    assert STATEMENTS_TASK in progress.finished


def test_the_terminal_bar_names_statements_and_a_task_run_again_starts_over() -> None:
    """A pull's bar reads pages and records; the statements' bar reads statements, and the
    demo's second month counts its statements from zero against its own total."""
    bars = TerminalProgress()
    bars.advance("thrive /users", pages=2, records=1500)
    bars.start(STATEMENTS_TASK, total_pages=27, unit="statements")
    for _ in range(27):
        bars.advance(STATEMENTS_TASK, pages=1)
    bars.start(STATEMENTS_TASK, total_pages=25, unit="statements")
    bars.advance(STATEMENTS_TASK, pages=1)
    tasks = {task.description: task for task in bars._bars.tasks}
    assert tasks["thrive /users"].fields["detail"] == "pages      1,500 records"
    statements = tasks[STATEMENTS_TASK]
    assert (statements.completed, statements.total) == (1, 25)
    assert statements.fields["detail"] == "statements"
