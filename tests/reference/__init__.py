"""Independent reference implementation of DESIGN.md §6 (see README.md in this folder)."""

from tests.reference.rules import (
    ActivityOutcome,
    CompletionOutcome,
    PersonFigures,
    ReferenceResult,
    RefRules,
    reference_reconcile,
)

__all__ = [
    "ActivityOutcome",
    "CompletionOutcome",
    "PersonFigures",
    "RefRules",
    "ReferenceResult",
    "reference_reconcile",
]
