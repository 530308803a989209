"""Walk every page of a list: page plans, a concurrent walker, and a proof of completeness.

One small class per pagination style (a *paginator*) says which parameters fetch
which page and how to read an answer:

- :class:`OffsetPaginator` — BrainSTEM's ``limit``/``offset``;
- :class:`PageNumberPaginator` — ``page``/``page_size`` with ``results`` (brainmaps-style);
- :class:`NextLinkPaginator` — follow ``next`` links only.

Answers may carry their total as ``count`` (with ``next``/``previous``), as
``meta.total_results``, or not at all (a *bare* envelope: walk until a short page).
Once page one tells the total, the remaining pages are planned and fetched
concurrently and yielded in page order; without a total the walk is sequential.

Every walk checks itself: records are de-duplicated by id, the number of unique
records must equal the total, and the total must not change during the walk.
Offset pages also overlap by one record (a *seam*): page n+1 starts with the
record that ended page n. A record created and another deleted between two page
requests leave the total unchanged yet shift every later page by one, skipping a
record silently; the seam sees that shift. Because the toolkit always sorts on a
unique key last (``id``), a walk whose every seam matches holds every record that
existed throughout it.
:func:`fetch_all` re-walks a bounded number of times when the check fails and then
raises :class:`~brainstem_pandas.errors.PaginationError` with the figures (or
warns, if asked to).
"""

from __future__ import annotations

import math
import threading
import warnings
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, TypeVar

from brainstem_pandas import catalog
from brainstem_pandas.errors import BrainstemError, ConfigurationError, PaginationError, ResponseError, locate
from brainstem_pandas.transport import Transport, origin

T = TypeVar("T")
ENVELOPE_KEYS = frozenset({"count", "next", "previous", "meta"})
MAX_PAGE_SIZE = 100


@dataclass
class Page:
    """One answer of a list walk.

    Attributes
    ----------
    number : int
        Page number in walk order, from 0.
    records : list of dict
        The primary records (duplicates of earlier pages removed).
    related : dict
        Related records by response key: sideloaded ones as the server sent them,
        plus records found nested inside the primary records.
    total : int or None
        The total the server announced on this page, if any.
    """

    number: int
    records: list[dict[str, Any]]
    related: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    total: int | None = None
    next_url: str | None = None
    raw_count: int = 0

    def __repr__(self) -> str:
        extra = ", ".join(f"{k}={len(v)}" for k, v in self.related.items())
        return f"<Page {self.number}: {len(self.records)} records{', ' + extra if extra else ''}>"


def envelope_total(body: dict[str, Any]) -> int | None:
    """The total announced by an answer (``count`` or ``meta.total_results``), if any."""
    count = body.get("count")
    if isinstance(count, int) and not isinstance(count, bool):
        return count
    meta = body.get("meta")
    if isinstance(meta, dict) and isinstance(meta.get("total_results"), int):
        return meta["total_results"]
    return None


def envelope_next(body: dict[str, Any]) -> str | None:
    """The ``next`` link of an answer (top level or in ``meta``), if any."""
    link = body.get("next")
    if link is None and isinstance(body.get("meta"), dict):
        link = body["meta"].get("next")
    return link if isinstance(link, str) and link else None


def _nested(records: list[dict[str, Any]], model: catalog.Model | None, out: dict[str, list]) -> None:
    # With sideloading=false related records arrive inline; collect them (at any depth)
    # so a page always offers every related record in one place.
    if model is None:
        return
    for record in records:
        for f in model.relations:
            value = record.get(f.name)
            items = value if isinstance(value, list) else [value]
            inline = [v for v in items if isinstance(v, dict)]
            if not inline:
                continue
            target = catalog.all_models().get(f.related_model or "")
            key = target.list_key if target else f"{f.related_model}s"
            out.setdefault(key, []).extend(inline)
            _nested(inline, target, out)


def split_answer(
    body: Any, records_key: str, model: catalog.Model | None = None, url: str = ""
) -> tuple[list[dict], dict[str, list[dict]], int | None, str | None]:
    """(records, related, total, next link) of one list answer (from ``url``, named in errors).

    Raises
    ------
    ResponseError
        When the answer lacks its records key.
    """
    if isinstance(body, list):  # a bare JSON array of records
        return body, {}, None, None
    if not isinstance(body, dict) or not isinstance(body.get(records_key), list):
        keys = ", ".join(map(repr, body)) if isinstance(body, dict) else type(body).__name__
        raise ResponseError(
            "GET",
            url,
            f"the page has no {records_key!r} list (keys: {keys}). Check that the "
            "URL is the BrainSTEM server's root and that the model is right",
        )
    records = body[records_key]
    related = {k: v for k, v in body.items() if k != records_key and k not in ENVELOPE_KEYS and isinstance(v, list)}
    _nested(records, model, related)
    return records, related, envelope_total(body), envelope_next(body)


def check_workers(workers: Any) -> None:
    """Refuse a ``workers`` that is not a whole number of at least 1."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigurationError(
            f"workers must be a whole number of at least 1, not {workers!r}; pass workers=1 "
            "to read page by page, or more for concurrent pages."
        )


def check_on_inconsistency(value: Any) -> None:
    """Refuse an ``on_inconsistency`` other than "raise" or "warn"."""
    if value not in ("raise", "warn"):
        raise ConfigurationError(
            f"on_inconsistency must be 'raise' or 'warn', not {value!r}; pass on_inconsistency='raise' or 'warn'."
        )


class Paginator:
    """A pagination style: parameters per page, and when the walk ends."""

    page_size: int = MAX_PAGE_SIZE
    # Records each page shares with the one before it (see the module docstring).
    overlap: int = 0

    def first_params(self) -> dict[str, Any]:
        """Parameters of the first page."""
        raise NotImplementedError

    def plan(self, total: int | None, first: Page) -> list[dict[str, Any]] | None:
        """Parameters of every remaining page, or None when they cannot be planned."""
        raise NotImplementedError

    def next_params(self, page: Page, params: dict[str, Any]) -> dict[str, Any] | None:
        """Parameters of the page after ``page`` in a sequential walk, or None at the end."""
        raise NotImplementedError


class OffsetPaginator(Paginator):
    """``limit``/``offset`` pages (BrainSTEM; default limit 20, maximum 100).

    Examples
    --------
    Each page after the first starts on the last record of the one before (one
    record of overlap, the seam the walk checks):

    >>> OffsetPaginator(100).plan(250, Page(0, [{}] * 100))
    [{'limit': 100, 'offset': 99}, {'limit': 100, 'offset': 198}]
    """

    def __init__(self, limit: int = MAX_PAGE_SIZE) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
            raise ConfigurationError(
                f"The page size (limit) must be between 1 and {MAX_PAGE_SIZE} (the API's "
                f"maximum), not {limit!r}; pass page_size={MAX_PAGE_SIZE} or less."
            )
        self.page_size = limit
        self.overlap = 1 if limit > 1 else 0  # pages of one record cannot overlap and still advance

    @property
    def step(self) -> int:
        """How far each page's offset moves on."""
        return self.page_size - self.overlap

    def first_params(self) -> dict[str, Any]:
        return {"limit": self.page_size, "offset": 0}

    def plan(self, total: int | None, first: Page) -> list[dict[str, Any]] | None:
        if total is None:
            return None
        # Another page is needed while the one before ends short of the total.
        return [{"limit": self.page_size, "offset": o} for o in range(self.step, total - self.overlap, self.step)]

    def next_params(self, page: Page, params: dict[str, Any]) -> dict[str, Any] | None:
        # Bare envelopes: a short page is the last one.
        if page.raw_count < self.page_size:
            return None
        return {"limit": self.page_size, "offset": int(params.get("offset", 0)) + self.step}


class PageNumberPaginator(Paginator):
    """``page``/``page_size`` pages answering ``{"count", "next", "previous", "results"}``.

    Examples
    --------
    >>> PageNumberPaginator(50).plan(120, Page(0, [{}] * 50))
    [{'page': 2, 'page_size': 50}, {'page': 3, 'page_size': 50}]
    """

    def __init__(self, page_size: int = MAX_PAGE_SIZE, page_param: str = "page", size_param: str = "page_size") -> None:
        if page_size < 1:
            raise ConfigurationError(f"page_size must be at least 1, not {page_size}; pass a positive page size.")
        self.page_size, self.page_param, self.size_param = page_size, page_param, size_param

    def first_params(self) -> dict[str, Any]:
        return {self.page_param: 1, self.size_param: self.page_size}

    def plan(self, total: int | None, first: Page) -> list[dict[str, Any]] | None:
        if total is None:
            return None
        pages = math.ceil(total / self.page_size)
        return [{self.page_param: n, self.size_param: self.page_size} for n in range(2, pages + 1)]

    def next_params(self, page: Page, params: dict[str, Any]) -> dict[str, Any] | None:
        if page.next_url is None and page.raw_count < self.page_size:
            return None
        if page.raw_count == 0:
            return None
        return {self.page_param: int(params.get(self.page_param, 1)) + 1, self.size_param: self.page_size}


class NextLinkPaginator(Paginator):
    """Follow ``next`` links until there is none; no plan, always sequential."""

    def __init__(self, page_size: int | None = None, size_param: str = "limit") -> None:
        self.page_size = page_size or 0
        self.size_param = size_param

    def first_params(self) -> dict[str, Any]:
        return {self.size_param: self.page_size} if self.page_size else {}

    def plan(self, total: int | None, first: Page) -> list[dict[str, Any]] | None:
        return None

    def next_params(self, page: Page, params: dict[str, Any]) -> dict[str, Any] | None:
        return {"__url__": page.next_url} if page.next_url else None


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
        The catalogued model (to find nested related records).
    workers : int
        Concurrent requests once the total is known; 1 walks sequentially.
    progress : bool
        Show a ``tqdm.auto`` bar counting records.
    """

    def __init__(
        self,
        transport: Transport,
        url: str,
        params: list[tuple[str, str]],
        paginator: Paginator,
        records_key: str,
        *,
        model: catalog.Model | None = None,
        workers: int = 8,
        progress: bool = True,
        description: str = "",
    ) -> None:
        check_workers(workers)
        self.transport, self.url, self.params = transport, url, list(params)
        self.paginator, self.records_key, self.model = paginator, records_key, model
        self.workers, self.progress, self.description = workers, progress, description
        self.slots = threading.BoundedSemaphore(workers)
        self.seen: set = set()
        self.duplicates = 0
        self.received = 0
        self.totals: list[int] = []
        self.pages = 0
        # Ids that ended the previous page, and the seams found broken: (page, expected id, id found).
        self.tail: list[Any] = []
        self.shifts: list[tuple[int, Any, Any]] = []

    # -- fetching ---------------------------------------------------------------
    def _fetch(self, number: int, page_params: dict[str, Any]) -> Page:
        try:
            if "__url__" in page_params:
                body = self.transport.get(self._own(page_params["__url__"]), slots=self.slots)
            else:
                body = self.transport.get(self.url, params=self.params + list(page_params.items()), slots=self.slots)
            records, related, total, next_url = split_answer(body, self.records_key, self.model, self.url)
        except BrainstemError as exc:
            shown = ", ".join(f"{k}={v}" for k, v in page_params.items() if k != "__url__") or "next link"
            locate(exc, f"Page {number + 1} ({shown})")
            raise
        return Page(
            number=number, records=records, related=related, total=total, next_url=next_url, raw_count=len(records)
        )

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

    def _seam(self, page: Page) -> int:
        """Check that ``page`` starts where the page before ended; return how many records to drop."""
        ids = [r.get("id") if isinstance(r, dict) else None for r in page.records]
        before, self.tail = self.tail, ids[-self.paginator.overlap :] if ids else []
        head = ids[: len(before)]
        if page.number == 0 or not before or not head:
            return 0
        if None in before or None in head:
            return len(head)  # records without ids cannot be checked; skip the overlap by position
        if head != before:
            self.shifts.append((page.number, before[0], head[0]))
            return 0
        return len(head)

    def _account(self, page: Page) -> Page:
        # De-duplicate by id across the whole walk, and note the totals seen.
        if page.total is not None:
            self.totals.append(page.total)
        shared = self._seam(page) if self.paginator.overlap else 0
        unique = []
        for position, record in enumerate(page.records):
            if position < shared:
                continue  # the seam record, already counted with the page before
            key = record.get("id") if isinstance(record, dict) else None
            if key is None:
                unique.append(record)
                continue
            if key in self.seen:
                self.duplicates += 1
                continue
            self.seen.add(key)
            unique.append(record)
        self.received += len(unique)
        self.pages += 1
        page.records = unique
        return page

    def _planned(self, plan: list[dict[str, Any]]) -> Iterator[Page]:
        window = max(self.workers * 2, 1)
        # A thread per page in the window, but only `workers` requests on the wire at once
        # (self.slots): a page waiting to retry does not hold up the others.
        todo = iter(enumerate(plan, start=1))
        pending: deque[Future] = deque()
        pool = ThreadPoolExecutor(max_workers=window, thread_name_prefix="bsp-page")

        def refill() -> None:
            while len(pending) < window:
                try:
                    number, params = next(todo)
                except StopIteration:
                    return
                pending.append(pool.submit(self._fetch, number, params))

        try:
            refill()
            while pending:
                page = pending.popleft().result()
                refill()
                yield page
        except BaseException:
            # An error, Ctrl-C or a consumer that stopped early: drop what is queued.
            for future in pending:
                future.cancel()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)

    def _sequential(self, first: Page, params: dict[str, Any]) -> Iterator[Page]:
        page, number = first, 0
        while True:
            params = self.paginator.next_params(page, params)
            if params is None:
                return
            number += 1
            page = self._fetch(number, params)
            yield page
            if page.raw_count == 0:
                return

    def __iter__(self) -> Iterator[Page]:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=None,
            unit=" records",
            desc=self.description or None,
            disable=not self.progress,
            leave=True,
            dynamic_ncols=True,
        )
        try:
            first_params = self.paginator.first_params()
            first = self._fetch(0, first_params)
            bar.total = first.total
            bar.refresh()
            plan = self.paginator.plan(first.total, first)
            if plan is None:
                rest = self._sequential(first, first_params)
            elif self.workers == 1:
                rest = (self._fetch(n, p) for n, p in enumerate(plan, start=1))
            else:
                rest = self._planned(plan)
            for page in _chain(first, rest):
                self._account(page)
                bar.update(len(page.records))
                yield page
        finally:
            bar.close()

    # -- the check ---------------------------------------------------------------
    @property
    def expected(self) -> int | None:
        """The total announced on page one (None for bare envelopes)."""
        return self.totals[0] if self.totals else None

    def problem(self) -> str | None:
        """Why this walk cannot be trusted, or None when it is complete."""
        if self.totals and len(set(self.totals)) > 1:
            return (
                f"the total changed during the walk ({self.totals[0]} -> {self.totals[-1]}): records were "
                "added or removed meanwhile"
            )
        if self.shifts:
            number, ended, began = self.shifts[0]
            return (
                f"pages shifted during the walk: page {number + 1} began with record {began}, not with "
                f"{ended} which ended page {number}, so a record may have been skipped "
                f"({len(self.shifts)} shifted seam(s)); records were added, removed or re-sorted meanwhile"
            )
        if self.expected is not None and self.received != self.expected:
            return f"received {self.received} unique records but the server announced {self.expected}"
        if self.expected is None and self.duplicates:
            return f"{self.duplicates} records arrived twice: pages shifted during the walk"
        return None


def _chain(first: Page, rest: Any) -> Iterator[Page]:
    yield first
    yield from rest


def check_walk(walk: Walk, on_inconsistency: str, walks: int = 1) -> None:
    """Raise (or warn about) a walk that failed its check."""
    problem = walk.problem()
    if problem is None:
        return
    announced = "no total announced" if walk.expected is None else f"{walk.expected} announced"
    message = (
        f"Incomplete read of {walk.url}: {problem} (after {walks} walk(s); last walk: "
        f"{walk.received} unique records received, {announced}, {walk.pages} pages). "
        "Read again when the data is not being changed, or pass on_inconsistency='warn' to accept it."
    )
    if on_inconsistency == "warn":
        warnings.warn(message, RuntimeWarning, stacklevel=3)
        return
    raise PaginationError(message, expected=walk.expected, received=walk.received, walks=walks)


def fetch_into(
    make_walk: Callable[[], Walk],
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


def fetch_all(make_walk: Callable[[], Walk], *, on_inconsistency: str = "raise", rewalks: int = 2) -> list[Page]:
    """All pages of a list, re-walked until they add up (see :func:`fetch_into`)."""
    return fetch_into(make_walk, list, list.append, on_inconsistency=on_inconsistency, rewalks=rewalks)
