"""Map-like JSON fields (objects keyed by e-mail or group name) as child tables, one row per key.

Built from plain records (no server): the builder's table, what an empty, null or odd map
gives, what a hostile value raises, the merge, the offline rebuild of the API's object, a
snapshot round trip on disk and the diff by (parent id, key).
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import brainstem_pandas as bsp
from brainstem_pandas import catalog
from brainstem_pandas.frames import FrameBuilder, TypeConflictWarning
from brainstem_pandas.offline.records import Tables
from brainstem_pandas.snapshot import read_snapshot, write_frames
from brainstem_pandas.testing import MOCK_URL, MockTransport, serve_offset

P1, P2, P3 = (f"{n:08d}-0000-4000-8000-000000000000" for n in (1, 2, 3))
OWNER = {"can_change": True, "is_manager": True, "is_owner": True}
READER = {"can_change": False, "is_manager": False, "is_owner": False}
ODD_KEYS = ["first.last@lab.org", "", "a b", "ünïcode@例え.jp", 'quote"s', "x" * 300, "users.user", "0"]


def projects(**changes) -> list[dict]:
    out = [
        {
            "id": P1,
            "name": "one",
            "users": {"ann@lab.org": OWNER, "bob@lab.org": READER},
            "groups": {"Buzsaki lab": {**READER, "can_change": True}},
        },
        {"id": P2, "name": "two", "users": {}, "groups": None},
        {"id": P3, "name": "three", "users": {k: READER for k in ODD_KEYS}, "groups": {}},
    ]
    for record in out:
        record.update(changes.get(record["id"], {}))
    return out


def build(records: list[dict], model: str = "project") -> bsp.LinkedFrames:
    builder = FrameBuilder(model)
    builder.add_records(model, records)
    return builder.finish()


def test_the_catalog_marks_the_map_fields_with_their_key_and_entries():
    maps = {(m.name, f.name): f.map for m in catalog.all_models().values() for f in m.maps}
    assert set(maps) == {("project", "users"), ("project", "groups"), ("group", "users")}
    assert maps["project", "groups"].key == "group" and "name" in maps["project", "groups"].key_is
    assert dict(maps["group", "users"].values) == {"is_manager": "boolean", "is_owner": "boolean"}


def test_one_row_per_key_with_typed_entry_columns_and_no_column_per_member():
    lf = build(projects())
    assert not [c for c in lf["project"].columns if c.startswith(("users", "groups"))]
    users = lf.children["project.users"]
    assert users.columns.tolist() == ["project_id", "user", "can_change", "is_manager", "is_owner"]
    assert users.dtypes.astype(str).tolist() == ["string", "string", "boolean", "boolean", "boolean"]
    assert users[users["project_id"] == P1][["user", "is_owner"]].values.tolist() == [
        ["ann@lab.org", True],
        ["bob@lab.org", False],
    ]
    groups = lf.children["project.groups"]
    assert groups.values.tolist() == [[P1, "Buzsaki lab", True, False, False]]


def test_empty_and_null_maps_have_no_rows_and_an_empty_result_has_the_same_columns():
    lf = build(projects())
    assert P2 not in set(lf.children["project.users"]["project_id"])
    assert set(lf.children["project.groups"]["project_id"]) == {P1}
    empty = build([]).children["project.users"]
    assert empty.dtypes.equals(lf.children["project.users"].dtypes) and len(empty) == 0
    assert build([{"id": P1, "name": "no maps sent"}]).children["project.users"].empty


def test_keys_with_dots_and_odd_characters_are_kept_exactly():
    users = build(projects()).children["project.users"]
    assert users[users["project_id"] == P3]["user"].tolist() == ODD_KEYS


def test_group_members_are_keyed_by_integer_group_ids():
    lf = build([{"id": 7, "name": "Lab", "users": {"ann@lab.org": {"is_manager": True, "is_owner": False}}}], "group")
    users = lf.children["group.users"]
    assert users.columns.tolist() == ["group_id", "user", "is_manager", "is_owner"]
    assert str(users["group_id"].dtype) == "Int64" and users["group_id"].tolist() == [7]


def test_undocumented_and_nested_entry_fields_follow_and_clashes_are_kept_as_text():
    odd = {"ann@lab.org": {**OWNER, "since": 2021, "via": {"invite": 3}}, "bob@lab.org": {"can_change": "yes"}}
    with pytest.warns(TypeConflictWarning, match="project.users.can_change"):
        users = build(projects(**{P1: {"users": odd}})).children["project.users"]
    rows = users[users["project_id"] == P1]
    assert rows.columns.tolist()[-2:] == ["since", "via"]
    assert rows["via"].tolist()[0] == '{"invite": 3}' and rows["can_change"].tolist() == ["True", "yes"]


@pytest.mark.parametrize(
    "value, phrase",
    [
        (["ann@lab.org"], "it is list"),
        ("ann@lab.org", "it is str"),
        (3, "it is int"),
        ({"ann@lab.org": True}, "its entry 'ann@lab.org' is bool"),
        ({"ann@lab.org": None}, "its entry 'ann@lab.org' is NoneType"),
        ({"ann@lab.org": ["can_change"]}, "its entry 'ann@lab.org' is list"),
        ({"ann@lab.org": {"user": 1}, "bob@lab.org": {"users.user": 2}}, "two entry fields would share one column"),
    ],
)
def test_a_map_or_entry_that_is_not_an_object_is_a_response_error(value, phrase):
    with pytest.raises(bsp.ResponseError, match="keyed by the member's e-mail address") as caught:
        build(projects(**{P1: {"users": value}}))
    assert phrase in str(caught.value) and "report the record" in str(caught.value)


def test_a_hostile_server_map_fails_the_read_with_a_response_error_after_one_request():
    records = projects(**{P2: {"groups": ["Buzsaki lab"]}})
    client = bsp.Client(MOCK_URL, None, progress=False)
    mock = MockTransport(serve_offset(records, "projects"))
    mock.install(client.transport)
    with pytest.raises(bsp.ResponseError, match="'groups' should be an object keyed by the group's name"):
        client.read_linked("project")
    assert len(mock.requests) == 1


def test_merge_joins_each_project_with_its_members():
    lf = build(projects())
    joined = lf.merge("project", "users")
    assert joined.columns.tolist()[:2] == ["project_id", "name"]
    assert joined.groupby("project_id")["users.user"].count().to_dict() == {P1: 2, P2: 0, P3: len(ODD_KEYS)}
    inner = lf.merge("project", "users", how="inner")
    assert P2 not in set(inner["project_id"]) and len(inner) == 2 + len(ODD_KEYS)
    owners = inner[inner["users.is_owner"].fillna(False)]
    assert owners[["name", "users.user"]].values.tolist() == [["one", "ann@lab.org"]]


def test_offline_records_rebuild_the_objects_the_server_sent():
    sent = projects()
    rebuilt = {r["id"]: r for r in Tables(build(sent)).shape("project").rows()}
    for record in sent:
        assert rebuilt[record["id"]]["users"] == record["users"]
        assert rebuilt[record["id"]]["groups"] == (record["groups"] or {})  # a null map is rebuilt as {}
    assert list(rebuilt[P3]["users"]) == ODD_KEYS  # keys in the order sent


def test_a_snapshot_of_map_tables_reads_back_exactly(tmp_path):
    lf = build(projects())
    write_frames(lf, tmp_path / "snap", server="https://example.org", portal="private")
    back = read_snapshot(tmp_path / "snap")
    for name in ("project.users", "project.groups"):
        pd.testing.assert_frame_equal(back.children[name], lf.children[name], obj=name)
    assert Tables(back).shape("project").rows() == Tables(lf).shape("project").rows()


def test_the_diff_reports_a_changed_permission_and_members_by_key():
    before = build(projects())
    users = {"ann@lab.org": {**OWNER, "is_owner": False}, "cy@lab.org": READER}  # ann demoted, bob out, cy in
    after = build(projects(**{P1: {"users": users}}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        diff = bsp.diff_snapshots(before, after)
    assert diff["project.users"] == {
        "added": [f"{P1} cy@lab.org"],
        "removed": [f"{P1} bob@lab.org"],
        "changed": {f"{P1} ann@lab.org": ["is_owner"]},
    }
    assert diff["project"] == {"added": [], "removed": [], "changed": {P1: ["users"]}}
    assert "project.groups" not in diff and bsp.diff_snapshots(before, build(projects())) == {}
    nulls = {k: {**v, "since": None} for k, v in projects()[0]["users"].items()}  # a new field, never set
    assert bsp.diff_snapshots(before, build(projects(**{P1: {"users": nulls}}))) == {}


def test_a_rewalk_forgets_the_map_rows_added_since_the_checkpoint():
    builder = FrameBuilder("project")
    builder.add_records("project", projects()[:1])
    mark = builder.checkpoint()
    builder.add_records("project", projects()[1:])
    builder.rollback(mark)
    users = builder.finish().children["project.users"]
    assert set(users["project_id"]) == {P1} and len(users) == 2
