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

The parts: :mod:`.plan` (which request gets which fault), :mod:`.ratelimit`
(the shared fixed-window counts), :mod:`.responses` (the answers the layer gives
itself), :mod:`.wire` (the connection-level faults) and :mod:`.middleware`.
"""

from __future__ import annotations

import multiprocessing

from brainstem_pandas.sandbox.config import SandboxConfig
from brainstem_pandas.sandbox.faults.middleware import LIMITED_PREFIXES, FaultMiddleware, is_limited_path
from brainstem_pandas.sandbox.faults.plan import FaultPlan, active_faults
from brainstem_pandas.sandbox.faults.ratelimit import RATE_SLOTS, RateLimiter, client_identity
from brainstem_pandas.sandbox.faults.responses import WSGIApp, throttle_detail
from brainstem_pandas.sandbox.faults.wire import abort_connection

__all__ = [
    "LIMITED_PREFIXES",
    "RATE_SLOTS",
    "abort_connection",
    "client_identity",
    "is_limited_path",
    "throttle_detail",
    "wrap_wsgi",
]


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
    faults = active_faults(config.faults)
    if config.latency_ms <= 0 and not faults and config.rate_limit <= 0:
        return app
    # Fork context whatever the platform default: the primitives reach the
    # workers through gunicorn's os.fork(), and the spawn/forkserver contexts
    # would also start a resource-tracker process for the locks.
    ctx = multiprocessing.get_context("fork")
    limiter = RateLimiter(config.rate_limit, config.rate_window, ctx) if config.rate_limit > 0 else None
    plan = FaultPlan(config.seed, faults, config.burst_429, ctx) if faults else None
    return FaultMiddleware(
        app,
        delay=max(0.0, config.latency_ms) / 1000.0,
        limiter=limiter,
        plan=plan,
        retry_after=max(0, int(config.retry_after)),
    )
