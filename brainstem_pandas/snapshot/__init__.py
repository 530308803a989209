"""LinkedFrames <-> a folder of Parquet files with a manifest.

A snapshot folder holds one Parquet file per table and a ``manifest.json``::

    2026-11-21/
      manifest.json                 format, versions, server, portal, times, queries, tables
      session.parquet               a model table: ``id`` first, then its columns
      session.projects.parquet      a link table: session_id, project_id, position
      session.download_links.parquet  a child table

Any Parquet reader opens the files as they are (DuckDB, Dask, Spark, R, pyarrow);
each file also carries its provenance in its Parquet key-value metadata under
``brainstem_pandas``. :func:`read_snapshot` checks every file against the
manifest (size, rows, sha256) and gives back the same :class:`LinkedFrames` as
the read that produced it, dtypes included.

Writing streams: the frames builder spills each converted batch to a scratch
folder, and at the end each table is written batch by batch as row groups in
its final types, so memory never holds a whole table. Everything is written in
a hidden sibling folder and renamed into place only when complete, so an
interrupted snapshot (exception, Ctrl-C, kill) never replaces or damages the
previous one.

Nothing that is not a snapshot is ever replaced: the target must be missing, an
empty folder, or a snapshot (a valid manifest and only the files it names). A
symlink at the target is followed and keeps working. Table names come from
server data, so each table's file name is made safe for any file system
(``files``); the manifest maps table names to file names and is read as
untrusted input, bounded and confined to the folder (``manifest``).

Comparing two snapshots is :func:`brainstem_pandas.diff.diff_snapshots`.
"""

from __future__ import annotations

from brainstem_pandas.snapshot import files
from brainstem_pandas.snapshot.files import MANIFEST, file_name, sha256
from brainstem_pandas.snapshot.manifest import FORMAT, FORMAT_VERSION, read_manifest
from brainstem_pandas.snapshot.read import read_snapshot, read_table
from brainstem_pandas.snapshot.write import METADATA_KEY, SnapshotWriter, column_types, public_url, write_frames

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST",
    "METADATA_KEY",
    "SnapshotWriter",
    "column_types",
    "file_name",
    "files",
    "public_url",
    "read_manifest",
    "read_snapshot",
    "read_table",
    "sha256",
    "write_frames",
]
