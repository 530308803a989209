"""The one object users hold: :class:`Client`, over a server or a snapshot (made by ``connect``).

>>> sessions = client.read("session", filters={"name.icontains": "mm"})
>>> sessions.index.name, str(sessions["date_time"].dtype)
('id', 'datetime64[us, UTC]')

Every read makes a checked :class:`~brainstem_pandas.query.Query` and :class:`~brainstem_pandas.sources.ReadOptions`,
then walks the pages of its source (:mod:`~brainstem_pandas.sources`: a server or a snapshot); what needs a
server is refused offline in one place (:meth:`Client._server`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

import pandas as pd

from brainstem_pandas import catalog
from brainstem_pandas.errors import ConfigurationError, NotFoundError, PermissionDeniedError, SnapshotError
from brainstem_pandas.frames import FrameBuilder, LinkedFrames, records_frame
from brainstem_pandas.pagination import MAX_PAGE_SIZE, Page, Paginator, Walked, check_walk, fetch_all, fetch_into
from brainstem_pandas.query import PORTALS, Query, as_query, check_portal, queries
from brainstem_pandas.reading import read_into
from brainstem_pandas.snapshot import SnapshotWriter
from brainstem_pandas.sources import (
    DEFAULT_URL,
    CancelSignal,
    HttpSource,
    ReadOptions,
    ReadProgress,
    SnapshotSource,
    Source,
)
from brainstem_pandas.transport import Credentials, RetryPolicy, Transport


class Client:
    """A connection to one BrainSTEM server (or a compatible sandbox), or to a snapshot with ``backend``.

    Parameters
    ----------
    url : str
        Server root, e.g. ``"https://www.brainstem.org"``.
    credentials : Credentials, optional
        Token source; None for anonymous (public portal) use.
    portal : {"private", "public"}, optional
        Default portal of every call (default: the backend's first, "private" for a server).
    workers : int
        Concurrent page requests (1 = sequential).
    progress : bool
        Show progress bars on multi-page reads.
    backend : Source, optional
        Read from this :mod:`~brainstem_pandas.sources` source instead of a server at ``url``.

    Examples
    --------
    >>> public = Client(sandbox.url, portal="public", progress=False)
    >>> bool(public.read("project")["is_public"].all())
    True
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        credentials: Credentials | None = None,
        *,
        portal: str | None = None,
        workers: int = 8,
        progress: bool = True,
        page_size: int = MAX_PAGE_SIZE,
        timeout: tuple[float, float] = (10.0, 120.0),
        retry: RetryPolicy | None = None,
        allow_insecure_http: bool = False,
        source: str = "",
        backend: Source | None = None,
    ) -> None:
        if portal is not None:
            check_portal(portal)
        self.options = ReadOptions(workers=workers, progress=progress, page_size=page_size)
        if backend is not None and (url != DEFAULT_URL or credentials is not None):
            raise ConfigurationError("Pass either a backend or a server url and credentials, not both.")
        self.backend: Source = backend or HttpSource(
            url, credentials, timeout=timeout, retry=retry, pool_size=workers, allow_insecure_http=allow_insecure_http
        )
        self.portal = portal or self.backend.portals[0]
        self.source = source  # where the token came from, for the repr

    @property
    def url(self) -> str:
        """The server root (for a snapshot: the server it was taken from)."""
        return self.backend.url

    # The read options every read starts from, as the attributes they have always been.
    workers = property(lambda self: self.options.workers, doc="Concurrent page requests of every read.")
    progress = property(lambda self: self.options.progress, doc="Whether reads show progress bars.")
    page_size = property(lambda self: self.options.page_size, doc="Records per page requested.")

    @property
    def transport(self) -> Transport:
        """The server's :class:`~brainstem_pandas.transport.Transport` (requests sent, retries, credentials)."""
        return self._server("its transport").transport

    def __repr__(self) -> str:
        if "backend" not in vars(self):  # half-built (its __init__ raised): tracebacks show it among locals
            return "<brainstem_pandas.Client (not connected)>"
        if not isinstance(self.backend, HttpSource):
            return f"<brainstem_pandas.Client over {self.backend!r} portal={self.portal}>"
        who = "anonymous" if self.transport.credentials is None else f"token from {self.source or 'caller'}"
        return f"<brainstem_pandas.Client {self.url} portal={self.portal} ({who}), workers={self.workers}>"

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close pooled connections."""
        self.backend.close()

    def _server(self, what: str) -> HttpSource:
        """The server source; offline, the one place that says why something needs the server."""
        if isinstance(self.backend, HttpSource):
            return self.backend
        name, where = getattr(self.backend, "path", self.backend), f" ({self.url})" if self.url else ""
        raise SnapshotError(
            f"{name} is a snapshot, read offline: it cannot be written to or asked for other endpoints, and {what} "
            f"needs the server it was taken from{where}. Connect to the server for that: bsp.connect(url)."
        )

    def endpoint(self, model: str, portal: str | None = None, id: Any = None) -> str:
        """The API URL of a model's list (or of one record with ``id``).

        Examples
        --------
        >>> Client("http://127.0.0.1:8000").endpoint("dataacquisition", "public")
        'http://127.0.0.1:8000/api/public/modules/dataacquisition/'
        """
        return self._server("an endpoint").endpoint(model, portal or self.portal, id)

    def _query(self, model: str | Query, filters: Any, sort: Any, include: Any, portal: str | None) -> Query:
        return as_query(model, filters=filters, sort=sort, include=include, portal=portal, default_portal=self.portal)

    def _options(
        self, progress: bool | None, workers: int | None, on_inconsistency: str, limit: int | None = None
    ) -> ReadOptions:
        return self.options.but(progress=progress, workers=workers, on_inconsistency=on_inconsistency, limit=limit)

    def iter_pages(
        self,
        model: str | Query,
        filters: Mapping[str, Any] | None = None,
        sort: Iterable[str] | None = None,
        include: Iterable[str] | None = None,
        portal: str | None = None,
        progress: bool | None = None,
        workers: int | None = None,
        on_inconsistency: str = "raise",
    ) -> Iterator[Page]:
        """Yield every page of a model's list, in order, for streaming consumers.

        Each :class:`~brainstem_pandas.pagination.Page` carries the primary records
        and the sideloaded related records. The query is checked at once. A stream
        cannot be re-walked: if the pages do not add up, a
        :class:`~brainstem_pandas.errors.PaginationError` is raised after the last
        page (or a warning, with ``on_inconsistency="warn"``).

        Examples
        --------
        >>> for page in client.iter_pages("session", include=["projects"]):
        ...     assert {r["id"] for r in page.related["projects"]} >= {p for r in page.records for p in r["projects"]}
        """
        options = self._options(progress, workers, on_inconsistency)
        walk = self._walk(self._query(model, filters, sort, include, portal), options)
        return _checked(walk, options.on_inconsistency)

    def read(
        self,
        model: str | Query,
        filters: Mapping[str, Any] | None = None,
        sort: Iterable[str] | None = None,
        include: Iterable[str] | None = None,
        portal: str | None = None,
        progress: bool | None = None,
        workers: int | None = None,
        on_inconsistency: str = "raise",
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Every record of ``model`` you may see (or the first ``limit``), as one typed DataFrame indexed by ``id``.

        Parameters
        ----------
        model : str or Query
            Catalog model name (``"session"``, ``"dataacquisition"``, ...), or a
            :class:`~brainstem_pandas.query.Query` holding the rest.
        filters : dict, optional
            ``{"field.op": value}``; ops: exact (no suffix), iexact, icontains,
            startswith, istartswith, endswith, iendswith, gt, gte, lt, lte, in, isnull.
        sort : list of str, optional
            Fields, ``-`` for descending; ``id`` is added as the last key.
        include : list of str, optional
            Relations to embed; their records are fetched but only the primary
            records are returned here (see ``iter_pages`` for all).
        on_inconsistency : {"raise", "warn"}
            After re-walking, what to do when pages still do not add up.
        limit : int, optional
            The first ``limit`` records only, in the server's order (``sort``), asking
            for no page past them: a quick look at a large model.

        Examples
        --------
        >>> recent = client.read("session", filters={"date_time.gte": "2024-01-01"}, sort=["-date_time"])
        >>> recent["date_time"].is_monotonic_decreasing
        True
        >>> client.read("session", sort=["-date_time"], limit=5).equals(recent.head(5))
        True
        >>> query = Query("session", filters={"date_time.gte": "2024-01-01"}, sort=["-date_time"])  # checked once
        >>> client.read(query).equals(recent)
        True
        """
        options = self._options(progress, workers, on_inconsistency, limit)
        query = self._query(model, filters, sort, include, portal)
        pages = fetch_all(lambda: self._walk(query, options), on_inconsistency=options.on_inconsistency)
        return records_frame(query.spec, [r for page in pages for r in page.records])

    def _walk(self, query: Query, options: ReadOptions) -> Walked:
        return self.backend.walk(query, options)

    def read_linked(
        self,
        model: str | Iterable[str] | Query,
        include: Any = None,
        filters: Any = None,
        sort: Iterable[str] | None = None,
        portal: str | None = None,
        progress: bool | None = None,
        workers: int | None = None,
        on_inconsistency: str = "raise",
        *,
        on_page: Callable[[ReadProgress], Any] | None = None,
        cancel: CancelSignal | None = None,
        limit: int | None = None,
    ) -> LinkedFrames:
        """Records of ``model`` and everything ``include`` brings, as linked typed tables.

        Pages are consumed as they arrive (only the growing columns are kept).
        ``model`` may be a list of models: their tables share one :class:`LinkedFrames`
        (``include`` and ``filters`` then apply to each model, or may map model names to their own).

        Parameters
        ----------
        on_page : callable, optional
            Called with a :class:`ReadProgress` after each page (a re-walk counts again, ``walk`` one higher).
        cancel : threading.Event or callable, optional
            When set (or returning true), the read stops before the next page (``Cancelled``).
        limit : int, optional
            The first ``limit`` records of each model (as in :meth:`read`), with what they include.

        Examples
        --------
        >>> lf = client.read_linked("session", include=["projects", "behaviors"])
        >>> sorted(lf.tables), "session.projects" in lf.links
        (['behavior', 'project', 'session'], True)
        >>> seen = []
        >>> _ = client.read_linked("project", on_page=lambda step: seen.append((step.records, step.total)))
        >>> seen[-1][0] == seen[-1][1] == len(client.read("project"))
        True
        """
        options = self._options(progress, workers, on_inconsistency, limit)
        asked = (
            [self._query(model, filters, sort, include, portal)]
            if isinstance(model, Query)
            else queries(model, include=include, filters=filters, sort=sort, portal=portal or self.portal)
        )
        builder = FrameBuilder(asked[0].model)
        for query in asked:
            self._read_into(builder, query, options, on_page, cancel)
        return builder.finish()

    def _read_into(
        self,
        builder: FrameBuilder,
        query: Query,
        options: ReadOptions,
        on_page: Callable[[ReadProgress], Any] | None = None,
        cancel: CancelSignal | None = None,
    ) -> dict[str, Any]:
        return read_into(builder, query, lambda: self._walk(query, options), options, on_page, cancel)

    def readable_models(self, portal: str | None = None) -> list[str]:
        """Every model that can be listed on ``portal``, in catalog order (offline: those the snapshot holds).

        Examples
        --------
        >>> "session" in Client("http://127.0.0.1:8000").readable_models("public")
        True
        """
        return self.backend.readable_models(portal or self.portal)

    def snapshot(
        self,
        path: str | os.PathLike,
        models: Iterable[str] | None = None,
        include: Any = None,
        filters: Any = None,
        portal: str | None = None,
        progress: bool | None = None,
        workers: int | None = None,
        on_inconsistency: str = "raise",
    ) -> dict[str, Any]:
        """Write every model you can read (or ``models``) as a Parquet snapshot folder; return its manifest.

        Pages stream to disk as they arrive; the folder appears only when the
        snapshot is complete (an interrupted one leaves any previous snapshot at
        ``path`` as it was). With the default ``models=None``, models the server
        refuses (403/404) are listed under ``"skipped"`` in the manifest.
        Read it back with :func:`~brainstem_pandas.read_snapshot` or
        ``connect(snapshot=path)``.

        Examples
        --------
        >>> manifest = client.snapshot(tmp / "sessions", models=["session"], include=["projects"])
        >>> sorted(manifest["queries"]), manifest["tables"]["session"]["rows"] == len(client.read("session"))
        (['session'], True)
        """
        portal = check_portal(portal or self.portal)
        options = self._options(progress, workers, on_inconsistency)
        everything = models is None
        names = self.readable_models(portal) if models is None else models
        asked = queries(names, include=include, filters=filters, portal=portal)
        with SnapshotWriter(path, server=self.url, portal=portal, primary=asked[0].model) as writer:
            for query in asked:
                try:
                    writer.queries[query.model] = self._read_into(writer.builder, query, options)
                except (PermissionDeniedError, NotFoundError) as exc:
                    if not everything:
                        raise
                    writer.skipped[query.model] = f"{type(exc).__name__}: {exc}"
            return writer.commit()

    def read_url(
        self,
        url: str,
        records_key: str = "results",
        *,
        paginator: Paginator | None = None,
        params: Mapping[str, Any] | None = None,
        progress: bool | None = None,
        on_inconsistency: str = "raise",
    ) -> pd.DataFrame:
        """Every record of any list endpoint on this server (page-number APIs by default).

        Examples
        --------
        >>> brainmaps = Client(sandbox.url, progress=False)  # the sandbox's brainmaps API is open to all
        >>> brains = brainmaps.read_url("/brainmaps/v1/brains/", params={"verified": "true"})
        >>> brains.index.name
        'id'
        """
        options = self._options(progress, None, on_inconsistency)
        walks = self._server("read_url").url_walk(url, records_key, paginator, params, options)
        pages = fetch_all(walks, on_inconsistency=options.on_inconsistency)
        frame = pd.DataFrame.from_records([r for p in pages for r in p.records])
        return frame.set_index("id") if "id" in frame else frame

    def read_url_linked(
        self,
        url: str,
        name: str,
        records_key: str = "results",
        *,
        paginator: Paginator | None = None,
        params: Mapping[str, Any] | None = None,
        progress: bool | None = None,
        on_inconsistency: str = "raise",
    ) -> LinkedFrames:
        """Like :meth:`read_url`, laid out as LinkedFrames by inference (``name`` names the table).

        Examples
        --------
        >>> lf = Client(sandbox.url, progress=False).read_url_linked("/brainmaps/v1/brains/", "brain")
        >>> "brain" in lf.tables
        True
        """
        options = self._options(progress, None, on_inconsistency)
        walks = self._server("read_url_linked").url_walk(url, records_key, paginator, params, options)
        builder = fetch_into(
            walks, lambda: FrameBuilder(name), FrameBuilder.add_page, on_inconsistency=options.on_inconsistency
        )
        return builder.finish()

    def get(self, model: str, id: Any, include: Iterable[str] | None = None, portal: str | None = None) -> dict:
        """One record as a dict (``include`` embeds related records inline).

        Examples
        --------
        >>> sid = client.read("session").index[0]
        >>> embedded = client.get("session", sid, include=["projects"])
        >>> embedded["projects"][0]["id"] == client.get("session", sid)["projects"][0]
        True
        """
        spec = catalog.model(model)
        names = (include,) if isinstance(include, str) else tuple(include or ())  # one name, as reads take it
        return self.backend.get(spec, id, names, check_portal(portal or self.portal))

    # -- writing (a server only) -------------------------------------------------------------
    def save(self, model: str, data: Mapping[str, Any], id: Any = None) -> dict:
        """Create (``id=None``: POST) or update (PATCH) a record; return the saved record.

        The documented rules are checked before sending (e.g. ``projects`` must be
        a list; ``extra_fields`` keys start with a letter); a breach raises
        :class:`~brainstem_pandas.errors.ValidationError` naming each field and
        nothing is sent. Models with an approval workflow answer with the pending
        approval record.

        Examples
        --------
        >>> client.save("session", {"name": "s1", "projects": "not a list"})
        Traceback (most recent call last):
        ...
        brainstem_pandas.errors.ValidationError: POST ... was not sent: projects: ...
        """
        return self._server("saving").save(catalog.model(model), data, id)

    def delete(self, model: str, id: Any) -> None:
        """Delete a record (private portal)."""
        self._server("deleting").delete(catalog.model(model), id)


def _checked(walk: Walked, on_inconsistency: str) -> Iterator[Page]:
    yield from walk
    check_walk(walk, on_inconsistency)


class SnapshotClient(Client):
    """A :class:`Client` answering from a snapshot folder, offline.

    ``read``, ``read_linked``, ``iter_pages``, ``get`` and ``snapshot`` work as
    online, with the same filter, sort and include syntax applied locally and
    the same result types; writing needs the server. Made by
    ``connect(snapshot=path)``.

    Examples
    --------
    >>> _ = client.snapshot(tmp / "snap", models=["session"])
    >>> offline = SnapshotClient(tmp / "snap")
    >>> query = dict(filters={"name.icontains": "mm"}, sort=["-date_time"])
    >>> offline.read("session", **query).index.equals(client.read("session", **query).index)
    True
    """

    backend: SnapshotSource

    def __init__(
        self, path: str | os.PathLike, *, progress: bool = False, page_size: int = MAX_PAGE_SIZE, verify: bool = True
    ) -> None:
        source = SnapshotSource(path, verify=verify)
        super().__init__(backend=source, progress=progress, page_size=page_size, source=f"snapshot {path}")

    @property
    def path(self) -> Path:
        """The snapshot folder."""
        return self.backend.path

    @property
    def manifest(self) -> dict[str, Any]:
        """The snapshot's manifest."""
        return self.backend.manifest

    def __repr__(self) -> str:
        return (
            f"<brainstem_pandas.SnapshotClient {self.path} (offline; taken from {self.url}, "
            f"portal={self.portal}, {self.manifest.get('finished', '?')})>"
        )


__all__ = ["DEFAULT_URL", "PORTALS", "CancelSignal", "Client", "ReadProgress", "SnapshotClient"]
