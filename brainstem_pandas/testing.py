"""Test without a server: a mock transport (in the spirit of ``httpx.MockTransport``) and list servers.

:class:`MockTransport` is a ``requests`` adapter that answers every request by
calling a *handler*, ``handler(request) -> Response``. Mounted into a
:class:`~brainstem_pandas.transport.Transport` (``Transport(url, adapter=mock)``,
:meth:`MockTransport.transport`, or :meth:`MockTransport.install` on one that
exists, such as ``client.transport``), it replaces only the network: retries,
redirects, credentials, error mapping, walks and re-walks all run for real. A
handler may raise ``requests.ConnectionError`` (a reset) or answer
``Response(truncated=True)`` (a body cut off mid-way).

:func:`serve_offset`, :func:`serve_pages` and :func:`serve_next_links` make
handlers that answer list requests from a list of records, in the three
pagination styles of :mod:`brainstem_pandas.pagination`; :func:`in_order` answers
a fixed sequence. Every request is kept in :attr:`MockTransport.requests`, so tests
count requests instead of timing them.

Examples
--------
>>> from brainstem_pandas.pagination import OffsetPaginator, Walk
>>> sessions = [{"id": n, "name": f"s{n}"} for n in range(1, 251)]
>>> mock = MockTransport(serve_offset(sessions, "sessions"))
>>> transport = mock.transport()
>>> walk = Walk(transport, transport.url("api/s/"), [], OffsetPaginator(), "sessions", progress=False)
>>> sum(len(page.records) for page in walk), walk.problem(), len(mock.requests)
(250, None, 3)
>>> sorted(int(r.params["offset"]) for r in mock.requests)  # pages overlap by one record (the seam)
[0, 99, 198]

A server that fails once, then answers:

>>> flaky = MockTransport(in_order(Response(503), Response(200, {"ok": True})))
>>> flaky.transport().get("api/thing/")
{'ok': True}
>>> [r.path for r in flaky.requests]
['/api/thing/', '/api/thing/']
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Callable, Iterator, Mapping, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import ProtocolError

from brainstem_pandas.transport import Transport

MOCK_URL = "https://brainstem.test"
"""The server root :meth:`MockTransport.transport` binds to by default (a reserved name: never on the network)."""


@dataclass(frozen=True)
class Request:
    """One request as the handler sees it.

    Attributes
    ----------
    method, url : str
        The request line (the URL with its query).
    headers : mapping
        The headers sent (``Authorization`` included, when there was one).
    body : bytes
        The body sent (JSON for the toolkit's writes and sign-ins).
    """

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def path(self) -> str:
        """The URL's path, e.g. ``/api/private/stem/session/``."""
        return urlsplit(self.url).path

    @property
    def query(self) -> list[tuple[str, str]]:
        """Every query parameter, in order (repeated names repeat)."""
        return parse_qsl(urlsplit(self.url).query, keep_blank_values=True)

    @property
    def params(self) -> dict[str, str]:
        """The query parameters as a dict (the last value of a repeated name)."""
        return dict(self.query)

    def json(self) -> Any:
        """The body decoded as JSON (None when empty)."""
        return json.loads(self.body) if self.body else None


@dataclass(frozen=True)
class Response:
    """The handler's answer.

    Attributes
    ----------
    status : int
        HTTP status.
    body : object
        ``bytes`` or ``str`` are sent as they are; anything else is sent as JSON
        (``None``: an empty body).
    headers : mapping
        Headers to send (``Content-Type: application/json`` is added for JSON bodies).
    truncated : bool
        Break the connection halfway through the body, as a server that dies mid-answer.
    """

    status: int = 200
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    truncated: bool = False

    def content(self) -> bytes:
        """The body's bytes."""
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


Handler = Callable[[Request], Response]


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:  # a status HTTP does not name (e.g. 599)
        return ""


class _Body:
    """The raw stream of a mock answer, as ``requests`` reads it (``stream`` and ``close``)."""

    def __init__(self, data: bytes, truncated: bool) -> None:
        self.data, self.truncated = data, truncated

    def stream(self, amt: int | None = None, decode_content: bool | None = None) -> Iterator[bytes]:
        if not self.truncated:
            yield self.data
            return
        yield self.data[: len(self.data) // 2]
        raise ProtocolError("Connection broken: IncompleteRead (the mock cut the body off)")

    def close(self) -> None:
        """Nothing to release."""


class MockTransport(BaseAdapter):
    """A ``requests`` adapter answering each request with ``handler(request)``.

    Parameters
    ----------
    handler : callable
        ``handler(Request) -> Response``; may raise ``requests.ConnectionError`` or
        ``requests.Timeout`` to simulate a network failure. Called from the walk's
        threads, so a handler that keeps state must be thread-safe.

    Attributes
    ----------
    requests : list of Request
        Every request received, in order of arrival.
    """

    def __init__(self, handler: Handler) -> None:
        super().__init__()
        self.handler = handler
        self.requests: list[Request] = []
        self._lock = threading.Lock()

    def send(  # type: ignore[override]  # requests' stubs type the optional arguments loosely
        self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None, **kwargs: Any
    ) -> requests.Response:
        """Answer ``request`` with the handler (``requests`` calls this)."""
        body = request.body or b""
        seen = Request(
            method=request.method or "GET",
            url=request.url or "",
            headers=dict(request.headers),
            body=body.encode() if isinstance(body, str) else body,
        )
        with self._lock:
            self.requests.append(seen)
        return self._build(request, self.handler(seen))

    def _build(self, request: requests.PreparedRequest, answer: Response) -> requests.Response:
        response = requests.Response()
        response.status_code = answer.status
        headers = CaseInsensitiveDict(dict(answer.headers))
        if answer.body is not None and not isinstance(answer.body, (bytes, str)):
            headers.setdefault("Content-Type", "application/json")
        response.headers = headers
        response.raw = _Body(answer.content(), answer.truncated)
        response.url = request.url or ""
        response.request = request
        response.reason = _reason(answer.status)
        response.encoding = None
        return response

    def close(self) -> None:
        """Nothing to close."""

    def install(self, transport: Transport) -> Transport:
        """Mount this adapter into ``transport`` (for http and https) and return it.

        Examples
        --------
        >>> sid = "00000000-0000-4000-8000-000000000001"
        >>> mock = MockTransport(lambda request: Response(200, {"session": {"id": sid, "name": "mocked"}}))
        >>> _ = mock.install(client.transport)
        >>> client.get("session", sid)["name"], mock.requests[0].path
        ('mocked', '/api/private/stem/session/00000000-0000-4000-8000-000000000001/')
        """
        transport.session.mount("http://", self)
        transport.session.mount("https://", self)
        return transport

    def transport(self, base_url: str = MOCK_URL, **options: Any) -> Transport:
        """A new :class:`~brainstem_pandas.transport.Transport` to ``base_url`` sending through this adapter.

        ``options`` go to the Transport (credentials, retry, follow_redirects, ...).
        """
        return Transport(base_url, adapter=self, **options)


def in_order(*answers: Response | BaseException) -> Handler:
    """A handler giving ``answers`` one per request, in order, then repeating the last; exceptions are raised.

    Examples
    --------
    >>> handler = in_order(requests.ConnectionError("reset"), Response(204))
    >>> handler(Request("GET", "https://x.test/"))
    Traceback (most recent call last):
    ...
    requests.exceptions.ConnectionError: reset
    >>> handler(Request("GET", "https://x.test/")).status, handler(Request("GET", "https://x.test/")).status
    (204, 204)
    """
    lock, queue = threading.Lock(), itertools.chain(answers[:-1], itertools.repeat(answers[-1]))

    def handler(request: Request) -> Response:
        with lock:
            answer = next(queue)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    return handler


def _link(request: Request, **params: Any) -> str:
    """``request``'s URL with ``params`` set in its query."""
    parts = urlsplit(request.url)
    query = {**dict(parse_qsl(parts.query)), **{k: str(v) for k, v in params.items()}}
    return urlunsplit(parts._replace(query=urlencode(query)))


def serve_offset(records: Sequence[dict], key: str, *, envelope: str = "count", default_limit: int = 20) -> Handler:
    """A handler answering ``limit``/``offset`` list requests from ``records`` (BrainSTEM's style).

    Parameters
    ----------
    records : sequence of dict
        The list served (read at each request: change it to simulate records
        created or deleted during a walk).
    key : str
        Response key of the records, e.g. ``"sessions"``.
    envelope : {"count", "meta", "bare", "docs", "pages"}
        Total as ``count`` with ``next``/``previous`` links, as ``meta.total_results``, or no
        total; or as the sandbox's envelopes of the same names (a path under ``/api/public/``
        is a public list): ``docs`` answers public lists with dynamic-rest's ``meta`` and
        private ones bare; ``pages`` too, but public lists by page number (:func:`serve_pages`
        with ``size_param="per_page"``, ``envelope="meta"``: limit and offset ignored).

    Examples
    --------
    >>> answer = serve_offset([{"id": 1}, {"id": 2}], "things", envelope="meta")(
    ...     Request("GET", "https://x.test/?limit=1&offset=1")
    ... )
    >>> answer.body
    {'things': [{'id': 2}], 'meta': {'total_results': 2}}
    >>> serve_offset([{"id": 1}, {"id": 2}], "things", envelope="docs")(
    ...     Request("GET", "https://x.test/api/public/x/things/?limit=1&offset=1")
    ... ).body
    {'things': [{'id': 2}], 'meta': {'page': 2, 'per_page': 1, 'total_pages': 2, 'total_results': 2}}
    """
    by_page = serve_pages(records, key, size_param="per_page", envelope="meta", default_size=default_limit, largest=100)

    def handler(request: Request) -> Response:
        public = request.path.startswith("/api/public/")
        if envelope == "pages" and public:
            return by_page(request)
        params = request.params
        limit, offset = int(params.get("limit", default_limit)), int(params.get("offset", 0))
        page, total = list(records[offset : offset + limit]), len(records)
        if envelope == "meta":
            return Response(200, {key: page, "meta": {"total_results": total}})
        if envelope == "bare" or (envelope in ("docs", "pages") and not public):
            return Response(200, {key: page})
        if envelope in ("docs", "pages"):
            return Response(200, {key: page, "meta": _meta(offset // limit + 1, limit, total)})
        following = _link(request, limit=limit, offset=offset + limit) if offset + limit < total else None
        earlier = _link(request, limit=limit, offset=max(offset - limit, 0)) if offset else None
        return Response(200, {"count": total, "next": following, "previous": earlier, key: page})

    return handler


def _meta(page: int, size: int, total: int) -> dict[str, int]:
    """dynamic-rest's ``meta`` of a page-number answer."""
    return {"page": page, "per_page": size, "total_pages": max(1, -(-total // size)), "total_results": total}


def serve_pages(
    records: Sequence[dict],
    key: str = "results",
    *,
    page_param: str = "page",
    size_param: str = "page_size",
    envelope: str = "count",
    default_size: int = 100,
    largest: int | None = None,
) -> Handler:
    """A handler answering ``page``/``page_size`` requests from ``records`` (Django REST framework's style).

    A page past the last answers 404, as Django REST framework does. With
    ``envelope="meta"`` the answer holds dynamic-rest's ``meta`` (``page``,
    ``per_page``, ``total_pages``, ``total_results``) instead of ``count``/``next``/``previous``;
    ``largest`` caps the page size asked for.

    Examples
    --------
    >>> serve_pages([{"id": 1}, {"id": 2}, {"id": 3}])(Request("GET", "https://x.test/?page=2&page_size=2")).body
    {'count': 3, 'next': None, 'previous': 'https://x.test/?page=1&page_size=2', 'results': [{'id': 3}]}
    >>> serve_pages([{"id": 1}], size_param="per_page", envelope="meta")(Request("GET", "https://x.test/?limit=5")).body
    {'meta': {'page': 1, 'per_page': 100, 'total_pages': 1, 'total_results': 1}, 'results': [{'id': 1}]}
    """

    def handler(request: Request) -> Response:
        params = request.params
        number, size = int(params.get(page_param, 1)), int(params.get(size_param, default_size))
        size = min(size, largest) if largest else size
        start, total = (number - 1) * size, len(records)
        if number < 1 or (start >= total and number > 1):
            return Response(404, {"detail": "Invalid page."})
        if envelope == "meta":
            return Response(200, {"meta": _meta(number, size, total), key: list(records[start : start + size])})
        following = _link(request, **{page_param: number + 1}) if start + size < total else None
        earlier = _link(request, **{page_param: number - 1}) if number > 1 else None
        return Response(
            200, {"count": total, "next": following, "previous": earlier, key: list(records[start : start + size])}
        )

    return handler


def serve_next_links(
    records: Sequence[dict], key: str, *, size_param: str = "limit", default_size: int = 20
) -> Handler:
    """A handler answering with ``next`` links only (a cursor, no total), from ``records``.

    Examples
    --------
    >>> serve_next_links([{"id": 1}, {"id": 2}], "things")(Request("GET", "https://x.test/?limit=1")).body
    {'next': 'https://x.test/?limit=1&cursor=1', 'things': [{'id': 1}]}
    """

    def handler(request: Request) -> Response:
        params = request.params
        size, cursor = int(params.get(size_param, default_size)), int(params.get("cursor", 0))
        following = _link(request, cursor=cursor + size) if cursor + size < len(records) else None
        return Response(200, {"next": following, key: list(records[cursor : cursor + size])})

    return handler
