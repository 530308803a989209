"""The state of a seeding run and the bulk row writer.

:class:`World` carries the seeded generator and the ids written so far, so that
later rows can refer to earlier ones; :class:`Writer` writes rows straight into
the tables Django created (model instances cost too much at 100,000 sessions),
converting each value as the field's own ``get_db_prep_save`` does.

Examples
--------
>>> import random
>>> w = World(rng=random.Random(0))
>>> w.uid().version, w.uid() != World(rng=random.Random(0)).uid()
(4, True)
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from django.db import DEFAULT_DB_ALIAS, connection, connections, models

Row = dict[str, Any]
"""One row to write: field name (or attribute name, for relations given as ids) -> value."""


def tables() -> defaultdict[str, list[Any]]:
    """An empty collection of rows (or link pairs) by table, filled by a generator and written at its end."""
    return defaultdict(list)


@dataclass
class World:
    """Everything generated so far: ids by kind, for later rows to refer to."""

    rng: random.Random
    ids: defaultdict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    users: list[tuple[int, str]] = field(default_factory=list)  # (id, email)
    demo_token: str = ""

    def uid(self) -> uuid.UUID:
        """A UUID drawn from the seeded generator (uuid4 would not repeat)."""
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def pick(self, kind: str) -> Any:
        """One of the ids written so far of ``kind``, drawn from the seeded generator."""
        return self.rng.choice(self.ids[kind])


def _uuid_hex(value: Any) -> str:
    """A UUID as SQLite stores it: 32 hex digits."""
    return value.hex if isinstance(value, uuid.UUID) else uuid.UUID(str(value)).hex


def _as_is(value: Any) -> Any:
    return value


class Writer:
    """Bulk row writer for one model's table and its many-to-many tables."""

    def __init__(self) -> None:
        self._prep: dict[type, Callable[[Any], Any]] = {}

    def _converter(self, f: Any) -> Callable[[Any], Any]:
        """The function that turns a value of field ``f`` into its stored form (one per field type)."""
        key = type(f)
        if key not in self._prep:
            # The connection proxy costs a thread-local lookup per call: bind the
            # real connection once. The commonest types skip Django entirely.
            conn = connections[DEFAULT_DB_ALIAS]
            if isinstance(f, models.UUIDField):
                self._prep[key] = _uuid_hex
            elif isinstance(
                f, (models.CharField, models.TextField, models.IntegerField, models.BooleanField, models.FloatField)
            ):
                self._prep[key] = _as_is
            else:

                def prep(value: Any, f: Any = f) -> Any:
                    return f.get_db_prep_save(value, conn)

                self._prep[key] = prep
        return self._prep[key]

    def insert(self, model: Any, rows: list[dict[str, Any]]) -> None:
        """Insert ``rows`` (field name -> value; relations as ids) into ``model``'s table."""
        if not rows:
            return
        fields = [f for f in model._meta.concrete_fields if f.name in rows[0] or f.attname in rows[0]]
        names = [f.name if f.name in rows[0] else f.attname for f in fields]
        # Relations are given as ids: convert them as the target's primary key does.
        convert = [self._converter(f.target_field if f.is_relation else f) for f in fields]
        defaults = {
            f.name: f.get_default()
            for f in model._meta.concrete_fields
            if f.name not in names and f.attname not in names and not f.primary_key
        }
        columns = [f.column for f in fields] + [model._meta.get_field(n).column for n in defaults]
        default_values = tuple(
            None if v is None else self._converter(model._meta.get_field(n))(v) for n, v in defaults.items()
        )
        sql = (
            f'INSERT INTO "{model._meta.db_table}" ({", ".join(chr(34) + c + chr(34) for c in columns)}) '
            f"VALUES ({', '.join('%s' for _ in columns)})"
        )
        data = [
            tuple(c(row[n]) if row[n] is not None else None for c, n in zip(convert, names)) + default_values
            for row in rows
        ]
        with connection.cursor() as cur:
            cur.executemany(sql, data)

    def link(self, model: Any, field_name: str, pairs: Iterable[tuple[Any, Any]]) -> None:
        """Insert many-to-many pairs (source id, target id) into ``model.field_name``'s table."""
        through = model._meta.get_field(field_name).remote_field.through
        src, dst = (f for f in through._meta.concrete_fields if f.is_relation)
        rows = [{src.attname: a, dst.attname: b} for a, b in pairs]
        if rows:
            self.insert(through, rows)
