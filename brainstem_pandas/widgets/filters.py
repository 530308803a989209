"""Filter rows of the query builder: a field, an operator that fits its type, and an input for the value."""

from __future__ import annotations

from typing import Any, Callable

import ipywidgets as widgets

from brainstem_pandas import catalog
from brainstem_pandas.errors import QueryError
from brainstem_pandas.query import OPERATORS, encode_value
from brainstem_pandas.widgets._common import guarded, narrow

OPERATOR_LABELS = {
    "exact": "is",
    "iexact": "is (any case)",
    "icontains": "contains (any case)",
    "contains": "contains",
    "startswith": "starts with",
    "istartswith": "starts with (any case)",
    "endswith": "ends with",
    "iendswith": "ends with (any case)",
    "gt": ">",
    "gte": "≥",
    "lt": "<",
    "lte": "≤",
    "in": "is one of",
    "isnull": "is empty",
}


def field_kind(field: catalog.Field) -> str:
    """The key of ``query.OPERATORS`` for a field: its type, or ``"relation"``."""
    return "relation" if field.is_relation else field.type


def value_kind(kind: str, operator: str) -> str:
    """Which input a filter value needs: isnull, list, date, datetime, integer, number, boolean or text.

    Examples
    --------
    >>> value_kind("date", "gte"), value_kind("date", "in"), value_kind("string", "isnull")
    ('date', 'list', 'isnull')
    """
    if operator == "isnull":
        return "isnull"
    if operator == "in":
        return "list"
    return kind if kind in ("date", "datetime", "integer", "number", "boolean") else "text"


def value_widget(kind: str) -> widgets.Widget:
    """An input for one value kind (see :func:`value_kind`)."""
    if kind == "isnull":
        return widgets.Dropdown(options=[("yes", True), ("no", False)], value=True, layout=narrow())
    if kind == "list":
        return widgets.Text(placeholder="comma-separated: a, b, c", layout=widgets.Layout(flex="1 1 auto"))
    if kind == "date":
        return widgets.DatePicker(layout=narrow())
    if kind == "datetime":
        return widgets.DatetimePicker(layout=narrow())
    if kind == "integer":
        return widgets.IntText(layout=widgets.Layout(width="120px"))
    if kind == "number":
        return widgets.FloatText(layout=widgets.Layout(width="120px"))
    if kind == "boolean":
        return widgets.Checkbox(value=True, description="true", indent=False, layout=narrow())
    return widgets.Text(placeholder="value", layout=widgets.Layout(flex="1 1 auto"))


def _item(text: str, kind: str, key: str) -> Any:
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            raise QueryError(f"Filter {key!r}: {text!r} is not a whole number.") from None
    if kind == "number":
        try:
            return float(text)
        except ValueError:
            raise QueryError(f"Filter {key!r}: {text!r} is not a number.") from None
    return text


class FilterRow:
    """One filter row: field, operator, a value input suited to the field's type, and a remove button.

    ``row.box`` is the widget; ``row.item()`` the ``(key, value)`` pair for ``filters=``.
    """

    def __init__(
        self,
        model: catalog.Model,
        area: widgets.HTML,
        on_change: Callable[[], None],
        on_remove: Callable[["FilterRow"], None],
    ) -> None:
        self.model, self._area, self._on_change = model, area, on_change
        self.field = widgets.Dropdown(
            options=[(_field_label(f), f.name) for f in model.fields], layout=widgets.Layout(width="220px")
        )
        # Few people filter by id: start on the first field with a meaning.
        self.field.value = next((f.name for f in model.fields if f.name != "id"), model.fields[0].name)
        self.operator = widgets.Dropdown(layout=widgets.Layout(width="170px"))
        self.value: widgets.Widget = widgets.Text()
        self._kind = ""
        self.remove_button = widgets.Button(
            icon="trash", tooltip="Remove this filter", layout=widgets.Layout(width="40px")
        )
        self.box = widgets.HBox(
            [self.field, self.operator, self.value, self.remove_button],
            layout=widgets.Layout(width="100%", flex_flow="row wrap"),
        )
        self.field.observe(guarded(area, self._field_changed), names="value")
        self.operator.observe(guarded(area, self._operator_changed), names="value")
        self.remove_button.on_click(guarded(area, lambda _button: on_remove(self)))
        self._field_changed()

    @property
    def spec(self) -> catalog.Field:
        """The catalog field this row filters on."""
        return self.model.field(self.field.value)

    def _field_changed(self, _change: Any = None) -> None:
        ops = OPERATORS.get(field_kind(self.spec), ("exact",))
        self.operator.options = [(OPERATOR_LABELS.get(op, op), op) for op in ops]
        self.operator.value = ops[0]  # a no-op when it was already the first: refresh the input anyway
        self._operator_changed()

    def _operator_changed(self, _change: Any = None) -> None:
        kind = value_kind(field_kind(self.spec), self.operator.value or "exact")
        if kind != self._kind:  # keep what was typed when the input stays the same kind
            self._kind = kind
            self.value = value_widget(kind)
            self.value.observe(guarded(self._area, lambda _c: self._on_change()), names="value")
            self.box.children = [self.field, self.operator, self.value, self.remove_button]
        self._on_change()

    def key(self) -> str:
        """The filter's key, e.g. ``"name.icontains"`` (no suffix for ``exact``)."""
        op = self.operator.value
        return self.field.value if op == "exact" else f"{self.field.value}.{op}"

    def item(self) -> tuple[str, Any]:
        """``(key, value)`` for ``filters=``; a QueryError names what is missing or malformed."""
        key, value, kind = self.key(), self.value.value, self._kind
        if kind == "list":
            parts = [p.strip() for p in str(value).split(",") if p.strip()]
            if not parts:
                raise QueryError(f"Filter {key!r}: type one or more values separated by commas.")
            return key, [_item(p, field_kind(self.spec), key) for p in parts]
        if kind in ("date", "datetime"):
            if value is None:
                raise QueryError(f"Filter {key!r}: pick a {kind}, or remove the row.")
            # ISO text: what the API receives, and what reads well in the generated code.
            return key, value.isoformat() if kind == "date" else encode_value(value)
        if kind == "text" and not str(value).strip():
            raise QueryError(f"Filter {key!r}: type a value, or remove the row.")
        return key, value


def _field_label(field: catalog.Field) -> str:
    target = f" → {field.related_model}" if field.is_relation else f" ({field.type})"
    return f"{field.name}{target}"
