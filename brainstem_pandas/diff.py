"""What changed between two snapshots (or two :class:`~brainstem_pandas.frames.LinkedFrames`), record by record.

:func:`diff_snapshots` compares model tables by ``id``: records only in the
second are added, records only in the first removed, and a record in both is
changed in the columns whose values differ. To-many relations are compared
through their link tables, in the order the server listed them. Map tables
(``project.users``, one row per member) are compared by (parent id, key): a row
is named ``"<parent id> <key>"`` (ids hold no spaces, so the first space splits
it), and the parent record is changed in the map's field (``users``).

Examples
--------
>>> monday = client.snapshot(tmp / "monday", models=["project"])
>>> diff_snapshots(tmp / "monday", tmp / "monday")
{}
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from brainstem_pandas import catalog
from brainstem_pandas.errors import SnapshotError
from brainstem_pandas.frames import LinkedFrames
from brainstem_pandas.frames.layout import INDEX, POSITION, parent_column, split_table_name
from brainstem_pandas.snapshot import read_snapshot

__all__ = ["diff_snapshots"]

Changes = dict[str, Any]
"""One model's changes: ``{"added": [ids], "removed": [ids], "changed": {id: [columns]}}``."""


def _frames(source: str | os.PathLike | LinkedFrames) -> LinkedFrames:
    return source if isinstance(source, LinkedFrames) else read_snapshot(source)


def _check_same_source(old: LinkedFrames, new: LinkedFrames) -> None:
    """Refuse to compare snapshots of different servers or portals: the same id there is another record."""
    sides = [((f.manifest or {}).get("server"), (f.manifest or {}).get("portal")) for f in (old, new)]
    if all(all(side) for side in sides) and sides[0] != sides[1]:
        (server_a, portal_a), (server_b, portal_b) = sides
        raise SnapshotError(
            f"These snapshots come from different sources ({server_a} portal {portal_a!r} and {server_b} "
            f"portal {portal_b!r}), so their records cannot be compared by id. Compare two snapshots of the "
            "same server and portal, or pass same_source=False to compare them anyway."
        )


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, (list, dict)) and bool(pd.isna(value)))


def _same(a: pd.Series, b: pd.Series) -> pd.Series:
    """Element-wise equality where two missing values are equal (lists compared as lists).

    Examples
    --------
    >>> _same(pd.Series([1.0, None, 3.0]), pd.Series([1.0, None, 4.0])).tolist()
    [True, True, False]
    >>> _same(pd.Series([["a"], None]), pd.Series([["a"], []])).tolist()
    [True, False]
    """
    if a.dtype == object or b.dtype == object or isinstance(a.dtype, pd.ArrowDtype):
        return pd.Series(
            [x == y if not (_missing(x) and _missing(y)) else True for x, y in zip(a, b)], index=a.index, dtype=bool
        )
    both_missing = a.isna() & b.isna()
    equal = (a == b).fillna(False).astype(bool)
    return equal | both_missing


def _map_key(name: str) -> str | None:
    """The key column of map table ``name`` (``"user"`` for ``"project.users"``); None for any other table."""
    model, field = split_table_name(name)
    spec = catalog.all_models().get(model)
    if spec is None or field is None or field not in spec.field_names:
        return None
    found = spec.field(field).map
    return found.key if found is not None else None


def _keyed(frames: LinkedFrames, name: str, key: str) -> pd.DataFrame:
    """Map table ``name`` indexed by ``"<parent id> <key>"``, values as plain Python (NA -> None)."""
    parent = parent_column(split_table_name(name)[0])
    table = frames.children.get(name)
    if table is None or not {parent, key} <= set(table.columns):
        return pd.DataFrame(index=pd.Index([], dtype=object, name=INDEX))
    rows = table.astype(object).where(table.notna(), None)
    rows.index = pd.Index([f"{p} {k}" for p, k in zip(rows.pop(parent), rows.pop(key))], dtype=object, name=INDEX)
    return rows


def _maps(frames: LinkedFrames, model: str) -> dict[str, dict[Any, dict[str, tuple]]]:
    """Each map field of ``model`` held here: parent id -> {key: the entry's values}."""
    out: dict[str, dict[Any, dict[str, tuple]]] = {}
    parent = parent_column(model)
    for name in frames.children:
        owner, field = split_table_name(name)
        key = _map_key(name)
        if owner != model or field is None or key is None or parent not in frames.children[name]:
            continue
        table = frames.children[name]
        rows = table.astype(object).where(table.notna(), None)
        per: dict[Any, dict[str, tuple]] = {}
        out[field] = per
        data = [c for c in rows.columns if c not in (parent, key)]
        for pid, k, *values in zip(rows[parent], rows[key], *(rows[c] for c in data)):
            per.setdefault(pid, {})[k] = tuple((c, v) for c, v in zip(data, values) if v is not None)  # as sent
    return out


def _with_links(frames: LinkedFrames, model: str) -> pd.DataFrame:
    """A model table with each to-many relation as a column of id lists (from the link tables), each map a dict."""
    table = frames.tables.get(model)
    if table is None:
        return pd.DataFrame(index=pd.Index([], dtype=object, name=INDEX))
    out = table.copy()
    for rel in frames.relations.values():
        if rel.kind != "many" or rel.model != model or rel.table not in frames.links:
            continue
        name, parent, child = rel.link
        link = frames.links[name].sort_values([parent, POSITION], kind="stable")
        lists = link.groupby(parent, sort=False)[child].agg(list)
        out[rel.field] = [lists.get(i, []) for i in out.index]
    for field, per in _maps(frames, model).items():
        out[field] = pd.Series([per.get(i, {}) for i in out.index], index=out.index, dtype=object)
    return out


def _column(table: pd.DataFrame, column: str, ids: pd.Index) -> pd.Series:
    """``table[column]`` at ``ids``; all missing where the table has no such column."""
    if column in table:
        return table[column].reindex(ids)
    return pd.Series(None, index=ids, dtype=object)


def _changed(before: pd.DataFrame, after: pd.DataFrame, common: pd.Index) -> dict[str, list[str]]:
    """For every record in ``common`` whose values differ: the columns that differ, in table order."""
    changed: dict[str, list[str]] = {}
    columns = list(before.columns) + [c for c in after.columns if c not in before.columns]
    for column in columns:
        left, right = _column(before, column, common), _column(after, column, common)
        if str(left.dtype) != str(right.dtype):
            left, right = left.astype(object), right.astype(object)
        for rid in common[~_same(left, right).to_numpy()]:
            changed.setdefault(str(rid), []).append(column)
    return dict(sorted(changed.items()))


def _model_diff(old: LinkedFrames, new: LinkedFrames, model: str) -> Changes | None:
    """What changed in ``model``'s table (or map table), or None if nothing did."""
    key = _map_key(model)  # None for a model table
    if key is not None:
        before, after = _keyed(old, model, key), _keyed(new, model, key)
    else:
        before, after = _with_links(old, model), _with_links(new, model)
    added = sorted(map(str, after.index.difference(before.index)))
    removed = sorted(map(str, before.index.difference(after.index)))
    changed = _changed(before, after, before.index.intersection(after.index))
    if added or removed or changed:
        return {"added": added, "removed": removed, "changed": changed}
    return None


def diff_snapshots(
    a: str | os.PathLike | LinkedFrames, b: str | os.PathLike | LinkedFrames, *, same_source: bool = True
) -> dict[str, Changes]:
    """What changed from snapshot ``a`` to snapshot ``b``, per model table.

    Parameters
    ----------
    a, b : str, Path or LinkedFrames
        Snapshot folders, or frames already read (e.g. a snapshot and a fresh read).
    same_source : bool
        Refuse (the default) two snapshots whose manifests name different servers
        or portals, where an id does not name the same record.

    Raises
    ------
    SnapshotError
        The two come from different servers or portals (with ``same_source``).

    Returns
    -------
    dict
        ``{model: {"added": [ids], "removed": [ids], "changed": {id: [columns]}}}``
        holding only models with a difference; map tables the same way under their
        names (``"project.users"``), their rows named ``"<parent id> <key>"``. A column
        present on one side only counts as changed for every record where the other
        side has a value.
        To-many relations compare through their link tables (a reordered list is a change).

    Examples
    --------
    >>> before = client.read_linked("project")
    >>> project = before["project"].index[0]
    >>> after = client.read_linked("project")
    >>> after.tables["project"].loc[project, "description"] = "Edited"
    >>> diff_snapshots(before, after)["project"]["changed"] == {project: ["description"]}
    True
    """
    old, new = _frames(a), _frames(b)
    if same_source:
        _check_same_source(old, new)
    out: dict[str, Changes] = {}
    maps = [n for n in dict.fromkeys([*old.children, *new.children]) if _map_key(n) is not None]
    for model in list(old.tables) + [m for m in new.tables if m not in old.tables] + maps:
        changes = _model_diff(old, new, model)
        if changes is not None:
            out[model] = changes
    return out
