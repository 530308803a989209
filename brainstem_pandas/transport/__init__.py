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

from brainstem_pandas.transport.answers import decode
from brainstem_pandas.transport.origins import check_secure, is_loopback, origin
from brainstem_pandas.transport.retry import IDEMPOTENT, MAX_PACED, RetryPolicy, parse_retry_after
from brainstem_pandas.transport.session import MAX_REDIRECTS, Credentials, Transport

__all__ = [
    "IDEMPOTENT",
    "MAX_PACED",
    "MAX_REDIRECTS",
    "Credentials",
    "RetryPolicy",
    "Transport",
    "check_secure",
    "decode",
    "is_loopback",
    "origin",
    "parse_retry_after",
]
