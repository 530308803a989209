"""A throwaway PostgreSQL server for one sandbox: Debian's binaries, a private folder and socket.

:class:`PostgresServer` runs ``initdb`` and ``postgres`` from
``/usr/lib/postgresql/*/bin`` (the newest version found) in a temporary folder,
listening only on a unix socket inside that folder (no TCP port at all), and
removes everything on :meth:`~PostgresServer.stop`. As pytest-postgresql does, the
server belongs to the process that started it:

- ``stop()`` runs at interpreter exit too (``atexit``);
- the postmaster gets a parent-death signal (``setpriv --pdeathsig``), so it shuts
  down even when its parent is killed outright (the signal follows the thread that
  started it: start it from a thread that lives as long as the server);
- folders left by a killed parent are swept by the next start (their postmaster
  is gone, or is stopped first).

PostgreSQL refuses to run as root, so a root parent runs it as ``nobody``.

The cluster is created with ``--locale=C.UTF-8`` (glibc's, present on every Debian):
text sorts by code point (the ``C`` rules, deterministic whatever the machine's
locales), while ``UPPER()`` and ``LOWER()`` fold every Unicode letter, one
character at a time (``towupper``), which is what the ``i...`` filters compare.

This module imports no Django.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from brainstem_pandas.sandbox.processes import end_process

DATABASE = "brainstem"
USER = "bsp"
LOCALE = "C.UTF-8"
PREFIX = "bsp-pg-"
START_TIMEOUT = 60.0


def django_database(host: str, port: int) -> dict[str, Any]:
    """Django's ``DATABASES["default"]`` for the server whose socket is in folder ``host``.

    Examples
    --------
    >>> django_database("/tmp/bsp-pg-x/socket", 5432)["NAME"]
    'brainstem'
    """
    return {"ENGINE": "django.db.backends.postgresql", "NAME": DATABASE, "USER": USER, "HOST": host, "PORT": str(port)}


class PostgresError(RuntimeError):
    """The PostgreSQL server could not be found, initialised or started."""


def bin_dir() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` that holds ``initdb``.

    Raises
    ------
    PostgresError
        When PostgreSQL is not installed, naming the package to install.
    """
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not found:
        raise PostgresError(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); "
            "install Debian's server with `apt-get install -y postgresql`, or use database='sqlite'."
        )
    return Path(max(found, key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)).parent


def _nobody() -> tuple[int, int]:
    """The uid and primary gid of ``nobody`` (present on every Debian system)."""
    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        raise PostgresError("PostgreSQL refuses to run as root, and there is no user 'nobody' to run it as.") from None
    return entry.pw_uid, entry.pw_gid


def _as_server_user() -> list[str]:
    """The command prefix that runs the server as an unprivileged user (root only)."""
    if os.geteuid() != 0:
        return ["setpriv", "--pdeathsig", "SIGQUIT"]
    uid, gid = _nobody()  # setpriv is in util-linux, essential on Debian
    return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--pdeathsig", "SIGQUIT"]


def _give_away(path: Path) -> None:
    """Let the server user own ``path`` (a root parent runs the server as nobody)."""
    if os.geteuid() == 0:
        os.chown(path, *_nobody())


def base_dir() -> str:
    """Where the server folders go: the temporary folder, or ``/tmp`` when that one will not do.

    The server user (``nobody`` under root) must be able to reach its folder, and a
    unix socket's path must stay short (about 100 bytes), so a private or deep
    ``TMPDIR`` falls back to ``/tmp``.
    """
    base = Path(tempfile.gettempdir()).resolve()
    reachable = os.geteuid() != 0 or all(p.stat().st_mode & 0o001 for p in [base, *base.parents])
    return str(base) if reachable and len(str(base)) <= 60 else "/tmp"


def _is_postmaster(pid: int) -> bool:
    # A pid from a stale postmaster.pid may belong to another process by now.
    try:
        return b"postgres" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale(base: str | None = None) -> int:
    """Remove the folders of servers whose parent process is gone; return how many.

    Each folder holds ``owner.pid`` (the parent's pid). A folder whose parent died
    without stopping its server (killed outright) is stopped and removed here.

    Examples
    --------
    >>> sweep_stale(tempfile.mkdtemp())
    0
    """
    removed = 0
    for folder in Path(base or base_dir()).glob(PREFIX + "*"):
        try:
            owner = int((folder / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        if _alive(owner):
            continue
        try:
            pid = int((folder / "data" / "postmaster.pid").read_text().split()[0])
            if _is_postmaster(pid):
                os.kill(pid, signal.SIGQUIT)  # immediate shutdown: the data is thrown away
        except (OSError, ValueError, IndexError):
            pass
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    return removed


class PostgresServer:
    """One PostgreSQL cluster and server in a temporary folder, reached by a private unix socket.

    Attributes
    ----------
    socket_dir : str
        The folder holding the server's socket (Django's ``HOST``).
    port : int
        The socket's number (``.s.PGSQL.<port>``; no TCP port is opened).

    Examples
    --------
    >>> server = PostgresServer()
    >>> server.settings()["ENGINE"]
    'django.db.backends.postgresql'
    """

    def __init__(self) -> None:
        self.folder: Path | None = None
        self.socket_dir = ""
        self.port = 5432
        self._proc: subprocess.Popen | None = None

    def settings(self) -> dict[str, Any]:
        """Django's ``DATABASES["default"]`` for this server."""
        return django_database(self.socket_dir, self.port)

    def _run(self, args: list[str], what: str) -> None:
        proc = subprocess.run(_as_server_user() + args, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise PostgresError(f"{what} failed ({proc.returncode}):\n{(proc.stdout + proc.stderr)[-3000:]}")

    def start(self) -> "PostgresServer":
        """Initialise the cluster, start the server, create the database; wait until it answers."""
        if self._proc is not None:
            return self
        binaries = bin_dir()
        sweep_stale()
        self.folder = Path(tempfile.mkdtemp(prefix=PREFIX, dir=base_dir()))
        (self.folder / "owner.pid").write_text(str(os.getpid()))
        atexit.register(self.stop)
        try:
            self._start(binaries)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, binaries: Path) -> None:
        assert self.folder is not None
        data, sock = self.folder / "data", self.folder / "socket"
        sock.mkdir()
        for path in (self.folder, sock):
            path.chmod(0o700)
            _give_away(path)
        self.socket_dir = str(sock)
        self._run(
            [str(binaries / "initdb"), "-D", str(data), "-U", USER, "--auth=trust", "--encoding=UTF8"]
            + [f"--locale={LOCALE}", "--no-sync"],
            "initdb",
        )
        log = open(self.folder / "server.log", "w")
        options = ["-c", "listen_addresses=", "-c", "fsync=off", "-c", "full_page_writes=off"]
        options += ["-c", "synchronous_commit=off", "-c", "max_connections=100"]
        self._proc = subprocess.Popen(
            _as_server_user()
            + [str(binaries / "postgres"), "-D", str(data), "-k", str(sock)]
            + ["-p", str(self.port)]
            + options,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        self._wait_ready(binaries)
        self._run(
            [str(binaries / "createdb"), "-h", str(sock), "-p", str(self.port), "-U", USER]
            + ["-T", "template0", "-E", "UTF8", f"--locale={LOCALE}", DATABASE],
            "createdb",
        )

    def _wait_ready(self, binaries: Path) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise PostgresError(f"postgres exited with {self._proc.returncode}:\n{self.log[-3000:]}")
            ready = subprocess.run(
                [str(binaries / "pg_isready"), "-q", "-h", self.socket_dir, "-p", str(self.port)],
                capture_output=True,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise PostgresError(f"postgres did not start within {START_TIMEOUT:.0f} s:\n{self.log[-3000:]}")

    @property
    def log(self) -> str:
        """The server's log so far."""
        path = self.folder / "server.log" if self.folder else None
        return path.read_text(errors="replace") if path and path.exists() else ""

    def stop(self) -> None:
        """Stop the server (fast shutdown, then kill) and remove its folder."""
        proc, self._proc = self._proc, None
        # SIGINT is the postmaster's fast shutdown: it disconnects the clients.
        end_process(proc, lambda p: p.send_signal(signal.SIGINT), timeout=15)
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
        atexit.unregister(self.stop)
