"""Query encoding and validation, before any request is sent."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

import brainstem_pandas as bsp
from brainstem_pandas import catalog
from brainstem_pandas.query import build_params, encode_value, include_params, sort_params

SESSION = catalog.model("session")


def test_filters_sort_include_are_encoded():
    params = build_params(
        "session",
        filters={
            "name.icontains": "rat",
            "projects.id": "p1",
            "date_time.gte": date(2024, 1, 1),
            "tags.contains": "pilot",
        },
        sort=["-date_time"],
        include=["projects", "behaviors.*"],
    )
    assert params == [
        ("filter{name.icontains}", "rat"),
        ("filter{projects.id}", "p1"),
        ("filter{date_time.gte}", "2024-01-01"),
        ("filter{tags.contains}", "pilot"),
        ("sort[]", "-date_time"),
        ("sort[]", "id"),
        ("include[]", "projects.*"),
        ("include[]", "behaviors.*"),
    ]


def test_in_takes_a_list_and_repeats_the_parameter():
    params = build_params("subject", filters={"sex.in": ["F", "M"]})
    assert params[:2] == [("filter{sex.in}", "F"), ("filter{sex.in}", "M")]


@pytest.mark.parametrize(
    "value, text",
    [
        (True, "true"),
        (False, "false"),
        (3, "3"),
        (2.5, "2.5"),
        (date(2024, 5, 1), "2024-05-01"),
        (datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))), "2024-05-01T12:00:00Z"),
        (datetime(2024, 5, 1, 12, 0), "2024-05-01T12:00:00Z"),
    ],
)
def test_values_are_encoded_as_the_api_expects(value, text):
    assert encode_value(value) == text


def test_id_is_appended_to_sort_once():
    assert sort_params(SESSION, ["name"]) == [("sort[]", "name"), ("sort[]", "id")]
    assert sort_params(SESSION, ["-id"]) == [("sort[]", "-id")]
    assert sort_params(SESSION, "name") == [("sort[]", "name"), ("sort[]", "id")]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"filters": {"nme": "x"}}, "Did you mean 'name'"),
        ({"filters": {"name.gt": "x"}}, "does not fit"),
        ({"filters": {"is_public.icontains": "x"}}, None),
        ({"filters": {"date_time.lt": "yesterday"}}, "ISO 8601"),
        ({"filters": {"name.in": "abc"}}, "needs a list"),
        ({"filters": {"name": ["a", "b"]}}, "name.in"),
        ({"filters": {"name": None}}, "isnull"),
        ({"filters": {"projects.nme": "x"}}, "Did you mean 'name'"),
        ({"filters": {"description.name": "x"}}, "is not a relation"),
        ({"sort": ["-nonsense"]}, "Unknown field 'nonsense'"),
        ({"include": ["name"]}, "not a relation"),
        ({"include": ["behaviors.notes"]}, "not a relation"),
        ({"include": ["procedures"]}, "Unknown field"),
    ],
)
def test_invalid_queries_fail_before_sending(kwargs, match):
    model = "project" if "is_public.icontains" in kwargs.get("filters", {}) else "session"
    with pytest.raises(bsp.QueryError, match=match):
        build_params(model, **kwargs)


def test_unknown_model_is_an_error_with_suggestions():
    with pytest.raises(bsp.UnknownNameError, match="Did you mean 'behavior'"):
        build_params("behaviour")


def test_nested_include_paths_are_checked_through_the_catalog():
    assert include_params(catalog.model("subject"), ["procedures.brain_region"]) == [
        ("include[]", "procedures.brain_region.*")
    ]


FIELD_NAMES = st.sampled_from([f.name for f in SESSION.fields if f.type in ("string", "text")])
# Any text a server can hold: no surrogates, no NUL (refused, see the NUL test below).
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=30
)


@given(name=FIELD_NAMES, op=st.sampled_from(["icontains", "iexact", "startswith", "endswith"]), value=TEXT)
def test_any_text_filter_encodes_to_one_parameter(name, op, value):
    params = build_params("session", filters={f"{name}.{op}": value}, sort=[])
    assert params[0] == (f"filter{{{name}.{op}}}", value)
    assert params[-1] == ("sort[]", "id")


@given(values=st.lists(st.uuids().map(str), min_size=1, max_size=8))
def test_in_filters_keep_every_value_in_order(values):
    params = build_params("session", filters={"id.in": values})
    assert [v for k, v in params if k == "filter{id.in}"] == values


@pytest.mark.parametrize("filters", [{"tags": "pilot"}, {"tags.in": ["pilot", "rat"]}, {"projects.tags": "x"}])
def test_a_list_filtered_by_equality_is_refused_with_what_to_use(filters):
    # The server compares the whole stored list with one text: no record, silently.
    key = next(iter(filters)).removesuffix(".in")
    with pytest.raises(bsp.ConfigurationError, match=rf"Use \{{'{key}.contains': 'pilot'\}}"):
        build_params("session", filters=filters)


def test_lists_accept_contains_icontains_and_isnull_only():
    assert build_params("session", filters={"tags.icontains": "PIL"})[0] == ("filter{tags.icontains}", "PIL")
    with pytest.raises(bsp.QueryError, match="use one of: contains, icontains, isnull"):
        build_params("session", filters={"tags.startswith": "p"})


@pytest.mark.parametrize("filters", [{"name": "a\x00b"}, {"name.in": ["ok", "\x00"]}, {"tags.contains": "\x00"}])
def test_a_nul_character_in_a_filter_value_is_refused_before_sending(filters):
    with pytest.raises(bsp.QueryError, match="NUL character"):
        build_params("session", filters=filters)
