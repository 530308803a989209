"""The BrainSTEM endpoints: one dynamic-rest viewset per catalogued model.

URL shape: ``/api/{portal}/{app}/{model}/[{id}/[{action}/]]``. dynamic-rest supplies
``filter{}``, ``sort[]``, ``include[]``/``exclude[]`` and sideloading; this module
adds the limit/offset envelopes, the portals, permissions, approvals and the
documented actions.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from dynamic_rest.viewsets import DynamicModelViewSet
from rest_framework import exceptions, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from brainstem_pandas import catalog
from brainstem_pandas.sandbox.api import actions, cache, permissions, schema
from brainstem_pandas.sandbox.api.auth import BearerAuthentication
from brainstem_pandas.sandbox.api.models import MODELS, SessionDataStorage
from brainstem_pandas.sandbox.api.serializers import SERIALIZERS

log = logging.getLogger(__name__)

DETAIL_LIMIT = 2000


class EnvelopePagination(LimitOffsetPagination):
    """``limit``/``offset`` (default 20, max 100) with the envelope chosen at start.

    - ``count``: ``{"count", "next", "previous", ...records and sideloads}``
    - ``meta``: ``{"meta": {"total_results", ...}, ...records and sideloads}``
    - ``bare``: only the records and sideloads; clients walk until a short page.
    - ``docs``: as the BrainSTEM documentation shows it: private lists hold only the
      records and sideloads; public lists add dynamic-rest's ``meta``
      (``page``, ``per_page``, ``total_pages``, ``total_results``), and so do the
      private lists whose pages say so (``catalog.Model.list_meta``).
    - ``pages``: ``docs``, but the lists with ``meta`` (the public portal's) paginate as
      dynamic-rest's page-number pagination does: ``page``/``per_page`` (default 20, max 100), ``limit`` and
      ``offset`` ignored, a page past the last one a 404.
    """

    default_limit = 20
    max_limit = 100
    page_query_param = "page"
    per_page_query_param = "per_page"

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> Any:
        self.public = getattr(view, "kwargs", {}).get("portal") == permissions.PUBLIC
        name = getattr(view, "catalog_name", "")
        self.with_meta = self.public or (bool(name) and permissions.PRIVATE in catalog.model(name).list_meta)
        if settings.CONFIG.envelope == "pages" and self.with_meta:  # dynamic-rest's meta, its pagination
            return self._paginate_by_page(queryset, request)
        return super().paginate_queryset(queryset, request, view)

    def _paginate_by_page(self, queryset: Any, request: Any) -> list:
        """Page-number pagination as dynamic-rest answers it (DRF's rules for bad values)."""
        self.request = request
        self.limit = self._positive(request.query_params.get(self.per_page_query_param), self.default_limit)
        self.limit = min(self.limit, self.max_limit)
        self.count = self.get_count(queryset)
        pages = max(1, -(-self.count // self.limit))
        raw = request.query_params.get(self.page_query_param, "1")
        number = int(raw) if raw.isdigit() else (pages if raw == "last" else 0)
        if not 1 <= number <= pages:
            raise exceptions.NotFound("Invalid page.")
        self.offset = (number - 1) * self.limit
        return list(queryset[self.offset : self.offset + self.limit])

    @staticmethod
    def _positive(raw: str | None, default: int) -> int:
        return int(raw) if raw is not None and raw.isdigit() and int(raw) > 0 else default

    def get_count(self, queryset: Any) -> int:
        # Every page of a walk asks the same COUNT; with the answer cache on it is
        # computed once per user, query and data generation.
        request = getattr(self, "request", None)
        generation = getattr(request, "bsp_generation", None)
        if request is None or generation is None:
            return super().get_count(queryset)
        ignored = ("limit", "offset", self.page_query_param, self.per_page_query_param)
        params = sorted((k, v) for k, v in request.query_params.lists() if k not in ignored)
        key = (getattr(request.user, "pk", None), request.path, repr(params))
        count = cache.COUNTS.get(key, generation)
        if count is None:
            count = super().get_count(queryset)
            cache.COUNTS.put(key, generation, count)
        return count

    def _head(self) -> dict[str, Any]:
        envelope = settings.CONFIG.envelope
        if envelope == "count":
            return {"count": self.count, "next": self.get_next_link(), "previous": self.get_previous_link()}
        if envelope == "meta":
            return {
                "meta": {
                    "total_results": self.count,
                    "limit": self.limit,
                    "offset": self.offset,
                    "total_pages": -(-self.count // self.limit) if self.limit else 1,
                    "next": self.get_next_link(),
                    "previous": self.get_previous_link(),
                }
            }
        if envelope in ("docs", "pages") and self.with_meta:
            return {
                "meta": {
                    "page": self.offset // self.limit + 1 if self.limit else 1,
                    "per_page": self.limit,
                    "total_pages": max(1, -(-self.count // self.limit)) if self.limit else 1,
                    "total_results": self.count,
                }
            }
        return {}

    def get_paginated_response(self, data: Any) -> Response:
        body = dict(data) if isinstance(data, dict) else {"results": data}
        return Response({**self._head(), **body})


def _summary(errors: Any) -> str:
    if isinstance(errors, dict):
        parts = []
        for key, msgs in errors.items():
            text = "; ".join(str(m) for m in msgs) if isinstance(msgs, list) else str(msgs)
            parts.append(text if key in ("non_field_errors", "detail") else f"{key}: {text}")
        return " | ".join(parts)
    if isinstance(errors, list):
        return "; ".join(str(e) for e in errors)
    return str(errors)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Every error is JSON with a ``detail``; 400s also name each bad field."""
    if isinstance(exc, (Http404, ObjectDoesNotExist)):
        exc = exceptions.NotFound("Not found.")
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, IntegrityError):
        exc = exceptions.ValidationError({"non_field_errors": [f"Conflicts with existing data: {exc}"]})
    response = drf_exception_handler(exc, context)
    if response is None:
        log.exception("unhandled error", exc_info=exc)
        return Response({"detail": "Internal server error."}, status=500)
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        fields = data if isinstance(data, dict) else {"non_field_errors": data}
        response.data = {"detail": f"Invalid data: {_summary(fields)}"[:DETAIL_LIMIT], **fields}
    elif not (isinstance(data, dict) and "detail" in data):
        response.data = {"detail": _summary(data)[:DETAIL_LIMIT]}
    return response


def json_404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """Unknown URLs answer JSON too."""
    return JsonResponse({"detail": f"Not found: {request.path}"}, status=404)


def json_500(request: HttpRequest) -> JsonResponse:
    """Crashes outside DRF answer JSON too."""
    return JsonResponse({"detail": "Internal server error."}, status=500)


def health(request: HttpRequest) -> JsonResponse:
    """``/sandbox/health/``: readiness probe (never delayed or faulted)."""
    return JsonResponse({"status": "ok", "envelope": settings.CONFIG.envelope})


OPERATIONS = {"GET": "list", "POST": "add", "PATCH": "change", "PUT": "change", "DELETE": "delete"}


class CatalogViewSet(DynamicModelViewSet):
    """Base of the generated viewsets; ``catalog_name`` picks the model."""

    catalog_name = ""
    pagination_class = EnvelopePagination
    ordering_fields = "__all__"
    ENABLE_BULK_UPDATE = False
    ENABLE_PATCH_ALL = False
    features = (
        DynamicModelViewSet.INCLUDE,
        DynamicModelViewSet.EXCLUDE,
        DynamicModelViewSet.FILTER,
        DynamicModelViewSet.SORT,
        DynamicModelViewSet.SIDELOADING,
    )

    # -- request set-up -------------------------------------------------
    @property
    def model(self) -> catalog.Model:
        return catalog.model(self.catalog_name)

    def get_authenticators(self) -> list:
        # The public portal is anonymous: a token sent there is ignored, not checked.
        if getattr(self, "kwargs", {}).get("portal") == permissions.PUBLIC:
            return []
        return [BearerAuthentication()]

    def get_exception_handler(self):
        return exception_handler

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        portal = kwargs.get("portal")
        operation = OPERATIONS.get(request.method, "list")
        if operation == "list" and "pk" in kwargs:
            operation = "detail"
        allowed = self.model.portals.get(operation, ())
        if portal not in (permissions.PUBLIC, permissions.PRIVATE):
            raise exceptions.NotFound(f"Unknown portal {portal!r}; use 'private' or 'public'.")
        if kwargs.get("action_name") and portal != permissions.PRIVATE:
            raise exceptions.PermissionDenied("Actions are available on the private portal only.")
        if portal == permissions.PRIVATE and request.user is None:
            raise exceptions.NotAuthenticated(
                "Authentication credentials were not provided; send 'Authorization: Bearer <token>'."
            )
        if not allowed and not kwargs.get("action_name"):
            raise exceptions.MethodNotAllowed(request.method, f"{self.catalog_name} does not support {operation}.")
        if portal not in allowed and not kwargs.get("action_name"):
            if portal == permissions.PUBLIC and operation in ("add", "change", "delete"):
                raise exceptions.PermissionDenied(
                    "The public portal is read-only; use the private portal with a token."
                )
            raise exceptions.NotFound(f"{self.catalog_name} is not available on the {portal} portal.")
        request.bsp_access = permissions.compute_access(request.user, portal)
        request.bsp_cache_key = None
        if request.method == "GET" and not kwargs.get("action_name") and cache.enabled():
            request.bsp_cache_key = (getattr(request.user, "pk", None), request.build_absolute_uri())
            request.bsp_generation = cache.current()

    def cached(self, request: Request) -> HttpResponse | None:
        """The stored answer to this exact GET by this user, if the data has not changed."""
        key = getattr(request, "bsp_cache_key", None)
        if key is None:
            return None
        hit = cache.PAGES.get(key, request.bsp_generation)
        return HttpResponse(hit[0], content_type=hit[1]) if hit else None

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        key = getattr(request, "bsp_cache_key", None)
        if key is not None and isinstance(response, Response) and response.status_code == 200:
            response.render()
            cache.PAGES.put(key, request.bsp_generation, response.content, response["Content-Type"])
        return response

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        return self.cached(request) or super().list(request, *args, **kwargs)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        return self.cached(request) or super().retrieve(request, *args, **kwargs)

    def get_request_feature(self, name: str, raw: bool = False) -> Any:
        value = super().get_request_feature(name, raw=raw) if raw else super().get_request_feature(name)
        if name == self.INCLUDE and value:
            # BrainSTEM documents include[]=behaviors as embedding whole records;
            # in dynamic-rest that is include[]=behaviors.* (both forms accepted).
            value = [v if v.endswith(("*", ".")) else f"{v}.*" for v in value]
        return value

    def paginate_queryset(self, queryset: Any) -> Any:
        return self.paginator.paginate_queryset(queryset, self.request, view=self)

    def get_object(self) -> Any:
        try:
            return super().get_object()
        except (DjangoValidationError, ValueError):
            raise exceptions.NotFound(f"No {self.catalog_name} with id {self.kwargs.get('pk')!r}.") from None

    # -- writes -------------------------------------------------------------
    @property
    def access(self) -> permissions.Access:
        return self.request.bsp_access

    def check_write(self, action: str, data: dict | None, instance: Any = None) -> None:
        """403 when ``access`` may not write, 400 for links outside the project (``data=None``: no payload yet)."""
        if data is None:
            reason = permissions.refused_before_reading(self.catalog_name, action, self.access)
        else:
            reason = permissions.can_write(self.catalog_name, action, self.access, data, instance)
            errors = permissions.outside_project(self.catalog_name, data, instance) if not reason else {}
            if errors:
                raise exceptions.ValidationError(errors)
        if reason:
            raise exceptions.PermissionDenied(reason)

    def server_fields(self, action: str, data: dict) -> dict[str, Any]:
        """Values the server sets itself (read-only fields, ownership)."""
        names = set(self.model.field_names)
        out: dict[str, Any] = {}
        now = timezone.now()
        if action == "add":
            out["created_by"] = self.access.user
            if "created_at" in names:
                out["created_at"] = now
            if self.catalog_name == "subjectlog":
                out["user"] = self.access.user
            if self.catalog_name == "project":
                out["users"] = {self.access.user.email: {"can_change": True, "is_manager": True, "is_owner": True}}
                out["groups"] = {}
            if self.catalog_name == "group":
                out["users"] = {self.access.user.email: {"is_manager": True, "is_owner": True}}
        if "updated_at" in names:
            out["updated_at"] = now
        if "rrid_url" in names and "rrid" in data:
            out["rrid_url"] = f"https://scicrunch.org/resolver/{data['rrid']}" if data["rrid"] else ""
        return out

    def merge_members(self, instance: Any, data: dict) -> None:
        """PATCH semantics of ``users``/``groups``: merge, ``{"remove": true}`` drops."""
        keys: tuple[str, ...] = ("is_manager", "is_owner")
        if self.catalog_name == "project":
            keys = ("can_change", *keys)
        for name in ("users", "groups"):
            if name not in data or not isinstance(data[name], dict):
                continue
            merged = dict(getattr(instance, name) or {}) if instance is not None else {}
            for member, role in data[name].items():
                role = role if isinstance(role, dict) else {}
                if role.get("remove"):
                    merged.pop(member, None)
                else:
                    merged[member] = {k: bool(role.get(k, False)) for k in keys}
            data[name] = merged

    def after_save(self, instance: Any, action: str) -> None:
        if (
            action == "add"
            and schema.scope(self.catalog_name) == "attribute"
            and not schema.ATTRIBUTE_PATHS[self.catalog_name]
        ):
            instance.auth_groups.set(self.access.groups)
        if (
            self.catalog_name == "session"
            and isinstance(self.request.data, dict)
            and isinstance(self.request.data.get("datastorage"), list)
        ):
            for pos, ds in enumerate(self.request.data["datastorage"]):
                SessionDataStorage.objects.filter(session=instance, datastorage_id=ds).update(position=pos)

    def respond(self, instance: Any, code: int) -> Response:
        serializer = self.get_serializer(instance, include_fields="*")
        return Response(serializer.data, status=code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError({"non_field_errors": ["Send one JSON object per request."]})
        self.check_write("add", None)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        self.check_write("add", data)
        if self.model.approval_model:
            return self.submit_approval("add", data, None)
        with transaction.atomic():
            instance = serializer.save(**self.server_fields("add", data))
            self.after_save(instance, "add")
        return self.respond(instance, status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = request.method == "PATCH"
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError({"non_field_errors": ["Send one JSON object per request."]})
        instance = self.get_object()
        self.check_write("change", None, instance)
        serializer = self.get_serializer(instance, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        self.check_write("change", data, instance)
        if self.model.approval_model:
            return self.submit_approval("change", data, instance)
        self.merge_members(instance, data)
        with transaction.atomic():
            instance = serializer.save(**self.server_fields("change", data))
            self.after_save(instance, "change")
        return self.respond(instance, status.HTTP_200_OK)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        instance = self.get_object()
        self.check_write("delete", {}, instance)
        instance.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    # -- approvals --------------------------------------------------------
    def submit_approval(self, action: str, data: dict, instance: Any) -> Response:
        """Models with an approval workflow answer with a pending approval record."""
        assert self.model.approval_model, "only models with an approval model submit approvals"
        approval = catalog.model(self.model.approval_model)
        cls = MODELS[approval.name]
        own = {f.name for f in approval.fields if not f.read_only and f.name != "id"}
        many = {f.name for f in approval.fields if f.many}
        values = {k: v for k, v in data.items() if k in own and k not in many}
        with transaction.atomic():
            record = cls.objects.create(
                **values, action=action, status="pending", instance_id=instance, created_by=self.access.user
            )
            for name in many & set(data):
                getattr(record, name).set(data[name])
        code = status.HTTP_201_CREATED if action == "add" else status.HTTP_200_OK
        rep = SERIALIZERS[approval.name](record, context=self.get_serializer_context(), include_fields="*").data
        return Response({self.model.write_key: rep}, status=code)

    def run_action(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Documented actions (``accept``, ``join``, ``add_entry``, ...)."""
        name = kwargs["action_name"]
        known = {a["name"]: a for a in self.model.actions}
        if name not in known:
            raise exceptions.NotFound(f"{self.catalog_name} has no action {name!r}.")
        if request.method != known[name]["method"]:
            raise exceptions.MethodNotAllowed(request.method, f"Use {known[name]['method']} for {name}.")
        instance = self.get_object()
        return actions.run(self, name, instance, request)


def _viewset(m: catalog.Model) -> type[CatalogViewSet]:
    return type(
        f"{m.name}ViewSet",
        (CatalogViewSet,),
        {
            "catalog_name": m.name,
            "serializer_class": SERIALIZERS[m.name],
            "queryset": MODELS[m.name].objects.all(),
        },
    )


VIEWSETS = {m.name: _viewset(m) for m in catalog.all_models().values()}
