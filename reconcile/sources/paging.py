"""Every paging style the three platforms use, each written once, each with loop guards.

- Thrive envelope ``{"pagination": {totalResults, totalPages, page, perPage}, "results"}``:
  the first page says how many there are, so the rest are fetched in parallel.
- Thrive bare arrays (completions) and Coursepath ``offset``/``limit`` arrays: no totals, so
  pages come one after another until a short page (an exactly full last page costs one empty
  page more; that is the minimum such an API allows).
- Brightspace ObjectListPage ``{"Next", "Objects"}`` and PagedResultSet
  ``{"PagingInfo": {"Bookmark", "HasMoreItems"}, "Items"}``.

Guards, so that a misbehaving server can never make a pull loop forever or silently short:
a page cap; a repeated ``Next`` or bookmark is followed at most once more and then refused;
a full page adding no new record ids ends the pull with an error; a total that changes while
the pages are fetched restarts that list (twice at most, then the last pull is kept and the
change reported). Duplicate record ids are dropped where frames are built (``columns.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from reconcile.errors import SourceError
from reconcile.progress import NullProgress, Progress
from reconcile.sources.columns import ArrowEnvelope, ArrowRecords, join_records
from reconcile.sources.http import Decoder, HttpClient, redact

PAGE_CAP = 100_000
MAX_RESTARTS = 2
Record = dict[str, Any]


@dataclass(frozen=True)
class ListRequest:
    """One list to pull: path, fixed query, a label for stats and progress, and a tag.

    ``decode``: a page decoder for the HTTP core (``columns.ArrowPages``); the records then
    come back as ``columns.ArrowRecords`` when every page could be read that way.
    """

    path: str
    params: Mapping[str, Any] = field(default_factory=dict)
    endpoint: str = ""
    tag: Any = None
    decode: Decoder | None = None


@dataclass
class _Envelope:
    results: list[Record] | ArrowRecords
    total_results: int
    total_pages: int


def _shape_error(client: HttpClient, path: str, expected: str) -> SourceError:
    return SourceError(
        f"{client.source}: {redact(client.url(path))} did not return {expected}; "
        "check base_url and the API version in the config",
        source=client.source,
        url=redact(client.url(path)),
    )


def _envelope_page(client: HttpClient, request: ListRequest, page: int, per_page: int) -> _Envelope:
    params = {**request.params, "page": page, "perPage": per_page}
    body = client.get_json(
        request.path, params=params, endpoint=request.endpoint or None, decode=request.decode
    )
    if isinstance(body, ArrowEnvelope):
        info: Any = body.pagination
        results: list[Record] | ArrowRecords = body.records
    elif isinstance(body, dict) and isinstance(body.get("results"), list):
        info = body.get("pagination") or {}
        results = body["results"]
    else:
        raise _shape_error(client, request.path, 'a {"pagination", "results"} page')
    total = _int(info.get("totalResults"), len(results))
    pages = _int(info.get("totalPages"), -(-total // per_page) if total else 0)
    return _Envelope(results=results, total_results=total, total_pages=pages)


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def envelope_lists(
    client: HttpClient,
    requests: Sequence[ListRequest],
    *,
    per_page: int = 1000,
    progress: Progress | None = None,
    task: str = "",
) -> list[list[Record]]:
    """Pull several Thrive envelope lists at once: all first pages, then every other page.

    Two flat phases (rather than one pool task per list) keep all workers busy and avoid
    tasks waiting on tasks. Lists whose total changed while paging are pulled again.
    """
    progress = progress or NullProgress()
    out: list[list[Record]] = [[] for _ in requests]
    pending = list(range(len(requests)))
    for attempt in range(MAX_RESTARTS + 1):
        pulled = _envelope_round(client, [requests[i] for i in pending], per_page, progress, task)
        unstable = []
        for index, (records, stable) in zip(pending, pulled, strict=True):
            out[index] = records
            if not stable:
                unstable.append(index)
        if not unstable:
            break
        names = ", ".join(requests[i].endpoint or requests[i].path for i in unstable)
        if attempt == MAX_RESTARTS:
            client.stats.warn(
                f"{client.source}: totals of {names} kept changing during the pull; "
                "kept the last pull (duplicates dropped)"
            )
            break
        client.stats.warn(
            f"{client.source}: totals of {names} changed during the pull; pulling again"
        )
        pending = unstable
    return out


def _envelope_round(
    client: HttpClient,
    requests: Sequence[ListRequest],
    per_page: int,
    progress: Progress,
    task: str,
) -> list[tuple[list[Record], bool]]:
    def first(request: ListRequest) -> _Envelope:
        page = _envelope_page(client, request, 1, per_page)
        progress.advance(task, pages=1, records=len(page.results))
        return page

    def rest(index: int, number: int) -> _Envelope:
        page = _envelope_page(client, requests[index], number, per_page)
        progress.advance(task, pages=1, records=len(page.results))
        return page

    # A list's other pages are queued as soon as its first page is in, so the workers never
    # wait for the slowest first page; pages are put back in order below whatever the timing.
    firsts = [client.submit(first, request) for request in requests]
    later: list[tuple[int, Future[_Envelope]]] = []
    pages: list[list[_Envelope]] = []
    try:
        for index, pending in enumerate(firsts):
            page = pending.result()
            if page.total_pages > PAGE_CAP:
                raise SourceError(
                    f"{client.source}: {requests[index].path} claims {page.total_pages} pages, "
                    f"more than the cap of {PAGE_CAP}; the server's pagination looks broken",
                    source=client.source,
                    url=redact(client.url(requests[index].path)),
                )
            pages.append([page])
            later.extend(
                (index, client.submit(rest, index, n)) for n in range(2, page.total_pages + 1)
            )
        for index, pending in later:
            pages[index].append(pending.result())
    except BaseException:
        for pending in [*firsts, *(f for _, f in later)]:
            pending.cancel()
        raise
    result = []
    for group in pages:
        records = join_records([page.results for page in group])
        totals = {page.total_results for page in group}
        stable = len(totals) == 1 and len(records) == group[0].total_results
        result.append((records, stable))
    return result


def sequential_array(
    client: HttpClient,
    request: ListRequest,
    *,
    page_size: int,
    params_for: Callable[[int, int], Mapping[str, Any]],
    id_of: Callable[[Record], Any],
    progress: Progress | None = None,
    task: str = "",
    read_ahead: bool = False,
    id_path: str | None = None,
) -> list[Record] | ArrowRecords:
    """Pages of a bare JSON array until a short page; ``params_for(page_index, fetched)``.

    Used for Thrive's ``page``/``perPage`` arrays and Coursepath's ``offset``/``limit``. A
    full page that brings no record id not seen before means the server ignores our paging
    parameter: stop with an error rather than loop.

    ``read_ahead``: once a page comes back full, keep the next two pages in flight, so a long
    list costs half the round trips; it costs at most one request past the end, and a list
    whose first page is short costs nothing extra.

    ``id_path``: where a record's id is for pages read by Arrow (``request.decode``); ids of
    dict records come from ``id_of``.
    """
    progress = progress or NullProgress()
    pages: list[Any] = []
    seen: set[Any] = set()

    def fetch(index: int) -> Any:
        params = {**request.params, **params_for(index, index * page_size)}
        return client.get_json(
            request.path,
            params=params,
            endpoint=request.endpoint or None,
            decode=request.decode,
        )

    with ThreadPoolExecutor(max_workers=2 if read_ahead else 1) as ahead:
        pending: dict[int, Future[Any]] = {}
        try:
            for index in range(PAGE_CAP):
                future = pending.pop(index, None)
                body = future.result() if future is not None else fetch(index)
                if isinstance(body, ArrowRecords) and id_path is None:
                    body = body.to_pylist()
                if isinstance(body, ArrowRecords):
                    ids = set(body.field(id_path or "").to_pylist())
                elif isinstance(body, list):
                    ids = {id_of(r) for r in body}
                else:
                    raise _shape_error(client, request.path, "a JSON array")
                progress.advance(task, pages=1, records=len(body))
                pages.append(body)
                if len(body) < page_size:
                    return join_records(pages)
                if not ids - seen:
                    raise _same_page(client, request.path)
                seen |= ids
                if read_ahead:
                    for later in (index + 1, index + 2):
                        if later not in pending:
                            pending[later] = ahead.submit(fetch, later)
        finally:
            for future in pending.values():
                future.cancel()
    raise _page_cap(client, request.path)


def _same_page(client: HttpClient, path: str) -> SourceError:
    return SourceError(
        f"{client.source}: {redact(client.url(path))} returned the same page again; the "
        "server ignores the paging parameters, so the pull was stopped",
        source=client.source,
        url=redact(client.url(path)),
    )


def _page_cap(client: HttpClient, path: str) -> SourceError:
    return SourceError(
        f"{client.source}: {redact(client.url(path))} went past {PAGE_CAP} pages; the server's "
        "pagination looks broken",
        source=client.source,
        url=redact(client.url(path)),
    )


def _check_same_host(client: HttpClient, next_url: str, path: str) -> None:
    """Never send credentials to a host other than the configured one."""
    if urlsplit(next_url).netloc not in ("", urlsplit(client.base_url).netloc):
        raise SourceError(
            f"{client.source}: {redact(client.url(path))} pointed its next page at another host "
            f"({urlsplit(next_url).netloc}); refusing to send credentials there",
            source=client.source,
            url=redact(client.url(path)),
        )


def object_list_page(
    client: HttpClient,
    request: ListRequest,
    *,
    progress: Progress | None = None,
    task: str = "",
) -> list[Record]:
    """Brightspace ObjectListPage: follow ``Next`` (a full URL) until it is null.

    A ``Next`` is compared by its ``recordIdBookmark`` (or whole URL when it has none); the
    first page's implicit bookmark is the empty one, so a ``Next`` back to it is a repeat.
    """
    progress = progress or NullProgress()
    records: list[Record] = []
    url: str = request.path
    params: Mapping[str, Any] | None = request.params
    seen: set[str] = {_text(request.params.get("recordIdBookmark")) or ""}
    repeats = 0
    for _ in range(PAGE_CAP):
        body = client.get_json(url, params=params, endpoint=request.endpoint or None)
        if not isinstance(body, dict) or not isinstance(body.get("Objects"), list):
            raise _shape_error(client, request.path, 'a {"Next", "Objects"} page')
        progress.advance(task, pages=1, records=len(body["Objects"]))
        records.extend(body["Objects"])
        next_url = body.get("Next")
        if not next_url:
            return records
        _check_same_host(client, next_url, request.path)
        cursor = parse_qs(urlsplit(next_url).query).get("recordIdBookmark", [next_url])[0]
        repeats = _note_repeat(client, request, cursor, seen, repeats)
        url, params = next_url, None
    raise _page_cap(client, request.path)


def paged_result_set(
    client: HttpClient,
    request: ListRequest,
    *,
    progress: Progress | None = None,
    task: str = "",
    on_page: Callable[[list[Record]], None] | None = None,
) -> list[Record]:
    """Brightspace PagedResultSet: pass ``bookmark`` back while ``HasMoreItems`` is true.

    ``HasMoreItems`` decides whether more follow; a bookmark that is missing, empty or seen
    before while more are promised is a repeat (the first page's bookmark is the empty one),
    never an end: stopping there would silently drop the rest of the list.
    ``on_page`` sees each page as it arrives, so per-user requests can start early.
    """
    progress = progress or NullProgress()
    records: list[Record] = []
    bookmark = ""
    seen: set[str] = {""}
    repeats = 0
    for _ in range(PAGE_CAP):
        params = dict(request.params)
        if bookmark:
            params["bookmark"] = bookmark
        body = client.get_json(request.path, params=params, endpoint=request.endpoint or None)
        items, more, returned = _result_set_parts(client, request, body)
        progress.advance(task, pages=1, records=len(items))
        records.extend(items)
        if on_page is not None:
            on_page(items)
        if not more:
            return records
        bookmark = returned or ""
        repeats = _note_repeat(client, request, bookmark, seen, repeats)
    raise _page_cap(client, request.path)


def _result_set_parts(
    client: HttpClient, request: ListRequest, body: Any
) -> tuple[list[Record], bool, str | None]:
    if isinstance(body, dict) and isinstance(body.get("Items"), list):
        info = body.get("PagingInfo") or {}
        bookmark = info.get("Bookmark")
        return body["Items"], bool(info.get("HasMoreItems")), _text(bookmark)
    raise _shape_error(client, request.path, 'a {"PagingInfo", "Items"} page')


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _note_repeat(
    client: HttpClient, request: ListRequest, cursor: str, seen: set[str], repeats: int
) -> int:
    """Follow a cursor seen before once (its page's records are dropped as duplicates later);
    a second repeat means the server is stuck, and the pull stops with an error."""
    if cursor not in seen:
        seen.add(cursor)
        return repeats
    if repeats >= 1:
        raise SourceError(
            f"{client.source}: {redact(client.url(request.path))} keeps returning a bookmark "
            "it returned before; the server's paging is stuck, so the pull was stopped",
            source=client.source,
            url=redact(client.url(request.path)),
        )
    client.stats.warn(
        f"{client.source}: {request.endpoint or request.path} repeated a bookmark; "
        "followed it once and dropped the duplicate records"
    )
    return repeats + 1
