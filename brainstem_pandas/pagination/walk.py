"""Walk every page of a list: the page plan, the concurrent window, and the check at the end.

A :class:`Walk` fetches page one, lets its paginator adapt to the style the
answer shows (a server paginating by page number although ``limit``/``offset``
was asked re-plans by page, re-reading page one at the page size asked), asks
for the plan of the rest, and then fetches the planned pages concurrently (a
bounded window, yielded in page order). Without a total it *speculates*: the
next ``workers`` pages are asked for together, and the walk ends at the first
short (or empty) page, dropping the answers past it (at most one window of
requests is wasted); with one worker, or next links, pages come one after
another. Each page's record ids go to the walk's :class:`~brainstem_pandas.pagination.seams.Tally`, which drops
duplicates and seam records and says at the end whether the pages add up.
:func:`fetch_into` re-walks a bounded number of times when they do not, then
raises :class:`~brainstem_pandas.errors.PaginationError` (or warns, if asked to).

A consumer that stops (closes the iterator, or raises while handling a page)
stops the walk: no further page request is started and the ones in flight are
abandoned without retries.
"""

from __future__ import annotations

import itertools
import threading
import warnings
from typing import Any, Callable, Generator, Iterable, Iterator, Protocol, TypeVar

from brainstem_pandas import catalog
from brainstem_pandas.errors import (
    BrainstemError,
    ConfigurationError,
    NotFoundError,
    PaginationError,
    ResponseError,
    locate,
)
from brainstem_pandas.pagination.page import Page, envelope_pages, split_answer
from brainstem_pandas.pagination.paginators import PageRequest, Paginator
from brainstem_pandas.pagination.seams import SeamLedger, Tally, record_key
from brainstem_pandas.pagination.window import Window
from brainstem_pandas.transport import Transport, origin

T = TypeVar("T")

# Pages a walk sends at most: 10 million records at 100 a page. A server that never
# ends a list (a next link to itself, an offset ignored, fresh pages forever) stops here.
MAX_PAGES = 100_000


MAX_WORKERS = 64


def check_workers(workers: Any) -> None:
    """Refuse a ``workers`` that is not a whole number from 1 to :data:`MAX_WORKERS`.

    Examples
    --------
    >>> check_workers(8)
    >>> check_workers(0)
    Traceback (most recent call last):
    ...
    brainstem_pandas.errors.ConfigurationError: workers must be a whole number from 1 to 64, not 0; ...
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
        # The cap: each worker is a thread and a pooled connection; past a few dozen a server only
        # throttles (429) and the client only spends memory.
        raise ConfigurationError(
            f"workers must be a whole number from 1 to {MAX_WORKERS}, not {workers!r}; pass workers=1 "
            "to read page by page, or more (8 is the default) for concurrent pages."
        )


def check_on_inconsistency(value: Any) -> None:
    """Refuse an ``on_inconsistency`` other than "raise" or "warn"."""
    if value not in ("raise", "warn"):
        raise ConfigurationError(
            f"on_inconsistency must be 'raise' or 'warn', not {value!r}; pass on_inconsistency='raise' or 'warn'."
        )


class Walk:
    """One pass over the pages of a list, with its own consistency check.

    Parameters
    ----------
    transport : Transport
        Sends the requests.
    url : str
        The list endpoint.
    params : list of (str, str)
        Query parameters shared by every page (filters, sort, include).
    paginator : Paginator
        The pagination style.
    records_key : str
        Response key of the primary records.
    model : catalog.Model, optional
        The catalogued model read (kept for callers; the walk does not look inside records).
    workers : int
        Concurrent requests once the total is known; 1 walks sequentially.
    progress : bool
        Show a ``tqdm.auto`` bar counting records.
    description : str
        The bar's label.
    max_pages : int
        Pages sent at most; a walk reaching it without an end stops, and fails its check.
    known : int, optional
        The total an earlier walk of the same list found: every page, the first included, is
        asked for at once (a check walk; the pages' own totals are still checked).

    A walk also stops, failing its check with the reason, on a page that brings no
    record it had not seen (a server repeating itself), on a next link it already
    followed (links in a loop), and on a page shorter than asked before the
    announced total is reached (a total that lies): never more requests than that.

    Examples
    --------
    >>> from brainstem_pandas.pagination import OffsetPaginator
    >>> from brainstem_pandas.testing import MockTransport, serve_offset
    >>> mock = MockTransport(serve_offset([{"id": i} for i in range(250)], "sessions"))
    >>> transport = Transport("https://brainstem.test", adapter=mock)
    >>> walk = Walk(transport, transport.url("api/s/"), [], OffsetPaginator(100), "sessions", progress=False)
    >>> [len(page.records) for page in walk], walk.received, walk.problem(), len(mock.requests)
    ([100, 99, 51], 250, None, 3)
    """

    def __init__(
        self,
        transport: Transport,
        url: str,
        params: Iterable[tuple[str, Any]],
        paginator: Paginator,
        records_key: str,
        *,
        model: catalog.Model | None = None,
        workers: int = 8,
        progress: bool = True,
        description: str = "",
        max_pages: int = MAX_PAGES,
        known: int | None = None,
    ) -> None:
        check_workers(workers)
        self.known = known
        self.max_pages = max(int(max_pages), 1)
        self.transport, self.url, self.params = transport, url, list(params)
        self.paginator, self.records_key, self.model = paginator, records_key, model
        self.workers, self.progress, self.description = workers, progress, description
        self.slots = threading.BoundedSemaphore(workers)
        # Set when the consumer stops: requests not yet sent are not sent, retries are not made.
        self.stopped = threading.Event()
        self.tally = Tally(SeamLedger(paginator.overlap), wanted=paginator.records)

    # -- figures (see Tally) ------------------------------------------------------
    @property
    def expected(self) -> int | None:
        """The total announced on page one (None for bare envelopes)."""
        return self.tally.expected

    @property
    def received(self) -> int:
        """Unique records received so far."""
        return self.tally.received

    @property
    def pages(self) -> int:
        """Pages received so far."""
        return self.tally.pages

    @property
    def duplicates(self) -> int:
        """Records that arrived a second time (dropped)."""
        return self.tally.seams.duplicates

    def problem(self) -> str | None:
        """Why this walk cannot be trusted, or None when it is complete."""
        return self.tally.problem()

    # -- fetching -----------------------------------------------------------------
    def _fetch(self, number: int, request: PageRequest) -> Page:
        asked = self.paginator.asked(request)
        try:
            if request.url is not None:  # a next link holds every parameter itself
                body = self.transport.get(self._own(request.url), slots=self.slots, cancel=self.stopped)
            else:
                params = self.params + list(request.params.items())
                body = self.transport.get(self.url, params=params, slots=self.slots, cancel=self.stopped)
            records, related, total, next_url = split_answer(body, self.records_key, self.url)
        except NotFoundError as exc:
            if number and self.paginator.missing_is_end:  # "Invalid page.": the list ends before this page
                return Page(number, [], asked=asked)
            locate(exc, f"Page {number + 1} ({request.describe()})")
            raise
        except BrainstemError as exc:
            locate(exc, f"Page {number + 1} ({request.describe()})")
            raise
        per_page = envelope_pages(body)[1]
        return Page(number, records, related, total, next_url, len(records), asked, per_page)

    def _use(self, paginator: Paginator) -> None:
        """Walk on with ``paginator`` (before any page is counted)."""
        self.paginator = paginator
        self.tally.seams.overlap = paginator.overlap

    def _first(self) -> tuple[Page | None, PageRequest]:
        """Page one, read again in the server's own style when its answer shows it ignored the one asked.

        None instead of page one when the answer told the total: then every page is
        planned at once in the new style, page one among them (no round trip of its own).
        """
        request = self.paginator.first_request()
        first = self._fetch(0, request)
        adapted = self.paginator.adapt(first)
        if adapted is None:
            return first, request
        self._use(adapted)  # e.g. limit/offset ignored: page numbers, page one re-read at the size asked
        if first.total is not None and self.workers > 1:
            self.known = first.total
            return None, request
        request = adapted.first_request()
        first = self._fetch(0, request)
        capped = adapted.adapt(first)
        if capped is not None:  # the server capped the page size: page one already has that size
            self._use(capped)
            first.asked = capped.page_size
        return first, request

    def _own(self, link: str) -> str:
        """``link`` if it is on this walk's server; a next link elsewhere is refused."""
        # The token is never sent there (the transport sees to that), but records from
        # another server must not be mixed into this one's answer either.
        if not self.transport.same_origin(link):
            scheme, host, port = origin(link)
            raise ResponseError(
                "GET",
                self.url,
                f"the next link points to another server ({scheme}://{host}:{port}),"
                " so the walk stops rather than mix in its records. Check the server address you "
                "connected to (a proxy may be rewriting links), or read that server separately",
            )
        return link

    def _capped(self) -> str:
        announced = "no total announced" if self.expected is None else f"{self.expected} announced"
        return (
            f"the walk reached its cap of {self.max_pages} pages without reaching the end ({announced}): "
            "the server keeps sending pages; if the list really is that long, raise the cap with "
            "client.options = client.options.but(max_pages=...)"
        )

    def _sequential(self, page: Page, request: PageRequest) -> Iterator[Page]:
        links: set[str] = set()
        while (following := self.paginator.next_request(page, request)) is not None:
            if page.number + 1 >= self.max_pages:
                self.tally.halted = self._capped()
                return
            if following.url is not None:
                if following.url in links:  # A -> B -> A, or a link to itself
                    self.tally.halted = (
                        f"the next link of page {page.number + 1} ({following.url}) was followed before: "
                        "the server's links go in a loop, so the walk stopped"
                    )
                    return
                links.add(following.url)
            request, page = following, self._fetch(page.number + 1, following)
            yield page
            if page.raw_count == 0:
                return

    def _pages(self) -> Generator[Page, None, None]:
        """Page one, then the rest: planned and concurrent, speculative windows, one by one, or link by link."""
        first, first_request = (None, None) if self.known is not None else self._first()
        if first is None or first_request is None:
            yield from self._all(self.known or 0)
            return
        yield first
        if first.total is not None and first.raw_count >= first.total > 0:
            return  # page one holds everything announced (a server ignoring the page size): nothing to plan
        if self.paginator.records is not None and first.raw_count >= self.paginator.records:
            return  # page one holds every record wanted
        if first.total is None or self.paginator.plan(first) is None:
            yield from self._unplanned(first, first_request)
            return
        yield from self._planned(first, first.total)

    def _planned(self, first: Page, total: int) -> Iterator[Page]:
        """The pages after ``first``, planned from the total: concurrent in a window, or one by one."""
        # The plan is lazy: only the pages up to the cap are ever made, and fewer are sent when the walk halts.
        capped = itertools.islice(self.paginator.plan(first) or iter(()), self.max_pages - 1)
        if self.workers == 1:
            yield from (self._fetch(n, r) for n, r in enumerate(capped, start=1))
        else:
            yield from Window(self._fetch, capped, self.workers * 2, self.stopped)
        if self.paginator.planned(total) > self.max_pages:
            self.tally.halted = self._capped()

    def _all(self, total: int) -> Iterator[Page]:
        """Every page at once, page one among them, for a total known beforehand."""
        plan = self.paginator.every(total)
        if plan is None:  # a style that cannot plan: from page one, as usual
            self.known = None
            yield from self._pages()
            return
        # Its own stop: dropping this window (below) must not stop the walk.
        window = Window(self._fetch, itertools.islice(plan, self.max_pages), self.workers * 2, start=0)
        pages = window.__iter__()
        first = next(pages, None)
        resized = self.paginator.adapt(first) if first is not None else None
        if first is None or resized is not None:
            window.stop.set()  # the server capped the page size: the pages in flight were planned too few
            pages.close()
        if first is None:
            return
        if resized is not None and type(resized) is not type(self.paginator):  # another style: start over
            self.known = None
            yield from self._pages()
            return
        if resized is not None:  # before page one is counted: it is a whole page of the capped size
            self._use(resized)
            first.asked = resized.page_size
        yield first
        if resized is not None:
            if self.paginator.more(first):
                yield from self._planned(first, first.total if first.total is not None else total)
            return
        yield from pages
        if self.paginator.planned(total) > self.max_pages:
            self.tally.halted = self._capped()

    def _unplanned(self, first: Page, request: PageRequest) -> Iterator[Page]:
        """The pages after ``first`` with no total: speculative windows when concurrent, else one by one."""
        guesses = self.paginator.speculate(first) if self.workers > 1 and first.raw_count else None
        if guesses is None or first.raw_count < first.asked:
            yield from self._sequential(first, request)
        else:
            yield from self._speculative(guesses)

    def _speculative(self, guesses: Iterator[PageRequest]) -> Iterator[Page]:
        """Pages without a total, ``workers`` at a time, in order, up to the first short page (and no further)."""
        capped = itertools.islice(guesses, self.max_pages - 1)
        for page in Window(self._fetch, capped, self.workers, self.stopped):
            yield page
            if page.raw_count < page.asked or not page.raw_count:
                return  # the end: closing the window abandons the pages asked for past it
        if next(guesses, None) is not None:
            self.tally.halted = self._capped()

    def _halt(self, page: Page) -> str | None:
        """Why the walk must stop after ``page`` (a repeating server, a short page before the end), or None."""
        if page.number and page.raw_count > self.paginator.overlap and self.tally.seams.fresh == 0:
            return (
                f"page {page.number + 1} brought no record that earlier pages had not ({page.raw_count} received "
                "again): the server repeats its pages (it may ignore the page parameters, or its next link "
                "may point back), so the walk stopped"
            )
        total, size = self.expected, page.asked
        planned = self.paginator.planned(total) if total is not None else 0
        if page.number < planned - 1 and page.raw_count < size:
            return (
                f"page {page.number + 1} of {planned} held {page.raw_count} records where {size} were asked, "
                f"before the {total} announced were reached: the server's total is wrong or records were "
                "removed meanwhile, so the walk stopped"
            )
        return None

    def _account(self, page: Page) -> None:
        records = page.records
        ids = [record_key(r) for r in records]
        kept = self.tally.note(page.number, ids, page.total)
        if len(kept) != len(records):
            page.records = [records[i] for i in kept]

    def __iter__(self) -> Iterator[Page]:
        from brainstem_pandas.progress import walk_bar  # one overall bar over many walks, retries shown

        retried = getattr(self.transport, "retries", {})
        bar = walk_bar(self.description, disable=not self.progress, retries=lambda: sum(retried.values()))
        pages = self._pages()
        try:
            for page in pages:
                self._account(page)
                if page.number == 0:
                    bar.total = page.total
                    bar.refresh()
                bar.update(len(page.records))
                yield page
                if self.tally.enough():
                    break  # every record wanted is in: nothing more is asked for
                if self.tally.halted or (reason := self._halt(page)) is None:
                    continue
                self.tally.halted = reason
                break
        finally:
            self.stopped.set()  # after the last page too: nothing is left to send
            pages.close()  # a halted walk abandons the pages in flight
            bar.close()


class Walked(Protocol):
    """What :func:`check_walk` and :func:`fetch_into` need of a walk (a :class:`Walk`, or pages from a snapshot)."""

    url: str

    @property
    def expected(self) -> int | None: ...

    @property
    def received(self) -> int: ...

    def problem(self) -> str | None: ...

    def __iter__(self) -> Iterator[Page]: ...


def check_walk(walk: Walked, on_inconsistency: str, walks: int = 1) -> None:
    """Raise (or warn about) a walk that failed its check."""
    problem = walk.problem()
    if problem is None:
        return
    announced = "no total announced" if walk.expected is None else f"{walk.expected} announced"
    pages = getattr(walk, "pages", None)
    message = (
        f"Incomplete read of {walk.url}: {problem} (after {walks} walk(s); last walk: "
        f"{walk.received} unique records received, {announced}"
        f"{'' if pages is None else f', {pages} pages'}). "
        "Read again when the data is not being changed, or pass on_inconsistency='warn' to accept it."
    )
    if on_inconsistency == "warn":
        warnings.warn(message, RuntimeWarning, stacklevel=3)
        return
    raise PaginationError(message, expected=walk.expected, received=walk.received, walks=walks)


def fetch_into(
    make_walk: Callable[[], Walked],
    make_sink: Callable[[], T],
    add: Callable[[T, Page], None],
    *,
    on_inconsistency: str = "raise",
    rewalks: int = 2,
) -> T:
    """Stream every page into a fresh sink per walk; re-walk up to ``rewalks`` times until they add up.

    Parameters
    ----------
    make_walk : callable
        Returns a fresh :class:`Walk` for each attempt.
    make_sink, add : callable
        A new consumer per attempt, and how a page is added to it; pages are
        handed over as they arrive and not kept here.
    on_inconsistency : {"raise", "warn"}
        What to do when the last walk still does not add up.
    rewalks : int
        Walks made again, at most, after the first.

    Examples
    --------
    >>> from brainstem_pandas.pagination import OffsetPaginator
    >>> from brainstem_pandas.testing import MockTransport, serve_offset
    >>> transport = Transport("https://brainstem.test", adapter=MockTransport(serve_offset([{"id": 1}], "things")))
    >>> walk = lambda: Walk(transport, transport.url("api/t/"), [], OffsetPaginator(), "things", progress=False)
    >>> fetch_into(walk, list, lambda sink, page: sink.extend(page.records))
    [{'id': 1}]
    """
    check_on_inconsistency(on_inconsistency)
    for attempt in range(1, rewalks + 2):
        walk, sink = make_walk(), make_sink()
        for page in walk:
            add(sink, page)
        if walk.problem() is None or attempt == rewalks + 1:
            check_walk(walk, on_inconsistency, attempt)
            return sink
    raise AssertionError("unreachable")


def fetch_all(make_walk: Callable[[], Walked], *, on_inconsistency: str = "raise", rewalks: int = 2) -> list[Page]:
    """All pages of a list, re-walked until they add up (see :func:`fetch_into`)."""
    return fetch_into(make_walk, list, list.append, on_inconsistency=on_inconsistency, rewalks=rewalks)
