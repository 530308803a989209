"""Every envelope the sandbox offers, on a mock: the walk detects the style from the first answer and adapts.

``count`` and ``meta`` announce a total (every page planned at once); ``bare`` and
the private lists of ``docs``/``pages`` announce none (speculative windows of
``workers`` pages up to the first short one); public ``docs`` lists carry
dynamic-rest's ``meta`` with limit/offset honoured; public ``pages`` lists ignore
limit/offset and paginate by ``page``/``per_page`` (re-planned by page number).
Requests are counted, never timed; every read must hold each record once, in order.
"""

from __future__ import annotations

from typing import Any

import pytest

import brainstem_pandas as bsp
from brainstem_pandas.pagination import OffsetPaginator, PageNumberPaginator, Walk
from brainstem_pandas.testing import MOCK_URL, MockTransport, Request, Response, serve_offset, serve_pages
from brainstem_pandas.transport import RetryPolicy

ENVELOPES = ["count", "meta", "bare", "docs", "pages"]
FAST = RetryPolicy(attempts=2, backoff=0.0)
PRIVATE = f"{MOCK_URL}/api/private/stem/session/"
PUBLIC = f"{MOCK_URL}/api/public/stem/session/"


def records(n: int) -> list[dict[str, Any]]:
    return [{"id": i, "name": f"s{i}"} for i in range(1, n + 1)]


def walk(mock: MockTransport, url: str = PRIVATE, paginator: Any = None, key: str = "sessions", **options: Any) -> Walk:
    transport = mock.transport(retry=FAST)
    pager = paginator or OffsetPaginator()
    return Walk(transport, url, [("sort[]", "id")], pager, key, progress=False, **options)


def ids(pages: list) -> list[Any]:
    return [r["id"] for page in pages for r in page.records]


# -- every record once, whatever the envelope and portal ----------------------------------------


@pytest.mark.parametrize("envelope", ENVELOPES)
@pytest.mark.parametrize("url", [PRIVATE, PUBLIC], ids=["private", "public"])
@pytest.mark.parametrize("workers", [1, 8])
@pytest.mark.parametrize("n", [0, 1, 20, 21, 100, 101, 199, 990])
def test_every_record_once_in_order(envelope, url, workers, n):
    data = records(n)
    mock = MockTransport(serve_offset(data, "sessions", envelope=envelope))
    w = walk(mock, url, workers=workers)
    pages = list(w)
    assert ids(pages) == [r["id"] for r in data] and w.problem() is None and w.received == n
    assert [p.number for p in pages] == list(range(len(pages)))
    announced = envelope in ("count", "meta") or (envelope in ("docs", "pages") and url == PUBLIC)
    assert w.expected == (n if announced else None)
    assert all(("sort[]", "id") in r.query for r in mock.requests)


def test_page_numbers_are_detected_and_page_one_is_read_again_once():
    mock = MockTransport(serve_offset(records(250), "sessions", envelope="pages"))
    w = walk(mock, PUBLIC, workers=4)
    assert ids(list(w)) == list(range(1, 251)) and w.problem() is None
    asked = [(r.params.get("page"), r.params.get("per_page"), r.params.get("limit")) for r in mock.requests]
    # The probe asked limit=100 and got 20 (per_page 20): page one again at 100, then pages 2 and 3.
    assert asked[0] == (None, None, "100")
    assert sorted(asked[1:]) == [("1", "100", None), ("2", "100", None), ("3", "100", None)]
    assert isinstance(w.paginator, PageNumberPaginator) and w.paginator.page_size == 100


def test_a_server_capping_the_page_size_is_followed_without_a_third_read_of_page_one():
    mock = MockTransport(
        serve_pages(records(120), "sessions", size_param="per_page", envelope="meta", default_size=20, largest=50)
    )
    w = walk(mock, PUBLIC, workers=8)
    assert ids(list(w)) == list(range(1, 121)) and w.problem() is None
    pages = [r.params.get("page") for r in mock.requests]
    assert pages == [None, "1", "2", "3"] or sorted(pages[2:]) == ["2", "3"]
    assert len(mock.requests) == 4 and w.paginator.page_size == 50


def test_a_page_one_holding_everything_is_not_read_again():
    mock = MockTransport(serve_offset(records(15), "sessions", envelope="pages"))
    w = walk(mock, PUBLIC)
    assert ids(list(w)) == list(range(1, 16)) and len(mock.requests) == 1


@pytest.mark.parametrize("envelope", ["count", "docs"])
def test_an_honoured_limit_keeps_offset_pages_and_their_seams(envelope):
    mock = MockTransport(serve_offset(records(250), "sessions", envelope=envelope))
    w = walk(mock, PUBLIC)
    list(w)
    assert sorted(int(r.params["offset"]) for r in mock.requests) == [0, 99, 198] and w.paginator.overlap == 1


# -- speculative windows without a total ---------------------------------------------------------


@pytest.mark.parametrize("workers", [3, 8])
@pytest.mark.parametrize("pages_needed", range(1, 12))
@pytest.mark.parametrize("short_by", [0, 1, 50, 98])
def test_speculative_windows_waste_at_most_one_window(workers, pages_needed, short_by):
    # pages_needed full offset pages (the last one short by `short_by`; 0: exactly full, so one more
    # page holding only the seam record ends the walk): every position of the end within a window.
    n = max(100 + 99 * (pages_needed - 1) - short_by, 1)
    mock = MockTransport(serve_offset(records(n), "sessions", envelope="bare"))
    w = walk(mock, workers=workers)
    pages = list(w)
    assert ids(pages) == list(range(1, n + 1)) and w.problem() is None
    sequential = MockTransport(serve_offset(records(n), "sessions", envelope="bare"))
    list(walk(sequential, workers=1))
    needed = len(sequential.requests)
    offsets = [int(r.params["offset"]) for r in mock.requests]
    assert len(set(offsets)) == len(offsets)  # no page asked twice
    assert needed <= len(mock.requests) <= needed + workers  # the waste: at most one window past the end
    assert len(pages) == needed


def test_a_total_of_zero_is_one_request_in_every_envelope():
    for envelope in ENVELOPES:
        for url in (PRIVATE, PUBLIC):
            mock = MockTransport(serve_offset([], "sessions", envelope=envelope))
            w = walk(mock, url)
            assert ids(list(w)) == [] and w.problem() is None and len(mock.requests) == 1


def test_speculative_windows_stop_at_the_page_cap():
    mock = MockTransport(serve_offset(records(5000), "sessions", envelope="bare"))
    w = walk(mock, workers=8, max_pages=5)
    list(w)
    assert len(mock.requests) <= 5 and "cap of 5 pages" in w.problem()


def test_page_numbers_without_a_total_end_at_the_404_past_the_last_page():
    served = serve_pages(records(230), "results", page_param="page", size_param="page_size")

    def no_total(request: Request) -> Response:
        answer = served(request)
        body = {"results": answer.body["results"]} if answer.status == 200 else answer.body
        return Response(answer.status, body)

    mock = MockTransport(no_total)
    w = walk(mock, paginator=PageNumberPaginator(50), key="results", workers=4)
    assert ids(list(w)) == list(range(1, 231)) and w.problem() is None
    numbers = [int(r.params["page"]) for r in mock.requests]
    assert len(set(numbers)) == len(numbers) and {1, 2, 3, 4, 5} <= set(numbers)
    assert len(numbers) <= 5 + 4  # 404s past the end: at most one window of them


def test_a_404_past_the_end_of_a_planned_page_walk_is_a_shrunk_list_not_an_error():
    data = records(250)
    served = serve_offset(data, "sessions", envelope="pages")

    def shrinking(request: Request) -> Response:
        if request.params.get("page") == "3":
            del data[150:]  # records deleted meanwhile: page 3 is past the end now
        return served(request)

    w = walk(MockTransport(shrinking), PUBLIC, workers=1)
    list(w)
    assert "page 3 of 3 held 0 records" in w.problem() or "announced" in w.problem()


# -- reads through the client: verification and limit=N -----------------------------------------


def client_on(envelope: str, data: list[dict], portal: str = "private", **options: Any):
    client = bsp.Client(MOCK_URL, None, progress=False, portal=portal, **options)
    mock = MockTransport(serve_offset(data, "sessions", envelope=envelope))
    mock.install(client.transport)
    return client, mock


def uuids(n: int) -> list[dict[str, Any]]:
    return [{"id": f"{i:08d}-0000-4000-8000-000000000000", "name": f"s{i:05d}"} for i in range(1, n + 1)]


@pytest.mark.parametrize("envelope", ENVELOPES)
@pytest.mark.parametrize("portal", ["private", "public"])
def test_sorted_reads_are_checked_under_every_envelope(envelope, portal):
    data = uuids(330)
    client, mock = client_on(envelope, data, portal)
    frame = client.read("session", sort=["name"])
    assert list(frame.index) == [r["id"] for r in data]
    sorts = [[v for k, v in r.query if k == "sort[]"] for r in mock.requests]
    by_name, by_id = sorts.count(["name", "id"]), sorts.count(["id"])
    if envelope == "pages" and portal == "public":
        # Page numbers have no seams: the same pages again (probe, 4 pages, then 4 pages), no id walk.
        assert (by_name, by_id) == (1 + 4 + 4, 0)
    elif envelope != "bare" and (envelope in ("count", "meta") or portal == "public"):  # a total: planned exactly
        assert by_name == by_id == 4  # the sorted walk, then a check walk in id order
    else:  # no total: each walk speculates, wasting at most one window of 8 past the end
        assert 4 <= by_name <= 12 and 4 <= by_id <= 12


@pytest.mark.parametrize("envelope", ENVELOPES)
@pytest.mark.parametrize("portal", ["private", "public"])
@pytest.mark.parametrize("limit", [1, 5, 99, 100, 101, 250, 1000])
def test_a_limited_read_is_the_first_records_and_asks_only_for_the_pages_needed(envelope, portal, limit):
    data = uuids(400)
    client, mock = client_on(envelope, data, portal)
    frame = client.read("session", limit=limit)
    assert list(frame.index) == [r["id"] for r in data[:limit]]
    by_page = envelope == "pages" and portal == "public"
    wanted = min(limit, len(data))
    announced = envelope in ("count", "meta") or (envelope == "docs" and portal == "public")
    if not by_page:
        offset_requests = 1 if wanted <= 100 else 1 + -(-(wanted - 100) // 99)
        if limit <= len(data) or announced:  # no page past the records wanted
            assert len(mock.requests) == offset_requests
        else:  # fewer records than wanted and no total: the speculative window ends at the short page
            assert offset_requests <= len(mock.requests) <= offset_requests + 8
        if limit <= len(data):  # the last page asks only for the rest
            assert sum(int(r.params["limit"]) for r in mock.requests) - (len(mock.requests) - 1) == wanted
    else:
        pages = -(-wanted // 100)
        probe_enough = wanted <= 20  # the probe's 20 records already hold them
        expected = 1 if probe_enough else 1 + pages * (2 if pages > 1 else 1)  # a second pass proves page numbers
        assert len(mock.requests) == expected


def test_a_limited_sorted_read_equals_the_head_of_the_full_sorted_read():
    data = list(reversed(uuids(300)))  # the mock serves in list order: the "sorted" order is this one
    client, mock = client_on("count", data)
    full = client.read("session", sort=["-name"])
    head = client.read("session", sort=["-name"], limit=150)
    assert head.equals(full.head(150))


def test_read_linked_takes_a_limit_per_model():
    client, mock = client_on("bare", uuids(300))
    lf = client.read_linked("session", limit=120)
    assert len(lf.tables["session"]) == 120 and len(mock.requests) == 2


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "10"])
def test_a_careless_limit_is_refused_before_anything_is_sent(bad):
    client, mock = client_on("count", uuids(3))
    with pytest.raises(bsp.ConfigurationError, match="limit must be a whole number of at least 1"):
        client.read("session", limit=bad)
    assert mock.requests == []


def test_a_page_size_equal_to_the_servers_own_cannot_show_ignored_offsets_and_fails_loudly():
    # Asked limit=20 of a page-number server whose per_page is 20 too: the first answer looks
    # like an honoured limit, so offset pages are asked for; they repeat page one, and the read
    # says so instead of returning 20 of 100 records.
    client, mock = client_on("pages", uuids(100), "public", page_size=20)
    with pytest.raises(bsp.PaginationError, match="page 2 brought no record that earlier pages had not"):
        client.read("session")
