"""HTTP for brainstem_pandas: one session, timeouts, retries, and typed errors.

A :class:`Transport` owns one ``requests.Session`` whose connection pool matches the
client's concurrency. Every request has connect and read timeouts. Connection
errors, cut-off bodies and the statuses in :attr:`RetryPolicy.statuses` are retried
with exponential backoff and jitter, honouring ``Retry-After`` (seconds or an HTTP
date; zero or negative values are ignored so that a misbehaving server cannot
cause a hot loop) and ``X-RateLimit-Reset``, with caps on attempts and on the total
wait. Everything else becomes one of the errors of :mod:`brainstem_pandas.errors`.

The ``Authorization`` header is attached only to requests for the server the
client was connected to (same scheme, host and port, as urllib3 reads them to connect):
a ``next`` link or a redirect to anywhere else never carries the token, and an
ambiguous URL (backslash, user information, spaces) is not sent at all. Redirects are
therefore followed here, not by requests. Each whole answer must arrive before a
deadline and fit a size cap; a body cut short (by its framing, its gzip stream, or
JSON that breaks off) is retried.
"""

from brainstem_pandas.transport.answers import decode
from brainstem_pandas.transport.body import MAX_BODY
from brainstem_pandas.transport.origins import ambiguity, check_secure, check_url, is_loopback, origin, safe_url
from brainstem_pandas.transport.retry import IDEMPOTENT, MAX_PACED, RetryPolicy, parse_retry_after
from brainstem_pandas.transport.secret import Secret
from brainstem_pandas.transport.session import DEADLINE, MAX_REDIRECTS, Credentials, Transport

__all__ = [
    "DEADLINE",
    "IDEMPOTENT",
    "MAX_BODY",
    "MAX_PACED",
    "MAX_REDIRECTS",
    "Credentials",
    "RetryPolicy",
    "Secret",
    "Transport",
    "ambiguity",
    "check_secure",
    "check_url",
    "decode",
    "is_loopback",
    "origin",
    "parse_retry_after",
    "safe_url",
]
