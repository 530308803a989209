"""Documented write rules, checked by the client before sending and by the sandbox.

The rules come from the field notes of the catalog (e.g. ``extra_fields`` keys,
``download_links`` repositories); each check returns plain messages so both the
client's ``ValidationError`` and the sandbox's 400 answer can name the field.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any
from urllib.parse import urlparse

from brainstem_pandas import catalog

EXTRA_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
URL_SCHEMES = ("http", "https", "ftp")


@cache
def download_repositories() -> tuple[str, ...]:
    """Repositories allowed in ``download_links``, read from the catalog notes.

    Examples
    --------
    >>> "DANDI" in download_repositories()
    True
    """
    notes = catalog.model("session").field("download_links").notes or ""
    match = re.search(r"repository one of ([^;]+);", notes)
    if not match:
        raise RuntimeError("catalog notes of session.download_links list no repositories")
    return tuple(r.strip() for r in match.group(1).split(","))


def extra_fields_errors(value: Any) -> list[str]:
    """Messages for an invalid ``extra_fields`` object (empty when valid).

    Examples
    --------
    >>> for message in extra_fields_errors({"1bad": 1, "ok_key": [1]}):
    ...     print(message)
    key '1bad' must start with a letter and hold only letters, digits and underscores
    value of 'ok_key' must be a string or a number, not list
    """
    if value is None:
        return []
    if not isinstance(value, dict):
        return [f"must be a JSON object of key/value pairs, not {type(value).__name__}"]
    errors = []
    for key, item in value.items():
        if not isinstance(key, str) or not EXTRA_KEY.match(key):
            errors.append(f"key {key!r} must start with a letter and hold only letters, digits and underscores")
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            errors.append(f"value of {key!r} must be a string or a number, not {type(item).__name__}")
    return errors


def download_links_errors(value: Any) -> list[str]:
    """Messages for an invalid ``download_links`` list (empty when valid).

    Examples
    --------
    >>> download_links_errors([{"repository": "DANDI", "url": "dandiarchive.org/1"}])
    ["item 0: url 'dandiarchive.org/1' must start with http://, https:// or ftp://"]
    """
    if value is None:
        return []
    if not isinstance(value, list):
        return [f"must be a list of {{'repository', 'url'}} objects, not {type(value).__name__}"]
    allowed = download_repositories()
    errors = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            errors.append(f"item {i}: must be an object with 'repository' and 'url'")
            continue
        repo, url = item.get("repository"), item.get("url")
        if repo not in allowed:
            errors.append(f"item {i}: repository {repo!r} is not one of {', '.join(allowed)}")
        parsed = urlparse(url) if isinstance(url, str) else None
        if parsed is None or parsed.scheme not in URL_SCHEMES or not parsed.netloc:
            errors.append(f"item {i}: url {url!r} must start with http://, https:// or ftp://")
    return errors


def relation_errors(field: catalog.Field, value: Any) -> list[str]:
    """Messages for a relation value of the wrong shape (list vs single id)."""
    if field.many:
        if not isinstance(value, (list, tuple)):
            return [f"must be a list of ids, even for one {field.related_model} (got {type(value).__name__})"]
        if field.required and not value:
            return [f"needs at least one {field.related_model} id"]
        return []
    if isinstance(value, (list, tuple, dict)):
        return [f"must be a single {field.related_model} id, not a {type(value).__name__}"]
    return []


def tags_errors(value: Any) -> list[str]:
    """Messages for ``tags`` that are not a list of strings."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        return ["must be a list of strings"]
    return []


_JSON_RULES = {"extra_fields": extra_fields_errors, "download_links": download_links_errors}


def field_errors(field: catalog.Field, value: Any) -> list[str]:
    """Messages for one documented field's value (empty when it follows the rules)."""
    if field.is_relation:
        return relation_errors(field, value)
    if field.type == "list[string]":
        return tags_errors(value)
    rule = _JSON_RULES.get(field.name)
    return rule(value) if rule else []


def record_errors(model_name: str, data: dict[str, Any], *, partial: bool) -> dict[str, list[str]]:
    """Check a create (``partial=False``) or update payload against the documented rules.

    Returns
    -------
    dict
        Field name -> messages; empty when the payload may be sent.

    Examples
    --------
    >>> record_errors("session", {"name": "s1", "projects": "abc"}, partial=False)
    {'projects': ['must be a list of ids, even for one project (got str)']}
    """
    model = catalog.model(model_name)
    errors: dict[str, list[str]] = {}
    known = {f.name: f for f in model.fields}
    for name, value in data.items():
        field = known.get(name)
        if field is None:
            errors[name] = [f"is not a field of {model.name}"]
        elif field.read_only:
            errors[name] = ["is read-only"]
        elif msgs := field_errors(field, value):
            errors[name] = msgs
    if not partial:
        for f in model.fields:
            if f.required and not f.read_only and f.name not in data:
                errors.setdefault(f.name, []).append("is required")
    return errors
