"""The sandbox: Thrive, Brightspace and Coursepath served locally from generated data.

``Sandbox`` is the server (see docs/sandbox.md); the credentials below are fixed, public
sandbox values, not secrets.
"""

from reconcile.sandbox.platform import (
    BRIGHTSPACE_CLIENT_ID,
    BRIGHTSPACE_CLIENT_SECRET,
    BRIGHTSPACE_TOKEN,
    COURSEPATH_API_KEY,
    COURSEPATH_EMAIL,
    THRIVE_API_SECRET,
    THRIVE_CLIENT_ID,
    THRIVE_CLIENT_SECRET,
    THRIVE_TENANT_ID,
)
from reconcile.sandbox.server import Sandbox

__all__ = [
    "BRIGHTSPACE_CLIENT_ID",
    "BRIGHTSPACE_CLIENT_SECRET",
    "BRIGHTSPACE_TOKEN",
    "COURSEPATH_API_KEY",
    "COURSEPATH_EMAIL",
    "THRIVE_API_SECRET",
    "THRIVE_CLIENT_ID",
    "THRIVE_CLIENT_SECRET",
    "THRIVE_TENANT_ID",
    "Sandbox",
]
