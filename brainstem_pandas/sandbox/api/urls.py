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
    viewset = VIEWSETS[m.name]
    base = f"api/<str:portal>/{m.app}/{m.segment}/"
    return [
        path(base, viewset.as_view(LIST), name=f"{m.name}-list"),
        path(f"{base}<str:pk>/", viewset.as_view(DETAIL), name=f"{m.name}-detail"),
        path(f"{base}<str:pk>/<str:action_name>/", viewset.as_view(ACTION), name=f"{m.name}-action"),
    ]


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
