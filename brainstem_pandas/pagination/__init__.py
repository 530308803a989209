"""Walk every page of a list: paginators, a concurrent walker, and a proof of completeness.

One small class per pagination style (a *paginator*, :mod:`.paginators`) says
which request fetches which page; a :class:`Walk` (:mod:`.walk`) sends them,
concurrently once page one tells the total, and yields :class:`Page` objects
(:mod:`.page`) in page order; the walk's bookkeeping (:mod:`.seams`) drops
duplicates, checks that each offset page starts where the one before ended, and
says whether the pages add up. :func:`fetch_all` and :func:`fetch_into` re-walk a
bounded number of times when they do not, then raise
:class:`~brainstem_pandas.errors.PaginationError` with the figures (or warn).

- :class:`OffsetPaginator` — BrainSTEM's ``limit``/``offset``;
- :class:`PageNumberPaginator` — ``page``/``page_size`` with ``results`` (brainmaps-style);
- :class:`NextLinkPaginator` — follow ``next`` links only.
"""

from brainstem_pandas.pagination.page import ENVELOPE_KEYS, Page, envelope_next, envelope_total, split_answer
from brainstem_pandas.pagination.paginators import (
    MAX_PAGE_SIZE,
    NextLinkPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    PageRequest,
    Paginator,
)
from brainstem_pandas.pagination.seams import SeamLedger, Shift, Tally
from brainstem_pandas.pagination.walk import (
    Walk,
    Walked,
    Window,
    check_on_inconsistency,
    check_walk,
    check_workers,
    fetch_all,
    fetch_into,
)

__all__ = [
    "ENVELOPE_KEYS",
    "MAX_PAGE_SIZE",
    "NextLinkPaginator",
    "OffsetPaginator",
    "Page",
    "PageNumberPaginator",
    "PageRequest",
    "Paginator",
    "SeamLedger",
    "Shift",
    "Tally",
    "Walk",
    "Walked",
    "Window",
    "check_on_inconsistency",
    "check_walk",
    "check_workers",
    "envelope_next",
    "envelope_total",
    "fetch_all",
    "fetch_into",
    "split_answer",
]
