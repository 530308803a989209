"""The token cache file the official BrainSTEM tools share, read and written without following links."""

from __future__ import annotations

import errno
import os
import stat
import warnings
from pathlib import Path

from brainstem_pandas.errors import ConfigurationError
from brainstem_pandas.transport.secret import Secret


def token_file() -> Path:
    """The token cache file shared with the official BrainSTEM tools."""
    return Path.home() / ".config" / "brainstem" / "token"


def load_cached_token(path: Path | None = None) -> Secret | None:
    """The cached token, or None when there is none.

    The file is opened without following a symbolic link (a link planted there could point
    the toolkit at another file), and a file that group or others may read is narrowed to
    0600, with a warning.

    Raises
    ------
    ConfigurationError
        When the cache file is a symbolic link.
    """
    path = path or token_file()
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except (FileNotFoundError, IsADirectoryError, PermissionError, NotADirectoryError):
        return None
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            return None
        refused = True
    else:
        refused = False
    if refused:
        raise ConfigurationError(
            f"The token cache {path} is a symbolic link, so it is not read (it could point anywhere). "
            "Delete the link and sign in again (bsp.login()), or pass token=... / token_path=..."
        )
    with os.fdopen(fd, "r") as fh:
        _narrow(fh.fileno(), path)
        return Secret.of(fh.read().strip()) or None


def _narrow(fd: int, path: Path) -> None:
    """Make the open token cache ``fd`` readable by its owner only, warning when it was not."""
    mode = os.fstat(fd).st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        try:
            os.fchmod(fd, stat.S_IRUSR | stat.S_IWUSR)
        except OSError:
            pass  # not ours to change (another user's file): the warning still says so
        warnings.warn(
            f"The token cache {path} was readable by others (mode {oct(mode & 0o777)}); it is now 0600. "
            "If others could read it, revoke that token on the server and sign in again.",
            UserWarning,
            stacklevel=3,
        )


def save_token(token: str | Secret, path: Path | None = None) -> Path:
    """Write ``token`` to the cache file: file 0600, its folder 0700, never world-readable.

    The folder is locked (0700) when it is the official ``~/.config/brainstem``
    or is created here; an existing folder chosen through ``path`` (a project
    folder, ``/tmp``) keeps its mode, since other people may rely on it.

    Examples
    --------
    >>> oct(save_token("abc", tmp / "token").stat().st_mode & 0o777)
    '0o600'
    """
    path = path or token_file()
    folder = path.parent
    if path == token_file() or not folder.exists():
        # Every folder created on the way (e.g. ~/.config) is private too: mkdir(parents=True)
        # would give the parents the umask's mode, which may let others in.
        for missing in reversed([p for p in (folder, *folder.parents) if not p.exists()]):
            missing.mkdir(mode=stat.S_IRWXU, exist_ok=True)
            missing.chmod(stat.S_IRWXU)  # mkdir's mode is masked by the umask
        folder.chmod(stat.S_IRWXU)
    # Create with 0600, and narrow a file that exists with wider modes before
    # writing: no moment where the token is readable by others.
    # Never through a symbolic link: a link planted there would receive the token.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        fd = -1
    if fd < 0:
        raise ConfigurationError(
            f"The token cache {path} is a symbolic link, so the token is not written through it. "
            "Delete the link, or pass another token_path=..."
        )
    os.fchmod(fd, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "w") as fh:
        fh.write(Secret(token).reveal())
    return path


def logout(path: Path | None = None) -> bool:
    """Remove the cached token; True if there was one."""
    path = path or token_file()
    try:
        path.unlink()
        return True
    except FileNotFoundError:
        return False
