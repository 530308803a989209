"""Writing a snapshot: a builder spilling to scratch files, then Parquet, a manifest, a rename."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit, urlunsplit

import pyarrow as pa
import pyarrow.parquet as pq

from brainstem_pandas._version import __version__
from brainstem_pandas.errors import BrainstemError
from brainstem_pandas.frames import CastFailed, FrameBuilder, Layout, LinkedFrames, Plan, Relation, arrow_frame
from brainstem_pandas.frames.layout import INDEX, split_table_name
from brainstem_pandas.snapshot import columns, files
from brainstem_pandas.snapshot.files import MANIFEST, folder_name, fsync, os_problem, part_name, sha256
from brainstem_pandas.snapshot.manifest import FORMAT, FORMAT_VERSION, load_manifest
from brainstem_pandas.snapshot.read import read_snapshot

METADATA_KEY = b"brainstem_pandas"
ROWS_PER_FILE = 1_000_000
"""Rows in one Parquet file of a table at most (batches are never split): a larger table spans several files."""
_SCRATCH = ".spill"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def public_url(url: str) -> str:
    """``url`` without credentials, query or fragment (what a manifest may show).

    Examples
    --------
    >>> public_url("https://me:secret@www.brainstem.org/api/?token=x")
    'https://www.brainstem.org/api/'
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class SnapshotWriter:
    """Writes one snapshot: a builder spilling to scratch files, then Parquet, a manifest, a rename.

    Use as a context manager: leaving it with an exception removes everything
    written, and nothing at ``path`` changes until :meth:`commit`. ``path`` must
    be missing, an empty folder or a snapshot (nothing else is ever replaced);
    a symlink there is followed and keeps working. An OS error (disk full, no
    permission, ...) leaving the block becomes a :class:`SnapshotError`.

    Examples
    --------
    >>> with SnapshotWriter(tmp / "snap", server=sandbox.url, portal="private", primary="session") as w:
    ...     w.builder.add_records("session", [{"id": "s1", "name": "first"}, {"id": "s2", "name": "second"}])
    ...     manifest = w.commit()
    >>> manifest["tables"]["session"]["rows"], (tmp / "snap" / "session" / "part-0.parquet").is_file()
    (2, True)
    """

    def __init__(self, path: str | os.PathLike, *, server: str, portal: str, primary: str) -> None:
        self.given = path
        self.server, self.portal, self.primary = public_url(server), portal, primary
        self.queries: dict[str, dict[str, Any]] = {}
        self.skipped: dict[str, str] = {}
        self.started = _now()
        try:  # a name too long, a folder we may not list or create in: an OSError anywhere here
            self.path = files.resolve_target(path)
            files.check_target(self.path, path, load_manifest)
            self.tmp = files.partial_name(self.path)
            files.clean_stale(self.path)
            self.tmp.mkdir(parents=True)
        except OSError as exc:
            raise os_problem(exc, Path(path)) from None
        self.builder = FrameBuilder(primary, spill=self.tmp / _SCRATCH)

    def __enter__(self) -> "SnapshotWriter":
        return self

    def __exit__(self, kind: Any, exc: BaseException | None, trace: Any) -> None:
        self.abort()  # after a commit the folder has moved into place and nothing is left to remove
        if exc is not None and not isinstance(exc, BrainstemError) and files.is_disk_problem(exc):
            raise os_problem(exc, Path(self.given)) from exc  # type: ignore[arg-type]

    def abort(self) -> None:
        """Remove everything written so far (the previous snapshot at ``path`` is untouched)."""
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _header(self) -> dict[str, Any]:
        """What the manifest and every file's metadata begin with."""
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "package_version": __version__,
            "server": self.server,
            "portal": self.portal,
            "started": self.started,
        }

    def _provenance(self, layout: Layout) -> dict[str, Any]:
        model, _ = split_table_name(layout.name)
        return {**self._header(), "table": layout.name, "kind": layout.kind, "query": self.queries.get(model)}

    def _write_table(self, layout: Layout, name: str) -> dict[str, Any]:
        plans = layout.plans()
        while True:
            try:
                return self._write_parts(layout, name, plans)
            except CastFailed as failed:  # a text value that is no date after all: the column stays text
                column = next(n for n, p in plans.items() if p.label == failed.column)
                plans[column] = plans[column].fallback()

    def _write_parts(self, layout: Layout, name: str, plans: dict[str, Plan]) -> dict[str, Any]:
        """One table's folder of Parquet files, in the file scheme of :mod:`~brainstem_pandas.snapshot.columns`."""
        flat = pa.schema([(column, plan.target) for column, plan in plans.items()])
        where = columns.paths(flat.names)
        schema = columns.file_schema(flat, where)
        provenance = {**self._provenance(layout), "columns": {n: list(p) for n, p in where.items()}}
        schema = schema.with_metadata(
            {METADATA_KEY: json.dumps(provenance).encode(), b"pandas": columns.pandas_metadata(schema)}
        )
        folder = self.tmp / name
        if folder.exists():  # what a first try wrote before a column fell back to text
            shutil.rmtree(folder)
        folder.mkdir()
        with _Parts(folder, schema) as parts:
            for batch in layout.batches(plans):
                if batch.num_rows:
                    parts.write(columns.file_batch(batch, schema, where))
        fsync(folder)
        return {
            "folder": name,
            "kind": layout.kind,
            "rows": sum(part["rows"] for part in parts.done),
            "bytes": sum(part["bytes"] for part in parts.done),
            "files": parts.done,
            "columns": column_types(flat, indexed=layout.kind == "table", paths=where),
        }

    def _write_tables(self, layouts: Iterable[Layout]) -> dict[str, Any]:
        tables: dict[str, Any] = {}
        taken = {MANIFEST}
        for layout in layouts:
            name = folder_name(layout.name)
            while name.lower() in taken:  # two hashed names alike (or alike but for case): never one folder
                name = folder_name(f"{layout.name}\0{len(taken)}")
            taken.add(name.lower())
            tables[layout.name] = self._write_table(layout, name)
        return tables

    def commit(
        self, layouts: Iterable[Layout] | None = None, relations: Mapping[str, Relation] | None = None
    ) -> dict[str, Any]:
        """Write every table and the manifest, and move the snapshot into place; return the manifest.

        The tables are the builder's unless ``layouts`` (and their ``relations``) are given.

        Raises
        ------
        SnapshotError
            An OS error (disk full, no permission, ...): nothing at ``path`` changed.
        """
        if layouts is None:
            relations, layouts = self.builder.relation_map(), self.builder.layouts()
        try:
            tables = self._write_tables(layouts)
            shutil.rmtree(self.tmp / _SCRATCH, ignore_errors=True)
            manifest = {
                **self._header(),
                "finished": _now(),
                "primary": self.primary,
                "queries": self.queries,
                "skipped": self.skipped,
                "scheme": columns.SCHEME,
                "tables": tables,
                "relations": [asdict(r) for r in (relations or {}).values()],
            }
            with open(self.tmp / MANIFEST, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(manifest, indent=2) + "\n")
            fsync(self.tmp / MANIFEST)
            fsync(self.tmp)
            # Checked again: files saved into the target while the snapshot was fetched are not ours.
            own = files.check_target(self.path, self.given, load_manifest)
            files.place(self.tmp, self.path, own)
        except OSError as exc:
            self.abort()
            raise os_problem(exc, Path(self.given)) from None
        return manifest


def column_types(
    schema: pa.Schema, indexed: bool, paths: Mapping[str, tuple[str, ...]] | None = None
) -> list[dict[str, Any]]:
    """Each flat column's name, Arrow type, pandas dtype (as :func:`read_snapshot` gives it) and path in the files."""
    empty = arrow_frame({f.name: pa.chunked_array([], type=f.type) for f in schema}, indexed=indexed)
    dtypes = {INDEX: str(empty.index.dtype)} if indexed else {}
    dtypes.update({str(name): str(dtype) for name, dtype in empty.dtypes.items()})
    listed: list[dict[str, Any]] = []
    for f in schema:
        listed.append({"name": f.name, "arrow": str(f.type), "dtype": dtypes[f.name]})
        if paths is not None:
            listed[-1]["path"] = list(paths[f.name])
            listed[-1].update(columns.encoding(f.type))
    return listed


class _Parts:
    """A table's Parquet files in its folder: a new file begun once one holds :data:`ROWS_PER_FILE` rows.

    Each batch is one row group. A table with no rows still has one file, so
    every engine finds its columns.
    """

    def __init__(self, folder: Path, schema: pa.Schema) -> None:
        self.folder, self.schema = folder, schema
        self.done: list[dict[str, Any]] = []
        self.writer: pq.ParquetWriter | None = None
        self.file = folder / part_name(0)
        self.rows = 0

    def __enter__(self) -> "_Parts":
        return self

    def __exit__(self, kind: Any, exc: BaseException | None, trace: Any) -> None:
        if exc is not None:
            if self.writer is not None:
                self.writer.close()
            return
        if self.writer is None:
            self._begin()
        self._end()

    def _begin(self) -> None:
        self._end()
        self.file = self.folder / part_name(len(self.done))
        # No ARROW:schema copy (the Parquet types say it all, and it would repeat the metadata in base64):
        # the metadata goes in the footer once, as plain key-value pairs.
        self.writer = pq.ParquetWriter(self.file, self.schema.remove_metadata(), compression="zstd", store_schema=False)
        self.writer.add_key_value_metadata(self.schema.metadata)
        self.rows = 0

    def _end(self) -> None:
        if self.writer is None:
            return
        self.writer.close()
        self.writer = None
        fsync(self.file)
        size, digest = self.file.stat().st_size, sha256(self.file)
        self.done.append({"file": self.file.name, "rows": self.rows, "bytes": size, "sha256": digest})

    def write(self, batch: pa.RecordBatch) -> None:
        """Write one batch as a row group, in a new file if the current one is full."""
        full = self.rows > 0 and self.rows + batch.num_rows > ROWS_PER_FILE
        if self.writer is None or full:
            self._begin()
        assert self.writer is not None
        self.writer.write_batch(batch, row_group_size=batch.num_rows)
        self.rows += batch.num_rows


def write_frames(
    frames: LinkedFrames,
    path: str | os.PathLike,
    *,
    server: str = "",
    portal: str = "",
    queries: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write LinkedFrames held in memory (e.g. filtered or edited) as a snapshot.

    Examples
    --------
    >>> from brainstem_pandas.snapshot import read_snapshot
    >>> lf = client.read_linked("session", include=["projects"])
    >>> one = lf.related("session", lf["session"].index[0])  # a session and its projects
    >>> manifest = write_frames(one, tmp / "edited", server=client.url, portal="private")
    >>> manifest["tables"]["session"]["rows"], read_snapshot(tmp / "edited").primary
    (1, 'session')
    """
    with SnapshotWriter(path, server=server, portal=portal, primary=frames.primary) as writer:
        writer.queries.update(queries or {})
        return writer.commit(*_layouts(frames))


def convert_snapshot(source: str | os.PathLike, target: str | os.PathLike | None = None) -> dict[str, Any]:
    """Rewrite a snapshot (e.g. one of format version 1) in the current format; ``target`` defaults to ``source``.

    Every file is verified first; the server, portal, queries, skipped models and
    start time are kept. Replacing ``source`` in place is atomic, as any snapshot.

    Examples
    --------
    >>> _ = client.snapshot(tmp / "old", models=["project"])
    >>> convert_snapshot(tmp / "old", tmp / "new")["format_version"] == FORMAT_VERSION
    True
    """
    frames = read_snapshot(source)
    old = frames.manifest or {}
    path = source if target is None else target
    with SnapshotWriter(path, server=old.get("server", ""), portal=old.get("portal", ""), primary=frames.primary) as w:
        w.queries.update(old.get("queries", {}))
        w.skipped.update(old.get("skipped", {}))
        w.started = old.get("started", w.started)
        return w.commit(*_layouts(frames))


def _layouts(frames: LinkedFrames) -> tuple[list[Layout], Mapping[str, Relation]]:
    layouts = [Layout.of_frame(name, "table", table.reset_index()) for name, table in frames.tables.items()]
    layouts += [Layout.of_frame(name, "link", table) for name, table in frames.links.items()]
    layouts += [Layout.of_frame(name, "child", table) for name, table in frames.children.items()]
    return layouts, frames.relations
