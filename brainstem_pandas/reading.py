"""One model's pages streamed into a :class:`~brainstem_pandas.frames.FrameBuilder`, re-walked until they add up.

The step every ``read_linked`` and ``snapshot`` of a :class:`~brainstem_pandas.client.Client`
takes per model: hooks (``on_page``, ``cancel``) are called between pages, and a
re-walk first forgets what the failed walk added.
"""

from __future__ import annotations

from typing import Any, Callable

from brainstem_pandas.frames import FrameBuilder
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
