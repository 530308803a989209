"""dynamic-rest serializers for every catalogued model, built from the catalog.

Each serializer's ``Meta.name`` and ``Meta.plural_name`` are the documented detail
and list keys, so dynamic-rest's envelopes and sideloads use exactly the keys
BrainSTEM answers with (``"data_acquisitions"``, ``"consumable stocks"``, ...).
Relations are :class:`RelationField`; documented rules that DRF cannot infer from
the model (``extra_fields`` keys, ``download_links``, list-valued relations) are
checked with :mod:`brainstem_pandas.rules`.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from dynamic_rest.fields import DynamicRelationField
from dynamic_rest.serializers import DynamicModelSerializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from brainstem_pandas import catalog, rules
from brainstem_pandas.sandbox.api import permissions, schema
from brainstem_pandas.sandbox.api.models import MODELS, Epoch, class_name

#: Catalog name -> serializer class, filled below.
SERIALIZERS: dict[str, type[DynamicModelSerializer]] = {}


def _id_text(value: Any) -> Any:
    return str(value) if isinstance(value, uuid.UUID) else value


class RelationField(DynamicRelationField):
    """A dynamic-rest relation that speaks the documented id formats.

    It answers ids as strings (UUIDs) or integers (users, groups), keeps the
    order of ordered links, and turns malformed ids and wrong shapes into
    per-field 400 messages instead of server errors.
    """

    def __init__(self, *args: Any, catalog_field: catalog.Field, **kwargs: Any) -> None:
        self.catalog_field = catalog_field
        super().__init__(*args, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        msgs = rules.relation_errors(self.catalog_field, data)
        if msgs:
            raise ValidationError(msgs)
        return super().to_internal_value(data)

    def to_internal_value_single(self, data: Any, serializer: Any) -> Any:
        model = serializer.Meta.model
        if isinstance(data, model):
            return data
        try:
            return model.objects.get(pk=data)
        except (model.DoesNotExist, DjangoValidationError, ValueError, TypeError):
            raise ValidationError(f"{data!r} is not the id of an existing {self.catalog_field.related_model}") from None

    def to_representation(self, instance: Any) -> Any:
        value = super().to_representation(instance)
        if isinstance(value, list):
            value = [_id_text(v) for v in value]
            order = getattr(self.parent, "ordered_links", {}).get(self.field_name)
            if order:
                # ``instance`` is the related manager; its ``instance`` owns the links.
                value = order(getattr(instance, "instance", None), value)
        return _id_text(value)


class BaseSerializer(DynamicModelSerializer):
    """Common behaviour: visibility, documented rules, computed read-only fields."""

    catalog_name = ""

    def filter_queryset(self, queryset):  # dynamic-rest hook, also used for sideloads
        request = self.context.get("request")
        access = getattr(request, "bsp_access", None)
        if access is None:
            return queryset.none()
        if self.catalog_name == "session":
            # Ordered data storages are read per session: fetch their links at once.
            queryset = queryset.prefetch_related("datastorage_links")
        # Id lists are filtered like whole records (as dynamic-rest does), so a
        # sideloaded and an embedded answer always name the same related records.
        if self.inherits_from_parent():
            return queryset
        return permissions.visible(self.catalog_name, queryset, access)

    def inherits_from_parent(self) -> bool:
        """True for sideloads whose visibility follows the (already filtered) parent record.

        A session's behaviors are visible exactly when the session is, so they
        need no second, costly visibility filter; a session's projects do.
        """
        node = self.parent
        while node is not None and not isinstance(node, BaseSerializer):
            node = getattr(node, "parent", None)
        parent = getattr(node, "catalog_name", None)
        head = schema.PROJECT_PATHS.get(self.catalog_name, "").split("__")[0]
        if not parent or not head:
            return False
        field = MODELS[self.catalog_name]._meta.get_field(head)
        return not field.many_to_many and field.related_model is MODELS.get(parent)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        model = catalog.model(self.catalog_name)
        errors: dict[str, list[str]] = {}
        raw = self.initial_data if isinstance(self.initial_data, dict) else {}
        for f in model.fields:
            if f.name in raw and not f.is_relation:
                msgs = rules.field_errors(f, raw[f.name])
                if msgs:
                    errors[f.name] = msgs
        if errors:
            raise ValidationError(errors)
        return attrs

    def to_representation(self, instance: Any) -> Any:
        data = super().to_representation(instance)
        if isinstance(data, dict):
            if "id" in data:
                data["id"] = _id_text(data["id"])
        return data

    def links_of(self) -> dict[str, str]:
        """Related endpoint suffixes, as dynamic-rest's links feature shapes them."""
        model = catalog.model(self.catalog_name)
        return {f.name: f"{f.name}/" for f in model.relations if f.many and f.read_only}


def _datastorage_order(session: Any, ids: list) -> list:
    positions = (
        {str(link.datastorage_id): link.position for link in session.datastorage_links.all()}
        if session is not None
        else {}
    )
    return sorted(ids, key=lambda v: positions.get(str(v["id"] if isinstance(v, dict) else v), 0))


def _relation(model_name: str, f: catalog.Field) -> RelationField:
    link = schema.links()[(model_name, f.name)]
    target = f"{__name__}.{class_name(link.target)}Serializer"
    kwargs: dict[str, Any] = {
        "many": link.many,
        "catalog_field": f,
    }
    if f.read_only:
        kwargs["read_only"] = True
    else:
        kwargs["required"] = f.required
        if not link.many:
            kwargs["allow_null"] = not f.required
    return RelationField(target, **kwargs)


def _scalar_kwargs(f: catalog.Field) -> dict[str, Any]:
    if f.name == "id" or f.read_only:
        return {"read_only": True}
    kwargs: dict[str, Any] = {"required": f.required}
    if f.type in ("string", "text"):
        kwargs["allow_blank"] = not f.required
    if f.type in ("json", "integer", "date", "datetime"):
        kwargs["allow_null"] = True
    return kwargs


def _choice_field(f: catalog.Field) -> serializers.ChoiceField:
    if f.read_only:
        return serializers.ChoiceField(choices=f.choices, read_only=True)
    return serializers.ChoiceField(choices=f.choices, required=f.required, allow_blank=not f.required)


def _build(m: catalog.Model) -> type[BaseSerializer]:
    attrs: dict[str, Any] = {"__module__": __name__, "catalog_name": m.name}
    extra_kwargs: dict[str, dict[str, Any]] = {}
    names = []
    for f in m.fields:
        names.append(f.name)
        if f.is_relation:
            attrs[f.name] = _relation(m.name, f)
        elif f.choices and f.type == "string":
            attrs[f.name] = _choice_field(f)
        elif f.name == "links":
            attrs[f.name] = serializers.SerializerMethodField()
            attrs["get_links"] = lambda self, obj: self.links_of()
        else:
            extra_kwargs[f.name] = _scalar_kwargs(f)
    if m.name == "session":
        attrs["ordered_links"] = {"datastorage": _datastorage_order}
    meta = type(
        "Meta",
        (),
        {
            "model": MODELS[m.name],
            "name": m.detail_key,
            "plural_name": m.list_key,
            "fields": names,
            "extra_kwargs": extra_kwargs,
        },
    )
    attrs["Meta"] = meta
    return type(f"{class_name(m.name)}Serializer", (BaseSerializer,), attrs)


class EpochSerializer(DynamicModelSerializer):
    """Epochs have no endpoint but can be included from sessions."""

    def filter_queryset(self, queryset):
        return queryset

    def to_representation(self, instance: Any) -> Any:
        data = super().to_representation(instance)
        if isinstance(data, dict):
            data["id"], data["session"] = _id_text(data["id"]), _id_text(data.get("session"))
        return _id_text(data)

    class Meta:
        model = Epoch
        name = "epoch"
        plural_name = "epochs"
        fields = ["id", "name", "session", "start", "end"]


for _m in catalog.all_models().values():
    SERIALIZERS[_m.name] = _build(_m)
globals().update({cls.__name__: cls for cls in SERIALIZERS.values()})


def _groups_owned(self: Any, instance: Any) -> Any:
    data = BaseSerializer.to_representation(self, instance)
    if isinstance(data, dict) and "groups_own_json" in data:
        owned = []
        for gid, name, members in MODELS["group"].objects.values_list("pk", "name", "users"):
            if ((members or {}).get(instance.email) or {}).get("is_owner"):
                owned.append({"id": gid, "name": name})
        data["groups_own_json"] = owned
    return data


# A user's owned groups are derived from the groups' member lists, never stored twice.
SERIALIZERS["user"].to_representation = _groups_owned
