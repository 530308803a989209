"""The one place that names tables and their columns.

A :class:`~brainstem_pandas.frames.LinkedFrames` holds three kinds of table:

- a **model table** per model, named like the model (``"session"``), indexed by ``id``;
- a **link table** per to-many relation, named ``"<model>.<field>"``
  (``"session.projects"``), with the columns ``<model>_id``, ``<target>_id``
  (``<field>_id`` when the target is the model itself or unknown) and ``position``
  (the related record's place in the list the server sent);
- a **child table** per list of JSON objects or scalars, named ``"<model>.<field>"``
  (``"session.download_links"``), with ``<model>_id``, ``position`` and the objects'
  fields, or a single ``value`` column for a list of scalars. An object's own field
  named like the parent column or ``position`` is kept as ``<field>.<name>``;
- a **map table** (also a child table) per JSON object keyed by identifiers, as the
  catalog marks them (``"project.users"``, keyed by e-mail), with ``<model>_id``, the
  key column the catalog names (``user``) and one column per field of the entries
  (``can_change``, ...); one row per key, in the order the server sent them. An
  entry's field named like the parent or key column is kept as ``<field>.<name>``.

A JSON object (``extra_fields``) expands into ``<field>.<key>`` columns of the
table it belongs to, and a to-one relation stays a column named like its field;
both kinds of relation are keyed ``"<model>.<field>"`` in ``LinkedFrames.relations``.

The builder writes these names, and the offline source and the snapshot reader
parse them back, only through the functions here.

Examples
--------
>>> table_name("session", "projects")
'session.projects'
>>> split_table_name("session.projects")
('session', 'projects')
>>> parent_column("session"), link_target_column("session", "projects", "project")
('session_id', 'project_id')
"""

from __future__ import annotations

from typing import Iterable

POSITION = "position"
"""The column holding a related record's or an item's place in its list."""

VALUE = "value"
"""The one data column of a child table made from a list of scalars."""

INDEX = "id"
"""The index (and, in Parquet, the first column) of every model table."""


def table_name(model: str, field: str) -> str:
    """The name of the link or child table of ``model``'s list-valued ``field``.

    Examples
    --------
    >>> table_name("session", "download_links")
    'session.download_links'
    """
    return f"{model}.{field}"


def split_table_name(name: str) -> tuple[str, str | None]:
    """``(model, field)`` of a link or child table name; ``(name, None)`` for a model table.

    Examples
    --------
    >>> split_table_name("session"), split_table_name("session.projects")
    (('session', None), ('session', 'projects'))
    """
    model, dot, field = name.partition(".")
    return (model, field) if dot else (name, None)


def parent_column(model: str) -> str:
    """The column of a link or child table that holds the owning record's id.

    Examples
    --------
    >>> parent_column("project")
    'project_id'
    """
    return f"{model}_id"


def link_target_column(model: str, field: str, target: str | None) -> str:
    """The column of a link table that holds the related record's id.

    Named after the target model, or after the field when the relation points
    back at the same model (or at a model the catalog does not know), so that
    the two id columns never share a name.

    Examples
    --------
    >>> link_target_column("session", "projects", "project")
    'project_id'
    >>> link_target_column("subject", "parents", "subject")
    'parents_id'
    """
    return f"{target}_id" if target and target != model else f"{field}_id"


def child_column(field: str, name: str, parent: str) -> str:
    """The column of a child table for an object's own field ``name``.

    A field that would clash with the table's own columns (the parent id column
    or ``position``) is kept under ``<field>.<name>``.

    Examples
    --------
    >>> child_column("download_links", "url", "session_id")
    'url'
    >>> child_column("download_links", "position", "session_id")
    'download_links.position'
    """
    return f"{field}.{name}" if name in (parent, POSITION) else name


def child_field(field: str, column: str, parent: str) -> str:
    """The object field a child table's ``column`` came from (the reverse of :func:`child_column`).

    Examples
    --------
    >>> child_field("download_links", "download_links.position", "session_id")
    'position'
    >>> child_field("download_links", "url", "session_id")
    'url'
    """
    prefix = f"{field}."
    rest = column[len(prefix) :] if column.startswith(prefix) else None
    return rest if rest in (parent, POSITION) else column


def map_column(field: str, name: str, reserved: tuple[str, str]) -> str:
    """The column of a map table for an entry's own field ``name`` (``reserved``: the parent and key columns).

    Examples
    --------
    >>> map_column("users", "is_owner", ("project_id", "user")), map_column("users", "user", ("project_id", "user"))
    ('is_owner', 'users.user')
    """
    return f"{field}.{name}" if name in reserved else name


def map_field(field: str, column: str, reserved: tuple[str, str]) -> str:
    """The entry field a map table's ``column`` came from (the reverse of :func:`map_column`).

    Examples
    --------
    >>> map_field("users", "users.user", ("project_id", "user")), map_field("users", "users.x", ("project_id", "user"))
    ('user', 'users.x')
    """
    prefix = f"{field}."
    rest = column[len(prefix) :] if column.startswith(prefix) else None
    return rest if rest in reserved else column


def link_target_of(model: str, columns: Iterable[str]) -> str | None:
    """The column of ``model``'s link table that holds the related ids (the reverse of :func:`link_target_column`).

    For link tables read without their relation: the one column that is neither
    the parent column nor ``position``.

    Examples
    --------
    >>> link_target_of("session", ["session_id", "project_id", "position"])
    'project_id'
    """
    return next((c for c in columns if c not in (parent_column(model), POSITION)), None)


def split_column(column: str) -> tuple[str, str | None]:
    """``(field, key)`` of an object's column (the reverse of :func:`expanded_column`); ``(column, None)`` otherwise.

    Examples
    --------
    >>> split_column("extra_fields.trials"), split_column("name")
    (('extra_fields', 'trials'), ('name', None))
    """
    field, dot, key = column.partition(".")
    return (field, key) if dot else (column, None)


def expanded_column(field: str, key: str) -> str:
    """The column of an object's ``key`` when the object in ``field`` expands into columns.

    Examples
    --------
    >>> expanded_column("extra_fields", "rig")
    'extra_fields.rig'
    """
    return f"{field}.{key}"


def text_column(column: str) -> str:
    """The plain-text column an export adds beside a rich-text (HTML) column.

    Examples
    --------
    >>> text_column("description")
    'description_text'
    """
    return f"{column}_text"


def column_label(table: str, column: str) -> str:
    """How a warning names one column of one table (``"session.date_time"``).

    Examples
    --------
    >>> column_label("session", "extra_fields.rig")
    'session.extra_fields.rig'
    """
    return f"{table}.{column}"
