"""Walks on a mock transport: every record once, the concurrency window, re-walks, drift, and stopping.

No server runs: the records live in a list that the handlers serve (and change,
to simulate other users writing during a walk). Tests count requests, never time.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

import pytest

import brainstem_pandas as bsp
from brainstem_pandas.pagination import (
    NextLinkPaginator,
    OffsetPaginator,
    Page,
    PageNumberPaginator,
    Paginator,
    Walk,
    fetch_all,
    fetch_into,
)
from brainstem_pandas.testing import (
    MockTransport,
    Request,
    Response,
    serve_next_links,
    serve_offset,
    serve_pages,
)
from brainstem_pandas.transport import RetryPolicy, Transport

FAST = RetryPolicy(attempts=3, backoff=0.0)
URL = "https://brainstem.test/api/private/stem/session/"


def records(n: int, start: int = 1) -> list[dict[str, Any]]:
    return [{"id": i, "name": f"s{i}"} for i in range(start, start + n)]


def walk_of(
    mock: MockTransport, paginator: Paginator | None = None, key: str = "sessions", **options: Any
) -> Callable[[], Walk]:
    transport = mock.transport(retry=FAST)
    return lambda: Walk(
        transport, URL, [("sort[]", "id")], paginator or OffsetPaginator(), key, progress=False, **options
    )


def ids(pages: list[Page]) -> list[Any]:
    return [r["id"] for page in pages for r in page.records]


def offsets(mock: MockTransport) -> list[int]:
    return [int(r.params["offset"]) for r in mock.requests]


# -- every record once ------------------------------------------------------------------------


@pytest.mark.parametrize("envelope", ["count", "meta", "bare"])
@pytest.mark.parametrize("workers", [1, 8])
@pytest.mark.parametrize("n", [0, 1, 99, 100, 101, 250, 990])
def test_every_record_once_whatever_the_envelope(envelope, workers, n):
    data = records(n)
    mock = MockTransport(serve_offset(data, "sessions", envelope=envelope))
    walk = walk_of(mock, workers=workers)()
    pages = list(walk)
    assert ids(pages) == [r["id"] for r in data]
    assert walk.problem() is None and walk.received == n
    assert [p.number for p in pages] == list(range(len(pages)))
    assert walk.expected == (None if envelope == "bare" else n)
    assert all(("sort[]", "id") in r.query for r in mock.requests)  # shared parameters on every page


def test_shared_parameters_and_page_parameters_reach_the_server():
    mock = MockTransport(serve_offset(records(150), "sessions"))
    list(walk_of(mock, OffsetPaginator(100))())
    assert [r.query for r in mock.requests] == [
        [("sort[]", "id"), ("limit", "100"), ("offset", "0")],
        [("sort[]", "id"), ("limit", "100"), ("offset", "99")],
    ]


def test_page_number_walk():
    data = records(120)
    mock = MockTransport(serve_pages(data, "results"))
    walk = walk_of(mock, PageNumberPaginator(50), "results")()
    assert ids(list(walk)) == [r["id"] for r in data] and walk.problem() is None
    assert [r.params["page"] for r in mock.requests] == ["1", "2", "3"]


def test_next_link_walk_follows_links_without_a_fake_parameter():
    data = records(55)
    mock = MockTransport(serve_next_links(data, "sessions"))
    walk = walk_of(mock, NextLinkPaginator(20))()
    assert ids(list(walk)) == [r["id"] for r in data] and walk.pages == 3
    assert [r.params.get("cursor") for r in mock.requests] == [None, "20", "40"]
    assert not any("__url__" in r.url for r in mock.requests)
    # The link carries every parameter itself: the shared ones are not added a second time.
    assert all(r.query.count(("sort[]", "id")) == 1 for r in mock.requests)


def test_a_next_link_to_another_server_is_refused():
    mock = MockTransport(lambda r: Response(200, {"next": "https://elsewhere.test/steal/", "sessions": [{"id": 1}]}))
    with pytest.raises(bsp.ResponseError, match="another server \\(https://elsewhere.test:443\\)"):
        list(walk_of(mock, NextLinkPaginator())())
    assert len(mock.requests) == 1


# -- the concurrency window -------------------------------------------------------------------


@pytest.mark.parametrize("workers", [2, 4])
def test_planned_pages_keep_up_to_workers_requests_in_flight(workers):
    data = records(2000)
    serve = serve_offset(data, "sessions")
    # The first `workers` planned pages wait until all of them are on the wire together: a walk
    # that kept fewer in flight would break the barrier (the walk fails); the counter shows it
    # never keeps more, whatever order the pages are answered in.
    barrier = threading.Barrier(workers, timeout=10)
    lock, state = threading.Lock(), {"now": 0, "most": 0, "arrived": 0}

    def handler(request: Request) -> Response:
        if request.params["offset"] == "0":
            return serve(request)
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
            state["arrived"] += 1
            first_group = state["arrived"] <= workers
        if first_group:
            barrier.wait()
        with lock:
            state["now"] -= 1
        return serve(request)

    walk = walk_of(MockTransport(handler), workers=workers)()
    assert ids(list(walk)) == [r["id"] for r in data]
    assert state["most"] == workers


def test_a_page_waiting_to_retry_does_not_hold_up_the_others():
    data = records(500)
    serve = serve_offset(data, "sessions")
    failed: list[str] = []

    def handler(request: Request) -> Response:
        offset = request.params["offset"]
        if offset == "99" and not failed:
            failed.append(offset)
            return Response(503)
        return serve(request)

    mock = MockTransport(handler)
    walk = walk_of(mock, workers=2)()
    assert ids(list(walk)) == [r["id"] for r in data]
    assert offsets(mock).count(99) == 2 and len(mock.requests) == len(OffsetPaginator().offsets(500)) + 1


def test_pages_are_yielded_in_page_order_even_when_answered_out_of_order():
    data = records(600)
    serve = serve_offset(data, "sessions")
    later = threading.Event()

    def handler(request: Request) -> Response:
        if request.params["offset"] == "99":
            later.wait(10)  # page 2 answers only after page 3 has been answered
        elif request.params["offset"] == "198":
            later.set()
        return serve(request)

    walk = walk_of(MockTransport(handler), workers=4)()
    pages = list(walk)
    assert [p.number for p in pages] == list(range(len(pages))) and ids(pages) == [r["id"] for r in data]


# -- stopping ---------------------------------------------------------------------------------


class Stalling:
    """Serves pages at once until page 2 (offset 99) is answered; later requests wait for the gate, then fail.

    Nothing waits before page 2 is answered, so page 2 never waits for a slot held by a waiting page.
    """

    def __init__(self, data: list[dict]) -> None:
        self.serve, self.gate = serve_offset(data, "sessions"), threading.Event()
        self.second, self.waiting = threading.Event(), threading.Event()

    def __call__(self, request: Request) -> Response:
        if not self.second.is_set():
            if request.params["offset"] == "99":
                self.second.set()
            return self.serve(request)
        self.waiting.set()
        self.gate.wait(10)
        return Response(503)  # a walk that had not stopped would retry this


def _page_threads_finish() -> None:
    for thread in threading.enumerate():
        if thread.name.startswith("bsp-page"):
            thread.join(10)
            assert not thread.is_alive()


@pytest.mark.parametrize("how", ["close", "raise"])
def test_a_consumer_that_stops_stops_the_walk(how):
    stalling = Stalling(records(2000))
    mock = MockTransport(stalling)
    walk = walk_of(mock, workers=2)()
    if how == "close":
        pages = iter(walk)
        next(pages), next(pages)
        assert stalling.waiting.wait(10)  # a request is on the wire
        pages.close()  # type: ignore[attr-defined]
    else:
        with pytest.raises(KeyError):
            for page in walk:
                if page.number == 1:
                    assert stalling.waiting.wait(10)
                    raise KeyError("the consumer failed on page 2")
    sent = len(mock.requests)
    stalling.gate.set()  # the requests in flight now fail: a walk still running would retry them
    _page_threads_finish()
    assert walk.stopped.is_set()
    assert len(mock.requests) == sent  # nothing was sent after the consumer stopped ...
    assert len(set(offsets(mock))) == sent  # ... not even a retry of the abandoned pages
    # At most page 1, page 2 and the window (2 x workers pages) of 21: the rest was never started.
    assert set(offsets(mock)) <= set(OffsetPaginator().offsets(2000)[:6])


def test_an_error_stops_the_rest_of_the_walk():
    data = records(2000)
    serve = serve_offset(data, "sessions")
    mock = MockTransport(lambda r: Response(404, {"detail": "gone"}) if r.params["offset"] == "99" else serve(r))
    with pytest.raises(bsp.NotFoundError) as info:
        fetch_all(walk_of(mock, workers=4))
    _page_threads_finish()
    assert info.value.where == "Page 2 (limit=100, offset=99)" and str(info.value).startswith("Page 2 (limit=100")
    assert len(mock.requests) < len(OffsetPaginator().offsets(2000))  # not the full walk
    assert offsets(mock).count(99) == 1  # 404 is not retried


# -- drift: re-walks, seams, duplicates -------------------------------------------------------


class Churn:
    """Serves ``data`` and changes it once per walk (or every walk), before the page at ``offset``."""

    def __init__(self, data: list[dict], change: Callable[[list[dict]], None], walks: int, offset: str = "99") -> None:
        self.data, self.change, self.left, self.offset = data, change, walks, offset
        self.serve = serve_offset(data, "sessions")

    def __call__(self, request: Request) -> Response:
        if request.params["offset"] == self.offset and self.left:
            self.left -= 1
            self.change(self.data)
        return self.serve(request)


def created_in_front(data: list[dict]) -> None:
    data.insert(0, {"id": min(r["id"] for r in data) - 1, "name": "new"})


def swapped(data: list[dict]) -> None:
    # One deleted in front, one created past the end: the total stays, the pages shift.
    del data[0]
    data.append({"id": max(r["id"] for r in data) + 1, "name": "new"})


@pytest.mark.parametrize("workers", [1, 4])
def test_a_change_during_the_walk_is_re_walked(workers):
    data = records(300, start=1000)
    mock = MockTransport(Churn(data, created_in_front, walks=1))
    pages = fetch_all(walk_of(mock, workers=workers))
    assert ids(pages) == [r["id"] for r in data] and len(data) == 301
    assert offsets(mock).count(0) == 2  # two walks


def test_a_shift_with_an_unchanged_total_is_seen_by_the_seam():
    data = records(300)
    mock = MockTransport(Churn(data, swapped, walks=1))
    walks: list[Walk] = []
    make = walk_of(mock, workers=1)

    def walk() -> Walk:
        walks.append(make())
        return walks[-1]

    pages = fetch_all(walk)
    first = walks[0].problem()
    assert first is not None and first.startswith(
        "pages shifted during the walk: page 2 began with record 101, not with 100 which ended page 1"
    )
    assert walks[0].expected == 300 and set(walks[0].tally.totals) == {
        300
    }  # the total never moved: only the seam saw it
    assert ids(pages) == [r["id"] for r in data] and walks[1].problem() is None


def test_a_walk_that_never_adds_up_raises_with_the_figures():
    data = records(300)
    mock = MockTransport(Churn(data, created_in_front, walks=99))
    with pytest.raises(bsp.PaginationError) as info:
        fetch_all(walk_of(mock))
    assert info.value.walks == 3 and info.value.expected is not None
    assert "Incomplete read of https://brainstem.test/api/private/stem/session/" in str(info.value)
    assert "changed during the walk" in str(info.value) and "pages)" in str(info.value)
    assert offsets(mock).count(0) == 3


def test_warn_instead_of_raise():
    data = records(300)
    mock = MockTransport(Churn(data, created_in_front, walks=99))
    with pytest.warns(RuntimeWarning, match="Incomplete read"):
        pages = fetch_all(walk_of(mock), on_inconsistency="warn")
    assert len(set(ids(pages))) == len(ids(pages)) > 250


def test_duplicates_without_a_total_are_dropped_and_reported():
    data = records(50)
    serve = serve_next_links(data, "sessions")
    changed: list[int] = []

    def handler(request: Request) -> Response:
        if request.params.get("cursor") and not changed:
            changed.append(1)
            created_in_front(data)  # the next cursor page repeats the record that ended page 1
        return serve(request)

    walk = walk_of(MockTransport(handler), NextLinkPaginator(20))()
    got = ids(list(walk))
    assert len(got) == len(set(got)) and walk.duplicates == 1
    assert walk.problem() == "1 records arrived twice: pages shifted during the walk"


def test_fetch_into_gives_each_walk_a_fresh_sink():
    data = records(300)
    mock = MockTransport(Churn(data, created_in_front, walks=1))
    sinks: list[list] = []

    def fresh() -> list:
        sinks.append([])
        return sinks[-1]

    result = fetch_into(walk_of(mock), fresh, lambda sink, page: sink.extend(page.records))
    assert len(sinks) == 2 and result is sinks[-1] and [r["id"] for r in result] == [r["id"] for r in data]


def test_fetch_refuses_a_bad_on_inconsistency_before_any_request():
    mock = MockTransport(serve_offset(records(3), "sessions"))
    with pytest.raises(bsp.ConfigurationError, match="'raise' or 'warn'"):
        fetch_all(walk_of(mock), on_inconsistency="ignore")
    with pytest.raises(bsp.ConfigurationError, match="workers"):
        walk_of(mock, workers=0)()
    assert mock.requests == []


def test_a_mock_installed_in_an_existing_transport():
    transport = Transport("https://brainstem.test", retry=FAST)
    mock = MockTransport(serve_offset(records(5), "sessions"))
    mock.install(transport)
    walk = Walk(transport, URL, [], OffsetPaginator(), "sessions", progress=False)
    assert ids(list(walk)) == [1, 2, 3, 4, 5] and transport.requests_sent == 1


# -- bounded walks (issue 14) --------------------------------------------------------------


def test_a_huge_announced_total_is_planned_lazily_and_stops_at_the_first_short_page():
    # 10**12 announced, 250 served: the plan is never listed, and the walk ends at page 3 (50 of 100 records).
    data = records(250)
    serve = serve_offset(data, "sessions")

    def lying(request: Request) -> Response:
        answer = serve(request)
        return Response(answer.status, {**answer.body, "count": 10**12})

    mock = MockTransport(lying)
    walk = walk_of(mock, workers=1)()
    pages = list(walk)
    assert len(mock.requests) == 3 and len(pages) == 3
    assert "page 3 of 10101010101 held 52 records where 100 were asked" in walk.problem()


@pytest.mark.parametrize("workers", [1, 8])
def test_an_ignored_offset_without_a_total_stops_on_the_page_that_brings_nothing_new(workers):
    mock = MockTransport(lambda request: Response(200, {"sessions": records(100)}))
    walk = walk_of(mock, workers=workers)()
    list(walk)
    assert "page 2 brought no record that earlier pages had not" in walk.problem()
    # One by one it stops at once; concurrently, without a total, at most one speculative window is wasted.
    assert len(mock.requests) == 2 if workers == 1 else 2 <= len(mock.requests) <= 1 + workers


def test_next_links_in_a_loop_stop_before_the_repeated_link_is_sent():
    def loop(request: Request) -> Response:
        cursor = dict(request.query).get("cursor", "0")
        following = {"0": "a", "a": "b", "b": "a"}[cursor]
        start = {"0": 1, "a": 11, "b": 21}[cursor]
        return Response(200, {"results": records(10, start), "next": f"{URL}?cursor={following}"})

    mock = MockTransport(loop)
    walk = walk_of(mock, NextLinkPaginator(), "results")()
    assert ids(list(walk)) == list(range(1, 31))
    assert len(mock.requests) == 3 and "links go in a loop" in walk.problem()


def test_a_walk_stops_at_its_page_cap():
    mock = MockTransport(
        lambda request: Response(200, {"sessions": records(100, int(dict(request.query)["offset"]) + 1)})
    )
    walk = walk_of(mock, max_pages=4)()
    list(walk)
    assert len(mock.requests) == 4 and "cap of 4 pages" in walk.problem()


def test_records_without_ids_are_kept_and_their_seams_compared_by_content():
    data = [{"name": f"n{i}"} for i in range(250)]
    mock = MockTransport(serve_offset(data, "things"))
    pages = fetch_all(walk_of(mock, key="things"))
    assert [r["name"] for p in pages for r in p.records] == [r["name"] for r in data]
    data.insert(0, {"name": "new"})  # a shift under the walk: the content seam sees it
    shifted = walk_of(mock, key="things", workers=1)()
    for page in shifted:
        if page.number == 0:
            data.insert(0, {"name": "newer"})
            del data[-1]
    assert "pages shifted during the walk" in shifted.problem()


def test_a_sorted_walk_is_checked_by_a_walk_in_id_order():
    from brainstem_pandas.pagination import Verified

    # The sorted walk's seams and total add up, but a record (a rename moved it) is not in it.
    sorted_walk = walk_of(MockTransport(serve_offset([r for r in records(250) if r["id"] != 100], "sessions")))
    by_id = MockTransport(serve_offset(records(249), "sessions"))
    verified = Verified(sorted_walk(), walk_of(by_id), "contains")
    assert len(ids(list(verified))) == 249 and len(by_id.requests) == 3
    assert verified.problem() == (
        "1 record(s) found by a check walk in id order were missing from the sorted walk (e.g. 100): "
        "records were re-sorted (a sort key changed) meanwhile"
    )
    same = Verified(sorted_walk(), sorted_walk, "same")
    assert len(ids(list(same))) == 249 and same.problem() is None
