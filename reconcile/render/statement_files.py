"""Which statement file belongs to whom: injective file names and the run's record of them.

Why: a statement is e-mailed to the manager it is about, so two managers must never share a
file. Employee ids are free text typed by HR (``A/B 1``, ``A_B_1``, ids longer than a file
name may be, ids differing only in case on a case-insensitive disk), so a file name cannot
simply be the id with odd characters replaced. A plain, short id keeps its own name
(``031361.pdf``); any other id gets a readable prefix, ``~`` and 12 hex digits of the id's
SHA-256 (``A_B_1~6f1c0e5d2b9a.pdf``). A plain name never holds ``~``, so the two forms never
meet, and two hashed names meet only if two ids share 48 bits of SHA-256.

The run folder's ``statements.csv`` records, for each statement written, whose it is, its
file and the file's SHA-256; ``reconcile send`` attaches a file only when this record says it
belongs to that manager in this run, and only if its bytes are still the ones written.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from reconcile.csvlog import read_log, write_csv_atomic
from reconcile.errors import InputError
from reconcile.files import sha256_of

RECORD_FILE = "statements.csv"
RECORD_COLUMNS = ("statement_id", "name", "file", "sha256")
#: Ids that are their own file name: letters, digits, ``.``, ``_``, ``-``; at most 64.
_PLAIN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: Names Windows refuses for a file whatever the extension (a run folder may be copied there).
_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"{d}{n}" for d in ("COM", "LPT") for n in range(1, 10)}
)
PREFIX_CHARS = 40
HASH_CHARS = 12


def statement_filename(identifier: object) -> str:
    """The file name for one statement owner's id: the id when it is plain, else prefix~hash."""
    text = str(identifier)
    if _is_plain(text):
        return f"{text}.pdf"
    return _hashed(text)


def statement_filenames(identifiers: Iterable[object]) -> dict[str, str]:
    """File names for one run's statements, distinct even on a case-insensitive disk.

    Plain ids that differ only in case (``ab12``, ``AB12``) would share a file on macOS or
    Windows, so those take the hashed form (the hash is of the exact id, so they differ).
    """
    ids = [str(i) for i in identifiers]
    names = {i: statement_filename(i) for i in ids}
    seen: dict[str, list[str]] = {}
    for identifier, name in names.items():
        seen.setdefault(name.casefold(), []).append(identifier)
    for group in seen.values():
        if len(group) > 1:
            for identifier in group:
                names[identifier] = _hashed(identifier)
    return names


def _is_plain(text: str) -> bool:
    return (
        _PLAIN_ID.fullmatch(text) is not None
        and not text.endswith(".")
        and text.split(".", maxsplit=1)[0].upper() not in _RESERVED
    )


def _hashed(text: str) -> str:
    prefix = _UNSAFE.sub("_", text).strip("._")[:PREFIX_CHARS].rstrip("._") or "unnamed"
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_CHARS]
    return f"{prefix}~{digest}.pdf"


@dataclass(frozen=True)
class StatementFile:
    """One statement the run wrote: whose it is, where, and the SHA-256 of its bytes."""

    statement_id: str
    name: str
    path: Path
    sha256: str

    def read(self) -> bytes | None:
        """The file's bytes if they are still the ones the run wrote, else None."""
        try:
            data = self.path.read_bytes()
        except OSError:
            return None
        return data if hashlib.sha256(data).hexdigest() == self.sha256 else None


def write_record(run_folder: Path, written: Iterable[tuple[str, str, Path]]) -> Path:
    """``statements.csv`` from ``(statement id, owner name, path)`` triples (atomic)."""
    rows = [
        (identifier, name, path.relative_to(run_folder).as_posix(), sha256_of(path))
        for identifier, name, path in written
    ]
    return write_csv_atomic(Path(run_folder) / RECORD_FILE, RECORD_COLUMNS, rows)


def read_record(run_folder: Path) -> Mapping[str, StatementFile]:
    """The statements of the run in ``run_folder``, by statement id.

    InputError (exit 2) when the folder has no record: then nothing says which file is
    whose, and ``send`` must not guess.
    """
    folder = Path(run_folder)
    path = folder / RECORD_FILE
    if not path.is_file():
        raise InputError(
            f"{folder}: no {RECORD_FILE}, so nothing says which statement belongs to whom; "
            "run `reconcile report` (or `run`) again to write the run folder with this version"
        )
    frame = read_log(path, RECORD_COLUMNS, what="statement record")
    out: dict[str, StatementFile] = {}
    for statement_id, name, file, sha256 in zip(
        *(frame[c].astype(str) for c in ("statement_id", "name", "file", "sha256")), strict=True
    ):
        relative = Path(file)
        if relative.is_absolute() or ".." in relative.parts:
            raise InputError(f"{path}: the file {file!r} is outside the run folder")
        out[statement_id] = StatementFile(statement_id, name, folder / relative, sha256)
    return out
