"""Pagination styles: one small class per style, each saying which request fetches which page.

- :class:`OffsetPaginator` — BrainSTEM's ``limit``/``offset``;
- :class:`PageNumberPaginator` — ``page``/``page_size`` with ``results`` (brainmaps-style);
- :class:`NextLinkPaginator` — follow ``next`` links only.

A paginator refuses settings it cannot work with when it is made
(:class:`~brainstem_pandas.errors.ConfigurationError`), and answers with
:class:`PageRequest` objects: the parameters of a page, or the link to follow.
It never sends anything itself; :class:`~brainstem_pandas.pagination.Walk` does.
"""

from __future__ import annotations

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
    """

    def __init__(self, limit: int = MAX_PAGE_SIZE) -> None:
        self.page_size = _page_size(limit, "limit", MAX_PAGE_SIZE)
        self.overlap = 1 if limit > 1 else 0  # pages of one record cannot overlap and still advance

    def __repr__(self) -> str:
        return f"OffsetPaginator({self.page_size})"

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
        return PageRequest({"limit": self.page_size, "offset": offset})

    def first_request(self) -> PageRequest:
        return self._at(0)

    def _later(self, total: int) -> range:
        return range(self.step, total - self.overlap, self.step)

    def plan(self, first: Page) -> Iterator[PageRequest] | None:
        if first.total is None:
            return None
        return (self._at(offset) for offset in self._later(first.total))

    def planned(self, total: int) -> int:
        return 1 + len(self._later(total))

    def next_request(self, page: Page, request: PageRequest) -> PageRequest | None:
        # Bare envelopes: a short page is the last one.
        if page.raw_count < self.page_size:
            return None
        return self._at(int(request.params.get("offset", 0)) + self.step)


class PageNumberPaginator(Paginator):
    """``page``/``page_size`` pages answering ``{"count", "next", "previous", "results"}``.

    Parameters
    ----------
    page_size : int
        Records per page (at least 1; the server may cap it).
    page_param, size_param : str
        Names of the page-number and page-size parameters.

    Examples
    --------
    >>> list(PageNumberPaginator(50).plan(Page(0, [{}] * 50, total=120)))
    [<PageRequest page=2, page_size=50>, <PageRequest page=3, page_size=50>]
    """

    def __init__(self, page_size: int = MAX_PAGE_SIZE, page_param: str = "page", size_param: str = "page_size") -> None:
        self.page_size = _page_size(page_size, "page_size", None)
        self.page_param = _param_name(page_param, "page_param")
        self.size_param = _param_name(size_param, "size_param")

    def __repr__(self) -> str:
        return f"PageNumberPaginator({self.page_size}, {self.page_param!r}, {self.size_param!r})"

    def _at(self, number: int) -> PageRequest:
        return PageRequest({self.page_param: number, self.size_param: self.page_size})

    def first_request(self) -> PageRequest:
        return self._at(1)

    def plan(self, first: Page) -> Iterator[PageRequest] | None:
        if first.total is None:
            return None
        return (self._at(n) for n in range(2, self.planned(first.total) + 1))

    def planned(self, total: int) -> int:
        return max(1, -(-total // self.page_size))  # whole-number ceiling: exact for any size of total

    def next_request(self, page: Page, request: PageRequest) -> PageRequest | None:
        if page.raw_count == 0 or (page.next_url is None and page.raw_count < self.page_size):
            return None
        return self._at(int(request.params.get(self.page_param, 1)) + 1)


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
