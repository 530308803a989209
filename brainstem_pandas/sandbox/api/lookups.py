"""JSON containment on SQLite, answered as PostgreSQL answers it.

Django implements ``contains`` on a ``JSONField`` as ``jsonb @>`` on PostgreSQL
(the real service's database) and refuses it on SQLite (``NotSupportedError``, an
HTTP 500 before this module). Here the SQLite form calls ``bsp_json_contains``, a
function registered on every SQLite connection that applies
:func:`brainstem_pandas.semantics.json_contains`, so ``filter{tags.contains}=pilot``
answers the same records on both databases. PostgreSQL keeps Django's own SQL.
"""

from __future__ import annotations

import json
from typing import Any

from django.db.backends.signals import connection_created
from django.db.models import JSONField
from django.db.models.fields.json import DataContains

from brainstem_pandas.semantics import json_contains

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


class JSONContains(DataContains):
    """``contains`` on a JSONField: Django's ``@>`` on PostgreSQL, :data:`SQL_FUNCTION` on SQLite."""

    def as_sqlite(self, compiler: Any, connection: Any) -> tuple[str, tuple]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{SQL_FUNCTION}({lhs}, {rhs})", (*lhs_params, *rhs_params)


def _register(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function(SQL_FUNCTION, 2, sqlite_json_contains, deterministic=True)


JSONField.register_lookup(JSONContains)
connection_created.connect(_register, dispatch_uid="bsp-json-contains")
