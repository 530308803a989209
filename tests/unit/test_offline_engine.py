"""The offline engine answers as the server would, checked on plain lists (no server, no snapshot).

The expected answers are those of the BrainSTEM sandbox (Django and dynamic-rest on
SQLite); tests/integration/test_offline.py checks the same rules against the live
sandbox on a whole snapshot.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from brainstem_pandas import catalog, query
from brainstem_pandas.errors import QueryError, SnapshotError
from brainstem_pandas.offline import engine
from brainstem_pandas.offline.engine import Leaf
from brainstem_pandas.offline.textrules import list_ranks

UTC = timezone.utc
U1 = "01e32354-2ebe-4dcb-a401-b180301f5124"


def condition(model: str, key: str, value: Any) -> Leaf:
    """One filter as the source builds it: resolved by the query layer, values parsed by the engine."""
    return engine.leaf(query.resolve(catalog.model(model), key), value, key)


def passes(values: list, model: str, key: str, value: Any) -> list[bool]:
    return engine.compare(values, condition(model, key, value)).tolist()


# -- filter values ------------------------------------------------------------------------


def test_uuids_match_in_any_spelling_and_bad_ones_are_query_errors():
    assert condition("session", "id", U1.upper().replace("-", "")).values == (U1,)
    with pytest.raises(QueryError, match="not a valid UUID"):
        condition("session", "projects", "not-a-uuid")


def test_integers_and_numbers_are_read_as_the_server_reads_them():
    assert condition("dataacquisition", "order.in", [1, "2"]).values == (1, 2)
    assert engine.parse_value("number", "2.5", "x") == 2.5
    with pytest.raises(QueryError, match="is not a number"):
        engine.parse_value("number", "two", "x")
    with pytest.raises(QueryError, match="is not an integer"):
        engine.parse_value("integer", "1.5", "x")


@pytest.mark.parametrize(
    "text, expected", [("true", True), ("yes", True), ("False", False), ("0", False), ("", False), ("1", True)]
)
def test_booleans_follow_dynamic_rest(text, expected):
    assert engine.parse_value("boolean", text, "is_public") is expected


def test_dates_take_one_digit_months_and_refuse_what_django_refuses():
    assert engine.parse_value("date", "2024-5-1", "d") == date(2024, 5, 1)
    assert engine.parse_date("2024-02-30") is None and engine.parse_date("yesterday") is None
    with pytest.raises(QueryError, match="not an ISO 8601 date"):
        engine.parse_value("date", "2023-04-16T10:00:00Z", "birth_date.in")


def test_datetimes_are_compared_in_utc():
    assert engine.parse_datetime("2024-05-01T12:00:00+02:00") == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert engine.parse_datetime("2024-05-01T12:00:00") == datetime(2024, 5, 1, 12, tzinfo=UTC)  # naive is UTC
    assert engine.parse_datetime("2024-05-01") == datetime(2024, 5, 1, tzinfo=UTC)  # a date is midnight
    assert condition("session", "date_time.gte", date(2024, 5, 1)).values == (datetime(2024, 5, 1, tzinfo=UTC),)
    with pytest.raises(QueryError, match="not an ISO 8601 datetime"):
        engine.parse_value("datetime", "soon", "date_time")


def test_relations_compare_related_ids_of_the_related_models_kind():
    assert condition("subjectlog", "user.in", ["3", 4]) == Leaf(("user", "id"), "in", (3, 4), "integer")
    assert condition("session", "projects.name.icontains", "Grid").parts == ("projects", "name")
    assert condition("session", "epochs.isnull", True) == Leaf(("epochs", "id"), "isnull", (True,), "uuid")


# -- text operators -------------------------------------------------------------------------

NAMES = ["Ärger eins", "ärger zwei", "ARGER drei", "arger vier", "Zebra", "zebra", "élan", "Élan", "_x%", None]


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("name", "zebra", ["zebra"]),  # exact is case-sensitive
        ("name.iexact", "ZEBRA", ["Zebra", "zebra"]),
        ("name.contains", "ARG", ["ARGER drei"]),  # LIKE on PostgreSQL is case-sensitive
        ("name.icontains", "ärger", ["Ärger eins", "ärger zwei"]),  # UPPER() folds every letter
        ("name.icontains", "ÄRGER", ["Ärger eins", "ärger zwei"]),
        ("name.icontains", "ARGER", ["ARGER drei", "arger vier"]),
        ("name.startswith", "z", ["zebra"]),
        ("name.istartswith", "É", ["élan", "Élan"]),
        ("name.endswith", "LAN", []),
        ("name.iendswith", "VIER", ["arger vier"]),
        ("name.contains", "%", ["_x%"]),  # the pattern characters match themselves
        ("name.startswith", "_", ["_x%"]),
        ("name.in", ["Zebra", "élan", "nobody"], ["Zebra", "élan"]),
    ],
)
def test_text_operators_follow_postgresql(key, value, expected):
    mask = passes(NAMES, "session", key, value)
    assert [n for n, keep in zip(NAMES, mask) if keep] == expected


@given(
    st.lists(st.one_of(st.none(), st.text(alphabet="aAbBäÄßẞ_%. ", max_size=6)), max_size=12),
    st.text(alphabet="aAbBäÄßẞ_%. ", max_size=3),
    st.sampled_from(["iexact", "contains", "icontains", "startswith", "istartswith", "endswith", "iendswith"]),
)
def test_like_operators_are_case_sensitive_and_i_operators_fold_each_letter(values, needle, op):
    # PostgreSQL's UPPER() maps one letter to one letter: ß stays ß (not SS), and ẞ is its own.
    upper = {"a": "A", "b": "B", "ä": "Ä"}
    fold = (lambda text: "".join(upper.get(c, c) for c in text)) if op.startswith("i") else (lambda text: text)
    check = {
        "exact": lambda v: fold(v) == fold(needle),
        "contains": lambda v: fold(needle) in fold(v),
        "startswith": lambda v: fold(v).startswith(fold(needle)),
        "endswith": lambda v: fold(v).endswith(fold(needle)),
    }[op.removeprefix("i")]
    got = engine.compare(pa.array(values, type=pa.string()), Leaf(("name",), op, (needle,), "string"))
    assert got.tolist() == [v is not None and check(v) for v in values]


def test_a_column_kept_as_text_compares_as_text():
    assert engine.compare(["1", "2"], Leaf(("x",), "exact", (2,), "integer")).tolist() == [False, True]


def test_values_that_cannot_be_compared_are_snapshot_errors():
    with pytest.raises(SnapshotError, match="Cannot compare"):
        engine.compare([1, 2], Leaf(("x",), "exact", ("two",), "integer"))


# -- order, in, isnull, NULL -------------------------------------------------------------------


@given(
    st.lists(st.one_of(st.none(), st.integers(-5, 5)), max_size=12),
    st.sampled_from(["exact", "gt", "gte", "lt", "lte"]),
    st.one_of(st.integers(-5, 5), st.floats(-5, 5, allow_nan=False)),
)
def test_order_operators_on_numbers_and_null_passes_nothing(values, op, value):
    python = {
        "exact": lambda v: v == value,
        "gt": lambda v: v > value,
        "gte": lambda v: v >= value,
        "lt": lambda v: v < value,
        "lte": lambda v: v <= value,
    }[op]
    got = engine.compare(pa.array(values, type=pa.int64()), Leaf(("order",), op, (value,), "integer"))
    assert got.tolist() == [v is not None and python(v) for v in values]


def test_dates_and_datetimes_compare_by_time():
    days = pa.array([date(2021, 12, 31), None, date(2022, 1, 1)])
    assert engine.compare(days, condition("subject", "death_date.lte", "2021-12-31")).tolist() == [True, False, False]
    stamps = pa.array([datetime(2024, 1, 1, 1, tzinfo=UTC), datetime(2023, 12, 31, 23, tzinfo=UTC)])
    after = condition("session", "date_time.gte", "2024-01-01T00:00:00+02:00")  # 2023-12-31 22:00 UTC
    assert engine.compare(stamps, after).tolist() == [True, True]
    exact = condition("session", "date_time.in", [datetime(2024, 1, 1, 2, tzinfo=timezone(timedelta(hours=1)))])
    assert engine.compare(stamps, exact).tolist() == [True, False]


def test_isnull_and_columns_without_any_value():
    values = [1, None, 3]
    assert engine.compare(values, Leaf(("x",), "isnull", (True,), "integer")).tolist() == [False, True, False]
    assert engine.compare(values, Leaf(("x",), "isnull", (False,), "integer")).tolist() == [True, False, True]
    nothing = pa.nulls(2)
    assert engine.compare(nothing, Leaf(("x",), "exact", ("a",), "string")).tolist() == [False, False]
    assert engine.compare(nothing, Leaf(("x",), "isnull", (True,), "string")).tolist() == [True, True]


def test_booleans_match_what_dynamic_rest_reads():
    flags = [True, False, None]
    assert passes(flags, "project", "is_public", "yes") == [True, False, False]
    assert passes(flags, "project", "is_public", False) == [False, True, False]


# -- sort -----------------------------------------------------------------------------------


def test_text_sorts_by_bytes_and_ties_share_a_rank():
    values = ["zebra", "Zebra", "élan", "Élan", "arger", None, "zebra"]
    got = engine.ranks(values)
    assert np.isnan(got[5])
    kept = [v for v in values if v is not None]
    assert [v for _, v in sorted(zip(got[~np.isnan(got)], kept))] == sorted(kept, key=lambda t: t.encode())
    assert got[0] == got[6]


def test_nulls_come_last_ascending_and_first_descending():
    rank = engine.ranks([2, None, 1])
    assert np.argsort(engine.sort_key(rank, False), kind="stable").tolist() == [2, 0, 1]
    assert np.argsort(engine.sort_key(rank, True), kind="stable").tolist() == [1, 0, 2]


def test_empty_and_all_null_columns_rank_as_null():
    assert engine.ranks([]).tolist() == []
    assert np.isnan(engine.ranks(pa.nulls(3))).all()


def test_a_to_many_relation_sorts_by_the_smallest_or_largest_related_value():
    related = np.array([3.0, 1.0, 5.0, np.nan])
    owners = np.array([0, 0, 1, 2])
    assert engine.aggregate(related, owners, 4, False).tolist()[:2] == [1.0, 5.0]
    assert engine.aggregate(related, owners, 4, True).tolist()[:2] == [3.0, 5.0]
    assert np.isnan(engine.aggregate(related, owners, 4, False)[3])  # no related record: NULL


def test_lists_sort_as_jsonb_empty_first_then_by_length_then_by_element():
    ranks = list_ranks([["b"], None, [], ["a", "c"], ["z"], ["b"]])
    assert ranks.tolist()[:1] + ranks.tolist()[2:] == [1.0, 0.0, 3.0, 2.0, 1.0]
    assert np.isnan(ranks[1])


@given(st.lists(st.one_of(st.none(), st.integers(0, 3)), min_size=1, max_size=15), st.booleans())
def test_sort_order_matches_postgresql_with_id_as_tie_breaker(values, descending):
    ids = pd.Index([f"{i:03d}" for i in range(len(values))][::-1])  # ids not in table order
    data = Fake({"subject": {i: {"name": None if v is None else str(v)} for i, v in zip(ids, values)}})
    terms = ["-name" if descending else "name", "id"]
    got = [ids[i] for i in engine.sort_order(data, "subject", ids, terms)]

    def key(pair: tuple[str, Any]) -> tuple:
        i, v = pair
        null_first = (v is None) == descending
        return (not null_first, 0 if v is None else (-v if descending else v), i)

    assert got == [i for i, _ in sorted(zip(ids, values), key=key)]


# -- related records ------------------------------------------------------------------------


class Fake:
    """Records as plain dicts and to-many relations as (owner, related) pairs: the engine's Data."""

    def __init__(self, tables: dict[str, dict[Any, dict]], links: dict[str, list[tuple]] | None = None) -> None:
        self.tables, self.links = tables, links or {}

    def values(self, model: str, name: str, ids: pd.Index, why: str) -> pa.Array:
        rows = self.tables[model]
        return pa.array([rows.get(i, {}).get(name) for i in ids])

    def pairs(self, model: str, ids: pd.Index, name: str, many: bool) -> tuple[np.ndarray, np.ndarray]:
        if many:
            found = [(ids.get_loc(o), r) for o, r in self.links[f"{model}.{name}"] if o in ids]
        else:
            found = [(p, v) for p, v in enumerate(self.values(model, name, ids, "").to_pylist()) if v is not None]
        return np.array([p for p, _ in found], dtype=int), np.array([r for _, r in found], dtype=object)

    def held(self, model: str, ids: pd.Index) -> np.ndarray:
        return np.array([i in self.tables[model] for i in ids], dtype=bool)

    def json_null(self, model: str, name: str, ids: pd.Index) -> np.ndarray:
        return np.array([self.tables[model].get(i, {}).get(name) is None for i in ids], dtype=bool)


# s1: a Miniscope of order 2 and another acquisition of order 1; s2: a Miniscope of order 1; s3: none.
LAB = Fake(
    {
        "session": {"s1": {"name": "a", "tags": ["x"]}, "s2": {"name": "b", "extra_fields": {"k": 1}}, "s3": {}},
        "dataacquisition": {
            "d1": {"type": "Miniscope", "order": 2},
            "d2": {"type": "Ephys", "order": 1},
            "d3": {"type": "Miniscope", "order": 1},
        },
    },
    {"session.dataacquisition": [("s1", "d1"), ("s1", "d2"), ("s2", "d3")]},
)
SESSIONS = pd.Index(["s1", "s2", "s3"])


def matching(filters: dict[str, Any], data: Fake = LAB) -> list[str]:
    leaves = [condition("session", k, v) for k, v in filters.items()]
    return SESSIONS[engine.match(data, "session", SESSIONS, leaves)].tolist()


def test_filters_through_one_relation_hold_for_the_same_related_record():
    assert matching({"dataacquisition.type": "Miniscope"}) == ["s1", "s2"]
    assert matching({"dataacquisition.order": 1}) == ["s1", "s2"]
    assert matching({"dataacquisition.type": "Miniscope", "dataacquisition.order": 1}) == ["s2"]


def test_isnull_through_a_relation_is_a_left_join():
    assert matching({"dataacquisition.isnull": True}) == ["s3"]
    assert matching({"dataacquisition.isnull": False}) == ["s1", "s2"]
    assert matching({"dataacquisition.type.isnull": True}) == ["s3"]


def test_a_related_record_the_snapshot_lacks_matches_ids_and_is_not_null():
    # s2's project is another lab's: named by the session, but not held.
    ids = Fake(
        {**LAB.tables, "project": {U1: {"name": "Grid cells"}}},
        {"session.projects": [("s1", U1), ("s2", "01e32354-2ebe-4dcb-a401-b180301f5125")]},
    )
    assert matching({"projects.name.isnull": False}, ids) == ["s1", "s2"]  # the unknown one exists
    assert matching({"projects.name.isnull": True}, ids) == ["s3"]
    assert matching({"projects.name.icontains": "grid"}, ids) == ["s1"]  # its values are unknown
    assert matching({"projects.id": "01E32354-2EBE-4DCB-A401-B180301F5125"}, ids) == ["s2"]


def test_json_isnull_is_json_null_only_and_a_list_never_equals_a_text():
    assert matching({"extra_fields.isnull": False}) == ["s2"]
    assert engine.match(LAB, "session", SESSIONS, [Leaf(("tags",), "exact", ("x",), "list[string]")]).sum() == 0
    assert matching({"tags.isnull": True}) == ["s2", "s3"]


def test_a_list_contains_a_value_it_holds_exactly_and_icontains_searches_its_json_text():
    assert matching({"tags.contains": "x"}) == ["s1"]
    assert matching({"tags.contains": "X"}) == []
    assert matching({"tags.icontains": '["X'}) == ["s1"]


def test_related_sorts_and_json_sorts():
    order = engine.sort_order(LAB, "session", SESSIONS, ["-dataacquisition.type", "id"])
    assert SESSIONS[order].tolist() == ["s3", "s1", "s2"]  # NULL first descending; s1's largest is Miniscope
    order = engine.sort_order(LAB, "session", SESSIONS, ["dataacquisition.type", "id"])
    assert SESSIONS[order].tolist() == ["s1", "s2", "s3"]  # s1's smallest is Ephys; NULL last
    with pytest.raises(SnapshotError, match="JSON field session.extra_fields"):
        engine.sort_order(LAB, "session", SESSIONS, ["extra_fields"])
