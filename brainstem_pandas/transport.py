"""HTTP for brainstem_pandas: one session, timeouts, retries, and typed errors.

A :class:`Transport` owns one ``requests.Session`` whose connection pool matches the
client's concurrency. Every request has connect and read timeouts. Connection
errors, cut-off bodies and the statuses in :attr:`RetryPolicy.statuses` are retried
with exponential backoff and jitter, honouring ``Retry-After`` (seconds or an HTTP
date; zero or negative values are ignored so that a misbehaving server cannot
cause a hot loop) and ``X-RateLimit-Reset``, with caps on attempts and on the total
wait. Everything else becomes one of the errors of :mod:`brainstem_pandas.errors`.

The ``Authorization`` header is attached only to requests for the server the
client was connected to (same scheme, host and port): a ``next`` link or a
redirect to anywhere else never carries the token. Redirects are therefore
followed here, not by requests.
"""

from __future__ import annotations

import collections
import contextlib
import ipaddress
import json
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter

from brainstem_pandas._version import __version__
from brainstem_pandas.errors import (
    APIError,
    ConfigurationError,
    RateLimitError,
    ResponseError,
    TransportError,
    ValidationError,
    error_class,
    truncate,
)

log = logging.getLogger("brainstem_pandas")

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
MAX_REDIRECTS = 5
# Most paced 429 retries of one request (each waits as the server asks, within max_wait).
MAX_PACED = 100
_BROKEN_BODY = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)


class Credentials(Protocol):
    """Something that yields an ``Authorization`` header and can try to renew it."""

    def header(self) -> str | None:
        """The header value, e.g. ``"Bearer abc"``, or None for anonymous access."""

    def renew(self, failed_header: str | None) -> bool:
        """Try to get fresh credentials after a 401; True if a retry may help."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before giving up.

    Parameters
    ----------
    attempts : int
        Tries per request, the first included. A 429 that says how long to wait
        (``Retry-After``) is waited for without using up a try; ``max_wait`` bounds those.
    backoff : float
        First backoff delay in seconds; doubles per attempt (with jitter).
    max_delay : float
        Longest single wait.
    max_wait : float
        Longest total wait per request; a server asking for more gets a
        :class:`~brainstem_pandas.errors.RateLimitError` at once.
    statuses : frozenset
        Statuses that are retried.

    Examples
    --------
    >>> RetryPolicy(attempts=3).delay(0, retry_after=2.0)
    2.0
    """

    # 8 tries with waits of 0.25, 0.5, 1, 2, 4, 8, 8 s (about 24 s in all, with jitter): a page
    # survives a run of failures on a flaky server, and a dead one is given up in bounded time.
    attempts: int = 8
    backoff: float = 0.25
    max_delay: float = 8.0
    max_wait: float = 120.0
    statuses: frozenset = field(default=frozenset({429, 500, 502, 503, 504}))

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt + 1``."""
        if retry_after is not None and retry_after > 0:
            return retry_after  # the caller gives up when this exceeds max_wait
        base = min(self.max_delay, self.backoff * (2**attempt))
        return base * random.uniform(0.5, 1.5)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (seconds or HTTP date); None if absent or not positive.

    Examples
    --------
    >>> parse_retry_after("3")
    3.0
    >>> parse_retry_after("0") is None
    True
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when - (time.time() if now is None else now)
    return seconds if seconds > 0 else None


def _rate_reset_wait(response: requests.Response) -> float | None:
    # Only meaningful when the window is used up.
    if response.headers.get("X-RateLimit-Remaining", "").strip() != "0":
        return None
    try:
        reset = float(response.headers["X-RateLimit-Reset"])
    except (KeyError, ValueError):
        return None
    # Servers send either an epoch time or seconds until the reset.
    wait = reset - time.time() if reset > 1e9 else reset
    return wait if wait > 0 else None


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with default ports filled in."""
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def is_loopback(url: str) -> bool:
    """True for localhost and loopback addresses."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_secure(url: str, allow_insecure_http: bool = False, what: str = "a token") -> None:
    """Refuse to send ``what`` (a secret) over plain http to a host that is not loopback, unless allowed.

    Examples
    --------
    >>> check_secure("http://127.0.0.1:8000")
    >>> check_secure("http://example.org", allow_insecure_http=True)
    """
    parts = urlsplit(url)
    if parts.scheme == "http" and not allow_insecure_http and not is_loopback(url):
        raise ConfigurationError(
            f"Refusing to send {what} over plain http to {parts.hostname}: use https, "
            "or pass allow_insecure_http=True if you really mean it."
        )


def _detail_and_errors(body: Any) -> tuple[str, dict[str, list[str]]]:
    if isinstance(body, dict):
        errors = {
            k: (v if isinstance(v, list) else [v])
            for k, v in body.items()
            if k not in ("detail", "error") and isinstance(v, (list, str))
        }
        detail = body.get("detail")
        if isinstance(detail, dict):  # brainmaps-style per-field detail
            errors = {**errors, **{k: [str(v)] for k, v in detail.items()}}
            detail = ""
        title = body.get("error")
        text = " - ".join(str(p) for p in (title, detail) if p)
        return text, {k: [str(m) for m in v] for k, v in errors.items()}
    if isinstance(body, list):
        return "; ".join(map(str, body)), {}
    return "" if body is None else str(body), {}


class Transport:
    """One HTTP session bound to one server.

    Parameters
    ----------
    base_url : str
        Server root, e.g. ``"https://www.brainstem.org"``.
    credentials : Credentials, optional
        Supplies the ``Authorization`` header; None for anonymous requests.
    timeout : (float, float)
        Connect and read timeouts in seconds.
    retry : RetryPolicy
        Retry limits.
    pool_size : int
        Connections kept open; match it to the number of concurrent workers.
    allow_insecure_http : bool
        Permit sending credentials over plain http to a host that is not loopback.

    Examples
    --------
    >>> t = Transport("http://127.0.0.1:8000")
    >>> t.url("api/public/stem/session/")
    'http://127.0.0.1:8000/api/public/stem/session/'
    """

    def __init__(
        self,
        base_url: str,
        credentials: Credentials | None = None,
        *,
        timeout: tuple[float, float] = (10.0, 120.0),
        retry: RetryPolicy | None = None,
        pool_size: int = 8,
        allow_insecure_http: bool = False,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(
                f"Server URL {base_url!r} needs a scheme and a host: write it like "
                "https://www.brainstem.org (or http://127.0.0.1:8000 for a local sandbox)."
            )
        if credentials is not None:
            check_secure(base_url, allow_insecure_http)
        self.base_url = base_url.rstrip("/") + "/"
        self.credentials = credentials
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._origin = origin(self.base_url)
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=max(pool_size, 1), max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = f"brainstem-pandas/{__version__}"
        self.session.headers["Accept"] = "application/json"
        self.requests_sent = 0
        # Why requests were retried: HTTP status or exception name -> count (figures for reports).
        self.retries: collections.Counter[str] = collections.Counter()
        self._count_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<Transport {self.base_url}>"

    def close(self) -> None:
        """Close pooled connections."""
        self.session.close()

    def url(self, path_or_url: str) -> str:
        """An absolute URL for a path relative to the server root."""
        return urljoin(self.base_url, path_or_url)

    def same_origin(self, url: str) -> bool:
        """True when ``url`` is on the server this transport is bound to."""
        return origin(url) == self._origin

    # -- one HTTP exchange ---------------------------------------------------------
    def _send(self, method: str, url: str, params: Any, payload: Any) -> tuple[requests.Response, str | None]:
        for _ in range(MAX_REDIRECTS + 1):
            # Per hop: the caller must know whether the answer it gets came from a
            # request that carried the token, not whether the first hop did.
            headers, sent_header = {}, None
            if self.credentials is not None and self.same_origin(url):
                sent_header = self.credentials.header()
                if sent_header:
                    headers["Authorization"] = sent_header
            with self._count_lock:
                self.requests_sent += 1
            response = self.session.request(
                method, url, params=params, json=payload, headers=headers, timeout=self.timeout, allow_redirects=False
            )
            if response.status_code not in (301, 302, 303, 307, 308) or "Location" not in response.headers:
                response.content  # read now so that a cut-off body fails inside the retry loop
                return response, sent_header
            url = urljoin(url, response.headers["Location"])
            params = None  # the Location carries its own query
            if response.status_code == 303:
                method, payload = "GET", None
        raise ResponseError(method, url, f"more than {MAX_REDIRECTS} redirects")

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Any = None,
        json_body: Any = None,
        slots: threading.Semaphore | None = None,
    ) -> Any:
        """Send a request with retries and return the decoded JSON (None for 204).

        ``slots``, if given, is held while a request is on the wire and released
        while waiting to retry, so callers sharing it keep that many requests in
        flight even while some of them wait out a ``Retry-After``.

        Raises
        ------
        APIError
            (a subclass per status) when the server answers with an error.
        TransportError
            When the server cannot be reached after all attempts.
        ResponseError
            When the answer is not JSON.
        """
        method = method.upper()
        url = self.url(path_or_url)
        waited, attempt, paced, renewed = 0.0, 0, 0, False
        while True:
            retry_after: float | None = None
            try:
                with slots or contextlib.nullcontext():
                    response, sent = self._send(method, url, params, json_body)
            except (requests.ConnectionError, requests.Timeout, *_BROKEN_BODY) as exc:
                failure: Exception | requests.Response = exc
            else:
                # Only a 401 to a request that carried the token can be cured by renewing
                # it; elsewhere a refresh would just rotate the refresh token for nothing.
                if (
                    response.status_code == 401
                    and not renewed
                    and sent
                    and self.credentials is not None
                    and self.credentials.renew(sent)
                ):
                    renewed = True
                    continue
                if response.status_code not in self.retry.statuses:
                    return self._decode(method, response)
                failure = response
                retry_after = parse_retry_after(response.headers.get("Retry-After")) or _rate_reset_wait(response)
            retryable = method in IDEMPOTENT or (
                isinstance(failure, requests.Response) and failure.status_code in (429, 503)
            )
            delay = self.retry.delay(attempt, retry_after)
            # A 429 saying how long to wait is the server pacing its clients, not failing:
            # it does not use up an attempt; the total wait (max_wait) bounds it instead.
            if isinstance(failure, requests.Response) and failure.status_code == 429 and retry_after:
                paced += 1
            else:
                attempt += 1
            if (
                not retryable
                or attempt >= self.retry.attempts
                or paced > MAX_PACED
                or waited + delay > self.retry.max_wait
            ):
                self._give_up(method, url, failure, attempt + paced, retry_after)
            reason = type(failure).__name__ if isinstance(failure, Exception) else str(failure.status_code)
            with self._count_lock:
                self.retries[reason] += 1
            log.debug(
                "retrying %s %s in %.2f s (attempt %d): %s",
                method,
                url,
                delay,
                attempt,
                failure if isinstance(failure, Exception) else failure.status_code,
            )
            time.sleep(delay)
            waited += delay

    def get(self, path_or_url: str, params: Any = None, slots: threading.Semaphore | None = None) -> Any:
        """GET and decode; see :meth:`request`."""
        return self.request("GET", path_or_url, params=params, slots=slots)

    # -- answers -----------------------------------------------------------------
    def _give_up(self, method: str, url: str, failure: Any, attempts: int, retry_after: float | None) -> None:
        if isinstance(failure, requests.Response):
            try:
                self._decode(method, failure, retry_after=retry_after)
            except APIError as exc:
                exc.attempts = attempts
                raise
            raise TransportError(method, url, f"status {failure.status_code}", attempts)
        raise TransportError(method, url, f"{type(failure).__name__}: {failure}", attempts) from failure

    def _decode(self, method: str, response: requests.Response, retry_after: float | None = None) -> Any:
        url, status = response.url, response.status_code
        # Decode bytes directly: requests' .text guesses the charset of JSON answers
        # sent without one, which costs more than parsing them.
        raw = response.content
        ctype = response.headers.get("Content-Type", "")
        body: Any = None
        text = ""
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                text = raw.decode("utf-8", errors="replace")
                if status < 400:
                    looks = "HTML" if "html" in ctype or text.lstrip().startswith("<") else "text"
                    raise ResponseError(
                        method,
                        url,
                        f"the server answered {looks}, not JSON"
                        "; check that the URL is the BrainSTEM server's root: " + truncate(text, 120),
                        status,
                    )
        if status >= 400:
            self._raise_status(method, url, status, body, text, retry_after)
        if status == 204:
            return None
        if body is None:
            raise ResponseError(
                method,
                url,
                "the server answered an empty body where JSON was expected; check "
                "that the URL is the BrainSTEM server's root",
                status,
            )
        return body

    @staticmethod
    def _raise_status(method: str, url: str, status: int, body: Any, text: str, retry_after: float | None) -> None:
        detail, errors = _detail_and_errors(body)
        if body is None:
            stripped = text.strip()
            detail = (
                ("(an HTML page, not JSON)" if stripped.startswith("<") else truncate(stripped, 200))
                if stripped
                else "(empty body)"
            )
        if status == 400 and errors:
            raise ValidationError(method, url, status, detail, errors=errors, body=body)
        cls = error_class(status)
        if cls is RateLimitError:
            raise RateLimitError(method, url, status, detail, retry_after=retry_after, body=body)
        raise cls(method, url, status, detail, body=body)
