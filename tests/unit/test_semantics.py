"""PostgreSQL's comparison rules (brainstem_pandas.semantics), on the examples of its documentation.

tests/integration/test_query_semantics.py checks the same functions against a live
PostgreSQL server.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from brainstem_pandas.semantics import json_contains, jsonb_sort_key, jsonb_sort_text, pg_upper


@pytest.mark.parametrize(
    "doc, wanted, expected",
    [
        ("foo", "foo", True),
        (1, 1.0, True),
        ([1, 2, 3], [1, 3], True),
        ([1, 2, 3], [3, 1], True),
        ([1, 2, 3], [1, 2, 2], True),
        ({"product": "PostgreSQL", "version": 9.4, "jsonb": True}, {"version": 9.4}, True),
        ([1, 2, [1, 3]], [1, 3], False),  # a nested array is not flattened
        ([1, 2, [1, 3]], [[1, 3]], True),
        ({"foo": {"bar": "baz"}}, {"bar": "baz"}, False),
        ({"foo": {"bar": "baz"}}, {"foo": {}}, True),
        (["foo", "bar"], "foo", True),  # the one exception: a top-level array holds a bare scalar
        ("foo", ["foo"], False),
        ([True], 1, False),  # a boolean is no number
        ([1], True, False),
        ([], [], True),
        ({"a": [1, 2]}, {"a": 1}, False),
        (None, None, True),
        (["pilot"], "Pilot", False),
    ],
)
def test_json_contains_follows_jsonb(doc, wanted, expected):
    assert json_contains(doc, wanted) is expected


def test_upper_maps_one_letter_to_one_letter():
    assert pg_upper("straße") == "STRAßE"  # ß has no one-letter uppercase
    assert pg_upper("élan ärger ǆ ᾳ") == "ÉLAN ÄRGER Ǆ ᾼ"
    assert pg_upper("ﬁ") == "ﬁ"


def test_jsonb_order_puts_the_empty_array_first_then_length_then_elements():
    values = [["a", "c"], ["z"], [], ["b"], ["a"], "x", 3, None, {"a": 1}, True]
    assert sorted(values, key=jsonb_sort_key) == [[], None, "x", 3, True, ["a"], ["b"], ["z"], ["a", "c"], {"a": 1}]


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(min_codepoint=1), max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)


@given(st.lists(JSON, max_size=8))
def test_the_sort_text_orders_as_the_sort_key(values):
    # The SQLite mode sorts JSON by this text; PostgreSQL's order is the key's (checked live).
    assert [jsonb_sort_key(v) for v in sorted(values, key=jsonb_sort_text)] == sorted(map(jsonb_sort_key, values))
