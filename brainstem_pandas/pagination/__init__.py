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

A read of a model asks for offset pages and adapts to the first answer: a total
(``count`` or ``meta.total_results``) plans every page at once; a dynamic-rest
``meta`` whose ``per_page`` is not the ``limit`` asked shows a server paginating
by page number, so the walk goes on by ``page``/``per_page``; no total at all
(a bare envelope) reads speculative windows of ``workers`` pages up to the first
short one.

What a read proves (the drift proof)
------------------------------------
The property: for any schedule of creates, deletes and updates (sort keys
included) between page requests, a read holds every record that existed
unchanged throughout it, nothing that never existed and nothing twice -- or it
raises :class:`~brainstem_pandas.errors.PaginationError` with its figures, after
re-walking.

- **Offset pages in id order** (every ``client.read``/``read_linked``/``iter_pages``
  without a sort: ``sort[]=id`` is always sent). Ids never change, so records
  only appear or vanish, never move. Each page overlaps the page before by one
  record (the seam, :mod:`.seams`); every page repeats the total. If every seam
  matches and every total equals the first, each page is the slice of the list
  between two records that existed at both requests, so a record that existed
  throughout lies in one of them. Proven with no extra request.
- **Any other sort** (``sort=["name"]``): a rename moves a record across pages
  without touching seams or the total. The sorted walk is followed by a check
  walk in id order (the same filters, no include; seam-proven as above), and
  every record it finds must be in the sorted walk (:class:`Verified`,
  ``"contains"``): a record that existed throughout the read was in the check
  walk, so it cannot be missing. It costs a second walk for sorted reads only.
- **Page numbers and next links** (``read_url``), which cannot overlap: the walk
  is done twice and both passes must hold the same records (``"same"``). A
  change confined to one pass shows as a difference; what stays unproven is a
  change undone within the read in the same pattern during both passes (e.g. a
  record renamed across the same page boundary in each pass and back between
  them). ``read_url`` with an :class:`OffsetPaginator` and no sort parameter is
  seam-proven, with no second pass. A read of a model whose server turned out to
  paginate by page number is proven the same way (a :class:`Chosen` check).
- **Limited reads** (``read(..., limit=N)``) ask for no page past the first N
  records (the last offset page asks only for the rest). In id order the seams
  prove them; sorted ones of more than one page are walked twice and must agree.
- **Records without an id** are compared by a fingerprint of their content
  (:func:`record_key`), at seams and between passes; alike records are kept,
  never dropped as duplicates.

Walks are bounded: plans are lazy (an announced count of 10**12 costs nothing),
a walk stops at a page shorter than asked before the announced end, at a page
bringing nothing new, at a next link already followed, and at ``max_pages``
(:data:`MAX_PAGES`), each a failed check naming its figures.
"""

from brainstem_pandas.pagination.page import (
    ENVELOPE_KEYS,
    Page,
    envelope_next,
    envelope_pages,
    envelope_total,
    split_answer,
)
from brainstem_pandas.pagination.paginators import (
    MAX_PAGE_SIZE,
    NextLinkPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    PageRequest,
    Paginator,
)
from brainstem_pandas.pagination.seams import Content, SeamLedger, Shift, Tally, record_key
from brainstem_pandas.pagination.verify import Chosen, Verified
from brainstem_pandas.pagination.walk import (
    MAX_PAGES,
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
    "Chosen",
    "Content",
    "ENVELOPE_KEYS",
    "MAX_PAGES",
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
    "Verified",
    "Walk",
    "Walked",
    "Window",
    "check_on_inconsistency",
    "check_walk",
    "check_workers",
    "envelope_next",
    "envelope_pages",
    "envelope_total",
    "fetch_all",
    "fetch_into",
    "record_key",
    "split_answer",
]
