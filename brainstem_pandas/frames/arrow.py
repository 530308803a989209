"""Python values -> Arrow arrays: type inference, clashes kept as text, JSON text.

Each page's new records become Arrow arrays at once (pyarrow converts lists of
dicts in C++), so the builder keeps compact columns, never the pages' dicts.
Values of one column that cannot share a type are kept as text, with a
:class:`TypeConflictWarning` naming the column; nothing is dropped.

Examples
--------
>>> column_array([1, 2, None], "thing.n").type
DataType(int64)
>>> json_text(pa.array([{"a": 1}])).to_pylist()
['{"a": 1}']
"""

from __future__ import annotations

import gc
import json
import re
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from operator import itemgetter
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from brainstem_pandas.errors import ResponseError
from brainstem_pandas.frames.layout import column_label, expanded_column

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError)
# Objects and lists are laid out this many levels deep at most; a column holding deeper
# values is kept as JSON text, so a hostile answer nested hundreds deep costs no recursion.
MAX_DEPTH = 16


class TypeConflictWarning(UserWarning):
    """Values of one column that could not share its type were kept as text."""


def warn_text(label: str, why: str) -> None:
    """Warn that column ``label`` is kept as text, and why."""
    warnings.warn(f"column {label!r}: {why}; kept as text", TypeConflictWarning, stacklevel=5)


# -- text -------------------------------------------------------------------------------


def as_text(value: Any) -> str | None:
    """One value as text: JSON for objects and lists, ``str`` for other scalars.

    Examples
    --------
    >>> as_text({"b": 1, "a": [True]}), as_text(2.5), as_text(None)
    ('{"a": [true], "b": 1}', '2.5', None)
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        try:
            return json.dumps(value, sort_keys=True)
        except RecursionError:  # nested deeper than the stack allows: encode without recursing
            return deep_json(value)
    return str(value)


def deep_json(value: Any) -> str:
    """``json.dumps(value, sort_keys=True)`` with an explicit stack, for values of any depth.

    Examples
    --------
    >>> deep_json({"b": [1, {"c": None}], "a": "x"}) == json.dumps({"b": [1, {"c": None}], "a": "x"}, sort_keys=True)
    True
    """
    out: list[str] = []
    stack: list[tuple[bool, Any]] = [(False, value)]  # (is raw text, item)
    while stack:
        raw, item = stack.pop()
        if raw:
            out.append(item)
        elif isinstance(item, dict):
            parts: list[tuple[bool, Any]] = [(True, "{")]
            for i, key in enumerate(sorted(item)):
                parts += [(True, (", " if i else "") + json.dumps(key) + ": "), (False, item[key])]
            stack.extend(reversed([*parts, (True, "}")]))
        elif isinstance(item, list):
            parts = [(True, "[")]
            for i, inner in enumerate(item):
                parts += [(True, ", " if i else ""), (False, inner)]
            stack.extend(reversed([*parts, (True, "]")]))
        else:
            out.append(json.dumps(item))
    return "".join(out)


def text_array(values: list[Any]) -> pa.Array:
    """Python values as one Arrow string array (see :func:`as_text`)."""
    return pa.array([as_text(v) for v in values], type=pa.string())


def json_text(array: pa.Array) -> pa.Array:
    """An Arrow array as JSON text, one value per row."""
    return text_array(array.to_pylist())


def to_text(array: pa.Array) -> pa.Array:
    """An Arrow array as text, spelled as Python spells the values (``True``, ``2.0``)."""
    if pa.types.is_null(array.type):
        return array.cast(pa.string())
    if pa.types.is_nested(array.type):
        return json_text(array)
    try:
        if pa.types.is_boolean(array.type) or pa.types.is_floating(array.type):
            # As values that clash within one batch are written.
            return pa.array([None if v is None else str(v) for v in array.to_pylist()], type=pa.string())
        return pc.cast(array, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return json_text(array)


@contextmanager
def quiet_gc() -> Iterator[None]:
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


# -- inference --------------------------------------------------------------------------


def _mixed_text(values: list[Any], label: str, warn: bool = True) -> pa.Array:
    if warn:
        warn_text(label, f"mixed value types {sorted({type(v).__name__ for v in values if v is not None})}")
    try:
        return text_array(values)
    except UnicodeEncodeError as exc:
        raise invalid_text(label, exc) from None


def invalid_text(label: str, exc: UnicodeEncodeError) -> ResponseError:
    """The error for text Arrow cannot hold (UTF-8 only): a lone surrogate such as ``"\\ud800"`` from JSON."""
    bad = exc.object[exc.start : exc.end] if isinstance(exc.object, str) else "?"
    return ResponseError(
        "GET",
        f"({label.split('.')[0]} records)",
        f"column {label!r} holds text that is not valid Unicode ({bad!r}, a lone surrogate); the server's "
        "answer is malformed: report the record to the server's admin",
    )


def _holds_float(kind: pa.DataType) -> bool:
    if pa.types.is_struct(kind):
        return any(_holds_float(f.type) for f in kind)
    if pa.types.is_list(kind):
        return _holds_float(kind.value_type)
    return pa.types.is_floating(kind)


def _bools_lost(values: list[Any], kind: pa.DataType) -> bool:
    """True if Arrow read a boolean of ``values`` as a number (next to a float it takes True for 1.0)."""
    if not _holds_float(kind):
        return False  # the common case: no float, nothing to check
    if pa.types.is_struct(kind):
        objects = [v for v in values if isinstance(v, dict)]
        return any(_bools_lost([v.get(f.name) for v in objects], f.type) for f in kind)
    if pa.types.is_list(kind):
        return _bools_lost([i for v in values if isinstance(v, list) for i in v], kind.value_type)
    return bool in set(map(type, values))


def _inferred(values: list[Any], kind: pa.DataType | None, depth: int = 0) -> pa.Array | None:
    """``values`` as Arrow infers them (``kind`` tried first); None if they clash."""
    if kind is not None and not (pa.types.is_list(kind) and str in set(map(type, values))):
        # (Arrow would take text for a list of its characters.)
        try:
            return pa.array(values, type=kind)
        except _ARROW_ERRORS:
            pass  # not what the catalog says: infer, and let the cast at the end complain
    try:
        array = pa.array(values)
    except _ARROW_ERRORS:
        return None
    if depth + type_depth(array.type) > MAX_DEPTH:  # before the checks below recurse over the type
        raise _TooDeep
    if pa.types.is_list(array.type) and _null_items(array.type) and len(pc.list_flatten(array)):
        # Lists holding only nulls: Arrow (26) corrupts list<null> when casting it (as a snapshot read
        # back does), so such items are typed as text, which holds nulls alike.
        array = pa.array(values, type=_null_items(array.type))
    return None if _bools_lost(values, array.type) else array


def _null_items(kind: pa.DataType) -> pa.DataType | None:
    """``kind`` (lists of lists...) with its null items typed as text; None if it has none."""
    if not pa.types.is_list(kind):
        return pa.string() if pa.types.is_null(kind) else None
    inner = _null_items(kind.value_type)
    return None if inner is None else pa.list_(inner)


class _TooDeep(Exception):
    """Values nested deeper than :data:`MAX_DEPTH` (column_array keeps their column as JSON text)."""


def type_depth(kind: pa.DataType) -> int:
    """How many levels of structs and lists ``kind`` nests (counted without recursing).

    Examples
    --------
    >>> type_depth(pa.int64()), type_depth(pa.list_(pa.struct([("a", pa.list_(pa.int64()))])))
    (0, 3)
    """
    deepest, level = 0, [(kind, 0)]
    while level:
        t, d = level.pop()
        deepest = max(deepest, d)
        if pa.types.is_struct(t):
            level.extend((f.type, d + 1) for f in t)
        elif pa.types.is_list(t) or pa.types.is_large_list(t):
            level.append((t.value_type, d + 1))
    return deepest


def _object_lists(values: list[Any]) -> bool:
    return all(v is None or isinstance(v, list) for v in values) and all(
        i is None or isinstance(i, dict) for v in values if v for i in v
    )


def _split_lists(values: list[Any], label: str, depth: int) -> pa.Array:
    """Lists of objects whose keys clash: their items are split per key too."""
    items = column_array([i for v in values if v for i in v], label, depth=depth)
    offsets = pa.array(np.cumsum([0] + [len(v or ()) for v in values]), type=pa.int32())
    return pa.ListArray.from_arrays(offsets, items, mask=pa.array([v is None for v in values]))


def _split_objects(values: list[Any], label: str, depth: int) -> pa.Array:
    """Objects whose keys clash: one array per key, so only a clashing key turns to text."""
    keys: dict[str, None] = {}
    for v in values:
        keys.update(dict.fromkeys(v or {}))
    fields = [column_array([(v or {}).get(k) for v in values], expanded_column(label, k), depth=depth) for k in keys]
    if not fields:
        return pa.nulls(len(values))
    missing = pa.array([v is None for v in values])
    return pa.StructArray.from_arrays(fields, names=list(keys), mask=missing)


def column_array(values: list[Any], label: str, kind: pa.DataType | None = None, depth: int = 0) -> pa.Array:
    """An Arrow array of one column's Python values; clashing values become text.

    ``kind`` is the expected type when the catalog declares one (no inference
    needed); objects whose keys clash in type are split per key first, so only
    the clashing key turns to text. A column nested more than :data:`MAX_DEPTH`
    levels deep is kept as JSON text (``depth``: levels already split above).

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True):
    ...     column_array([{"a": 1}, {"a": "x", "b": 2}], "t.c").type
    StructType(struct<a: string, b: int64>)
    """
    try:
        array = _inferred(values, kind, depth)
        if array is None and depth >= MAX_DEPTH:
            raise _TooDeep  # splitting clashes this deep: the whole column goes to text instead
    except UnicodeEncodeError as exc:
        raise invalid_text(label, exc) from None
    except _TooDeep:
        if depth:
            raise
        # Laid out as JSON text whole: exact, and no deep Arrow types or recursion.
        warn_text(label, f"values nested more than {MAX_DEPTH} levels deep")
        return _mixed_text(values, label, warn=False)
    if array is not None:
        return array
    if _object_lists(values):
        return _split_lists(values, label, depth + 1)
    if not all(v is None or isinstance(v, dict) for v in values):
        return _mixed_text(values, label)
    return _split_objects(values, label, depth + 1)


def record_values(records: list[dict[str, Any]], name: str) -> tuple[list[Any], bool]:
    """The values of ``name`` in every record, and whether every record had the key."""
    try:
        return list(map(itemgetter(name), records)), True  # C-level loop: the hot path of a build
    except KeyError:
        return [r.get(name) for r in records], False


def records_to_arrays(
    records: list[dict[str, Any]], table: str, kinds: Mapping[str, pa.DataType]
) -> dict[str, pa.Array]:
    """Columns of ``records`` as Arrow arrays, one column at a time (``kinds``: expected types).

    Column by column is faster than ``pa.Table.from_pylist`` (which infers every
    nested type at once) and lets one clashing column fall back alone.

    Examples
    --------
    >>> records_to_arrays([{"id": "a", "n": 1}, {"id": "b", "m": True}], "t", {})["m"].to_pylist()
    [None, True]
    """
    names = list(records[0])
    out: dict[str, pa.Array] = {}
    complete = True
    for name in names:
        values, everywhere = record_values(records, name)
        complete = complete and everywhere
        out[name] = column_array(values, column_label(table, name), kinds.get(name))
    # Records of the same size that all hold the first record's keys hold no others;
    # only otherwise is the (costly) union of every record's keys needed.
    if not (complete and len(set(map(len, records))) == 1):
        for name in sorted(set().union(*records).difference(names), key=str):
            out[name] = column_array(record_values(records, name)[0], column_label(table, name), kinds.get(name))
    return out


# -- shapes -----------------------------------------------------------------------------


def all_uuids(lists: pa.Array) -> bool:
    """True if ``lists`` holds lists of UUID strings only (and at least one)."""
    flat = pc.list_flatten(lists)
    if len(flat) == 0 or not pa.types.is_string(flat.type):
        return False
    return bool(pc.all(pc.match_substring_regex(flat, UUID_RE.pattern)).as_py())


def flatten_struct(prefix: str, array: pa.Array) -> Iterator[tuple[str, pa.Array]]:
    """``prefix.key`` columns of a struct array (one level; deeper values as JSON text)."""
    for i in range(array.type.num_fields):
        sub = array.field(i)
        if array.null_count:
            sub = pc.if_else(array.is_valid(), sub, pa.nulls(len(sub), sub.type))
        name = expanded_column(prefix, array.type.field(i).name)
        yield name, (json_text(sub) if pa.types.is_nested(sub.type) else sub)


def list_positions(parents: pa.Array) -> pa.Array:
    """Each flattened item's place in its own list, from its list's index (``parents`` ascend).

    Examples
    --------
    >>> list_positions(pc.list_parent_indices(pa.array([["a", "b"], [], ["c"]]))).to_pylist()
    [0, 1, 0]
    """
    index = parents.to_numpy(zero_copy_only=False)
    n = len(index)
    if n == 0:
        return pa.array([], type=pa.int64())
    rows = np.arange(n)
    new = np.empty(n, dtype=bool)
    new[0] = True
    new[1:] = index[1:] != index[:-1]
    return pa.array(rows - np.maximum.accumulate(np.where(new, rows, 0)), type=pa.int64())
