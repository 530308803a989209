"""JSON containment and comparison on SQLite, answered as PostgreSQL answers them.

Django implements ``contains`` on a ``JSONField`` as ``jsonb @>`` on PostgreSQL
(the database production Django services run on) and refuses it on SQLite
(``NotSupportedError``, an HTTP 500 before this module). Here the SQLite form calls
``bsp_json_contains``, a function registered on every SQLite connection that applies
:func:`brainstem_pandas.semantics.json_contains`, so ``filter{tags.contains}=pilot``
answers the same records on both databases. Likewise ``gt``/``gte``/``lt``/``lte``
and ``range`` on JSON compare in ``jsonb`` order (``bsp_jsonb_cmp``), not as text.
PostgreSQL keeps Django's own SQL.
"""

from __future__ import annotations

import json
from typing import Any

from django.db.backends.signals import connection_created
from django.db.models import JSONField, lookups
from django.db.models.fields.json import DataContains

from brainstem_pandas.semantics import json_contains, jsonb_sort_key

SQL_FUNCTION = "bsp_json_contains"


def sqlite_json_contains(doc: str | None, wanted: str | None) -> int | None:
    """The SQLite function: 1 when JSON text ``doc`` contains JSON text ``wanted``, NULL for NULL.

    Examples
    --------
    >>> sqlite_json_contains('["pilot", "rat"]', '"pilot"'), sqlite_json_contains('{"a": 1}', '{"a": 2}')
    (1, 0)
    """
    if doc is None or wanted is None:
        return None
    try:
        return int(json_contains(json.loads(doc), json.loads(wanted)))
    except ValueError:
        return 0  # not JSON: PostgreSQL would hold only valid jsonb


def sqlite_jsonb_cmp(a: str | None, b: str | None) -> int | None:
    """The SQLite function: -1, 0 or 1 as JSON texts ``a`` and ``b`` compare in ``jsonb`` order.

    Examples
    --------
    >>> sqlite_jsonb_cmp('["a", "b"]', '"pilot"'), sqlite_jsonb_cmp("[]", '"pilot"'), sqlite_jsonb_cmp("1", "1.0")
    (1, -1, 0)
    """
    if a is None or b is None:
        return None
    try:
        ka, kb = jsonb_sort_key(json.loads(a)), jsonb_sort_key(json.loads(b))
    except ValueError:
        return None
    return int(ka > kb) - int(ka < kb)


class _JSONOrder:
    """``gt``/``gte``/``lt``/``lte`` on a JSONField: ``jsonb`` order on SQLite too."""

    sql_operator = ""

    def as_sqlite(self, compiler: Any, connection: Any) -> tuple[str, tuple]:
        lhs, lhs_params = self.process_lhs(compiler, connection)  # type: ignore[attr-defined]
        rhs, rhs_params = self.process_rhs(compiler, connection)  # type: ignore[attr-defined]
        return f"bsp_jsonb_cmp({lhs}, {rhs}) {self.sql_operator} 0", (*lhs_params, *rhs_params)


class JSONGreaterThan(_JSONOrder, lookups.GreaterThan):
    sql_operator = ">"


class JSONGreaterThanOrEqual(_JSONOrder, lookups.GreaterThanOrEqual):
    sql_operator = ">="


class JSONLessThan(_JSONOrder, lookups.LessThan):
    sql_operator = "<"


class JSONLessThanOrEqual(_JSONOrder, lookups.LessThanOrEqual):
    sql_operator = "<="


class JSONRange(lookups.Range):
    """``range`` on a JSONField: both ends in ``jsonb`` order on SQLite too."""

    def as_sqlite(self, compiler: Any, connection: Any) -> tuple[str, tuple]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        _, (low, high) = self.process_rhs(compiler, connection)
        sql = f"(bsp_jsonb_cmp({lhs}, %s) >= 0 AND bsp_jsonb_cmp({lhs}, %s) <= 0)"
        return sql, (*lhs_params, low, *lhs_params, high)


class JSONContains(DataContains):
    """``contains`` on a JSONField: Django's ``@>`` on PostgreSQL, :data:`SQL_FUNCTION` on SQLite."""

    def as_sqlite(self, compiler: Any, connection: Any) -> tuple[str, tuple]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{SQL_FUNCTION}({lhs}, {rhs})", (*lhs_params, *rhs_params)


def _register(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function(SQL_FUNCTION, 2, sqlite_json_contains, deterministic=True)
        connection.connection.create_function("bsp_jsonb_cmp", 2, sqlite_jsonb_cmp, deterministic=True)


for _lookup in (JSONContains, JSONGreaterThan, JSONGreaterThanOrEqual, JSONLessThan, JSONLessThanOrEqual, JSONRange):
    JSONField.register_lookup(_lookup)
connection_created.connect(_register, dispatch_uid="bsp-json-contains")
