"""URLs of the brainmaps API, relative to the ``brainmaps/v1/`` prefix.

Mounted by the sandbox root URLconf with
``path("brainmaps/v1/", include("brainstem_pandas.sandbox.brainmaps.urls"))``.
URL names start with ``brainmaps-`` because the include has no namespace.
"""

from __future__ import annotations

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from brainstem_pandas.sandbox.brainmaps import views

router = SimpleRouter()
router.register("categories", views.CategoryViewSet, basename="brainmaps-category")
router.register("species", views.SpeciesViewSet, basename="brainmaps-species")
router.register("brains", views.BrainViewSet, basename="brainmaps-brain")
router.register("file-uploads", views.FileUploadViewSet, basename="brainmaps-file-upload")

urlpatterns = [
    path("", views.ApiRootView.as_view(), name="brainmaps-root"),
    path("auth/login/", views.LoginView.as_view(), name="brainmaps-login"),
    path("auth/logout/", views.LogoutView.as_view(), name="brainmaps-logout"),
    path("auth/me/", views.MeView.as_view(), name="brainmaps-me"),
    *router.urls,
    # Last: unknown paths get a JSON 404. Only paths ending in "/" match, so
    # APPEND_SLASH still redirects "brains" to "brains/".
    re_path(r"^.*/$", views.EndpointNotFoundView.as_view(), name="brainmaps-not-found"),
]
