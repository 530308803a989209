"""Answer BrainSTEM list queries offline, from :class:`~brainstem_pandas.frames.LinkedFrames`.

:class:`OfflineSource` answers list queries on a snapshot's tables as the server
the snapshot came from would: a :class:`~brainstem_pandas.query.Query` (filters,
sort and include checked once, exactly as online) is evaluated by
:mod:`~brainstem_pandas.offline.engine` (the server's filter and sort semantics,
vectorised with pandas and Arrow) on the records :mod:`~brainstem_pandas.offline.records`
rebuilds from the tables. It yields the same :class:`~brainstem_pandas.pagination.Page`
objects as an online walk, so the code that turns pages into frames
(``records_frame``, ``FrameBuilder``) serves both.

- include: each page's ``related`` holds, under the target's list key, the records
  reachable from the page (no repeats; ``"+<list key>"`` for records of the primary
  model, without the page's own), and an included to-one relation to a record the
  user may not see is ``None``, as the server renders it.
- :meth:`OfflineSource.record` embeds related records inline, as ``client.get`` does.

A snapshot holds only what its user could list, but records may name related
records it lacks (e.g. another lab's setup). Such a record matches id filters;
its values are unknown, so it is treated as existing and not NULL (it passes
``isnull=False`` and fails every other value filter) and sorts as NULL. Filters
and sorts on its values may therefore differ from the server's answer.
"""

from __future__ import annotations

import uuid
from typing import Any, Iterable, Iterator, Mapping

import numpy as np

from brainstem_pandas import catalog, query
from brainstem_pandas.errors import ConfigurationError, SnapshotError
from brainstem_pandas.frames import LinkedFrames
from brainstem_pandas.offline import engine
from brainstem_pandas.offline.records import Shape, Tables
from brainstem_pandas.pagination import OffsetPaginator, Page

DEFAULT_PAGE_SIZE = 100

_Path = tuple[str, ...]


def _leaves(checked: query.Query) -> list[engine.Leaf]:
    """The engine's filters of a query the catalog has already checked (so resolving cannot fail)."""
    spec = checked.spec
    return [engine.leaf(query.resolve(spec, key), value, key) for key, value in checked.filters.items()]


def _names(value: Iterable[str] | str | None) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value or ())


def _params(checked: query.Query, name: str) -> list[str]:
    return [value for key, value in checked.params if key == name]


def _include_paths(checked: query.Query) -> list[_Path]:
    # The checked include[] parameters read "a.b.*".
    return [tuple(value.removesuffix(".*").split(".")) for value in _params(checked, "include[]")]


def _record_id(spec: catalog.Model, id: Any) -> Any:
    """An id as the tables hold it: an int for users and groups, a canonical UUID otherwise."""
    if spec.id_type == "integer":
        try:
            return int(id)
        except (TypeError, ValueError):
            return id
    try:
        return str(uuid.UUID(str(id)))
    except ValueError:
        return id


def _tree(paths: Iterable[Iterable[str]]) -> dict:
    """Include paths as a tree: ``["a.b", "a.c"]`` -> ``{"a": {"b": {}, "c": {}}}``."""
    tree: dict = {}
    for path in paths:
        node = tree
        for name in path:
            node = node.setdefault(name, {})
    return tree


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
    >>> from brainstem_pandas.frames import records_frame
    >>> source = OfflineSource(client.read_linked("session"))
    >>> source
    <OfflineSource: 1 models, 1 tables>
    >>> wanted = dict(filters={"name.icontains": "mm"}, sort=["-date_time"])
    >>> records = source.select("session", **wanted)
    >>> records_frame("session", records).index.equals(client.read("session", **wanted).index)
    True
    """

    def __init__(self, frames: LinkedFrames, walked: Iterable[str] | None = None) -> None:
        self.frames = frames
        self.tables = Tables(frames)
        known = catalog.all_models()
        names = [n for n in frames.tables if n in known] if walked is None else [catalog.model(n).name for n in walked]
        self._walked = list(dict.fromkeys(names))
        self._records: dict[str, list[dict]] = {}

    def __repr__(self) -> str:
        return f"<OfflineSource: {len(self._walked)} models, {len(self.frames.tables)} tables>"

    @property
    def models(self) -> list[str]:
        """Models whose full list the frames hold (those that can be listed).

        Examples
        --------
        >>> lf = client.read_linked("session", include=["projects"])
        >>> OfflineSource(lf).models, OfflineSource(lf, walked=["session"]).models
        (['session', 'project'], ['session'])
        """
        return list(self._walked)

    # -- public queries ------------------------------------------------------------------
    def records(self, model: str) -> list[dict]:
        """Every record of a model's table, API-shaped, in table order (built once, then cached).

        The dicts are shared between calls: treat them as read-only.

        Examples
        --------
        >>> source = OfflineSource(client.read_linked("project"))
        >>> isinstance(source.records("project")[0]["sessions"], list)
        True
        """
        if model not in self.frames.tables and model not in catalog.all_models():
            model = catalog.model(model).name  # aliases; an unknown name raises with suggestions
        name = self.tables.name(model)
        if name not in self._records:
            self._records[name] = self.tables.shape(name).rows()
        return list(self._records[name])

    def select(
        self,
        model: str | query.Query,
        filters: Mapping[str, Any] | None = None,
        sort: Iterable[str] | str | None = None,
    ) -> list[dict]:
        """The records of ``model`` that pass ``filters``, in ``sort`` order (``id`` last).

        ``model`` may be a :class:`~brainstem_pandas.query.Query` (already checked),
        in place of ``model``, ``filters`` and ``sort``.

        Raises
        ------
        QueryError
            For a filter or sort the online client rejects (same message) or a value
            the server cannot read (e.g. a malformed UUID).
        SnapshotError
            When the model was not walked or a table the query needs is missing.

        Examples
        --------
        >>> source = OfflineSource(client.read_linked("project"))
        >>> names = [r["name"] for r in source.select("project", {"name.icontains": "grid"}, ["-name"])]
        >>> names == sorted(names, reverse=True) and all("grid" in n.lower() for n in names)
        True
        """
        checked = self._query(model, filters, sort)
        return self.tables.shape(checked.model).rows(self._positions(checked))

    def pages(
        self,
        model: str | query.Query,
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
        ``model`` may be a :class:`~brainstem_pandas.query.Query` (already checked), in
        place of ``model``, ``filters``, ``sort`` and ``include``.

        Examples
        --------
        >>> source = OfflineSource(client.read_linked("session", include=["behaviors.setup"]))
        >>> pages = list(source.pages("session", include=["behaviors.setup"]))
        >>> pages[0].number, len(pages[0].records), sorted(pages[0].related)
        (0, 100, ['behaviors', 'setups'])
        >>> [len(p.records) for p in pages[1:-1]] == [99] * (len(pages) - 2)  # the seam record is not repeated
        True
        >>> sum(len(p.records) for p in pages) == pages[0].total == len(source.records("session"))
        True
        """
        if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
            raise ConfigurationError(f"page_size must be a positive integer, not {page_size!r}.")
        pager = OffsetPaginator(page_size)
        checked = self._query(model, filters, sort, include)
        paths = _include_paths(checked)
        for path in paths:
            self._check_include(checked.model, path)
        return self._walk(checked.model, self._positions(checked), paths, pager)

    def record(self, model: str, id: Any, include: Iterable[str] | str | None = None) -> dict:
        """One record by id; ``include`` embeds related records inline, as ``client.get`` does.

        Raises
        ------
        SnapshotError
            When the snapshot holds no such record (or no table of the model).

        Examples
        --------
        >>> source = OfflineSource(client.read_linked("behavior", include=["session.projects"]))
        >>> bid = source.records("behavior")[0]["id"]
        >>> record = source.record("behavior", bid, include=["session.projects"])
        >>> record["id"] == bid, type(record["session"]["projects"][0]["name"])
        (True, <class 'str'>)
        """
        spec = catalog.model(model)
        paths = [value[:-2].split(".") for _, value in query.include_params(spec, include)]
        shape = self.tables.shape(self.tables.name(spec.name))
        key = _record_id(spec, id)
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
        tree = _tree(paths)
        return self._embed(spec.name, out, tree) if tree else out

    # -- checks ------------------------------------------------------------------------------
    def _query(
        self,
        model: str | query.Query,
        filters: Mapping[str, Any] | None,
        sort: Iterable[str] | str | None,
        include: Iterable[str] | str | None = None,
    ) -> query.Query:
        """The query, checked once: the model must be listable, then the catalog checks the rest."""
        if isinstance(model, query.Query):
            if filters is not None or sort is not None or include is not None:
                raise ConfigurationError("Pass a Query alone, or a model name with filters, sort and include.")
            self._listable(model.model)
            return model
        spec = self._listable(model)
        return query.Query(spec.name, filters=filters or {}, sort=_names(sort), include=_names(include))

    def _listable(self, model: str) -> catalog.Model:
        spec = catalog.model(model)
        if spec.name not in self._walked:
            held = len(self.frames.tables.get(spec.name, ()))
            raise SnapshotError(
                f"This snapshot cannot list {spec.name}: it holds only the {held} {spec.name} record(s) related "
                f"to other models, not the full list. Take a snapshot of {spec.name!r} itself to list or filter it."
            )
        self.tables.name(spec.name)
        return spec

    def _check_include(self, model: str, path: _Path) -> None:
        """Fail before the first page when an include reaches a table the snapshot lacks."""
        for name in path:
            model = catalog.model(model).field(name).related_model or name
            self.tables.name(model, f"Including {'.'.join(path)}")

    # -- filter and sort ---------------------------------------------------------------------
    def _positions(self, checked: query.Query) -> np.ndarray:
        """Table positions of the matching records, in sort order."""
        model, leaves = checked.model, _leaves(checked)
        table = self.tables.table(model, f"Listing {model}")
        everything = np.arange(len(table))
        chosen = np.flatnonzero(engine.match(self.tables, model, table.index, leaves)) if leaves else everything
        ids = table.index if len(chosen) == len(table) else table.index[chosen]
        return chosen[engine.sort_order(self.tables, model, ids, _params(checked, "sort[]"))]

    # -- pages and includes ------------------------------------------------------------------
    def _walk(self, model: str, positions: np.ndarray, paths: list[_Path], pager: OffsetPaginator) -> Iterator[Page]:
        shape, total, size = self.tables.shape(model), len(positions), pager.page_size
        if total == 0:
            yield Page(number=0, records=[], related={}, total=0, raw_count=0)
            return
        # The same overlapping pages as online; the seam record is dropped as the walk's check drops it.
        for number, start in enumerate(pager.offsets(total)):
            records = shape.rows(positions[start : start + size].tolist())
            related = self._related(model, records, paths) if paths else {}
            shared = pager.overlap if number else 0
            yield Page(number=number, records=records[shared:], related=related, total=total, raw_count=len(records))

    def _related(self, model: str, records: list[dict], paths: list[_Path]) -> dict[str, list[dict]]:
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
                why = f"Including {'.'.join(path)}"
                shape = self.tables.shape(self.tables.name(target, why))
                related = _reached_ids(rows, field, shape)
                # dynamic-rest lists records of the primary model under "+<list key>", without
                # repeating the page's own records.
                key = self.tables.list_key(target, why)
                bucket = found.setdefault(f"+{key}" if target == model else key, {})
                own = page if target == model else {}
                rows = _collect(related, shape, bucket, own)
                current = target
        return {key: list(bucket.values()) for key, bucket in found.items() if bucket}

    def _embed(self, model: str, record: dict, tree: dict) -> dict:
        # client.get with include (sideloading=false) nests related records inline.
        out = dict(record)
        spec = catalog.all_models().get(model)
        for name, sub in tree.items():
            field = spec.field(name) if spec else None
            if field is None or not field.is_relation:
                continue
            target = field.related_model or name
            shape = self.tables.shape(self.tables.name(target, f"Including {model}.{name}"))
            ids = out.get(name) if field.many else [out.get(name)]
            found = [
                self._embed(target, shape.rows([shape.position[i]])[0], sub) for i in ids or [] if i in shape.position
            ]
            # A related record the user may not see (not in the snapshot) is rendered as null.
            out[name] = found if field.many else (found[0] if found else None)
        return out


def _reached_ids(rows: Mapping[Any, dict], field: catalog.Field, shape: Shape) -> list:
    """The ids ``rows`` name through ``field``, in the API's order; unseen to-one records become None in ``rows``."""
    # The records' own id lists are in the API's order: no table lookups per page.
    related: list = []
    for row in rows.values():
        value = row.get(field.name)
        if field.many:
            related.extend(value or ())
        elif value is not None and value not in shape.position:
            row[field.name] = None
        elif value is not None:
            related.append(value)
    return related


def _collect(ids: list, shape: Shape, bucket: dict[Any, dict], own: Mapping[Any, dict]) -> dict[Any, dict]:
    """The records of ``ids`` the snapshot holds, once each: ``own`` ones as they are, others added to ``bucket``."""
    reached: dict[Any, dict] = {}
    for i in dict.fromkeys(ids):
        if i not in shape.position:
            continue
        if i in own:
            reached[i] = own[i]
            continue
        if i not in bucket:
            bucket[i] = shape.rows([shape.position[i]])[0]
        reached[i] = bucket[i]
    return reached


__all__ = ["DEFAULT_PAGE_SIZE", "OfflineSource"]
