"""The sandbox: one loopback HTTP server serving Thrive, Brightspace and Coursepath.

Why one stdlib server: the demo, the tests and the benchmarks need real sockets (keep-alive,
Content-Length, dropped connections), and nothing beyond the standard library is needed for
that. Each request goes through the same steps, in the order a real gateway applies them:
latency → route → rate limit (Brightspace) → injected fault → auth → handler.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from reconcile.sandbox import platform as creds
from reconcile.sandbox.brightspace import Brightspace
from reconcile.sandbox.coursepath import Coursepath
from reconcile.sandbox.faults import CreditBucket, Fault, Faults, Modes, Stats
from reconcile.sandbox.model import Organisation
from reconcile.sandbox.platform import Platform, RefreshTokens, TokenStore
from reconcile.sandbox.thrive import Thrive
from reconcile.sandbox.tls import certificate_file, server_context
from reconcile.sandbox.wire import BadRequest, NotFound, Request, Response, json_response, match

log = logging.getLogger(__name__)

# Names of environment variables, not secrets.
ENV_THRIVE_SECRET = "THRIVE_API_SECRET"  # noqa: S105
ENV_THRIVE_CLIENT_ID = "THRIVE_CLIENT_ID"
ENV_THRIVE_CLIENT_SECRET = "THRIVE_CLIENT_SECRET"  # noqa: S105
ENV_BRIGHTSPACE_TOKEN = "BRIGHTSPACE_TOKEN"  # noqa: S105
ENV_BRIGHTSPACE_CLIENT_ID = "BRIGHTSPACE_CLIENT_ID"
ENV_BRIGHTSPACE_CLIENT_SECRET = "BRIGHTSPACE_CLIENT_SECRET"  # noqa: S105
ENV_COURSEPATH_KEY = "COURSEPATH_API_KEY"
ORGANISATION_NAME = "Acme Health (sandbox)"
MAX_BODY = 1 << 20


class Sandbox:
    """The three platforms' APIs on 127.0.0.1, serving one generated organisation.

    ``with Sandbox(people=200) as sandbox: ...`` starts it on a free port; ``sandbox.url``,
    ``sandbox.base_urls`` and ``sandbox.env()`` say how to reach it.
    """

    def __init__(
        self,
        org: Organisation | None = None,
        *,
        people: int = 200,
        seed: int = 1,
        latency_ms: float = 0,
        rate_limit_credits: int | None = None,
        token_lifetime_s: float = 3600,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit_window_s: float = 60.0,
        tls: bool = False,
    ) -> None:
        if org is None:
            from reconcile.sandbox.generate import generate

            org = generate(people, seed)
        self.organisation = org
        self.latency_ms = latency_ms
        self.host = host
        self.port = port
        self.tls = tls
        self.faults = Faults()
        self.stats = Stats()
        self._stopping = threading.Event()
        self._thrive_tokens = TokenStore(token_lifetime_s)
        self._brightspace_tokens = TokenStore(token_lifetime_s)
        self.credits = CreditBucket(rate_limit_credits, window_s=rate_limit_window_s)
        self.refresh_tokens = RefreshTokens(creds.BRIGHTSPACE_REFRESH_TOKEN)
        self.platforms: dict[str, Platform] = {
            "thrive": Thrive(org, self._thrive_tokens, self.faults),
            "brightspace": Brightspace(
                org, self._brightspace_tokens, self.faults, self.credits, self.refresh_tokens
            ),
            "coursepath": Coursepath(org, self.faults),
        }
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Serve on a background thread. Every list's records are rendered first (seconds
        for 50,000 people, milliseconds for a test's), so no request, and no timed pull,
        pays for it."""
        if self._server is not None:
            return self
        self.warm()
        self._stopping.clear()
        context = server_context() if self.tls else None
        self._server = _Server((self.host, self.port), _Handler, self, context)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            name="sandbox",
            kwargs={"poll_interval": 0.1},
            daemon=True,
        )
        self._thread.start()
        log.info("sandbox serving on %s", self.url)
        return self

    def warm(self) -> None:
        """Render every platform's lists now (``start`` does; idempotent)."""
        for platform in self.platforms.values():
            platform.warm()

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- where and how to reach it ----------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox is not running; call start() first")
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def modes(self) -> Modes:
        """The strict behaviours tests turn (see ``faults.Modes``); reset by ``faults.clear()``."""
        return self.faults.modes

    @property
    def ca_file(self) -> str:
        """With ``tls=True``: the PEM file of the sandbox's self-signed certificate, for
        ``REQUESTS_CA_BUNDLE`` or a session's ``verify``."""
        return certificate_file()

    def issue_refresh_token(self) -> str:
        """A new Brightspace refresh token, valid once (then rotated), as D2L hands one out
        when the user authorises the app."""
        return self.refresh_tokens.issue()

    @staticmethod
    def brightspace_private_key_pem() -> str:
        """The sandbox app's RS256 private key (a public sample credential) for a config
        using ``auth = "private_key_jwt"``."""
        return creds.brightspace_app_private_pem()

    @property
    def base_urls(self) -> dict[str, str]:
        return {
            "thrive": f"{self.url}/thrive/rest/v1",
            "brightspace": f"{self.url}/brightspace",
            "coursepath": f"{self.url}/coursepath/api/v1",
        }

    @property
    def thrive_token_url(self) -> str:
        return f"{self.url}/thrive/oauth2/token/{creds.THRIVE_TENANT_ID}"

    @property
    def brightspace_token_url(self) -> str:
        return f"{self.url}/brightspace/core/connect/token"

    @staticmethod
    def env() -> dict[str, str]:
        """The environment a config written by :meth:`write_config` reads its secrets from."""
        return {
            ENV_THRIVE_SECRET: creds.THRIVE_API_SECRET,
            ENV_BRIGHTSPACE_TOKEN: creds.BRIGHTSPACE_TOKEN,
            ENV_COURSEPATH_KEY: creds.COURSEPATH_API_KEY,
            ENV_THRIVE_CLIENT_ID: creds.THRIVE_CLIENT_ID,
            ENV_THRIVE_CLIENT_SECRET: creds.THRIVE_CLIENT_SECRET,
            ENV_BRIGHTSPACE_CLIENT_ID: creds.BRIGHTSPACE_CLIENT_ID,
            ENV_BRIGHTSPACE_CLIENT_SECRET: creds.BRIGHTSPACE_CLIENT_SECRET,
        }

    def expire_tokens(self, *platforms: str) -> None:
        """Every access token the named platforms (default: Thrive and Brightspace) issued
        so far, the Brightspace trial token included, is refused from now: the next call
        gets 401, and a new token works."""
        stores = {"thrive": self._thrive_tokens, "brightspace": self._brightspace_tokens}
        for name in platforms or tuple(stores):
            stores[name].expire_all()

    def write_config(
        self,
        folder: str | Path,
        spreadsheets: dict[str, Path],
        *,
        sources: tuple[str, ...] = ("thrive", "brightspace", "coursepath"),
        thrive_auth: str = "basic",
        brightspace_auth: str = "token",
    ) -> Path:
        """Write ``reconcile.toml`` pointing at this sandbox and these spreadsheets
        (``brightspace_auth``: ``token``, ``refresh_token`` or ``private_key_jwt``)."""
        from reconcile.sandbox.config_writer import config_text

        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        path = out / "reconcile.toml"
        text = config_text(
            self,
            out,
            spreadsheets,
            sources=sources,
            thrive_auth=thrive_auth,
            brightspace_auth=brightspace_auth,
        )
        temporary = path.with_suffix(".toml.tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
        return path

    # --- one request ------------------------------------------------------------------------

    def platform_for(self, path: str) -> tuple[Platform | None, str, str]:
        """(platform, path below its prefix, the prefix). Brightspace is also served at the
        root (``/d2l/...``), as a D2L host serves it, for clients that cannot take a prefix."""
        for platform in self.platforms.values():
            if path == platform.prefix or path.startswith(platform.prefix + "/"):
                return platform, path[len(platform.prefix) :], platform.prefix
        if path.startswith("/d2l/"):
            return self.platforms["brightspace"], path, ""
        return None, path, ""

    def hold(self, seconds: float) -> None:
        """Sleep, but wake at once when the sandbox stops."""
        self._stopping.wait(seconds)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        handler: type,
        sandbox: Sandbox,
        context: ssl.SSLContext | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.context = context
        super().__init__(address, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        """With TLS, the handshake happens here, in the connection's own thread."""
        if self.context is not None:
            try:
                request = self.context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that goes away mid-connection (a pull stopped, a keep-alive connection
        reset) is ordinary: logged at debug level, never a traceback on the terminal. Anything
        else is the sandbox's own fault and is logged with its traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError | ssl.SSLError):
            log.debug("%s: connection ended: %s", client_address, error)
            return
        log.exception("sandbox: the request from %s failed", client_address)


class _Reset(Exception):
    """Close the connection without any response."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave at once: no 40 ms delayed-ACK stall
    server_version = "reconcile-sandbox/1"
    timeout = 60  # idle keep-alive connections end after a minute
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        sandbox = self.server.sandbox
        try:
            request = self._read_request()
            response = self._respond(sandbox, request)
            self._send(response)
        except _Reset:
            self._reset()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True

    def _read_request(self) -> Request:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            length = 0
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        sandbox = self.server.sandbox
        host = self.headers.get("Host") or f"{sandbox.host}:{sandbox.port}"
        scheme = "https" if sandbox.tls else "http"
        raw_path = self.path
        if parts.scheme:  # reached through a proxy: the request target is the absolute URL
            raw_path = parts.path + (f"?{parts.query}" if parts.query else "")
        return Request(
            method=self.command,
            path=parts.path,
            raw_path=raw_path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            host=f"{scheme}://{host}",
        )

    def _respond(self, sandbox: Sandbox, request: Request) -> Response:
        if sandbox.latency_ms:
            sandbox.hold(sandbox.latency_ms / 1000)
        sandbox.stats.host(request.host.split("://", 1)[-1])
        platform, sub_path, prefix = sandbox.platform_for(request.path)
        if platform is None:
            sandbox.stats.count("sandbox", "(unknown)")
            return json_response(
                404,
                {
                    "error": f"no such path {request.path}; the sandbox serves /thrive, "
                    "/brightspace and /coursepath"
                },
            )
        request.path = sub_path
        request.prefix = prefix
        found = match(platform.routes, request.method, sub_path)
        template = found[0].template if found else "(unknown)"
        sandbox.stats.count(platform.name, template)
        refused, extra_headers = platform.admit(request)
        if refused is not None:
            return refused
        fault = sandbox.faults.take(request.raw_path)
        if fault is not None and fault.kind == "body":
            return Response(200, fault.body, headers=list(extra_headers))
        if fault is not None and fault.kind not in ("timeout", "malformed"):
            return _fault_response(platform, fault, extra_headers)
        if fault is not None and fault.kind == "timeout":
            sandbox.hold(fault.hold_s)
        response = self._handle(platform, request, found)
        response.headers.extend(extra_headers)
        sandbox.stats.add_records(platform.name, template, response.records)
        if fault is not None and fault.kind == "malformed":
            response.status = 200
            response.body = response.body[: max(1, len(response.body) // 2)]
        return response

    @staticmethod
    def _handle(platform: Platform, request: Request, found: Any) -> Response:
        if found is not None:
            refused = platform.authenticate(request, found[0])
            if refused is not None:
                return refused
        else:
            probe = platform.routes[-1]
            refused = platform.authenticate(request, probe)
            if refused is not None:
                return refused
            return platform.error(404, f"no route {request.method} {request.path}")
        route, params = found
        if route.method != request.method:
            return platform.error(405, f"{request.method} is not allowed on {request.path}")
        try:
            return route.handler(request, **params)
        except BadRequest as exc:
            return platform.error(400, str(exc))
        except NotFound as exc:
            return platform.error(404, str(exc))
        except Exception:
            log.exception("sandbox handler failed for %s", request.raw_path)
            return platform.error(500, "the sandbox failed on this request (see its log)")

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)
        self.wfile.flush()

    def _reset(self) -> None:
        """Drop the connection with a TCP reset, as a crashed gateway would."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with contextlib.suppress(OSError):
            self.connection.close()


def _fault_response(
    platform: Platform, fault: Fault, extra_headers: list[tuple[str, str]]
) -> Response:
    if fault.kind == "reset":
        raise _Reset
    status = int(fault.kind)
    response = platform.error(status, f"injected fault: {status}")
    if status in (429, 503):
        response.headers.append(("Retry-After", _seconds(fault.retry_after)))
    if status != 429:
        response.headers.extend(extra_headers)
    return response


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def wait_until_listening(url: str, timeout_s: float = 5.0) -> None:
    """Block until a TCP connection to ``url``'s port succeeds (for the CLI and scripts)."""
    parts = urlsplit(url)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((parts.hostname, parts.port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
