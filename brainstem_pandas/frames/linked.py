"""Typed tables of related models, linked by id: :class:`LinkedFrames` and :class:`Relation`.

Examples
--------
>>> lf = client.read_linked("session", include=["projects"])
>>> sorted(lf), "session.projects" in lf.links, lf.relations["session.projects"].kind
(['project', 'session'], True, 'many')
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from brainstem_pandas.errors import BrainstemError, QueryError, UnknownNameError, close_names
from brainstem_pandas.frames.export import write_tables
from brainstem_pandas.frames.layout import INDEX, POSITION, parent_column, split_table_name, table_name

_How = Literal["left", "right", "outer", "inner"]
_HOWS = ("left", "right", "outer", "inner")


class NotInFramesError(UnknownNameError, KeyError):
    """A table, relation or record these frames do not hold (also a KeyError, as any mapping raises).

    Examples
    --------
    >>> isinstance(NotInFramesError("'x' is not a table here", "x", ["session"]), KeyError)
    True
    """

    def __init__(self, message: str, name: Any = None, choices: Iterable[str] = ()) -> None:
        self.suggestions = close_names(str(name), choices) if name is not None else []
        hint = f" Did you mean {', '.join(map(repr, self.suggestions))}?" if self.suggestions else ""
        BrainstemError.__init__(self, message + hint)

    def __str__(self) -> str:  # the message itself, not KeyError's quoted repr of it
        return Exception.__str__(self)


@dataclass(frozen=True)
class Relation:
    """How two tables connect: through a to-one column or a link table.

    Examples
    --------
    >>> client.read_linked("session").relations["session.projects"].table
    'session.projects'
    """

    model: str
    field: str
    target: str
    kind: str  # "one" (column) or "many" (link table)
    table: str | None = None  # link table name
    parent_col: str | None = None
    child_col: str | None = None

    @property
    def link(self) -> tuple[str, str, str]:
        """``(table, parent column, child column)`` of a to-many relation's link table."""
        if self.table is None or self.parent_col is None or self.child_col is None:
            raise KeyError(f"{table_name(self.model, self.field)} is a to-one relation: it has no link table")
        return self.table, self.parent_col, self.child_col


class LinkedFrames(Mapping[str, pd.DataFrame]):
    """Typed DataFrames of related models, linked by id.

    Mapping access gives model tables (``lf["session"]``); ``links`` holds link
    tables of to-many relations (``lf.links["session.projects"]``) and
    ``children`` the child tables of object lists (``lf.children["session.download_links"]``).

    Examples
    --------
    >>> lf = client.read_linked("session", include=["projects"])
    >>> lf.merge("session", "projects")[["name", "projects.name"]].shape[1]
    2
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
        for store in (self.tables, self.links, self.children):
            if name in store:
                return store[name]
        raise NotInFramesError(
            f"{name!r} is not a table here; tables: {', '.join(self.tables)}; "
            f"links: {', '.join(self.links) or 'none'}; children: {', '.join(self.children) or 'none'}.",
            name,
            list(self.to_dict()),
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self.tables)

    def __len__(self) -> int:
        return len(self.tables)

    def to_dict(self) -> dict[str, pd.DataFrame]:
        """Every table by name: model tables, then link tables, then child tables.

        Examples
        --------
        >>> tables = client.read_linked("session", include=["projects"]).to_dict()
        >>> list(tables)[:2], "session.projects" in tables, "session.download_links" in tables
        (['session', 'project'], True, True)
        """
        return {**self.tables, **self.links, **self.children}

    # -- navigation ---------------------------------------------------------------------
    def _relation(self, left: str, relation: str) -> Relation:
        key = table_name(left, relation)
        if key not in self.relations:
            names = [*self.relations, *self.children]
            known = sorted({field for model, field in map(split_table_name, names) if model == left and field})
            raise NotInFramesError(
                f"{left} has no relation {relation!r} here; relations: {', '.join(known) or 'none'}"
                + ("" if left in self.tables else f" ({left!r} is not a table here: {', '.join(self.tables)})")
                + ".",
                relation,
                known,
            )
        return self.relations[key]

    def merge(self, left: str, relation: str, how: _How = "left") -> pd.DataFrame:
        """``left``'s table joined with the related records through ``relation``.

        To-many relations go through their link table (one row per pair, in API
        order, with ``position``); to-one relations through their id column. The
        related columns are prefixed with ``"<relation>."``. A child table's field
        (``lf.merge("project", "users")``: one row per member) joins its rows by the
        parent's id, its columns prefixed with ``"<field>."``.

        Examples
        --------
        >>> lf = client.read_linked("session", include=["projects"])
        >>> lf.merge("session", "projects").columns[:4].tolist()
        ['session_id', 'project_id', 'position', 'name']
        """
        if how not in _HOWS:
            raise QueryError(f"how={how!r} is not a join; use one of {', '.join(map(repr, _HOWS))}.")
        if table_name(left, relation) in self.children and left in self.tables:
            return self._merge_child(left, relation, how)
        rel = self._relation(left, relation)
        base = self.tables[left]
        right = self.tables.get(rel.target)
        if rel.kind == "many":
            table, parent_col, child_col = rel.link
            out = self.links[table].merge(base, left_on=parent_col, right_index=True, how=how)
            if right is not None:
                out = out.merge(right.add_prefix(f"{relation}."), left_on=child_col, right_index=True, how="left")
            return out.sort_values([parent_col, POSITION], kind="stable").reset_index(drop=True)
        out = base.reset_index().rename(columns={INDEX: parent_column(left)})
        if right is None:
            return out
        return out.merge(right.add_prefix(f"{relation}."), left_on=relation, right_index=True, how=how)

    def _merge_child(self, left: str, field: str, how: _How) -> pd.DataFrame:
        """``left``'s table joined with the rows of its child table ``field`` (by the parent's id)."""
        child = self.children[table_name(left, field)]
        parent = parent_column(left)
        rows = child.drop(columns=[parent]).add_prefix(f"{field}.")
        rows.insert(0, parent, child[parent])
        base = self.tables[left].reset_index().rename(columns={INDEX: parent})
        return base.merge(rows, on=parent, how=how, sort=False).reset_index(drop=True)

    def _linked_rows(self, rel: Relation, model: str, id: Any, keep: dict[str, set[Any]]) -> pd.DataFrame | None:
        """The rows of ``rel``'s link table that touch record ``id`` of ``model`` (their other ends kept)."""
        table, parent_col, child_col = rel.link
        link = self.links[table]
        if rel.model == model:
            rows = link[link[parent_col] == id]
            keep.setdefault(rel.target, set()).update(rows[child_col].dropna())
        elif rel.target == model:
            rows = link[link[child_col] == id]
            keep.setdefault(rel.model, set()).update(rows[parent_col].dropna())
        else:
            return None
        return rows.reset_index(drop=True)

    def _to_one(self, rel: Relation, model: str, id: Any, keep: dict[str, set[Any]]) -> None:
        """Keep the record ``id`` of ``model`` points to through ``rel``, or those pointing to it."""
        value: Any = self.tables[model].at[id, rel.field] if rel.model == model else None
        if rel.model == model and pd.notna(value):
            keep.setdefault(rel.target, set()).add(value)
        elif rel.target == model and rel.model in self.tables:
            other = self.tables[rel.model]
            keep.setdefault(rel.model, set()).update(other.index[other[rel.field] == id])

    def _first(self, model: str) -> Any:
        index = self.tables[model].index
        return index[0] if len(index) else None

    def related(self, model: str, id: Any) -> LinkedFrames:
        """One record's neighbourhood: the record and every row one link away.

        Examples
        --------
        >>> lf = client.read_linked("session", include=["behaviors"])
        >>> sid = lf.links["session.behaviors"]["session_id"].iloc[0]
        >>> hood = lf.related("session", sid)
        >>> hood["session"].index.tolist() == [sid], set(hood["behavior"]["session"]) == {sid}
        (True, True)
        """
        if model not in self.tables:
            raise NotInFramesError(
                f"{model!r} is not a table here; tables: {', '.join(self.tables)}.", model, self.tables
            )
        try:
            found = id in self.tables[model].index
        except TypeError:  # an unhashable id (a list, a dict)
            found = False
        if not found:
            raise NotInFramesError(
                f"No {model} with id {id!r} here; pass one of lf[{model!r}].index (e.g. {self._first(model)!r})."
            )
        keep: dict[str, set[Any]] = {model: {id}}
        links: dict[str, pd.DataFrame] = {}
        for rel in self.relations.values():
            if rel.kind != "many":
                self._to_one(rel, model, id, keep)
            elif (rows := self._linked_rows(rel, model, id, keep)) is not None:
                links[rel.link[0]] = rows
        parent = parent_column(model)
        children = {
            name: table[table[parent] == id].reset_index(drop=True)
            for name, table in self.children.items()
            if split_table_name(name)[0] == model
        }
        tables = {
            name: self.tables[name][self.tables[name].index.isin(list(ids))]
            for name, ids in keep.items()
            if name in self.tables
        }
        kept = {k: v for k, v in self.relations.items() if v.kind == "one" or v.table in links}
        return LinkedFrames(model, tables, links, children, kept)

    # -- export -----------------------------------------------------------------------
    def export(self, folder: str | os.PathLike, format: str = "csv") -> list[Path]:
        """Write every table as ``<folder>/<table>.csv`` (or ``.json``); the paths, in :meth:`to_dict` order.

        Lists and objects are written as JSON (text in a CSV cell), and the fields
        the catalog marks as rich text (HTML descriptions) gain a plain-text column
        beside them (``description_text``).

        Examples
        --------
        >>> import csv, json
        >>> paths = client.read_linked("project").export(tmp / "projects")
        >>> rows = list(csv.DictReader(open(tmp / "projects" / "project.csv")))
        >>> isinstance(json.loads(rows[0]["tags"]), list), "description_text" in rows[0]
        (True, True)
        """
        if format not in ("csv", "json"):
            raise QueryError(f"format={format!r} is not an export format; use 'csv' or 'json'.")
        return write_tables(self.to_dict(), folder, format)

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
