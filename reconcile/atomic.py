"""Files are never half-written (DESIGN §7): each is written to a temporary name beside its
final one and renamed over it only once it is whole."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` when the block ends.

    If the block raises (or is interrupted), the temporary file is removed and ``path`` is
    left exactly as it was. The rename is atomic on one file system, which a sibling is on.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        yield temporary
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
