"""The batch-run allocator settings (reconcile/memory.py)."""

import platform
import sys

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


@pytest.mark.skipif(glibc, reason="for systems without glibc")
def test_other_systems_are_left_alone():
    pool = pa.default_memory_pool().backend_name
    assert keep_freed_memory() is False
    assert pa.default_memory_pool().backend_name == pool
