"""Reading a snapshot back: every file checked against the manifest, then the same LinkedFrames."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from brainstem_pandas.errors import DamagedSnapshotError, SnapshotError, close_names
from brainstem_pandas.frames import LinkedFrames, Relation, arrow_frame
from brainstem_pandas.frames.layout import table_name
from brainstem_pandas.snapshot import columns
from brainstem_pandas.snapshot.files import MANIFEST, sha256
from brainstem_pandas.snapshot.files import folder as as_folder
from brainstem_pandas.snapshot.manifest import read_manifest, safe_file


def _checked_file(folder: Path, name: str, entry: Mapping[str, Any], verify: bool, inner: Path) -> Path:
    """The file ``entry`` names in ``inner`` (the snapshot folder, or a table's folder), checked against it."""
    file = safe_file(inner, entry.get("file"), f"table {name[:100]!r}")
    shown = file.relative_to(folder)
    if not file.is_file():
        raise DamagedSnapshotError(f"Snapshot {folder} is missing {shown} (table {name!r}). Take the snapshot again.")
    if verify:
        size, digest = file.stat().st_size, sha256(file)
        if digest != entry.get("sha256") or size != entry.get("bytes"):
            raise DamagedSnapshotError(
                f"Snapshot {folder}: {shown} (table {name!r}) does not match its "
                f"checksum in {MANIFEST} (sha256 {digest[:12]}… != "
                f"{str(entry.get('sha256'))[:12]}…); it was changed or damaged. "
                "Take the snapshot again."
            )
    return file


def _parquet(folder: Path, file: Path, rows: Any) -> pa.Table:
    shown = file.relative_to(folder)
    try:
        table = pq.read_table(file)
    except (pa.ArrowException, OSError) as exc:
        raise DamagedSnapshotError(
            f"Snapshot {folder}: {shown} is not a readable Parquet file ({exc}). Take the snapshot again."
        ) from None
    if table.num_rows != rows:
        raise DamagedSnapshotError(
            f"Snapshot {folder}: {shown} has {table.num_rows} rows; the manifest says {rows}. Take the snapshot again."
        )
    return table


def _arrays(folder: Path, name: str, entry: Mapping[str, Any], verify: bool) -> dict[str, pa.ChunkedArray]:
    """A table's flat columns: its one file (format version 1) or its folder's files (version 2)."""
    if "folder" not in entry:
        table = _parquet(folder, _checked_file(folder, name, entry, verify, folder), entry.get("rows"))
        return dict(zip(table.column_names, table.columns))
    inner = safe_file(folder, entry["folder"], f"table {name[:100]!r}")
    parts = [_parquet(folder, _checked_file(folder, name, p, verify, inner), p["rows"]) for p in entry["files"]]
    if sum(part.num_rows for part in parts) != entry["rows"]:
        raise DamagedSnapshotError(
            f"Snapshot {folder}: the files of table {name!r} do not add up to the {entry['rows']} rows its "
            "manifest entry says. Take the snapshot again."
        )
    where = [(c["name"], c["path"]) for c in entry["columns"]]
    table = pa.concat_tables(parts)
    arrays = columns.flat_arrays(table, where)
    if len(set(table.column_names)) != len({p[0] for _, p in where}) or len(arrays) != len(where):
        raise KeyError("the files hold other columns than the manifest lists")
    return {c["name"]: columns.decoded(arrays[c["name"]], c) for c in entry["columns"]}


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
    folder = as_folder(path)
    manifest = manifest or read_manifest(folder)
    tables = manifest["tables"]
    if not isinstance(name, str) or name not in tables:
        close = close_names(str(name), tables)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else " Pass one of its tables."
        raise SnapshotError(f"Snapshot {folder} has no table {name!r}.{hint} It has: {', '.join(tables)}.")
    entry = tables[name]
    try:
        arrays = _arrays(folder, name, entry, verify)
        arrays = {n: columns.retyped(c) for n, c in arrays.items()}  # list items named as in memory
        return arrow_frame(arrays, indexed=entry.get("kind", "table") == "table")
    except (KeyError, ValueError, TypeError, pa.ArrowException) as exc:  # files that are not ours
        raise DamagedSnapshotError(
            f"Snapshot {folder}: the files of table {name!r} are not laid out as a snapshot table "
            f"({type(exc).__name__}: {str(exc)[:200]}). Take the snapshot again."
        ) from None


def _relations(folder: Path, listed: list[dict[str, Any]]) -> dict[str, Relation]:
    try:
        return {r.get("table") or table_name(r["model"], r["field"]): Relation(**r) for r in listed}
    except (TypeError, KeyError) as exc:
        raise DamagedSnapshotError(f"Snapshot {folder}: the relations in {MANIFEST} are malformed ({exc}).") from None


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
    SnapshotError
        No snapshot folder at ``path``.
    DamagedSnapshotError
        A missing or altered file, a malformed manifest, a file named outside the
        folder, or an unknown format version; the message names it.

    Examples
    --------
    >>> _ = client.snapshot(tmp / "2026-11-21", models=["session"])
    >>> lf = read_snapshot(tmp / "2026-11-21")
    >>> pd.api.types.is_datetime64_any_dtype(lf["session"]["date_time"]), lf.manifest["server"] == client.url
    (True, True)
    """
    folder = as_folder(path)
    manifest = read_manifest(folder)
    wanted = list(manifest["tables"]) if tables is None else [tables] if isinstance(tables, str) else list(tables)
    out: dict[str, dict[str, pd.DataFrame]] = {"table": {}, "link": {}, "child": {}}
    for name in wanted:
        frame = read_table(folder, name, verify=verify, manifest=manifest)
        out[manifest["tables"][name].get("kind", "table")][name] = frame
    return LinkedFrames(
        manifest.get("primary") or next(iter(out["table"]), ""),
        out["table"],
        out["link"],
        out["child"],
        _relations(folder, manifest.get("relations", [])),
        manifest=manifest,
    )
