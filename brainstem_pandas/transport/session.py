"""The :class:`Transport`: one HTTP session bound to one server, sending with retries."""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol
from urllib.parse import urljoin

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.auth import AuthBase

from brainstem_pandas._version import __version__
from brainstem_pandas.errors import ConfigurationError, ResponseError, TransportError
from brainstem_pandas.transport.answers import Incomplete, decode
from brainstem_pandas.transport.body import MAX_BODY, Overdue, TooLarge, read_body
from brainstem_pandas.transport.origins import ambiguity, check_secure, check_url, origin, safe_url
from brainstem_pandas.transport.retry import (
    IDEMPOTENT,
    MAX_PACED,
    RETRIED_ERRORS,
    UNREACHABLE_ADVICE,
    UNREACHABLE_ATTEMPTS,
    RetryPolicy,
    Tries,
    server_wait,
    stop_if_cancelled,
    unreachable,
)
from brainstem_pandas.transport.secret import Secret

log = logging.getLogger("brainstem_pandas")

MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Longest time for one whole answer (connect, headers and body), whatever the per-read timeout.
DEADLINE = 300.0
Timeout = tuple[float, float] | tuple[float, float, float]


@dataclass(frozen=True)
class Fault:
    """A failed try, summarised: the exception itself is dropped, since its frames (requests',
    urllib3's) hold the raw request headers, the token among them."""

    name: str
    text: str
    unreachable: str | None = None  # how the server could not be reached at all (retried less)


def _reason(exc: Exception) -> str:
    """The name of the requests exception class ``exc`` is (or derives from), for the retry figures."""
    for cls in type(exc).__mro__:
        if cls.__module__.startswith("requests"):
            return cls.__name__
    return type(exc).__name__


class _Bearer(AuthBase):
    """Sets the ``Authorization`` header while requests prepares the request: no frame of ours holds it in the clear."""

    def __init__(self, header: Secret) -> None:
        self.header = header

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self.header.reveal()
        return request


class _Anonymous(AuthBase):
    """No ``Authorization`` at all (not even one requests would take from ~/.netrc or the URL)."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.pop("Authorization", None)
        return request


_NO_AUTH = _Anonymous()
_RENEWED = Fault("renewed", "a 401 cured by fresh credentials")


def _json_bytes(payload: Any) -> bytes | None:
    """``payload`` as JSON bytes, revealing the :class:`Secret` values it holds (to be sent)."""
    if payload is None:
        return None
    return json.dumps(payload, default=reveal_secret).encode()


def reveal_secret(value: Any) -> Any:
    if isinstance(value, Secret):
        return value.reveal()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class Credentials(Protocol):
    """Something that yields an ``Authorization`` header and can try to renew it."""

    def header(self) -> Secret | None:
        """The header value, e.g. ``Secret("Bearer abc")``, or None for anonymous access."""

    def renew(self, failed_header: Secret | None) -> bool:
        """Try to get fresh credentials after a 401; True if a retry may help."""


def _seconds(timeout: Any) -> tuple[float, ...]:
    """``timeout`` checked: 2 or 3 positive, finite numbers of seconds."""
    shape = "timeout is (connect, read) or (connect, read, whole answer), in seconds above 0"
    if not isinstance(timeout, (tuple, list)) or len(timeout) not in (2, 3):
        raise ConfigurationError(f"{shape}, e.g. (10, 120); not {timeout!r}.")
    if not all(isinstance(t, (int, float)) and not isinstance(t, bool) and 0 < t < math.inf for t in timeout):
        raise ConfigurationError(f"{shape}, e.g. (10, 120); not {tuple(timeout)!r}.")
    return tuple(float(t) for t in timeout)


class Transport:
    """One HTTP session bound to one server.

    Parameters
    ----------
    base_url : str
        Server root, e.g. ``"https://www.brainstem.org"``.
    credentials : Credentials, optional
        Supplies the ``Authorization`` header; None for anonymous requests.
    timeout : (float, float) or (float, float, float)
        Connect and read timeouts in seconds (each per socket operation), and optionally a
        deadline for each whole answer, connect to last byte (default :data:`DEADLINE`): a
        body trickled slowly ends there, and is retried like a read timeout.
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
    max_body : int
        Largest answer body held in memory, decoded (default 512 MiB); a larger one is a
        :class:`~brainstem_pandas.errors.ResponseError`, read no further than the cap.
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
        timeout: Timeout = (10.0, 120.0),
        retry: RetryPolicy | None = None,
        pool_size: int = 8,
        allow_insecure_http: bool = False,
        follow_redirects: bool = True,
        max_body: int = MAX_BODY,
        adapter: BaseAdapter | None = None,
    ) -> None:
        # Credentials in the URL are refused (not stripped): requests would send them as Basic
        # auth instead of the token, and every repr, message and log would show the password.
        check_url(base_url)
        if credentials is not None:
            check_secure(base_url, allow_insecure_http)
        seconds = _seconds(timeout)
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise ConfigurationError(f"retry must be a RetryPolicy (or None), not {type(retry).__name__}.")
        if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body < 1:
            raise ConfigurationError(f"max_body must be a whole number of bytes above 0, not {max_body!r}.")
        self.base_url = base_url.rstrip("/") + "/"
        self.credentials = credentials
        self.timeout = (seconds[0], seconds[1])
        self.deadline = seconds[2] if len(seconds) == 3 else DEADLINE
        self.max_body = max_body
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
        # Only the encodings read_body decodes (and checks for completeness) itself.
        self.session.headers["Accept-Encoding"] = "gzip, deflate"
        self.requests_sent = 0
        # Why requests were retried: HTTP status or exception name -> count (figures for reports).
        self.retries: collections.Counter[str] = collections.Counter()
        self._count_lock = threading.Lock()

    def __repr__(self) -> str:
        # getattr: half-built when __init__ refused the URL, and tracebacks that show locals repr it even so.
        return f"<Transport {getattr(self, 'base_url', '(not set up)')}>"

    def close(self) -> None:
        """Close pooled connections."""
        self.session.close()

    def url(self, path_or_url: str) -> str:
        """An absolute URL for a path relative to the server root."""
        return urljoin(self.base_url, path_or_url)

    def same_origin(self, url: str) -> bool:
        """True when ``url`` is unambiguous and on the server this transport is bound to."""
        return ambiguity(url) is None and origin(url) == self._origin

    # -- one HTTP exchange ---------------------------------------------------------
    def _send(self, method: str, url: str, params: Any, payload: Any) -> tuple[requests.Response, Secret | None]:
        for _ in range(MAX_REDIRECTS + 1):
            self._refuse_ambiguous(method, url)
            # Per hop: the caller must know whether the answer it gets came from a
            # request that carried the token, not whether the first hop did.
            home = self.credentials is not None and self.same_origin(url)
            sent = Secret.of(self.credentials.header()) if home and self.credentials is not None else None
            with self._count_lock:
                self.requests_sent += 1
            deadline = time.monotonic() + self.deadline
            response = self.session.request(
                method,
                url,
                params=params,
                data=_json_bytes(payload),  # inline: no frame of ours keeps a password's bytes
                headers={"Content-Type": "application/json"} if payload is not None else {},
                auth=_Bearer(sent) if sent else _NO_AUTH,
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
            )
            if time.monotonic() > deadline:
                response.close()
                raise Overdue("the answer's headers did not arrive before the deadline")
            if response.status_code not in REDIRECTS or "Location" not in response.headers:
                read_body(response, deadline, self.max_body)  # now: a cut-off body fails inside the retry loop
                return response, sent
            response.close()
            target = urljoin(url, response.headers["Location"])
            if not self.follow_redirects:
                raise ResponseError(
                    method,
                    url,
                    f"the server redirected the request to {safe_url(target)}, and it is not sent on",
                    response.status_code,
                    location=safe_url(target),
                )
            url, params = target, None  # the Location carries its own query
            if response.status_code == 303:
                method, payload = "GET", None
        raise ResponseError(
            method, url, f"more than {MAX_REDIRECTS} redirects; the server is redirecting in a loop, tell its admins"
        )

    def _refuse_ambiguous(self, method: str, url: str) -> None:
        why = ambiguity(url)
        if why is not None:
            raise ResponseError(
                method,
                safe_url(url),
                f"the URL is refused ({why}): it might send the request to another host than it names. "
                "Check the server address; if a next link or redirect of the server looks like this, tell its admins",
            )

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
            When the server cannot be reached after all attempts, or no whole answer arrived
            before the deadline (or ``cancel`` was set).
        ResponseError
            When the answer is not JSON, is nested too deeply, exceeds ``max_body``, broke off
            on every attempt, redirects where redirects are not followed (or more than
            :data:`MAX_REDIRECTS` times), or names an ambiguous URL.
        """
        method, url = method.upper(), self.url(path_or_url)
        tries = Tries(retry_any=method in IDEMPOTENT if idempotent is None else idempotent)
        while True:
            stop_if_cancelled(cancel, method, url, tries)
            failure, retry_after, result = self._try(method, url, params, json_body, slots, cancel, tries)
            if failure is None:
                return result
            if failure is _RENEWED:
                continue  # fresh credentials: try again at once, without using up a try
            delay = self._delay_or_give_up(method, url, failure, retry_after, tries)
            self._wait(method, url, failure, delay, tries, cancel)

    def _try(
        self,
        method: str,
        url: str,
        params: Any,
        payload: Any,
        slots: threading.Semaphore | None,
        cancel: threading.Event | None,
        tries: Tries,
    ) -> tuple[Fault | requests.Response | None, float | None, Any]:
        """One try: (None, None, the decoded answer), or (what failed, the server's wait, None)."""
        # Failures are summarised, and our errors raised outside the except blocks: a chained
        # exception would carry frames of requests whose locals hold the raw headers.
        fault: Fault | None = None
        too_large = ""
        try:
            with slots or contextlib.nullcontext():
                stop_if_cancelled(cancel, method, url, tries)
                response, sent = self._send(method, url, params, payload)
        except RETRIED_ERRORS as exc:
            # Named as requests names them (our CutShort is a ChunkedEncodingError, and so on).
            fault = Fault(_reason(exc), str(exc), unreachable(exc))
        except TooLarge as exc:
            too_large = str(exc)
        if too_large:
            raise ResponseError(
                method, url, f"{too_large}; pass a larger max_body to the Transport if answers this large are expected"
            )
        if fault is not None:
            return fault, None, None
        if self._renewed(response, sent, tries):
            return _RENEWED, None, None
        if response.status_code in self.retry.statuses:
            return response, server_wait(response), None
        try:
            return None, None, decode(method, response)
        except Incomplete as exc:
            fault = Fault("Incomplete", exc.problem)
        return fault, None, None

    def _renewed(self, response: requests.Response, sent: Secret | None, tries: Tries) -> bool:
        """True when ``response`` is a 401 that fresh credentials may cure (renewed once per request)."""
        # Only a 401 to a request that carried the token can be cured by renewing it;
        # elsewhere a refresh would just rotate the refresh token for nothing.
        if response.status_code != 401 or tries.renewed or not sent or self.credentials is None:
            return False
        tries.renewed = self.credentials.renew(sent)
        return tries.renewed

    def _delay_or_give_up(
        self, method: str, url: str, failure: Fault | requests.Response, retry_after: float | None, tries: Tries
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
        attempts = self.retry.attempts
        if isinstance(failure, Fault) and failure.unreachable:
            attempts = min(attempts, UNREACHABLE_ATTEMPTS)
        if (
            not retryable
            or tries.attempt >= attempts
            or tries.paced > MAX_PACED
            or tries.waited + delay > self.retry.max_wait
        ):
            self._give_up(method, url, failure, tries.attempt + tries.paced, retry_after)
        return delay

    def _wait(
        self,
        method: str,
        url: str,
        failure: Fault | requests.Response,
        delay: float,
        tries: Tries,
        cancel: threading.Event | None,
    ) -> None:
        """Count the retry by its reason, then sleep ``delay`` seconds (cut short by ``cancel``)."""
        reason = failure.name if isinstance(failure, Fault) else str(failure.status_code)
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
        if failure.name == "Incomplete":
            raise ResponseError(
                method,
                url,
                f"the answer was cut short or garbled on {attempts} attempt(s) ({failure.text}); "
                "try again later, and tell the server's admins if it persists",
            )
        if failure.unreachable:
            raise TransportError(
                method,
                url,
                f"{failure.unreachable} ({failure.name}: {failure.text})",
                attempts,
                advice=UNREACHABLE_ADVICE[failure.unreachable],
            )
        raise TransportError(method, url, f"{failure.name}: {failure.text}", attempts)
