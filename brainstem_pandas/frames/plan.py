"""How a column's chunks become one typed column: :class:`Plan` and :func:`plan_column`.

A column is built from chunks (a batch of records each) whose Arrow types may
differ: a page of nulls, integers on one page and floats on the next, a date
that is text after all. A plan is decided from the chunks' types alone, so a
streaming writer can fix a table's schema before converting any chunk.

Examples
--------
>>> plan = plan_column([pa.int64(), pa.float64()], None, "thing.n")
>>> plan.target, plan.apply(pa.array([1]), 1).to_pylist()
(DataType(double), [1.0])
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa

from brainstem_pandas.frames.arrow import TypeConflictWarning, json_text, to_text, warn_text
from brainstem_pandas.frames.dtypes import castable, pandas_dtype

__all__ = ["CastFailed", "Plan", "TypeConflictWarning", "plan_column"]


class CastFailed(Exception):
    """A chunk of ``column`` does not fit the type planned from the chunks' types."""

    def __init__(self, column: str) -> None:
        super().__init__(column)
        self.column = column


@dataclass(frozen=True)
class Plan:
    """How every chunk of one column becomes the finished column's type.

    Decided from the chunks' Arrow types alone (no data), so a streaming writer
    can fix a table's schema before converting its chunks one at a time. Only a
    cast from text (e.g. to timestamps) can still fail on the data; then
    :meth:`fallback` turns the column into text, as an in-memory build does.
    """

    label: str
    unify: str  # how chunks of different types meet: "keep", "float", "text" or "json"
    kind: pa.DataType  # the type after unifying
    declare: str  # how the unified type meets the declared one: "keep", "cast" or "text"
    target: pa.DataType  # the finished column's type

    def _unified(self, array: pa.Array) -> pa.Array:
        if self.unify == "float":
            try:
                return array.cast(self.kind)
            except pa.ArrowInvalid:  # an integer beyond 2**53, which no float holds exactly
                raise CastFailed(self.label) from None
        if self.unify == "text":
            return to_text(array)
        if self.unify == "json":
            return json_text(array)
        if array.type != self.kind:  # nulls, or empty lists, in the column's type
            return array.cast(self.kind)
        return array

    def apply(self, array: pa.Array | None, rows: int) -> pa.Array:
        """One chunk (None: the chunk lacks the column) in the finished type; raises :class:`CastFailed`."""
        array = pa.nulls(rows, self.kind) if array is None else self._unified(array)
        if self.declare == "text":
            return to_text(array)
        if self.declare == "cast" and array.type != self.target:
            try:
                return array.cast(self.target)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise CastFailed(self.label) from None
        return array

    def fallback(self) -> Plan:
        """The same plan, but the column kept as text (with a warning)."""
        warn_text(self.label, f"values do not all fit {self.target}")
        if self.unify == "float":  # as within one page: numbers that cannot meet as floats are text
            return Plan(self.label, "text", pa.string(), "text", pa.string())
        return Plan(self.label, self.unify, self.kind, "text", pa.string())


def _numeric(kind: pa.DataType) -> bool:
    return pa.types.is_integer(kind) or pa.types.is_floating(kind)


def _unification(present: set[pa.DataType], label: str) -> tuple[str, pa.DataType | None]:
    """How chunks of the ``present`` (non-null) types meet, and the type they meet in."""
    if len(present) > 1 and all(pa.types.is_list(t) for t in present):
        # A page of empty lists says nothing about their items: it fits the other pages' lists.
        present = {t for t in present if not pa.types.is_null(t.value_type)} or present
    if len(present) <= 1:
        return "keep", next(iter(present), None)
    if all(_numeric(t) for t in present):
        return "float", pa.float64()
    if all(pa.types.is_list(t) and _numeric(t.value_type) for t in present):
        return "float", pa.list_(pa.float64())  # as Arrow reads [1] and [2.5] in one page
    if all(pa.types.is_list(t) for t in present):
        return "json", pa.string()
    warn_text(label, f"values of different types across pages ({', '.join(sorted(map(str, present)))})")
    return "text", pa.string()


def _declaration(kind: pa.DataType, declared: pa.DataType | None, label: str) -> tuple[str, pa.DataType]:
    """How a column of Arrow type ``kind`` meets its ``declared`` type: keep, cast, or text (warned)."""
    if declared is None or kind == declared:
        return "keep", kind
    if castable(kind, declared):
        return "cast", declared
    warn_text(label, f"values do not all fit {pandas_dtype(declared)}")
    return "text", pa.string()


def plan_column(kinds: Iterable[pa.DataType], declared: pa.DataType | None, label: str) -> Plan:
    """The :class:`Plan` for a column whose chunks have ``kinds``, declared as ``declared`` (None: infer).

    Numbers of different widths meet as floats (also as list items); lists of other
    different item types as JSON text; anything else that differs as text, with a warning.

    Examples
    --------
    >>> plan_column([pa.string()], pa.timestamp("us", tz="UTC"), "session.date_time").declare
    'cast'
    """
    unify, kind = _unification({k for k in kinds if not pa.types.is_null(k)}, label)
    if kind is None:
        kind = declared if declared is not None else pa.string()
    declare, target = _declaration(kind, declared, label)
    return Plan(label, unify, kind, declare, target)
