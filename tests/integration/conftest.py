"""Shared fixtures: real sandbox servers on free loopback ports.

``sandbox`` is one server for the whole run (read-mostly tests; tests that write
create their own records and never change seeded ones); ``pg_sandbox`` the same on
PostgreSQL, and ``db_sandbox`` runs a module on each of them. ``make_sandbox`` starts
extra servers with other options (envelopes, faults, token lifetimes) and stops
them when the test ends.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Callable, Iterator

import pytest
import requests

from brainstem_pandas.sandbox import Sandbox

if TYPE_CHECKING:
    from hostile import HostileServer

SESSIONS = 300
# The shared server's data seed; tests must hold for any (BSP_TEST_SEED=7 pytest ...).
SEED = int(os.environ.get("BSP_TEST_SEED", "0"))


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(sessions=SESSIONS, seed=SEED) as sb:
        yield sb


DATABASES = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def pg_sandbox() -> Iterator[Sandbox]:
    """The shared server's data on PostgreSQL (the real service's database); same rules as ``sandbox``."""
    with Sandbox(sessions=SESSIONS, seed=SEED, database="postgresql") as sb:
        yield sb


@pytest.fixture(scope="module", params=DATABASES)
def db_sandbox(request: pytest.FixtureRequest) -> Sandbox:
    """``sandbox`` and then ``pg_sandbox``: a module's tests run on both databases."""
    return request.getfixturevalue("sandbox" if request.param == "sqlite" else "pg_sandbox")


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., Sandbox]]:
    started: list[Sandbox] = []

    def start(**options) -> Sandbox:
        options.setdefault("sessions", SESSIONS)
        sb = Sandbox(**options).start()
        started.append(sb)
        return sb

    yield start
    for sb in started:
        sb.stop()


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[requests.Session]:
    """A requests session carrying the demo user's personal access token."""
    with requests.Session() as s:
        s.headers["Authorization"] = f"Bearer {sandbox.token}"
        yield s


@pytest.fixture
def anon() -> Iterator[requests.Session]:
    """A requests session without credentials."""
    with requests.Session() as s:
        yield s


@pytest.fixture
def hostile() -> Iterator[Callable[..., "HostileServer"]]:
    """Start :class:`hostile.HostileServer` loopback servers with a script; stopped at the end."""
    from hostile import HostileServer

    started: list[HostileServer] = []

    def start(script) -> HostileServer:
        server = HostileServer(script).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
