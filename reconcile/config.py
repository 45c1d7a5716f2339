"""The TOML config file (DESIGN.md §4), loaded into frozen dataclasses.

Why a hand-written reader rather than a schema library: every mistake must come back as one
line naming the key, what was expected and how to fix it, and an unknown key must be refused
with the nearest known one suggested (a typo in ``duplicate_window_days`` silently falling back
to the default would change a compliance figure).

Relative paths resolve against the config file's folder. Secrets are never stored here: a
source keeps the *names* of its environment variables and :func:`secret` reads them when a
client is built, so a config object can be printed, logged or pickled without leaking.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
import tomllib
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, cast

from reconcile.errors import ConfigError
from reconcile.redaction import SECRETS

SYSTEMS = ("thrive", "brightspace", "coursepath")


#: Default ``[output] workbook_detail_rows`` (DESIGN §7): past it a workbook's Activities and
#: Completions sheets keep the records with an exception and the full ledgers go to CSV files.
WORKBOOK_DETAIL_ROWS = 200_000
#: Data rows an Excel sheet holds under its header (1,048,576 rows in all).
EXCEL_DATA_ROWS = 1_048_575


#: How reconcile gets a Brightspace token (DESIGN §4, §9).
BrightspaceAuth = Literal["refresh_token", "private_key_jwt", "token"]


@dataclass(frozen=True)
class Organisation:
    name: str
    timezone: str = "UTC"
    date_format: Literal["dd/mm/yyyy", "mm/dd/yyyy"] = "dd/mm/yyyy"


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date
    as_of: dt.date | None = None  # None: today in the organisation's timezone

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class SpreadsheetRef:
    """A spreadsheet named in the config: its path, optional sheet and header overrides."""

    path: Path
    sheet: str | None = None
    columns: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Policy:
    path: Path | None = None
    sheet_overrides: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    multiple_audiences: Literal["max", "sum"] = "max"
    prorate: bool = True
    count_unlogged_completions: bool = True
    duplicate_window_days: int = 1
    completion_match_days: int = 14
    max_activity_minutes: int = 1440


@dataclass(frozen=True)
class Http:
    """How hard the HTTP core tries: shared by every source unless a source overrides it."""

    concurrency: int = 8
    timeout_seconds: float = 30.0
    max_retries: int = 6
    max_wait_seconds: float = 120.0
    deadline_seconds: float = 300.0
    max_body_mb: float = 64.0
    max_pacing_seconds: float = 900.0


@dataclass(frozen=True)
class ThriveSource:
    base_url: str
    tenant_id: str
    auth: Literal["basic", "oauth2"] = "basic"
    secret_env: str | None = None
    token_url: str | None = None
    client_id_env: str | None = None
    client_secret_env: str | None = None
    scope: str | None = None
    concurrency: int | None = None
    name: str = "thrive"

    def secret_envs(self) -> tuple[str, ...]:
        if self.auth == "basic":
            return (self.secret_env,) if self.secret_env else ()
        return tuple(e for e in (self.client_id_env, self.client_secret_env) if e)


BRIGHTSPACE_TOKEN_URL = "https://auth.brightspace.com/core/connect/token"  # noqa: S105


@dataclass(frozen=True)
class BrightspaceSource:
    """``auth``: ``refresh_token`` (client id + secret + a refresh token file rewritten on
    every use), ``private_key_jwt`` (client id + an RS256 private key from a file or a
    variable) or ``token`` (a bearer token in a variable, for a trial)."""

    base_url: str
    le_version: str = "1.84"
    lp_version: str = "1.46"
    auth: BrightspaceAuth = "token"
    token_env: str | None = None
    token_url: str = BRIGHTSPACE_TOKEN_URL
    client_id_env: str | None = None
    client_secret_env: str | None = None
    refresh_token_file: Path | None = None
    private_key_file: Path | None = None
    private_key_env: str | None = None
    scope: str | None = None
    concurrency: int | None = None
    name: str = "brightspace"

    def secret_envs(self) -> tuple[str, ...]:
        if self.auth == "token":
            return (self.token_env,) if self.token_env else ()
        names = (self.client_id_env, self.client_secret_env, self.private_key_env)
        return tuple(e for e in names if e)


@dataclass(frozen=True)
class CoursepathSource:
    base_url: str
    email: str
    api_key_env: str
    concurrency: int | None = None
    name: str = "coursepath"

    def secret_envs(self) -> tuple[str, ...]:
        return (self.api_key_env,)


Source = ThriveSource | BrightspaceSource | CoursepathSource


@dataclass(frozen=True)
class Output:
    dir: Path
    statements: Literal["none", "manager", "person"] = "manager"
    templates: Path | None = None  # a folder of the user's own templates, overriding ours
    #: ledger rows a workbook sheet holds before the full ledger goes to a CSV beside it
    workbook_detail_rows: int = WORKBOOK_DETAIL_ROWS
    #: statement.typ through Typst, or statement.html through WeasyPrint; unset: Typst unless
    #: ``templates`` restyles the HTML statement (render.pdf.statement_renderer)
    statement_renderer: Literal["weasyprint", "typst"] | None = None


@dataclass(frozen=True)
class Email:
    sender: str
    smtp_host: str = "localhost"
    smtp_port: int = 587
    starttls: bool = True
    ssl: bool = False  # implicit TLS (port 465); exclusive with starttls
    username_env: str | None = None
    password_env: str | None = None
    reply_to: str | None = None


@dataclass(frozen=True)
class Config:
    path: Path
    organisation: Organisation
    period: Period
    roster: SpreadsheetRef
    policy: Policy
    http: Http
    sources: Mapping[str, Source]
    cpd_logs: tuple[SpreadsheetRef, ...]
    output: Output
    email: Email | None

    @property
    def folder(self) -> Path:
        return self.path.parent

    def input_files(self) -> tuple[Path, ...]:
        """Every spreadsheet the config names, for validation and the snapshot manifest."""
        files = [self.roster.path]
        if self.policy.path:
            files.append(self.policy.path)
        files.extend(log.path for log in self.cpd_logs)
        return tuple(files)


def secret(env_name: str, *, key: str, one_line: bool = True) -> str:
    """Read a secret from the environment, or say which variable to set and where it is named.

    The value is cleaned by :func:`clean_secret` (a ``secrets.env`` saved with Windows line
    endings leaves a CR on every value) and remembered (``redaction.SECRETS``), so no
    message the program prints can show it. A private key (``one_line=False``) keeps the
    line breaks inside it.
    """
    value = os.environ.get(env_name)
    if not value or not value.strip():
        raise ConfigError(
            f"environment variable {env_name} is not set (named by {key} in the config); "
            f"export {env_name}=... before running"
        )
    return clean_secret(value, where=f"environment variable {env_name}", one_line=one_line)


#: Control characters (C0, DEL, C1): never part of a token, password or key.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean_secret(value: str, *, where: str, one_line: bool = True) -> str:
    """A secret without surrounding whitespace (CR, LF, spaces); refuses a one-line secret
    with a control character inside, naming ``where`` it came from and never the value."""
    cleaned = value.strip()
    if one_line and _CONTROL.search(cleaned):
        raise ConfigError(
            f"{where} holds a control character (a line break, tab or escape) inside the "
            "secret; set it again with the secret alone, without quotes or line breaks"
        )
    SECRETS.add(cleaned)
    return cleaned


def require_secrets(config: Config) -> None:
    """Fail before any network traffic if a configured source's secret is missing."""
    for name, source in config.sources.items():
        for env_name in source.secret_envs():
            secret(env_name, key=f"[sources.{name}]")


def load(path: str | os.PathLike[str]) -> Config:
    """Read and check a config file; every problem is a :class:`ConfigError` of one line."""
    path = resolved(Path(path), what="config file")
    if not path.is_file():
        raise ConfigError(f"config file {path} not found; pass the path of your reconcile.toml")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the line it names") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save the config as UTF-8") from None
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot be read ({exc.strerror}); check the file and its permissions"
        ) from None
    return _Reader(path).config(raw)


def resolved(path: Path, *, what: str) -> Path:
    """``path`` made absolute with symbolic links followed; a loop of links or a path the
    system cannot follow is a ConfigError naming ``what`` it is, not a crash."""
    try:
        return path.expanduser().resolve()
    except (RuntimeError, OSError) as exc:  # RuntimeError: a symlink loop (Python < 3.13)
        reason = "a loop of symbolic links" if "loop" in str(exc).lower() else str(exc)
        raise ConfigError(f"{what} {path}: {reason}; point it at the real file or folder") from None


class _Reader:
    """Walks the parsed TOML, checking each key once and refusing the ones it does not know."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.folder = path.parent

    def fail(self, key: str, problem: str, fix: str) -> ConfigError:
        return ConfigError(f"{self.path.name}: {key} {problem}; {fix}")

    def table(self, raw: Mapping[str, Any], key: str, *, required: bool = False) -> dict[str, Any]:
        value = raw.get(key)
        if value is None:
            if required:
                raise self.fail(f"[{key}]", "is missing", f"add a [{key}] section (see README)")
            return {}
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table", f"write it as a [{key}] section")
        return dict(value)

    def take(
        self,
        table: dict[str, Any],
        section: str,
        key: str,
        kind: type | tuple[type, ...],
        default: Any,
    ) -> Any:
        value = table.pop(key, default)
        full = f"{section}.{key}" if section else key
        if value is _REQUIRED:
            raise self.fail(full, "is missing", f"add `{key} = ...` under [{section}]")
        if value is None or value is default:
            return value
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            value = _WRONG
        if value is _WRONG or not isinstance(value, kinds):
            names = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
            raise self.fail(full, f"must be {names}", f"check the value of `{key}`")
        return value

    def choice(
        self, table: dict[str, Any], section: str, key: str, options: tuple[str, ...]
    ) -> str:
        value = self.take(table, section, key, str, options[0])
        if value not in options:
            listed = ", ".join(f'"{o}"' for o in options)
            raise self.fail(f"{section}.{key}", f'is "{value}"', f"use one of {listed}")
        return value

    def renderer(
        self, table: dict[str, Any], section: str
    ) -> Literal["weasyprint", "typst"] | None:
        if "statement_renderer" not in table:
            return None
        return self.choice(table, section, "statement_renderer", ("typst", "weasyprint"))  # type: ignore[return-value]

    def above_zero(
        self, table: dict[str, Any], section: str, key: str, default: float, meaning: str
    ) -> float:
        value = float(self.take(table, section, key, (int, float), default))
        if not value > 0:
            raise self.fail(
                f"{section}.{key}",
                f"is {value:g}",
                f"use {meaning}, more than 0 ({default:g} is the default)",
            )
        return value

    def not_negative(self, table: dict[str, Any], section: str, key: str, default: float) -> float:
        value = float(self.take(table, section, key, (int, float), default))
        if value < 0:
            raise self.fail(f"{section}.{key}", f"is {value:g}", "use 0 or more seconds")
        return value

    def positive(self, table: dict[str, Any], section: str, key: str, default: int) -> int:
        value = self.take(table, section, key, int, default)
        if value < 0:
            raise self.fail(f"{section}.{key}", f"is {value}", "use a number of 0 or more")
        return value

    def file(self, table: dict[str, Any], section: str, key: str, *, required: bool) -> Path | None:
        value = self.take(table, section, key, str, _REQUIRED if required else None)
        if value is None:
            return None
        where = resolved(
            self.folder / Path(value).expanduser(), what=f"{self.path.name}: {section}.{key}"
        )
        if not where.is_file():
            raise self.fail(
                f"{section}.{key}",
                f'names "{value}", which does not exist ({where})',
                "fix the path (relative paths start from the config file's folder)",
            )
        return where

    def done(self, table: dict[str, Any], section: str, known: tuple[str, ...]) -> None:
        for key in table:
            near = difflib.get_close_matches(key, known, n=1)
            hint = f'did you mean "{near[0]}"?' if near else f"known keys: {', '.join(known)}"
            where = f"[{section}]" if section else "the top level"
            raise self.fail(
                f"{section}.{key}" if section else key, f"is not a key of {where}", hint
            )

    def config(self, raw: dict[str, Any]) -> Config:
        raw = dict(raw)
        organisation = self.organisation(self.table(raw, "organisation", required=True))
        period = self.period(self.table(raw, "period", required=True))
        roster = self.spreadsheet(self.table(raw, "roster", required=True), "roster")
        policy = self.policy(self.table(raw, "policy"))
        http = self.http(self.table(raw, "http"))
        sources = self.sources(self.table(raw, "sources"))
        cpd_logs = self.cpd_logs(raw.pop("cpd_logs", []))
        output = self.output(self.table(raw, "output"))
        email_table = self.table(raw, "email")
        email = self.email(email_table) if email_table else None
        raw.pop("organisation", None)
        for key in ("period", "roster", "policy", "http", "sources", "output", "email"):
            raw.pop(key, None)
        self.done(raw, "", _TOP_LEVEL)
        return Config(
            path=self.path,
            organisation=organisation,
            period=period,
            roster=roster,
            policy=policy,
            http=http,
            sources=MappingProxyType(sources),
            cpd_logs=cpd_logs,
            output=output,
            email=email,
        )

    def organisation(self, t: dict[str, Any]) -> Organisation:
        name = self.take(t, "organisation", "name", str, _REQUIRED)
        timezone = self.take(t, "organisation", "timezone", str, "UTC")
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise self.fail(
                "organisation.timezone",
                f'is "{timezone}", which is not a known timezone',
                'use an IANA name such as "Europe/London" or "America/New_York"',
            ) from None
        date_format = self.choice(t, "organisation", "date_format", ("dd/mm/yyyy", "mm/dd/yyyy"))
        self.done(t, "organisation", ("name", "timezone", "date_format"))
        return Organisation(name=name, timezone=timezone, date_format=date_format)  # type: ignore[arg-type]

    def date(self, t: dict[str, Any], key: str, default: Any) -> dt.date | None:
        value = self.take(t, "period", key, (dt.date, str), default)
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                raise self.fail(
                    f"period.{key}", f'is "{value}"', "write it as 2026-01-31"
                ) from None
        return value

    def period(self, t: dict[str, Any]) -> Period:
        start = self.date(t, "start", _REQUIRED)
        end = self.date(t, "end", _REQUIRED)
        as_of = self.date(t, "as_of", None)
        assert start is not None and end is not None
        if end < start:
            raise self.fail("period.end", f"({end}) is before period.start ({start})", "swap them")
        self.done(t, "period", ("start", "end", "as_of"))
        return Period(start=start, end=end, as_of=as_of)

    def columns(self, t: dict[str, Any], section: str) -> Mapping[str, str]:
        columns = self.take(t, section, "columns", dict, {})
        for canonical, header in columns.items():
            if not isinstance(header, str):
                raise self.fail(
                    f"{section}.columns.{canonical}",
                    "must be text",
                    "give the header as it is typed",
                )
        return MappingProxyType(dict(columns))

    def spreadsheet(self, t: dict[str, Any], section: str) -> SpreadsheetRef:
        path = self.file(t, section, "path", required=True)
        assert path is not None
        sheet = self.take(t, section, "sheet", str, None)
        columns = self.columns(t, section)
        self.done(t, section, ("path", "sheet", "columns"))
        return SpreadsheetRef(path=path, sheet=sheet, columns=columns)

    def cpd_logs(self, raw: Any) -> tuple[SpreadsheetRef, ...]:
        if isinstance(raw, dict):
            raw = [raw]
        if not isinstance(raw, list):
            raise self.fail("cpd_logs", "must be a list of tables", "write each as [[cpd_logs]]")
        return tuple(self.spreadsheet(dict(t), "cpd_logs") for t in raw)

    def policy(self, t: dict[str, Any]) -> Policy:
        s = "policy"
        policy = Policy(
            path=self.file(t, s, "path", required=False),
            sheet_overrides=MappingProxyType(dict(self.take(t, s, "sheets", dict, {}))),
            multiple_audiences=self.choice(t, s, "multiple_audiences", ("max", "sum")),  # type: ignore[arg-type]
            prorate=self.take(t, s, "prorate", bool, True),
            count_unlogged_completions=self.take(t, s, "count_unlogged_completions", bool, True),
            duplicate_window_days=self.positive(t, s, "duplicate_window_days", 1),
            completion_match_days=self.positive(t, s, "completion_match_days", 14),
            max_activity_minutes=self.positive(t, s, "max_activity_minutes", 1440),
        )
        self.done(t, s, _POLICY_KEYS)
        return policy

    def http(self, t: dict[str, Any]) -> Http:
        s = "http"
        concurrency = self.take(t, s, "concurrency", int, 8)
        if not 1 <= concurrency <= 64:
            raise self.fail("http.concurrency", f"is {concurrency}", "use a number from 1 to 64")
        http = Http(
            concurrency=concurrency,
            timeout_seconds=self.above_zero(
                t, s, "timeout_seconds", 30.0, "the seconds to wait for an answer"
            ),
            max_retries=self.positive(t, s, "max_retries", 6),
            max_wait_seconds=self.not_negative(t, s, "max_wait_seconds", 120.0),
            deadline_seconds=self.above_zero(
                t, s, "deadline_seconds", 300.0, "the seconds one whole request may take"
            ),
            max_body_mb=self.above_zero(
                t, s, "max_body_mb", 64.0, "the largest answer to accept, in megabytes"
            ),
            max_pacing_seconds=self.not_negative(t, s, "max_pacing_seconds", 900.0),
        )
        self.done(t, s, _HTTP_KEYS)
        return http

    def url(self, t: dict[str, Any], section: str) -> str:
        url = self.take(t, section, "base_url", str, _REQUIRED).rstrip("/")
        if not url.startswith(("https://", "http://")):
            raise self.fail(f"{section}.base_url", f'is "{url}"', "give a full https:// URL")
        return url

    def sources(self, t: dict[str, Any]) -> dict[str, Source]:
        readers: dict[str, Callable[[dict[str, Any]], Source]] = {
            "thrive": self.thrive,
            "brightspace": self.brightspace,
            "coursepath": self.coursepath,
        }
        sources: dict[str, Source] = {}
        for name, value in t.items():
            if name not in readers:
                near = difflib.get_close_matches(name, SYSTEMS, n=1)
                hint = f'did you mean "{near[0]}"?' if near else f"use one of {', '.join(SYSTEMS)}"
                raise self.fail(f"[sources.{name}]", "is not a platform reconcile reads", hint)
            if not isinstance(value, dict):
                raise self.fail(f"sources.{name}", "must be a table", f"write [sources.{name}]")
            sources[name] = readers[name](dict(value))
        return sources

    def env_name(self, t: dict[str, Any], section: str, key: str, *, required: bool) -> str | None:
        value = self.take(t, section, key, str, _REQUIRED if required else None)
        if value is not None and not value.replace("_", "").isalnum():
            raise self.fail(
                f"{section}.{key}",
                f'is "{value[:3]}...", which is not an environment variable name',
                "name the variable that holds the secret (never the secret itself)",
            )
        return value

    def thrive(self, t: dict[str, Any]) -> ThriveSource:
        s = "sources.thrive"
        base_url = self.url(t, s)
        tenant_id = self.take(t, s, "tenant_id", str, _REQUIRED)
        auth = self.choice(t, s, "auth", ("basic", "oauth2"))
        source = ThriveSource(
            base_url=base_url,
            tenant_id=tenant_id,
            auth=auth,  # type: ignore[arg-type]
            secret_env=self.env_name(t, s, "secret_env", required=auth == "basic"),
            token_url=self.take(t, s, "token_url", str, None),
            client_id_env=self.env_name(t, s, "client_id_env", required=auth == "oauth2"),
            client_secret_env=self.env_name(t, s, "client_secret_env", required=auth == "oauth2"),
            scope=self.take(t, s, "scope", str, None),
            concurrency=self.take(t, s, "concurrency", int, None),
        )
        self.done(t, s, _THRIVE_KEYS)
        return source

    def brightspace(self, t: dict[str, Any]) -> BrightspaceSource:
        s = "sources.brightspace"
        auth = self.take(t, s, "auth", str, None) or _brightspace_auth(t)
        if auth not in _BRIGHTSPACE_AUTHS:
            listed = ", ".join(f'"{o}"' for o in _BRIGHTSPACE_AUTHS)
            if auth is None:
                raise self.fail(
                    f"{s}.auth",
                    "is missing and no credential key says which to use",
                    f"set auth to one of {listed} (docs/sources.md says how to choose); a "
                    "client id and secret alone are not enough: D2L offers unattended access "
                    "only by refresh token or by a private-key JWT",
                )
            raise self.fail(f"{s}.auth", f'is "{auth}"', f"use one of {listed}")
        refresh = auth == "refresh_token"
        jwt = auth == "private_key_jwt"
        source = BrightspaceSource(
            base_url=self.url(t, s),
            le_version=str(self.take(t, s, "le_version", (str, float), "1.84")),
            lp_version=str(self.take(t, s, "lp_version", (str, float), "1.46")),
            auth=cast(BrightspaceAuth, auth),
            token_env=self.env_name(t, s, "token_env", required=auth == "token"),
            token_url=self.take(t, s, "token_url", str, BRIGHTSPACE_TOKEN_URL),
            client_id_env=self.env_name(t, s, "client_id_env", required=refresh or jwt),
            client_secret_env=self.env_name(t, s, "client_secret_env", required=refresh),
            refresh_token_file=self.file(t, s, "refresh_token_file", required=refresh),
            private_key_file=self.file(t, s, "private_key_file", required=False),
            private_key_env=self.env_name(t, s, "private_key_env", required=False),
            scope=self.take(t, s, "scope", str, None),
            concurrency=self.take(t, s, "concurrency", int, None),
        )
        if jwt and (source.private_key_file is None) == (source.private_key_env is None):
            raise self.fail(
                s,
                "needs exactly one of private_key_file and private_key_env",
                "name the file (or the variable) holding the app's RS256 private key (PEM)",
            )
        self.done(t, s, _BRIGHTSPACE_KEYS)
        return source

    def coursepath(self, t: dict[str, Any]) -> CoursepathSource:
        s = "sources.coursepath"
        source = CoursepathSource(
            base_url=self.url(t, s),
            email=self.take(t, s, "email", str, _REQUIRED),
            api_key_env=self.env_name(t, s, "api_key_env", required=True) or "",
            concurrency=self.take(t, s, "concurrency", int, None),
        )
        self.done(t, s, ("base_url", "email", "api_key_env", "concurrency"))
        return source

    def output(self, t: dict[str, Any]) -> Output:
        s = "output"
        folder = self.take(t, s, "dir", str, "reports")
        templates = self.take(t, s, "templates", str, None)
        named = f"{self.path.name}: output.templates"
        templates_path = (
            resolved(self.folder / Path(templates).expanduser(), what=named) if templates else None
        )
        if templates_path is not None and not templates_path.is_dir():
            raise self.fail(
                "output.templates", f'names "{templates}", which is not a folder', "fix the path"
            )
        out_dir = resolved(
            self.folder / Path(folder).expanduser(), what=f"{self.path.name}: output.dir"
        )
        if out_dir.exists() and not out_dir.is_dir():
            raise self.fail(
                "output.dir",
                f'names "{folder}", which is a file ({out_dir})',
                "name a folder for the run folders (it is created when missing)",
            )
        detail_rows = self.positive(t, s, "workbook_detail_rows", WORKBOOK_DETAIL_ROWS)
        if detail_rows > EXCEL_DATA_ROWS:
            raise self.fail(
                "output.workbook_detail_rows",
                f"is {detail_rows:,}, more rows than an Excel sheet holds",
                f"use at most {EXCEL_DATA_ROWS:,} (the default is {WORKBOOK_DETAIL_ROWS:,})",
            )
        output = Output(
            dir=out_dir,
            statements=self.choice(t, s, "statements", ("manager", "none", "person")),  # type: ignore[arg-type]
            templates=templates_path,
            workbook_detail_rows=detail_rows,
            statement_renderer=self.renderer(t, s),
        )
        self.done(
            t, s, ("dir", "statements", "templates", "workbook_detail_rows", "statement_renderer")
        )
        return output

    def email(self, t: dict[str, Any]) -> Email:
        s = "email"
        email = Email(
            sender=self.take(t, s, "sender", str, _REQUIRED),
            smtp_host=self.take(t, s, "smtp_host", str, "localhost"),
            smtp_port=self.take(t, s, "smtp_port", int, 587),
            starttls=self.take(t, s, "starttls", bool, True),
            ssl=self.take(t, s, "ssl", bool, False),
            username_env=self.env_name(t, s, "username_env", required=False),
            password_env=self.env_name(t, s, "password_env", required=False),
            reply_to=self.take(t, s, "reply_to", str, None),
        )
        if email.ssl and email.starttls:
            raise self.fail("email.ssl", "and email.starttls are both true", "set starttls = false")
        self.done(t, s, _EMAIL_KEYS)
        return email


class _Marker:
    def __repr__(self) -> str:
        return "<required>"


_REQUIRED: Any = _Marker()
_WRONG: Any = _Marker()
_TYPE_NAMES = {
    str: "text in quotes",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    dict: "a table",
    dt.date: "a date like 2026-01-31",
}
_TOP_LEVEL = (
    "organisation",
    "period",
    "roster",
    "policy",
    "http",
    "sources",
    "cpd_logs",
    "output",
    "email",
)
_POLICY_KEYS = (
    "path",
    "sheets",
    "multiple_audiences",
    "prorate",
    "count_unlogged_completions",
    "duplicate_window_days",
    "completion_match_days",
    "max_activity_minutes",
)
_THRIVE_KEYS = (
    "base_url",
    "tenant_id",
    "auth",
    "secret_env",
    "token_url",
    "client_id_env",
    "client_secret_env",
    "scope",
    "concurrency",
)
_BRIGHTSPACE_AUTHS = ("refresh_token", "private_key_jwt", "token")
_BRIGHTSPACE_KEYS = (
    "base_url",
    "le_version",
    "lp_version",
    "auth",
    "token_env",
    "token_url",
    "client_id_env",
    "client_secret_env",
    "refresh_token_file",
    "private_key_file",
    "private_key_env",
    "scope",
    "concurrency",
)
_HTTP_KEYS = (
    "concurrency",
    "timeout_seconds",
    "max_retries",
    "max_wait_seconds",
    "deadline_seconds",
    "max_body_mb",
    "max_pacing_seconds",
)


def _brightspace_auth(t: dict[str, Any]) -> str | None:
    """The auth a Brightspace section means when it leaves ``auth`` out: the one whose
    credential key it sets (a config written before ``auth`` existed names ``token_env``)."""
    if "refresh_token_file" in t:
        return "refresh_token"
    if "private_key_file" in t or "private_key_env" in t:
        return "private_key_jwt"
    if "token_env" in t:
        return "token"
    return None


_EMAIL_KEYS = (
    "sender",
    "smtp_host",
    "smtp_port",
    "starttls",
    "ssl",
    "username_env",
    "password_env",
    "reply_to",
)
