"""Pages -> typed, linked DataFrames: :class:`FrameBuilder` and :class:`LinkedFrames`.

Dtype rules (one declared schema per model, from the catalog's field types):

============== =========================================
catalog type   pandas dtype
============== =========================================
uuid, string,  ``string``
text
integer        ``Int64`` (nullable)
number         ``Float64`` (nullable)
boolean        ``boolean`` (nullable)
date           ``date32[pyarrow]`` (dates stay dates)
datetime       ``datetime64[us, UTC]``
relation       ``string`` ids (``Int64`` for users and groups)
list[string]   ``object`` (Python lists)
============== =========================================

How related data is laid out by :class:`FrameBuilder`:

- one table per model (primary and related, sideloaded or nested at any depth),
  indexed by ``id`` and de-duplicated;
- a to-one relation stays a column of ids named as in the API;
- every to-many relation becomes a *link table* ``"<model>.<field>"`` with columns
  ``<model>_id``, ``<target>_id`` and ``position`` (the API's order) and leaves
  the model table;
- lists of objects (``download_links``) become *child tables* ``"<model>.<field>"``
  keyed by ``<model>_id`` and ``position`` (an object's own field of either name
  is kept as ``<field>.<name>``);
- JSON objects (``extra_fields``) expand into ``extra_fields.<key>`` columns.

Nothing is dropped: a value that cannot share its column's type is kept as text,
with a warning naming the column. Models and fields the catalog does not know are
laid out by inference (a list of UUID strings is a to-many relation, and so on),
so the same builder serves other APIs (e.g. brainmaps).
"""

from __future__ import annotations

import gc
import html
import json
import re
import warnings
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from brainstem_pandas import catalog

DATETIME = "datetime64[us, UTC]"
DATE = pd.ArrowDtype(pa.date32())
#: Lists of strings (tags) in LinkedFrames: Arrow-backed, typed, Parquet-ready.
STRING_LIST = pd.ArrowDtype(pa.list_(pa.string()))
SCALAR_DTYPES: dict[str, Any] = {
    "uuid": "string",
    "string": "string",
    "text": "string",
    "integer": "Int64",
    "number": "Float64",
    "boolean": "boolean",
    "date": DATE,
    "datetime": DATETIME,
    "json": object,
    "list[string]": object,
}
_ID = itemgetter("id")
# Records are converted to Arrow in batches of this many (a few pages' worth): large
# enough that per-conversion overhead vanishes, small enough to keep memory flat.
BATCH = 4096
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class TypeConflictWarning(UserWarning):
    """Values of one column that could not share its type were kept as text."""


# -- dtype helpers ----------------------------------------------------------------------


def id_dtype(model_name: str | None) -> Any:
    """Dtype of the ids of ``model_name`` (``Int64`` for users and groups)."""
    known = catalog.all_models().get(model_name or "")
    return "Int64" if known is not None and known.id_type == "integer" else "string"


def field_dtype(f: catalog.Field) -> Any:
    """The dtype of one documented field, following the table above.

    Examples
    --------
    >>> field_dtype(catalog.model("session").field("date_time"))
    'datetime64[us, UTC]'
    """
    if f.is_relation:
        return object if f.many else id_dtype(f.related_model)
    return SCALAR_DTYPES.get(f.type, object)


def schema(model: str | catalog.Model) -> dict[str, Any]:
    """Column -> dtype of a model's flat frame (``read``): every field but ``id``."""
    spec = model if isinstance(model, catalog.Model) else catalog.model(model)
    return {f.name: field_dtype(f) for f in spec.fields if f.name != "id"}


def linked_schema(model: str | catalog.Model) -> dict[str, Any]:
    """Column -> dtype of a model's table in :class:`LinkedFrames` (declared columns).

    To-many relations (link tables) and JSON fields (expanded or child tables)
    are not columns of the model table.

    Examples
    --------
    >>> "projects" in linked_schema("session"), "date_time" in linked_schema("session")
    (False, True)
    """
    spec = model if isinstance(model, catalog.Model) else catalog.model(model)
    return {
        f.name: (STRING_LIST if f.type == "list[string]" else field_dtype(f))
        for f in spec.fields
        if f.name != "id" and not (f.is_relation and f.many) and f.type != "json"
    }


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _text_array(values: list) -> Any:
    return pd.array([_as_text(v) for v in values], dtype="string")


def _typed(values: list, dtype: Any) -> Any:
    """An array of ``values`` in ``dtype``; raises (TypeError/ValueError) if they do not fit."""
    if dtype is object:
        out = pd.array(values, dtype=object) if values else pd.array([], dtype=object)
        return out
    if dtype == "string":
        if any(v is not None and not isinstance(v, str) for v in values):
            raise TypeError("not all strings")
        return pd.array(values, dtype="string")
    if dtype == DATETIME:
        if any(v is not None and not isinstance(v, str) for v in values):
            raise TypeError("not ISO strings")
        return pd.array(pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="ISO8601"), dtype=DATETIME)
    if dtype == DATE:
        if any(v is not None and not isinstance(v, str) for v in values):
            raise TypeError("not ISO strings")
        arr = pc.cast(pa.array(values, type=pa.string()), pa.date32())
        return pd.arrays.ArrowExtensionArray(arr)
    if dtype == "Int64":
        if any(v is not None and (isinstance(v, bool) or not isinstance(v, int)) for v in values):
            raise TypeError("not all integers")
        return pd.array(values, dtype="Int64")
    if dtype == "Float64":
        if any(v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))) for v in values):
            raise TypeError("not all numbers")
        return pd.array([None if v is None else float(v) for v in values], dtype="Float64")
    if dtype == "boolean":
        if any(v is not None and not isinstance(v, bool) for v in values):
            raise TypeError("not all booleans")
        return pd.array(values, dtype="boolean")
    return pd.array(values, dtype=dtype)


def infer_dtype(values: list) -> Any:
    """A dtype for values no schema describes: the narrowest that fits them all."""
    present = [v for v in values if v is not None]
    if not present:
        return "string"
    kinds = {type(v) for v in present}
    if kinds <= {bool}:
        return "boolean"
    if kinds <= {int}:
        return "Int64"
    if kinds <= {int, float}:
        return "Float64"
    if kinds <= {str}:
        return "string"
    if kinds <= {list} and all(isinstance(i, str) for v in present for i in v):
        return object  # lists of strings stay lists (Parquet list<string>)
    return "string"  # JSON text for nested values; mixed scalars: text, with a warning


def column(values: list, dtype: Any, name: str) -> Any:
    """Typed column; values that cannot share ``dtype`` make it text, with a warning."""
    try:
        return _typed(values, dtype)
    except (TypeError, ValueError, pa.ArrowInvalid, OverflowError):
        warnings.warn(
            f"column {name!r}: values do not all fit {dtype}; kept as text", TypeConflictWarning, stacklevel=4
        )
        return _text_array(values)


def inferred_column(values: list, name: str) -> Any:
    """Typed column for values no schema describes (mixed kinds become text, with a warning)."""
    dtype = infer_dtype(values)
    present = {type(v) for v in values if v is not None}
    if dtype == "string" and present <= {dict, list}:
        return _text_array(values)  # nested JSON is kept as JSON text
    if dtype == "string" and present - {str}:
        warnings.warn(
            f"column {name!r}: mixed value types {sorted(t.__name__ for t in present)}; kept as text",
            TypeConflictWarning,
            stacklevel=3,
        )
        return _text_array(values)
    return column(values, dtype, name)


# -- accumulation: records -> Arrow column chunks -------------------------------------------
#
# Each page's new records become Arrow arrays at once (pyarrow converts lists of
# dicts in C++), so the builder keeps compact columns, never the pages' dicts.
# Chunks of one column may disagree in type across pages; they are unified when
# the frames are built, falling back to text with a warning.

ARROW_TYPES: dict[Any, pa.DataType] = {
    "string": pa.string(),
    "Int64": pa.int64(),
    "Float64": pa.float64(),
    "boolean": pa.bool_(),
    DATETIME: pa.timestamp("us", tz="UTC"),
}
# Which source types may be cast to a declared type without changing meaning
# (an integer is not a timestamp, whatever Arrow's casts allow).
CASTABLE: dict[Any, tuple] = {
    "string": (pa.types.is_string, pa.types.is_large_string),
    "Int64": (pa.types.is_integer,),
    "Float64": (pa.types.is_integer, pa.types.is_floating),
    "boolean": (pa.types.is_boolean,),
    DATETIME: (pa.types.is_string, pa.types.is_timestamp),
    DATE: (pa.types.is_string, pa.types.is_date32),
}


def _warn(label: str, why: str) -> None:
    warnings.warn(f"column {label!r}: {why}; kept as text", TypeConflictWarning, stacklevel=5)


def _json_text(array: pa.Array) -> pa.Array:
    return pa.array([_as_text(v) for v in array.to_pylist()], type=pa.string())


def _to_text(array: pa.Array) -> pa.Array:
    if pa.types.is_null(array.type):
        return array.cast(pa.string())
    if pa.types.is_nested(array.type):
        return _json_text(array)
    try:
        if pa.types.is_boolean(array.type) or pa.types.is_floating(array.type):
            # Python's spelling ("True", "2.0"), as values that clash within one batch are written.
            return pa.array([None if v is None else str(v) for v in array.to_pylist()], type=pa.string())
        return pc.cast(array, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return _json_text(array)


@contextmanager
def _quiet_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector during a bulk conversion.

    Converting a batch allocates many short-lived objects; each allocation
    burst would otherwise trigger collections that walk every live object,
    including all the decoded pages a caller still holds. The conversion itself
    makes no reference cycles, so nothing is lost by collecting afterwards.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _text(values: list, label: str) -> pa.Array:
    kinds = sorted({type(v).__name__ for v in values if v is not None})
    _warn(label, f"mixed value types {kinds}")
    return pa.array([_as_text(v) for v in values], type=pa.string())


def _holds_float(kind: pa.DataType) -> bool:
    if pa.types.is_struct(kind):
        return any(_holds_float(f.type) for f in kind)
    if pa.types.is_list(kind):
        return _holds_float(kind.value_type)
    return pa.types.is_floating(kind)


def _bools_lost(values: list, kind: pa.DataType) -> bool:
    """True if Arrow read a boolean of ``values`` as a number (next to a float it takes True for 1.0)."""
    if not _holds_float(kind):
        return False  # the common case: no float, nothing to check
    if pa.types.is_struct(kind):
        objects = [v for v in values if isinstance(v, dict)]
        return any(_bools_lost([v.get(f.name) for v in objects], f.type) for f in kind)
    if pa.types.is_list(kind):
        return _bools_lost([i for v in values if isinstance(v, list) for i in v], kind.value_type)
    return bool in set(map(type, values))


def _column_array(values: list, label: str, kind: pa.DataType | None = None) -> pa.Array:
    """An Arrow array of one column's Python values; clashing values become text.

    ``kind`` is the expected type when the catalog declares one (no inference
    needed); objects whose keys clash in type are split per key first, so only
    the clashing key turns to text.
    """
    if kind is not None:
        try:
            return pa.array(values, type=kind)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
            pass  # not what the catalog says: infer, and let the cast at the end complain
    try:
        array = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
        array = None
    if array is not None and not _bools_lost(values, array.type):
        return array
    if all(v is None or isinstance(v, list) for v in values) and all(
        i is None or isinstance(i, dict) for v in values if v for i in v
    ):
        # Lists of objects whose keys clash: their items are split per key too.
        items = _column_array([i for v in values if v for i in v], label)
        offsets = pa.array(np.cumsum([0] + [len(v or ()) for v in values]), type=pa.int32())
        return pa.ListArray.from_arrays(offsets, items, mask=pa.array([v is None for v in values]))
    if not all(v is None or isinstance(v, dict) for v in values):
        return _text(values, label)
    keys: dict[str, None] = {}
    for v in values:
        keys.update(dict.fromkeys(v or {}))
    fields = [_column_array([(v or {}).get(k) for v in values], f"{label}.{k}") for k in keys]
    if not fields:
        return pa.nulls(len(values))
    missing = pa.array([v is None for v in values])
    return pa.StructArray.from_arrays(fields, names=list(keys), mask=missing)


def _values(records: list[dict], name: str) -> tuple[list, bool]:
    """The values of ``name`` in every record, and whether every record had the key."""
    try:
        return list(map(itemgetter(name), records)), True  # C-level loop: the hot path of a build
    except KeyError:
        return [r.get(name) for r in records], False


def _records_to_arrays(records: list[dict], label: str, kinds: Mapping[str, pa.DataType]) -> dict[str, pa.Array]:
    """Columns of ``records`` as Arrow arrays, one column at a time.

    Column by column is faster than ``pa.Table.from_pylist`` (which infers every
    nested type at once) and lets one clashing column fall back alone.
    """
    names = list(records[0])
    out: dict[str, pa.Array] = {}
    complete = True
    for name in names:
        values, everywhere = _values(records, name)
        complete = complete and everywhere
        out[name] = _column_array(values, f"{label}.{name}", kinds.get(name))
    # Records of the same size that all hold the first record's keys hold no others;
    # only otherwise is the (costly) union of every record's keys needed.
    if not (complete and len(set(map(len, records))) == 1):
        for name in sorted(set().union(*records).difference(names), key=str):
            out[name] = _column_array(_values(records, name)[0], f"{label}.{name}", kinds.get(name))
    return out


def _expected_types(spec: catalog.Model | None) -> dict[str, pa.DataType]:
    """Arrow types the catalog promises for a model's fields (dates and times arrive as text)."""
    out: dict[str, pa.DataType] = {}
    for f in spec.fields if spec else ():
        if f.is_relation:
            item = pa.int64() if id_dtype(f.related_model) == "Int64" else pa.string()
            out[f.name] = pa.list_(item) if f.many else item
        elif f.type in ("uuid", "string", "text", "date", "datetime"):
            out[f.name] = pa.string()
        elif f.type == "boolean":
            out[f.name] = pa.bool_()
        elif f.type == "list[string]":
            out[f.name] = pa.list_(pa.string())
    if spec is not None:
        out["id"] = pa.int64() if spec.id_type == "integer" else pa.string()
    return out


class CastFailed(Exception):
    """A chunk of ``column`` does not fit the type planned from the chunks' types."""

    def __init__(self, column: str) -> None:
        super().__init__(column)
        self.column = column


@dataclass(frozen=True)
class Plan:
    """How every chunk of one column becomes the finished column's type.

    Decided from the chunks' Arrow types alone (no data), so a streaming writer
    can fix a table's schema before converting its chunks one at a time. Only a
    cast from text (e.g. to timestamps) can still fail on the data; then
    :meth:`fallback` turns the column into text, as an in-memory build does.
    """

    label: str
    unify: str  # how chunks of different types meet: "keep", "float", "text" or "json"
    kind: pa.DataType  # the type after unifying
    declare: str  # how the unified type meets the declared one: "keep", "cast" or "text"
    target: pa.DataType  # the finished column's type

    def apply(self, array: pa.Array | None, rows: int) -> pa.Array:
        """One chunk (None: the chunk lacks the column) in the finished type."""
        if array is None:
            array = pa.nulls(rows, self.kind)
        elif self.unify == "float":
            try:
                array = array.cast(self.kind)
            except pa.ArrowInvalid:  # an integer beyond 2**53, which no float holds exactly
                raise CastFailed(self.label) from None
        elif self.unify == "text":
            array = _to_text(array)
        elif self.unify == "json":
            array = _json_text(array)
        if array.type != self.kind and self.unify == "keep":  # nulls, or empty lists, in the column's type
            array = array.cast(self.kind)
        if self.declare == "text":
            return _to_text(array)
        if self.declare == "cast" and array.type != self.target:
            try:
                return array.cast(self.target)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise CastFailed(self.label) from None
        return array

    def fallback(self) -> "Plan":
        """The same plan, but the column kept as text (with a warning)."""
        _warn(self.label, f"values do not all fit {self.target}")
        if self.unify == "float":  # as within one page: numbers that cannot meet as floats are text
            return Plan(self.label, "text", pa.string(), "text", pa.string())
        return Plan(self.label, self.unify, self.kind, "text", pa.string())


def _numeric(kind: pa.DataType) -> bool:
    return pa.types.is_integer(kind) or pa.types.is_floating(kind)


def plan_column(kinds: Iterable[pa.DataType], dtype: Any, label: str) -> Plan:
    """The :class:`Plan` for a column whose chunks have ``kinds``, declared as ``dtype`` (None: infer).

    Numbers of different widths meet as floats (also as list items); lists of other
    different item types as JSON text; anything else that differs as text, with a warning.
    """
    present = {k for k in kinds if not pa.types.is_null(k)}
    unify = "keep"
    if len(present) > 1 and all(pa.types.is_list(t) for t in present):
        # A page of empty lists says nothing about their items: it fits the other pages' lists.
        present = {t for t in present if not pa.types.is_null(t.value_type)} or present
    if len(present) > 1:
        if all(_numeric(t) for t in present):
            unify, present = "float", {pa.float64()}
        elif all(pa.types.is_list(t) and _numeric(t.value_type) for t in present):
            unify, present = "float", {pa.list_(pa.float64())}  # as Arrow reads [1] and [2.5] in one page
        elif all(pa.types.is_list(t) for t in present):
            unify, present = "json", {pa.string()}
        else:
            _warn(label, f"values of different types across pages ({', '.join(sorted(map(str, present)))})")
            unify, present = "text", {pa.string()}
    kind = next(iter(present)) if present else _arrow_type(dtype)
    declare, target = _declaration(kind, dtype, label)
    return Plan(label, unify, kind, declare, target)


def _declaration(kind: pa.DataType, dtype: Any, label: str) -> tuple[str, pa.DataType]:
    """How a column of Arrow type ``kind`` meets its declared ``dtype``: keep, cast, or text (warned)."""
    if dtype is None or dtype is object:
        return "keep", kind
    if dtype == STRING_LIST:
        if pa.types.is_null(kind) or (
            pa.types.is_list(kind) and (pa.types.is_null(kind.value_type) or pa.types.is_string(kind.value_type))
        ):
            return "cast", pa.list_(pa.string())
        _warn(label, "values are not all lists of strings")
        return "text", pa.string()
    target = _arrow_type(dtype)
    if kind == target:
        return "keep", target
    if pa.types.is_null(kind) or any(check(kind) for check in CASTABLE[dtype]):
        return "cast", target
    _warn(label, f"values do not all fit {dtype}")
    return "text", pa.string()


class _Chunks:
    """Columns of one table as Arrow chunks, padded with nulls where a chunk lacks one.

    With :meth:`spill`, finished chunks move to Arrow IPC files in a folder, so a
    streaming consumer (the snapshot writer) keeps only their types in memory.
    """

    def __init__(self) -> None:
        self.lengths: list[int] = []
        self.types: dict[str, dict[int, pa.DataType]] = {}  # column -> chunk -> type, in first-seen order
        self.cols: dict[str, dict[int, pa.Array]] = {}  # chunks still in memory
        self.files: dict[int, Path] = {}  # spilled chunks
        self.folder: Path | None = None

    def __len__(self) -> int:
        return sum(self.lengths)

    def chunk(self, rows: int) -> int:
        self.lengths.append(rows)
        return len(self.lengths) - 1

    def put(self, chunk: int, name: str, array: pa.Array) -> None:
        self.types.setdefault(name, {})[chunk] = array.type
        self.cols.setdefault(name, {})[chunk] = array

    @property
    def names(self) -> list[str]:
        """Column names in the order they first appeared."""
        return list(self.types)

    def spill(self) -> None:
        """Move every chunk still in memory to its own IPC file in :attr:`folder`."""
        if self.folder is None:
            return
        waiting = sorted({i for parts in self.cols.values() for i in parts})
        for i in waiting:
            names = [n for n, parts in self.cols.items() if i in parts]
            batch = pa.RecordBatch.from_arrays([self.cols[n].pop(i) for n in names], names=names)
            path = self.folder / f"{i:06d}.arrow"
            with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, batch.schema) as writer:
                writer.write_batch(batch)
            self.files[i] = path

    def load(self, chunk: int) -> dict[str, pa.Array]:
        """Every column of one chunk (read back from its file if spilled)."""
        out = {name: parts[chunk] for name, parts in self.cols.items() if chunk in parts}
        if chunk in self.files:
            with pa.OSFile(str(self.files[chunk]), "rb") as source:
                batch = pa.ipc.open_file(source).get_batch(0)
            out.update(zip(batch.schema.names, batch.columns))
        return out

    def rollback(self, chunks: int) -> None:
        """Forget every chunk from number ``chunks`` on."""
        del self.lengths[chunks:]
        for store in (self.types, self.cols):
            for name in list(store):
                for i in [i for i in store[name] if i >= chunks]:
                    del store[name][i]
                if not store[name] and store is self.types:
                    del store[name]
        for i in [i for i in self.files if i >= chunks]:
            self.files.pop(i).unlink(missing_ok=True)
        self.cols = {n: parts for n, parts in self.cols.items() if parts}

    def plan(self, name: str, dtype: Any, label: str) -> Plan:
        """How the chunks of ``name`` become one column declared as ``dtype``."""
        return plan_column(self.types.get(name, {}).values(), dtype, label)

    def column(self, name: str, dtype: Any, label: str) -> pa.ChunkedArray:
        """One column, chunks unified, cast to the declared ``dtype`` (None: infer)."""
        plan = self.plan(name, dtype, label)
        parts = self.cols.get(name, {}) if not self.files else None

        def chunks(plan: Plan) -> list[pa.Array]:
            if parts is not None:
                return [plan.apply(parts.get(i), n) for i, n in enumerate(self.lengths)]
            return [plan.apply(self.load(i).get(name), n) for i, n in enumerate(self.lengths)]

        try:
            arrays = chunks(plan)
        except CastFailed:
            plan = plan.fallback()
            arrays = chunks(plan)
        return pa.chunked_array(arrays, type=plan.target)


def _arrow_type(dtype: Any) -> pa.DataType:
    if dtype is object or dtype == STRING_LIST:
        return pa.list_(pa.string())
    if dtype == DATE:
        return DATE.pyarrow_dtype
    return ARROW_TYPES.get(dtype, pa.string()) if dtype is not None else pa.string()


def _positions(parents: np.ndarray) -> np.ndarray:
    # Position of each flattened item within its parent's list (parents ascend).
    n = len(parents)
    if n == 0:
        return np.zeros(0, dtype="int64")
    index = np.arange(n)
    new = np.empty(n, dtype=bool)
    new[0] = True
    new[1:] = parents[1:] != parents[:-1]
    return index - np.maximum.accumulate(np.where(new, index, 0))


class _Edge:
    """Rows of one link table as Arrow chunks: parent id, child id, position."""

    def __init__(self, parent_col: str, child_col: str) -> None:
        self.parent_col, self.child_col = parent_col, child_col
        self.data = _Chunks()

    def _put(self, parents: pa.Array, children: pa.Array, positions: pa.Array) -> None:
        chunk = self.data.chunk(len(positions))
        self.data.put(chunk, self.parent_col, parents)
        self.data.put(chunk, self.child_col, children)
        self.data.put(chunk, "position", positions)

    def add_lists(self, ids: pa.Array, lists: pa.Array) -> None:
        idx = pc.list_parent_indices(lists)
        self._put(
            pc.take(ids, idx),
            pc.list_flatten(lists),
            pa.array(_positions(idx.to_numpy(zero_copy_only=False)), type=pa.int64()),
        )

    def add_python(self, parent_ids: list, items: list[list]) -> None:
        parents, children, positions = [], [], []
        for pid, values in zip(parent_ids, items):
            parents.extend([pid] * len(values))
            children.extend(values)
            positions.extend(range(len(values)))
        self._put(pa.array(parents), pa.array(children), pa.array(positions, type=pa.int64()))


def _flatten_struct(prefix: str, array: pa.Array) -> Iterator[tuple[str, pa.Array]]:
    """``prefix.key`` columns of a struct array (one level; deeper values as JSON text)."""
    for i in range(array.type.num_fields):
        sub = array.field(i)
        if array.null_count:
            sub = pc.if_else(array.is_valid(), sub, pa.nulls(len(sub), sub.type))
        name = f"{prefix}.{array.type.field(i).name}"
        yield name, (_json_text(sub) if pa.types.is_nested(sub.type) else sub)


class _Table:
    """One model's table as it accumulates (records de-duplicated by id)."""

    def __init__(self, name: str, builder: "FrameBuilder") -> None:
        self.name, self.builder = name, builder
        self.spec = catalog.all_models().get(name)
        self.fields = {f.name: f for f in self.spec.fields} if self.spec else {}
        self.kinds = _expected_types(self.spec)
        self.seen: set = set()
        self.pending: list[dict] = []
        self.data = _Chunks()

    def add(self, records: Iterable[dict]) -> None:
        records = records if isinstance(records, list) else list(records)
        seen, fresh = self.seen, self.pending
        try:
            ids = list(map(_ID, records))
        except (KeyError, TypeError):
            ids = None
        if ids is not None and None not in ids and seen.isdisjoint(ids) and len(set(ids)) == len(ids):
            seen.update(ids)  # the common case: a page of new records
            fresh.extend(records)
        else:
            for record in records:
                rid = record.get("id") if isinstance(record, dict) else None
                if rid is not None and rid not in seen:
                    seen.add(rid)
                    fresh.append(record)
        if len(fresh) >= BATCH:
            self.flush()

    def flush(self) -> None:
        """Convert the records waiting in the batch to Arrow chunks."""
        fresh, self.pending = self.pending, []
        if not fresh:
            return
        with _quiet_gc():
            self._convert(fresh)

    def _convert(self, fresh: list[dict]) -> None:
        arrays = _records_to_arrays(fresh, self.name, self.kinds)
        chunk = self.data.chunk(len(fresh))
        ids = arrays.pop("id")
        self.data.put(chunk, "id", ids)
        for name, array in arrays.items():
            f = self.fields.get(name)
            if f is not None and f.is_relation:
                self._relation(chunk, f, ids, array)
            elif f is not None and f.type != "json":
                self.data.put(chunk, name, array)
            else:
                self._json(chunk, name, ids, array, declared=f is not None)

    def _relation(self, chunk: int, f: catalog.Field, ids: pa.Array, array: pa.Array) -> None:
        target = f.related_model or f.name
        nested = pa.types.is_struct(array.type) or (
            pa.types.is_list(array.type) and pa.types.is_struct(array.type.value_type)
        )
        if not f.many:
            if nested or pa.types.is_list(array.type):
                values = array.to_pylist()
                self.builder.table(target).add([v for v in values if isinstance(v, dict)])
                array = pa.array([v.get("id") if isinstance(v, dict) else v for v in values])
            self.data.put(chunk, f.name, array)
            return
        edge = self.builder.edge(self.name, f.name, f.related_model)
        if pa.types.is_list(array.type) and not nested:
            edge.add_lists(ids, array)
            return
        # Nested records (sideloading=false) or odd shapes: the careful Python path.
        items = []
        for value in array.to_pylist():
            values = value if isinstance(value, list) else ([] if value is None else [value])
            self.builder.table(target).add([v for v in values if isinstance(v, dict)])
            items.append([v.get("id") if isinstance(v, dict) else v for v in values])
        edge.add_python(ids.to_pylist(), items)

    def _json(self, chunk: int, name: str, ids: pa.Array, array: pa.Array, declared: bool) -> None:
        kind = array.type
        if pa.types.is_struct(kind):
            for col, sub in _flatten_struct(name, array):
                self.data.put(chunk, col, sub)
        elif pa.types.is_list(kind) and pa.types.is_struct(kind.value_type):
            self.builder.child(self.name, name).add_lists(ids, array)
        elif pa.types.is_list(kind) and not declared and _all_uuids(array):
            self.builder.edge(self.name, name, None).add_lists(ids, array)
        elif pa.types.is_list(kind) and declared and self.fields[name].type == "json":
            self.builder.child(self.name, name).add_lists(ids, array)
        elif not pa.types.is_null(kind) or name not in self.fields:
            self.data.put(chunk, name, array)

    def layout(self) -> "Layout":
        columns: dict[str, Any] = {"id": id_dtype(self.name) if self.spec else None}
        columns.update(linked_schema(self.spec) if self.spec else {})
        columns.update({name: None for name in self.data.names if name not in columns})
        return Layout(self.name, "table", self.data, columns)

    def rollback(self, chunks: int) -> None:
        """Forget the records of every chunk from number ``chunks`` on (and any waiting)."""
        self.pending = []
        self.data.rollback(chunks)
        self.seen = set()
        for i in range(len(self.data.lengths)):
            ids = self.data.load(i).get("id")
            self.seen.update(ids.to_pylist() if ids is not None else ())


def _all_uuids(array: pa.Array) -> bool:
    flat = pc.list_flatten(array)
    if len(flat) == 0 or not pa.types.is_string(flat.type):
        return False
    return bool(pc.all(pc.match_substring_regex(flat, UUID_RE.pattern)).as_py())


def _pandas_dtype(kind: pa.DataType) -> Any:
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return pd.StringDtype("pyarrow")
    if pa.types.is_integer(kind):
        return pd.Int64Dtype()
    if pa.types.is_floating(kind):
        return pd.Float64Dtype()
    if pa.types.is_boolean(kind):
        return pd.BooleanDtype()
    if pa.types.is_date32(kind):
        return DATE
    return None


def _series(array: pa.ChunkedArray) -> Any:
    kind = array.type
    if pa.types.is_list(kind) and pa.types.is_string(kind.value_type):
        return pd.arrays.ArrowExtensionArray(array) if len(array) else pd.array([], dtype=STRING_LIST)
    if pa.types.is_list(kind) or pa.types.is_struct(kind) or pa.types.is_null(kind):
        values = array.to_pylist()
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out
    if pa.types.is_timestamp(kind):
        return array.to_pandas().astype(DATETIME).array
    dtype = _pandas_dtype(kind)
    if dtype is None:
        return array.to_pandas().array
    if isinstance(dtype, pd.StringDtype):
        # Chunked as built: no copy of the strings.
        return pd.arrays.ArrowStringArray(array) if len(array) else pd.array([], dtype="string")
    return array.to_pandas(types_mapper={kind: dtype}.get).array


def _to_pandas(columns: dict[str, pa.ChunkedArray], index: pa.ChunkedArray) -> pd.DataFrame:
    data = {name: _series(array) for name, array in columns.items()}
    return pd.DataFrame(data, index=pd.Index(_series(index), name="id"))


@dataclass(frozen=True)
class Relation:
    """How two tables connect: through a to-one column or a link table."""

    model: str
    field: str
    target: str
    kind: str  # "one" (column) or "many" (link table)
    table: str | None = None  # link table name
    parent_col: str | None = None
    child_col: str | None = None


class _Child:
    """Rows of one child table (objects in a list) as Arrow chunks.

    An object's own field named like the parent id column or ``position`` is kept
    as ``<field>.<name>`` (e.g. ``download_links.position``), so neither is lost.
    """

    def __init__(self, parent_col: str, field: str) -> None:
        self.parent_col, self.field = parent_col, field
        self.data = _Chunks()

    def _own(self, name: str) -> str:
        return f"{self.field}.{name}" if name in (self.parent_col, "position") else name

    def add_lists(self, ids: pa.Array, lists: pa.Array) -> None:
        idx = pc.list_parent_indices(lists)
        flat = pc.list_flatten(lists)
        chunk = self.data.chunk(len(flat))
        self.data.put(chunk, self.parent_col, pc.take(ids, idx))
        self.data.put(chunk, "position", pa.array(_positions(idx.to_numpy(zero_copy_only=False)), type=pa.int64()))
        if pa.types.is_struct(flat.type):
            # flatten(), not field(): a null object's fields are null, not Arrow's placeholders.
            for field, sub in zip(flat.type, flat.flatten()):
                name = self._own(field.name)
                if pa.types.is_struct(sub.type):
                    for col, inner in _flatten_struct(name, sub):
                        self.data.put(chunk, col, inner)
                else:
                    self.data.put(chunk, name, _json_text(sub) if pa.types.is_nested(sub.type) else sub)
        else:
            self.data.put(chunk, "value", _json_text(flat) if pa.types.is_nested(flat.type) else flat)

    def layout(self, name: str) -> "Layout":
        model = name.partition(".")[0]
        columns: dict[str, Any] = {
            self.parent_col: id_dtype(model) if model in catalog.all_models() else None,
            "position": "Int64",
        }
        columns.update({col: None for col in self.data.names if col not in columns})
        return Layout(name, "child", self.data, columns)


@dataclass
class Layout:
    """One finished table before conversion: its chunks and its columns' declared dtypes.

    ``kind`` is ``"table"`` (a model table; its ``id`` column becomes the index),
    ``"link"`` or ``"child"``. :meth:`frame` builds the DataFrame in memory;
    :meth:`plans` and :meth:`batches` let a writer stream it chunk by chunk in
    exactly the types :meth:`frame` would give.
    """

    name: str
    kind: str
    data: "_Chunks"
    columns: dict[str, Any]  # column -> declared dtype (None: inferred), in order

    @classmethod
    def of_frame(cls, name: str, kind: str, frame: pd.DataFrame) -> "Layout":
        """The layout of a finished DataFrame (model tables with ``id`` as a column), types kept."""
        data = _Chunks()
        chunk = data.chunk(len(frame))
        table = pa.Table.from_pandas(frame, preserve_index=False)
        for column, array in zip(table.column_names, table.columns):
            data.put(chunk, column, array.combine_chunks())
        return cls(name, kind, data, dict.fromkeys(table.column_names))

    def plans(self) -> dict[str, Plan]:
        """Each column's :class:`Plan` (type-conflict warnings are given here)."""
        return {name: self.data.plan(name, dtype, f"{self.name}.{name}") for name, dtype in self.columns.items()}

    def batches(self, plans: Mapping[str, Plan]) -> Iterator[pa.RecordBatch]:
        """Each chunk as a record batch in the planned types; raises :class:`CastFailed`."""
        schema = pa.schema([(name, plan.target) for name, plan in plans.items()])
        for i, rows in enumerate(self.data.lengths):
            parts = self.data.load(i)
            yield pa.RecordBatch.from_arrays(
                [plan.apply(parts.get(name), rows) for name, plan in plans.items()], schema=schema
            )

    def frame(self) -> pd.DataFrame:
        """The finished DataFrame."""
        arrays = {name: self.data.column(name, dtype, f"{self.name}.{name}") for name, dtype in self.columns.items()}
        return arrow_frame(arrays, indexed=self.kind == "table")


def arrow_frame(arrays: Mapping[str, pa.ChunkedArray | pa.Array], indexed: bool) -> pd.DataFrame:
    """A DataFrame of Arrow columns, by the dtype rules above; ``indexed``: the ``id`` column is the index.

    The one conversion used both for frames built in memory and for snapshots
    read back, so both have exactly the same dtypes.

    Examples
    --------
    >>> arrow_frame({"id": pa.array(["a"]), "n": pa.array([1])}, indexed=True).dtypes["n"]
    Int64Dtype()
    """
    arrays = {name: a if isinstance(a, pa.ChunkedArray) else pa.chunked_array([a]) for name, a in arrays.items()}
    if indexed:
        index = arrays.pop("id")
        return _to_pandas(arrays, index)
    return pd.DataFrame({name: _series(array) for name, array in arrays.items()})


class FrameBuilder:
    """Consumes pages as they arrive and builds :class:`LinkedFrames`.

    Each page's new records are converted to compact Arrow columns at once, so a
    caller may drop each page after adding it: the builder never keeps the pages.
    With ``spill``, finished chunks go to files in that folder, so memory holds
    only the ids seen and the batch being converted (the snapshot writer's mode).

    Examples
    --------
    >>> b = FrameBuilder("session")
    >>> b.add_records("session", [{"id": "s1", "name": "a", "projects": ["p1"]}])
    >>> b.finish().links["session.projects"]["project_id"].tolist()
    ['p1']
    """

    def __init__(
        self,
        primary: str,
        *,
        include: Iterable[str] | None = None,
        keys: Mapping[str, str] | None = None,
        spill: Path | None = None,
    ) -> None:
        self.primary = primary
        self.tables: dict[str, _Table] = {}
        self.edges: dict[str, _Edge] = {}
        self.childs: dict[str, _Child] = {}
        self.relations: dict[str, Relation] = {}
        self.spill = spill
        self._folders = 0
        self._keys = dict(keys or {})
        for m in catalog.all_models().values():
            self._keys.setdefault(m.list_key, m.name)
            self._keys.setdefault(m.detail_key, m.name)
        self.declare(primary, include)

    def declare(self, model: str, include: Iterable[str] | None = None) -> None:
        """Create ``model``'s table and those of its ``include`` paths, even if no record arrives.

        So the layout of a result does not depend on whether it is empty,
        sideloaded or nested.
        """
        self.table(model)
        for path in include or ():
            spec = catalog.all_models().get(model)
            for name in path.removesuffix(".*").rstrip(".").split("."):
                if spec is None or name not in spec.field_names:
                    break
                spec = catalog.all_models().get(spec.field(name).related_model or "")
                if spec is not None:
                    self.table(spec.name)

    def _place(self, data: _Chunks) -> None:
        if self.spill is not None:
            self._folders += 1
            data.folder = self.spill / f"{self._folders:05d}"
            data.folder.mkdir(parents=True)

    def table(self, name: str) -> _Table:
        if name not in self.tables:
            self.tables[name] = table = _Table(name, self)
            self._place(table.data)
            spec = catalog.all_models().get(name)
            for f in spec.relations if spec else ():
                if f.many:
                    self.edge(name, f.name, f.related_model)
        return self.tables[name]

    def edge(self, model: str, field_name: str, target: str | None) -> _Edge:
        key = f"{model}.{field_name}"
        if key not in self.edges:
            parent_col = f"{model}_id"
            child_col = f"{target}_id" if target and target != model else f"{field_name}_id"
            self.edges[key] = _Edge(parent_col, child_col)
            self._place(self.edges[key].data)
            self.relations[key] = Relation(model, field_name, target or field_name, "many", key, parent_col, child_col)
        return self.edges[key]

    def child(self, model: str, field_name: str) -> _Child:
        key = f"{model}.{field_name}"
        if key not in self.childs:
            self.childs[key] = _Child(f"{model}_id", field_name)
            self._place(self.childs[key].data)
        return self.childs[key]

    def model_for_key(self, key: str) -> str:
        """The model of a response key (``"data_acquisitions"`` -> ``"dataacquisition"``)."""
        return self._keys.get(key, key)

    def add_records(self, model: str, records: Iterable[dict]) -> None:
        """Add records of ``model`` (nested related records are extracted)."""
        self.table(model).add(records)
        if self.spill is not None:
            self._spill()

    def add_page(self, page: Any, model: str | None = None) -> None:
        """Add one :class:`~brainstem_pandas.pagination.Page` of ``model`` (default: the primary model)."""
        self.add_records(model or self.primary, page.records)
        for key, records in page.related.items():
            self.add_records(self.model_for_key(key), records)

    def _chunks(self) -> list[_Chunks]:
        return [holder.data for store in (self.tables, self.edges, self.childs) for holder in store.values()]

    def _spill(self) -> None:
        for data in self._chunks():
            data.spill()

    def flush(self) -> None:
        """Convert every record still waiting in a batch."""
        with _quiet_gc():
            while any(t.pending for t in self.tables.values()):  # flushing may add nested records elsewhere
                for table in list(self.tables.values()):
                    table.flush()
        if self.spill is not None:
            self._spill()

    # -- re-walks -------------------------------------------------------------------
    def checkpoint(self) -> dict[str, dict[str, int]]:
        """A mark to :meth:`rollback` to: every record added so far is converted and kept."""
        self.flush()
        return {
            kind: {name: len(holder.data.lengths) for name, holder in store.items()}
            for kind, store in (("tables", self.tables), ("edges", self.edges), ("childs", self.childs))
        }

    def rollback(self, mark: Mapping[str, Mapping[str, int]]) -> None:
        """Forget everything added since ``mark`` (a walk that must be done again)."""
        for kind, store in (("tables", self.tables), ("edges", self.edges), ("childs", self.childs)):
            for name in list(store):
                if name not in mark[kind]:
                    store.pop(name).data.rollback(0)
                    if kind == "edges":
                        del self.relations[name]
                elif kind == "tables":
                    store[name].rollback(mark[kind][name])
                else:
                    store[name].data.rollback(mark[kind][name])

    # -- finishing --------------------------------------------------------------------
    def relation_map(self) -> dict[str, Relation]:
        """Every relation between the tables: link tables first, then to-one id columns."""
        relations = dict(self.relations)
        for name, table in self.tables.items():
            for f in table.spec.relations if table.spec else []:
                if not f.many:
                    relations.setdefault(f"{name}.{f.name}", Relation(name, f.name, f.related_model or "", "one"))
        return relations

    def layouts(self) -> Iterator[Layout]:
        """Every table's :class:`Layout`: model tables, then link tables, then child tables.

        Each is released from the builder once the caller moves on to the next.
        """
        self.flush()
        for name in list(self.tables):
            yield self.tables.pop(name).layout()
        for name in list(self.edges):
            edge, rel = self.edges.pop(name), self.relations[name]
            columns = {
                edge.parent_col: id_dtype(rel.model) if rel.model in catalog.all_models() else None,
                edge.child_col: id_dtype(rel.target) if rel.target in catalog.all_models() else None,
                "position": "Int64",
            }
            yield Layout(name, "link", edge.data, columns)
        for name in list(self.childs):
            yield self.childs.pop(name).layout(name)

    def finish(self) -> "LinkedFrames":
        """Build the typed frames (the builder's chunks are released as they are used)."""
        relations = self.relation_map()
        out: dict[str, dict[str, pd.DataFrame]] = {"table": {}, "link": {}, "child": {}}
        with _quiet_gc():
            for layout in self.layouts():
                out[layout.kind][layout.name] = layout.frame()
        return LinkedFrames(self.primary, out["table"], out["link"], out["child"], relations)


class LinkedFrames(Mapping):
    """Typed DataFrames of related models, linked by id.

    Mapping access gives model tables (``lf["session"]``); ``links`` holds link
    tables of to-many relations (``lf.links["session.projects"]``) and
    ``children`` the child tables of object lists (``lf.children["session.download_links"]``).

    Examples
    --------
    >>> lf = client.read_linked("session", include=["projects"])  # doctest: +SKIP
    >>> lf.merge("session", "projects")[["name", "projects.name"]]  # doctest: +SKIP
    """

    def __init__(
        self,
        primary: str,
        tables: dict[str, pd.DataFrame],
        links: dict[str, pd.DataFrame],
        children: dict[str, pd.DataFrame],
        relations: dict[str, Relation],
        *,
        manifest: dict[str, Any] | None = None,
    ) -> None:
        self.primary = primary
        self.tables, self.links, self.children, self.relations = tables, links, children, relations
        #: The snapshot manifest these frames were read from (None for frames read from a server).
        self.manifest = manifest

    # -- mapping ----------------------------------------------------------------------
    def __getitem__(self, name: str) -> pd.DataFrame:
        if name in self.tables:
            return self.tables[name]
        if name in self.links:
            return self.links[name]
        if name in self.children:
            return self.children[name]
        raise KeyError(
            f"{name!r} is not a table here; tables: {', '.join(self.tables)}; "
            f"links: {', '.join(self.links) or 'none'}; children: {', '.join(self.children) or 'none'}"
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self.tables)

    def __len__(self) -> int:
        return len(self.tables)

    def to_dict(self) -> dict[str, pd.DataFrame]:
        """Every table by name: model tables, then link tables, then child tables."""
        return {**self.tables, **self.links, **self.children}

    # -- navigation ---------------------------------------------------------------------
    def _relation(self, left: str, relation: str) -> Relation:
        key = f"{left}.{relation}"
        if key not in self.relations:
            known = sorted(k.partition(".")[2] for k in self.relations if k.startswith(f"{left}."))
            raise KeyError(f"{left} has no relation {relation!r} here; relations: {', '.join(known) or 'none'}")
        return self.relations[key]

    def merge(self, left: str, relation: str, how: str = "left") -> pd.DataFrame:
        """``left``'s table joined with the related records through ``relation``.

        To-many relations go through their link table (one row per pair, in API
        order, with ``position``); to-one relations through their id column. The
        related columns are prefixed with ``"<relation>."``.

        Examples
        --------
        >>> lf.merge("session", "projects").columns[:4].tolist()  # doctest: +SKIP
        ['session_id', 'project_id', 'position', 'name']
        """
        rel = self._relation(left, relation)
        base = self.tables[left]
        right = self.tables.get(rel.target)
        if rel.kind == "many":
            link = self.links[rel.table]
            out = link.merge(base, left_on=rel.parent_col, right_index=True, how=how)
            if right is not None:
                out = out.merge(right.add_prefix(f"{relation}."), left_on=rel.child_col, right_index=True, how="left")
            return out.sort_values([rel.parent_col, "position"], kind="stable").reset_index(drop=True)
        out = base.reset_index().rename(columns={"id": f"{left}_id"})
        if right is None:
            return out
        return out.merge(right.add_prefix(f"{relation}."), left_on=relation, right_index=True, how=how)

    def related(self, model: str, id: Any) -> "LinkedFrames":
        """One record's neighbourhood: the record and every row one link away.

        Examples
        --------
        >>> hood = lf.related("session", sid)  # doctest: +SKIP
        >>> hood["behavior"]                   # the session's behaviors  # doctest: +SKIP
        """
        if model not in self.tables:
            raise KeyError(f"{model!r} is not a table here; tables: {', '.join(self.tables)}")
        frame = self.tables[model]
        if id not in frame.index:
            raise KeyError(f"no {model} with id {id!r}")
        keep: dict[str, set] = {model: {id}}
        links, children = {}, {}
        for name, rel in self.relations.items():
            if rel.kind == "many":
                link = self.links[rel.table]
                if rel.model == model:
                    rows = link[link[rel.parent_col] == id]
                    keep.setdefault(rel.target, set()).update(rows[rel.child_col].dropna())
                elif rel.target == model:
                    rows = link[link[rel.child_col] == id]
                    keep.setdefault(rel.model, set()).update(rows[rel.parent_col].dropna())
                else:
                    continue
                links[rel.table] = rows.reset_index(drop=True)
            elif rel.model == model and pd.notna(frame.at[id, rel.field]):
                keep.setdefault(rel.target, set()).add(frame.at[id, rel.field])
            elif rel.target == model and rel.model in self.tables:
                other = self.tables[rel.model]
                keep.setdefault(rel.model, set()).update(other.index[other[rel.field] == id])
        for name, table in self.children.items():
            if name.partition(".")[0] == model:
                children[name] = table[table[f"{model}_id"] == id].reset_index(drop=True)
        tables = {
            name: self.tables[name][self.tables[name].index.isin(list(ids))]
            for name, ids in keep.items()
            if name in self.tables
        }
        return LinkedFrames(
            model,
            tables,
            links,
            children,
            {k: v for k, v in self.relations.items() if v.kind == "one" or v.table in links},
        )

    # -- display ----------------------------------------------------------------------
    def _rows(self) -> list[tuple[str, str, int, int]]:
        rows = [("table", name, len(df), df.shape[1]) for name, df in self.tables.items()]
        rows += [("link", name, len(df), df.shape[1]) for name, df in self.links.items()]
        rows += [("child", name, len(df), df.shape[1]) for name, df in self.children.items()]
        return rows

    def __repr__(self) -> str:
        lines = [f"LinkedFrames(primary={self.primary!r})"]
        for kind, name, n, cols in self._rows():
            lines.append(f"  {kind:<5} {name:<40} {n:>9,} rows x {cols} columns")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        body = "".join(
            f"<tr><td>{kind}</td><td><code>{html.escape(name)}</code></td><td style='text-align:right'>{n:,}</td>"
            f"<td style='text-align:right'>{cols}</td></tr>"
            for kind, name, n, cols in self._rows()
        )
        rels = ", ".join(html.escape(k) for k in sorted(self.relations))
        return (
            f"<div><b>LinkedFrames</b> (primary: <code>{html.escape(self.primary)}</code>)"
            f"<table><thead><tr><th>kind</th><th>name</th><th>rows</th><th>columns</th></tr></thead>"
            f"<tbody>{body}</tbody></table><small>relations: {rels or 'none'}</small></div>"
        )


def records_frame(model: str | catalog.Model, records: list[dict[str, Any]]) -> pd.DataFrame:
    """A flat typed DataFrame of ``records`` (lists and objects kept as Python values).

    Examples
    --------
    >>> records_frame("session", []).dtypes["date_time"]
    datetime64[us, UTC]
    """
    spec = model if isinstance(model, catalog.Model) else catalog.model(model)
    declared = schema(spec)
    ids = [r.get("id") for r in records]
    data = {
        name: column([r.get(name) for r in records], dtype, f"{spec.name}.{name}") for name, dtype in declared.items()
    }
    extra: dict[str, None] = {}
    for record in records:
        extra.update(dict.fromkeys(k for k in record if k not in declared and k != "id"))
    for name in extra:
        data[name] = inferred_column([r.get(name) for r in records], f"{spec.name}.{name}")
    return pd.DataFrame(data, index=pd.Index(column(ids, id_dtype(spec.name), f"{spec.name}.id"), name="id"))
