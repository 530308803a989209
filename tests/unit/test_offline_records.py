"""Records rebuilt from hand-laid tables (frames/layout names), and pages served from them: no server.

tests/integration/test_offline.py checks the same on a real snapshot against the
sandbox's own answers; here each table is written out by hand, so each rule of the
layout (link tables, child tables, ``field.key`` columns) is visible.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from brainstem_pandas.errors import SnapshotError
from brainstem_pandas.frames import LinkedFrames, layout
from brainstem_pandas.offline import OfflineSource
from brainstem_pandas.offline.records import Tables

S1, S2 = "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"
P1, P2 = "00000000-0000-4000-8000-0000000000a1", "00000000-0000-4000-8000-0000000000a2"
E1 = "00000000-0000-4000-8000-0000000000e1"


def _index(ids: list[str]) -> pd.Index:
    return pd.Index(ids, name=layout.INDEX, dtype="string[pyarrow]")


def frames(*, epochs: bool = True, projects: bool = True) -> LinkedFrames:
    """Two sessions (one with projects, links, extra fields and epochs) and two projects."""
    session = pd.DataFrame(
        {
            "name": pd.array(["Rat 1", "rat 2"], dtype="string[pyarrow]"),
            "date_time": pd.to_datetime(["2024-05-01T12:00:00Z", None], utc=True),
            layout.expanded_column("extra_fields", "trials"): pd.array([3, None], dtype="Int64"),
            layout.expanded_column("extra_fields", "rig"): pd.array(["A", None], dtype="string[pyarrow]"),
            "tags": pd.array([["pilot"], []], dtype=pd.ArrowDtype(pa.list_(pa.string()))),
        },
        index=_index([S1, S2]),
    )
    project = pd.DataFrame({"name": ["Grid cells", "Place cells"], "is_public": [True, False]}, index=_index([P1, P2]))
    parent = layout.parent_column("session")
    # The link rows are out of order: position says the API's order (P2 before P1).
    target = layout.link_target_column("session", "projects", "project")
    projects_link = pd.DataFrame({parent: [S1, S1], target: [P1, P2], layout.POSITION: [1, 0]})
    links = {layout.table_name("session", "projects"): projects_link}
    tables = {"session": session, "project": project} if projects else {"session": session}
    if epochs:
        epoch_col = layout.link_target_column("session", "epochs", "epoch")
        links[layout.table_name("session", "epochs")] = pd.DataFrame({parent: [S1], epoch_col: [E1], "position": [0]})
        tables["epochs"] = pd.DataFrame({"name": ["baseline"]}, index=_index([E1]))  # named by its response key
    item_position = layout.child_column("download_links", "position", parent)
    children = {
        layout.table_name("session", "download_links"): pd.DataFrame(
            {
                parent: [S1, S1],
                layout.POSITION: [1, 0],
                "repository": ["DANDI", "OSF"],
                "url": ["https://dandiarchive.org/1", None],
                item_position: pd.array([7, None], dtype="Int64"),  # the object's own "position" field, kept apart
            }
        )
    }
    return LinkedFrames("session", tables, links, children, {})


def test_records_are_api_shaped():
    first, second = OfflineSource(frames()).records("session")
    assert first["id"] == S1 and first["name"] == "Rat 1"
    assert first["date_time"] == "2024-05-01T12:00:00Z" and second["date_time"] is None
    assert first["projects"] == [P2, P1] and second["projects"] == []  # position order
    assert first["extra_fields"] == {"trials": 3, "rig": "A"} and second["extra_fields"] == {}
    assert first["download_links"] == [
        {"repository": "OSF"},
        {"repository": "DANDI", "url": "https://dandiarchive.org/1", "position": 7},
    ]
    assert second["download_links"] == []
    assert first["tags"] == ["pilot"] and first["epochs"] == [E1]
    assert list(first)[:4] == ["id", "name", "description", "projects"]  # the catalog's field order


def test_a_model_outside_the_catalog_is_found_by_the_ids_that_name_it():
    tables = Tables(frames())
    assert tables.name("epoch") == "epochs" and tables.list_key("epoch") == "epochs"
    with pytest.raises(SnapshotError, match="'epoch' table"):
        Tables(frames(epochs=False)).name("epoch")


def test_pages_filter_sort_and_sideload():
    source = OfflineSource(frames())
    [page] = source.pages("session", {"name.istartswith": "RAT"}, ["-name"], ["projects", "epochs"])
    assert [r["id"] for r in page.records] == [S2, S1]  # "r" > "R" by bytes
    assert {r["id"] for r in page.related["projects"]} == {P1, P2}
    assert [r["name"] for r in page.related["epochs"]] == ["baseline"]
    assert [r["id"] for r in source.select("session", {"projects.name": "Grid cells"})] == [S1]
    assert [r["id"] for r in source.select("session", {"projects.isnull": True})] == [S2]


def test_a_record_embeds_what_it_includes():
    record = OfflineSource(frames()).record("session", S1.upper(), include=["projects"])
    assert [p["name"] for p in record["projects"]] == ["Place cells", "Grid cells"]


def test_missing_tables_are_named():
    source = OfflineSource(frames(projects=False))
    with pytest.raises(SnapshotError, match="'project' table"):
        source.pages("session", include=["projects"])
    with pytest.raises(SnapshotError, match="cannot list project"):
        source.select("project")
    assert [r["id"] for r in source.select("session", {"projects.isnull": False})] == [S1]  # ids need no table
