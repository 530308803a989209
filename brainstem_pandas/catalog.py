"""The BrainSTEM catalog: every model, its app, response keys, fields and relations.

This module is the one source of truth for API facts. It reads ``catalog.json`` (a
copy of the project's reference catalog, derived from the public BrainSTEM
documentation) and answers questions about it; nothing else in the package spells a
model name, an app or a response key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from brainstem_pandas.errors import UnknownNameError

if TYPE_CHECKING:
    import pandas as pd

_SEGMENT_FIELD = "url_model_segment"


@dataclass(frozen=True)
class Field:
    """One documented field of a model.

    Attributes
    ----------
    name, type : str
        Field name and catalog type (``uuid``, ``string``, ``text``, ``integer``,
        ``boolean``, ``date``, ``datetime``, ``json``, ``list[string]``, ``relation``).
    related_model : str or None
        Target model of a relation.
    many : bool
        True for a to-many relation (a list of ids).
    """

    name: str
    type: str
    required: bool = False
    read_only: bool = False
    unique: bool = False
    max_length: int | None = None
    related_model: str | None = None
    many: bool = False
    choices: tuple[str, ...] | None = None
    notes: str | None = None

    @property
    def is_relation(self) -> bool:
        """True when the field holds ids of another model."""
        return self.related_model is not None


@dataclass(frozen=True)
class Model:
    """One catalogued model (an API endpoint).

    Attributes
    ----------
    name : str
        Catalog name, e.g. ``"session"``.
    app : str
        URL app segment, e.g. ``"stem"``.
    segment : str
        URL model segment, e.g. ``"projectmembershipinvitation"``.
    list_key, detail_key, write_key : str
        Response keys of list, detail and create/update answers.
    """

    name: str
    app: str
    kind: str
    segment: str
    list_key: str
    detail_key: str
    write_key: str | None
    portals: dict[str, tuple[str, ...]]
    fields: tuple[Field, ...]
    approval_model: str | None
    actions: tuple[dict[str, Any], ...]
    permissions: str

    @property
    def id_type(self) -> str:
        """``"integer"`` for users and groups, ``"uuid"`` otherwise."""
        return self.field("id").type

    def field(self, name: str) -> Field:
        """Return a field by name or raise :class:`UnknownNameError`.

        Examples
        --------
        >>> model("session").field("projects").related_model
        'project'
        """
        for f in self.fields:
            if f.name == name:
                return f
        raise UnknownNameError("field", name, [f.name for f in self.fields], f" of {self.name}")

    @property
    def field_names(self) -> list[str]:
        """Documented field names, in documented order."""
        return [f.name for f in self.fields]

    @property
    def relations(self) -> list[Field]:
        """Fields that hold ids of other models."""
        return [f for f in self.fields if f.is_relation]


def _field(raw: dict[str, Any]) -> Field:
    rel = raw.get("relation") or {}
    choices = raw.get("choices")
    return Field(
        name=raw["name"],
        type=raw["type"],
        required=bool(raw.get("required")),
        read_only=bool(raw.get("read_only")),
        unique=bool(raw.get("unique")),
        max_length=raw.get("max_length"),
        related_model=rel.get("model"),
        many=bool(rel.get("many")),
        choices=tuple(choices) if choices else None,
        notes=raw.get("notes"),
    )


def _model(raw: dict[str, Any]) -> Model:
    return Model(
        name=raw["model"],
        app=raw["app"],
        kind=raw["kind"],
        segment=raw.get(_SEGMENT_FIELD) or raw["model"],
        list_key=raw["list_key"],
        detail_key=raw["detail_key"],
        write_key=raw.get("write_response_key"),
        portals={k: tuple(v) for k, v in raw["portals"].items()},
        fields=tuple(_field(f) for f in raw["fields"]),
        approval_model=raw.get("approval_model"),
        actions=tuple(raw.get("actions") or ()),
        permissions=raw.get("permissions") or "",
    )


@cache
def raw_catalog() -> dict[str, Any]:
    """The catalog JSON as shipped with the package (parsed once)."""
    text = resources.files("brainstem_pandas").joinpath("catalog.json").read_text("utf-8")
    return json.loads(text)


@cache
def all_models() -> dict[str, Model]:
    """Every catalogued model keyed by catalog name, in catalog order."""
    return {m["model"]: _model(m) for m in raw_catalog()["models"]}


@cache
def _lookup() -> dict[str, str]:
    # Catalog names, documented URL segments and the official client's spellings
    # all resolve to one catalog name.
    table: dict[str, str] = {}
    for name, m in all_models().items():
        for alias in (name, m.segment, name.replace("_", "")):
            table.setdefault(alias, name)
    return table


def model(name: str) -> Model:
    """Return a model by catalog name, URL segment or official-client spelling.

    Raises
    ------
    UnknownNameError
        When the name is unknown; the message suggests the closest names.

    Examples
    --------
    >>> model("projectmembershipinvitation").name
    'project_membership_invitation'
    >>> model("dataacquisition").list_key
    'data_acquisitions'
    """
    key = str(name).strip().lower()
    try:
        return all_models()[_lookup()[key]]
    except KeyError:
        raise UnknownNameError("model", str(name), list(all_models())) from None


def endpoint_models() -> list[Model]:
    """Models with their own documentation page (approval endpoints excluded)."""
    return [m for m in all_models().values() if m.kind == "endpoint"]


def models() -> "pd.DataFrame":
    """Every catalogued model as a DataFrame: app, keys, portals, fields, relations.

    Examples
    --------
    >>> table = models()
    >>> table.loc["session", "list_key"]
    'sessions'
    """
    import pandas as pd

    rows = []
    for m in all_models().values():
        rows.append(
            {
                "model": m.name,
                "app": m.app,
                "kind": m.kind,
                "url_segment": m.segment,
                "list_key": m.list_key,
                "detail_key": m.detail_key,
                "public": "public" in m.portals.get("list", ()),
                "writable": bool(m.portals.get("add") or m.portals.get("change")),
                "fields": len(m.fields),
                "relations": ", ".join(f"{f.name}->{f.related_model}{'[]' if f.many else ''}" for f in m.relations),
            }
        )
    return pd.DataFrame(rows).set_index("model")


# Where a signed-in user creates a personal access token, relative to the server root (docs/api.md).
TOKEN_PAGE = "private/users/tokens/"


def token_page(server: str) -> str:
    """The page of ``server`` where a signed-in user creates a personal access token.

    Examples
    --------
    >>> token_page("https://www.brainstem.org/")
    'https://www.brainstem.org/private/users/tokens/'
    """
    return server.rstrip("/") + "/" + TOKEN_PAGE
