"""Fixtures for every test, unit and integration alike."""

from __future__ import annotations

from typing import Iterator

import pytest


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
