"""Helpers for tests that run a real ``reconcile`` process and look at what it left behind."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def start(*args: Any, env: Mapping[str, str] | None = None, **options: Any) -> subprocess.Popen:
    """``python -m reconcile ARGS`` in its own session (so a test can signal its group)."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "reconcile", *(str(a) for a in args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        start_new_session=True,
        **options,
    )


def run(*args: Any, env: Mapping[str, str] | None = None, timeout: float = 180) -> Any:
    """Run ``reconcile ARGS`` to the end; a CompletedProcess with text stdout and stderr."""
    process = start(*args, env=env)
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
