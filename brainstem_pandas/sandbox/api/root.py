"""The API roots: ``/api/`` and ``/api/{portal}/`` answer an index of their endpoints, as a DRF API root does.

So the API URL the sandbox prints opens on something useful (a browser shows the JSON) instead of a 404.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from brainstem_pandas import catalog
from brainstem_pandas.sandbox.api.views import json_404

PORTALS = ("private", "public")
# The sign-in endpoints the sandbox serves (under /api/auth/ and /api/token/).
AUTH = {
    "device": "api/auth/device/",
    "device_token": "api/auth/device/token/",
    "token": "api/auth/token/",
    "token_refresh": "api/auth/token/refresh/",
}


def api_root(request: HttpRequest) -> JsonResponse:
    """``GET /api/``: the portals, and the sign-in endpoints."""
    if request.method not in ("GET", "HEAD"):
        return JsonResponse({"detail": f'Method "{request.method}" not allowed.'}, status=405)
    absolute = request.build_absolute_uri
    return JsonResponse(
        {
            **{portal: absolute(f"/api/{portal}/") for portal in PORTALS},
            "auth": {name: absolute(f"/{path}") for name, path in AUTH.items()},
        }
    )


def portal_root(request: HttpRequest, portal: str) -> JsonResponse:
    """``GET /api/{portal}/``: every model listed on the portal -> its list URL, in catalog order."""
    if portal not in PORTALS:
        return json_404(request)
    if request.method not in ("GET", "HEAD"):
        return JsonResponse({"detail": f'Method "{request.method}" not allowed.'}, status=405)
    return JsonResponse(
        {
            m.name: request.build_absolute_uri(f"/api/{portal}/{m.app}/{m.segment}/")
            for m in catalog.all_models().values()
            if portal in m.portals.get("list", ())
        }
    )
