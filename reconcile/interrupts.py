"""Holding Ctrl-C and termination signals over the few steps that must not be cut in two.

Why: a signal normally interrupts the job wherever it is (the CLI turns SIGTERM and SIGHUP
into the same exception as Ctrl-C, so clean-up code runs). A handful of steps must finish
once started: swapping a run folder in (two renames), removing a temporary folder on the way
out, starting a process pool (a pool left half-started prints tracebacks from its workers).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


@contextlib.contextmanager
def signals_deferred(*, deliver: bool = True) -> Iterator[None]:
    """Hold Ctrl-C and termination signals for the length of the block.

    With ``deliver`` a signal that came meanwhile is raised again afterwards; without, it is
    dropped (the job is already on its way out). Only the main thread can do this; elsewhere
    the block runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {s: signal.signal(s, lambda n, _f: received.append(n)) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if received and deliver:
            signal.raise_signal(received[0])
