"""The pagination rows of the hostile table: list endpoints that loop, lie about their totals or shift.

Each case is a script for a :class:`hostile.HostileServer` answering
``/api/private/stem/session/`` as it decides, read through the public API. Each
asserts the exact result or the :class:`~brainstem_pandas.BrainstemError` subclass,
a phrase of the message saying what is wrong or what to do, and exactly how many
requests the server saw: every walk is bounded by construction (pages of 10, a
page cap of 5 where a server never ends, three walks at most).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pytest
from hostile import Reply, Seen, json_reply

import brainstem_pandas as bsp
from brainstem_pandas.pagination import NextLinkPaginator, OffsetPaginator, PageNumberPaginator

TOKEN = "bst_pat_hostile0123456789abcdef"
PATH = "/api/private/stem/session/"
SIZE = 10  # records per page asked


def rec(i: int, with_id: bool = True) -> dict[str, Any]:
    return {"id": f"00000000-0000-4000-8000-{i:012d}", "name": f"s{i}"} if with_id else {"name": f"s{i}"}


def offset_of(seen: Seen) -> int:
    return int(seen.param("offset", "0") or 0)


def offsets(records: list[dict], count: Any = "len", *, limit_ignored: bool = False) -> Callable[[Seen, str], Reply]:
    """An offset endpoint over ``records``, announcing ``count`` (``"len"``: the true one; None: none)."""

    def script(seen: Seen, url: str) -> Reply:
        start = offset_of(seen)
        chunk = records[start:] if limit_ignored else records[start : start + SIZE]
        body: dict[str, Any] = {"sessions": chunk}
        if count is not None:
            body["count"] = len(records) if count == "len" else count
        return json_reply(body)

    return script


def same_page(count: Any) -> Callable[[Seen, str], Reply]:
    """Offsets ignored: every request gets the first full page."""
    return lambda seen, url: json_reply(
        {"sessions": [rec(i) for i in range(SIZE)], **({} if count is None else {"count": count})}
    )


def fresh_forever(count: Any) -> Callable[[Seen, str], Reply]:
    """A full page of records never seen before, at any offset, forever (a seam kept, so only the cap ends it)."""

    def script(seen: Seen, url: str) -> Reply:
        start = offset_of(seen)
        return json_reply(
            {"sessions": [rec(start + i) for i in range(SIZE)], **({} if count is None else {"count": count})}
        )

    return script


def links(chain: dict[str, tuple[range, str | None]], total: int | None = None) -> Callable[[Seen, str], Reply]:
    """Next-link pages: ``chain[cursor] = (records, next cursor)``; the first request has no cursor ("")."""

    def script(seen: Seen, url: str) -> Reply:
        records, following = chain[seen.param("cursor", "") or ""]
        body: dict[str, Any] = {"sessions": [rec(i) for i in records]}
        body["next"] = f"{url}{PATH}?cursor={following}" if following is not None else None
        if total is not None:
            body["count"] = total
        return json_reply(body)

    return script


def numbered(records: list[dict], count: Any, meta: dict | None = None) -> Callable[[Seen, str], Reply]:
    """A page-number endpoint (``page``/``page_size``, ``results``)."""

    def script(seen: Seen, url: str) -> Reply:
        page = int(seen.param("page", "1") or 1)
        chunk = records[(page - 1) * SIZE : page * SIZE]
        body: dict[str, Any] = {"results": chunk, "count": count, "next": None}
        if meta is not None:
            body["meta"] = meta
        return json_reply(body)

    return script


@dataclass(frozen=True)
class Case:
    """One hostile list endpoint: the script, the public call, what must happen."""

    name: str
    script: Callable[[Seen, str], Reply]
    act: str  # "read", "read_linked", "iter_pages", "read_url:offset|page|next"
    error: type[BaseException] | None  # None: the call returns exactly ``result`` records
    phrase: str  # in the message (None: unused)
    requests: int  # exactly this many requests reached the server
    result: int | None = None  # records returned, when no error
    max_pages: int = 5


N25 = [rec(i) for i in range(25)]
CASES = [
    Case("offset ignored, no count", same_page(None), "read", bsp.PaginationError, "repeats its pages", 6),
    Case("offset ignored, with a count", same_page(1000), "read", bsp.PaginationError, "repeats its pages", 6),
    Case("offset ignored, read_linked", same_page(None), "read_linked", bsp.PaginationError, "repeats its pages", 6),
    Case("offset ignored, a stream", same_page(1000), "iter_pages", bsp.PaginationError, "repeats its pages", 2),
    Case(
        "count 10**12, pages run out", offsets(N25, 10**12), "read", bsp.PaginationError, "held 7 records where 10", 9
    ),
    Case("count 10**12, fresh pages forever", fresh_forever(10**12), "read", bsp.PaginationError, "max_pages=", 15),
    Case("no count, fresh pages forever", fresh_forever(None), "read", bsp.PaginationError, "max_pages=", 15),
    Case("negative count", offsets([], -5), "read", bsp.PaginationError, "negative total (-5)", 3),
    Case("float count is no count", offsets(N25, 25.0), "read", None, "", 3, 25),
    Case("text count is no count", offsets(N25, "25"), "read", None, "", 3, 25),
    Case("boolean count is no count", offsets(N25[:3], True), "read", None, "", 1, 3),
    Case(
        "count changes between pages",
        lambda seen, url: offsets(N25, 25 + (offset_of(seen) > 0))(seen, url),
        "read",
        bsp.PaginationError,
        "the total changed during the walk (25 -> 26)",
        9,
    ),
    Case("limit ignored, all on page one", offsets(N25, limit_ignored=True), "read", None, "", 1, 25),
    Case(
        "empty page mid-walk",
        lambda seen, url: json_reply({"sessions": [] if offset_of(seen) else N25[:SIZE], "count": 30}),
        "read",
        bsp.PaginationError,
        "held 0 records where 10 were asked",
        6,
    ),
    Case(
        "duplicate ids across pages",
        offsets(N25[:20] + N25[5:10]),
        "read",
        bsp.PaginationError,
        "received 20 unique records but the server announced 25",
        9,
    ),
    Case(
        "page-number meta.total_pages lies",
        numbered(N25, 25, {"total_pages": 1000}),
        "read_url:page",
        None,
        "",
        6,  # three pages, walked twice (page numbers do not overlap: both passes must agree)
        25,
    ),
    Case("page-number count lies high", numbered(N25, 1000), "read_url:page", bsp.PaginationError, "held 5 records", 9),
    Case(
        "next link to itself",
        links({"": (range(10), "a"), "a": (range(10, 20), "a")}),
        "read_url:next",
        bsp.PaginationError,
        "links go in a loop",
        6,
    ),
    Case(
        "next links A -> B -> A",
        links({"": (range(10), "a"), "a": (range(10, 20), "b"), "b": (range(20, 30), "a")}),
        "read_url:next",
        bsp.PaginationError,
        "links go in a loop",
        9,
    ),
    Case(
        "next link goes back to page one",
        links({"": (range(10), "a"), "a": (range(10, 20), "first"), "first": (range(10), "a")}),
        "read_url:next",
        bsp.PaginationError,
        "repeats its pages",
        9,
    ),
    Case(
        "next links, an honest chain",
        links({"": (range(10), "a"), "a": (range(10, 15), None)}, total=15),
        "read_url:next",
        None,
        "",
        4,
        15,
    ),
    Case(
        "records without ids, offset ignored",
        lambda seen, url: json_reply({"things": [rec(i, False) for i in range(SIZE)]}),
        "read_url:offset",
        bsp.PaginationError,
        "repeats its pages",
        6,
    ),
    Case(
        "records without ids, honest offsets",
        lambda seen, url: json_reply(
            {"things": [rec(i, False) for i in range(25)][offset_of(seen) : offset_of(seen) + SIZE], "count": 25}
        ),
        "read_url:offset",
        None,
        "",
        3,
        25,
    ),
]


def run(case: Case, url: str) -> Any:
    client = bsp.connect(url, token=TOKEN, progress=False, workers=1)
    client.options = client.options.but(page_size=SIZE, max_pages=case.max_pages)
    if case.act == "read":
        return len(client.read("session"))
    if case.act == "read_linked":
        return len(client.read_linked("session")["session"])
    if case.act == "iter_pages":
        return sum(len(page.records) for page in client.iter_pages("session"))
    pager = {
        "offset": OffsetPaginator(SIZE),
        "page": PageNumberPaginator(SIZE),
        "next": NextLinkPaginator(SIZE, "limit"),
    }[case.act.split(":")[1]]
    # Records without ids come as "things": a catalogued model's records must have ids.
    records_key = {"page": "results", "next": "sessions", "offset": "things"}[case.act.split(":")[1]]
    return len(client.read_url(PATH, records_key, paginator=pager))


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_hostile_list_endpoint_ends_in_its_result_or_a_pagination_error(hostile, case: Case) -> None:
    holder: dict[str, str] = {}
    server = hostile(lambda seen: case.script(seen, holder["url"]))
    holder["url"] = server.url
    if case.error is None:
        assert run(case, server.url) == case.result
    else:
        with pytest.raises(case.error) as caught:
            run(case, server.url)
        message = str(caught.value)
        assert case.phrase in message
        assert "Read again when the data is not being changed" in message  # what to do
    assert len(server.seen) == case.requests


def test_a_pagination_error_carries_its_figures(hostile) -> None:
    server = hostile(lambda seen: offsets(N25[:20] + N25[5:10])(seen, ""))
    client = bsp.connect(server.url, token=TOKEN, progress=False, workers=1)
    client.options = client.options.but(page_size=SIZE)
    with pytest.raises(bsp.PaginationError) as caught:
        client.read("session")
    assert (caught.value.expected, caught.value.received, caught.value.walks) == (25, 20, 3)
    assert "20 unique records received, 25 announced, 3 pages" in str(caught.value)


def test_a_huge_count_with_concurrent_pages_stays_bounded(hostile) -> None:
    # Eight workers prefetch at most sixteen pages ahead; the walk halts on the first short page.
    server = hostile(lambda seen: offsets(N25, 10**12)(seen, ""))
    client = bsp.connect(server.url, token=TOKEN, progress=False, workers=8)
    client.options = client.options.but(page_size=SIZE)
    with pytest.raises(bsp.PaginationError, match="held 7 records where 10 were asked"):
        client.read("session")
    assert len(server.seen) <= 3 * (1 + 16)
