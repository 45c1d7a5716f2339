"""reconcile: CPD compliance from learning platforms and HR spreadsheets."""

from reconcile.errors import (
    ConfigError,
    InputError,
    IntegrityError,
    ReconcileError,
    SourceError,
    ValidationFailed,
)

__all__ = [
    "ConfigError",
    "InputError",
    "IntegrityError",
    "ReconcileError",
    "SourceError",
    "ValidationFailed",
]
__version__ = "0.1.0"
