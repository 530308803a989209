"""The :class:`Transport`: one HTTP session bound to one server, sending with retries."""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
import time
from typing import Any, NoReturn, Protocol
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import BaseAdapter, HTTPAdapter

from brainstem_pandas._version import __version__
from brainstem_pandas.errors import ConfigurationError, ResponseError, TransportError
from brainstem_pandas.transport.answers import decode
from brainstem_pandas.transport.origins import check_secure, origin
from brainstem_pandas.transport.retry import (
    IDEMPOTENT,
    MAX_PACED,
    RETRIED_ERRORS,
    RetryPolicy,
    Tries,
    server_wait,
    stop_if_cancelled,
)

log = logging.getLogger("brainstem_pandas")

MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})


class Credentials(Protocol):
    """Something that yields an ``Authorization`` header and can try to renew it."""

    def header(self) -> str | None:
        """The header value, e.g. ``"Bearer abc"``, or None for anonymous access."""

    def renew(self, failed_header: str | None) -> bool:
        """Try to get fresh credentials after a 401; True if a retry may help."""


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
    follow_redirects : bool
        Follow redirects (the token only ever goes to this server); False raises a
        :class:`~brainstem_pandas.errors.ResponseError` naming the ``location`` instead
        (sign-in requests: a password is never sent on).
    adapter : requests.adapters.BaseAdapter, optional
        Sends the requests instead of a pooled ``HTTPAdapter``, e.g. a
        :class:`brainstem_pandas.testing.MockTransport` answering without a server.

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
        follow_redirects: bool = True,
        adapter: BaseAdapter | None = None,
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
        self.follow_redirects = follow_redirects
        self._origin = origin(self.base_url)
        self.session = requests.Session()
        if adapter is None:
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
            if response.status_code not in REDIRECTS or "Location" not in response.headers:
                response.content  # read now so that a cut-off body fails inside the retry loop
                return response, sent_header
            target = urljoin(url, response.headers["Location"])
            if not self.follow_redirects:
                raise ResponseError(
                    method,
                    url,
                    f"the server redirected the request to {target}, and it is not sent on",
                    response.status_code,
                    location=target,
                )
            url, params = target, None  # the Location carries its own query
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
        cancel: threading.Event | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Send a request with retries and return the decoded JSON (None for 204).

        Parameters
        ----------
        slots : threading.Semaphore, optional
            Held only while on the wire: sharers keep that many requests in flight while some wait to retry.
        cancel : threading.Event, optional
            Once set, nothing more is sent, neither a first try nor a retry.
        idempotent : bool, optional
            Any failure may be retried (default: for GET, HEAD, OPTIONS, PUT, DELETE; others retry 429, 503).

        Raises
        ------
        APIError
            (a subclass per status) when the server answers with an error.
        TransportError
            When the server cannot be reached after all attempts (or ``cancel`` was set).
        ResponseError
            When the answer is not JSON, or redirects where redirects are not followed.
        """
        method, url = method.upper(), self.url(path_or_url)
        tries = Tries(retry_any=method in IDEMPOTENT if idempotent is None else idempotent)
        while True:
            stop_if_cancelled(cancel, method, url, tries)
            try:
                with slots or contextlib.nullcontext():
                    stop_if_cancelled(cancel, method, url, tries)
                    response, sent = self._send(method, url, params, json_body)
            except RETRIED_ERRORS as exc:
                failure: Exception | requests.Response = exc
                retry_after = None
            else:
                if self._renewed(response, sent, tries):
                    continue
                if response.status_code not in self.retry.statuses:
                    return decode(method, response)
                failure, retry_after = response, server_wait(response)
            delay = self._delay_or_give_up(method, url, failure, retry_after, tries)
            self._wait(method, url, failure, delay, tries, cancel)

    def _renewed(self, response: requests.Response, sent: str | None, tries: Tries) -> bool:
        """True when ``response`` is a 401 that fresh credentials may cure (renewed once per request)."""
        # Only a 401 to a request that carried the token can be cured by renewing it;
        # elsewhere a refresh would just rotate the refresh token for nothing.
        if response.status_code != 401 or tries.renewed or not sent or self.credentials is None:
            return False
        tries.renewed = self.credentials.renew(sent)
        return tries.renewed

    def _delay_or_give_up(
        self, method: str, url: str, failure: Exception | requests.Response, retry_after: float | None, tries: Tries
    ) -> float:
        """The wait before the next try, or the error to raise when no try is left."""
        status = failure.status_code if isinstance(failure, requests.Response) else None
        retryable = tries.retry_any or status in (429, 503)
        delay = self.retry.delay(tries.attempt, retry_after)
        # A 429 saying how long to wait is the server pacing its clients, not failing:
        # it does not use up an attempt; the total wait (max_wait) bounds it instead.
        if status == 429 and retry_after:
            tries.paced += 1
        else:
            tries.attempt += 1
        if (
            not retryable
            or tries.attempt >= self.retry.attempts
            or tries.paced > MAX_PACED
            or tries.waited + delay > self.retry.max_wait
        ):
            self._give_up(method, url, failure, tries.attempt + tries.paced, retry_after)
        return delay

    def _wait(
        self,
        method: str,
        url: str,
        failure: Exception | requests.Response,
        delay: float,
        tries: Tries,
        cancel: threading.Event | None,
    ) -> None:
        """Count the retry by its reason, then sleep ``delay`` seconds (cut short by ``cancel``)."""
        reason = type(failure).__name__ if isinstance(failure, Exception) else str(failure.status_code)
        with self._count_lock:
            self.retries[reason] += 1
        log.debug("retrying %s %s in %.2f s (attempt %d): %s", method, url, delay, tries.attempt, reason)
        if cancel is None:
            time.sleep(delay)
        else:
            cancel.wait(delay)
        tries.waited += delay

    def get(
        self,
        path_or_url: str,
        params: Any = None,
        slots: threading.Semaphore | None = None,
        cancel: threading.Event | None = None,
    ) -> Any:
        """GET and decode; see :meth:`request`."""
        return self.request("GET", path_or_url, params=params, slots=slots, cancel=cancel)

    # -- answers -----------------------------------------------------------------
    def _give_up(self, method: str, url: str, failure: Any, attempts: int, retry_after: float | None) -> NoReturn:
        if isinstance(failure, requests.Response):
            decode(method, failure, retry_after=retry_after, attempts=attempts)
            raise TransportError(method, url, f"status {failure.status_code}", attempts)
        raise TransportError(method, url, f"{type(failure).__name__}: {failure}", attempts) from failure
