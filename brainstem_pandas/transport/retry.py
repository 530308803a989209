"""How hard a request is tried: the retry policy, the server's own waits, and one request's retry state."""

from __future__ import annotations

import random
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import requests
import urllib3.exceptions

from brainstem_pandas.errors import TransportError

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Most paced 429 retries of one request (each waits as the server asks, within max_wait).
MAX_PACED = 100
# Failures retried like a retryable status: the server was not reached, or its answer was cut off.
RETRIED_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)

# Tries for a server that cannot be reached at all (refused, unknown name, TLS failure): a second
# try rides out a blip; more only make a mistyped address slow to report (eight took 16 s).
UNREACHABLE_ATTEMPTS = 2
# What to check, per way of not reaching a server (the key is what :func:`unreachable` returns).
UNREACHABLE_ADVICE = {
    "the connection was refused": "nothing answers at this host and port: check the server URL (its port) and "
    "that the server (or the sandbox) is running",
    "the server's name could not be resolved": "check the server URL (the spelling of its host, e.g. "
    "https://www.brainstem.org) and your network or DNS",
    "no connection could be made": "check the server URL and your network connection",
    "the TLS (https) handshake failed": "check the server URL's scheme (https:// for brainstem.org, http:// for a "
    "sandbox on this computer), the computer's clock and its CA certificates (a proxy that rewrites https breaks "
    "it too)",
}


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps (its arguments, urllib3's ``reason``, cause and context), at most 32."""
    seen: list[BaseException] = []
    stack = [exc]
    while stack and len(seen) < 32:
        item = stack.pop()
        if any(item is s for s in seen):
            continue
        seen.append(item)
        inner = [getattr(item, "reason", None), item.__cause__, item.__context__, *item.args]
        stack.extend(i for i in inner if isinstance(i, BaseException))
    return seen


def unreachable(exc: BaseException) -> str | None:
    """How the server could not be reached at all (a key of :data:`UNREACHABLE_ADVICE`), or None.

    A reset, a timeout or a cut-off answer is None: the server was there, and may answer a retry.

    Examples
    --------
    >>> unreachable(requests.exceptions.SSLError("certificate verify failed"))
    'the TLS (https) handshake failed'
    >>> unreachable(requests.ConnectionError("Connection reset by peer")) is None
    True
    """
    causes = _causes(exc)
    kinds = (
        ((requests.exceptions.SSLError, urllib3.exceptions.SSLError, ssl.SSLError), "the TLS (https) handshake failed"),
        ((urllib3.exceptions.NameResolutionError, socket.gaierror), "the server's name could not be resolved"),
        ((ConnectionRefusedError,), "the connection was refused"),
        ((urllib3.exceptions.NewConnectionError,), "no connection could be made"),
    )
    for types, kind in kinds:
        if any(isinstance(cause, types) for cause in causes):
            return kind
    return None


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


@dataclass
class Tries:
    """Where one request's retries stand."""

    retry_any: bool  # any failure may be retried (an idempotent request), not only 429 and 503
    attempt: int = 0  # tries used up
    paced: int = 0  # 429 waits that did not use up a try
    waited: float = 0.0
    renewed: bool = False


def stop_if_cancelled(cancel: threading.Event | None, method: str, url: str, tries: Tries) -> None:
    if cancel is not None and cancel.is_set():
        raise TransportError(method, url, "not sent: the read that asked for it has stopped", tries.attempt)


def server_wait(response: requests.Response) -> float | None:
    """How long the server asks to wait before the next try (``Retry-After`` or a used-up rate window)."""
    return parse_retry_after(response.headers.get("Retry-After")) or _rate_reset_wait(response)


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
