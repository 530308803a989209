"""Ending the server processes the sandbox starts (gunicorn, PostgreSQL): politely, then for sure."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from typing import Callable


def end_process(proc: subprocess.Popen | None, ask: Callable[[subprocess.Popen], None], timeout: float) -> None:
    """Ask ``proc`` to stop (``ask`` sends its signal), wait ``timeout`` seconds, then kill its process group.

    Examples
    --------
    >>> import sys
    >>> proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    >>> end_process(proc, lambda p: p.send_signal(signal.SIGTERM), timeout=10)
    >>> proc.poll() is not None
    True
    """
    if proc is None or proc.poll() is not None:
        return
    try:
        ask(proc)
        proc.wait(timeout=timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        # A server that ignores its shutdown signal (or is stuck) must still not outlive the sandbox.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
