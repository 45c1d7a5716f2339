"""The process's one list of secrets, and the one way to keep them out of any text.

Why one: a secret reaches text by many roads. A server echoes the bearer token in a 401 page,
an OAuth error quotes the refresh token, a library's exception quotes a header, a config
error quotes a value. Secrets read from the environment (``config.secret``) and tokens issued
mid-pull (``sources.auth``) are added here as they appear, in every form a server or a
library could echo them (as is, URL-encoded, inside an HTTP Basic header). The HTTP core
cleans what servers say with it, and the CLI cleans every line it prints with it, so a token
issued a minute ago is hidden from an error raised anywhere, not only inside the HTTP core.
"""

from __future__ import annotations

import base64
import threading
from urllib.parse import quote


class Redactor:
    """Secrets and the forms they travel in; :meth:`clean` replaces each with ``***``."""

    MIN_LENGTH = 4  # shorter values would blank out ordinary words

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()

    def add(self, *secrets: str | None) -> None:
        """Hide each secret as is and URL-encoded (in a query string or a form body)."""
        with self._lock:
            for secret in secrets:
                if secret and len(secret) >= self.MIN_LENGTH:
                    self._secrets.update({secret, quote(secret, safe=""), quote(secret)})

    def add_basic(self, user: str, password: str) -> None:
        """A Basic credential also in the base64 form the Authorization header carries."""
        self.add(password, base64.b64encode(f"{user}:{password}".encode()).decode("ascii"))

    def clean(self, text: str) -> str:
        """``text`` with every secret, longest first, replaced by ``***``."""
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return text


#: Every secret read and every token issued in this process.
SECRETS = Redactor()


def redact(text: str) -> str:
    """``text`` without any secret read or token issued so far in this process."""
    return SECRETS.clean(text)
