"""A pull's progress kept beside the run folder, so that ``--resume`` continues it.

Why: a large tenant's pull takes long (a 100,000-user Brightspace tenant is some 200,000
calls, bound by D2L's credit budget), and a pull that dies at 80% (the network, a killed
process, the budget used up for the hour) must not start again from zero.

How: every answer a GET of the pull receives is appended, as the bytes that came over the
wire, to one file per source in a hidden folder beside the run folder
(``reports/.2026-11.progress/brightspace.answers``). ``--resume`` runs the very same pull
again, and each request that was answered before is answered from that file instead of the
network, in the order it was answered (a list read twice because its totals moved gets its
two readings back); the first request never answered goes to the server, and so on. The
paging guards, the typing and the tables see exactly the bytes an uninterrupted pull saw,
so the snapshot is the one an uninterrupted pull would have written from those answers.

What keeps a half snapshot from passing for a whole one: the snapshot is still written only
when every list is complete; the progress only ever feeds a pull, never a snapshot. A
progress folder is used only for the pull it was made for (the period, the timezone, each
source's settings and reconcile's version, ``pull.json``): ``--resume`` against another one
is refused (exit 2), and a pull without ``--resume`` removes an old one, saying so. A pull
stopped by an answer that cannot be used (a guard, a value no record can hold) removes it
too: replaying that answer would only stop the next pull the same way.

Files hold pulled HR and CPD data: the folder is 0700, its files 0600, inside the output
folder; it is removed when the run folder is swapped in. Each answer is stored as a header
line (request key, status, length, CRC-32) and the body; the key is a hash of the method and
the URL with its query, so no URL (and no credential a URL could carry) is written. An
answer cut short by a killed process, or damaged, ends the reading there: the requests after
it are simply asked again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import threading
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlencode

import orjson

from reconcile import __version__
from reconcile.config import Config
from reconcile.errors import ReconcileError, SourceError, UsageError
from reconcile.files import atomic_path, remove

log = logging.getLogger(__name__)

FORMAT = 1
DESCRIPTION = "pull.json"
ANSWERS_SUFFIX = ".answers"
PROGRESS_SUFFIX = ".progress"


def progress_path(folder: Path) -> Path:
    """``reports/.2026-11.progress`` for the run folder ``reports/2026-11``."""
    folder = Path(folder)
    return folder.with_name(f".{folder.name}{PROGRESS_SUFFIX}")


def describe_pull(config: Config) -> dict[str, Any]:
    """What decides which requests a pull makes and what they mean.

    ``[http]`` and ``concurrency`` are left out: raising ``max_pacing_seconds`` after a pull
    ran out of it, then resuming, is the point. No secret is in a config, only the names of
    the variables and files that hold them.
    """
    sources = {}
    for name, source in config.sources.items():
        fields = {
            key: str(value) if isinstance(value, Path) else value
            for key, value in dataclasses.asdict(source).items()
            if key != "concurrency"
        }
        sources[name] = {"kind": type(source).__name__, **fields}
    return {
        "reconcile_version": __version__,
        "period": [config.period.start.isoformat(), config.period.end.isoformat()],
        "timezone": config.organisation.timezone,
        "sources": sources,
    }


@dataclasses.dataclass(frozen=True)
class Saved:
    """One saved answer: its HTTP status and the decoded body (None for an empty one)."""

    status: int
    body: Any


class SavedAnswers:
    """One source's answers: those of an earlier run to hand back, and new ones to append.

    Threads of the source's worker pool share it; every method takes the lock.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._earlier: dict[str, list[tuple[int, int, int]]] = {}
        self.earlier = 0  # answers of earlier runs in the file
        self.resumed = 0  # of those, handed back to this pull
        self.appended = 0
        self._reader: BinaryIO | None = None
        if path.is_file():
            self._earlier, self.earlier, end = _index(path)
            os.truncate(path, end)  # a torn or damaged tail is dropped
            self._reader = path.open("rb")
        self._writer: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    @staticmethod
    def key(method: str, url: str, params: Mapping[str, Any] | None) -> str:
        query = urlencode(sorted((str(k), str(v)) for k, v in (params or {}).items()))
        text = f"{method.upper()} {url}?{query}" if query else f"{method.upper()} {url}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

    def take(self, key: str) -> Saved | None:
        """The next earlier answer to this request, or None: ask the server."""
        with self._lock:
            queue = self._earlier.get(key)
            if not queue or self._reader is None:
                return None
            status, offset, length = queue.pop(0)  # in the order they came
            self._reader.seek(offset)
            raw = self._reader.read(length)
            self.resumed += 1
        return Saved(status, orjson.loads(raw) if raw else None)

    def put(self, key: str, status: int, raw: bytes) -> None:
        """Append one answer; a single ``write`` per answer, so a kill leaves whole ones."""
        header = b"%s %d %d %08x\n" % (key.encode("ascii"), status, len(raw), zlib.crc32(raw))
        entry = header + raw + b"\n"
        with self._lock:
            if self._writer is None:
                return
            view = memoryview(entry)
            while view:
                written = os.write(self._writer, view)
                view = view[written:]
            self.appended += 1

    def close(self) -> None:
        with self._lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None
            if self._writer is not None:
                with contextlib.suppress(OSError):
                    os.close(self._writer)
                self._writer = None


def _index(path: Path) -> tuple[dict[str, list[tuple[int, int, int]]], int, int]:
    """Where each saved answer is: key → (status, offset, length) in file order; how many;
    and where the last whole, undamaged answer ends."""
    index: dict[str, list[tuple[int, int, int]]] = {}
    count = 0
    end = 0
    with path.open("rb") as handle:
        while True:
            header = handle.readline()
            try:
                key, status, length, crc = header.split()
                status_code, size, checksum = int(status), int(length), int(crc, 16)
            except ValueError:
                break
            offset = handle.tell()
            raw = handle.read(size)
            if len(raw) != size or zlib.crc32(raw) != checksum or handle.read(1) != b"\n":
                break
            index.setdefault(key.decode("ascii"), []).append((status_code, offset, size))
            count += 1
            end = handle.tell()
    return index, count, end


def saved_count(folder: Path) -> int:
    """How many whole answers a progress folder holds (read only: safe while a pull writes)."""
    return sum(_index(path)[1] for path in Path(folder).glob(f"*{ANSWERS_SUFFIX}"))


class PullProgress:
    """The progress folder of one run folder's pull (see the module docstring).

    Made before the run folder's lock is taken (nothing is touched); :meth:`opened` runs
    under the lock and opens, replaces or refuses what an earlier pull left.
    """

    def __init__(self, folder: Path, config: Config) -> None:
        self.path = progress_path(folder)
        self.description = describe_pull(config)
        self.sources: dict[str, SavedAnswers] = {}
        self.started = False

    def _start(self, *, resume: bool) -> None:
        if self.path.exists():
            if resume:
                self._check_same_pull()
            else:
                size = sum(p.stat().st_size for p in self.path.glob(f"*{ANSWERS_SUFFIX}"))
                log.warning(
                    "%s: an earlier pull was stopped there (%.1f MB of answers saved); this "
                    "pull starts from the beginning and replaces them (`--resume` continues "
                    "such a pull instead)",
                    self.path,
                    size / 1e6,
                )
                remove(self.path)
        elif resume:
            log.warning("%s: no earlier pull to resume; pulling from the beginning", self.path)
        if not self.path.exists():
            self.path.mkdir(mode=0o700)
            content = {
                "format": FORMAT,
                "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                **self.description,
            }
            with atomic_path(self.path / DESCRIPTION, mode=0o600) as temporary:
                temporary.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
        self.started = True

    def _check_same_pull(self) -> None:
        try:
            saved = json.loads((self.path / DESCRIPTION).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            log.warning(
                "%s: the earlier pull's progress is incomplete; pulling from the beginning",
                self.path,
            )
            remove(self.path)
            return
        if not isinstance(saved, dict) or saved.get("format") != FORMAT:
            differs = ["format"]
        else:
            differs = [k for k, v in self.description.items() if saved.get(k) != v]
        if differs:
            raise UsageError(
                f"{self.path}: the pull saved there is for another {' and '.join(differs)} "
                f"than this config asks for, so it cannot be continued: run without --resume "
                "to pull from the beginning (the saved progress is then replaced)"
            )

    def answers(self, source: str) -> SavedAnswers:
        if source not in self.sources:
            self.sources[source] = SavedAnswers(self.path / f"{source}{ANSWERS_SUFFIX}")
        return self.sources[source]

    def close(self) -> None:
        for answers in self.sources.values():
            answers.close()

    def discard(self) -> None:
        self.close()
        remove(self.path)

    @contextlib.contextmanager
    def opened(self, *, resume: bool) -> Iterator[None]:
        """Under the run folder's lock: open, replace or refuse what an earlier pull left,
        then the pull; a pull stopped by an answer that cannot be used removes the progress
        (see the module docstring)."""
        self._start(resume=resume)
        try:
            yield
        except SourceError as error:
            if not error.resumable:
                self.discard()
            raise

    @contextlib.contextmanager
    def explained(self, command: str) -> Iterator[None]:
        """Around the whole job: an error that stops it with answers kept says that
        ``reconcile <command> --resume`` continues it."""
        try:
            yield
        except ReconcileError as error:
            self._explain(error, command)
            raise
        finally:
            self.close()

    def _explain(self, error: ReconcileError, command: str) -> None:
        if isinstance(error, SourceError) and not error.resumable:
            return
        if not self.started or not self.path.is_dir():
            return
        self.close()  # the pull has stopped: every answer it received is written
        count = saved_count(self.path)
        if count == 0:
            return
        error.args = (
            f"{error}; the {count:,} answers received so far are kept in {self.path}: "
            f"`reconcile {command} --resume` continues from there",
            *error.args[1:],
        )
