"""How the sandbox stores each catalogued model: pure facts, no Django.

The catalog documents relations from both ends (``session.projects`` and
``project.sessions``); a database stores each link once. This module decides which
end owns the link (the *forward* field) and which end is derived from it (the
*reverse* field), and how each model's visibility follows its projects or groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from brainstem_pandas import catalog

# Models whose to-many fields mirror a writable field of the other model. The
# catalog documents both ends as writable; the link is stored on the record that
# carries the license, and the license's fields read (and write) it backwards.
MIRROR_OWNERS = {"license"}

# The one relation target that has no endpoint: epochs live in the sandbox as an
# internal table so that ``session.epochs`` is real.
INTERNAL_TARGETS = {"epoch"}

# Path from a project-scoped model to its projects, as a Django lookup.
PROJECT_PATHS = {
    "project": "",
    "session": "projects",
    "subject": "projects",
    "collection": "project",
    "cohort": "project",
    "breeding": "project",
    "behavior": "session__projects",
    "dataacquisition": "session__projects",
    "manipulation": "session__projects",
    "procedure": "subject__projects",
    "subjectlog": "subject__projects",
    "procedurelog": "procedure__subject__projects",
}

# Path from a group-owned model (personal attributes and their modules) to the
# personal attribute that carries ``is_public`` and the owning groups.
ATTRIBUTE_PATHS = {
    "behavioralassay": "",
    "datastorage": "",
    "inventory": "",
    "license": "",
    "setup": "",
    "equipment": "setup__",
    "consumablestock": "inventory__",
}

# Empty values of JSON fields, as the documentation's examples show them; other
# JSON fields start as null.
JSON_DEFAULTS = {
    "extra_fields": dict,
    "users": dict,
    "groups": dict,
    "details": dict,
    "coordinates_details": dict,
    "download_links": list,
    "entries": list,
    "external_identifiers": list,
    "data_organization": list,
    "data_protocols": list,
    "specifications": list,
}


@dataclass(frozen=True)
class Link:
    """How one relation field is stored.

    Attributes
    ----------
    model, field : str
        The catalog model and field this describes.
    target : str
        The related model.
    many : bool
        To-many relation.
    forward : bool
        True when this field owns the database column or join table; a
        reverse end is Django's reverse accessor, named by :func:`reverse_name`.
    """

    model: str
    field: str
    target: str
    many: bool
    forward: bool


def _back_fields(model: str, target: str) -> list[catalog.Field]:
    known = catalog.all_models()
    if target not in known:
        return []
    return [f for f in known[target].relations if f.related_model == model]


def _is_reverse(model: str, f: catalog.Field) -> bool:
    back = _back_fields(model, f.related_model or "")
    if len(back) != 1:
        return False
    if f.read_only:
        return True
    # A writable mirror pair: the owner table decides.
    return f.many and back[0].many and model in MIRROR_OWNERS


@cache
def links() -> dict[tuple[str, str], Link]:
    """Every relation field of every catalogued model, keyed by (model, field).

    Examples
    --------
    >>> links()[("project", "sessions")].forward
    False
    >>> links()[("session", "projects")].forward
    True
    """
    out: dict[tuple[str, str], Link] = {}
    for m in catalog.all_models().values():
        for f in m.relations:
            out[(m.name, f.name)] = Link(
                model=m.name,
                field=f.name,
                target=f.related_model or "",
                many=f.many,
                forward=not _is_reverse(m.name, f),
            )
    return out


def reverse_name(model: str, field: str) -> str:
    """``related_name`` for the forward field ``model.field``.

    The name is the catalog's field on the other end when there is one, so that
    ``project.sessions`` is literally Django's reverse accessor of
    ``session.projects``; otherwise a private name that no serializer exposes.
    """
    link = links()[(model, field)]
    for (other, other_field), back in links().items():
        if other == link.target and back.target == model and not back.forward:
            if _back_fields(other, model) and _back_fields(other, model)[0].name == field:
                return other_field
    return f"_rev_{model}_{field}"


def scope(model: str) -> str:
    """How visibility of a model is decided: ``project``, ``attribute`` or ``shared``."""
    if model in PROJECT_PATHS:
        return "project"
    if model in ATTRIBUTE_PATHS:
        return "attribute"
    return "shared"
