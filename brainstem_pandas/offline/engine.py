"""Filter and sort semantics of the BrainSTEM server, as pure functions on arrays.

Nothing here knows a snapshot: values come in as Arrow arrays (or plain lists),
ids as :class:`pandas.Index`, and related records through the small :class:`Data`
protocol, so each rule can be checked on a handful of values. The rules follow
the BrainSTEM service: Django and dynamic-rest on PostgreSQL (a ``C.UTF-8``
database, as the sandbox's ``database="postgresql"`` mode creates; text rules in
:mod:`.textrules`):

- ``exact``, ``in``, ``contains``, ``startswith`` and ``endswith`` compare
  case-sensitively; ``iexact``, ``icontains``, ``istartswith`` and ``iendswith``
  compare ``UPPER()`` of both sides, which folds every Unicode letter (``ß`` stays);
- a value is read as the server reads the text it is sent: UUIDs in any spelling,
  datetimes in UTC (naive or a bare date is UTC, a date is midnight), booleans as
  dynamic-rest does (``"0"``, ``"false"``, ``""`` false, other text true); a value
  it cannot read is a :class:`~brainstem_pandas.errors.QueryError` (the server's 400);
- NULL passes no filter but ``isnull``; ``isnull`` on JSON is true only for JSON
  null; on a list (``tags``) ``contains`` is JSON containment (the list holds the
  value), ``icontains`` a substring of its JSON text, and ``exact`` never matches;
- a related path matches when *any* related record matches, and the filters that
  go through one to-many relation must hold for the *same* related record (one
  Django ``.filter()`` call); ``isnull=True`` through a relation also matches
  records without related records (``LEFT JOIN``);
- sort: PostgreSQL order (text by code point, NULLs last ascending and first
  descending), a related path by the smallest related value ascending and the
  largest descending (dynamic-rest); lists as ``jsonb``; JSON fields not at all.

Examples
--------
>>> mask = compare(["Rat", "rat", "RÄT", "räT", None], Leaf(("name",), "iexact", ("RÄT",), "string"))
>>> mask.tolist()
[False, False, True, True, False]
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Protocol, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from brainstem_pandas import catalog, query
from brainstem_pandas.errors import QueryError, SnapshotError
from brainstem_pandas.offline.textrules import like, list_mask, list_ranks

FALSEY = ("0", "false", "")
"""dynamic-rest's ``is_truthy``: these texts are false, every other text is true."""

LIKE_OPS = frozenset({"iexact", "contains", "icontains", "startswith", "istartswith", "endswith", "iendswith"})
"""Operators that are ``LIKE`` (see :func:`~brainstem_pandas.offline.textrules.like`)."""

ORDER_OPS = {"exact": pc.equal, "gt": pc.greater, "gte": pc.greater_equal, "lt": pc.less, "lte": pc.less_equal}
"""Operators that compare by value order, and the Arrow kernels that evaluate them."""

# Django's parse_date also takes one-digit months and days.
_DATE_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


# -- arrays -------------------------------------------------------------------------------


def as_arrow(values: pd.Series | pd.Index | pa.Array | Sequence[Any]) -> pa.Array:
    """Values as one Arrow array (pandas NA and NaN become nulls).

    Examples
    --------
    >>> as_arrow(pd.Series([1, None, 3], dtype="Int64")).to_pylist()
    [1, None, 3]
    >>> as_arrow(["a", None]).type
    DataType(string)
    """
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks()
    if isinstance(values, pa.Array):
        return values
    data: Any = values.array if isinstance(values, (pd.Series, pd.Index)) else values
    if isinstance(data, pd.arrays.NumpyExtensionArray):
        data = data.to_numpy()
    array = pa.array(data, from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


# -- filter values ------------------------------------------------------------------------


def parse_date(text: str) -> date | None:
    """A date as Django's ``parse_date`` reads it (one-digit months and days too); None if it cannot.

    Examples
    --------
    >>> parse_date("2024-5-1"), parse_date("2024-02-30")
    (datetime.date(2024, 5, 1), None)
    """
    try:
        return date.fromisoformat(text)
    except ValueError:
        match = _DATE_RE.match(text)
    if match is None:
        return None
    try:
        return date(*map(int, match.groups()))
    except ValueError:
        return None


def parse_datetime(text: str) -> datetime | None:
    """A datetime in UTC (naive means UTC, a bare date is midnight); None if it cannot be read.

    Examples
    --------
    >>> parse_datetime("2024-05-01T12:00:00+02:00")
    datetime.datetime(2024, 5, 1, 10, 0, tzinfo=datetime.timezone.utc)
    >>> parse_datetime("2024-05-01")
    datetime.datetime(2024, 5, 1, 0, 0, tzinfo=datetime.timezone.utc)
    """
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        day = parse_date(text)
        if day is None:
            return None
        value = datetime(day.year, day.month, day.day)  # Django reads a bare date as midnight
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)  # the server's time zone
    return value.astimezone(timezone.utc)


def parse_value(kind: str, text: str, key: str) -> Any:
    """A filter value as the server reads the text it is sent (:func:`~brainstem_pandas.query.encode_value`).

    Raises
    ------
    QueryError
        For a text the server cannot read as ``kind`` (it answers 400).

    Examples
    --------
    >>> parse_value("uuid", "01E32354-2EBE-4DCB-A401-B180301F5124", "id")
    '01e32354-2ebe-4dcb-a401-b180301f5124'
    >>> parse_value("boolean", "no", "is_public"), parse_value("boolean", "False", "is_public")
    (True, False)
    """
    if kind == "uuid":
        try:
            return str(uuid.UUID(text))
        except ValueError:
            raise QueryError(f"Filter {key!r}: {text!r} is not a valid UUID.") from None
    if kind in ("integer", "number"):
        try:
            return int(text) if kind == "integer" else float(text)
        except ValueError:
            raise QueryError(
                f"Filter {key!r}: {text!r} is not {'an integer' if kind == 'integer' else 'a number'}."
            ) from None
    if kind == "boolean":
        return text.lower() not in FALSEY
    if kind in ("date", "datetime"):
        value = parse_date(text) if kind == "date" else parse_datetime(text)
        if value is None:
            example = "2024-05-01" if kind == "date" else "2024-05-01T12:00:00Z"
            raise QueryError(f"Filter {key!r}: {text!r} is not an ISO 8601 {kind} (e.g. {example}).")
        return value
    return text


def id_kind(model: str | None) -> str:
    """How the ids of ``model`` are read: ``"integer"`` (users, groups) or ``"uuid"``.

    Examples
    --------
    >>> id_kind("user"), id_kind("session"), id_kind("epoch")
    ('integer', 'uuid', 'uuid')
    """
    known = catalog.all_models().get(model or "")
    return "integer" if known is not None and known.id_type == "integer" else "uuid"


@dataclass(frozen=True)
class Leaf:
    """One filter: its path from the model it is evaluated on (a relation's ends on ``"id"``),
    operator, parsed values (several for ``in``, a bool for ``isnull``) and the catalog type
    of the field the path ends on."""

    parts: tuple[str, ...]
    operator: str
    values: tuple[Any, ...]
    kind: str

    @property
    def null_row(self) -> bool:
        """Whether a missing related record passes (``LEFT JOIN`` then ``IS NULL``)."""
        return self.operator == "isnull" and bool(self.values[0])

    def tail(self) -> Leaf:
        """The same filter, one relation further along its path."""
        return Leaf(self.parts[1:], self.operator, self.values, self.kind)


def leaf(target: query.Target, value: Any, key: str) -> Leaf:
    """The :class:`Leaf` of one filter already resolved (and checked) by :func:`brainstem_pandas.query.resolve`.

    Examples
    --------
    >>> spec = catalog.model("session")
    >>> leaf(query.resolve(spec, "projects.in"), ["01E32354-2EBE-4DCB-A401-B180301F5124"], "projects.in")
    Leaf(parts=('projects', 'id'), operator='in', values=('01e32354-2ebe-4dcb-a401-b180301f5124',), kind='uuid')
    """
    parts, kind = tuple(target.path.split(".")), target.field.type
    if target.field.is_relation:
        # A relation compares related ids, so it goes through the relation too.
        parts, kind = parts + ("id",), id_kind(target.field.related_model)
    if target.operator == "isnull":
        return Leaf(parts, target.operator, (bool(value),), kind)
    raw = list(value) if target.operator == "in" else [value]
    return Leaf(parts, target.operator, tuple(parse_value(kind, query.encode_value(v), key) for v in raw), kind)


# -- comparing ------------------------------------------------------------------------------


def _scalar(value: Any, kind: pa.DataType) -> pa.Scalar:
    try:
        return pa.scalar(value, type=kind)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            return pa.scalar(str(value), type=kind)  # a column kept as text compares as text
        raise SnapshotError(f"Cannot compare values of type {kind} with {value!r}.") from None


def compare(values: pa.Array | pd.Series | pd.Index | Sequence[Any], condition: Leaf) -> np.ndarray:
    """Where ``values`` pass one filter (NULL passes nothing but ``isnull``), as a bool array.

    Examples
    --------
    >>> compare([3, None, 1], Leaf(("order",), "gte", (2,), "integer")).tolist()
    [True, False, False]
    >>> compare([3, None, 1], Leaf(("order",), "isnull", (True,), "integer")).tolist()
    [False, True, False]
    """
    array = as_arrow(values)
    op, wanted = condition.operator, condition.values
    if pa.types.is_integer(array.type) and any(isinstance(v, float) for v in wanted):
        array = array.cast(pa.float64())
    if op == "isnull":
        result = array.is_null() if wanted[0] else array.is_valid()
    elif pa.types.is_null(array.type):
        return np.zeros(len(array), dtype=bool)
    elif op == "in":
        allowed = pa.array([_scalar(v, array.type).as_py() for v in wanted], type=array.type)
        result = pc.is_in(array, value_set=allowed)
    elif op in LIKE_OPS:
        result = like(array, op, wanted[0])
    else:
        result = ORDER_OPS[op](array, _scalar(wanted[0], array.type))
    return result.fill_null(False).to_numpy(zero_copy_only=False)


# -- sorting --------------------------------------------------------------------------------


def ranks(values: pa.Array | pd.Series | pd.Index | Sequence[Any]) -> np.ndarray:
    """Dense ranks of ``values`` in PostgreSQL's order (text by code point); NaN for NULL.

    Examples
    --------
    >>> ranks(["b", None, "B", "b"]).tolist()
    [2.0, nan, 1.0, 2.0]
    """
    array = as_arrow(values)
    if len(array) == 0 or pa.types.is_null(array.type):
        return np.full(len(array), np.nan)
    out = pc.rank(array, sort_keys="ascending", tiebreaker="dense").to_numpy(zero_copy_only=False).astype(float)
    out[array.is_null().to_numpy(zero_copy_only=False)] = np.nan
    return out


def aggregate(values: np.ndarray, owners: np.ndarray, size: int, descending: bool) -> np.ndarray:
    """Each owner's rank through a to-many relation: its smallest related rank, its largest descending.

    Examples
    --------
    >>> aggregate(np.array([3.0, 1.0, 2.0]), np.array([0, 0, 2]), 3, descending=False).tolist()
    [1.0, nan, 2.0]
    """
    # dynamic-rest orders across a to-many relation by Min (ascending) or Max (descending).
    out = np.full(size, np.nan)
    if len(owners):
        groups = pd.Series(values).groupby(owners)
        best = groups.max() if descending else groups.min()
        out[best.index.to_numpy()] = best.to_numpy()
    return out


def sort_key(rank: np.ndarray, descending: bool) -> np.ndarray:
    """A key that sorts ascending in the term's order, with NULL (NaN) where PostgreSQL puts it.

    Examples
    --------
    >>> sort_key(np.array([2.0, np.nan, 1.0]), descending=True).tolist()
    [-2.0, -inf, -1.0]
    """
    # PostgreSQL: NULL is the largest value, last ascending and first descending.
    null = np.isnan(rank)
    return np.where(null, -np.inf, -rank) if descending else np.where(null, np.inf, rank)


# -- related records ----------------------------------------------------------------------


class Data(Protocol):
    """What the engine reads of the records it filters and sorts: ``ids`` are unique ids of ``model``."""

    def values(self, model: str, name: str, ids: pd.Index, why: str) -> pa.Array:
        """The values of field ``name`` at ``ids`` (NULL where a record or the field is missing)."""
        ...

    def pairs(self, model: str, ids: pd.Index, name: str, many: bool) -> tuple[np.ndarray, np.ndarray]:
        """``(owner position in ids, related id)`` for each record related to ``ids`` through ``name``."""
        ...

    def held(self, model: str, ids: pd.Index) -> np.ndarray:
        """Where each of ``ids`` is a record the data holds."""
        ...

    def json_null(self, model: str, name: str, ids: pd.Index) -> np.ndarray:
        """Where JSON field ``name`` of ``ids`` is JSON null (or the record is missing)."""
        ...


def leaf_mask(data: Data, model: str, ids: pd.Index, condition: Leaf) -> np.ndarray:
    """Where each of ``ids`` passes a filter on one of ``model``'s own fields."""
    name = condition.parts[0]
    if name == "id":
        return compare(ids, condition)
    if condition.kind == "json":
        # Only isnull is allowed on JSON, and only JSON null is NULL.
        isnull = data.json_null(model, name, ids)
        return isnull if condition.values[0] else ~isnull
    if condition.kind == "list[string]" and condition.operator != "isnull":
        if condition.operator in ("contains", "icontains"):
            values = data.values(model, name, ids, f"Filtering on {model}.{name}").to_pylist()
            return list_mask(values, condition.operator, condition.values[0])
        # exact, in: the server compares the stored JSON list with a JSON string, never equal.
        return np.zeros(len(ids), dtype=bool)
    return compare(data.values(model, name, ids, f"Filtering on {model}.{name}"), condition)


def any_related(size: int, owners: np.ndarray, passed: np.ndarray, null_row: bool) -> np.ndarray:
    """Where an owner has a related record that passed; with ``null_row`` also owners with none.

    Examples
    --------
    >>> any_related(3, np.array([0, 0, 1]), np.array([False, True, False]), null_row=False).tolist()
    [True, False, False]
    >>> any_related(3, np.array([0, 0, 1]), np.array([False, True, False]), null_row=True).tolist()
    [True, False, True]
    """
    out = np.zeros(size, dtype=bool)
    out[owners[passed]] = True
    if null_row:
        # LEFT JOIN: an owner without related records meets IS NULL on their columns.
        linked = np.zeros(size, dtype=bool)
        linked[owners] = True
        out |= ~linked
    return out


def through(data: Data, model: str, ids: pd.Index, name: str, inner: list[Leaf]) -> np.ndarray:
    """Where each of ``ids`` has one record related through ``name`` that passes every one of ``inner``."""
    field = catalog.model(model).field(name)
    owners, related = data.pairs(model, ids, name, field.many)
    unique = pd.Index(pd.unique(related))
    passed = match(data, field.related_model or name, unique, inner)[unique.get_indexer(related)]
    return any_related(len(ids), owners, passed, all(c.null_row for c in inner))


def match(data: Data, model: str, ids: pd.Index, leaves: list[Leaf]) -> np.ndarray:
    """Where each of ``ids`` (unique ids of ``model``) passes every filter.

    Filters through the same relation are evaluated together, on each related
    record: Django applies all the filters of a request in one ``.filter()`` call,
    so they must hold for the same related record.
    """
    mask = np.ones(len(ids), dtype=bool)
    for condition in leaves:
        if condition.parts == ("id",):
            mask &= leaf_mask(data, model, ids, condition)
    by_id = mask.copy()
    others = [c for c in leaves if c.parts != ("id",)]
    groups: dict[str, list[Leaf]] = {}
    for condition in others:
        if len(condition.parts) == 1:
            mask &= leaf_mask(data, model, ids, condition)
        else:
            groups.setdefault(condition.parts[0], []).append(condition.tail())
    for name, inner in groups.items():
        if mask.any():
            mask &= through(data, model, ids, name, inner)
    if others:
        # A related record the data lacks (one the user may not list) exists on the server,
        # but none of its values is known here: it is not NULL, and matches nothing else.
        absent = ~data.held(model, ids)
        if absent.any():
            unknown = all(c.operator == "isnull" and not c.values[0] for c in others)
            mask[absent] = by_id[absent] & unknown
    return mask


def rank(data: Data, model: str, ids: pd.Index, parts: Sequence[str], descending: bool) -> np.ndarray:
    """Ranks of ``ids`` by the (possibly related) field ``parts``; NaN for NULL.

    Raises
    ------
    SnapshotError
        For a JSON field, which cannot be sorted offline.
    """
    name = parts[0]
    if name == "id" and len(parts) == 1:
        return ranks(ids)
    field = catalog.model(model).field(name)
    if field.is_relation:
        owners, related = data.pairs(model, ids, name, field.many)
        unique = pd.Index(pd.unique(related))
        inner = rank(data, field.related_model or name, unique, list(parts[1:]) or ["id"], descending)
        return aggregate(inner[unique.get_indexer(related)], owners, len(ids), descending)
    if field.type == "json":
        raise SnapshotError(
            f"Sorting on the JSON field {model}.{name} is not supported offline; sort the DataFrame instead."
        )
    values = data.values(model, name, ids, f"Sorting on {model}.{name}")
    # The server orders lists as jsonb.
    return list_ranks(values.to_pylist()) if field.type == "list[string]" else ranks(values)


def sort_order(data: Data, model: str, ids: pd.Index, terms: Sequence[str]) -> np.ndarray:
    """The positions of ``ids`` in the order of the sort ``terms`` (``"-name"`` descending)."""
    keys = []
    for term in terms:
        descending = term.startswith("-")
        keys.append(sort_key(rank(data, model, ids, term.lstrip("-").split("."), descending), descending))
    # The first term first, stable (as SQL ORDER BY on the id tie-breaker).
    return np.lexsort(keys[::-1]) if keys else np.arange(len(ids))


__all__ = [
    "Data",
    "Leaf",
    "aggregate",
    "any_related",
    "as_arrow",
    "compare",
    "id_kind",
    "leaf",
    "leaf_mask",
    "like",
    "match",
    "parse_date",
    "parse_datetime",
    "parse_value",
    "rank",
    "ranks",
    "sort_key",
    "sort_order",
]
