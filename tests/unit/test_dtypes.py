"""The one dtype table: catalog type -> Arrow type -> pandas dtype, the same for read and read_linked."""

from __future__ import annotations

import uuid
import warnings
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from brainstem_pandas import catalog
from brainstem_pandas.frames import FrameBuilder, TypeConflictWarning, linked_schema, records_frame, schema
from brainstem_pandas.frames.dtypes import (
    DATE,
    DATETIME,
    STRING_LIST,
    TYPES,
    arrow_frame,
    castable,
    field_dtype,
    field_type,
    id_dtype,
    pandas_dtype,
    to_pandas,
)

MODELS = sorted(catalog.all_models())

EXPECTED = {
    "uuid": "string",
    "string": "string",
    "text": "string",
    "integer": "Int64",
    "number": "Float64",
    "boolean": "boolean",
    "date": "date32[day][pyarrow]",
    "datetime": "datetime64[us, UTC]",
    "list[string]": "list<item: string>[pyarrow]",
    "json": "object",
}


@pytest.mark.parametrize("kind", sorted(TYPES))
def test_every_catalog_type_has_its_documented_dtype(kind: str):
    assert str(field_dtype(catalog.Field("x", kind))) == EXPECTED[kind]


def test_every_field_type_of_the_catalog_is_in_the_table():
    kinds = {f.type for m in catalog.all_models().values() for f in m.fields if not f.is_relation}
    assert kinds <= set(TYPES)


def test_ids_are_strings_except_for_users_and_groups():
    integer = {m.name for m in catalog.all_models().values() if m.id_type == "integer"}
    assert integer == {"user", "group"}
    assert id_dtype("user") == "Int64" and id_dtype("session") == "string"
    assert id_dtype("not a model") == "string"


def test_relations_hold_their_targets_ids():
    session = catalog.model("session")
    assert field_type(session.field("projects")) == pa.list_(pa.string())
    owner = next(f for m in catalog.all_models().values() for f in m.relations if f.related_model == "user")
    assert field_type(owner) == (pa.list_(pa.int64()) if owner.many else pa.int64())


@pytest.mark.parametrize("model", MODELS)
def test_read_and_read_linked_schemas_agree_on_every_shared_column(model: str):
    flat, linked = schema(model), linked_schema(model)
    assert "id" not in flat and "id" not in linked  # the index, not a column
    assert set(linked) <= set(flat)
    assert {name: str(flat[name]) for name in linked} == {name: str(dtype) for name, dtype in linked.items()}


def test_casts_keep_meaning():
    utc = pa.timestamp("us", tz="UTC")
    assert castable(pa.string(), utc) and castable(pa.string(), pa.date32())
    assert not castable(pa.int64(), utc) and not castable(pa.bool_(), pa.int64())
    assert castable(pa.int32(), pa.float64()) and not castable(pa.float64(), pa.int64())
    assert castable(pa.null(), pa.int64()) and castable(pa.list_(pa.null()), pa.list_(pa.string()))
    assert not castable(pa.list_(pa.int64()), pa.list_(pa.string()))


def test_arrow_types_map_to_nullable_pandas_dtypes():
    assert pandas_dtype(pa.string()) == "string" and pandas_dtype(pa.large_string()) == "string"
    assert pandas_dtype(pa.int32()) == "Int64" and pandas_dtype(pa.float32()) == "Float64"
    assert pandas_dtype(pa.bool_()) == "boolean"
    assert pandas_dtype(pa.date32()) == DATE and pandas_dtype(pa.timestamp("us", tz="UTC")) == DATETIME
    assert pandas_dtype(pa.list_(pa.string())) == STRING_LIST
    assert pandas_dtype(pa.list_(pa.int64())) == "object" and pandas_dtype(pa.struct([("a", pa.int64())])) == "object"


def test_parquet_list_names_and_other_zones_read_back_in_the_same_dtypes():
    element = pa.list_(pa.field("element", pa.string()))
    tags = to_pandas(pa.chunked_array([[["a"], None]], type=element))
    assert tags.dtype == STRING_LIST and list(tags[0]) == ["a"] and tags[1] is pd.NA
    paris = pa.chunked_array([[0]], type=pa.timestamp("us", tz="Europe/Paris"))
    assert to_pandas(paris).dtype == DATETIME
    lists = to_pandas(pa.chunked_array([[[1, 2], [3, 4]]]))
    assert lists.dtype == object and lists.shape == (2,) and lists[0] == [1, 2]


def test_empty_arrow_columns_keep_their_dtypes():
    frame = arrow_frame(
        {
            "id": pa.chunked_array([], type=pa.string()),
            "tags": pa.chunked_array([], type=pa.list_(pa.string())),
            "day": pa.chunked_array([], type=pa.date32()),
            "n": pa.chunked_array([], type=pa.int64()),
        },
        indexed=True,
    )
    assert frame.index.dtype == "string" and frame.index.name == "id"
    assert frame.dtypes.astype(str).tolist() == ["list<item: string>[pyarrow]", "date32[day][pyarrow]", "Int64"]


# -- read and read_linked on the same records, for every catalogued model -------------------


def value(f: catalog.Field, n: int) -> Any:
    """A value of field ``f`` as the API would send it."""
    if f.is_relation:
        ids = [n + 1, n + 2] if id_dtype(f.related_model) == "Int64" else [str(uuid.uuid4()), str(uuid.uuid4())]
        return ids if f.many else ids[0]
    if f.map is not None:  # an object keyed by identifiers, entries as the catalog describes them
        return {f"member{n}@lab.org": {name: n % 2 == 0 for name, _ in f.map.values}}
    return {
        "uuid": str(uuid.uuid4()),
        "string": f"text {n}",
        "text": f"long text {n}",
        "integer": n,
        "number": n + 0.5,
        "boolean": n % 2 == 0,
        "date": "2024-02-03",
        "datetime": "2024-02-03T04:05:06.123456Z",
        "list[string]": ["pilot", f"t{n}"],
        "json": {"rig": "A", "trials": n},
    }[f.type]


def records(model: str, count: int) -> list[dict[str, Any]]:
    spec = catalog.model(model)
    out = []
    for n in range(count):
        record = {f.name: value(f, n) for f in spec.fields}
        record["id"] = n + 1 if spec.id_type == "integer" else str(uuid.uuid4())
        out.append(record)
    return out


def linked(model: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    builder = FrameBuilder(model)
    builder.add_records(model, rows)
    return builder.finish()[model]


@pytest.mark.parametrize("model", MODELS)
def test_read_and_read_linked_give_the_same_dtypes_full_and_empty(model: str):
    with warnings.catch_warnings():
        warnings.simplefilter("error", TypeConflictWarning)
        full, empty = records_frame(model, records(model, 3)), records_frame(model, [])
        full_linked, empty_linked = linked(model, records(model, 3)), linked(model, [])
    assert list(full.columns) == list(empty.columns) and full.dtypes.equals(empty.dtypes)
    assert full.index.dtype == empty.index.dtype == full_linked.index.dtype == empty_linked.index.dtype
    for flat, table in ((full, full_linked), (empty, empty_linked), (full, empty_linked)):
        shared = [c for c in flat.columns if c in table.columns]
        assert shared, model
        assert {c: str(flat[c].dtype) for c in shared} == {c: str(table[c].dtype) for c in shared}
        assert all(flat[c].dtype == table[c].dtype for c in shared)
