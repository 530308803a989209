"""Where a client's pages come from: a BrainSTEM server (:class:`HttpSource`) or a snapshot (:class:`SnapshotSource`).

A :class:`Source` answers a checked :class:`~brainstem_pandas.query.Query` with a
*walk*: an iterable of :class:`~brainstem_pandas.pagination.Page` that can tell,
once iterated, whether its pages add up. The :class:`~brainstem_pandas.client.Client`
turns walks into frames the same way for either source; what only a server can do
(writing, other endpoints) lives on :class:`HttpSource` alone.

>>> source = HttpSource(sandbox.url, None)
>>> query = Query("project", portal="public")
>>> pages = list(source.walk(query, ReadOptions(progress=False)))
>>> sum(len(page.records) for page in pages) == pages[0].total
True
"""

from __future__ import annotations

import dataclasses
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol

from brainstem_pandas import catalog, rules
from brainstem_pandas.errors import (
    Cancelled,
    ConfigurationError,
    QueryError,
    ResponseError,
    SnapshotError,
    ValidationError,
)
from brainstem_pandas.offline import OfflineSource
from brainstem_pandas.pagination import (
    MAX_PAGE_SIZE,
    MAX_PAGES,
    Chosen,
    OffsetPaginator,
    Page,
    PageNumberPaginator,
    Paginator,
    Verified,
    Walk,
    Walked,
    check_on_inconsistency,
    check_workers,
)
from brainstem_pandas.query import PORTALS, Query, check_portal, include_params
from brainstem_pandas.snapshot import read_snapshot
from brainstem_pandas.transport import Credentials, RetryPolicy, Transport

DEFAULT_URL = "https://www.brainstem.org"


@dataclass(frozen=True)
class ReadOptions:
    """How a read runs: concurrent pages, a progress bar, what to do when pages do not add up, page size, page cap,
    and ``limit``, the records wanted at most (None: every record).

    Checked once, when made; :meth:`but` gives a copy with some options changed
    (and checked again).

    Examples
    --------
    >>> ReadOptions().but(workers=2, progress=None)
    ReadOptions(workers=2, progress=True, on_inconsistency='raise', page_size=100, max_pages=100000, limit=None)
    >>> ReadOptions(workers=0)
    Traceback (most recent call last):
    ...
    brainstem_pandas.errors.ConfigurationError: workers must be a whole number from 1 to 64, not 0; ...
    """

    workers: int = 8
    progress: bool = True
    on_inconsistency: str = "raise"
    page_size: int = MAX_PAGE_SIZE
    max_pages: int = MAX_PAGES
    limit: int | None = None

    def __post_init__(self) -> None:
        check_workers(self.workers)
        if isinstance(self.max_pages, bool) or not isinstance(self.max_pages, int) or self.max_pages < 1:
            raise ConfigurationError(
                f"max_pages must be a whole number of at least 1, not {self.max_pages!r}; pass the most "
                f"pages one walk may send (the default is {MAX_PAGES})."
            )
        check_on_inconsistency(self.on_inconsistency)
        OffsetPaginator(self.page_size, records=self.limit)  # refuses a page size the API would not honour

    def but(self, **changes: Any) -> "ReadOptions":
        """A copy with the options given (those that are not None) changed."""
        given = {name: value for name, value in changes.items() if value is not None}
        return dataclasses.replace(self, **given) if given else self


@dataclass(frozen=True)
class ReadProgress:
    """What ``read_linked(on_page=...)`` is told after each page is added.

    Attributes
    ----------
    model : str
        The model being read.
    page : Page
        The page just added.
    records : int
        Records of ``model`` added so far in this walk.
    total : int or None
        The total the server announced (None when it announces none).
    walk : int
        1 for the first walk; more when the pages did not add up and the model is read again.
    """

    model: str
    page: Page
    records: int
    total: int | None
    walk: int


CancelSignal = threading.Event | Callable[[], bool]


def cancelled(cancel: CancelSignal | None) -> bool:
    """Whether ``cancel`` (an Event, a callable, or None for never) says stop."""
    if cancel is None:
        return False
    return cancel.is_set() if isinstance(cancel, threading.Event) else bool(cancel())


def check_hooks(on_page: Any, cancel: Any) -> None:
    """Refuse an ``on_page`` that is not callable, or a ``cancel`` that is neither an Event nor callable."""
    if on_page is not None and not callable(on_page):
        raise ConfigurationError(
            f"on_page must be a function called with each page's progress, not {type(on_page).__name__}."
        )
    if cancel is not None and not (isinstance(cancel, threading.Event) or callable(cancel)):
        raise ConfigurationError(
            f"cancel must be a threading.Event or a function returning True to stop, not {type(cancel).__name__}."
        )


def stop_if_cancelled(cancel: CancelSignal | None, model: str, records: int) -> None:
    """Raise :class:`~brainstem_pandas.errors.Cancelled` when ``cancel`` is set (or returns true)."""
    if cancelled(cancel):
        raise Cancelled(
            f"The read of {model} was cancelled after {records:,} records; nothing of it was returned. "
            "Read again to have them."
        )


class Source(Protocol):
    """What a :class:`~brainstem_pandas.client.Client` reads from.

    ``url`` is the server the records come from; ``portals`` are the portals the
    source can answer, the first being the default.
    """

    portals: tuple[str, ...]

    @property
    def url(self) -> str:
        """The server the records come from ("" when unknown)."""
        ...

    def walk(self, query: Query, options: ReadOptions) -> Walked:
        """A fresh walk over the pages answering ``query``."""
        ...

    def readable_models(self, portal: str) -> list[str]:
        """The models that can be listed on ``portal``."""
        ...

    def get(self, model: catalog.Model, id: Any, include: tuple[str, ...], portal: str) -> dict:
        """One record (``include`` embeds related records inline)."""
        ...

    def close(self) -> None:
        """Let go of what the source holds open."""
        ...


_ID_SHAPES = {
    "uuid": re.compile(r"[0-9A-Fa-f]{8}-?(?:[0-9A-Fa-f]{4}-?){3}[0-9A-Fa-f]{12}"),
    "integer": re.compile(r"[0-9]+"),
}


def check_id(model: catalog.Model, id: Any) -> None:
    """Refuse ids that cannot name one record: None, blanks, or text that would change the URL's path.

    Examples
    --------
    >>> check_id(catalog.model("user"), "3/../4")
    Traceback (most recent call last):
    ...
    brainstem_pandas.errors.QueryError: '3/../4' is not a user id (a integer); ...
    """
    shape = _ID_SHAPES.get(model.id_type)
    text = "" if id is None or isinstance(id, bool) else str(id)
    if not text or (shape is not None and not shape.fullmatch(text)) or "/" in text:
        raise QueryError(
            f"{id!r} is not a {model.name} id (a {model.id_type}); pass the id of one {model.name}, "
            f"e.g. client.read({model.name!r}).index[0]."
        )


class HttpSource:
    """A BrainSTEM server (or a compatible sandbox) reached through a :class:`~brainstem_pandas.transport.Transport`.

    Examples
    --------
    >>> HttpSource("http://127.0.0.1:8000").endpoint("dataacquisition", "public")
    'http://127.0.0.1:8000/api/public/modules/dataacquisition/'
    """

    portals: tuple[str, ...] = PORTALS

    def __init__(
        self,
        url: str = DEFAULT_URL,
        credentials: Credentials | None = None,
        *,
        timeout: tuple[float, float] = (10.0, 120.0),
        retry: RetryPolicy | None = None,
        pool_size: int = 8,
        allow_insecure_http: bool = False,
    ) -> None:
        self.transport = Transport(
            url, credentials, timeout=timeout, retry=retry, pool_size=pool_size, allow_insecure_http=allow_insecure_http
        )

    @property
    def url(self) -> str:
        """The server root."""
        return self.transport.base_url.rstrip("/")

    def __repr__(self) -> str:
        # Half-built when its Transport refused the URL: tracebacks that show locals repr it even so.
        return f"<HttpSource {self.url}>" if "transport" in vars(self) else "<HttpSource (not connected)>"

    def close(self) -> None:
        """Close pooled connections."""
        self.transport.close()

    def endpoint(self, model: str, portal: str, id: Any = None) -> str:
        """The API URL of a model's list (or of one record with ``id``)."""
        spec = catalog.model(model)
        url = self.transport.url(f"api/{check_portal(portal)}/{spec.app}/{spec.segment}/")
        return f"{url}{id}/" if id is not None else url

    def walk(self, query: Query, options: ReadOptions) -> Chosen:
        """A walk over the pages of ``query``'s list endpoint (offset pages, or the server's own style).

        In id order (no sort, or ``id`` alone) the seams prove the walk; any other
        sort is followed by a check walk in id order; pages without seams (a server
        paginating by page number) and sorted limited reads by a second pass
        (see :mod:`brainstem_pandas.pagination`).
        """
        walk = self._walk(self.endpoint(query.model, query.portal), list(query.params), query.spec, options)
        return Chosen(walk, lambda done: self._check(done, query, options.but(progress=False)))

    def _check(self, done: Walk, query: Query, options: ReadOptions) -> tuple[Callable[[], Walked], str] | None:
        """The check walk a finished walk needs, and how it is compared (None: its seams prove it)."""
        by_id, known = all(key.lstrip("-") == "id" for key in query.sort), done.expected
        if done.paginator.overlap == 0 or (options.limit is not None and not by_id):
            if done.pages <= 1:
                return None  # one answer is one consistent look at the list
            # The same pages again, in the style the server turned out to use, all asked for at once.
            return lambda: self._walk(done.url, done.params, query.spec, options, done.paginator, known), "same"
        if by_id:
            return None
        # Same filters, no include (only ids are compared), in an order no edit can change.
        ids = [(k, v) for k, v in query.params if k != "sort[]" and k != "include[]"] + [("sort[]", "id")]
        return lambda: self._walk(done.url, ids, query.spec, options, None, known), "contains"

    def _walk(
        self,
        url: str,
        params: list[tuple[str, Any]],
        spec: catalog.Model,
        options: ReadOptions,
        paginator: Paginator | None = None,
        known: int | None = None,
    ) -> Walk:
        return Walk(
            self.transport,
            url,
            params,
            paginator or OffsetPaginator(options.page_size, records=options.limit),
            spec.list_key,
            model=spec,
            workers=options.workers,
            progress=options.progress,
            description=spec.name,
            max_pages=options.max_pages,
            known=known,
        )

    def url_walk(
        self,
        url: str,
        records_key: str,
        paginator: Paginator | None,
        params: Mapping[str, Any] | None,
        options: ReadOptions,
    ) -> Callable[[], Walk | Verified]:
        """Fresh walks over any list endpoint of this server (page-number pages unless ``paginator`` says).

        Offset pages with no sort parameter are proven by their seams; other
        styles (and sorts) are walked twice and must agree (see :mod:`brainstem_pandas.pagination`).
        """
        if not isinstance(url, str) or not url:
            raise ConfigurationError(
                f"url must be the text of a list endpoint, such as '/brainmaps/v1/brains/', not {url!r}."
            )
        pager = paginator or PageNumberPaginator(options.page_size)
        # The paginator sets these on every page; a second value would make the server pick one of them.
        clash = [key for key in (params or {}) if key in pager.first_params()]
        if clash:
            raise ConfigurationError(
                f"params sets {', '.join(map(repr, clash))}, which the paginator sets for "
                f"every page; remove {clash[0]!r} from params (every page is read)."
            )
        target = self.transport.url(url)

        def walk() -> Walk:
            return Walk(
                self.transport,
                target,
                list((params or {}).items()),
                pager,
                records_key,
                workers=options.workers,
                progress=options.progress,
                description=url,
                max_pages=options.max_pages,
            )

        if pager.overlap and not any("sort" in str(key) or "order" in str(key) for key in params or {}):
            return walk
        return lambda: Verified(walk(), walk, "same")

    def readable_models(self, portal: str) -> list[str]:
        """Every model with a list endpoint on ``portal``, in catalog order."""
        check_portal(portal)
        return [m.name for m in catalog.all_models().values() if portal in m.portals.get("list", ())]

    def get(self, model: catalog.Model, id: Any, include: tuple[str, ...], portal: str) -> dict:
        """One record as a dict (``include`` embeds related records inline)."""
        params = include_params(model, include) + ([("sideloading", "false")] if include else [])
        check_id(model, id)
        url = self.endpoint(model.name, portal, id)
        return _unwrap(self.transport.get(url, params=params), model.detail_key, "GET", url)

    def save(self, model: catalog.Model, data: Mapping[str, Any], id: Any = None) -> dict:
        """Create (POST) or update (PATCH) a record after the documented rules; the saved record."""
        method = "POST" if id is None else "PATCH"
        if id is not None:
            check_id(model, id)
        url = self.endpoint(model.name, "private", id)
        if not isinstance(data, Mapping):
            raise ValidationError(method, url, 0, f"data must be a dict of fields, not {type(data).__name__}")
        errors = rules.record_errors(model.name, dict(data), partial=id is not None)
        if errors:
            raise ValidationError(method, url, 0, "", errors=errors)
        body = self.transport.request(method, url, json_body=dict(data))
        return _unwrap(body, model.write_key or model.detail_key, method, url, fallback=model.detail_key)

    def delete(self, model: catalog.Model, id: Any) -> None:
        """Delete a record (private portal)."""
        check_id(model, id)
        self.transport.request("DELETE", self.endpoint(model.name, "private", id))


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


class OfflineWalk:
    """Pages answered from a snapshot: complete by construction, so its check always passes."""

    def __init__(self, pages: Iterable[Page], url: str, params: list[tuple[str, str]]) -> None:
        self._pages, self.url, self.params = pages, url, params
        self.received, self.pages = 0, 0
        self.expected: int | None = None

    def __iter__(self) -> Iterator[Page]:
        for page in self._pages:
            self.received += len(page.records)
            self.pages += 1
            self.expected = page.total if self.expected is None else self.expected
            yield page

    def problem(self) -> str | None:
        """Always None: a snapshot does not change while it is read."""
        return None


def _first(pages: Iterable[Page], limit: int | None) -> Iterator[Page]:
    """``pages`` up to the first ``limit`` records (every page when None)."""
    left = limit
    for page in pages:
        if left is not None:
            page.records = page.records[:left]
            left -= len(page.records)
        yield page
        if left == 0:
            return


class SnapshotSource:
    """A snapshot folder, answering list queries and records offline as its server would.

    Examples
    --------
    >>> _ = client.snapshot(tmp / "snap", models=["project"])
    >>> source = SnapshotSource(tmp / "snap")
    >>> source.readable_models("private")
    ['project']
    >>> source.readable_models("public")
    Traceback (most recent call last):
    ...
    brainstem_pandas.errors.SnapshotError: This snapshot holds the private portal, not 'public'; ...
    """

    def __init__(self, path: str | os.PathLike, *, verify: bool = True) -> None:
        frames = read_snapshot(path, verify=verify)
        self.path, self.manifest = Path(path), frames.manifest or {}
        self.url: str = self.manifest.get("server") or ""
        self.portals: tuple[str, ...] = (self.manifest.get("portal") or "private",)
        self.offline = OfflineSource(frames, walked=list(self.manifest.get("queries") or frames.tables))

    def __repr__(self) -> str:
        return f"<SnapshotSource {self.path}>"

    def close(self) -> None:
        """Nothing to close: the tables are in memory."""

    def _portal(self, portal: str) -> None:
        if check_portal(portal) not in self.portals:
            raise SnapshotError(
                f"This snapshot holds the {self.portals[0]} portal, not {portal!r}; take a snapshot "
                f"with portal={portal!r} to read it offline."
            )

    def walk(self, query: Query, options: ReadOptions) -> OfflineWalk:
        """The matching records in pages of ``options.page_size``, as the server would give them."""
        self._portal(query.portal)
        # The Query is already checked: the offline source uses it as it is (no second validation).
        pages = self.offline.pages(query, page_size=options.page_size)
        return OfflineWalk(_first(pages, options.limit), f"{self.path}#{query.model}", list(query.params))

    def readable_models(self, portal: str) -> list[str]:
        """The models this snapshot holds in full."""
        self._portal(portal)
        return list(self.offline.models)

    def get(self, model: catalog.Model, id: Any, include: tuple[str, ...], portal: str) -> dict:
        """One record from the snapshot, as the server would give it."""
        self._portal(portal)
        return self.offline.record(model.name, id, include=include)


__all__ = [
    "DEFAULT_URL",
    "CancelSignal",
    "ReadProgress",
    "cancelled",
    "check_id",
    "stop_if_cancelled",
    "HttpSource",
    "OfflineWalk",
    "ReadOptions",
    "Source",
    "SnapshotSource",
]
