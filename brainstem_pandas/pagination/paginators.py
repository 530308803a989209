"""Pagination styles: one small class per style, each saying which request fetches which page.

- :class:`OffsetPaginator` — BrainSTEM's ``limit``/``offset``;
- :class:`PageNumberPaginator` — ``page``/``page_size`` with ``results`` (brainmaps-style);
- :class:`NextLinkPaginator` — follow ``next`` links only.

A paginator refuses settings it cannot work with when it is made
(:class:`~brainstem_pandas.errors.ConfigurationError`), and answers with
:class:`PageRequest` objects: the parameters of a page, or the link to follow.
It never sends anything itself; :class:`~brainstem_pandas.pagination.Walk` does.

Beyond the plan of a list with a known total, a paginator may *speculate* (the
requests of pages after the first when no total is announced, sent a window at a
time until a short page), *adapt* (a paginator for the style a first answer shows
the server really uses, e.g. dynamic-rest's page numbers when ``limit`` was
ignored), and stop at ``records`` (a read of the first N records asks for no
page beyond them).
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Iterator, Mapping

from brainstem_pandas.errors import ConfigurationError
from brainstem_pandas.pagination.page import Page

MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class PageRequest:
    """The request for one page: parameters added to the walk's own, or a link to follow.

    Attributes
    ----------
    params : mapping
        Query parameters of this page (added to the walk's shared ones).
    url : str or None
        A full link to fetch instead (a ``next`` link already holds every parameter);
        None to fetch the walk's own URL.

    Examples
    --------
    >>> PageRequest({"limit": 100, "offset": 99})
    <PageRequest limit=100, offset=99>
    >>> PageRequest(url="https://www.brainstem.org/api/x/?cursor=b").describe()
    'next link'
    """

    params: Mapping[str, Any] = field(default_factory=dict)
    url: str | None = None

    def __post_init__(self) -> None:
        # Frozen all the way down: a planned request cannot be changed by whoever holds it.
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def describe(self) -> str:
        """The page's parameters as ``k=v, ...`` (or ``next link``), for messages."""
        return ", ".join(f"{k}={v}" for k, v in self.params.items()) or ("next link" if self.url else "no parameters")

    def __repr__(self) -> str:
        return f"<PageRequest {self.describe() if not self.url else self.url}>"


class Paginator(ABC):
    """A pagination style: the request of every page, and when the walk ends.

    Attributes
    ----------
    page_size : int
        Records per page (0 when the server decides).
    overlap : int
        Records each page shares with the page before (offset pages share one, the
        *seam* a walk checks; see :mod:`brainstem_pandas.pagination`).
    """

    page_size: int = MAX_PAGE_SIZE
    overlap: int = 0
    records: int | None = None  # records wanted at most (None: every record)
    missing_is_end = False  # a 404 past page one means the list ended before the plan did

    @abstractmethod
    def first_request(self) -> PageRequest:
        """The request of the first page."""

    @abstractmethod
    def plan(self, first: Page) -> Iterator[PageRequest] | None:
        """The requests of every remaining page, from the first page, or None when they cannot be planned.

        Made lazily, one request at a time: an announced total of 10**12 costs nothing
        until its pages are asked for (and the walk stops at the first short page).
        """

    def planned(self, total: int) -> int:
        """How many pages, the first included, :meth:`plan` gives for ``total`` records (0 when it plans none)."""
        return 0

    @abstractmethod
    def next_request(self, page: Page, request: PageRequest) -> PageRequest | None:
        """The request of the page after ``page`` (fetched with ``request``), one by one; None at the end."""

    def first_params(self) -> dict[str, Any]:
        """Parameters the paginator sets on the first page (and so on every page; callers must not set them)."""
        return dict(self.first_request().params)

    def speculate(self, first: Page) -> Iterator[PageRequest] | None:
        """Requests of the pages after ``first`` when no total is known (sent until a short page), or None."""
        return None

    def every(self, total: int) -> Iterator[PageRequest] | None:
        """Requests of every page, the first included, for a total known beforehand (None: plan from page one)."""
        plan = self.plan(Page(0, [], total=total))
        return None if plan is None else itertools.chain([self.first_request()], plan)

    def adapt(self, first: Page) -> "Paginator | None":
        """A paginator for the style ``first`` shows the server really uses, or None when this one fits."""
        return None

    def asked(self, request: PageRequest) -> int:
        """Records ``request`` asks for (0 when the server decides)."""
        return self.page_size

    def more(self, first: Page) -> bool:
        """Whether records are left after ``first`` (it is not the whole list, nor all that is wanted)."""
        if first.total is not None and first.raw_count >= first.total:
            return False
        return self.records is None or first.raw_count < self.records


def _records(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(
            f"limit must be a whole number of at least 1 (or None for every record), not {value!r}."
        )
    return value


def _page_size(value: Any, name: str, largest: int | None) -> int:
    """``value`` if it is a whole number in range; a ConfigurationError saying what to pass otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or (largest and value > largest):
        within = f"between 1 and {largest} (the API's maximum)" if largest else "a whole number of at least 1"
        raise ConfigurationError(
            f"The page size ({name}) must be {within}, not {value!r}; pass page_size={largest or 100} or less."
        )
    return value


def _param_name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{what} must be a parameter name (a non-empty string), not {value!r}.")
    return value


class OffsetPaginator(Paginator):
    """``limit``/``offset`` pages (BrainSTEM; default limit 20, maximum 100).

    Parameters
    ----------
    limit : int
        Records per page, 1 to :data:`MAX_PAGE_SIZE`.
    records : int, optional
        Records wanted at most: no page beyond them is planned, and the last one asks only for the rest.

    Examples
    --------
    Each page after the first starts on the last record of the one before (one
    record of overlap, the seam the walk checks):

    >>> list(OffsetPaginator(100).plan(Page(0, [{}] * 100, total=250)))
    [<PageRequest limit=100, offset=99>, <PageRequest limit=100, offset=198>]
    >>> OffsetPaginator(100).planned(10**12)  # counted, never listed
    10101010101
    >>> OffsetPaginator(500)
    Traceback (most recent call last):
    ...
    brainstem_pandas.errors.ConfigurationError: The page size (limit) must be between 1 and 100 ...

    Without a total, the pages after the first are guessed (a walk sends them a
    window at a time and stops at the first short one); with ``records`` the guess ends there:

    >>> list(OffsetPaginator(100, records=250).speculate(Page(0, [{}] * 100)))
    [<PageRequest limit=100, offset=99>, <PageRequest limit=52, offset=198>]
    """

    def __init__(self, limit: int = MAX_PAGE_SIZE, records: int | None = None) -> None:
        self.page_size = _page_size(limit, "limit", MAX_PAGE_SIZE)
        self.overlap = 1 if limit > 1 else 0  # pages of one record cannot overlap and still advance
        self.records = _records(records)

    def __repr__(self) -> str:
        wanted = f", records={self.records}" if self.records is not None else ""
        return f"OffsetPaginator({self.page_size}{wanted})"

    @property
    def step(self) -> int:
        """How far each page's offset moves on."""
        return self.page_size - self.overlap

    def offsets(self, total: int) -> list[int]:
        """The offset of every page of ``total`` records, the first (0) included.

        Examples
        --------
        >>> OffsetPaginator(100).offsets(250)
        [0, 99, 198]
        """
        # Another page is needed while the one before ends short of the total.
        return [0, *range(self.step, total - self.overlap, self.step)]

    def _at(self, offset: int) -> PageRequest:
        # The last page of a limited read asks only for the rest (its seam record included).
        size = self.page_size if self.records is None else min(self.page_size, self.records - offset)
        return PageRequest({"limit": size, "offset": offset})

    def first_request(self) -> PageRequest:
        return self._at(0)

    def _later(self, total: int) -> range:
        end = total if self.records is None else min(total, self.records)
        return range(self.step, end - self.overlap, self.step)

    def speculate(self, first: Page) -> Iterator[PageRequest] | None:
        offsets = itertools.count(self.step, self.step) if self.records is None else self._later(self.records)
        return (self._at(offset) for offset in offsets)

    def adapt(self, first: Page) -> Paginator | None:
        # dynamic-rest's page-number pagination ignores limit/offset and says the page size it used instead.
        if first.per_page is None or first.per_page == first.asked or not self.more(first):
            return None
        return PageNumberPaginator(int(first.asked or self.page_size), "page", "per_page", records=self.records)

    def asked(self, request: PageRequest) -> int:
        return int(request.params.get("limit", self.page_size))

    def plan(self, first: Page) -> Iterator[PageRequest] | None:
        if first.total is None:
            return None
        return (self._at(offset) for offset in self._later(first.total))

    def planned(self, total: int) -> int:
        return 1 + len(self._later(total))

    def next_request(self, page: Page, request: PageRequest) -> PageRequest | None:
        # Bare envelopes: a short page is the last one.
        following = int(request.params.get("offset", 0)) + self.step
        past = self.records is not None and following >= self.records - self.overlap
        if page.raw_count < self.asked(request) or past:
            return None
        return self._at(following)


class PageNumberPaginator(Paginator):
    """``page``/``page_size`` pages answering ``{"count", "next", "previous", "results"}``.

    Parameters
    ----------
    page_size : int
        Records per page (at least 1; the server may cap it).
    page_param, size_param : str
        Names of the page-number and page-size parameters.
    records : int, optional
        Records wanted at most: no page beyond them is asked for.

    A 404 past page one is the end of the list (Django REST framework's and
    dynamic-rest's "Invalid page."), not an error.

    Examples
    --------
    >>> list(PageNumberPaginator(50).plan(Page(0, [{}] * 50, total=120)))
    [<PageRequest page=2, page_size=50>, <PageRequest page=3, page_size=50>]
    >>> PageNumberPaginator(100, size_param="per_page").adapt(Page(0, [{}] * 20, total=90, per_page=20))
    PageNumberPaginator(20, 'page', 'per_page')
    """

    missing_is_end = True

    def __init__(
        self,
        page_size: int = MAX_PAGE_SIZE,
        page_param: str = "page",
        size_param: str = "page_size",
        *,
        records: int | None = None,
    ) -> None:
        self.page_size = _page_size(page_size, "page_size", None)
        self.page_param = _param_name(page_param, "page_param")
        self.size_param = _param_name(size_param, "size_param")
        self.records = _records(records)

    def __repr__(self) -> str:
        wanted = f", records={self.records}" if self.records is not None else ""
        return f"PageNumberPaginator({self.page_size}, {self.page_param!r}, {self.size_param!r}{wanted})"

    def _last(self, total: int | None) -> int | None:
        """The last page number needed for ``total`` records (and ``records``), or None for no bound."""
        end = [n for n in (total, self.records) if n is not None]
        return max(1, -(-min(end) // self.page_size)) if end else None

    def _at(self, number: int) -> PageRequest:
        return PageRequest({self.page_param: number, self.size_param: self.page_size})

    def first_request(self) -> PageRequest:
        return self._at(1)

    def plan(self, first: Page) -> Iterator[PageRequest] | None:
        if first.total is None:
            return None
        return (self._at(n) for n in range(2, self.planned(first.total) + 1))

    def planned(self, total: int) -> int:
        return self._last(total) or 1  # whole-number ceiling: exact for any size of total

    def speculate(self, first: Page) -> Iterator[PageRequest] | None:
        last = self._last(None)
        numbers = itertools.count(2) if last is None else range(2, last + 1)
        return (self._at(n) for n in numbers)

    def adapt(self, first: Page) -> Paginator | None:
        # A server capping the page size says so: its pages are that size (page one already is).
        size = first.per_page
        if not size or size == self.page_size or not self.more(first):
            return None
        return PageNumberPaginator(size, self.page_param, self.size_param, records=self.records)

    def next_request(self, page: Page, request: PageRequest) -> PageRequest | None:
        if page.raw_count == 0 or (page.next_url is None and page.raw_count < self.page_size):
            return None
        following = int(request.params.get(self.page_param, 1)) + 1
        last = self._last(None)
        return None if last is not None and following > last else self._at(following)


class NextLinkPaginator(Paginator):
    """Follow ``next`` links until there is none; no plan, always sequential.

    Parameters
    ----------
    page_size : int, optional
        Records per page, sent on the first request as ``size_param`` (None: the server's default).
    size_param : str
        Name of the page-size parameter.

    Examples
    --------
    >>> pager = NextLinkPaginator(25, "page_size")
    >>> pager.first_request()
    <PageRequest page_size=25>
    >>> pager.next_request(Page(0, [], next_url="https://x.test/?page=2"), pager.first_request())
    <PageRequest https://x.test/?page=2>
    """

    def __init__(self, page_size: int | None = None, size_param: str = "limit") -> None:
        # None (or 0) leaves the page size to the server.
        self.page_size = _page_size(page_size, size_param, None) if page_size else 0
        self.size_param = _param_name(size_param, "size_param")

    def __repr__(self) -> str:
        return f"NextLinkPaginator({self.page_size or None}, {self.size_param!r})"

    def first_request(self) -> PageRequest:
        return PageRequest({self.size_param: self.page_size} if self.page_size else {})

    def plan(self, first: Page) -> Iterator[PageRequest] | None:
        return None

    def next_request(self, page: Page, request: PageRequest) -> PageRequest | None:
        return PageRequest(url=page.next_url) if page.next_url else None
