"""A snapshot's files on disk: safe file names, the target check, OS errors, atomic placement.

Table names come from server data (model names, field names, and the keys of
JSON fields the catalog does not know), so a table's folder name is never the table name
as it is unless that name is plainly safe: lowercase letters, digits and ``_``,
at most one ``.``, short, and no reserved device name. Any other table gets a
readable sanitized stem and a short hash of its exact name, so two tables never
share a file on any common file system (case-insensitive ones included); the
manifest maps each table name to its file.

A snapshot only ever replaces a folder that is empty or a snapshot (a valid
manifest and nothing but the files it names), and every OS error while writing
becomes a :class:`~brainstem_pandas.errors.SnapshotError` that says what to do.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import hashlib
import os
import re
import secrets
import shutil
import warnings
from pathlib import Path

from brainstem_pandas.errors import ConfigurationError, DamagedSnapshotError, SnapshotError

MANIFEST = "manifest.json"
_PARTIAL = re.compile(r"^\.(?P<name>.+)\.(?:partial|previous)-(?P<pid>\d+)-[0-9a-f]+$")
_PLAIN = re.compile(r"^[a-z0-9_]+(?:\.[a-z0-9_]+)?$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# Device names Windows reserves in any case and with any extension.
_RESERVED = {"con", "prn", "aux", "nul", *(f"{d}{i}" for d in ("com", "lpt") for i in range(10))}
_STEM = 80  # characters of readable stem: the whole name stays far below the usual 255-byte limit


def folder_name(table: str) -> str:
    """The folder of ``table``'s files: the name itself when plainly safe, else a safe stem and a hash.

    Examples
    --------
    >>> folder_name("session"), folder_name("session.download_links")
    ('session', 'session.download_links')
    >>> folder_name("session.../x"), folder_name("session.CON")
    ('session._x-5def58df44', 'session.con-110ce7029e')
    """
    if _PLAIN.match(table) and len(table) <= _STEM and table.split(".")[-1] not in _RESERVED:
        if table.split(".")[0] not in _RESERVED:
            return table
    stem = _UNSAFE.sub("_", table).lower()
    stem = re.sub(r"\.{2,}", ".", stem).strip("._-")[:_STEM] or "table"
    digest = hashlib.sha256(table.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{stem}-{digest}"


def part_name(number: int) -> str:
    """The name of a table's ``number``-th file in its folder.

    Examples
    --------
    >>> part_name(0)
    'part-0.parquet'
    """
    return f"part-{number}.parquet"


def sha256(path: Path) -> str:
    """The hex SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fsync(path: Path) -> None:
    """Flush a file or folder to disk (what makes a rename durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- OS errors ------------------------------------------------------------------------

_ADVICE = {
    errno.ENOSPC: "the disk is full: free some space, or choose a folder on another disk",
    errno.EDQUOT: "your disk quota is used up: free some space, or choose a folder on another disk",
    errno.EACCES: "permission denied: check the folder's permissions, or choose a folder you can write to",
    errno.EPERM: "not permitted: check the folder's permissions, or choose a folder you can write to",
    errno.EROFS: "the file system is read-only: choose a folder you can write to",
    errno.ENAMETOOLONG: "a file name is too long: choose a shorter path",
}
# pyarrow raises a plain OSError whose errno is unset; its message carries the system's words.
_WORDS = {
    "No space left": errno.ENOSPC,
    "quota exceeded": errno.EDQUOT,
    "Permission denied": errno.EACCES,
    "Read-only file system": errno.EROFS,
    "File name too long": errno.ENAMETOOLONG,
}


def os_problem(exc: OSError, path: Path) -> SnapshotError:
    """The :class:`SnapshotError` for an OS error while writing the snapshot ``path``: what to do."""
    code = exc.errno if exc.errno in _ADVICE else next((c for w, c in _WORDS.items() if w in str(exc)), None)
    advice = _ADVICE.get(code, f"{exc.strerror or exc}: choose another folder, or check this one")  # type: ignore[arg-type]
    return SnapshotError(
        f"Cannot write the snapshot {path}: {advice}. Nothing was changed: any previous snapshot there is intact."
    )


def is_disk_problem(exc: BaseException) -> bool:
    """Whether ``exc`` is a file-system error (not a network error, which is also an OSError)."""
    if not isinstance(exc, OSError) or type(exc).__module__.startswith(("requests", "urllib3", "socket")):
        return False
    return exc.errno in _ADVICE or exc.filename is not None or any(w in str(exc) for w in _WORDS)


# -- the target ------------------------------------------------------------------------


def folder(path: object) -> Path:
    """``path`` as a :class:`~pathlib.Path` (``~`` expanded), or a ConfigurationError for anything else.

    Examples
    --------
    >>> folder("snapshots/2026-11-21").name
    '2026-11-21'
    >>> folder(3)
    Traceback (most recent call last):
    ...
    brainstem_pandas.errors.ConfigurationError: A snapshot path must be text or a pathlib.Path, not int; ...
    """
    if isinstance(path, (str, os.PathLike)) and not isinstance(path, bytes):
        text = os.fspath(path)
        if isinstance(text, str) and text and "\x00" not in text:
            return Path(text).expanduser()
    raise ConfigurationError(
        f"A snapshot path must be text or a pathlib.Path, not {type(path).__name__}; "
        "pass a folder such as 'snapshots/2026-11-21'."
    )


def resolve_target(path: str | os.PathLike) -> Path:
    """The real folder a snapshot to ``path`` replaces: symlinks (the path's own included) followed.

    A symlink at ``path`` stays as it is and keeps pointing at the new snapshot,
    which is put in place next to the folder it points to.
    """
    given = folder(path)
    try:
        real = given.absolute().resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise SnapshotError(f"Cannot write a snapshot to {given}: {exc}. Give a plain folder path.") from None
    if real.parent == real:
        raise SnapshotError(
            f"Cannot write a snapshot to {given}: it is the root of the file system. "
            "Give a new folder, e.g. 'snapshots/2026-11-21'."
        )
    cwd = Path.cwd().resolve()
    if real == cwd or real in cwd.parents:
        raise SnapshotError(
            f"Cannot write a snapshot to {given}: it is the current folder (or holds it), which a snapshot "
            "would replace. Give a new folder inside it, e.g. 'snapshots/2026-11-21'."
        )
    return real


def own_paths(manifest: dict) -> set[str]:
    """What a snapshot's (checked) manifest names as its own: paths relative to it, folders ending in ``/``.

    Examples
    --------
    >>> sorted(own_paths({"tables": {"t": {"folder": "t", "files": [{"file": "part-0.parquet"}]}}}))
    ['manifest.json', 't/', 't/part-0.parquet']
    """
    own = {MANIFEST}
    for entry in manifest["tables"].values():
        if "folder" in entry:
            own.add(f"{entry['folder']}/")
            own.update(f"{entry['folder']}/{part['file']}" for part in entry["files"])
        else:  # format version 1: one file per table
            own.add(entry["file"])
    return own


def strangers(path: Path, own: set[str]) -> list[str]:
    """The entries of the snapshot folder ``path`` (and of its tables' folders) that ``own`` does not name."""
    out = []
    for entry in path.iterdir():
        real_folder = entry.is_dir() and not entry.is_symlink()
        if real_folder and f"{entry.name}/" in own:
            inside = (f"{entry.name}/{inner.name}" for inner in entry.iterdir())
            out += [name for name in inside if name not in own or (path / name).is_dir()]
        elif entry.is_dir() or entry.name not in own:
            out.append(entry.name)
    return sorted(out)


def check_target(path: Path, given: str | os.PathLike, load_manifest) -> set[str]:
    """Refuse ``path`` unless it is missing, an empty folder, or a snapshot holding only its own files.

    Returns the paths there that a new snapshot may remove (the old snapshot's own, see :func:`own_paths`).
    """
    if path.exists() and not path.is_dir():
        raise SnapshotError(
            f"Cannot write a snapshot to {given}: it is a file. Give a folder path "
            "(it is created), e.g. 'snapshots/2026-11-21'."
        )
    if not path.is_dir() or not any(path.iterdir()):
        return set()
    refuse = f"Cannot write a snapshot to {given}: the folder holds other files and is not a snapshot this package "
    refuse += "may replace"
    advice = "Nothing was changed. Choose an empty or new folder, or remove this one yourself if it can go."
    try:
        manifest = load_manifest(path)
    except DamagedSnapshotError:
        raise SnapshotError(f"{refuse} (it has no valid brainstem-pandas {MANIFEST}). {advice}") from None
    own = own_paths(manifest)
    others = strangers(path, own)
    if others:
        listed = ", ".join(others[:5]) + (" …" if len(others) > 5 else "")
        raise SnapshotError(f"{refuse} (its manifest does not name {listed}). {advice}")
    return own


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
    return [
        entry
        for entry, m in matches
        if m and m["name"] == path.name and not entry.is_symlink() and not _pid_alive(int(m["pid"]))
    ]


def recover(path: Path) -> None:
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


def clean_stale(path: Path) -> None:
    """Recover an interrupted replacement, then remove what killed writers left behind."""
    recover(path)
    for entry in _stale(path):
        shutil.rmtree(entry, ignore_errors=True)


def partial_name(path: Path) -> Path:
    """The hidden sibling folder a snapshot to ``path`` is written in (named with this process's id)."""
    return path.parent / f".{path.name}.partial-{os.getpid()}-{secrets.token_hex(4)}"


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


def discard(old: Path, own: set[str], path: Path) -> None:
    """Remove the previous snapshot, moved aside to ``old``: only its own files and folders.

    ``path`` was checked just before, but a file saved into it since (a notebook,
    say) is not the snapshot's: the folder is then kept, visible, with a warning.
    """
    for entry in old.iterdir():
        if f"{entry.name}/" in own and entry.is_dir() and not entry.is_symlink():
            for inner in entry.iterdir():
                if f"{entry.name}/{inner.name}" in own and (inner.is_symlink() or not inner.is_dir()):
                    inner.unlink()
            try:
                entry.rmdir()
            except OSError:
                pass  # something else was saved in it: the whole folder is kept below
        elif entry.name in own and (entry.is_symlink() or not entry.is_dir()):
            entry.unlink()
    try:
        old.rmdir()
    except OSError:
        kept = path.parent / f"{path.name}.kept-{secrets.token_hex(4)}"
        os.rename(old, kept)
        warnings.warn(
            f"Files appeared in {path} while the snapshot was written; they are kept in {kept}.", stacklevel=4
        )


def place(tmp: Path, path: Path, own: set[str]) -> None:
    """Put the finished folder ``tmp`` at ``path``, replacing the previous snapshot there (its files ``own``).

    ``path`` was checked to be missing, empty or a snapshot; on an OSError the
    previous snapshot is back at ``path`` and the error propagates.
    """
    if not path.exists():
        os.rename(tmp, path)
    elif _exchange(tmp, path):
        discard(tmp, own, path)  # the previous snapshot, now under the hidden name
    else:  # two renames: the previous one stays whole under a hidden name until the new one is in place
        previous = path.parent / f".{path.name}.previous-{os.getpid()}-{secrets.token_hex(4)}"
        os.rename(path, previous)
        try:
            os.rename(tmp, path)
        except OSError:
            os.rename(previous, path)
            raise
        discard(previous, own, path)
    fsync(path.parent)
