"""Query-string filters and search of the brainmaps list endpoints.

Bad filter values answer 400 naming the parameter, so a typo in a client's
filter is not mistaken for an empty result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import reduce
from operator import and_, or_

from django.db.models import Q, QuerySet
from rest_framework.exceptions import ValidationError

TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})


def parse_bool(params: Mapping[str, str], name: str) -> bool | None:
    """Read a true/false query parameter.

    Parameters
    ----------
    params : Mapping
        The query parameters.
    name : str
        Parameter name.

    Returns
    -------
    bool or None
        The value, or None when the parameter is absent or empty.

    Raises
    ------
    rest_framework.exceptions.ValidationError
        If the value is not a recognised boolean word.

    Examples
    --------
    >>> parse_bool({"verified": "True"}, "verified")
    True
    >>> parse_bool({}, "verified") is None
    True
    """
    raw = params.get(name, "").strip().lower()
    if not raw:
        return None
    if raw in TRUE_WORDS:
        return True
    if raw in FALSE_WORDS:
        return False
    raise ValidationError({name: f"Must be true or false, not {params[name]!r}."})


def parse_int(params: Mapping[str, str], name: str) -> int | None:
    """Read an integer query parameter (None when absent or empty).

    Raises
    ------
    rest_framework.exceptions.ValidationError
        If the value is not an integer.

    Examples
    --------
    >>> parse_int({"uploader": " 7 "}, "uploader")
    7
    """
    raw = params.get(name, "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValidationError({name: f"Must be an integer id, not {params[name]!r}."}) from None


def search_terms(params: Mapping[str, str]) -> list[str]:
    """Split the ``search`` parameter into words.

    Examples
    --------
    >>> search_terms({"search": "  visual   cortex "})
    ['visual', 'cortex']
    """
    return params.get("search", "").split()


def apply_search(queryset: QuerySet, terms: Sequence[str], fields: Sequence[str]) -> QuerySet:
    """Keep rows where every term occurs (case-insensitively) in one of `fields`.

    Parameters
    ----------
    queryset : QuerySet
        Rows to search.
    terms : Sequence of str
        Words that must all match.
    fields : Sequence of str
        Lookup paths searched, e.g. ``["name", "species__common_name"]``.

    Returns
    -------
    QuerySet
        The matching rows.
    """
    if not terms:
        return queryset
    per_term = (reduce(or_, (Q(**{f"{f}__icontains": t}) for f in fields)) for t in terms)
    return queryset.filter(reduce(and_, per_term))
