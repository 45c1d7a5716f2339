"""Every error the library raises on purpose, and the exit code the CLI gives it.

    ReconcileError                 exit 1 unless a subclass says otherwise
    ├── UsageError                 exit 2  a command used in a way that cannot work
    ├── ConfigError                exit 2  the config file: a key, a path, an unset variable
    ├── InputError                 exit 2  an HR spreadsheet that cannot be read
    │   └── ValidationFailed       exit 2  spreadsheets read, but with errors (carries the issues)
    ├── SourceError                exit 3  a platform API failed after retries
    ├── DeliveryError              exit 3  the mail server failed, refused the login or messages
    └── IntegrityError             exit 1  the figures do not add up: a bug, never the user's fault

The library raises; only ``reconcile.cli`` turns an error into a message and an exit code.
A message is one line saying what happened, where (file, row, key, URL) and how to fix it.
"""

from __future__ import annotations

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
    """A platform API failed after retries; names the source, URL (no secrets) and status."""

    exit_code = 3

    def __init__(
        self, message: str, *, source: str = "", url: str = "", status: int | None = None
    ) -> None:
        super().__init__(message)
        self.source = source
        self.url = url
        self.status = status


class DeliveryError(ReconcileError):
    """The mail server could not be reached, refused our login, or refused messages.

    Exit 3 like a failing platform: something outside reconcile stopped the job, and a
    re-run sends only what is left.
    """

    exit_code = 3


class IntegrityError(ReconcileError):
    """Records went missing between pull and result. Always a bug in reconcile."""

    exit_code = 1
