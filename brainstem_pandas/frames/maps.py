"""JSON objects keyed by identifiers -> map tables, one row per key: :class:`MapRows`.

The catalog marks which JSON fields are *maps* (:attr:`brainstem_pandas.catalog.Field.map`):
``project.users`` and ``group.users`` keyed by e-mail, ``project.groups`` keyed by
group name. Laid out as columns they would make one column per member of any
project; here each key is a row of the map table ``"<model>.<field>"`` (names from
:mod:`~brainstem_pandas.frames.layout`) with the parent's id, the key, and the
entry's fields as typed columns (an entry's undocumented fields follow, inferred).

A null or missing map has no rows (as an empty one); a map or an entry that is
not a JSON object is a :class:`~brainstem_pandas.errors.ResponseError`, since no
table could hold it as sent.

Examples
--------
>>> rows = MapRows("project", catalog.model("project").field("users"))
>>> rows.add(pa.array(["p1", "p2"]), [{"ann@lab.org": {"can_change": True, "is_owner": True}}, {}])
>>> frame = rows.layout("project.users").frame()
>>> frame.columns.tolist(), frame["is_owner"].tolist(), str(frame["is_manager"].dtype)
(['project_id', 'user', 'can_change', 'is_manager', 'is_owner'], [True], 'boolean')
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from brainstem_pandas import catalog
from brainstem_pandas.errors import ResponseError
from brainstem_pandas.frames import layout
from brainstem_pandas.frames.arrow import column_array, invalid_text, json_text
from brainstem_pandas.frames.dtypes import TYPES, known_id_type
from brainstem_pandas.frames.store import Chunks, Layout, with_inferred


def not_a_map(model: str, field: str, rid: Any, what: str, key_is: str) -> ResponseError:
    """The error for a map (or one of its entries) that is not a JSON object."""
    return ResponseError(
        "GET",
        f"({model} records)",
        f"{model} {rid!r}: {field!r} should be an object keyed by {key_is} whose entries are objects, but {what}; "
        "the server's answer is malformed: check that the URL is a BrainSTEM server and report the record to its admin",
    )


class MapRows:
    """Rows of one map table as Arrow chunks: parent id, key, and the entries' fields.

    Parameters
    ----------
    model : str
        The model owning the field (``"project"``).
    field : catalog.Field
        A field the catalog marks as a map (``users``).
    """

    def __init__(self, model: str, field: catalog.Field) -> None:
        spec = field.map
        if spec is None:
            raise ValueError(f"{model}.{field.name} is not a map in the catalog")
        self.model, self.field, self.key_is = model, field.name, spec.key_is or "identifiers"
        self.parent_col, self.key_col = layout.parent_column(model), spec.key
        self.reserved = (self.parent_col, self.key_col)
        self.values = {layout.map_column(field.name, name, self.reserved): TYPES[t] for name, t in spec.values}
        self.data = Chunks()

    def _entries(self, ids: pa.Array, maps: list[Any]) -> tuple[list[int], list[str], list[dict[str, Any]]]:
        """(row of each entry's parent, its key, the entry) of every map, checked."""
        rows: list[int] = []
        keys: list[str] = []
        entries: list[dict[str, Any]] = []
        for at, value in enumerate(maps):
            if value is None:
                continue
            if not isinstance(value, dict):
                raise not_a_map(self.model, self.field, ids[at].as_py(), f"it is {type(value).__name__}", self.key_is)
            for key, entry in value.items():
                if not isinstance(key, str) or not isinstance(entry, dict):
                    what = (
                        f"its entry {key!r:.60} is {type(entry).__name__}"
                        if isinstance(key, str)
                        else "a key isn't text"
                    )
                    raise not_a_map(self.model, self.field, ids[at].as_py(), what, self.key_is)
                rows.append(at)
                keys.append(key)
                entries.append(entry)
        return rows, keys, entries

    def add(self, ids: pa.Array, maps: list[Any]) -> None:
        """One row per key of each record's map (``ids``: the records' ids, ``maps``: their values as sent)."""
        rows, keys, entries = self._entries(ids, maps)
        if not rows:
            return
        label = layout.table_name(self.model, self.field)
        chunk = self.data.chunk(len(rows))
        self.data.put(chunk, self.parent_col, ids.take(pa.array(rows, type=pa.int64())))
        try:
            self.data.put(chunk, self.key_col, pa.array(keys, type=pa.string()))
        except UnicodeEncodeError as exc:  # a key with a lone surrogate: Arrow holds UTF-8 only
            raise invalid_text(layout.column_label(label, self.key_col), exc) from None
        names = {name: None for entry in entries for name in entry}
        columns = {layout.map_column(self.field, n, self.reserved): n for n in names}
        if len(columns) < len(names):  # "user" and a literal "users.user" would share one column
            raise not_a_map(self.model, self.field, "?", "two entry fields would share one column", self.key_is)
        for name in dict.fromkeys([*self.values, *columns]):
            own = columns.get(name, layout.map_field(self.field, name, self.reserved))
            wire = self.values[name].wire if name in self.values else None
            array = column_array([e.get(own) for e in entries], layout.column_label(label, name), wire)
            self.data.put(chunk, name, json_text(array) if pa.types.is_nested(array.type) else array)

    def layout(self, name: str) -> Layout:
        """The finished map table: parent id, key, the documented fields, then any others."""
        known = {self.parent_col: known_id_type(self.model), self.key_col: pa.string()}
        known.update({col: kind.final for col, kind in self.values.items()})
        return Layout(name, "child", self.data, with_inferred(self.data.names, known))
