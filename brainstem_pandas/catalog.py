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
class MapSpec:
    """How a JSON object keyed by identifiers (a *map*) is laid out: one row per key.

    Attributes
    ----------
    key : str
        The column holding each key (``"user"`` for ``project.users``).
    key_is : str
        What a key is, in words (``"the member's e-mail address"``).
    values : tuple of (str, str)
        Each entry's documented fields and their catalog types, in documented order.

    Examples
    --------
    >>> spec = model("project").field("users").map
    >>> spec.key, [name for name, _ in spec.values]
    ('user', ['can_change', 'is_manager', 'is_owner'])
    """

    key: str
    key_is: str
    values: tuple[tuple[str, str], ...]


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
    map : MapSpec or None
        For a JSON object keyed by identifiers (``project.users``): how its entries are laid out.
    rich_text : bool
        True for text the docs call rich text (sent as HTML, e.g. descriptions).
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
    map: MapSpec | None = None
    rich_text: bool = False

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
    list_meta : tuple of str
        Portals besides the public one whose list answers carry a ``meta`` object
        (the docs' text says so for a few private-only lists).
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
    list_meta: tuple[str, ...] = ()

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
    def url_segments(self) -> tuple[str, ...]:
        """Every URL segment the model answers at: the documented one, then the official clients' spellings.

        The docs and the MATLAB client write ``projectmembershipinvitation``; the
        official Python client 2.0.0 puts its own name, ``project_membership_invitation``,
        into the URL (``python_client_comparison`` in the catalog).

        Examples
        --------
        >>> model("group_membership_request").url_segments
        ('groupmembershiprequest', 'group_membership_request')
        >>> model("session").url_segments
        ('session',)
        """
        return (self.segment, *_client_spellings().get(self.name, ()))

    @property
    def field_names(self) -> list[str]:
        """Documented field names, in documented order."""
        return [f.name for f in self.fields]

    @property
    def relations(self) -> list[Field]:
        """Fields that hold ids of other models."""
        return [f for f in self.fields if f.is_relation]

    @property
    def maps(self) -> list[Field]:
        """JSON fields that are objects keyed by identifiers (child tables, one row per key).

        Examples
        --------
        >>> [f.name for f in model("project").maps]
        ['users', 'groups']
        """
        return [f for f in self.fields if f.map is not None]

    @property
    def rich_text(self) -> list[str]:
        """Names of the fields holding rich text (HTML).

        Examples
        --------
        >>> model("session").rich_text
        ['description']
        """
        return [f.name for f in self.fields if f.rich_text]


def _map(raw: dict[str, Any] | None) -> MapSpec | None:
    if not raw:
        return None
    return MapSpec(raw["key"], raw.get("key_is", ""), tuple((k, v) for k, v in raw["value"].items()))


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
        map=_map(raw.get("map")),
        rich_text=bool(raw.get("rich_text")),
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
        list_meta=tuple(raw.get("list_meta_portals") or ()),
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


@cache
def _client_spellings() -> dict[str, tuple[str, ...]]:
    # The official Python client's model names that differ from the documented URL
    # segment; names it knows that the docs do not ("protocol") are left out.
    spellings = raw_catalog().get("python_client_comparison", {}).get("client_models", [])
    out: dict[str, tuple[str, ...]] = {}
    for spelling in spellings:
        name = _lookup().get(spelling)
        if name is not None and spelling != all_models()[name].segment:
            out[name] = (*out.get(name, ()), spelling)
    return out


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
