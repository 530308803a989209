"""Views of the brainmaps API (mounted at ``/brainmaps/v1/``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Q, QuerySet
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import AuthenticationFailed, NotFound, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from brainstem_pandas.sandbox.brainmaps import errors
from brainstem_pandas.sandbox.brainmaps.auth import (
    AuthenticatedOrPreflight,
    ReadAnyoneWriteAuthenticated,
    TokenAuthentication,
    UploaderOrReadOnly,
)
from brainstem_pandas.sandbox.brainmaps.filters import (
    apply_search,
    parse_bool,
    parse_int,
    search_terms,
)
from brainstem_pandas.sandbox.brainmaps.models import (
    AuthToken,
    Brain,
    Category,
    FileUpload,
    Species,
    User,
)
from brainstem_pandas.sandbox.brainmaps.pagination import BrainmapsPagination
from brainstem_pandas.sandbox.brainmaps.serializers import (
    BrainSerializer,
    CategorySerializer,
    FileUploadSerializer,
    LoginSerializer,
    SpeciesSerializer,
    UserSerializer,
    find_species,
)

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Authorization",
}


class BrainmapsViewMixin(APIView):
    """Policies shared by every brainmaps view.

    Set here rather than in settings because ``REST_FRAMEWORK`` belongs to the
    BrainSTEM API, whose auth, errors and pagination differ.
    """

    authentication_classes = [TokenAuthentication]
    permission_classes: list[type] = [ReadAnyoneWriteAuthenticated]
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    pagination_class = BrainmapsPagination
    throttle_classes: list[type] = []

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Response]:
        return errors.exception_handler

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        # Every answer, errors included, must be readable from a browser page.
        response = super().finalize_response(request, response, *args, **kwargs)
        for name, value in CORS_HEADERS.items():
            response[name] = value
        return response

    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # A CORS preflight needs only the headers; DRF's metadata body would
        # build serializers for nothing.
        return Response(status=status.HTTP_204_NO_CONTENT)


# ---------------------------------------------------------------------------
# Authentication


class LoginView(BrainmapsViewMixin, APIView):
    """``POST auth/login/``: trade email and password for a token."""

    permission_classes: list[type] = []

    def perform_authentication(self, request: Request) -> None:
        # A stale token left in the client's headers must not block logging in.
        pass

    def post(self, request: Request) -> Response:
        credentials = LoginSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        email = credentials.validated_data["email"]
        password = credentials.validated_data["password"]
        user = User.objects.filter(email__iexact=email).first()
        if user is None or not user.check_password(password):
            raise AuthenticationFailed("Invalid email or password.")
        token = AuthToken.issue(user)
        return Response({"token": token.key, "user": UserSerializer(user).data})


class LogoutView(BrainmapsViewMixin, APIView):
    """``POST auth/logout/``: revoke the token the request was made with."""

    permission_classes = [AuthenticatedOrPreflight]

    def post(self, request: Request) -> Response:
        request.auth.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(BrainmapsViewMixin, APIView):
    """``GET auth/me/``: the logged-in user."""

    permission_classes = [AuthenticatedOrPreflight]

    def get(self, request: Request) -> Response:
        return Response(UserSerializer(request.user).data)


# ---------------------------------------------------------------------------
# Resources


class CategoryViewSet(BrainmapsViewMixin, viewsets.ReadOnlyModelViewSet):
    """``categories/`` and ``categories/{name}/``."""

    queryset = Category.objects.order_by("id")
    serializer_class = CategorySerializer
    lookup_field = "name"
    lookup_value_regex = "[^/]+"

    def get_object(self) -> Category:
        name = self.kwargs["name"]
        category = self.get_queryset().filter(name__iexact=name).first()
        if category is None:
            raise NotFound(f"No category named {name!r}.")
        return category


class SpeciesViewSet(BrainmapsViewMixin, viewsets.ReadOnlyModelViewSet):
    """``species/`` (filters ``category``, ``scientific_name``, ``search``) and
    ``species/{scientific name}/``."""

    queryset = Species.objects.select_related("category").order_by("id")
    serializer_class = SpeciesSerializer
    lookup_field = "name"
    lookup_value_regex = "[^/]+"
    search_fields = ("scientific_name", "common_name", "description", "category__name")

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        params = self.request.query_params
        category = params.get("category", "").strip()
        if category:
            queryset = queryset.filter(category__name__iexact=category)
        scientific_name = params.get("scientific_name", "").strip()
        if scientific_name:
            queryset = queryset.filter(scientific_name__iexact=scientific_name)
        return apply_search(queryset, search_terms(params), self.search_fields)

    def get_object(self) -> Species:
        name = self.kwargs["name"]
        species = find_species(name)
        if species is None:
            raise NotFound(f"No species named {name!r}.")
        return species


def _species_filter(value: str) -> Q:
    """Match brains of the species given by scientific name or slug."""
    text = value.strip()
    return (
        Q(species__scientific_name__iexact=text)
        | Q(species__scientific_name__iexact=text.replace("+", " "))
        | Q(species__slug__iexact=text)
    )


class BrainViewSet(BrainmapsViewMixin, viewsets.ModelViewSet):
    """``brains/``: list (filters ``species``, ``verified``, ``uploader``,
    ``search``), create, ``brains/{id}/`` detail, update and delete, and
    ``brains/by_readable_id/?readable_id=...``."""

    queryset = Brain.objects.select_related("species", "file_upload").order_by("id")
    serializer_class = BrainSerializer
    permission_classes = [ReadAnyoneWriteAuthenticated, UploaderOrReadOnly]
    lookup_value_regex = r"\d+"
    # The spec documents PATCH only; PUT answers 405.
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    search_fields = ("name", "description")

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        params = self.request.query_params
        species = params.get("species", "").strip()
        if species:
            queryset = queryset.filter(_species_filter(species))
        verified = parse_bool(params, "verified")
        if verified is not None:
            queryset = queryset.filter(verified=verified)
        uploader = parse_int(params, "uploader")
        if uploader is not None:
            queryset = queryset.filter(uploader_id=uploader)
        return apply_search(queryset, search_terms(params), self.search_fields)

    def get_object(self) -> Brain:
        pk = self.kwargs["pk"]
        brain = self.get_queryset().filter(pk=int(pk)).first()
        if brain is None:
            raise NotFound(f"No brain with id {pk}.")
        self.check_object_permissions(self.request, brain)
        return brain

    def perform_create(self, serializer: BrainSerializer) -> None:
        serializer.save(uploader=self.request.user)

    @action(detail=False, methods=["get"], url_path="by_readable_id", url_name="by-readable-id")
    def by_readable_id(self, request: Request) -> Response:
        """Detail of one brain by its readable id, e.g. ``BM-000123``."""
        readable_id = request.query_params.get("readable_id", "").strip()
        if not readable_id:
            raise ValidationError({"readable_id": "This query parameter is required."})
        brain = self.get_queryset().filter(readable_id__iexact=readable_id).first()
        if brain is None:
            raise NotFound(f"No brain with readable id {readable_id!r}.")
        return Response(self.get_serializer(brain).data)


class FileUploadViewSet(
    BrainmapsViewMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """``file-uploads/``: the logged-in user's uploads; POST a multipart ``file``."""

    serializer_class = FileUploadSerializer
    permission_classes = [AuthenticatedOrPreflight]
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet:
        return FileUpload.objects.filter(user=self.request.user).order_by("id")

    def get_object(self) -> FileUpload:
        pk = self.kwargs["pk"]
        upload = self.get_queryset().filter(pk=int(pk)).first()
        if upload is None:
            raise NotFound(f"No file upload with id {pk} of yours.")
        return upload

    def perform_create(self, serializer: FileUploadSerializer) -> None:
        serializer.save(user=self.request.user)


# ---------------------------------------------------------------------------
# Root and unknown paths


class ApiRootView(BrainmapsViewMixin, APIView):
    """``GET /brainmaps/v1/``: links to the endpoints."""

    ENDPOINTS = {
        "login": "brainmaps-login",
        "logout": "brainmaps-logout",
        "me": "brainmaps-me",
        "categories": "brainmaps-category-list",
        "species": "brainmaps-species-list",
        "brains": "brainmaps-brain-list",
        "file_uploads": "brainmaps-file-upload-list",
    }

    def get(self, request: Request) -> Response:
        return Response({key: reverse(name, request=request) for key, name in self.ENDPOINTS.items()})


class EndpointNotFoundView(BrainmapsViewMixin, APIView):
    """Any other path under ``/brainmaps/v1/``: a 404 with the error body.

    Without it Django would answer its own HTML 404 page.
    """

    permission_classes: list[type] = []

    def _not_found(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise NotFound(f"No endpoint at {request.path}.")

    get = post = put = patch = delete = options = _not_found
