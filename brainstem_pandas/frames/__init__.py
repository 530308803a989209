"""Pages -> linked, typed tables: the frames stage of the data flow.

Modules, each one concern, in the order they depend on each other:

- ``layout``: the one place naming tables and their columns;
- ``dtypes``: the one dtype table (catalog type -> Arrow type -> pandas dtype) and
  the Arrow -> pandas conversion (:func:`arrow_frame`);
- ``arrow``: Python values -> Arrow arrays (inference, clashes kept as text);
- ``plan``: how a column's chunks meet one type (:class:`Plan`);
- ``store``: a table's chunks, in memory or spilled to files, and its :class:`Layout`;
- ``export``: tables -> CSV and JSON files (nested values as JSON, :func:`plain_text` of rich text);
- ``linked``: :class:`LinkedFrames` and :class:`Relation`;
- ``maps``: JSON objects keyed by identifiers (``project.users``) -> map tables, one row per key;
- ``builder``: :class:`FrameBuilder`, pages -> :class:`LinkedFrames`;
- ``records``: :func:`records_frame`, records -> the flat frame of ``read``.

Examples
--------
>>> flat = records_frame("session", [{"id": "s1", "tags": ["pilot"]}])
>>> linked = FrameBuilder("session").finish()["session"]
>>> flat.dtypes["tags"] == linked.dtypes["tags"] == STRING_LIST
True
"""

from brainstem_pandas.frames.arrow import TypeConflictWarning
from brainstem_pandas.frames.builder import BATCH, FrameBuilder
from brainstem_pandas.frames.dtypes import (
    DATE,
    DATETIME,
    STRING_LIST,
    arrow_frame,
    field_dtype,
    id_dtype,
    linked_schema,
    pandas_dtype,
    schema,
)
from brainstem_pandas.frames.export import plain_text
from brainstem_pandas.frames.linked import LinkedFrames, NotInFramesError, Relation
from brainstem_pandas.frames.plan import CastFailed, Plan
from brainstem_pandas.frames.records import nested_records, records_frame
from brainstem_pandas.frames.store import Layout

__all__ = [
    "BATCH",
    "DATE",
    "DATETIME",
    "STRING_LIST",
    "CastFailed",
    "FrameBuilder",
    "Layout",
    "LinkedFrames",
    "NotInFramesError",
    "Plan",
    "Relation",
    "TypeConflictWarning",
    "arrow_frame",
    "field_dtype",
    "id_dtype",
    "linked_schema",
    "nested_records",
    "pandas_dtype",
    "plain_text",
    "records_frame",
    "schema",
]
