"""PostgreSQL's rules for text and JSON filters and for sorting lists, on Arrow arrays.

The BrainSTEM service runs Django on PostgreSQL; these are its answers (the rules
themselves are in :mod:`brainstem_pandas.semantics`), for the offline engine:

- ``contains``, ``startswith``, ``endswith`` are case-sensitive ``LIKE``;
- ``iexact``, ``icontains``, ``istartswith``, ``iendswith`` compare ``UPPER()`` of
  both sides, which folds every Unicode letter one character at a time;
- on a list (``tags``), ``contains`` is ``jsonb @>``: the list holds the value
  exactly, and ``icontains`` is a substring of the list's JSON text;
- lists sort as ``jsonb`` sorts: the empty list first, then by length, then
  element by element.

Examples
--------
>>> like(pa.array(["Ärger", "ärger", "ARGER"]), "icontains", "ärg").to_pylist()
[True, True, False]
>>> list_mask([["pilot"], ["Pilot"], [], None], "contains", "pilot").tolist()
[True, False, False, False]
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from brainstem_pandas.semantics import json_contains, jsonb_sort_key, jsonb_text, pg_upper

__all__ = ["like", "list_mask", "list_ranks", "upper"]


def upper(array: pa.Array) -> pa.Array:
    """``UPPER()`` of each text of ``array`` (NULL stays NULL).

    Examples
    --------
    >>> upper(pa.array(["straße", None, "ǆ"])).to_pylist()
    ['STRAßE', None, 'Ǆ']
    """
    return pa.array([None if v is None else pg_upper(v) for v in array.to_pylist()], type=pa.string())


def like(array: pa.Array, operator: str, value: str) -> pa.Array:
    """Where text ``array`` passes ``operator`` (``contains``, ``istartswith``, ...) with ``value``.

    Examples
    --------
    >>> like(pa.array(["Zebra", "zebra"]), "contains", "zeb").to_pylist()
    [False, True]
    >>> like(pa.array(["ß", "SS", "ẞ"]), "iexact", "ß").to_pylist()
    [True, False, False]
    """
    if operator.startswith("i"):
        array, value = upper(array), pg_upper(value)
    else:
        array = array.cast(pa.string())
    base = operator.removeprefix("i")
    if base == "exact":
        return pc.equal(array, pa.scalar(value, type=pa.string()))
    if base == "contains":
        return pc.match_substring(array, value)
    if base == "startswith":
        return pc.starts_with(array, value)
    return pc.ends_with(array, value)


def list_mask(values: Sequence[Any], operator: str, value: str) -> np.ndarray:
    """Where each list passes ``contains`` (holds ``value``) or ``icontains`` (its JSON text holds it).

    Examples
    --------
    >>> list_mask([["a", "b"], ["ab"]], "icontains", 'A", "B').tolist()
    [True, False]
    """
    if operator == "contains":
        return np.array([v is not None and json_contains(v, value) for v in values], dtype=bool)
    needle = pg_upper(value)
    return np.array([v is not None and needle in pg_upper(jsonb_text(v)) for v in values], dtype=bool)


def list_ranks(values: Sequence[Any]) -> np.ndarray:
    """Dense ranks of lists in ``jsonb`` order; NaN for NULL.

    Examples
    --------
    >>> list_ranks([["b"], None, ["a", "c"], []]).tolist()
    [1.0, nan, 2.0, 0.0]
    """
    keys = [None if v is None else jsonb_sort_key(list(v)) for v in values]
    order = {key: i for i, key in enumerate(sorted({k for k in keys if k is not None}))}
    return np.array([np.nan if k is None else float(order[k]) for k in keys])
