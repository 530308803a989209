"""The concurrent window of a walk: planned pages fetched by a pool, yielded in plan order."""

from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Generator, Iterable

from brainstem_pandas.pagination.page import Page
from brainstem_pandas.pagination.paginators import PageRequest


class Window:
    """Planned pages fetched by a pool, at most ``size`` ahead of the consumer, yielded in plan order.

    A thread per page in the window, but only as many requests on the wire as the
    walk's ``slots`` allow, so a page waiting to retry does not hold up the others.
    Leaving the iteration early (an error, a closed generator, Ctrl-C) sets ``stop``,
    drops the queued pages and abandons the running ones.
    """

    def __init__(
        self,
        fetch: Callable[[int, PageRequest], Page],
        plan: Iterable[PageRequest],
        size: int,
        stop: threading.Event | None = None,
        start: int = 1,
    ) -> None:
        self.fetch, self.size = fetch, max(size, 1)
        self.todo = iter(enumerate(plan, start=start))
        self.stop = stop or threading.Event()

    def __iter__(self) -> Generator[Page, None, None]:
        pending: deque[Future[Page]] = deque()
        pool = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="bsp-page")
        try:
            self._refill(pool, pending)
            while pending:
                page = pending.popleft().result()
                self._refill(pool, pending)
                yield page
        except BaseException:
            self.stop.set()
            for future in pending:
                future.cancel()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)

    def _refill(self, pool: ThreadPoolExecutor, pending: deque[Future[Page]]) -> None:
        while len(pending) < self.size:
            following = next(self.todo, None)
            if following is None:
                return
            pending.append(pool.submit(self.fetch, *following))
