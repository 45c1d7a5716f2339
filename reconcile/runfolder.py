"""The run folder as a whole (DESIGN.md §7): one job at a time, built beside, swapped in.

Why: a run folder is what an officer forwards and what ``send`` mails out, so it must never
mix two runs. A job that writes one (``run``, ``report``, ``pull``) builds the new folder in a
hidden sibling (``.2026-11.<random>.tmp``) and swaps it in only when everything is written.
A failure, a full disk or a signal before that leaves the previous folder exactly as it was,
and the sibling is removed. Statements of managers no longer on the roster cannot linger:
nothing of the previous folder is reused except the logs of what was already done in the
world (``sent.csv``, ``writeback.csv``), which stay true whatever the new figures are.

A lock file beside the folder (``.2026-11.lock``) keeps a second job off it (two ``run``s, two
``send``s, or one of each): it is held with ``flock`` (the kernel drops it when the holder
dies, however it dies) and names the holder's process id, command and start time for the
error message. Where ``flock`` is not available, a lock naming a process that is gone is
taken over.

``--out`` may name a new folder, an empty one or a previous run folder; a folder holding
anything else is refused (exit 2): it is not reconcile's to replace.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import os
import shutil
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconcile.errors import Interrupted, MachineError, UsageError, machine_problem
from reconcile.files import OLD_SUFFIX, TEMPORARY_SUFFIX, atomic_folder, remove

#: Logs of what a job did in the world; a new run of the same folder keeps them.
KEPT_LOGS = ("sent.csv", "writeback.csv")
#: A folder holding one of these was written by reconcile.
MARKERS = ("result/rules.json", "snapshot/manifest.json")
LOCK_SUFFIX = ".lock"


def is_run_folder(folder: Path) -> bool:
    return any((Path(folder) / marker).is_file() for marker in MARKERS)


def check_target(folder: Path) -> None:
    """Refuse (exit 2) an output folder that holds anything but a previous run."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder}: is a file, not a folder; give a folder for the run")
    if not folder.is_dir() or is_run_folder(folder):
        return
    with _as_machine_error(f"cannot read the output folder {folder}"):
        found = sorted(p.name for p in folder.iterdir())
    if found:
        shown = ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
        raise UsageError(
            f"{folder}: already holds files that are not a reconcile run ({shown}); a run "
            "replaces its whole folder, so reconcile will not write there: give --out a new "
            "or empty folder, or a previous run folder"
        )


@contextlib.contextmanager
def rebuilt(
    folder: Path, command: str, *, swapped: Callable[[], None] | None = None
) -> Iterator[Path]:
    """Lock ``folder``, yield a new empty folder to build the run in, swap it in at the end.

    The new folder is made before anything else happens, so a folder that cannot be written
    is found before a single request is made. Any exception leaves ``folder`` as it was;
    Ctrl-C and termination signals become :class:`Interrupted`, a full or read-only disk a
    :class:`MachineError`, each saying so. ``swapped`` is called once the new folder is in
    place, the lock still held (a pull's saved progress is removed then).
    """
    folder = Path(folder)
    check_target(folder)
    with _as_machine_error(f"cannot create the folder for the run {folder}"):
        folder.parent.mkdir(parents=True, exist_ok=True)
    with locked(folder, command):
        check_target(folder)
        _tidy(folder)
        existed = folder.exists()
        try:
            with atomic_folder(folder) as staging:
                yield staging
                _keep_logs(folder, staging)
            if swapped is not None:
                swapped()
        except BaseException as error:
            translated = _stopped(error, folder, existed)
            if translated is None:
                raise
            raise translated from None


def _stopped(error: BaseException, folder: Path, existed: bool) -> MachineError | None:
    """The error to report for a run stopped by the machine or a signal, else None."""
    left = (
        f"{folder} is exactly as it was before this run"
        if existed
        else f"nothing was written ({folder} was not created)"
    )
    if isinstance(error, KeyboardInterrupt):
        return Interrupted(f"interrupted ({str(error) or 'SIGINT'}); {left}")
    if isinstance(error, MachineError):
        return MachineError(f"{error}; {left}")
    problem = machine_problem(error)
    if problem is None:
        return None
    return MachineError(
        f"cannot write the run folder: {problem}; {left}. Free some space or fix the "
        "folder's permissions, then run again"
    )


@contextlib.contextmanager
def _as_machine_error(doing: str) -> Iterator[None]:
    """An OSError from the machine becomes one line: what we were doing, where, and why."""
    try:
        yield
    except OSError as error:
        problem = machine_problem(error)
        if problem is None:
            raise
        raise MachineError(f"{doing}: {problem}") from None


def _keep_logs(folder: Path, staging: Path) -> None:
    for name in KEPT_LOGS:
        if (folder / name).is_file():
            shutil.copy2(folder / name, staging / name)


def _tidy(folder: Path) -> None:
    """Clear what a job killed outright (SIGKILL, power cut) left beside ``folder``.

    Only called with the lock held, so no other job is building here. A previous folder
    renamed aside but never replaced is put back.
    """
    parent = folder.parent
    for leftover in parent.glob(f".{folder.name}.*{TEMPORARY_SUFFIX}"):
        remove(leftover)
    olds = sorted(parent.glob(f".{folder.name}.*{OLD_SUFFIX}"))
    if olds and not folder.exists():
        olds.pop().rename(folder)
    for old in olds:
        remove(old)


# --------------------------------------------------------------------------- the lock


@dataclass(frozen=True)
class Holder:
    """Who holds a run folder's lock, as its lock file says."""

    pid: int
    host: str
    command: str
    since: str

    def alive(self) -> bool:
        if self.host != socket.gethostname() or os.name != "posix":
            return True  # cannot tell (and on Windows os.kill would end the process): assume
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def lock_path(folder: Path) -> Path:
    folder = Path(folder)
    return folder.with_name(f".{folder.name}{LOCK_SUFFIX}")


@contextlib.contextmanager
def locked(folder: Path, command: str) -> Iterator[None]:
    """Hold the lock of ``folder`` for the block, or raise MachineError naming the holder."""
    path = lock_path(folder)
    with _as_machine_error(f"cannot create the lock file {path}"):
        descriptor = _acquire(path, Path(folder), command)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(descriptor)


def _acquire(path: Path, folder: Path, command: str) -> int:
    for _attempt in range(20):
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if not _flock(descriptor):
                raise _busy(folder, _holder(descriptor))
            if not _same_file(descriptor, path):
                os.close(descriptor)  # the holder removed it as we opened it: try again
                continue
            _write_holder(descriptor, command)
            return descriptor
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(descriptor)
            raise
    raise MachineError(f"{path}: the lock file keeps changing; is another job starting?")


def _flock(descriptor: int) -> bool:
    """True when we now hold the lock, False when another process does.

    Where the file system has no ``flock``, a lock file naming a live process counts as
    held, and one naming a process that is gone is stale and taken over.
    """
    try:
        import fcntl

        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except (ImportError, OSError) as error:  # no fcntl (Windows) or no flock here
        if isinstance(error, OSError) and error.errno not in _NO_FLOCK:
            raise
        holder = _holder(descriptor)
        return holder is None or holder.pid == os.getpid() or not holder.alive()
    return True


_NO_FLOCK = (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL)


def _same_file(descriptor: int, path: Path) -> bool:
    try:
        return os.fstat(descriptor).st_ino == path.stat().st_ino
    except FileNotFoundError:
        return False


def _holder(descriptor: int) -> Holder | None:
    os.lseek(descriptor, 0, os.SEEK_SET)
    raw = os.read(descriptor, 4096)
    try:
        data: Any = json.loads(raw.decode("utf-8"))
        return Holder(int(data["pid"]), str(data["host"]), str(data["command"]), data["since"])
    except (ValueError, KeyError, TypeError):
        return None


def _write_holder(descriptor: int, command: str) -> None:
    since = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    holder = {"pid": os.getpid(), "host": socket.gethostname(), "command": command, "since": since}
    os.ftruncate(descriptor, 0)
    os.lseek(descriptor, 0, os.SEEK_SET)
    os.write(descriptor, (json.dumps(holder) + "\n").encode("utf-8"))


def _busy(folder: Path, holder: Holder | None) -> MachineError:
    if holder is None:
        who = "another reconcile job is using it (it is just starting)"
    else:
        who = (
            f"another run is using this folder since {holder.since}: `reconcile "
            f"{holder.command}`, process {holder.pid} on {holder.host}"
        )
    return MachineError(
        f"{folder}: {who}; wait for it to finish and run again (if that process is gone, "
        "just run again: its lock is released)"
    )
