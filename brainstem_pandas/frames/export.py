"""Tables -> CSV and JSON files other tools read: nested values as JSON, rich text also as plain text.

A CSV cell holding a list or an object is written as JSON text (``["a", "b"]``,
``{"k": 1}``), never as a Python repr, so ``json.loads`` reads it back. The
fields the catalog marks as rich text (descriptions, sent as HTML) keep their
HTML and gain a plain-text column beside them (``description_text``, named by
:func:`~brainstem_pandas.frames.layout.text_column`); :func:`plain_text` gives
the same text for any column.

Examples
--------
>>> frame = pd.DataFrame({"tags": [["a", "b"]], "description": ["<p>Rats &amp; mice</p>"]})
>>> print(export_csv(frame, "session"), end="")
tags,description,description_text
"[""a"", ""b""]",<p>Rats &amp; mice</p>,Rats & mice
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from datetime import date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from brainstem_pandas import catalog
from brainstem_pandas.errors import UnknownNameError
from brainstem_pandas.frames.arrow import deep_json
from brainstem_pandas.frames.layout import INDEX, text_column

# Tags that end a line of text, and those whose content is never text (html.parser
# reads script and style content as raw data, so markup inside them cannot leak out).
_BLOCKS = frozenset(
    "address article aside blockquote dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6 header hr li "
    "main nav ol p pre section table tbody td th thead tr ul".split()
)
_HIDDEN = frozenset({"script", "style", "template", "noscript", "head", "title"})
_SPACES = re.compile(r"\s+")
_CUT = re.compile(r"<[!/?A-Za-z]")  # what html.parser leaves unparsed after feed() starts like this when cut off


class _Text(HTMLParser):
    """Collects an HTML fragment's text: entities decoded, hidden elements dropped, blocks and ``<br>`` as line ends."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag == "br" or tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(_SPACES.sub(" ", data))  # as a browser shows it: runs of white space as one

    def text(self) -> str:
        lines = (" ".join(line.split()) for line in "".join(self.parts).split("\n"))
        return "\n".join(line for line in lines if line)


def html_text(markup: str) -> str:
    """The text a reader sees in an HTML fragment, one line per paragraph, block or ``<br>``.

    Entities are decoded (``&amp;`` -> ``&``), ``<script>``, ``<style>`` and the like
    are dropped with their content, unclosed tags end with the text.

    Examples
    --------
    >>> html_text("<p>First &amp; <b>bold</b></p><p>Second<br>line</p><script>alert(1)</script>")
    'First & bold\\nSecond\\nline'
    """
    parser = _Text()
    parser.feed(markup)
    if _CUT.match(parser.rawdata):  # a tag or comment cut off by the end: a browser shows none of it
        parser.rawdata = ""
    parser.close()
    return parser.text()


def plain_text(values: Any) -> Any:
    """Rich text (HTML) as plain text: a Series gives a ``string`` Series, one text gives a text.

    Missing values stay missing; anything else that is not text is read as its ``str``.

    Examples
    --------
    >>> plain_text(pd.Series(["<p>a &lt; b</p>", None], index=["s1", "s2"])).tolist()
    ['a < b', <NA>]
    >>> plain_text("Line<br/>break")
    'Line\\nbreak'
    """
    if isinstance(values, pd.Series):
        texts = [None if _missing(v) else html_text(v if isinstance(v, str) else str(v)) for v in values]
        return pd.Series(texts, index=values.index, name=values.name, dtype="string")
    if _missing(values):
        return values
    return html_text(values if isinstance(values, str) else str(values))


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, (list, dict, tuple, np.ndarray)) and bool(pd.isna(value)))


def _plain(value: Any) -> Any:
    """A cell as JSON-ready Python: arrays as lists, NumPy scalars as numbers, NA as None."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return None if _missing(value) else value


def json_cell(value: Any) -> Any:
    """A nested cell (list, object, array) as JSON text; any other value as it is.

    Examples
    --------
    >>> json_cell({"k": [1, np.int64(2)]}), json_cell(np.array(["a", "b"])), json_cell(3)
    ('{"k": [1, 2]}', '["a", "b"]', 3)
    """
    if not isinstance(value, (list, tuple, Mapping, np.ndarray)):
        return value
    plain = _plain(value)
    try:
        return json.dumps(plain, ensure_ascii=False, default=str)
    except RecursionError:  # deeper than the stack allows
        return deep_json(plain)


def _nested(column: pd.Series) -> bool:
    dtype = column.dtype
    if isinstance(dtype, pd.ArrowDtype):
        return pa.types.is_nested(dtype.pyarrow_dtype)
    return dtype == np.dtype(object)


def _rich_text(model: str | None) -> list[str]:
    """The rich-text fields of ``model`` (any spelling the catalog knows); none for another table."""
    try:
        return catalog.model(model).rich_text if model else []
    except UnknownNameError:
        return []


def export_frame(frame: pd.DataFrame, model: str | None = None, *, nested_as_json: bool = True) -> pd.DataFrame:
    """``frame`` ready for a text file: nested cells as JSON text, rich-text fields with a plain-text column.

    ``model`` (a catalog name) says which columns are rich text; none are for
    another table. With ``nested_as_json=False`` nested cells stay Python values
    (for a JSON file, where they are written as JSON arrays and objects).

    Examples
    --------
    >>> export_frame(pd.DataFrame({"description": ["<p>Hi</p>"]}), "project").columns.tolist()
    ['description', 'description_text']
    """
    out = frame.copy()
    if nested_as_json:
        for name in [c for c in out.columns if _nested(out[c])]:
            out[name] = pd.Series([json_cell(v) for v in out[name]], index=out.index, dtype=object)
    for name in _rich_text(model):
        if name in out.columns and text_column(name) not in out.columns:
            out.insert(list(out.columns).index(name) + 1, text_column(name), plain_text(frame[name]))
    return out


def export_csv(frame: pd.DataFrame, model: str | None = None) -> str:
    """``frame`` as CSV text (see :func:`export_frame`); the index is written when it is named (``id``)."""
    return export_frame(frame, model).to_csv(index=frame.index.name is not None)


def export_json(frame: pd.DataFrame, model: str | None = None) -> str:
    """``frame`` as a JSON list of records: nested values as JSON arrays and objects, ``id`` first.

    Examples
    --------
    >>> json.loads(export_json(pd.DataFrame({"tags": [["a"]]}, index=pd.Index(["s1"], name="id"))))
    [{'id': 's1', 'tags': ['a']}]
    """
    out = export_frame(frame, model, nested_as_json=False)
    for name in [c for c in out.columns if _nested(out[c])]:
        out[name] = pd.Series([_plain(v) for v in out[name]], index=out.index, dtype=object)
    flat = out.reset_index() if frame.index.name == INDEX else out
    return flat.to_json(orient="records", date_format="iso", indent=1) + "\n"


def write_tables(tables: Mapping[str, pd.DataFrame], folder: str | os.PathLike, fmt: str = "csv") -> list[Path]:
    """Write every table as ``<folder>/<name>.csv`` (or ``.json``); return the paths, in table order.

    Model tables (named like their model) get the rich-text columns of their model.
    """
    out = Path(folder).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    write = export_json if fmt == "json" else export_csv
    paths = []
    for name, frame in tables.items():
        path = out / f"{name}.{'json' if fmt == 'json' else 'csv'}"
        path.write_text(write(frame, name), encoding="utf-8")
        paths.append(path)
    return paths
