"""LinkedFrames <-> a folder of Parquet tables with a manifest.

A snapshot folder holds one folder per table and a ``manifest.json``::

    2026-11-21/
      manifest.json                   format, versions, server, portal, times, queries, tables
      session/part-0.parquet          a model table: ``id`` first, then its columns
      session.projects/part-0.parquet   a link table: session_id, project_id, position
      session.download_links/part-0.parquet  a child table

Each table's folder is a dataset any engine opens by name (DuckDB, polars,
pyarrow.dataset, pandas, Dask, Spark); a large table spans several
``part-N.parquet`` files. A JSON object's keys are the fields of one struct
column (``extra_fields.trials`` is struct access in every engine), no column name
needs quoting, and each file carries pandas' schema metadata, so
``pd.read_parquet`` gives LinkedFrames' dtypes (:mod:`~brainstem_pandas.snapshot.columns`).
Each file also carries its provenance in its Parquet key-value metadata under
``brainstem_pandas``. :func:`read_snapshot` checks every file against the
manifest (size, rows, sha256) and gives back the same :class:`LinkedFrames` as
the read that produced it, dtypes included. Snapshots of format version 1 (one
flat file per table) still read; :func:`convert_snapshot` rewrites them.

Writing streams: the frames builder spills each converted batch to a scratch
folder, and at the end each table is written batch by batch as row groups in
its final types, so memory never holds a whole table. Everything is written in
a hidden sibling folder and renamed into place only when complete, so an
interrupted snapshot (exception, Ctrl-C, kill) never replaces or damages the
previous one.

Nothing that is not a snapshot is ever replaced: the target must be missing, an
empty folder, or a snapshot (a valid manifest and only the files it names). A
symlink at the target is followed and keeps working. Table names come from
server data, so each table's folder name is made safe for any file system
(``files``); the manifest maps table names to folders and files and is read as
untrusted input, bounded and confined to the snapshot (``manifest``).

Comparing two snapshots is :func:`brainstem_pandas.diff.diff_snapshots`.
"""

from __future__ import annotations

from brainstem_pandas.snapshot import columns, files
from brainstem_pandas.snapshot.files import MANIFEST, folder_name, part_name, sha256
from brainstem_pandas.snapshot.manifest import FORMAT, FORMAT_VERSION, read_manifest
from brainstem_pandas.snapshot.read import read_snapshot, read_table
from brainstem_pandas.snapshot.write import (
    METADATA_KEY,
    SnapshotWriter,
    column_types,
    convert_snapshot,
    public_url,
    write_frames,
)

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST",
    "METADATA_KEY",
    "SnapshotWriter",
    "column_types",
    "columns",
    "convert_snapshot",
    "files",
    "folder_name",
    "part_name",
    "public_url",
    "read_manifest",
    "read_snapshot",
    "read_table",
    "sha256",
    "write_frames",
]
