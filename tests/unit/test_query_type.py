"""The Query and ReadOptions types: checked once when made, frozen, and turned into parameters once."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

import brainstem_pandas as bsp
from brainstem_pandas.query import Query, build_params, queries
from brainstem_pandas.sources import ReadOptions


def test_a_query_holds_the_parameters_build_params_gives():
    filters = {"name.icontains": "rat", "date_time.gte": date(2024, 1, 1)}
    query = Query("session", filters=filters, sort=["-date_time"], include=["projects"])
    assert query.params == tuple(build_params("session", filters=filters, sort=["-date_time"], include=["projects"]))
    assert query.portal == "private" and query.spec.name == "session"


def test_one_name_is_taken_as_a_list_of_one():
    query = Query("session", sort="-date_time", include="projects")
    assert query.sort == ("-date_time",) and query.include == ("projects",)
    assert query == Query("session", sort=["-date_time"], include=["projects"])


def test_a_query_is_frozen_and_keeps_its_own_copy():
    filters = {"name.icontains": "rat"}
    query = Query("session", filters=filters)
    filters["name.icontains"] = "mouse"
    assert query.filters == {"name.icontains": "rat"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        query.model = "project"  # type: ignore[misc]
    with pytest.raises(TypeError):
        query.filters["name"] = "x"  # type: ignore[index]


def test_equal_queries_are_equal_and_hash_alike():
    a = Query("project", filters={"is_public": True})
    b = Query("project", filters={"is_public": True})
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != Query("project", filters={"is_public": True}, portal="public")


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(model="sessions"), bsp.UnknownNameError, "Did you mean 'session'"),
        (dict(model="session", filters={"nme": "x"}), bsp.UnknownNameError, "Did you mean 'name'"),
        (dict(model="session", sort=["-nonsense"]), bsp.UnknownNameError, "nonsense"),
        (dict(model="session", include=["name"]), bsp.QueryError, "not a relation"),
        (dict(model="session", portal="secret"), bsp.ConfigurationError, "Unknown portal"),
        (dict(model="session", filters=["name"]), bsp.QueryError, "filters must be a dict"),
        (dict(model="session", filters={"name.in": []}), bsp.QueryError, "empty list"),
    ],
)
def test_a_bad_query_fails_when_made(kwargs, error, match):
    with pytest.raises(error, match=match):
        Query(**kwargs)


def test_describe_is_the_manifest_entry():
    query = Query("session", filters={"date_time.gte": date(2024, 5, 1), "name.in": ["a", "b"]}, sort="name")
    assert query.describe() == {
        "params": [list(p) for p in query.params],
        "include": [],
        "sort": ["name"],
        "filters": {"date_time.gte": "2024-05-01", "name.in": ["a", "b"]},
    }


def test_arguments_give_the_same_query_back():
    query = Query("subject", filters={"sex": "F"}, sort=["name"], include=["strain"], portal="public")
    assert Query(query.model, **query.arguments()) == query


def test_queries_give_each_model_its_own_include_and_filters():
    asked = queries(
        ["session", "project"],
        include={"session": ["projects"]},
        filters={"project": {"is_public": True}},
        portal="public",
    )
    session, project = asked
    assert session.include == ("projects",) and session.filters == {}
    assert project.include == () and project.filters == {"is_public": True}
    assert {q.portal for q in asked} == {"public"}


def test_queries_share_what_is_not_keyed_by_model():
    asked = queries(["session", "subject"], include=["projects"], filters={"name.icontains": "x"})
    assert [q.include for q in asked] == [("projects",), ("projects",)]
    assert [dict(q.filters) for q in asked] == [{"name.icontains": "x"}] * 2


@pytest.mark.parametrize(
    "models, kwargs, match",
    [
        ([], {}, "No model given"),
        (["session"], {"include": {"subject": ["strain"]}}, "not among the models read"),
        (["session"], {"filters": {"project": {"is_public": True}}}, "not among the models read"),
    ],
)
def test_queries_refuse_what_cannot_be_read(models, kwargs, match):
    with pytest.raises(bsp.ConfigurationError, match=match):
        queries(models, **kwargs)


def test_read_options_are_checked_when_made():
    assert ReadOptions() == ReadOptions(workers=8, progress=True, on_inconsistency="raise", page_size=100)
    for bad in (dict(workers=0), dict(workers=True), dict(on_inconsistency="ignore"), dict(page_size=101)):
        with pytest.raises(bsp.ConfigurationError):
            ReadOptions(**bad)


def test_read_options_but_changes_only_what_is_given_and_checks_it_again():
    options = ReadOptions(workers=4, progress=False)
    assert options.but(workers=None, progress=None) is options
    assert options.but(workers=2) == ReadOptions(workers=2, progress=False)
    with pytest.raises(bsp.ConfigurationError, match="on_inconsistency"):
        options.but(on_inconsistency="sometimes")
