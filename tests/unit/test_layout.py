"""The names of tables and columns: written by the builder, parsed back by the same functions."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from brainstem_pandas import catalog
from brainstem_pandas.frames import FrameBuilder
from brainstem_pandas.frames.layout import (
    INDEX,
    POSITION,
    VALUE,
    child_column,
    child_field,
    column_label,
    expanded_column,
    link_target_column,
    parent_column,
    split_table_name,
    table_name,
)

NAMES = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="."), min_size=1, max_size=8)


def test_every_catalogued_relation_table_name_splits_back():
    for model in catalog.all_models().values():
        assert split_table_name(model.name) == (model.name, None)
        for f in model.fields:
            assert split_table_name(table_name(model.name, f.name)) == (model.name, f.name)


@given(model=NAMES, field=st.text(max_size=8))
def test_table_names_round_trip(model: str, field: str):
    assume(field)
    assert split_table_name(table_name(model, field)) == (model, field)


def test_link_columns_never_share_a_name():
    for model in catalog.all_models().values():
        for f in model.relations:
            if f.many:
                parent, child = parent_column(model.name), link_target_column(model.name, f.name, f.related_model)
                assert parent != child and POSITION not in (parent, child)
    assert link_target_column("subject", "parents", "subject") == "parents_id"
    assert link_target_column("brains", "regions", None) == "regions_id"


@given(field=NAMES, name=st.one_of(NAMES, st.sampled_from([POSITION, "session_id", VALUE, INDEX])))
def test_child_columns_round_trip_to_the_objects_fields(field: str, name: str):
    parent = parent_column("session")
    assume(not name.startswith(f"{field}."))  # a key spelled like a kept clash: the layout's known limit
    column = child_column(field, name, parent)
    assert column not in (parent, POSITION)
    assert child_field(field, column, parent) == name


def test_expanded_columns_and_labels():
    assert expanded_column("extra_fields", "rig") == "extra_fields.rig"
    assert column_label("session", expanded_column("extra_fields", "rig")) == "session.extra_fields.rig"


def test_the_builder_writes_the_layouts_names():
    builder = FrameBuilder("session")
    builder.add_records(
        "session",
        [
            {
                "id": "s1",
                "projects": ["p1"],
                "download_links": [{"url": "u", "position": 9, "session_id": "x"}],
                "tags": ["a"],
                "extra_fields": {"rig": "A"},
            }
        ],
    )
    lf = builder.finish()
    link = lf.links[table_name("session", "projects")]
    assert list(link.columns) == [
        parent_column("session"),
        link_target_column("session", "projects", "project"),
        POSITION,
    ]
    child = lf.children[table_name("session", "download_links")]
    parent = parent_column("session")
    assert list(child.columns) == [
        parent,
        POSITION,
        "url",
        child_column("download_links", POSITION, parent),
        child_column("download_links", parent, parent),
    ]
    assert {child_field("download_links", c, parent) for c in child.columns[2:]} == {"url", POSITION, parent}
    assert expanded_column("extra_fields", "rig") in lf["session"].columns
    assert lf["session"].index.name == INDEX


def test_lists_of_scalars_in_json_fields_become_value_columns():
    builder = FrameBuilder("session")
    builder.add_records("session", [{"id": "s1", "download_links": ["https://a", "https://b"]}])
    child = builder.finish().children[table_name("session", "download_links")]
    assert list(child.columns) == [parent_column("session"), POSITION, VALUE]
    assert child[VALUE].tolist() == ["https://a", "https://b"]
