"""A test's own small HTTP server on 127.0.0.1 (the hostile and scripted servers)."""

from __future__ import annotations

import sys
from http.server import ThreadingHTTPServer
from typing import Any


class LoopbackServer(ThreadingHTTPServer):
    """A server whose client may hang up at any point, on purpose (a deadline, a size cap,
    a reset): a connection ended that way is not printed as a traceback in the test output.
    Any other error in a handler still is."""

    daemon_threads = True

    def __init__(self, handler: type) -> None:
        super().__init__(("127.0.0.1", 0), handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)
