"""Pieces every widget shares: the error area, the callback guard, one background job at a time.

ipywidgets catches an exception raised in a callback and only logs it (or, in a
kernel, prints a traceback into whichever cell happens to be active), so the user
of a widget never learns why nothing happened. Every callback of these widgets is
therefore wrapped by :func:`guarded`, which shows the message in the widget's own
error area instead.
"""

from __future__ import annotations

import functools
import html
import logging
import threading
from typing import Any, Callable

import ipywidgets as widgets

from brainstem_pandas.errors import BrainstemError, redact

log = logging.getLogger("brainstem_pandas.widgets")

ERROR_STYLE = "color:#b00020;background:#fdecea;border-left:4px solid #b00020;padding:4px 8px;margin:4px 0"


def error_area() -> widgets.HTML:
    """An empty HTML widget that :func:`show_error` fills."""
    return widgets.HTML(value="", layout=widgets.Layout(width="100%"))


def describe(exc: BaseException) -> str:
    """The text to show for ``exc``.

    Messages of :class:`~brainstem_pandas.errors.BrainstemError` already say what
    went wrong and what to do, so they are shown as they are; anything else is
    named by its type, since it is most likely a bug worth reporting.

    Examples
    --------
    >>> describe(ValueError("boom"))
    'ValueError: boom'
    """
    if isinstance(exc, BrainstemError):
        return str(exc)
    return f"{type(exc).__name__}: {redact(str(exc))}"


def show_error(area: widgets.HTML, text: str, detail: str = "") -> None:
    """Show ``text`` (and a smaller ``detail`` line) in ``area``, escaped."""
    extra = f"<br><small>{html.escape(detail)}</small>" if detail and detail != text else ""
    area.value = f'<div style="{ERROR_STYLE}">{html.escape(text)}{extra}</div>'


def clear(area: widgets.HTML) -> None:
    """Empty an error area."""
    area.value = ""


def guarded(area: widgets.HTML, callback: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``callback`` so that an exception it raises is shown in ``area``, never lost.

    Examples
    --------
    >>> area = error_area()
    >>> guarded(area, lambda: 1 / 0)()
    >>> "ZeroDivisionError" in area.value
    True
    """

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except Exception as exc:
            # The traceback of an unexpected error helps a bug report; ours say all in their message.
            # Named, never repr'd: the repr of a partial would show its arguments, perhaps a token.
            log.debug(
                "widget callback %s failed", getattr(callback, "__name__", type(callback).__name__), exc_info=True
            )
            show_error(area, describe(exc))
            return None

    return run


class Background:
    """One job at a time in a daemon thread, so a click never blocks the notebook.

    The job runs through :func:`guarded`, so its errors land in ``area``;
    :meth:`wait` lets code without a kernel (tests, scripts) wait for it.

    Examples
    --------
    >>> job = Background(error_area())
    >>> job.start(lambda: None)
    True
    >>> job.wait(5)
    """

    def __init__(self, area: widgets.HTML) -> None:
        self.area = area
        self.cancelled = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """True while a job runs."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, job: Callable[[], Any], name: str = "job") -> bool:
        """Run ``job`` in a new thread; False (and nothing started) while another one runs."""
        if self.running:
            return False
        self.cancelled.clear()
        self._thread = threading.Thread(target=guarded(self.area, job), name=f"bsp-widget-{name}", daemon=True)
        self._thread.start()
        return True

    def cancel(self) -> None:
        """Ask the running job to stop at its next check."""
        self.cancelled.set()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the job has finished; raise TimeoutError after ``timeout`` seconds."""
        thread = self._thread
        if thread is None:
            return
        thread.join(timeout)
        if thread.is_alive():
            raise TimeoutError(
                f"the widget's {thread.name.removeprefix('bsp-widget-')} is still running after {timeout} s"
            )


def wide() -> widgets.Layout:
    """A layout that fills the width of a notebook cell up to a readable line length.

    A new one each time: widgets sharing a Layout would hide and show together.
    """
    return widgets.Layout(width="100%", max_width="640px")


def narrow() -> widgets.Layout:
    """A layout as wide as its content (a new one each time, see :func:`wide`)."""
    return widgets.Layout(width="auto")


def hidden(widget: widgets.Widget, hide: bool) -> None:
    """Hide or show a widget without removing it from its box."""
    widget.layout.display = "none" if hide else None
