"""Reading a snapshot's ``manifest.json`` as untrusted input: bounded, shape-checked, confined.

A manifest may come from anyone (a copied folder, another tool, a damaged
disk), so before any table file is opened it is read with a size cap, parsed
with nesting errors caught, and checked field by field; and every file it
names must be a plain name that resolves inside the snapshot folder (no
``..``, no absolute path, no NUL, no symlink leading out). Any failure is a
:class:`~brainstem_pandas.errors.DamagedSnapshotError` that names the problem.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

from brainstem_pandas._version import __version__
from brainstem_pandas.errors import DamagedSnapshotError, SnapshotError
from brainstem_pandas.snapshot.files import MANIFEST, recover
from brainstem_pandas.snapshot.files import folder as as_folder

FORMAT = "brainstem-pandas-snapshot"
FORMAT_VERSION = 2
"""Version 2: one folder of ``part-N.parquet`` files per table, objects as struct columns.
Version 1 (one flat file per table) still reads; :func:`~brainstem_pandas.snapshot.convert_snapshot` rewrites it."""
READABLE = (1, 2)
MAX_MANIFEST = 64 << 20  # bytes: a manifest of thousands of tables is a few MB
KINDS = ("table", "link", "child")
_FILE_FIELDS = {"file": str, "rows": int, "bytes": int, "sha256": str}
_TABLE_FIELDS = {1: _FILE_FIELDS, 2: {"folder": str, "rows": int, "files": list, "columns": list}}
_TOP_FIELDS = {"primary": str, "server": str, "portal": str, "queries": dict, "skipped": dict, "relations": list}
_RELATION_FIELDS = ("model", "field", "target", "kind", "table", "parent_col", "child_col")


def _damaged(file: Path, what: str) -> DamagedSnapshotError:
    return DamagedSnapshotError(f"{file} is not a valid snapshot manifest: {what}. Take the snapshot again.")


def _load_json(file: Path) -> Any:
    """The manifest's JSON, read with a size cap (a huge or deeply nested file is damage, not a crash)."""
    try:
        with open(file, "rb") as handle:
            data = handle.read(MAX_MANIFEST + 1)
    except OSError as exc:
        raise DamagedSnapshotError(
            f"{file} is not readable ({exc.strerror or exc}). Take the snapshot again."
        ) from None
    if len(data) > MAX_MANIFEST:
        raise _damaged(file, f"it is larger than {MAX_MANIFEST >> 20} MB")
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise DamagedSnapshotError(
            f"{file} is not readable JSON ({str(exc)[:200]}). Take the snapshot again."
        ) from None


def _check_version(folder: Path, file: Path, manifest: Any) -> None:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise DamagedSnapshotError(
            f"{file} is not a brainstem-pandas snapshot manifest (format {str(found)[:80]!r}). "
            "Give the folder of a snapshot taken with client.snapshot(path), or take one."
        )
    version = manifest.get("format_version")
    if version not in READABLE or isinstance(version, bool):
        newer = isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION
        raise DamagedSnapshotError(
            f"{folder} has snapshot format version {str(version)[:40]}; this package (brainstem-pandas "
            f"{__version__}) reads versions {', '.join(map(str, READABLE))}. "
            + ("Upgrade brainstem-pandas to read it." if newer else "Take the snapshot again.")
        )


def safe_file(folder: Path, name: Any, where: str) -> Path:
    """``folder / name`` if ``name`` is a plain file or folder name inside ``folder`` (symlinks resolved)."""
    bad = (
        not isinstance(name, str)
        or not name
        or name in (".", "..", MANIFEST)
        or any(c in name for c in "/\\\0")
        or os.path.isabs(name)
        or name != name.strip()
    )
    if not bad:
        real = (folder / name).resolve()
        bad = real.parent != folder.resolve()
    if bad:
        raise DamagedSnapshotError(
            f"The snapshot's {MANIFEST} names the file {str(name)[:100]!r} for {where}, which is not a file inside "
            f"{folder}; the manifest was altered or damaged. Nothing was read. Take the snapshot again."
        )
    return folder / name


def _check_entry(file: Path, where: str, entry: Any, fields: Mapping[str, type]) -> None:
    if not isinstance(entry, dict):
        raise _damaged(file, f"the entry of {where} is not an object")
    for key, kind in fields.items():
        value = entry.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise _damaged(file, f"{where} has no valid {key!r}")


def _check_columns(file: Path, where: str, columns: list[Any]) -> None:
    for column in columns:
        path = column.get("path") if isinstance(column, dict) else None
        if not (
            isinstance(column, dict)
            and isinstance(column.get("name"), str)
            and isinstance(path, list)
            and len(path) in (1, 2)
            and all(isinstance(p, str) and p for p in path)
        ):
            raise _damaged(file, f"{where} has a column that is not a name and a path")


def _check_parts(folder: Path, file: Path, where: str, entry: Mapping[str, Any]) -> None:
    """A version-2 table: a folder inside the snapshot, holding the files listed, no two alike."""
    inner = safe_file(folder, entry["folder"], where)
    if not entry["files"]:
        raise _damaged(file, f"{where} lists no files")
    names: set[str] = set()
    for part in entry["files"]:
        _check_entry(file, f"a file of {where}", part, _FILE_FIELDS)
        safe_file(inner, part["file"], where)
        if part["file"].lower() in names:
            raise _damaged(file, f"{where} lists the file {part['file'][:100]!r} twice")
        names.add(part["file"].lower())
    _check_columns(file, where, entry["columns"])


def _check_tables(folder: Path, file: Path, tables: Any, version: int) -> None:
    if not isinstance(tables, dict):
        raise _damaged(file, "it lists no tables")
    places: set[str] = set()
    for name, entry in tables.items():
        where = f"table {name[:100]!r}"
        _check_entry(file, where, entry, _TABLE_FIELDS[version])
        if entry.get("kind", "table") not in KINDS:
            raise _damaged(file, f"{where} has an unknown kind")
        if version == 1:
            safe_file(folder, entry["file"], where)
        else:
            _check_parts(folder, file, where, entry)
        place = entry["file" if version == 1 else "folder"]
        if place.lower() in places:
            raise _damaged(file, f"two tables share the {'file' if version == 1 else 'folder'} {place[:100]!r}")
        places.add(place.lower())


def _check_fields(file: Path, manifest: Mapping[str, Any]) -> None:
    for key, kind in _TOP_FIELDS.items():
        if key in manifest and not isinstance(manifest[key], kind):
            raise _damaged(file, f"{key!r} is not a {kind.__name__}")
    for relation in manifest.get("relations", []):
        if not isinstance(relation, dict) or set(relation) - set(_RELATION_FIELDS):
            raise _damaged(file, "a relation is not an object of the known fields")
        if not all(isinstance(relation.get(k), str) for k in _RELATION_FIELDS[:4]) or not all(
            relation.get(k) is None or isinstance(relation[k], str) for k in _RELATION_FIELDS[4:]
        ):
            raise _damaged(file, "a relation has a field of the wrong type")


def load_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of the existing folder ``folder``, fully checked; DamagedSnapshotError otherwise."""
    file = folder / MANIFEST
    if file.is_symlink() or not file.is_file():
        raise DamagedSnapshotError(
            f"{folder} has no {MANIFEST}, so it is not a complete snapshot. Give the folder of a snapshot "
            "taken with client.snapshot(path) (other Parquet files open with pandas.read_parquet), "
            "or take the snapshot again."
        )
    manifest = _load_json(file)
    _check_version(folder, file, manifest)
    _check_tables(folder, file, manifest.get("tables"), manifest["format_version"])
    _check_fields(file, manifest)
    return manifest


def read_manifest(path: str | os.PathLike) -> dict[str, Any]:
    """A snapshot's manifest, checked for format, version, shape and the files it names.

    Raises
    ------
    SnapshotError
        No snapshot at ``path``.
    DamagedSnapshotError
        No readable manifest, an unknown format or version, a malformed manifest,
        or a file named outside the snapshot folder.

    Examples
    --------
    >>> _ = client.snapshot(tmp / "snap", models=["project"])
    >>> read_manifest(tmp / "snap")["tables"]["project"]["folder"]
    'project'
    """
    folder = as_folder(path)
    recover(folder)
    if not folder.exists():
        raise SnapshotError(
            f"No snapshot at {folder}: the folder does not exist. Take one with "
            "client.snapshot(path) or `brainstem-pandas snapshot PATH`."
        )
    if not folder.is_dir():
        raise SnapshotError(
            f"{folder} is a file, not a snapshot folder; give the snapshot folder (the one holding {MANIFEST})."
        )
    return load_manifest(folder)
