"""The query builder: pick a model, filter, sort, include, load with a progress bar, copy the code.

The model dropdown is one list grouped by app: ipywidgets' Dropdown has no option
groups, so each label names its app first (``"stem · session"``) and the models of
one app stay together, in catalog order.

Loading is :meth:`Client.read_linked <brainstem_pandas.client.Client.read_linked>`
itself, with its ``on_page`` hook moving the widget's progress bar page by page and
its ``cancel`` event set by the Cancel button, so that a load re-walks, and fails,
exactly as the code it shows: ``builder.code`` is that ``client.read_linked(...)`` call.
"""

from __future__ import annotations

import html
import json
import math
import time
from datetime import date, datetime
from typing import Any, Callable

import ipywidgets as widgets
import pandas as pd
import traitlets

from brainstem_pandas import catalog
from brainstem_pandas.client import Client, ReadProgress
from brainstem_pandas.errors import Cancelled, ConfigurationError, QueryError, SnapshotError, UnknownNameError
from brainstem_pandas.frames import LinkedFrames
from brainstem_pandas.query import PORTALS, Query, encode_value
from brainstem_pandas.widgets._common import Background, clear, error_area, guarded, narrow
from brainstem_pandas.widgets.filters import (
    OPERATOR_LABELS,
    FilterRow,
    field_kind,
    value_kind,
    value_widget,
)
from brainstem_pandas.widgets.login import LoginForm
from brainstem_pandas.widgets.results import ResultView, counts_html, load_status

HEAD_ROWS = 5
WAITING = "<i>Sign in first (the sign-in form); the query builder appears here.</i>"
__all__ = [
    "OPERATOR_LABELS",
    "FilterRow",
    "QueryBuilder",
    "field_kind",
    "frame_preview",
    "python_code",
    "summary_html",
    "value_kind",
    "value_widget",
]


def _choose(dropdown: widgets.Dropdown, wanted: Any, what: str, model: str) -> None:
    """Set ``dropdown`` to ``wanted``; an UnknownNameError (with suggestions) for a choice it does not offer."""
    options = [o[1] if isinstance(o, tuple) else o for o in dropdown.options]
    if wanted not in options:
        raise UnknownNameError(what, wanted, [str(o) for o in options], f" for a filter on {model}")
    dropdown.value = wanted


def _retries(client: Client) -> int:
    """Requests the client's transport has retried so far (0 offline: a snapshot is never retried)."""
    try:
        return sum(client.transport.retries.values())
    except SnapshotError:
        return 0


def _sortable(field: catalog.Field) -> bool:
    return field.type not in ("json", "list[string]") and not (field.is_relation and field.many)


def _literal(value: Any) -> str:
    """Python source for a plain value, with double-quoted strings as in the documentation."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"  # nan and inf have no literal
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (date, datetime)):
        return _literal(encode_value(value))
    raise TypeError(f"no literal for {type(value).__name__}")


def python_code(query: dict[str, Any], name: str = "lf", client: str = "client") -> str:
    """The ``read_linked`` call that runs ``query`` (as made by :meth:`QueryBuilder.query`).

    Examples
    --------
    >>> print(python_code({"model": "session", "include": ["projects"], "filters": {"name.icontains": "rat"},
    ...                    "sort": ["-date_time"], "portal": "private"}))
    lf = client.read_linked(
        "session",
        include=["projects"],
        filters={"name.icontains": "rat"},
        sort=["-date_time"],
        portal="private",
    )
    """
    args = [_literal(query["model"])]
    args += [f"{key}={_literal(query[key])}" for key in ("include", "filters", "sort") if query.get(key)]
    args.append(f"portal={_literal(query['portal'])}")
    line = f"{name} = {client}.read_linked({', '.join(args)})"
    if len(line) <= 88:
        return line
    return f"{name} = {client}.read_linked(\n" + "".join(f"    {a},\n" for a in args) + ")"


def frame_preview(frame: pd.DataFrame, rows: int = HEAD_ROWS) -> str:
    """The first ``rows`` of ``frame`` as HTML (values escaped by pandas)."""
    return frame.head(rows).to_html(max_cols=12, border=0, na_rep="")


def summary_html(result: LinkedFrames, head: int = HEAD_ROWS) -> str:
    """Row counts of every table, then the first rows of each model table, as HTML."""
    parts = [counts_html(result)]
    for name, frame in result.tables.items():
        parts.append(
            f"<h4 style='margin:8px 0 2px'>{html.escape(name)}: first {min(head, len(frame))} of "
            f"{len(frame):,}</h4><div style='overflow-x:auto'>{frame_preview(frame, head)}</div>"
        )
    return "<div style='max-height:480px;overflow:auto'>" + "".join(parts) + "</div>"


class QueryBuilder(widgets.VBox):
    """Build a query with widgets, load it with a progress bar, and get the code that does the same.

    Parameters
    ----------
    client : Client or LoginForm
        A connected client (or an offline :class:`~brainstem_pandas.SnapshotClient`), or a
        :class:`LoginForm`: the builder then waits for its sign-in (and follows later ones).

    Attributes
    ----------
    result : LinkedFrames or None
        What the last completed load gave.
    code : str
        The equivalent ``client.read_linked(...)`` call, for pasting into a cell.

    Examples
    --------
    In a notebook, show ``builder``, pick, filter and press Load; in code:

    >>> from brainstem_pandas.widgets import QueryBuilder
    >>> builder = QueryBuilder(client)
    >>> builder.model.value = "session"
    >>> row = builder.add_filter("name", "icontains", "mm")
    >>> builder.load(wait=True, timeout=120)
    >>> want = client.read("session", filters={"name.icontains": "mm"})
    >>> sorted(builder.result["session"].index) == sorted(want.index)
    True
    >>> print(builder.code)
    lf = client.read_linked("session", filters={"name.icontains": "mm"}, portal="private")

    Before anyone signed in to the form it was given, the builder says so:

    >>> waiting = QueryBuilder(LoginForm(sandbox.url))
    >>> waiting.client is None, waiting.result, waiting.code
    (True, None, '# Sign in first (the sign-in form); the code of the query appears here.')
    """

    def __init__(self, client: Client | LoginForm) -> None:
        form = client if isinstance(client, LoginForm) else None
        self.client: Client | None = client.client if isinstance(client, LoginForm) else client
        self.result: LinkedFrames | None = None
        self.filters: list[FilterRow] = []
        self.includes: dict[str, widgets.Checkbox] = {}
        self.error = error_area()
        self._job = Background(self.error)
        self._quiet = False  # True while a batch of changes is made, so the code is rendered once
        self._switching = False  # True while the model list is replaced
        self.portal = widgets.ToggleButtons(options=list(PORTALS), value="private", description="Portal")
        self.model = widgets.Dropdown(options=[], description="Model", layout=widgets.Layout(width="360px"))
        self.add_filter_button = widgets.Button(description="Add filter", icon="plus")
        self._filter_box = widgets.VBox(layout=widgets.Layout(width="100%"))
        self.sort_field = widgets.Dropdown(description="Sort by", layout=widgets.Layout(width="300px"))
        self.sort_descending = widgets.Checkbox(value=False, description="descending", indent=False, layout=narrow())
        self._include_box = widgets.GridBox(
            layout=widgets.Layout(width="100%", grid_template_columns="repeat(auto-fill, minmax(230px, 1fr))")
        )
        self.load_button = widgets.Button(description="Load", button_style="primary", icon="download")
        self.cancel_button = widgets.Button(description="Cancel", icon="stop", disabled=True)
        self.progress = widgets.IntProgress(value=0, min=0, max=1, layout=widgets.Layout(width="260px"))
        self.status = widgets.HTML()
        self.code_view = widgets.HTML()
        self.results = ResultView()
        self.output = self.results.counts  # the row counts of every table (the grids are in results)
        self._controls = [
            widgets.HBox([self.model, self.portal], layout=widgets.Layout(flex_flow="row wrap")),
            widgets.HTML("<b>Filters</b>"),
            self._filter_box,
            self.add_filter_button,
            widgets.HBox([self.sort_field, self.sort_descending]),
            widgets.HTML("<b>Include related records</b>"),
            self._include_box,
            widgets.HBox(
                [self.load_button, self.cancel_button, self.progress, self.status],
                layout=widgets.Layout(flex_flow="row wrap", align_items="center"),
            ),
            self.error,
            widgets.HTML("<b>Python code</b> (paste into a cell to run the same query)"),
            self.code_view,
            self.results,
        ]
        super().__init__(children=[widgets.HTML(WAITING)], layout=widgets.Layout(width="100%"))
        self._wire()
        if self.client is not None:
            self.use(self.client)
        if form is not None:
            form.on_login(self._guard(self.use))

    def use(self, client: Client) -> None:
        """Build queries for ``client`` from now on (a sign-in of the form given calls this)."""
        self.client = client
        self.portal.value = client.portal
        self._portal_changed()
        self.children = self._controls

    def _wire(self) -> None:
        """Connect the controls to their callbacks, each guarded so that its errors show in the widget."""
        on = self._guard
        self.model.observe(on(self._model_changed), names="value")
        self.portal.observe(on(self._portal_changed), names="value")
        for control in (self.sort_field, self.sort_descending):
            control.observe(on(lambda _c: self._refresh_code()), names="value")
        self.add_filter_button.on_click(on(lambda _b: self.add_filter()))
        self.load_button.on_click(on(lambda _b: self.load()))
        self.cancel_button.on_click(on(lambda _b: self.cancel()))

    def _guard(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        return guarded(self.error, callback)

    # -- the query ----------------------------------------------------------------------
    @property
    def spec(self) -> catalog.Model:
        """The catalog model chosen."""
        if self.client is None or self.model.value is None:
            raise ConfigurationError("Sign in first (the sign-in form); then choose a model.")
        return catalog.model(self.model.value)

    def query(self) -> dict[str, Any]:
        """The query as the widgets show it: model, include, filters, sort and portal.

        Raises
        ------
        QueryError
            When a filter lacks a value, two rows filter the same way, or the
            catalog rejects the query.
        """
        filters: dict[str, Any] = {}
        for row in self.filters:
            key, value = row.item()
            if key in filters:
                raise QueryError(
                    f"Two filter rows use {key!r}; keep one (the 'is one of' operator matches any of several values)."
                )
            filters[key] = value
        include = [name for name, box in self.includes.items() if box.value]
        sort = [("-" if self.sort_descending.value else "") + self.sort_field.value] if self.sort_field.value else []
        Query(self.spec.name, filters=filters, sort=sort, include=include, portal=self.portal.value)  # the checks
        return {
            "model": self.spec.name,
            "include": include,
            "filters": filters,
            "sort": sort,
            "portal": self.portal.value,
        }

    @property
    def code(self) -> str:
        """The ``client.read_linked(...)`` call that gives the same result as Load."""
        if self.client is None:
            return "# Sign in first (the sign-in form); the code of the query appears here."
        return python_code(self.query())

    def add_filter(self, field: str | None = None, operator: str | None = None, value: Any = None) -> FilterRow:
        """Add a filter row (optionally filled in) and return it.

        Examples
        --------
        >>> builder = QueryBuilder(client)
        >>> builder.model.value = "session"
        >>> builder.add_filter("name", "icontains", "rat").item()
        ('name.icontains', 'rat')
        """
        self._quiet = True
        try:
            row = FilterRow(self.spec, self.error, self._refresh_code, self._guard(self.remove_filter))
            for part, wanted, what in ((row.field, field, "field"), (row.operator, operator, "operator")):
                if wanted is not None:
                    _choose(part, wanted, what, self.spec.name)
            if value is not None:
                try:
                    row.value.value = value
                except traitlets.TraitError:  # a value the row's input cannot show
                    raise QueryError(
                        f"{value!r} is not a value for {row.field.value}.{row.operator.value}; pass text, a number, "
                        "True/False or a date."
                    ) from None
        finally:
            self._quiet = False
        self.filters.append(row)
        self._filter_box.children = [r.box for r in self.filters]
        self._refresh_code()
        return row

    def remove_filter(self, row: FilterRow) -> None:
        """Remove a filter row."""
        self.filters = [r for r in self.filters if r is not row]
        self._filter_box.children = [r.box for r in self.filters]
        self._refresh_code()

    # -- reacting to the controls --------------------------------------------------------
    def _model_options(self, portal: str) -> list[tuple[str, str]]:
        if self.client is None:
            return []
        names = self.client.readable_models(portal)
        apps = list(dict.fromkeys(catalog.model(n).app for n in names))
        ordered = sorted(names, key=lambda n: apps.index(catalog.model(n).app))  # stable: catalog order in an app
        return [(f"{catalog.model(n).app} · {n}", n) for n in ordered]

    def _portal_changed(self, _change: Any = None) -> None:
        # The chosen model, and its filters, stay when the portal offers it too.
        current, options = self.model.value, self._model_options(self.portal.value)
        self._switching = True
        try:
            self.model.options = options  # selects the first option
            if current in [value for _label, value in options]:
                self.model.value = current
            elif options and self.model.value is None:  # an empty list selects nothing when options arrive
                self.model.value = options[0][1]
        finally:
            self._switching = False
        if self.model.value != current:
            self._model_changed()
        else:
            self._refresh_code()

    def _model_changed(self, _change: Any = None) -> None:
        if self._switching or self.model.value is None:
            return
        spec = self.spec
        self.filters = []
        self._filter_box.children = []
        self.sort_field.options = [("(server order)", "")] + [(f.name, f.name) for f in spec.fields if _sortable(f)]
        self.sort_field.value = ""
        self.includes = {}
        for f in spec.relations:
            box = widgets.Checkbox(
                value=False, description=f"{f.name} → {f.related_model}", indent=False, layout=narrow()
            )
            box.observe(self._guard(lambda _c: self._refresh_code()), names="value")
            self.includes[f.name] = box
        self._include_box.children = list(self.includes.values())
        self._refresh_code()

    def _refresh_code(self) -> None:
        if self._quiet:
            return
        try:
            code = self.code
        except QueryError as exc:
            self.code_view.value = f"<i>Not a complete query yet: {html.escape(str(exc))}</i>"
            return
        self.code_view.value = f"<pre style='white-space:pre-wrap;margin:0'><code>{html.escape(code)}</code></pre>"

    # -- loading ------------------------------------------------------------------------
    def load(self, wait: bool = False, timeout: float | None = None) -> None:
        """Start loading the query in the background, as the Load button does.

        With ``wait``, return when the load has finished (for code without a
        kernel, such as tests); ``builder.result`` then holds the frames.
        """
        clear(self.error)
        query = self.query()
        if not self._job.start(lambda: self._run(query), name="load"):
            self.status.value = "Still loading; wait, or press Cancel."
            return
        if wait:
            self.wait(timeout)

    def cancel(self) -> None:
        """Stop a running load after the page being read; the previous result is kept."""
        self._job.cancel()

    def wait(self, timeout: float | None = None) -> None:
        """Block until a running load has finished; TimeoutError after ``timeout`` seconds."""
        self._job.wait(timeout)

    def _run(self, query: dict[str, Any]) -> None:
        self._busy(True)
        try:
            result, received = self._fetch(query)
        except Exception:
            self.progress.bar_style = "danger"
            self.status.value = "Load failed (see below)."
            raise
        finally:
            self._busy(False)
        if result is None:
            self.progress.bar_style = "warning"
            self.status.value = f"Cancelled after {received:,} records; the previous result is kept."
            return
        self.result = result
        self.progress.bar_style = "success"
        self.status.value = f"Loaded {received:,} {html.escape(query['model'])} records."
        self.results.show(result, query["model"])

    def _fetch(self, query: dict[str, Any]) -> tuple[LinkedFrames | None, int]:
        """``client.read_linked`` with the widget's progress and cancel; (None, records so far) when cancelled."""
        # Value first: lowering max first would clamp the old value, a spurious step of the bar.
        self.progress.value, self.progress.max, self.progress.bar_style = 0, 1, ""
        self.status.value = "Loading…"
        received, client = [0], self._need_client()
        retried, started = _retries(client), time.monotonic()

        def on_page(step: ReadProgress) -> None:
            received[0] = step.records
            self.progress.max = max(step.total or 0, step.records, 1)
            self.progress.value = step.records
            seconds = time.monotonic() - started
            self.status.value = load_status(step.model, step.records, step.total, _retries(client) - retried, seconds)
            if step.walk > 1:
                self.status.value += f" (the pages did not add up; reading again, pass {step.walk})"

        try:
            result = client.read_linked(
                query["model"],
                include=query["include"],
                filters=query["filters"],
                sort=query["sort"],
                portal=query["portal"],
                progress=False,
                on_page=on_page,
                cancel=self._job.cancelled,
            )
        except Cancelled:
            return None, received[0]
        return result, received[0]

    def _need_client(self) -> Client:
        if self.client is None:
            raise ConfigurationError("Sign in first (the sign-in form); then load.")
        return self.client

    def _busy(self, busy: bool) -> None:
        self.load_button.disabled = busy
        self.cancel_button.disabled = not busy
