"""A table's columns as Arrow chunks, in memory or spilled to files: :class:`Chunks` and :class:`Layout`.

With :meth:`Chunks.spill`, finished chunks move to Arrow IPC files, so a
streaming consumer (the snapshot writer) keeps only their types in memory.
A :class:`Layout` is one finished table before conversion: its chunks and its
columns' declared Arrow types, turned into a DataFrame by :meth:`Layout.frame`
or streamed batch by batch in exactly the same types.

Examples
--------
>>> data = Chunks()
>>> data.put(data.chunk(2), "id", pa.array(["a", "b"]))
>>> data.put(data.chunk(1), "id", pa.array(["c"]))
>>> Layout("thing", "table", data, {"id": pa.string()}).frame().index.tolist()
['a', 'b', 'c']
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa

from brainstem_pandas.frames.dtypes import arrow_frame
from brainstem_pandas.frames.layout import column_label
from brainstem_pandas.frames.plan import CastFailed, Plan, plan_column


class Chunks:
    """Columns of one table as Arrow chunks, padded with nulls where a chunk lacks one.

    With :meth:`spill`, finished chunks move to Arrow IPC files in a folder, so a
    streaming consumer (the snapshot writer) keeps only their types in memory.
    """

    def __init__(self) -> None:
        self.lengths: list[int] = []
        self.types: dict[str, dict[int, pa.DataType]] = {}  # column -> chunk -> type, in first-seen order
        self.cols: dict[str, dict[int, pa.Array]] = {}  # chunks still in memory
        self.files: dict[int, Path] = {}  # spilled chunks
        self.folder: Path | None = None

    def __len__(self) -> int:
        return sum(self.lengths)

    def chunk(self, rows: int) -> int:
        """Start a chunk of ``rows`` rows; its number."""
        self.lengths.append(rows)
        return len(self.lengths) - 1

    def put(self, chunk: int, name: str, array: pa.Array) -> None:
        """Store column ``name`` of chunk number ``chunk``."""
        self.types.setdefault(name, {})[chunk] = array.type
        self.cols.setdefault(name, {})[chunk] = array

    @property
    def names(self) -> list[str]:
        """Column names in the order they first appeared."""
        return list(self.types)

    def spill(self) -> None:
        """Move every chunk still in memory to its own IPC file in :attr:`folder`."""
        if self.folder is None:
            return
        waiting = sorted({i for parts in self.cols.values() for i in parts})
        for i in waiting:
            names = [n for n, parts in self.cols.items() if i in parts]
            batch = pa.RecordBatch.from_arrays([self.cols[n].pop(i) for n in names], names=names)
            path = self.folder / f"{i:06d}.arrow"
            with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, batch.schema) as writer:
                writer.write_batch(batch)
            self.files[i] = path

    def load(self, chunk: int) -> dict[str, pa.Array]:
        """Every column of one chunk (read back from its file if spilled)."""
        out = {name: parts[chunk] for name, parts in self.cols.items() if chunk in parts}
        if chunk in self.files:
            with pa.OSFile(str(self.files[chunk]), "rb") as source:
                batch = pa.ipc.open_file(source).get_batch(0)
            out.update(zip(batch.schema.names, batch.columns))
        return out

    def rollback(self, chunks: int) -> None:
        """Forget every chunk from number ``chunks`` on."""
        del self.lengths[chunks:]
        for name in list(self.types):
            self.types[name] = {i: t for i, t in self.types[name].items() if i < chunks}
            if not self.types[name]:
                del self.types[name]
        kept = {n: {i: a for i, a in parts.items() if i < chunks} for n, parts in self.cols.items()}
        self.cols = {n: parts for n, parts in kept.items() if parts}
        for i in [i for i in self.files if i >= chunks]:
            self.files.pop(i).unlink(missing_ok=True)

    def plan(self, name: str, declared: pa.DataType | None, label: str) -> Plan:
        """How the chunks of ``name`` become one column declared as ``declared`` (None: infer)."""
        return plan_column(self.types.get(name, {}).values(), declared, label)

    def _arrays(self, name: str, plan: Plan) -> list[pa.Array]:
        if not self.files:
            parts = self.cols.get(name, {})
            return [plan.apply(parts.get(i), n) for i, n in enumerate(self.lengths)]
        return [plan.apply(self.load(i).get(name), n) for i, n in enumerate(self.lengths)]

    def column(self, name: str, declared: pa.DataType | None, label: str) -> pa.ChunkedArray:
        """One column, chunks unified, cast to the ``declared`` type (None: infer)."""
        plan = self.plan(name, declared, label)
        try:
            arrays = self._arrays(name, plan)
        except CastFailed:
            plan = plan.fallback()
            arrays = self._arrays(name, plan)
        return pa.chunked_array(arrays, type=plan.target)


@dataclass
class Layout:
    """One finished table before conversion: its chunks and its columns' declared types.

    ``kind`` is ``"table"`` (a model table; its ``id`` column becomes the index),
    ``"link"`` or ``"child"``. ``columns`` maps each column, in order, to its
    declared Arrow type (None: inferred from the chunks). :meth:`frame` builds the
    DataFrame in memory; :meth:`plans` and :meth:`batches` let a writer stream it
    chunk by chunk in exactly the types :meth:`frame` would give.
    """

    name: str
    kind: str
    data: Chunks
    columns: dict[str, pa.DataType | None]

    @classmethod
    def of_frame(cls, name: str, kind: str, frame: pd.DataFrame) -> Layout:
        """The layout of a finished DataFrame (model tables with ``id`` as a column), types kept.

        Examples
        --------
        >>> frame = pd.DataFrame({"id": ["a"], "n": pd.array([1], dtype="Int64")})
        >>> Layout.of_frame("thing", "table", frame).frame().dtypes["n"]
        Int64Dtype()
        """
        data = Chunks()
        chunk = data.chunk(len(frame))
        table = pa.Table.from_pandas(frame, preserve_index=False)
        for i, (column, array) in enumerate(zip(table.column_names, table.columns)):
            kept = _nan_kept(frame.iloc[:, i]) if pd.api.types.is_object_dtype(frame.dtypes.iloc[i]) else None
            data.put(chunk, column, array.combine_chunks() if kept is None else kept)
        return cls(name, kind, data, dict.fromkeys(table.column_names))

    def _label(self, column: str) -> str:
        return column_label(self.name, column)

    def plans(self) -> dict[str, Plan]:
        """Each column's :class:`Plan` (type-conflict warnings are given here)."""
        return {name: self.data.plan(name, declared, self._label(name)) for name, declared in self.columns.items()}

    def batches(self, plans: Mapping[str, Plan]) -> Iterator[pa.RecordBatch]:
        """Each chunk as a record batch in the planned types; raises :class:`CastFailed`."""
        schema = pa.schema([(name, plan.target) for name, plan in plans.items()])
        for i, rows in enumerate(self.data.lengths):
            parts = self.data.load(i)
            yield pa.RecordBatch.from_arrays(
                [plan.apply(parts.get(name), rows) for name, plan in plans.items()], schema=schema
            )

    def arrays(self) -> dict[str, pa.ChunkedArray]:
        """Every column, finished (as :meth:`frame` converts them)."""
        return {name: self.data.column(name, declared, self._label(name)) for name, declared in self.columns.items()}

    def frame(self) -> pd.DataFrame:
        """The finished DataFrame."""
        return arrow_frame(self.arrays(), indexed=self.kind == "table")


def with_inferred(columns: Iterable[str], types: Mapping[str, pa.DataType | None]) -> dict[str, pa.DataType | None]:
    """``types`` followed by every other column of ``columns`` (inferred), in order."""
    return {**types, **{name: None for name in columns if name not in types}}


def _nan_kept(values: pd.Series) -> pa.Array | None:
    """An object column as Arrow with NaN inside its lists and objects kept; None if Arrow cannot take it so.

    pandas' conversion takes any NaN for a missing value, but a NaN in a list is
    a value a server sent; only a NaN in place of a whole value is missing (as
    pandas puts there when reindexing).
    """
    try:
        return pa.array([None if _missing(v) else v for v in values], from_pandas=False)
    except (pa.ArrowException, TypeError, ValueError):
        return None


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)
