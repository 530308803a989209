"""OfflineSource answers list queries from LinkedFrames exactly as the live sandbox does.

The frames are what a full snapshot holds: every model read without includes,
merged into one LinkedFrames. Each case asks the sandbox and the offline source
the same question and compares the answers (ids and order, related records,
rebuilt frames).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Callable

import pandas as pd
import pytest

import brainstem_pandas as bsp
from brainstem_pandas import catalog
from brainstem_pandas.errors import (
    APIError,
    BrainstemError,
    ConfigurationError,
    QueryError,
    SnapshotError,
    UnknownNameError,
)
from brainstem_pandas.frames import FrameBuilder, LinkedFrames, records_frame
from brainstem_pandas.offline import OfflineSource

SOME, NONE, ALL = "some", "none", "all"


def merged(parts: list[LinkedFrames], primary: str = "session") -> LinkedFrames:
    """One LinkedFrames from several reads, as a snapshot stores them."""
    tables, links, children, relations = {}, {}, {}, {}
    for lf in parts:
        tables.update(lf.tables)
        links.update(lf.links)
        children.update(lf.children)
        relations.update(lf.relations)
    return LinkedFrames(primary, tables, links, children, relations)


@pytest.fixture(scope="module")
def client(db_sandbox):
    # Every comparison runs on SQLite and on PostgreSQL: the offline engine follows
    # PostgreSQL, and the SQLite sandbox answers as PostgreSQL does for all of them.
    with bsp.connect(db_sandbox.url, token=db_sandbox.token, progress=False) as c:
        yield c


@pytest.fixture(scope="module")
def snapshot(client) -> LinkedFrames:
    parts = []
    for name in catalog.all_models():
        try:
            lf = client.read_linked(name)
        except APIError:
            continue  # not listable by the demo user
        parts.append(LinkedFrames(name, {name: lf.tables[name]}, lf.links, lf.children, lf.relations))
    return merged(parts)


@pytest.fixture(scope="module")
def source(snapshot) -> OfflineSource:
    return OfflineSource(snapshot)


@pytest.fixture(scope="module")
def sample(client) -> dict[str, Any]:
    """Real values to filter on, taken from the server's own answers."""
    sessions = client.read("session")
    projects = client.read("project")
    first = sessions.iloc[0]
    users = client.read("user").index.tolist()
    return {
        "session_id": sessions.index[0],
        "session_name": first["name"],
        "other_name": sessions["name"].iloc[3],
        "date_time": first["date_time"].isoformat().replace("+00:00", "Z"),
        "other_time": sessions["date_time"].iloc[5].to_pydatetime(),
        "project": first["projects"][0],
        "other_project": next(p for p in projects.index if p != first["projects"][0]),
        "users": users[:3],
    }


# (model, filters from the sample values, sort, how many the server matches)
CASES: list[tuple[str, Callable[[dict], dict], list[str] | None, str | tuple[str, ...]]] = [
    # text: contains/startswith/endswith are case-sensitive (PostgreSQL's LIKE), the "i" forms fold case
    ("session", lambda s: {"name.icontains": "mm0"}, None, SOME),
    ("session", lambda s: {"name.contains": "MM0"}, ["-name"], SOME),
    ("session", lambda s: {"name.contains": "mm0"}, None, NONE),
    ("session", lambda s: {"name.startswith": "CJ"}, None, SOME),
    ("session", lambda s: {"name.startswith": "cj"}, None, NONE),
    ("session", lambda s: {"name.istartswith": "CJ"}, ["name"], SOME),
    ("session", lambda s: {"name.endswith": "_5"}, None, SOME),
    ("session", lambda s: {"name.iendswith": "_5"}, None, SOME),
    ("session", lambda s: {"name.iexact": s["session_name"].lower()}, None, SOME),
    ("session", lambda s: {"name": s["session_name"].lower()}, None, NONE),  # exact is case-sensitive
    ("session", lambda s: {"name": s["session_name"]}, None, SOME),
    ("session", lambda s: {"name.in": [s["session_name"], s["other_name"], "no such name"]}, None, SOME),
    ("session", lambda s: {"description.icontains": "PLACE cells"}, None, SOME),
    ("session", lambda s: {"description": ""}, ["date_time"], SOME),
    ("session", lambda s: {"description.isnull": False}, None, ALL),
    # datetimes, in UTC whatever the spelling
    ("session", lambda s: {"date_time.gte": "2024-01-01"}, ["-date_time"], SOME),
    ("session", lambda s: {"date_time.lt": datetime(2022, 1, 1, tzinfo=timezone.utc)}, None, SOME),
    ("session", lambda s: {"date_time": s["date_time"]}, None, SOME),
    ("session", lambda s: {"date_time.gte": "2024-01-01T00:00:00+02:00"}, None, SOME),
    ("session", lambda s: {"date_time.in": [s["date_time"], s["other_time"]]}, None, SOME),
    # dates and nullable dates
    ("subject", lambda s: {"birth_date.gte": date(2023, 4, 16)}, None, SOME),
    ("subject", lambda s: {"death_date.isnull": True}, None, SOME),
    ("subject", lambda s: {"death_date.lte": "2021-12-31"}, ["death_date"], SOME),
    # integers and booleans
    ("dataacquisition", lambda s: {"order": 1}, None, SOME),
    ("dataacquisition", lambda s: {"order.gte": 1}, None, SOME),
    ("dataacquisition", lambda s: {"order.lt": 1}, ["type"], SOME),
    ("dataacquisition", lambda s: {"order.in": [0, 1]}, ["-order", "type"], ALL),
    ("project", lambda s: {"is_public": True}, None, SOME),
    ("project", lambda s: {"is_public": False}, ["name"], SOME),
    ("project", lambda s: {"is_public": "yes"}, None, SOME),  # dynamic-rest: any text but 0/false is true
    # ids and relations (UUIDs match in any spelling)
    ("session", lambda s: {"id": s["session_id"].upper()}, None, SOME),
    ("session", lambda s: {"projects": s["project"]}, None, SOME),
    ("session", lambda s: {"projects.id": s["project"].upper()}, None, SOME),
    ("session", lambda s: {"projects.in": [s["project"], s["other_project"]]}, None, SOME),
    ("session", lambda s: {"behaviors.isnull": True}, None, SOME),
    ("session", lambda s: {"behaviors.isnull": False}, None, SOME),
    ("subject", lambda s: {"breeding.isnull": True}, None, ALL),
    ("subject", lambda s: {"strain.isnull": False}, None, ALL),
    ("subjectlog", lambda s: {"user.in": s["users"]}, None, (SOME, ALL)),
    ("subjectlog", lambda s: {"user.in": [-1, -2]}, None, NONE),
    ("user", lambda s: {"id.in": s["users"]}, ["-id"], SOME),
    ("project", lambda s: {"subjects.isnull": True}, None, NONE),
    # related paths, to-one and to-many, at any depth
    ("session", lambda s: {"projects.name.icontains": "grid"}, None, SOME),
    ("session", lambda s: {"projects.is_public": True}, ["projects.name", "name"], SOME),
    ("session", lambda s: {"behaviors.setup.name.isnull": True}, None, SOME),
    ("subject", lambda s: {"strain.species.name": "Mus musculus"}, ["strain.species.name", "name"], SOME),
    ("subject", lambda s: {"procedures.brain_region.acronym": "CA3"}, None, SOME),
    ("behavior", lambda s: {"session.projects.name.icontains": "cells"}, ["session.date_time"], SOME),
    ("dataacquisition", lambda s: {"session.date_time.gte": "2024-01-01"}, None, SOME),
    ("project", lambda s: {"sessions.name.startswith": s["session_name"][:9]}, None, SOME),
    ("project", lambda s: {"sessions": s["session_id"]}, None, SOME),
    # two filters through one to-many relation hold for the same related record
    ("session", lambda s: {"dataacquisition.type": "Miniscope", "dataacquisition.order": 1}, None, SOME),
    (
        "session",
        lambda s: {"name.icontains": "mm", "date_time.gte": "2022-01-01", "projects.is_public": False},
        ["-name"],
        SOME,
    ),
    # JSON and lists: the server compares jsonb documents (contains: the list holds the value)
    ("session", lambda s: {"tags.contains": "pilot"}, None, SOME),
    ("session", lambda s: {"tags.contains": "Pilot"}, None, NONE),
    ("session", lambda s: {"tags.contains": "pil"}, None, NONE),
    ("session", lambda s: {"tags.icontains": "PIL"}, ["-tags"], SOME),
    ("session", lambda s: {"tags.contains": "pilot", "name.icontains": "mm"}, ["name"], SOME),
    ("project", lambda s: {"tags.contains": "pilot"}, None, (SOME, NONE)),
    ("session", lambda s: {"tags.isnull": True}, None, NONE),
    ("session", lambda s: {"extra_fields.isnull": False}, None, ALL),
    # sorts: nullable fields, descending, lists, relations
    ("subject", lambda s: {}, ["death_date"], ALL),
    ("subject", lambda s: {}, ["-death_date"], ALL),
    ("subject", lambda s: {}, ["sex", "-birth_date"], ALL),
    ("project", lambda s: {}, ["is_public", "-name"], ALL),
    ("session", lambda s: {}, ["-id"], ALL),
    ("session", lambda s: {}, ["tags"], ALL),
    ("session", lambda s: {}, ["-tags", "name"], ALL),
    ("session", lambda s: {}, ["projects"], ALL),
    ("session", lambda s: {}, ["projects.name"], ALL),
    ("session", lambda s: {}, ["-projects.name"], ALL),
    ("session", lambda s: {}, ["-dataacquisition.type"], ALL),
    ("behavior", lambda s: {}, ["-session.date_time"], ALL),
    ("behavior", lambda s: {}, ["session"], ALL),
]


def _case_id(case: tuple) -> str:
    model, _, sort, _ = case
    return f"{model}-{CASES.index(case)}-{'+'.join(sort or [])}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_select_answers_like_the_server(case, client, source, sample):
    model, make, sort, expected = case
    filters = make(sample)
    online = client.read(model, filters=filters, sort=sort)
    offline = records_frame(model, source.select(model, filters, sort))
    everything = len(source.records(model))
    # The case must discriminate: it is meant to match some, none or all records.
    matched = SOME if 0 < len(online) < everything else (NONE if len(online) == 0 else ALL)
    assert matched in expected
    assert offline.index.tolist() == online.index.tolist()


@pytest.mark.parametrize("sort", [["-date_time"], ["name"], ["projects.name", "-name"]])
def test_sorts_change_the_order(sort, client, source):
    offline = records_frame("session", source.select("session", sort=sort)).index.tolist()
    assert offline != sorted(offline)  # not just the id order
    assert offline == client.read("session", sort=sort).index.tolist()


def test_filters_on_one_relation_need_one_related_record(client, source):
    both = {"dataacquisition.type": "Miniscope", "dataacquisition.order": 1}
    together = {r["id"] for r in source.select("session", both)}
    apart = {r["id"] for r in source.select("session", {"dataacquisition.type": "Miniscope"})} & {
        r["id"] for r in source.select("session", {"dataacquisition.order": 1})
    }
    assert together < apart  # a session with a Miniscope and another acquisition of order 1 is not enough
    assert together == set(client.read("session", filters=both).index)


MODELS = [
    "session",
    "subject",
    "project",
    "dataacquisition",
    "behavior",
    "manipulation",
    "procedure",
    "subjectlog",
    "procedurelog",
    "datastorage",
    "setup",
    "strain",
    "species",
    "consumable",
    "consumablestock",
    "equipment",
    "license",
    "user",
    "group",
    "laboratory",
    "publication",
    "cohort",
]


@pytest.mark.parametrize("model", MODELS)
def test_records_round_trip_through_records_frame(model, client, source):
    sent = [r for page in client.iter_pages(model) for r in page.records]
    rebuilt = source.records(model)
    assert len(rebuilt) == len(sent) > 0
    pd.testing.assert_frame_equal(records_frame(model, rebuilt).sort_index(), records_frame(model, sent).sort_index())
    assert list(rebuilt[0]) == list(sent[0])  # catalog field order


def test_records_are_api_shaped(source, snapshot):
    session = next(r for r in source.records("session") if r["download_links"] and r["behaviors"])
    assert session["date_time"].endswith("Z") and isinstance(session["projects"], list)
    assert set(session["download_links"][0]) == {"repository", "url"}
    assert set(session["extra_fields"]) == {"experimenter", "room_temperature_c", "trials"}
    assert isinstance(session["extra_fields"]["trials"], int)
    subject = next(r for r in source.records("subject") if r["death_date"] is None)
    assert len(subject["birth_date"]) == 10 and isinstance(subject["strain"], str)
    project = source.records("project")[0]
    roles = next(iter(project["users"].values()))
    assert set(roles) == {"can_change", "is_manager", "is_owner"}  # nested JSON text parsed back
    entries = next(r["entries"] for r in source.records("subjectlog") if r["entries"])
    assert isinstance(entries[0]["details"], dict)  # child columns "details.x" nest again
    assert all(isinstance(u["id"], int) for u in source.records("user"))


INCLUDES = [
    ("session", None, None, ["projects", "behaviors.setup"]),
    ("subject", None, ["name"], ["strain.species", "procedures.brain_region"]),
    ("behavior", None, ["-session.date_time"], ["session.projects", "subjects"]),
    ("behavior", None, None, ["setup", "behavioralassay"]),  # some setups are another lab's
    ("session", {"name.icontains": "mm"}, ["-date_time"], ["datastorage", "dataacquisition.procedures"]),
    ("project", None, None, ["sessions", "subjects.strain"]),
    ("session", {"name": "no such session"}, None, ["projects"]),
]


@pytest.mark.parametrize("model, filters, sort, include", INCLUDES)
def test_pages_and_related_records_match_the_server(model, filters, sort, include, client, source):
    online = list(client.iter_pages(model, filters=filters, sort=sort, include=include))
    offline = list(source.pages(model, filters, sort, include))
    assert [(p.number, p.total, len(p.records)) for p in offline] == [
        (p.number, p.total, len(p.records)) for p in online
    ]
    for mine, theirs in zip(offline, online):
        # Pages after the first also hold the seam record that ended the page before.
        assert mine.raw_count == theirs.raw_count == len(mine.records) + (1 if mine.number else 0)
        assert mine.records == theirs.records
        assert {k: v for k, v in theirs.related.items() if v}.keys() == mine.related.keys()
        for key, records in mine.related.items():
            assert len({r["id"] for r in records}) == len(records)
            assert sorted(records, key=lambda r: r["id"]) == sorted(theirs.related[key], key=lambda r: r["id"])
    if online[0].total:
        assert any(p.related for p in offline)


@pytest.mark.parametrize("model, filters, sort, include", INCLUDES[:5])
def test_pages_build_the_same_linked_frames(model, filters, sort, include, client, source):
    online = client.read_linked(model, include=include, filters=filters, sort=sort)
    builder = FrameBuilder(model, include=include)
    for page in source.pages(model, filters, sort, include):
        builder.add_page(page)
    offline = builder.finish()
    assert offline.tables.keys() == online.tables.keys()
    for name, table in online.tables.items():
        # Keys of JSON objects (users.<email>) come in table order, not each record's order.
        pd.testing.assert_frame_equal(offline.tables[name].sort_index(), table.sort_index(), check_like=True)
    for name, link in {**online.links, **online.children}.items():
        by = [link.columns[0], "position" if "position" in link else link.columns[1]]  # map tables: by key
        mine = offline.links.get(name, offline.children.get(name))
        pd.testing.assert_frame_equal(
            mine.sort_values(by).reset_index(drop=True), link.sort_values(by).reset_index(drop=True), check_like=True
        )


def test_page_size_and_empty_results(source, client):
    pages = list(source.pages("session", sort=["-date_time"], page_size=40))
    # 40 records a page; each later page starts on the seam record, so brings 39 new ones.
    assert [p.raw_count for p in pages[:-1]] == [40] * (len(pages) - 1)
    assert [len(p.records) for p in pages[:-1]] == [40] + [39] * (len(pages) - 2)
    assert [r["id"] for p in pages for r in p.records] == client.read("session", sort=["-date_time"]).index.tolist()
    empty = list(source.pages("session", {"name": "no such session"}))
    assert len(empty) == 1 and empty[0].records == [] and empty[0].total == 0 and empty[0].number == 0
    with pytest.raises(BrainstemError):
        source.pages("session", page_size=0)


def test_record_matches_client_get(client, source, snapshot):
    sid = snapshot["session"].index[5]
    include = ["behaviors.setup", "projects"]
    assert source.record("session", sid.upper(), include=include) == client.get("session", sid, include=include)
    hidden = next(b for b, setup in snapshot["behavior"]["setup"].items() if setup not in snapshot["setup"].index)
    assert source.record("behavior", hidden, include=["setup", "session.projects"]) == client.get(
        "behavior", hidden, include=["setup", "session.projects"]
    )
    assert source.record("user", str(snapshot["user"].index[0]))["id"] == snapshot["user"].index[0]


def test_record_with_an_unknown_id_is_a_snapshot_error(source):
    with pytest.raises(SnapshotError, match="No session with id"):
        source.record("session", "00000000-0000-0000-0000-000000000000")


BAD_QUERIES = [
    {"filters": {"nme.icontains": "x"}},
    {"filters": {"name.gt": "x"}},
    {"filters": {"date_time.gte": "yesterday"}},
    {"filters": {"name.in": "abc"}},
    {"filters": {"name.icontains": "a\x00"}},  # PostgreSQL text cannot hold NUL
    {"filters": {"projects.nme": "x"}},
    {"sort": ["nme"]},
    {"sort": ["projects.nme"]},
    {"sort": ["extra_fields"]},
    {"include": ["name"]},
]


@pytest.mark.parametrize("query", BAD_QUERIES)
def test_bad_queries_raise_the_online_error(query, client, source):
    with pytest.raises(QueryError) as online:
        client.read("session", **query)
    with pytest.raises(QueryError) as offline:
        list(source.pages("session", **query))
    assert type(offline.value) is type(online.value)
    assert str(offline.value) == str(online.value)
    if "include" not in query:
        with pytest.raises(type(online.value), match=r".+"):
            source.select("session", query.get("filters"), query.get("sort"))


def test_a_list_filtered_by_equality_is_one_configuration_error_online_and_offline(client, source):
    # The server would answer no record at all (it compares the whole list with one text).
    with pytest.raises(ConfigurationError, match="tags.contains") as online:
        client.read("session", filters={"tags": "pilot"})
    with pytest.raises(ConfigurationError) as offline:
        source.select("session", {"tags": "pilot"})
    assert str(offline.value) == str(online.value)


def test_values_the_server_cannot_read_are_query_errors(client, source):
    # Online these pass the client's checks and the server answers 400; offline they fail at once.
    cases = [
        ("session", {"projects": "not-a-uuid"}, "not a valid UUID"),
        ("subject", {"birth_date.in": ["2023-04-16T10:00:00Z"]}, "not an ISO 8601 date"),
    ]
    for model, filters, message in cases:
        with pytest.raises(APIError):
            client.read(model, filters=filters)
        with pytest.raises(QueryError, match=message):
            source.select(model, filters)


def test_unknown_model_raises_like_online(client, source):
    with pytest.raises(UnknownNameError) as online:
        client.read("sesion")
    with pytest.raises(UnknownNameError) as offline:
        source.select("sesion")
    assert str(offline.value) == str(online.value)


def test_a_model_not_walked_cannot_be_listed(snapshot):
    only = OfflineSource(snapshot, walked=["session"])
    assert only.models == ["session"]
    with pytest.raises(SnapshotError, match=r"only .* related to other models.*snapshot of 'project'"):
        only.select("project")
    with pytest.raises(SnapshotError, match="project"):
        only.pages("project")
    pid = snapshot["project"].index[0]
    assert only.record("project", pid)["id"] == pid  # its records are still there


def test_an_include_whose_table_is_missing_names_it(client):
    sessions_only = OfflineSource(client.read_linked("session"))
    assert sessions_only.models == ["session"]
    with pytest.raises(SnapshotError, match=r"'project' table.*snapshot"):
        sessions_only.pages("session", include=["projects"])
    with pytest.raises(SnapshotError, match=r"'behavior' table"):
        sessions_only.pages("session", include=["behaviors.setup"])
    with pytest.raises(SnapshotError, match=r"'project' table"):
        sessions_only.select("session", {"projects.name.icontains": "grid"})
    # Id filters need no related table.
    assert sessions_only.select("session", {"projects.isnull": False})


def test_an_include_of_a_model_outside_the_catalog(client, snapshot):
    # Epochs have no endpoint; an include read keeps them in a table named by their list key.
    with_epochs = merged([snapshot, client.read_linked("session", include=["epochs"])])
    source = OfflineSource(with_epochs)
    online = list(client.iter_pages("session", include=["epochs"]))
    offline = list(source.pages("session", include=["epochs"]))
    assert [sorted(r["id"] for r in p.related.get("epochs", [])) for p in offline] == [
        sorted(r["id"] for r in p.related.get("epochs", [])) for p in online
    ]
    assert sum(len(p.related.get("epochs", [])) for p in offline) > 0
    with pytest.raises(SnapshotError, match="'epoch' table"):
        OfflineSource(snapshot).pages("session", include=["epochs"])
