"""The one object users hold: :class:`Client`, made by :func:`connect`.

>>> import brainstem_pandas as bsp
>>> client = bsp.connect("http://127.0.0.1:8000", token="...")            # doctest: +SKIP
>>> sessions = client.read("session", filters={"name.icontains": "rat"})  # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import pandas as pd

from brainstem_pandas import auth, catalog, rules
from brainstem_pandas.errors import (
    AuthenticationError,
    ConfigurationError,
    NotFoundError,
    PermissionDeniedError,
    QueryError,
    ResponseError,
    SnapshotError,
    ValidationError,
)
from brainstem_pandas.frames import FrameBuilder, LinkedFrames, records_frame
from brainstem_pandas.pagination import (
    MAX_PAGE_SIZE,
    OffsetPaginator,
    Page,
    PageNumberPaginator,
    Paginator,
    Walk,
    check_on_inconsistency,
    check_walk,
    check_workers,
    fetch_all,
    fetch_into,
)
from brainstem_pandas.query import build_params, encode_value, include_params
from brainstem_pandas.transport import Credentials, RetryPolicy, Transport

DEFAULT_URL = "https://www.brainstem.org"
PORTALS = ("private", "public")


def _interactive() -> bool:
    # A terminal or a notebook kernel can show a sign-in link; CI and pipes cannot.
    if "ipykernel" in sys.modules:
        return True
    stdin = sys.stdin
    return bool(stdin is not None and stdin.isatty())


class Client:
    """A connection to one BrainSTEM server (or a compatible sandbox).

    Parameters
    ----------
    url : str
        Server root, e.g. ``"https://www.brainstem.org"``.
    credentials : Credentials, optional
        Token source; None for anonymous (public portal) use.
    portal : {"private", "public"}
        Default portal of every call.
    workers : int
        Concurrent page requests (1 = sequential).
    progress : bool
        Show progress bars on multi-page reads.

    Examples
    --------
    >>> client = Client("http://127.0.0.1:8000", portal="public")  # doctest: +SKIP
    >>> client.read("project").shape                               # doctest: +SKIP
    (4, 13)
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        credentials: Credentials | None = None,
        *,
        portal: str = "private",
        workers: int = 8,
        progress: bool = True,
        page_size: int = MAX_PAGE_SIZE,
        timeout: tuple[float, float] = (10.0, 120.0),
        retry: RetryPolicy | None = None,
        allow_insecure_http: bool = False,
        source: str = "",
    ) -> None:
        self.portal = _check_portal(portal)
        check_workers(workers)
        OffsetPaginator(page_size)  # validates the page size early
        self.workers, self.progress, self.page_size = workers, progress, page_size
        self.source = source
        self.transport = Transport(
            url, credentials, timeout=timeout, retry=retry, pool_size=workers, allow_insecure_http=allow_insecure_http
        )

    @property
    def url(self) -> str:
        """The server root."""
        return self.transport.base_url.rstrip("/")

    def __repr__(self) -> str:
        who = "anonymous" if self.transport.credentials is None else f"token from {self.source or 'caller'}"
        return f"<brainstem_pandas.Client {self.url} portal={self.portal} ({who}), workers={self.workers}>"

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close pooled connections."""
        self.transport.close()

    # -- URLs ---------------------------------------------------------------------
    def endpoint(self, model: str, portal: str | None = None, id: Any = None) -> str:
        """The API URL of a model's list (or of one record with ``id``).

        Examples
        --------
        >>> Client("http://127.0.0.1:8000").endpoint("dataacquisition", "public")
        'http://127.0.0.1:8000/api/public/modules/dataacquisition/'
        """
        spec = catalog.model(model)
        portal = _check_portal(portal or self.portal)
        url = self.transport.url(f"api/{portal}/{spec.app}/{spec.segment}/")
        return f"{url}{id}/" if id is not None else url

    # -- reading -----------------------------------------------------------------
    def _walk(
        self,
        model: str,
        filters: Mapping[str, Any] | None,
        sort: Any,
        include: Any,
        portal: str | None,
        progress: bool | None,
        workers: int | None,
    ) -> Walk:
        spec = catalog.model(model)
        params = build_params(spec, filters=filters, sort=sort, include=include)
        return Walk(
            self.transport,
            self.endpoint(spec.name, portal),
            params,
            OffsetPaginator(self.page_size),
            spec.list_key,
            model=spec,
            workers=self.workers if workers is None else workers,
            progress=self.progress if progress is None else progress,
            description=spec.name,
        )

    def iter_pages(
        self,
        model: str,
        filters: Mapping[str, Any] | None = None,
        sort: Iterable[str] | None = None,
        include: Iterable[str] | None = None,
        portal: str | None = None,
        progress: bool | None = None,
        workers: int | None = None,
        on_inconsistency: str = "raise",
    ) -> Iterator[Page]:
        """Yield every page of a model's list, in order, for streaming consumers.

        Each :class:`~brainstem_pandas.pagination.Page` carries the primary
        records and every sideloaded or nested related record. A stream cannot
        be re-walked: if the pages do not add up, a
        :class:`~brainstem_pandas.errors.PaginationError` is raised after the
        last page (or a warning, with ``on_inconsistency="warn"``).

        Examples
        --------
        >>> for page in client.iter_pages("session", include=["projects"]):  # doctest: +SKIP
        ...     print(len(page.records), len(page.related.get("projects", [])))
        """
        _check_read_options(workers, on_inconsistency)
        walk = self._walk(model, filters, sort, include, portal, progress, workers)
        yield from walk
        check_walk(walk, on_inconsistency)

    def read(
        self,
        model: str,
        filters: Mapping[str, Any] | None = None,
        sort: Iterable[str] | None = None,
        include: Iterable[str] | None = None,
        portal: str | None = None,
        progress: bool | None = None,
        workers: int | None = None,
        on_inconsistency: str = "raise",
    ) -> pd.DataFrame:
        """Every record of ``model`` you may see, as one typed DataFrame indexed by ``id``.

        Parameters
        ----------
        model : str
            Catalog model name (``"session"``, ``"dataacquisition"``, ...).
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

        Examples
        --------
        >>> client.read("session", filters={"date_time.gte": "2024-01-01"}, sort=["-date_time"])  # doctest: +SKIP
        """
        _check_read_options(workers, on_inconsistency)
        spec = catalog.model(model)
        pages = fetch_all(
            lambda: self._walk(spec.name, filters, sort, include, portal, progress, workers),
            on_inconsistency=on_inconsistency,
        )
        records = [r for page in pages for r in page.records]
        return records_frame(spec, records)

    def read_linked(
        self,
        model: str | Iterable[str],
        include: Any = None,
        filters: Any = None,
        sort: Iterable[str] | None = None,
        portal: str | None = None,
        progress: bool | None = None,
        workers: int | None = None,
        on_inconsistency: str = "raise",
    ) -> LinkedFrames:
        """Records of ``model`` and everything ``include`` brings, as linked typed tables.

        Pages are consumed as they arrive: only the growing columns are kept,
        never the raw pages. ``model`` may be a list of models: their tables
        share one :class:`LinkedFrames` (``include`` and ``filters`` then apply to
        each model, or may map model names to their own).

        Examples
        --------
        >>> lf = client.read_linked("session", include=["projects", "behaviors"])  # doctest: +SKIP
        >>> lf["session"], lf["project"], lf.links["session.projects"]             # doctest: +SKIP
        >>> lf.merge("session", "projects")                                        # doctest: +SKIP
        >>> everything = client.read_linked(client.readable_models())              # doctest: +SKIP
        """
        _check_read_options(workers, on_inconsistency)
        queries = self._queries(model, include, filters, sort)
        builder = FrameBuilder(queries[0][0])
        for name, inc, flt, srt in queries:
            self._read_into(builder, name, inc, flt, srt, portal, progress, workers, on_inconsistency)
        return builder.finish()

    def _queries(
        self, model: str | Iterable[str], include: Any, filters: Any, sort: Any
    ) -> list[tuple[str, list[str], dict[str, Any], list[str]]]:
        """(model, include, filters, sort) per model, each validated before anything is fetched."""
        names = [model] if isinstance(model, str) else list(model)
        if not names:
            raise ConfigurationError("No model given; name at least one, e.g. 'session'.")
        out = []
        for name in names:
            spec = catalog.model(name)
            inc = _for_model(include, spec.name, names, "include", list)
            flt = _for_model(filters, spec.name, names, "filters", dict)
            build_params(spec, filters=flt, sort=sort, include=inc)  # raises QueryError before any request
            out.append((spec.name, list(inc or []), dict(flt or {}), list(sort or [])))
        return out

    def _read_into(
        self,
        builder: FrameBuilder,
        model: str,
        include: list[str],
        filters: dict[str, Any],
        sort: list[str],
        portal: str | None,
        progress: bool | None,
        workers: int | None,
        on_inconsistency: str,
    ) -> dict[str, Any]:
        """Stream one model's pages into ``builder``; a re-walk first forgets the failed walk's records.

        Returns what the walk fetched: its parameters, records and the announced total.
        """
        mark = builder.checkpoint()
        seen = {"records": 0}

        def fresh() -> FrameBuilder:
            builder.rollback(mark)
            builder.declare(model, include)
            seen["records"] = 0
            return builder

        def add(target: FrameBuilder, page: Page) -> None:
            seen["records"] += len(page.records)
            target.add_page(page, model)

        walks: list[Walk] = []

        def walk() -> Walk:
            walks.append(self._walk(model, filters, sort, include, portal, progress, workers))
            return walks[-1]

        fetch_into(walk, fresh, add, on_inconsistency=on_inconsistency)
        return {
            "params": [list(p) for p in walks[-1].params],
            "include": include,
            "sort": sort,
            "filters": {k: _plain(v) for k, v in filters.items()},
            "records": seen["records"],
            "total": walks[-1].expected,
        }

    def readable_models(self, portal: str | None = None) -> list[str]:
        """Every model with a list endpoint on ``portal``, in catalog order.

        Examples
        --------
        >>> "session" in Client("http://127.0.0.1:8000").readable_models("public")
        True
        """
        portal = _check_portal(portal or self.portal)
        return [m.name for m in catalog.all_models().values() if portal in m.portals.get("list", ())]

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
        >>> manifest = client.snapshot("snapshots/2026-11-21")                       # doctest: +SKIP
        >>> client.snapshot("snapshots/sessions", models=["session"], include=["projects"])  # doctest: +SKIP
        """
        from brainstem_pandas.snapshot import SnapshotWriter

        portal = _check_portal(portal or self.portal)
        _check_read_options(workers, on_inconsistency)
        everything = models is None
        queries = self._queries(self.readable_models(portal) if everything else models, include, filters, None)
        with SnapshotWriter(path, server=self.url, portal=portal, primary=queries[0][0]) as writer:
            for name, inc, flt, srt in queries:
                try:
                    writer.queries[name] = self._read_into(
                        writer.builder, name, inc, flt, srt, portal, progress, workers, on_inconsistency
                    )
                except (PermissionDeniedError, NotFoundError) as exc:
                    if not everything:
                        raise
                    writer.skipped[name] = f"{type(exc).__name__}: {exc}"
            return writer.commit()

    def _url_walk(
        self,
        url: str,
        records_key: str,
        paginator: Paginator | None,
        params: Mapping[str, Any] | None,
        progress: bool | None,
    ) -> Any:
        pager = paginator or PageNumberPaginator(self.page_size)
        # The paginator sets these on every page; a second value would make the server pick one of them.
        clash = [key for key in (params or {}) if key in pager.first_params()]
        if clash:
            raise ConfigurationError(
                f"params sets {', '.join(map(repr, clash))}, which the paginator sets for "
                f"every page; remove {clash[0]!r} from params (every page is read)."
            )
        target = self.transport.url(url)
        return lambda: Walk(
            self.transport,
            target,
            list((params or {}).items()),
            pager,
            records_key,
            workers=self.workers,
            progress=self.progress if progress is None else progress,
            description=url,
        )

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
        >>> client.read_url("/brainmaps/v1/brains/", params={"verified": "true"})  # doctest: +SKIP
        """
        _check_read_options(None, on_inconsistency)
        pages = fetch_all(
            self._url_walk(url, records_key, paginator, params, progress), on_inconsistency=on_inconsistency
        )
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
        >>> lf = client.read_url_linked("/brainmaps/v1/brains/", "brain")  # doctest: +SKIP
        """
        _check_read_options(None, on_inconsistency)
        builder = fetch_into(
            self._url_walk(url, records_key, paginator, params, progress),
            lambda: FrameBuilder(name),
            FrameBuilder.add_page,
            on_inconsistency=on_inconsistency,
        )
        return builder.finish()

    def get(self, model: str, id: Any, include: Iterable[str] | None = None, portal: str | None = None) -> dict:
        """One record as a dict (``include`` embeds related records inline)."""
        spec = catalog.model(model)
        params = include_params(spec, include) + ([("sideloading", "false")] if include else [])
        _check_id(spec, id)
        url = self.endpoint(spec.name, portal, id)
        return _unwrap(self.transport.get(url, params=params), spec.detail_key, "GET", url)

    # -- writing -----------------------------------------------------------------
    def save(self, model: str, data: Mapping[str, Any], id: Any = None) -> dict:
        """Create (``id=None``: POST) or update (PATCH) a record; return the saved record.

        The documented rules are checked before sending (e.g. ``projects`` must be
        a list; ``extra_fields`` keys start with a letter); a breach raises
        :class:`~brainstem_pandas.errors.ValidationError` naming each field and
        nothing is sent. Models with an approval workflow answer with the pending
        approval record.

        Examples
        --------
        >>> client.save("session", {"name": "s1", "projects": [project_id]})  # doctest: +SKIP
        """
        spec = catalog.model(model)
        method = "POST" if id is None else "PATCH"
        if id is not None:
            _check_id(spec, id)
        url = self.endpoint(spec.name, "private", id)
        if not isinstance(data, Mapping):
            raise ValidationError(method, url, 0, f"data must be a dict of fields, not {type(data).__name__}")
        errors = rules.record_errors(spec.name, dict(data), partial=id is not None)
        if errors:
            raise ValidationError(method, url, 0, "", errors=errors)
        body = self.transport.request(method, url, json_body=dict(data))
        return _unwrap(body, spec.write_key or spec.detail_key, method, url, fallback=spec.detail_key)

    def delete(self, model: str, id: Any) -> None:
        """Delete a record (private portal)."""
        spec = catalog.model(model)
        _check_id(spec, id)
        self.transport.request("DELETE", self.endpoint(spec.name, "private", id))


class _OfflineWalk:
    """Pages answered from a snapshot: complete by construction, so its check always passes."""

    def __init__(self, pages: Iterator[Page], url: str, params: list[tuple[str, str]]) -> None:
        self._pages, self.url, self.params = pages, url, params
        self.received, self.expected = 0, None

    def __iter__(self) -> Iterator[Page]:
        for page in self._pages:
            self.received += len(page.records)
            self.expected = page.total if self.expected is None else self.expected
            yield page

    def problem(self) -> str | None:
        return None


class SnapshotClient(Client):
    """A :class:`Client` answering from a snapshot folder, offline.

    ``read``, ``read_linked``, ``iter_pages``, ``get`` and ``snapshot`` work as
    online, with the same filter, sort and include syntax applied locally and
    the same result types; writing needs the server. Made by
    ``connect(snapshot=path)``.

    Examples
    --------
    >>> offline = connect(snapshot="snapshots/2026-11-21")                     # doctest: +SKIP
    >>> offline.read("session", filters={"name.icontains": "rat"}, sort=["-date_time"])  # doctest: +SKIP
    """

    def __init__(
        self, path: str | os.PathLike, *, progress: bool = False, page_size: int = MAX_PAGE_SIZE, verify: bool = True
    ) -> None:
        from brainstem_pandas.offline import OfflineSource
        from brainstem_pandas.snapshot import read_snapshot

        frames = read_snapshot(path, verify=verify)
        self.path, self.manifest = Path(path), frames.manifest or {}
        super().__init__(
            self.manifest.get("server") or "http://127.0.0.1",
            None,
            portal=self.manifest.get("portal") or "private",
            progress=progress,
            page_size=page_size,
            source=f"snapshot {path}",
        )
        self.offline = OfflineSource(frames, walked=list(self.manifest.get("queries") or frames.tables))

    def __repr__(self) -> str:
        return (
            f"<brainstem_pandas.SnapshotClient {self.path} (offline; taken from {self.url}, "
            f"portal={self.portal}, {self.manifest.get('finished', '?')})>"
        )

    def _offline_portal(self, portal: str | None) -> None:
        if portal is not None and _check_portal(portal) != self.portal:
            raise SnapshotError(
                f"This snapshot holds the {self.portal} portal, not {portal!r}; take a snapshot "
                f"with portal={portal!r} to read it offline."
            )

    def _walk(
        self,
        model: str,
        filters: Mapping[str, Any] | None,
        sort: Any,
        include: Any,
        portal: str | None,
        progress: bool | None,
        workers: int | None,
    ) -> Any:
        self._offline_portal(portal)
        spec = catalog.model(model)
        params = build_params(spec, filters=filters, sort=sort, include=include)
        pages = self.offline.pages(spec.name, filters=filters, sort=sort, include=include, page_size=self.page_size)
        return _OfflineWalk(pages, f"{self.path}#{spec.name}", params)

    def readable_models(self, portal: str | None = None) -> list[str]:
        """The models this snapshot holds in full."""
        self._offline_portal(portal)
        return list(self.offline.models)

    def get(self, model: str, id: Any, include: Iterable[str] | None = None, portal: str | None = None) -> dict:
        """One record from the snapshot, as the server would give it."""
        self._offline_portal(portal)
        return self.offline.record(catalog.model(model).name, id, include=include)

    def _read_only(self, *args: Any, **kwargs: Any) -> Any:
        raise SnapshotError(
            f"{self.path} is a snapshot, read offline: it cannot be written to or asked for other "
            "endpoints. Connect to the server for that: bsp.connect(url)."
        )

    save = delete = read_url = read_url_linked = _read_only


def _for_model(value: Any, model: str, models: list[str], what: str, kind: type) -> Any:
    """``include``/``filters`` of one model: a mapping keyed by model names, or the same for every model."""
    # Filters keyed by model names hold a dict each ({"session": {...}}); a field may share a model's name.
    per_model = (
        isinstance(value, Mapping)
        and value
        and (
            kind is list
            or all(
                isinstance(v, Mapping) and isinstance(k, str) and k in catalog.all_models() for k, v in value.items()
            )
        )
    )
    if per_model:
        unknown = [k for k in value if catalog.model(k).name not in models]
        if unknown:
            names = ", ".join(map(repr, unknown))
            raise ConfigurationError(
                f"{what} names {names}, which is not among the models read: "
                f"{', '.join(models)}. Add {names} to the models, or leave it out of {what}."
            )
        picked = {catalog.model(k).name: v for k, v in value.items()}
        return picked.get(model)
    return value


def _plain(value: Any) -> Any:
    # Filter values as JSON for a manifest: lists stay lists, everything else as the API gets it.
    if isinstance(value, (list, tuple, set)):
        return [encode_value(v) for v in value]
    return encode_value(value)


def _check_read_options(workers: Any, on_inconsistency: Any) -> None:
    """Options every read shares, checked before anything is sent or written."""
    if workers is not None:
        check_workers(workers)
    check_on_inconsistency(on_inconsistency)


_ID_SHAPES = {
    "uuid": re.compile(r"[0-9A-Fa-f]{8}-?(?:[0-9A-Fa-f]{4}-?){3}[0-9A-Fa-f]{12}"),
    "integer": re.compile(r"[0-9]+"),
}


def _check_id(spec: catalog.Model, id: Any) -> None:
    """Refuse ids that cannot name one record: None, blanks, or text that would change the URL's path."""
    shape = _ID_SHAPES.get(spec.id_type)
    text = "" if id is None or isinstance(id, bool) else str(id)
    if not text or (shape is not None and not shape.fullmatch(text)) or "/" in text:
        raise QueryError(
            f"{id!r} is not a {spec.name} id (a {spec.id_type}); pass the id of one {spec.name}, "
            f"e.g. client.read({spec.name!r}).index[0]."
        )


def _check_portal(portal: str) -> str:
    if portal not in PORTALS:
        raise ConfigurationError(f"Unknown portal {portal!r}; use 'private' or 'public'.")
    return portal


def _unwrap(body: Any, key: str, method: str, url: str, fallback: str | None = None) -> dict:
    if isinstance(body, dict):
        for name in (key, fallback):
            if name and isinstance(body.get(name), dict):
                return body[name]
    raise ResponseError(
        method,
        url,
        f"the answer has no {key!r} record; check that the URL is the BrainSTEM "
        "server's root and the model is the one meant",
    )


def connect(
    url: str | None = None,
    token: str | None = None,
    portal: str = "private",
    *,
    email: str | None = None,
    password: str | None = None,
    interactive: bool | None = None,
    remember: bool = True,
    open_browser: bool = True,
    workers: int = 8,
    progress: bool = True,
    timeout: tuple[float, float] = (10.0, 120.0),
    retry: RetryPolicy | None = None,
    allow_insecure_http: bool = False,
    token_path: str | Path | None = None,
    snapshot: str | Path | None = None,
) -> Client:
    """Connect to BrainSTEM (or a sandbox) and return a :class:`Client`.

    The token comes from, in order: ``token``; ``BRAINSTEM_TOKEN`` (or
    ``BRAINSTEM_API_TOKEN``); the token cache file of the official tools
    (``~/.config/brainstem/token``); ``email`` + ``password`` where the server
    offers it; else, interactively, the browser sign-in (device flow), whose
    token is cached when ``remember`` is true. The public portal needs no token.

    Parameters
    ----------
    url : str, optional
        Server root; default ``BRAINSTEM_URL`` or https://www.brainstem.org.
    interactive : bool, optional
        Allow the browser sign-in; default: only in a terminal or notebook.
    snapshot : str or Path, optional
        Answer from this snapshot folder instead, offline (a :class:`SnapshotClient`).

    Examples
    --------
    >>> client = connect("http://127.0.0.1:8000", token="...")  # doctest: +SKIP
    >>> client = connect(portal="public")                       # doctest: +SKIP
    >>> offline = connect(snapshot="snapshots/2026-11-21")      # doctest: +SKIP
    """
    if snapshot is not None:
        if url or token or email or password:
            raise ConfigurationError("Pass either snapshot= (offline) or a server and credentials, not both.")
        return SnapshotClient(snapshot, progress=progress)
    url = url or os.environ.get("BRAINSTEM_URL") or DEFAULT_URL
    _check_portal(portal)
    path = Path(token_path) if token_path else None
    options = dict(
        portal=portal,
        workers=workers,
        progress=progress,
        timeout=timeout,
        retry=retry,
        allow_insecure_http=allow_insecure_http,
    )
    if email or password:
        if not (email and password):
            raise ConfigurationError("Pass both email and password (or neither).")
        pair = auth.password_login(url, email, password, allow_insecure_http=allow_insecure_http)
        return Client(url, pair, source="email and password", **options)
    found, source = auth.find_token(token, path)
    if found:
        return Client(url, auth.StaticToken(found), source=source, **options)
    if portal == "public":
        return Client(url, None, source="", **options)
    if interactive is None:
        interactive = _interactive()
    if not interactive:
        raise AuthenticationError(
            "No BrainSTEM token found. Pass token=..., set BRAINSTEM_TOKEN, sign in once with "
            "bsp.login(), or use portal='public' for public data."
        )
    new = login(
        url, remember=remember, open_browser=open_browser, token_path=path, allow_insecure_http=allow_insecure_http
    )
    return Client(url, auth.StaticToken(new), source="browser sign-in", **options)


def login(
    url: str | None = None,
    *,
    remember: bool = True,
    open_browser: bool = True,
    timeout: float | None = None,
    token_path: str | Path | None = None,
    allow_insecure_http: bool = False,
) -> str:
    """Sign in through the browser (device flow) and return a personal access token.

    With ``remember`` the token is cached (mode 0600) where the official tools
    look for it, so later ``connect()`` calls need nothing. Plain http is refused
    for hosts that are not loopback, unless ``allow_insecure_http``.
    """
    url = url or os.environ.get("BRAINSTEM_URL") or DEFAULT_URL
    token = auth.device_login(url, open_browser=open_browser, timeout=timeout, allow_insecure_http=allow_insecure_http)
    if remember:
        auth.save_token(token, Path(token_path) if token_path else None)
    return token


def logout(token_path: str | Path | None = None) -> bool:
    """Forget the cached token; True if one was removed."""
    return auth.logout(Path(token_path) if token_path else None)
