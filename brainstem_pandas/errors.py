"""One exception tree for everything brainstem_pandas raises.

::

    BrainstemError
    ├── ConfigurationError          bad arguments to connect() or a Client method
    │   └── MissingDependencyError (ImportError)   an optional extra is not installed; names it
    ├── QueryError (ValueError)     a query the catalog rejects before any request
    │   └── UnknownNameError (LookupError)   unknown model or field; suggests names
    ├── AuthenticationError         no usable token, a login that failed or timed out
    ├── TransportError              the server could not be reached (after retries)
    ├── ResponseError               an answer that is not the JSON the API promises
    ├── PaginationError             pages that do not add up to the announced total
    ├── SnapshotError               a snapshot that cannot be written, read or queried
    │   └── DamagedSnapshotError    a missing file, a checksum mismatch, an unknown format
    ├── NwbMetadataError            a session NWB cannot describe; names the BrainSTEM field to fill in
    └── APIError                    the server answered with an error status
        ├── BadRequestError (400)
        │   └── ValidationError     carries the server's per-field messages
        ├── UnauthorizedError (401) (also an AuthenticationError)
        ├── PermissionDeniedError (403)
        ├── NotFoundError (404)
        ├── RateLimitError (429)    carries ``retry_after``
        └── ServerError (5xx)

Every message says what was asked (method and URL), what the server answered (its
detail, truncated) and what to do next. Tokens never appear in a message: URLs
carry none, and :func:`redact` scrubs anything that looks like a bearer token.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Iterable

DETAIL_LIMIT = 300

# A secret after "Bearer" or "token": long, and holding a digit (ordinary words do not).
_BEARER = re.compile(r"(?i)(bearer\s+|token[\"'=:\s]+)(?=[A-Za-z0-9._~+/=-]*\d)[A-Za-z0-9._~+/=-]{12,}")


def redact(text: str) -> str:
    """Replace anything that looks like a token in ``text`` with ``***``.

    Examples
    --------
    >>> redact("Authorization: Bearer abc123defghijkl")
    'Authorization: Bearer ***'
    >>> redact("token authentication failed")
    'token authentication failed'
    """
    return _BEARER.sub(lambda m: m.group(1) + "***", text)


def truncate(text: str, limit: int = DETAIL_LIMIT) -> str:
    """Shorten server text for a message."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class BrainstemError(Exception):
    """Root of every error raised by brainstem_pandas.

    Attributes
    ----------
    where : str or None
        Where it happened, when a caller knew more than the raiser (e.g. which page
        of a walk); set by :func:`locate`.
    """

    def __init__(self, message: str, *, where: str | None = None) -> None:
        super().__init__(redact(message))
        self.where = where


def close_names(name: str, choices: Iterable[str]) -> list[str]:
    """Up to three of ``choices`` close to a misspelt ``name``, best first (for "did you mean").

    Examples
    --------
    >>> close_names("sesion", ["session", "subject"])
    ['session']
    """
    return difflib.get_close_matches(str(name), list(choices), n=3, cutoff=0.5)


def locate(exc: BrainstemError, where: str) -> BrainstemError:
    """Prefix ``exc``'s message with where it happened, and keep that as ``exc.where``.

    The transport knows the request but not which page of which walk it served;
    the walk adds that, so a failure names the page to look at.

    Examples
    --------
    >>> str(locate(ConfigurationError("bad"), "page 2 (offset=99)"))
    'page 2 (offset=99): bad'
    """
    exc.where = where
    exc.args = (f"{where}: {exc.args[0]}",) + tuple(exc.args[1:]) if exc.args else (where,)
    return exc


class ConfigurationError(BrainstemError, ValueError):
    """Invalid arguments, e.g. an unknown portal or an insecure URL for a token."""


class QueryError(BrainstemError, ValueError):
    """A query that cannot be sent: unknown field, unfit operator, bad include."""


class UnknownNameError(QueryError, LookupError):
    """A model or field name the catalog does not know; ``suggestions`` holds close names."""

    def __init__(self, kind: str, name: str, choices: list[str], where: str = "") -> None:
        suggestions = close_names(name, choices)
        hint = (
            f" Did you mean {', '.join(repr(s) for s in suggestions)}?"
            if suggestions
            else f" Known {kind}s: {', '.join(sorted(choices))}."
        )
        super().__init__(f"Unknown {kind} {name!r}{where}.{hint}")
        self.kind, self.name, self.suggestions = kind, name, suggestions


class AuthenticationError(BrainstemError):
    """No usable credentials, or a login flow that failed, was denied or timed out.

    Attributes
    ----------
    status : int or None
        The HTTP status of a sign-in request the server refused, if that is what
        happened (so a caller can add advice that fits the refusal).
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status: int | None = status


class TransportError(BrainstemError):
    """The server could not be reached or the connection broke, after all retries.

    Attributes
    ----------
    unreachable : bool
        True when the server could not be reached at all (refused, unknown name, TLS failure):
        the message then says so first, and what to check.
    """

    def __init__(self, method: str, url: str, reason: str, attempts: int = 1, *, advice: str = "") -> None:
        if advice:
            text = (
                f"The server cannot be reached: {method} {url} failed after {attempts} attempt(s): "
                f"{truncate(reason)}. {advice[:1].upper()}{advice[1:]}."
            )
        else:
            text = (
                f"{method} {url} failed after {attempts} attempt(s): {truncate(reason)}. "
                "Check the server URL and your network, then try again."
            )
        super().__init__(text)
        self.method, self.url, self.attempts, self.unreachable = method, url, attempts, bool(advice)


class ResponseError(BrainstemError):
    """The server answered something that is not the expected JSON.

    Attributes
    ----------
    method, url : str
        The request.
    status : int or None
        The status of the answer, when there was one.
    location : str or None
        Where a redirect that was not followed pointed.
    """

    def __init__(
        self, method: str, url: str, problem: str, status: int | None = None, *, location: str | None = None
    ) -> None:
        code = f" ({status})" if status else ""
        super().__init__(f"{method} {url}{code}: {problem}")
        self.method, self.url, self.status, self.location = method, url, status, location


class PaginationError(BrainstemError):
    """Pages that do not add up: records missing or the total changed during the walk.

    Attributes
    ----------
    expected : int or None
        The total the server announced.
    received : int
        Unique records received.
    walks : int
        Walks made before giving up.
    """

    def __init__(self, message: str, *, expected: int | None, received: int, walks: int = 1) -> None:
        super().__init__(message)
        self.expected, self.received, self.walks = expected, received, walks


class Cancelled(BrainstemError):
    """A read stopped by its ``cancel`` event (or callable) before it finished; nothing was returned."""


class SnapshotError(BrainstemError):
    """A snapshot that cannot be written, read or queried (the message says why and what to do)."""


class DamagedSnapshotError(SnapshotError):
    """A snapshot whose files do not match its manifest: missing, altered, or of an unknown format."""


class MissingDependencyError(ConfigurationError, ImportError):
    """An optional extra is not installed; the message gives the ``pip install`` line that brings it."""


class NwbMetadataError(BrainstemError):
    """A session whose BrainSTEM metadata cannot make an NWB file, naming what to fill in.

    Attributes
    ----------
    model, id : str
        The record to fix (``"session"``, ``"subject"``, ...) and its id.
    field : str
        The BrainSTEM field to fill in, as ``model.field`` (``"session.date_time"``).

    Examples
    --------
    >>> NwbMetadataError("fill in session.date_time", model="session", id="s1", field="session.date_time").field
    'session.date_time'
    """

    def __init__(self, message: str, *, model: str, id: Any, field: str) -> None:
        super().__init__(message)
        self.model, self.id, self.field = model, id, field


class APIError(BrainstemError):
    """The server answered with an error status.

    Attributes
    ----------
    status : int
        HTTP status code.
    detail : str
        The server's explanation (truncated).
    method, url : str
        The request that failed.
    body : object
        The decoded answer, if it was JSON.
    attempts : int
        Tries made, the first included.
    """

    hint = "Check the request and try again."

    def __init__(self, method: str, url: str, status: int, detail: str, *, body: Any = None, attempts: int = 1) -> None:
        shown = truncate(detail)
        said = shown.rstrip(". ") or "(no detail)"
        # Status 0: the client's own checks stopped the request before it was sent.
        what = f"answered {status}" if status else "was not sent"
        super().__init__(f"{method} {url} {what}: {said}. {self.hint}")
        # Set after the bases' constructors (UnauthorizedError is also an AuthenticationError, whose status is None).
        self.method, self.url = method, url
        self.status: int | None = status  # never None here; typed as its base AuthenticationError's
        self.detail, self.body, self.attempts = shown, body, attempts


class BadRequestError(APIError):
    """400: the server rejected the request."""

    hint = "Check the parameters and values you sent."


class ValidationError(BadRequestError):
    """400 with per-field messages (also raised before sending by the client's own checks).

    Attributes
    ----------
    errors : dict
        Field name -> list of messages.
    """

    hint = "Fix the fields named above and send again."

    def __init__(
        self,
        method: str,
        url: str,
        status: int,
        detail: str,
        *,
        errors: dict[str, list[str]] | None = None,
        body: Any = None,
        attempts: int = 1,
    ) -> None:
        errors = errors or {}
        if errors and not detail:
            detail = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in errors.items())
        super().__init__(method, url, status, detail, body=body, attempts=attempts)
        self.errors = errors


class UnauthorizedError(APIError, AuthenticationError):
    """401: missing, invalid or expired token."""

    hint = "Sign in again or create a new personal access token (bsp.connect(token=...))."


class PermissionDeniedError(APIError):
    """403: the token's user may not do this."""

    hint = "Ask a project or group manager for the needed permission, or use a token of a user who has it."


class NotFoundError(APIError):
    """404: no such record, model or URL on this portal."""

    hint = "Check the id and the portal (records of private projects are not on the public portal)."


class RateLimitError(APIError):
    """429 that retries could not get past; ``retry_after`` is the server's wait in seconds."""

    hint = "Wait and try again, or lower the number of workers."

    def __init__(
        self,
        method: str,
        url: str,
        status: int,
        detail: str,
        *,
        retry_after: float | None = None,
        body: Any = None,
        attempts: int = 1,
    ) -> None:
        if retry_after is not None:
            detail = f"{detail} (retry after {retry_after:g} s)"
        super().__init__(method, url, status, detail, body=body, attempts=attempts)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx that retries could not get past."""

    hint = "The server failed; try again later. If it persists, report it to the server's administrators."


STATUS_ERRORS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}


def error_class(status: int) -> type[APIError]:
    """The exception class for an HTTP error status."""
    if status >= 500:
        return ServerError
    return STATUS_ERRORS.get(status, APIError)
