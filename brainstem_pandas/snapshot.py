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

Comparing two snapshots is :func:`brainstem_pandas.diff.diff_snapshots`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import json
import os
import re
import secrets
import shutil
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from brainstem_pandas._version import __version__
from brainstem_pandas.errors import DamagedSnapshotError, SnapshotError, close_names
from brainstem_pandas.frames import CastFailed, FrameBuilder, Layout, LinkedFrames, Relation, arrow_frame
from brainstem_pandas.frames.layout import INDEX, split_table_name, table_name

FORMAT = "brainstem-pandas-snapshot"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
METADATA_KEY = b"brainstem_pandas"
_SCRATCH = ".spill"
_PARTIAL = re.compile(r"^\.(?P<name>.+)\.(?:partial|previous)-(?P<pid>\d+)-[0-9a-f]+$")


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


def _file_name(table: str) -> str:
    # Table names are model names and "<model>.<field>": safe as file names everywhere.
    return f"{table}.parquet"


def sha256(path: Path) -> str:
    """The hex SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- atomic placement ----------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, under another user
        pass
    return True


def _stale(path: Path) -> list[Path]:
    """Hidden leftovers of snapshots to ``path`` whose writing process is gone (killed)."""
    if not path.parent.is_dir():
        return []
    matches = ((entry, _PARTIAL.match(entry.name)) for entry in path.parent.iterdir())
    return [entry for entry, m in matches if m and m["name"] == path.name and not _pid_alive(int(m["pid"]))]


def _recover(path: Path) -> None:
    """Put a previous snapshot back at ``path`` if a writer was killed between its two renames.

    Only the two-rename fallback (no ``renameat2``) has that moment: the previous
    snapshot is whole under ``.NAME.previous-…`` and nothing is at ``path`` yet.
    Finishing the interrupted step here is what a journal replay does.
    """
    if path.exists() or path.is_symlink():
        return
    previous = [p for p in _stale(path) if ".previous-" in p.name and (p / MANIFEST).is_file()]
    if len(previous) == 1:
        try:
            os.rename(previous[0], path)
        except OSError:
            pass  # a folder we may not change: the caller reports the snapshot as missing


def _clean_stale(path: Path) -> None:
    """Recover an interrupted replacement, then remove what killed writers left behind."""
    _recover(path)
    for entry in _stale(path):
        shutil.rmtree(entry, ignore_errors=True)


def _check_target(path: Path) -> None:
    if path.is_file() or (path.exists() and not path.is_dir()):
        raise SnapshotError(
            f"Cannot write a snapshot to {path}: it is a file. Give a folder path "
            "(it is created), e.g. 'snapshots/2026-11-21'."
        )
    if path.is_dir() and any(path.iterdir()) and not (path / MANIFEST).is_file():
        raise SnapshotError(
            f"Cannot write a snapshot to {path}: the folder holds other files and no "
            f"{MANIFEST}, so it is not a snapshot this package may replace. Choose a new "
            "folder, or empty this one."
        )


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2``); False where unsupported."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return result == 0


def _place(tmp: Path, path: Path) -> None:
    """Put the finished folder ``tmp`` at ``path``, replacing any previous snapshot there."""
    if not path.exists():
        os.rename(tmp, path)
    elif _exchange(tmp, path):
        shutil.rmtree(tmp)  # the previous snapshot, now under the hidden name
    else:  # two renames: the previous one stays whole under a hidden name until the new one is in place
        previous = path.parent / f".{path.name}.previous-{os.getpid()}-{secrets.token_hex(4)}"
        os.rename(path, previous)
        os.rename(tmp, path)
        shutil.rmtree(previous)
    _fsync(path.parent)


# -- writing -------------------------------------------------------------------------


class SnapshotWriter:
    """Writes one snapshot: a builder spilling to scratch files, then Parquet, a manifest, a rename.

    Use as a context manager: leaving it with an exception removes everything
    written, and nothing at ``path`` changes until :meth:`commit`.

    Examples
    --------
    >>> with SnapshotWriter(tmp / "snap", server=sandbox.url, portal="private", primary="session") as w:
    ...     w.builder.add_records("session", [{"id": "s1", "name": "first"}, {"id": "s2", "name": "second"}])
    ...     manifest = w.commit()
    >>> manifest["tables"]["session"]["rows"], (tmp / "snap" / "session.parquet").is_file()
    (2, True)
    """

    def __init__(self, path: str | os.PathLike, *, server: str, portal: str, primary: str) -> None:
        self.path = Path(path).expanduser().absolute()
        _check_target(self.path)
        self.server, self.portal, self.primary = public_url(server), portal, primary
        self.queries: dict[str, dict[str, Any]] = {}
        self.skipped: dict[str, str] = {}
        self.started = _now()
        _clean_stale(self.path)
        self.tmp = self.path.parent / f".{self.path.name}.partial-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            self.tmp.mkdir(parents=True)
        except OSError as exc:
            raise SnapshotError(
                f"Cannot write a snapshot in {self.path.parent}: {exc.strerror or exc}. "
                "Choose a folder you can write to."
            ) from None
        self.builder = FrameBuilder(primary, spill=self.tmp / _SCRATCH)

    def __enter__(self) -> "SnapshotWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.abort()  # after a commit the folder has moved into place and nothing is left to remove

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

    def _write_table(self, layout: Layout) -> dict[str, Any]:
        file = self.tmp / _file_name(layout.name)
        plans = layout.plans()
        while True:
            schema = pa.schema(
                [(name, plan.target) for name, plan in plans.items()],
                metadata={METADATA_KEY: json.dumps(self._provenance(layout)).encode()},
            )
            rows = 0
            try:
                with pq.ParquetWriter(file, schema, compression="zstd") as writer:
                    for batch in layout.batches(plans):
                        if batch.num_rows:
                            writer.write_batch(batch, row_group_size=batch.num_rows)
                            rows += batch.num_rows
                break
            except CastFailed as failed:  # a text value that is no date after all: the column stays text
                name = next(n for n, p in plans.items() if p.label == failed.column)
                plans[name] = plans[name].fallback()
        _fsync(file)
        return {
            "file": file.name,
            "kind": layout.kind,
            "rows": rows,
            "columns": column_types(schema, indexed=layout.kind == "table"),
            "bytes": file.stat().st_size,
            "sha256": sha256(file),
        }

    def commit(
        self, layouts: Iterable[Layout] | None = None, relations: Mapping[str, Relation] | None = None
    ) -> dict[str, Any]:
        """Write every table and the manifest, and move the snapshot into place; return the manifest.

        The tables are the builder's unless ``layouts`` (and their ``relations``) are given.
        """
        if layouts is None:
            relations, layouts = self.builder.relation_map(), self.builder.layouts()
        tables = {layout.name: self._write_table(layout) for layout in layouts}
        shutil.rmtree(self.tmp / _SCRATCH, ignore_errors=True)
        manifest = {
            **self._header(),
            "finished": _now(),
            "primary": self.primary,
            "queries": self.queries,
            "skipped": self.skipped,
            "tables": tables,
            "relations": [asdict(r) for r in (relations or {}).values()],
        }
        (self.tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        _fsync(self.tmp / MANIFEST)
        _fsync(self.tmp)
        _place(self.tmp, self.path)
        return manifest


def column_types(schema: pa.Schema, indexed: bool) -> list[dict[str, str]]:
    """Each column's name, Arrow type and pandas dtype (as :func:`read_snapshot` gives it)."""
    empty = arrow_frame({f.name: pa.chunked_array([], type=f.type) for f in schema}, indexed=indexed)
    dtypes = {INDEX: str(empty.index.dtype)} if indexed else {}
    dtypes.update({str(name): str(dtype) for name, dtype in empty.dtypes.items()})
    return [{"name": f.name, "arrow": str(f.type), "dtype": dtypes[f.name]} for f in schema]


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
    >>> lf = client.read_linked("session", include=["projects"])
    >>> one = lf.related("session", lf["session"].index[0])  # a session and its projects
    >>> manifest = write_frames(one, tmp / "edited", server=client.url, portal="private")
    >>> manifest["tables"]["session"]["rows"], read_snapshot(tmp / "edited").primary
    (1, 'session')
    """
    with SnapshotWriter(path, server=server, portal=portal, primary=frames.primary) as writer:
        writer.queries.update(queries or {})
        layouts = [Layout.of_frame(name, "table", table.reset_index()) for name, table in frames.tables.items()]
        layouts += [Layout.of_frame(name, "link", table) for name, table in frames.links.items()]
        layouts += [Layout.of_frame(name, "child", table) for name, table in frames.children.items()]
        return writer.commit(layouts, frames.relations)


# -- reading -------------------------------------------------------------------------


def read_manifest(path: str | os.PathLike) -> dict[str, Any]:
    """A snapshot's manifest, checked for format and version.

    Raises
    ------
    SnapshotError
        No snapshot at ``path``.
    DamagedSnapshotError
        No readable manifest, or an unknown format or version.
    """
    folder = Path(path).expanduser()
    _recover(folder)
    if not folder.exists():
        raise SnapshotError(
            f"No snapshot at {folder}: the folder does not exist. Take one with "
            "client.snapshot(path) or `brainstem-pandas snapshot PATH`."
        )
    if not folder.is_dir():
        raise SnapshotError(
            f"{folder} is a file, not a snapshot folder; give the snapshot folder (the one holding {MANIFEST})."
        )
    file = folder / MANIFEST
    if not file.is_file():
        raise DamagedSnapshotError(
            f"{folder} has no {MANIFEST}, so it is not a complete snapshot. Take the snapshot again."
        )
    try:
        manifest = json.loads(file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DamagedSnapshotError(f"{file} is not readable JSON ({exc}). Take the snapshot again.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DamagedSnapshotError(
            f"{file} is not a brainstem-pandas snapshot manifest (format "
            f"{manifest.get('format') if isinstance(manifest, dict) else None!r})."
        )
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        newer = isinstance(version, int) and version > FORMAT_VERSION
        raise DamagedSnapshotError(
            f"{folder} has snapshot format version {version!r}; this package (brainstem-pandas {__version__}) "
            f"reads version {FORMAT_VERSION}. "
            + ("Upgrade brainstem-pandas to read it." if newer else "Take the snapshot again.")
        )
    if not isinstance(manifest.get("tables"), dict):
        raise DamagedSnapshotError(f"{file} lists no tables. Take the snapshot again.")
    return manifest


def _checked_file(folder: Path, name: str, entry: Mapping[str, Any], verify: bool) -> Path:
    file = folder / str(entry.get("file", ""))
    if not file.is_file():
        raise DamagedSnapshotError(
            f"Snapshot {folder} is missing {file.name} (table {name!r}). Take the snapshot again."
        )
    if verify:
        size, digest = file.stat().st_size, sha256(file)
        if digest != entry.get("sha256") or size != entry.get("bytes"):
            raise DamagedSnapshotError(
                f"Snapshot {folder}: {file.name} (table {name!r}) does not match its "
                f"checksum in {MANIFEST} (sha256 {digest[:12]}… != "
                f"{str(entry.get('sha256'))[:12]}…); it was changed or damaged. "
                "Take the snapshot again."
            )
    return file


def _normal(kind: pa.DataType) -> pa.DataType:
    # Parquet names list items "element"; frames built in memory use Arrow's "item".
    if pa.types.is_list(kind):
        return pa.list_(_normal(kind.value_type))
    return kind


def read_table(
    path: str | os.PathLike, name: str, *, verify: bool = True, manifest: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """One table of a snapshot as a DataFrame (model tables indexed by ``id``).

    Examples
    --------
    >>> _ = client.snapshot(tmp / "2026-11-21", models=["session"], include=["projects"])
    >>> read_table(tmp / "2026-11-21", "session.projects").columns.tolist()
    ['session_id', 'project_id', 'position']
    """
    folder = Path(path).expanduser()
    manifest = manifest or read_manifest(folder)
    tables = manifest["tables"]
    if name not in tables:
        close = close_names(name, tables)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else " Pass one of its tables."
        raise SnapshotError(f"Snapshot {folder} has no table {name!r}.{hint} It has: {', '.join(tables)}.")
    entry = tables[name]
    file = _checked_file(folder, name, entry, verify)
    try:
        table = pq.read_table(file)
    except (pa.ArrowException, OSError) as exc:
        raise DamagedSnapshotError(
            f"Snapshot {folder}: {file.name} is not a readable Parquet file ({exc}). Take the snapshot again."
        ) from None
    if table.num_rows != entry.get("rows"):
        raise DamagedSnapshotError(
            f"Snapshot {folder}: {file.name} has {table.num_rows} rows; the manifest "
            f"says {entry.get('rows')}. Take the snapshot again."
        )
    arrays = {
        n: c.cast(_normal(c.type)) if pa.types.is_list(c.type) else c for n, c in zip(table.column_names, table.columns)
    }
    return arrow_frame(arrays, indexed=entry.get("kind") == "table")


def read_snapshot(path: str | os.PathLike, *, tables: Iterable[str] | None = None, verify: bool = True) -> LinkedFrames:
    """A snapshot as :class:`LinkedFrames`, equal to the read that produced it (dtypes included).

    Parameters
    ----------
    path : str or Path
        The snapshot folder.
    tables : list of str, optional
        Only these tables (default: all).
    verify : bool
        Check every file's size and sha256 against the manifest first.

    Raises
    ------
    DamagedSnapshotError
        A missing or altered file, or an unknown format version; the message names it.

    Examples
    --------
    >>> _ = client.snapshot(tmp / "2026-11-21", models=["session"])
    >>> lf = read_snapshot(tmp / "2026-11-21")
    >>> pd.api.types.is_datetime64_any_dtype(lf["session"]["date_time"]), lf.manifest["server"] == client.url
    (True, True)
    """
    folder = Path(path).expanduser()
    manifest = read_manifest(folder)
    wanted = list(manifest["tables"]) if tables is None else list(tables)
    out: dict[str, dict[str, pd.DataFrame]] = {"table": {}, "link": {}, "child": {}}
    for name in wanted:
        frame = read_table(folder, name, verify=verify, manifest=manifest)
        out[manifest["tables"][name].get("kind", "table")][name] = frame
    listed = manifest.get("relations", [])
    try:
        relations = {r["table"] or table_name(r["model"], r["field"]): Relation(**r) for r in listed}
    except (TypeError, KeyError) as exc:
        raise DamagedSnapshotError(f"Snapshot {folder}: the relations in {MANIFEST} are malformed ({exc}).") from None
    return LinkedFrames(
        manifest.get("primary") or next(iter(out["table"]), ""),
        out["table"],
        out["link"],
        out["child"],
        relations,
        manifest=manifest,
    )
