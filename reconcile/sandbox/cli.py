"""``reconcile sandbox``: serve the three sample APIs until Ctrl-C.

Kept apart from ``reconcile/cli.py`` so the click layer stays thin; ``echo`` is the CLI's
quiet-aware print function (the library itself never prints).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from reconcile.sandbox import platform as creds
from reconcile.sandbox.generate import generate
from reconcile.sandbox.server import Sandbox


def serve_until_stopped(
    port: int,
    people: int,
    seed: int,
    latency_ms: int,
    rate_limit: int,
    echo: Callable[[str], None],
    *,
    stop_event: threading.Event | None = None,
) -> None:
    """Generate an organisation, serve it on 127.0.0.1:``port`` and block until interrupted.

    ``rate_limit`` is Brightspace's credits a minute (10 a call; 0: no limit).
    ``stop_event`` lets a caller (a test) end the wait without a signal.
    """
    echo(f"Generating a sample organisation of {people} people (seed {seed})...")
    org = generate(people, seed)
    sandbox = Sandbox(
        org,
        latency_ms=latency_ms,
        rate_limit_credits=rate_limit or None,
        port=port,
    )
    sandbox.start()
    try:
        for line in describe(sandbox):
            echo(line)
        waiter = stop_event or threading.Event()
        try:
            while not waiter.wait(0.5):
                pass
        except KeyboardInterrupt:
            echo("")
    finally:
        sandbox.stop()
        for line in budget_report(sandbox):
            echo(line)
        echo("Sandbox stopped.")


def budget_report(sandbox: Sandbox) -> list[str]:
    """With a rate limit: how fully each window's credits were spent and how many calls
    were refused, so a client's pacing can be judged as D2L would see it."""
    credits = sandbox.credits
    if not credits.limited:
        return []
    spent = ", ".join(str(n) for n in credits.charged) or "none"
    return [
        f"Brightspace credits: {credits.capacity} a window of {credits.window_s:g}s; "
        f"spent per window: {spent}; calls refused (429): {credits.refused}"
    ]


def describe(sandbox: Sandbox) -> list[str]:
    """What a user needs to point reconcile (or curl) at a running sandbox."""
    urls = sandbox.base_urls
    env = sandbox.env()
    org = sandbox.organisation
    lines = [
        f"Sandbox serving {org.people} people on {sandbox.url} "
        f"(period {org.period_start} to {org.period_end}, timezone {org.timezone})",
        f"  thrive       {urls['thrive']}  (tenant {creds.THRIVE_TENANT_ID}; "
        f"OAuth token URL {sandbox.thrive_token_url})",
        f"  brightspace  {urls['brightspace']}  (LE 1.84, LP 1.46)",
        f"  coursepath   {urls['coursepath']}  (acting email {creds.COURSEPATH_EMAIL})",
        "",
        "Export the sandbox credentials (public sample values, not secrets):",
    ]
    lines += [f"  export {name}={value}" for name, value in env.items()]
    lines += [
        "",
        "Then point a config at it, for example:",
        "  [sources.thrive]",
        f'  base_url = "{urls["thrive"]}"',
        f'  tenant_id = "{creds.THRIVE_TENANT_ID}"',
        '  secret_env = "THRIVE_API_SECRET"',
        "(`reconcile demo` writes a complete config and spreadsheets for you.)",
        "Press Ctrl-C to stop.",
    ]
    return lines
