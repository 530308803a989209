"""LinkedFrames: sideloaded or nested related records become the same linked, typed tables."""

from __future__ import annotations

import uuid
import warnings

import pandas as pd
import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

import brainstem_pandas as bsp
from brainstem_pandas.frames import FrameBuilder, LinkedFrames, TypeConflictWarning, linked_schema
from brainstem_pandas.pagination import Page

# -- generated worlds: sessions, their projects, behaviors and setups ---------------------

uuids = st.uuids(version=4).map(str)


@st.composite
def worlds(draw):
    projects = [
        {"id": i, "name": draw(st.text(min_size=1, max_size=8)), "is_public": draw(st.booleans())}
        for i in draw(st.lists(uuids, min_size=1, max_size=4, unique=True))
    ]
    setups = [
        {"id": i, "name": f"rig {n}"} for n, i in enumerate(draw(st.lists(uuids, min_size=1, max_size=3, unique=True)))
    ]
    sessions, behaviors = [], []
    for sid in draw(st.lists(uuids, min_size=0, max_size=12, unique=True)):
        chosen = draw(
            st.lists(st.sampled_from(projects), min_size=1, max_size=len(projects), unique_by=lambda p: p["id"])
        )
        own = []
        for _ in range(draw(st.integers(0, 3))):
            behavior = {
                "id": draw(uuids),
                "session": sid,
                "setup": draw(st.sampled_from(setups))["id"],
                "notes": draw(st.text(max_size=5)),
                "order": draw(st.integers(0, 5)),
            }
            behaviors.append(behavior)
            own.append(behavior)
        sessions.append(
            {
                "id": sid,
                "name": draw(st.text(min_size=1, max_size=10)),
                "date_time": draw(
                    st.one_of(
                        st.none(),
                        st.datetimes(
                            min_value=pd.Timestamp("2000-01-01").to_pydatetime(),
                            max_value=pd.Timestamp("2030-01-01").to_pydatetime(),
                        ).map(lambda d: d.isoformat() + "Z"),
                    )
                ),
                "projects": [p["id"] for p in chosen],
                "behaviors": [b["id"] for b in own],
                "extra_fields": {"rig": draw(st.sampled_from(["A", "B"])), "trials": draw(st.integers(0, 500))},
                "tags": draw(st.lists(st.sampled_from(["pilot", "drug"]), max_size=2, unique=True)),
            }
        )
    return {"sessions": sessions, "projects": projects, "behaviors": behaviors, "setups": setups}


def sideloaded_pages(world, size: int = 5) -> list[Page]:
    pages = []
    for n in range(0, max(len(world["sessions"]), 1), size):
        chunk = world["sessions"][n : n + size]
        pids = {p for s in chunk for p in s["projects"]}
        bids = {b for s in chunk for b in s["behaviors"]}
        behaviors = [b for b in world["behaviors"] if b["id"] in bids]
        setups = {b["setup"] for b in behaviors}
        pages.append(
            Page(
                n // size,
                [dict(s) for s in chunk],
                related={
                    "projects": [p for p in world["projects"] if p["id"] in pids],
                    "behaviors": behaviors,
                    "setups": [s for s in world["setups"] if s["id"] in setups],
                },
            )
        )
    return pages


def nested_pages(world, size: int = 5) -> list[Page]:
    projects = {p["id"]: p for p in world["projects"]}
    setups = {s["id"]: s for s in world["setups"]}
    behaviors = {b["id"]: {**b, "setup": setups[b["setup"]]} for b in world["behaviors"]}
    records = [
        {**s, "projects": [projects[p] for p in s["projects"]], "behaviors": [behaviors[b] for b in s["behaviors"]]}
        for s in world["sessions"]
    ]
    return [Page(n // size, records[n : n + size]) for n in range(0, max(len(records), 1), size)]


def build(pages) -> LinkedFrames:
    builder = FrameBuilder("session", include=["projects", "behaviors.setup"])
    for page in pages:
        builder.add_page(page)
    return builder.finish()


def canonical(frame: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    frame = frame.sort_index(axis=1)
    return frame.sort_values(by).reset_index(drop=True) if by else frame.sort_index()


@settings(max_examples=60, deadline=None)
@given(world=worlds(), size=st.integers(1, 6))
def test_sideloaded_and_nested_answers_give_identical_linked_frames(world, size):
    with warnings.catch_warnings():
        warnings.simplefilter("error", TypeConflictWarning)
        side, nest = build(sideloaded_pages(world, size)), build(nested_pages(world, size))
    assert set(side.tables) == set(nest.tables) and set(side.links) == set(nest.links)
    for name in side.tables:
        assert_frame_equal(canonical(side[name]), canonical(nest[name]))
    for name, link in side.links.items():
        cols = list(link.columns)
        assert_frame_equal(canonical(link, cols), canonical(nest.links[name], cols))
    # Every id appears exactly once, every relation pair exactly once, in API order.
    for key, model in (
        ("sessions", "session"),
        ("projects", "project"),
        ("behaviors", "behavior"),
        ("setups", "setup"),
    ):
        wanted = (
            {r["id"] for r in world[key]}
            if key != "projects" and key != "setups"
            else {r["id"] for r in world[key]}
            & ({p for s in world["sessions"] for p in s["projects"]} | {b["setup"] for b in world["behaviors"]})
        )
        table = side.tables.get(model)
        got = list(table.index) if table is not None else []
        assert len(got) == len(set(got)) and set(got) == wanted
    pairs = side.links.get("session.projects")
    expected = [(s["id"], p, i) for s in world["sessions"] for i, p in enumerate(s["projects"])]
    got_pairs = list(pairs.itertuples(index=False, name=None)) if pairs is not None else []
    assert sorted(got_pairs) == sorted(expected)


# -- layout rules ---------------------------------------------------------------------------


def one_session(**fields) -> LinkedFrames:
    builder = FrameBuilder("session")
    builder.add_records("session", [{"id": "s1", "name": "a", **fields}])
    return builder.finish()


def test_to_many_relations_become_link_tables_in_api_order():
    lf = one_session(datastorage=["d3", "d1", "d2"], projects=["p1"])
    link = lf.links["session.datastorage"]
    assert list(link.columns) == ["session_id", "datastorage_id", "position"]
    assert link["datastorage_id"].tolist() == ["d3", "d1", "d2"] and link["position"].tolist() == [0, 1, 2]
    assert "datastorage" not in lf["session"].columns and "projects" not in lf["session"].columns


def test_lists_of_objects_become_child_tables_and_objects_expand():
    lf = one_session(
        download_links=[{"repository": "DANDI", "url": "https://d/1"}, {"repository": "Zenodo", "url": "https://z/2"}],
        extra_fields={"rig": "B", "trials": 12, "temp": 21.5},
    )
    child = lf.children["session.download_links"]
    assert child[["session_id", "position", "repository"]].values.tolist() == [["s1", 0, "DANDI"], ["s1", 1, "Zenodo"]]
    frame = lf["session"]
    assert frame.loc["s1", "extra_fields.rig"] == "B"
    assert str(frame["extra_fields.trials"].dtype) == "Int64" and str(frame["extra_fields.temp"].dtype) == "Float64"


def test_values_that_cannot_share_a_type_are_kept_as_text_with_a_warning():
    builder = FrameBuilder("session")
    with pytest.warns(TypeConflictWarning) as caught:
        builder.add_records(
            "session",
            [
                {"id": "s1", "name": "a", "extra_fields": {"x": 1}},
                {"id": "s2", "name": "b", "extra_fields": {"x": "seven"}},
                {"id": "s3", "name": "c", "date_time": 12345},
            ],
        )
        lf = builder.finish()
    names = " ".join(str(w.message) for w in caught)
    assert "session.extra_fields.x" in names and "session.date_time" in names
    assert lf["session"]["extra_fields.x"].tolist()[:2] == ["1", "seven"]
    assert lf["session"].loc["s3", "date_time"] == "12345"


def test_type_conflicts_across_pages_are_kept_as_text_with_a_warning():
    builder = FrameBuilder("session")
    builder.add_records("session", [{"id": "s1", "name": "a", "extra_fields": {"n": 1}}])
    builder.add_records("session", [{"id": "s2", "name": "b", "extra_fields": {"n": "two"}}])
    with pytest.warns(TypeConflictWarning, match="session.extra_fields.n"):
        lf = builder.finish()
    assert lf["session"]["extra_fields.n"].tolist() == ["1", "two"]


def test_declared_dtypes_and_empty_results_share_the_schema():
    empty = FrameBuilder("subject").finish()["subject"]
    assert list(empty.columns) == list(linked_schema("subject"))
    builder = FrameBuilder("subject")
    builder.add_records(
        "subject",
        [{"id": "a", "name": "m1", "sex": "F", "birth_date": "2024-02-03", "strain": "st1", "projects": ["p"]}],
    )
    full = builder.finish()["subject"]
    assert full.dtypes[list(empty.columns)].equals(empty.dtypes)
    assert str(full["birth_date"].dtype) == "date32[day][pyarrow]"
    assert full.index.dtype == empty.index.dtype == "string"


def test_unknown_models_are_laid_out_by_inference():
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    builder = FrameBuilder("brains")
    builder.add_records(
        "brains",
        [
            {
                "id": 1,
                "name": "x",
                "regions": [a, b],
                "verified": True,
                "meta": {"scanner": "MRI", "tesla": 7},
                "files": [{"name": "f", "size": 3}],
            }
        ],
    )
    lf = builder.finish()
    assert lf["brains"].index.dtype == "Int64"
    assert lf.links["brains.regions"]["regions_id"].tolist() == [a, b]
    assert lf["brains"].loc[1, "meta.tesla"] == 7 and lf.children["brains.files"].loc[0, "size"] == 3


def test_duplicates_across_pages_are_kept_once():
    builder = FrameBuilder("session")
    builder.add_page(
        Page(0, [{"id": "s1", "name": "a", "projects": ["p"]}], related={"projects": [{"id": "p", "name": "P"}]})
    )
    builder.add_page(
        Page(1, [{"id": "s2", "name": "b", "projects": ["p"]}], related={"projects": [{"id": "p", "name": "P"}]})
    )
    lf = builder.finish()
    assert lf["project"].index.tolist() == ["p"] and len(lf.links["session.projects"]) == 2


# -- against the sandbox ---------------------------------------------------------------------


def raw_walk(sb, path: str, key: str, include: list[str]) -> tuple[list[dict], dict[str, dict]]:
    records, related, offset = [], {}, 0
    headers = {"Authorization": f"Bearer {sb.token}"}
    while True:
        params = [("limit", 100), ("offset", offset), ("sort[]", "id")] + [("include[]", i) for i in include]
        body = requests.get(sb.url + path, params=params, headers=headers, timeout=60).json()
        records += body[key]
        for k, v in body.items():
            if isinstance(v, list) and k != key:
                related.setdefault(k, {}).update({r["id"]: r for r in v})
        offset += 100
        if offset >= body["count"]:
            return records, related


def test_read_linked_sessions_match_the_sandbox(sandbox):
    include = ["projects", "behaviors", "dataacquisition", "manipulations", "datastorage"]
    client = bsp.connect(sandbox.url, token=sandbox.token, progress=False)
    lf = client.read_linked("session", include=include)
    records, related = raw_walk(sandbox, "/api/private/stem/session/", "sessions", include)
    assert set(lf["session"].index) == {r["id"] for r in records}
    for key, model in (
        ("projects", "project"),
        ("behaviors", "behavior"),
        ("data_acquisitions", "dataacquisition"),
        ("manipulations", "manipulation"),
        ("datastorages", "datastorage"),
    ):
        assert set(lf[model].index) == set(related.get(key, {})), model
    for field in ("projects", "behaviors", "dataacquisition", "manipulations", "datastorage", "epochs"):
        link = lf.links[f"session.{field}"]
        expected = [(r["id"], v, i) for r in records for i, v in enumerate(r[field])]
        assert sorted(link.itertuples(index=False, name=None)) == sorted(expected), field
    session = records[0]
    row = lf["session"].loc[session["id"]]
    assert row["name"] == session["name"] and row["date_time"] == pd.Timestamp(session["date_time"])
    for key, value in session["extra_fields"].items():
        assert row[f"extra_fields.{key}"] == value
    behavior = next(iter(related["behaviors"].values()))
    assert lf["behavior"].loc[behavior["id"], "session"] == behavior["session"]
    merged = lf.merge("session", "projects")
    assert len(merged) == sum(len(r["projects"]) for r in records)
    assert merged["projects.name"].notna().all()


def test_read_linked_subjects_match_the_sandbox(sandbox):
    include = ["procedures", "subjectlogs", "strain"]
    client = bsp.connect(sandbox.url, token=sandbox.token, progress=False)
    lf = client.read_linked("subject", include=include)
    records, related = raw_walk(sandbox, "/api/private/stem/subject/", "subjects", include)
    assert set(lf["subject"].index) == {r["id"] for r in records}
    assert set(lf["procedure"].index) == set(related["procedures"])
    assert set(lf["subjectlog"].index) == set(related["subject_logs"])
    assert set(lf["strain"].index) == set(related["strains"])
    strain_of = {r["id"]: r["strain"] for r in records}
    assert lf["subject"]["strain"].to_dict() == strain_of
    entries = lf.children["subjectlog.entries"]
    assert len(entries) == sum(len(log["entries"]) for log in related["subject_logs"].values())
    joined = lf.merge("subject", "strain")
    assert (joined["strain.name"].notna()).all()


def test_related_gives_one_records_neighbourhood(sandbox):
    client = bsp.connect(sandbox.url, token=sandbox.token, progress=False)
    lf = client.read_linked("session", include=["behaviors", "projects"])
    sid = lf.links["session.behaviors"]["session_id"].iloc[0]
    hood = lf.related("session", sid)
    assert hood["session"].index.tolist() == [sid]
    assert set(hood["behavior"].index) == set(lf["behavior"].index[lf["behavior"]["session"] == sid])
    assert set(hood["project"].index) == set(lf.links["session.projects"].query("session_id == @sid")["project_id"])


def test_repr_and_html_summaries(sandbox):
    client = bsp.connect(sandbox.url, token=sandbox.token, progress=False)
    lf = client.read_linked("session", include=["projects"])
    text = repr(lf)
    assert "session.projects" in text and f"{len(lf['session']):,} rows" in text
    page = lf._repr_html_()
    assert "<table>" in page and "session.projects" in page
    assert set(lf.to_dict()) >= {"session", "project", "session.projects"}


def test_the_same_builder_serves_the_page_number_api(sandbox):
    client = bsp.Client(sandbox.url, None, progress=False)
    flat = client.read_url("/brainmaps/v1/brains/")
    lf = client.read_url_linked("/brainmaps/v1/brains/", "brain")
    brains = lf["brain"]
    assert len(brains) == len(flat) == 300 and brains.index.is_unique
    assert str(brains.index.dtype) == "Int64"
    assert set(flat.columns) - {"file"} <= set(c.split(".")[0] for c in brains.columns) | set(lf.children)
    assert str(brains["verified"].dtype) == "boolean"
