"""Answer BrainSTEM list queries offline, from :class:`~brainstem_pandas.frames.LinkedFrames`.

:class:`OfflineSource` turns a snapshot's tables back into the records the API
sends (*API-shaped* dicts) and answers list queries on them: filters, sort and
include are validated by :mod:`brainstem_pandas.query` exactly as online and
evaluated with vectorised pandas and Arrow work. It yields the same
:class:`~brainstem_pandas.pagination.Page` objects as an online walk, so the code
that turns pages into frames (``records_frame``, ``FrameBuilder``) serves both.

Query semantics follow the BrainSTEM sandbox (Django and dynamic-rest on SQLite):

- ``exact`` and ``in`` compare case-sensitively; ``iexact``, ``contains``,
  ``icontains``, ``startswith``, ``endswith`` and their ``i`` forms are SQLite
  ``LIKE``: case-insensitive for ASCII letters only, with or without the ``i``;
- UUIDs match in any spelling (upper case, no dashes); a value the server cannot
  read as its field's type (a malformed UUID, integer or date) raises
  :class:`~brainstem_pandas.errors.QueryError` (the server answers 400);
- datetimes compare in UTC (a naive value or a bare date is UTC, a date is midnight);
  booleans follow dynamic-rest (``"0"``, ``"false"`` and ``""`` are false, any other
  text true);
- a related path (``projects.name.icontains``) matches when *any* related record
  matches, and all the filters of one query that go through the same to-many
  relation must hold for the *same* related record (one ``.filter()`` call in
  Django); ``isnull=True`` through a relation also matches records without
  related records (SQL ``LEFT JOIN``), so ``projects.isnull`` is True for a
  record without projects;
- a ``tags`` (list) ``exact`` filter never matches and ``isnull`` on JSON is true
  only for JSON null, as on the server;
- sort: SQLite order (text by bytes, NULLs first ascending and last descending),
  ``id`` appended as the tie-breaker; a related path sorts by the smallest related
  value ascending and the largest descending (dynamic-rest); JSON fields cannot be
  sorted offline;
- include: each page's ``related`` holds, under the target's list key, the records
  reachable from the page (no repeats; ``"+<list key>"`` for records of the primary
  model, without the page's own), and an included to-one relation to a record the
  user may not see is ``None``, as the server renders it.

A snapshot holds only what its user could list, but records may name related
records it lacks (e.g. another lab's setup). Such a record matches id filters;
its values are unknown, so it is treated as existing and not NULL (it passes
``isnull=False`` and fails every other value filter) and sorts as NULL. Filters
and sorts on its values may therefore differ from the server's answer.

Records are rebuilt from the tables as the builder laid them out: model columns
(``NA`` -> ``None``, datetimes -> ISO 8601 ending in ``Z``, dates ->
``YYYY-MM-DD``), to-many relations from link tables in ``position`` order,
``field.key`` columns -> ``{key: value}`` of the non-null keys, child tables ->
lists of objects (``a.b`` columns -> nested objects, null keys left out), and
nested values kept as JSON text parsed back. What the tables cannot tell apart
is rebuilt one way: an object field with no value in any record of the table is
``{}`` (``None`` when the table keeps it as a plain column), a list field with
no rows is ``[]``, and a key whose value was ``null`` is left out.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Iterable, Iterator, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from brainstem_pandas import catalog, query
from brainstem_pandas.errors import ConfigurationError, QueryError, SnapshotError
from brainstem_pandas.frames import LinkedFrames
from brainstem_pandas.pagination import OffsetPaginator, Page

DEFAULT_PAGE_SIZE = 100
# dynamic-rest's is_truthy: these texts are false, every other text is true.
FALSEY = ("0", "false", "")
# SQLite's LIKE folds ASCII letters only: "Ä" and "ä" stay different.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# Django's parse_date also takes one-digit months and days.
_DATE_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_LIKE_OPS = {"iexact", "contains", "icontains", "startswith", "istartswith", "endswith", "iendswith"}
_ORDER_OPS = {"exact": pc.equal, "gt": pc.greater, "gte": pc.greater_equal, "lt": pc.less, "lte": pc.less_equal}


# -- values -----------------------------------------------------------------------------


def _iso_datetime(value: datetime) -> str:
    # As DRF renders them: microseconds only when non-zero, UTC as "Z".
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _plain(value: Any) -> Any:
    """One value of an untyped (object) column as JSON-like Python."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, datetime):
        return _iso_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _arrow(values: pd.Series | pd.Index) -> pa.Array:
    """A column (or index) as one Arrow array (pandas NA and NaN become nulls)."""
    data = values.array
    if isinstance(data, pd.arrays.NumpyExtensionArray):
        data = data.to_numpy()
    array = pa.array(data, from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _python(values: pd.Series | pd.Index) -> list:
    """A column as JSON-like Python values: NA -> None, datetimes and dates -> ISO text."""
    try:
        array = _arrow(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return [_plain(v) for v in values]
    out = array.to_pylist()
    if pa.types.is_timestamp(array.type):
        return [None if v is None else _iso_datetime(v) for v in out]
    if pa.types.is_date(array.type):
        return [None if v is None else v.isoformat() for v in out]
    return out


def _decoded(value: Any) -> Any:
    # The builder keeps objects and lists nested in JSON values as JSON text.
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _nested(paths: list[list[str]], row: list) -> dict:
    """One child-table row as an object: ``a.b`` columns become ``{"a": {"b": ...}}``."""
    item: dict[str, Any] = {}
    for path, value in zip(paths, row):
        if value is None:
            continue
        if len(path) == 1:
            item[path[0]] = _decoded(value)
            continue
        inner = item.get(path[0])
        if not isinstance(inner, dict):
            inner = item[path[0]] = {}
        inner[path[1]] = _decoded(value)
    return item


# -- filter values ------------------------------------------------------------------------


def _parse_date(text: str) -> date | None:
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


def _parse_datetime(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        day = _parse_date(text)
        if day is None:
            return None
        value = datetime(day.year, day.month, day.day)  # Django reads a bare date as midnight
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)  # the server's time zone
    return value.astimezone(timezone.utc)


def _parse(kind: str, text: str, key: str) -> Any:
    """A filter value as the server reads the text it is sent (``query.encode_value``)."""
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
        value = _parse_date(text) if kind == "date" else _parse_datetime(text)
        if value is None:
            example = "2024-05-01" if kind == "date" else "2024-05-01T12:00:00Z"
            raise QueryError(f"Filter {key!r}: {text!r} is not an ISO 8601 {kind} (e.g. {example}).")
        return value
    return text


def _id_kind(model: str | None) -> str:
    known = catalog.all_models().get(model or "")
    return "integer" if known is not None and known.id_type == "integer" else "uuid"


@dataclass(frozen=True)
class _Leaf:
    """One filter, its path relative to the model it is evaluated on."""

    parts: tuple[str, ...]
    operator: str
    values: tuple
    kind: str

    @property
    def null_row(self) -> bool:
        """Whether a missing related record passes (``LEFT JOIN`` then ``IS NULL``)."""
        return self.operator == "isnull" and bool(self.values[0])

    def tail(self) -> "_Leaf":
        return _Leaf(self.parts[1:], self.operator, self.values, self.kind)


def _leaves(spec: catalog.Model, filters: Mapping[str, Any] | None) -> list[_Leaf]:
    """Filters checked as online (same errors), with values parsed for comparison."""
    query.filter_params(spec, filters)
    out = []
    for key, value in (filters or {}).items():
        target = query.resolve(spec, key)
        parts = tuple(target.path.split("."))
        kind = target.field.type
        if target.field.is_relation:
            # A relation compares related ids, so it goes through the relation too.
            parts, kind = parts + ("id",), _id_kind(target.field.related_model)
        if target.operator == "isnull":
            values: tuple = (bool(value),)
        else:
            raw = list(value) if target.operator == "in" else [value]
            values = tuple(_parse(kind, query.encode_value(v), key) for v in raw)
        out.append(_Leaf(parts, target.operator, values, kind))
    return out


def _scalar(value: Any, kind: pa.DataType) -> pa.Scalar:
    try:
        return pa.scalar(value, type=kind)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            return pa.scalar(str(value), type=kind)  # a column kept as text compares as text
        raise SnapshotError(f"Cannot compare values of type {kind} with {value!r}.") from None


def _like(array: pa.Array, operator: str, value: str) -> pa.Array:
    lowered, needle = pc.ascii_lower(array), value.translate(_ASCII_LOWER)
    base = operator.removeprefix("i")
    if base == "exact":
        return pc.equal(lowered, pa.scalar(needle, type=lowered.type))
    if base == "contains":
        return pc.match_substring(lowered, needle)
    if base == "startswith":
        return pc.starts_with(lowered, needle)
    return pc.ends_with(lowered, needle)


def _compare(array: pa.Array, leaf: _Leaf) -> np.ndarray:
    """Where ``array`` passes one filter (NULL passes nothing but ``isnull``)."""
    op, values = leaf.operator, leaf.values
    if pa.types.is_integer(array.type) and any(isinstance(v, float) for v in values):
        array = array.cast(pa.float64())
    if op == "isnull":
        result = array.is_null() if values[0] else array.is_valid()
    elif pa.types.is_null(array.type):
        return np.zeros(len(array), dtype=bool)
    elif op == "in":
        result = pc.is_in(array, value_set=pa.array([_scalar(v, array.type).as_py() for v in values], type=array.type))
    elif op in _LIKE_OPS:
        result = _like(array, op, values[0])
    else:
        result = _ORDER_OPS[op](array, _scalar(values[0], array.type))
    return result.fill_null(False).to_numpy(zero_copy_only=False)


# -- sort ---------------------------------------------------------------------------------


def _ranks(array: pa.Array) -> np.ndarray:
    """Dense ranks of ``array`` in SQLite order (text by bytes); NaN for NULL."""
    if len(array) == 0 or pa.types.is_null(array.type):
        return np.full(len(array), np.nan)
    ranks = pc.rank(array, sort_keys="ascending", tiebreaker="dense").to_numpy(zero_copy_only=False).astype(float)
    ranks[array.is_null().to_numpy(zero_copy_only=False)] = np.nan
    return ranks


def _aggregate(values: np.ndarray, owners: np.ndarray, size: int, descending: bool) -> np.ndarray:
    # dynamic-rest orders across a to-many relation by Min (ascending) or Max (descending).
    out = np.full(size, np.nan)
    if len(owners):
        groups = pd.Series(values).groupby(owners)
        best = groups.max() if descending else groups.min()
        out[best.index.to_numpy()] = best.to_numpy()
    return out


# -- the source -----------------------------------------------------------------------------


@dataclass
class _Shape:
    """A table as API-shaped columns: field names and one list of Python values per field."""

    names: list[str]
    columns: list[list]
    position: dict[Any, int]

    def rows(self, positions: Iterable[int] | None = None) -> list[dict]:
        if positions is None:
            return [dict(zip(self.names, row)) for row in zip(*self.columns)]
        picks = list(positions)
        picked = [[column[i] for i in picks] for column in self.columns]
        return [dict(zip(self.names, row)) for row in zip(*picked)]


def _list_key(model: str) -> str:
    known = catalog.all_models().get(model)
    return known.list_key if known else f"{model}s"


class OfflineSource:
    """Answer list queries from LinkedFrames as the server the snapshot came from would.

    Parameters
    ----------
    frames : LinkedFrames
        Model tables, link tables and child tables (e.g. every model read without includes).
    walked : iterable of str, optional
        Models whose full list was fetched; only these can be listed. None: every
        model table in ``frames``.

    Examples
    --------
    >>> source = OfflineSource(client.read_linked("session"))                # doctest: +SKIP
    >>> records = source.select("session", {"name.icontains": "mm"}, ["-date_time"])  # doctest: +SKIP
    >>> records_frame("session", records)                                   # doctest: +SKIP
    """

    def __init__(self, frames: LinkedFrames, walked: Iterable[str] | None = None) -> None:
        self.frames = frames
        known = catalog.all_models()
        names = [n for n in frames.tables if n in known] if walked is None else [catalog.model(n).name for n in walked]
        self._walked = list(dict.fromkeys(names))
        self._shapes: dict[str, _Shape] = {}
        self._records: dict[str, list[dict]] = {}

    def __repr__(self) -> str:
        return f"<OfflineSource: {len(self._walked)} models, {len(self.frames.tables)} tables>"

    @property
    def models(self) -> list[str]:
        """Models whose full list the frames hold (those that can be listed).

        Examples
        --------
        >>> OfflineSource(lf, walked=["session"]).models  # doctest: +SKIP
        ['session']
        """
        return list(self._walked)

    # -- public queries ------------------------------------------------------------------
    def records(self, model: str) -> list[dict]:
        """Every record of a model's table, API-shaped, in table order (built once, then cached).

        The dicts are shared between calls: treat them as read-only.

        Examples
        --------
        >>> source.records("project")[0]["sessions"][:1]  # doctest: +SKIP
        ['01e32354-2ebe-4dcb-a401-b180301f5124']
        """
        if model not in self.frames.tables and model not in catalog.all_models():
            model = catalog.model(model).name  # aliases; an unknown name raises with suggestions
        name = self._table_name(model)
        if name not in self._records:
            self._records[name] = self._shape(name).rows()
        return list(self._records[name])

    def select(
        self, model: str, filters: Mapping[str, Any] | None = None, sort: Iterable[str] | str | None = None
    ) -> list[dict]:
        """The records of ``model`` that pass ``filters``, in ``sort`` order (``id`` last).

        Raises
        ------
        QueryError
            For a filter or sort the online client rejects (same message) or a value
            the server cannot read (e.g. a malformed UUID).
        SnapshotError
            When the model was not walked or a table the query needs is missing.

        Examples
        --------
        >>> query = dict(filters={"projects.name.icontains": "grid"}, sort=["-date_time"])
        >>> rows = source.select("session", **query)                                      # doctest: +SKIP
        >>> records_frame("session", rows).index.equals(client.read("session", **query).index)  # doctest: +SKIP
        True
        """
        spec = self._listable(model)
        leaves = _leaves(spec, filters)
        query.sort_params(spec, sort)
        return self._shape(spec.name).rows(self._positions(spec, leaves, sort))

    def pages(
        self,
        model: str,
        filters: Mapping[str, Any] | None = None,
        sort: Iterable[str] | str | None = None,
        include: Iterable[str] | str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[Page]:
        """Pages of the matching records, as an online walk yields them.

        Each :class:`~brainstem_pandas.pagination.Page` holds ``page_size`` primary
        records in sort order and, under each included model's list key, the records
        reachable from them; ``total`` is the number of matches. No match gives one
        empty page with total 0. The query is checked at once, before the first page.

        Examples
        --------
        >>> for page in source.pages("session", include=["behaviors.setup"]):  # doctest: +SKIP
        ...     print(page.number, len(page.records), sorted(page.related))
        0 100 ['behaviors', 'setups']
        """
        if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
            raise ConfigurationError(f"page_size must be a positive integer, not {page_size!r}.")
        spec = self._listable(model)
        leaves = _leaves(spec, filters)
        query.sort_params(spec, sort)
        paths = [tuple(value[:-2].split(".")) for _, value in query.include_params(spec, include)]
        for path in paths:
            self._check_include(spec.name, path)
        positions = self._positions(spec, leaves, sort)
        return self._walk(spec.name, positions, paths, page_size)

    def record(self, model: str, id: Any, include: Iterable[str] | str | None = None) -> dict:
        """One record by id; ``include`` embeds related records inline, as ``client.get`` does.

        Raises
        ------
        SnapshotError
            When the snapshot holds no such record (or no table of the model).

        Examples
        --------
        >>> rec = source.record("behavior", bid, include=["session.projects"])  # doctest: +SKIP
        >>> rec["session"]["projects"][0]["name"]                              # doctest: +SKIP
        'Grid cells 2025 #7'
        """
        spec = catalog.model(model)
        paths = [value[:-2].split(".") for _, value in query.include_params(spec, include)]
        shape = self._shape(self._table_name(spec.name))
        key = self._record_id(spec, id)
        if key not in shape.position:
            extra = (
                ""
                if spec.name in self._walked
                else (
                    f" The snapshot holds only the {spec.name} records related to other models; "
                    f"snapshot {spec.name!r} itself to have them all."
                )
            )
            raise SnapshotError(f"No {spec.name} with id {id!r} in this snapshot.{extra}")
        out = shape.rows([shape.position[key]])[0]
        tree: dict = {}
        for path in paths:
            node = tree
            for name in path:
                node = node.setdefault(name, {})
        return self._embed(spec.name, out, tree) if tree else out

    # -- tables ------------------------------------------------------------------------------
    def _listable(self, model: str) -> catalog.Model:
        spec = catalog.model(model)
        if spec.name not in self._walked:
            held = len(self.frames.tables.get(spec.name, ()))
            raise SnapshotError(
                f"This snapshot cannot list {spec.name}: it holds only the {held} {spec.name} record(s) related "
                f"to other models, not the full list. Take a snapshot of {spec.name!r} itself to list or filter it."
            )
        self._table_name(spec.name)
        return spec

    def _table_name(self, model: str, why: str = "") -> str:
        """The table of ``model`` (a model the catalog does not know may be named by its list key)."""
        for name in (model, _list_key(model)):
            if name in self.frames.tables:
                return name
        raise SnapshotError(
            f"{why or 'This query'} needs the {model!r} table, which this snapshot does not hold. Take the "
            f"snapshot again with {model!r} in it (snapshot that model, or read with an include that reaches it)."
        )

    def _check_include(self, model: str, path: tuple[str, ...]) -> None:
        """Fail before the first page when an include reaches a table the snapshot lacks."""
        for name in path:
            model = catalog.model(model).field(name).related_model or name
            self._table_name(model, f"Including {'.'.join(path)}")

    def _table(self, model: str, why: str) -> pd.DataFrame:
        return self.frames.tables[self._table_name(model, why)]

    def _link(self, model: str, field: str) -> tuple[pd.DataFrame, str, str]:
        """A link table and its parent and child id columns."""
        key = f"{model}.{field}"
        frame = self.frames.links.get(key)
        if frame is None:
            raise SnapshotError(
                f"This query follows {key!r}, but the snapshot has no {key!r} link table. Take the snapshot "
                f"again with {model!r} in it (snapshot that model, or read with an include that reaches it)."
            )
        rel = self.frames.relations.get(key)
        if rel is not None and rel.parent_col in frame.columns and rel.child_col in frame.columns:
            return frame, rel.parent_col, rel.child_col
        parent = f"{model}_id"
        child = next(c for c in frame.columns if c not in (parent, "position"))
        return frame, parent, child

    def _column(self, model: str, name: str, ids: pd.Index, why: str) -> pd.Series:
        """Values of one column of ``model`` at ``ids`` (NULL where a record or the column is missing)."""
        table = self._table(model, why)
        if name not in table.columns:
            return pd.Series([None] * len(ids), index=ids, dtype=object)
        column = table[name]
        return column if ids is table.index else column.reindex(ids)

    def _pairs(
        self, model: str, ids: pd.Index, name: str, many: bool, *, ordered: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """(owner position in ``ids``, related id) for each related record of ``ids`` through ``name``.

        With ``ordered``, pairs follow the owners, then the API's order of each list.
        """
        if not many:
            values = self._column(model, name, ids, f"Following {model}.{name}")
            related = np.array(_python(values), dtype=object)
            present = values.notna().to_numpy()
            return np.flatnonzero(present), related[present]
        link, parent_col, child_col = self._link(model, name)
        owners = ids.get_indexer(link[parent_col])
        related = np.array(_python(link[child_col]), dtype=object)
        keep = (owners >= 0) & link[child_col].notna().to_numpy()
        if ordered:
            order = np.lexsort((link["position"].to_numpy(dtype="int64", na_value=0), owners))
            keep, owners, related = keep[order], owners[order], related[order]
        return owners[keep], related[keep]

    # -- API-shaped records ----------------------------------------------------------------
    def _shape(self, name: str) -> _Shape:
        if name not in self._shapes:
            self._shapes[name] = self._build_shape(name)
        return self._shapes[name]

    def _build_shape(self, name: str) -> _Shape:
        table = self.frames.tables[name]
        spec = catalog.all_models().get(name)
        index = table.index
        columns: dict[str, list] = {"id": _python(index)}
        for f in spec.fields if spec else ():
            if f.name == "id":
                continue
            if f.is_relation and f.many:
                columns[f.name] = self._link_lists(name, f.name, index)
            elif f.type == "json":
                columns[f.name] = self._json_values(name, f.name, table)
            else:
                columns[f.name] = _python(table[f.name]) if f.name in table.columns else [None] * len(table)
        # What the catalog does not describe follows, as the builder laid it out.
        for col in table.columns:
            field = col.split(".", 1)[0]
            if field not in columns:
                columns[field] = self._json_values(name, field, table)
        for key in self.frames.links:
            owner, _, field = key.partition(".")
            if owner == name and field not in columns:
                columns[field] = self._link_lists(name, field, index)
        for key in self.frames.children:
            owner, _, field = key.partition(".")
            if owner == name and field not in columns:
                columns[field] = self._json_values(name, field, table)
        position = {key: i for i, key in enumerate(columns["id"])}
        return _Shape(list(columns), list(columns.values()), position)

    def _link_lists(self, model: str, field: str, index: pd.Index) -> list[list]:
        out: list[list] = [[] for _ in range(len(index))]
        if f"{model}.{field}" not in self.frames.links:
            return out  # no link table: no links
        owners, related = self._pairs(model, index, field, True, ordered=True)
        for owner, value in zip(owners.tolist(), related.tolist()):
            out[owner].append(value)
        return out

    def _json_values(self, model: str, field: str, table: pd.DataFrame) -> list:
        """One JSON field per record, from its column, its ``field.key`` columns or its child table."""
        size = len(table)
        plain = [_decoded(v) for v in _python(table[field])] if field in table.columns else None
        prefix = f"{field}."
        keys = [col for col in table.columns if col.startswith(prefix)]
        objects = self._objects(table, keys, prefix) if keys else None
        lists = self._child_lists(model, field, table.index) if f"{model}.{field}" in self.frames.children else None
        if plain is not None:
            default: Any = None
        else:
            default = [] if lists is not None and objects is None else {}
        out = []
        for i in range(size):
            if lists is not None and lists[i] is not None:
                out.append(lists[i])
            elif objects is not None and objects[i] is not None:
                out.append(objects[i])
            elif plain is not None and plain[i] is not None:
                out.append(plain[i])
            else:
                out.append(type(default)() if isinstance(default, (dict, list)) else default)
        return out

    @staticmethod
    def _objects(table: pd.DataFrame, keys: list[str], prefix: str) -> list[dict | None]:
        names = [k[len(prefix) :] for k in keys]
        values = [_python(table[k]) for k in keys]
        out: list[dict | None] = []
        for row in zip(*values):
            item = {n: _decoded(v) for n, v in zip(names, row) if v is not None}
            out.append(item or None)
        return out

    def _child_lists(self, model: str, field: str, index: pd.Index) -> list[list | None]:
        child = self.frames.children[f"{model}.{field}"]
        parent_col = f"{model}_id"
        data_cols = [c for c in child.columns if c not in (parent_col, "position")]
        owners = index.get_indexer(child[parent_col]) if parent_col in child.columns else np.full(len(child), -1)
        order = np.lexsort((child["position"].to_numpy(dtype="int64", na_value=0), owners))
        values = [_python(child[c]) for c in data_cols]
        paths = [c.split(".", 1) for c in data_cols]
        scalars = data_cols == ["value"]  # a list of scalars (the builder names their column "value")
        out: list[list | None] = [None] * len(index)
        for i in order.tolist():
            owner = owners[i]
            if owner < 0:
                continue
            row = [column[i] for column in values]
            item = _decoded(row[0]) if scalars else _nested(paths, row)
            if out[owner] is None:
                out[owner] = []
            out[owner].append(item)
        return out

    @staticmethod
    def _record_id(spec: catalog.Model, id: Any) -> Any:
        if spec.id_type == "integer":
            try:
                return int(id)
            except (TypeError, ValueError):
                return id
        try:
            return str(uuid.UUID(str(id)))
        except ValueError:
            return id

    def _embed(self, model: str, record: dict, tree: dict) -> dict:
        # client.get with include (sideloading=false) nests related records inline.
        out = dict(record)
        spec = catalog.all_models().get(model)
        for name, sub in tree.items():
            field = spec.field(name) if spec else None
            if field is None or not field.is_relation:
                continue
            target = field.related_model or name
            shape = self._shape(self._table_name(target, f"Including {model}.{name}"))
            ids = out.get(name) if field.many else [out.get(name)]
            found = [
                self._embed(target, shape.rows([shape.position[i]])[0], sub) for i in ids or [] if i in shape.position
            ]
            # A related record the user may not see (not in the snapshot) is rendered as null.
            out[name] = found if field.many else (found[0] if found else None)
        return out

    # -- filter and sort ---------------------------------------------------------------------
    def _positions(self, spec: catalog.Model, leaves: list[_Leaf], sort: Any) -> np.ndarray:
        """Table positions of the matching records, in sort order."""
        table = self._table(spec.name, f"Listing {spec.name}")
        chosen = np.flatnonzero(self._match(spec.name, table.index, leaves)) if leaves else np.arange(len(table))
        ids = table.index if len(chosen) == len(table) else table.index[chosen]
        keys = []
        for _, term in query.sort_params(spec, sort):
            descending = term.startswith("-")
            rank = self._sort_rank(spec.name, ids, term.lstrip("-").split("."), descending)
            # SQLite: NULL is the smallest value, first ascending and last descending.
            null = np.isnan(rank)
            keys.append(np.where(null, np.inf, -rank) if descending else np.where(null, -np.inf, rank))
        return chosen[np.lexsort(keys[::-1])] if keys else chosen

    def _match(self, model: str, ids: pd.Index, leaves: list[_Leaf]) -> np.ndarray:
        """Where each of ``ids`` (unique ids of ``model``) passes every filter."""
        mask = np.ones(len(ids), dtype=bool)
        groups: dict[str, list[_Leaf]] = {}
        others = [leaf for leaf in leaves if leaf.parts != ("id",)]
        for leaf in leaves:
            if leaf.parts == ("id",):
                mask &= self._leaf_mask(model, ids, leaf)
        by_id = mask.copy()
        for leaf in others:
            if len(leaf.parts) == 1:
                mask &= self._leaf_mask(model, ids, leaf)
            else:
                groups.setdefault(leaf.parts[0], []).append(leaf.tail())
        # Django applies all the filters of a request in one .filter() call: those that go
        # through the same relation must hold for the same related record.
        for name, inner in groups.items():
            if mask.any():
                mask &= self._through(model, ids, name, inner)
        if others:
            # A related record the snapshot lacks (one the user may not list) exists on the
            # server, but none of its values is known here: it is not NULL, and matches nothing else.
            absent = self._table(model, f"Filtering on {model}").index.get_indexer(ids) < 0
            if absent.any():
                unknown = all(leaf.operator == "isnull" and not leaf.values[0] for leaf in others)
                mask[absent] = by_id[absent] & unknown
        return mask

    def _through(self, model: str, ids: pd.Index, name: str, inner: list[_Leaf]) -> np.ndarray:
        field = catalog.model(model).field(name)
        owners, related = self._pairs(model, ids, name, field.many)
        unique = pd.Index(pd.unique(related))
        passed = self._match(field.related_model or name, unique, inner)[unique.get_indexer(related)]
        out = np.zeros(len(ids), dtype=bool)
        out[owners[passed]] = True
        if all(leaf.null_row for leaf in inner):
            linked = np.zeros(len(ids), dtype=bool)
            linked[owners] = True
            out |= ~linked
        return out

    def _leaf_mask(self, model: str, ids: pd.Index, leaf: _Leaf) -> np.ndarray:
        name = leaf.parts[0]
        if name == "id":
            return _compare(_arrow(ids), leaf)
        if leaf.kind == "json":
            # Only isnull is allowed on JSON, and only JSON null is NULL.
            shape = self._shape(self._table_name(model, f"Filtering on {model}.{name}"))
            column = shape.columns[shape.names.index(name)]
            isnull = np.array(
                [shape.position.get(i) is None or column[shape.position[i]] is None for i in _python(ids)], dtype=bool
            )
            return isnull if leaf.values[0] else ~isnull
        if leaf.kind == "list[string]" and leaf.operator == "exact":
            # The server compares the stored JSON list with a JSON string: never equal.
            return np.zeros(len(ids), dtype=bool)
        return _compare(_arrow(self._column(model, name, ids, f"Filtering on {model}.{name}")), leaf)

    def _sort_rank(self, model: str, ids: pd.Index, parts: list[str], descending: bool) -> np.ndarray:
        """Ranks of ``ids`` by the (possibly related) field ``parts``; NaN for NULL."""
        name = parts[0]
        if name == "id" and len(parts) == 1:
            return _ranks(_arrow(ids))
        field = catalog.model(model).field(name)
        if field.is_relation:
            owners, related = self._pairs(model, ids, name, field.many)
            unique = pd.Index(pd.unique(related))
            inner = self._sort_rank(field.related_model or name, unique, parts[1:] or ["id"], descending)
            return _aggregate(inner[unique.get_indexer(related)], owners, len(ids), descending)
        if field.type == "json":
            raise SnapshotError(
                f"Sorting on the JSON field {model}.{name} is not supported offline; sort the DataFrame instead."
            )
        column = self._column(model, name, ids, f"Sorting on {model}.{name}")
        if field.type == "list[string]":
            # The server orders by the stored JSON text.
            column = pd.Series([None if v is None else json.dumps(v) for v in _python(column)], dtype=object)
        return _ranks(_arrow(column))

    # -- pages and includes ------------------------------------------------------------------
    def _walk(self, model: str, positions: np.ndarray, paths: list[tuple[str, ...]], page_size: int) -> Iterator[Page]:
        shape, total = self._shape(model), len(positions)
        if total == 0:
            yield Page(number=0, records=[], related={}, total=0, raw_count=0)
            return
        # The same overlapping pages as online; the seam record is dropped as the walk's check drops it.
        pager = OffsetPaginator(page_size)
        starts = [0] + [p["offset"] for p in pager.plan(total, None)]
        for number, start in enumerate(starts):
            chunk = positions[start : start + page_size]
            records = shape.rows(chunk.tolist())
            related = self._related(model, records, paths) if paths else {}
            shared = pager.overlap if number else 0
            yield Page(number=number, records=records[shared:], related=related, total=total, raw_count=len(records))

    def _related(self, model: str, records: list[dict], paths: list[tuple[str, ...]]) -> dict[str, list[dict]]:
        """Records reachable from ``records`` along each include path, by list key (dynamic-rest's sideloads).

        Included to-one relations to records the snapshot lacks become None, as the
        server renders a related record the user may not see (``records`` are changed).
        """
        page = {r["id"]: r for r in records}
        found: dict[str, dict[Any, dict]] = {}
        for path in paths:
            current, rows = model, page
            for name in path:
                field = catalog.model(current).field(name)
                target = field.related_model or name
                shape = self._shape(self._table_name(target, f"Including {'.'.join(path)}"))
                # The records' own id lists are in the API's order: no table lookups per page.
                related: list = []
                for row in rows.values():
                    value = row.get(name)
                    if field.many:
                        related.extend(value or ())
                    elif value is not None and value not in shape.position:
                        row[name] = None
                    elif value is not None:
                        related.append(value)
                # dynamic-rest lists records of the primary model under "+<list key>", without
                # repeating the page's own records.
                key = f"+{_list_key(target)}" if target == model else _list_key(target)
                bucket = found.setdefault(key, {})
                reached: dict[Any, dict] = {}
                for i in dict.fromkeys(related):
                    if i not in shape.position:
                        continue
                    if target == model and i in page:
                        reached[i] = page[i]
                        continue
                    if i not in bucket:
                        bucket[i] = shape.rows([shape.position[i]])[0]
                    reached[i] = bucket[i]
                current, rows = target, reached
        return {key: list(bucket.values()) for key, bucket in found.items() if bucket}


__all__ = ["OfflineSource"]
