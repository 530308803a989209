"""One model's pages streamed into a :class:`~brainstem_pandas.frames.FrameBuilder`, re-walked until they add up.

The step every ``read_linked`` and ``snapshot`` of a :class:`~brainstem_pandas.client.Client`
takes per model: hooks (``on_page``, ``cancel``) are called between pages, and a
re-walk first forgets what the failed walk added. :class:`FrameSink` is ``read``'s
sink: one flat typed frame, typed page by page.
"""

from __future__ import annotations

from typing import Any, Callable

import pandas as pd

from brainstem_pandas import catalog
from brainstem_pandas.frames import FrameBuilder, records_frame
from brainstem_pandas.pagination import Page, Walked, fetch_into
from brainstem_pandas.query import Query
from brainstem_pandas.sources import CancelSignal, ReadOptions, ReadProgress, check_hooks, stop_if_cancelled


def read_into(
    builder: FrameBuilder,
    query: Query,
    make_walk: Callable[[], Walked],
    options: ReadOptions,
    on_page: Callable[[ReadProgress], Any] | None = None,
    cancel: CancelSignal | None = None,
) -> dict[str, Any]:
    """Stream the pages of ``make_walk()`` (one model's) into ``builder``; a re-walk first forgets the failed one.

    Returns what the walk fetched, for a manifest: the query, its records and the announced total.

    Examples
    --------
    >>> from brainstem_pandas.pagination import OffsetPaginator, Walk
    >>> from brainstem_pandas.testing import MockTransport, serve_offset
    >>> transport = MockTransport(serve_offset([{"id": 1, "name": "p"}], "projects")).transport()
    >>> walk = lambda: Walk(transport, transport.url("api/p/"), [], OffsetPaginator(), "projects", progress=False)
    >>> builder = FrameBuilder("project")
    >>> read_into(builder, Query("project"), walk, ReadOptions(progress=False))["records"]
    1
    """
    check_hooks(on_page, cancel)  # before the first page is asked for
    mark, seen = builder.checkpoint(), [0]
    walks: list[Walked] = []

    def walk() -> Walked:
        stop_if_cancelled(cancel, query.model, seen[0])
        walks.append(make_walk())
        return walks[-1]

    def fresh() -> FrameBuilder:
        builder.rollback(mark)
        builder.declare(query.model, list(query.include))
        seen[0] = 0
        return builder

    def add(target: FrameBuilder, page: Page) -> None:
        stop_if_cancelled(cancel, query.model, seen[0])
        target.add_page(page, query.model)
        seen[0] += len(page.records)
        if on_page is not None:
            on_page(ReadProgress(query.model, page, seen[0], walks[-1].expected, len(walks)))
        stop_if_cancelled(cancel, query.model, seen[0])  # before the walk asks for another page

    fetch_into(walk, fresh, add, on_inconsistency=options.on_inconsistency)
    return {**query.describe(), "records": seen[0], "total": walks[-1].expected}


class FrameSink:
    """The records of one walk for :meth:`~brainstem_pandas.client.Client.read`, typed page by page as they arrive.

    Each page becomes a small typed frame while the next pages are on the wire, so
    the end of a read only joins them (instead of typing every record after the
    last page). When the pages' frames do not share their columns and dtypes (fields
    the catalog does not know, typed by inference per page) the records are typed
    together instead, exactly as one frame would be.

    Examples
    --------
    >>> sink = FrameSink("user")
    >>> sink.add(Page(0, [{"id": 1, "username": "ann"}]))
    >>> sink.add(Page(1, [{"id": 2, "username": "bob"}]))
    >>> sink.frame().equals(records_frame("user", [{"id": 1, "username": "ann"}, {"id": 2, "username": "bob"}]))
    True
    """

    def __init__(self, model: str | catalog.Model) -> None:
        self.model = model
        self.records: list[dict[str, Any]] = []
        self.frames: list[pd.DataFrame] = []

    def add(self, page: Page) -> None:
        """Keep ``page``'s records, and type them."""
        self.records.extend(page.records)
        if page.records:
            self.frames.append(records_frame(self.model, page.records))

    def frame(self) -> pd.DataFrame:
        """Every record added, as one typed frame indexed by ``id``."""
        first = self.frames[0] if self.frames else None
        if first is None or any(not f.dtypes.equals(first.dtypes) for f in self.frames[1:]):
            return records_frame(self.model, self.records)
        return pd.concat(self.frames) if len(self.frames) > 1 else first


def read_frame(make_walk: Callable[[], Walked], model: catalog.Model, on_inconsistency: str = "raise") -> pd.DataFrame:
    """The records of ``make_walk()`` as one typed frame (a :class:`FrameSink`), re-walked until they add up."""
    sink = fetch_into(make_walk, lambda: FrameSink(model), FrameSink.add, on_inconsistency=on_inconsistency)
    return sink.frame()
