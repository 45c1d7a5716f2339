"""Manager statements at scale: statements per second, CPU per statement, peak memory.

    .venv/bin/python bench/statements.py                        # 100,000 people: ~11,000
    .venv/bin/python bench/statements.py --people 18000         # ~2,000 statements
    .venv/bin/python bench/statements.py --result RUN_FOLDER    # a real run's result/
    .venv/bin/python bench/statements.py --code /tmp/before .   # two checkouts, alternating
    .venv/bin/python bench/statements.py --renderer weasyprint  # statement.html, not the default

The statements are written as ``reconcile run`` writes them (``write_statements`` with all
cores and the run folder's ``statements.csv``), in a fresh process per measurement, from a
result saved once so every checkout renders the same people. Without ``--result`` that is
the synthetic organisation of ``reconcile.render.pdf_sample`` shaped like the sandbox's
(each manager has 3-15 people, a structured requirement).

Printed for each measurement, beside a plain one-page WeasyPrint render measured in one
process just before and just after it (the baseline):

- statements per second (wall) and that against the baseline's pages per second, and the
  minutes for all of them;
- CPU per statement: the calling process and every worker, summed (user + system time from
  /proc, the workers' collected by the fork server that reaps them) — the robust figure on
  this shared machine, where wall time moves with other people's load;
- peak memory: the resident size of the whole process tree (caller, fork server, workers),
  sampled every 0.5 s (bench/run.py's ``tree_rss``), and the caller's alone before the
  statements (it holds the result) and at most.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TICK = os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------ inside the child


def _cpu_of(pid: int) -> tuple[float, list[int]]:
    """CPU seconds of ``pid`` and of its reaped children, and its live children."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    seconds = sum(int(v) for v in fields[11:15]) / TICK  # utime stime cutime cstime
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return seconds, [int(c) for c in children]


def helpers_cpu() -> float:
    """CPU seconds of this process's helpers (fork server, resource tracker) and of every
    worker they reaped, once the last worker has exited."""
    deadline = time.monotonic() + 30
    while True:
        _, helpers = _cpu_of(os.getpid())
        total, busy = 0.0, False
        for pid in helpers:
            seconds, workers = _cpu_of(pid)
            total += seconds
            busy = busy or bool(workers)
        if not busy or time.monotonic() > deadline:
            return total
        time.sleep(0.05)


def page_count(paths: list[Path], sample: int = 400) -> float:
    """Mean pages per statement over a sample of the files."""
    from pypdf import PdfReader

    chosen = random.Random(1).sample(paths, min(sample, len(paths)))
    return sum(len(PdfReader(p).pages) for p in chosen) / max(1, len(chosen))


def renderer_chosen() -> dict[str, str]:
    """``renderer=`` when ``--renderer`` chose one (an older checkout has no such argument)."""
    chosen = os.environ.get("BENCH_STATEMENT_RENDERER")
    return {"renderer": chosen} if chosen else {}


def child(code: Path, result_folder: Path) -> None:
    """Write the statements of ``result_folder`` with the checkout ``code``; print JSON."""
    import reconcile

    assert Path(reconcile.__file__).is_relative_to(code), reconcile.__file__
    from reconcile.render.pdf import write_statements
    from reconcile.result_store import read_result

    result = read_result(result_folder)
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print("ready", flush=True)  # the parent's memory sampler starts here
        cpu = time.process_time()
        started = time.perf_counter()
        paths = write_statements(
            result,
            folder / "statements",
            organisation="Acme Health",
            processes=cores,
            record=folder / "statements.csv",
            **renderer_chosen(),
        )
        seconds = time.perf_counter() - started
        own = time.process_time() - cpu
        workers = helpers_cpu()
        pages = page_count(paths)
    out = {
        "statements": len(paths),
        "people": int(result.people["manager_id"].notna().sum()),
        "seconds": seconds,
        "cpu_caller": own,
        "cpu_workers": workers,
        "pages": pages,
        "rss_before": rss_before,
        "rss_caller_peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "processes": cores,
    }
    print(json.dumps(out), flush=True)


# ------------------------------------------------------------------ in the parent


def measure(code: Path, result_folder: Path) -> dict:
    """One child writing every statement; its tree's memory sampled from outside."""
    # PYTHONPATH, not sys.path: the pool's fork server is a new interpreter that must import
    # the same checkout (the virtual environment's editable install points at another).
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(code), os.environ.get("PYTHONPATH", "")]),
    }
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", str(code), str(result_folder)],
        cwd=code,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    if process.stdout.readline().strip() != "ready":
        raise SystemExit("the measuring process failed")
    from run import PeakTreeRss

    with PeakTreeRss(process.pid, every=0.5) as peak:  # reading /proc costs CPU too
        output = process.stdout.read()
        process.wait()
    if process.returncode:
        raise SystemExit(f"the measuring process failed ({process.returncode})")
    data = json.loads(output.strip().splitlines()[-1])
    data["tree_peak"] = peak.bytes
    return data


def plain_page(pages: int = 16) -> tuple[float, float]:
    """A plain one-page render in one process: pages per second and CPU seconds a page."""
    from reports_pdf import baseline_pages

    wall, cpu = baseline_pages(pages)
    return pages / wall, cpu / pages


def saved_result(args: argparse.Namespace, folder: Path) -> Path:
    """The run folder whose result/ every checkout renders."""
    if args.result:
        return Path(args.result)
    from reconcile.render.pdf_sample import sample_result
    from reconcile.result_store import write_result

    result = sample_result(args.people, team_size=(3, 15), structured_minutes=600.0)
    write_result(folder, result)
    return folder


def report(code: Path, m: dict, base: tuple[float, float], after: tuple[float, float]) -> str:
    rate = m["statements"] / m["seconds"]
    plain = (base[0] + after[0]) / 2
    plain_cpu = (base[1] + after[1]) / 2
    cpu = (m["cpu_caller"] + m["cpu_workers"]) / m["statements"]
    gib = 2**30
    return (
        f"{code}: {m['statements']:,} statements ({m['people'] / m['statements']:.1f} people, "
        f"{m['pages']:.2f} pages each), {m['processes']} processes: {m['seconds']:.1f} s = "
        f"{m['seconds'] / 60:.2f} min, {rate:.2f} statements/s = {rate / plain:.2f}x the plain "
        f"page ({plain:.2f} pages/s: {base[0]:.2f} before, {after[0]:.2f} after)\n"
        f"    CPU {cpu * 1000:.1f} ms a statement (caller {m['cpu_caller']:.1f} s, workers "
        f"{m['cpu_workers']:.1f} s) = {cpu / plain_cpu:.2f}x the plain page's "
        f"{plain_cpu * 1000:.1f} ms\n"
        f"    peak memory: process tree {m['tree_peak'] / gib:.2f} GiB; caller "
        f"{m['rss_before'] / 2**20:.0f} MiB with the result, "
        f"{m['rss_caller_peak'] / 2**20:.0f} MiB at most  "
        f"[load {', '.join(f'{x:.1f}' for x in os.getloadavg())}]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--result", help="a run folder whose result/ to render")
    parser.add_argument("--code", nargs="+", default=[str(ROOT)], help="checkouts to measure")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--child", nargs=2)
    parser.add_argument("--renderer", choices=("typst", "weasyprint"), help="default: run's")
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]))
        return
    if args.renderer:
        os.environ["BENCH_STATEMENT_RENDERER"] = args.renderer  # the children read it
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(HERE))
    with tempfile.TemporaryDirectory() as tmp:
        folder = saved_result(args, Path(tmp))
        for rounds in range(args.rounds):
            codes = args.code if rounds % 2 == 0 else args.code[::-1]
            for code in codes:
                before = plain_page()
                measured = measure(Path(code).resolve(), folder)
                after = plain_page()
                print(report(Path(code), measured, before, after), flush=True)


if __name__ == "__main__":
    main()
