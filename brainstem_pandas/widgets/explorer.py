"""The explorer: sign in, build and load a query, export it, in one tabbed widget."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from brainstem_pandas.client import Client
from brainstem_pandas.errors import ConfigurationError
from brainstem_pandas.frames.export import write_tables
from brainstem_pandas.widgets._common import Background, clear, error_area, guarded, wide
from brainstem_pandas.widgets.downloads import MAX_DOWNLOAD, download_link, zip_folder
from brainstem_pandas.widgets.login import OK_STYLE, LoginForm
from brainstem_pandas.widgets.query import QueryBuilder

WAITING = "<i>Sign in first (the Sign in tab); the query builder appears here.</i>"


def write_csv(frames: Any, folder: str | Path) -> list[Path]:
    """Write every table of ``frames`` (LinkedFrames) as ``<folder>/<table>.csv``; return the paths.

    Model tables keep their ``id`` index as the first column; link and child
    tables have no meaningful index and are written without one. Lists and objects
    are written as JSON text, and rich-text fields gain a plain-text column
    (``description_text``), as :func:`brainstem_pandas.frames.export.write_tables` writes them.

    Examples
    --------
    >>> lf = client.read_linked("session", include=["projects"])
    >>> paths = write_csv(lf, tmp / "sessions")
    >>> len(paths) == len(lf.to_dict()), (tmp / "sessions" / "session.projects.csv").exists()
    (True, True)
    """
    return write_tables(frames.to_dict(), folder)


class Explorer(widgets.VBox):
    """Sign in, query and export BrainSTEM data without writing code.

    Tabs: *Sign in* (left out when a client is given), *Query* (a
    :class:`QueryBuilder`) and *Export* (a Parquet snapshot of the query, or
    CSV files of the loaded tables).

    Parameters
    ----------
    client : Client, optional
        Use this client instead of signing in.
    url, token_path, **client_options
        Passed to the :class:`LoginForm` when no client is given.

    Examples
    --------
    >>> from brainstem_pandas.widgets import Explorer
    >>> Explorer().tabs.titles                   # sign in, then query and export
    ('Sign in', 'Query', 'Export')
    >>> explorer = Explorer(client)              # already signed in
    >>> explorer.builder.model.value = "project"
    >>> explorer.builder.load(wait=True, timeout=120)
    >>> len(explorer.builder.result["project"]) == len(client.read("project"))
    True
    """

    def __init__(
        self,
        client: Client | None = None,
        *,
        url: str | None = None,
        token_path: str | Path | None = None,
        **client_options: Any,
    ) -> None:
        self.builder: QueryBuilder | None = None
        self.error = error_area()
        self._job = Background(self.error)
        self.login = None if client is not None else LoginForm(url, token_path=token_path, **client_options)
        self._query_tab = widgets.VBox([widgets.HTML(WAITING)], layout=widgets.Layout(width="100%"))
        self.snapshot_path = widgets.Text(value="brainstem_snapshot", description="Folder", layout=wide())
        self.snapshot_button = widgets.Button(
            description="Write Parquet snapshot", icon="database", layout=widgets.Layout(width="auto")
        )
        self.csv_folder = widgets.Text(value="brainstem_csv", description="Folder", layout=wide())
        self.csv_button = widgets.Button(
            description="Write CSV files", icon="file", layout=widgets.Layout(width="auto")
        )
        self.export_status = widgets.HTML()
        self.downloads = widgets.HTML()  # the files written, as browser downloads
        export = widgets.VBox(
            [
                widgets.HTML(
                    "<b>Parquet snapshot</b> of the query (every page, linked tables and a manifest; "
                    "read it back with <code>bsp.read_snapshot(folder)</code>)"
                ),
                widgets.HBox([self.snapshot_path, self.snapshot_button]),
                widgets.HTML("<b>CSV files</b>, one per table of the loaded result"),
                widgets.HBox([self.csv_folder, self.csv_button]),
                self.export_status,
                self.downloads,
                self.error,
            ],
            layout=widgets.Layout(width="100%"),
        )
        pages = ([self.login] if self.login is not None else []) + [self._query_tab, export]
        titles = (["Sign in"] if self.login is not None else []) + ["Query", "Export"]
        self.tabs = widgets.Tab(children=pages, titles=titles, layout=widgets.Layout(width="100%"))
        super().__init__(children=[self.tabs], layout=widgets.Layout(width="100%"))
        self.snapshot_button.on_click(guarded(self.error, lambda _b: self.write_snapshot()))
        self.csv_button.on_click(guarded(self.error, lambda _b: self.write_csv()))
        if client is not None:
            self._use(client)
        else:
            assert self.login is not None
            self.login.on_login(self._use)

    @property
    def client(self) -> Client | None:
        """The client in use (None until signed in)."""
        return self.builder.client if self.builder is not None else None

    def _use(self, client: Client) -> None:
        self.builder = QueryBuilder(client)
        self._query_tab.children = [self.builder]
        self.tabs.selected_index = list(self.tabs.children).index(self._query_tab)

    def _need_builder(self) -> QueryBuilder:
        if self.builder is None:
            raise ConfigurationError("Sign in first (the Sign in tab).")
        return self.builder

    def write_snapshot(self, wait: bool = False, timeout: float | None = None) -> None:
        """Write the query (model, filters, include, portal) as a Parquet snapshot in the background.

        The folder is created, or replaced when it holds an earlier snapshot.
        """
        clear(self.error)
        query, path = self._need_builder().query(), self.snapshot_path.value.strip()
        if not path:
            raise ConfigurationError("Type the folder to write the snapshot to.")
        if self._job.running:
            self.export_status.value = "Still writing the previous snapshot; wait for it."
            return
        # Said before the job starts: a quick failure in the job must not be overwritten by it.
        self.export_status.value = f"Writing a snapshot of {html.escape(query['model'])} to {html.escape(path)}…"
        self._job.start(lambda: self._snapshot(query, path), name="export")
        if wait:
            self.wait(timeout)

    def _snapshot(self, query: dict[str, Any], path: str) -> None:
        client = self._need_builder()._need_client()
        try:
            manifest = client.snapshot(
                path,
                models=[query["model"]],
                include=query["include"] or None,
                filters=query["filters"] or None,
                portal=query["portal"],
                progress=False,
            )
        except Exception:
            self.export_status.value = "The snapshot was not written (see below)."
            raise
        tables = manifest.get("tables", {})
        rows = sum(t.get("rows", 0) for t in tables.values())
        self.export_status.value = (
            f'<span style="{OK_STYLE}">✔ Snapshot written to {html.escape(str(path))}: '
            f"{len(tables)} tables, {rows:,} rows.</span>"
        )
        self.downloads.value = _snapshot_download(Path(path).expanduser())

    def write_csv(self) -> list[Path]:
        """Write each table of the loaded result as a CSV file in the chosen folder; return the paths."""
        clear(self.error)
        builder = self._need_builder()
        if builder.result is None:
            raise ConfigurationError(
                "Load data first (the Query tab's Load button); CSV files are written from the loaded tables."
            )
        folder = self.csv_folder.value.strip()
        if not folder:
            raise ConfigurationError("Type the folder to write the CSV files to.")
        paths = write_csv(builder.result, folder)
        self.export_status.value = (
            f'<span style="{OK_STYLE}">✔ {len(paths)} CSV files written to {html.escape(folder)}.</span>'
        )
        links = "".join(download_link(path.name, path.read_bytes(), "text/csv") for path in paths)
        self.downloads.value = f"Download: {links}"
        return paths

    def wait(self, timeout: float | None = None) -> None:
        """Block until sign-in, load and export running in the background have finished."""
        if self.login is not None:
            self.login.wait(timeout)
        if self.builder is not None:
            self.builder.wait(timeout)
        self._job.wait(timeout)


def _snapshot_download(folder: Path) -> str:
    """A download link for the snapshot at ``folder``, zipped (or a line saying it is too large to offer)."""
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    if size > MAX_DOWNLOAD:  # said before zipping: a large snapshot is not read into memory for nothing
        return (
            f"<span>The snapshot ({size / 2**20:.0f} MiB) is too large to download through the notebook; "
            f"it is on the server at {html.escape(str(folder))}.</span>"
        )
    link = download_link(f"{folder.name}.zip", zip_folder(folder), "application/zip", f"{folder.name}.zip (Parquet)")
    return f"Download: {link}"
