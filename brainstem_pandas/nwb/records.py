"""Reading single records out of :class:`~brainstem_pandas.frames.LinkedFrames`, for the NWB mapping.

:class:`Lookup` answers the three questions the mapping asks of the frames, each
in constant time after one pass over a table: one record by id, the ids a
to-many relation lists (in the server's order), and the records whose to-one
field points at an id. Values come back as plain Python (``None`` for anything
missing), and JSON objects (``project.users``) whether they were kept whole or
expanded into ``field.key`` columns.

Examples
--------
>>> from brainstem_pandas.frames import FrameBuilder
>>> builder = FrameBuilder("session")
>>> builder.add_records("session", [{"id": "s1", "name": "a", "projects": ["p2", "p1"], "tags": []}])
>>> look = Lookup(builder.finish())
>>> look.row("session", "s1")["name"], look.linked("session", "projects", "s1"), look.row("session", "nope")
('a', ['p2', 'p1'], None)
>>> plain_text("<p>Place cells &amp; <b>theta</b>.</p><p>Second.</p>")
'Place cells & theta.\\nSecond.'
"""

from __future__ import annotations

import json
from collections import defaultdict
from html.parser import HTMLParser
from typing import Any

import pandas as pd

from brainstem_pandas.frames import LinkedFrames
from brainstem_pandas.frames.layout import POSITION, link_target_of, parent_column, split_column, table_name

#: Tags after which rich text (BrainSTEM's descriptions are HTML) starts a new line.
_BLOCKS = {"p", "br", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"}


def scalar(value: Any) -> Any:
    """``value`` as plain Python, ``None`` for every kind of missing (NA, NaN, NaT).

    Examples
    --------
    >>> scalar(pd.NA), scalar(float("nan")), scalar("x"), scalar([1])
    (None, None, 'x', [1])
    """
    if isinstance(value, (list, tuple, dict)):
        return value
    if hasattr(value, "tolist") and not isinstance(value, (pd.Timestamp, str)):
        return value.tolist()  # numpy arrays and scalars
    try:
        return None if pd.isna(value) else value
    except (TypeError, ValueError):
        return value


def text(value: Any) -> str:
    """A text field as a stripped string ('' when missing).

    Examples
    --------
    >>> text(None), text("  a ")
    ('', 'a')
    """
    value = scalar(value)
    return "" if value is None else str(value).strip()


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(value: Any) -> str:
    """Rich text (HTML) as plain text: tags dropped, entities decoded, one line per paragraph.

    The standard library's HTML parser is enough here: nothing is rendered, only text is kept.

    Examples
    --------
    >>> plain_text("no markup"), plain_text(None)
    ('no markup', '')
    """
    parser = _TextOnly()
    parser.feed(text(value))
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def json_object(row: dict[str, Any], field: str) -> dict[str, Any]:
    """The JSON object in ``row[field]``: kept whole, as JSON text, or expanded into ``field.key`` columns.

    Examples
    --------
    >>> json_object({"users.a@x.org": '{"is_owner": true}', "users.b@x.org": None}, "users")
    {'a@x.org': {'is_owner': True}}
    >>> json_object({"users": {"a@x.org": {}}}, "users"), json_object({}, "users")
    ({'a@x.org': {}}, {})
    """
    whole = _decoded(scalar(row.get(field)))
    if isinstance(whole, dict):
        return whole
    out = {}
    for column, value in row.items():
        name, key = split_column(column)
        if name == field and key is not None and (value := _decoded(scalar(value))) is not None:
            out[key] = value
    return out


def _decoded(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class Lookup:
    """Records, to-many links and to-one referrers of one :class:`LinkedFrames`, indexed on first use."""

    def __init__(self, frames: LinkedFrames) -> None:
        self.frames = frames
        self._links: dict[str, dict[Any, list[Any]]] = {}
        self._referrers: dict[tuple[str, str], dict[Any, list[Any]]] = {}

    def has(self, model: str) -> bool:
        """Whether the frames hold ``model``'s table."""
        return model in self.frames.tables

    def row(self, model: str, id: Any) -> dict[str, Any] | None:
        """Record ``id`` of ``model`` as a dict of plain values, or None when the frames do not hold it."""
        frame = self.frames.tables.get(model)
        if frame is None or id is None:
            return None
        try:
            if id not in frame.index:
                return None
        except TypeError:  # an unhashable id
            return None
        found = frame.loc[id]
        if isinstance(found, pd.DataFrame):  # an id twice: the first one, as reads keep it
            found = found.iloc[0]
        return {name: scalar(value) for name, value in found.items()}

    def linked(self, model: str, field: str, id: Any) -> list[Any]:
        """The ids ``model``'s to-many ``field`` lists for record ``id``, in the order the server gave them."""
        name = table_name(model, field)
        if name not in self._links:
            self._links[name] = self._index_link(name, model)
        return list(self._links[name].get(id, []))

    def _index_link(self, name: str, model: str) -> dict[Any, list[Any]]:
        link = self.frames.links.get(name)
        parent = parent_column(model)
        if link is None or parent not in link:
            return {}
        child = link_target_of(model, link.columns)
        out: dict[Any, list[Any]] = defaultdict(list)
        for owner, target in link.sort_values([parent, POSITION], kind="stable")[[parent, child]].itertuples(
            index=False
        ):
            if scalar(target) is not None and target not in out[owner]:
                out[owner].append(target)
        return out

    def referrers(self, model: str, field: str, id: Any) -> list[Any]:
        """The ids of ``model``'s records whose to-one ``field`` is ``id`` (equipment of a setup), in id order."""
        key = (model, field)
        if key not in self._referrers:
            frame = self.frames.tables.get(model)
            index: dict[Any, list[Any]] = defaultdict(list)
            if frame is not None and field in frame:
                for rid, target in frame[field].sort_index().items():
                    if scalar(target) is not None:
                        index[target].append(rid)
            self._referrers[key] = index
        return list(self._referrers[key].get(id, []))
