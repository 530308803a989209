"""Pages -> linked, typed tables: the frames stage of the data flow.

Modules (each one concern): ``dtypes`` (the one dtype table), ``layout`` (the one
place naming tables and their columns), ``arrow``, ``plan``, ``store`` (spilling),
``builder`` (:class:`FrameBuilder`) and ``linked`` (:class:`LinkedFrames`).
"""

from brainstem_pandas.frames.builder import (
    BATCH,
    CastFailed,
    FrameBuilder,
    Layout,
    LinkedFrames,
    Relation,
    TypeConflictWarning,
    arrow_frame,
    linked_schema,
    records_frame,
)

__all__ = [
    "BATCH",
    "CastFailed",
    "FrameBuilder",
    "Layout",
    "LinkedFrames",
    "Relation",
    "TypeConflictWarning",
    "arrow_frame",
    "linked_schema",
    "records_frame",
]
