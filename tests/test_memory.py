"""The batch-run allocator settings (reconcile/memory.py)."""

import platform
import resource
import sys
import threading

import numpy as np
import pyarrow as pa
import pytest

from reconcile.memory import keep_freed_memory

glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not glibc, reason="mallopt is glibc's")
def test_settings_are_taken_and_arrow_allocates_through_malloc():
    assert keep_freed_memory() is True
    assert pa.default_memory_pool().backend_name == "system"
    assert keep_freed_memory() is True  # a second call changes nothing and still says yes
    buffer = pa.allocate_buffer(1 << 20)
    assert buffer.size == 1 << 20


@pytest.mark.skipif(not glibc, reason="mallopt is glibc's")
def test_a_freed_block_above_32_mib_is_reused_not_faulted_in_again():
    """The 1M-people case: ledger-length arrays above glibc's largest mmap threshold."""
    assert keep_freed_memory() is True
    size = 96 * 2**20
    hugepages = np._core.multiarray._set_madvise_hugepage(False)  # count 4 KiB faults
    try:
        block = np.ones(size // 8)
        del block
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        block = np.ones(size // 8)
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    finally:
        np._core.multiarray._set_madvise_hugepage(hugepages)
    assert block.sum() == size // 8
    # mapped afresh it would be one fault per 4 KiB page: 24,576 of them
    assert faults < size // 4096 // 10


@pytest.mark.skipif(not glibc, reason="mallopt is glibc's")
def test_threads_still_get_blocks_larger_than_their_arena_heap():
    """A thread's arena grows in 64 MiB heaps; a bigger block falls back to mapping."""
    assert keep_freed_memory() is True
    sums = []
    worker = threading.Thread(target=lambda: sums.append(np.ones(200 * 2**20 // 8).sum()))
    worker.start()
    worker.join()
    assert sums == [200 * 2**20 // 8]


@pytest.mark.skipif(glibc, reason="for systems without glibc")
def test_other_systems_are_left_alone():
    pool = pa.default_memory_pool().backend_name
    assert keep_freed_memory() is False
    assert pa.default_memory_pool().backend_name == pool
