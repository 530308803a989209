"""Error bodies of the brainmaps API.

Every error answers ``{"error": <short title>, "detail": <specific message>}``,
the shape the brainmaps documentation gives for 400, 401, 403 and 404. The
views install :func:`exception_handler` themselves (``get_exception_handler``)
because the project-wide DRF setting belongs to the BrainSTEM API.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

logger = logging.getLogger(__name__)

# Titles of the documented errors are copied from the spec; the others follow
# the same style so clients can show ``error`` without checking the status.
TITLES: dict[int, str] = {
    400: "Invalid request parameters",
    401: "Authentication required",
    403: "Permission denied",
    404: "Resource not found",
    405: "Method not allowed",
    406: "Not acceptable",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Internal server error",
}

# Messages the spec shows when nothing more specific is known.
DEFAULT_DETAILS: dict[int, str] = {
    401: "Please log in to access this resource",
    403: "You don't have permission to perform this action",
    404: "The requested resource does not exist",
    500: "An unexpected error occurred",
}

# DRF's generic messages (lazy translations), replaced by the spec's wording.
_GENERIC_DETAILS = (
    exceptions.NotAuthenticated.default_detail,
    exceptions.PermissionDenied.default_detail,
    exceptions.NotFound.default_detail,
)


def _is_generic(detail: Any) -> bool:
    """Return whether `detail` is empty or one of DRF's generic messages."""
    if detail in (None, "", [], {}):
        return True
    return isinstance(detail, str) and detail in {str(d) for d in _GENERIC_DETAILS}


def error_title(status_code: int) -> str:
    """Return the short ``error`` title of `status_code`.

    Examples
    --------
    >>> error_title(404)
    'Resource not found'
    >>> error_title(409)
    'Conflict'
    """
    if status_code in TITLES:
        return TITLES[status_code]
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return "Error"


def error_body(status_code: int, detail: Any = None) -> dict[str, Any]:
    """Build the ``{"error", "detail"}`` body of an error response.

    Parameters
    ----------
    status_code : int
        HTTP status of the response.
    detail : Any, optional
        Specific message, or per-field messages for validation errors. Empty or
        DRF's generic wording falls back to the spec's default message.

    Returns
    -------
    dict
        The response body.

    Examples
    --------
    >>> error_body(403)
    {'error': 'Permission denied', 'detail': "You don't have permission to perform this action"}
    """
    if _is_generic(detail):
        detail = DEFAULT_DETAILS.get(status_code, error_title(status_code))
    return {"error": error_title(status_code), "detail": detail}


def flatten_messages(detail: Any) -> Any:
    """Turn DRF error details into plain strings, one per field.

    Parameters
    ----------
    detail : Any
        ``ValidationError.detail``: a string, a list of strings, or a dict of
        field name to either (nested for nested serializers).

    Returns
    -------
    str or dict
        A string, or a dict mapping each field to one message string.

    Examples
    --------
    >>> flatten_messages({"name": ["This field is required."]})
    {'name': 'This field is required.'}
    >>> flatten_messages(["Too short.", "Not a word."])
    'Too short. Not a word.'
    """
    if isinstance(detail, dict):
        return {str(key): flatten_messages(value) for key, value in detail.items()}
    if isinstance(detail, (list, tuple)):
        return " ".join(str(flatten_messages(item)) for item in detail)
    return str(detail)


def _as_api_exception(exc: Exception) -> exceptions.APIException | None:
    """Map Django's own exceptions onto DRF's; return None for anything else."""
    if isinstance(exc, Http404):
        return exceptions.NotFound(*exc.args)
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied(*exc.args)
    if isinstance(exc, exceptions.APIException):
        return exc
    return None


def _headers(exc: exceptions.APIException) -> dict[str, str]:
    """Headers an error response must carry (the same ones DRF would send)."""
    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = "%d" % exc.wait
    return headers


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """Answer any exception raised in a brainmaps view with an error body.

    Unlike DRF's default handler this never returns None: unexpected errors
    become a JSON 500 too, so clients always get ``{"error", "detail"}``.

    Parameters
    ----------
    exc : Exception
        The exception the view raised.
    context : dict
        DRF's handler context (``view``, ``request``, ...).

    Returns
    -------
    Response
        The error response.
    """
    api_exc = _as_api_exception(exc)
    set_rollback()
    if api_exc is None:
        # Keep the traceback in the server log: the client only sees a summary.
        logger.exception("unhandled error in brainmaps view %r", context.get("view"))
        code = status.HTTP_500_INTERNAL_SERVER_ERROR
        return Response(error_body(code), status=code)
    return Response(
        error_body(api_exc.status_code, flatten_messages(api_exc.detail)),
        status=api_exc.status_code,
        headers=_headers(api_exc),
    )
