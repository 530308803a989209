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
  keyed by ``<model>_id`` and ``position``;
- JSON objects (``extra_fields``) expand into ``extra_fields.<key>`` columns.

Nothing is dropped: a value that cannot share its column's type is kept as text,
with a warning naming the column. Models and fields the catalog does not know are
laid out by inference (a list of UUID strings is a to-many relation, and so on),
so the same builder serves other APIs (e.g. brainmaps).
"""

from __future__ import annotations

import html
import json
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from brainstem_pandas import catalog

DATETIME = "datetime64[us, UTC]"
DATE = pd.ArrowDtype(pa.date32())
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
    return {f.name: field_dtype(f) for f in spec.fields
            if f.name != "id" and not (f.is_relation and f.many) and f.type != "json"}


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
        return pd.array(pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="ISO8601"),
                        dtype=DATETIME)
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


def _id_column(values: list, model: str | None, name: str) -> Any:
    # Catalogued models declare their id type; others infer it (brainmaps uses integers).
    if model in catalog.all_models():
        return column(values, id_dtype(model), name)
    return inferred_column(values, name)


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
        warnings.warn(f"column {name!r}: values do not all fit {dtype}; kept as text", TypeConflictWarning,
                      stacklevel=4)
        return _text_array(values)


def inferred_column(values: list, name: str) -> Any:
    """Typed column for values no schema describes (mixed kinds become text, with a warning)."""
    dtype = infer_dtype(values)
    present = {type(v) for v in values if v is not None}
    if dtype == "string" and present <= {dict, list}:
        return _text_array(values)  # nested JSON is kept as JSON text
    if dtype == "string" and present - {str}:
        warnings.warn(f"column {name!r}: mixed value types {sorted(t.__name__ for t in present)}; kept as text",
                      TypeConflictWarning, stacklevel=3)
        return _text_array(values)
    return column(values, dtype, name)


# -- accumulation -----------------------------------------------------------------------


@dataclass
class _Edge:
    """Rows of one link or child table as they accumulate."""

    parent_col: str
    child_col: str | None = None
    parents: list = field(default_factory=list)
    children: list = field(default_factory=list)
    positions: list = field(default_factory=list)
    extra: dict[str, list] = field(default_factory=dict)  # child tables: key -> values

    def add_rows(self, parent: Any, items: list) -> None:
        n = len(items)
        self.parents.extend([parent] * n)
        self.positions.extend(range(n))
        if self.child_col is not None:
            self.children.extend(items)

    def add_objects(self, parent: Any, items: list) -> None:
        start = len(self.parents)
        self.add_rows(parent, items)
        for i, item in enumerate(items):
            values = item if isinstance(item, dict) else {"value": item}
            for key, value in _flatten(values):
                col = self.extra.setdefault(key, [])
                if len(col) < start + i:
                    col.extend([None] * (start + i - len(col)))
                col.append(value)


def _flatten(values: dict) -> Iterator[tuple[str, Any]]:
    # One level of nested objects becomes "key.subkey" columns, like extra_fields.
    for key, value in values.items():
        if isinstance(value, dict) and value:
            for sub, item in value.items():
                yield f"{key}.{sub}", item
        else:
            yield key, value


class _Table:
    """Columns of one model's table as they accumulate (records de-duplicated by id)."""

    def __init__(self, name: str, builder: "FrameBuilder") -> None:
        self.name, self.builder = name, builder
        self.spec = catalog.all_models().get(name)
        self.ids: list = []
        self.seen: set = set()
        self.cols: dict[str, list] = {}
        self.fields = {f.name: f for f in self.spec.fields} if self.spec else {}

    def add(self, records: Iterable[dict]) -> None:
        fresh = []
        for record in records:
            if not isinstance(record, dict):
                continue
            rid = record.get("id")
            if rid is None or rid in self.seen:
                continue
            self.seen.add(rid)
            fresh.append(record)
        if not fresh:
            return
        start = len(self.ids)
        self.ids.extend(r["id"] for r in fresh)
        names: dict[str, None] = {}
        for record in fresh:
            names.update(dict.fromkeys(record))
        names.pop("id", None)
        for name in names:
            self._add_field(name, fresh, start)
        for col in self.cols.values():  # pad fields these records lacked
            if len(col) < len(self.ids):
                col.extend([None] * (len(self.ids) - len(col)))

    def _add_field(self, name: str, fresh: list[dict], start: int) -> None:
        f = self.fields.get(name)
        values = [r.get(name) for r in fresh]
        if f is not None and f.is_relation:
            self._relation(f.name, f.related_model, f.many, fresh, values, start)
        elif f is not None and f.type != "json":
            col = self.cols.setdefault(name, [None] * start)
            col.extend(values)
        else:
            self._json_or_inferred(name, fresh, values, start, declared=f is not None)

    def _relation(self, name: str, target: str | None, many: bool, fresh: list[dict], values: list,
                  start: int) -> None:
        if not many:
            ids = []
            for value in values:
                if isinstance(value, dict):  # nested record
                    self.builder.table(target or name).add([value])
                    value = value.get("id")
                ids.append(value)
            self.cols.setdefault(name, [None] * start).extend(ids)
            return
        edge = self.builder.edge(self.name, name, target)
        for record, value in zip(fresh, values):
            items = value if isinstance(value, list) else ([] if value is None else [value])
            nested = [v for v in items if isinstance(v, dict)]
            if nested:
                self.builder.table(target or name).add(nested)
                items = [v.get("id") if isinstance(v, dict) else v for v in items]
            edge.add_rows(record["id"], items)

    def _json_or_inferred(self, name: str, fresh: list[dict], values: list, start: int, declared: bool) -> None:
        for i, (record, value) in enumerate(zip(fresh, values)):
            row = start + i
            if isinstance(value, dict):
                for key, item in value.items():
                    col = self.cols.setdefault(f"{name}.{key}", [])
                    if len(col) < row:
                        col.extend([None] * (row - len(col)))
                    col.append(_as_text(item) if isinstance(item, (dict, list)) else item)
            elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                self.builder.child(self.name, name).add_objects(record["id"], value)
            elif isinstance(value, list) and not declared and value and all(
                    isinstance(v, str) and UUID_RE.match(v) for v in value):
                self.builder.edge(self.name, name, None).add_rows(record["id"], value)
            elif isinstance(value, list) and value:
                self.builder.child(self.name, name).add_objects(record["id"], value)
            elif value is not None and not isinstance(value, list):
                col = self.cols.setdefault(name, [])
                if len(col) < row:
                    col.extend([None] * (row - len(col)))
                col.append(value)

    def frame(self) -> pd.DataFrame:
        declared = linked_schema(self.spec) if self.spec else {}
        data: dict[str, Any] = {}
        n = len(self.ids)
        for name, dtype in declared.items():
            values = self.cols.get(name, [None] * n)
            data[name] = column(values, dtype, f"{self.name}.{name}")
        for name, values in self.cols.items():
            if name in declared:
                continue
            values = values + [None] * (n - len(values))
            data[name] = inferred_column(values, f"{self.name}.{name}")
        index = pd.Index(_id_column(self.ids, self.name, f"{self.name}.id"), name="id")
        return pd.DataFrame(data, index=index)


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


class FrameBuilder:
    """Consumes pages as they arrive and builds :class:`LinkedFrames`.

    Only column lists of the records seen so far are kept, never the pages, so a
    caller may drop each page once added.

    Examples
    --------
    >>> b = FrameBuilder("session")
    >>> b.add_records("session", [{"id": "s1", "name": "a", "projects": ["p1"]}])
    >>> b.finish().links["session.projects"]["project_id"].tolist()
    ['p1']
    """

    def __init__(self, primary: str, *, include: Iterable[str] | None = None,
                 keys: Mapping[str, str] | None = None) -> None:
        self.primary = primary
        self.tables: dict[str, _Table] = {}
        self.edges: dict[str, _Edge] = {}
        self.childs: dict[str, _Edge] = {}
        self.relations: dict[str, Relation] = {}
        self._keys = dict(keys or {})
        for m in catalog.all_models().values():
            self._keys.setdefault(m.list_key, m.name)
            self._keys.setdefault(m.detail_key, m.name)
        self.table(primary)
        # Tables of every included model exist even when no record arrives, so the
        # layout of a result does not depend on whether it is empty, sideloaded or nested.
        for path in include or ():
            self._declare(path)

    def _declare(self, path: str) -> None:
        spec = catalog.all_models().get(self.primary)
        for name in path.removesuffix(".*").rstrip(".").split("."):
            if spec is None or name not in spec.field_names:
                return
            target = spec.field(name).related_model
            spec = catalog.all_models().get(target or "")
            if spec is not None:
                self.table(spec.name)

    def table(self, name: str) -> _Table:
        if name not in self.tables:
            self.tables[name] = _Table(name, self)
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
            self.relations[key] = Relation(model, field_name, target or field_name, "many", key,
                                           parent_col, child_col)
        return self.edges[key]

    def child(self, model: str, field_name: str) -> _Edge:
        key = f"{model}.{field_name}"
        if key not in self.childs:
            self.childs[key] = _Edge(f"{model}_id")
        return self.childs[key]

    def model_for_key(self, key: str) -> str:
        """The model of a response key (``"data_acquisitions"`` -> ``"dataacquisition"``)."""
        return self._keys.get(key, key)

    def add_records(self, model: str, records: Iterable[dict]) -> None:
        """Add records of ``model`` (nested related records are extracted)."""
        self.table(model).add(records)

    def add_page(self, page: Any) -> None:
        """Add one :class:`~brainstem_pandas.pagination.Page`: its records and related records."""
        self.add_records(self.primary, page.records)
        for key, records in page.related.items():
            self.add_records(self.model_for_key(key), records)

    def finish(self) -> "LinkedFrames":
        """Build the typed frames (the builder's lists are released as they are used)."""
        tables = {}
        for name in list(self.tables):
            tables[name] = self.tables.pop(name).frame()
        links = {}
        for name, edge in self.edges.items():
            model, _, fld = name.partition(".")
            target = self.relations[name].target
            links[name] = pd.DataFrame({
                edge.parent_col: _id_column(edge.parents, model, f"{name}.{edge.parent_col}"),
                edge.child_col: _id_column(edge.children, target, f"{name}.{edge.child_col}"),
                "position": pd.array(edge.positions, dtype="Int64"),
            })
        children = {}
        for name, edge in self.childs.items():
            model = name.partition(".")[0]
            n = len(edge.parents)
            data = {edge.parent_col: _id_column(edge.parents, model, f"{name}.{edge.parent_col}"),
                    "position": pd.array(edge.positions, dtype="Int64")}
            for key, values in edge.extra.items():
                data[key] = inferred_column(values + [None] * (n - len(values)), f"{name}.{key}")
            children[name] = pd.DataFrame(data)
        self.edges, self.childs = {}, {}
        relations = dict(self.relations)
        for name, frame in tables.items():
            spec = catalog.all_models().get(name)
            for f in (spec.relations if spec else []):
                if not f.many and f.name in frame.columns:
                    relations.setdefault(f"{name}.{f.name}", Relation(name, f.name, f.related_model or "", "one"))
        return LinkedFrames(self.primary, tables, links, children, relations)


def empty_linked(primary: str) -> "LinkedFrames":
    """LinkedFrames for a result with no records: declared columns and dtypes only."""
    return FrameBuilder(primary).finish()


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

    def __init__(self, primary: str, tables: dict[str, pd.DataFrame], links: dict[str, pd.DataFrame],
                 children: dict[str, pd.DataFrame], relations: dict[str, Relation]) -> None:
        self.primary = primary
        self.tables, self.links, self.children, self.relations = tables, links, children, relations

    # -- mapping ----------------------------------------------------------------------
    def __getitem__(self, name: str) -> pd.DataFrame:
        if name in self.tables:
            return self.tables[name]
        if name in self.links:
            return self.links[name]
        if name in self.children:
            return self.children[name]
        raise KeyError(f"{name!r} is not a table here; tables: {', '.join(self.tables)}; "
                       f"links: {', '.join(self.links) or 'none'}; children: {', '.join(self.children) or 'none'}")

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
                out = out.merge(right.add_prefix(f"{relation}."), left_on=rel.child_col, right_index=True,
                                how="left")
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
        tables = {name: self.tables[name][self.tables[name].index.isin(list(ids))]
                  for name, ids in keep.items() if name in self.tables}
        return LinkedFrames(model, tables, links, children,
                            {k: v for k, v in self.relations.items() if v.kind == "one" or v.table in links})

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
            f"<td style='text-align:right'>{cols}</td></tr>" for kind, name, n, cols in self._rows())
        rels = ", ".join(html.escape(k) for k in sorted(self.relations))
        return (f"<div><b>LinkedFrames</b> (primary: <code>{html.escape(self.primary)}</code>)"
                f"<table><thead><tr><th>kind</th><th>name</th><th>rows</th><th>columns</th></tr></thead>"
                f"<tbody>{body}</tbody></table><small>relations: {rels or 'none'}</small></div>")


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
    data = {name: column([r.get(name) for r in records], dtype, f"{spec.name}.{name}")
            for name, dtype in declared.items()}
    extra: dict[str, None] = {}
    for record in records:
        extra.update(dict.fromkeys(k for k in record if k not in declared and k != "id"))
    for name in extra:
        data[name] = inferred_column([r.get(name) for r in records], f"{spec.name}.{name}")
    return pd.DataFrame(data, index=pd.Index(column(ids, id_dtype(spec.name), f"{spec.name}.id"), name="id"))
