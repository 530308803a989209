"""The answers the fault layer gives itself: injected errors and throttling, in each API's dialect.

Examples
--------
>>> error_body("/brainmaps/api/brains/", "Bad Gateway", "Injected fault: 502 Bad Gateway")
{'error': 'Bad Gateway', 'detail': 'Injected fault: 502 Bad Gateway'}
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]
Headers = list[tuple[str, str]]


def status_line(code: int) -> str:
    return f"{code} {HTTPStatus(code).phrase}"


def error_body(path: str, error: str, detail: str) -> dict[str, str]:
    """Error payload in the dialect of the API the path belongs to.

    The REST API answers like Django REST framework (``detail`` only); the
    brainmaps service adds an ``error`` title.
    """
    if path.startswith("/brainmaps/"):
        return {"error": error, "detail": detail}
    return {"detail": detail}


def json_response(start_response: Callable, code: int, payload: dict, headers: Headers) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(
        status_line(code),
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            *headers,
        ],
    )
    return [body]


def error_response(environ: dict, start_response: Callable, code: int, headers: Headers) -> list[bytes]:
    """An injected 5xx answer."""
    phrase = HTTPStatus(code).phrase
    payload = error_body(environ.get("PATH_INFO", ""), phrase, f"Injected fault: {code} {phrase}")
    return json_response(start_response, code, payload, headers)


def throttle_detail(seconds: int) -> str:
    """The throttling message, worded like Django REST framework's.

    Examples
    --------
    >>> throttle_detail(3)
    'Request was throttled. Expected available in 3 seconds.'
    """
    unit = "second" if seconds == 1 else "seconds"
    return f"Request was throttled. Expected available in {seconds} {unit}."


def throttled(environ: dict, start_response: Callable, retry_after: int, headers: Headers) -> list[bytes]:
    """A 429 answer with ``Retry-After``."""
    payload = error_body(
        environ.get("PATH_INFO", ""),
        "Rate limit exceeded",
        throttle_detail(retry_after),
    )
    return json_response(start_response, 429, payload, [("Retry-After", str(retry_after)), *headers])


def with_headers(start_response: Callable, extra: Headers) -> Callable:
    """A ``start_response`` that appends ``extra`` to the app's headers."""

    def start(status: str, headers: Headers, exc_info: Any = None) -> Callable:
        return start_response(status, [*headers, *extra], exc_info)

    return start


def collect(app: WSGIApp, environ: dict) -> tuple[str, Headers, bytes]:
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
