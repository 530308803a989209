"""The frames builder on plain dict pages (no server): layout, de-duplication, nesting, re-walks, spilling."""

from __future__ import annotations

import uuid
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from brainstem_pandas.frames import (
    BATCH,
    CastFailed,
    FrameBuilder,
    LinkedFrames,
    TypeConflictWarning,
    arrow_frame,
    nested_records,
    records_frame,
)


def uid() -> str:
    return str(uuid.uuid4())


def page(records: list[dict[str, Any]], **related: list[dict[str, Any]]) -> SimpleNamespace:
    """A page as pagination gives it: the primary records and the sideloaded lists by response key."""
    return SimpleNamespace(records=records, related=related)


def world(sessions: int = 7) -> dict[str, list[dict[str, Any]]]:
    setups = [{"id": uid(), "name": f"rig {n}"} for n in range(2)]
    projects = [{"id": uid(), "name": f"project {n}", "is_public": n % 2 == 0} for n in range(3)]
    behaviors, out = [], []
    for n in range(sessions):
        sid = uid()
        own = [
            {"id": uid(), "session": sid, "setup": setups[(n + k) % 2]["id"], "notes": f"b{k}"} for k in range(n % 3)
        ]
        behaviors += own
        out.append(
            {
                "id": sid,
                "name": f"session {n}",
                "date_time": f"2024-01-{n + 1:02d}T10:00:00Z",
                "projects": [p["id"] for p in projects[: 1 + n % 3]],
                "behaviors": [b["id"] for b in own],
                "tags": ["pilot"] if n % 2 else [],
                "extra_fields": {"trials": n},
            }
        )
    return {"sessions": out, "projects": projects, "behaviors": behaviors, "setups": setups}


def sideloaded(w: dict[str, list[dict[str, Any]]], size: int = 3) -> list[SimpleNamespace]:
    return [
        page(w["sessions"][n : n + size], projects=w["projects"], behaviors=w["behaviors"], setups=w["setups"])
        for n in range(0, len(w["sessions"]), size)
    ]


def nested(w: dict[str, list[dict[str, Any]]], size: int = 3) -> list[SimpleNamespace]:
    """Related records inline, two levels deep (session -> behaviors -> setup), with nothing sideloaded."""
    projects = {p["id"]: p for p in w["projects"]}
    setups = {s["id"]: s for s in w["setups"]}
    behaviors = {b["id"]: {**b, "setup": setups[b["setup"]]} for b in w["behaviors"]}
    records = [
        {**s, "projects": [projects[p] for p in s["projects"]], "behaviors": [behaviors[b] for b in s["behaviors"]]}
        for s in w["sessions"]
    ]
    return [page(records[n : n + size]) for n in range(0, len(records), size)]


def build(pages: list[SimpleNamespace], **options: Any) -> LinkedFrames:
    builder = FrameBuilder("session", include=["projects", "behaviors.setup"], **options)
    for p in pages:
        builder.add_page(p)
    return builder.finish()


def same(a: LinkedFrames, b: LinkedFrames) -> None:
    assert list(a.tables) == list(b.tables) and list(a.links) == list(b.links) and list(a.children) == list(b.children)
    for name, frame in a.to_dict().items():
        other = b[name]
        if name in a.tables:
            frame, other = frame.sort_index(), other.sort_index()
        else:
            frame = frame.sort_values(list(frame.columns)).reset_index(drop=True)
            other = other.sort_values(list(other.columns)).reset_index(drop=True)
        assert_frame_equal(frame, other, check_like=False)


def test_nested_records_are_extracted_by_the_builder_itself():
    w = world()
    side, nest = build(sideloaded(w)), build(nested(w))
    same(side, nest)
    used_setups = {b["setup"] for b in w["behaviors"]}
    assert set(nest["setup"].index) == used_setups and set(nest["behavior"].index) == {b["id"] for b in w["behaviors"]}
    assert nest["behavior"]["setup"].isin(used_setups).all()  # the nested object became its id


def test_nested_records_helper_gives_them_as_sideloading_would():
    w = world()
    records = [r for p in nested(w) for r in p.records]
    found = nested_records(records, "session")
    assert set(found) == {"projects", "behaviors", "setups"}
    assert {r["id"] for r in found["behaviors"]} == {b["id"] for b in w["behaviors"]}
    assert {r["id"] for r in found["setups"]} == {b["setup"] for b in w["behaviors"]}
    assert nested_records([r for p in sideloaded(w) for r in p.records], "session") == {}


def test_link_tables_keep_api_order_and_leave_the_model_table():
    w = world()
    lf = build(sideloaded(w))
    link = lf.links["session.projects"]
    expected = [(s["id"], p, i) for s in w["sessions"] for i, p in enumerate(s["projects"])]
    assert sorted(link.itertuples(index=False, name=None)) == sorted(expected)
    assert "projects" not in lf["session"].columns and "behaviors" not in lf["session"].columns
    assert str(link["position"].dtype) == "Int64" and str(link["session_id"].dtype) == "string"


def test_records_sent_twice_are_kept_once():
    w = world()
    pages = sideloaded(w)
    lf = build(pages + pages[:1])
    assert lf["session"].index.is_unique and len(lf["session"]) == len(w["sessions"])
    assert len(lf["project"]) == len(w["projects"])
    assert len(lf.links["session.projects"]) == sum(len(s["projects"]) for s in w["sessions"])


def test_an_empty_result_has_the_columns_and_dtypes_of_a_full_one():
    full, empty = build(sideloaded(world())), build([])
    assert list(full.tables) == list(empty.tables)
    for name in empty.tables:
        declared = list(empty[name].columns)
        assert list(full[name].columns[: len(declared)]) == declared
        assert full[name].dtypes[declared].equals(empty[name].dtypes)
        assert full[name].index.dtype == empty[name].index.dtype
    for name, link in empty.links.items():
        assert full.links[name].dtypes.equals(link.dtypes)


def test_read_and_read_linked_type_shared_columns_alike():
    w = world()
    flat = records_frame("session", w["sessions"])
    table = build(sideloaded(w))["session"]
    shared = [c for c in flat.columns if c in table.columns]
    assert {"name", "date_time", "tags"} <= set(shared)
    assert all(flat[c].dtype == table[c].dtype for c in shared)
    assert str(flat["tags"].dtype) == "list<item: string>[pyarrow]" and str(flat["projects"].dtype) == str(
        flat["tags"].dtype
    )
    assert flat["extra_fields"].tolist() == [s["extra_fields"] for s in w["sessions"]]  # JSON as sent


def test_more_than_a_batch_converts_in_batches_to_the_same_frames():
    rows = [{"id": f"s{n:05d}", "name": str(n), "extra_fields": {"n": n}} for n in range(BATCH + 10)]
    one = FrameBuilder("session")
    one.add_records("session", rows)
    many = FrameBuilder("session")
    for n in range(0, len(rows), 100):
        many.add_records("session", rows[n : n + 100])
    a, b = one.finish()["session"], many.finish()["session"]
    assert len(a) == BATCH + 10
    assert_frame_equal(a, b)


def test_rollback_forgets_what_a_failed_walk_added():
    w = world()
    pages = sideloaded(w)
    builder = FrameBuilder("session", include=["projects"])
    builder.add_page(pages[0])
    mark = builder.checkpoint()
    builder.add_page(pages[1])
    builder.add_records("brains", [{"id": 1}])  # a table made after the mark goes too
    builder.rollback(mark)
    builder.add_page(pages[1])
    lf = builder.finish()
    assert "brains" not in lf.tables
    assert set(lf["session"].index) == {s["id"] for s in w["sessions"][:6]}
    assert len(lf.links["session.projects"]) == sum(len(s["projects"]) for s in w["sessions"][:6])


def test_spilled_builds_equal_in_memory_builds(tmp_path: Path):
    w = world(20)
    same(build(sideloaded(w)), build(sideloaded(w), spill=tmp_path / "spill"))
    assert any((tmp_path / "spill").rglob("*.arrow"))


def streamed(builder: FrameBuilder) -> dict[str, pd.DataFrame]:
    """Frames as the snapshot writer streams them: plans first, then chunk by chunk."""
    import pyarrow as pa

    out = {}
    for layout in builder.layouts():
        plans = layout.plans()
        try:
            batches = list(layout.batches(plans))
        except CastFailed as failed:
            name = next(n for n, p in plans.items() if p.label == failed.column)
            plans[name] = plans[name].fallback()
            batches = list(layout.batches(plans))
        table = pa.Table.from_batches(batches, schema=pa.schema([(n, p.target) for n, p in plans.items()]))
        out[layout.name] = arrow_frame(dict(zip(table.column_names, table.columns)), indexed=layout.kind == "table")
    return out


def test_streamed_layouts_give_the_frames_of_an_in_memory_build():
    w = world()
    builder = FrameBuilder("session", include=["projects", "behaviors.setup"])
    for p in sideloaded(w):
        builder.add_page(p)
    frames = streamed(builder)
    lf = build(sideloaded(w))
    assert set(frames) == set(lf.to_dict())
    for name, frame in lf.to_dict().items():
        assert_frame_equal(frames[name], frame)


def test_values_that_do_not_fit_are_kept_as_text_with_a_warning():
    builder = FrameBuilder("session")
    builder.add_records("session", [{"id": "s1", "date_time": "2024-01-01T00:00:00Z", "extra_fields": {"x": 1}}])
    builder.add_records("session", [{"id": "s2", "date_time": "not a date", "extra_fields": {"x": "one"}}])
    with pytest.warns(TypeConflictWarning) as caught:
        lf = builder.finish()
    messages = " ".join(str(w.message) for w in caught)
    assert "session.date_time" in messages and "session.extra_fields.x" in messages
    assert lf["session"].loc["s2", "date_time"] == "not a date" and lf["session"]["extra_fields.x"].tolist() == [
        "1",
        "one",
    ]


def test_merge_and_related_walk_the_links():
    w = world()
    with warnings.catch_warnings():
        warnings.simplefilter("error", TypeConflictWarning)
        lf = build(sideloaded(w))
    merged = lf.merge("session", "projects")
    assert len(merged) == sum(len(s["projects"]) for s in w["sessions"]) and merged["projects.name"].notna().all()
    assert merged.columns[:3].tolist() == ["session_id", "project_id", "position"]
    session = w["sessions"][2]
    hood = lf.related("session", session["id"])
    assert hood["session"].index.tolist() == [session["id"]]
    assert set(hood["behavior"].index) == set(session["behaviors"])
    assert set(hood["project"].index) == set(session["projects"])
    with pytest.raises(KeyError, match="relations: .*projects"):
        lf.merge("session", "project")
