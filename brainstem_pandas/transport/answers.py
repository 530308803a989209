"""Answers into results: the decoded JSON of a success, the typed error of a failure."""

from __future__ import annotations

import json
from typing import Any, NoReturn

import requests

from brainstem_pandas.errors import RateLimitError, ResponseError, ValidationError, error_class, truncate


class Incomplete(ResponseError):
    """A success whose body starts as JSON but does not parse: cut short (or garbled) on the way; retried."""

    def __init__(self, method: str, url: str, problem: str, status: int | None = None) -> None:
        super().__init__(method, url, problem, status)
        self.problem = problem


def decode(method: str, response: requests.Response, retry_after: float | None = None, attempts: int = 1) -> Any:
    """The JSON of ``response`` (None for 204), or the typed error its status or body calls for.

    Raises
    ------
    APIError
        (a subclass per status) for an error status; ``attempts`` and ``retry_after`` are noted on it.
    ResponseError
        For a successful answer that is not JSON, or empty where JSON was expected, or nested too
        deeply; :class:`Incomplete` when it starts as JSON and breaks off.
    """
    url, status = response.url, response.status_code
    # Decode bytes directly: requests' .text guesses the charset of JSON answers
    # sent without one, which costs more than parsing them.
    raw = response.content
    ctype = response.headers.get("Content-Type", "")
    body: Any = None
    text = ""
    if raw.strip():
        # Only an answer without framing (no Content-Length, not chunked: the end is wherever the
        # connection closed) can be cut short unnoticed; a framed one that breaks is simply not JSON.
        framed = "Content-Length" in response.headers or "chunked" in response.headers.get("Transfer-Encoding", "")
        body, text = _parse(method, url, raw, status, framed)
        if body is None and text:
            if status < 400:
                looks = "HTML" if "html" in ctype or text.lstrip().startswith("<") else "text"
                raise ResponseError(
                    method,
                    url,
                    f"the server answered {looks}, not JSON"
                    "; check that the URL is the BrainSTEM server's root: " + truncate(text, 120),
                    status,
                )
    if status >= 400:
        _raise_status(method, url, status, body, text, retry_after, attempts)
    if status == 204:
        return None
    if body is None:
        raise ResponseError(
            method,
            url,
            "the server answered an empty body where JSON was expected; check "
            "that the URL is the BrainSTEM server's root",
            status,
        )
    return body


def _parse(method: str, url: str, raw: bytes, status: int, framed: bool) -> tuple[Any, str]:
    """(the JSON of ``raw``, "") or (None, its text) when it is not JSON."""
    try:
        return json.loads(raw), ""
    except RecursionError:
        pass
    except ValueError as exc:
        if status < 400 and not framed and raw.lstrip()[:1] in (b"{", b"["):
            # Starts as JSON, then breaks: the body was cut short (a connection closed early
            # without a Content-Length to tell), so another try may well succeed.
            where = f"byte {getattr(exc, 'pos', 0)} of {len(raw)}"
            raise Incomplete(method, url, f"the JSON breaks off at {where}", status) from None
        return None, raw.decode("utf-8", errors="replace")
    raise ResponseError(method, url, "the answer is JSON nested too deeply to read; tell the server's admins", status)


def _detail_and_errors(body: Any) -> tuple[str, dict[str, list[str]]]:
    if isinstance(body, dict):
        errors = {
            k: (v if isinstance(v, list) else [v])
            for k, v in body.items()
            if k not in ("detail", "error") and isinstance(v, (list, str))
        }
        detail = body.get("detail")
        if isinstance(detail, dict):  # brainmaps-style per-field detail
            errors = {**errors, **{k: [str(v)] for k, v in detail.items()}}
            detail = ""
        title = body.get("error")
        text = " - ".join(str(p) for p in (title, detail) if p)
        return text, {k: [str(m) for m in v] for k, v in errors.items()}
    if isinstance(body, list):
        return "; ".join(map(str, body)), {}
    return "" if body is None else str(body), {}


def _raise_status(
    method: str, url: str, status: int, body: Any, text: str, retry_after: float | None, attempts: int
) -> NoReturn:
    """Raise the error of an error status (its class chosen by :func:`~brainstem_pandas.errors.error_class`)."""
    detail, errors = _detail_and_errors(body)
    if body is None:
        stripped = text.strip()
        detail = (
            ("(an HTML page, not JSON)" if stripped.startswith("<") else truncate(stripped, 200))
            if stripped
            else "(empty body)"
        )
    if status == 400 and errors:
        raise ValidationError(method, url, status, detail, errors=errors, body=body, attempts=attempts)
    cls = error_class(status)
    if cls is RateLimitError:
        raise RateLimitError(method, url, status, detail, retry_after=retry_after, body=body, attempts=attempts)
    raise cls(method, url, status, detail, body=body, attempts=attempts)
