"""Django models of the sandbox, built from the catalog.

Every catalogued model becomes one Django model with the documented field names,
types, max lengths and uniqueness. Relations follow :mod:`.schema`: forward ends
are real columns or join tables, reverse ends are Django's reverse accessors named
as the catalog names them. A few internal tables (epochs, tokens, device sessions,
the ordered session -> data storage link) complete what the API needs but does
not document.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models

from brainstem_pandas import catalog
from brainstem_pandas.sandbox.api import schema

APP_LABEL = "api"

#: Catalog name -> Django model class, filled below.
MODELS: dict[str, type[models.Model]] = {}


def class_name(model_name: str) -> str:
    """Django class name of a catalog model, e.g. ``DataAcquisition``-like camel case."""
    return "".join(part.capitalize() for part in model_name.split("_"))


def _scalar_field(f: catalog.Field, kind: str) -> models.Field:
    # Pending approvals may repeat a name; uniqueness is checked against the
    # approved table when the approval is submitted.
    common: dict[str, Any] = {"unique": f.unique and kind == "endpoint"}
    if f.type in ("string",):
        # Documented limits where given; otherwise a generous bound.
        return models.CharField(max_length=f.max_length or 255, blank=True, default="", **common)
    if f.type == "text":
        return models.TextField(blank=True, default="")
    if f.type == "integer":
        return models.IntegerField(null=True, blank=True)
    if f.type == "boolean":
        return models.BooleanField(default=False)
    if f.type == "date":
        return models.DateField(null=True, blank=True)
    if f.type == "datetime":
        return models.DateTimeField(null=True, blank=True)
    if f.type == "list[string]":
        return models.JSONField(default=list, blank=True)
    if f.type == "json":
        return models.JSONField(null=True, blank=True, default=schema.JSON_DEFAULTS.get(f.name))
    raise ValueError(f"catalog type {f.type!r} of {f.name} has no storage rule")


def _relation_field(model_name: str, f: catalog.Field) -> models.Field | None:
    link = schema.links()[(model_name, f.name)]
    if not link.forward:
        return None  # provided by the other end's related_name
    target = f"{APP_LABEL}.{class_name(link.target)}"
    related = schema.reverse_name(model_name, f.name)
    if link.many:
        kwargs: dict[str, Any] = {"related_name": related, "blank": True}
        if (model_name, f.name) == ("session", "datastorage"):
            # Data storage order is meaningful: keep it in the join table.
            kwargs["through"] = f"{APP_LABEL}.SessionDataStorage"
        return models.ManyToManyField(target, **kwargs)
    # Required parents own their children; optional links just fall away.
    on_delete = models.CASCADE if f.required else models.SET_NULL
    return models.ForeignKey(target, null=True, blank=True, on_delete=on_delete, related_name=related)


def _id_field(m: catalog.Model) -> models.Field:
    if m.id_type == "integer":
        return models.AutoField(primary_key=True)
    return models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)


def _user_extras() -> dict[str, Any]:
    # The sandbox has its own user table (no django.contrib.auth): these make an
    # instance usable as DRF's ``request.user``.
    return {
        "password": models.CharField(max_length=200, default="", blank=True),
        "is_reviewer": models.BooleanField(default=False),
        "is_authenticated": property(lambda self: True),
        "is_anonymous": property(lambda self: False),
    }


def _build(m: catalog.Model) -> type[models.Model]:
    attrs: dict[str, Any] = {"__module__": __name__, "id": _id_field(m)}
    for f in m.fields:
        if f.name == "id":
            continue
        if f.is_relation and f.related_model in schema.INTERNAL_TARGETS:
            continue  # reverse accessor of an internal table
        field = _relation_field(m.name, f) if f.is_relation else _scalar_field(f, m.kind)
        if field is not None:
            attrs[f.name] = field
    # Who created the record: drives approvals and creator-only rules.
    attrs["created_by"] = models.ForeignKey(
        f"{APP_LABEL}.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    if schema.scope(m.name) == "attribute" and not schema.ATTRIBUTE_PATHS[m.name]:
        # Personal attributes belong to groups (datamodel: "Authenticated groups").
        attrs["auth_groups"] = models.ManyToManyField(f"{APP_LABEL}.Group", blank=True, related_name="+")
    if m.name == "user":
        attrs.update(_user_extras())
    attrs["Meta"] = type("Meta", (), {"app_label": APP_LABEL, "ordering": ["pk"]})
    attrs["__str__"] = lambda self: f"{m.name} {self.pk}"
    return type(class_name(m.name), (models.Model,), attrs)


for _m in catalog.all_models().values():
    MODELS[_m.name] = _build(_m)
globals().update({cls.__name__: cls for cls in MODELS.values()})


class SessionDataStorage(models.Model):
    """Ordered link between a session and its data storages."""

    session = models.ForeignKey(f"{APP_LABEL}.Session", on_delete=models.CASCADE, related_name="datastorage_links")
    datastorage = models.ForeignKey(f"{APP_LABEL}.Datastorage", on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        app_label = APP_LABEL
        ordering = ["session", "position", "pk"]
        unique_together = [("session", "datastorage")]


class Epoch(models.Model):
    """A temporal segment of a session (documented in the datamodel, no endpoint)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(f"{APP_LABEL}.Session", on_delete=models.CASCADE, related_name="epochs")
    name = models.CharField(max_length=100)
    start = models.FloatField(null=True)
    end = models.FloatField(null=True)

    class Meta:
        app_label = APP_LABEL
        ordering = ["pk"]


class Token(models.Model):
    """A bearer token: personal access (sliding), access (short) or refresh."""

    PAT, ACCESS, REFRESH = "pat", "access", "refresh"
    # Only a digest is stored: a leaked database does not leak usable tokens.
    digest = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=10)
    name = models.CharField(max_length=100, blank=True, default="")
    user = models.ForeignKey(f"{APP_LABEL}.User", on_delete=models.CASCADE, related_name="+")
    created = models.DateTimeField()
    expires = models.DateTimeField()
    revoked = models.BooleanField(default=False)
    #: Pair id shared by an access token and the refresh token issued with it.
    family = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        app_label = APP_LABEL


class DeviceSession(models.Model):
    """One browser device-authorization request and its outcome."""

    PENDING, APPROVED, DENIED, USED = "pending", "approved", "denied", "used"
    session_id = models.CharField(max_length=64, unique=True)
    device_code = models.CharField(max_length=64, unique=True)
    user_code = models.CharField(max_length=9, unique=True)
    client_name = models.CharField(max_length=100, blank=True, default="")
    status = models.CharField(max_length=10, default=PENDING)
    user = models.ForeignKey(f"{APP_LABEL}.User", null=True, on_delete=models.CASCADE, related_name="+")
    created = models.DateTimeField()
    expires = models.DateTimeField()

    class Meta:
        app_label = APP_LABEL


# Registers the generation table that invalidates cached answers (see cache.py),
# and JSON containment on SQLite as on PostgreSQL (see lookups.py).
from brainstem_pandas.sandbox.api import lookups  # noqa: E402,F401
from brainstem_pandas.sandbox.api.cache import Generation  # noqa: E402,F401
