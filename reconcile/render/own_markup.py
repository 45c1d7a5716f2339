"""Our own statement markup, laid out without WeasyPrint's work for markup in general.

Why: a run at 100,000 people writes 11,000 statements, and per statement two of
WeasyPrint's costs do nothing for our own markup: its pure-Python HTML5 parser (the markup
is well-formed XML, which the C parser reads in a fraction of the time) and its HTML5
user-agent stylesheet, most of whose rules (lists, forms, footnotes, ``dir``, ``::marker``)
are tried against every element, and ``::marker`` gives every element a style of its own.
Together about an eighth of a statement's CPU time (bench/RESULTS.md).

Used only for a statement made entirely of our files (no user template overrides any of
:data:`STATEMENT_FILES`): :data:`USER_AGENT_CSS` gives exactly the defaults the elements of
that markup get from WeasyPrint's sheet. tests/test_render_pdf.py checks that both ways lay
out every box of a statement at the same place with the same text. Markup the XML parser
refuses (a control character in a name, say) takes WeasyPrint's own way.
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

import cssselect2
from defusedxml.ElementTree import ParseError, fromstring
from weasyprint import CSS, HTML

#: The templates a statement is made of; any of them from a user's folder means markup or
#: styles we have not checked, so WeasyPrint's own parser and user-agent sheet are used.
STATEMENT_FILES = ("statement.html", "_macros.html", "base.css", "statement.css")

#: What WeasyPrint's HTML5 user-agent sheet gives the elements of our statement markup:
#: html head meta title style body header div h1 p span table thead tbody tr th td.
USER_AGENT_CSS = """
head, meta, title, style { display: none }
html, body, header, div, h1, p { display: block }
html { color-scheme: light }
body { margin: 8px }
p { margin-top: 1em; margin-bottom: 1em }
h1 { margin-top: .67em; margin-bottom: .67em; font-size: 2em; font-weight: bold;
     bookmark-level: 1; bookmark-label: content(text);
     hyphens: manual; break-after: avoid; break-inside: avoid }
table { display: table; border-spacing: 2px; border-collapse: separate;
        text-indent: initial; box-sizing: border-box; border-color: gray }
thead { display: table-header-group }
tbody { display: table-row-group }
thead, tbody { vertical-align: middle; border-color: inherit }
tr { display: table-row; vertical-align: inherit; border-color: inherit }
td, th { display: table-cell; vertical-align: inherit; padding: 1px; border-color: gray }
th { font-weight: bold }
@page {
  margin: 75px;
  @top-left-corner { text-align: right; vertical-align: middle }
  @top-left { text-align: left; vertical-align: middle }
  @top-center { text-align: center; vertical-align: middle }
  @top-right { text-align: right; vertical-align: middle }
  @top-right-corner { text-align: left; vertical-align: middle }
  @left-top { text-align: center; vertical-align: top }
  @left-middle { text-align: center; vertical-align: middle }
  @left-bottom { text-align: center; vertical-align: bottom }
  @right-top { text-align: center; vertical-align: top }
  @right-middle { text-align: center; vertical-align: middle }
  @right-bottom { text-align: center; vertical-align: bottom }
  @bottom-left-corner { text-align: right; vertical-align: middle }
  @bottom-left { text-align: left; vertical-align: middle }
  @bottom-center { text-align: center; vertical-align: middle }
  @bottom-right { text-align: right; vertical-align: middle }
  @bottom-right-corner { text-align: left; vertical-align: middle }
}
"""

_USER_AGENT: CSS | None = None


def _user_agent() -> CSS:
    global _USER_AGENT  # noqa: PLW0603 - parsed once per process
    if _USER_AGENT is None:
        _USER_AGENT = CSS(string=USER_AGENT_CSS)
    return _USER_AGENT


class OwnHTML(HTML):
    """A document of our own markup, parsed as XML, with :data:`USER_AGENT_CSS`.

    Sets what ``weasyprint.HTML.__init__`` (version 70, pinned in pyproject.toml) sets after
    parsing; the tests compare the layout with WeasyPrint's own way.
    """

    def __init__(self, root: Element, base_url: str, url_fetcher: Any) -> None:
        self.base_url = base_url
        self.url_fetcher = url_fetcher
        self.media_type = "print"
        self.wrapper_element = cssselect2.ElementWrapper.from_html_root(root)
        self.etree_element = self.wrapper_element.etree_element

    def _ua_stylesheets(self, forms: bool = False) -> list[CSS]:
        return [_user_agent()]


def parse(html: str, base_url: str, url_fetcher: Any) -> HTML:
    """``html`` as :class:`OwnHTML`, or through WeasyPrint's parser if it is not XML."""
    try:
        root = fromstring(html)
    except ParseError:
        return HTML(string=html, base_url=base_url, url_fetcher=url_fetcher)
    return OwnHTML(root, base_url, url_fetcher)
