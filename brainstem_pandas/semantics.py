"""PostgreSQL's comparison rules, as the BrainSTEM server (Django on PostgreSQL) applies them.

The offline engine follows these rules, and the sandbox's SQLite mode uses them
where SQLite would answer otherwise (JSON containment). They assume the database
the sandbox's PostgreSQL mode creates: encoding UTF-8, collation and character
type ``C.UTF-8`` (deterministic):

- text compares and sorts by code point (Python's own ``str`` order);
- ``UPPER()`` maps one character at a time (glibc's ``towupper``): a letter whose
  uppercase is several letters (``ß``) stays as it is, see :func:`pg_upper`;
- ``jsonb @>`` is containment, see :func:`json_contains`; ``jsonb`` values sort
  by :func:`jsonb_sort_key`, and text filters on them (``icontains``) search the
  text :func:`jsonb_text` writes.

Examples
--------
>>> pg_upper("straße élan ǆ")
'STRAßE ÉLAN Ǆ'
>>> json_contains(["pilot", "rat"], "pilot"), json_contains(["pilot"], ["pilot", "rat"])
(True, False)
"""

from __future__ import annotations

import json
import struct
from functools import lru_cache
from typing import Any

__all__ = ["json_contains", "jsonb_sort_key", "jsonb_sort_text", "jsonb_text", "pg_upper"]


@lru_cache(maxsize=4096)
def _upper_char(ch: str) -> str:
    # towupper is a one-to-one map: take the full mapping when it is one character,
    # else the titlecase one (Greek letters with ypogegrammeni), else the letter itself.
    for mapped in (ch.upper(), ch.title()):
        if len(mapped) == 1:
            return mapped
    return ch


def pg_upper(text: str) -> str:
    """``UPPER(text)`` of PostgreSQL in a ``C.UTF-8`` database.

    Examples
    --------
    >>> pg_upper("Ärger ß ᾀ"), pg_upper("ﬁ")
    ('ÄRGER ß ᾈ', 'ﬁ')
    """
    if text.isascii():
        return text.upper()
    return "".join(_upper_char(ch) for ch in text)


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "null" if value is None else "string"


def _contains(doc: Any, wanted: Any) -> bool:
    kind = _kind(doc)
    if kind != _kind(wanted):
        return False
    if kind == "object":
        return all(key in doc and _contains(doc[key], value) for key, value in wanted.items())
    if kind == "array":
        return all(any(_contains(item, part) for item in doc) for part in wanted)
    return bool(doc == wanted)


def json_contains(doc: Any, wanted: Any) -> bool:
    """``doc @> wanted`` on ``jsonb``: every part of ``wanted`` is somewhere in ``doc`` at the same place.

    Objects contain objects whose keys they hold with contained values; arrays
    contain arrays whose every element some element of theirs contains (order and
    repeats do not matter); scalars contain only equal scalars of the same type. As
    the one exception, a top-level array contains a bare scalar it holds: this is
    what ``filter{tags.contains}=pilot`` asks.

    Examples
    --------
    >>> json_contains({"a": 1, "b": [1, 2]}, {"b": [2]}), json_contains({"a": [1, 2]}, {"a": 1})
    (True, False)
    >>> json_contains([1, [2, 3]], [3]), json_contains([True], 1), json_contains("pilot", ["pilot"])
    (False, False, False)
    """
    if isinstance(doc, list) and _kind(wanted) not in ("object", "array"):
        return any(_contains(item, wanted) for item in doc)
    return _contains(doc, wanted)


_KIND_ORDER = {"null": 0, "string": 1, "number": 2, "boolean": 3, "array": 4, "object": 5}


def jsonb_sort_key(value: Any, top: bool = True) -> tuple:
    """A key that sorts JSON values as PostgreSQL sorts ``jsonb`` (not SQL NULL: that sorts apart).

    Object > array > boolean > number > string > null; longer arrays and objects
    after shorter ones, equal lengths element by element (objects by their keys in
    storage order: shorter keys first), and an empty top-level array first of all.

    Examples
    --------
    >>> sorted([["a", "c"], ["z"], [], ["b"]], key=jsonb_sort_key)
    [[], ['b'], ['z'], ['a', 'c']]
    """
    kind = _kind(value)
    if top and kind == "array" and not value:
        return (-1,)
    if kind == "array":
        return (_KIND_ORDER[kind], len(value), tuple(jsonb_sort_key(v, False) for v in value))
    if kind == "object":
        keys = sorted(value, key=_key_order)
        pairs = tuple(((1, k), jsonb_sort_key(value[k], False)) for k in keys)
        return (_KIND_ORDER[kind], len(value), pairs)
    if kind == "null":
        return (0,)
    return (_KIND_ORDER[kind], value)


def _key_order(key: str) -> tuple[int, bytes]:
    # jsonb stores object keys shorter first, then by their bytes.
    return (len(key.encode()), key.encode())


def jsonb_text(value: Any) -> str:
    """``value::text`` of a ``jsonb`` value: keys in storage order, ``", "`` and ``": "``, no ``\\u`` escapes.

    Examples
    --------
    >>> jsonb_text({"bb": 1, "a": ["Ärger", None]})
    '{"a": ["Ärger", null], "bb": 1}'
    """
    if isinstance(value, dict):
        keys = sorted(value, key=_key_order)
        return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)}: {jsonb_text(value[k])}" for k in keys) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(jsonb_text(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _number_text(value: float) -> str:
    # IEEE 754 bits made to sort as the numbers do: flip all bits of negatives, the sign bit of others.
    bits = int.from_bytes(struct.pack(">d", float(value) + 0.0), "big")
    return f"{bits ^ 0xFFFFFFFFFFFFFFFF if bits >> 63 else bits | 1 << 63:016x}"


def _sort_text(value: Any) -> str:
    kind = _kind(value)
    if kind == "null":
        return "1"
    if kind == "string":
        return "2" + value + "\x00"  # jsonb text holds no NUL: the end mark sorts first
    if kind == "number":
        return "3" + _number_text(value)
    if kind == "boolean":
        return "4" + ("1" if value else "0")
    if kind == "array":
        return f"5{len(value):09d}" + "".join(_sort_text(v) for v in value)
    keys = sorted(value, key=_key_order)
    return f"6{len(value):09d}" + "".join("2" + k + "\x00" + _sort_text(value[k]) for k in keys)


def jsonb_sort_text(value: Any) -> str:
    """A text whose code point order is :func:`jsonb_sort_key`'s order (for SQL ``ORDER BY`` on text).

    Every part has a fixed width or an end mark, so comparing two texts compares the
    values part by part as ``jsonb`` does (numbers as IEEE doubles).

    Examples
    --------
    >>> values = [{"a": 1}, ["a", "c"], [], -2.5, 10, "b", None, True, ["z"]]
    >>> sorted(values, key=jsonb_sort_text) == sorted(values, key=jsonb_sort_key)
    True
    """
    return "0" if value == [] else _sort_text(value)
