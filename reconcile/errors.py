"""Every error the library raises on purpose, and the exit code the CLI gives it.

    ReconcileError                 exit 1 unless a subclass says otherwise
    ├── UsageError                 exit 2  a command used in a way that cannot work
    ├── ConfigError                exit 2  the config file: a key, a path, an unset variable
    ├── InputError                 exit 2  an HR spreadsheet that cannot be read
    │   └── ValidationFailed       exit 2  spreadsheets read, but with errors (carries the issues)
    ├── SourceError                exit 3  a platform API failed after retries
    ├── DeliveryError              exit 3  the mail server failed, refused the login or messages
    ├── MachineError               exit 4  the machine stopped the job: disk full, a folder that
    │   │                                  cannot be written, a folder another job is using
    │   └── Interrupted            exit 4  Ctrl-C or a termination signal
    └── IntegrityError             exit 1  the figures do not add up: a bug, never the user's fault

The library raises; only ``reconcile.cli`` turns an error into a message and an exit code.
A message is one line saying what happened, where (file, row, key, URL) and how to fix it.
"""

from __future__ import annotations

import errno
from typing import Any


class ReconcileError(Exception):
    """Base of every deliberate error; ``exit_code`` is what the CLI exits with."""

    exit_code: int = 1


class UsageError(ReconcileError):
    """A command was asked for something it cannot do with these arguments."""

    exit_code = 2


class ConfigError(ReconcileError):
    """The config file is wrong: a key, a value, a missing file or an unset variable."""

    exit_code = 2


class InputError(ReconcileError):
    """An HR spreadsheet cannot be read at all (not a workbook, encrypted, empty...)."""

    exit_code = 2


class ValidationFailed(InputError):
    """Spreadsheets were read but hold errors; ``issues`` lists every problem found."""

    def __init__(self, message: str, issues: Any = None) -> None:
        super().__init__(message)
        self.issues = issues


class SourceError(ReconcileError):
    """A platform API failed after retries; names the source, URL (no secrets) and status.

    ``resumable`` is False when what stopped the pull is an answer the pull received (a
    paging guard, a value no record can hold): a resumed pull would replay that answer.
    """

    exit_code = 3

    def __init__(
        self,
        message: str,
        *,
        source: str = "",
        url: str = "",
        status: int | None = None,
        resumable: bool = True,
    ) -> None:
        super().__init__(message)
        self.source = source
        self.url = url
        self.status = status
        self.resumable = resumable


class DeliveryError(ReconcileError):
    """The mail server could not be reached, refused our login, or refused messages.

    Exit 3 like a failing platform: something outside reconcile stopped the job, and a
    re-run sends only what is left.
    """

    exit_code = 3


class MachineError(ReconcileError):
    """The machine stopped the job: a full disk, a read-only or missing folder, a folder in
    use by another reconcile. Nothing half-written is left; the message says what is where."""

    exit_code = 4


class Interrupted(MachineError):
    """Ctrl-C (SIGINT) or a termination signal (SIGTERM, SIGHUP) stopped the job."""


class IntegrityError(ReconcileError):
    """Records went missing between pull and result. Always a bug in reconcile."""

    exit_code = 1


#: What an OSError from the machine means, in words a user can act on.
_MACHINE_ERRNOS = {
    errno.ENOSPC: "no space left on the disk",
    errno.EDQUOT: "the disk quota is used up",
    errno.EFBIG: "the file is larger than this system allows",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EIO: "an input/output error (a failing disk or a lost network share?)",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "it is a folder, not a file",
    errno.EEXIST: "it already exists",
    errno.ELOOP: "a loop of symbolic links",
    errno.ENAMETOOLONG: "the name is too long",
    errno.EMFILE: "too many open files",
    errno.ENFILE: "too many open files on the system",
    errno.ENOMEM: "out of memory",
    errno.ENOENT: "no such file or folder",
}


def machine_problem(error: BaseException) -> str | None:
    """``<file>: no space left on the disk`` for an OSError the machine caused, else None.

    Network errors (also OSErrors) are not the machine's: sources and the mail server turn
    them into their own errors, so they never reach here with a file name and errno.
    """
    if not isinstance(error, OSError) or error.errno not in _MACHINE_ERRNOS:
        return None
    where = error.filename if error.filename is not None else ""
    what = _MACHINE_ERRNOS[error.errno]
    return f"{where}: {what}" if where != "" else what
