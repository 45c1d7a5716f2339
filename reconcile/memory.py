"""Process-wide memory settings for a batch run: keep freed memory for reuse.

Why: the engine builds and drops hundreds of arrays of millions of values. With the C
library's and Arrow's defaults, much of that memory goes back to the operating system as soon
as it is freed and is asked for again a moment later; every page of it is then zero-filled
again by the kernel. On the project machine (a virtual machine, where a page fault costs more
than on bare metal) that was 2–3 s of system time in a 7–9 s reconciliation of 100,000
people (about 1 s with these settings). Keeping freed memory inside the process turns those
page faults into plain reuse.

No block is mapped on its own, however large. glibc maps any block above its mmap threshold
separately and unmaps it when freed, and the threshold cannot be raised above 32 MiB. At
1,000,000 people every ledger-length array (20 million values, 160 MB) was above it, so each
was faulted in afresh: 62 s of system time in a 137 s reconciliation. With every block taken
from the heap and the heap never trimmed, it was 33 s of system time and 107 s in all (same
tables, one run each, 23 Nov 2026; docs/engine.md). If the heap cannot grow, glibc still
falls back to mapping the block, so nothing fails for want of the heap. This is the main
heap's rule: a thread allocates from its own arena, whose heaps are at most 64 MiB, so a
larger block made by a thread (the engine's second thread, at a million people) is still
mapped on its own (docs/engine.md, session 7).

Where it applies: the run pipeline (``runs._reconcile_snapshot``, behind `reconcile run`,
`report` and `demo`) calls it once the pull is over, before reading the snapshot back.
Not before: the pull's many threads parsing JSON were slower through the C library's
allocator than through Arrow's own (measured: 50,000-person Thrive pull, concurrent 6.3–6.4 s
→ 7.3–7.4 s), so a pull keeps Arrow's allocator. A later pull in the same process (the demo's
second month) runs under these settings, at the demo's size a difference of milliseconds.

The cost: the process keeps its peak memory until it exits instead of shrinking after each
step. A run is a batch job that exits when its folder is written, so this is the right trade
there; code that embeds the engine (``reconcile.engine.reconcile``) is not affected unless it
calls this itself.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

#: glibc ``mallopt`` parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_MMAP_MAX = -4
#: Fixed (32 MiB, the largest glibc accepts) so that glibc stops moving it, and the trim
#: threshold with it, as blocks are freed; with mapping off (below) it no longer decides
#: where a block comes from.
_MMAP_THRESHOLD = 32 * 2**20
#: No block of the main heap is mapped on its own (glibc still maps one if the heap cannot
#: grow).
_MMAP_MAX = 0
#: Free memory at the top of the heap is never handed back (-1: trimming off).
_TRIM_THRESHOLD = -1

_done = False


def keep_freed_memory() -> bool:
    """Tune glibc malloc to reuse freed memory, and route Arrow's allocations through it.

    Returns whether the C library took the settings (False on non-glibc systems, where
    nothing is changed). Safe to call more than once.
    """
    global _done  # noqa: PLW0603 - a process-wide setting, applied once
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others without mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    taken = mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD) == 1
    taken = mallopt(_M_MMAP_MAX, _MMAP_MAX) == 1 and taken
    taken = mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD) == 1 and taken
    if taken:
        # Arrow's bundled allocator hands idle pages back to the system on its own timer;
        # through the system pool its buffers follow the settings above.
        import pyarrow as pa

        pa.set_memory_pool(pa.system_memory_pool())
    _done = taken
    log.debug("allocator settings for a batch run %s", "applied" if taken else "refused")
    return taken
