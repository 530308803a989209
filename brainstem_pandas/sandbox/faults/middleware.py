"""The WSGI middleware: latency, then the rate limiter, then the fault injector, then the application.

Only paths under :data:`LIMITED_PREFIXES` are affected; the order of the layers
is explained in :mod:`brainstem_pandas.sandbox.faults`.
"""

from __future__ import annotations

import errno
import time
from collections.abc import Callable, Iterable

from brainstem_pandas.sandbox.faults.plan import FaultPlan
from brainstem_pandas.sandbox.faults.ratelimit import RateLimiter, client_identity
from brainstem_pandas.sandbox.faults.responses import (
    Headers,
    WSGIApp,
    collect,
    error_response,
    throttled,
    with_headers,
)
from brainstem_pandas.sandbox.faults.wire import ConnectionSevered, abort_connection, raw_socket, send_truncated

#: Path prefixes the middleware acts on; everything else passes through.
LIMITED_PREFIXES = ("/api/", "/brainmaps/")

# Headers that describe the framing of one response on one connection; a
# truncated answer replaces them with its own.
_FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})


def is_limited_path(path: str) -> bool:
    """Whether the middleware acts on a request for ``path``.

    Examples
    --------
    >>> is_limited_path("/api/private/stem/session/")
    True
    >>> is_limited_path("/sandbox/health/")
    False
    """
    return path.startswith(LIMITED_PREFIXES)


class FaultMiddleware:
    """WSGI middleware applying latency, rate limits and injected faults.

    Built by :func:`wrap_wsgi`; see the module docstring for the design.
    """

    def __init__(
        self,
        app: WSGIApp,
        *,
        delay: float,
        limiter: RateLimiter | None,
        plan: FaultPlan | None,
        retry_after: int,
    ) -> None:
        self.app = app
        self._delay = delay
        self._limiter = limiter
        self._plan = plan
        self._retry_after = retry_after

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if not is_limited_path(environ.get("PATH_INFO", "")):
            return self.app(environ, start_response)
        if self._delay:
            time.sleep(self._delay)
        headers: Headers = []
        if self._limiter is not None:
            quota = self._limiter.hit(client_identity(environ), time.time())
            headers = quota.headers()
            if not quota.allowed:
                return throttled(environ, start_response, quota.retry_after, headers)
        fault = self._plan.next_fault() if self._plan is not None else None
        if fault is None:
            if headers:
                start_response = with_headers(start_response, headers)
            return self.app(environ, start_response)
        if fault == "429":
            return throttled(environ, start_response, self._retry_after, headers)
        if fault == "reset":
            return self._reset(environ, start_response, headers)
        if fault == "truncate":
            return self._truncate(environ, start_response, headers)
        return error_response(environ, start_response, int(fault), headers)

    def _reset(self, environ: dict, start_response: Callable, headers: Headers) -> list[bytes]:
        """Drop the connection without an answer (503 where that is impossible)."""
        sock = raw_socket(environ)
        if sock is None or not abort_connection(sock):
            return error_response(environ, start_response, 503, headers)
        raise ConnectionSevered(errno.ECONNRESET, "Injected fault: connection reset")

    def _truncate(self, environ: dict, start_response: Callable, headers: Headers) -> list[bytes]:
        """Answer for real, but deliver only the first half of the body."""
        status, app_headers, body = collect(self.app, environ)
        app_headers = [h for h in app_headers if h[0].lower() not in _FRAMING_HEADERS]
        app_headers += headers
        if not body or environ.get("REQUEST_METHOD") == "HEAD":
            # Nothing to cut: answer normally.
            start_response(status, [*app_headers, ("Content-Length", str(len(body)))])
            return [body]
        sock = raw_socket(environ)
        if sock is None:
            # Best effort on other servers: they stop after the short body.
            start_response(status, [*app_headers, ("Content-Length", str(len(body)))])
            return [body[: len(body) // 2]]
        send_truncated(sock, environ, status, app_headers, body)
        raise ConnectionSevered(errno.EPIPE, "Injected fault: truncated response")
