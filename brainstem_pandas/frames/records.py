"""Records -> one flat typed DataFrame (``read``), and related records nested in records.

:func:`records_frame` takes the builder's path: each column becomes an Arrow
array in the type the catalog declares (:mod:`~brainstem_pandas.frames.dtypes`),
then a pandas column by the same table as ``read_linked``'s, so the two give the
same dtype for every column they share. Unlike ``read_linked`` it keeps every
field in one table: to-many relations as lists of ids, JSON fields as sent.

Examples
--------
>>> frame = records_frame("session", [{"id": "s1", "name": "a", "tags": ["pilot"], "projects": ["p1"]}])
>>> frame.dtypes[["name", "tags", "projects", "date_time"]].astype(str).tolist()
['string', 'list<item: string>[pyarrow]', 'list<item: string>[pyarrow]', 'datetime64[us, UTC]']
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain
from typing import Any

import pandas as pd
import pyarrow as pa

from brainstem_pandas import catalog
from brainstem_pandas.errors import ResponseError
from brainstem_pandas.frames.arrow import column_array, quiet_gc, record_values, text_array
from brainstem_pandas.frames.dtypes import OBJECT, flat_types, object_array, pandas_dtype, to_pandas, wire_types
from brainstem_pandas.frames.layout import INDEX, column_label
from brainstem_pandas.frames.plan import CastFailed, plan_column

ID_TYPES = frozenset({str, int})  # not bool, float, null or containers: they cannot name one record


def malformed_record(table: str, records: list[Any]) -> ResponseError:
    """The error for the first of ``records`` that is not an object with a text or whole-number id."""
    for at, record in enumerate(records):
        if not isinstance(record, dict):
            what = f"item {at} is {type(record).__name__}, not a record (an object)"
        elif record.get(INDEX) is None:
            what = f"record {at} has no id"
        elif type(record[INDEX]) not in ID_TYPES:
            what = f"record {at} has an id of type {type(record[INDEX]).__name__} ({record[INDEX]!r:.40})"
        else:
            continue
        return ResponseError(
            "GET",
            f"({table} records)",
            f"{what}: an id must be text or a whole number; the server's answer is malformed: check that the URL "
            "is a BrainSTEM server and report the record to its admin",
        )
    return ResponseError("GET", f"({table} records)", "the records are not objects with ids")


def _finished(array: pa.Array, label: str, final: pa.DataType | None) -> Any:
    """One column finished as ``final`` (None: as inferred), as the builder finishes it; clashes become text."""
    plan = plan_column([array.type], final, label)
    try:
        out = plan.apply(array, len(array))
    except CastFailed:
        out = plan.fallback().apply(array, len(array))
    return to_pandas(pa.chunked_array([out], type=out.type))


def _holds_objects(values: list[Any]) -> bool:
    return any(isinstance(v, dict) or (isinstance(v, list) and any(isinstance(i, dict) for i in v)) for v in values)


def _undeclared(values: list[Any], label: str) -> Any:
    """A column no catalog describes, typed as ``read_linked`` types it where both keep it."""
    if _holds_objects(values):
        return to_pandas(pa.chunked_array([text_array(values)]))  # JSON text (read_linked expands objects)
    array = column_array(values, label)
    if pa.types.is_nested(array.type) and pandas_dtype(array.type) is OBJECT:
        return object_array(values)  # lists of numbers, lists of lists: Python values as sent
    return _finished(array, label, None)


def _column(values: list[Any], label: str, declared: bool, wire: pa.DataType | None, final: pa.DataType | None) -> Any:
    if not declared:
        return _undeclared(values, label)
    if final is None:
        return object_array(values)  # JSON, as sent
    return _finished(column_array(values, label, wire), label, final)


def records_frame(model: str | catalog.Model, records: list[dict[str, Any]]) -> pd.DataFrame:
    """A flat typed DataFrame of ``records``, indexed by ``id``.

    Every documented field is a column, in the dtype of the one dtype table (an
    empty result has the same columns and dtypes as a full one); to-many
    relations are lists of ids, JSON fields Python values as sent; fields the
    catalog does not know follow, typed by inference.

    Examples
    --------
    >>> records_frame("session", []).dtypes["date_time"]
    datetime64[us, UTC]
    >>> records_frame("user", [{"id": 3, "username": "ann"}]).index
    Index([3], dtype='Int64', name='id')
    """
    spec = model if isinstance(model, catalog.Model) else catalog.model(model)
    wire, types = wire_types(spec), flat_types(spec)
    names = dict.fromkeys([*types, *dict.fromkeys(chain.from_iterable(records))])
    with quiet_gc():
        data = {
            name: _column(
                record_values(records, name)[0],
                column_label(spec.name, name),
                name in types,
                wire.get(name),
                types.get(name),
            )
            for name in names
        }
    index = pd.Index(data.pop(INDEX), name=INDEX)
    return pd.DataFrame(data, index=index)


def nested_records(records: Iterable[dict[str, Any]], model: str | catalog.Model) -> dict[str, list[dict[str, Any]]]:
    """Related records nested in ``records`` (at any depth), by response key, as sideloading would give them.

    A page of a ``sideloading=false`` answer holds related records inline; this
    collects them the way ``page.related`` holds sideloaded ones (keys as the
    catalog's list keys), for callers that stream pages themselves.
    :class:`~brainstem_pandas.frames.FrameBuilder` needs no help: it extracts them itself.

    Examples
    --------
    >>> nested_records([{"id": "s1", "projects": [{"id": "p1", "name": "P"}, "p2"]}], "session")
    {'projects': [{'id': 'p1', 'name': 'P'}]}
    """
    spec = model if isinstance(model, catalog.Model) else catalog.all_models().get(model)
    out: dict[str, list[dict[str, Any]]] = {}
    _collect(list(records), spec, out)
    return out


def _collect(records: list[dict[str, Any]], spec: catalog.Model | None, out: dict[str, list[dict[str, Any]]]) -> None:
    if spec is None:
        return
    for record in records:
        for f in spec.relations:
            value = record.get(f.name)
            inline = [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, dict)]
            if not inline:
                continue
            target = catalog.all_models().get(f.related_model or "")
            key = target.list_key if target else f.related_model or f.name  # the builder's model_for_key inverts this
            out.setdefault(key, []).extend(inline)
            _collect(inline, target, out)
