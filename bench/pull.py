"""Benchmark the pull against the sandbox: requests made vs the minimum, concurrent vs sequential.

    .venv/bin/python bench/pull.py                 # 2,000 people, 10 ms latency, all sources
    .venv/bin/python bench/pull.py --thrive-people 50000   # also a Thrive-only run
    .venv/bin/python bench/pull.py --rate-limit 60000   # Brightspace alone, its credit budget

For each endpoint it prints the requests made against the fewest any client could make for
the records served (e.g. ⌈records ÷ 1000⌉ for a Thrive list), then the wall time of a
concurrent pull ([http] concurrency 8) against a sequential one (concurrency 1), both
measured in this run against the same sandbox. Targets: requests ≤ minimum + 1 per endpoint,
concurrent ≥ 4× faster than sequential.

With ``--rate-limit N`` it also pulls about 20,000 Brightspace users (``--bs-people``
people) from a sandbox whose credit bucket holds N credits a minute, 10 a call, as D2L
meters it, and prints the calls a minute achieved against the budget's (target >= 90%), the
429s the client received (target 0), the seconds it waited for refills and the wall time.
Choose N so the pull spans several minutes and the client could go faster than the budget
(on a small machine 30,000-60,000: 3,000-6,000 calls a minute); the ratio then measures the
pacer, not the machine.

The sandbox runs in its own process (``--in-process`` to share this one). Besides wall times
it prints the client's CPU, the sandbox process's CPU, how many cores the two kept busy and
how many other jobs used meanwhile: on a small shared machine the pull can be bound by the
cores rather than by latency, and the ratio then says more about the machine than the client.

No warm-up pull is needed, and none is made: the sandbox renders every list's records to JSON
before it accepts its first connection (``Sandbox.start`` → ``warm``), so the sequential and
the concurrent pulls both meet the same, already warm, sandbox, which then serves each page as
a slice of those bytes (it stands in for an API served by other machines; its CPU is not the
client's).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reconcile import config as config_module
from reconcile.sandbox import Sandbox
from reconcile.sandbox.faults import COURSEPATH_CAPS
from reconcile.sandbox.spreadsheets import write_spreadsheets
from reconcile.sources import HttpPolicy, PullResult, pull_all


def ceil_div(n: int, size: int) -> int:
    return max(1, math.ceil(n / size))


def short_page_pages(n: int, size: int) -> int:
    """Paging until a short page: an exactly full last page costs one empty page more."""
    return n // size + 1


def empty_page_pages(n: int, cap: int) -> int:
    """Paging until an empty page (Coursepath caps pages silently): every page, then one."""
    return -(-n // cap) + 1


def minimum_requests(pulled: PullResult) -> dict[tuple[str, str], int]:
    """The fewest requests that could return what was pulled, per (source, endpoint)."""
    out: dict[tuple[str, str], int] = {}
    for name, pull in pulled.sources.items():
        t = pull.tables
        rows = {k: len(v) + pull.duplicates.get(k, 0) for k, v in t.items()}
        if name == "thrive":
            for table in (
                "users",
                "audiences",
                "cpd_categories",
                "requirements",
                "cpd_entries",
                "user_log_summaries",
                "contents",
            ):
                out[(name, pull.endpoints[table])] = ceil_div(rows[table], 1000)
            per_audience = t["audience_members"].groupby("audience_id").size()
            audiences = len(t["audiences"])
            out[(name, pull.endpoints["audience_members"])] = int(
                sum(ceil_div(int(n), 1000) for n in per_audience) + (audiences - len(per_audience))
            )
            out[(name, pull.endpoints["completions"])] = short_page_pages(rows["completions"], 1000)
        elif name == "brightspace":
            users = len(t["users"])
            out[(name, pull.endpoints["users"])] = ceil_div(users, 100)
            per_user = t["records"].groupby("user_id").size()
            out[(name, pull.endpoints["records"])] = int(
                sum(ceil_div(int(n), 100) for n in per_user) + (users - len(per_user))
            )
            out[(name, pull.endpoints["targets"])] = users
        elif name == "coursepath":
            caps = {route.removeprefix("/api/v1"): cap for route, cap in COURSEPATH_CAPS.items()}
            for table in ("members", "courses", "groups"):
                cap = caps[pull.endpoints[table]]
                out[(name, pull.endpoints[table])] = empty_page_pages(rows[table], cap)
            for table, owner, parent in (
                ("course_members", "course_id", "courses"),
                ("group_members", "group_id", "groups"),
            ):
                cap = caps[pull.endpoints[table]]
                sizes = t[table].groupby(owner).size()
                empty = len(t[parent]) - len(sizes)
                out[(name, pull.endpoints[table])] = int(
                    sum(empty_page_pages(int(n), cap) for n in sizes) + empty
                )
            out[(name, pull.endpoints["results"])] = len(t["course_members"])
    return out


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds all processes on the machine have used (Linux ``/proc/stat``): what
    other jobs took during a pull is this minus the client's and the sandbox's share."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def remote_sandbox(
    people: int, latency_ms: int, credits: int = 0, output: list[str] | None = None
) -> Iterator[tuple[str, int]]:
    """The sandbox in its own process, like a real remote API: its JSON encoding then does
    not compete with the client's decoding for one interpreter lock. Yields its URL and pid
    (so its CPU time can be reported: on a 2-core machine it competes for the cores).
    ``output`` receives what it printed, once it has stopped (with a rate limit, how each
    window's credits were spent)."""
    port = free_port()
    root = Path(__file__).resolve().parents[1]
    command = [
        sys.executable,
        "-m",
        "reconcile",
        *(["-q"] if output is None else []),
        "sandbox",
        "--port",
        str(port),
        "--people",
        str(people),
        "--seed",
        "1",
        "--latency-ms",
        str(latency_ms),
        "--rate-limit",
        str(credits),
    ]
    stdout = subprocess.DEVNULL if output is None else subprocess.PIPE
    process = subprocess.Popen(command, cwd=root, stdout=stdout, text=True)
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"the sandbox exited with {process.returncode}: {command}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        printed, _ = process.communicate(timeout=30)
        if output is not None:
            output.extend(printed.splitlines())


def run(
    people: int, latency_ms: int, sources: tuple[str, ...], rounds: int, in_process: bool
) -> None:
    where = "in this process" if in_process else "in its own process"
    print(
        f"\n== {people:,} people, {latency_ms} ms latency, sources: {', '.join(sources)}; "
        f"sandbox {where} =="
    )
    with (
        tempfile.TemporaryDirectory() as tmp,
        Sandbox(people=people, seed=1, latency_ms=latency_ms) as sandbox,
    ):
        folder = Path(tmp)
        spreadsheets = write_spreadsheets(sandbox.organisation, folder)
        config_path = sandbox.write_config(folder, spreadsheets, sources=sources)
        os.environ.update(sandbox.env())
        with contextlib.ExitStack() as stack:
            server_pid = None
            if not in_process:
                url, server_pid = stack.enter_context(remote_sandbox(people, latency_ms))
                text = config_path.read_text().replace(sandbox.url, url)
                config_path.write_text(text)
                sandbox.stop()
            config = config_module.load(config_path)
            timings, results = time_pulls(config, rounds, server_pid)
        report(results, timings, rounds)


def time_pulls(
    config: config_module.Config, rounds: int, server_pid: int | None
) -> tuple[dict, dict]:
    """Wall time, this process's CPU and the sandbox process's CPU of each pull."""
    timings: dict[str, float] = {}
    results: dict[str, PullResult] = {}

    def server_cpu() -> float:
        return process_cpu_seconds(server_pid) if server_pid else 0.0

    for label, concurrency in (("sequential", 1), ("concurrent", 8)) * rounds:
        policy = HttpPolicy(concurrency=concurrency, timeout_seconds=60, max_retries=6)
        started, cpu, served = time.perf_counter(), time.process_time(), server_cpu()
        machine = machine_busy_seconds()
        results[label] = pull_all(config, policy=policy)
        elapsed = time.perf_counter() - started
        if elapsed < timings.get(label, math.inf):
            timings[label] = elapsed
            timings[f"{label} cpu"] = time.process_time() - cpu
            timings[f"{label} server"] = server_cpu() - served
            timings[f"{label} machine"] = machine_busy_seconds() - machine
    timings["remote"] = float(server_pid is not None)
    return timings, results


def report(results: dict[str, PullResult], timings: dict[str, float], rounds: int) -> None:
    pulled = results["concurrent"]
    minimum = minimum_requests(pulled)
    print(f"{'source':<12}{'endpoint':<58}{'requests':>9}{'minimum':>9}{'extra':>7}")
    worst = 0
    for name, pull in pulled.sources.items():
        made = pull.stats.as_dict()["requests"]
        for endpoint, count in made.items():
            least = minimum.get((name, endpoint))
            extra = "" if least is None else count - least
            if least is not None:
                worst = max(worst, count - least)
            shown = least if least is not None else ""
            print(f"{name:<12}{endpoint:<58}{count:>9}{shown:>9}{extra:>7}")
    same = all(results["sequential"].tables[k].equals(v) for k, v in pulled.tables.items())
    rows = sum(len(v) for v in pulled.tables.values())
    print(f"rows pulled: {rows:,}; sequential and concurrent frames identical: {same}")
    print(f"most extra requests on one endpoint: {worst} (target <= 1)")
    ratio = timings["sequential"] / timings["concurrent"]
    print(
        f"wall time: sequential {timings['sequential']:.2f}s, concurrent "
        f"{timings['concurrent']:.2f}s, ratio {ratio:.1f}x (target >= 4x; best of {rounds} each)"
    )
    if timings["remote"]:
        print(
            f"client CPU (this process): sequential {timings['sequential cpu']:.2f}s, "
            f"concurrent {timings['concurrent cpu']:.2f}s; sandbox CPU (its own process): "
            f"sequential {timings['sequential server']:.2f}s, concurrent "
            f"{timings['concurrent server']:.2f}s"
        )
        for label in ("sequential", "concurrent"):
            busy = timings[f"{label} cpu"] + timings[f"{label} server"]
            others = max(0.0, timings[f"{label} machine"] - busy)
            print(
                f"  {label}: client + sandbox CPU {busy:.2f}s over {timings[label]:.2f}s of "
                f"wall = {busy / timings[label]:.2f} of {os.cpu_count()} cores; other jobs "
                f"used {others / timings[label]:.2f} cores meanwhile"
            )
    else:
        print(
            f"CPU of this process (client and sandbox together): sequential "
            f"{timings['sequential cpu']:.2f}s, concurrent {timings['concurrent cpu']:.2f}s"
        )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average at the end (1, 5, 15 min; other jobs share the machine): {load}")


def rate_limited(people: int, latency_ms: int, credits: int) -> None:
    """Brightspace alone against a bucket of ``credits`` a minute: is every credit spent,
    and is none asked for that the bucket cannot pay?

    The sandbox counts what each minute's bucket spent, as D2L would: every minute but the
    last (which ends with the pull) shows the calls a minute achieved against the budget.
    Calls over the whole wall time are printed too; they overstate the rate when the last
    minute is short (its calls go out at once, and no wait for a refill follows them).
    """
    budget = credits / 10  # calls a minute: D2L charges 10 credits a call
    print(
        f"\n== Brightspace, {people:,} people, {latency_ms} ms latency, budget {credits:,} "
        f"credits a minute ({budget:,.0f} calls); sandbox in its own process =="
    )
    printed: list[str] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        remote_sandbox(people, latency_ms, credits, output=printed) as (url, _pid),
    ):
        folder = Path(tmp)
        with Sandbox(people=10, seed=1) as local:  # only for a config and its spreadsheets
            spreadsheets = write_spreadsheets(local.organisation, folder)
            config_path = local.write_config(folder, spreadsheets, sources=("brightspace",))
            config_path.write_text(config_path.read_text().replace(local.url, url))
            os.environ.update(local.env())
        config = config_module.load(config_path)
        started = time.perf_counter()
        pulled = pull_all(config, policy=HttpPolicy(concurrency=8, timeout_seconds=60))
        elapsed = time.perf_counter() - started
    stats = pulled.sources["brightspace"].stats
    calls = sum(stats.requests.values())
    users = len(pulled.tables[("brightspace", "users")])
    print(
        f"users pulled: {users:,}; calls: {calls:,} in {elapsed:.1f}s ({elapsed / 60:.2f} min); "
        f"waited for refills {stats.paced_seconds:.1f}s; 429s received: {stats.rate_limited} "
        f"(target 0); retries: {sum(stats.retries.values())}"
    )
    windows, refused = spent_per_window(printed)
    full = [spent / 10 for spent in windows[:-1]]
    if full:
        each = ", ".join(f"{n:,.0f}" for n in full)
        print(
            f"calls in each full minute (the sandbox's count): {each}; last, partial minute: "
            f"{windows[-1] / 10:,.0f}; 429s sent: {refused}"
        )
        mean = sum(full) / len(full)
        print(
            f"achieved {mean:,.0f} calls a minute against a budget of {budget:,.0f}: "
            f"{mean / budget:.1%} (target >= 90%; lowest minute {min(full) / budget:.1%})"
        )
    overall = calls / (elapsed / 60)
    print(
        f"over the whole wall time: {overall:,.0f} calls a minute, {overall / budget:.1%} of "
        f"the budget; the pull took {elapsed / 60:.2f} min, where the budget alone asks for "
        f"{max(0, math.ceil(calls / budget) - 1)} full minute(s) and part of another"
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average at the end (1, 5, 15 min; other jobs share the machine): {load}")


def spent_per_window(printed: list[str]) -> tuple[list[int], int]:
    """Credits spent in each window and calls refused, from the sandbox's closing line."""
    for line in printed:
        if "spent per window: " in line:
            spent = line.split("spent per window: ", 1)[1].split(";", 1)[0]
            refused = int(line.rsplit(":", 1)[1])
            return [int(n) for n in spent.split(", ") if n.isdigit()], refused
    raise SystemExit("the sandbox did not report how its credits were spent")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--people", type=int, default=None, help="default 2000 (none with --rate-limit)"
    )
    parser.add_argument("--latency-ms", type=int, default=10)
    parser.add_argument(
        "--in-process", action="store_true", help="serve the sandbox from this process"
    )
    parser.add_argument("--rounds", type=int, default=1, help="timed runs per mode (best kept)")
    parser.add_argument(
        "--thrive-people",
        type=int,
        default=0,
        help="also run a Thrive-only pull with this many people (e.g. 50000)",
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=0,
        help="also pull Brightspace alone against a bucket of this many credits a minute",
    )
    parser.add_argument(
        "--bs-people",
        type=int,
        default=33_300,
        help="people in the --rate-limit sandbox (33,300 hold about 20,000 Brightspace users)",
    )
    args = parser.parse_args()
    if args.rate_limit:
        rate_limited(args.bs_people, args.latency_ms, args.rate_limit)
    if args.people is None and not args.rate_limit:
        args.people = 2000
    if args.people:
        run(
            args.people,
            args.latency_ms,
            ("thrive", "brightspace", "coursepath"),
            args.rounds,
            args.in_process,
        )
    if args.thrive_people:
        run(args.thrive_people, args.latency_ms, ("thrive",), args.rounds, args.in_process)


if __name__ == "__main__":
    main()
