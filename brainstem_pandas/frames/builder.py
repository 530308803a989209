"""Pages -> typed, linked tables: :class:`FrameBuilder`.

How related data is laid out (names from :mod:`~brainstem_pandas.frames.layout`,
dtypes from :mod:`~brainstem_pandas.frames.dtypes`):

- one table per model (primary and related, sideloaded or nested at any depth),
  indexed by ``id`` and de-duplicated;
- a to-one relation stays a column of ids named as in the API;
- every to-many relation becomes a *link table* ``"<model>.<field>"`` with columns
  ``<model>_id``, ``<target>_id`` and ``position`` (the API's order) and leaves
  the model table;
- lists of objects (``download_links``) become *child tables* ``"<model>.<field>"``
  keyed by ``<model>_id`` and ``position``;
- JSON objects (``extra_fields``) expand into ``extra_fields.<key>`` columns, but those
  the catalog marks as maps (``project.users``, keyed by e-mail) become map tables,
  one row per key (:mod:`~brainstem_pandas.frames.maps`).

Related records nested in a record (``sideloading=false``, at any depth) are
taken out of it here, so a page's ``related`` need only hold sideloaded ones.
Nothing is dropped: a value that cannot share its column's type is kept as text,
with a warning naming the column. Models and fields the catalog does not know are
laid out by inference (a list of UUID strings is a to-many relation, and so on),
so the same builder serves other APIs (e.g. brainmaps).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from operator import itemgetter
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from brainstem_pandas import catalog
from brainstem_pandas.frames import layout
from brainstem_pandas.frames.arrow import (
    all_uuids,
    column_array,
    flatten_struct,
    invalid_text,
    json_text,
    list_positions,
    quiet_gc,
    record_values,
    records_to_arrays,
)
from brainstem_pandas.frames.dtypes import is_json, known_id_type, linked_types, wire_types
from brainstem_pandas.frames.linked import LinkedFrames, Relation
from brainstem_pandas.frames.maps import MapRows
from brainstem_pandas.frames.records import ID_TYPES, malformed_record
from brainstem_pandas.frames.store import Chunks, Layout, with_inferred

# Records are converted to Arrow in batches of this many (a few pages' worth): large
# enough that per-conversion overhead vanishes, small enough to keep memory flat.
BATCH = 4096
_ID = itemgetter(layout.INDEX)


class _PageLike(Protocol):
    """What :meth:`FrameBuilder.add_page` reads of a page."""

    @property
    def records(self) -> list[dict[str, Any]]: ...

    @property
    def related(self) -> Mapping[str, list[dict[str, Any]]]: ...


class _Edge:
    """Rows of one link table as Arrow chunks: parent id, child id, position."""

    def __init__(self, parent_col: str, child_col: str) -> None:
        self.parent_col, self.child_col = parent_col, child_col
        self.data = Chunks()

    def _put(self, parents: pa.Array, children: pa.Array, positions: pa.Array) -> None:
        chunk = self.data.chunk(len(positions))
        self.data.put(chunk, self.parent_col, parents)
        self.data.put(chunk, self.child_col, children)
        self.data.put(chunk, layout.POSITION, positions)

    def add_lists(self, ids: pa.Array, lists: pa.Array) -> None:
        """One row per item of each record's list (``ids``: the records' ids)."""
        idx = pc.list_parent_indices(lists)
        self._put(pc.take(ids, idx), pc.list_flatten(lists), list_positions(idx))

    def add_python(self, parent_ids: list[Any], items: list[list[Any]]) -> None:
        """One row per item of each parent's Python list of ids."""
        parents: list[Any] = []
        children: list[Any] = []
        positions: list[int] = []
        for pid, values in zip(parent_ids, items):
            parents.extend([pid] * len(values))
            children.extend(values)
            positions.extend(range(len(values)))
        kept = column_array(children, self.child_col)  # odd shapes (mixed kinds) are kept as text
        self._put(pa.array(parents), kept, pa.array(positions, type=pa.int64()))

    def layout(self, name: str, relation: Relation) -> Layout:
        """The finished link table (ids typed when the catalog knows their model)."""
        columns = {
            self.parent_col: known_id_type(relation.model),
            self.child_col: known_id_type(relation.target),
            layout.POSITION: pa.int64(),
        }
        return Layout(name, "link", self.data, columns)


class _Child:
    """Rows of one child table (objects or scalars in a list) as Arrow chunks.

    An object's own field named like the parent id column or ``position`` is kept
    as ``<field>.<name>`` (e.g. ``download_links.position``), so neither is lost.
    """

    def __init__(self, model: str, field: str) -> None:
        self.model, self.field = model, field
        self.parent_col = layout.parent_column(model)
        self.data = Chunks()

    def _objects(self, chunk: int, flat: pa.Array) -> None:
        # flatten(), not field(): a null object's fields are null, not Arrow's placeholders.
        for field, sub in zip(flat.type, flat.flatten()):
            name = layout.child_column(self.field, field.name, self.parent_col)
            if pa.types.is_struct(sub.type):
                for col, inner in flatten_struct(name, sub):
                    self.data.put(chunk, col, inner)
            else:
                self.data.put(chunk, name, json_text(sub) if pa.types.is_nested(sub.type) else sub)

    def add_lists(self, ids: pa.Array, lists: pa.Array) -> None:
        """One row per item of each record's list (``ids``: the records' ids)."""
        idx = pc.list_parent_indices(lists)
        flat = pc.list_flatten(lists)
        chunk = self.data.chunk(len(flat))
        self.data.put(chunk, self.parent_col, pc.take(ids, idx))
        self.data.put(chunk, layout.POSITION, list_positions(idx))
        if pa.types.is_struct(flat.type):
            self._objects(chunk, flat)
        else:
            self.data.put(chunk, layout.VALUE, json_text(flat) if pa.types.is_nested(flat.type) else flat)

    def layout(self, name: str) -> Layout:
        """The finished child table."""
        known = {self.parent_col: known_id_type(self.model), layout.POSITION: pa.int64()}
        return Layout(name, "child", self.data, with_inferred(self.data.names, known))


class _Table:
    """One model's table as it accumulates (records de-duplicated by id)."""

    def __init__(self, name: str, builder: FrameBuilder) -> None:
        self.name, self.builder = name, builder
        self.spec = catalog.all_models().get(name)
        self.fields = {f.name: f for f in self.spec.fields} if self.spec else {}
        self.kinds = wire_types(self.spec)
        self.maps = [f.name for f in self.spec.maps] if self.spec else []
        self.seen: set[Any] = set()
        self.pending: list[dict[str, Any]] = []
        self.data = Chunks()

    def add(self, records: Iterable[dict[str, Any]]) -> None:
        """Keep the records whose id is new; convert them once a batch is full.

        Raises :class:`~brainstem_pandas.errors.ResponseError` for an item that is
        not an object with a text or whole-number id (checked once per call, at C speed).
        """
        records = records if isinstance(records, list) else list(records)
        seen, fresh = self.seen, self.pending
        try:
            ids = list(map(_ID, records))
        except (KeyError, TypeError):
            ids = None
        if ids is None or not ID_TYPES.issuperset(map(type, ids)):
            raise malformed_record(self.name, records)
        if seen.isdisjoint(ids) and len(set(ids)) == len(ids):
            seen.update(ids)  # the common case: a page of new records
            fresh.extend(records)
        else:
            for rid, record in zip(ids, records):
                if rid not in seen:
                    seen.add(rid)
                    fresh.append(record)
        if len(fresh) >= BATCH:
            self.flush()

    def flush(self) -> None:
        """Convert the records waiting in the batch to Arrow chunks."""
        fresh, self.pending = self.pending, []
        if not fresh:
            return
        with quiet_gc():
            try:
                self._convert(fresh)
            except UnicodeEncodeError as exc:  # Arrow holds UTF-8 only: a lone surrogate (in an id) cannot be kept
                raise invalid_text(self.name, exc) from None

    def _convert(self, fresh: list[dict[str, Any]]) -> None:
        plain = [{k: v for k, v in r.items() if k not in self.maps} for r in fresh] if self.maps else fresh
        arrays = records_to_arrays(plain, self.name, self.kinds)
        chunk = self.data.chunk(len(fresh))
        ids = arrays.pop(layout.INDEX)
        self.data.put(chunk, layout.INDEX, ids)
        for name in self.maps:  # maps as sent (never typed as one column per key)
            self.builder.maps[layout.table_name(self.name, name)].add(ids, record_values(fresh, name)[0])
        for name, array in arrays.items():
            f = self.fields.get(name)
            if f is not None and f.is_relation:
                self._relation(chunk, f, ids, array, fresh)
            elif f is not None and not is_json(f):
                self.data.put(chunk, name, array)
            else:
                self._json(chunk, name, ids, array, declared=f is not None)

    def _nest(self, target: str, values: list[Any]) -> list[Any]:
        """The ids of ``values``, after adding the records nested among them to ``target``'s table."""
        self.builder.table(target).add([v for v in values if isinstance(v, dict)])
        return [v.get(layout.INDEX) if isinstance(v, dict) else v for v in values]

    def _relation(
        self, chunk: int, f: catalog.Field, ids: pa.Array, array: pa.Array, fresh: list[dict[str, Any]]
    ) -> None:
        target = f.related_model or f.name
        kind = array.type
        nested = pa.types.is_struct(kind) or (pa.types.is_list(kind) and pa.types.is_struct(kind.value_type))
        if not f.many:
            if nested or pa.types.is_list(kind):
                array = column_array(self._nest(target, array.to_pylist()), layout.table_name(self.name, f.name))
            self.data.put(chunk, f.name, array)
            return
        edge = self.builder.edge(self.name, f.name, f.related_model)
        if pa.types.is_list(kind) and not nested:
            edge.add_lists(ids, array)
            return
        # Nested records (sideloading=false) or odd shapes: the careful Python path, on the values
        # as sent (a clash already turned the array to text).
        items = []
        for value in (r.get(f.name) for r in fresh):
            items.append(self._nest(target, value if isinstance(value, list) else ([] if value is None else [value])))
        edge.add_python(ids.to_pylist(), items)

    def _json(self, chunk: int, name: str, ids: pa.Array, array: pa.Array, declared: bool) -> None:
        kind = array.type
        if pa.types.is_struct(kind):
            for col, sub in flatten_struct(name, array):
                self.data.put(chunk, col, sub)
        elif pa.types.is_list(kind) and pa.types.is_struct(kind.value_type):
            self.builder.child(self.name, name).add_lists(ids, array)
        elif pa.types.is_list(kind) and not declared and all_uuids(array):
            self.builder.edge(self.name, name, None).add_lists(ids, array)
        elif pa.types.is_list(kind) and declared:  # a declared JSON list of scalars
            self.builder.child(self.name, name).add_lists(ids, array)
        elif not pa.types.is_null(kind) or not declared:
            self.data.put(chunk, name, array)

    def layout(self) -> Layout:
        """The finished model table: declared columns first, then the inferred ones."""
        known = linked_types(self.spec) if self.spec else {layout.INDEX: None}
        return Layout(self.name, "table", self.data, with_inferred(self.data.names, known))

    def rollback(self, chunks: int) -> None:
        """Forget the records of every chunk from number ``chunks`` on (and any waiting)."""
        self.pending = []
        self.data.rollback(chunks)
        self.seen = set()
        for i in range(len(self.data.lengths)):
            ids = self.data.load(i).get(layout.INDEX)
            self.seen.update(ids.to_pylist() if ids is not None else ())


class FrameBuilder:
    """Consumes pages as they arrive and builds :class:`~brainstem_pandas.frames.LinkedFrames`.

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
        self.maps: dict[str, MapRows] = {}
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

        Examples
        --------
        >>> b = FrameBuilder("session", include=["behaviors.setup"])
        >>> sorted(b.finish())
        ['behavior', 'session', 'setup']
        """
        self.table(model)
        models = catalog.all_models()
        for path in include or ():
            spec = models.get(model)
            for name in path.removesuffix(".*").rstrip(".").split("."):
                if spec is None or name not in spec.field_names:
                    break
                spec = models.get(spec.field(name).related_model or "")
                if spec is not None:
                    self.table(spec.name)

    def _place(self, data: Chunks) -> None:
        if self.spill is not None:
            self._folders += 1
            data.folder = self.spill / f"{self._folders:05d}"
            data.folder.mkdir(parents=True)

    def table(self, name: str) -> _Table:
        """The table of model ``name`` (created, with its link tables, on first use)."""
        if name not in self.tables:
            self.tables[name] = table = _Table(name, self)
            self._place(table.data)
            for f in table.spec.relations if table.spec else ():
                if f.many:
                    self.edge(name, f.name, f.related_model)
            for f in table.spec.maps if table.spec else ():
                self.maps[layout.table_name(name, f.name)] = rows = MapRows(name, f)
                self._place(rows.data)
        return self.tables[name]

    def edge(self, model: str, field_name: str, target: str | None) -> _Edge:
        """The link table of ``model``'s to-many relation ``field_name`` (created on first use)."""
        key = layout.table_name(model, field_name)
        if key not in self.edges:
            parent_col = layout.parent_column(model)
            child_col = layout.link_target_column(model, field_name, target)
            self.edges[key] = _Edge(parent_col, child_col)
            self._place(self.edges[key].data)
            self.relations[key] = Relation(model, field_name, target or field_name, "many", key, parent_col, child_col)
        return self.edges[key]

    def child(self, model: str, field_name: str) -> _Child:
        """The child table of ``model``'s list-valued ``field_name`` (created on first use)."""
        key = layout.table_name(model, field_name)
        if key not in self.childs:
            self.childs[key] = _Child(model, field_name)
            self._place(self.childs[key].data)
        return self.childs[key]

    def model_for_key(self, key: str) -> str:
        """The model of a response key (``"data_acquisitions"`` -> ``"dataacquisition"``).

        Examples
        --------
        >>> FrameBuilder("session").model_for_key("data_acquisitions")
        'dataacquisition'
        """
        return self._keys.get(key, key)

    def add_records(self, model: str, records: Iterable[dict[str, Any]]) -> None:
        """Add records of ``model`` (related records nested in them are extracted)."""
        self.table(model).add(records)
        if self.spill is not None:
            self._spill()

    def add_page(self, page: _PageLike, model: str | None = None) -> None:
        """Add one :class:`~brainstem_pandas.pagination.Page` of ``model`` (default: the primary model).

        Its records go to ``model``'s table, its sideloaded lists (``page.related``,
        by response key) to their models' tables, and records nested in either to theirs.
        """
        self.add_records(model or self.primary, page.records)
        for key, records in page.related.items():
            self.add_records(self.model_for_key(key), records)

    def _chunks(self) -> list[Chunks]:
        return [
            *(t.data for t in self.tables.values()),
            *(e.data for e in self.edges.values()),
            *(c.data for c in self.childs.values()),
            *(m.data for m in self.maps.values()),
        ]

    def _spill(self) -> None:
        for data in self._chunks():
            data.spill()

    def flush(self) -> None:
        """Convert every record still waiting in a batch."""
        with quiet_gc():
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
            "tables": {name: len(t.data.lengths) for name, t in self.tables.items()},
            "edges": {name: len(e.data.lengths) for name, e in self.edges.items()},
            "childs": {name: len(c.data.lengths) for name, c in self.childs.items()},
            "maps": {name: len(m.data.lengths) for name, m in self.maps.items()},
        }

    def rollback(self, mark: Mapping[str, Mapping[str, int]]) -> None:
        """Forget everything added since ``mark`` (a walk that must be done again).

        Examples
        --------
        >>> b = FrameBuilder("session")
        >>> mark = b.checkpoint()
        >>> b.add_records("session", [{"id": "s1", "projects": ["p1"]}])
        >>> b.rollback(mark)
        >>> len(b.finish()["session"]), len(b.relations) > 0
        (0, True)
        """
        for name in list(self.tables):
            if name in mark["tables"]:
                self.tables[name].rollback(mark["tables"][name])
            else:
                self.tables.pop(name).data.rollback(0)
        for name in list(self.edges):
            if name in mark["edges"]:
                self.edges[name].data.rollback(mark["edges"][name])
            else:
                self.edges.pop(name).data.rollback(0)
                del self.relations[name]
        for kind, store in (("childs", self.childs), ("maps", self.maps)):
            for name in list(store):
                store[name].data.rollback(mark[kind].get(name, 0))
                if name not in mark[kind]:
                    del store[name]

    # -- finishing --------------------------------------------------------------------
    def relation_map(self) -> dict[str, Relation]:
        """Every relation between the tables: link tables first, then to-one id columns."""
        relations = dict(self.relations)
        for name, table in self.tables.items():
            for f in table.spec.relations if table.spec else []:
                if not f.many:
                    key = layout.table_name(name, f.name)
                    relations.setdefault(key, Relation(name, f.name, f.related_model or "", "one"))
        return relations

    def layouts(self) -> Iterator[Layout]:
        """Every table's :class:`~brainstem_pandas.frames.Layout`: model tables, then link tables, then child tables.

        Each is released from the builder once the caller moves on to the next.
        """
        self.flush()
        for name in list(self.tables):
            yield self.tables.pop(name).layout()
        for name in list(self.edges):
            yield self.edges.pop(name).layout(name, self.relations[name])
        for name in list(self.childs):
            yield self.childs.pop(name).layout(name)
        for name in list(self.maps):
            yield self.maps.pop(name).layout(name)

    def finish(self) -> LinkedFrames:
        """Build the typed frames (the builder's chunks are released as they are used)."""
        relations = self.relation_map()
        out: dict[str, dict[str, pd.DataFrame]] = {"table": {}, "link": {}, "child": {}}
        with quiet_gc():
            for part in self.layouts():
                out[part.kind][part.name] = part.frame()
        return LinkedFrames(self.primary, out["table"], out["link"], out["child"], relations)
