"""The column scheme of a snapshot's files: LinkedFrames' flat columns <-> columns every engine reads as they are.

LinkedFrames expands a JSON object (``extra_fields``) into flat ``field.key``
columns. In a file those columns are the fields of one Arrow **struct** column
``field``, so ``extra_fields.trials`` is ordinary struct access in Spark
(``col("extra_fields.trials")``), DuckDB (``extra_fields.trials``) and polars
(``pl.col("extra_fields").struct.field("trials")``), and no column name holds a
dot. What a flat column holds is kept as it is: a key whose values are objects
or lists is JSON text, a key whose values mix types is text, a key missing from
a record is null (an empty object and a null one read alike, as in LinkedFrames).

Names come from server data, so every name in a file (top-level columns and
struct fields alike) is kept only when plainly safe: letters, digits and ``_``,
not starting with a digit, at most :data:`LONGEST` characters, and unique
ignoring case (Spark and DuckDB match names ignoring case). Any other name gets
a readable stem and a short hash of the exact name. The manifest lists each flat
column with its ``path`` in the file, and :func:`flat_arrays` reads them back exactly.

Parquet cannot hold every Arrow type LinkedFrames keeps: a struct without fields
(an empty object inside a list, ``[[{}]]``) cannot be written at any depth. Such a
column holds each value's JSON text instead, and its manifest entry says so
(:func:`encoding`: ``"json"`` and the exact Arrow type), so it reads back exactly.

Examples
--------
>>> for column, path in paths(["id", "extra_fields.trials", "extra_fields.Trials", "extra_fields.a b"]).items():
...     print(column, path)
id ('id',)
extra_fields.trials ('extra_fields', 'trials')
extra_fields.Trials ('extra_fields', 'Trials_9d3e674e')
extra_fields.a b ('extra_fields', 'a_b_c8687a08')
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from brainstem_pandas.errors import SnapshotError
from brainstem_pandas.frames.dtypes import OBJECT, pandas_dtype
from brainstem_pandas.frames.layout import split_column

LONGEST = 64
"""The longest name kept as it is in a file (longer ones get a stem and a hash)."""

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OTHER = re.compile(r"[^A-Za-z0-9_]+")

SCHEME = {
    "objects": "a JSON object's keys are the fields of one struct column named like the object's field",
    "nested": "a key whose values are objects or lists holds their JSON text",
    "mixed": "a key (or column) whose values mix types holds them as text (JSON for objects and lists)",
    "names": "letters, digits and _ only, unique ignoring case; any other name is a readable stem and a hash",
    "paths": "each table's columns list every LinkedFrames column with its path in the file",
    "json": "a column whose Arrow type Parquet cannot hold (an empty object inside a list) holds each value's "
    "JSON text; its column entry has encoding 'json' and 'type', its exact Arrow type (an Arrow IPC schema "
    "of one field 'c', base64)",
}
"""What the manifest says about the scheme (under ``"columns"``): the choices above, in words."""


def safe_name(name: str, taken: set[str]) -> str:
    """``name`` if plainly safe and not ``taken`` (ignoring case), else a safe stem and a hash; added to ``taken``.

    Examples
    --------
    >>> taken = set()
    >>> safe_name("trials", taken), safe_name("Trials", taken), safe_name("", taken), safe_name("2nd", taken)
    ('trials', 'Trials_9d3e674e', 'c_e3b0c442', 'c_2nd_c21365c7')
    """
    chosen = name
    salt = 0
    while not (_PLAIN.fullmatch(chosen) and len(chosen) <= LONGEST) or chosen.lower() in taken:
        stem = _OTHER.sub("_", name).strip("_")[:40]
        stem = f"c_{stem}" if not stem or stem[0].isdigit() else stem
        digest = hashlib.sha256((name + "\0" * salt).encode("utf-8", "surrogatepass")).hexdigest()[:8]
        chosen = f"{stem.rstrip('_')}_{digest}"
        salt += 1
    taken.add(chosen.lower())
    return chosen


def paths(columns: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Each flat column's path in a file: ``(column,)``, or ``(object field, key)`` inside a struct.

    A plain column and an object's struct that would share a name (a field sent
    as text on one page and as an object on another) get two names.
    """
    top: dict[tuple[bool, str], str] = {}  # (is an object, field) -> its name in the file
    children: dict[str, set[str]] = {}  # struct name -> taken child names
    taken: set[str] = set()
    out: dict[str, tuple[str, ...]] = {}
    for column in columns:
        field, key = split_column(column)
        slot = (key is not None, field if key is not None else column)
        if slot not in top:
            top[slot] = safe_name(slot[1], taken)
        name = top[slot]
        out[column] = (name,) if key is None else (name, safe_name(key, children.setdefault(name, set())))
    return out


def file_schema(schema: pa.Schema, where: Mapping[str, tuple[str, ...]]) -> pa.Schema:
    """The schema of the files of a table whose flat columns are ``schema``, laid out by ``where``.

    Examples
    --------
    >>> flat = pa.schema([("id", pa.string()), ("extra_fields.n", pa.int64())])
    >>> file_schema(flat, paths(flat.names)).names
    ['id', 'extra_fields']
    """
    fields: dict[str, pa.DataType | list[pa.Field]] = {}
    for f in schema:
        path = where[f.name]
        if len(path) == 1:
            fields[path[0]] = file_type(f.type)
        else:
            fields.setdefault(path[0], []).append(pa.field(path[1], file_type(f.type)))
    return pa.schema([(n, t if isinstance(t, pa.DataType) else pa.struct(t)) for n, t in fields.items()])


def file_batch(batch: pa.RecordBatch, schema: pa.Schema, where: Mapping[str, tuple[str, ...]]) -> pa.RecordBatch:
    """A batch of flat columns as the file lays them out (``schema``: from :func:`file_schema`); no copy."""
    parts: dict[str, list[pa.Array]] = {}
    for name, array in zip(batch.schema.names, batch.columns):
        parts.setdefault(where[name][0], []).append(array if parquet_holds(array.type) else _as_json(array, name))
    arrays = []
    for f in schema:
        if pa.types.is_struct(f.type):
            arrays.append(pa.StructArray.from_arrays(parts[f.name], fields=list(f.type)))
        else:
            arrays.append(parts[f.name][0])
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def flat_arrays(table: pa.Table, where: Sequence[tuple[str, Sequence[str]]]) -> dict[str, pa.ChunkedArray]:
    """The flat columns of a file's ``table``, by ``where`` (flat name, path); KeyError if one is missing."""
    structs: dict[str, dict[str, pa.ChunkedArray]] = {}
    out: dict[str, pa.ChunkedArray] = {}
    for name, path in where:
        column = table.column(path[0]) if path[0] in table.column_names else None
        if column is None:
            raise KeyError(path[0])
        if len(path) == 1:
            out[name] = column
            continue
        if path[0] not in structs:
            if not pa.types.is_struct(column.type):
                raise KeyError(path[0])
            # flatten(): a null struct's fields read as nulls (files written by other tools).
            structs[path[0]] = dict(zip((f.name for f in column.type), column.flatten()))
        out[name] = structs[path[0]][path[1]]
    return out


def pandas_metadata(schema: pa.Schema) -> bytes:
    """pandas' own schema metadata for a file of ``schema``: ``pd.read_parquet`` then gives LinkedFrames' dtypes.

    Lists and structs are described as ``object`` columns: pandas cannot read a
    nested Arrow dtype back from its name (``list<item: string>[pyarrow]``).

    Examples
    --------
    >>> import json
    >>> meta = json.loads(pandas_metadata(pa.schema([("n", pa.int64()), ("tags", pa.list_(pa.string()))])))
    >>> [(c["name"], c["numpy_type"]) for c in meta["columns"]]
    [('n', 'Int64'), ('tags', 'object')]
    """
    described = [(f.name, _described(f.type)) for f in schema]
    whole = dict(described[0][1] if described else _described(pa.null()))
    whole["columns"] = [{**meta["columns"][0], "name": name, "field_name": name} for name, meta in described]
    return json.dumps(whole).encode()


@functools.lru_cache(maxsize=512)
def _described(kind: pa.DataType) -> dict[str, Any]:
    """pandas' metadata of a one-column frame of ``kind`` (cached: tables share a few types)."""
    dtype = OBJECT if pa.types.is_nested(kind) or pa.types.is_null(kind) else pandas_dtype(kind)
    frame = pd.DataFrame({"c": pd.Series([], dtype=dtype)})
    return json.loads(pa.Schema.from_pandas(frame, preserve_index=False).metadata[b"pandas"])


@functools.lru_cache(maxsize=512)
def parquet_holds(kind: pa.DataType) -> bool:
    """True if a Parquet file can hold a column of ``kind`` as it is.

    Asked of Arrow's own Parquet writer, so every type it refuses is found
    (a struct without fields, at any depth, is the one JSON data gives).

    Examples
    --------
    >>> parquet_holds(pa.list_(pa.struct([("a", pa.int64())]))), parquet_holds(pa.list_(pa.list_(pa.struct([]))))
    (True, False)
    """
    try:
        pq.ParquetWriter(pa.BufferOutputStream(), pa.schema([("c", kind)]), store_schema=False).close()
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
        return False
    return True


def file_type(kind: pa.DataType) -> pa.DataType:
    """The type a column of ``kind`` has in a file: ``kind``, or text (JSON) if Parquet cannot hold it."""
    return kind if parquet_holds(kind) else pa.string()


def encoding(kind: pa.DataType) -> dict[str, str]:
    """What a column entry of the manifest adds for a column of ``kind``: nothing, or its JSON encoding.

    Examples
    --------
    >>> kind = pa.list_(pa.struct([]))
    >>> entry = encoding(kind)
    >>> text = pa.chunked_array([_as_json(pa.array([[{}], None], kind))])
    >>> text.to_pylist(), entry["encoding"], decoded(text, entry).to_pylist()
    (['[{}]', None], 'json', [[{}], None])
    """
    if parquet_holds(kind):
        return {}
    held = pa.schema([("c", kind)]).serialize().to_pybytes()
    return {"encoding": "json", "type": base64.b64encode(held).decode("ascii")}


def _as_json(array: pa.Array, name: str = "") -> pa.Array:
    # ensure_ascii: any text (a NUL, any code point) is plain ASCII JSON; NaN and Infinity as Python writes them.
    try:
        return pa.array([None if v is None else json.dumps(v) for v in array.to_pylist()], type=pa.string())
    except (TypeError, ValueError) as exc:  # values JSON data never gives (dates inside an empty struct's list...)
        raise SnapshotError(
            f"Column {name[:100]!r} is of Arrow type {str(array.type)[:200]}, which neither Parquet nor JSON "
            f"can hold ({exc}); drop or convert the column (e.g. to JSON text) before writing the snapshot."
        ) from None


def decoded(array: pa.ChunkedArray, entry: Mapping[str, Any]) -> pa.ChunkedArray:
    """A column of a file as LinkedFrames holds it, by its manifest ``entry`` (:func:`encoding`).

    Raises ValueError if the entry or the text is not what :func:`encoding` and the writer make.
    """
    if "encoding" not in entry:
        return array
    if entry["encoding"] != "json" or not isinstance(entry.get("type"), str) or array.type != pa.string():
        raise ValueError(f"column {str(entry.get('name'))[:100]!r} has an unknown encoding")
    try:
        kind = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(entry["type"], validate=True))).field(0).type
        values = [None if text is None else json.loads(text) for text in array.to_pylist()]
        return pa.chunked_array([pa.array(values, type=kind)], type=kind)
    except (ValueError, RecursionError, IndexError, KeyError, pa.ArrowException) as exc:  # JSON, base64, IPC
        raise ValueError(f"column {str(entry.get('name'))[:100]!r} does not hold its encoding ({exc})") from None


def retyped(array: pa.ChunkedArray) -> pa.ChunkedArray:
    """``array`` with the list items named ``item``, as in memory (Parquet names them ``element``).

    Rebuilt rather than cast: Arrow (26) makes an invalid array when it casts
    lists of structs with a null-typed field.
    """
    kind = _in_memory(array.type)
    if str(kind) == str(array.type):  # (Arrow's == ignores the names of list items)
        return array
    return pa.chunked_array([_rebuilt(chunk, kind) for chunk in array.chunks], type=kind)


def _in_memory(kind: pa.DataType) -> pa.DataType:
    if pa.types.is_list(kind):
        return pa.list_(_in_memory(kind.value_type))
    if pa.types.is_struct(kind):
        return pa.struct([f.with_type(_in_memory(f.type)) for f in kind])
    return kind


def _rebuilt(array: pa.Array, kind: pa.DataType) -> pa.Array:
    if pa.types.is_null(kind):
        return pa.nulls(len(array))
    if str(array.type) == str(kind):
        return array
    mask = array.is_null() if array.null_count else None
    if pa.types.is_list(kind):
        offsets = array.offsets  # from 0: Arrow takes no null mask with offsets of a slice
        start, end = offsets[0].as_py(), offsets[-1].as_py()
        values = _rebuilt(array.values.slice(start, end - start), kind.value_type)
        return pa.ListArray.from_arrays(pc.subtract(offsets, start), values, type=kind, mask=mask)
    children = [_rebuilt(array.field(i), f.type) for i, f in enumerate(kind)]
    return pa.StructArray.from_arrays(children, fields=list(kind), mask=mask)
