"""Root URLs of the sandbox: BrainSTEM under /api/, brainmaps under /brainmaps/v1/."""

from django.urls import include, path

from brainstem_pandas.sandbox.api import root, views

urlpatterns = [
    path("sandbox/health/", views.health),
    path("brainmaps/v1/", include("brainstem_pandas.sandbox.brainmaps.urls")),
    path("", include("brainstem_pandas.sandbox.api.urls")),
    # Last: /api/token/ and the other fixed paths above take precedence over /api/{portal}/.
    path("api/", root.api_root),  # the API roots answer an index, as DRF's do (the printed API URL)
    path("api/<str:portal>/", root.portal_root),
]

handler404 = views.json_404
handler500 = views.json_500
