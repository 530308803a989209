"""The sandbox server process: build a database, serve it, add users.

Run as ``python -m brainstem_pandas.sandbox.server COMMAND``; the parent passes the
configuration in ``BSP_SANDBOX_CONFIG`` (see :mod:`.config`). Commands:

``build --sessions N --seed S``
    create the tables in ``db_path``, generate the data, print the demo account
    as one JSON line.
``serve --port P``
    bind 127.0.0.1:P (0 = any free port), print ``SANDBOX_READY <url>``, and serve
    with gunicorn (several worker processes, threads in each; not ``runserver``).
``adduser EMAIL --password PW``
    create a user and print a personal access token.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from typing import Any

from brainstem_pandas.sandbox.config import load_config

SETTINGS = "brainstem_pandas.sandbox.settings"


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    import django

    django.setup()


def build(sessions: int, seed: int) -> dict[str, str]:
    """Create the schema and the seeded data; return the demo account."""
    _django()
    from django.core.management import call_command

    from brainstem_pandas.sandbox import seed as seeder

    call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)
    account = seeder.generate(sessions=sessions, seed=seed)
    from django.db import connection

    if connection.vendor == "postgresql":
        _finish_postgres(connection)
    else:
        with connection.cursor() as cur:
            cur.execute("PRAGMA optimize")
    return account


UUID_AGGREGATES = """
CREATE FUNCTION bsp_uuid_least(a uuid, b uuid) RETURNS uuid LANGUAGE sql IMMUTABLE STRICT
    AS 'SELECT LEAST(a, b)';
CREATE FUNCTION bsp_uuid_greatest(a uuid, b uuid) RETURNS uuid LANGUAGE sql IMMUTABLE STRICT
    AS 'SELECT GREATEST(a, b)';
CREATE AGGREGATE min(uuid) (SFUNC = bsp_uuid_least, STYPE = uuid, COMBINEFUNC = bsp_uuid_least, PARALLEL = SAFE);
CREATE AGGREGATE max(uuid) (SFUNC = bsp_uuid_greatest, STYPE = uuid, COMBINEFUNC = bsp_uuid_greatest, PARALLEL = SAFE);
"""


def _finish_postgres(connection: Any) -> None:
    """PostgreSQL after seeding: id sequences past the seeded ids, ``min``/``max`` of UUIDs, statistics.

    The seed writes integer ids itself, so each table's sequence is moved past them
    (or the next user added would collide). PostgreSQL has no ``min(uuid)``, which
    dynamic-rest needs to sort by a to-many relation's ids (``sort[]=projects``): with
    these aggregates it orders by the smallest (largest descending) related id, as
    SQLite and the offline engine do; a deliberate difference, listed in the README.
    """
    from django.apps import apps
    from django.core.management.color import no_style

    statements = connection.ops.sequence_reset_sql(no_style(), apps.get_models(include_auto_created=True))
    with connection.cursor() as cur:
        for sql in statements:
            cur.execute(sql)
        cur.execute(UUID_AGGREGATES)
        cur.execute("ANALYZE")


def add_user(email: str, password: str, first_name: str = "", last_name: str = "") -> str:
    """Create a user in the configured database and return a new PAT."""
    _django()
    from brainstem_pandas.sandbox.api import auth

    user = auth.create_user(email, password, first_name=first_name, last_name=last_name)
    token, _ = auth.issue_pat(user, name="adduser")
    return token


def _listen(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(port: int) -> None:
    """Serve the configured database with gunicorn on 127.0.0.1:``port``."""
    from gunicorn.app.base import BaseApplication

    cfg = load_config()
    sock = _listen(port)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"

    class _App(BaseApplication):
        def load_config(self) -> None:
            options: dict[str, Any] = {
                "bind": f"fd://{sock.fileno()}",
                "workers": cfg.workers,
                "threads": cfg.threads,
                "worker_class": "gthread",
                # Preload: shared fault/rate-limit state is created once, before fork.
                "preload_app": True,
                "timeout": 120,
                "graceful_timeout": 5,
                "keepalive": 30,
                "accesslog": None,
                "errorlog": "-",
                "loglevel": "warning",
                # Several sandboxes may run at once: gunicorn's control socket
                # lives at one fixed path per user, so it is switched off.
                "control_socket_disable": True,
                "when_ready": lambda server: print(f"SANDBOX_READY {url}", flush=True),
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from brainstem_pandas.sandbox.wsgi import application

            return application

    _App().run()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry of the server process."""
    parser = argparse.ArgumentParser(prog="python -m brainstem_pandas.sandbox.server")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("--sessions", type=int, default=1000)
    b.add_argument("--seed", type=int, default=0)
    s = sub.add_parser("serve")
    s.add_argument("--port", type=int, default=0)
    u = sub.add_parser("adduser")
    u.add_argument("email")
    u.add_argument("--password", required=True)
    u.add_argument("--first-name", default="")
    u.add_argument("--last-name", default="")
    args = parser.parse_args(argv)
    if args.command == "build":
        print(json.dumps(build(args.sessions, args.seed)), flush=True)
    elif args.command == "serve":
        serve(args.port)
    else:
        print(add_user(args.email, args.password, args.first_name, args.last_name), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
