"""One paging loop, and one small state class per paging style the three platforms use.

:func:`fetch_list` asks a style for the next request(s), sends them (a batch goes out on the
client's worker pool), hands each page back to the style, and stops when the style has
nothing more to ask. The styles:

- :class:`EnvelopePages` (Thrive ``{"pagination": {...}, "results"}``): page 1 says how many
  pages there are, so the rest are fetched at once. A list that comes without a usable
  ``pagination`` block is paged on until an empty page, with a warning.
- :class:`ShortPageEnd` (Thrive's bare-array completions): ``page``/``perPage`` until the first
  page shorter than asked, as DESIGN.md §9 documents for that list.
- :class:`OffsetPages` (Coursepath): ``offset`` advances by the records actually received
  and only an empty page ends the list, because each endpoint silently caps a page at 100,
  250 or 500 whatever ``limit`` asks.
- :class:`BookmarkPages` (Brightspace PagedResultSet) and :class:`NextLinkPages`
  (Brightspace ObjectListPage, whose ``Next`` is re-based onto the configured host).

Guards, so that a misbehaving server can never make a pull loop forever or silently short:
a page cap; a repeated ``Next`` or bookmark is followed at most once more and then refused;
a page that brings no record id not seen before ends the pull with an error; a total that
changes while the pages are fetched restarts that list (twice at most, then the last pull is
kept and the change reported); records short of a total that did not change are an error.
Duplicate record ids are dropped where frames are built (``columns.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard
from urllib.parse import parse_qs, urljoin, urlsplit, urlunsplit

from reconcile.errors import SourceError
from reconcile.progress import NullProgress, Progress
from reconcile.sources.http import HttpClient, redact

PAGE_CAP = 100_000
MAX_RESTARTS = 2
DEFAULT_PORTS = {"http": 80, "https": 443}
Record = dict[str, Any]


@dataclass(frozen=True)
class ListRequest:
    """One list to pull: path, fixed query, a label for stats and progress, and a tag.

    ``key``: the wire field that identifies a record (the guards compare pages by it).
    """

    path: str
    params: Mapping[str, Any] = field(default_factory=dict)
    endpoint: str = ""
    tag: Any = None
    key: str = "id"


@dataclass(frozen=True)
class Ask:
    """One page request: a path (or, for a ``Next`` link, a full URL) and its query."""

    url: str
    params: Mapping[str, Any] | None


class Paging:
    """What a paging style knows: the next request(s), and what each page says.

    ``asks()`` returns the next requests ([] when the list is complete); ``take()`` reads one
    page (in the order asked) and returns how many records it brought.
    """

    def __init__(self, client: HttpClient, request: ListRequest) -> None:
        self.client = client
        self.request = request
        self.records: list[Record] = []
        self.seen: set[Any] = set()

    def asks(self) -> list[Ask]:
        raise NotImplementedError

    def take(self, ask: Ask, body: Any) -> int:
        raise NotImplementedError

    # -- shared by the styles ----------------------------------------------------------
    def ask(self, **params: Any) -> Ask:
        return Ask(self.request.path, {**self.request.params, **params})

    @property
    def label(self) -> str:
        return self.request.endpoint or self.request.path

    @property
    def where(self) -> str:
        return redact(self.client.url(self.request.path))

    def error(self, problem: str) -> SourceError:
        return self.client.fail(
            f"{self.client.source}: {self.where} {problem}", url=self.where, resumable=False
        )

    def shape_error(self, expected: str) -> SourceError:
        return self.error(
            f"did not return {expected}; check base_url and the API version in the config"
        )

    def new_ids(self, page: Sequence[Any]) -> bool:
        """Remember the page's record ids; whether any of them was new."""
        ids = {_key(record, self.request.key) for record in page}
        fresh = bool(ids - self.seen)
        self.seen |= ids
        return fresh

    def same_page(self) -> SourceError:
        return self.error(
            "returned the same page again; the server ignores the paging parameters, so the "
            "pull was stopped"
        )


def fetch_list(
    client: HttpClient,
    request: ListRequest,
    paging: Callable[[HttpClient, ListRequest], Paging],
    *,
    progress: Progress | None = None,
    task: str = "",
) -> list[Record]:
    """Every record of one list, paged the way ``paging`` says. The one paging loop."""
    progress = progress or NullProgress()
    state = paging(client, request)
    endpoint = request.endpoint or None
    for _ in range(PAGE_CAP):
        asks = state.asks()
        if not asks:
            return state.records
        bodies = client.map(
            lambda ask: client.get_json(ask.url, params=ask.params, endpoint=endpoint), asks
        )
        for ask, body in zip(asks, bodies, strict=True):
            progress.advance(task, pages=1, records=state.take(ask, body))
    raise state.error(f"went past {PAGE_CAP} pages; the server's pagination looks broken")


# -- Thrive envelope ----------------------------------------------------------------------


class EnvelopePages(Paging):
    """Thrive's ``page``/``perPage`` lists in a ``{"pagination", "results"}`` envelope.

    With a usable ``pagination`` block, page 1 tells how many pages follow and they are
    fetched together; at the end every page must have reported the same ``totalResults``
    and the records must reach it. A total that moved means the list changed while it was
    read: it is read again (twice at most). Records short of a total that never moved mean
    pages were lost on the way (a dropped page, a truncating gateway): an error, never a
    quiet shortfall. Without a usable block (the vendor's ``/users`` and ``/audiences`` pages
    show only ``results``) the list is paged on until an empty page, with a warning.
    """

    def __init__(self, client: HttpClient, request: ListRequest, *, page_size: int) -> None:
        super().__init__(client, request)
        self.page_size = page_size
        self.restarts = 0
        self._start()

    def _start(self) -> None:
        self.records = []
        self.seen = set()
        self.phase = "first"
        self.total = 0
        self.pages = 0
        self.totals: set[int] = set()
        self.next_page = 1

    def asks(self) -> list[Ask]:
        if self.phase == "first":
            return [self._page(1)]
        if self.phase == "rest":
            self.phase = "check"
            asks = [self._page(n) for n in range(2, self.pages + 1)]
            if asks:
                return asks
        if self.phase == "check":
            return self._check()
        if self.phase == "until_empty":
            return [self._page(self.next_page)]
        return []

    def _page(self, number: int) -> Ask:
        return self.ask(page=number, perPage=self.page_size)

    def take(self, ask: Ask, body: Any) -> int:
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            raise self.shape_error('a {"pagination", "results"} page')
        results: list[Record] = body["results"]
        if self.phase == "first":
            self._first(body.get("pagination"), results)
        elif self.phase == "until_empty":
            self._without_totals(results)
        else:
            total = _counts(body.get("pagination"))
            self.totals.add(total[0] if total else -1)
            self.records.extend(results)
        return len(results)

    def _first(self, info: Any, results: list[Record]) -> None:
        counts = _counts(info)
        if counts is None or not _plausible(counts, len(results), self.page_size):
            self.client.stats.warn(
                f"{self.client.source}: {self.label} came without a usable pagination block; "
                "paged on until an empty page"
            )
            self.phase = "until_empty"
            self._without_totals(results)
            return
        self.total, self.pages = counts
        if self.pages > PAGE_CAP:
            raise self.error(
                f"claims {self.pages} pages, more than the cap of {PAGE_CAP}; the server's "
                "pagination looks broken"
            )
        self.totals = {self.total}
        self.records.extend(results)
        self.phase = "rest"

    def _without_totals(self, results: list[Record]) -> None:
        if not results:
            self.phase = "done"
            return
        if not self.new_ids(results):
            raise self.same_page()
        self.records.extend(results)
        self.next_page += 1

    def _check(self) -> list[Ask]:
        """After every page: done, read again, or an error (see the class docstring)."""
        distinct = _distinct(self.records, self.request.key)
        if len(self.totals) == 1 and distinct == self.total:
            self.phase = "done"
            return []
        if len(self.totals) == 1 and distinct < self.total:
            raise self.error(
                f"returned {distinct} records where its pagination promised {self.total}, and "
                "that total did not change while the pages were read: pages were lost on the "
                "way (a proxy or gateway truncating answers?); the pull was stopped so that no "
                "figure is computed from part of the list"
            )
        if self.restarts >= MAX_RESTARTS:
            self.client.stats.warn(
                f"{self.client.source}: totals of {self.label} kept changing during the pull; "
                "kept the last pull (duplicates dropped)"
            )
            self.phase = "done"
            return []
        self.client.stats.warn(
            f"{self.client.source}: totals of {self.label} changed during the pull; pulling again"
        )
        self.restarts += 1
        self._start()
        return self.asks()


def _counts(info: Any) -> tuple[int, int] | None:
    """(totalResults, totalPages) from a pagination block, or None if it has no usable pair."""
    if not isinstance(info, dict):
        return None
    total, pages = info.get("totalResults"), info.get("totalPages")
    if not (_count(total) and _count(pages)):
        return None
    return total, pages


def _count(value: Any) -> TypeGuard[int]:
    """A whole number of records or pages: an int, not a bool, not negative."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _plausible(counts: tuple[int, int], first: int, page_size: int) -> bool:
    """Whether page 1 and the totals can be true together: records on page 1 if and only if
    there are any, and at least as many pages as the records need at the size asked."""
    total, pages = counts
    if total == 0:
        return first == 0
    return 0 < first <= total and pages >= -(-total // page_size)


def _distinct(records: Sequence[Record], key: str) -> int:
    keys = [_key(record, key) for record in records]
    missing = sum(1 for k in keys if k is None)
    return len({k for k in keys if k is not None}) + missing


def _key(record: Any, key: str) -> Any:
    value = record.get(key) if isinstance(record, dict) else None
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


# -- bare arrays ----------------------------------------------------------------------------


class ShortPageEnd(Paging):
    """Thrive's bare-array ``page``/``perPage`` list: the first short page is the last."""

    def __init__(self, client: HttpClient, request: ListRequest, *, page_size: int) -> None:
        super().__init__(client, request)
        self.page_size = page_size
        self.page = 1
        self.done = False

    def asks(self) -> list[Ask]:
        return [] if self.done else [self.ask(page=self.page, perPage=self.page_size)]

    def take(self, ask: Ask, body: Any) -> int:
        if not isinstance(body, list):
            raise self.shape_error("a JSON array")
        if len(body) < self.page_size:
            self.done = True
        elif not self.new_ids(body):
            raise self.same_page()
        self.records.extend(body)
        self.page += 1
        return len(body)


class OffsetPages(Paging):
    """Coursepath's ``offset``/``limit`` arrays: advance by what came, stop on an empty page.

    Each endpoint caps a page at 100, 250 or 500 whatever ``limit`` asks, so a page shorter
    than ``limit`` says nothing about the end.
    """

    def __init__(self, client: HttpClient, request: ListRequest, *, page_size: int) -> None:
        super().__init__(client, request)
        self.page_size = page_size
        self.done = False

    def asks(self) -> list[Ask]:
        return [] if self.done else [self.ask(offset=len(self.records), limit=self.page_size)]

    def take(self, ask: Ask, body: Any) -> int:
        if not isinstance(body, list):
            raise self.shape_error("a JSON array")
        if not body:
            self.done = True
        elif not self.new_ids(body):
            raise self.same_page()
        self.records.extend(body)
        return len(body)


# -- Brightspace ----------------------------------------------------------------------------


class _Cursor(Paging):
    """A style driven by a cursor the server hands back (a bookmark, a ``Next`` link).

    A cursor seen before is followed once (its page's records are dropped as duplicates
    later); a second repeat means the server is stuck, and the pull stops with an error.
    The first page's implicit cursor is the empty one, so a cursor back to it is a repeat.
    """

    def __init__(self, client: HttpClient, request: ListRequest) -> None:
        super().__init__(client, request)
        self.cursors: set[str] = {""}
        self.repeats = 0

    def follow(self, cursor: str) -> None:
        if cursor not in self.cursors:
            self.cursors.add(cursor)
            return
        if self.repeats >= 1:
            raise self.error(
                "keeps returning a bookmark it returned before; the server's paging is stuck, "
                "so the pull was stopped"
            )
        self.client.stats.warn(
            f"{self.client.source}: {self.label} repeated a bookmark; "
            "followed it once and dropped the duplicate records"
        )
        self.repeats += 1


class BookmarkPages(_Cursor):
    """Brightspace PagedResultSet: pass ``bookmark`` back while ``HasMoreItems`` is true.

    ``HasMoreItems`` decides whether more follow; a bookmark that is missing, empty or seen
    before while more are promised is a repeat, never an end: stopping there would silently
    drop the rest of the list.
    """

    def __init__(self, client: HttpClient, request: ListRequest) -> None:
        super().__init__(client, request)
        self.bookmark: str | None = ""

    def asks(self) -> list[Ask]:
        if self.bookmark is None:
            return []
        return [self.ask(bookmark=self.bookmark) if self.bookmark else self.ask()]

    def take(self, ask: Ask, body: Any) -> int:
        if not isinstance(body, dict) or not isinstance(body.get("Items"), list):
            raise self.shape_error('a {"PagingInfo", "Items"} page')
        info = body.get("PagingInfo") or {}
        items = body["Items"]
        self.records.extend(items)
        if not (isinstance(info, dict) and info.get("HasMoreItems") is True):
            self.bookmark = None
            return len(items)
        self.bookmark = _text(info.get("Bookmark")) or ""
        self.follow(self.bookmark)
        return len(items)


class NextLinkPages(_Cursor):
    """Brightspace ObjectListPage: follow ``Next`` (a full URL) until it is null.

    A ``Next`` is re-based onto the configured base URL when it names the same origin in
    another form (an explicit default port, another case); one that names another scheme,
    host or port is an error naming it, so the token is never sent anywhere else. Cursors
    are compared by ``recordIdBookmark`` (or the whole link when it has none).
    """

    def __init__(self, client: HttpClient, request: ListRequest) -> None:
        super().__init__(client, request)
        self.next: Ask | None = Ask(request.path, dict(request.params))
        start = _text(request.params.get("recordIdBookmark"))
        self.cursors = {start or ""}

    def asks(self) -> list[Ask]:
        return [] if self.next is None else [self.next]

    def take(self, ask: Ask, body: Any) -> int:
        if not isinstance(body, dict) or not isinstance(body.get("Objects"), list):
            raise self.shape_error('a {"Next", "Objects"} page')
        objects = body["Objects"]
        self.records.extend(objects)
        link = body.get("Next")
        if not link:
            self.next = None
            return len(objects)
        if not isinstance(link, str):
            raise self.shape_error('a "Next" link that is a URL or null')
        url = on_base_origin(self.client, link, self.where)
        self.follow(parse_qs(urlsplit(url).query).get("recordIdBookmark", [url])[0])
        self.next = Ask(url, None)
        return len(objects)


def on_base_origin(client: HttpClient, link: str, where: str) -> str:
    """``link`` re-based onto the configured base URL's scheme and host, or an error.

    Scheme, host (case-insensitively, without a trailing dot) and port (a default port
    written out equals the port left out) must all match the base URL's; then the link's
    path and query are sent to the base URL's own host, exactly as configured.
    """
    base = urlsplit(client.base_url)
    target = urlsplit(urljoin(client.base_url + "/", link))
    theirs, ours = _origin(target), _origin(base)
    if theirs != ours:
        shown = f"{target.scheme}://{target.hostname or ''}"
        if target.port:
            shown += f":{target.port}"
        what = "another scheme" if theirs[1:] == ours[1:] else "another host"
        raise client.fail(
            f"{client.source}: {where} pointed its next page at {what} ({shown}) than the "
            f"configured {base.scheme}://{base.netloc}; refusing to send credentials there",
            url=where,
            resumable=False,
        )
    return urlunsplit((base.scheme, base.netloc, target.path, target.query, ""))


def _origin(parts: Any) -> tuple[str, str, int | None]:
    scheme = (parts.scheme or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = -1
    return scheme, (parts.hostname or "").rstrip("."), port or DEFAULT_PORTS.get(scheme)


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)
