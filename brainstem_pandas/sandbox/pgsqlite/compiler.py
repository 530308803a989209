"""Django's SQL compilers, with PostgreSQL's place for NULLs and order of JSON in ``ORDER BY``."""

from __future__ import annotations

from typing import Any, Iterator

from django.db.models import Func, JSONField, TextField
from django.db.models.expressions import OrderBy
from django.db.models.sql import compiler
from django.db.models.sql.compiler import (  # noqa: F401  (the backend's compiler module names them all)
    SQLAggregateCompiler,
    SQLDeleteCompiler,
    SQLInsertCompiler,
    SQLUpdateCompiler,
)


class SQLCompiler(compiler.SQLCompiler):
    """SELECT: NULLs last ascending and first descending; JSON fields in ``jsonb`` order."""

    def _order_by_pairs(self) -> Iterator[tuple[Any, bool]]:
        for expr, is_ref in super()._order_by_pairs():
            if isinstance(expr, OrderBy) and expr.nulls_first is None and expr.nulls_last is None:
                expr = expr.copy()
                if isinstance(getattr(expr.expression, "target", None), JSONField) and not is_ref:
                    expr.expression = Func(expr.expression, function="bsp_jsonb_key", output_field=TextField())
                if expr.descending:
                    expr.nulls_first = True
                else:
                    expr.nulls_last = True
            yield expr, is_ref
