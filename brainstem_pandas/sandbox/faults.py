"""Latency, rate limiting and fault injection for the sandbox server.

:func:`wrap_wsgi` puts a plain-WSGI middleware around the sandbox's Django
application, so that client code can be tested against the unpleasant parts of
a real deployment: slow answers, throttling, flaky gateways, dropped
connections and cut-off bodies.

Design
------
Scope
    Only paths under ``/api/`` and ``/brainmaps/`` are affected. Anything else
    (``/sandbox/health/``, the admin, static files) passes straight through, so
    the launcher can always tell whether the server is up.

Shared state
    The middleware is built once, in the gunicorn master, when the wsgi module
    is imported with ``--preload``. Every piece of state that must be seen by
    all worker processes and threads (the request counter, the current 429
    burst, the rate-limit table) lives in ``multiprocessing`` shared memory
    created at that moment; forked workers inherit the same pages and the same
    locks. Without ``--preload`` each worker would build its own copy and the
    counters would no longer be shared.

Determinism
    Requests that reach the fault layer are numbered 0, 1, 2, ... in the order
    the server sees them. Request *k* draws a uniform number from a hash of
    ``(seed, k)`` and compares it with the cumulative fault fractions (in the
    order of :data:`~brainstem_pandas.sandbox.config.FAULT_KINDS`). A client
    sending the same requests one after another therefore meets the same faults
    on every run with the same seed.

Order of the layers
    latency -> rate limiter -> fault injector -> application. The rate limiter
    plays the gateway that counts every request; the injected faults imitate an
    upstream that misbehaves behind it, so throttled requests are not numbered.

Connection-level faults
    ``"reset"`` and ``"truncate"`` need the raw client socket, which gunicorn
    exposes as ``environ["gunicorn.socket"]``. Once the middleware has dealt
    with the socket itself it raises a :class:`ConnectionError` carrying
    ``ECONNRESET``/``EPIPE``: gunicorn's workers treat those errnos as an
    ordinary client disconnect (a debug log line, no error response, no
    traceback) and close the connection. Without a gunicorn socket (or on an
    HTTP/2 connection) a reset degrades to a 503 and a truncation to a short
    body under a full ``Content-Length``.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import multiprocessing
import os
import socket
import struct
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from .config import FAULT_KINDS, SandboxConfig

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]
Headers = list[tuple[str, str]]

#: Path prefixes the middleware acts on; everything else passes through.
LIMITED_PREFIXES = ("/api/", "/brainmaps/")

#: Slots of the shared rate-limit table (one per concurrently seen client).
RATE_SLOTS = 4096

# Slots probed after a client's home slot before a collision evicts someone.
_PROBES = 8

# Headers that describe the framing of one response on one connection; a
# truncated answer replaces them with its own.
_FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})

_HTTP1 = ("HTTP/1.0", "HTTP/1.1")

# Most request-body bytes read before closing a truncated answer's connection.
_MAX_DRAIN = 1 << 20


class _ConnectionSevered(ConnectionError):
    """Raised after the middleware has cut the client connection itself.

    Servers see an ``OSError`` whose errno says the peer went away, which
    gunicorn handles quietly instead of answering 500.
    """


# --------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------


def wrap_wsgi(app: WSGIApp, config: SandboxConfig) -> WSGIApp:
    """Wrap a WSGI application with the sandbox's latency and faults.

    Parameters
    ----------
    app : callable
        The WSGI application (the sandbox's Django handler).
    config : SandboxConfig
        Start-up options; ``latency_ms``, ``faults``, ``seed``, ``burst_429``,
        ``retry_after``, ``rate_limit`` and ``rate_window`` are used.

    Returns
    -------
    callable
        A WSGI application. When no option is active this is ``app`` itself,
        so a plain sandbox pays nothing.

    Notes
    -----
    Call this once, in the process that later forks the workers (gunicorn
    with ``--preload``): the shared counters are created here.

    Examples
    --------
    >>> def hello(environ, start_response):
    ...     start_response("200 OK", [("Content-Type", "text/plain")])
    ...     return [b"hi"]
    >>> wrap_wsgi(hello, SandboxConfig()) is hello
    True
    """
    faults = _active_faults(config.faults)
    if config.latency_ms <= 0 and not faults and config.rate_limit <= 0:
        return app
    # Fork context whatever the platform default: the primitives reach the
    # workers through gunicorn's os.fork(), and the spawn/forkserver contexts
    # would also start a resource-tracker process for the locks.
    ctx = multiprocessing.get_context("fork")
    limiter = _RateLimiter(config.rate_limit, config.rate_window, ctx) if config.rate_limit > 0 else None
    plan = _FaultPlan(config.seed, faults, config.burst_429, ctx) if faults else None
    return _FaultMiddleware(
        app,
        delay=max(0.0, config.latency_ms) / 1000.0,
        limiter=limiter,
        plan=plan,
        retry_after=max(0, int(config.retry_after)),
    )


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


# --------------------------------------------------------------------------
# Fault plan: which numbered request gets which fault
# --------------------------------------------------------------------------


def _active_faults(faults: dict[str, float]) -> dict[str, float]:
    """Keep the fault kinds with a positive fraction."""
    return {kind: float(rate) for kind, rate in faults.items() if float(rate) > 0}


def _uniform(seed: int, number: int) -> float:
    """A uniform number in ``[0, 1)`` fixed by ``(seed, number)``.

    A keyed hash rather than a shared RNG: the draw depends only on the request
    number, so it needs no state beyond the counter.
    """
    digest = hashlib.blake2b(f"{seed}:{number}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def _thresholds(faults: dict[str, float]) -> list[tuple[float, str]]:
    """Cumulative upper bounds per kind, in the fixed ``FAULT_KINDS`` order.

    The fixed order keeps the outcome independent of the dict's key order.
    """
    bounds: list[tuple[float, str]] = []
    total = 0.0
    for kind in FAULT_KINDS:
        if kind in faults:
            total += faults[kind]
            bounds.append((total, kind))
    if bounds and total >= 1.0 - 1e-9:
        # Fractions summing to 1 must fault every request despite rounding.
        bounds[-1] = (math.inf, bounds[-1][1])
    return bounds


class _FaultPlan:
    """Numbers requests across all workers and decides each one's fault.

    Parameters
    ----------
    seed : int
        Seed mixed into every draw.
    faults : dict
        Positive fractions by fault kind.
    burst : int
        Length of the run of 429s one ``"429"`` draw starts.
    ctx : multiprocessing context
        Context the shared memory and lock come from.
    """

    def __init__(self, seed: int, faults: dict[str, float], burst: int, ctx: Any) -> None:
        self._seed = seed
        self._bounds = _thresholds(faults)
        self._burst = max(1, int(burst))
        # [number of the next request, first number after the current burst]
        self._state = ctx.RawArray("q", 2)
        self._lock = ctx.Lock()

    def draw(self, number: int) -> str | None:
        """The fault kind request ``number`` gets, ignoring bursts."""
        u = _uniform(self._seed, number)
        for bound, kind in self._bounds:
            if u < bound:
                return kind
        return None

    def next_fault(self) -> str | None:
        """Number the current request and return its fault kind, if any."""
        # One lock covers numbering and the burst so that a burst always
        # covers the requests numbered right after the one that started it.
        with self._lock:
            number = self._state[0]
            self._state[0] = number + 1
            if number < self._state[1]:
                return "429"
            kind = self.draw(number)
            if kind == "429":
                self._state[1] = number + self._burst
            return kind


# --------------------------------------------------------------------------
# Rate limiter: fixed window per client in a shared hash table
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Quota:
    """Outcome of counting one request against its client's window."""

    limit: int
    count: int
    window_end: float
    now: float

    @property
    def allowed(self) -> bool:
        return self.count <= self.limit

    @property
    def retry_after(self) -> int:
        """Whole seconds until the window resets, at least 1."""
        return max(1, math.ceil(self.window_end - self.now))

    def headers(self) -> Headers:
        """The ``X-RateLimit-*`` headers every limited response carries."""
        return [
            ("X-RateLimit-Limit", str(self.limit)),
            ("X-RateLimit-Remaining", str(max(0, self.limit - self.count))),
            ("X-RateLimit-Reset", str(math.ceil(self.window_end))),
        ]


def client_identity(environ: dict) -> str:
    """Who a request counts against: its credentials, else its address."""
    return environ.get("HTTP_AUTHORIZATION") or environ.get("REMOTE_ADDR", "")


def _client_key(identity: str) -> int:
    """A positive 63-bit key for ``identity`` (0 marks an empty slot)."""
    digest = hashlib.blake2b(identity.encode("utf-8", "surrogateescape"), digest_size=8)
    return (int.from_bytes(digest.digest(), "big") >> 1) or 1


class _RateLimiter:
    """Fixed-window request counts per client, shared by all workers.

    Each client's window starts with its first request after the previous
    window ended. Clients live in an open-addressed table of ``slots``
    entries; when all probed slots hold other clients' live windows the home
    slot is taken over, which only ever makes the limit more lenient.

    Parameters
    ----------
    limit : int
        Requests allowed per window.
    window : float
        Window length in seconds.
    ctx : multiprocessing context
        Context the shared memory and lock come from.
    slots : int
        Size of the client table.
    """

    def __init__(self, limit: int, window: float, ctx: Any, slots: int = RATE_SLOTS) -> None:
        self._limit = int(limit)
        self._window = float(window)
        self._slots = slots
        self._keys = ctx.RawArray("q", slots)
        self._ends = ctx.RawArray("d", slots)
        self._counts = ctx.RawArray("q", slots)
        self._lock = ctx.Lock()

    def _slot_for(self, key: int, now: float) -> int:
        """Slot holding ``key``, else a free or expired one, else the home slot."""
        home = key % self._slots
        spare = -1
        for i in range(_PROBES):
            slot = (home + i) % self._slots
            if self._keys[slot] == key:
                return slot
            if spare < 0 and (self._keys[slot] == 0 or self._ends[slot] <= now):
                spare = slot
        return home if spare < 0 else spare

    def hit(self, identity: str, now: float) -> _Quota:
        """Count one request by ``identity`` at epoch time ``now``."""
        key = _client_key(identity)
        with self._lock:
            slot = self._slot_for(key, now)
            if self._keys[slot] != key or self._ends[slot] <= now:
                self._keys[slot] = key
                self._ends[slot] = now + self._window
                self._counts[slot] = 0
            self._counts[slot] += 1
            return _Quota(self._limit, self._counts[slot], self._ends[slot], now)


# --------------------------------------------------------------------------
# Responses
# --------------------------------------------------------------------------


def _status_line(code: int) -> str:
    return f"{code} {HTTPStatus(code).phrase}"


def _error_body(path: str, error: str, detail: str) -> dict[str, str]:
    """Error payload in the dialect of the API the path belongs to.

    The REST API answers like Django REST framework (``detail`` only); the
    brainmaps service adds an ``error`` title.
    """
    if path.startswith("/brainmaps/"):
        return {"error": error, "detail": detail}
    return {"detail": detail}


def _json_response(start_response: Callable, code: int, payload: dict, headers: Headers) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(
        _status_line(code),
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            *headers,
        ],
    )
    return [body]


def _error_response(environ: dict, start_response: Callable, code: int, headers: Headers) -> list[bytes]:
    """An injected 5xx answer."""
    phrase = HTTPStatus(code).phrase
    payload = _error_body(environ.get("PATH_INFO", ""), phrase, f"Injected fault: {code} {phrase}")
    return _json_response(start_response, code, payload, headers)


def throttle_detail(seconds: int) -> str:
    """The throttling message, worded like Django REST framework's.

    Examples
    --------
    >>> throttle_detail(3)
    'Request was throttled. Expected available in 3 seconds.'
    """
    unit = "second" if seconds == 1 else "seconds"
    return f"Request was throttled. Expected available in {seconds} {unit}."


def _throttled(environ: dict, start_response: Callable, retry_after: int, headers: Headers) -> list[bytes]:
    """A 429 answer with ``Retry-After``."""
    payload = _error_body(
        environ.get("PATH_INFO", ""),
        "Rate limit exceeded",
        throttle_detail(retry_after),
    )
    return _json_response(start_response, 429, payload, [("Retry-After", str(retry_after)), *headers])


def _with_headers(start_response: Callable, extra: Headers) -> Callable:
    """A ``start_response`` that appends ``extra`` to the app's headers."""

    def start(status: str, headers: Headers, exc_info: Any = None) -> Callable:
        return start_response(status, [*headers, *extra], exc_info)

    return start


def _collect(app: WSGIApp, environ: dict) -> tuple[str, Headers, bytes]:
    """Run ``app`` to completion and return its status, headers and body."""
    started: dict[str, Any] = {}
    chunks: list[bytes] = []

    def start(status: str, headers: Headers, exc_info: Any = None) -> Callable:
        if exc_info is not None and started:
            raise exc_info[1].with_traceback(exc_info[2])
        started["status"], started["headers"] = status, list(headers)
        # Legacy write() output precedes the iterable's, as PEP 3333 orders it.
        return chunks.append

    result = app(environ, start)
    try:
        chunks.extend(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return started["status"], started["headers"], b"".join(chunks)


# --------------------------------------------------------------------------
# Connection-level faults
# --------------------------------------------------------------------------


def _raw_socket(environ: dict) -> socket.socket | None:
    """The client socket, if the server exposes it on an HTTP/1 connection."""
    sock = environ.get("gunicorn.socket")
    if sock is None or environ.get("SERVER_PROTOCOL") not in _HTTP1:
        # On HTTP/2 the socket carries other streams; writing to it or killing
        # it would not fault just this request.
        return None
    return sock


def _close_underneath(sock: socket.socket) -> None:
    """Close the connection behind ``sock`` while keeping its descriptor valid.

    A fresh, unconnected socket is ``dup2``-ed onto the descriptor, which
    closes the connection in one step. ``sock.close()`` would not do: the
    server still owns ``sock`` and shuts it down and closes it afterwards. On
    a closed socket object that clean-up fails half-way (gunicorn's gthread
    worker then counts the connection as finished twice), whereas on the
    placeholder it runs normally and merely finds nothing connected. It also
    spares the server its lingering close, which would hold a worker thread
    for up to two seconds waiting for a client that keeps the broken
    connection open.
    """
    with socket.socket(sock.family, socket.SOCK_STREAM) as placeholder:
        os.dup2(placeholder.fileno(), sock.fileno(), inheritable=False)


def abort_connection(sock: socket.socket) -> bool:
    """Drop a TCP connection with an RST, keeping its descriptor usable.

    Parameters
    ----------
    sock : socket.socket
        A connected client socket.

    Returns
    -------
    bool
        Whether the connection was dropped.

    Notes
    -----
    ``SO_LINGER`` on with a zero timeout makes closing the connection send an
    RST instead of a FIN; see :func:`_close_underneath` for the closing.
    """
    try:
        if sock.fileno() < 0:
            return False
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        _close_underneath(sock)
    except OSError:
        return False
    return True


def _drain_input(environ: dict, limit: int = _MAX_DRAIN) -> None:
    """Read what is left of the request body, up to ``limit`` bytes.

    Closing a connection with unread bytes in its receive buffer makes the
    kernel send an RST, which can discard the half body before the client
    reads it.
    """
    stream = environ.get("wsgi.input")
    if stream is None:
        return
    try:
        while limit > 0:
            chunk = stream.read(min(65536, limit))
            if not chunk:
                return
            limit -= len(chunk)
    except Exception:  # noqa: BLE001 - best effort: a broken body only risks an RST
        return


def _send_truncated(sock: socket.socket, environ: dict, status: str, headers: Headers, body: bytes) -> None:
    """Write a response announcing all of ``body`` but carrying half of it.

    The response is written by hand because the server would drop our
    ``Connection: close`` (a hop-by-hop header) and keep the connection open,
    leaving the client waiting for bytes that never come. The connection is
    then closed after a FIN, so the client sees the end of the stream at once.
    """
    head = [f"{environ['SERVER_PROTOCOL']} {status}"]
    head += [f"{name}: {value}" for name, value in headers]
    head += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
    _drain_input(environ)
    sock.sendall("\r\n".join(head).encode("latin-1") + body[: len(body) // 2])
    sock.shutdown(socket.SHUT_WR)
    _close_underneath(sock)


# --------------------------------------------------------------------------
# The middleware
# --------------------------------------------------------------------------


class _FaultMiddleware:
    """WSGI middleware applying latency, rate limits and injected faults.

    Built by :func:`wrap_wsgi`; see the module docstring for the design.
    """

    def __init__(
        self,
        app: WSGIApp,
        *,
        delay: float,
        limiter: _RateLimiter | None,
        plan: _FaultPlan | None,
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
                return _throttled(environ, start_response, quota.retry_after, headers)
        fault = self._plan.next_fault() if self._plan is not None else None
        if fault is None:
            if headers:
                start_response = _with_headers(start_response, headers)
            return self.app(environ, start_response)
        if fault == "429":
            return _throttled(environ, start_response, self._retry_after, headers)
        if fault == "reset":
            return self._reset(environ, start_response, headers)
        if fault == "truncate":
            return self._truncate(environ, start_response, headers)
        return _error_response(environ, start_response, int(fault), headers)

    def _reset(self, environ: dict, start_response: Callable, headers: Headers) -> list[bytes]:
        """Drop the connection without an answer (503 where that is impossible)."""
        sock = _raw_socket(environ)
        if sock is None or not abort_connection(sock):
            return _error_response(environ, start_response, 503, headers)
        raise _ConnectionSevered(errno.ECONNRESET, "Injected fault: connection reset")

    def _truncate(self, environ: dict, start_response: Callable, headers: Headers) -> list[bytes]:
        """Answer for real, but deliver only the first half of the body."""
        status, app_headers, body = _collect(self.app, environ)
        app_headers = [h for h in app_headers if h[0].lower() not in _FRAMING_HEADERS]
        app_headers += headers
        if not body or environ.get("REQUEST_METHOD") == "HEAD":
            # Nothing to cut: answer normally.
            start_response(status, [*app_headers, ("Content-Length", str(len(body)))])
            return [body]
        sock = _raw_socket(environ)
        if sock is None:
            # Best effort on other servers: they stop after the short body.
            start_response(status, [*app_headers, ("Content-Length", str(len(body)))])
            return [body[: len(body) // 2]]
        _send_truncated(sock, environ, status, app_headers, body)
        raise _ConnectionSevered(errno.EPIPE, "Injected fault: truncated response")
