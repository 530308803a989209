"""Query parameters holding a NUL character are a 400 on both databases.

PostgreSQL text cannot hold NUL (psycopg refuses to send it: a 500 from a plain
Django server), and SQLite's ``LIKE`` stops reading a pattern at NUL (so
``filter{name.icontains}=%00`` would match nearly everything). Neither is an
answer, so the sandbox refuses such a request before any view runs.
"""

from __future__ import annotations

from typing import Any, Callable

from django.http import HttpRequest, HttpResponse, JsonResponse


def holds_nul(request: HttpRequest) -> bool:
    """Whether any query parameter name or value holds a NUL character."""
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in request.GET.lists())


class RefuseNul:
    """Django middleware: answer 400, naming the parameter, when a query parameter holds NUL."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        if holds_nul(request):
            name = next(k for k, vs in request.GET.lists() if "\x00" in k or any("\x00" in v for v in vs))
            detail = f"Invalid data: {name!r} holds a NUL character (\\x00), which no text field can hold."
            return JsonResponse({"detail": detail}, status=400)
        return self.get_response(request)
