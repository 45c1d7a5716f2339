"""The ``reconcile.toml`` a sandbox writes for itself (DESIGN.md §4).

Why a writer here: the demo, the tests and users trying the tool all need a config that points
at a running sandbox and a set of generated spreadsheets, and it must load with
``reconcile.config.load``. Secrets are never written into it: only the names of the
environment variables that :meth:`Sandbox.env` fills, and, for the Brightspace auths that
keep a credential in a file, the name of that file (written beside it, 0600, holding the
sandbox's own sample refresh token or app key).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from reconcile.sandbox import platform as creds
from reconcile.sandbox.catalogue import EMAIL_DOMAIN

if TYPE_CHECKING:
    from reconcile.sandbox.server import Sandbox

KNOWN_SOURCES = ("thrive", "brightspace", "coursepath")
BRIGHTSPACE_AUTHS = ("token", "refresh_token", "private_key_jwt")
#: Beside the config, for the Brightspace auths that keep their credential in a file (the
#: sandbox's own sample refresh token and app key, as a user's would be kept).
REFRESH_TOKEN_FILE = "brightspace-refresh-token"  # noqa: S105 - a file name
PRIVATE_KEY_FILE = "brightspace-app.pem"
#: The demo organisation's compliance mailbox; `send --dry-run` needs no server behind it.
DEMO_SENDER = f"compliance@{EMAIL_DOMAIN}"


def _string(value: str) -> str:
    """A TOML basic string (JSON string escapes are valid TOML escapes)."""
    return json.dumps(value, ensure_ascii=False)


def _private(path: Path, text: str) -> None:
    """A credential file readable by its owner only (as docs/sources.md asks of users)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)


def _path(target: Path, folder: Path) -> str:
    """Relative to the config's folder when it lies below it, else absolute."""
    target = Path(target).resolve()
    try:
        return target.relative_to(folder.resolve()).as_posix()
    except ValueError:
        return os.fspath(target)


def config_text(
    sandbox: Sandbox,
    folder: Path,
    spreadsheets: dict[str, Path],
    *,
    sources: tuple[str, ...],
    thrive_auth: str,
    brightspace_auth: str = "token",
) -> str:
    from reconcile.sandbox.server import (
        ENV_BRIGHTSPACE_CLIENT_ID,
        ENV_BRIGHTSPACE_CLIENT_SECRET,
        ENV_BRIGHTSPACE_TOKEN,
        ENV_COURSEPATH_KEY,
        ENV_THRIVE_CLIENT_ID,
        ENV_THRIVE_CLIENT_SECRET,
        ENV_THRIVE_SECRET,
        ORGANISATION_NAME,
    )

    unknown = [s for s in sources if s not in KNOWN_SOURCES]
    if unknown:
        raise ValueError(f"unknown sources {unknown}; use some of {', '.join(KNOWN_SOURCES)}")
    if thrive_auth not in ("basic", "oauth2"):
        raise ValueError('thrive_auth must be "basic" or "oauth2"')
    if brightspace_auth not in BRIGHTSPACE_AUTHS:
        raise ValueError(f"brightspace_auth must be one of {', '.join(BRIGHTSPACE_AUTHS)}")
    if "roster" not in spreadsheets:
        raise ValueError("spreadsheets must name a roster")
    org = sandbox.organisation
    urls = sandbox.base_urls
    lines = [
        "# Written by the reconcile sandbox: every source points at the local sandbox.",
        "# Secrets come from the environment (reconcile sandbox prints the lines to export).",
        "",
        "[organisation]",
        f"name = {_string(ORGANISATION_NAME)}",
        f"timezone = {_string(org.timezone)}",
        'date_format = "dd/mm/yyyy"',
        "",
        "[period]",
        f"start = {org.period_start.isoformat()}",
        f"end = {org.period_end.isoformat()}",
        f"as_of = {org.as_of.isoformat()}",
        "",
        "[roster]",
        f"path = {_string(_path(spreadsheets['roster'], folder))}",
        "",
    ]
    if spreadsheets.get("policy"):
        lines += ["[policy]", f"path = {_string(_path(spreadsheets['policy'], folder))}", ""]
    if "thrive" in sources:
        lines += [
            "[sources.thrive]",
            f"base_url = {_string(urls['thrive'])}",
            f"tenant_id = {_string(creds.THRIVE_TENANT_ID)}",
            f'auth = "{thrive_auth}"',
        ]
        if thrive_auth == "basic":
            lines.append(f'secret_env = "{ENV_THRIVE_SECRET}"')
        else:
            lines += [
                f"token_url = {_string(sandbox.thrive_token_url)}",
                f'client_id_env = "{ENV_THRIVE_CLIENT_ID}"',
                f'client_secret_env = "{ENV_THRIVE_CLIENT_SECRET}"',
            ]
        lines.append("")
    if "brightspace" in sources:
        lines += [
            "[sources.brightspace]",
            f"base_url = {_string(urls['brightspace'])}",
            'le_version = "1.84"',
            'lp_version = "1.46"',
            f'auth = "{brightspace_auth}"',
        ]
        if brightspace_auth == "token":
            lines.append(f'token_env = "{ENV_BRIGHTSPACE_TOKEN}"')
        else:
            lines += [
                f"token_url = {_string(sandbox.brightspace_token_url)}",
                f'client_id_env = "{ENV_BRIGHTSPACE_CLIENT_ID}"',
            ]
        if brightspace_auth == "refresh_token":
            lines += [
                f'client_secret_env = "{ENV_BRIGHTSPACE_CLIENT_SECRET}"',
                f'refresh_token_file = "{REFRESH_TOKEN_FILE}"',
            ]
            _private(folder / REFRESH_TOKEN_FILE, sandbox.issue_refresh_token() + "\n")
        if brightspace_auth == "private_key_jwt":
            lines.append(f'private_key_file = "{PRIVATE_KEY_FILE}"')
            _private(folder / PRIVATE_KEY_FILE, sandbox.brightspace_private_key_pem())
        lines.append("")
    if "coursepath" in sources:
        lines += [
            "[sources.coursepath]",
            f"base_url = {_string(urls['coursepath'])}",
            f"email = {_string(creds.COURSEPATH_EMAIL)}",
            f'api_key_env = "{ENV_COURSEPATH_KEY}"',
            "",
        ]
    if spreadsheets.get("cpd_log"):
        lines += ["[[cpd_logs]]", f"path = {_string(_path(spreadsheets['cpd_log'], folder))}", ""]
    lines += ["[output]", 'dir = "reports"', 'statements = "manager"', ""]
    lines += [
        "# `reconcile send --dry-run` writes .eml files; to really send, point smtp_host at",
        "# your mail server and name the environment variables holding its credentials.",
        "[email]",
        f"sender = {_string(DEMO_SENDER)}",
        'smtp_host = "localhost"',
        "smtp_port = 587",
        "starttls = true",
        "",
    ]
    return "\n".join(lines)
