"""The reconciliation engine (DESIGN.md §6): pure, frames in, a frozen result out.

from reconcile.engine import CanonicalTables, Rules, reconcile, summary
result = reconcile(CanonicalTables.build(people=..., activities=...), Rules(...))
"""

from reconcile.engine.canonical import SCHEMAS, CanonicalTables, conform, validate_canonical
from reconcile.engine.core import reconcile
from reconcile.engine.result import Result, summary
from reconcile.engine.rules import Rules

__all__ = [
    "SCHEMAS",
    "CanonicalTables",
    "Result",
    "Rules",
    "conform",
    "reconcile",
    "summary",
    "validate_canonical",
]
