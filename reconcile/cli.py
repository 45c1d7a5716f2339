"""The ``reconcile`` command: a thin click layer over the library (DESIGN.md §3).

Each command parses its options, calls one library function and prints the outcome. Errors
are translated in exactly one place, :class:`ReconcileGroup`: a :class:`ReconcileError`
becomes one line on stderr and its exit code; anything else is a bug, reported as exit 1
with a hint to re-run with ``--debug`` for the traceback.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import signal
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.text import Text

from reconcile import config as config_module
from reconcile.console import configure_logging, stderr
from reconcile.errors import ReconcileError, machine_problem
from reconcile.redaction import redact


@dataclass
class Settings:
    """What the group options decided, shared with every command through ``ctx.obj``."""

    quiet: bool = False
    verbose: bool = False
    debug: bool = False


class ReconcileGroup(click.Group):
    """A click group that turns library errors into one line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ReconcileError as exc:
            _traceback_if_debug(ctx)
            _fail(str(exc), exc.exit_code)
        except KeyboardInterrupt as exc:
            _traceback_if_debug(ctx)
            _fail(f"interrupted ({str(exc) or 'SIGINT'}); stopped before finishing", 4)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:
            _traceback_if_debug(ctx)
            problem = machine_problem(exc)
            if problem is not None:  # the machine, not reconcile: a full disk, a read-only folder
                _fail(f"{problem}; free some space or fix the folder's permissions", 4)
            _fail(
                f"internal error: {type(exc).__name__}: {_safe_text(exc)}. This is a bug in "
                "reconcile; re-run with --debug for the traceback and report it",
                1,
            )


def _traceback_if_debug(ctx: click.Context) -> None:
    """--debug: the traceback on stderr; the exit code stays the one the error has."""
    settings = ctx.find_object(Settings)
    if settings and settings.debug:
        traceback.print_exc()


def _safe_text(error: BaseException) -> str:
    """An unexpected error's text, unless it may quote an HTTP or mail header (a token)."""
    text = str(error)
    if "header" in text.lower():
        return "(its text may quote a header value, so it is not shown)"
    return text


def _fail(message: str, code: int) -> NoReturn:
    """The one error line: no secret that was read, no control character left active."""
    stderr.print(Text("error: ", style="bold red") + Text(_shown(message)), soft_wrap=True)
    sys.exit(code)


def _shown(text: str) -> str:
    """Text from files and servers as the terminal may show it: no secret, nothing active."""
    from reconcile.safe_text import inert

    return inert(redact(text))


config_option = click.option(
    "-c",
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The reconcile.toml to use.",
)
as_of_option = click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Judge progress as on this date (YYYY-MM-DD); default today in the org's timezone.",
)

resume_option = click.option(
    "--resume",
    is_flag=True,
    help="Continue the pull an earlier, stopped run left beside the run folder.",
)


@click.group(cls=ReconcileGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-q", "--quiet", is_flag=True, help="Only errors; no progress bars.")
@click.option("-v", "--verbose", is_flag=True, help="Say more about what is happening.")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.version_option(package_name="reconcile")
@click.pass_context
def cli(ctx: click.Context, quiet: bool, verbose: bool, debug: bool) -> None:
    """Reconcile CPD minutes from learning platforms against HR's roster and policy."""
    ctx.obj = Settings(quiet=quiet, verbose=verbose, debug=debug)
    configure_logging(quiet=quiet, verbose=verbose, debug=debug)


@cli.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the demo's config, spreadsheets and reports (default: a new temp folder).",
)
@click.option("--people", type=click.IntRange(10, 200_000), default=200, show_default=True)
@click.pass_obj
def demo(settings: Settings, out: Path | None, people: int) -> None:
    """Run the whole pipeline against the built-in sandbox: no network, no credentials."""
    from reconcile.console import progress_bars
    from reconcile.demo import run_demo

    echo = _echo(settings)
    with progress_bars(quiet=settings.quiet) as bars:
        result = run_demo(out=out, people=people, echo=echo, progress=bars)
    _print_outcome(result.outcome, echo)


@cli.command()
@config_option
@as_of_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--compare", "compare_dir", type=click.Path(file_okay=False, path_type=Path))
@resume_option
@click.pass_obj
def run(
    settings: Settings,
    config_path: Path,
    as_of: dt.datetime | None,
    out: Path | None,
    compare_dir: Path | None,
    resume: bool,
) -> None:
    """Pull, snapshot, reconcile and render: the monthly job."""
    from reconcile import runs
    from reconcile.console import progress_bars

    config = config_module.load(config_path)
    with _issues_on_failure(), progress_bars(quiet=settings.quiet) as bars:
        outcome = runs.run(
            config,
            as_of=as_of and as_of.date(),
            out=out,
            progress=bars,
            compare=compare_dir,
            resume=resume,
        )
    _print_outcome(outcome, _echo(settings))


@cli.command()
@config_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The run folder (default <[output] dir>/<period end as YYYY-MM>); snapshot/ goes in it.",
)
@resume_option
@click.pass_obj
def pull(settings: Settings, config_path: Path, out: Path | None, resume: bool) -> None:
    """Pull every configured source and write a snapshot."""
    from reconcile import runs
    from reconcile.console import progress_bars

    config = config_module.load(config_path)
    with progress_bars(quiet=settings.quiet) as bars:
        folder, pulled = runs.pull(config, out=out, progress=bars, resume=resume)
    echo = _echo(settings)
    for (source, table), frame in pulled.tables.items():
        echo(f"{source:<12} {table:<20} {len(frame):>9,} rows")
    for stats in pulled.stats.values():
        for warning in stats["warnings"]:
            echo(f"warning: {warning}")
    echo(f"snapshot written to {folder}")


@cli.command()
@config_option
@click.option(
    "--snapshot", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@as_of_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--compare", "compare_dir", type=click.Path(file_okay=False, path_type=Path))
@click.pass_obj
def report(
    settings: Settings,
    config_path: Path,
    snapshot: Path,
    as_of: dt.datetime | None,
    out: Path | None,
    compare_dir: Path | None,
) -> None:
    """Reconcile and render from a saved snapshot, with no network."""
    from reconcile import runs
    from reconcile.console import progress_bars

    config = config_module.load(config_path)
    with _issues_on_failure(), progress_bars(quiet=settings.quiet) as bars:
        outcome = runs.report(
            config,
            snapshot,
            as_of=as_of and as_of.date(),
            out=out,
            compare=compare_dir,
            progress=bars,
        )
    _print_outcome(outcome, _echo(settings))


@contextlib.contextmanager
def _issues_on_failure(limit: int = 5) -> Iterator[None]:
    """On spreadsheet errors, list the first few on stderr before the one-line error."""
    from reconcile.errors import ValidationFailed

    try:
        yield
    except ValidationFailed as exc:
        issues = exc.issues
        if issues is not None and len(issues):
            errors = issues[issues["severity"] == "error"].head(limit)
            for row in errors.itertuples(index=False):
                fix = f"; {row.fix}" if _given(row.fix) else ""
                line = f"  {_where(row)}: {row.problem}{fix}"
                stderr.print(Text(_shown(line)), soft_wrap=True)
        raise


def _where(issue: Any) -> str:
    """``roster.csv, sheet Staff, row 3, column Email``: the parts an issue has."""
    parts = [str(issue.file)]
    for label, value in (("sheet", issue.sheet), ("row", issue.row), ("column", issue.column)):
        if _given(value):
            parts.append(f"{label} {value}")
    return ", ".join(parts)


def _given(value: Any) -> bool:
    import pandas as pd

    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return False
    return str(value) != ""


def _print_outcome(outcome: Any, echo: Any) -> None:
    """Status counts, exceptions and where the run folder is."""
    content = outcome.summary
    echo(f"{content['people']:,} people, as of {content['as_of']}:")
    for status, count in content["status"].items():
        echo(f"  {status:<14} {count:>7,}")
    flagged = {t: n for t, n in content["exceptions"].items() if n}
    if flagged:
        echo("exceptions: " + ", ".join(f"{t} {n:,}" for t, n in flagged.items()))
    if "changes" in content:
        echo(_changes_line(content["changes"]))
    for warning in outcome.warnings:
        echo(f"warning: {warning}")
    echo(f"run folder: {outcome.folder}")


def _changes_line(changes: dict[str, Any]) -> str:
    """One line for `run --compare`: rate before → after and the count of each change."""
    from reconcile.engine.changes import CHANGE_LABELS

    def rate(value: Any) -> str:
        return "–" if value is None else f"{value * 100:.1f}%"

    counts = ", ".join(f"{CHANGE_LABELS[t].lower()} {n:,}" for t, n in changes["counts"].items())
    before, after = changes["compliance_rate_before"], changes["compliance_rate_after"]
    since = changes["previous"]["as_of"]
    return f"changes since {since}: compliance {rate(before)} → {rate(after)}; {counts}"


@cli.command()
@click.option("-c", "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--sources", is_flag=True, help="Also reach each configured API once.")
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the problems to this CSV file (e.g. check.csv).",
)
@click.option(
    "--date-format",
    type=click.Choice(["dd/mm/yyyy", "mm/dd/yyyy"]),
    default=None,
    help="How text dates are read when checking FILEs without a config (default dd/mm/yyyy).",
)
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.pass_context
def check(
    ctx: click.Context,
    config_path: Path | None,
    sources: bool,
    csv_path: Path | None,
    date_format: str | None,
    files: tuple[Path, ...],
) -> None:
    """Validate HR spreadsheets and list every problem with where and how to fix it.

    Exit 0 when clean or only warnings, 2 when any error would stop `reconcile run` (or, with
    --sources, a secret's environment variable is unset), 3 when a source cannot be reached.
    """
    from rich.console import Console

    from reconcile.inputs import check_config, check_files
    from reconcile.inputs.display import blocks, summary_line, write_csv

    if not config_path and not files:
        raise click.UsageError("give -c CONFIG or one or more spreadsheet files")
    if config_path:
        config = config_module.load(config_path)
        issues = check_config(config)
        count = len(config.input_files()) + len(files)
        if files:
            issues = _combine_issues(
                issues, check_files(files, date_format=config.organisation.date_format)
            )
    else:
        issues = check_files(files, date_format=date_format or "dd/mm/yyyy")
        count = len(files)
    if sources and not config_path:
        raise click.UsageError("--sources needs -c CONFIG (the sources are named in the config)")
    settings = ctx.find_object(Settings)
    out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    if not (settings and settings.quiet):
        for block in blocks(issues):
            out.print(block)
    errors = int((issues["severity"] == "error").sum())
    out.print(summary_line(issues, count), style="bold red" if errors else "bold green")
    if csv_path:
        write_csv(issues, csv_path)
        out.print(Text(_shown(f"problems written to {csv_path}")))
    reached = _print_probes(config, out) if sources else 0
    ctx.exit(2 if errors or reached == 2 else reached)


def _print_probes(config: Any, out: Any) -> int:
    """One line per source (ok and how long, or the error and its fix); the exit code it implies.

    A missing secret is a config problem (2, as `run` says); any other failure is 3.
    """
    from reconcile.sources.reach import probe_sources

    results = probe_sources(config)
    if not results:
        out.print("sources: none configured")
        return 0
    width = max(len(r.source) for r in results)
    for result in results:
        name = result.source.ljust(width)
        if result.ok:
            line = _shown(f"{name}  ok      {result.seconds:.2f} s  {result.url}")
            out.print(line, style="green", markup=False, soft_wrap=True)
        else:
            message = _shown(result.message.removeprefix(f"{result.source}: "))
            out.print(f"{name}  FAILED  {message}", style="red", markup=False, soft_wrap=True)
    from reconcile.sources.reach import field_warnings

    for line in field_warnings(config, [r.source for r in results if r.ok]):
        out.print(f"warning: {line}", style="yellow", markup=False, soft_wrap=True)
    if any(r.outcome == "missing_secret" for r in results):
        return 2
    return 0 if all(r.ok for r in results) else 3


def _combine_issues(*frames: Any) -> Any:
    """Issues from a config and from extra FILEs, in one table."""
    from reconcile.inputs.issues import combine

    return combine(frames)


@cli.command()
@config_option
@click.option(
    "-r", "--run", "run_dir", required=True, type=click.Path(file_okay=False, path_type=Path)
)
@click.option("--dry-run", is_flag=True, help="Write .eml files instead of sending.")
@click.option("--only", default=None, help="Send only to this manager's employee id.")
@click.option("--redirect-to", default=None, help="Send every message to this address instead.")
@click.option(
    "--resend-unknown",
    is_flag=True,
    help="Send again the messages an earlier send left as 'unknown' (sent, no verdict).",
)
@click.pass_obj
def send(
    settings: Settings,
    config_path: Path,
    run_dir: Path,
    dry_run: bool,
    only: str | None,
    redirect_to: str | None,
    resend_unknown: bool,
) -> None:
    """E-mail each manager their team's statement (--dry-run: write .eml files instead)."""
    from reconcile.console import progress_bars
    from reconcile.deliver import send_statements

    config = config_module.load(config_path)
    with progress_bars(quiet=settings.quiet) as bars:
        outcome = send_statements(
            config,
            run_dir,
            dry_run=dry_run,
            only=only,
            redirect_to=redirect_to,
            progress=bars,
            resend_unknown=resend_unknown,
        )
    _print_send(outcome, _echo(settings))
    _fail_unless_all_sent(outcome)


def _fail_unless_all_sent(outcome: Any) -> None:
    """Exit 3 when the server refused, deferred, or never answered about a message."""
    from reconcile.errors import DeliveryError

    problems = []
    if outcome.refused:
        problems.append(
            f"the mail server refused {outcome.refused} message(s): fix the addresses on the "
            "roster and run `reconcile send` again"
        )
    if outcome.deferred:
        problems.append(
            f"the mail server deferred {outcome.deferred} message(s) for now (a 4xx: "
            "greylisting, a full mailbox): run `reconcile send` again later to retry them"
        )
    if outcome.unknown:
        problems.append(
            f"{outcome.unknown} message(s) went out but the server never said whether it "
            "took them: they may have been delivered. Ask the recipients or the mail server's "
            "log; `reconcile send --resend-unknown` sends them again"
        )
    if problems:
        raise DeliveryError(
            "; ".join(problems) + f" (see {outcome.log_path}; what was sent is not sent twice)"
        )


#: Outcomes the send command lists one per line, so nobody is missed silently.
_SEND_PROBLEMS = (
    "refused",
    "deferred",
    "unknown",
    "unknown earlier",
    "no address",
    "no statement file",
)


def _print_send(outcome: Any, echo: Any) -> None:
    """Counts, then every recipient that was not reached and why."""
    if outcome.dry_run:
        echo(f"wrote {len(outcome.written)} message(s) as .eml files in {outcome.outbox}")
    else:
        echo(
            f"sent {outcome.sent}, already sent earlier {outcome.already_sent}, "
            f"refused {outcome.refused}, deferred {outcome.deferred}, "
            f"no verdict {outcome.unknown + outcome.unknown_earlier}, "
            f"not sendable {len(outcome.no_address)}"
        )
    for row in outcome.rows:
        if row.outcome in _SEND_PROBLEMS:
            detail = row.detail or (
                "sent by an earlier send with no verdict; not sent again "
                "(--resend-unknown sends it)"
                if row.outcome == "unknown earlier"
                else ""
            )
            echo(f"  {row.manager_id} {row.name} <{row.recipient}>: {row.outcome}: {detail}")
    if outcome.log_path:
        echo(f"send log: {outcome.log_path}")


@cli.command("push-completions")
@config_option
@click.option(
    "-r", "--run", "run_dir", required=True, type=click.Path(file_okay=False, path_type=Path)
)
@click.option("--apply", is_flag=True, help="Really create the completions (default: list only).")
@click.pass_obj
def push_completions(settings: Settings, config_path: Path, run_dir: Path, apply: bool) -> None:
    """Write completions earned elsewhere back to Thrive.

    Without --apply, lists what it would create and writes RUN_DIR/writeback-plan.csv. With
    --apply, creates them and appends every outcome to RUN_DIR/writeback.csv; a re-run skips
    what is done. Exit 3 when Thrive refused or failed any (see writeback.csv).
    """
    from reconcile.console import progress_bars
    from reconcile.writeback import push_completions as push

    config = config_module.load(config_path)
    with progress_bars(quiet=settings.quiet) as bars:
        outcome = push(config, run_dir, apply=apply, progress=bars)
    _print_writeback(outcome, _echo(settings))
    if outcome.not_done:
        _fail(
            f"{outcome.not_done:,} of {outcome.planned:,} completions were not written to Thrive "
            f"({outcome.refused:,} refused, {outcome.failed:,} failed); the message column of "
            f"{outcome.csv_path} says why: fix that and run again (what is done is skipped)",
            3,
        )


def _print_writeback(outcome: Any, echo: Any, limit: int = 50) -> None:
    """One line per completion (the first ``limit``), the counts, and the CSV's path."""
    rows = outcome.rows
    if rows:
        header = ("Employee ID", "Thrive user", "Content", "Completed at", "From", "Outcome")
        widths = (12, 24, 24, 24, 11, 12)
        echo("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + "  Detail")
        for row in rows[:limit]:
            cells = (
                row.employee_id,
                row.thrive_user_id or "-",
                row.content_id or "-",
                row.completed_at or "-",
                row.source_system,
                row.outcome,
            )
            line = "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))
            echo(f"{line}  {row.message or row.statement_id}".rstrip())
        if len(rows) > limit:
            echo(f"... and {len(rows) - limit:,} more in {outcome.csv_path}")
    skipped = _reasons(r.message for r in rows if r.outcome == "skipped")
    if outcome.applied:
        counts = (
            f"created {outcome.created:,}, already existed {outcome.existed:,}, "
            f"refused {outcome.refused:,}, failed {outcome.failed:,}, skipped {outcome.skipped:,}"
        )
    else:
        counts = f"would create {outcome.planned:,}, skipped {outcome.skipped:,}"
    echo(counts + (f" ({skipped})" if skipped else ""))
    if outcome.stopped_early:
        echo("stopped early: Thrive kept failing after retries; the rest were not attempted")
    if not outcome.applied:
        echo(f"nothing was sent; plan written to {outcome.csv_path} (add --apply to create them)")
    elif outcome.csv_path.is_file():
        echo(f"log: {outcome.csv_path}")


def _reasons(messages: Any) -> str:
    """``2 done in an earlier push, 1 no matched Thrive account``: skip reasons, counted."""
    from collections import Counter

    counts = Counter("done in an earlier push" if m.startswith("done in") else m for m in messages)
    return ", ".join(f"{n:,} {reason}" for reason, n in counts.most_common())


@cli.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
@click.option("--people", type=click.IntRange(10, 1_000_000), default=2000, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--latency-ms", type=click.IntRange(0, 60_000), default=0, show_default=True)
@click.option(
    "--rate-limit",
    type=click.IntRange(0, 100_000_000),
    default=0,
    help="Brightspace credits a minute, 10 a call (0: no limit; D2L's default is 50000).",
)
@click.pass_obj
def sandbox(
    settings: Settings, port: int, people: int, seed: int, latency_ms: int, rate_limit: int
) -> None:
    """Serve the three platforms' sample APIs on 127.0.0.1 until stopped (Ctrl-C)."""
    from reconcile.sandbox.cli import serve_until_stopped

    serve_until_stopped(
        port=port,
        people=people,
        seed=seed,
        latency_ms=latency_ms,
        rate_limit=rate_limit,
        echo=_echo(settings),
    )


def _echo(settings: Settings) -> Any:
    """A print function for library results that respects --quiet."""

    def echo(message: str = "") -> None:
        if not settings.quiet:
            click.echo(_shown(message))

    return echo


def main() -> None:
    """Console-script entry point: a termination signal stops the job like Ctrl-C does.

    SIGTERM (``kill``, systemd, a cron timeout) and SIGHUP (a closed terminal) would end the
    process on the spot and leave temporary files; as an exception they unwind, so every
    temporary folder is removed and the previous run folder stays as it was (exit 4).
    """
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _stop)
    cli(prog_name="reconcile")


def _stop(number: int, _frame: Any) -> NoReturn:
    raise KeyboardInterrupt(signal.Signals(number).name)
