"""Helpers for tests that run a real ``reconcile`` process and look at what it left behind."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def start(
    *args: Any,
    env: Mapping[str, str] | None = None,
    limits: Mapping[int, int] | None = None,
    python: str | None = None,
) -> subprocess.Popen:
    """``python -m reconcile ARGS`` (or ``python -c PYTHON ARGS``) in its own session, so a
    test can signal its group; ``limits`` are resource limits (``resource.RLIMIT_*``: bytes)."""

    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    command = [sys.executable, *(["-c", python] if python else ["-m", "reconcile"])]
    if limits:  # a launcher sets them and execs: no Python runs between fork and exec
        command = [sys.executable, "-c", _LAUNCH, json.dumps(dict(limits)), *command]
    return subprocess.Popen(
        [*command, *(str(a) for a in args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        start_new_session=True,
    )


_LAUNCH = """
import json, os, resource, sys
for limit, value in json.loads(sys.argv[1]).items():
    resource.setrlimit(int(limit), (value, value))
os.execv(sys.argv[2], sys.argv[2:])
"""


def run(
    *args: Any,
    env: Mapping[str, str] | None = None,
    timeout: float = 180,
    limits: Mapping[int, int] | None = None,
    python: str | None = None,
) -> Any:
    """Run ``reconcile ARGS`` to the end; a CompletedProcess with text stdout and stderr."""
    process = start(*args, env=env, limits=limits, python=python)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def wait_for(condition: Callable[[], object], *, timeout: float = 60.0, what: str = "") -> Any:
    """Poll ``condition`` every 20 ms until it is truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what or condition}")


def tree(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` (hidden ones too) with the SHA-256 of its bytes, and every
    folder (value ``"dir"``): equal trees are byte-for-byte the same."""
    out: dict[str, str] = {}
    for path in sorted(Path(folder).rglob("*")):
        key = path.relative_to(folder).as_posix()
        out[key] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def group_gone(process: subprocess.Popen) -> bool:
    """Has every process of the test process's session (workers included) ended?"""
    try:
        os.killpg(process.pid, 0)
    except ProcessLookupError:
        return True
    return False


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def sandbox_config(sandbox: Any, folder: Path) -> Path:
    """The sandbox's config and spreadsheets written into ``folder``; the config's path."""
    from reconcile.sandbox.spreadsheets import write_spreadsheets

    spreadsheets = write_spreadsheets(sandbox.organisation, folder / "inputs")
    return Path(sandbox.write_config(folder, spreadsheets))
