"""Writing files so that nobody ever sees half of one, and hashing them.

Why one helper: every output (summary.json, the workbook, PDFs, CSV logs, .eml files) is
written to a temporary name beside its destination and renamed over it only when complete,
so a crash, a full disk or Ctrl-C leaves either the old file or the new one, never a torn
one, and no temporary file behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from reconcile.interrupts import signals_deferred

TEMPORARY_SUFFIX = ".tmp"
OLD_SUFFIX = ".old"


def temporary_sibling(path: Path) -> Path:
    """``.<name>.<random>.tmp`` beside ``path``: hidden, and recognisably ours."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}{TEMPORARY_SUFFIX}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, mode: int | None = None) -> Iterator[Path]:
    """A temporary path to write to; renamed over ``path`` when the block ends cleanly.

    On any exception (a full disk, an interruption) the temporary file is removed and the
    exception goes on: ``path`` keeps whatever it held before. With ``mode`` the file is
    created first with those permissions (``0o600``: readable by the job's user alone).
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_sibling(final)
    if mode is not None:
        os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
    try:
        yield temporary
        temporary.replace(final)
    except BaseException:
        remove(temporary)
        raise


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)
    return Path(path)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    return write_bytes_atomic(path, text.encode("utf-8"))


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A new empty folder to fill; it replaces ``path`` when the block ends cleanly.

    On any exception it is removed (Ctrl-C waits for that) and ``path`` is left as it was.
    """
    final = Path(path)
    temporary = temporary_sibling(final)
    temporary.mkdir()
    try:
        yield temporary
        replace_folder(temporary, final)
    except BaseException:
        with signals_deferred(deliver=False):
            remove(temporary)
        raise


def replace_folder(new: Path, final: Path) -> None:
    """Put the folder ``new`` where ``final`` is, replacing whatever folder was there.

    The old folder is renamed aside, the new one renamed into place, then the old one is
    deleted; Ctrl-C and termination signals wait until both renames are done, so ``final``
    is always the old folder or the new one.
    """
    with signals_deferred():
        old = None
        if final.exists():
            old = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}{OLD_SUFFIX}")
            final.rename(old)
        try:
            new.rename(final)
        except BaseException:
            if old is not None:
                old.rename(final)
            raise
        if old is not None:
            remove(old)


def remove(path: Path) -> None:
    """Remove a file or a folder tree if it is there; never fails (cleanup on the way out)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
