"""URL patterns of the BrainSTEM endpoints, one set per catalogued model."""

from __future__ import annotations

from django.urls import path

from brainstem_pandas import catalog
from brainstem_pandas.sandbox.api import auth
from brainstem_pandas.sandbox.api.views import VIEWSETS

LIST = {"get": "list", "post": "create"}
DETAIL = {"get": "retrieve", "patch": "partial_update", "put": "update", "delete": "destroy"}
ACTION = {"get": "run_action", "patch": "run_action"}


def _model_patterns(m: catalog.Model) -> list:
    """The list, detail and action URLs of ``m`` at every spelling the official clients use.

    The documented segment comes first and keeps the route names, so reversed URLs
    (next links) use the documented spelling.
    """
    viewset = VIEWSETS[m.name]
    out = []
    for n, segment in enumerate(m.url_segments):
        base = f"api/<str:portal>/{m.app}/{segment}/"
        suffix = "" if n == 0 else f"-{segment}"
        out += [
            path(base, viewset.as_view(LIST), name=f"{m.name}-list{suffix}"),
            path(f"{base}<str:pk>/", viewset.as_view(DETAIL), name=f"{m.name}-detail{suffix}"),
            path(f"{base}<str:pk>/<str:action_name>/", viewset.as_view(ACTION), name=f"{m.name}-action{suffix}"),
        ]
    return out


urlpatterns = [
    path("api/auth/token/", auth.token_pair),
    path("api/auth/token/refresh/", auth.token_refresh),
    path("api/token/", auth.legacy_token),
    path("api/auth/device/", auth.device_start),
    path("api/auth/device/token/", auth.device_poll),
    path("account/authorize/", auth.authorize_page),
]
for _m in catalog.all_models().values():
    urlpatterns += _model_patterns(_m)
