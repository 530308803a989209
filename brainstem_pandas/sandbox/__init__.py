"""A local BrainSTEM-compatible server for demos, notebooks, tests and benchmarks.

>>> sandbox  # the one every doctest gets; start your own with ``with Sandbox(sessions=...) as sb:``
<Sandbox http://127.0.0.1:... sessions=300 envelope=count>
>>> sandbox.email
'demo@brainstem.sandbox'

The server is Django + Django REST framework + dynamic-rest on SQLite (with
PostgreSQL's query rules, see :mod:`.pgsqlite`) or, with ``database="postgresql"``,
on a PostgreSQL server of its own (:mod:`.postgres`), served by gunicorn on
127.0.0.1 in a child process. Seeded SQLite databases are built once and cached
(keyed by size, seed and the sandbox's own source), then copied per server; a
PostgreSQL sandbox is seeded when it starts. Every ``Sandbox`` starts from the
same data and may change it freely.

This module imports no Django: the parent process stays light.
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import requests

from brainstem_pandas.sandbox.config import ENV_VAR, SandboxConfig
from brainstem_pandas.sandbox.postgres import PostgresError, PostgresServer
from brainstem_pandas.sandbox.processes import end_process

__all__ = ["Sandbox", "SandboxError", "SandboxConfig"]

START_TIMEOUT = 120.0


class SandboxError(RuntimeError):
    """The sandbox could not be built or started; the message carries its log."""


def cache_dir() -> Path:
    """Where built databases are kept (``BSP_SANDBOX_CACHE`` overrides)."""
    env = os.environ.get("BSP_SANDBOX_CACHE")
    base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "brainstem_pandas"
    return base / "sandbox"


def _source_digest() -> str:
    # Any change to the server code or the catalog invalidates cached databases.
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    files = sorted(root.rglob("*.py")) + [root.parent / "catalog.json"]
    for path in files:
        h.update(path.relative_to(root.parent).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _child_env(config: SandboxConfig) -> dict[str, str]:
    env = dict(os.environ)
    env[ENV_VAR] = config.to_json()
    env["DJANGO_SETTINGS_MODULE"] = "brainstem_pandas.sandbox.settings"
    # The child must import this very package, also from a source checkout.
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _run_child(args: list[str], config: SandboxConfig, timeout: float) -> str:
    cmd = [sys.executable, "-m", "brainstem_pandas.sandbox.server", *args]
    proc = subprocess.run(cmd, env=_child_env(config), capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise SandboxError(f"{' '.join(args[:1])} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc.stdout


def build_database(sessions: int, seed: int) -> tuple[Path, dict[str, str]]:
    """Return a cached database for ``(sessions, seed)``, building it if needed.

    Returns
    -------
    (Path, dict)
        The database file (never served directly: copy it) and the demo account.
    """
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    key = f"sessions{sessions}-seed{seed}-{_source_digest()}"
    db, meta = folder / f"{key}.sqlite3", folder / f"{key}.json"
    with open(folder / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder per key, others wait and reuse
        if not (db.exists() and meta.exists()):
            tmp = folder / f"{key}.{os.getpid()}.tmp.sqlite3"
            tmp.unlink(missing_ok=True)
            out = _run_child(
                ["build", "--sessions", str(sessions), "--seed", str(seed)],
                SandboxConfig(db_path=str(tmp)),
                timeout=900,
            )
            account = json.loads(out.strip().splitlines()[-1])
            for suffix in ("-wal", "-shm"):
                Path(str(tmp) + suffix).unlink(missing_ok=True)
            os.replace(tmp, db)
            meta.write_text(json.dumps(account))
    return db, json.loads(meta.read_text())


class Sandbox:
    """A running sandbox server on a free loopback port.

    Parameters
    ----------
    sessions : int
        Number of sessions in the seeded data.
    seed : int
        Seed of the data and of the fault injector.
    port : int
        Port on 127.0.0.1; 0 picks a free one.
    **options
        Any :class:`SandboxConfig` field: ``envelope``, ``latency_ms``, ``faults``,
        ``rate_limit``, ``access_ttl``, ``device_interval``, ``workers``, ...
        ``database="postgresql"`` serves the data from a PostgreSQL server the
        sandbox starts and removes itself (Debian's ``postgresql`` package), whose
        query semantics are the real service's; the default ``"sqlite"`` needs nothing.

    Attributes
    ----------
    url : str
        Base URL, e.g. ``http://127.0.0.1:40123`` (no trailing slash).
    email, password, token : str
        The demo account and its personal access token.

    Examples
    --------
    >>> with Sandbox(sessions=100, envelope="meta") as sb:
    ...     body = requests.get(sb.url + "/api/public/stem/session/").json()
    >>> body["meta"]["total_results"] > 0
    True
    """

    def __init__(self, sessions: int = 1000, seed: int = 0, port: int = 0, **options: Any) -> None:
        self.sessions, self.seed, self.port = sessions, seed, port
        self.config = SandboxConfig(seed=seed, **options)
        self.url = ""
        self.account: dict[str, str] = {}
        self._proc: subprocess.Popen | None = None
        self._dir: tempfile.TemporaryDirectory | None = None
        self._postgres: PostgresServer | None = None

    # -- account shortcuts -------------------------------------------------------
    @property
    def email(self) -> str:
        return self.account.get("email", "")

    @property
    def password(self) -> str:
        return self.account.get("password", "")

    @property
    def token(self) -> str:
        return self.account.get("token", "")

    @property
    def api_url(self) -> str:
        """The ``/api/`` root, as the official client expects its base URL joined."""
        return f"{self.url}/api/"

    @property
    def log(self) -> str:
        """The server's log so far (stdout and stderr)."""
        if self._dir is None:
            return ""
        path = Path(self._dir.name) / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- life cycle ----------------------------------------------------------------
    def start(self) -> "Sandbox":
        """Build (or reuse) the data, start the server, wait until it answers."""
        if self._proc is not None:
            return self
        self._dir = tempfile.TemporaryDirectory(prefix="bsp-sandbox-")
        atexit.register(self.stop)
        try:
            self._prepare_database()
        except BaseException:
            self.stop()
            raise
        logfile = open(Path(self._dir.name) / "server.log", "w")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "brainstem_pandas.sandbox.server", "serve", "--port", str(self.port)],
            env=_child_env(self.config),
            stdout=logfile,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        logfile.close()
        try:
            self.url = self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _prepare_database(self) -> None:
        """A private copy of the cached SQLite data, or a fresh PostgreSQL server seeded once."""
        assert self._dir is not None
        if self.config.database == "sqlite":
            source, self.account = build_database(self.sessions, self.seed)
            db = Path(self._dir.name) / "sandbox.sqlite3"
            shutil.copyfile(source, db)
            self.config = replace(self.config, db_path=str(db))
            return
        try:
            self._postgres = PostgresServer().start()
        except PostgresError as exc:
            raise SandboxError(str(exc)) from None
        self.config = replace(self.config, db_path="", pg_host=self._postgres.socket_dir, pg_port=self._postgres.port)
        # Seeding costs about a second per 300 sessions: done once per sandbox, no cache to keep fresh.
        out = _run_child(["build", "--sessions", str(self.sessions), "--seed", str(self.seed)], self.config, 900)
        self.account = json.loads(out.strip().splitlines()[-1])

    def _wait_ready(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT
        url = ""
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise SandboxError(f"sandbox server exited with {self._proc.returncode}:\n{self.log[-4000:]}")
            if not url:
                for line in self.log.splitlines():
                    if line.startswith("SANDBOX_READY "):
                        url = line.split(" ", 1)[1].strip()
            if url:
                try:
                    if requests.get(f"{url}/sandbox/health/", timeout=2).ok:
                        return url
                except requests.RequestException:
                    pass
            time.sleep(0.05)
        raise SandboxError(f"sandbox server did not answer within {START_TIMEOUT:.0f} s:\n{self.log[-4000:]}")

    def stop(self) -> None:
        """Stop the server and delete its copy of the database."""
        proc, self._proc = self._proc, None
        end_process(proc, lambda p: os.killpg(p.pid, signal.SIGTERM), timeout=10)
        if self._postgres is not None:
            self._postgres.stop()
            self._postgres = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None
        atexit.unregister(self.stop)

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = self.url or "stopped"
        return f"<Sandbox {state} sessions={self.sessions} envelope={self.config.envelope}>"

    # -- helpers for tests and demos ----------------------------------------------
    def add_user(self, email: str, password: str, first_name: str = "", last_name: str = "") -> str:
        """Create a user in this sandbox's database and return a personal access token."""
        if self._dir is None:
            raise SandboxError("start the sandbox before adding users")
        out = _run_child(
            ["adduser", email, "--password", password, "--first-name", first_name, "--last-name", last_name],
            self.config,
            timeout=120,
        )
        return out.strip().splitlines()[-1]
