"""Where templates come from, and the only door WeasyPrint has to the file system.

Ours are the installed ``reconcile/templates`` (the wheel force-includes the top-level
``templates/`` there) or, running from a checkout, the repository's ``templates/``. A user's
folder (``[output] templates``) comes first, file by file.
"""

from __future__ import annotations

import logging
import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jinja2
import pandas as pd
from markupsafe import Markup
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from reconcile.errors import ConfigError

log = logging.getLogger(__name__)

#: The only kinds of file a template may pull in.
ASSET_SUFFIXES = frozenset({".css", ".svg", ".png", ".jpg", ".jpeg", ".woff", ".woff2", ".ttf"})
_PACKAGE = Path(__file__).resolve().parent.parent


def our_templates() -> Path:
    """The default templates folder: installed copy first, else the checkout's."""
    for candidate in (_PACKAGE / "templates", _PACKAGE.parent / "templates"):
        if (candidate / "report.html").is_file():
            return candidate
    raise ConfigError(
        f"reconcile's templates are missing (looked in {_PACKAGE / 'templates'}); reinstall"
    )


def template_dirs(user: Path | None) -> list[Path]:
    """Folders searched in order: the user's (if any), then ours."""
    dirs = [our_templates()]
    if user is not None:
        user = Path(user).resolve()
        if not user.is_dir():
            raise ConfigError(f'templates folder "{user}" is not a folder; fix [output] templates')
        dirs.insert(0, user)
    return dirs


def environment(user: Path | None) -> jinja2.Environment:
    """Autoescaping on for every template, and a typo in a variable name is an error."""
    dirs = template_dirs(user)
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(d)) for d in dirs]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.loader_dirs = dirs  # type: ignore[attr-defined]
    env.filters["minutes"] = format_minutes
    env.filters["number"] = format_number
    env.filters["percent"] = format_percent
    env.filters["css_string"] = css_string
    return env


def _missing(value: object) -> bool:
    return value is None or bool(pd.isna(value))


def format_number(value: object) -> str:
    if _missing(value):
        return "–"
    return f"{round(float(value)):,}"  # type: ignore[arg-type]


def format_minutes(value: object) -> str:
    text = format_number(value)
    return text if text == "–" else f"{text} min"


def format_percent(value: object, digits: int = 1) -> str:
    if _missing(value):
        return "–"
    return f"{float(value):.{digits}f}%"  # type: ignore[arg-type]


def css_string(value: object) -> Markup:
    """A quoted CSS string for ``content:``; everything but letters, digits and spaces is a
    hex escape, so no value can close the string, the rule or the ``<style>`` element."""
    text = "".join(c if c.isalnum() or c == " " else f"\\{ord(c):06x} " for c in str(value))
    return Markup(f'"{text}"')  # noqa: S704 - every character but [A-Za-z0-9 ] is escaped


class SafeFetcher(URLFetcher):
    """Serves files under the template folders with an asset suffix; refuses everything else.

    ``served`` and ``refused`` record what was asked, so a caller (or a test) can tell.
    """

    def __init__(self, roots: list[Path]) -> None:
        super().__init__(allowed_protocols=("file",), allow_redirects=False)
        self.roots = [Path(r).resolve() for r in roots]
        self.served: list[str] = []
        self.refused: list[str] = []

    def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:
        path = self._allowed_path(url)
        if path is None:
            self.refused.append(url)
            log.warning("refused to load %s: only template assets may be loaded", url[:200])
            raise ValueError("only reconcile's template assets may be loaded")
        self.served.append(url)
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": mime})

    def _allowed_path(self, url: str) -> Path | None:
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            return None
        path = Path(unquote(parts.path)).resolve()
        if path.suffix.lower() not in ASSET_SUFFIXES or not path.is_file():
            return None
        if not any(path.is_relative_to(root) for root in self.roots):
            return None
        return path


_FONTS: FontConfiguration | None = None


def _fonts() -> FontConfiguration:
    """One font configuration per process: building it per PDF costs a large share of a
    one-page statement's time."""
    global _FONTS  # noqa: PLW0603 - a per-process cache
    if _FONTS is None:
        _FONTS = FontConfiguration()
    return _FONTS


def parsed_stylesheet(css: str, dirs: list[Path]) -> CSS:
    """Parse ``css`` once (through the safe fetcher) so many documents can share it: parsing
    the statement styles again for every one-page statement costs a tenth of its time."""
    fetcher = SafeFetcher(dirs)
    return CSS(
        string=css, base_url=dirs[0].as_uri() + "/", url_fetcher=fetcher, font_config=_fonts()
    )


def write_html_pdf(
    html: str, target: Path, dirs: list[Path], stylesheets: list[CSS] | None = None
) -> SafeFetcher:
    """Lay out ``html`` (relative URLs resolve in the first template folder) into ``target``.

    ``stylesheets`` are already-parsed styles applied before the page's own (author level).
    Tagged (``pdf_tags``) so screen readers get headings, tables and reading order.
    """
    fetcher = SafeFetcher(dirs)
    document = HTML(string=html, base_url=dirs[0].as_uri() + "/", url_fetcher=fetcher)
    document.write_pdf(target, pdf_tags=True, font_config=_fonts(), stylesheets=stylesheets or None)
    return fetcher
