"""A walk checked by a second walk: for orders records can move in, and for pages that do not overlap.

A :class:`Verified` walk yields the pages of its main walk, then (when those add
up on their own) runs a *check walk* without yielding it and compares the two by
record key (the ``id``, or a content fingerprint for records without one):

- ``"contains"``: the check walk is in an order no edit can change (``sort[]=id``,
  offset pages, seam-proven), so it holds every record that existed throughout
  it; each of those must be in the main walk, or a record was skipped there
  (a rename moved it across a page boundary, say).
- ``"same"``: the check walk repeats the main one (pages without seams:
  page numbers, next links); both must give the same records, else the list
  changed while it was read.

Either way a failed comparison is the walk's :meth:`~Verified.problem`, and the
read is walked again (both walks) or raises
:class:`~brainstem_pandas.errors.PaginationError` with the figures.

A :class:`Chosen` walk picks its check (or none) once its main walk is done, from
what that walk found out: a read of a model asks for offset pages, but the server
may have answered by page number, whose pages have no seams to prove them.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable, Hashable, Iterator

from brainstem_pandas.pagination.page import Page
from brainstem_pandas.pagination.seams import record_key
from brainstem_pandas.pagination.walk import Walk, Walked


class Verified:
    """A main walk, then a check walk compared with it (see the module's docstring).

    Parameters
    ----------
    walk : Walk
        The walk whose pages are yielded.
    check : callable
        Makes the check walk (called once, after the main walk, only if that one adds up).
    mode : {"contains", "same"}
        How the two are compared.

    Examples
    --------
    >>> from brainstem_pandas.pagination import OffsetPaginator, Walk
    >>> from brainstem_pandas.testing import MockTransport, serve_offset
    >>> from brainstem_pandas.transport import Transport
    >>> transport = Transport("https://brainstem.test", adapter=MockTransport(serve_offset([{"id": 1}], "things")))
    >>> walk = lambda: Walk(transport, transport.url("api/t/"), [], OffsetPaginator(), "things", progress=False)
    >>> verified = Verified(walk(), walk, "same")
    >>> [len(page.records) for page in verified], verified.problem()
    ([1], None)
    """

    def __init__(self, walk: Walk, check: Callable[[], Walked], mode: str) -> None:
        self.walk, self.check, self.mode = walk, check, mode
        self.url: str = walk.url
        self.checked: str | None = None

    @property
    def expected(self) -> int | None:
        """The main walk's announced total."""
        return self.walk.expected

    @property
    def received(self) -> int:
        """The main walk's unique records."""
        return self.walk.received

    @property
    def pages(self) -> int:
        """The main walk's pages."""
        return self.walk.pages

    def problem(self) -> str | None:
        """The main walk's problem, else the comparison's, else None."""
        return self.walk.problem() or self.checked

    def __iter__(self) -> Iterator[Page]:
        keys: Counter[Hashable] = Counter()
        for page in self.walk:
            keys.update(record_key(r) for r in page.records)
            yield page
        if self.walk.problem() is None and self._choose():
            self.checked = self._compare(keys)

    def _choose(self) -> bool:
        """Whether to run the check walk (always, for a Verified walk)."""
        return True

    def _compare(self, keys: Counter[Hashable]) -> str | None:
        check = self.check()
        again: Counter[Hashable] = Counter()
        for page in check:
            again.update(record_key(r) for r in page.records)
        trouble = check.problem()
        if trouble:
            return f"the check walk failed: {trouble}"
        if self.mode == "contains":
            missing = again - keys
            if missing:
                return (
                    f"{sum(missing.values())} record(s) found by a check walk in id order were missing from the "
                    f"sorted walk (e.g. {next(iter(missing))}): records were re-sorted (a sort key changed) meanwhile"
                )
            return None
        if again != keys:
            differ = (again - keys) + (keys - again)
            return (
                f"a second pass gave other records than the first ({sum(differ.values())} differ, e.g. "
                f"{next(iter(differ))}): the list changed while it was read"
            )
        return None


Choice = Callable[[Walk], "tuple[Callable[[], Walked], str] | None"]


class Chosen(Verified):
    """A main walk whose check walk and mode are chosen once it is done (``choose(walk)``; None: no check).

    Examples
    --------
    >>> from brainstem_pandas.pagination import OffsetPaginator, Walk
    >>> from brainstem_pandas.testing import MockTransport, serve_offset
    >>> from brainstem_pandas.transport import Transport
    >>> transport = Transport("https://brainstem.test", adapter=MockTransport(serve_offset([{"id": 1}], "things")))
    >>> walk = lambda: Walk(transport, transport.url("api/t/"), [], OffsetPaginator(), "things", progress=False)
    >>> chosen = Chosen(walk(), lambda done: None if done.paginator.overlap else (walk, "same"))
    >>> [len(page.records) for page in chosen], chosen.problem(), chosen.mode
    ([1], None, '')
    """

    def __init__(self, walk: Walk, choose: Choice) -> None:
        super().__init__(walk, lambda: walk, "")
        self.choose = choose  # the mode stays "" until a check is chosen

    def _choose(self) -> bool:
        chosen = self.choose(self.walk)
        if chosen is not None:
            self.check, self.mode = chosen
        return chosen is not None
