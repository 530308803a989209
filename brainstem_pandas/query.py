"""Turn filters, sort and include into BrainSTEM query parameters, checked first.

``{"name.icontains": "rat", "projects.id": pid, "date_time.gte": date(2024, 1, 1)}``
becomes ``filter{name.icontains}=rat&filter{projects.id}=...&filter{date_time.gte}=2024-01-01``.
Every name is checked against the catalog before any request is sent: an unknown
field, an operator that does not fit the field's type, or an include of something
that is not a relation is a :class:`~brainstem_pandas.errors.QueryError` naming it.
So is a filter the server would misread: an empty ``in`` list (no parameter, so every
record), an ``in`` value like ``"[a,b]"`` (read as two values), or one field and
operator asked twice (the server keeps the first). A list field (``tags``) filtered
by equality (``{"tags": "pilot"}``, what the official clients' ``tags=`` sends) matches
nothing on the server: it is a :class:`~brainstem_pandas.errors.ConfigurationError`
that says to use ``tags.contains``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, Iterable, Mapping

from brainstem_pandas import catalog
from brainstem_pandas.errors import ConfigurationError, QueryError, UnknownNameError, close_names
from brainstem_pandas.query_values import check_in, check_scalar, encode_value, plain_value

PORTALS = ("private", "public")

TEXT_OPS = (
    "exact",
    "iexact",
    "icontains",
    "contains",
    "startswith",
    "istartswith",
    "endswith",
    "iendswith",
    "in",
    "isnull",
)
ORDER_OPS = ("exact", "gt", "gte", "lt", "lte", "in", "isnull")
OPERATORS: dict[str, tuple[str, ...]] = {
    "uuid": ("exact", "in", "isnull"),
    "string": TEXT_OPS,
    "text": TEXT_OPS,
    "integer": ORDER_OPS,
    "number": ORDER_OPS,
    "date": ORDER_OPS,
    "datetime": ORDER_OPS,
    "boolean": ("exact", "isnull"),
    "relation": ("exact", "in", "isnull"),
    "json": ("isnull",),
    # On the server a list is jsonb: contains is containment (the list holds the value), icontains a
    # substring of its JSON text; exact and in compare the whole list with one text and never match.
    "list[string]": ("contains", "icontains", "isnull"),
}
ALL_OPERATORS = frozenset(op for ops in OPERATORS.values() for op in ops) | {"gt", "gte", "lt", "lte"}


@dataclass(frozen=True)
class Target:
    """What a dotted path names: the field it ends on and the operator."""

    field: catalog.Field
    operator: str
    path: str


def _parts(model: catalog.Model, dotted: Any) -> list[str]:
    """The names of a dotted field path; a QueryError for one that is not text or has an empty part."""
    if not isinstance(dotted, str):
        raise QueryError(
            f"Field names are text like 'name' or 'projects.name', not {dotted!r} in a query on {model.name}."
        )
    parts = [p for p in dotted.split(".") if p]
    if not parts:
        raise QueryError(f"Empty field name in a query on {model.name}.")
    if len(parts) != dotted.count(".") + 1:
        raise QueryError(
            f"{dotted!r} has an empty part; write FIELD or FIELD.OPERATOR, e.g. 'name' or 'name.icontains' "
            f"(a query on {model.name})."
        )
    return parts


def resolve(model: catalog.Model, dotted: str, *, allow_operator: bool = True) -> Target:
    """Follow ``dotted`` (e.g. ``projects.name.icontains``) through the catalog.

    Raises
    ------
    UnknownNameError
        For a name the model (or a related model) does not have.
    QueryError
        For an operator that does not fit the field's type.

    Examples
    --------
    >>> resolve(catalog.model("session"), "projects.name.icontains").operator
    'icontains'
    """
    parts = _parts(model, dotted)
    operator = "exact"
    if allow_operator and len(parts) > 1 and parts[-1] in ALL_OPERATORS:
        operator = parts.pop()
    current: catalog.Model | None = model
    field: catalog.Field | None = None
    for i, name in enumerate(parts):
        if current is None:
            raise QueryError(
                f"{'.'.join(parts[:i])!r} of {model.name} leads to a model the catalog does not "
                f"describe, so {name!r} cannot be checked or filtered on."
            )
        field = current.field(name)
        if field.is_relation:
            current = catalog.all_models().get(field.related_model or "")
        elif i == len(parts) - 2 and allow_operator and operator == "exact" and close_names(parts[-1], ALL_OPERATORS):
            raise UnknownNameError("operator", parts[-1], list(ALL_OPERATORS), f" in {dotted!r}")  # a typo
        elif i < len(parts) - 1:
            raise QueryError(
                f"{name!r} of {current.name} is not a relation, so "
                f"{'.'.join(parts[i + 1 :])!r} cannot follow it in {dotted!r}. Use {name!r} itself, "
                f"or a relation of {current.name}: {', '.join(f.name for f in current.relations)}."
            )
        else:
            current = None
    assert field is not None
    _check_operator(model, dotted, ".".join(parts), field, operator if allow_operator else "sort")
    return Target(field=field, operator=operator, path=".".join(parts))


def _check_operator(model: catalog.Model, dotted: str, path: str, field: catalog.Field, operator: str) -> None:
    """Refuse an operator the server does not accept on ``field``'s type (``"sort"``: a sort key)."""
    kind = "relation" if field.is_relation else field.type
    if kind == "list[string]" and operator in ("exact", "in"):
        # The server compares the whole stored list with one text: no record, silently.
        raise ConfigurationError(
            f"Filter {dotted!r}: {path!r} of {model.name} is a list, and the server compares a whole list "
            f"with one text, which matches no record (the official clients' {path}= sends this). "
            f"Use {{'{path}.contains': 'pilot'}} for records whose list holds 'pilot'."
        )
    if operator == "sort" and kind == "list[string]":
        return  # lists sort (as jsonb on the server)
    allowed = OPERATORS.get(kind, ("exact",))
    operator = "exact" if operator == "sort" else operator  # a sort key needs what equality needs
    if operator not in allowed:
        raise QueryError(
            f"Operator {operator!r} does not fit {path!r} ({kind}) of {model.name}; use one of: {', '.join(allowed)}."
        )


def _check_value(target: Target, value: Any, key: str) -> None:
    if target.operator == "in":
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
            raise QueryError(f"Filter {key!r} needs a list of values, e.g. {{{key!r}: ['a', 'b']}}.")
        for item in value:
            check_scalar(item, key)
        return
    if isinstance(value, (list, tuple, set)):
        raise QueryError(f"Filter {key!r} got a list; use {target.path + '.in'!r} to match any of several values.")
    check_scalar(value, key)
    if target.operator == "isnull" and not isinstance(value, bool):
        raise QueryError(f"Filter {key!r} needs True or False.")
    kind = target.field.type
    if (
        target.operator in ("gt", "gte", "lt", "lte", "exact")
        and kind in ("date", "datetime")
        and isinstance(value, str)
    ):
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise QueryError(
                f"Filter {key!r}: {value!r} is not an ISO 8601 {kind}; write it like 2024-05-01"
                f"{'T12:00:00Z' if kind == 'datetime' else ''}."
            ) from None
    if kind == "integer" and target.operator != "isnull" and not isinstance(value, bool):
        try:
            int(value)
        except (TypeError, ValueError):
            raise QueryError(f"Filter {key!r}: {value!r} is not an integer; pass a whole number, e.g. 3.") from None


def filter_params(model: catalog.Model, filters: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """``filter{...}`` parameters for ``filters``, validated against the catalog."""
    params: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for key, value in (filters or {}).items():
        if not isinstance(key, str):
            raise QueryError(f"Filter names are strings like 'name.icontains', not {key!r}.")
        target = resolve(model, key)
        _check_value(target, value, key)
        name = target.path if target.operator == "exact" else f"{target.path}.{target.operator}"
        if name in seen:
            # Two equal parameters: the server would keep the first and ignore the second.
            raise QueryError(f"Filters {seen[name]!r} and {key!r} both ask for {name!r}; keep one of them.")
        seen[name] = key
        encoded = [encode_value(v) for v in (value if target.operator == "in" else [value])]
        if target.operator == "in":
            check_in(key, target.path, encoded)
        params += [(f"filter{{{name}}}", text) for text in encoded]
    return params


def sort_params(
    model: catalog.Model, sort: Iterable[str] | str | None, *, tie_break: bool = True
) -> list[tuple[str, str]]:
    """``sort[]`` parameters; ``id`` is appended so that offset pages are stable under ties.

    Examples
    --------
    >>> sort_params(catalog.model("session"), ["-date_time"])
    [('sort[]', '-date_time'), ('sort[]', 'id')]
    """
    keys = [sort] if isinstance(sort, str) else list(_listed(sort, "sort", "['-date_time', 'name']"))
    out = []
    for key in keys:
        name = key[1:] if key.startswith("-") else key
        resolve(model, name, allow_operator=False)
        out.append(("sort[]", key))
    if tie_break and not any(k.lstrip("-") == "id" for k in keys):
        out.append(("sort[]", "id"))
    return out


def include_params(model: catalog.Model, include: Iterable[str] | str | None) -> list[tuple[str, str]]:
    """``include[]`` parameters in the ``relation.*`` form; each path must be relations only.

    Examples
    --------
    >>> include_params(catalog.model("subject"), ["procedures.brain_region", "strain.*"])
    [('include[]', 'procedures.brain_region.*'), ('include[]', 'strain.*')]
    """
    items = (
        [include] if isinstance(include, str) else list(_listed(include, "include", "['projects', 'behaviors.setup']"))
    )
    out = []
    for item in items:
        path = item[:-2] if item.endswith(".*") else item.rstrip(".")
        current: catalog.Model | None = model
        for name in path.split("."):
            if current is None:
                raise QueryError(f"Cannot include {item!r}: {name!r} follows a model the catalog does not describe.")
            field = current.field(name)
            if not field.is_relation:
                raise QueryError(
                    f"Cannot include {item!r}: {name!r} of {current.name} is a {field.type} field, "
                    f"not a relation; include one of {current.name}'s relations instead: "
                    f"{', '.join(f.name for f in current.relations)}."
                )
            current = catalog.all_models().get(field.related_model or "")
        out.append(("include[]", f"{path}.*"))
    return out


def build_params(
    model: str | catalog.Model,
    *,
    filters: Mapping[str, Any] | None = None,
    sort: Iterable[str] | str | None = None,
    include: Iterable[str] | str | None = None,
) -> list[tuple[str, str]]:
    """All query parameters of a list request, validated before anything is sent.

    Examples
    --------
    >>> build_params("session", filters={"name.icontains": "rat"}, include=["projects"])
    [('filter{name.icontains}', 'rat'), ('sort[]', 'id'), ('include[]', 'projects.*')]
    """
    spec = model if isinstance(model, catalog.Model) else catalog.model(model)
    return filter_params(spec, filters) + sort_params(spec, sort) + include_params(spec, include)


def check_portal(portal: Any) -> str:
    """``portal`` if it is one of :data:`PORTALS`, else a ConfigurationError saying which to use.

    Examples
    --------
    >>> check_portal("public")
    'public'
    """
    if portal not in PORTALS:
        raise ConfigurationError(f"Unknown portal {portal!r}; use 'private' or 'public'.")
    return str(portal)


def _listed(value: Any, what: str, example: str) -> tuple[str, ...]:
    """``value`` (names) as a tuple of text; anything else, a QueryError saying how to write it."""
    if value is None:
        return ()
    if isinstance(value, (Mapping, bytes)) or not isinstance(value, Iterable):
        raise QueryError(f"{what} must be a list of names like {example}, not {type(value).__name__} {value!r:.60}.")
    names = tuple(value)
    wrong = [n for n in names if not isinstance(n, str)]
    if wrong:
        raise QueryError(f"{what} must be a list of names like {example}; {wrong[0]!r} is not text.")
    return names


def _names(value: Iterable[str] | str | None, what: str) -> tuple[str, ...]:
    # One name or several, as a tuple; the names themselves are checked against the catalog later.
    example = "['projects', 'behaviors.setup']" if what == "include" else "['-date_time', 'name']"
    return (value,) if isinstance(value, str) else _listed(value, what, example)


@dataclass(frozen=True)
class Query:
    """One list query (model, filters, sort, include, portal), checked against the catalog once.

    Everything is checked when the query is made, before anything is sent: an
    unknown model or field, an operator that does not fit, an include that is not
    a relation, or an unknown portal raises here. ``params`` holds the request
    parameters, computed once; ``model`` is the catalog's name (aliases resolved).

    Examples
    --------
    >>> q = Query("session", filters={"name.icontains": "rat"}, include=["projects"])
    >>> q.params
    (('filter{name.icontains}', 'rat'), ('sort[]', 'id'), ('include[]', 'projects.*'))
    >>> client.read(q.model, **q.arguments()).shape[1] == client.read("session").shape[1]
    True
    >>> Query("session", filters={"nme.icontains": "rat"})
    Traceback (most recent call last):
    ...
    brainstem_pandas.errors.UnknownNameError: Unknown field 'nme' of session...
    """

    model: str
    filters: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    sort: Iterable[str] = ()
    include: Iterable[str] = ()
    portal: str = "private"
    params: tuple[tuple[str, str], ...] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        spec = catalog.model(self.model)
        check_portal(self.portal)
        if self.filters is not None and not isinstance(self.filters, Mapping):
            raise QueryError(
                f"filters must be a dict like {{'name.icontains': 'rat'}}, not {type(self.filters).__name__}."
            )
        # Frozen means frozen: the query keeps its own read-only copies of what it was given.
        fix = object.__setattr__
        fix(self, "model", spec.name)
        fix(self, "filters", MappingProxyType(dict(self.filters or {})))
        fix(self, "sort", _names(self.sort, "sort"))
        fix(self, "include", _names(self.include, "include"))
        fix(self, "params", tuple(build_params(spec, filters=self.filters, sort=self.sort, include=self.include)))

    def __hash__(self) -> int:
        # Equal queries send equal parameters (the filters mapping itself is not hashable).
        return hash((self.model, self.portal, self.params))

    @property
    def spec(self) -> catalog.Model:
        """The catalog model queried."""
        return catalog.model(self.model)

    def arguments(self) -> dict[str, Any]:
        """``filters``, ``sort``, ``include`` and ``portal`` as keyword arguments of the client's reads.

        Examples
        --------
        >>> Query("session", sort="-date_time").arguments()
        {'filters': {}, 'sort': ['-date_time'], 'include': [], 'portal': 'private'}
        """
        return {
            "filters": dict(self.filters),
            "sort": list(self.sort),
            "include": list(self.include),
            "portal": self.portal,
        }

    def describe(self) -> dict[str, Any]:
        """The query as JSON for a snapshot's manifest: parameters, include, sort and filters.

        Examples
        --------
        >>> Query("project", filters={"is_public": True}).describe()
        {'params': [['filter{is_public}', 'true'], ['sort[]', 'id']], 'include': [], 'sort': [],
         'filters': {'is_public': 'true'}}
        """
        return {
            "params": [list(p) for p in self.params],
            "include": list(self.include),
            "sort": list(self.sort),
            "filters": {k: plain_value(v) for k, v in self.filters.items()},
        }


def as_query(
    model: str | Query,
    *,
    filters: Mapping[str, Any] | None = None,
    sort: Iterable[str] | str | None = None,
    include: Iterable[str] | str | None = None,
    portal: str | None = None,
    default_portal: str = "private",
) -> Query:
    """``model`` itself when it is a :class:`Query` (which holds the rest), else the Query of the arguments.

    Examples
    --------
    >>> query = Query("session", sort=["-date_time"])
    >>> as_query(query) is query, as_query("session", sort=["-date_time"]) == query
    (True, True)
    >>> as_query(query, portal="public")
    Traceback (most recent call last):
    ...
    brainstem_pandas.errors.ConfigurationError: A Query holds its filters, sort, include and portal; ...
    """
    if not isinstance(model, Query):
        return Query(
            model, filters=filters or {}, sort=sort or (), include=include or (), portal=portal or default_portal
        )
    if filters or sort or include or portal:
        raise ConfigurationError("A Query holds its filters, sort, include and portal; pass the Query alone.")
    return model


def queries(
    models: str | Iterable[str],
    *,
    include: Any = None,
    filters: Any = None,
    sort: Iterable[str] | str | None = None,
    portal: str = "private",
) -> list[Query]:
    """One :class:`Query` per model, each checked before anything is fetched.

    ``include`` and ``filters`` apply to every model, or map model names to their own.

    Examples
    --------
    >>> [q.model for q in queries(["session", "project"], include={"session": ["projects"]})]
    ['session', 'project']
    >>> queries(["session"], include={"subject": ["strain"]})
    Traceback (most recent call last):
    ...
    brainstem_pandas.errors.ConfigurationError: include names 'subject', which is not among the models read: ...
    """
    names = [models] if isinstance(models, str) else list(models)
    if not names:
        raise ConfigurationError("No model given; name at least one, e.g. 'session'.")
    out = []
    for name in names:
        model = catalog.model(name).name
        inc = _for_model(include, model, names, "include", list)
        flt = _for_model(filters, model, names, "filters", dict)
        out.append(
            Query(model, filters=flt or {}, sort=_names(sort, "sort"), include=_names(inc, "include"), portal=portal)
        )
    return out


def _for_model(value: Any, model: str, models: list[str], what: str, kind: type) -> Any:
    """``include``/``filters`` of one model: a mapping keyed by model names, or the same for every model."""
    # Filters keyed by model names hold a dict each ({"session": {...}}); a field may share a model's name.
    per_model = (
        isinstance(value, Mapping)
        and value
        and (
            kind is list
            or all(
                isinstance(v, Mapping) and isinstance(k, str) and k in catalog.all_models() for k, v in value.items()
            )
        )
    )
    if not per_model:
        return value
    unknown = [k for k in value if catalog.model(k).name not in models]
    if unknown:
        names = ", ".join(map(repr, unknown))
        raise ConfigurationError(
            f"{what} names {names}, which is not among the models read: "
            f"{', '.join(models)}. Add {names} to the models, or leave it out of {what}."
        )
    return {catalog.model(k).name: v for k, v in value.items()}.get(model)


__all__ = [
    "PORTALS",
    "Query",
    "as_query",
    "build_params",
    "check_portal",
    "encode_value",
    "filter_params",
    "include_params",
    "plain_value",
    "queries",
    "resolve",
    "sort_params",
    "UnknownNameError",
]
