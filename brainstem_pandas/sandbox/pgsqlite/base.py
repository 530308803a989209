"""The backend's connection: SQLite's, with PostgreSQL's ``UPPER()``, ``LIKE`` and ordering (see the package)."""

from __future__ import annotations

import json
from typing import Any

from django.db.backends.sqlite3 import base, operations

from brainstem_pandas.semantics import jsonb_sort_text, jsonb_text, pg_upper

#: Django's lookups that compare ``UPPER()`` of both sides on PostgreSQL.
CASE_INSENSITIVE = ("iexact", "icontains", "istartswith", "iendswith")


def sql_upper(text: Any) -> Any:
    """SQLite's ``UPPER()`` replaced: PostgreSQL's in a ``C.UTF-8`` database (NULL and numbers pass).

    Examples
    --------
    >>> sql_upper("straße"), sql_upper(None), sql_upper(3)
    ('STRAßE', None, 3)
    """
    return pg_upper(text) if isinstance(text, str) else text


def jsonb_key(text: Any) -> Any:
    """A text that sorts stored JSON as PostgreSQL sorts ``jsonb`` (text that is not JSON last).

    Examples
    --------
    >>> sorted(['["a", "c"]', '["z"]', "[]", '["b"]', '{"a": 1}', "3"], key=jsonb_key)
    ['[]', '3', '["b"]', '["z"]', '["a", "c"]', '{"a": 1}']
    """
    if not isinstance(text, str):
        return text
    try:
        return jsonb_sort_text(json.loads(text))
    except ValueError:
        return "9" + text


def sql_jsonb_text(text: Any) -> Any:
    """Stored JSON text rewritten as PostgreSQL writes ``jsonb`` (Django's SQLite text escapes non-ASCII).

    Examples
    --------
    >>> sql_jsonb_text('["\\u00c4rger",  "b"]')
    '["Ärger", "b"]'
    """
    if not isinstance(text, str):
        return text
    try:
        return jsonb_text(json.loads(text))
    except ValueError:
        return text


#: Django's lookups that PostgreSQL evaluates on the text of a value (``col::text``).
TEXT_LOOKUPS = ("iexact", "contains", "icontains", "startswith", "istartswith", "endswith", "iendswith")


class DatabaseOperations(operations.DatabaseOperations):
    compiler_module = "brainstem_pandas.sandbox.pgsqlite.compiler"

    def lookup_cast(self, lookup_type: str, internal_type: str | None = None) -> str:
        lookup = "bsp_jsonb_text(%s)" if internal_type == "JSONField" and lookup_type in TEXT_LOOKUPS else "%s"
        return f"UPPER({lookup})" if lookup_type in CASE_INSENSITIVE else lookup


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
    operators = {
        **base.DatabaseWrapper.operators,
        **{name: "LIKE UPPER(%s) ESCAPE '\\'" for name in CASE_INSENSITIVE},
    }
    pattern_ops = {
        **base.DatabaseWrapper.pattern_ops,
        "istartswith": r"LIKE UPPER({}) || '%%' ESCAPE '\'",
        "iendswith": r"LIKE '%%' || UPPER({}) ESCAPE '\'",
    }

    def get_new_connection(self, conn_params: dict) -> Any:
        conn = super().get_new_connection(conn_params)
        conn.create_function("UPPER", 1, sql_upper, deterministic=True)
        conn.create_function("bsp_jsonb_key", 1, jsonb_key, deterministic=True)
        conn.create_function("bsp_jsonb_text", 1, sql_jsonb_text, deterministic=True)
        # LIKE is case-sensitive on PostgreSQL.
        conn.execute("PRAGMA case_sensitive_like = ON")
        return conn
