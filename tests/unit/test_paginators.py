"""Paginators, page answers and the walk's bookkeeping, on plain values: no request is sent."""

from __future__ import annotations

import pytest

import brainstem_pandas as bsp
from brainstem_pandas.pagination import (
    NextLinkPaginator,
    OffsetPaginator,
    Page,
    PageNumberPaginator,
    PageRequest,
    Paginator,
    SeamLedger,
    Shift,
    Tally,
    envelope_next,
    envelope_total,
    split_answer,
)

# -- paginators ------------------------------------------------------------------------------


def test_paginator_is_abstract():
    with pytest.raises(TypeError):
        Paginator()  # type: ignore[abstract]


def test_offset_paginator_rejects_a_limit_above_the_maximum():
    with pytest.raises(bsp.ConfigurationError, match="between 1 and 100"):
        OffsetPaginator(500)


@pytest.mark.parametrize("bad", [0, -1, 101, 2.5, "100", True, None])
def test_offset_paginator_refuses_bad_limits_at_construction(bad):
    with pytest.raises(bsp.ConfigurationError, match="page_size=100 or less"):
        OffsetPaginator(bad)


@pytest.mark.parametrize("make", [lambda: PageNumberPaginator(0), lambda: PageNumberPaginator(1.5)])
def test_page_number_paginator_refuses_bad_sizes(make):
    with pytest.raises(bsp.ConfigurationError, match="page size"):
        make()


@pytest.mark.parametrize(
    "make",
    [
        lambda: PageNumberPaginator(10, page_param=""),
        lambda: NextLinkPaginator(10, size_param=3),
        lambda: NextLinkPaginator(-2),
    ],
)
def test_parameter_names_and_sizes_are_checked_at_construction(make):
    with pytest.raises(bsp.ConfigurationError):
        make()


def test_offset_pages_overlap_by_one_and_cover_the_total():
    pager = OffsetPaginator(100)
    first = Page(0, [{}] * 100, total=250, raw_count=100)
    assert pager.first_request() == PageRequest({"limit": 100, "offset": 0})
    assert [r.params["offset"] for r in pager.plan(first)] == [99, 198]
    assert pager.offsets(250) == [0, 99, 198]
    # Each page ends one record past where the next begins, and the last reaches the total.
    for total in range(0, 400):
        offsets = pager.offsets(total)
        assert offsets[-1] + 100 >= total and all(b - a == 99 for a, b in zip(offsets, offsets[1:]))


def test_offset_pages_of_one_record_do_not_overlap():
    pager = OffsetPaginator(1)
    assert pager.overlap == 0 and pager.offsets(3) == [0, 1, 2]


def test_offset_paginator_without_a_total_walks_until_a_short_page():
    pager = OffsetPaginator(3)
    assert pager.plan(Page(0, [{}] * 3, raw_count=3)) is None
    full, short = Page(0, [{}] * 3, raw_count=3), Page(1, [{}] * 2, raw_count=2)
    assert pager.next_request(full, pager.first_request()) == PageRequest({"limit": 3, "offset": 2})
    assert pager.next_request(short, PageRequest({"limit": 3, "offset": 2})) is None


def test_page_number_paginator_plans_and_stops():
    pager = PageNumberPaginator(50, "p", "n")
    assert pager.first_params() == {"p": 1, "n": 50}
    assert [r.params for r in pager.plan(Page(0, [], total=120))] == [{"p": 2, "n": 50}, {"p": 3, "n": 50}]
    assert pager.plan(Page(0, [], total=None)) is None
    assert pager.next_request(Page(0, [{}] * 50, raw_count=50), pager.first_request()).params == {"p": 2, "n": 50}
    assert pager.next_request(Page(1, [{}] * 3, raw_count=3), pager.first_request()) is None
    assert pager.next_request(Page(1, [], next_url="https://x.test/?p=3", raw_count=0), pager.first_request()) is None


def test_next_link_paginator_returns_the_link_as_a_request_not_a_parameter():
    pager = NextLinkPaginator(25, "page_size")
    assert pager.first_params() == {"page_size": 25} and NextLinkPaginator().first_params() == {}
    following = pager.next_request(Page(0, [], next_url="https://x.test/api/?cursor=b"), pager.first_request())
    assert following == PageRequest(url="https://x.test/api/?cursor=b") and dict(following.params) == {}
    assert pager.next_request(Page(1, []), following) is None
    assert pager.plan(Page(0, [], total=10)) is None


def test_page_requests_are_frozen_and_describe_themselves():
    request = PageRequest({"limit": 10, "offset": 9})
    with pytest.raises(AttributeError):
        request.url = "https://elsewhere.test/"  # type: ignore[misc]
    assert request.describe() == "limit=10, offset=9"
    assert PageRequest(url="https://x.test/").describe() == "next link"


# -- answers ---------------------------------------------------------------------------------


def test_split_answer_keeps_sideloads_and_leaves_nested_records_in_place():
    nested = {"id": "s1", "projects": [{"id": "p1", "name": "inline"}]}
    body = {"count": 1, "next": None, "previous": None, "sessions": [nested], "subjects": [{"id": "u1"}], "meta": {}}
    records, related, total, following = split_answer(body, "sessions")
    assert records == [nested] and related == {"subjects": [{"id": "u1"}]}
    assert total == 1 and following is None
    assert "projects" not in related  # extracting nested records is the frames builder's job


def test_split_answer_reads_bare_lists_and_refuses_a_missing_key():
    assert split_answer([{"id": 1}], "sessions") == ([{"id": 1}], {}, None, None)
    with pytest.raises(bsp.ResponseError, match="no 'sessions' list.*'results'"):
        split_answer({"results": []}, "sessions", "https://x.test/api/")


def test_envelopes():
    assert envelope_total({"count": 7}) == 7 and envelope_total({"count": True}) is None
    assert envelope_total({"meta": {"total_results": 4}}) == 4 and envelope_total({}) is None
    assert envelope_next({"next": ""}) is None and envelope_next({"meta": {"next": "https://x.test/2"}})


# -- seams and duplicates, on lists of ids ---------------------------------------------------


def test_matching_seams_drop_the_shared_record():
    ledger = SeamLedger(overlap=1)
    assert ledger.feed(0, [1, 2, 3]) == [0, 1, 2]
    assert ledger.feed(1, [3, 4, 5]) == [1, 2]
    assert ledger.feed(2, [5, 6]) == [1]
    assert ledger.shifts == [] and ledger.duplicates == 0 and ledger.unique == 6


def test_a_shifted_seam_is_noted_with_the_ids_on_both_sides():
    ledger = SeamLedger(overlap=1)
    ledger.feed(0, [1, 2, 3])
    # Record 2 deleted and one created past the end: page 1 starts on 4, not on 3.
    assert ledger.feed(1, [4, 5, 6]) == [0, 1, 2]
    assert ledger.shifts == [Shift(page=1, ended=3, began=4)]


def test_a_seam_moved_back_shows_as_a_shift_and_a_duplicate():
    ledger = SeamLedger(overlap=1)
    ledger.feed(0, [1, 2, 3])
    assert ledger.feed(1, [2, 3, 4]) == [2]  # a record created before 1 pushed everything on
    assert ledger.shifts == [Shift(1, 3, 2)] and ledger.duplicates == 2


def test_records_without_ids_are_kept_and_their_seam_skipped_by_position():
    ledger = SeamLedger(overlap=1)
    assert ledger.feed(0, [None, None]) == [0, 1]
    assert ledger.feed(1, [None, None, None]) == [1, 2]
    assert ledger.shifts == [] and ledger.unique == 4


def test_without_overlap_duplicates_are_counted_across_pages():
    ledger = SeamLedger()
    assert ledger.feed(0, [1, 2]) == [0, 1]
    assert ledger.feed(1, [2, 3]) == [1]
    assert ledger.duplicates == 1 and ledger.unique == 3


def test_an_empty_page_where_a_seam_should_be_is_a_shift():
    # The list shrank under the walk: page 1 should have begun with 2.
    ledger = SeamLedger(overlap=1)
    ledger.feed(0, [1, 2])
    assert ledger.feed(1, []) == [] and ledger.shifts == [Shift(1, 2, None)]
    tally = Tally(SeamLedger(1))
    tally.note(0, [1, 2], 4), tally.note(1, [], 4)
    assert "page 2 was empty, not beginning with 2 which ended page 1" in tally.problem()


def test_tally_problems_in_order_of_precedence():
    clean = Tally(SeamLedger(1))
    clean.note(0, [1, 2], 3), clean.note(1, [2, 3], 3)
    assert clean.problem() is None and (clean.expected, clean.received, clean.pages) == (3, 3, 2)

    short = Tally(SeamLedger(1))
    short.note(0, [1, 2], 4), short.note(1, [2, 3], 4)
    assert short.problem() == "received 3 unique records but the server announced 4"

    shifted = Tally(SeamLedger(1))
    shifted.note(0, [1, 2], 3), shifted.note(1, [3, 4], 3)
    assert shifted.problem().startswith("pages shifted during the walk: page 2 began with record 3, not with 2")

    moved = Tally(SeamLedger(1))
    moved.note(0, [1, 2], 3), moved.note(1, [3, 4], 4)
    assert "total changed during the walk (3 -> 4)" in moved.problem()

    bare = Tally(SeamLedger())
    bare.note(0, [1, 2], None), bare.note(1, [2, 3], None)
    assert bare.expected is None and bare.problem() == "1 records arrived twice: pages shifted during the walk"


def test_plans_are_lazy_and_counted_without_listing_them():
    import types

    huge = Page(0, [{}] * 100, total=10**12)
    plan = OffsetPaginator(100).plan(huge)
    assert isinstance(plan, types.GeneratorType)  # nothing is made before it is asked for
    assert [r.params["offset"] for r in (next(plan), next(plan))] == [99, 198]
    assert OffsetPaginator(100).planned(10**12) == 10101010101
    assert OffsetPaginator(100).planned(250) == 3 == len(OffsetPaginator(100).offsets(250))
    assert PageNumberPaginator(50).planned(10**12) == 2 * 10**10 and PageNumberPaginator(50).planned(0) == 1
    assert NextLinkPaginator().planned(100) == 0


def test_records_without_ids_are_kept_and_compared_by_content():
    from brainstem_pandas.pagination import Content, record_key

    a, b = record_key({"name": "a"}), record_key({"name": "b"})
    assert isinstance(a, Content) and a != b and record_key({"id": 7}) == 7
    ledger = SeamLedger(overlap=1)
    assert ledger.feed(0, [a, b]) == [0, 1] and ledger.feed(1, [b, a]) == [1]  # the seam, then a kept again
    assert ledger.shifts == [] and ledger.fresh == 0
    assert ledger.feed(2, [a, b]) == [1] and ledger.shifts == []
    assert ledger.feed(3, [a]) == [0] and ledger.shifts == [Shift(3, b, a)]  # kept, and the shift noted
