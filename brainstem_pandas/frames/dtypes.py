"""The one dtype table: catalog field type -> Arrow type -> pandas dtype.

Every frame the package gives (``read``, ``read_linked``, snapshots read back,
offline answers) gets its dtypes from the functions here, so a column has the
same dtype whichever way it was read:

================ ============================ =========================================
catalog type     Arrow type                   pandas dtype
================ ============================ =========================================
uuid, string,    ``string``                   ``string`` (Arrow-backed)
text
integer          ``int64``                    ``Int64`` (nullable)
number           ``double``                   ``Float64`` (nullable)
boolean          ``bool``                     ``boolean`` (nullable)
date             ``date32``                   ``date32[pyarrow]`` (dates stay dates)
datetime         ``timestamp[us, tz=UTC]``    ``datetime64[us, UTC]``
list[string]     ``list<string>``             ``list<item: string>[pyarrow]``
relation         the target's id type         ``string`` ids (``Int64`` for users and groups)
relation (many)  a list of the target's ids   ``list<item: string>[pyarrow]`` (``object`` lists of
                                              ints for users and groups)
json             none: kept as sent           ``object`` (Python values)
================ ============================ =========================================

Values arrive as JSON, so some types arrive as another one (dates and times as
text): :func:`wire_type` is the type a column is first read in, :func:`field_type`
the type it ends in. Any other Arrow type (a column no catalog describes) maps
by :func:`pandas_dtype`: lists of other items and objects become ``object``
columns of Python values.

Examples
--------
>>> field_dtype(catalog.model("session").field("date_time"))
datetime64[us, UTC]
>>> pandas_dtype(field_type(catalog.model("session").field("tags")))
list<item: string>[pyarrow]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from brainstem_pandas import catalog
from brainstem_pandas.frames.layout import INDEX

DATETIME = pd.DatetimeTZDtype("us", "UTC")
"""Datetimes: timezone-aware UTC, to the microsecond (as the API writes them)."""
DATE = pd.ArrowDtype(pa.date32())
"""Dates stay dates (no midnight timestamps)."""
STRING_LIST = pd.ArrowDtype(pa.list_(pa.string()))
"""Lists of strings (tags, ids): Arrow-backed, typed, Parquet-ready."""
STRING = pd.StringDtype("pyarrow")
"""Text: Arrow-backed strings, missing values as ``pd.NA``."""
OBJECT = np.dtype(object)
"""Python values: JSON objects, lists other than lists of strings."""

_Check = Callable[[pa.DataType], bool]


@dataclass(frozen=True)
class FieldType:
    """How one catalog type is read: the type values arrive in and the type they end in.

    ``wire`` is None when Arrow must infer the arriving type (numbers: a bool next
    to a float would otherwise become 1.0); ``final`` is None for JSON, kept as sent.
    """

    wire: pa.DataType | None
    final: pa.DataType | None


_TEXT = FieldType(pa.string(), pa.string())
TYPES: dict[str, FieldType] = {
    "uuid": _TEXT,
    "string": _TEXT,
    "text": _TEXT,
    "integer": FieldType(None, pa.int64()),
    "number": FieldType(None, pa.float64()),
    "boolean": FieldType(pa.bool_(), pa.bool_()),
    "date": FieldType(pa.string(), pa.date32()),
    "datetime": FieldType(pa.string(), pa.timestamp("us", tz="UTC")),
    "list[string]": FieldType(pa.list_(pa.string()), pa.list_(pa.string())),
    "json": FieldType(None, None),
}
"""Catalog type -> :class:`FieldType` (relations take their target's id type)."""

# Which arriving types may be cast to a final type without changing meaning
# (an integer is not a timestamp, whatever Arrow's casts allow).
_ACCEPTS: dict[pa.DataType, tuple[_Check, ...]] = {
    pa.string(): (pa.types.is_string, pa.types.is_large_string),
    pa.int64(): (pa.types.is_integer,),
    pa.float64(): (pa.types.is_integer, pa.types.is_floating),
    pa.bool_(): (pa.types.is_boolean,),
    pa.timestamp("us", tz="UTC"): (pa.types.is_string, pa.types.is_timestamp),
    pa.date32(): (pa.types.is_string, pa.types.is_date32),
}


def _spec(model: str | catalog.Model) -> catalog.Model:
    return model if isinstance(model, catalog.Model) else catalog.model(model)


def id_type(model: str | None) -> pa.DataType:
    """The Arrow type of ``model``'s ids: ``int64`` for users and groups, else ``string``.

    Examples
    --------
    >>> id_type("session"), id_type("user")
    (DataType(string), DataType(int64))
    """
    known = catalog.all_models().get(model or "")
    return pa.int64() if known is not None and known.id_type == "integer" else pa.string()


def known_id_type(model: str | None) -> pa.DataType | None:
    """:func:`id_type` for a catalogued model; None (infer) for any other."""
    return id_type(model) if (model or "") in catalog.all_models() else None


def id_dtype(model: str | None) -> Any:
    """The pandas dtype of ``model``'s ids.

    Examples
    --------
    >>> str(id_dtype("session")), id_dtype("group")
    ('string', Int64Dtype())
    """
    return pandas_dtype(id_type(model))


def field_type(f: catalog.Field) -> pa.DataType | None:
    """The Arrow type a field's column ends in (None: JSON, kept as sent).

    Examples
    --------
    >>> field_type(catalog.model("session").field("projects"))
    ListType(list<item: string>)
    """
    if f.is_relation:
        ids = id_type(f.related_model)
        return pa.list_(ids) if f.many else ids
    return TYPES[f.type].final if f.type in TYPES else None


def is_json(f: catalog.Field) -> bool:
    """True for a field of JSON kept as sent (no Arrow type): expanded or a child table in ``read_linked``.

    Examples
    --------
    >>> is_json(catalog.model("session").field("extra_fields")), is_json(catalog.model("session").field("tags"))
    (True, False)
    """
    return field_type(f) is None


def wire_type(f: catalog.Field) -> pa.DataType | None:
    """The Arrow type a field's values are first read in (None: infer).

    Examples
    --------
    >>> wire_type(catalog.model("session").field("date_time"))
    DataType(string)
    """
    if f.is_relation:
        return field_type(f)
    return TYPES[f.type].wire if f.type in TYPES else None


def wire_types(model: catalog.Model | None) -> dict[str, pa.DataType]:
    """Column -> :func:`wire_type` of every field of ``model`` that has one, ``id`` included."""
    if model is None:
        return {}
    out = {f.name: kind for f in model.fields if (kind := wire_type(f)) is not None}
    out[INDEX] = id_type(model.name)
    return out


def field_dtype(f: catalog.Field) -> Any:
    """The pandas dtype of one documented field, following the table above.

    Examples
    --------
    >>> field_dtype(catalog.model("session").field("name")) == "string"
    True
    """
    return _dtype(field_type(f))


def _dtype(kind: pa.DataType | None) -> Any:
    return OBJECT if kind is None else pandas_dtype(kind)


def _linked_field(f: catalog.Field) -> bool:
    # To-many relations become link tables, JSON fields expanded columns or child tables.
    return f.name != INDEX and not (f.is_relation and f.many) and not is_json(f)


def flat_types(model: str | catalog.Model) -> dict[str, pa.DataType | None]:
    """Column -> final Arrow type of the frame ``read`` gives (``id`` first; None: JSON)."""
    spec = _spec(model)
    return {INDEX: id_type(spec.name), **{f.name: field_type(f) for f in spec.fields if f.name != INDEX}}


def linked_types(model: str | catalog.Model) -> dict[str, pa.DataType | None]:
    """Column -> final Arrow type of a model's table in ``read_linked`` (``id`` first)."""
    spec = _spec(model)
    return {INDEX: id_type(spec.name), **{f.name: field_type(f) for f in spec.fields if _linked_field(f)}}


def schema(model: str | catalog.Model) -> dict[str, Any]:
    """Column -> dtype of a model's frame from ``read`` (every field but ``id``, the index).

    Examples
    --------
    >>> schema("session")["tags"]
    list<item: string>[pyarrow]
    """
    types = flat_types(model)
    types.pop(INDEX)
    return {name: _dtype(kind) for name, kind in types.items()}


def linked_schema(model: str | catalog.Model) -> dict[str, Any]:
    """Column -> dtype of a model's table in :class:`~brainstem_pandas.frames.LinkedFrames`.

    To-many relations (link tables) and JSON fields (expanded or child tables)
    are not columns of the model table; ``id`` is its index.

    Examples
    --------
    >>> "projects" in linked_schema("session"), "date_time" in linked_schema("session")
    (False, True)
    """
    types = linked_types(model)
    types.pop(INDEX)
    return {name: _dtype(kind) for name, kind in types.items()}


def castable(kind: pa.DataType, target: pa.DataType) -> bool:
    """True if a column of Arrow type ``kind`` may become ``target`` without changing meaning.

    Examples
    --------
    >>> castable(pa.string(), pa.timestamp("us", tz="UTC")), castable(pa.int64(), pa.date32())
    (True, False)
    >>> castable(pa.list_(pa.null()), pa.list_(pa.string()))
    True
    """
    if pa.types.is_null(kind) or kind == target:
        return True
    if pa.types.is_list(target):
        return pa.types.is_list(kind) and castable(kind.value_type, target.value_type)
    return any(check(kind) for check in _ACCEPTS.get(target, ()))


def _string_list(kind: pa.DataType) -> bool:
    return pa.types.is_list(kind) and (pa.types.is_string(kind.value_type) or pa.types.is_large_string(kind.value_type))


def pandas_dtype(kind: pa.DataType) -> Any:
    """The pandas dtype of an Arrow column of type ``kind`` (the last step of the table).

    Examples
    --------
    >>> pandas_dtype(pa.int64()), pandas_dtype(pa.struct([("a", pa.int64())]))
    (Int64Dtype(), dtype('O'))
    """
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return STRING
    if pa.types.is_integer(kind):
        return pd.Int64Dtype()
    if pa.types.is_floating(kind):
        return pd.Float64Dtype()
    if pa.types.is_boolean(kind):
        return pd.BooleanDtype()
    if pa.types.is_date32(kind):
        return DATE
    if pa.types.is_timestamp(kind):
        return DATETIME
    if _string_list(kind):
        return STRING_LIST
    return OBJECT


def object_array(values: list[Any]) -> np.ndarray:
    """Python values as an ``object`` column, each value kept whole.

    Filled item by item: ``np.array`` would turn lists of equal length into a 2-D array.

    Examples
    --------
    >>> object_array([[1, 2], [3, 4]]).shape
    (2,)
    """
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def to_pandas(array: pa.ChunkedArray) -> Any:
    """A pandas array of an Arrow column, in :func:`pandas_dtype` of its type.

    Examples
    --------
    >>> to_pandas(pa.chunked_array([["2024-05-01T10:00:00Z"]]).cast(pa.timestamp("us", tz="UTC"))).dtype
    datetime64[us, UTC]
    """
    kind, dtype = array.type, pandas_dtype(array.type)
    if dtype is OBJECT:
        return object_array(array.to_pylist())
    if dtype is STRING_LIST or dtype is DATE:
        if kind != dtype.pyarrow_dtype:  # Parquet names list items "element"; Arrow "item"
            array = array.cast(dtype.pyarrow_dtype)
        return pd.arrays.ArrowExtensionArray(array)
    if dtype is DATETIME:
        return array.to_pandas().astype(DATETIME).array
    if dtype is STRING:
        # Chunked as built: no copy of the strings.
        return pd.arrays.ArrowStringArray(array)
    return array.to_pandas(types_mapper={kind: dtype}.get).array


def arrow_frame(arrays: Mapping[str, pa.ChunkedArray | pa.Array], indexed: bool) -> pd.DataFrame:
    """A DataFrame of Arrow columns, by the table above; ``indexed``: the ``id`` column is the index.

    The one conversion used for frames built in memory, for ``read`` and for
    snapshots read back, so all have exactly the same dtypes.

    Examples
    --------
    >>> arrow_frame({"id": pa.array(["a"]), "n": pa.array([1])}, indexed=True).dtypes["n"]
    Int64Dtype()
    """
    chunked = {name: a if isinstance(a, pa.ChunkedArray) else pa.chunked_array([a]) for name, a in arrays.items()}
    index = pd.Index(to_pandas(chunked.pop(INDEX)), name=INDEX) if indexed else None
    return pd.DataFrame({name: to_pandas(array) for name, array in chunked.items()}, index=index)
