"""Rebuild the records the API sends from a snapshot's tables.

:class:`Tables` reads a :class:`~brainstem_pandas.frames.LinkedFrames` the way the
builder laid it out (every table and column name comes from
:mod:`brainstem_pandas.frames.layout`) and gives back *API-shaped* records:

- model columns as JSON values (``NA`` -> ``None``, datetimes -> ISO 8601 ending
  in ``Z``, dates -> ``YYYY-MM-DD``);
- to-many relations from link tables, in ``position`` order;
- ``field.key`` columns -> ``{key: value}`` of the non-null keys; child tables ->
  lists of objects (``a.b`` columns -> nested objects, null keys left out) or of
  scalars; map tables (``project.users``) -> ``{key: entry}`` objects, keys in row
  order; nested values kept as JSON text parsed back.

What the tables cannot tell apart is rebuilt one way: an object field with no
value in any record of the table is ``{}`` (``None`` when the table keeps it as a
plain column), a list field with no rows is ``[]``, a map with no rows (null or
empty as sent) is ``{}``, and a key whose value was ``null`` is left out.

It also serves the filter and sort engine (:class:`~brainstem_pandas.offline.engine.Data`):
column values, related ids and which records are held.

Examples
--------
>>> _ = client.snapshot(tmp / "snap", models=["project"])
>>> tables = Tables(bsp.read_snapshot(tmp / "snap"))
>>> record = tables.shape("project").rows([0])[0]
>>> isinstance(record["sessions"], list), record["id"] == tables.table("project", "").index[0]
(True, True)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable

import numpy as np
import pandas as pd
import pyarrow as pa

from brainstem_pandas import catalog
from brainstem_pandas.errors import SnapshotError
from brainstem_pandas.frames import LinkedFrames, layout
from brainstem_pandas.offline.engine import as_arrow

# -- values -----------------------------------------------------------------------------


def iso_datetime(value: datetime) -> str:
    """A datetime as DRF renders it: microseconds only when non-zero, UTC as ``Z``.

    Examples
    --------
    >>> from datetime import timezone
    >>> iso_datetime(datetime(2024, 5, 1, 12, tzinfo=timezone.utc))
    '2024-05-01T12:00:00Z'
    """
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def plain(value: Any) -> Any:
    """One value of an untyped (object) column as JSON-like Python.

    Examples
    --------
    >>> plain(np.array([1, 2])), plain(np.nan), plain(date(2024, 5, 1))
    ([1, 2], None, '2024-05-01')
    """
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, datetime):
        return iso_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def python(values: pd.Series | pd.Index) -> list:
    """A column as JSON-like Python values: NA -> None, datetimes and dates -> ISO text.

    Examples
    --------
    >>> python(pd.Series(pd.to_datetime(["2024-05-01T12:00:00Z", None])))
    ['2024-05-01T12:00:00Z', None]
    """
    try:
        array = as_arrow(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return [plain(v) for v in values]
    out = array.to_pylist()
    if pa.types.is_timestamp(array.type):
        return [None if v is None else iso_datetime(v) for v in out]
    if pa.types.is_date(array.type):
        return [None if v is None else v.isoformat() for v in out]
    return out


def decoded(value: Any) -> Any:
    """A value the builder kept as JSON text (a nested object or list) parsed back.

    Examples
    --------
    >>> decoded('{"a": 1}'), decoded("{not json"), decoded(3)
    ({'a': 1}, '{not json', 3)
    """
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def nested(paths: list[list[str]], row: list) -> dict:
    """One child-table row as an object: ``["a", "b"]`` paths become ``{"a": {"b": ...}}``; nulls left out.

    Examples
    --------
    >>> nested([["url"], ["details", "x"], ["details", "y"]], ["u", 1, None])
    {'url': 'u', 'details': {'x': 1}}
    """
    item: dict[str, Any] = {}
    for path, value in zip(paths, row):
        if value is None:
            continue
        if len(path) == 1:
            item[path[0]] = decoded(value)
            continue
        inner = item.get(path[0])
        if not isinstance(inner, dict):
            inner = item[path[0]] = {}
        inner[path[1]] = decoded(value)
    return item


@dataclass
class Shape:
    """A table as API-shaped columns: field names and one list of Python values per field.

    Attributes
    ----------
    names : list of str
        Field names, in the order the API sends them.
    columns : list of list
        One list of values per field, in table order.
    position : dict
        Table position of each record id.
    """

    names: list[str]
    columns: list[list]
    position: dict[Any, int]

    def rows(self, positions: Iterable[int] | None = None) -> list[dict]:
        """Records at ``positions`` (all of them, in table order, when None).

        Examples
        --------
        >>> Shape(["id", "name"], [[1, 2], ["a", "b"]], {1: 0, 2: 1}).rows([1])
        [{'id': 2, 'name': 'b'}]
        """
        if positions is None:
            return [dict(zip(self.names, row)) for row in zip(*self.columns)]
        picks = list(positions)
        picked = [[column[i] for i in picks] for column in self.columns]
        return [dict(zip(self.names, row)) for row in zip(*picked)]


def _missing(what: str, model: str) -> SnapshotError:
    return SnapshotError(
        f"{what} needs the {model!r} table, which this snapshot does not hold. Take the snapshot again "
        f"with {model!r} in it (snapshot that model, or read with an include that reaches it)."
    )


# -- tables -------------------------------------------------------------------------------


class Tables:
    """A snapshot's tables, read as the API's records and as the engine's :class:`~.engine.Data`.

    Parameters
    ----------
    frames : LinkedFrames
        Model tables, link tables and child tables.

    Examples
    --------
    >>> tables = Tables(client.read_linked("session"))
    >>> tables.name("session"), tables.list_key("session")
    ('session', 'sessions')
    """

    def __init__(self, frames: LinkedFrames) -> None:
        self.frames = frames
        self._shapes: dict[str, Shape] = {}
        self._found: dict[str, str | None] = {}

    # -- names ------------------------------------------------------------------------------
    def name(self, model: str, why: str = "") -> str:
        """The table of ``model``.

        A model the catalog does not describe (``epoch``) has a table named by the
        response key the server sent it under (``epochs``); it is found as the
        table holding the ids a catalogued relation to it names.

        Raises
        ------
        SnapshotError
            When the snapshot holds no table of ``model``.
        """
        if model in self.frames.tables:
            return model
        if model not in catalog.all_models():
            if model not in self._found:
                self._found[model] = self._uncatalogued(model)
            found = self._found[model]
            if found is not None:
                return found
        raise _missing(why or "This query", model)

    def list_key(self, model: str, why: str = "") -> str:
        """The response key of ``model``'s records: the catalog's, or the table's name for a model it lacks."""
        known = catalog.all_models().get(model)
        return known.list_key if known is not None else self.name(model, why)

    def _uncatalogued(self, model: str) -> str | None:
        """The table (named by a response key) holding records of a model outside the catalog."""
        others = [n for n in self.frames.tables if n not in catalog.all_models()]
        for owner in catalog.all_models().values():
            for field in owner.relations:
                if field.related_model != model or not others:
                    continue
                some = self._some_ids(owner.name, field)
                for name in others:
                    if len(some) and self.frames.tables[name].index.isin(some).any():
                        return name
        return None

    def _some_ids(self, model: str, field: catalog.Field) -> list:
        """A few ids that ``model``'s relation ``field`` names (none when the snapshot lacks it)."""
        if field.many:
            link = self.frames.links.get(layout.table_name(model, field.name))
            if link is None:
                return []
            rel = self.frames.relations.get(layout.table_name(model, field.name))
            target = rel.child_col if rel is not None else layout.link_target_of(model, link.columns)
            return link[target].dropna().head(8).tolist() if target in link.columns else []
        table = self.frames.tables.get(model)
        return table[field.name].dropna().head(8).tolist() if table is not None and field.name in table else []

    # -- columns and relations --------------------------------------------------------------------
    def table(self, model: str, why: str) -> pd.DataFrame:
        """The model table of ``model`` (a :class:`SnapshotError` saying ``why`` when missing)."""
        return self.frames.tables[self.name(model, why)]

    def link(self, model: str, field: str) -> tuple[pd.DataFrame, str, str]:
        """A link table and its parent and related id columns."""
        key = layout.table_name(model, field)
        frame = self.frames.links.get(key)
        if frame is None:
            raise SnapshotError(
                f"This query follows {key!r}, but the snapshot has no {key!r} link table. Take the snapshot "
                f"again with {model!r} in it (snapshot that model, or read with an include that reaches it)."
            )
        rel = self.frames.relations.get(key)
        if rel is not None and rel.parent_col and rel.child_col and {rel.parent_col, rel.child_col} <= set(frame):
            return frame, rel.parent_col, rel.child_col
        parent = layout.parent_column(model)
        return frame, parent, layout.link_target_of(model, frame.columns) or parent

    def column(self, model: str, name: str, ids: pd.Index, why: str) -> pd.Series:
        """Values of one column of ``model`` at ``ids`` (NULL where a record or the column is missing)."""
        table = self.table(model, why)
        if name not in table.columns:
            return pd.Series([None] * len(ids), index=ids, dtype=object)
        column = table[name]
        return column if ids is table.index else column.reindex(ids)

    def pairs(
        self, model: str, ids: pd.Index, name: str, many: bool, *, ordered: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """(owner position in ``ids``, related id) for each related record of ``ids`` through ``name``.

        With ``ordered``, pairs follow the owners, then the API's order of each list.
        """
        if not many:
            values = self.column(model, name, ids, f"Following {model}.{name}")
            related = np.array(python(values), dtype=object)
            present = values.notna().to_numpy()
            return np.flatnonzero(present), related[present]
        link, parent_col, child_col = self.link(model, name)
        owners = ids.get_indexer(pd.Index(link[parent_col]))
        related = np.array(python(link[child_col]), dtype=object)
        keep = (owners >= 0) & link[child_col].notna().to_numpy()
        if ordered:
            order = np.lexsort((link[layout.POSITION].to_numpy(dtype="int64", na_value=0), owners))
            keep, owners, related = keep[order], owners[order], related[order]
        return owners[keep], related[keep]

    # -- the engine's Data -----------------------------------------------------------------------
    def values(self, model: str, name: str, ids: pd.Index, why: str) -> pa.Array:
        """Field ``name`` of ``ids`` as one Arrow array."""
        return as_arrow(self.column(model, name, ids, why))

    def held(self, model: str, ids: pd.Index) -> np.ndarray:
        """Where each of ``ids`` is a record of ``model``'s table."""
        return self.table(model, f"Filtering on {model}").index.get_indexer(ids) >= 0

    def json_null(self, model: str, name: str, ids: pd.Index) -> np.ndarray:
        """Where JSON field ``name`` of ``ids`` is null as the server stores it (or the record is missing)."""
        shape = self.shape(self.name(model, f"Filtering on {model}.{name}"))
        column = shape.columns[shape.names.index(name)]
        found = [shape.position.get(i) for i in python(ids)]
        return np.array([p is None or column[p] is None for p in found], dtype=bool)

    # -- API-shaped records -------------------------------------------------------------------------
    def shape(self, name: str) -> Shape:
        """The API-shaped columns of table ``name`` (built once, then cached)."""
        if name not in self._shapes:
            self._shapes[name] = self._build_shape(name)
        return self._shapes[name]

    def _build_shape(self, name: str) -> Shape:
        table = self.frames.tables[name]
        spec = catalog.all_models().get(name)
        columns: dict[str, list] = {"id": python(table.index)}
        for f in spec.fields if spec else ():
            if f.name == "id":
                continue
            if f.is_relation and f.many:
                columns[f.name] = self._link_lists(name, f.name, table.index)
            elif f.map is not None and layout.table_name(name, f.name) in self.frames.children:
                columns[f.name] = self._maps(name, f.name, f.map.key, table.index)
            elif f.type == "json":
                columns[f.name] = self._json_values(name, f.name, table)
            else:
                columns[f.name] = python(table[f.name]) if f.name in table.columns else [None] * len(table)
        self._add_undescribed(name, table, columns)
        position = {key: i for i, key in enumerate(columns["id"])}
        return Shape(list(columns), list(columns.values()), position)

    def _add_undescribed(self, name: str, table: pd.DataFrame, columns: dict[str, list]) -> None:
        """Fields the catalog does not describe, as the builder laid them out."""
        for col in table.columns:
            field = layout.split_column(col)[0]
            if field not in columns:
                columns[field] = self._json_values(name, field, table)
        for key in self.frames.links:
            owner, field_name = layout.split_table_name(key)
            if owner == name and field_name is not None and field_name not in columns:
                columns[field_name] = self._link_lists(name, field_name, table.index)
        for key in self.frames.children:
            owner, field_name = layout.split_table_name(key)
            if owner == name and field_name is not None and field_name not in columns:
                columns[field_name] = self._json_values(name, field_name, table)

    def _link_lists(self, model: str, field: str, index: pd.Index) -> list[list]:
        out: list[list] = [[] for _ in range(len(index))]
        if layout.table_name(model, field) not in self.frames.links:
            return out  # no link table: no links
        owners, related = self.pairs(model, index, field, True, ordered=True)
        for owner, value in zip(owners.tolist(), related.tolist()):
            out[owner].append(value)
        return out

    def _json_values(self, model: str, field: str, table: pd.DataFrame) -> list:
        """One JSON field per record, from its column, its ``field.key`` columns or its child table."""
        plain_values = [decoded(v) for v in python(table[field])] if field in table.columns else None
        keys = [col for col in table.columns if _key_of(col, field) is not None]
        objects = _objects(table, field, keys) if keys else None
        has_child = layout.table_name(model, field) in self.frames.children
        lists = self._child_lists(model, field, table.index) if has_child else None
        empty: type | None = None
        if plain_values is None:
            empty = list if lists is not None and objects is None else dict
        out: list[Any] = []
        for i in range(len(table)):
            if lists is not None and lists[i] is not None:
                out.append(lists[i])
            elif objects is not None and objects[i] is not None:
                out.append(objects[i])
            elif plain_values is not None and plain_values[i] is not None:
                out.append(plain_values[i])
            else:
                out.append(None if empty is None else empty())
        return out

    def _maps(self, model: str, field: str, key: str, index: pd.Index) -> list[dict]:
        """A map field per record from its map table: ``{key: entry}`` in row order (no rows: ``{}``)."""
        child = self.frames.children[layout.table_name(model, field)]
        parent = layout.parent_column(model)
        out: list[dict] = [{} for _ in range(len(index))]
        if not {parent, key} <= set(child.columns):
            return out
        data_cols = [c for c in child.columns if c not in (parent, key)]
        paths = [[layout.map_field(field, c, (parent, key))] for c in data_cols]
        owners = index.get_indexer(pd.Index(child[parent])).tolist()
        keys, values = python(child[key]), [python(child[c]) for c in data_cols]
        for i, owner in enumerate(owners):
            if owner >= 0 and keys[i] is not None:
                out[owner][keys[i]] = nested(paths, [column[i] for column in values])
        return out

    def _child_lists(self, model: str, field: str, index: pd.Index) -> list[list | None]:
        child = self.frames.children[layout.table_name(model, field)]
        parent_col = layout.parent_column(model)
        data_cols = [c for c in child.columns if c not in (parent_col, layout.POSITION)]
        owners = (
            index.get_indexer(pd.Index(child[parent_col])) if parent_col in child.columns else np.full(len(child), -1)
        )
        order = np.lexsort((child[layout.POSITION].to_numpy(dtype="int64", na_value=0), owners))
        values = [python(child[c]) for c in data_cols]
        paths = [_item_path(field, c, parent_col) for c in data_cols]
        scalars = data_cols == [layout.VALUE]  # a list of scalars
        out: list[list | None] = [None] * len(index)
        for i in order.tolist():
            owner = owners[i]
            if owner < 0:
                continue
            row = [column[i] for column in values]
            item = decoded(row[0]) if scalars else nested(paths, row)
            if out[owner] is None:
                out[owner] = []
            out[owner].append(item)
        return out


def _objects(table: pd.DataFrame, field: str, keys: list[str]) -> list[dict | None]:
    """One object per record from ``field``'s ``field.key`` columns (None when every key is null)."""
    names = [_key_of(k, field) for k in keys]
    values = [python(table[k]) for k in keys]
    out: list[dict | None] = []
    for row in zip(*values):
        item = {n: decoded(v) for n, v in zip(names, row) if v is not None}
        out.append(item or None)
    return out


def _key_of(column: str, field: str) -> str | None:
    """The object key a model-table column holds for ``field`` (None for another field's column)."""
    name, key = layout.split_column(column)
    return key if name == field else None


def _item_path(field: str, column: str, parent_col: str) -> list[str]:
    """Where a child-table column goes in its object: a field, or a key of an object field."""
    own = layout.child_field(field, column, parent_col)
    if own != column:
        return [own]  # an object's own field kept apart from the table's columns
    name, key = layout.split_column(column)
    return [name] if key is None else [name, key]


__all__ = ["Shape", "Tables", "decoded", "iso_datetime", "nested", "plain", "python"]
