"""The snapshot column scheme: any flat column names become safe, unique file names and read back exactly."""

from __future__ import annotations

import re

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brainstem_pandas.snapshot import columns

PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# Names as a hostile server may send them: dots, case twins, empty, long, control characters, non-ASCII.
NAMES = st.lists(
    st.one_of(
        st.text(max_size=80),
        st.sampled_from(["a", "A", "a.b", "a.B", "a.", ".a", "", "extra_fields", "extra_fields.x", "1st", "k" * 100]),
    ),
    unique=True,
    max_size=25,
)


def _safe(names: list[str]) -> bool:
    return all(PLAIN.fullmatch(n) for n in names) and len({n.lower() for n in names}) == len(names)


@settings(max_examples=300, deadline=None)
@given(NAMES)
def test_any_names_get_safe_unique_paths_that_read_back_exactly(names):
    where = columns.paths(names)
    flat = pa.schema([(name, pa.int64()) for name in names])
    schema = columns.file_schema(flat, where)
    assert _safe(schema.names)
    for field in schema:
        if pa.types.is_struct(field.type):
            assert _safe([f.name for f in field.type])
    batch = pa.RecordBatch.from_arrays([pa.array([i, None]) for i in range(len(names))], schema=flat)
    table = pa.Table.from_batches([columns.file_batch(batch, schema, where)])
    back = columns.flat_arrays(table, list(where.items()))
    assert {n: a.to_pylist() for n, a in back.items()} == {n: [i, None] for i, n in enumerate(names)}


def test_a_field_sent_as_text_and_as_an_object_keeps_both():
    where = columns.paths(["extra_fields", "extra_fields.trials"])
    assert where["extra_fields"] == ("extra_fields",)
    assert where["extra_fields.trials"][0].startswith("extra_fields_") and where["extra_fields.trials"][1] == "trials"


def test_a_null_struct_written_by_another_tool_reads_as_null_keys():
    table = pa.table({"o": pa.array([{"k": 1}, None], type=pa.struct([("k", pa.int64())]))})
    assert columns.flat_arrays(table, [("o.k", ("o", "k"))])["o.k"].to_pylist() == [1, None]


def test_pandas_reads_the_files_with_the_dtypes_of_linked_frames(tmp_path):
    arrays = {
        "n": pa.array([1, None]),
        "b": pa.array([True, None]),
        "d": pa.array([19000, None], pa.date32()),
        "t": pa.array([0, None], pa.timestamp("us", tz="UTC")),
        "tags": pa.array([["a"], None], pa.list_(pa.string())),
        "extra_fields": pa.array([{"k": 1}, {"k": None}]),
    }
    table = pa.table(arrays)
    table = table.replace_schema_metadata({b"pandas": columns.pandas_metadata(table.schema)})
    pq.write_table(table, tmp_path / "part-0.parquet")
    frame = pd.read_parquet(tmp_path)
    assert [str(t) for t in frame.dtypes] == ["Int64", "boolean", "date32[day][pyarrow]", "datetime64[us, UTC]"] + [
        "object"
    ] * 2
    assert list(frame["tags"][0]) == ["a"] and frame["extra_fields"][0] == {"k": 1}


def test_lists_read_from_parquet_are_renamed_into_valid_arrays_even_sliced(tmp_path):
    # Arrow (26) casts list<element: struct<: null>> to an invalid array; retyped rebuilds it instead.
    values = [[[None, {"": None}]], None, [[{"": None}], []], [None]]
    pq.write_table(pa.table({"c": pa.array(values)}), tmp_path / "f.parquet")
    read = pq.read_table(tmp_path / "f.parquet").column("c")
    assert str(read.type) == "list<element: list<element: struct<: null>>>"
    for start, stop in [(0, 4), (1, 4), (2, 3), (3, 4)]:
        back = columns.retyped(pa.chunked_array([read.chunk(0)[start:stop]]))
        back.validate(full=True)
        assert str(back.type) == "list<item: list<item: struct<: null>>>" and back.to_pylist() == values[start:stop]


def test_a_type_parquet_cannot_hold_is_found_at_any_depth():
    empty = pa.struct([])
    for kind in (empty, pa.list_(empty), pa.struct([("a", pa.list_(pa.list_(empty)))])):
        assert not columns.parquet_holds(kind) and columns.file_type(kind) == pa.string()
        assert columns.encoding(kind)["encoding"] == "json"
    assert columns.parquet_holds(pa.list_(pa.struct([("", pa.null())]))) and columns.encoding(pa.int64()) == {}


def test_json_text_that_is_not_its_encoding_is_refused():
    entry = {"name": "x", **columns.encoding(pa.list_(pa.struct([])))}
    for text, damage in [(["[{}"], {}), (["[1]"], {}), (["[{}]"], {"type": "not base64!"}), (["[{}]"], {"type": ""})]:
        with pytest.raises(ValueError, match="does not hold its encoding"):
            columns.decoded(pa.chunked_array([pa.array(text)]), {**entry, **damage})
    with pytest.raises(ValueError, match="does not hold its encoding"):
        columns.decoded(pa.chunked_array([pa.array(["[" * 100_000])]), entry)  # bounded: no RecursionError
