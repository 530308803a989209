"""Shared fixtures: real sandbox servers on free loopback ports.

``sandbox`` is one server for the whole run (read-mostly tests; tests that write
create their own records and never change seeded ones). ``make_sandbox`` starts
extra servers with other options (envelopes, faults, token lifetimes) and stops
them when the test ends.
"""

from __future__ import annotations

import os
from typing import Callable, Iterator

import pytest
import requests

from brainstem_pandas.sandbox import Sandbox

SESSIONS = 300
# The shared server's data seed; tests must hold for any (BSP_TEST_SEED=7 pytest ...).
SEED = int(os.environ.get("BSP_TEST_SEED", "0"))


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(sessions=SESSIONS, seed=SEED) as sb:
        yield sb


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


@pytest.fixture(autouse=True)
def widget_callback_errors(monkeypatch: pytest.MonkeyPatch) -> Iterator[list]:
    """Fail any test in which an ipywidgets callback raised.

    ipywidgets catches an exception raised by a callback (a click handler, a
    message handler) and, without a kernel, only logs it on the traitlets logger:
    the test would pass while the user saw nothing happen. Each such log record is
    collected here (the list is the fixture's value) and fails the test at teardown.
    """
    try:
        from ipywidgets.widgets import widget as ipywidget
    except ImportError:  # installs without the widgets extra have no widgets to watch
        yield []
        return
    import logging

    from traitlets.log import get_logger

    caught: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith(("Exception in callback", "Exception in widget method")):
                caught.append(record)

    # With an IPython shell around, ipywidgets would print the traceback instead of logging it.
    monkeypatch.setattr(ipywidget, "get_ipython", lambda: None)
    logger = get_logger()
    logger = getattr(logger, "logger", logger)  # an Application's log may be a LoggerAdapter
    handler = Collect(logging.WARNING)
    level = logger.level
    if logger.getEffectiveLevel() > logging.WARNING:
        logger.setLevel(logging.WARNING)
    logger.addHandler(handler)
    try:
        yield caught
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    if caught:
        text = logging.Formatter().format
        pytest.fail("A widget callback raised:\n" + "\n".join(text(record) for record in caught))
