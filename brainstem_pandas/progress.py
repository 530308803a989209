"""Progress bars that inform: one overall bar over a multi-model job, per-walk bars that do not pile up.

A walk draws its bar with :func:`walk_bar`. Alone, the bar stays on screen when done, as
before. Inside :func:`overall_progress` (a snapshot of many models) the overall bar counts
models done of the total and the records read, and each walk's bar is cleared when its
model is done (``leave=False``): 48 models leave one line, not 48. Either way a bar whose
requests were retried says so in its postfix (``3 retried``), so a read held up by a
flaky server is not silent.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Any, Callable, Iterator

from tqdm.auto import tqdm

_overall: contextvars.ContextVar["Overall | None"] = contextvars.ContextVar("bsp_overall_progress", default=None)


class Overall:
    """The overall bar of a multi-model job: models done of the total, records read so far."""

    def __init__(self, models: int, description: str, disable: bool) -> None:
        self.bar = tqdm(total=models, unit=" models", desc=description, leave=True, disable=disable, dynamic_ncols=True)
        self.done: set[str] = set()
        self.records = 0

    def add(self, records: int) -> None:
        """Count ``records`` more records read."""
        self.records += records
        self.bar.set_postfix_str(f"{self.records:,} records", refresh=True)

    def finished(self, model: str) -> None:
        """Count ``model`` done (once, however many walks it took)."""
        if model not in self.done:
            self.done.add(model)
            self.bar.update(1)


@contextlib.contextmanager
def overall_progress(models: int, description: str = "models", disable: bool = False) -> Iterator[Overall]:
    """Show one overall bar while the block reads ``models`` models; walks inside it draw passing bars.

    Examples
    --------
    >>> with overall_progress(2, disable=True) as overall:
    ...     for name in ("project", "session"):
    ...         bar = walk_bar(name, disable=True)
    ...         bar.update(5)
    ...         bar.close()
    >>> sorted(overall.done), overall.records
    (['project', 'session'], 10)
    """
    overall = Overall(models, description, disable)
    token = _overall.set(overall)
    try:
        yield overall
    finally:
        _overall.reset(token)
        overall.bar.close()


class WalkBar(tqdm):
    """A walk's bar: counts records, shows retries, feeds the overall bar when there is one."""

    parent: Overall | None = None
    retries: Callable[[], int] | None = None
    retried_before = 0
    model = ""  # its own attribute: a disabled tqdm has no desc

    def update(self, n: float | None = 1) -> bool | None:
        shown = super().update(n)
        if self.parent is not None and n:
            self.parent.add(int(n))
        if self.retries is not None and not self.disable:
            retried = self.retries() - self.retried_before
            if retried:
                self.set_postfix_str(f"{retried:,} retried", refresh=False)
        return shown

    def close(self) -> None:
        super().close()
        if self.parent is not None:
            self.parent.finished(self.model)
            self.parent = None  # once: tqdm may close twice


def walk_bar(description: str, disable: bool = False, retries: Callable[[], int] | None = None, **options: Any) -> Any:
    """The bar of one walk, counting records; ``retries()`` (requests retried so far) shows in its postfix.

    Examples
    --------
    >>> bar = walk_bar("session", disable=True)
    >>> bar.leave  # alone, a finished bar stays on screen
    True
    """
    parent = _overall.get()
    bar = WalkBar(
        total=None,
        unit=" records",
        desc=description or None,
        disable=disable,
        leave=parent is None,
        dynamic_ncols=True,
        **options,
    )
    bar.parent, bar.retries, bar.model = parent, retries, description
    bar.retried_before = retries() if retries is not None else 0
    return bar
