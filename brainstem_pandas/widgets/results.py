"""What a load gave, to look at: one sortable, filterable, paged grid per table, a quick plot, live counts.

The grid is itables' ``ITable`` widget (DataTables in the browser). Chosen over ipydatagrid because it
is an anywidget: nothing to install into JupyterLab, Notebook 7 or Voila beyond the Python package (its
JavaScript ships inside it and loads from the kernel, so it works offline and on Binder), it is
actively released, and DataTables gives sorting, a search filter and paging out of the box.
ipydatagrid needs its own front-end extension and has seen no release since 2024.

A grid holds at most :data:`GRID_MAX_BYTES` of a table (itables shows the first and last rows of a
larger one, and says so); the whole table is always in ``builder.result``.
"""

from __future__ import annotations

import html
import io
import json
from typing import Any

import ipywidgets as widgets
import pandas as pd
import pyarrow as pa

from brainstem_pandas import catalog
from brainstem_pandas.frames import LinkedFrames

GRID_MAX_BYTES = 2**20
PAGE_LENGTH = 10
# A column is plotted per category when it has at least two and at most this many values.
MAX_CATEGORIES = 30


def _cell(value: Any) -> Any:
    """A value a grid cell can show: lists and mappings as JSON text, missing values as None."""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, default=str, ensure_ascii=False)
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):  # numpy arrays from Arrow lists
        return json.dumps(value.tolist(), default=str, ensure_ascii=False)
    return value


def for_grid(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as a grid shows it: the ``id`` index as the first column, nested values as JSON text.

    Examples
    --------
    >>> frame = pd.DataFrame({"tags": [["a", "b"], []], "n": [1, 2]}, index=pd.Index(["x", "y"], name="id"))
    >>> for_grid(frame).to_dict("records")
    [{'id': 'x', 'tags': '["a", "b"]', 'n': 1}, {'id': 'y', 'tags': '[]', 'n': 2}]
    """
    out = frame.reset_index() if frame.index.name is not None else frame.reset_index(drop=True)
    for name in out.columns:
        column = out[name]
        if isinstance(column.dtype, pd.DatetimeTZDtype):  # ISO text: sorts as time does, shows the zone
            out[name] = column.map(lambda v: v.isoformat() if pd.notna(v) else None).astype(object)
        elif column.dtype == object or isinstance(column.dtype, pd.ArrowDtype):
            if not all(isinstance(v, (str, int, float, bool, type(None))) for v in column.head(1000)):
                out[name] = column.astype(object).map(_cell)
    return out


def grid(frame: pd.DataFrame, caption: str = "") -> widgets.Widget:
    """A sortable, filterable, paged grid of ``frame`` (an itables ``ITable`` widget)."""
    from itables.widget import ITable

    return ITable(
        for_grid(frame),
        caption=caption or None,
        pageLength=PAGE_LENGTH,
        maxBytes=GRID_MAX_BYTES,
        showIndex=False,
        classes="display compact nowrap",  # (``layout`` here would be DataTables' own option, not the widget's)
    )


def counts_html(result: LinkedFrames) -> str:
    """Row counts of every table of ``result``, as an HTML table (kind, table, rows)."""
    kinds = (("table", result.tables), ("link", result.links), ("child", result.children))
    rows = "".join(
        f"<tr><td>{kind}</td><td><code>{html.escape(name)}</code></td>"
        f"<td style='text-align:right'>{len(frame):,}</td></tr>"
        for kind, tables in kinds
        for name, frame in tables.items()
    )
    return f"<table><thead><tr><th>kind</th><th>table</th><th>rows</th></tr></thead><tbody>{rows}</tbody></table>"


def _dates(column: pd.Series) -> pd.Series | None:
    """``column``'s values as naive UTC timestamps when it holds dates or times (pandas' or Arrow's), else None."""
    kind = column.dtype
    if isinstance(kind, pd.ArrowDtype):
        if not (pa.types.is_timestamp(kind.pyarrow_dtype) or pa.types.is_date(kind.pyarrow_dtype)):
            return None
    elif not pd.api.types.is_datetime64_any_dtype(kind):
        return None
    return pd.to_datetime(column.dropna(), utc=True).dt.tz_convert(None)


def _categories(name: str, column: pd.Series) -> pd.Series | None:
    """``column`` as text when it holds a few repeated plain values, else None."""
    kind = column.dtype
    if name == "id" or (isinstance(kind, pd.ArrowDtype) and pa.types.is_nested(kind.pyarrow_dtype)):
        return None
    values = column.dropna()
    if pd.api.types.is_object_dtype(kind) and not all(isinstance(v, str) for v in values.head(1000)):
        return None
    distinct = values.nunique()
    return values.astype(str) if 2 <= distinct <= MAX_CATEGORIES and len(values) > distinct else None


def plot_counts(frame: pd.DataFrame) -> tuple[pd.Series, str] | None:
    """What a quick plot of ``frame`` shows: records per month of its first date column, else per category.

    Returns the counts and their title, or None when no column lends itself to it.

    Examples
    --------
    >>> frame = pd.DataFrame({"date_time": pd.to_datetime(["2024-01-05", "2024-01-20", "2024-03-01"], utc=True)})
    >>> counts, title = plot_counts(frame)
    >>> title, counts.tolist()
    ('records per month of date_time', [2, 0, 1])
    >>> plot_counts(pd.DataFrame({"sex": ["M", "F", "M"]}))[0].to_dict()
    {'F': 1, 'M': 2}
    """
    for name in frame.columns:
        stamps = _dates(frame[name])
        if stamps is not None and len(stamps):
            per_month = stamps.dt.to_period("M").value_counts().sort_index()
            full = pd.period_range(per_month.index.min(), per_month.index.max(), freq="M")
            return per_month.reindex(full, fill_value=0), f"records per month of {name}"
    for name in frame.columns:
        values = _categories(str(name), frame[name])
        if values is not None:
            return values.value_counts().sort_values(), f"records per {name}"
    return None


def plot_png(counts: pd.Series, title: str) -> bytes:
    """``counts`` as a bar chart (PNG bytes), drawn by matplotlib without a display."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 3.2), dpi=96, layout="constrained")
    axes = figure.subplots()
    if isinstance(counts.index, pd.PeriodIndex):
        axes.bar([str(p) for p in counts.index], counts.to_numpy(), color="#3f6fb5")
        step = max(1, len(counts) // 12)
        axes.set_xticks(range(0, len(counts), step), [str(p) for p in counts.index[::step]], rotation=45, ha="right")
    else:
        axes.barh([str(k) for k in counts.index], counts.to_numpy(), color="#3f6fb5")
    axes.set_title(title)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def quick_plot(frame: pd.DataFrame, model: str) -> widgets.Widget:
    """A widget with the quick plot of ``frame`` (or a line saying why there is none)."""
    found = plot_counts(frame)
    if found is None:
        return widgets.HTML(f"<i>Nothing to plot in {html.escape(model)}: no date and no column with few values.</i>")
    try:
        png = plot_png(*found)
    except ImportError:  # matplotlib is optional: the grids work without it
        return widgets.HTML("<i>Install matplotlib for a quick plot (pip install matplotlib).</i>")
    return widgets.Image(value=png, format="png", layout=widgets.Layout(max_width="100%"))


class ResultView(widgets.VBox):
    """The loaded tables: their row counts, then one tab per table (a grid) and a *Plot* tab.

    Attributes
    ----------
    counts : ipywidgets.HTML
        Row counts of every table.
    tabs : ipywidgets.Tab
        One grid per table, in the result's order, then the plot of the primary table.
    grids : dict
        Table name -> its grid widget.
    """

    def __init__(self) -> None:
        self.counts = widgets.HTML()
        self.tabs = widgets.Tab(layout=widgets.Layout(width="100%"))
        self.grids: dict[str, widgets.Widget] = {}
        super().__init__(children=[self.counts], layout=widgets.Layout(width="100%"))

    def show(self, result: LinkedFrames, primary: str) -> None:
        """Show ``result``, whose primary table (plotted) is ``primary``."""
        self.counts.value = counts_html(result)
        frames = result.to_dict()
        self.grids = {
            name: grid(frame, f"{name}: {len(frame):,} rows, {frame.shape[1]} columns")
            for name, frame in frames.items()
        }
        self.tabs.children = [*self.grids.values(), quick_plot(frames[primary], primary)]
        self.tabs.titles = [*self.grids, f"Plot: {primary}"]
        self.tabs.selected_index = 0
        self.children = [self.counts, self.tabs]


def load_status(model: str, records: int, total: int | None, retried: int, seconds: float) -> str:
    """The live line during a load: records of the total, requests retried, and the rate.

    Examples
    --------
    >>> load_status("session", 1200, 10715, 3, 2.0)
    'Loading… 1,200 of 10,715 sessions; 3 retries; 600 records/s'
    >>> load_status("session", 100, None, 0, 0.0)
    'Loading… 100 sessions'
    """
    noun = catalog.model(model).list_key
    text = f"Loading… {records:,} of {total:,} {noun}" if total is not None else f"Loading… {records:,} {noun}"
    if retried:
        text += f"; {retried:,} retr{'ies' if retried != 1 else 'y'}"
    if seconds > 0:
        text += f"; {records / seconds:,.0f} records/s"
    return text
